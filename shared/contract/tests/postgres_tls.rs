//! PostgreSQL over TLS against the real test server (`TEST_POSTGRES_URL`, whose
//! certificate for `localhost` `TEST_POSTGRES_CA` verifies; see
//! `contract::tls`). Each test has its own database, dropped afterwards.

use std::collections::HashMap;
use std::sync::Arc;

use contract::fresh::postgres::{drop_database, fresh_database};
use contract::tls::{foreign_ca, postgres_ca};
use shared::config::{Config, DbConfig, PostgresConfig, SecretPolicy};
use shared::error::AppError;
use shared::repo::postgres::PostgresStore;
use shared::repo::{Bootstrap, Store};

/// The PostgreSQL settings of a deployed function, read as the function reads them.
fn postgres_config(settings: &[(&str, &str)]) -> PostgresConfig {
    let mut vars: HashMap<&str, &str> = settings.iter().copied().collect();
    vars.insert("JWT_SECRET", "0123456789abcdef0123456789abcdef");
    vars.insert("DB_DRIVER", "postgres");
    vars.insert("DB_CONNECT_TIMEOUT_MS", "3000");
    let config = Config::from_lookup(
        |k| vars.get(k).map(|v| v.to_string()),
        SecretPolicy::Required,
    )
    .expect("configuration");
    match config.db {
        DbConfig::Postgres(pg) => pg,
        other => panic!("expected postgres, got {other:?}"),
    }
}

fn store(config: &PostgresConfig) -> Arc<dyn Store> {
    let bootstrap = Bootstrap {
        migrate: true,
        seed: false,
    };
    Arc::new(PostgresStore::connect_lazy(config, bootstrap).expect("store"))
}

/// Whether this session is encrypted, seen from the server.
async fn session_uses_tls(config: &PostgresConfig) -> bool {
    let pool = sqlx::PgPool::connect_with(config.connect_options().await.unwrap())
        .await
        .expect("connect");
    let ssl: bool = sqlx::query_scalar("SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()")
        .fetch_one(&pool)
        .await
        .unwrap();
    pool.close().await;
    ssl
}

fn refusal(result: Result<(), AppError>) -> String {
    match result {
        Err(AppError::Unavailable(detail)) => detail,
        other => panic!("expected the store to be unavailable, got {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn verify_full_with_the_servers_ca_serves_the_repository_over_tls() {
    let (name, _) = fresh_database("tls").await;
    let ca = postgres_ca();
    let url = format!(
        "postgres://postgres@localhost:5432/{name}?sslmode=verify-full&sslrootcert={}",
        ca.display()
    );
    let config = postgres_config(&[("DATABASE_URL", &url)]);
    assert!(session_uses_tls(&config).await, "the session is encrypted");
    let store = store(&config);
    // Migrations, concurrent transactions, writes and reads, all over TLS.
    contract::catalog::concurrent_seeding_seeds_once(store.clone()).await;
    contract::orders::orders_are_stored_whole_and_listed_per_owner(store.clone()).await;
    store.ping().await.expect("ping");
    drop_database(&name).await;
}

#[tokio::test]
async fn the_postgres_settings_carry_sslmode_and_sslrootcert() {
    let (name, _) = fresh_database("tls").await;
    let ca = postgres_ca();
    let config = postgres_config(&[
        ("POSTGRES_HOST", "localhost"),
        ("POSTGRES_DB", &name),
        ("POSTGRES_SSLMODE", "verify-full"),
        ("POSTGRES_SSLROOTCERT", ca.to_str().unwrap()),
    ]);
    assert!(session_uses_tls(&config).await, "the session is encrypted");
    store(&config).ping().await.expect("ping over verified TLS");
    // `disable` means plain text, on the same server.
    let plain = postgres_config(&[
        ("POSTGRES_HOST", "localhost"),
        ("POSTGRES_DB", &name),
        ("POSTGRES_SSLMODE", "disable"),
    ]);
    assert!(
        !session_uses_tls(&plain).await,
        "sslmode=disable stays plain"
    );
    drop_database(&name).await;
}

#[tokio::test]
async fn a_certificate_no_trusted_root_signed_is_refused() {
    let (name, _) = fresh_database("tls").await;
    let dir = tempfile::tempdir().unwrap();
    let foreign = foreign_ca(dir.path());
    for mode in ["verify-full", "verify-ca"] {
        let url = format!(
            "postgres://postgres@localhost:5432/{name}?sslmode={mode}&sslrootcert={}",
            foreign.display()
        );
        let detail = refusal(
            store(&postgres_config(&[("DATABASE_URL", &url)]))
                .ping()
                .await,
        );
        assert!(detail.contains("certificate"), "{mode}: {detail}");
    }
    // No root certificate given: the public roots alone, which do not know the test CA.
    let url = format!("postgres://postgres@localhost:5432/{name}?sslmode=verify-full");
    let detail = refusal(
        store(&postgres_config(&[("DATABASE_URL", &url)]))
            .ping()
            .await,
    );
    assert!(detail.contains("certificate"), "public roots: {detail}");
    drop_database(&name).await;
}

#[tokio::test]
async fn require_against_a_server_without_tls_says_so() {
    // What a server with `ssl = off` does: answers 'N' to the SSLRequest.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let server = tokio::spawn(async move {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        while let Ok((mut socket, _)) = listener.accept().await {
            let mut request = [0u8; 8];
            if socket.read_exact(&mut request).await.is_ok()
                && request == [0, 0, 0, 8, 0x04, 0xd2, 0x16, 0x2f]
            {
                let _ = socket.write_all(b"N").await;
            }
        }
    });
    for mode in ["require", "verify-ca", "verify-full"] {
        let url = format!("postgres://postgres@localhost:{port}/commerce?sslmode={mode}");
        let detail = refusal(
            store(&postgres_config(&[("DATABASE_URL", &url)]))
                .ping()
                .await,
        );
        assert!(
            detail.contains("server does not support TLS"),
            "{mode}: {detail}"
        );
    }
    server.abort();
}
