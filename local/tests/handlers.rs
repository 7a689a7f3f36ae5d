//! Handler tests: real API Gateway (HTTP API, payload 2.0) events from
//! `local/events/`, deserialised the way `lambda_http` does in Lambda, handed
//! straight to each function's handler.

use std::path::Path;
use std::sync::Arc;

use lambda_http::{Body, Request, Response};
use serde_json::Value;
use shared::App;
use shared::config::{Config, SecretPolicy};
use shared::domain::{Identity, Role, Timestamp};

fn read_event(name: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("events")
        .join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn event(name: &str) -> Request {
    lambda_http::request::from_str(&read_event(name))
        .unwrap_or_else(|e| panic!("{name} is not an API Gateway v2 event: {e}"))
}

async fn app(dir: &Path) -> Arc<App> {
    let path = dir.join("events.db").to_string_lossy().into_owned();
    let config = Config::from_lookup(
        |k| match k {
            "JWT_SECRET" => Some("handler-test-secret-handler-test-secret".into()),
            "SQLITE_PATH" => Some(path.clone()),
            _ => None,
        },
        SecretPolicy::Required,
    )
    .unwrap();
    let app = Arc::new(App::build(config).await.unwrap());
    // The events act as user 1, "alice".
    app.users.register("alice", "alice-password").await.unwrap();
    app
}

fn status_and_body(response: Response<Body>) -> (u16, Value) {
    let status = response.status().as_u16();
    let body = match response.body() {
        Body::Text(text) => serde_json::from_str(text).expect("JSON body"),
        other => panic!("unexpected body {other:?}"),
    };
    (status, body)
}

#[tokio::test]
async fn events_get_the_documented_answers() {
    let dir = tempfile::tempdir().unwrap();
    let app = app(dir.path()).await;

    let (status, body) =
        status_and_body(health::handle(app.clone(), event("health-get.json")).await);
    assert_eq!(
        (status, body["database"]["driver"].as_str()),
        (200, Some("sqlite"))
    );

    let (status, body) =
        status_and_body(products::handle(app.clone(), event("products-list-page.json")).await);
    assert_eq!((status, body.as_array().map(Vec::len)), (200, Some(2)));
    let response = products::handle(app.clone(), event("products-list-page.json")).await;
    assert!(
        response.headers()["link"]
            .to_str()
            .unwrap()
            .contains("rel=\"next\"")
    );

    let (status, body) =
        status_and_body(products::handle(app.clone(), event("products-get.json")).await);
    assert_eq!((status, body["product_id"].as_i64()), (200, Some(1)));
    let (status, body) =
        status_and_body(products::handle(app.clone(), event("products-get-missing.json")).await);
    assert_eq!(
        (status, body["code"].as_str()),
        (404, Some("product_not_found"))
    );
    assert_eq!(
        body["request_id"], "evt-1",
        "the request id comes from the event"
    );
    let (status, body) =
        status_and_body(products::handle(app.clone(), event("products-by-category.json")).await);
    assert_eq!(status, 200);
    assert!(
        body.as_array()
            .unwrap()
            .iter()
            .all(|p| p["category"] == "books")
    );

    let (status, body) =
        status_and_body(auth::handle(app.clone(), event("register-post.json")).await);
    assert_eq!(
        (status, body["user"]["username"].as_str()),
        (201, Some("eventuser"))
    );
    let (status, body) =
        status_and_body(auth::handle(app.clone(), event("register-post-invalid.json")).await);
    assert_eq!(
        (status, body["code"].as_str()),
        (400, Some("validation_error"))
    );
    assert!(body["error"].as_str().unwrap().contains("password"));

    // Identity from the authorizer's context, as API Gateway hands it over.
    let (status, body) =
        status_and_body(orders::handle(app.clone(), event("orders-post-authorized.json")).await);
    assert_eq!(
        (
            status,
            body["username"].as_str(),
            body["items"][0]["quantity"].as_i64()
        ),
        (201, Some("alice"), Some(2))
    );
    let (status, body) =
        status_and_body(orders::handle(app.clone(), event("orders-get-authorized.json")).await);
    assert_eq!((status, body.as_array().map(Vec::len)), (200, Some(1)));
    let (status, body) =
        status_and_body(orders::handle(app.clone(), event("orders-get-other-user.json")).await);
    assert_eq!((status, body["code"].as_str()), (403, Some("forbidden")));
    // No authorizer in front and no token: the function refuses by itself.
    let (status, body) =
        status_and_body(orders::handle(app.clone(), event("orders-post-no-identity.json")).await);
    assert_eq!((status, body["code"].as_str()), (401, Some("unauthorized")));

    let (status, body) =
        status_and_body(invoices::handle(app.clone(), event("invoices-get-missing.json")).await);
    assert_eq!(
        (status, body["code"].as_str()),
        (404, Some("invoice_not_found"))
    );
}

#[tokio::test]
async fn the_authorizer_refuses_forged_tokens_and_admits_valid_ones() {
    let dir = tempfile::tempdir().unwrap();
    let app = app(dir.path()).await;
    let forged: authorizer::AuthorizerRequest =
        serde_json::from_str(&read_event("authorizer-forged-token.json")).unwrap();
    let decision = authorizer::authorize(&app.tokens, &forged).await.unwrap();
    assert!(!decision.is_authorized);

    let alice = Identity {
        user_id: 1,
        username: "alice".into(),
        role: Role::Customer,
    };
    let token = app.tokens.issue(&alice, Timestamp::now()).await.unwrap();
    let mut valid = forged.clone();
    valid.identity_source = Some(vec![format!("Bearer {token}")]);
    let decision = authorizer::authorize(&app.tokens, &valid).await.unwrap();
    assert!(decision.is_authorized);
    assert_eq!(
        decision.context,
        serde_json::json!({"user_id": "1", "username": "alice", "role": "customer"})
    );
}
