//! The repository contract suite against a real PostgreSQL server, each test in
//! its own fresh database, dropped afterwards. The server comes from
//! `TEST_POSTGRES_URL` (default: the local one the test command ensures); when
//! it is absent the tests fail loudly, they never pass by skipping.

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use shared::config::PostgresConfig;
use shared::repo::Bootstrap;
use shared::repo::postgres::PostgresStore;
use shared::testkit::Harness;
use sqlx::Connection;

fn admin_url() -> String {
    std::env::var("TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into())
}

/// A new, empty database on the test server, and its URL.
pub async fn fresh_database() -> (String, String) {
    static COUNTER: AtomicU32 = AtomicU32::new(0);
    let name = format!(
        "contract_{}_{}_{}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .subsec_nanos()
    );
    let admin = admin_url();
    let mut conn = sqlx::PgConnection::connect(&admin)
        .await
        .unwrap_or_else(|e| panic!("PostgreSQL is required at {admin} for these tests: {e}"));
    sqlx::raw_sql(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
        .execute(&mut conn)
        .await
        .expect("create database");
    let base = admin
        .rsplit_once('/')
        .map(|(base, _)| base)
        .unwrap_or(&admin)
        .to_owned();
    (name.clone(), format!("{base}/{name}"))
}

pub async fn drop_database(name: &str) {
    if let Ok(mut conn) = sqlx::PgConnection::connect(&admin_url()).await {
        let _ = sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
            "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
        )))
        .execute(&mut conn)
        .await;
    }
}

async fn harness() -> Harness {
    let (name, url) = fresh_database().await;
    let config = PostgresConfig {
        url,
        max_connections: 5,
        connect_timeout: Duration::from_secs(5),
        statement_timeout: Duration::from_secs(10),
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

shared::repository_contract_suite!(harness);
