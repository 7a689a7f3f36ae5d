//! The baseline for the cold-start benchmark: what `cargo lambda new` makes,
//! a `lambda_http` function that logs through the runtime's default subscriber
//! and answers every request with a fixed JSON body. It is never deployed.

use lambda_http::{Body, Error, Request, Response, service_fn};

async fn hello(_req: Request) -> Result<Response<Body>, Error> {
    Ok(Response::builder()
        .status(200)
        .header("content-type", "application/json")
        .body(Body::Text(r#"{"message":"hello"}"#.into()))?)
}

#[tokio::main]
async fn main() -> Result<(), Error> {
    lambda_http::tracing::init_default_subscriber();
    lambda_http::run(service_fn(hello)).await
}
