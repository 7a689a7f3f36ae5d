//! The repository contract suite against a real PostgreSQL server, each test in
//! its own fresh database, dropped afterwards; twice: on a pool (the dev
//! server's shape) and on one held connection (Lambda's, `DB_MAX_CONNECTIONS=1`).

use std::sync::Arc;
use std::time::Duration;

use contract::Harness;
use contract::fresh::postgres::{drop_database, fresh_database};
use shared::config::PostgresConfig;
use shared::repo::Bootstrap;
use shared::repo::postgres::PostgresStore;

async fn pooled() -> Harness {
    harness(5).await
}

async fn held() -> Harness {
    harness(1).await
}

async fn harness(max_connections: u32) -> Harness {
    let (name, url) = fresh_database("contract").await;
    let config = PostgresConfig {
        max_connections,
        connect_timeout: Duration::from_secs(5),
        statement_timeout: Duration::from_secs(10),
        ..PostgresConfig::from_url(url)
    };
    let store = PostgresStore::connect_lazy(
        &config,
        Bootstrap {
            migrate: true,
            seed: false,
        },
    )
    .expect("store");
    Harness {
        store: Arc::new(store),
        cleanup: Some(Box::new(move || {
            Box::pin(async move { drop_database(&name).await })
        })),
    }
}

mod pool {
    contract::contract_cases!(crate::pooled);
}

mod one_held_connection {
    contract::contract_cases!(crate::held);
}

/// Cases for what only the SQL stores do: enforce foreign keys, and take
/// `Idempotency-Key`s in the unit of work that creates.
mod sql_only {
    mod pool {
        contract::contract_cases!(@groups crate::pooled;
            idempotency {
                a_refused_keyed_order_leaves_nothing_behind,
                the_creating_unit_of_work_takes_a_free_key,
                concurrent_creators_taking_one_key_make_one_order,
            }
        );
    }
    mod one_held_connection {
        contract::contract_cases!(@groups crate::held;
            idempotency {
                a_refused_keyed_order_leaves_nothing_behind,
                the_creating_unit_of_work_takes_a_free_key,
                concurrent_creators_taking_one_key_make_one_order,
            }
        );
    }
}
