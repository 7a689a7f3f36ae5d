//! Load benchmark: requests per second and latency percentiles of the release
//! dev server under a fixed number of concurrent clients, over HTTP on
//! 127.0.0.1. Run it with `local/scripts/bench-load.sh` (builds both in release
//! first), or by hand:
//!
//!   cargo build --release -p local --bin local --example load
//!   target/release/examples/load sqlite      # a fresh SQLite file
//!   target/release/examples/load postgres    # a fresh database on TEST_POSTGRES_URL's server
//!
//! Options: `--concurrency N` (32), `--duration S` (10 s per scenario).
//!
//! It starts `target/release/local` (the dev server, as `cargo run --release -p
//! local` does) on a free loopback port with a fresh store, registers a user,
//! then runs each scenario for the duration with N clients, each sending its
//! next request as soon as the previous one is answered (a closed loop):
//! `GET /products/1`, `POST /orders` (with the user's token), `POST /login`.
//! Every answer that is not 2xx, and every request that got no answer, is an
//! error. When the clock runs out each client finishes the request it has
//! started, so every request sent is counted; afterwards the user's orders are
//! listed through `GET /orders` (every page) and must be exactly the orders
//! answered 201, with no id twice. Any error or a mismatch fails the run (exit
//! status 1) after the table is printed.
//!
//! The load generator runs on the same machine and competes with the server
//! for its cores: the figures are what this machine does with both, a floor
//! for the server alone.

use std::collections::HashSet;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::{Value, json};

const USERNAME: &str = "loadbench";
const PASSWORD: &str = "load-bench-password";

struct Args {
    driver: String,
    concurrency: usize,
    duration: Duration,
}

fn parse_args() -> Result<Args, String> {
    let mut args = Args {
        driver: "sqlite".into(),
        concurrency: 32,
        duration: Duration::from_secs(10),
    };
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        match arg.as_str() {
            "sqlite" | "postgres" => args.driver = arg,
            "--concurrency" => {
                args.concurrency = it
                    .next()
                    .and_then(|v| v.parse().ok())
                    .filter(|n| (1..=1024).contains(n))
                    .ok_or("--concurrency takes a number from 1 to 1024")?;
            }
            "--duration" => {
                let secs: u64 = it
                    .next()
                    .and_then(|v| v.parse().ok())
                    .filter(|s| (1..=300).contains(s))
                    .ok_or("--duration takes seconds from 1 to 300")?;
                args.duration = Duration::from_secs(secs);
            }
            other => {
                return Err(format!(
                    "unknown argument {other}; usage: load [sqlite|postgres] [--concurrency N] [--duration S]"
                ));
            }
        }
    }
    Ok(args)
}

/// The dev server process; killed when dropped.
struct Server {
    child: Child,
    base: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free loopback port")
        .port()
}

async fn start_server(store: &[(&str, String)], client: &reqwest::Client) -> Server {
    // target/release/examples/load -> target/release/local
    let exe = std::env::current_exe().expect("own path");
    let binary = exe
        .parent()
        .and_then(|examples| examples.parent())
        .map(|dir| dir.join("local"))
        .filter(|p| p.is_file())
        .expect("target/release/local is missing: cargo build --release -p local --bin local");
    let port = free_port();
    let mut command = Command::new(&binary);
    command
        .env("PORT", port.to_string())
        .env("AUTO_MIGRATE", "true")
        // The log lines are written as in production (one JSON line per
        // request), to nowhere: their cost is part of the figures.
        .stdout(Stdio::null())
        .stderr(Stdio::inherit());
    for (key, value) in store {
        command.env(key, value);
    }
    let child = command.spawn().expect("start the dev server");
    let server = Server {
        child,
        base: format!("http://127.0.0.1:{port}"),
    };
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if let Ok(r) = client.get(format!("{}/health", server.base)).send().await
            && r.status() == StatusCode::OK
        {
            return server;
        }
        assert!(
            Instant::now() < deadline,
            "the dev server did not answer /health within 60 s"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// One request of a scenario.
#[derive(Clone)]
enum Call {
    Product,
    Order { token: String },
    Login,
}

impl Call {
    fn name(&self) -> &'static str {
        match self {
            Call::Product => "GET /products/1",
            Call::Order { .. } => "POST /orders",
            Call::Login => "POST /login",
        }
    }

    fn request(&self, client: &reqwest::Client, base: &str) -> reqwest::RequestBuilder {
        match self {
            Call::Product => client.get(format!("{base}/products/1")),
            Call::Order { token } => client
                .post(format!("{base}/orders"))
                .bearer_auth(token)
                .json(&json!({"items": [{"product_id": 1, "quantity": 1}]})),
            Call::Login => client
                .post(format!("{base}/login"))
                .json(&json!({"username": USERNAME, "password": PASSWORD})),
        }
    }
}

#[derive(Default)]
struct Tally {
    latencies: Vec<Duration>,
    errors: u64,
    created: u64,
    created_ids: Vec<i64>,
    first_error: Option<String>,
}

async fn client_loop(call: Call, client: reqwest::Client, base: Arc<str>, until: Instant) -> Tally {
    let mut tally = Tally::default();
    while Instant::now() < until {
        let start = Instant::now();
        let outcome = call.request(&client, &base).send().await;
        let (ok, detail) = match outcome {
            Ok(response) => {
                let status = response.status();
                let body = response.bytes().await;
                tally.latencies.push(start.elapsed());
                match body {
                    Ok(body) if status.is_success() => {
                        if status == StatusCode::CREATED
                            && let Call::Order { .. } = call
                        {
                            tally.created += 1;
                            let id = serde_json::from_slice::<Value>(&body)
                                .ok()
                                .and_then(|v| v["order_id"].as_i64());
                            match id {
                                Some(id) => tally.created_ids.push(id),
                                None => {
                                    tally.errors += 1;
                                    tally.first_error.get_or_insert_with(|| {
                                        "a 201 without an order_id".to_string()
                                    });
                                }
                            }
                        }
                        (true, String::new())
                    }
                    Ok(body) => (
                        false,
                        format!("{status} {}", String::from_utf8_lossy(&body)),
                    ),
                    Err(e) => (false, format!("{status}, body not read: {e}")),
                }
            }
            Err(e) => {
                tally.latencies.push(start.elapsed());
                (false, format!("no answer: {e}"))
            }
        };
        if !ok {
            tally.errors += 1;
            tally.first_error.get_or_insert(detail);
        }
    }
    tally
}

struct Figures {
    name: &'static str,
    requests: usize,
    per_second: f64,
    p50: Duration,
    p99: Duration,
    errors: u64,
    tally: Tally,
}

async fn scenario(call: Call, args: &Args, client: &reqwest::Client, base: &str) -> Figures {
    let base: Arc<str> = base.into();
    let started = Instant::now();
    let until = started + args.duration;
    let workers: Vec<_> = (0..args.concurrency)
        .map(|_| {
            tokio::spawn(client_loop(
                call.clone(),
                client.clone(),
                base.clone(),
                until,
            ))
        })
        .collect();
    let mut total = Tally::default();
    for worker in workers {
        let t = worker.await.expect("client task");
        total.latencies.extend(t.latencies);
        total.errors += t.errors;
        total.created += t.created;
        total.created_ids.extend(t.created_ids);
        if total.first_error.is_none() {
            total.first_error = t.first_error;
        }
    }
    // Until the last started request was answered.
    let elapsed = started.elapsed();
    total.latencies.sort_unstable();
    let pct = |p: f64| {
        let n = total.latencies.len();
        if n == 0 {
            return Duration::ZERO;
        }
        total.latencies[((n as f64 * p).ceil() as usize).clamp(1, n) - 1]
    };
    Figures {
        name: call.name(),
        requests: total.latencies.len(),
        per_second: total.latencies.len() as f64 / elapsed.as_secs_f64(),
        p50: pct(0.50),
        p99: pct(0.99),
        errors: total.errors,
        tally: total,
    }
}

/// Every order of the token's user, through `GET /orders`, page by page.
async fn listed_orders(client: &reqwest::Client, base: &str, token: &str) -> Vec<i64> {
    let mut ids = Vec::new();
    let mut next = Some(format!("{base}/orders?limit=200"));
    while let Some(url) = next.take() {
        let response = client
            .get(&url)
            .bearer_auth(token)
            .send()
            .await
            .expect("GET /orders");
        assert_eq!(response.status(), StatusCode::OK, "GET /orders");
        next = response
            .headers()
            .get("link")
            .and_then(|v| v.to_str().ok())
            .and_then(|link| link.split(';').next())
            .map(|target| target.trim().trim_start_matches('<').trim_end_matches('>'))
            .map(|target| {
                if target.starts_with("http") {
                    target.to_string()
                } else {
                    format!("{base}{target}")
                }
            });
        let page: Value = response.json().await.expect("a JSON list");
        let page = page.as_array().expect("a bare JSON array");
        assert!(
            !page.is_empty() || next.is_none(),
            "an empty page with a next link"
        );
        ids.extend(
            page.iter()
                .map(|o| o["order_id"].as_i64().expect("order_id")),
        );
    }
    ids
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

#[tokio::main]
async fn main() {
    let args = match parse_args() {
        Ok(args) => args,
        Err(e) => {
            eprintln!("{e}");
            std::process::exit(2);
        }
    };
    // reqwest runs rustls on the process's provider (see shared::tls).
    shared::tls::install_crypto_provider();
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(args.concurrency)
        .timeout(Duration::from_secs(30))
        .build()
        .expect("HTTP client");

    // A fresh store, removed afterwards.
    let dir = tempfile::tempdir().expect("temporary folder");
    let mut pg_database = None;
    let store: Vec<(&str, String)> = match args.driver.as_str() {
        "postgres" => {
            let (name, url) = contract::fresh::postgres::fresh_database("load").await;
            pg_database = Some(name);
            vec![("DB_DRIVER", "postgres".into()), ("DATABASE_URL", url)]
        }
        _ => vec![
            ("DB_DRIVER", "sqlite".into()),
            (
                "SQLITE_PATH",
                dir.path().join("load.db").to_string_lossy().into_owned(),
            ),
        ],
    };
    let server = start_server(&store, &client).await;
    let base = server.base.clone();

    let registered = client
        .post(format!("{base}/register"))
        .json(&json!({"username": USERNAME, "password": PASSWORD}))
        .send()
        .await
        .expect("POST /register");
    assert_eq!(registered.status(), StatusCode::CREATED, "POST /register");
    let login: Value = client
        .post(format!("{base}/login"))
        .json(&json!({"username": USERNAME, "password": PASSWORD}))
        .send()
        .await
        .expect("POST /login")
        .json()
        .await
        .expect("login JSON");
    let token = login["token"].as_str().expect("a token").to_string();

    let mut results = Vec::new();
    for call in [
        Call::Product,
        Call::Order {
            token: token.clone(),
        },
        Call::Login,
    ] {
        results.push(scenario(call, &args, &client, &base).await);
    }

    let listed = listed_orders(&client, &base, &token).await;
    let created: Vec<i64> = results
        .iter()
        .flat_map(|f| f.tally.created_ids.iter().copied())
        .collect();
    let answered_201: u64 = results.iter().map(|f| f.tally.created).sum();
    let listed_set: HashSet<i64> = listed.iter().copied().collect();
    let created_set: HashSet<i64> = created.iter().copied().collect();

    println!(
        "load: DB_DRIVER={}, {} concurrent clients, {} s per scenario, release dev server on 127.0.0.1",
        args.driver,
        args.concurrency,
        args.duration.as_secs()
    );
    println!(
        "{:<16} {:>9} {:>10} {:>9} {:>9} {:>7}",
        "request", "requests", "req/s", "p50 ms", "p99 ms", "errors"
    );
    for f in &results {
        println!(
            "{:<16} {:>9} {:>10.0} {:>9.2} {:>9.2} {:>7}",
            f.name,
            f.requests,
            f.per_second,
            ms(f.p50),
            ms(f.p99),
            f.errors
        );
    }
    println!(
        "orders: {answered_201} answered 201, {} listed by GET /orders",
        listed.len()
    );

    let mut failures = Vec::new();
    for f in &results {
        if f.errors > 0 {
            failures.push(format!(
                "{}: {} errors, the first: {}",
                f.name,
                f.errors,
                f.tally.first_error.as_deref().unwrap_or("?")
            ));
        }
    }
    if listed.len() != listed_set.len() {
        failures.push("GET /orders lists an order twice".into());
    }
    if created.len() != created_set.len() {
        failures.push("two 201 answers carry the same order_id".into());
    }
    if listed_set != created_set || answered_201 as usize != listed.len() {
        failures.push(format!(
            "the store holds {} orders, {} were answered 201 ({} answered but not stored, {} stored but not answered)",
            listed.len(),
            answered_201,
            created_set.difference(&listed_set).count(),
            listed_set.difference(&created_set).count()
        ));
    }

    drop(server);
    if let Some(name) = pg_database {
        contract::fresh::postgres::drop_database(&name).await;
    }
    if !failures.is_empty() {
        eprintln!("load benchmark FAILED:\n  {}", failures.join("\n  "));
        std::process::exit(1);
    }
}
