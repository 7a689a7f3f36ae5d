//! Overhead benchmark: what the service adds on top of the work it cannot avoid.
//!
//!   cargo run --release -p local --example bench            # SQLite (temporary file)
//!   cargo run --release -p local --example bench -- postgres # PostgreSQL (TEST_POSTGRES_URL)
//!
//! Prints, measured in one run:
//! - login through the auth handler ÷ one argon2id hash with the same parameters;
//! - warm `GET /products/{id}` through the products handler ÷ the bare SELECT it
//!   makes, on a dedicated connection;
//! - (postgres) `POST /orders` through the orders handler ÷ its statements run by hand.
//!
//! Medians over many runs; requests are built before the clock starts.

use std::sync::Arc;
use std::time::{Duration, Instant};

use lambda_http::Request;
use serde_json::json;
use shared::App;
use shared::auth::PasswordHasher;
use shared::config::{Config, SecretPolicy};
use sqlx::Connection;

const SECRET: &str = "benchmark-secret-benchmark-secret-0123";

fn event(
    method: &str,
    path: &str,
    route: &str,
    body: Option<String>,
    user: Option<(i64, &str)>,
) -> Request {
    let mut event = json!({
        "version": "2.0",
        "routeKey": format!("{method} {route}"),
        "rawPath": path,
        "rawQueryString": "",
        "headers": {"content-type": "application/json"},
        "requestContext": {
            "accountId": "000000000000", "apiId": "bench", "requestId": "bench", "stage": "$default",
            "routeKey": format!("{method} {route}"), "timeEpoch": 0,
            "http": {"method": method, "path": path, "protocol": "HTTP/1.1", "sourceIp": "127.0.0.1", "userAgent": "bench"}
        },
        "isBase64Encoded": false
    });
    if let Some(body) = body {
        event["body"] = json!(body);
    }
    if let Some((id, name)) = user {
        event["requestContext"]["authorizer"] =
            json!({"lambda": {"user_id": id.to_string(), "username": name, "role": "customer"}});
    }
    lambda_http::request::from_str(&event.to_string()).expect("event")
}

fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}

/// The median time of `$runs` runs of `$body` (an expression that may await).
macro_rules! time_each {
    ($runs:expr, $body:expr) => {{
        let mut samples = Vec::with_capacity($runs);
        for _ in 0..$runs {
            let start = Instant::now();
            $body;
            samples.push(start.elapsed());
        }
        median(samples)
    }};
}

fn row(what: &str, service: Duration, floor: Duration, goal: f64) {
    let ratio = service.as_secs_f64() / floor.as_secs_f64();
    let verdict = if ratio <= goal { "meets" } else { "misses" };
    println!(
        "{what:<40} {:>10.1} µs {:>10.1} µs {ratio:>7.2}  (goal ≤ {goal}: {verdict})",
        service.as_secs_f64() * 1e6,
        floor.as_secs_f64() * 1e6
    );
}

#[tokio::main]
async fn main() {
    let driver = std::env::args().nth(1).unwrap_or_else(|| "sqlite".into());
    let dir = tempfile::tempdir().unwrap();
    let (db_vars, pg_name): (Vec<(String, String)>, Option<String>) = match driver.as_str() {
        "sqlite" => (
            vec![(
                "SQLITE_PATH".into(),
                dir.path().join("bench.db").to_string_lossy().into_owned(),
            )],
            None,
        ),
        "postgres" => {
            let (name, url) = shared::testkit::postgres::fresh_database("bench").await;
            (
                vec![
                    ("DB_DRIVER".into(), "postgres".into()),
                    ("DATABASE_URL".into(), url),
                ],
                Some(name),
            )
        }
        other => panic!("unknown driver {other}: use sqlite or postgres"),
    };
    let vars: std::collections::HashMap<String, String> = db_vars
        .iter()
        .cloned()
        .chain([("JWT_SECRET".to_owned(), SECRET.to_owned())])
        .collect();
    let config = Config::from_lookup(|k| vars.get(k).cloned(), SecretPolicy::Required).unwrap();
    let app = Arc::new(App::build(config).await.unwrap());
    app.users
        .register("bencher", "bench-password")
        .await
        .unwrap();

    println!("driver: {driver}");
    println!(
        "{:<40} {:>13} {:>13} {:>7}",
        "measure", "service", "floor", "ratio"
    );

    // Login vs one argon2id hash (same parameters), 30 runs each.
    let hasher = PasswordHasher::new();
    let hash = time_each!(30, hasher.hash("bench-password").await.unwrap());
    let body = json!({"username": "bencher", "password": "bench-password"}).to_string();
    let mut logins: Vec<Request> = (0..30)
        .map(|_| event("POST", "/login", "/login", Some(body.clone()), None))
        .collect();
    let login = time_each!(30, {
        let response = auth::handle(app.clone(), logins.pop().unwrap()).await;
        assert_eq!(response.status(), 200);
    });
    row("POST /login ÷ one argon2id hash", login, hash, 1.1);

    // Warm GET /products/{id} vs the bare SELECT on a dedicated connection.
    const RUNS: usize = 3000;
    let select = "SELECT id, name, description, price_cents, category, in_stock, created_at, updated_at FROM products WHERE id = ?";
    let warm = |n| {
        (0..n)
            .map(|_| event("GET", "/products/1", "/products/{id}", None, None))
            .collect::<Vec<_>>()
    };
    let (handler, bare) = match driver.as_str() {
        "sqlite" => {
            let mut conn =
                sqlx::SqliteConnection::connect(&format!("sqlite://{}", vars["SQLITE_PATH"]))
                    .await
                    .unwrap();
            let bare = time_each!(
                RUNS,
                sqlx::query(select)
                    .bind(1_i64)
                    .fetch_one(&mut conn)
                    .await
                    .unwrap()
            );
            (products_handler(&app, warm(RUNS)).await, bare)
        }
        _ => {
            let mut conn = sqlx::PgConnection::connect(&vars["DATABASE_URL"])
                .await
                .unwrap();
            let select = "SELECT id, name, description, price_cents, category, in_stock,
                                 extract(epoch FROM created_at)::bigint AS created_at,
                                 extract(epoch FROM updated_at)::bigint AS updated_at
                          FROM products WHERE id = $1";
            let bare = time_each!(
                RUNS,
                sqlx::query(select)
                    .bind(1_i64)
                    .fetch_one(&mut conn)
                    .await
                    .unwrap()
            );
            (products_handler(&app, warm(RUNS)).await, bare)
        }
    };
    row(
        "GET /products/{id} ÷ bare SELECT",
        handler,
        bare,
        if driver == "sqlite" { 2.0 } else { 1.25 },
    );

    if driver == "postgres" {
        orders_vs_by_hand(&app, &vars["DATABASE_URL"]).await;
    }
    drop(app);
    if let Some(name) = pg_name {
        shared::testkit::postgres::drop_database(&name).await;
    }
}

async fn products_handler(app: &Arc<App>, mut requests: Vec<Request>) -> Duration {
    // Warm-up: the pool and the statement cache, as in a warm Lambda.
    for _ in 0..100 {
        products::handle(
            app.clone(),
            event("GET", "/products/1", "/products/{id}", None, None),
        )
        .await;
    }
    time_each!(requests.len(), {
        let response = products::handle(app.clone(), requests.pop().unwrap()).await;
        assert_eq!(response.status(), 200);
    })
}

/// `POST /orders` with two lines through the handler, against what it costs
/// the database: the two product reads and the INSERT, by hand.
async fn orders_vs_by_hand(app: &Arc<App>, url: &str) {
    const RUNS: usize = 1000;
    let body =
        json!({"items": [{"product_id": 1, "quantity": 2}, {"product_id": 2, "quantity": 1}]})
            .to_string();
    let mut requests: Vec<Request> = (0..RUNS + 100)
        .map(|_| {
            event(
                "POST",
                "/orders",
                "/orders",
                Some(body.clone()),
                Some((1, "bencher")),
            )
        })
        .collect();
    for _ in 0..100 {
        orders::handle(app.clone(), requests.pop().unwrap()).await;
    }
    let handler = time_each!(RUNS, {
        let response = orders::handle(app.clone(), requests.pop().unwrap()).await;
        assert_eq!(response.status(), 201);
    });
    let mut conn = sqlx::PgConnection::connect(url).await.unwrap();
    let items = r#"[{"product_id":1,"product_name":"Laptop","quantity":2,"unit_price_cents":129999,"total_cents":259998},{"product_id":2,"product_name":"Wireless Mouse","quantity":1,"unit_price_cents":2999,"total_cents":2999}]"#;
    let by_hand = time_each!(RUNS, {
        {
            for id in [1_i64, 2] {
                sqlx::query(
                    "SELECT id, name, description, price_cents, category, in_stock,
                            extract(epoch FROM created_at)::bigint AS created_at,
                            extract(epoch FROM updated_at)::bigint AS updated_at
                     FROM products WHERE id = $1",
                )
                .bind(id)
                .fetch_one(&mut conn)
                .await
                .unwrap();
            }
            sqlx::query(
                "INSERT INTO orders (user_id, username, items, subtotal_cents, tax_cents, total_cents, status, created_at)
                 VALUES ($1, $2, $3::jsonb, $4, $5, $6, 'pending', to_timestamp($7))
                 RETURNING id, user_id, username, items::text AS items, subtotal_cents, tax_cents, total_cents, status,
                           extract(epoch FROM created_at)::bigint AS created_at",
            )
            .bind(1_i64)
            .bind("bencher")
            .bind(items)
            .bind(262_997_i64)
            .bind(26_300_i64)
            .bind(289_297_i64)
            .bind(1_795_687_200.0_f64)
            .fetch_one(&mut conn)
            .await
            .unwrap();
        }
    });
    row(
        "POST /orders ÷ its statements by hand",
        handler,
        by_hand,
        1.25,
    );
}
