//! Typed configuration, read once from the environment at cold start.
//! Every variable is listed, with its default, in `.env.example`.

use std::collections::HashSet;
use std::path::PathBuf;
use std::time::Duration;

use crate::error::AppError;

/// The secret the dev server uses when `JWT_SECRET` is unset. Never valid in a
/// deployed function, which refuses to start without its own secret.
pub const DEV_JWT_SECRET: &str = "dev-only-secret-do-not-deploy-0123456789abcdef";

pub const DEFAULT_SQLITE_PATH: &str = "local/data/commerce.db";

#[derive(Clone, Debug)]
pub struct Config {
    pub db: DbConfig,
    pub jwt: JwtConfig,
    pub tax_rate_bps: u32,
    /// Lower-cased usernames that get the `admin` role at login.
    pub admin_usernames: HashSet<String>,
    pub catalog_write: CatalogWrite,
    pub auto_migrate: bool,
}

#[derive(Clone, Debug)]
pub enum DbConfig {
    Sqlite { path: PathBuf },
    Postgres(PostgresConfig),
    ClickHouse(ClickHouseConfig),
    DynamoDb(DynamoDbConfig),
}

impl DbConfig {
    pub fn driver(&self) -> &'static str {
        match self {
            DbConfig::Sqlite { .. } => "sqlite",
            DbConfig::Postgres(_) => "postgres",
            DbConfig::ClickHouse(_) => "clickhouse",
            DbConfig::DynamoDb(_) => "dynamodb",
        }
    }
}

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

/// The DynamoDB table and how to reach it. Region and credentials are not
/// here: they come from the standard AWS chain (in Lambda, its environment).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DynamoDbConfig {
    /// `DYNAMODB_TABLE`: the one table holding every item.
    pub table: String,
    /// `DYNAMODB_ENDPOINT`: a local DynamoDB-compatible server (DynamoDB Local,
    /// moto). Unset in AWS, where the regional endpoint is used.
    pub endpoint: Option<String>,
    /// `DYNAMODB_CONNECT_TIMEOUT_MS`: a down endpoint fails fast instead of
    /// holding a Lambda invocation.
    pub connect_timeout: Duration,
    /// `DYNAMODB_TIMEOUT_MS`: the whole of one call, retries included.
    pub operation_timeout: Duration,
}

#[derive(Clone)]
pub struct JwtConfig {
    pub secret: Vec<u8>,
    pub issuer: String,
    pub audience: String,
    pub ttl_seconds: u64,
}

impl std::fmt::Debug for JwtConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JwtConfig")
            .field("secret", &"<redacted>")
            .field("issuer", &self.issuer)
            .field("audience", &self.audience)
            .field("ttl_seconds", &self.ttl_seconds)
            .finish()
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CatalogWrite {
    /// Any authenticated user may create and update products (the original service).
    Authenticated,
    Admin,
}

/// Where `JWT_SECRET` may come from when it is not set.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SecretPolicy {
    /// A deployed function: no secret, no start.
    Required,
    /// The local dev server: fall back to `DEV_JWT_SECRET` (and say so).
    DevFallback,
    /// A function that neither issues nor verifies tokens (health), deployed
    /// without the secret: `JWT_SECRET` is not read, and the keys are made of
    /// random bytes nobody knows, so no token would verify against them.
    NoTokens,
}

impl Config {
    pub fn from_env(policy: SecretPolicy) -> Result<Config, AppError> {
        Config::from_lookup(
            |key| std::env::var(key).ok().filter(|v| !v.is_empty()),
            policy,
        )
    }

    /// Reads the configuration through `get` (the environment, or a map in tests).
    pub fn from_lookup(
        get: impl Fn(&str) -> Option<String>,
        policy: SecretPolicy,
    ) -> Result<Config, AppError> {
        let secret = match (get("JWT_SECRET"), policy) {
            (_, SecretPolicy::NoTokens) => unknown_secret()?,
            // The deployed template passes a reference; signing with its text,
            // which is no secret, would make every token forgeable.
            (Some(secret), _) if is_secret_reference(&secret) => {
                return Err(config_error(
                    "JWT_SECRET names a secret (an ARN or ssm: name) that this build does not fetch",
                ));
            }
            (Some(secret), _) => secret.into_bytes(),
            (None, SecretPolicy::DevFallback) => DEV_JWT_SECRET.as_bytes().to_vec(),
            (None, SecretPolicy::Required) => {
                return Err(config_error("JWT_SECRET is required (at least 32 bytes)"));
            }
        };
        if secret.len() < 32 {
            return Err(config_error("JWT_SECRET must be at least 32 bytes"));
        }
        let jwt = JwtConfig {
            secret,
            issuer: get("JWT_ISSUER").unwrap_or_else(|| "commerce-api".into()),
            audience: get("JWT_AUDIENCE").unwrap_or_else(|| "commerce-api-clients".into()),
            ttl_seconds: parse_num(&get, "JWT_TTL_SECONDS", 3600, 60, 86_400)?,
        };
        let catalog_write = match get("CATALOG_WRITE").as_deref() {
            None | Some("authenticated") => CatalogWrite::Authenticated,
            Some("admin") => CatalogWrite::Admin,
            Some(other) => {
                return Err(config_error(&format!(
                    "CATALOG_WRITE must be `authenticated` or `admin`, not `{other}`"
                )));
            }
        };
        let auto_migrate = match get("AUTO_MIGRATE").as_deref() {
            None | Some("true" | "1") => true,
            Some("false" | "0") => false,
            Some(other) => {
                return Err(config_error(&format!(
                    "AUTO_MIGRATE must be true or false, not `{other}`"
                )));
            }
        };
        Ok(Config {
            db: DbConfig::from_lookup(&get)?,
            jwt,
            tax_rate_bps: parse_num(&get, "TAX_RATE_BPS", 1000, 0, 10_000)?,
            admin_usernames: get("ADMIN_USERNAMES")
                .unwrap_or_default()
                .split(',')
                .map(|s| s.trim().to_ascii_lowercase())
                .filter(|s| !s.is_empty())
                .collect(),
            catalog_write,
            auto_migrate,
        })
    }
}

impl DbConfig {
    fn from_lookup(get: &impl Fn(&str) -> Option<String>) -> Result<DbConfig, AppError> {
        match get("DB_DRIVER").as_deref().unwrap_or("sqlite") {
            "sqlite" => {
                let path = get("SQLITE_PATH")
                    .or_else(|| {
                        get("DATABASE_URL")
                            .and_then(|u| u.strip_prefix("sqlite:").map(str::to_owned))
                    })
                    .unwrap_or_else(|| DEFAULT_SQLITE_PATH.into());
                Ok(DbConfig::Sqlite {
                    path: PathBuf::from(path.trim_start_matches("//")),
                })
            }
            "postgres" => Ok(DbConfig::Postgres(PostgresConfig {
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
            })),
            "clickhouse" => Ok(DbConfig::ClickHouse(clickhouse_config(get)?)),
            "dynamodb" => Ok(DbConfig::DynamoDb(dynamodb_config(get)?)),
            other => Err(config_error(&format!(
                "DB_DRIVER must be one of sqlite, postgres, clickhouse, dynamodb; not `{other}`"
            ))),
        }
    }
}

fn dynamodb_config(get: &impl Fn(&str) -> Option<String>) -> Result<DynamoDbConfig, AppError> {
    // Required: writing into a guessed table is worse than not starting.
    let table = get("DYNAMODB_TABLE")
        .ok_or_else(|| config_error("DYNAMODB_TABLE is required when DB_DRIVER=dynamodb"))?;
    // DynamoDB's own rule for table names, checked here for a clear message at start-up.
    let valid = (3..=255).contains(&table.len())
        && table
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.'));
    if !valid {
        return Err(config_error(
            "DYNAMODB_TABLE must be 3 to 255 characters of [A-Za-z0-9_.-]",
        ));
    }
    let endpoint = get("DYNAMODB_ENDPOINT");
    if endpoint
        .as_deref()
        .is_some_and(|url| !(url.starts_with("http://") || url.starts_with("https://")))
    {
        return Err(config_error(
            "DYNAMODB_ENDPOINT must start with http:// or https://",
        ));
    }
    let connect_ms = parse_num(get, "DYNAMODB_CONNECT_TIMEOUT_MS", 1000, 100, 60_000)?;
    let operation_ms = parse_num(get, "DYNAMODB_TIMEOUT_MS", 2000, 100, 300_000)?;
    Ok(DynamoDbConfig {
        table,
        endpoint,
        connect_timeout: Duration::from_millis(connect_ms),
        operation_timeout: Duration::from_millis(operation_ms),
    })
}

/// `DATABASE_URL`, or one built from the original service's `POSTGRES_*` variables.
fn postgres_url(get: &impl Fn(&str) -> Option<String>) -> Result<String, AppError> {
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
        .map(|p| format!(":{}", percent_encode(&p)))
        .unwrap_or_default();
    Ok(format!(
        "postgres://{}{password}@{host}:{port}/{}",
        percent_encode(&user),
        percent_encode(&db)
    ))
}

/// `CLICKHOUSE_URL`, or one built from the original service's `CLICKHOUSE_HOST`
/// and `CLICKHOUSE_PORT`; credentials only from `CLICKHOUSE_USER` and
/// `CLICKHOUSE_PASSWORD` (sent as HTTP basic auth, never in a URL).
fn clickhouse_config(get: &impl Fn(&str) -> Option<String>) -> Result<ClickHouseConfig, AppError> {
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

fn percent_encode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

fn parse_num<T>(
    get: &impl Fn(&str) -> Option<String>,
    key: &str,
    default: T,
    min: T,
    max: T,
) -> Result<T, AppError>
where
    T: std::str::FromStr + PartialOrd + std::fmt::Display + Copy,
{
    let Some(text) = get(key) else {
        return Ok(default);
    };
    match text.trim().parse::<T>() {
        Ok(v) if v >= min && v <= max => Ok(v),
        _ => Err(config_error(&format!(
            "{key} must be a whole number from {min} to {max}, not `{text}`"
        ))),
    }
}

/// A Secrets Manager ARN or an SSM parameter reference (see the template).
fn is_secret_reference(value: &str) -> bool {
    ["arn:aws:secretsmanager:", "arn:aws:ssm:", "ssm:"]
        .iter()
        .any(|prefix| value.starts_with(prefix))
}

/// 32 bytes from the operating system's random source, for keys no token was
/// ever signed with.
fn unknown_secret() -> Result<Vec<u8>, AppError> {
    let mut bytes = vec![0u8; 32];
    getrandom::fill(&mut bytes)
        .map_err(|e| config_error(&format!("no random bytes for the unused token keys: {e}")))?;
    Ok(bytes)
}

fn config_error(msg: &str) -> AppError {
    AppError::internal(format!("configuration: {msg}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn config(pairs: &[(&str, &str)], policy: SecretPolicy) -> Result<Config, AppError> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Config::from_lookup(|k| map.get(k).cloned(), policy)
    }

    #[test]
    fn defaults_need_nothing_but_a_secret_outside_dev() {
        assert!(config(&[], SecretPolicy::Required).is_err());
        let dev = config(&[], SecretPolicy::DevFallback).unwrap();
        assert_eq!(dev.db.driver(), "sqlite");
        assert_eq!(dev.tax_rate_bps, 1000);
        assert_eq!(dev.jwt.ttl_seconds, 3600);
        assert!(dev.auto_migrate);
    }

    #[test]
    fn a_function_without_tokens_needs_no_secret_and_verifies_nothing() {
        let health = config(&[("DB_DRIVER", "sqlite")], SecretPolicy::NoTokens).unwrap();
        let again = config(&[], SecretPolicy::NoTokens).unwrap();
        assert_eq!(health.jwt.secret.len(), 32);
        assert_ne!(health.jwt.secret, again.jwt.secret, "fresh random keys");
        // A secret in the environment is not used either.
        let known = "0123456789abcdef0123456789abcdef";
        let ignored = config(&[("JWT_SECRET", known)], SecretPolicy::NoTokens).unwrap();
        assert_ne!(ignored.jwt.secret, known.as_bytes());
    }

    #[test]
    fn refuses_a_secret_reference_it_cannot_fetch() {
        for reference in [
            "arn:aws:secretsmanager:us-east-1:123456789012:secret:jwt-AbCdEf",
            "arn:aws:ssm:us-east-1:123456789012:parameter/commerce/jwt",
            "ssm:/commerce/jwt-secret-parameter-name",
        ] {
            let err = config(&[("JWT_SECRET", reference)], SecretPolicy::Required).unwrap_err();
            let AppError::Internal(detail) = err else {
                panic!("a configuration error, not {err:?}");
            };
            assert!(detail.contains("JWT_SECRET names a secret"), "{detail}");
        }
    }

    #[test]
    fn refuses_short_secrets_and_bad_values() {
        assert!(config(&[("JWT_SECRET", "short")], SecretPolicy::DevFallback).is_err());
        let secret = ("JWT_SECRET", "0123456789abcdef0123456789abcdef");
        assert!(config(&[secret, ("TAX_RATE_BPS", "ten")], SecretPolicy::Required).is_err());
        assert!(config(&[secret, ("DB_DRIVER", "oracle")], SecretPolicy::Required).is_err());
        assert!(
            config(
                &[secret, ("CATALOG_WRITE", "everyone")],
                SecretPolicy::Required
            )
            .is_err()
        );
    }

    #[test]
    fn builds_a_postgres_url_from_the_seed_variables() {
        let c = config(
            &[
                ("JWT_SECRET", "0123456789abcdef0123456789abcdef"),
                ("DB_DRIVER", "postgres"),
                ("POSTGRES_HOST", "db"),
                ("POSTGRES_USER", "app"),
                ("POSTGRES_PASSWORD", "p@ss word"),
                ("POSTGRES_DB", "shop"),
            ],
            SecretPolicy::Required,
        )
        .unwrap();
        let DbConfig::Postgres(pg) = c.db else {
            panic!("expected postgres")
        };
        assert_eq!(pg.url, "postgres://app:p%40ss%20word@db:5432/shop");
        assert!(!format!("{pg:?}").contains("p%40ss"));
    }

    #[test]
    fn reads_clickhouse_from_a_url_or_the_seed_variables() {
        let secret = ("JWT_SECRET", "0123456789abcdef0123456789abcdef");
        let seed_vars = [
            secret,
            ("DB_DRIVER", "clickhouse"),
            ("CLICKHOUSE_HOST", "ch"),
            ("CLICKHOUSE_USER", "app"),
            ("CLICKHOUSE_PASSWORD", "s3cret!"),
            ("CLICKHOUSE_DATABASE", "shop"),
        ];
        let DbConfig::ClickHouse(ch) = config(&seed_vars, SecretPolicy::Required).unwrap().db
        else {
            panic!("expected clickhouse")
        };
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

        let by_url = [
            secret,
            ("DB_DRIVER", "clickhouse"),
            ("CLICKHOUSE_URL", "http://10.0.0.5:18123/"),
        ];
        let DbConfig::ClickHouse(ch) = config(&by_url, SecretPolicy::Required).unwrap().db else {
            panic!("expected clickhouse")
        };
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
            assert!(
                config(
                    &[secret, ("DB_DRIVER", "clickhouse"), bad],
                    SecretPolicy::Required
                )
                .is_err(),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn reads_the_dynamodb_table_endpoint_and_timeouts() {
        let dynamodb = |extra: &[(&str, &str)]| {
            let mut pairs = vec![
                ("JWT_SECRET", "0123456789abcdef0123456789abcdef"),
                ("DB_DRIVER", "dynamodb"),
            ];
            pairs.extend_from_slice(extra);
            config(&pairs, SecretPolicy::Required).map(|c| c.db)
        };
        let local = dynamodb(&[
            ("DYNAMODB_TABLE", "commerce-dev"),
            ("DYNAMODB_ENDPOINT", "http://127.0.0.1:8000"),
        ]);
        let Ok(DbConfig::DynamoDb(local)) = local else {
            panic!("expected dynamodb: {local:?}")
        };
        let expected = DynamoDbConfig {
            table: "commerce-dev".into(),
            endpoint: Some("http://127.0.0.1:8000".into()),
            connect_timeout: Duration::from_millis(1000),
            operation_timeout: Duration::from_millis(2000),
        };
        assert_eq!(local, expected);
        let deployed = dynamodb(&[("DYNAMODB_TABLE", "t1.x_y-z")]);
        let Ok(DbConfig::DynamoDb(deployed)) = deployed else {
            panic!("expected dynamodb: {deployed:?}")
        };
        assert_eq!(
            (deployed.table.as_str(), deployed.endpoint),
            ("t1.x_y-z", None)
        );
        // No table, tables DynamoDB would refuse, an endpoint that is not a URL, a zero timeout.
        assert!(dynamodb(&[]).is_err());
        assert!(dynamodb(&[("DYNAMODB_TABLE", "no spaces")]).is_err());
        assert!(dynamodb(&[("DYNAMODB_TABLE", "ab")]).is_err());
        let table = ("DYNAMODB_TABLE", "commerce");
        assert!(dynamodb(&[table, ("DYNAMODB_ENDPOINT", "localhost:8000")]).is_err());
        assert!(dynamodb(&[table, ("DYNAMODB_TIMEOUT_MS", "0")]).is_err());
    }
}
