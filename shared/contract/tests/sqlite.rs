//! The repository contract suite against the embedded SQLite backend, each test
//! on its own database file in a temporary folder.

use std::sync::Arc;

use contract::Harness;
use shared::repo::Bootstrap;
use shared::repo::sqlite::SqliteStore;

async fn harness() -> Harness {
    let dir = tempfile::tempdir().expect("temporary folder");
    let store = SqliteStore::open(
        &dir.path().join("contract.db"),
        Bootstrap {
            migrate: true,
            seed: false,
        },
    )
    .await
    .expect("open SQLite store");
    Harness {
        store: Arc::new(store),
        cleanup: Some(Box::new(move || Box::pin(async move { drop(dir) }))),
    }
}

contract::contract_cases!(harness);

/// Cases for what only the SQL stores do: enforce foreign keys, and take
/// `Idempotency-Key`s in the unit of work that creates.
mod sql_only {
    contract::contract_cases!(@groups crate::harness;
        idempotency {
                a_refused_keyed_order_leaves_nothing_behind,
                the_creating_unit_of_work_takes_a_free_key,
                concurrent_creators_taking_one_key_make_one_order,
            }
    );
}

/// Two processes starting at once on one new file: both migrate safely.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_opens_migrate_once() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("race.db");
    let opens = (0..4).map(|_| {
        let path = path.clone();
        tokio::spawn(async move {
            SqliteStore::open(
                &path,
                Bootstrap {
                    migrate: true,
                    seed: true,
                },
            )
            .await
        })
    });
    for result in futures::future::join_all(opens).await {
        result.unwrap().expect("every concurrent open succeeds");
    }
    let store = SqliteStore::open(
        &path,
        Bootstrap {
            migrate: true,
            seed: true,
        },
    )
    .await
    .unwrap();
    let products = shared::repo::ProductRepo::list_products(
        &store,
        None,
        shared::domain::PageRequest::first(200),
    )
    .await
    .unwrap();
    assert_eq!(
        products.items.len(),
        shared::sample::catalog(shared::domain::Timestamp::now()).len()
    );
}
