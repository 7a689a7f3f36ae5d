//! The Lambda entry point; the decision lives in the crate's lib.

use std::sync::Arc;

use lambda_runtime::{LambdaEvent, service_fn};
use shared::auth::TokenKeys;
use shared::config::{Config, SecretPolicy};

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    shared::telemetry::init();
    let config = Config::from_env(SecretPolicy::Required)?;
    let keys = Arc::new(TokenKeys::new(&config.jwt));
    shared::metrics::count(shared::metrics::Metric::ColdStarts);
    lambda_runtime::run(service_fn(
        move |event: LambdaEvent<authorizer::AuthorizerRequest>| {
            let keys = keys.clone();
            async move {
                match authorizer::authorize(&keys, &event.payload).await {
                    Ok(response) => {
                        tracing::info!(authorized = response.is_authorized, "authorizer decided");
                        Ok(response)
                    }
                    Err(e) => {
                        // API Gateway answers 500; the cause stays in the log.
                        tracing::error!(error = %e, detail = ?e, "authorizer could not decide");
                        Err(lambda_runtime::Error::from(e))
                    }
                }
            }
        },
    ))
    .await
}
