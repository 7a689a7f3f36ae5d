//! `Idempotency-Key` through the dev server, on every backend: replay with
//! `Idempotent-Replayed`, the 422 for a reused key, the 400 for a bad one,
//! remembered 4xx, per-user keys, and 16 concurrent requests with one key
//! making one order.

mod support;

use futures::future::join_all;
use reqwest::StatusCode;
use serde_json::{Value, json};
use support::DevServer;

struct Answer {
    status: StatusCode,
    replayed: bool,
    location: Option<String>,
    retry_after: Option<String>,
    body: Value,
}

async fn post(s: &DevServer, path: &str, token: &str, key: Option<&str>, body: &str) -> Answer {
    shared::tls::install_crypto_provider();
    let mut request = reqwest::Client::new()
        .post(format!("{}{path}", s.base))
        .header("content-type", "application/json")
        .header("authorization", format!("Bearer {token}"))
        .body(body.to_owned());
    if let Some(key) = key {
        request = request.header("idempotency-key", key);
    }
    let response = request.send().await.expect("the dev server answers");
    let header = |name: &str| {
        response
            .headers()
            .get(name)
            .map(|v| v.to_str().unwrap().to_owned())
    };
    let (replayed, location, retry_after) = (
        header("idempotent-replayed").as_deref() == Some("true"),
        header("location"),
        header("retry-after"),
    );
    Answer {
        status: response.status(),
        replayed,
        location,
        retry_after,
        body: response.json().await.unwrap_or(Value::Null),
    }
}

async fn a_product(s: &DevServer, token: &str) -> i64 {
    let (status, body) = s
        .send(
            "POST",
            "/products",
            Some(token),
            Some(json!({"name": "Kettle", "price": 20.0, "category": "kitchen"})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    body["product_id"].as_i64().unwrap()
}

async fn order_count(s: &DevServer, token: &str) -> usize {
    let (status, body) = s.send("GET", "/orders?limit=200", Some(token), None).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body.as_array().unwrap().len()
}

async fn retries_are_answered_once(s: DevServer) {
    let alice = s.user("alice").await;
    let bob = s.user("bob").await;
    let product = a_product(&s, &alice).await;
    let body = format!(r#"{{"product_id": {product}, "quantity": 2}}"#);
    // The same JSON with other key order and spacing is the same request.
    let same = format!(r#"{{ "quantity":2,"product_id":{product} }}"#);

    let first = post(&s, "/orders", &alice, Some("order-1"), &body).await;
    assert_eq!(first.status, StatusCode::CREATED, "{}", first.body);
    assert!(!first.replayed);
    let again = post(&s, "/orders", &alice, Some("order-1"), &same).await;
    assert_eq!(again.status, StatusCode::CREATED);
    assert!(again.replayed, "a replay says so");
    assert_eq!(again.body, first.body, "the first response, whole");
    assert_eq!(again.location, first.location);
    assert_eq!(order_count(&s, &alice).await, 1);

    let other = format!(r#"{{"product_id": {product}, "quantity": 3}}"#);
    let reused = post(&s, "/orders", &alice, Some("order-1"), &other).await;
    assert_eq!(reused.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(reused.body["code"], "idempotency_key_reused");
    let elsewhere = post(&s, "/orders/alice", &alice, Some("order-1"), &body).await;
    assert_eq!(
        elsewhere.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "another path"
    );

    // Bob's key of the same name is his own.
    let bobs = post(&s, "/orders", &bob, Some("order-1"), &body).await;
    assert_eq!((bobs.status, bobs.replayed), (StatusCode::CREATED, false));

    for bad in ["x".repeat(256), "tab\there".into(), String::new()] {
        let refused = post(&s, "/orders", &alice, Some(&bad), &body).await;
        assert_eq!(refused.status, StatusCode::BAD_REQUEST, "{bad:?}");
        assert_eq!(refused.body["code"], "invalid_idempotency_key");
    }

    // A final 4xx is remembered too.
    let missing = r#"{"product_id": 999999, "quantity": 1}"#;
    let no = post(&s, "/orders", &alice, Some("order-2"), missing).await;
    assert_eq!(no.status, StatusCode::BAD_REQUEST);
    let no_again = post(&s, "/orders", &alice, Some("order-2"), missing).await;
    assert_eq!(
        (no_again.status, no_again.replayed),
        (StatusCode::BAD_REQUEST, true)
    );
    assert_eq!(no_again.body, no.body);

    // Invoices: a created invoice replays as the same 201.
    let order_id = first.body["order_id"].as_i64().unwrap();
    let invoice_body = format!(r#"{{"order_id": {order_id}}}"#);
    let invoice = post(&s, "/invoices", &alice, Some("inv-1"), &invoice_body).await;
    assert_eq!(invoice.status, StatusCode::CREATED, "{}", invoice.body);
    let invoice_again = post(&s, "/invoices", &alice, Some("inv-1"), &invoice_body).await;
    assert_eq!(
        (invoice_again.status, invoice_again.replayed),
        (StatusCode::CREATED, true)
    );
    assert_eq!(invoice_again.body, invoice.body);
    assert_eq!(invoice_again.location, invoice.location);
    s.stop().await;
}

async fn concurrent_retries_make_one_order(s: DevServer) {
    let alice = s.user("alice").await;
    let product = a_product(&s, &alice).await;
    let body = format!(r#"{{"product_id": {product}, "quantity": 1}}"#);
    let answers = join_all((0..16).map(|_| post(&s, "/orders", &alice, Some("race"), &body))).await;
    let created: Vec<&Answer> = answers
        .iter()
        .filter(|a| a.status == StatusCode::CREATED && !a.replayed)
        .collect();
    assert_eq!(created.len(), 1, "one request did the work");
    for answer in &answers {
        match answer.status {
            StatusCode::CREATED => assert_eq!(answer.body, created[0].body),
            StatusCode::CONFLICT => {
                assert_eq!(answer.body["code"], "idempotency_key_in_use");
                let after: u64 = answer.retry_after.as_deref().unwrap().parse().unwrap();
                assert!(after >= 1);
            }
            other => panic!("unexpected {other}: {}", answer.body),
        }
    }
    assert_eq!(order_count(&s, &alice).await, 1);
    s.stop().await;
}

macro_rules! on_every_backend {
    ($($case:ident),* $(,)?) => {
        mod sqlite {
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn $case() { super::$case(super::DevServer::sqlite(&[]).await).await }
            )*
        }
        mod postgres {
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn $case() { super::$case(super::DevServer::postgres(&[]).await).await }
            )*
        }
        mod clickhouse {
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn $case() { super::$case(super::DevServer::clickhouse(&[]).await).await }
            )*
        }
        mod dynamodb {
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn $case() { super::$case(super::DevServer::dynamodb(&[]).await).await }
            )*
        }
    };
}

on_every_backend!(retries_are_answered_once, concurrent_retries_make_one_order);
