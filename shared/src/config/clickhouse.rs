//! ClickHouse over its HTTP interface: where, as whom, which database, how long.

use std::time::Duration;

use super::{Lookup, config_error, parse_num};
use crate::error::AppError;

/// ClickHouse over its HTTP interface.
#[derive(Clone)]
pub struct ClickHouseConfig {
    /// Base URL of the HTTP interface, `http://host:8123`, without credentials.
    pub url: String,
    pub user: String,
    pub password: String,
    /// Letters, digits and `_` only, so it never needs quoting.
    pub database: String,
    /// Connecting; also the whole budget of `Store::ping` (`/health`).
    pub connect_timeout: Duration,
    /// One query, client side (plus a second of slack) and server side (`max_execution_time`).
    pub request_timeout: Duration,
}

/// Keeps the password out of logs.
impl std::fmt::Debug for ClickHouseConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClickHouseConfig")
            .field("url", &self.url)
            .field("user", &self.user)
            .field("password", &"<redacted>")
            .field("database", &self.database)
            .finish_non_exhaustive()
    }
}

/// `CLICKHOUSE_URL`, or one built from the original service's `CLICKHOUSE_HOST`
/// and `CLICKHOUSE_PORT`; credentials only from `CLICKHOUSE_USER` and
/// `CLICKHOUSE_PASSWORD` (sent as HTTP basic auth, never in a URL).
pub(super) fn clickhouse_config(get: &impl Lookup) -> Result<ClickHouseConfig, AppError> {
    let url = match get("CLICKHOUSE_URL") {
        Some(url) => {
            let rest = url.strip_prefix("http://").ok_or_else(|| {
                config_error("CLICKHOUSE_URL must start with http:// (the HTTP interface; TLS is not built in)")
            })?;
            if rest.contains('@') {
                return Err(config_error(
                    "CLICKHOUSE_URL must not carry credentials; set CLICKHOUSE_USER and CLICKHOUSE_PASSWORD",
                ));
            }
            url.trim_end_matches('/').to_owned()
        }
        None => {
            let host = get("CLICKHOUSE_HOST").unwrap_or_else(|| "127.0.0.1".into());
            let port: u16 = parse_num(get, "CLICKHOUSE_PORT", 8123, 1, 65_535)?;
            // The original service spoke the native protocol; this one speaks HTTP.
            if port == 9000 || port == 9440 {
                return Err(config_error(&format!(
                    "CLICKHOUSE_PORT={port} is the native protocol's port; this service uses the HTTP interface (8123)"
                )));
            }
            format!("http://{host}:{port}")
        }
    };
    let database = get("CLICKHOUSE_DATABASE").unwrap_or_else(|| "commerce".into());
    let valid_name = database
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b == b'_');
    if database.is_empty() || database.len() > 64 || !valid_name {
        return Err(config_error(
            "CLICKHOUSE_DATABASE must be 1 to 64 letters, digits or underscores",
        ));
    }
    Ok(ClickHouseConfig {
        url,
        user: get("CLICKHOUSE_USER").unwrap_or_else(|| "default".into()),
        password: get("CLICKHOUSE_PASSWORD").unwrap_or_default(),
        database,
        connect_timeout: Duration::from_millis(parse_num(
            get,
            "DB_CONNECT_TIMEOUT_MS",
            1500,
            100,
            60_000,
        )?),
        request_timeout: Duration::from_millis(parse_num(
            get,
            "DB_STATEMENT_TIMEOUT_MS",
            5000,
            1000,
            300_000,
        )?),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn clickhouse(pairs: &[(&str, &str)]) -> Result<ClickHouseConfig, AppError> {
        let map: HashMap<&str, &str> = pairs.iter().copied().collect();
        clickhouse_config(&|k: &str| map.get(k).map(|v| v.to_string()))
    }

    #[test]
    fn reads_clickhouse_from_a_url_or_the_seed_variables() {
        let ch = clickhouse(&[
            ("CLICKHOUSE_HOST", "ch"),
            ("CLICKHOUSE_USER", "app"),
            ("CLICKHOUSE_PASSWORD", "s3cret!"),
            ("CLICKHOUSE_DATABASE", "shop"),
        ])
        .unwrap();
        assert_eq!(
            (ch.url.as_str(), ch.user.as_str(), ch.password.as_str()),
            ("http://ch:8123", "app", "s3cret!")
        );
        assert_eq!(ch.database, "shop");
        assert_eq!(
            (
                ch.connect_timeout.as_millis(),
                ch.request_timeout.as_millis()
            ),
            (1500, 5000)
        );
        assert!(
            !format!("{ch:?}").contains("s3cret"),
            "Debug redacts the password"
        );

        let ch = clickhouse(&[("CLICKHOUSE_URL", "http://10.0.0.5:18123/")]).unwrap();
        assert_eq!(
            (ch.url.as_str(), ch.user.as_str(), ch.database.as_str()),
            ("http://10.0.0.5:18123", "default", "commerce")
        );

        for bad in [
            ("CLICKHOUSE_URL", "https://ch:8443"),
            ("CLICKHOUSE_URL", "http://u:p@ch:8123"),
            ("CLICKHOUSE_PORT", "9000"),
            ("CLICKHOUSE_DATABASE", "shop; DROP"),
        ] {
            assert!(clickhouse(&[bad]).is_err(), "{bad:?}");
        }
    }
}
