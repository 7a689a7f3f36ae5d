//! The Lambda entry point; the handler lives in the crate's lib.

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    // No store and no token: this function serves what is in its binary.
    shared::telemetry::init();
    shared::metrics::count(shared::metrics::Metric::ColdStarts);
    lambda_http::run(lambda_http::service_fn(|req| async move {
        Ok::<_, std::convert::Infallible>(docs::handle(req).await)
    }))
    .await
}
