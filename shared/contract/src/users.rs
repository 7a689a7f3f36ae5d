//! Contract cases for users: a username is registered once,
//! case-insensitively, even under concurrent attempts; the role lives on the
//! user and changes only through `set_user_role`.

use std::sync::Arc;

use futures::future::join_all;
use shared::domain::{NewUser, Role, Username};
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

pub async fn roles_are_stored_and_changed_by_name(store: Arc<dyn Store>) {
    let role_of = |name: &'static str| {
        let store = store.clone();
        async move {
            store
                .find_user_by_username(name)
                .await
                .unwrap()
                .expect("registered")
                .role
        }
    };
    let boss = user(&store, "Boss").await;
    user(&store, "worker").await;
    assert_eq!(
        role_of("boss").await,
        Role::Customer,
        "registered as a customer"
    );

    let granted = store
        .set_user_role("BOSS", Role::Admin)
        .await
        .unwrap()
        .expect("found case-insensitively");
    assert_eq!(
        (granted.id, granted.username.as_str()),
        (boss.user_id, "Boss")
    );
    assert_eq!(role_of("boss").await, Role::Admin);
    assert_eq!(
        role_of("worker").await,
        Role::Customer,
        "only the named user"
    );

    store.set_user_role("boss", Role::Customer).await.unwrap();
    assert_eq!(role_of("Boss").await, Role::Customer, "withdrawn");
    store.set_user_role("boss", Role::Admin).await.unwrap();
    assert_eq!(
        role_of("boss").await,
        Role::Admin,
        "the latest change holds"
    );

    // A name nobody registered: nothing is written, so registering it later
    // makes a customer.
    assert!(
        store
            .set_user_role("ghost", Role::Admin)
            .await
            .unwrap()
            .is_none()
    );
    user(&store, "ghost").await;
    assert_eq!(role_of("ghost").await, Role::Customer);
}
