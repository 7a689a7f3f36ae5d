//! The repository contract suite against a real PostgreSQL server, each test in
//! its own fresh database, dropped afterwards.

use std::sync::Arc;
use std::time::Duration;

use contract::Harness;
use contract::fresh::postgres::{drop_database, fresh_database};
use shared::config::PostgresConfig;
use shared::repo::Bootstrap;
use shared::repo::postgres::PostgresStore;

async fn harness() -> Harness {
    let (name, url) = fresh_database("contract").await;
    let config = PostgresConfig {
        max_connections: 5,
        connect_timeout: Duration::from_secs(5),
        statement_timeout: Duration::from_secs(10),
        ..PostgresConfig::from_url(url)
    };
    let store = PostgresStore::connect_lazy(
        &config,
        Bootstrap {
            migrate: true,
            seed: false,
        },
    )
    .expect("store");
    Harness {
        store: Arc::new(store),
        cleanup: Some(Box::new(move || {
            Box::pin(async move { drop_database(&name).await })
        })),
    }
}

contract::contract_cases!(harness);
