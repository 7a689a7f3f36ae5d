//! Opening the PostgreSQL store, fit for Lambda: one held connection per
//! instance there (`DB_MAX_CONNECTIONS=1`, its default on Lambda) or a small
//! pool elsewhere, created lazily on first use, with short connect
//! and statement timeouts; migrations (serialised by sqlx's advisory lock) and
//! seeding run on the first request that needs the store (`SqlStore::pool`),
//! not at cold start. Atomicity comes from the database: unique indexes,
//! `ON CONFLICT`, conditional `UPDATE`s and a transaction for the seed.

use std::time::Duration;

use sqlx::Postgres;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};

use super::SqlStore;
use crate::config::PostgresConfig;
use crate::error::AppResult;
use crate::repo::Bootstrap;

/// The SQL store on a PostgreSQL database.
pub type PostgresStore = SqlStore<Postgres>;

impl SqlStore<Postgres> {
    /// Prepares the pool without connecting: the first query connects.
    pub fn connect_lazy(config: &PostgresConfig, bootstrap: Bootstrap) -> AppResult<PostgresStore> {
        // Placeholder options: the real ones (whose secrets may live in AWS)
        // are set on first use, before any connection is made.
        let options = PgConnectOptions::new_without_pgpass();
        let pool = PgPoolOptions::new()
            .max_connections(config.max_connections)
            .min_connections(0)
            .acquire_timeout(config.connect_timeout)
            .idle_timeout(Some(Duration::from_secs(60)))
            // No extra round trip per request: sqlx already pings every
            // connection when it is released and drops the broken ones, so a
            // connection that died with the server is replaced after one 503.
            .test_before_acquire(false)
            .connect_lazy_with(options);
        // A pool of one is a held connection: no pool, so no ping on every
        // release (see `conn`). One connection per Lambda environment, which
        // serves one request at a time, is the default there.
        let held = (config.max_connections == 1).then(|| (super::conn::slot(), super::Holds::All));
        let config = config.clone();
        let prepare: super::Prepare<Postgres> = Box::new(move |pool| {
            let config = config.clone();
            Box::pin(async move {
                pool.set_connect_options(config.connect_options().await?);
                Ok(())
            })
        });
        Ok(SqlStore::new(pool, held, bootstrap, Some(prepare)))
    }
}
