//! The auth endpoint group: `POST /register`, `POST /login`.

use std::sync::{Arc, LazyLock};

use lambda_http::http::{Method, StatusCode};
use lambda_http::{Body, Request, Response};
use serde::Deserialize;
use serde_json::json;
use shared::App;
use shared::web::{self, HttpResult, RouteTable};

#[derive(Clone, Copy)]
enum Route {
    Register,
    Login,
}

static ROUTES: LazyLock<RouteTable<Route>> = LazyLock::new(|| {
    RouteTable::new(vec![
        (Method::POST, "/register", Route::Register),
        (Method::POST, "/login", Route::Login),
    ])
});

#[derive(Deserialize)]
struct Credentials {
    username: String,
    password: String,
}

pub async fn handle(app: Arc<App>, req: Request) -> Response<Body> {
    let result = route(&app, &req).await;
    web::finish(&req, result)
}

async fn route(app: &App, req: &Request) -> HttpResult {
    let (route, _) = ROUTES.find(req.method(), req.uri().path())?;
    let body: Credentials = web::parse_json(req)?;
    match route {
        Route::Register => {
            let user = app.users.register(&body.username, &body.password).await?;
            tracing::info!(user_id = user.id, "user registered");
            Ok(web::json(
                StatusCode::CREATED,
                &json!({ "message": "User created successfully", "user": user }),
            ))
        }
        Route::Login => {
            let login = app.users.login(&body.username, &body.password).await?;
            tracing::info!(user_id = login.identity.user_id, "user logged in");
            Ok(web::json(
                StatusCode::OK,
                &json!({
                    "message": "Login successful",
                    "token": login.token,
                    "token_type": "Bearer",
                    "expires_in": login.expires_in,
                    "user": {
                        "id": login.identity.user_id,
                        "username": login.identity.username,
                        "role": login.identity.role,
                    },
                }),
            ))
        }
    }
}
