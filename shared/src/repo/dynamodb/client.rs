//! The SDK client for the configured endpoint: standard retries tuned for
//! DynamoDB, short timeouts, and, for a local server, region and credentials
//! that need no AWS setup. Built on first use by the store (see `store.rs`).

use std::time::Duration;

use aws_config::BehaviorVersion;
use aws_config::meta::credentials::CredentialsProviderChain;
use aws_config::meta::region::RegionProviderChain;
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::config::retry::RetryConfig;
use aws_sdk_dynamodb::config::timeout::TimeoutConfig;
use aws_sdk_dynamodb::config::{Credentials, Region};

use super::errors::TransactionConflictRetry;
use crate::config::DynamoDbConfig;
use crate::error::{AppError, AppResult};

/// Region for a local server when the standard chain finds none.
const LOCAL_REGION: &str = "us-east-1";

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
    let mut loader = aws_config::defaults(BehaviorVersion::latest())
        .timeout_config(timeouts)
        .retry_config(retries);
    if let Some(endpoint) = &config.endpoint {
        // A local server: region and credentials from the environment or
        // the profile files when present, else placeholders (a local server
        // accepts any). The instance-metadata and SSO providers are left
        // out on purpose: probing them off AWS costs seconds per client.
        let region = RegionProviderChain::first_try(
            aws_config::environment::EnvironmentVariableRegionProvider::new(),
        )
        .or_else(aws_config::profile::ProfileFileRegionProvider::builder().build())
        .or_else(Region::new(LOCAL_REGION));
        let credentials = CredentialsProviderChain::first_try(
            "Environment",
            aws_config::environment::EnvironmentVariableCredentialsProvider::new(),
        )
        .or_else(
            "Profile",
            aws_config::profile::ProfileFileCredentialsProvider::builder().build(),
        )
        .or_else(
            "LocalPlaceholder",
            Credentials::new("local", "local", None, None, "dynamodb-local"),
        );
        loader = loader
            .endpoint_url(endpoint)
            .region(region)
            .credentials_provider(credentials);
    }
    let sdk_config = loader.load().await;
    if sdk_config.region().is_none() {
        return Err(AppError::internal(
            "configuration: no AWS region (set AWS_REGION, or DYNAMODB_ENDPOINT for a local server)",
        ));
    }
    let client_config = aws_sdk_dynamodb::config::Builder::from(&sdk_config)
        .retry_classifier(TransactionConflictRetry)
        .build();
    Ok(Client::from_conf(client_config))
}
