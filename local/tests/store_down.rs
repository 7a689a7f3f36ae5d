//! A store that does not answer, or whose TLS certificate is refused: every
//! backend's dev server still starts, says `degraded` on `/health` within two
//! seconds, and answers 503 JSON errors (never a hang, never a 500 with
//! internals) to requests that need the store.

mod support;

use std::time::{Duration, Instant};

use futures::future::BoxFuture;
use reqwest::StatusCode;
use serde_json::json;
use support::{DevServer, assert_error};

/// A loopback port nothing listens on.
async fn closed_port() -> u16 {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    listener.local_addr().unwrap().port()
}

fn nothing_to_clean() -> BoxFuture<'static, ()> {
    Box::pin(async {})
}

async fn assert_degraded(s: &DevServer) {
    let started = Instant::now();
    let (status, health) = s.send("GET", "/health", None, None).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{health}");
    assert_eq!(health["status"], "degraded");
    assert_eq!(health["database"], json!({"driver": s.driver, "ok": false}));
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "health took {:?}",
        started.elapsed()
    );
    for (method, path, body) in [
        ("GET", "/products/1", None),
        ("GET", "/products", None),
        (
            "POST",
            "/register",
            Some(json!({"username": "someone", "password": "long enough"})),
        ),
    ] {
        let (status, body) = s.send(method, path, None, body).await;
        assert_error(
            status,
            &body,
            StatusCode::SERVICE_UNAVAILABLE,
            "service_unavailable",
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_down() {
    let url = format!(
        "postgres://postgres@127.0.0.1:{}/commerce",
        closed_port().await
    );
    let store = [
        ("DB_DRIVER", "postgres"),
        ("DATABASE_URL", url.as_str()),
        ("DB_CONNECT_TIMEOUT_MS", "500"),
    ];
    let s = DevServer::start("postgres", &store, &[], nothing_to_clean()).await;
    assert_degraded(&s).await;
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn clickhouse_down() {
    let url = format!("http://127.0.0.1:{}", closed_port().await);
    let store = [
        ("DB_DRIVER", "clickhouse"),
        ("CLICKHOUSE_URL", url.as_str()),
        ("DB_CONNECT_TIMEOUT_MS", "500"),
        ("AUTO_MIGRATE", "false"),
    ];
    let s = DevServer::start("clickhouse", &store, &[], nothing_to_clean()).await;
    assert_degraded(&s).await;
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dynamodb_down() {
    let url = format!("http://127.0.0.1:{}", closed_port().await);
    let store = [
        ("DB_DRIVER", "dynamodb"),
        ("DYNAMODB_TABLE", "commerce"),
        ("DYNAMODB_ENDPOINT", url.as_str()),
        ("DYNAMODB_CONNECT_TIMEOUT_MS", "500"),
        ("DYNAMODB_TIMEOUT_MS", "1000"),
    ];
    let s = DevServer::start("dynamodb", &store, &[], nothing_to_clean()).await;
    assert_degraded(&s).await;
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_certificate_from_an_unknown_ca() {
    let dir = tempfile::tempdir().unwrap();
    let foreign = contract::tls::foreign_ca(dir.path());
    let store = [
        ("DB_DRIVER", "postgres"),
        ("POSTGRES_HOST", "localhost"),
        ("POSTGRES_DB", "postgres"),
        ("POSTGRES_SSLMODE", "verify-full"),
        ("POSTGRES_SSLROOTCERT", foreign.to_str().unwrap()),
        ("DB_CONNECT_TIMEOUT_MS", "500"),
        // Were the certificate wrongly accepted, the shared database stays untouched.
        ("AUTO_MIGRATE", "false"),
    ];
    let s = DevServer::start("postgres", &store, &[], nothing_to_clean()).await;
    assert_degraded(&s).await;
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn clickhouse_https_certificate_from_an_unknown_ca() {
    // No CLICKHOUSE_CA_FILE: the system's roots, which never signed the test server's certificate.
    let url = contract::tls::clickhouse_https_url();
    let store = [
        ("DB_DRIVER", "clickhouse"),
        ("CLICKHOUSE_URL", url.as_str()),
        ("DB_CONNECT_TIMEOUT_MS", "500"),
        ("AUTO_MIGRATE", "false"),
    ];
    let s = DevServer::start("clickhouse", &store, &[], nothing_to_clean()).await;
    assert_degraded(&s).await;
    s.stop().await;
}
