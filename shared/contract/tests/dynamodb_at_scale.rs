//! The DynamoDB backend's design for scale, against a DynamoDB-compatible
//! server (moto in the test command): many products by id in batches of 100,
//! lists merged from their index shards, and data written by the previous
//! version (ids from one counter item, every product in the one `PRODUCTS`
//! and `CATEGORY#<category>` partitions) still read, listed and updated.
//! Each test runs on its own fresh table, deleted afterwards. The server comes
//! from `TEST_DYNAMODB_ENDPOINT` (default: the local one the test command
//! ensures); when it is absent the tests fail, they never pass by skipping.

use std::collections::HashMap;
use std::future::Future;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use aws_sdk_dynamodb::types::AttributeValue;
use futures::{FutureExt, StreamExt, TryStreamExt, stream};
use shared::config::DynamoDbConfig;
use shared::domain::{
    Money, NewOrder, NewProduct, NewUser, OrderItem, PageRequest, Product, ProductPatch, Quantity,
    Timestamp, Username,
};
use shared::error::AppError;
use shared::repo::dynamodb::DynamoDbStore;
use shared::repo::{Bootstrap, OrderRepo, ProductRepo, Store, UserRepo};

/// Runs `test` on a store over a fresh table, then deletes the table (also
/// when the test panics).
async fn with_store<F, Fut>(test: F)
where
    F: FnOnce(DynamoDbStore) -> Fut,
    Fut: Future<Output = ()>,
{
    let endpoint =
        std::env::var("TEST_DYNAMODB_ENDPOINT").unwrap_or_else(|_| "http://127.0.0.1:8000".into());
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    let config = DynamoDbConfig {
        table: format!("scale-{}-{nanos}", std::process::id()),
        endpoint: Some(endpoint.clone()),
        connect_timeout: Duration::from_secs(2),
        // A local Python server on a shared machine is far slower than DynamoDB.
        operation_timeout: Duration::from_secs(30),
    };
    let bootstrap = Bootstrap {
        migrate: true,
        seed: false,
    };
    let store = DynamoDbStore::connect(&config, bootstrap).await.unwrap();
    if let Err(e) = store.ping().await {
        panic!("a DynamoDB-compatible server is required at {endpoint}: {e:?}");
    }
    let cleanup = DynamoDbStore::connect(&config, bootstrap).await.unwrap();
    let outcome = std::panic::AssertUnwindSafe(test(store))
        .catch_unwind()
        .await;
    let client = cleanup.client().await.unwrap();
    let deleted = client
        .delete_table()
        .table_name(cleanup.table())
        .send()
        .await;
    if let Err(e) = deleted {
        eprintln!("could not delete test table {}: {e:?}", cleanup.table());
    }
    if let Err(panic) = outcome {
        std::panic::resume_unwind(panic);
    }
}

fn product(name: &str, category: &str) -> NewProduct {
    NewProduct {
        name: name.into(),
        description: format!("{name} description"),
        price: Money::from_cents(1250),
        category: category.into(),
        in_stock: true,
        created_at: Timestamp::now(),
    }
}

/// Every product of the list (or of one category), page by page.
async fn list_all(store: &DynamoDbStore, category: Option<&str>, limit: u32) -> Vec<i64> {
    let mut seen = Vec::new();
    let mut page = PageRequest::first(limit);
    loop {
        let result = store.list_products(category, page).await.unwrap();
        assert!(result.items.len() <= limit as usize);
        seen.extend(result.items.iter().map(|p| p.product_id));
        match result.next_after {
            Some(after) => {
                page = PageRequest {
                    limit,
                    after: Some(after),
                }
            }
            None => return seen,
        }
    }
}

#[tokio::test]
async fn many_products_by_id_in_batches_and_lists_merged_from_the_shards() {
    with_store(|store| async move {
        // 230 products, created 8 at a time: more than two batches of 100.
        let created: Vec<Product> = stream::iter(0..230)
            .map(|i| {
                let store = &store;
                async move {
                    let category = if i % 3 == 0 { "books" } else { "tools" };
                    store
                        .create_product(&product(&format!("P{i}"), category))
                        .await
                }
            })
            .buffer_unordered(8)
            .try_collect()
            .await
            .unwrap();
        let mut ids: Vec<i64> = created.iter().map(|p| p.product_id).collect();
        ids.sort_unstable();
        ids.dedup();
        assert_eq!(ids.len(), 230, "ids are unique");

        // All of them, repeated ids and missing ones mixed in: each found once.
        let mut asked: Vec<i64> = ids.iter().rev().copied().collect();
        asked.extend(&ids[..20]);
        asked.extend([ids[229] + 1, ids[229] + 2]);
        let mut found: Vec<i64> = store
            .get_products(&asked)
            .await
            .unwrap()
            .iter()
            .map(|p| p.product_id)
            .collect();
        found.sort_unstable();
        assert_eq!(found, ids);
        let some = store.get_products(&ids[100..105]).await.unwrap();
        assert_eq!(some.len(), 5);
        assert!(some.iter().all(|p| p.price == Money::from_cents(1250)));
        assert!(store.get_products(&[]).await.unwrap().is_empty());

        // The list and a category, in ascending id order across the shards,
        // in pages smaller and larger than a shard's share.
        assert_eq!(list_all(&store, None, 7).await, ids);
        assert_eq!(list_all(&store, None, 200).await, ids);
        let books: Vec<i64> = created
            .iter()
            .filter(|p| p.category == "books")
            .map(|p| p.product_id)
            .collect::<std::collections::BTreeSet<_>>()
            .into_iter()
            .collect();
        assert_eq!(list_all(&store, Some("books"), 9).await, books);
    })
    .await;
}

fn s(value: &str) -> AttributeValue {
    AttributeValue::S(value.into())
}

fn n(value: i64) -> AttributeValue {
    AttributeValue::N(value.to_string())
}

/// Items exactly as the previous version wrote them: ids 1 to 3 from the
/// counter item, every product in the unsharded index partitions, and a user
/// with one order.
async fn write_previous_version_items(store: &DynamoDbStore) {
    let at = Timestamp::now().unix();
    let mut items: Vec<HashMap<String, AttributeValue>> = Vec::new();
    for (id, category) in [(1, "books"), (2, "tools"), (3, "books")] {
        items.push(HashMap::from([
            ("PK".into(), s(&format!("PRODUCT#{id}"))),
            ("SK".into(), s("PRODUCT")),
            ("GSI1PK".into(), s("PRODUCTS")),
            ("GSI1SK".into(), n(id)),
            ("GSI2PK".into(), s(&format!("CATEGORY#{category}"))),
            ("GSI2SK".into(), n(id)),
            ("id".into(), n(id)),
            ("name".into(), s(&format!("Old {id}"))),
            ("description".into(), s("from the previous version")),
            ("price_cents".into(), n(500 + id)),
            ("category".into(), s(category)),
            ("in_stock".into(), AttributeValue::Bool(true)),
            ("created_at".into(), n(at)),
            ("updated_at".into(), n(at)),
        ]));
    }
    for kind in ["PRODUCT", "USER", "ORDER"] {
        let last = if kind == "PRODUCT" { 3 } else { 1 };
        items.push(HashMap::from([
            ("PK".into(), s("COUNTER")),
            ("SK".into(), s(kind)),
            ("n".into(), n(last)),
        ]));
    }
    items.push(HashMap::from([
        ("PK".into(), s("USERNAME#olduser")),
        ("SK".into(), s("USERNAME")),
        ("user_id".into(), n(1)),
    ]));
    items.push(HashMap::from([
        ("PK".into(), s("USER#1")),
        ("SK".into(), s("USER")),
        ("id".into(), n(1)),
        ("username".into(), s("olduser")),
        (
            "password_hash".into(),
            s("$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$aGFzaGhhc2g"),
        ),
        ("created_at".into(), n(at)),
    ]));
    items.push(HashMap::from([
        ("PK".into(), s("ORDER#1")),
        ("SK".into(), s("ORDER")),
        ("GSI1PK".into(), s("USER#1#ORDERS")),
        ("GSI1SK".into(), n(1)),
        ("id".into(), n(1)),
        ("user_id".into(), n(1)),
        ("username".into(), s("olduser")),
        (
            "items".into(),
            s(r#"[{"product_id":1,"product_name":"Old 1","quantity":1,"unit_price_cents":501,"total_cents":501}]"#),
        ),
        ("subtotal_cents".into(), n(501)),
        ("tax_cents".into(), n(50)),
        ("total_cents".into(), n(551)),
        ("status".into(), s("pending")),
        ("created_at".into(), n(at)),
    ]));
    let client = store.client().await.unwrap();
    for item in items {
        client
            .put_item()
            .table_name(store.table())
            .set_item(Some(item))
            .send()
            .await
            .unwrap();
    }
}

#[tokio::test]
async fn data_of_the_previous_version_is_read_listed_and_updated() {
    with_store(|store| async move {
        write_previous_version_items(&store).await;
        let new_book = store
            .create_product(&product("New", "books"))
            .await
            .unwrap();
        assert!(new_book.product_id > 3, "new ids are above the counter's");

        // Old products list first, in the same list as new ones.
        assert_eq!(
            list_all(&store, None, 2).await,
            vec![1, 2, 3, new_book.product_id]
        );
        assert_eq!(
            list_all(&store, Some("books"), 50).await,
            vec![1, 3, new_book.product_id]
        );
        let mut found: Vec<i64> = store
            .get_products(&[3, new_book.product_id, 1])
            .await
            .unwrap()
            .iter()
            .map(|p| p.product_id)
            .collect();
        found.sort_unstable();
        assert_eq!(found, vec![1, 3, new_book.product_id]);

        // An old product moved to another category is listed there, once.
        let patch = ProductPatch {
            category: Some("tools".into()),
            ..ProductPatch::default()
        };
        let moved = store.update_product(3, &patch).await.unwrap().unwrap();
        assert_eq!((moved.product_id, moved.name.as_str()), (3, "Old 3"));
        assert_eq!(list_all(&store, Some("tools"), 50).await, vec![2, 3]);
        assert_eq!(
            list_all(&store, Some("books"), 50).await,
            vec![1, new_book.product_id]
        );

        // The old user: still found by name, the name still taken, and a new
        // order lists before the old one.
        let old = store
            .find_user_by_username("OldUser")
            .await
            .unwrap()
            .unwrap();
        assert_eq!(old.user.id, 1);
        let again = NewUser {
            username: Username::parse("olduser").unwrap(),
            password_hash: "irrelevant".into(),
            created_at: Timestamp::now(),
        };
        assert!(matches!(
            store.register_user(&again).await,
            Err(AppError::UsernameTaken)
        ));
        let line = OrderItem {
            product_id: 2,
            product_name: "Old 2".into(),
            quantity: Quantity::new(1).unwrap(),
            unit_price: Money::from_cents(502),
            total: Money::from_cents(502),
        };
        let placed = store
            .place_order(
                &NewOrder {
                    user_id: 1,
                    username: "olduser".into(),
                    items: vec![line],
                    subtotal: Money::from_cents(502),
                    tax: Money::from_cents(50),
                    total: Money::from_cents(552),
                    created_at: Timestamp::now(),
                },
                None,
            )
            .await
            .unwrap();
        let orders = store
            .list_orders_by_user(1, PageRequest::first(10))
            .await
            .unwrap();
        assert_eq!(
            orders.items.iter().map(|o| o.order_id).collect::<Vec<_>>(),
            vec![placed.order_id, 1]
        );
        assert_eq!(orders.items[1].total, Money::from_cents(551));
    })
    .await;
}
