//! A dev server on a free loopback port with a fresh store, and a small client.

#![allow(dead_code)]

pub mod proxy;

use std::collections::HashMap;
use std::sync::Arc;

use futures::future::BoxFuture;
use reqwest::StatusCode;
use serde_json::{Value, json};
use shared::App;
use shared::auth::TokenKeys;
use shared::config::{Config, SecretPolicy};
use shared::domain::{Identity, Role, Timestamp};

pub const TEST_SECRET: &str = "e2e-test-secret-e2e-test-secret-0123";

pub struct DevServer {
    pub base: String,
    pub driver: &'static str,
    client: reqwest::Client,
    keys: TokenKeys,
    task: tokio::task::JoinHandle<()>,
    cleanup: Option<BoxFuture<'static, ()>>,
}

impl DevServer {
    pub async fn sqlite(extra: &[(&str, &str)]) -> DevServer {
        let dir = tempfile::tempdir().expect("temporary folder");
        let path = dir.path().join("e2e.db").to_string_lossy().into_owned();
        let cleanup = Box::pin(async move { drop(dir) });
        DevServer::start(
            "sqlite",
            &[("DB_DRIVER", "sqlite"), ("SQLITE_PATH", &path)],
            extra,
            cleanup,
        )
        .await
    }

    pub async fn postgres(extra: &[(&str, &str)]) -> DevServer {
        let (name, url) = shared::testkit::postgres::fresh_database("e2e").await;
        let cleanup =
            Box::pin(async move { shared::testkit::postgres::drop_database(&name).await });
        DevServer::start(
            "postgres",
            &[("DB_DRIVER", "postgres"), ("DATABASE_URL", &url)],
            extra,
            cleanup,
        )
        .await
    }

    pub async fn clickhouse(extra: &[(&str, &str)]) -> DevServer {
        use shared::testkit::clickhouse::{drop_database, server_url};
        let name = shared::testkit::unique_name("e2e");
        let store = [
            ("DB_DRIVER", "clickhouse"),
            ("CLICKHOUSE_URL", &server_url()),
            ("CLICKHOUSE_DATABASE", &name),
        ]
        .map(|(k, v)| (k, v.to_owned()));
        let store: Vec<(&str, &str)> = store.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let cleanup = Box::pin(async move { drop_database(&name).await });
        DevServer::start("clickhouse", &store, extra, cleanup).await
    }

    pub async fn dynamodb(extra: &[(&str, &str)]) -> DevServer {
        let endpoint = std::env::var("TEST_DYNAMODB_ENDPOINT")
            .unwrap_or_else(|_| "http://127.0.0.1:8000".into());
        let table = shared::testkit::unique_name("e2e");
        let config = shared::config::DynamoDbConfig {
            table: table.clone(),
            endpoint: Some(endpoint.clone()),
            connect_timeout: std::time::Duration::from_secs(2),
            operation_timeout: std::time::Duration::from_secs(30),
        };
        let bootstrap = shared::repo::Bootstrap {
            migrate: false,
            seed: false,
        };
        let cleanup = Box::pin(async move {
            if let Ok(store) =
                shared::repo::dynamodb::DynamoDbStore::connect(&config, bootstrap).await
            {
                let _ = store
                    .client()
                    .await
                    .expect("DynamoDB client")
                    .delete_table()
                    .table_name(store.table())
                    .send()
                    .await;
            }
        });
        let store = [
            ("DB_DRIVER", "dynamodb"),
            ("DYNAMODB_TABLE", table.as_str()),
            ("DYNAMODB_ENDPOINT", endpoint.as_str()),
            // moto, a Python server, under 16 concurrent callers is far slower than DynamoDB.
            ("DYNAMODB_TIMEOUT_MS", "30000"),
        ];
        DevServer::start("dynamodb", &store, extra, cleanup).await
    }

    /// Starts a server on the given store settings (`extra` overrides the defaults).
    pub async fn start(
        driver: &'static str,
        store: &[(&str, &str)],
        extra: &[(&str, &str)],
        cleanup: BoxFuture<'static, ()>,
    ) -> DevServer {
        let mut vars: HashMap<String, String> =
            [("JWT_SECRET", TEST_SECRET), ("ADMIN_USERNAMES", "root")]
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect();
        vars.extend(
            store
                .iter()
                .chain(extra)
                .map(|(k, v)| (k.to_string(), v.to_string())),
        );
        let config =
            Config::from_lookup(|k| vars.get(k).cloned(), SecretPolicy::Required).expect("config");
        let keys = TokenKeys::new(&config.jwt);
        let app = Arc::new(App::build(config).await.expect("open the store"));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("free port");
        let base = format!("http://{}", listener.local_addr().unwrap());
        let task = tokio::spawn(async move {
            local::serve(listener, app, &local::default_template_path())
                .await
                .expect("dev server");
        });
        DevServer {
            base,
            driver,
            client: reqwest::Client::new(),
            keys,
            task,
            cleanup: Some(cleanup),
        }
    }

    pub async fn stop(mut self) {
        self.task.abort();
        if let Some(cleanup) = self.cleanup.take() {
            cleanup.await;
        }
    }

    /// Registers `name` and logs in; the bearer token.
    pub async fn user(&self, name: &str) -> String {
        let creds = json!({"username": name, "password": "password-of-test"});
        let (status, body) = self
            .send("POST", "/register", None, Some(creds.clone()))
            .await;
        assert_eq!(status, StatusCode::CREATED, "register {name}: {body}");
        let (status, body) = self.send("POST", "/login", None, Some(creds)).await;
        assert_eq!(status, StatusCode::OK, "login {name}: {body}");
        body["token"].as_str().unwrap().to_owned()
    }

    /// A correctly signed token for `name` that expired an hour ago.
    pub async fn token_expired_for(&self, name: &str) -> String {
        let identity = Identity {
            user_id: 1,
            username: name.into(),
            role: Role::Customer,
        };
        self.keys
            .issue(
                &identity,
                Timestamp::from_unix(Timestamp::now().unix() - 7200),
            )
            .await
            .unwrap()
    }

    pub async fn raw(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> reqwest::Response {
        let text = body.map(|b| b.to_string()).unwrap_or_default();
        self.raw_text(method, path, token, &text).await
    }

    pub async fn raw_text(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        body: &str,
    ) -> reqwest::Response {
        let mut request = self
            .client
            .request(method.parse().unwrap(), format!("{}{path}", self.base))
            .header("content-type", "application/json");
        if let Some(token) = token {
            request = request.header("authorization", format!("Bearer {token}"));
        }
        if !body.is_empty() {
            request = request.body(body.to_owned());
        }
        request.send().await.expect("the dev server answers")
    }

    /// Sends a request; the status and the JSON body.
    pub async fn send(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let response = self.raw(method, path, token, body).await;
        let status = response.status();
        let text = response.text().await.unwrap();
        let value = serde_json::from_str(&text)
            .unwrap_or_else(|_| panic!("{method} {path}: not JSON: {text}"));
        (status, value)
    }
}

/// Checks the error body of API.md: `error`, `code`, `timestamp`, `request_id`.
pub fn assert_error(status: StatusCode, body: &Value, expected: StatusCode, code: &str) {
    assert_eq!(status, expected, "{body}");
    assert_eq!(body["code"], code, "{body}");
    assert!(
        body["error"].as_str().is_some_and(|e| !e.is_empty()),
        "{body}"
    );
    assert!(
        body["timestamp"].as_str().is_some_and(|t| t.ends_with('Z')),
        "{body}"
    );
    assert!(
        body["request_id"].as_str().is_some_and(|r| !r.is_empty()),
        "{body}"
    );
}
