//! Contract cases for sessions and login throttling: rotation spends a token
//! once, a spent token presented again revokes its whole session, concurrent
//! rotations of one token have one winner, expiry follows the clock passed
//! in, logout revokes only the owner's session, and the failed-login window
//! counts and closes with the clock.

use std::sync::Arc;

use futures::future::join_all;
use shared::domain::session::{LOGIN_FAILURE_LIMIT, LOGIN_FAILURE_WINDOW_SECONDS};
use shared::domain::{
    Identity, NewSession, RefreshToken, RotateOutcome, Rotation, SessionOwner, Timestamp,
};
use shared::repo::Store;

use crate::fixtures::{now, user};

const DAY: i64 = 86_400;

fn hash() -> String {
    RefreshToken::generate().unwrap().hash()
}

fn at(t: Timestamp, plus: i64) -> Timestamp {
    Timestamp::from_unix(t.unix() + plus)
}

/// Opens a session for `who` at `t` whose first token lives `ttl` seconds;
/// returns the session id and the token's hash.
async fn login(store: &Arc<dyn Store>, who: &Identity, t: Timestamp, ttl: i64) -> (String, String) {
    let session_id = shared::domain::session::new_session_id().unwrap();
    let token_hash = hash();
    store
        .create_session(&NewSession {
            session_id: session_id.clone(),
            user_id: who.user_id,
            username: who.username.clone(),
            token_hash: token_hash.clone(),
            created_at: t,
            expires_at: at(t, ttl),
        })
        .await
        .expect("create session");
    (session_id, token_hash)
}

async fn rotate(store: &Arc<dyn Store>, presented: &str, t: Timestamp) -> (RotateOutcome, String) {
    let next = hash();
    let outcome = store
        .rotate_refresh_token(&Rotation {
            presented: presented.to_owned(),
            next: next.clone(),
            now: t,
            next_expires_at: at(t, 30 * DAY),
        })
        .await
        .expect("rotate");
    (outcome, next)
}

fn rotated(outcome: &RotateOutcome) -> bool {
    matches!(outcome, RotateOutcome::Rotated(_))
}

pub async fn rotation_spends_the_token_and_issues_the_next(store: Arc<dyn Store>) {
    let alice = user(&store, "alice").await;
    let t = now();
    let (session_id, first) = login(&store, &alice, t, 30 * DAY).await;
    let (outcome, second) = rotate(&store, &first, at(t, 60)).await;
    assert_eq!(
        outcome,
        RotateOutcome::Rotated(SessionOwner {
            session_id: session_id.clone(),
            user_id: alice.user_id,
            username: "alice".into(),
        })
    );
    let (outcome, _third) = rotate(&store, &second, at(t, 120)).await;
    assert!(
        matches!(&outcome, RotateOutcome::Rotated(o) if o.session_id == session_id),
        "the successor rotates in the same session: {outcome:?}"
    );
    let (unknown, _) = rotate(&store, &hash(), at(t, 180)).await;
    assert_eq!(unknown, RotateOutcome::Invalid);
}

pub async fn a_spent_token_presented_again_revokes_the_session(store: Arc<dyn Store>) {
    let alice = user(&store, "alice").await;
    let t = now();
    let (_, first) = login(&store, &alice, t, 30 * DAY).await;
    let (outcome, second) = rotate(&store, &first, at(t, 1)).await;
    assert!(rotated(&outcome));
    let (outcome, newest) = rotate(&store, &second, at(t, 2)).await;
    assert!(rotated(&outcome));
    // The first token again: someone else holds a copy.
    let (reuse, _) = rotate(&store, &first, at(t, 3)).await;
    assert_eq!(reuse, RotateOutcome::Reused);
    // The whole family is dead, the newest token included.
    let (outcome, _) = rotate(&store, &newest, at(t, 4)).await;
    assert!(!rotated(&outcome), "{outcome:?}");
    // Another session of the same user is untouched.
    let (_, other) = login(&store, &alice, t, 30 * DAY).await;
    assert!(rotated(&rotate(&store, &other, at(t, 5)).await.0));
}

pub async fn concurrent_rotations_of_one_token_have_one_winner(store: Arc<dyn Store>) {
    let alice = user(&store, "alice").await;
    let t = now();
    let (_, token) = login(&store, &alice, t, 30 * DAY).await;
    let attempts = (0..16).map(|_| {
        let store = store.clone();
        let token = token.clone();
        tokio::spawn(async move { rotate(&store, &token, at(t, 1)).await })
    });
    let results: Vec<(RotateOutcome, String)> = join_all(attempts)
        .await
        .into_iter()
        .map(|r| r.unwrap())
        .collect();
    let winners: Vec<&String> = results
        .iter()
        .filter(|(o, _)| rotated(o))
        .map(|(_, next)| next)
        .collect();
    assert_eq!(winners.len(), 1, "{results:?}");
    // A loser finds the token spent (reuse, which revokes the session) or,
    // if another loser got there first, the session revoked. The first loser
    // to decide can only have found it spent.
    assert!(
        results.iter().any(|(o, _)| *o == RotateOutcome::Reused),
        "{results:?}"
    );
    // The losers presented a spent token: the session is revoked, so not
    // even the winner's token lives on. Never two live tokens.
    let mut live = 0;
    for (_, next) in &results {
        if rotated(&rotate(&store, next, at(t, 2)).await.0) {
            live += 1;
        }
    }
    assert_eq!(live, 0);
}

pub async fn tokens_expire_by_the_clock_passed_in(store: Arc<dyn Store>) {
    let alice = user(&store, "alice").await;
    let t = now();
    let (_, short) = login(&store, &alice, t, 100).await;
    let (outcome, _) = rotate(&store, &short, at(t, 100)).await;
    assert_eq!(outcome, RotateOutcome::Invalid, "expired at its expiry");
    // Expired, not spent: presenting it again is still only invalid.
    let (again, _) = rotate(&store, &short, at(t, 101)).await;
    assert_eq!(again, RotateOutcome::Invalid);

    let (_, token) = login(&store, &alice, t, 100).await;
    let next = hash();
    let outcome = store
        .rotate_refresh_token(&Rotation {
            presented: token,
            next: next.clone(),
            now: at(t, 99),
            next_expires_at: at(t, 199),
        })
        .await
        .unwrap();
    assert!(rotated(&outcome), "live one second before: {outcome:?}");
    // The successor has its own expiry.
    let (outcome, _) = rotate(&store, &next, at(t, 199)).await;
    assert_eq!(outcome, RotateOutcome::Invalid);
}

pub async fn logout_revokes_only_the_owners_session(store: Arc<dyn Store>) {
    let alice = user(&store, "alice").await;
    let bob = user(&store, "bob").await;
    let t = now();
    let (_, alices) = login(&store, &alice, t, 30 * DAY).await;
    let (_, bobs) = login(&store, &bob, t, 30 * DAY).await;
    assert!(
        !store.revoke_session(bob.user_id, &alices, t).await.unwrap(),
        "bob cannot end alice's session"
    );
    assert!(
        !store
            .revoke_session(alice.user_id, &hash(), t)
            .await
            .unwrap()
    );
    let (outcome, alices) = rotate(&store, &alices, at(t, 1)).await;
    assert!(rotated(&outcome), "still alive after bob's attempt");

    assert!(
        store
            .revoke_session(alice.user_id, &alices, at(t, 2))
            .await
            .unwrap()
    );
    let (outcome, _) = rotate(&store, &alices, at(t, 3)).await;
    assert_eq!(outcome, RotateOutcome::Invalid, "revoked by logout");
    assert!(
        store
            .revoke_session(alice.user_id, &alices, at(t, 4))
            .await
            .unwrap(),
        "logging out twice is fine"
    );
    assert!(
        rotated(&rotate(&store, &bobs, at(t, 5)).await.0),
        "bob's own session lives"
    );
}

pub async fn failed_logins_are_counted_in_a_window_that_closes(store: Arc<dyn Store>) {
    let t = now();
    assert_eq!(store.login_failures("carol", t).await.unwrap().failures, 0);
    for i in 0..LOGIN_FAILURE_LIMIT {
        let window = store
            .record_login_failure("carol", at(t, i64::from(i) * 60))
            .await
            .unwrap();
        assert_eq!(window.failures, i + 1);
        assert_eq!(window.opened_at, t, "the first failure opened the window");
    }
    let read = store.login_failures("carol", at(t, 299)).await.unwrap();
    assert_eq!(read.failures, LOGIN_FAILURE_LIMIT);
    assert_eq!(
        read.throttled_for(at(t, 299)),
        Some(u64::try_from(LOGIN_FAILURE_WINDOW_SECONDS - 299).unwrap())
    );
    assert_eq!(
        store
            .login_failures("dave", at(t, 299))
            .await
            .unwrap()
            .failures,
        0,
        "per name"
    );
    // The window closes 15 minutes after it opened, whatever came later.
    let closed = store
        .login_failures("carol", at(t, LOGIN_FAILURE_WINDOW_SECONDS))
        .await
        .unwrap();
    assert_eq!(closed.failures, 0);
    assert_eq!(
        closed.throttled_for(at(t, LOGIN_FAILURE_WINDOW_SECONDS)),
        None
    );
    let reopened = store
        .record_login_failure("carol", at(t, LOGIN_FAILURE_WINDOW_SECONDS + 5))
        .await
        .unwrap();
    assert_eq!(
        (reopened.failures, reopened.opened_at),
        (1, at(t, LOGIN_FAILURE_WINDOW_SECONDS + 5))
    );
}

pub async fn concurrent_failed_logins_are_all_counted(store: Arc<dyn Store>) {
    let t = now();
    let attempts = (0..12).map(|_| {
        let store = store.clone();
        tokio::spawn(async move { store.record_login_failure("erin", t).await })
    });
    for result in join_all(attempts).await {
        result.unwrap().expect("recorded");
    }
    assert_eq!(
        store
            .login_failures("erin", at(t, 1))
            .await
            .unwrap()
            .failures,
        12
    );
}
