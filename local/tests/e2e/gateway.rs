//! What every request meets before or around a handler: `/health`, the
//! authorizer's 401 and 403 answers, malformed and oversized bodies, unknown
//! routes and methods.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::support::{DevServer, assert_error};

on_every_backend! {
    health_names_the_store,
    the_authorizer_answers_401_and_403,
    malformed_oversized_and_misrouted_requests_are_refused,
}

async fn health_names_the_store(s: &DevServer) {
    let (status, body) = s.send("GET", "/health", None, None).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["status"], "ok");
    assert_eq!(body["database"], json!({"driver": s.driver, "ok": true}));
    assert!(body["timestamp"].as_str().unwrap().ends_with('Z'));
}

/// The authorizer's own bodies, not the API's error body: no token is 401,
/// a bad one (garbage, forged, expired) 403.
async fn the_authorizer_answers_401_and_403(s: &DevServer) {
    let alice = s.user("alice").await;
    let product = json!({"name": "X", "price": 1, "category": "c"});
    let response = s
        .raw("POST", "/products", None, Some(product.clone()))
        .await;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(
        response.json::<Value>().await.unwrap(),
        json!({"message": "Unauthorized"})
    );
    let forged = format!("{}x", alice);
    let expired = s.token_expired_for("alice").await;
    for token in ["garbage", forged.as_str(), expired.as_str()] {
        let response = s
            .raw("POST", "/products", Some(token), Some(product.clone()))
            .await;
        assert_eq!(response.status(), StatusCode::FORBIDDEN, "token {token}");
        assert_eq!(
            response.json::<Value>().await.unwrap(),
            json!({"message": "Forbidden"})
        );
    }
    let response = s.raw("GET", "/orders", None, None).await;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
}

async fn malformed_oversized_and_misrouted_requests_are_refused(s: &DevServer) {
    let alice = s.user("alice").await;
    let response = s
        .raw_text("POST", "/orders", Some(&alice), "{\"items\": [")
        .await;
    let (status, body) = (response.status(), response.json::<Value>().await.unwrap());
    assert_error(status, &body, StatusCode::BAD_REQUEST, "invalid_json");
    let response = s.raw_text("POST", "/register", None, "").await;
    let (status, body) = (response.status(), response.json::<Value>().await.unwrap());
    assert_error(status, &body, StatusCode::BAD_REQUEST, "invalid_json");
    let huge = format!(
        "{{\"username\":\"x\",\"password\":\"{}\"}}",
        "p".repeat(70 * 1024)
    );
    let response = s.raw_text("POST", "/register", None, &huge).await;
    let (status, body) = (response.status(), response.json::<Value>().await.unwrap());
    assert_error(
        status,
        &body,
        StatusCode::PAYLOAD_TOO_LARGE,
        "payload_too_large",
    );
    let (status, body) = s.send("GET", "/no/such/route", None, None).await;
    assert_error(status, &body, StatusCode::NOT_FOUND, "route_not_found");
    let (status, body) = s.send("DELETE", "/products/1", Some(&alice), None).await;
    assert_error(
        status,
        &body,
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
    );
}
