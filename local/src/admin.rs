//! The operator's role change behind `local admin grant|revoke`: the only way
//! anyone becomes an admin. It runs against whichever store the configuration
//! selects, so the same command serves a laptop's SQLite file and a deployed
//! DynamoDB table or PostgreSQL database.

use shared::config::Config;
use shared::domain::{Role, User};
use shared::repo::{self, Bootstrap};

/// Gives the registered user `username` the role `role`. A name nobody has
/// registered is an error, and nothing is written: a name cannot be made an
/// admin ahead of its registration.
pub async fn set_role(config: &Config, username: &str, role: Role) -> Result<User, String> {
    // Bring the schema up to date as the server would, but never seed a
    // catalog into a store an operator merely pointed this command at.
    let bootstrap = Bootstrap {
        migrate: config.auto_migrate,
        seed: false,
    };
    let store = repo::open_with(&config.db, bootstrap)
        .await
        .map_err(|e| format!("cannot open the {} store: {e:?}", config.db.driver()))?;
    store
        .set_user_role(username, role)
        .await
        .map_err(|e| format!("cannot change the role: {e:?}"))?
        .ok_or_else(|| format!("no user named `{username}` is registered"))
}
