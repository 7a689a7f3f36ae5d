//! End-to-end: the dev server on a free loopback port, driven over real HTTP
//! through every route and rule of the API (Retries aside), as a client sees
//! them. One module per area; each case runs on every backend as a test of
//! its own (`<area>::<case>::<backend>`), on its own dev server with a fresh
//! store, so a failure names its area, case and backend and the other tests
//! still run. A backend whose server is absent fails.

#[path = "../support/mod.rs"]
mod support;

/// Stamps one `#[tokio::test]` per backend for each case (an
/// `async fn(&DevServer)` of the including module), optionally with settings
/// that override the dev server's defaults: `case [("KEY", "value"), ...]`.
macro_rules! on_every_backend {
    ($($case:ident $([$($setting:expr),* $(,)?])?),* $(,)?) => {$(
        mod $case {
            use crate::support::{Backend, DevServer};

            const SETTINGS: &[(&str, &str)] = &[$($($setting),*)?];

            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn sqlite() {
                DevServer::run_case(Backend::Sqlite, SETTINGS, super::$case).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn postgres() {
                DevServer::run_case(Backend::Postgres, SETTINGS, super::$case).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn clickhouse() {
                DevServer::run_case(Backend::ClickHouse, SETTINGS, super::$case).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn dynamodb() {
                DevServer::run_case(Backend::DynamoDb, SETTINGS, super::$case).await;
            }
        }
    )*};
}

mod given;

mod auth;
mod catalog;
mod gateway;
mod invoices;
mod orders;
mod sessions;
