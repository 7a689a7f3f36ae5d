//! Secrets Manager and SSM on the local AWS test server (moto, which serves
//! every service on one port: `TEST_AWS_ENDPOINT`, default
//! http://127.0.0.1:8000, the server the test command ensures). An absent
//! server is a loud failure.

use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_credential_types::Credentials;

pub fn endpoint() -> String {
    std::env::var("TEST_AWS_ENDPOINT").unwrap_or_else(|_| "http://127.0.0.1:8000".into())
}

async fn sdk() -> SdkConfig {
    aws_config::defaults(BehaviorVersion::latest())
        // No `default-https-client` feature in this workspace: shared's client.
        .http_client(shared::aws_http_client())
        .endpoint_url(endpoint())
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new("test", "test", None, None, "testkit"))
        .load()
        .await
}

/// Creates a Secrets Manager secret; returns its ARN.
pub async fn create_secret(name: &str, value: &str) -> String {
    let created = aws_sdk_secretsmanager::Client::new(&sdk().await)
        .create_secret()
        .name(name)
        .secret_string(value)
        .send()
        .await
        .unwrap_or_else(|e| {
            panic!(
                "Secrets Manager (moto) is required at {} for these tests: {e:?}",
                endpoint()
            )
        });
    created.arn().expect("the new secret's ARN").to_owned()
}

/// Gives a secret a new current value.
pub async fn update_secret(arn: &str, value: &str) {
    aws_sdk_secretsmanager::Client::new(&sdk().await)
        .put_secret_value()
        .secret_id(arn)
        .secret_string(value)
        .send()
        .await
        .expect("put secret value");
}

/// Creates or replaces an SSM SecureString parameter; returns its ARN (moto's
/// account is 123456789012).
pub async fn put_parameter(name: &str, value: &str) -> String {
    aws_sdk_ssm::Client::new(&sdk().await)
        .put_parameter()
        .name(name)
        .value(value)
        .r#type(aws_sdk_ssm::types::ParameterType::SecureString)
        .overwrite(true)
        .send()
        .await
        .unwrap_or_else(|e| {
            panic!(
                "SSM (moto) is required at {} for these tests: {e:?}",
                endpoint()
            )
        });
    format!(
        "arn:aws:ssm:us-east-1:123456789012:parameter/{}",
        name.trim_start_matches('/')
    )
}
