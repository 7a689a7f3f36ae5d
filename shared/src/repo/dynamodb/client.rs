//! The SDK client for the configured endpoint: standard retries tuned for
//! DynamoDB, short timeouts, and, for a local server, region and credentials
//! that need no AWS setup (the shared SDK configuration of `crate::aws`). Built on first use by the store (see `store.rs`).

use std::time::Duration;

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::config::retry::RetryConfig;
use aws_sdk_dynamodb::config::timeout::TimeoutConfig;

use super::errors::TransactionConflictRetry;
use crate::config::DynamoDbConfig;
use crate::error::AppResult;

pub(super) async fn build_client(config: &DynamoDbConfig) -> AppResult<Client> {
    let timeouts = TimeoutConfig::builder()
        .connect_timeout(config.connect_timeout)
        .operation_timeout(config.operation_timeout)
        .build();
    // The standard mode (with its retry quota), with DynamoDB's usual base
    // delay of 25 ms instead of the generic 1 s: conflicts and throttling
    // clear in milliseconds, and the operation timeout bounds the total.
    let retries = RetryConfig::standard()
        .with_max_attempts(5)
        .with_initial_backoff(Duration::from_millis(25))
        .with_max_backoff(Duration::from_secs(1));
    // Region and credentials as every AWS client here gets them (`crate::aws`).
    let sdk_config = crate::aws::sdk_config(
        config.endpoint.as_deref(),
        timeouts,
        retries,
        "DYNAMODB_ENDPOINT",
    )
    .await?;
    let client_config = aws_sdk_dynamodb::config::Builder::from(&sdk_config)
        .retry_classifier(TransactionConflictRetry)
        .build();
    Ok(Client::from_conf(client_config))
}
