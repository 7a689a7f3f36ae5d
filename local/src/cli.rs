//! The dev server's command line: `local [serve]`, `local routes [--json]`,
//! `local admin grant|revoke <username>`.
//! Parsed with clap; anything it does not know is an error with a usage line
//! and exit status 2, so a typo never silently starts a server.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(
    name = "local",
    about = "The commerce API's dev server: serves every route of template.yaml on 127.0.0.1, \
             calling each function's handler in-process.",
    after_help = "Without a command, `local` serves (`cargo run -p local` is `local serve`).\n\
                  The store comes from the environment: DB_DRIVER (sqlite by default, in \
                  local/data/), DATABASE_URL, CLICKHOUSE_URL, DYNAMODB_TABLE, JWT_SECRET, ...",
    // `local --port 9000` serves too: the serve options stand in for the
    // default command, and may not be mixed with an explicit one.
    args_conflicts_with_subcommands = true
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
    #[command(flatten)]
    pub serve: ServeArgs,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve the API (the default).
    Serve(ServeArgs),
    /// Print the route table the server reads from template.yaml.
    Routes(RoutesArgs),
    /// Grant or withdraw the admin role of a registered user, on the store the
    /// environment selects (the local one, or a deployed one).
    Admin(AdminArgs),
}

#[derive(Debug, Args)]
#[command(
    after_help = "The store is chosen by the same settings as the server's: DB_DRIVER, \
                        SQLITE_PATH, DATABASE_URL, CLICKHOUSE_URL, DYNAMODB_TABLE, AWS_REGION, \
                        ... So with a deployment's settings it changes that deployment:\n  \
                        DB_DRIVER=dynamodb DYNAMODB_TABLE=commerce-prod AWS_REGION=eu-west-1 \
                        local admin grant alice\n\
                        It migrates the schema when AUTO_MIGRATE allows, and never seeds the \
                        catalog. A token issued before the change keeps its role until it \
                        expires."
)]
pub struct AdminArgs {
    #[command(subcommand)]
    pub action: AdminAction,
}

#[derive(Debug, Subcommand)]
pub enum AdminAction {
    /// Make a registered user an admin
    Grant {
        /// The user's name (any letter case)
        username: String,
    },
    /// Make an admin a customer again
    Revoke {
        /// The user's name (any letter case)
        username: String,
    },
}

impl AdminAction {
    /// The user named and the role they get.
    pub fn change(&self) -> (&str, shared::domain::Role) {
        match self {
            AdminAction::Grant { username } => (username, shared::domain::Role::Admin),
            AdminAction::Revoke { username } => (username, shared::domain::Role::Customer),
        }
    }
}

impl Cli {
    /// The command to run: the explicit one, or `serve` with the top-level options.
    pub fn into_command(self) -> Command {
        self.command.unwrap_or(Command::Serve(self.serve))
    }
}

#[derive(Debug, Args)]
pub struct TemplateArg {
    /// The SAM template to read the routes from [default: template.yaml at the workspace root]
    #[arg(long, env = "TEMPLATE_PATH", value_name = "FILE")]
    pub template: Option<PathBuf>,
}

impl TemplateArg {
    pub fn path(&self) -> PathBuf {
        self.template
            .clone()
            .unwrap_or_else(crate::default_template_path)
    }
}

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// The port on 127.0.0.1 to listen on
    #[arg(long, env = "PORT", default_value_t = 8080)]
    pub port: u16,
    #[command(flatten)]
    pub template: TemplateArg,
    /// Comma-separated browser origins CORS allows (https://shop.example,http://localhost:5173),
    /// as the template's CorsAllowedOrigins [default: none, no CORS]
    #[arg(long, env = "CORS_ALLOWED_ORIGINS", value_name = "ORIGINS", value_parser = origins)]
    pub cors_allowed_origins: Option<Origins>,
}

/// The parsed origins of `--cors-allowed-origins`.
#[derive(Clone, Debug, Default)]
pub struct Origins(pub Vec<String>);

fn origins(text: &str) -> Result<Origins, String> {
    crate::cors::parse_origins(text).map(Origins)
}

impl ServeArgs {
    pub fn settings(&self) -> crate::Settings {
        crate::Settings {
            cors_allowed_origins: self.cors_allowed_origins.clone().unwrap_or_default().0,
        }
    }
}

#[derive(Debug, Args)]
pub struct RoutesArgs {
    /// One JSON array of {method, path, function, binary, protected} rows, for scripts
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub template: TemplateArg,
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn the_command_line_definition_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn no_command_is_serve_and_serve_options_work_without_it() {
        let cli = Cli::try_parse_from(["local", "--port", "9001"]).unwrap();
        assert!(matches!(
            cli.into_command(),
            Command::Serve(ServeArgs { port: 9001, .. })
        ));
        let cli = Cli::try_parse_from(["local", "routes", "--json"]).unwrap();
        assert!(matches!(
            cli.into_command(),
            Command::Routes(RoutesArgs { json: true, .. })
        ));
        assert!(Cli::try_parse_from(["local", "--port", "9001", "routes"]).is_err());
        assert!(Cli::try_parse_from(["local", "--routes-json"]).is_err());
        let cli = Cli::try_parse_from(["local", "serve", "--cors-allowed-origins", ""]).unwrap();
        let Command::Serve(args) = cli.into_command() else {
            panic!("not serve")
        };
        assert!(args.settings().cors_allowed_origins.is_empty());
        assert!(Cli::try_parse_from(["local", "--cors-allowed-origins", "shop.example"]).is_err());
        let cli = Cli::try_parse_from(["local", "admin", "grant", "Alice"]).unwrap();
        let Command::Admin(args) = cli.into_command() else {
            panic!("not admin")
        };
        assert_eq!(args.action.change(), ("Alice", shared::domain::Role::Admin));
        assert!(Cli::try_parse_from(["local", "admin", "grant"]).is_err());
        assert!(Cli::try_parse_from(["local", "admin", "promote", "alice"]).is_err());
    }
}
