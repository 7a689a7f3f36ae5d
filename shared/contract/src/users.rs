//! Contract cases for users: a username is registered once,
//! case-insensitively, even under concurrent attempts.

use std::sync::Arc;

use futures::future::join_all;
use shared::domain::{NewUser, Username};
use shared::error::AppError;
use shared::repo::Store;

use crate::fixtures::{now, user};

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
