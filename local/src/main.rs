//! The dev server's command line. `cargo run -p local` serves the whole API on
//! http://127.0.0.1:8080 (`PORT` overrides), on embedded SQLite unless
//! `DB_DRIVER` says otherwise; `--help` lists the other commands.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use clap::{Parser, Subcommand};

/// The commerce API off AWS: the dev server and the tools around it.
///
/// Settings come from the environment (DB_DRIVER, SQLITE_PATH, DATABASE_URL,
/// JWT_SECRET, ...), the same variables a deployed function reads.
#[derive(Parser)]
#[command(name = "local", version, about, long_about = None)]
struct Cli {
    /// The SAM template to read routes from [env: TEMPLATE_PATH; default: the repository's template.yaml]
    #[arg(long, global = true)]
    template: Option<PathBuf>,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the API on 127.0.0.1 (the default command)
    Serve {
        /// Port to listen on [env: PORT; default: 8080]
        #[arg(long)]
        port: Option<u16>,
    },
    /// Print the route table the server would serve, read from the template
    Routes {
        /// As a JSON array of {method, path, function, binary, protected} rows
        #[arg(long)]
        json: bool,
    },
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    let template = cli
        .template
        .or_else(|| std::env::var_os("TEMPLATE_PATH").map(PathBuf::from))
        .unwrap_or_else(local::default_template_path);
    let result = match cli.command.unwrap_or(Command::Serve { port: None }) {
        Command::Serve { port } => {
            shared::telemetry::init();
            serve(port, &template).await.inspect_err(|e| {
                tracing::error!(error = %e, "dev server stopped");
            })
        }
        Command::Routes { json } => print_routes(&template, json),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn serve(port: Option<u16>, template: &std::path::Path) -> Result<(), String> {
    let config = local::dev_config().map_err(|e| format!("{e:?}"))?;
    let port: u16 = match (port, std::env::var("PORT")) {
        (Some(port), _) => port,
        (None, Ok(p)) => p
            .parse()
            .map_err(|_| format!("PORT must be a port number, not `{p}`"))?,
        (None, Err(_)) => 8080,
    };
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
    local::serve(listener, app, template).await
}

/// Prints the dev server's route table, one route a line or as JSON.
fn print_routes(template: &std::path::Path, json: bool) -> Result<(), String> {
    let routes = local::template::load(template)?;
    if json {
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
    } else {
        for r in &routes {
            let auth = if r.protected { "JWT" } else { "public" };
            println!("{:<6} {:<32} {:<8} {}", r.method, r.path, auth, r.binary);
        }
    }
    Ok(())
}
