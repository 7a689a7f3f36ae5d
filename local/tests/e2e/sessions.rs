//! Sessions and login throttling over HTTP: login answers a refresh token,
//! a refresh rotates it, a spent token presented again ends the session,
//! logout ends it (only the owner's), and a username with five failed logins
//! in 15 minutes is refused with 429 whatever the password, the same for a
//! username that does not exist.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::support::{DevServer, TEST_PASSWORD, assert_error};

on_every_backend! {
    a_refresh_rotates_and_a_spent_token_ends_the_session,
    logout_ends_only_the_callers_session,
    failed_logins_close_login_for_that_username,
}

async fn login(s: &DevServer, name: &str, password: &str) -> (StatusCode, Value) {
    s.send(
        "POST",
        "/login",
        None,
        Some(json!({"username": name, "password": password})),
    )
    .await
}

async fn refresh(s: &DevServer, token: &Value) -> (StatusCode, Value) {
    s.send(
        "POST",
        "/token/refresh",
        None,
        Some(json!({"refresh_token": token})),
    )
    .await
}

/// The claims of a JWT, read without verifying (the server verifies).
fn claims(jwt: &Value) -> Value {
    let payload = jwt.as_str().unwrap().split('.').nth(1).unwrap();
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap()
}

async fn a_refresh_rotates_and_a_spent_token_ends_the_session(s: &DevServer) {
    s.user("alice").await;
    let (status, first) = login(s, "alice", TEST_PASSWORD).await;
    assert_eq!(status, StatusCode::OK, "{first}");
    assert_eq!(first["refresh_expires_in"], 30 * 86_400);
    let first_refresh = first["refresh_token"].clone();
    assert_eq!(first_refresh.as_str().map(str::len), Some(43), "{first}");
    let sid = claims(&first["token"])["sid"].clone();
    assert!(sid.as_str().is_some_and(|s| !s.is_empty()), "{first}");

    let (status, second) = refresh(s, &first_refresh).await;
    assert_eq!(status, StatusCode::OK, "{second}");
    assert_eq!(second["token_type"], "Bearer");
    assert_eq!(second["expires_in"], 3600);
    assert_eq!(second["refresh_expires_in"], 30 * 86_400);
    assert_eq!(second["user"], first["user"]);
    assert_ne!(
        second["refresh_token"], first_refresh,
        "a new refresh token"
    );
    assert_eq!(claims(&second["token"])["sid"], sid, "the same session");
    let (status, orders) = s
        .send("GET", "/orders", second["token"].as_str(), None)
        .await;
    assert_eq!(
        status,
        StatusCode::OK,
        "the new access token works: {orders}"
    );

    // The first token again: spent, so the whole session ends...
    let (status, body) = refresh(s, &first_refresh).await;
    assert_error(
        status,
        &body,
        StatusCode::UNAUTHORIZED,
        "invalid_refresh_token",
    );
    // ...and the newest token with it.
    let (status, body) = refresh(s, &second["refresh_token"]).await;
    assert_error(
        status,
        &body,
        StatusCode::UNAUTHORIZED,
        "invalid_refresh_token",
    );

    // A new login is a new session.
    let (_, again) = login(s, "alice", TEST_PASSWORD).await;
    assert_ne!(claims(&again["token"])["sid"], sid);
    assert_eq!(refresh(s, &again["refresh_token"]).await.0, StatusCode::OK);

    for bad in [
        json!("not-a-token"),
        json!("A".repeat(43)),
        json!("x".repeat(5000)),
    ] {
        let (status, body) = refresh(s, &bad).await;
        assert_error(
            status,
            &body,
            StatusCode::UNAUTHORIZED,
            "invalid_refresh_token",
        );
    }
    let (status, body) = s
        .send("POST", "/token/refresh", None, Some(json!({})))
        .await;
    assert_error(status, &body, StatusCode::BAD_REQUEST, "validation_error");
}

async fn logout(s: &DevServer, jwt: Option<&str>, token: &Value) -> reqwest::Response {
    s.raw(
        "POST",
        "/logout",
        jwt,
        Some(json!({"refresh_token": token})),
    )
    .await
}

async fn logout_ends_only_the_callers_session(s: &DevServer) {
    s.user("alice").await;
    let bob = s.user("bob").await;
    let (_, alice) = login(s, "alice", TEST_PASSWORD).await;
    let alice_jwt = alice["token"].as_str().unwrap();
    // Bob cannot end Alice's session: the same answer as an unknown token.
    let response = logout(s, Some(&bob), &alice["refresh_token"]).await;
    let status = response.status();
    let body: Value = response.json().await.unwrap();
    assert_error(
        status,
        &body,
        StatusCode::UNAUTHORIZED,
        "invalid_refresh_token",
    );
    let (status, rotated) = refresh(s, &alice["refresh_token"]).await;
    assert_eq!(status, StatusCode::OK, "still alive: {rotated}");

    // Without a token the gateway refuses before the function.
    let response = logout(s, None, &rotated["refresh_token"]).await;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);

    let response = logout(s, Some(alice_jwt), &rotated["refresh_token"]).await;
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    assert!(response.text().await.unwrap().is_empty());
    let (status, body) = refresh(s, &rotated["refresh_token"]).await;
    assert_error(
        status,
        &body,
        StatusCode::UNAUTHORIZED,
        "invalid_refresh_token",
    );
}

async fn failed_logins_close_login_for_that_username(s: &DevServer) {
    s.user("alice").await;
    s.user("bob").await;
    for _ in 0..5 {
        let spent = s.password_hashes_spent();
        let (status, body) = login(s, "alice", "not-the-password").await;
        assert_error(
            status,
            &body,
            StatusCode::UNAUTHORIZED,
            "invalid_credentials",
        );
        assert_eq!(s.password_hashes_spent(), spent + 1, "one hash per login");
    }
    let spent = s.password_hashes_spent();
    let throttled = |name: &'static str, password: &'static str| async move {
        let response = s
            .raw(
                "POST",
                "/login",
                None,
                Some(json!({"username": name, "password": password})),
            )
            .await;
        let status = response.status();
        let retry_after: u64 = response
            .headers()
            .get("retry-after")
            .unwrap_or_else(|| panic!("{name}: a Retry-After header"))
            .to_str()
            .unwrap()
            .parse()
            .unwrap();
        let body: Value = response.json().await.unwrap();
        assert_error(
            status,
            &body,
            StatusCode::TOO_MANY_REQUESTS,
            "too_many_attempts",
        );
        assert!((1..=900).contains(&retry_after), "{retry_after}");
        body
    };
    let sixth = throttled("alice", "not-the-password").await;
    // The right password does not help, in any letter case.
    throttled("alice", TEST_PASSWORD).await;
    throttled("ALICE", TEST_PASSWORD).await;
    assert_eq!(
        s.password_hashes_spent(),
        spent,
        "a throttled login spends no hash"
    );
    // Other users are not affected.
    assert_eq!(login(s, "bob", TEST_PASSWORD).await.0, StatusCode::OK);

    // A username nobody has gets the very same answers.
    for _ in 0..5 {
        let spent = s.password_hashes_spent();
        let (status, body) = login(s, "nobody", "not-the-password").await;
        assert_error(
            status,
            &body,
            StatusCode::UNAUTHORIZED,
            "invalid_credentials",
        );
        assert_eq!(s.password_hashes_spent(), spent + 1, "the decoy hash");
    }
    let spent = s.password_hashes_spent();
    let unknown = throttled("nobody", "not-the-password").await;
    assert_eq!(s.password_hashes_spent(), spent, "none when throttled");
    assert_eq!(unknown["error"], sixth["error"]);
}
