//! Fetching secret settings from AWS: Secrets Manager (`GetSecretValue`, the
//! SecretString) and SSM Parameter Store (`GetParameter` with decryption).
//! Each client is built on its first fetch, from the same SDK configuration
//! code as DynamoDB's ([`crate::aws`]); nothing here runs at cold start.
//! Endpoints: AWS's own, or a local server (moto) named by the SDK's standard
//! settings `AWS_ENDPOINT_URL_SECRETS_MANAGER`, `AWS_ENDPOINT_URL_SSM` or
//! `AWS_ENDPOINT_URL`.

use std::time::Duration;

use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_sdk_secretsmanager::error::{ProvideErrorMetadata, SdkError};
use tokio::sync::OnceCell;

use crate::config::SecretRef;
use crate::error::{AppError, AppResult};

/// A secret is fetched once per execution environment, on a request that
/// needs it: short budgets, so that an unreachable endpoint costs that
/// request a bounded wait (then a 503), and the next request tries again.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(1);
const OPERATION_TIMEOUT: Duration = Duration::from_secs(3);

/// Error codes that mean "try again later" rather than "wrong reference or rights".
const TRANSIENT_CODES: &[&str] = &[
    "InternalServiceError",
    "InternalServerError",
    "ThrottlingException",
    "ServiceUnavailable",
];

/// The AWS clients the secrets of one configuration share.
pub(crate) struct AwsSecrets {
    secrets_manager_endpoint: Option<String>,
    ssm_endpoint: Option<String>,
    secrets_manager: OnceCell<aws_sdk_secretsmanager::Client>,
    ssm: OnceCell<aws_sdk_ssm::Client>,
}

impl AwsSecrets {
    pub(crate) fn from_lookup(get: &impl crate::config::Lookup) -> AwsSecrets {
        let general = get("AWS_ENDPOINT_URL");
        AwsSecrets {
            secrets_manager_endpoint: get("AWS_ENDPOINT_URL_SECRETS_MANAGER")
                .or_else(|| general.clone()),
            ssm_endpoint: get("AWS_ENDPOINT_URL_SSM").or(general),
            secrets_manager: OnceCell::new(),
            ssm: OnceCell::new(),
        }
    }

    /// The value `reference` holds, for the setting `setting`.
    pub(crate) async fn fetch(&self, setting: &str, reference: &SecretRef) -> AppResult<String> {
        let fetched = match reference {
            SecretRef::SecretsManager(arn) => {
                let client = self
                    .secrets_manager
                    .get_or_try_init(|| async {
                        let sdk = sdk_config(
                            self.secrets_manager_endpoint.as_deref(),
                            "AWS_ENDPOINT_URL_SECRETS_MANAGER",
                        )
                        .await?;
                        Ok::<_, AppError>(aws_sdk_secretsmanager::Client::new(&sdk))
                    })
                    .await?;
                let output = client
                    .get_secret_value()
                    .secret_id(arn)
                    .send()
                    .await
                    .map_err(|e| fetch_error(setting, reference, e))?;
                output.secret_string().map(str::to_owned)
            }
            SecretRef::Ssm(name) => {
                let client = self
                    .ssm
                    .get_or_try_init(|| async {
                        let sdk = sdk_config(self.ssm_endpoint.as_deref(), "AWS_ENDPOINT_URL_SSM")
                            .await?;
                        Ok::<_, AppError>(aws_sdk_ssm::Client::new(&sdk))
                    })
                    .await?;
                let output = client
                    .get_parameter()
                    .name(name)
                    .with_decryption(true)
                    .send()
                    .await
                    .map_err(|e| fetch_error(setting, reference, e))?;
                output
                    .parameter()
                    .and_then(|p| p.value())
                    .map(str::to_owned)
            }
        };
        let value = fetched.ok_or_else(|| {
            AppError::internal(format!(
                "configuration: {setting}: the {reference} has no text value"
            ))
        })?;
        tracing::info!(setting, reference = %reference, "secret setting fetched");
        Ok(value)
    }
}

async fn sdk_config(
    endpoint: Option<&str>,
    endpoint_setting: &str,
) -> AppResult<aws_config::SdkConfig> {
    let timeouts = TimeoutConfig::builder()
        .connect_timeout(CONNECT_TIMEOUT)
        .operation_timeout(OPERATION_TIMEOUT)
        .build();
    // Quick retries: the whole fetch must fit in the operation timeout.
    let retries = RetryConfig::standard()
        .with_max_attempts(3)
        .with_initial_backoff(Duration::from_millis(100));
    crate::aws::sdk_config(endpoint, timeouts, retries, endpoint_setting).await
}

/// An AWS answer or failure, with the setting and the reference (never a value).
fn fetch_error<E, R>(setting: &str, reference: &SecretRef, error: SdkError<E, R>) -> AppError
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug,
{
    let transient = match &error {
        SdkError::ServiceError(service) => service
            .err()
            .code()
            .is_some_and(|code| TRANSIENT_CODES.contains(&code)),
        // Not reached, timed out, or an unreadable answer.
        _ => true,
    };
    let detail = format!(
        "{setting}: cannot fetch the {reference}: {}",
        aws_sdk_secretsmanager::error::DisplayErrorContext(&error)
    );
    if transient {
        AppError::unavailable(detail)
    } else {
        AppError::internal(format!("configuration: {detail}"))
    }
}
