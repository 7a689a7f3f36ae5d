//! The Lambda entry point; the handler lives in the crate's lib.

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    shared::http::run_function(auth::handle).await
}
