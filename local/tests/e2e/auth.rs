//! Registration, login and roles: usernames unique case-insensitively, one
//! answer for every bad login, admins acting for any customer, admins made by
//! an operator only.

use reqwest::StatusCode;
use serde_json::json;

use crate::given;
use shared::domain::Role;

use crate::support::{DevServer, assert_error};

on_every_backend! {
    registration_and_login_follow_the_rules,
    admins_act_for_any_customer,
    only_an_operator_makes_admins,
}

/// Over HTTP, with real argon2id work: usernames valid and unique
/// case-insensitively, one answer for a wrong password and an unknown user,
/// a token for the right ones.
async fn registration_and_login_follow_the_rules(s: &DevServer) {
    let (status, body) = s
        .send(
            "POST",
            "/register",
            None,
            Some(json!({"username": "alice", "password": "wonderland!"})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(body["message"], "User created successfully");
    assert_eq!(body["user"]["username"], "alice");
    let alice_id = body["user"]["id"].as_i64().unwrap();
    assert!(alice_id > 0);

    let (status, body) = s
        .send(
            "POST",
            "/register",
            None,
            Some(json!({"username": "ALICE", "password": "another-one"})),
        )
        .await;
    assert_error(status, &body, StatusCode::CONFLICT, "username_taken");
    for (bad, field) in [
        (
            json!({"username": "al", "password": "long enough"}),
            "username",
        ),
        (
            json!({"username": "al ice", "password": "long enough"}),
            "username",
        ),
        (
            json!({"username": "alice2", "password": "short"}),
            "password",
        ),
        (json!({"username": "alice2"}), "password"),
        (
            json!({"username": 12, "password": "long enough"}),
            "username",
        ),
    ] {
        let (status, body) = s.send("POST", "/register", None, Some(bad)).await;
        assert_error(status, &body, StatusCode::BAD_REQUEST, "validation_error");
        assert!(
            body["error"].as_str().unwrap().contains(field),
            "names {field}: {body}"
        );
    }

    let wrong_password = s
        .send(
            "POST",
            "/login",
            None,
            Some(json!({"username": "alice", "password": "not-the-one"})),
        )
        .await;
    let unknown_user = s
        .send(
            "POST",
            "/login",
            None,
            Some(json!({"username": "nobody", "password": "wonderland!"})),
        )
        .await;
    for (status, body) in [&wrong_password, &unknown_user] {
        assert_error(
            *status,
            body,
            StatusCode::UNAUTHORIZED,
            "invalid_credentials",
        );
    }
    assert_eq!(
        wrong_password.1["error"], unknown_user.1["error"],
        "the same answer for both"
    );

    let (status, body) = s
        .send(
            "POST",
            "/login",
            None,
            Some(json!({"username": "Alice", "password": "wonderland!"})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["message"], "Login successful");
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["expires_in"], 3600);
    assert_eq!(
        body["user"],
        json!({"id": alice_id, "username": "alice", "role": "customer"})
    );
    assert!(body["token"].as_str().is_some_and(|t| !t.is_empty()));
}

/// `root` is an admin (granted as the operator does): it reads any
/// customer's orders and invoices; a customer cannot read an admin's.
async fn admins_act_for_any_customer(s: &DevServer) {
    let alice = s.user("alice").await;
    let dime = given::product(
        s,
        &alice,
        json!({"name": "Dime sweet", "price": 0.10, "category": "candy"}),
    )
    .await;
    let order = given::order(s, &alice, json!({"product_id": dime, "quantity": 1})).await;
    given::invoice(s, &alice, order["order_id"].as_i64().unwrap()).await;

    let admin = s.admin("root").await;
    let (status, orders) = s.send("GET", "/orders/alice", Some(&admin), None).await;
    assert_eq!(status, StatusCode::OK);
    assert!(!orders.as_array().unwrap().is_empty());
    let alice_id = orders[0]["user_id"].as_i64().unwrap();
    let (status, invoices) = s
        .send(
            "GET",
            &format!("/invoices/user/{alice_id}"),
            Some(&admin),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(invoices.as_array().unwrap().len(), 1, "{invoices}");
    let (status, body) = s
        .send("GET", "/orders/nobody_here", Some(&admin), None)
        .await;
    assert_error(status, &body, StatusCode::NOT_FOUND, "user_not_found");
    let (status, body) = s.send("GET", "/orders/root", Some(&alice), None).await;
    assert_error(status, &body, StatusCode::FORBIDDEN, "forbidden");
}

/// Logs `name` in over HTTP; its role and token.
async fn login(s: &DevServer, name: &str) -> (String, String) {
    let (status, body) = s
        .send(
            "POST",
            "/login",
            None,
            Some(json!({"username": name, "password": "chief-password"})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    (
        body["user"]["role"].as_str().unwrap().to_owned(),
        body["token"].as_str().unwrap().to_owned(),
    )
}

/// Registration never makes an admin; the operator's command grants and
/// withdraws the role on the store, for any letter case of the name, and
/// refuses a name nobody registered, so registering it later gives nothing.
async fn only_an_operator_makes_admins(s: &DevServer) {
    s.user("alice").await;
    let register = |name: &'static str| {
        s.send(
            "POST",
            "/register",
            None,
            Some(json!({"username": name, "password": "chief-password"})),
        )
    };
    assert_eq!(register("chief").await.0, StatusCode::CREATED);
    let (role, token) = login(s, "chief").await;
    assert_eq!(role, "customer");
    let (status, _) = s.send("GET", "/orders/alice", Some(&token), None).await;
    assert_eq!(status, StatusCode::FORBIDDEN);

    s.set_role("CHIEF", Role::Admin).await.unwrap();
    let (role, token) = login(s, "chief").await;
    assert_eq!(role, "admin");
    let (status, body) = s.send("GET", "/orders/alice", Some(&token), None).await;
    assert_eq!(status, StatusCode::OK, "{body}");

    s.set_role("chief", Role::Customer).await.unwrap();
    assert_eq!(login(s, "chief").await.0, "customer");

    let refused = s.set_role("latecomer", Role::Admin).await.unwrap_err();
    assert!(refused.contains("no user named"), "{refused}");
    assert_eq!(register("latecomer").await.0, StatusCode::CREATED);
    assert_eq!(login(s, "latecomer").await.0, "customer");
}
