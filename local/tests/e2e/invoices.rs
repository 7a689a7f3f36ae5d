//! Invoices: one per order, made and read only by the order's owner, billed
//! at the order's prices, moved through the status machine.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::given;
use crate::support::{DevServer, assert_error};

on_every_backend! {
    invoices_are_made_once_per_order_and_read_by_their_owner,
    invoice_status_moves_follow_the_machine,
}

/// Made once per order by its owner (201, then 200 with the same invoice,
/// also under concurrent requests), from the order's lines and prices; read
/// by id, by order and by owner, and by no one else.
async fn invoices_are_made_once_per_order_and_read_by_their_owner(s: &DevServer) {
    let alice = &s.user("alice").await;
    let bob = &s.user("bob").await;
    let sweets = given::sweets(s, alice).await;
    let dime = sweets.dime;
    let order_id = given::sweets_order(s, alice, &sweets).await["order_id"]
        .as_i64()
        .unwrap();
    // A price change after ordering: the invoice still bills the order's prices.
    let (status, repriced) = s
        .send(
            "PUT",
            &format!("/products/{dime}"),
            Some(alice),
            Some(json!({"price": 9.99})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{repriced}");

    let response = s
        .raw(
            "POST",
            "/invoices",
            Some(alice),
            Some(json!({"order_id": order_id})),
        )
        .await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let location = response.headers()["location"].to_str().unwrap().to_owned();
    let invoice: Value = response.json().await.unwrap();
    let id = invoice["invoice_id"].as_i64().unwrap();
    assert_eq!(location, format!("/invoices/{id}"));
    assert_eq!(invoice["status"], "draft");
    assert!(
        invoice["invoice_number"]
            .as_str()
            .unwrap()
            .starts_with("INV-")
    );
    assert_eq!(
        (
            invoice["subtotal"].clone(),
            invoice["tax"].clone(),
            invoice["total"].clone()
        ),
        (json!(0.35), json!(0.04), json!(0.39))
    );
    assert_eq!(invoice["items"][0]["product_id"].as_i64(), Some(dime));
    assert_eq!(invoice["items"][0]["description"], "A sweet");
    assert_eq!(invoice["items"][0]["total_price"], json!(0.30));
    for key in ["user_id", "username", "created_at", "due_date"] {
        assert!(invoice.get(key).is_some(), "invoice has {key}");
    }

    let (status, again) = s
        .send(
            "POST",
            "/invoices",
            Some(alice),
            Some(json!({"order_id": order_id})),
        )
        .await;
    assert_eq!(
        (status, again["invoice_id"].as_i64()),
        (StatusCode::OK, Some(id))
    );
    let (status, body) = s
        .send(
            "POST",
            "/invoices",
            Some(bob),
            Some(json!({"order_id": order_id})),
        )
        .await;
    assert_error(status, &body, StatusCode::FORBIDDEN, "forbidden");
    let (status, body) = s
        .send(
            "POST",
            "/invoices",
            Some(alice),
            Some(json!({"order_id": 987654321})),
        )
        .await;
    assert_error(status, &body, StatusCode::NOT_FOUND, "order_not_found");
    let (status, body) = s
        .send(
            "POST",
            "/invoices",
            Some(alice),
            Some(json!({"order_id": "1"})),
        )
        .await;
    assert_error(status, &body, StatusCode::BAD_REQUEST, "validation_error");

    let (status, got) = s
        .send("GET", &format!("/invoices/{id}"), Some(alice), None)
        .await;
    assert_eq!(
        (status, got["invoice_id"].as_i64()),
        (StatusCode::OK, Some(id))
    );
    let (status, body) = s
        .send("GET", &format!("/invoices/{id}"), Some(bob), None)
        .await;
    assert_error(status, &body, StatusCode::FORBIDDEN, "forbidden");
    let (status, body) = s
        .send("GET", "/invoices/987654321", Some(alice), None)
        .await;
    assert_error(status, &body, StatusCode::NOT_FOUND, "invoice_not_found");
    let (status, by_order) = s
        .send(
            "GET",
            &format!("/invoices/order/{order_id}"),
            Some(alice),
            None,
        )
        .await;
    assert_eq!(
        (status, by_order["invoice_id"].as_i64()),
        (StatusCode::OK, Some(id))
    );
    let (status, body) = s
        .send(
            "GET",
            &format!("/invoices/order/{order_id}"),
            Some(bob),
            None,
        )
        .await;
    assert_error(status, &body, StatusCode::FORBIDDEN, "forbidden");

    let user_id = invoice["user_id"].as_i64().unwrap();
    let (status, list) = s
        .send(
            "GET",
            &format!("/invoices/user/{user_id}"),
            Some(alice),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(list.as_array().unwrap().len(), 1);
    let (status, body) = s
        .send("GET", &format!("/invoices/user/{user_id}"), Some(bob), None)
        .await;
    assert_error(status, &body, StatusCode::FORBIDDEN, "forbidden");

    // One invoice per order under 16 concurrent requests too: one 201, the
    // rest 200, all the same invoice.
    let fresh_order = given::order(s, alice, json!({"product_id": dime, "quantity": 1})).await;
    let fresh_order = fresh_order["order_id"].as_i64().unwrap();
    let creators = (0..16).map(|_| {
        s.send(
            "POST",
            "/invoices",
            Some(alice),
            Some(json!({"order_id": fresh_order})),
        )
    });
    let results = futures::future::join_all(creators).await;
    let ids: std::collections::HashSet<i64> = results
        .iter()
        .map(|(_, b)| b["invoice_id"].as_i64().unwrap())
        .collect();
    assert_eq!(ids.len(), 1, "{results:?}");
    assert_eq!(
        results
            .iter()
            .filter(|(st, _)| *st == StatusCode::CREATED)
            .count(),
        1
    );
    assert!(
        results
            .iter()
            .all(|(st, _)| *st == StatusCode::CREATED || *st == StatusCode::OK)
    );
}

/// draft -> sent -> paid; a repeated move is a no-op, a backward or
/// unknown one is refused, and only the owner moves it.
async fn invoice_status_moves_follow_the_machine(s: &DevServer) {
    let alice = &s.user("alice").await;
    let bob = &s.user("bob").await;
    let dime = given::product(
        s,
        alice,
        json!({"name": "Dime sweet", "price": 0.10, "category": "candy"}),
    )
    .await;
    let order = given::order(s, alice, json!({"product_id": dime, "quantity": 1})).await;
    let invoice = given::invoice(s, alice, order["order_id"].as_i64().unwrap()).await;
    let id = invoice["invoice_id"].as_i64().unwrap();
    let path = format!("/invoices/{id}");
    let (status, sent) = s
        .send("PUT", &path, Some(alice), Some(json!({"status": "sent"})))
        .await;
    assert_eq!(
        (status, sent["status"].clone()),
        (StatusCode::OK, json!("sent"))
    );
    assert_eq!(sent["status_history"][0]["from"], "draft");
    let (status, same) = s
        .send("PUT", &path, Some(alice), Some(json!({"status": "sent"})))
        .await;
    assert_eq!(
        (status, same["status_history"].as_array().unwrap().len()),
        (StatusCode::OK, 1),
        "no-op"
    );
    let (status, body) = s
        .send("PUT", &path, Some(alice), Some(json!({"status": "draft"})))
        .await;
    assert_error(
        status,
        &body,
        StatusCode::CONFLICT,
        "invalid_status_transition",
    );
    let (status, body) = s
        .send("PUT", &path, Some(bob), Some(json!({"status": "paid"})))
        .await;
    assert_error(status, &body, StatusCode::FORBIDDEN, "forbidden");
    let (status, body) = s
        .send("PUT", &path, Some(alice), Some(json!({"status": "void"})))
        .await;
    assert_error(status, &body, StatusCode::BAD_REQUEST, "validation_error");
    let (status, paid) = s
        .send("PUT", &path, Some(alice), Some(json!({"status": "paid"})))
        .await;
    assert_eq!(
        (status, paid["status"].clone()),
        (StatusCode::OK, json!("paid"))
    );
    let (status, body) = s
        .send(
            "PUT",
            &path,
            Some(alice),
            Some(json!({"status": "cancelled"})),
        )
        .await;
    assert_error(
        status,
        &body,
        StatusCode::CONFLICT,
        "invalid_status_transition",
    );
}
