//! The repository contract suite: written once against the storage traits, run
//! unchanged by every backend's tests against a real server, races included.
//!
//! A dev-only crate, so the library's normal build never compiles it. A
//! backend's test file (`tests/<backend>.rs`) names a harness (an async
//! function returning a fresh, migrated, unseeded store and its cleanup) and
//! expands `contract::repository_contract_suite!(harness)`: one `#[tokio::test]`
//! per case, so a failure names the case and the backend.

use std::sync::Arc;

use shared::repo::Store;

pub mod catalog;
pub mod fixtures;
pub mod idempotency;
pub mod ids;
pub mod invoices;
pub mod orders;
pub mod servers;
pub mod users;

/// Every case, by the name the suite macro expands.
pub mod cases {
    pub use crate::catalog::*;
    pub use crate::idempotency::*;
    pub use crate::ids::*;
    pub use crate::invoices::*;
    pub use crate::orders::*;
    pub use crate::users::*;
}

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
            a_finished_key_replays_and_refuses_other_requests,
            a_running_key_is_in_progress_then_taken_over_without_a_second_order,
            concurrent_requests_with_one_key_make_one_order,
            keys_expire_after_24_hours,
            a_released_key_runs_again_and_only_its_holder_finishes,
        );
    };
    (@cases $harness:path; $($case:ident),* $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn $case() {
                let harness = $harness().await;
                $crate::cases::$case(harness.store.clone()).await;
                harness.finish().await;
            }
        )*
    };
}
