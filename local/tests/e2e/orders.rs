//! Orders: lines merged and priced in exact cents at ordering time, both body
//! forms, stock and validation rules, lists newest first, each customer's
//! orders their own.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::given::{self, Sweets};
use crate::support::{DevServer, assert_error};

on_every_backend! {
    orders_are_priced_once_and_listed_for_their_owner,
    invalid_orders_are_refused,
}

async fn orders_are_priced_once_and_listed_for_their_owner(s: &DevServer) {
    let alice = &s.user("alice").await;
    let bob = &s.user("bob").await;
    let Sweets { dime, nickel, .. } = given::sweets(s, alice).await;
    // 3 x 0.10 = 0.30 exactly; the same product twice is one line.
    let body = json!({"items": [{"product_id": dime, "quantity": 2}, {"product_id": nickel, "quantity": 1}, {"product_id": dime, "quantity": 1}]});
    let (status, order) = s.send("POST", "/orders", Some(alice), Some(body)).await;
    assert_eq!(status, StatusCode::CREATED, "{order}");
    assert_eq!(order["items"].as_array().unwrap().len(), 2);
    assert_eq!(
        order["items"][0],
        json!({"product_id": dime, "product_name": "Dime sweet", "quantity": 3, "unit_price": 0.10, "total": 0.30})
    );
    // subtotal 0.35, tax 10 % = 0.035 rounded half-up to 0.04.
    assert_eq!(
        (
            order["subtotal"].clone(),
            order["tax"].clone(),
            order["total"].clone()
        ),
        (json!(0.35), json!(0.04), json!(0.39))
    );
    assert_eq!(
        (order["status"].clone(), order["username"].clone()),
        (json!("pending"), json!("alice"))
    );
    let order_id = order["order_id"].as_i64().unwrap();

    // Single-line form, and prices fixed at ordering time.
    let (status, single) = s
        .send(
            "POST",
            "/orders/alice",
            Some(alice),
            Some(json!({"product_id": nickel, "quantity": 1})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{single}");
    let (status, repriced) = s
        .send(
            "PUT",
            &format!("/products/{dime}"),
            Some(alice),
            Some(json!({"price": 9.99})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{repriced}");

    let (status, mine) = s.send("GET", "/orders", Some(alice), None).await;
    assert_eq!(status, StatusCode::OK);
    let mine = mine.as_array().unwrap();
    assert_eq!(mine.len(), 2, "alice's two orders");
    assert_eq!(mine[1]["order_id"].as_i64(), Some(order_id), "newest first");
    assert_eq!(
        mine[1]["items"][0]["unit_price"],
        json!(0.10),
        "prices never change afterwards"
    );
    let (_, by_name) = s.send("GET", "/orders/ALICE", Some(alice), None).await;
    assert_eq!(by_name.as_array().unwrap().len(), 2);
    let response = s.raw("GET", "/orders?limit=1", Some(alice), None).await;
    assert!(response.headers().contains_key("link"));

    let (status, body) = s.send("GET", "/orders/alice", Some(bob), None).await;
    assert_error(status, &body, StatusCode::FORBIDDEN, "forbidden");
    let (status, body) = s
        .send(
            "POST",
            "/orders/alice",
            Some(bob),
            Some(json!({"product_id": nickel, "quantity": 1})),
        )
        .await;
    assert_error(status, &body, StatusCode::FORBIDDEN, "forbidden");
    let (_, bobs) = s.send("GET", "/orders", Some(bob), None).await;
    assert_eq!(bobs, json!([]));
}

async fn invalid_orders_are_refused(s: &DevServer) {
    let alice = &s.user("alice").await;
    let Sweets { dime, sold_out, .. } = given::sweets(s, alice).await;
    let (status, body) = s
        .send(
            "POST",
            "/orders",
            Some(alice),
            Some(json!({"product_id": sold_out, "quantity": 1})),
        )
        .await;
    assert_error(status, &body, StatusCode::CONFLICT, "product_out_of_stock");
    let (status, body) = s
        .send(
            "POST",
            "/orders",
            Some(alice),
            Some(json!({"product_id": 987654321, "quantity": 1})),
        )
        .await;
    assert_error(status, &body, StatusCode::BAD_REQUEST, "product_not_found");
    assert!(body["error"].as_str().unwrap().contains("987654321"));
    let too_many: Vec<Value> = (1..=51)
        .map(|id| json!({"product_id": id, "quantity": 1}))
        .collect();
    for bad in [
        json!({"items": []}),
        json!({"items": too_many}),
        json!({"product_id": dime, "quantity": 0}),
        json!({"product_id": dime, "quantity": 1001}),
        json!({"product_id": dime}),
        json!({}),
        json!({"items": [{"product_id": "one", "quantity": 1}]}),
    ] {
        let (status, body) = s
            .send("POST", "/orders", Some(alice), Some(bad.clone()))
            .await;
        assert_error(status, &body, StatusCode::BAD_REQUEST, "validation_error");
    }
}
