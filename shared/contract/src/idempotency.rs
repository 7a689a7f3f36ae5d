//! Contract cases for `Idempotency-Key` records: replay, mismatch, per-user
//! scope, one order under 32 concurrent requests with one key, a lapsed lease
//! taken over without a second order, 24-hour expiry, release after a 5xx.
//! Every claim carries its own `now`, so the cases move the clock freely.

use std::sync::Arc;

use futures::future::join_all;
use shared::AppError;
use shared::domain::{
    ClaimOutcome, IdemClaim, IdemFinish, IdempotencyKey, Identity, Invoice, Order, PageRequest,
    StoredResponse, Timestamp,
};
use shared::repo::Store;

use crate::fixtures::*;

fn claim_at(owner: &Identity, key: &str, fingerprint: &str, now: i64, lease: i64) -> IdemClaim {
    IdemClaim::new(
        owner.user_id,
        IdempotencyKey::parse(key).unwrap(),
        fingerprint.into(),
        Timestamp::from_unix(now),
        Timestamp::from_unix(now + lease),
    )
    .unwrap()
}

fn render(order: &Order) -> StoredResponse {
    StoredResponse {
        status: 201,
        body: format!(r#"{{"order_id":{}}}"#, order.order_id),
        location: Some("/orders/someone".into()),
    }
}

/// Places one order of `product_id` under the claim.
async fn place(
    store: &Arc<dyn Store>,
    owner: &Identity,
    product_id: i64,
    claim: &IdemClaim,
) -> Result<Order, AppError> {
    let finish = IdemFinish {
        claim,
        render: &render,
    };
    store
        .place_order(&new_order(owner, product_id, 1, 500), Some(&finish))
        .await
}

async fn order_count(store: &Arc<dyn Store>, owner: &Identity) -> usize {
    store
        .list_orders_by_user(owner.user_id, PageRequest::first(200))
        .await
        .unwrap()
        .items
        .len()
}

async fn a_product(store: &Arc<dyn Store>) -> i64 {
    store
        .create_product(&new_product("Kettle", "kitchen", 500))
        .await
        .unwrap()
        .product_id
}

fn now() -> i64 {
    Timestamp::now().unix()
}

/// A creating unit of work that created nothing: the key was not its own.
fn assert_in_use<T: std::fmt::Debug>(result: &Result<T, AppError>) {
    assert!(
        matches!(result, Err(AppError::IdempotencyKeyInUse { .. })),
        "{result:?}"
    );
}

/// What a claim on the key finds now.
async fn outcome(store: &Arc<dyn Store>, claim: &IdemClaim) -> ClaimOutcome {
    store.claim_idempotency_key(claim).await.unwrap()
}

pub async fn a_finished_key_replays_and_refuses_other_requests(store: Arc<dyn Store>) {
    let alice = user(&store, "alice").await;
    let bob = user(&store, "bob").await;
    let product = a_product(&store).await;
    let t = now();
    let first = claim_at(&alice, "k-1", "fp-a", t, 30);
    assert_eq!(outcome(&store, &first).await, ClaimOutcome::Claimed);
    let order = place(&store, &alice, product, &first).await.unwrap();

    let again = claim_at(&alice, "k-1", "fp-a", t + 1, 30);
    assert_eq!(
        outcome(&store, &again).await,
        ClaimOutcome::Replay(render(&order)),
        "the same request is answered with the first response"
    );
    let other_body = claim_at(&alice, "k-1", "fp-b", t + 1, 30);
    assert_eq!(outcome(&store, &other_body).await, ClaimOutcome::Mismatch);
    // Keys belong to their user: bob's k-1 is his own.
    let bobs = claim_at(&bob, "k-1", "fp-b", t + 1, 30);
    assert_eq!(outcome(&store, &bobs).await, ClaimOutcome::Claimed);
    assert_eq!(order_count(&store, &alice).await, 1);
}

pub async fn a_running_key_is_in_progress_then_taken_over_without_a_second_order(
    store: Arc<dyn Store>,
) {
    let alice = user(&store, "alice").await;
    let product = a_product(&store).await;
    let t = now();
    let holder = claim_at(&alice, "k-lease", "fp", t, 5);
    assert_eq!(outcome(&store, &holder).await, ClaimOutcome::Claimed);

    let early = claim_at(&alice, "k-lease", "fp", t + 1, 5);
    assert_eq!(
        outcome(&store, &early).await,
        ClaimOutcome::InProgress {
            lease_until: Timestamp::from_unix(t + 5)
        }
    );
    // While running, another body is still a mismatch.
    let other = claim_at(&alice, "k-lease", "fp-other", t + 1, 5);
    assert_eq!(outcome(&store, &other).await, ClaimOutcome::Mismatch);

    // The holder died (never finished); its lease lapses and a retry takes over.
    let retry = claim_at(&alice, "k-lease", "fp", t + 6, 5);
    assert_eq!(outcome(&store, &retry).await, ClaimOutcome::Claimed);
    let order = place(&store, &alice, product, &retry).await.unwrap();

    // The old holder wakes up: it can no longer create anything.
    let late = place(&store, &alice, product, &holder).await;
    assert_in_use(&late);
    assert_eq!(order_count(&store, &alice).await, 1);
    let after = claim_at(&alice, "k-lease", "fp", t + 7, 5);
    assert_eq!(
        outcome(&store, &after).await,
        ClaimOutcome::Replay(render(&order))
    );
}

pub async fn concurrent_requests_with_one_key_make_one_order(store: Arc<dyn Store>) {
    let alice = user(&store, "alice").await;
    let product = a_product(&store).await;
    let t = now();
    let attempts = (0..32).map(|_| {
        let store = store.clone();
        let alice = alice.clone();
        async move {
            let claim = claim_at(&alice, "k-race", "fp", t, 30);
            match outcome(&store, &claim).await {
                ClaimOutcome::Claimed => {
                    place(&store, &alice, product, &claim).await.unwrap();
                    "created"
                }
                ClaimOutcome::Replay(_) => "replayed",
                ClaimOutcome::InProgress { .. } => "in progress",
                ClaimOutcome::Mismatch => "mismatch",
            }
        }
    });
    let answers = join_all(attempts).await;
    assert_eq!(
        answers.iter().filter(|a| **a == "created").count(),
        1,
        "{answers:?}"
    );
    assert!(!answers.contains(&"mismatch"), "{answers:?}");
    assert_eq!(order_count(&store, &alice).await, 1);
}

pub async fn keys_expire_after_24_hours(store: Arc<dyn Store>) {
    let alice = user(&store, "alice").await;
    let t = now();
    let first = claim_at(&alice, "k-day", "fp-a", t, 30);
    assert_eq!(outcome(&store, &first).await, ClaimOutcome::Claimed);
    let refused = StoredResponse {
        status: 400,
        body: r#"{"code":"validation_error"}"#.into(),
        location: None,
    };
    assert!(
        store
            .complete_idempotency_key(&first, &refused)
            .await
            .unwrap()
    );
    // A remembered 4xx replays like a success.
    let within = claim_at(&alice, "k-day", "fp-a", t + 23 * 3600, 30);
    assert_eq!(
        outcome(&store, &within).await,
        ClaimOutcome::Replay(refused)
    );
    let other = claim_at(&alice, "k-day", "fp-b", t + 23 * 3600, 30);
    assert_eq!(outcome(&store, &other).await, ClaimOutcome::Mismatch);
    // A day later the key is free for any request.
    let next_day = claim_at(&alice, "k-day", "fp-b", t + 24 * 3600 + 1, 30);
    assert_eq!(outcome(&store, &next_day).await, ClaimOutcome::Claimed);
}

pub async fn a_released_key_runs_again_and_only_its_holder_finishes(store: Arc<dyn Store>) {
    let alice = user(&store, "alice").await;
    let t = now();
    let first = claim_at(&alice, "k-5xx", "fp", t, 30);
    assert_eq!(outcome(&store, &first).await, ClaimOutcome::Claimed);
    // A 5xx is not remembered: the retry runs again at once.
    store.release_idempotency_key(&first).await.unwrap();
    let retry = claim_at(&alice, "k-5xx", "fp", t + 1, 30);
    assert_eq!(outcome(&store, &retry).await, ClaimOutcome::Claimed);
    // The released claim can neither finish nor release the retry's claim.
    let answer = StoredResponse {
        status: 404,
        body: "{}".into(),
        location: None,
    };
    assert!(
        !store
            .complete_idempotency_key(&first, &answer)
            .await
            .unwrap()
    );
    store.release_idempotency_key(&first).await.unwrap();
    let third = claim_at(&alice, "k-5xx", "fp", t + 2, 30);
    assert!(
        matches!(
            outcome(&store, &third).await,
            ClaimOutcome::InProgress { .. }
        ),
        "the retry still holds the key"
    );
}

/// A response whose rendering holds the text of the id the SQL stores render
/// with before the id is assigned (here in a note; in life, say, a product
/// named so), which they therefore cannot fill in themselves.
fn render_with_note(order: &Order) -> StoredResponse {
    StoredResponse {
        status: 201,
        body: format!(
            r#"{{"order_id":{},"note":"{}"}}"#,
            order.order_id,
            shared::domain::idempotency::UNASSIGNED_ID_TEXT
        ),
        location: Some("/orders/someone".into()),
    }
}

pub async fn any_response_is_remembered_whole_and_only_by_its_holder(store: Arc<dyn Store>) {
    let alice = user(&store, "alice").await;
    let product = a_product(&store).await;
    let t = now();
    let place_noted = async |claim: &IdemClaim| {
        let finish = IdemFinish {
            claim,
            render: &render_with_note,
        };
        store
            .place_order(&new_order(&alice, product, 1, 500), Some(&finish))
            .await
    };
    let holder = claim_at(&alice, "k-note", "fp", t, 5);
    assert_eq!(outcome(&store, &holder).await, ClaimOutcome::Claimed);
    // The holder's lease lapses and a retry takes over and finishes.
    let retry = claim_at(&alice, "k-note", "fp", t + 6, 5);
    assert_eq!(outcome(&store, &retry).await, ClaimOutcome::Claimed);
    let order = place_noted(&retry).await.unwrap();
    let late = place_noted(&holder).await;
    assert_in_use(&late);
    assert_eq!(order_count(&store, &alice).await, 1);
    let again = claim_at(&alice, "k-note", "fp", t + 7, 5);
    assert_eq!(
        outcome(&store, &again).await,
        ClaimOutcome::Replay(render_with_note(&order)),
        "the replay is the response rendered for the order, note and all"
    );
}

/// SQL stores only (their foreign key refuses an order for no user): a keyed
/// order the database refuses part-way creates nothing, leaves the key to
/// its holder, and the store goes on writing.
pub async fn a_refused_keyed_order_leaves_nothing_behind(store: Arc<dyn Store>) {
    let alice = user(&store, "alice").await;
    let product = a_product(&store).await;
    let ghost = Identity {
        user_id: alice.user_id + 1_000,
        ..alice.clone()
    };
    let t = now();
    let claim = claim_at(&ghost, "k-refused", "fp", t, 30);
    assert_eq!(outcome(&store, &claim).await, ClaimOutcome::Claimed);
    let refused = place(&store, &ghost, product, &claim).await;
    assert!(refused.is_err(), "{refused:?}");
    // Nothing was remembered: the holder still holds the key, and may
    // release it.
    let retry = claim_at(&ghost, "k-refused", "fp", t + 1, 30);
    assert!(
        matches!(
            outcome(&store, &retry).await,
            ClaimOutcome::InProgress { .. }
        ),
        "the refused order's response must not be remembered"
    );
    store.release_idempotency_key(&claim).await.unwrap();
    // The store keeps working: a keyed order by a real user goes through.
    let next = claim_at(&alice, "k-next", "fp", t + 1, 30);
    assert_eq!(outcome(&store, &next).await, ClaimOutcome::Claimed);
    let order = place(&store, &alice, product, &next).await.unwrap();
    assert_eq!(order_count(&store, &alice).await, 1);
    let replayed = claim_at(&alice, "k-next", "fp", t + 2, 30);
    assert_eq!(
        outcome(&store, &replayed).await,
        ClaimOutcome::Replay(render(&order))
    );
}

/// Stores that take keys when creating (`takes_keys_when_creating`): a
/// creating unit of work given a claim not made yet takes the key as it
/// creates, or creates nothing when the key is not free.
pub async fn the_creating_unit_of_work_takes_a_free_key(store: Arc<dyn Store>) {
    assert!(store.takes_keys_when_creating());
    let alice = user(&store, "alice").await;
    let product = a_product(&store).await;
    let t = now();
    let first = claim_at(&alice, "k-take", "fp", t, 30);
    let order = place(&store, &alice, product, &first).await.unwrap();
    let again = claim_at(&alice, "k-take", "fp", t + 1, 30);
    assert_eq!(
        outcome(&store, &again).await,
        ClaimOutcome::Replay(render(&order))
    );
    // Taken and answered: neither the same request nor another takes it again.
    for fingerprint in ["fp", "fp-other"] {
        let retry = claim_at(&alice, "k-take", fingerprint, t + 1, 30);
        let refused = place(&store, &alice, product, &retry).await;
        assert_in_use(&refused);
    }
    assert_eq!(order_count(&store, &alice).await, 1);

    // A key running under a claim made beforehand is not free until its
    // lease lapses; then the creating unit of work takes it over, and the
    // old holder can no longer finish.
    let holder = claim_at(&alice, "k-held", "fp", t, 5);
    assert_eq!(outcome(&store, &holder).await, ClaimOutcome::Claimed);
    let early = place(
        &store,
        &alice,
        product,
        &claim_at(&alice, "k-held", "fp", t + 1, 5),
    )
    .await;
    assert_in_use(&early);
    let late_retry = claim_at(&alice, "k-held", "fp", t + 6, 5);
    let taken_over = place(&store, &alice, product, &late_retry).await.unwrap();
    let stale = place(&store, &alice, product, &holder).await;
    assert_in_use(&stale);
    assert_eq!(order_count(&store, &alice).await, 2);
    let after = claim_at(&alice, "k-held", "fp", t + 7, 5);
    assert_eq!(
        outcome(&store, &after).await,
        ClaimOutcome::Replay(render(&taken_over))
    );

    // An invoice's transaction takes its key the same way.
    let invoice_key = claim_at(&alice, "k-invoice", "fp", t, 30);
    let render_invoice = |(invoice, _): &(Invoice, bool)| StoredResponse {
        status: 201,
        body: format!(r#"{{"invoice_id":{}}}"#, invoice.invoice_id),
        location: None,
    };
    let finish = IdemFinish {
        claim: &invoice_key,
        render: &render_invoice,
    };
    let created = store
        .create_invoice_once(&new_invoice(&order), Some(&finish))
        .await
        .unwrap();
    let invoice_again = claim_at(&alice, "k-invoice", "fp", t + 1, 30);
    assert_eq!(
        outcome(&store, &invoice_again).await,
        ClaimOutcome::Replay(render_invoice(&created))
    );
}

/// Stores that take keys when creating: of 32 concurrent creating units of
/// work with one key and no claim beforehand, one creates; the others create
/// nothing, and a claim after them replays the one answer.
pub async fn concurrent_creators_taking_one_key_make_one_order(store: Arc<dyn Store>) {
    let alice = user(&store, "alice").await;
    let product = a_product(&store).await;
    let t = now();
    let attempts = (0..32).map(|_| {
        let store = store.clone();
        let alice = alice.clone();
        async move {
            let claim = claim_at(&alice, "k-take-race", "fp", t, 30);
            place(&store, &alice, product, &claim).await
        }
    });
    let results = join_all(attempts).await;
    let created: Vec<&Order> = results.iter().filter_map(|r| r.as_ref().ok()).collect();
    assert_eq!(created.len(), 1, "{results:?}");
    for result in &results {
        assert!(
            matches!(result, Ok(_) | Err(AppError::IdempotencyKeyInUse { .. })),
            "{result:?}"
        );
    }
    assert_eq!(order_count(&store, &alice).await, 1);
    let after = claim_at(&alice, "k-take-race", "fp", t + 1, 30);
    assert_eq!(
        outcome(&store, &after).await,
        ClaimOutcome::Replay(render(created[0]))
    );
}
