//! The auth endpoint group: `POST /register`, `POST /login`.

use std::sync::{Arc, LazyLock};

use lambda_http::http::{Method, StatusCode};
use lambda_http::{Body, Request, Response};
use shared::App;
use shared::api::{Credentials, LoggedIn, LoginUser, Registered};
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
                &Registered {
                    message: "User created successfully",
                    user,
                },
            ))
        }
        Route::Login => {
            let login = app.users.login(&body.username, &body.password).await?;
            tracing::info!(user_id = login.identity.user_id, "user logged in");
            Ok(web::json(
                StatusCode::OK,
                &LoggedIn {
                    message: "Login successful",
                    token: login.token,
                    token_type: "Bearer",
                    expires_in: login.expires_in,
                    user: LoginUser {
                        id: login.identity.user_id,
                        username: login.identity.username,
                        role: login.identity.role,
                    },
                },
            ))
        }
    }
}
