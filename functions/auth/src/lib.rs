//! The auth endpoint group: `POST /register`, `POST /login`,
//! `POST /token/refresh` and `POST /logout`.

use std::sync::{Arc, LazyLock};

use lambda_http::http::{Method, StatusCode};
use lambda_http::{Body, Request, Response};
use shared::App;
use shared::api::{Credentials, LoggedIn, LoginUser, RefreshRequest, Registered};
use shared::service::LoginOutcome;
use shared::web::{self, HttpResult, RouteTable};

#[derive(Clone, Copy)]
enum Route {
    Register,
    Login,
    Refresh,
    Logout,
}

static ROUTES: LazyLock<RouteTable<Route>> = LazyLock::new(|| {
    RouteTable::new(vec![
        (Method::POST, "/register", Route::Register),
        (Method::POST, "/login", Route::Login),
        (Method::POST, "/token/refresh", Route::Refresh),
        (Method::POST, "/logout", Route::Logout),
    ])
});

pub async fn handle(app: Arc<App>, req: Request) -> Response<Body> {
    let result = route(&app, &req).await;
    web::finish(&req, result)
}

async fn route(app: &App, req: &Request) -> HttpResult {
    let (route, _) = ROUTES.find(req.method(), req.uri().path())?;
    match route {
        Route::Register => {
            let body: Credentials = web::parse_json(req)?;
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
            let body: Credentials = web::parse_json(req)?;
            let login = app.users.login(&body.username, &body.password).await?;
            tracing::info!(user_id = login.identity.user_id, "user logged in");
            Ok(session(&login, "Login successful"))
        }
        Route::Refresh => {
            let body: RefreshRequest = web::parse_json(req)?;
            let refreshed = app.users.refresh(&body.refresh_token).await?;
            tracing::info!(user_id = refreshed.identity.user_id, "session refreshed");
            Ok(session(&refreshed, "Token refreshed"))
        }
        Route::Logout => {
            let caller = web::identity(req, &app.tokens).await?;
            let body: RefreshRequest = web::parse_json(req)?;
            app.users.logout(&caller, &body.refresh_token).await?;
            tracing::info!(user_id = caller.user_id, "session ended");
            let mut response = Response::new(Body::Empty);
            *response.status_mut() = StatusCode::NO_CONTENT;
            Ok(response)
        }
    }
}

/// The answer of a login and of a refresh: the same fields.
fn session(outcome: &LoginOutcome, message: &'static str) -> Response<Body> {
    web::json(
        StatusCode::OK,
        &LoggedIn {
            message,
            token: outcome.token.clone(),
            token_type: "Bearer",
            expires_in: outcome.expires_in,
            refresh_token: outcome.refresh_token.expose().to_owned(),
            refresh_expires_in: outcome.refresh_expires_in,
            user: LoginUser {
                id: outcome.identity.user_id,
                username: outcome.identity.username.clone(),
                role: outcome.identity.role,
            },
        },
    )
}
