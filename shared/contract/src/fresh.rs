//! Throwaway databases and tables on the test servers, named so that no other
//! test uses them, even in parallel processes. Each server's address comes
//! from its `TEST_*` variable, defaulting to the local one the test command
//! ensures. An absent server is a loud failure: a suite never passes by
//! skipping.

use std::sync::atomic::{AtomicU32, Ordering};

/// A database or table name no other test uses: `prefix` (checked:
/// `[a-z0-9_]`) then numbers only, so it is safe in SQL text.
pub fn unique_name(prefix: &str) -> String {
    static COUNTER: AtomicU32 = AtomicU32::new(0);
    assert!(
        prefix
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_'),
        "bad name prefix {prefix}"
    );
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default()
        .subsec_nanos();
    format!(
        "{prefix}_{}_{}_{nanos}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    )
}

/// PostgreSQL (`TEST_POSTGRES_URL`).
pub mod postgres {
    use sqlx::Connection;

    pub fn admin_url() -> String {
        std::env::var("TEST_POSTGRES_URL")
            .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into())
    }

    /// Creates a new, empty database; returns its name and URL.
    pub async fn fresh_database(prefix: &str) -> (String, String) {
        let name = super::unique_name(prefix);
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

    /// Drops a database made by `fresh_database`, closing its connections.
    pub async fn drop_database(name: &str) {
        if let Ok(mut conn) = sqlx::PgConnection::connect(&admin_url()).await {
            let _ = sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
                "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
            )))
            .execute(&mut conn)
            .await;
        }
    }
}

/// ClickHouse over HTTP (`TEST_CLICKHOUSE_URL`).
pub mod clickhouse {
    use std::time::Duration;

    pub fn server_url() -> String {
        std::env::var("TEST_CLICKHOUSE_URL").unwrap_or_else(|_| "http://127.0.0.1:8123".into())
    }

    /// Drops a database made for a test (the name comes from `unique_name`).
    pub async fn drop_database(name: &str) {
        shared::tls::install_crypto_provider();
        let _ = reqwest::Client::new()
            .post(server_url())
            .timeout(Duration::from_secs(10))
            .body(format!("DROP DATABASE IF EXISTS {name}"))
            .send()
            .await;
    }
}

/// A DynamoDB-compatible server (`TEST_DYNAMODB_ENDPOINT`: moto in the test
/// command, DynamoDB Local works too). A store creates its table on first use.
pub mod dynamodb {
    use shared::repo::dynamodb::DynamoDbStore;

    pub fn endpoint() -> String {
        std::env::var("TEST_DYNAMODB_ENDPOINT").unwrap_or_else(|_| "http://127.0.0.1:8000".into())
    }

    /// Deletes the store's table; a failure is reported, not fatal, as the
    /// table's name is unique to the test anyway.
    pub async fn delete_table(store: &DynamoDbStore) {
        let deleted = match store.client().await {
            Ok(client) => client
                .delete_table()
                .table_name(store.table())
                .send()
                .await
                .map(drop)
                .map_err(|e| format!("{e:?}")),
            Err(e) => Err(format!("{e:?}")),
        };
        if let Err(e) = deleted {
            eprintln!("could not delete test table {}: {e}", store.table());
        }
    }
}
