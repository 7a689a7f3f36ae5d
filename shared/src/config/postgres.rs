//! PostgreSQL: where the database is and how the pool behaves.

use std::time::Duration;

use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};

use super::{Lookup, config_error, parse_num};
use crate::error::AppError;

#[derive(Clone)]
pub struct PostgresConfig {
    pub url: String,
    pub max_connections: u32,
    pub connect_timeout: Duration,
    pub statement_timeout: Duration,
}

/// Keeps the password in the URL out of logs.
impl std::fmt::Debug for PostgresConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PostgresConfig")
            .field("url", &"<redacted>")
            .field("max_connections", &self.max_connections)
            .finish_non_exhaustive()
    }
}

/// What stays as it is in a URL's user, password or path: RFC 3986's unreserved characters.
const URL_COMPONENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

pub(super) fn postgres_config(get: &impl Lookup) -> Result<PostgresConfig, AppError> {
    Ok(PostgresConfig {
        url: postgres_url(get)?,
        max_connections: parse_num(get, "DB_MAX_CONNECTIONS", 3, 1, 100)?,
        connect_timeout: Duration::from_millis(parse_num(
            get,
            "DB_CONNECT_TIMEOUT_MS",
            2000,
            100,
            60_000,
        )?),
        statement_timeout: Duration::from_millis(parse_num(
            get,
            "DB_STATEMENT_TIMEOUT_MS",
            5000,
            100,
            300_000,
        )?),
    })
}

/// `DATABASE_URL`, or one built from the original service's `POSTGRES_*` variables.
fn postgres_url(get: &impl Lookup) -> Result<String, AppError> {
    if let Some(url) = get("DATABASE_URL") {
        if !(url.starts_with("postgres://") || url.starts_with("postgresql://")) {
            return Err(config_error(
                "DATABASE_URL must start with postgres:// when DB_DRIVER=postgres",
            ));
        }
        return Ok(url);
    }
    let host = get("POSTGRES_HOST").unwrap_or_else(|| "127.0.0.1".into());
    let port: u16 = parse_num(get, "POSTGRES_PORT", 5432, 1, 65_535)?;
    let user = get("POSTGRES_USER").unwrap_or_else(|| "postgres".into());
    let db = get("POSTGRES_DB").unwrap_or_else(|| "commerce".into());
    let password = get("POSTGRES_PASSWORD")
        .map(|p| format!(":{}", utf8_percent_encode(&p, URL_COMPONENT)))
        .unwrap_or_default();
    Ok(format!(
        "postgres://{}{password}@{host}:{port}/{}",
        utf8_percent_encode(&user, URL_COMPONENT),
        utf8_percent_encode(&db, URL_COMPONENT)
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn postgres(pairs: &[(&str, &str)]) -> Result<PostgresConfig, AppError> {
        let map: HashMap<&str, &str> = pairs.iter().copied().collect();
        postgres_config(&|k: &str| map.get(k).map(|v| v.to_string()))
    }

    #[test]
    fn builds_a_postgres_url_from_the_seed_variables() {
        let pg = postgres(&[
            ("POSTGRES_HOST", "db"),
            ("POSTGRES_USER", "app"),
            ("POSTGRES_PASSWORD", "p@ss word/ü"),
            ("POSTGRES_DB", "shop"),
        ])
        .unwrap();
        assert_eq!(pg.url, "postgres://app:p%40ss%20word%2F%C3%BC@db:5432/shop");
        assert!(!format!("{pg:?}").contains("p%40ss"));
    }

    #[test]
    fn database_url_wins_and_must_be_postgres() {
        let url = "postgresql://u@h/db?sslmode=require";
        let pg = postgres(&[("DATABASE_URL", url), ("POSTGRES_HOST", "other")]).unwrap();
        assert_eq!(pg.url, url);
        assert!(postgres(&[("DATABASE_URL", "mysql://h/db")]).is_err());
        assert!(postgres(&[("DB_MAX_CONNECTIONS", "0")]).is_err());
    }
}
