//! A dev server on a free loopback port with a fresh store, and a small client.

#![allow(dead_code)]

pub mod proxy;

use std::collections::HashMap;
use std::panic::AssertUnwindSafe;
use std::sync::Arc;

use futures::FutureExt;
use futures::future::BoxFuture;
use reqwest::StatusCode;
use serde_json::Value;
use shared::App;
use shared::auth::PasswordHasher;
use shared::config::{Config, SecretPolicy};
use shared::domain::{Identity, NewUser, Role, Timestamp, Username};
use tokio::sync::OnceCell;

pub const TEST_SECRET: &str = "e2e-test-secret-e2e-test-secret-0123";

/// The password of every user `DevServer::user` makes.
pub const TEST_PASSWORD: &str = "password-of-test";

/// The four stores every end-to-end case runs on.
#[derive(Clone, Copy, Debug)]
pub enum Backend {
    Sqlite,
    Postgres,
    ClickHouse,
    DynamoDb,
}

pub struct DevServer {
    pub base: String,
    pub driver: &'static str,
    client: reqwest::Client,
    app: Arc<App>,
    task: tokio::task::JoinHandle<()>,
    cleanup: Option<BoxFuture<'static, ()>>,
}

impl DevServer {
    /// A dev server on a fresh store of `backend` (`extra` overrides the defaults).
    pub async fn fresh(backend: Backend, extra: &[(&str, &str)]) -> DevServer {
        match backend {
            Backend::Sqlite => DevServer::sqlite(extra).await,
            Backend::Postgres => DevServer::postgres(extra).await,
            Backend::ClickHouse => DevServer::clickhouse(extra).await,
            Backend::DynamoDb => DevServer::dynamodb(extra).await,
        }
    }

    /// Runs one test case on a dev server of its own with a fresh store of
    /// `backend`, then disposes of the store, also when the case fails (the
    /// failure is then passed on as it was).
    pub async fn run_case(
        backend: Backend,
        extra: &[(&str, &str)],
        case: impl AsyncFnOnce(&DevServer),
    ) {
        let server = DevServer::fresh(backend, extra).await;
        let outcome = AssertUnwindSafe(case(&server)).catch_unwind().await;
        server.stop().await;
        if let Err(failure) = outcome {
            std::panic::resume_unwind(failure);
        }
    }

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
        let (name, url) = contract::fresh::postgres::fresh_database("e2e").await;
        let cleanup =
            Box::pin(async move { contract::fresh::postgres::drop_database(&name).await });
        DevServer::start(
            "postgres",
            &[("DB_DRIVER", "postgres"), ("DATABASE_URL", &url)],
            extra,
            cleanup,
        )
        .await
    }

    pub async fn clickhouse(extra: &[(&str, &str)]) -> DevServer {
        use contract::fresh::clickhouse::{drop_database, server_url};
        let name = contract::fresh::unique_name("e2e");
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
        let endpoint = contract::fresh::dynamodb::endpoint();
        let table = contract::fresh::unique_name("e2e");
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
                contract::fresh::dynamodb::delete_table(&store).await;
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
        let mut vars: HashMap<String, String> = [("JWT_SECRET", TEST_SECRET)]
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
        let settings =
            local::Settings::from_lookup(|k| vars.get(k).cloned()).expect("dev server settings");
        let app = Arc::new(App::build(config).await.expect("open the store"));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("free port");
        let base = format!("http://{}", listener.local_addr().unwrap());
        let served = app.clone();
        let task = tokio::spawn(async move {
            local::serve_with(listener, served, &local::default_template_path(), &settings)
                .await
                .expect("dev server");
        });
        // reqwest runs rustls on the process's provider (see shared::tls).
        shared::tls::install_crypto_provider();
        DevServer {
            base,
            driver,
            client: reqwest::Client::new(),
            app,
            task,
            cleanup: Some(cleanup),
        }
    }

    /// Stops the server, lets go of the store, then disposes of it.
    pub async fn stop(self) {
        let DevServer {
            task, app, cleanup, ..
        } = self;
        task.abort();
        let _ = task.await;
        drop(app);
        if let Some(cleanup) = cleanup {
            cleanup.await;
        }
    }

    /// Makes the customer `name` (password `TEST_PASSWORD`); a bearer token
    /// for it, the one login would issue. The user goes straight into the store with
    /// a hash computed once per test process: an argon2id hash costs tens of
    /// milliseconds, the cases make a hundred and more users, and registering
    /// and logging in over HTTP is what the auth cases test.
    pub async fn user(&self, name: &str) -> String {
        self.user_as(name, Role::Customer).await
    }

    /// Runs the operator's role change (`local admin grant|revoke`) against
    /// this server's store.
    pub async fn set_role(&self, name: &str, role: Role) -> Result<(), String> {
        local::admin::set_role(&self.app.config, name, role)
            .await
            .map(drop)
    }

    /// Makes the user `name` and grants it the admin role as the operator's
    /// command does (`UserRepo::set_user_role`); an admin's bearer token.
    pub async fn admin(&self, name: &str) -> String {
        self.user_as(name, Role::Admin).await
    }

    async fn user_as(&self, name: &str, role: Role) -> String {
        static HASH: OnceCell<String> = OnceCell::const_new();
        let hash = HASH
            .get_or_init(|| async {
                PasswordHasher::new()
                    .hash(TEST_PASSWORD)
                    .await
                    .expect("hash the test password")
            })
            .await;
        let user = self
            .app
            .store
            .register_user(&NewUser {
                username: Username::parse(name).expect("a valid username"),
                password_hash: hash.clone(),
                created_at: Timestamp::now(),
            })
            .await
            .unwrap_or_else(|e| panic!("register {name}: {e:?}"));
        if role != Role::Customer {
            self.app
                .store
                .set_user_role(name, role)
                .await
                .expect("set the role")
                .expect("the user just registered");
        }
        let identity = Identity {
            user_id: user.id,
            username: user.username,
            role,
        };
        self.app
            .tokens
            .issue(&identity, Timestamp::now())
            .await
            .unwrap()
    }

    /// The argon2id hashes this server's auth service has computed.
    pub fn password_hashes_spent(&self) -> u64 {
        self.app.users.password_hashes_spent()
    }

    /// A correctly signed token for `name` that expired an hour ago.
    pub async fn token_expired_for(&self, name: &str) -> String {
        let identity = Identity {
            user_id: 1,
            username: name.into(),
            role: Role::Customer,
        };
        self.app
            .tokens
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

/// Checks the API's error body: `error`, `code`, `timestamp`, `request_id`.
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
