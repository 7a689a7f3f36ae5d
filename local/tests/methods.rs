//! A wrong method on a known path, through the dev server: 405 with the error
//! body of the API and an `Allow` header naming the methods the path takes
//! (RFC 9110), whichever function owns the path.

mod support;

use reqwest::StatusCode;
use serde_json::Value;
use support::{DevServer, assert_error};

async fn allow_of(s: &DevServer, method: &str, path: &str) -> (StatusCode, Option<String>) {
    let response = s.raw(method, path, None, None).await;
    let status = response.status();
    let allow = response
        .headers()
        .get("allow")
        .map(|v| v.to_str().unwrap().to_owned());
    let body: Value = response.json().await.expect("a JSON body");
    if status == StatusCode::METHOD_NOT_ALLOWED {
        assert_error(status, &body, status, "method_not_allowed");
    }
    (status, allow)
}

#[tokio::test]
async fn a_wrong_method_is_405_with_allow_listing_the_methods_of_that_path() {
    let s = DevServer::sqlite(&[]).await;
    let cases = [
        ("POST", "/health", "GET"),
        ("DELETE", "/products/1", "GET, PUT"),
        ("GET", "/products/1/stock", "PUT"),
        ("DELETE", "/orders", "GET, POST"),
        ("PATCH", "/invoices/7", "GET, PUT"),
        ("GET", "/login", "POST"),
    ];
    for (method, path, allowed) in cases {
        assert_eq!(
            allow_of(&s, method, path).await,
            (StatusCode::METHOD_NOT_ALLOWED, Some(allowed.to_owned())),
            "{method} {path}"
        );
    }
    // An unknown path is a 404, which names no methods.
    assert_eq!(
        allow_of(&s, "DELETE", "/no/such/route").await,
        (StatusCode::NOT_FOUND, None)
    );
    s.stop().await;
}
