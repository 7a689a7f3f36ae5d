//! Typed configuration, read once from the environment at cold start.
//! Every variable is listed, with its default, in `.env.example`. One module
//! per store, one for the token settings; this one holds what ties them
//! together and the parsing helpers they share.

mod auth;
mod clickhouse;
mod dynamodb;
mod postgres;
mod secret;
mod sqlite;

use std::path::PathBuf;

pub use self::auth::{CatalogWrite, DEV_JWT_SECRET, JwtConfig, SecretPolicy};
pub use self::clickhouse::ClickHouseConfig;
pub use self::dynamodb::DynamoDbConfig;
pub use self::postgres::{PostgresConfig, SslMode};
use self::secret::AwsContext;
pub use self::secret::{Secret, SecretRef};
pub use self::sqlite::DEFAULT_SQLITE_PATH;
use crate::error::AppError;

#[derive(Clone, Debug)]
pub struct Config {
    pub db: DbConfig,
    pub jwt: JwtConfig,
    /// `REFRESH_TTL_SECONDS`: the lifetime of each refresh token.
    pub refresh_ttl_seconds: u64,
    pub tax_rate_bps: u32,
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

    fn from_lookup(get: &impl Lookup, aws: &AwsContext) -> Result<DbConfig, AppError> {
        match get("DB_DRIVER").as_deref().unwrap_or("sqlite") {
            "sqlite" => Ok(DbConfig::Sqlite {
                path: sqlite::sqlite_path(get),
            }),
            "postgres" => Ok(DbConfig::Postgres(postgres::postgres_config(get, aws)?)),
            "clickhouse" => Ok(DbConfig::ClickHouse(clickhouse::clickhouse_config(
                get, aws,
            )?)),
            "dynamodb" => Ok(DbConfig::DynamoDb(dynamodb::dynamodb_config(get)?)),
            other => Err(config_error(&format!(
                "DB_DRIVER must be one of sqlite, postgres, clickhouse, dynamodb; not `{other}`"
            ))),
        }
    }
}

/// Where settings come from: the environment, or a map in tests. `None` is unset.
pub(crate) trait Lookup: Fn(&str) -> Option<String> {}

impl<F: Fn(&str) -> Option<String>> Lookup for F {}

impl Config {
    pub fn from_env(policy: SecretPolicy) -> Result<Config, AppError> {
        Config::from_lookup(
            |key| std::env::var(key).ok().filter(|v| !v.is_empty()),
            policy,
        )
    }

    /// Reads the configuration through `get` (the environment, or a map in
    /// tests). Secret settings that name an AWS secret are only recorded here:
    /// they are fetched on first use (see [`Secret`]).
    pub fn from_lookup(
        get: impl Fn(&str) -> Option<String>,
        policy: SecretPolicy,
    ) -> Result<Config, AppError> {
        let aws = AwsContext::from_lookup(&get);
        let jwt = auth::jwt_config(&get, policy, &aws)?;
        let auto_migrate = match get("AUTO_MIGRATE").as_deref() {
            None | Some("true" | "1") => true,
            Some("false" | "0") => false,
            Some(other) => {
                return Err(config_error(&format!(
                    "AUTO_MIGRATE must be true or false, not `{other}`"
                )));
            }
        };
        auth::refuse_admin_usernames(&get)?;
        Ok(Config {
            db: DbConfig::from_lookup(&get, &aws)?,
            jwt,
            refresh_ttl_seconds: auth::refresh_ttl_seconds(&get)?,
            tax_rate_bps: parse_num(&get, "TAX_RATE_BPS", 1000, 0, 10_000)?,
            catalog_write: auth::catalog_write(&get)?,
            auto_migrate,
        })
    }
}

/// A whole number setting within bounds, or its default when unset.
fn parse_num<T>(get: &impl Lookup, key: &str, default: T, min: T, max: T) -> Result<T, AppError>
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
    fn refuses_short_secrets_and_bad_values() {
        assert!(config(&[("JWT_SECRET", "short")], SecretPolicy::DevFallback).is_err());
        let secret = ("JWT_SECRET", "0123456789abcdef0123456789abcdef");
        assert!(config(&[secret, ("TAX_RATE_BPS", "ten")], SecretPolicy::Required).is_err());
        assert!(config(&[secret, ("DB_DRIVER", "oracle")], SecretPolicy::Required).is_err());
        assert!(config(&[secret, ("AUTO_MIGRATE", "maybe")], SecretPolicy::Required).is_err());
        assert!(
            config(
                &[secret, ("CATALOG_WRITE", "everyone")],
                SecretPolicy::Required
            )
            .is_err()
        );
    }

    #[test]
    fn each_driver_reads_its_own_settings() {
        let secret = ("JWT_SECRET", "0123456789abcdef0123456789abcdef");
        let driver = |pairs: &[(&str, &str)]| {
            let mut all = vec![secret];
            all.extend_from_slice(pairs);
            config(&all, SecretPolicy::Required).map(|c| c.db)
        };
        assert!(matches!(
            driver(&[("DB_DRIVER", "postgres")]),
            Ok(DbConfig::Postgres(_))
        ));
        assert!(matches!(
            driver(&[("DB_DRIVER", "clickhouse")]),
            Ok(DbConfig::ClickHouse(_))
        ));
        assert!(matches!(
            driver(&[("DB_DRIVER", "dynamodb"), ("DYNAMODB_TABLE", "commerce")]),
            Ok(DbConfig::DynamoDb(_))
        ));
        // A store's own errors surface through the whole configuration.
        assert!(driver(&[("DB_DRIVER", "dynamodb")]).is_err());
    }
}
