//! The repository contract suite against a DynamoDB-compatible server (moto
//! in the test command, DynamoDB Local works too), each test on its own
//! freshly created table, deleted afterwards. The server comes from
//! `TEST_DYNAMODB_ENDPOINT` (default: the local one the test command ensures);
//! when it is absent the tests fail loudly, they never pass by skipping.

use std::sync::Arc;
use std::time::Duration;

use contract::Harness;
use contract::fresh::dynamodb::{delete_table, endpoint};
use shared::config::{Config, DbConfig, DynamoDbConfig, SecretPolicy};
use shared::error::AppError;
use shared::repo::dynamodb::DynamoDbStore;
use shared::repo::{Bootstrap, ProductRepo, Store};

fn fresh_table_name() -> String {
    contract::fresh::unique_name("contract")
}

async fn harness() -> Harness {
    let endpoint = endpoint();
    let config = DynamoDbConfig {
        table: fresh_table_name(),
        endpoint: Some(endpoint.clone()),
        connect_timeout: Duration::from_secs(2),
        // A local Python server under 32 concurrent callers on a shared
        // machine is far slower than DynamoDB: a generous bound per call.
        operation_timeout: Duration::from_secs(30),
    };
    let store = Arc::new(
        DynamoDbStore::connect(
            &config,
            Bootstrap {
                migrate: true,
                seed: false,
            },
        )
        .await
        .expect("DynamoDB client"),
    );
    // The first call creates the table: it proves the server is there.
    if let Err(e) = store.ping().await {
        panic!(
            "a DynamoDB-compatible server is required at {endpoint} for these tests (TEST_DYNAMODB_ENDPOINT): {e:?}"
        );
    }
    let cleanup_store = store.clone();
    Harness {
        store,
        cleanup: Some(Box::new(move || {
            Box::pin(async move { delete_table(&cleanup_store).await })
        })),
    }
}

contract::contract_cases!(harness);

/// A server that accepts connections and never answers (a hung endpoint)
/// costs a request the default operation timeout, about 2 s, and is a 503,
/// not a 500 and not a hang of the whole Lambda invocation.
#[tokio::test]
async fn a_silent_endpoint_is_unavailable_within_the_default_timeout() {
    // Bound and listening but never accepting: the kernel completes the
    // handshake, the request is sent, no answer ever comes.
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let endpoint = format!("http://{}", silent.local_addr().unwrap());
    let env = [
        ("JWT_SECRET", "0123456789abcdef0123456789abcdef"),
        ("DB_DRIVER", "dynamodb"),
        ("DYNAMODB_TABLE", "commerce"),
        ("DYNAMODB_ENDPOINT", endpoint.as_str()),
    ];
    let config = Config::from_lookup(
        |key| {
            env.iter()
                .find(|(k, _)| *k == key)
                .map(|(_, v)| v.to_string())
        },
        SecretPolicy::Required,
    )
    .unwrap();
    let DbConfig::DynamoDb(config) = config.db else {
        panic!("expected the dynamodb driver")
    };
    let store = DynamoDbStore::connect(
        &config,
        Bootstrap {
            migrate: false,
            seed: false,
        },
    )
    .await
    .unwrap();
    let started = std::time::Instant::now();
    let result = store.get_product(1).await;
    let elapsed = started.elapsed();
    assert!(
        matches!(result, Err(AppError::Unavailable(_))),
        "{result:?}"
    );
    assert!(elapsed < Duration::from_secs(3), "took {elapsed:?}");
    drop(silent);
}
