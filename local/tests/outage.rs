//! PostgreSQL outage: the database disappears mid-run (a proxy between the
//! service and PostgreSQL cuts every connection and refuses new ones), the
//! service answers 503 JSON errors quickly instead of hanging, `/health` says
//! degraded, and when the database is back the service recovers by itself
//! with every row written before the outage intact. Both shapes of the
//! PostgreSQL store: the dev server's pool, and the one held connection it
//! uses on Lambda (`DB_MAX_CONNECTIONS=1`).

mod support;

use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::json;
use support::proxy::Proxy;
use support::{DevServer, TEST_PASSWORD, assert_error};

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn postgres_outage_gives_503s_then_recovers_with_data_intact() {
    outage_then_recovery("3").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn with_one_held_connection_too() {
    outage_then_recovery("1").await;
}

/// The outage and the recovery, with `DB_MAX_CONNECTIONS` = `connections`.
async fn outage_then_recovery(connections: &str) {
    let (name, url) = contract::fresh::postgres::fresh_database("outage").await;
    let upstream = url::Url::parse(&url).unwrap();
    let upstream_addr = format!(
        "{}:{}",
        upstream.host_str().unwrap(),
        upstream.port().unwrap_or(5432)
    );
    let proxy = Proxy::start(
        tokio::net::lookup_host(upstream_addr)
            .await
            .unwrap()
            .next()
            .unwrap(),
    )
    .await;
    let mut via_proxy = upstream.clone();
    via_proxy.set_port(Some(proxy.addr.port())).unwrap();
    let cleanup = Box::pin(async move { contract::fresh::postgres::drop_database(&name).await });
    let s = DevServer::start(
        "postgres",
        &[
            ("DB_DRIVER", "postgres"),
            ("DATABASE_URL", via_proxy.as_str()),
            ("DB_CONNECT_TIMEOUT_MS", "1000"),
            ("DB_MAX_CONNECTIONS", connections),
        ],
        &[],
        cleanup,
    )
    .await;

    let alice = s.user("alice").await;
    let (status, order) = s
        .send(
            "POST",
            "/orders",
            Some(&alice),
            Some(json!({"product_id": 1, "quantity": 2})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{order}");

    proxy.down();
    let started = Instant::now();
    let (status, health) = s.send("GET", "/health", None, None).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{health}");
    assert_eq!(
        (health["status"].clone(), health["database"]["ok"].clone()),
        (json!("degraded"), json!(false))
    );
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "health answered in {:?}",
        started.elapsed()
    );
    for (method, path, body) in [
        ("GET", "/products/1", None),
        ("GET", "/orders", None),
        (
            "POST",
            "/login",
            Some(json!({"username": "alice", "password": TEST_PASSWORD})),
        ),
    ] {
        let (status, body) = s.send(method, path, Some(&alice), body).await;
        assert_error(
            status,
            &body,
            StatusCode::SERVICE_UNAVAILABLE,
            "service_unavailable",
        );
        let text = body["error"].as_str().unwrap();
        assert!(
            !text.contains("SELECT") && !text.contains("connect"),
            "no internals: {text}"
        );
    }

    proxy.up().await;
    // Connections broken by the outage are discarded as they are released;
    // within a few requests the service is whole again, with no restart.
    let mut recovered = false;
    for _ in 0..20 {
        if s.send("GET", "/health", None, None).await.0 == StatusCode::OK {
            recovered = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(recovered, "the service recovers once PostgreSQL is back");
    let mut orders = json!(null);
    for _ in 0..5 {
        let (status, body) = s.send("GET", "/orders", Some(&alice), None).await;
        if status == StatusCode::OK {
            orders = body;
            break;
        }
    }
    assert_eq!(
        orders[0]["order_id"], order["order_id"],
        "the order written before the outage is intact"
    );
    assert_eq!(orders[0]["total"], order["total"]);
    let (status, _) = s
        .send(
            "POST",
            "/orders",
            Some(&alice),
            Some(json!({"product_id": 2, "quantity": 1})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    s.stop().await;
}
