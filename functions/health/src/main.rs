//! The Lambda entry point; the handler lives in the crate's lib.

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    // Health reads no token, so it is deployed without the secret.
    shared::web::run_function_with(shared::config::SecretPolicy::NoTokens, health::handle).await
}
