//! The AWS SDK configuration every AWS client of this crate starts from
//! (DynamoDB, Secrets Manager, SSM): region and credentials from the standard
//! chain, the caller's timeouts and retries, and, for a local endpoint (moto,
//! DynamoDB Local), placeholders so that local use needs no AWS setup.

use aws_config::meta::credentials::CredentialsProviderChain;
use aws_config::meta::region::RegionProviderChain;
use aws_config::provider_config::ProviderConfig;
use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_credential_types::Credentials;

use crate::error::{AppError, AppResult};

/// Region for a local server when the standard chain finds none.
const LOCAL_REGION: &str = "us-east-1";

/// Loads the SDK configuration. `endpoint` is a local server's URL, `None` in
/// AWS. Building the clients' HTTPS stack happens here, so callers do it on
/// first use, never at cold start.
pub use http::client as http_client;

pub(crate) async fn sdk_config(
    endpoint: Option<&str>,
    timeouts: TimeoutConfig,
    retries: RetryConfig,
    // Says which setting to fix when no region is found.
    endpoint_setting: &str,
) -> AppResult<SdkConfig> {
    // Not the SDK's default client (its `default-https-client` feature: rustls
    // on aws-lc-rs, HTTP/2 too) but reqwest on ring, see `http` below.
    let http = http::client();
    let mut loader = aws_config::defaults(BehaviorVersion::latest())
        .http_client(http.clone())
        .timeout_config(timeouts)
        .retry_config(retries);
    if let Some(endpoint) = endpoint {
        // A local server: region and credentials from the environment or
        // the profile files when present, else placeholders (a local server
        // accepts any). The instance-metadata and SSO providers are left
        // out on purpose: probing them off AWS costs seconds per client.
        // The profile providers build their own clients (for the sources a
        // profile may name): they need the HTTP client given too.
        let providers = ProviderConfig::without_region().with_http_client(http);
        let region = RegionProviderChain::first_try(
            aws_config::environment::EnvironmentVariableRegionProvider::new(),
        )
        .or_else(
            aws_config::profile::ProfileFileRegionProvider::builder()
                .configure(&providers)
                .build(),
        )
        .or_else(Region::new(LOCAL_REGION));
        let credentials = CredentialsProviderChain::first_try(
            "Environment",
            aws_config::environment::EnvironmentVariableCredentialsProvider::new(),
        )
        .or_else(
            "Profile",
            aws_config::profile::ProfileFileCredentialsProvider::builder()
                .configure(&providers)
                .build(),
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

/// The SDK's HTTP client: reqwest (hyper 1, HTTP/1.1, rustls on ring), the
/// client the ClickHouse store uses too, so one HTTP stack is linked.
///
/// The SDK's own client (aws-smithy-http-client) also speaks HTTP/2, which
/// none of the services called here (DynamoDB, Secrets Manager, SSM) needs:
/// the `h2` crate alone was about 0.5 MB of every binary (0.2 MB zipped).
/// Request and response bodies of these services are small JSON documents,
/// read whole.
mod http {
    use std::sync::{Arc, Mutex};
    use std::time::Duration;

    use aws_smithy_runtime_api::client::http::{
        HttpClient, HttpConnector, HttpConnectorFuture, HttpConnectorSettings, SharedHttpClient,
        SharedHttpConnector,
    };
    use aws_smithy_runtime_api::client::orchestrator::{HttpRequest, HttpResponse};
    use aws_smithy_runtime_api::client::result::ConnectorError;
    use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
    use aws_smithy_types::body::SdkBody;

    /// One reqwest client (one connection pool) per distinct timeouts, as
    /// the SDK asks for a connector on every request.
    #[derive(Debug, Default)]
    struct ReqwestHttpClient {
        #[allow(clippy::type_complexity)]
        connectors: Mutex<Vec<((Option<Duration>, Option<Duration>), SharedHttpConnector)>>,
    }

    impl HttpClient for ReqwestHttpClient {
        fn http_connector(
            &self,
            settings: &HttpConnectorSettings,
            _components: &RuntimeComponents,
        ) -> SharedHttpConnector {
            let key = (settings.connect_timeout(), settings.read_timeout());
            let mut connectors = self.connectors.lock().unwrap_or_else(|e| e.into_inner());
            if let Some((_, connector)) = connectors.iter().find(|(k, _)| *k == key) {
                return connector.clone();
            }
            crate::tls::install_crypto_provider();
            let mut builder = reqwest::Client::builder();
            if let Some(timeout) = key.0 {
                builder = builder.connect_timeout(timeout);
            }
            if let Some(timeout) = key.1 {
                builder = builder.read_timeout(timeout);
            }
            let connector = SharedHttpConnector::new(ReqwestConnector {
                // Only a TLS configuration that cannot be built fails here
                // (no root certificates is not one); the SDK's own client
                // panics in that case too.
                client: Arc::new(builder.build().expect("the AWS SDK's HTTPS client")),
            });
            connectors.push((key, connector.clone()));
            connector
        }
    }

    #[derive(Debug, Clone)]
    struct ReqwestConnector {
        client: Arc<reqwest::Client>,
    }

    impl HttpConnector for ReqwestConnector {
        fn call(&self, request: HttpRequest) -> HttpConnectorFuture {
            let client = self.client.clone();
            HttpConnectorFuture::new(async move {
                let request = request
                    .try_into_http1x()
                    .map_err(|e| ConnectorError::user(e.into()))?;
                let (parts, body) = request.into_parts();
                let body = body
                    .bytes()
                    .ok_or_else(|| ConnectorError::user("a streaming request body".into()))?
                    .to_vec();
                let response = client
                    .request(parts.method, parts.uri.to_string())
                    .headers(parts.headers)
                    .body(body)
                    .send()
                    .await
                    .map_err(connector_error)?;
                let status = response.status();
                let headers = response.headers().clone();
                let body = response.bytes().await.map_err(connector_error)?;
                let mut response = ::http::Response::new(SdkBody::from(body));
                *response.status_mut() = status;
                *response.headers_mut() = headers;
                HttpResponse::try_from(response).map_err(|e| ConnectorError::other(e.into(), None))
            })
        }
    }

    /// Timeouts and failed connections are the SDK's to retry, as its own
    /// client reports them.
    fn connector_error(e: reqwest::Error) -> ConnectorError {
        if e.is_timeout() {
            ConnectorError::timeout(e.into())
        } else if e.is_connect() || e.is_request() || e.is_body() {
            ConnectorError::io(e.into())
        } else {
            ConnectorError::other(e.into(), None)
        }
    }

    /// The SDK's HTTP client (for a configuration made elsewhere: tests).
    pub fn client() -> SharedHttpClient {
        SharedHttpClient::new(ReqwestHttpClient::default())
    }
}
