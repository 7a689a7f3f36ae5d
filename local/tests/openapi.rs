//! The OpenAPI description against the template and over HTTP: its paths and
//! methods are exactly `template.yaml`'s routes (with the same protection),
//! `/openapi.json` serves it, `/docs` serves a page whose assets come from this
//! origin under a strict Content-Security-Policy, and the `$default` route
//! answers unknown routes and wrong methods with the API's JSON errors.

mod support;

use std::collections::BTreeSet;

use reqwest::StatusCode;
use serde_json::Value;
use support::{DevServer, assert_error};

type Row = (String, String, bool);

fn template_routes() -> BTreeSet<Row> {
    local::template::load(&local::default_template_path())
        .unwrap()
        .into_iter()
        .filter(|r| !r.is_default())
        .map(|r| (r.method, r.path, r.protected))
        .collect()
}

fn described_routes(doc: &Value) -> BTreeSet<Row> {
    let mut rows = BTreeSet::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            rows.insert((
                method.to_ascii_uppercase(),
                path.clone(),
                op.get("security").is_some(),
            ));
        }
    }
    rows
}

#[test]
fn the_description_has_exactly_the_template_routes_with_their_protection() {
    let doc: Value = serde_json::from_str(shared::openapi::document_json()).unwrap();
    let template = template_routes();
    let described = described_routes(&doc);
    let only_template: Vec<_> = template.difference(&described).collect();
    let only_spec: Vec<_> = described.difference(&template).collect();
    assert!(
        only_template.is_empty() && only_spec.is_empty(),
        "routes only in template.yaml: {only_template:?}; only in the OpenAPI description: {only_spec:?}"
    );
    assert!(template.len() >= 20, "{} routes", template.len());
}

#[test]
fn the_template_has_one_public_default_route() {
    let defaults: Vec<_> = local::template::load(&local::default_template_path())
        .unwrap()
        .into_iter()
        .filter(|r| r.is_default())
        .collect();
    assert_eq!(defaults.len(), 1, "{defaults:?}");
    assert!(!defaults[0].protected);
    assert_eq!(defaults[0].binary, "docs");
}

#[tokio::test]
async fn openapi_json_is_the_description_as_built_from_the_code() {
    let s = DevServer::sqlite(&[]).await;
    let response = s.raw("GET", "/openapi.json", None, None).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        response.headers()["content-type"].to_str().unwrap(),
        "application/json"
    );
    let served: Value = response.json().await.unwrap();
    assert!(served["openapi"].as_str().unwrap().starts_with("3.1"));
    assert_eq!(described_routes(&served), template_routes());
    let error = &served["components"]["schemas"]["Error"];
    let mut required: Vec<&str> = error["required"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    required.sort_unstable();
    assert_eq!(required, ["code", "error", "request_id", "timestamp"]);
    s.stop().await;
}

#[tokio::test]
async fn docs_is_a_page_whose_assets_are_served_here_under_a_strict_csp() {
    let s = DevServer::sqlite(&[]).await;
    let response = s.raw("GET", "/docs", None, None).await;
    assert_eq!(response.status(), StatusCode::OK);
    let csp = response.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(csp.contains("default-src 'none'"), "{csp}");
    assert!(csp.contains("script-src 'self';"), "{csp}");
    assert!(!csp.contains("unsafe"), "{csp}");
    let page = response.text().await.unwrap();
    assert!(
        !page.contains("http://") && !page.contains("https://"),
        "{page}"
    );
    for asset in shared::openapi::DOCS_ASSETS {
        let path = format!("/docs/{asset}");
        assert!(page.contains(&path), "the page loads {path}");
        let response = s.raw("GET", &path, None, None).await;
        assert_eq!(response.status(), StatusCode::OK, "{path}");
        let kind = response.headers()["content-type"]
            .to_str()
            .unwrap()
            .to_owned();
        assert!(
            kind.starts_with(if asset.ends_with(".css") {
                "text/css"
            } else {
                "text/javascript"
            }),
            "{path}: {kind}"
        );
        assert!(!response.bytes().await.unwrap().is_empty(), "{path}");
    }
    let (status, body) = s.send("GET", "/docs/other.js", None, None).await;
    assert_error(status, &body, StatusCode::NOT_FOUND, "route_not_found");
    s.stop().await;
}

#[tokio::test]
async fn the_default_route_answers_unknown_routes_and_wrong_methods_with_the_json_errors() {
    let s = DevServer::sqlite(&[]).await;
    let (status, body) = s.send("GET", "/no/such/route", None, None).await;
    assert_error(status, &body, StatusCode::NOT_FOUND, "route_not_found");
    for (method, path, allow) in [
        ("DELETE", "/openapi.json", "GET"),
        ("POST", "/docs", "GET"),
        ("PATCH", "/invoices/3", "GET, PUT"),
        ("DELETE", "/orders", "GET, POST"),
    ] {
        let response = s.raw(method, path, None, None).await;
        assert_eq!(
            response.headers().get("allow").map(|v| v.to_str().unwrap()),
            Some(allow),
            "{method} {path}"
        );
        let status = response.status();
        let body: Value = response.json().await.unwrap();
        assert_error(
            status,
            &body,
            StatusCode::METHOD_NOT_ALLOWED,
            "method_not_allowed",
        );
    }
    s.stop().await;
}
