//! ClickHouse over its HTTP interface: where (plain or TLS), as whom, which
//! database, how long.

use std::path::PathBuf;
use std::time::Duration;

use super::secret::{AwsContext, Secret};
use super::{Lookup, config_error, parse_num};
use crate::error::AppError;

/// ClickHouse over its HTTP interface.
#[derive(Clone)]
pub struct ClickHouseConfig {
    /// Base URL of the HTTP interface, `http://host:8123` or
    /// `https://host:8443`, without credentials.
    pub url: String,
    /// `CLICKHOUSE_CA_FILE`: PEM certificates, the only roots trusted for an
    /// `https://` URL. Unset: the system's roots.
    pub ca_file: Option<PathBuf>,
    pub user: String,
    /// `CLICKHOUSE_PASSWORD`: a secret setting, may name where it lives in AWS.
    pub password: Secret,
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
            .field("ca_file", &self.ca_file)
            .field("user", &self.user)
            .field("password", &self.password)
            .field("database", &self.database)
            .finish_non_exhaustive()
    }
}

impl ClickHouseConfig {
    /// A server and database with the default account and timeouts.
    pub fn new(url: impl Into<String>, database: impl Into<String>) -> ClickHouseConfig {
        ClickHouseConfig {
            url: url.into(),
            ca_file: None,
            user: "default".into(),
            password: Secret::plain("CLICKHOUSE_PASSWORD", ""),
            database: database.into(),
            connect_timeout: Duration::from_millis(1500),
            request_timeout: Duration::from_millis(5000),
        }
    }
}

/// `CLICKHOUSE_URL`, or one built from the original service's `CLICKHOUSE_HOST`
/// and `CLICKHOUSE_PORT` (8443, ClickHouse's HTTPS port, means https);
/// credentials only from `CLICKHOUSE_USER` and `CLICKHOUSE_PASSWORD` (sent as
/// HTTP basic auth, never in a URL).
pub(super) fn clickhouse_config(
    get: &impl Lookup,
    aws: &AwsContext,
) -> Result<ClickHouseConfig, AppError> {
    let url = match get("CLICKHOUSE_URL") {
        Some(url) => {
            let rest = url
                .strip_prefix("http://")
                .or_else(|| url.strip_prefix("https://"))
                .ok_or_else(|| {
                    config_error(
                        "CLICKHOUSE_URL must start with http:// or https:// (the HTTP interface)",
                    )
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
                    "CLICKHOUSE_PORT={port} is the native protocol's port; this service uses the HTTP interface (8123, or 8443 for HTTPS)"
                )));
            }
            let scheme = if port == 8443 { "https" } else { "http" };
            format!("{scheme}://{host}:{port}")
        }
    };
    let ca_file = get("CLICKHOUSE_CA_FILE").map(PathBuf::from);
    if let Some(path) = &ca_file {
        if !url.starts_with("https://") {
            return Err(config_error(
                "CLICKHOUSE_CA_FILE is set but the ClickHouse URL is not https://",
            ));
        }
        if !path.is_file() {
            return Err(config_error(&format!(
                "CLICKHOUSE_CA_FILE names no readable file: {}",
                path.display()
            )));
        }
    }
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
        ca_file,
        user: get("CLICKHOUSE_USER").unwrap_or_else(|| "default".into()),
        password: Secret::from_setting(
            "CLICKHOUSE_PASSWORD",
            get("CLICKHOUSE_PASSWORD").unwrap_or_default(),
            None,
            aws,
        )?,
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
        let get = |k: &str| map.get(k).map(|v| v.to_string());
        clickhouse_config(&get, &AwsContext::from_lookup(&get))
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
            (ch.url.as_str(), ch.user.as_str(), ch.password.plain_value()),
            ("http://ch:8123", "app", Some("s3cret!"))
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
            ("CLICKHOUSE_URL", "ch:8123"),
            ("CLICKHOUSE_URL", "ftp://ch:8123"),
            ("CLICKHOUSE_URL", "http://u:p@ch:8123"),
            ("CLICKHOUSE_URL", "https://u:p@ch:8443"),
            ("CLICKHOUSE_PORT", "9000"),
            ("CLICKHOUSE_DATABASE", "shop; DROP"),
        ] {
            assert!(clickhouse(&[bad]).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn https_with_an_optional_ca_file() {
        let ca = tempfile::NamedTempFile::new().unwrap();
        let ca_path = ca.path().to_str().unwrap();
        let ch = clickhouse(&[
            ("CLICKHOUSE_URL", "https://ch.example.com:8443/"),
            ("CLICKHOUSE_CA_FILE", ca_path),
        ])
        .unwrap();
        assert_eq!(ch.url, "https://ch.example.com:8443");
        assert_eq!(ch.ca_file.as_deref(), Some(ca.path()));
        let by_port =
            clickhouse(&[("CLICKHOUSE_HOST", "ch"), ("CLICKHOUSE_PORT", "8443")]).unwrap();
        assert_eq!(
            (by_port.url.as_str(), by_port.ca_file),
            ("https://ch:8443", None)
        );
        // A CA for a plain-text URL is a mistake; a missing CA file stops the start.
        assert!(
            clickhouse(&[
                ("CLICKHOUSE_URL", "http://ch:8123"),
                ("CLICKHOUSE_CA_FILE", ca_path)
            ])
            .is_err()
        );
        assert!(
            clickhouse(&[
                ("CLICKHOUSE_URL", "https://ch:8443"),
                ("CLICKHOUSE_CA_FILE", "/nonexistent/ca.pem")
            ])
            .is_err()
        );
    }
}
