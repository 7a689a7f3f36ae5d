//! CORS through the dev server, configured as the deployed API is: the lists of
//! template.yaml's CorsConfiguration, the origins from CORS_ALLOWED_ORIGINS.

mod support;

use std::collections::BTreeSet;

use reqwest::StatusCode;
use reqwest::header::HeaderMap;
use support::DevServer;

const SHOP: &str = "https://shop.example";
const ORIGINS: &str = "https://shop.example, http://localhost:5173";

async fn request(
    s: &DevServer,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
) -> (StatusCode, HeaderMap) {
    shared::tls::install_crypto_provider();
    let mut request =
        reqwest::Client::new().request(method.parse().unwrap(), format!("{}{path}", s.base));
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let response = request.send().await.expect("the dev server answers");
    (response.status(), response.headers().clone())
}

async fn preflight(
    s: &DevServer,
    origin: &str,
    method: &str,
    path: &str,
) -> (StatusCode, HeaderMap) {
    request(
        s,
        "OPTIONS",
        path,
        &[
            ("origin", origin),
            ("access-control-request-method", method),
            (
                "access-control-request-headers",
                "authorization,content-type,idempotency-key",
            ),
        ],
    )
    .await
}

fn header<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).map(|v| v.to_str().unwrap())
}

/// A comma-separated header as a set of lower-case items.
fn items(headers: &HeaderMap, name: &str) -> BTreeSet<String> {
    header(headers, name)
        .unwrap_or_default()
        .split(',')
        .map(|item| item.trim().to_ascii_lowercase())
        .filter(|item| !item.is_empty())
        .collect()
}

fn set(words: &[&str]) -> BTreeSet<String> {
    words.iter().map(|w| w.to_ascii_lowercase()).collect()
}

#[tokio::test]
async fn a_preflight_from_an_allowed_origin_gets_the_api_methods_and_headers() {
    let s = DevServer::sqlite(&[("CORS_ALLOWED_ORIGINS", ORIGINS)]).await;
    let (status, headers) = preflight(&s, SHOP, "POST", "/orders").await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{headers:?}");
    assert_eq!(header(&headers, "access-control-allow-origin"), Some(SHOP));
    assert_eq!(
        items(&headers, "access-control-allow-methods"),
        set(&["GET", "POST", "PUT"])
    );
    assert_eq!(
        items(&headers, "access-control-allow-headers"),
        set(&["Authorization", "Content-Type", "Idempotency-Key"])
    );
    assert!(header(&headers, "access-control-max-age").is_some_and(|s| s.parse::<u32>().is_ok()));
    // The second configured origin, on a path with a parameter.
    let (status, headers) = preflight(&s, "http://localhost:5173", "PUT", "/products/1").await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert_eq!(
        header(&headers, "access-control-allow-origin"),
        Some("http://localhost:5173")
    );
    s.stop().await;
}

#[tokio::test]
async fn a_preflight_from_another_origin_gets_no_cors_headers() {
    let s = DevServer::sqlite(&[("CORS_ALLOWED_ORIGINS", ORIGINS)]).await;
    for origin in [
        "https://evil.example",
        "https://shop.example.evil.example",
        "null",
    ] {
        let (status, headers) = preflight(&s, origin, "POST", "/orders").await;
        assert_eq!(status, StatusCode::NO_CONTENT, "{origin}");
        for name in [
            "access-control-allow-origin",
            "access-control-allow-methods",
            "access-control-allow-headers",
        ] {
            assert_eq!(header(&headers, name), None, "{origin}: {name}");
        }
    }
    s.stop().await;
}

#[tokio::test]
async fn answers_to_an_allowed_origin_carry_the_origin_and_the_exposed_headers() {
    let s = DevServer::sqlite(&[("CORS_ALLOWED_ORIGINS", ORIGINS)]).await;
    let (status, headers) = request(&s, "GET", "/products?limit=1", &[("origin", SHOP)]).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(header(&headers, "access-control-allow-origin"), Some(SHOP));
    assert_eq!(
        items(&headers, "access-control-expose-headers"),
        set(&["Location", "Link", "Idempotent-Replayed", "Retry-After"])
    );
    assert!(items(&headers, "vary").contains("origin"), "{headers:?}");
    // The gateway's own refusals too, so a browser can read why.
    let (status, headers) = request(&s, "GET", "/orders", &[("origin", SHOP)]).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(header(&headers, "access-control-allow-origin"), Some(SHOP));
    // Another origin gets the answer without them; the browser withholds it.
    let (status, headers) = request(
        &s,
        "GET",
        "/products?limit=1",
        &[("origin", "https://evil.example")],
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(header(&headers, "access-control-allow-origin"), None);
    s.stop().await;
}

#[tokio::test]
async fn without_allowed_origins_there_is_no_cors_at_all() {
    let s = DevServer::sqlite(&[]).await;
    // Not answered as a preflight: OPTIONS is just a method /orders does not take.
    let (status, headers) = preflight(&s, SHOP, "POST", "/orders").await;
    assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(header(&headers, "allow"), Some("GET, POST"));
    assert_eq!(header(&headers, "access-control-allow-origin"), None);
    let (status, headers) = request(&s, "GET", "/products?limit=1", &[("origin", SHOP)]).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(header(&headers, "access-control-allow-origin"), None);
    s.stop().await;
}
