//! PostgreSQL: where the database is, how the connection is secured, how the
//! pool behaves. The connection options the store opens its pool with are
//! built here, so the store knows nothing of settings.

use std::path::PathBuf;
use std::time::Duration;

use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};

use super::secret::{AwsContext, Secret};
use super::{Lookup, config_error, parse_num};
use crate::error::AppError;

#[derive(Clone)]
pub struct PostgresConfig {
    /// `DATABASE_URL`, or one built from `POSTGRES_HOST`, `_PORT`, `_USER` and
    /// `_DB`. May carry a password and `sslmode` / `sslrootcert` parameters.
    /// A secret setting: may name where it lives in AWS.
    pub url: Secret,
    /// `POSTGRES_PASSWORD`, applied over the URL's; a secret setting too.
    pub password: Option<Secret>,
    /// `POSTGRES_SSLMODE`: used when the URL names no `sslmode`.
    pub ssl_mode: Option<SslMode>,
    /// `POSTGRES_SSLROOTCERT`: used when the URL names no `sslrootcert`.
    pub ssl_root_cert: Option<PathBuf>,
    pub max_connections: u32,
    pub connect_timeout: Duration,
    pub statement_timeout: Duration,
}

/// One held connection on Lambda, where an execution environment serves one
/// request at a time (Lambda sets `AWS_LAMBDA_FUNCTION_NAME`); a pool of 3
/// elsewhere (the dev server serves requests concurrently).
fn default_connections(get: &impl Lookup) -> u32 {
    if get("AWS_LAMBDA_FUNCTION_NAME").is_some() {
        1
    } else {
        3
    }
}

/// libpq's `sslmode`, less `allow`: whether to use TLS and what to verify.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SslMode {
    /// Plain text only.
    Disable,
    /// TLS when the server offers it, unverified; plain text otherwise (libpq's default).
    Prefer,
    /// TLS or no connection; the certificate is not verified.
    Require,
    /// TLS with a certificate chaining to a trusted root, whatever its name.
    VerifyCa,
    /// TLS with a trusted certificate naming the host connected to.
    VerifyFull,
}

impl SslMode {
    pub fn parse(text: &str) -> Option<SslMode> {
        match text {
            "disable" => Some(SslMode::Disable),
            "prefer" => Some(SslMode::Prefer),
            "require" => Some(SslMode::Require),
            "verify-ca" => Some(SslMode::VerifyCa),
            "verify-full" => Some(SslMode::VerifyFull),
            _ => None,
        }
    }
}

/// Keeps the password (in the URL or beside it) out of logs: secrets show
/// their AWS reference or `<redacted>`.
impl std::fmt::Debug for PostgresConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PostgresConfig")
            .field("url", &self.url)
            .field("password", &self.password)
            .field("ssl_mode", &self.ssl_mode)
            .field("ssl_root_cert", &self.ssl_root_cert)
            .field("max_connections", &self.max_connections)
            .finish_non_exhaustive()
    }
}

impl PostgresConfig {
    /// A URL with the default pool settings and no TLS settings beside it.
    pub fn from_url(url: impl Into<String>) -> PostgresConfig {
        PostgresConfig {
            url: Secret::plain("DATABASE_URL", url),
            password: None,
            ssl_mode: None,
            ssl_root_cert: None,
            max_connections: 3,
            connect_timeout: Duration::from_millis(2000),
            statement_timeout: Duration::from_millis(5000),
        }
    }

    /// What the pool connects with: the URL, the password, TLS (the URL's
    /// `sslmode` and `sslrootcert` first, then the `POSTGRES_SSL*` settings,
    /// then libpq's `prefer`), the application name and the statement timeout.
    /// Secrets held in AWS are fetched on the first call (then kept).
    ///
    /// With `sslrootcert`, the file's certificates are trusted besides the
    /// public roots compiled in (webpki-roots); without it, the public roots
    /// alone, enough for RDS Proxy.
    #[cfg(feature = "postgres")]
    pub async fn connect_options(&self) -> Result<sqlx::postgres::PgConnectOptions, AppError> {
        let url = self.url.value().await?;
        let password = match &self.password {
            Some(password) => Some(password.value().await?),
            None => None,
        };
        self.options_with(url, password)
    }

    #[cfg(feature = "postgres")]
    fn options_with(
        &self,
        url: &str,
        password: Option<&str>,
    ) -> Result<sqlx::postgres::PgConnectOptions, AppError> {
        use sqlx::postgres::{PgConnectOptions, PgSslMode};
        use std::str::FromStr;

        let mut options = PgConnectOptions::from_str(url).map_err(|e| {
            config_error(&format!(
                "DATABASE_URL is not a valid PostgreSQL URL ({})",
                url_error_without_url(&e)
            ))
        })?;
        if let Some(password) = password {
            options = options.password(password);
        }
        let query = url.split_once('?').map_or("", |(_, q)| q);
        if let Some(mode) = self.ssl_mode
            && !has_parameter(query, &["sslmode", "ssl-mode"])
        {
            options = options.ssl_mode(match mode {
                SslMode::Disable => PgSslMode::Disable,
                SslMode::Prefer => PgSslMode::Prefer,
                SslMode::Require => PgSslMode::Require,
                SslMode::VerifyCa => PgSslMode::VerifyCa,
                SslMode::VerifyFull => PgSslMode::VerifyFull,
            });
        }
        if let Some(cert) = &self.ssl_root_cert
            && !has_parameter(query, &["sslrootcert", "ssl-root-cert", "ssl-ca"])
        {
            options = options.ssl_root_cert(cert);
        }
        let statement_timeout = self.statement_timeout.as_millis().to_string();
        Ok(options
            .application_name("commerce-api")
            .options([("statement_timeout", statement_timeout.as_str())]))
    }
}

/// Whether a URL's query string sets any of these parameters.
#[cfg(feature = "postgres")]
fn has_parameter(query: &str, names: &[&str]) -> bool {
    query
        .split('&')
        .filter_map(|pair| pair.split('=').next())
        .any(|name| names.contains(&name))
}

/// sqlx's message for a bad URL, which never includes the URL (and its password).
#[cfg(feature = "postgres")]
fn url_error_without_url(e: &sqlx::Error) -> String {
    match e {
        sqlx::Error::Configuration(inner) => inner.to_string(),
        _ => "unreadable".into(),
    }
}

/// What stays as it is in a URL's user or path: RFC 3986's unreserved characters.
const URL_COMPONENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

pub(super) fn postgres_config(
    get: &impl Lookup,
    aws: &AwsContext,
) -> Result<PostgresConfig, AppError> {
    let ssl_mode = get("POSTGRES_SSLMODE")
        .map(|text| {
            SslMode::parse(&text).ok_or_else(|| {
                config_error(&format!(
                    "POSTGRES_SSLMODE must be disable, prefer, require, verify-ca or verify-full, not `{text}`"
                ))
            })
        })
        .transpose()?;
    let ssl_root_cert = get("POSTGRES_SSLROOTCERT").map(PathBuf::from);
    if let Some(path) = &ssl_root_cert
        && !path.is_file()
    {
        return Err(config_error(&format!(
            "POSTGRES_SSLROOTCERT names no readable file: {}",
            path.display()
        )));
    }
    let url = match get("DATABASE_URL") {
        Some(url) => Secret::from_setting("DATABASE_URL", url, Some(postgres_scheme), aws)?,
        None => Secret::plain("DATABASE_URL", url_from_parts(get)?),
    };
    let password = get("POSTGRES_PASSWORD")
        .map(|password| Secret::from_setting("POSTGRES_PASSWORD", password, None, aws))
        .transpose()?;
    let config = PostgresConfig {
        url,
        password,
        ssl_mode,
        ssl_root_cert,
        max_connections: parse_num(get, "DB_MAX_CONNECTIONS", default_connections(get), 1, 100)?,
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
    };
    // A bad URL or `sslmode` stops the start, not the first request (when
    // both are known now: a URL in AWS is checked when it is fetched).
    #[cfg(feature = "postgres")]
    if let Some(url) = config.url.plain_value() {
        let password = config
            .password
            .as_ref()
            .map(|p| p.plain_value().unwrap_or(""));
        config.options_with(url, password)?;
    }
    Ok(config)
}

fn postgres_scheme(url: &str) -> Result<(), &'static str> {
    if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        Ok(())
    } else {
        Err("must start with postgres:// when DB_DRIVER=postgres")
    }
}

/// The URL of the original service's `POSTGRES_*` variables (the password
/// is kept beside it, not in it).
fn url_from_parts(get: &impl Lookup) -> Result<String, AppError> {
    let host = get("POSTGRES_HOST").unwrap_or_else(|| "127.0.0.1".into());
    let port: u16 = parse_num(get, "POSTGRES_PORT", 5432, 1, 65_535)?;
    let user = get("POSTGRES_USER").unwrap_or_else(|| "postgres".into());
    let db = get("POSTGRES_DB").unwrap_or_else(|| "commerce".into());
    Ok(format!(
        "postgres://{}@{host}:{port}/{}",
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
        let get = |k: &str| map.get(k).map(|v| v.to_string());
        postgres_config(&get, &AwsContext::from_lookup(&get))
    }

    #[test]
    fn one_held_connection_on_lambda_a_pool_elsewhere() {
        let url = ("DATABASE_URL", "postgres://app@db/shop");
        assert_eq!(postgres(&[url]).unwrap().max_connections, 3);
        let lambda = ("AWS_LAMBDA_FUNCTION_NAME", "orders");
        assert_eq!(postgres(&[url, lambda]).unwrap().max_connections, 1);
        let set = ("DB_MAX_CONNECTIONS", "4");
        assert_eq!(postgres(&[url, lambda, set]).unwrap().max_connections, 4);
    }

    #[test]
    fn builds_a_postgres_url_from_the_seed_variables() {
        let pg = postgres(&[
            ("POSTGRES_HOST", "db"),
            ("POSTGRES_USER", "app user/ü"),
            ("POSTGRES_PASSWORD", "p@ss word"),
            ("POSTGRES_DB", "shop"),
        ])
        .unwrap();
        assert_eq!(
            pg.url.plain_value(),
            Some("postgres://app%20user%2F%C3%BC@db:5432/shop")
        );
        assert_eq!(
            pg.password.as_ref().and_then(Secret::plain_value),
            Some("p@ss word")
        );
        assert!(!format!("{pg:?}").contains("p@ss"));
    }

    #[test]
    fn database_url_wins_and_must_be_postgres() {
        let url = "postgresql://u@h/db?sslmode=require";
        let pg = postgres(&[("DATABASE_URL", url), ("POSTGRES_HOST", "other")]).unwrap();
        assert_eq!(pg.url.plain_value(), Some(url));
        assert!(postgres(&[("DATABASE_URL", "mysql://h/db")]).is_err());
        assert!(postgres(&[("DB_MAX_CONNECTIONS", "0")]).is_err());
    }

    #[test]
    fn ssl_settings_are_checked_at_start() {
        assert_eq!(
            postgres(&[("POSTGRES_SSLMODE", "verify-full")])
                .unwrap()
                .ssl_mode,
            Some(SslMode::VerifyFull)
        );
        for bad in [
            ("POSTGRES_SSLMODE", "on"),
            ("POSTGRES_SSLMODE", "allow"),
            ("POSTGRES_SSLROOTCERT", "/nonexistent/rds-ca.pem"),
        ] {
            assert!(postgres(&[bad]).is_err(), "{bad:?}");
        }
    }

    #[cfg(feature = "postgres")]
    #[tokio::test]
    async fn tls_comes_from_the_url_first_then_the_settings() {
        use sqlx::postgres::PgSslMode;

        // Only its existence is checked at start; sqlx reads it when connecting.
        let ca = tempfile::NamedTempFile::new().unwrap();
        let ca_text = ca.path().to_str().unwrap();
        let settings = [
            ("POSTGRES_SSLMODE", "verify-full"),
            ("POSTGRES_SSLROOTCERT", ca_text),
        ];
        let from_settings = postgres(&settings)
            .unwrap()
            .connect_options()
            .await
            .unwrap();
        assert!(matches!(
            from_settings.get_ssl_mode(),
            PgSslMode::VerifyFull
        ));

        let url = "postgres://u@h/db?sslmode=require";
        let mut pairs = settings.to_vec();
        pairs.push(("DATABASE_URL", url));
        let from_url = postgres(&pairs).unwrap().connect_options().await.unwrap();
        assert!(matches!(from_url.get_ssl_mode(), PgSslMode::Require));

        let plain = postgres(&[]).unwrap().connect_options().await.unwrap();
        assert!(matches!(plain.get_ssl_mode(), PgSslMode::Prefer));
        assert!(postgres(&[("DATABASE_URL", "postgres://h/db?sslmode=sometimes")]).is_err());
    }
}
