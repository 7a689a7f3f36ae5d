//! A DynamoDB transaction that committed but whose response was lost on the
//! way back: the SDK retries it, and the retry must not turn into an error
//! (its own writes' conditions would cancel a second run: "username taken",
//! "key in use"). Every transaction carries a ClientRequestToken that the
//! retry repeats, and DynamoDB answers a repeated token with the first
//! success; the test command's moto does the same (moto_serial.py).
//!
//! A TCP proxy between the store and the server forwards everything, except
//! that it swallows the response to one armed TransactWriteItems request and
//! closes that connection: the server has committed, the client sees a
//! dropped connection. Each case checks the proxy did drop a response, so it
//! cannot pass without the lost response having happened.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use shared::config::DynamoDbConfig;
use shared::domain::{
    IdemClaim, IdemFinish, IdempotencyKey, NewUser, Order, PageRequest, StoredResponse, Timestamp,
    Username,
};
use shared::repo::dynamodb::DynamoDbStore;
use shared::repo::{Bootstrap, IdempotencyRepo, OrderRepo, ProductRepo, Store, UserRepo};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// The proxy's switch: armed until a TransactWriteItems request passes.
#[derive(Default)]
struct Loss {
    armed: AtomicBool,
}

/// Starts the proxy in front of `upstream` (host:port); its address.
async fn lossy_proxy(upstream: String, loss: Arc<Loss>) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap().to_string();
    tokio::spawn(async move {
        while let Ok((client, _)) = listener.accept().await {
            let upstream = upstream.clone();
            let loss = loss.clone();
            tokio::spawn(async move {
                if let Ok(server) = TcpStream::connect(&upstream).await {
                    relay(client, server, loss).await;
                }
            });
        }
    });
    address
}

/// Relays one connection both ways. When a TransactWriteItems request passes
/// while armed, the next bytes of response are swallowed and both sides closed.
async fn relay(client: TcpStream, server: TcpStream, loss: Arc<Loss>) {
    let (mut client_rx, mut client_tx) = client.into_split();
    let (mut server_rx, mut server_tx) = server.into_split();
    let victim = Arc::new(AtomicBool::new(false));
    let marks = victim.clone();
    let upward = tokio::spawn(async move {
        let mut buf = vec![0u8; 64 * 1024];
        loop {
            let n = match client_rx.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(n) => n,
            };
            let chunk = &buf[..n];
            if contains(chunk, b"TransactWriteItems") && loss.armed.swap(false, Ordering::SeqCst) {
                marks.store(true, Ordering::SeqCst);
            }
            if server_tx.write_all(chunk).await.is_err() {
                return;
            }
        }
    });
    let loss_down = victim;
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let n = match server_rx.read(&mut buf).await {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        if loss_down.load(Ordering::SeqCst) {
            // The server answered, so it committed: lose the answer.
            DROPPED.fetch_add(1, Ordering::SeqCst);
            break;
        }
        if client_tx.write_all(&buf[..n]).await.is_err() {
            break;
        }
    }
    upward.abort();
    let _ = client_tx.shutdown().await;
}

/// Responses swallowed, across the process (each case reads its own delta).
static DROPPED: AtomicUsize = AtomicUsize::new(0);

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

/// A store over a fresh table, reached through the lossy proxy.
async fn store_behind_proxy(loss: Arc<Loss>) -> (DynamoDbStore, DynamoDbStore) {
    let endpoint =
        std::env::var("TEST_DYNAMODB_ENDPOINT").unwrap_or_else(|_| "http://127.0.0.1:8000".into());
    let upstream = endpoint
        .trim_start_matches("http://")
        .trim_end_matches('/')
        .to_owned();
    let proxy = lossy_proxy(upstream, loss).await;
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    let config = |endpoint: String| DynamoDbConfig {
        table: format!("lost-{}-{nanos}", std::process::id()),
        endpoint: Some(endpoint),
        connect_timeout: Duration::from_secs(2),
        operation_timeout: Duration::from_secs(30),
    };
    let bootstrap = Bootstrap {
        migrate: true,
        seed: false,
    };
    // The direct store creates the table (and deletes it afterwards).
    let direct = DynamoDbStore::connect(&config(endpoint), bootstrap)
        .await
        .unwrap();
    direct
        .ping()
        .await
        .expect("the DynamoDB test server answers");
    let proxied = DynamoDbStore::connect(&config(format!("http://{proxy}")), bootstrap)
        .await
        .unwrap();
    (direct, proxied)
}

/// Runs `write` with the proxy armed; asserts it swallowed exactly one response.
async fn with_one_lost_response<T>(loss: &Loss, write: impl Future<Output = T>) -> T {
    let before = DROPPED.load(Ordering::SeqCst);
    loss.armed.store(true, Ordering::SeqCst);
    let out = write.await;
    assert!(
        !loss.armed.load(Ordering::SeqCst),
        "no transaction went through the proxy"
    );
    assert_eq!(
        DROPPED.load(Ordering::SeqCst) - before,
        1,
        "the proxy swallowed one response"
    );
    out
}

#[tokio::test]
async fn a_committed_transaction_whose_response_was_lost_succeeds_on_retry() {
    let loss = Arc::new(Loss::default());
    let (direct, store) = store_behind_proxy(loss.clone()).await;

    // Registration: one transaction (the username guard and the user).
    let user = with_one_lost_response(
        &loss,
        store.register_user(&NewUser {
            username: Username::parse("alice").unwrap(),
            password_hash: "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA".into(),
            created_at: Timestamp::now(),
        }),
    )
    .await
    .expect("the retry of a committed registration is a success, not `username taken`");
    let found = direct
        .find_user_by_username("alice")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(found.user.id, user.id, "the one user, registered once");

    // An order under an Idempotency-Key: the order and its remembered
    // response in one transaction.
    let product = direct
        .create_product(&contract::fixtures::new_product("Kettle", "kitchen", 500))
        .await
        .unwrap();
    let owner = shared::domain::Identity {
        user_id: user.id,
        username: user.username.clone(),
        role: shared::domain::Role::Customer,
    };
    let now = Timestamp::now();
    let claim = IdemClaim::new(
        user.id,
        IdempotencyKey::parse("lost-1").unwrap(),
        "fp".into(),
        now,
        Timestamp::from_unix(now.unix() + 30),
    )
    .unwrap();
    assert!(matches!(
        store.claim_idempotency_key(&claim).await.unwrap(),
        shared::domain::ClaimOutcome::Claimed
    ));
    let render = |order: &Order| StoredResponse {
        status: 201,
        body: format!(r#"{{"order_id":{}}}"#, order.order_id),
        location: None,
    };
    let finish = IdemFinish {
        claim: &claim,
        render: &render,
    };
    let new = contract::fixtures::new_order(&owner, product.product_id, 1, 500);
    let order = with_one_lost_response(&loss, store.place_order(&new, Some(&finish)))
        .await
        .expect("the retry of a committed order is a success, not `key in use`");
    let orders = direct
        .list_orders_by_user(user.id, PageRequest::first(10))
        .await
        .unwrap()
        .items;
    assert_eq!(
        orders.iter().map(|o| o.order_id).collect::<Vec<_>>(),
        vec![order.order_id],
        "one order"
    );

    contract::fresh::dynamodb::delete_table(&direct).await;
}
