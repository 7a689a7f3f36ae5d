//! The domain crate shared by every Lambda function and the dev server.
//!
//! Layers, outermost first: `http` (lambda_http glue) -> `service` (business
//! rules) -> `repo` (storage traits and backends). `domain` holds the validated
//! types they all speak; `auth` the JWT and password primitives.

pub mod app;
pub mod auth;
pub mod config;
pub mod domain;
pub mod error;
pub mod http;
pub mod repo;
pub mod sample;
pub mod service;
pub mod telemetry;

pub use app::App;
pub use error::{AppError, AppResult};
