//! The repository contract suite: written once against the `Store` traits, run
//! unchanged by every backend's tests (`tests/<backend>.rs`) against a real
//! server, each case on a fresh store.
//!
//! A backend's test file names a harness (an async function returning a fresh,
//! migrated, unseeded store and its cleanup, see [`Harness`]) and expands
//! `contract::contract_cases!(harness)`: one `#[tokio::test]` per case, named
//! `<group>::<case>`, so every backend runs exactly the same cases and a
//! failure names its group, case and backend (the test binary).
//!
//! [`fresh`] makes throwaway databases and tables on the test servers; the
//! dev server's end-to-end tests use it too.

pub mod aws;
pub mod fresh;
mod harness;
pub mod tls;

pub mod fixtures;

pub mod catalog;
pub mod idempotency;
pub mod ids;
pub mod invoices;
pub mod orders;
pub mod sessions;
pub mod users;

pub use harness::Harness;

/// Expands to one module per group of cases and one `#[tokio::test]` per case,
/// each on a fresh store from `$harness().await`, disposed of afterwards.
#[macro_export]
macro_rules! contract_cases {
    ($harness:path) => {
        $crate::contract_cases!(@groups $harness;
            users {
                registration_is_unique_case_insensitively,
                concurrent_registrations_have_one_winner,
                roles_are_stored_and_changed_by_name,
            }
            catalog {
                products_page_in_id_order_and_filter_by_category,
                product_updates_are_partial,
                catalog_is_seeded_once,
                concurrent_seeding_seeds_once,
            }
            orders {
                orders_are_stored_whole_and_listed_per_owner,
                order_lists_paginate_newest_first,
            }
            invoices {
                one_invoice_per_order_under_concurrent_creators,
                invoices_are_found_by_id_order_and_owner,
                status_moves_are_compare_and_set,
                concurrent_status_moves_have_one_winner,
            }
            ids {
                ids_are_positive_and_below_2_pow_53,
            }
            idempotency {
                a_finished_key_replays_and_refuses_other_requests,
                a_running_key_is_in_progress_then_taken_over_without_a_second_order,
                concurrent_requests_with_one_key_make_one_order,
                keys_expire_after_24_hours,
                a_released_key_runs_again_and_only_its_holder_finishes,
                any_response_is_remembered_whole_and_only_by_its_holder,
            }
            sessions {
                rotation_spends_the_token_and_issues_the_next,
                a_spent_token_presented_again_revokes_the_session,
                concurrent_rotations_of_one_token_have_one_winner,
                tokens_expire_by_the_clock_passed_in,
                logout_revokes_only_the_owners_session,
                failed_logins_are_counted_in_a_window_that_closes,
                concurrent_failed_logins_are_all_counted,
            }
        );
    };
    (@groups $harness:path; $($group:ident { $($case:ident),* $(,)? })*) => {
        $(
            mod $group {
                // The harness may be a function of the including file.
                #[allow(unused_imports)]
                use super::*;
                $(
                    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                    async fn $case() {
                        let harness = $harness().await;
                        $crate::$group::$case(harness.store.clone()).await;
                        harness.finish().await;
                    }
                )*
            }
        )*
    };
}
