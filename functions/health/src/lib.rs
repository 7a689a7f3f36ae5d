//! `GET /health`: the service and its store. Answers within two seconds even
//! when the store hangs.

use std::sync::{Arc, LazyLock};
use std::time::Duration;

use lambda_http::http::{Method, StatusCode};
use lambda_http::{Body, Request, Response};
use shared::App;
use shared::api::{Health, HealthStore};
use shared::domain::Timestamp;
use shared::web::{self, HttpResult, RouteTable};

/// How long the store gets to answer before we report it degraded.
const STORE_TIMEOUT: Duration = Duration::from_millis(1500);

static ROUTES: LazyLock<RouteTable<()>> =
    LazyLock::new(|| RouteTable::new(vec![(Method::GET, "/health", ())]));

pub async fn handle(app: Arc<App>, req: Request) -> Response<Body> {
    let result = route(&app, &req).await;
    web::finish(&req, result)
}

async fn route(app: &App, req: &Request) -> HttpResult {
    ROUTES.find(req.method(), req.uri().path())?;
    let ok = match tokio::time::timeout(STORE_TIMEOUT, app.store.ping()).await {
        Ok(Ok(())) => true,
        Ok(Err(e)) => {
            tracing::warn!(error = %e, "health: store check failed");
            false
        }
        Err(_) => {
            tracing::warn!("health: store check timed out");
            false
        }
    };
    let (status, word) = if ok {
        (StatusCode::OK, "ok")
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, "degraded")
    };
    Ok(web::json(
        status,
        &Health {
            status: word,
            timestamp: Timestamp::now(),
            database: HealthStore {
                driver: app.store.driver(),
                ok,
            },
        },
    ))
}
