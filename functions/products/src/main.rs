//! The Lambda entry point; the handler lives in the crate's lib.

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    shared::web::run_function(products::handle).await
}
