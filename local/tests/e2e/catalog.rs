//! The catalog: the seeded sample products read in pages, by category and by
//! id; products created, validated and updated; writes limited to admins
//! when configured so.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::support::{DevServer, assert_error};

on_every_backend! {
    the_seeded_catalog_reads_in_pages_and_by_category,
    products_are_created_validated_and_updated_in_part,
    writes_can_be_limited_to_admins [("CATALOG_WRITE", "admin")],
}

async fn the_seeded_catalog_reads_in_pages_and_by_category(s: &DevServer) {
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

async fn products_are_created_validated_and_updated_in_part(s: &DevServer) {
    let alice = &s.user("alice").await;
    let (status, created) = s
        .send("POST", "/products", Some(alice), Some(json!({"name": "Dime sweet", "description": "A sweet", "price": 0.10, "category": "candy"})))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    assert_eq!(
        (created["price"].clone(), created["in_stock"].clone()),
        (json!(0.10), json!(true))
    );
    assert!(created["product_id"].as_i64().is_some());
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
    let (status, sold_out) = s
        .send(
            "POST",
            "/products",
            Some(alice),
            Some(json!({"name": "Rare", "price": 5, "category": "candy", "in_stock": false})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{sold_out}");
    assert_eq!(sold_out["in_stock"], json!(false));
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
}

/// With `CATALOG_WRITE=admin`, a customer may not create a product; an admin may.
async fn writes_can_be_limited_to_admins(server: &DevServer) {
    let customer = server.user("shopper").await;
    let boss = server.admin("boss").await;
    let product = json!({"name": "Desk", "price": 120, "category": "office"});
    let (status, body) = server
        .send("POST", "/products", Some(&customer), Some(product.clone()))
        .await;
    assert_error(status, &body, StatusCode::FORBIDDEN, "forbidden");
    let (status, body) = server
        .send("POST", "/products", Some(&boss), Some(product))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
}
