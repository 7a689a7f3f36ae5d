//! Handler tests: real API Gateway (HTTP API, payload 2.0) events from
//! `local/events/`, deserialised the way `lambda_http` does in Lambda, handed
//! straight to each function's handler.

use std::io::Write;
use std::path::Path;
use std::sync::{Arc, Mutex};

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

fn allow_header(response: &Response<Body>) -> Option<String> {
    response
        .headers()
        .get("allow")
        .map(|v| v.to_str().expect("ASCII Allow").to_owned())
}

#[tokio::test]
async fn a_wrong_method_is_405_with_allow_naming_the_methods_of_the_path() {
    let dir = tempfile::tempdir().unwrap();
    let app = app(dir.path()).await;

    let response = health::handle(app.clone(), event("health-wrong-method.json")).await;
    assert_eq!(allow_header(&response).as_deref(), Some("GET"));
    let (status, body) = status_and_body(response);
    assert_eq!(
        (status, body["code"].as_str(), body["request_id"].as_str()),
        (
            405,
            Some("method_not_allowed"),
            Some("evt-health-post-0001")
        )
    );

    // The same event as a DELETE of a product, whose path takes GET and PUT.
    let mut delete: Value = serde_json::from_str(&read_event("products-get.json")).unwrap();
    delete["requestContext"]["http"]["method"] = "DELETE".into();
    let request = lambda_http::request::from_str(&delete.to_string()).unwrap();
    let response = products::handle(app.clone(), request).await;
    assert_eq!(allow_header(&response).as_deref(), Some("GET, PUT"));
    let (status, body) = status_and_body(response);
    assert_eq!(
        (status, body["code"].as_str()),
        (405, Some("method_not_allowed"))
    );

    // Only a 405 carries Allow.
    let response = products::handle(app, event("products-get-missing.json")).await;
    assert_eq!(
        (response.status().as_u16(), allow_header(&response)),
        (404, None)
    );
}

/// What a function writes to stdout, captured.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'w> tracing_subscriber::fmt::MakeWriter<'w> for Captured {
    type Writer = Captured;
    fn make_writer(&'w self) -> Captured {
        self.clone()
    }
}

impl Captured {
    /// The EMF documents written so far (lines with `_aws`), skipping log lines.
    fn metric_lines(&self) -> Vec<Value> {
        let text = String::from_utf8(self.0.lock().unwrap().clone()).unwrap();
        text.lines()
            .map(|l| serde_json::from_str::<Value>(l).expect("a JSON line"))
            .filter(|doc| doc.get("_aws").is_some())
            .collect()
    }

    fn count_of(&self, metric: &str) -> usize {
        self.metric_lines()
            .iter()
            .filter(|doc| doc.get(metric).is_some())
            .count()
    }
}

/// orders-post-authorized.json (alice, through the authorizer) sent to another route.
fn as_alice(method: &str, path: &str, body: &str) -> Request {
    let mut doc: Value = serde_json::from_str(&read_event("orders-post-authorized.json")).unwrap();
    let route = format!("{method} {path}");
    doc["routeKey"] = route.clone().into();
    doc["requestContext"]["routeKey"] = route.into();
    doc["rawPath"] = path.into();
    doc["requestContext"]["http"]["path"] = path.into();
    doc["requestContext"]["http"]["method"] = method.into();
    doc["body"] = body.into();
    lambda_http::request::from_str(&doc.to_string()).unwrap()
}

#[tokio::test]
async fn business_events_emit_one_emf_line_each_and_refusals_none() {
    let dir = tempfile::tempdir().unwrap();
    let app = app(dir.path()).await;
    let out = Captured::default();
    // The subscriber a deployed function installs, writing here; the test
    // runtime is single-threaded, so the handlers run under it.
    let _subscriber = tracing::subscriber::set_default(shared::telemetry::subscriber_for(
        "info",
        out.clone(),
        "shop-orders",
    ));

    let (status, _) =
        status_and_body(orders::handle(app.clone(), event("orders-post-authorized.json")).await);
    assert_eq!(status, 201);
    let lines = out.metric_lines();
    assert_eq!(lines.len(), 1, "{lines:?}");
    let emf = &lines[0];
    let declared = &emf["_aws"]["CloudWatchMetrics"][0];
    assert_eq!(declared["Namespace"], "CommerceApi");
    assert_eq!(
        declared["Dimensions"],
        serde_json::json!([["FunctionName"]])
    );
    assert_eq!(
        declared["Metrics"],
        serde_json::json!([{"Name": "OrdersPlaced", "Unit": "Count"}])
    );
    assert_eq!(emf["FunctionName"], "shop-orders");
    assert_eq!(emf["OrdersPlaced"], 1);
    assert!(emf["_aws"]["Timestamp"].as_u64().unwrap() > 1_600_000_000_000);

    // Refused: no order, no metric.
    let (status, _) =
        status_and_body(orders::handle(app.clone(), event("orders-post-no-identity.json")).await);
    assert_eq!(status, 401);
    assert_eq!(out.count_of("OrdersPlaced"), 1);

    // Paid once, whatever the number of times it is asked.
    let created = as_alice("POST", "/invoices", r#"{"order_id": 1}"#);
    let (status, _) = status_and_body(invoices::handle(app.clone(), created).await);
    assert_eq!(status, 201);
    for _ in 0..2 {
        let pay = as_alice("PUT", "/invoices/1", r#"{"status": "paid"}"#);
        let (status, body) = status_and_body(invoices::handle(app.clone(), pay).await);
        assert_eq!((status, body["status"].as_str()), (200, Some("paid")));
    }
    assert_eq!(out.count_of("InvoicesPaid"), 1);

    // A wrong password counts; a right one does not.
    let wrong = as_alice(
        "POST",
        "/login",
        r#"{"username": "alice", "password": "not-her-password"}"#,
    );
    let (status, _) = status_and_body(auth::handle(app.clone(), wrong).await);
    assert_eq!(status, 401);
    let right = as_alice(
        "POST",
        "/login",
        r#"{"username": "alice", "password": "alice-password"}"#,
    );
    let (status, _) = status_and_body(auth::handle(app.clone(), right).await);
    assert_eq!(status, 200);
    assert_eq!(out.count_of("FailedLogins"), 1);
    assert_eq!(out.metric_lines().len(), 3, "{:?}", out.metric_lines());
}
