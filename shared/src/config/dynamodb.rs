//! DynamoDB: the table and how to reach it.

use std::time::Duration;

use super::{Lookup, config_error, parse_num};
use crate::error::AppError;

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

pub(super) fn dynamodb_config(get: &impl Lookup) -> Result<DynamoDbConfig, AppError> {
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

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn dynamodb(pairs: &[(&str, &str)]) -> Result<DynamoDbConfig, AppError> {
        let map: HashMap<&str, &str> = pairs.iter().copied().collect();
        dynamodb_config(&|k: &str| map.get(k).map(|v| v.to_string()))
    }

    #[test]
    fn reads_the_dynamodb_table_endpoint_and_timeouts() {
        let local = dynamodb(&[
            ("DYNAMODB_TABLE", "commerce-dev"),
            ("DYNAMODB_ENDPOINT", "http://127.0.0.1:8000"),
        ])
        .unwrap();
        let expected = DynamoDbConfig {
            table: "commerce-dev".into(),
            endpoint: Some("http://127.0.0.1:8000".into()),
            connect_timeout: Duration::from_millis(1000),
            operation_timeout: Duration::from_millis(2000),
        };
        assert_eq!(local, expected);
        let deployed = dynamodb(&[("DYNAMODB_TABLE", "t1.x_y-z")]).unwrap();
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
