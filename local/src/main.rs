//! `cargo run -p local`: the whole API on http://127.0.0.1:8080 (`PORT`
//! overrides), on embedded SQLite unless `DB_DRIVER` says otherwise.
//!
//! `cargo run -p local -- --routes-json` prints the route table the server
//! would serve (read from `template.yaml`) as JSON and exits; the deploy checks
//! compare it with the routes of the translated CloudFormation template.

use std::sync::Arc;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    if std::env::args().skip(1).any(|a| a == "--routes-json") {
        return print_routes();
    }
    shared::telemetry::init();
    match run().await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!(error = %e, "dev server stopped");
            eprintln!("error: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}

async fn run() -> Result<(), String> {
    let config = local::dev_config().map_err(|e| format!("{e:?}"))?;
    let port: u16 = match std::env::var("PORT") {
        Ok(p) => p
            .parse()
            .map_err(|_| format!("PORT must be a port number, not `{p}`"))?,
        Err(_) => 8080,
    };
    let template = std::env::var("TEMPLATE_PATH")
        .map(Into::into)
        .unwrap_or_else(|_| local::default_template_path());
    let driver = config.db.driver();
    let app = Arc::new(
        shared::App::build(config)
            .await
            .map_err(|e| format!("cannot open the store: {e:?}"))?,
    );
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port))
        .await
        .map_err(|e| format!("cannot listen on 127.0.0.1:{port}: {e}"))?;
    tracing::info!(
        url = format!("http://127.0.0.1:{port}"),
        driver,
        "serving the API"
    );
    local::serve(listener, app, &template).await
}

/// Prints the dev server's route table as a JSON array of
/// `{method, path, function, binary, protected}` rows.
fn print_routes() -> std::process::ExitCode {
    let template = std::env::var("TEMPLATE_PATH")
        .map(Into::into)
        .unwrap_or_else(|_| local::default_template_path());
    match local::template::load(&template) {
        Ok(routes) => {
            let rows: Vec<serde_json::Value> = routes
                .iter()
                .map(|r| {
                    serde_json::json!({
                        "method": r.method,
                        "path": r.path,
                        "function": r.function,
                        "binary": r.binary,
                        "protected": r.protected,
                    })
                })
                .collect();
            println!("{}", serde_json::Value::Array(rows));
            std::process::ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}
