//! `JWT_SECRET` held in AWS (moto's Secrets Manager, `TEST_AWS_ENDPOINT`),
//! through the dev server: the functions and the authorizer fetch it on first
//! use, and sign and verify with it; when AWS cannot be reached, login is a
//! 503 JSON error and a protected route is API Gateway's 500 for a failed
//! authorizer, never a 401 that would blame the caller's token.

mod support;

use futures::future::BoxFuture;
use reqwest::StatusCode;
use serde_json::json;
use support::{DevServer, assert_error};

async fn server(jwt_secret: &str, aws_endpoint: &str) -> DevServer {
    let dir = tempfile::tempdir().expect("temporary folder");
    let path = dir.path().join("secrets.db").to_string_lossy().into_owned();
    let cleanup: BoxFuture<'static, ()> = Box::pin(async move { drop(dir) });
    let store = [
        ("DB_DRIVER", "sqlite"),
        ("SQLITE_PATH", path.as_str()),
        ("JWT_SECRET", jwt_secret),
        ("AWS_ENDPOINT_URL", aws_endpoint),
    ];
    DevServer::start("sqlite", &store, &[], cleanup).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn functions_and_the_authorizer_use_a_secret_fetched_from_secrets_manager() {
    let value = format!(
        "{}-secret-from-aws-0123456789abcdef",
        contract::fresh::unique_name("e2e")
    );
    let arn = contract::aws::create_secret(&contract::fresh::unique_name("jwt"), &value).await;
    let s = server(&arn, &contract::aws::endpoint()).await;
    // Login signs with the fetched key; the authorizer verifies with it.
    let token = s.user("alice").await;
    let (status, body) = s.send("GET", "/orders", Some(&token), None).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    // An expired token, signed with the same fetched key, is refused as usual.
    let (status, _) = s
        .send(
            "GET",
            "/orders",
            Some(&s.token_expired_for("alice").await),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreachable_secrets_manager_is_a_server_error_not_a_bad_token() {
    let closed = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let nowhere = format!("http://{}", closed.local_addr().unwrap());
    drop(closed);
    let arn = "arn:aws:secretsmanager:us-east-1:123456789012:secret:jwt-AbCdEf";
    let s = server(arn, &nowhere).await;
    // The store is fine: registering needs no key.
    let creds = json!({"username": "bob", "password": "password-of-test"});
    let (status, body) = s.send("POST", "/register", None, Some(creds.clone())).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let (status, body) = s.send("POST", "/login", None, Some(creds)).await;
    assert_error(
        status,
        &body,
        StatusCode::SERVICE_UNAVAILABLE,
        "service_unavailable",
    );
    let (status, body) = s.send("GET", "/orders", Some("a.b.c"), None).await;
    assert_eq!(
        status,
        StatusCode::FORBIDDEN,
        "garbage is refused without the key: {body}"
    );
    let response = s.raw("GET", "/orders", Some(&fake_token()), None).await;
    assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(
        response.json::<serde_json::Value>().await.unwrap(),
        json!({"message": "Internal Server Error"})
    );
    s.stop().await;
}

/// A well-formed HS256 token (header and claims), so that deciding on it needs the key.
fn fake_token() -> String {
    use base64::Engine;
    let b64 = |v: serde_json::Value| {
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string())
    };
    format!(
        "{}.{}.c2lnbmF0dXJl",
        b64(json!({"alg": "HS256", "typ": "JWT"})),
        b64(json!({"sub": "1", "exp": 4_102_444_800_i64}))
    )
}
