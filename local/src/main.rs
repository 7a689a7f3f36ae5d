//! `cargo run -p local`: the whole API on http://127.0.0.1:8080 (`--port` or
//! `PORT` overrides), on embedded SQLite unless `DB_DRIVER` says otherwise.
//! `cargo run -p local -- --help` lists the commands; `routes --json` prints
//! the route table the server would serve (read from `template.yaml`), which
//! the deploy checks compare with the routes of the translated template;
//! `admin grant|revoke <username>` is the operator's role change.

use std::io::Write;
use std::process::ExitCode;
use std::sync::Arc;

use clap::Parser;
use local::cli::{AdminArgs, Cli, Command, RoutesArgs, ServeArgs};
use shared::domain::Role;

#[tokio::main]
async fn main() -> ExitCode {
    // On --help clap prints and exits 0; on anything unknown it prints the
    // error and a usage line and exits 2.
    let result = match Cli::parse().into_command() {
        Command::Serve(args) => {
            shared::telemetry::init();
            serve(args).await.inspect_err(|e| {
                tracing::error!(error = %e, "dev server stopped");
            })
        }
        Command::Routes(args) => print_routes(&args),
        Command::Admin(args) => change_role(&args).await,
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn serve(args: ServeArgs) -> Result<(), String> {
    let config = local::dev_config().map_err(|e| format!("{e:?}"))?;
    let port = args.port;
    let template = args.template.path();
    let settings = args.settings();
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
    local::serve_with(listener, app, &template, &settings).await
}

/// `admin grant|revoke <username>`: the operator's role change, on the store
/// the environment selects.
async fn change_role(args: &AdminArgs) -> Result<(), String> {
    let config = local::dev_config().map_err(|e| format!("{e:?}"))?;
    let (username, role) = args.action.change();
    let user = local::admin::set_role(&config, username, role).await?;
    println!(
        "{} (user {}) is now {} {} on the {} store",
        user.username,
        user.id,
        if role == Role::Admin { "an" } else { "a" },
        role.as_str(),
        config.db.driver()
    );
    Ok(())
}

/// Prints the dev server's route table: one line per route, or with `--json`
/// a JSON array of `{method, path, function, binary, protected}` rows.
fn print_routes(args: &RoutesArgs) -> Result<(), String> {
    let routes = local::template::load(&args.template.path())?;
    let text = if args.json {
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
        format!("{}\n", serde_json::Value::Array(rows))
    } else {
        routes
            .iter()
            .map(|r| {
                let auth = if r.protected { "JWT" } else { "public" };
                format!(
                    "{:<7} {:<32} {:<7} {}\n",
                    r.method, r.path, auth, r.function
                )
            })
            .collect()
    };
    // A reader that stops early (`| head`) is not an error of ours.
    match std::io::stdout().lock().write_all(text.as_bytes()) {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => {
            Err(format!("cannot write the routes: {e}"))
        }
        _ => Ok(()),
    }
}
