//! End-to-end: the dev server on a free loopback port, driven over real HTTP
//! through every route of API.md, once per backend. Each backend runs the very
//! same scenario on a fresh store; a backend whose server is absent fails.

mod support;

use reqwest::StatusCode;
use serde_json::{Value, json};
use support::{DevServer, assert_error};

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn e2e_sqlite() {
    let server = DevServer::sqlite(&[]).await;
    full_api_scenario(&server).await;
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn e2e_postgres() {
    let server = DevServer::postgres(&[]).await;
    full_api_scenario(&server).await;
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn e2e_clickhouse() {
    let server = DevServer::clickhouse(&[]).await;
    full_api_scenario(&server).await;
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn e2e_dynamodb() {
    let server = DevServer::dynamodb(&[]).await;
    full_api_scenario(&server).await;
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn catalog_writes_can_be_limited_to_admins() {
    let server =
        DevServer::sqlite(&[("CATALOG_WRITE", "admin"), ("ADMIN_USERNAMES", "boss")]).await;
    let customer = server.user("shopper").await;
    let boss = server.user("boss").await;
    let product = json!({"name": "Desk", "price": 120, "category": "office"});
    let (status, body) = server
        .send("POST", "/products", Some(&customer), Some(product.clone()))
        .await;
    assert_error(status, &body, StatusCode::FORBIDDEN, "forbidden");
    let (status, body) = server
        .send("POST", "/products", Some(&boss), Some(product))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    server.stop().await;
}

/// Every route and rule of API.md (Retries aside), as a client sees them.
async fn full_api_scenario(s: &DevServer) {
    health(s).await;
    catalog_reads(s).await;
    let alice = registration_and_login(s).await;
    authorizer_answers(s, &alice).await;
    let (dime, nickel, sold_out) = catalog_writes(s, &alice).await;
    let bob = s.user("bob").await;
    let order_id = orders(s, &alice, &bob, dime, nickel, sold_out).await;
    invoices(s, &alice, &bob, order_id, dime).await;
    admins(s, &alice).await;
    bodies(s, &alice).await;
}

async fn health(s: &DevServer) {
    let (status, body) = s.send("GET", "/health", None, None).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["status"], "ok");
    assert_eq!(body["database"], json!({"driver": s.driver, "ok": true}));
    assert!(body["timestamp"].as_str().unwrap().ends_with('Z'));
}

async fn catalog_reads(s: &DevServer) {
    let (status, all) = s.send("GET", "/products", None, None).await;
    assert_eq!(status, StatusCode::OK);
    let all = all.as_array().expect("a bare array").clone();
    assert!(all.len() >= 5, "sample products are seeded");
    let ids: Vec<i64> = all
        .iter()
        .map(|p| p["product_id"].as_i64().unwrap())
        .collect();
    assert!(ids.windows(2).all(|w| w[0] < w[1]), "by id: {ids:?}");
    assert!(
        all.iter().any(|p| p["in_stock"] == false),
        "one sample is out of stock"
    );
    let categories: std::collections::HashSet<&str> = all
        .iter()
        .map(|p| p["category"].as_str().unwrap())
        .collect();
    assert!(categories.len() >= 3);

    // Pagination: Link rel=next until exhausted, the same products in order.
    let mut seen = Vec::new();
    let mut next = Some("/products?limit=3".to_owned());
    while let Some(path) = next.take() {
        let response = s.raw("GET", &path, None, None).await;
        assert_eq!(response.status(), StatusCode::OK);
        next = response.headers().get("link").map(|l| {
            let l = l.to_str().unwrap();
            assert!(l.ends_with("; rel=\"next\""), "{l}");
            l[l.find('<').unwrap() + 1..l.find('>').unwrap()].to_owned()
        });
        let page: Value = response.json().await.unwrap();
        assert!(page.as_array().unwrap().len() <= 3);
        seen.extend(
            page.as_array()
                .unwrap()
                .iter()
                .map(|p| p["product_id"].as_i64().unwrap()),
        );
    }
    assert_eq!(seen, ids);
    for bad in [
        "/products?limit=0",
        "/products?limit=201",
        "/products?limit=x",
        "/products?cursor=nonsense",
    ] {
        let (status, body) = s.send("GET", bad, None, None).await;
        assert_error(status, &body, StatusCode::BAD_REQUEST, "validation_error");
    }

    let (_, books) = s.send("GET", "/products?category=books", None, None).await;
    let (_, books_by_path) = s.send("GET", "/products/category/books", None, None).await;
    assert!(!books.as_array().unwrap().is_empty());
    assert!(
        books
            .as_array()
            .unwrap()
            .iter()
            .all(|p| p["category"] == "books")
    );
    assert_eq!(books, books_by_path);
    let (_, none) = s
        .send("GET", "/products/category/no%20such%20thing", None, None)
        .await;
    assert_eq!(none, json!([]));

    let (status, one) = s
        .send("GET", &format!("/products/{}", ids[0]), None, None)
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(one, all[0]);
    for key in [
        "product_id",
        "name",
        "description",
        "price",
        "category",
        "in_stock",
        "created_at",
        "updated_at",
    ] {
        assert!(one.get(key).is_some(), "product has {key}");
    }
    let (status, body) = s.send("GET", "/products/987654321", None, None).await;
    assert_error(status, &body, StatusCode::NOT_FOUND, "product_not_found");
    let (status, body) = s.send("GET", "/products/abc", None, None).await;
    assert_error(status, &body, StatusCode::BAD_REQUEST, "validation_error");
}

async fn registration_and_login(s: &DevServer) -> String {
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
    body["token"].as_str().unwrap().to_owned()
}

async fn authorizer_answers(s: &DevServer, alice: &str) {
    let product = json!({"name": "X", "price": 1, "category": "c"});
    let response = s
        .raw("POST", "/products", None, Some(product.clone()))
        .await;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(
        response.json::<Value>().await.unwrap(),
        json!({"message": "Unauthorized"})
    );
    let forged = format!("{}x", alice);
    let expired = s.token_expired_for("alice").await;
    for token in ["garbage", forged.as_str(), expired.as_str()] {
        let response = s
            .raw("POST", "/products", Some(token), Some(product.clone()))
            .await;
        assert_eq!(response.status(), StatusCode::FORBIDDEN, "token {token}");
        assert_eq!(
            response.json::<Value>().await.unwrap(),
            json!({"message": "Forbidden"})
        );
    }
    let response = s.raw("GET", "/orders", None, None).await;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
}

/// Creates the products the order tests use: 0.10, 0.05, and one out of stock.
async fn catalog_writes(s: &DevServer, alice: &str) -> (i64, i64, i64) {
    let (status, created) = s
        .send("POST", "/products", Some(alice), Some(json!({"name": "Dime sweet", "description": "A sweet", "price": 0.10, "category": "candy"})))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    assert_eq!(
        (created["price"].clone(), created["in_stock"].clone()),
        (json!(0.10), json!(true))
    );
    let dime = created["product_id"].as_i64().unwrap();
    let response = s
        .raw(
            "POST",
            "/products",
            Some(alice),
            Some(json!({"name": "Nickel sweet", "price": 0.05, "category": "candy"})),
        )
        .await;
    assert_eq!(
        response.headers()["location"]
            .to_str()
            .unwrap()
            .split('/')
            .count(),
        3
    );
    let nickel: Value = response.json().await.unwrap();
    assert_eq!(nickel["description"], "");
    let nickel = nickel["product_id"].as_i64().unwrap();
    let (_, sold_out) = s
        .send(
            "POST",
            "/products",
            Some(alice),
            Some(json!({"name": "Rare", "price": 5, "category": "candy", "in_stock": false})),
        )
        .await;
    let sold_out = sold_out["product_id"].as_i64().unwrap();

    for (bad, field) in [
        (
            json!({"name": "A", "price": 10.999, "category": "c"}),
            "price",
        ),
        (json!({"name": "A", "price": -1, "category": "c"}), "price"),
        (
            json!({"name": "A", "price": "10", "category": "c"}),
            "price",
        ),
        (
            json!({"name": "A", "price": 1000000000.01, "category": "c"}),
            "price",
        ),
        (json!({"name": "A", "category": "c"}), "price"),
        (json!({"name": "", "price": 1, "category": "c"}), "name"),
        (
            json!({"name": "A", "price": 1, "category": "c", "in_stock": "yes"}),
            "in_stock",
        ),
    ] {
        let (status, body) = s
            .send("POST", "/products", Some(alice), Some(bad.clone()))
            .await;
        assert_error(status, &body, StatusCode::BAD_REQUEST, "validation_error");
        assert!(
            body["error"].as_str().unwrap().contains(field),
            "{bad} names {field}: {body}"
        );
    }

    let (status, updated) = s
        .send(
            "PUT",
            &format!("/products/{nickel}"),
            Some(alice),
            Some(json!({"description": "Now described", "unknown": 1})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{updated}");
    assert_eq!(
        (updated["description"].clone(), updated["price"].clone()),
        (json!("Now described"), json!(0.05))
    );
    let (status, stocked) = s
        .send(
            "PUT",
            &format!("/products/{sold_out}/stock"),
            Some(alice),
            Some(json!({"in_stock": true})),
        )
        .await;
    assert_eq!(
        (status, stocked["in_stock"].clone()),
        (StatusCode::OK, json!(true))
    );
    let (status, _) = s
        .send(
            "PUT",
            &format!("/products/{sold_out}/stock"),
            Some(alice),
            Some(json!({"in_stock": false})),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let (status, body) = s
        .send(
            "PUT",
            &format!("/products/{nickel}"),
            Some(alice),
            Some(json!({})),
        )
        .await;
    assert_error(status, &body, StatusCode::BAD_REQUEST, "validation_error");
    let (status, body) = s
        .send(
            "PUT",
            &format!("/products/{nickel}/stock"),
            Some(alice),
            Some(json!({})),
        )
        .await;
    assert_error(status, &body, StatusCode::BAD_REQUEST, "validation_error");
    let (status, body) = s
        .send(
            "PUT",
            "/products/987654321",
            Some(alice),
            Some(json!({"name": "Ghost"})),
        )
        .await;
    assert_error(status, &body, StatusCode::NOT_FOUND, "product_not_found");
    (dime, nickel, sold_out)
}

async fn orders(
    s: &DevServer,
    alice: &str,
    bob: &str,
    dime: i64,
    nickel: i64,
    sold_out: i64,
) -> i64 {
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
    s.send(
        "PUT",
        &format!("/products/{dime}"),
        Some(alice),
        Some(json!({"price": 9.99})),
    )
    .await;

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
    order_id
}

async fn invoices(s: &DevServer, alice: &str, bob: &str, order_id: i64, dime: i64) {
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

    // The status machine.
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

    // One invoice per order under concurrent requests, through HTTP.
    let (_, order) = s
        .send(
            "POST",
            "/orders",
            Some(alice),
            Some(json!({"product_id": dime, "quantity": 1})),
        )
        .await;
    let new_order = order["order_id"].as_i64().unwrap();
    let creators = (0..16).map(|_| {
        s.send(
            "POST",
            "/invoices",
            Some(alice),
            Some(json!({"order_id": new_order})),
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

async fn admins(s: &DevServer, alice: &str) {
    let admin = s.user("root").await;
    let (status, orders) = s.send("GET", "/orders/alice", Some(&admin), None).await;
    assert_eq!(status, StatusCode::OK);
    assert!(!orders.as_array().unwrap().is_empty());
    let alice_id = orders[0]["user_id"].as_i64().unwrap();
    let (status, _) = s
        .send(
            "GET",
            &format!("/invoices/user/{alice_id}"),
            Some(&admin),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let (status, body) = s
        .send("GET", "/orders/nobody_here", Some(&admin), None)
        .await;
    assert_error(status, &body, StatusCode::NOT_FOUND, "user_not_found");
    let (status, body) = s.send("GET", "/orders/root", Some(alice), None).await;
    assert_error(status, &body, StatusCode::FORBIDDEN, "forbidden");
}

async fn bodies(s: &DevServer, alice: &str) {
    let response = s
        .raw_text("POST", "/orders", Some(alice), "{\"items\": [")
        .await;
    let (status, body) = (response.status(), response.json::<Value>().await.unwrap());
    assert_error(status, &body, StatusCode::BAD_REQUEST, "invalid_json");
    let response = s.raw_text("POST", "/register", None, "").await;
    let (status, body) = (response.status(), response.json::<Value>().await.unwrap());
    assert_error(status, &body, StatusCode::BAD_REQUEST, "invalid_json");
    let huge = format!(
        "{{\"username\":\"x\",\"password\":\"{}\"}}",
        "p".repeat(70 * 1024)
    );
    let response = s.raw_text("POST", "/register", None, &huge).await;
    let (status, body) = (response.status(), response.json::<Value>().await.unwrap());
    assert_error(
        status,
        &body,
        StatusCode::PAYLOAD_TOO_LARGE,
        "payload_too_large",
    );
    let (status, body) = s.send("GET", "/no/such/route", None, None).await;
    assert_error(status, &body, StatusCode::NOT_FOUND, "route_not_found");
    let (status, body) = s.send("DELETE", "/products/1", Some(alice), None).await;
    assert_error(
        status,
        &body,
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
    );
}
