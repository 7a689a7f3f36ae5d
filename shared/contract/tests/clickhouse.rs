//! The repository contract suite against a real ClickHouse server (the test
//! command ensures Debian's 18.16 on 127.0.0.1:8123), each test in its own
//! fresh database, dropped afterwards. The server comes from
//! `TEST_CLICKHOUSE_URL` (default http://127.0.0.1:8123); when it does not
//! answer the tests fail loudly, they never pass by skipping. Also here: every
//! statement of the backend runs on this server with the expected answers, and
//! an absent or silent server gives a fast `Unavailable`, never a hang.

use std::sync::Arc;
use std::time::{Duration, Instant};

use contract::Harness;
use contract::fresh::clickhouse::{drop_database, server_url};
use shared::config::ClickHouseConfig;
use shared::domain::{NewUser, Timestamp, Username};
use shared::error::AppError;
use shared::repo::clickhouse::{ClickHouseStore, sql};
use shared::repo::{Bootstrap, InvoiceRepo, ProductRepo, Store, UserRepo};

/// Runs one statement on the test server as the backend does (same settings).
async fn run(database: Option<&str>, sql: &str, data: Option<&str>) -> Result<String, String> {
    let url = server_url();
    let mut params = vec![
        ("output_format_json_quote_64bit_integers", "0"),
        ("default_format", "JSONEachRow"),
    ];
    if let Some(db) = database {
        params.push(("database", db));
    }
    let body = match data {
        Some(data) => format!("{sql}\n{data}"),
        None => sql.to_owned(),
    };
    let query: String = params.iter().map(|(k, v)| format!("{k}={v}&")).collect();
    shared::tls::install_crypto_provider();
    let response = reqwest::Client::new()
        .post(format!("{url}/?{query}"))
        .timeout(Duration::from_secs(10))
        .body(body)
        .send()
        .await
        .unwrap_or_else(|e| panic!("ClickHouse is required at {url} for these tests: {e}"));
    let ok = response.status().is_success();
    let text = response.text().await.map_err(|e| e.to_string())?;
    if ok { Ok(text) } else { Err(text) }
}

fn fresh_name() -> String {
    contract::fresh::unique_name("contract")
}

fn config(url: String, database: String) -> ClickHouseConfig {
    ClickHouseConfig {
        request_timeout: Duration::from_secs(10),
        ..ClickHouseConfig::new(url, database)
    }
}

async fn harness() -> Harness {
    let name = fresh_name();
    run(None, &format!("CREATE DATABASE {name}"), None)
        .await
        .expect("create database");
    let store = ClickHouseStore::new(
        &config(server_url(), name.clone()),
        Bootstrap {
            migrate: true,
            seed: false,
        },
    )
    .expect("store");
    Harness {
        store: Arc::new(store),
        cleanup: Some(Box::new(move || {
            Box::pin(async move {
                drop_database(&name).await;
            })
        })),
    }
}

contract::contract_cases!(harness);

fn json_lines(text: &str) -> Vec<serde_json::Value> {
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

#[tokio::test]
async fn every_statement_runs_on_the_test_server() {
    let name = fresh_name();
    run(None, &format!("CREATE DATABASE {name}"), None)
        .await
        .expect("create database");
    let mut failures = Vec::new();
    for example in sql::catalogue() {
        match run(Some(&name), &example.sql, example.data.as_deref()).await {
            Ok(answer) => {
                if let Some(expect) = example.expect
                    && json_lines(&answer) != json_lines(expect)
                {
                    failures.push(format!("{}: expected {expect}, got {answer}", example.name));
                }
            }
            Err(e) => failures.push(format!("{}: {e}\n  {}", example.name, example.sql)),
        }
    }
    drop_database(&name).await;
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

fn someone() -> NewUser {
    NewUser {
        username: Username::parse("someone").unwrap(),
        password_hash: "h".into(),
        created_at: Timestamp::now(),
    }
}

#[tokio::test]
async fn a_server_that_is_down_is_unavailable_at_once() {
    // Nothing listens on port 1 of the loopback address: connections are refused.
    let store = ClickHouseStore::new(
        &config("http://127.0.0.1:1".into(), "x".into()),
        Bootstrap {
            migrate: true,
            seed: false,
        },
    )
    .unwrap();
    let started = Instant::now();
    assert!(matches!(store.ping().await, Err(AppError::Unavailable(_))));
    assert!(matches!(
        store.register_user(&someone()).await,
        Err(AppError::Unavailable(_))
    ));
    assert!(matches!(
        store.get_product(1).await,
        Err(AppError::Unavailable(_))
    ));
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "{:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn a_server_that_never_answers_is_unavailable_within_the_timeouts() {
    // Accepts connections and never answers: the ping budget and the request
    // timeout must end the wait.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let silent = tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((socket, _)) = listener.accept().await {
            held.push(socket);
        }
    });
    let mut cfg = config(url, "x".into());
    cfg.request_timeout = Duration::from_secs(1);
    let store = ClickHouseStore::new(
        &cfg,
        Bootstrap {
            migrate: true,
            seed: false,
        },
    )
    .unwrap();

    let started = Instant::now();
    let ping = store.ping().await;
    let waited = started.elapsed();
    assert!(matches!(ping, Err(AppError::Unavailable(_))), "{ping:?}");
    assert!(
        waited >= Duration::from_millis(1400) && waited < Duration::from_millis(2500),
        "ping took {waited:?}"
    );

    let started = Instant::now();
    let read = store.get_invoice(1).await;
    assert!(matches!(read, Err(AppError::Unavailable(_))), "{read:?}");
    assert!(
        started.elapsed() < Duration::from_secs(4),
        "query took {:?}",
        started.elapsed()
    );
    silent.abort();
}
