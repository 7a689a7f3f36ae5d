//! The repository contract suite: written once against the traits, run
//! unchanged by every backend's tests against a real server.
//!
//! A backend's test file names a harness (an async function returning a fresh,
//! migrated, unseeded store and its cleanup) and expands
//! `shared::repository_contract_suite!(harness)`.

use std::collections::HashSet;
use std::sync::Arc;

use futures::future::join_all;

use crate::domain::{
    Identity, InvoiceItem, InvoiceStatus, MAX_ID, Money, NewInvoice, NewOrder, NewProduct, NewUser,
    OrderItem, PageRequest, ProductPatch, Quantity, Role, StatusChange, Timestamp, Username,
};
use crate::error::AppError;
use crate::repo::Store;
use crate::sample;

/// A database or table name no other test uses, even in parallel processes:
/// `prefix` (checked: `[a-z0-9_]`) then numbers only, so it is safe in SQL text.
pub fn unique_name(prefix: &str) -> String {
    use std::sync::atomic::{AtomicU32, Ordering};
    static COUNTER: AtomicU32 = AtomicU32::new(0);
    assert!(
        prefix
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_'),
        "bad name prefix {prefix}"
    );
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default()
        .subsec_nanos();
    format!(
        "{prefix}_{}_{}_{nanos}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    )
}

#[cfg(feature = "aws-secrets")]
pub mod aws;
pub mod tls;

/// Throwaway PostgreSQL databases on the test server (`TEST_POSTGRES_URL`,
/// default the local one the test command ensures). An absent server is a
/// loud failure: a suite never passes by skipping.
#[cfg(feature = "postgres")]
pub mod postgres {
    use sqlx::Connection;

    pub fn admin_url() -> String {
        std::env::var("TEST_POSTGRES_URL")
            .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into())
    }

    /// Creates a new, empty database; returns its name and URL.
    pub async fn fresh_database(prefix: &str) -> (String, String) {
        let name = super::unique_name(prefix);
        let admin = admin_url();
        let mut conn = sqlx::PgConnection::connect(&admin)
            .await
            .unwrap_or_else(|e| panic!("PostgreSQL is required at {admin} for these tests: {e}"));
        sqlx::raw_sql(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
            .execute(&mut conn)
            .await
            .expect("create database");
        let base = admin
            .rsplit_once('/')
            .map(|(base, _)| base)
            .unwrap_or(&admin)
            .to_owned();
        (name.clone(), format!("{base}/{name}"))
    }

    /// Drops a database made by `fresh_database`, closing its connections.
    pub async fn drop_database(name: &str) {
        if let Ok(mut conn) = sqlx::PgConnection::connect(&admin_url()).await {
            let _ = sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
                "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
            )))
            .execute(&mut conn)
            .await;
        }
    }
}

/// Throwaway ClickHouse databases on the test server (`TEST_CLICKHOUSE_URL`,
/// default the local one the test command ensures).
#[cfg(feature = "clickhouse")]
pub mod clickhouse {
    use std::time::Duration;

    pub fn server_url() -> String {
        std::env::var("TEST_CLICKHOUSE_URL").unwrap_or_else(|_| "http://127.0.0.1:8123".into())
    }

    /// Drops a database made for a test (the name comes from `unique_name`).
    pub async fn drop_database(name: &str) {
        let _ = reqwest::Client::new()
            .post(server_url())
            .timeout(Duration::from_secs(10))
            .body(format!("DROP DATABASE IF EXISTS {name}"))
            .send()
            .await;
    }
}

/// A fresh store for one test, and how to dispose of it.
pub struct Harness {
    pub store: Arc<dyn Store>,
    pub cleanup: Option<Box<dyn FnOnce() -> futures::future::BoxFuture<'static, ()> + Send>>,
}

impl Harness {
    pub async fn finish(self) {
        if let Some(cleanup) = self.cleanup {
            cleanup().await;
        }
    }
}

/// Expands to one `#[tokio::test]` per contract case, each on a fresh store
/// from `$harness().await`.
#[macro_export]
macro_rules! repository_contract_suite {
    ($harness:path) => {
        $crate::repository_contract_suite!(@cases $harness;
            registration_is_unique_case_insensitively,
            concurrent_registrations_have_one_winner,
            products_page_in_id_order_and_filter_by_category,
            product_updates_are_partial,
            catalog_is_seeded_once,
            concurrent_seeding_seeds_once,
            orders_are_stored_whole_and_listed_per_owner,
            order_lists_paginate_newest_first,
            one_invoice_per_order_under_concurrent_creators,
            invoices_are_found_by_id_order_and_owner,
            status_moves_are_compare_and_set,
            concurrent_status_moves_have_one_winner,
            ids_are_positive_and_below_2_pow_53,
        );
    };
    (@cases $harness:path; $($case:ident),* $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn $case() {
                let harness = $harness().await;
                $crate::testkit::$case(harness.store.clone()).await;
                harness.finish().await;
            }
        )*
    };
}

fn now() -> Timestamp {
    Timestamp::now()
}

async fn user(store: &Arc<dyn Store>, name: &str) -> Identity {
    let user = store
        .register_user(&NewUser {
            username: Username::parse(name).unwrap(),
            password_hash: "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$aGFzaGhhc2g".into(),
            created_at: now(),
        })
        .await
        .expect("register");
    Identity {
        user_id: user.id,
        username: user.username,
        role: Role::Customer,
    }
}

fn new_product(name: &str, category: &str, cents: i64) -> NewProduct {
    NewProduct {
        name: name.into(),
        description: format!("{name} description"),
        price: Money::from_cents(cents),
        category: category.into(),
        in_stock: true,
        created_at: now(),
    }
}

fn new_order(owner: &Identity, product_id: i64, quantity: u32, unit_cents: i64) -> NewOrder {
    let unit = Money::from_cents(unit_cents);
    let total = unit.checked_mul(quantity).unwrap();
    NewOrder {
        user_id: owner.user_id,
        username: owner.username.clone(),
        items: vec![OrderItem {
            product_id,
            product_name: "Thing".into(),
            quantity: Quantity::new(i64::from(quantity)).unwrap(),
            unit_price: unit,
            total,
        }],
        subtotal: total,
        tax: total.percent_bps(1000),
        total: total.checked_add(total.percent_bps(1000)).unwrap(),
        created_at: now(),
    }
}

fn new_invoice(order: &crate::domain::Order) -> NewInvoice {
    NewInvoice {
        order_id: order.order_id,
        user_id: order.user_id,
        username: order.username.clone(),
        items: order
            .items
            .iter()
            .map(|i| InvoiceItem {
                product_id: i.product_id,
                product_name: i.product_name.clone(),
                description: "desc".into(),
                quantity: i.quantity.get(),
                unit_price: i.unit_price,
                total_price: i.total,
            })
            .collect(),
        subtotal: order.subtotal,
        tax: order.tax,
        total: order.total,
        created_at: now(),
        due_date: now().plus_days(30),
    }
}

async fn invoiced_order(store: &Arc<dyn Store>, owner: &Identity) -> crate::domain::Invoice {
    let product = store
        .create_product(&new_product("Thing", "misc", 1000))
        .await
        .unwrap();
    let order = store
        .place_order(&new_order(owner, product.product_id, 1, 1000))
        .await
        .unwrap();
    store
        .create_invoice_once(&new_invoice(&order))
        .await
        .unwrap()
        .0
}

fn change(from: InvoiceStatus, to: InvoiceStatus, by: i64) -> StatusChange {
    StatusChange {
        from,
        to,
        changed_by: by,
        changed_at: now(),
    }
}

pub async fn registration_is_unique_case_insensitively(store: Arc<dyn Store>) {
    let alice = user(&store, "Alice").await;
    let again = store
        .register_user(&NewUser {
            username: Username::parse("aLiCe").unwrap(),
            password_hash: "x".into(),
            created_at: now(),
        })
        .await;
    assert!(matches!(again, Err(AppError::UsernameTaken)), "{again:?}");
    let found = store
        .find_user_by_username("ALICE")
        .await
        .unwrap()
        .expect("found case-insensitively");
    assert_eq!(
        (found.user.id, found.user.username.as_str()),
        (alice.user_id, "Alice")
    );
    assert!(found.password_hash.starts_with("$argon2id$"));
    assert!(store.find_user_by_username("bob").await.unwrap().is_none());
}

pub async fn concurrent_registrations_have_one_winner(store: Arc<dyn Store>) {
    let attempts = (0..32).map(|i| {
        let store = store.clone();
        let name = if i % 2 == 0 { "racer" } else { "RACER" };
        tokio::spawn(async move {
            store
                .register_user(&NewUser {
                    username: Username::parse(name).unwrap(),
                    password_hash: "h".into(),
                    created_at: now(),
                })
                .await
        })
    });
    let results: Vec<_> = join_all(attempts)
        .await
        .into_iter()
        .map(|r| r.unwrap())
        .collect();
    let winners = results.iter().filter(|r| r.is_ok()).count();
    let taken = results
        .iter()
        .filter(|r| matches!(r, Err(AppError::UsernameTaken)))
        .count();
    assert_eq!((winners, taken), (1, 31), "{results:?}");
}

pub async fn products_page_in_id_order_and_filter_by_category(store: Arc<dyn Store>) {
    let mut ids = Vec::new();
    for (i, category) in ["books", "tools", "books", "books", "tools"]
        .iter()
        .enumerate()
    {
        let p = store
            .create_product(&new_product(&format!("P{i}"), category, 100 + i as i64))
            .await
            .unwrap();
        assert_eq!(
            (p.category.as_str(), p.price.cents(), p.in_stock),
            (*category, 100 + i as i64, true)
        );
        ids.push(p.product_id);
    }
    assert!(ids.windows(2).all(|w| w[0] < w[1]), "ids increase: {ids:?}");

    let mut seen = Vec::new();
    let mut page = PageRequest::first(2);
    loop {
        let result = store.list_products(None, page).await.unwrap();
        assert!(result.items.len() <= 2);
        seen.extend(result.items.iter().map(|p| p.product_id));
        match result.next_after {
            Some(after) => {
                page = PageRequest {
                    limit: 2,
                    after: Some(after),
                }
            }
            None => break,
        }
    }
    assert_eq!(seen, ids);

    let books = store
        .list_products(Some("books"), PageRequest::first(50))
        .await
        .unwrap();
    assert_eq!(
        books.items.iter().map(|p| p.product_id).collect::<Vec<_>>(),
        vec![ids[0], ids[2], ids[3]]
    );
    assert_eq!(books.next_after, None);
    assert!(
        store
            .list_products(Some("nothing"), PageRequest::first(50))
            .await
            .unwrap()
            .items
            .is_empty()
    );

    let mut some = store
        .get_products(&[ids[3], ids[0], ids[4] + 1000])
        .await
        .unwrap();
    some.sort_by_key(|p| p.product_id);
    assert_eq!(
        some.iter().map(|p| p.product_id).collect::<Vec<_>>(),
        vec![ids[0], ids[3]],
        "missing ids are skipped"
    );
    assert!(store.get_products(&[]).await.unwrap().is_empty());

    let got = store.get_product(ids[1]).await.unwrap().unwrap();
    assert_eq!(got.name, "P1");
    assert!(store.get_product(ids[4] + 1000).await.unwrap().is_none());
}

pub async fn product_updates_are_partial(store: Arc<dyn Store>) {
    let p = store
        .create_product(&new_product("Lamp", "home", 2500))
        .await
        .unwrap();
    let later = Timestamp::from_unix(p.created_at.unix() + 5);
    let patch = ProductPatch {
        price: Some(Money::from_cents(1999)),
        in_stock: Some(false),
        updated_at: Some(later),
        ..Default::default()
    };
    let updated = store
        .update_product(p.product_id, &patch)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (updated.name.as_str(), updated.category.as_str()),
        ("Lamp", "home")
    );
    assert_eq!((updated.price.cents(), updated.in_stock), (1999, false));
    assert_eq!(
        (updated.created_at, updated.updated_at),
        (p.created_at, later)
    );
    assert_eq!(
        store.get_product(p.product_id).await.unwrap().unwrap(),
        updated
    );
    assert!(
        store
            .update_product(p.product_id + 1000, &patch)
            .await
            .unwrap()
            .is_none()
    );
}

pub async fn catalog_is_seeded_once(store: Arc<dyn Store>) {
    let catalog = sample::catalog(now());
    assert!(store.seed_catalog(&catalog).await.unwrap());
    assert!(!store.seed_catalog(&catalog).await.unwrap());
    let all = store
        .list_products(None, PageRequest::first(200))
        .await
        .unwrap()
        .items;
    assert_eq!(all.len(), catalog.len());
    assert!(
        all.iter().any(|p| !p.in_stock),
        "at least one sample is out of stock"
    );
}

pub async fn concurrent_seeding_seeds_once(store: Arc<dyn Store>) {
    let catalog = sample::catalog(now());
    let seeders = (0..8).map(|_| {
        let store = store.clone();
        let catalog = catalog.clone();
        tokio::spawn(async move { store.seed_catalog(&catalog).await })
    });
    let results: Vec<bool> = join_all(seeders)
        .await
        .into_iter()
        .map(|r| r.unwrap().unwrap())
        .collect();
    assert_eq!(
        results.iter().filter(|seeded| **seeded).count(),
        1,
        "{results:?}"
    );
    let all = store
        .list_products(None, PageRequest::first(200))
        .await
        .unwrap()
        .items;
    assert_eq!(all.len(), catalog.len());
}

pub async fn orders_are_stored_whole_and_listed_per_owner(store: Arc<dyn Store>) {
    let alice = user(&store, "alice").await;
    let bob = user(&store, "bob").await;
    let p = store
        .create_product(&new_product("Pen", "office", 150))
        .await
        .unwrap();
    let mut order = new_order(&alice, p.product_id, 3, 150);
    order.items.push(OrderItem {
        product_id: p.product_id + 1,
        product_name: "Other".into(),
        quantity: Quantity::new(2).unwrap(),
        unit_price: Money::from_cents(10),
        total: Money::from_cents(20),
    });
    let placed = store.place_order(&order).await.unwrap();
    assert_eq!(placed.items, order.items);
    assert_eq!(
        (placed.subtotal, placed.tax, placed.total),
        (order.subtotal, order.tax, order.total)
    );
    assert_eq!(
        (
            placed.user_id,
            placed.username.as_str(),
            placed.status.as_str()
        ),
        (alice.user_id, "alice", "pending")
    );
    assert_eq!(
        store.get_order(placed.order_id).await.unwrap().unwrap(),
        placed
    );
    assert!(
        store
            .get_order(placed.order_id + 1000)
            .await
            .unwrap()
            .is_none()
    );

    store
        .place_order(&new_order(&bob, p.product_id, 1, 150))
        .await
        .unwrap();
    let alices = store
        .list_orders_by_user(alice.user_id, PageRequest::first(50))
        .await
        .unwrap();
    assert_eq!(
        alices.items.iter().map(|o| o.order_id).collect::<Vec<_>>(),
        vec![placed.order_id]
    );
}

pub async fn order_lists_paginate_newest_first(store: Arc<dyn Store>) {
    let alice = user(&store, "alice").await;
    let mut ids = Vec::new();
    for _ in 0..5 {
        ids.push(
            store
                .place_order(&new_order(&alice, 1, 1, 100))
                .await
                .unwrap()
                .order_id,
        );
    }
    ids.reverse();
    let mut seen = Vec::new();
    let mut page = PageRequest::first(2);
    loop {
        let result = store
            .list_orders_by_user(alice.user_id, page)
            .await
            .unwrap();
        seen.extend(result.items.iter().map(|o| o.order_id));
        match result.next_after {
            Some(after) => {
                page = PageRequest {
                    limit: 2,
                    after: Some(after),
                }
            }
            None => break,
        }
    }
    assert_eq!(seen, ids);
}

pub async fn one_invoice_per_order_under_concurrent_creators(store: Arc<dyn Store>) {
    let alice = user(&store, "alice").await;
    let order = store
        .place_order(&new_order(&alice, 1, 2, 250))
        .await
        .unwrap();
    let creators = (0..32).map(|_| {
        let store = store.clone();
        let new = new_invoice(&order);
        tokio::spawn(async move { store.create_invoice_once(&new).await })
    });
    let results: Vec<_> = join_all(creators)
        .await
        .into_iter()
        .map(|r| r.unwrap().unwrap())
        .collect();
    let ids: HashSet<i64> = results.iter().map(|(inv, _)| inv.invoice_id).collect();
    assert_eq!(ids.len(), 1, "one invoice: {ids:?}");
    assert_eq!(results.iter().filter(|(_, created)| *created).count(), 1);
    let invoice = &results[0].0;
    assert_eq!(
        (invoice.order_id, invoice.status),
        (order.order_id, InvoiceStatus::Draft)
    );
    assert_eq!(
        (invoice.subtotal, invoice.tax, invoice.total),
        (order.subtotal, order.tax, order.total)
    );
    assert_eq!(invoice.items.len(), 1);
    assert_eq!(invoice.items[0].total_price, Money::from_cents(500));
    assert!(invoice.status_history.is_empty());
    let listed = store
        .list_invoices_by_user(alice.user_id, PageRequest::first(50))
        .await
        .unwrap();
    assert_eq!(listed.items.len(), 1);
}

pub async fn invoices_are_found_by_id_order_and_owner(store: Arc<dyn Store>) {
    let alice = user(&store, "alice").await;
    let bob = user(&store, "bob").await;
    let first = invoiced_order(&store, &alice).await;
    let second = invoiced_order(&store, &alice).await;
    let bobs = invoiced_order(&store, &bob).await;
    assert_eq!(
        store.get_invoice(first.invoice_id).await.unwrap().unwrap(),
        first
    );
    assert_eq!(
        store
            .get_invoice_by_order(second.order_id)
            .await
            .unwrap()
            .unwrap(),
        second
    );
    assert!(
        store
            .get_invoice(bobs.invoice_id + 1000)
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        store
            .get_invoice_by_order(bobs.order_id + 1000)
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        first.invoice_number.starts_with("INV-") && first.invoice_number != second.invoice_number
    );
    let alices = store
        .list_invoices_by_user(alice.user_id, PageRequest::first(1))
        .await
        .unwrap();
    assert_eq!(
        alices
            .items
            .iter()
            .map(|i| i.invoice_id)
            .collect::<Vec<_>>(),
        vec![second.invoice_id]
    );
    let rest = store
        .list_invoices_by_user(
            alice.user_id,
            PageRequest {
                limit: 1,
                after: alices.next_after,
            },
        )
        .await
        .unwrap();
    assert_eq!(
        rest.items.iter().map(|i| i.invoice_id).collect::<Vec<_>>(),
        vec![first.invoice_id]
    );
    assert_eq!(rest.next_after, None);
}

pub async fn status_moves_are_compare_and_set(store: Arc<dyn Store>) {
    let alice = user(&store, "alice").await;
    let invoice = invoiced_order(&store, &alice).await;
    use InvoiceStatus::*;
    let sent = store
        .transition_invoice(invoice.invoice_id, &change(Draft, Sent, alice.user_id))
        .await
        .unwrap();
    let sent = sent.expect("draft -> sent applies");
    assert_eq!(sent.status, Sent);
    assert_eq!(sent.status_history.len(), 1);
    assert_eq!(
        (sent.status_history[0].from, sent.status_history[0].to),
        (Draft, Sent)
    );
    assert_eq!(sent.status_history[0].changed_by, alice.user_id);
    // The old status no longer holds: nothing is written.
    assert!(
        store
            .transition_invoice(invoice.invoice_id, &change(Draft, Paid, 1))
            .await
            .unwrap()
            .is_none()
    );
    assert_eq!(
        store
            .get_invoice(invoice.invoice_id)
            .await
            .unwrap()
            .unwrap(),
        sent
    );
    assert!(
        store
            .transition_invoice(invoice.invoice_id + 1000, &change(Draft, Sent, 1))
            .await
            .unwrap()
            .is_none()
    );
}

pub async fn concurrent_status_moves_have_one_winner(store: Arc<dyn Store>) {
    let alice = user(&store, "alice").await;
    let invoice = invoiced_order(&store, &alice).await;
    use InvoiceStatus::*;
    store
        .transition_invoice(invoice.invoice_id, &change(Draft, Sent, 1))
        .await
        .unwrap()
        .unwrap();
    let movers = (0..32).map(|i| {
        let store = store.clone();
        let to = if i % 2 == 0 { Paid } else { Cancelled };
        tokio::spawn(async move {
            (
                to,
                store
                    .transition_invoice(invoice.invoice_id, &change(Sent, to, i))
                    .await,
            )
        })
    });
    let results: Vec<_> = join_all(movers)
        .await
        .into_iter()
        .map(|r| r.unwrap())
        .collect();
    let winners: Vec<_> = results
        .iter()
        .filter_map(|(to, r)| r.as_ref().unwrap().as_ref().map(|inv| (*to, inv)))
        .collect();
    assert_eq!(winners.len(), 1, "exactly one compare-and-set wins");
    let (to, won) = winners[0];
    let stored = store
        .get_invoice(invoice.invoice_id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!((stored.status, won.status), (to, to));
    assert_eq!(
        stored.status_history.len(),
        2,
        "no lost or extra history: {:?}",
        stored.status_history
    );
}

pub async fn ids_are_positive_and_below_2_pow_53(store: Arc<dyn Store>) {
    let alice = user(&store, "alice").await;
    let invoice = invoiced_order(&store, &alice).await;
    for id in [
        alice.user_id,
        invoice.invoice_id,
        invoice.order_id,
        invoice.items[0].product_id,
    ] {
        assert!((1..=MAX_ID).contains(&id), "{id}");
    }
}
