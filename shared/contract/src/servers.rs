//! Throwaway databases on the test servers.

/// Throwaway PostgreSQL databases on the test server (`TEST_POSTGRES_URL`,
/// default the local one the test command ensures). An absent server is a
/// loud failure: a suite never passes by skipping.
pub mod postgres {
    use sqlx::Connection;

    pub fn admin_url() -> String {
        std::env::var("TEST_POSTGRES_URL")
            .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into())
    }

    /// Creates a new, empty database; returns its name and URL.
    pub async fn fresh_database(prefix: &str) -> (String, String) {
        let name = crate::unique_name(prefix);
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

/// Throwaway ClickHouse databases on the test server (`TEST_CLICKHOUSE_URL`,
/// default the local one the test command ensures).
pub mod clickhouse {
    use std::time::Duration;

    pub fn server_url() -> String {
        std::env::var("TEST_CLICKHOUSE_URL").unwrap_or_else(|_| "http://127.0.0.1:8123".into())
    }

    /// Drops a database made for a test (the name comes from `unique_name`).
    pub async fn drop_database(name: &str) {
        let _ = reqwest::Client::new()
            .post(server_url())
            .timeout(Duration::from_secs(10))
            .body(format!("DROP DATABASE IF EXISTS {name}"))
            .send()
            .await;
    }
}
