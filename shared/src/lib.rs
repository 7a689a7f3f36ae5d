//! The domain crate shared by every Lambda function and the dev server.
//!
//! Layers, outermost first: `web` (the lambda_http glue) -> `service` (business
//! rules) -> `repo` (storage traits and backends). `domain` holds the validated
//! types they all speak; `auth` the JWT and password primitives.

pub mod api;
pub mod app;
pub mod auth;
#[cfg(any(feature = "dynamodb", feature = "aws-secrets"))]
pub(crate) mod aws;
/// The AWS SDK's HTTP client, for SDK configurations made outside this crate.
#[cfg(any(feature = "dynamodb", feature = "aws-secrets"))]
pub use aws::http_client as aws_http_client;
pub mod config;
pub mod domain;
pub mod error;
pub mod metrics;
#[cfg(feature = "openapi")]
pub mod openapi;
pub mod repo;
pub mod sample;
#[cfg(feature = "aws-secrets")]
pub(crate) mod secrets;
pub mod service;
pub mod telemetry;
#[cfg(any(feature = "clickhouse", feature = "dynamodb", feature = "aws-secrets"))]
pub mod tls;
pub mod web;

pub use app::App;
pub use error::{AppError, AppResult};
