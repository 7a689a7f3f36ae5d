//! ClickHouse over HTTPS against the real test server's HTTPS interface
//! (`TEST_CLICKHOUSE_HTTPS_URL`, whose certificate for `localhost` the test CA
//! `TEST_CLICKHOUSE_CA` verifies; see `contract::tls`). Each test has
//! its own database, dropped afterwards.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use contract::tls::{clickhouse_ca, clickhouse_https_url, foreign_ca};
use shared::config::ClickHouseConfig;
use shared::error::AppError;
use shared::repo::clickhouse::ClickHouseStore;
use shared::repo::{Bootstrap, Store};

fn config(database: &str, ca_file: Option<PathBuf>) -> ClickHouseConfig {
    ClickHouseConfig {
        ca_file,
        request_timeout: Duration::from_secs(10),
        ..ClickHouseConfig::new(clickhouse_https_url(), database)
    }
}

/// Creates its database on first use, as a deployed function does.
fn store(config: &ClickHouseConfig) -> Arc<dyn Store> {
    let bootstrap = Bootstrap {
        migrate: true,
        seed: false,
    };
    Arc::new(ClickHouseStore::new(config, bootstrap).expect("store"))
}

/// Drops a test database through the HTTPS interface, trusting the test CA.
async fn drop_database(name: &str) {
    let pem = std::fs::read(clickhouse_ca()).unwrap();
    shared::tls::install_crypto_provider();
    let client = reqwest::Client::builder()
        .tls_certs_only(reqwest::Certificate::from_pem_bundle(&pem).unwrap())
        .build()
        .unwrap();
    let _ = client
        .post(clickhouse_https_url())
        .timeout(Duration::from_secs(10))
        .body(format!("DROP DATABASE IF EXISTS {name}"))
        .send()
        .await;
}

fn refusal(result: Result<(), AppError>) -> String {
    match result {
        Err(AppError::Unavailable(detail)) => detail,
        other => panic!("expected the store to be unavailable, got {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn https_with_the_ca_file_serves_the_repository() {
    let name = contract::fresh::unique_name("tls");
    let store = store(&config(&name, Some(clickhouse_ca())));
    store.ping().await.expect("ping over verified TLS");
    // Creating the database and tables, concurrent claims, writes and reads, all over TLS.
    contract::catalog::concurrent_seeding_seeds_once(store.clone()).await;
    contract::orders::orders_are_stored_whole_and_listed_per_owner(store.clone()).await;
    drop_database(&name).await;
}

#[tokio::test]
async fn a_certificate_no_trusted_root_signed_is_refused() {
    // Without CLICKHOUSE_CA_FILE, the system's roots, which do not know the test CA.
    let detail = refusal(store(&config("x", None)).ping().await);
    assert!(detail.contains("certificate"), "system roots: {detail}");
    // With a CA file, that CA alone: here one that signed nothing.
    let dir = tempfile::tempdir().unwrap();
    let foreign = store(&config("x", Some(foreign_ca(dir.path()))));
    let detail = refusal(foreign.ping().await);
    assert!(detail.contains("certificate"), "foreign CA: {detail}");
}
