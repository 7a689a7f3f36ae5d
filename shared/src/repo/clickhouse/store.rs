//! `ClickHouseStore`: the HTTP client, and the once-per-instance migration
//! and seeding that the first request needing the store runs.

use async_trait::async_trait;
use tokio::sync::OnceCell;

use super::client::Http;
use super::sql;
use crate::config::ClickHouseConfig;
use crate::domain::Timestamp;
use crate::error::{AppError, AppResult};
use crate::repo::{Bootstrap, Store};
use crate::sample;

pub struct ClickHouseStore {
    http: Http,
    database: String,
    bootstrap: Bootstrap,
    ready: OnceCell<()>,
}

impl ClickHouseStore {
    /// Builds the client without contacting the server: the first request
    /// that needs the store migrates and seeds (as `bootstrap` says).
    pub fn new(config: &ClickHouseConfig, bootstrap: Bootstrap) -> AppResult<ClickHouseStore> {
        Ok(ClickHouseStore {
            http: Http::new(config)?,
            database: config.database.clone(),
            bootstrap,
            ready: OnceCell::new(),
        })
    }

    /// The HTTP client, without waiting for migrations (claims and ids run
    /// after `ready`, or inside it while seeding).
    pub(super) fn http(&self) -> &Http {
        &self.http
    }

    /// Migrates and seeds once per instance, on first use; a failure is not
    /// remembered, so the next request tries again.
    pub(super) async fn ready(&self) -> AppResult<&Http> {
        self.ready
            .get_or_try_init(|| async {
                if self.bootstrap.migrate {
                    self.http
                        .execute_idempotent(&sql::create_database(&self.database), false)
                        .await?;
                    for statement in sql::SCHEMA {
                        self.http.execute_idempotent(statement, true).await?;
                    }
                }
                if self.bootstrap.seed {
                    self.seed_now(&sample::catalog(Timestamp::now())).await?;
                }
                Ok::<(), AppError>(())
            })
            .await?;
        Ok(&self.http)
    }
}

#[async_trait]
impl Store for ClickHouseStore {
    fn driver(&self) -> &'static str {
        "clickhouse"
    }

    /// `SELECT 1` within the connect budget (1.5 s by default); it does not
    /// wait for migrations, so `/health` answers fast either way.
    async fn ping(&self) -> AppResult<()> {
        self.http.ping().await
    }
}
