//! The AWS SDK configuration every AWS client of this crate starts from
//! (DynamoDB, Secrets Manager, SSM): region and credentials from the standard
//! chain, the caller's timeouts and retries, and, for a local endpoint (moto,
//! DynamoDB Local), placeholders so that local use needs no AWS setup.

use aws_config::meta::credentials::CredentialsProviderChain;
use aws_config::meta::region::RegionProviderChain;
use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_credential_types::Credentials;
use aws_smithy_http_client::tls::{self, rustls_provider::CryptoMode};

use crate::error::{AppError, AppResult};

/// Region for a local server when the standard chain finds none.
const LOCAL_REGION: &str = "us-east-1";

/// Loads the SDK configuration. `endpoint` is a local server's URL, `None` in
/// AWS. Building the clients' HTTPS stack happens here, so callers do it on
/// first use, never at cold start.
pub(crate) async fn sdk_config(
    endpoint: Option<&str>,
    timeouts: TimeoutConfig,
    retries: RetryConfig,
    // Says which setting to fix when no region is found.
    endpoint_setting: &str,
) -> AppResult<SdkConfig> {
    // rustls on ring, the crypto provider sqlx and reqwest use too: the SDK's
    // own default (its `default-https-client` feature) is rustls on aws-lc-rs,
    // a second provider of about 0.5 MB in every artifact. The client is the
    // SDK's usual one (hyper 1, the system's root certificates).
    let https = aws_smithy_http_client::Builder::new()
        .tls_provider(tls::Provider::Rustls(CryptoMode::Ring))
        .build_https();
    let mut loader = aws_config::defaults(BehaviorVersion::latest())
        .http_client(https)
        .timeout_config(timeouts)
        .retry_config(retries);
    if let Some(endpoint) = endpoint {
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
            Credentials::new("local", "local", None, None, "local-endpoint"),
        );
        loader = loader
            .endpoint_url(endpoint)
            .region(region)
            .credentials_provider(credentials);
    }
    let sdk_config = loader.load().await;
    if sdk_config.region().is_none() {
        return Err(AppError::internal(format!(
            "configuration: no AWS region (set AWS_REGION, or {endpoint_setting} for a local server)"
        )));
    }
    Ok(sdk_config)
}
