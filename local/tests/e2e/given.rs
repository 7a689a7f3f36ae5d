//! The data a case needs, made through the API itself: the products and the
//! order the order and invoice cases start from. Each step checks it worked,
//! so a broken precondition fails where it happens.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::support::DevServer;

/// Three candy products: 0.10 (described "A sweet"), 0.05, and one out of stock.
pub struct Sweets {
    pub dime: i64,
    pub nickel: i64,
    pub sold_out: i64,
}

/// Creates a product as `token`; its id.
pub async fn product(s: &DevServer, token: &str, product: Value) -> i64 {
    let (status, created) = s
        .send("POST", "/products", Some(token), Some(product))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    created["product_id"].as_i64().unwrap()
}

pub async fn sweets(s: &DevServer, token: &str) -> Sweets {
    Sweets {
        dime: product(
            s,
            token,
            json!({"name": "Dime sweet", "description": "A sweet", "price": 0.10, "category": "candy"}),
        )
        .await,
        nickel: product(
            s,
            token,
            json!({"name": "Nickel sweet", "price": 0.05, "category": "candy"}),
        )
        .await,
        sold_out: product(
            s,
            token,
            json!({"name": "Rare", "price": 5, "category": "candy", "in_stock": false}),
        )
        .await,
    }
}

/// Places an order as `token` (either body form the API takes); the order.
pub async fn order(s: &DevServer, token: &str, body: Value) -> Value {
    let (status, order) = s.send("POST", "/orders", Some(token), Some(body)).await;
    assert_eq!(status, StatusCode::CREATED, "{order}");
    order
}

/// 2 + 1 dimes and a nickel: one line of 3 x 0.10 and one of 0.05; subtotal
/// 0.35, tax 0.04, total 0.39.
pub async fn sweets_order(s: &DevServer, token: &str, sweets: &Sweets) -> Value {
    order(
        s,
        token,
        json!({"items": [
            {"product_id": sweets.dime, "quantity": 2},
            {"product_id": sweets.nickel, "quantity": 1},
            {"product_id": sweets.dime, "quantity": 1},
        ]}),
    )
    .await
}

/// Makes the invoice of an order as `token` (201, a new one); the invoice.
pub async fn invoice(s: &DevServer, token: &str, order_id: i64) -> Value {
    let (status, invoice) = s
        .send(
            "POST",
            "/invoices",
            Some(token),
            Some(json!({"order_id": order_id})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{invoice}");
    invoice
}
