//! The local dev server: serves the whole API off AWS. It reads `template.yaml`
//! for the routes and the CORS configuration, turns each HTTP request into the
//! API Gateway (HTTP API, payload 2.0) event AWS would send, applies CORS and
//! the authorizer as API Gateway does, and calls the function's handler
//! in-process.

pub mod admin;
pub mod cli;
pub mod cors;
pub mod functions;
pub mod gateway;
pub mod template;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use shared::App;
use shared::config::{Config, SecretPolicy};

/// The template beside the workspace root, wherever the server is started from.
pub fn default_template_path() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../template.yaml")
}

/// The SQLite file of the dev server, under `local/data/`.
pub fn default_sqlite_path() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("data/commerce.db")
}

/// The dev server's configuration: the environment, with a development JWT
/// secret (announced loudly) and a SQLite file under `local/data` as defaults.
pub fn dev_config() -> Result<Config, shared::AppError> {
    let config = Config::from_lookup(
        |key| {
            std::env::var(key)
                .ok()
                .filter(|v| !v.is_empty())
                .or_else(|| {
                    (key == "SQLITE_PATH")
                        .then(|| default_sqlite_path().to_string_lossy().into_owned())
                })
        },
        SecretPolicy::DevFallback,
    )?;
    if config.jwt.uses_development_secret() {
        tracing::warn!(
            "JWT_SECRET is not set: using the DEVELOPMENT secret. Tokens are forgeable by anyone \
             who reads this repository. Never deploy like this."
        );
    }
    Ok(config)
}

/// What the dev server plays beyond the template's routes: the values the
/// deployed stack takes from template parameters.
#[derive(Clone, Debug, Default)]
pub struct Settings {
    /// Browser origins CORS allows (`CORS_ALLOWED_ORIGINS`, comma-separated;
    /// the template's `CorsAllowedOrigins`). None by default: no CORS.
    pub cors_allowed_origins: Vec<String>,
}

impl Settings {
    /// The settings from environment-like variables.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Settings, String> {
        let origins = lookup("CORS_ALLOWED_ORIGINS").unwrap_or_default();
        Ok(Settings {
            cors_allowed_origins: cors::parse_origins(&origins)
                .map_err(|e| format!("CORS_ALLOWED_ORIGINS: {e}"))?,
        })
    }
}

/// Serves the API on `listener` until the process ends, with the default settings.
pub async fn serve(
    listener: tokio::net::TcpListener,
    app: Arc<App>,
    template: &Path,
) -> Result<(), String> {
    serve_with(listener, app, template, &Settings::default()).await
}

/// Serves the API on `listener` until the process ends.
pub async fn serve_with(
    listener: tokio::net::TcpListener,
    app: Arc<App>,
    template: &Path,
    settings: &Settings,
) -> Result<(), String> {
    let gateway = gateway::Gateway::new(app, template, settings)?;
    let router = gateway.into_router();
    axum::serve(
        listener,
        router.into_make_service_with_connect_info::<SocketAddr>(),
    )
    .await
    .map_err(|e| format!("server error: {e}"))
}
