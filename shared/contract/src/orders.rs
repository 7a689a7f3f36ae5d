//! Contract cases for orders: stored whole with their lines, listed per
//! owner, newest first.

use std::sync::Arc;

use shared::domain::{Money, OrderItem, PageRequest, Quantity};
use shared::repo::Store;

use crate::fixtures::{new_order, new_product, user};

pub async fn orders_are_stored_whole_and_listed_per_owner(store: Arc<dyn Store>) {
    let alice = user(&store, "alice").await;
    let bob = user(&store, "bob").await;
    let p = store
        .create_product(&new_product("Pen", "office", 150))
        .await
        .unwrap();
    let mut order = new_order(&alice, p.product_id, 3, 150);
    order.items.push(OrderItem {
        product_id: p.product_id + 1,
        product_name: "Other".into(),
        quantity: Quantity::new(2).unwrap(),
        unit_price: Money::from_cents(10),
        total: Money::from_cents(20),
    });
    let placed = store.place_order(&order, None).await.unwrap();
    assert_eq!(placed.items, order.items);
    assert_eq!(
        (placed.subtotal, placed.tax, placed.total),
        (order.subtotal, order.tax, order.total)
    );
    assert_eq!(
        (
            placed.user_id,
            placed.username.as_str(),
            placed.status.as_str()
        ),
        (alice.user_id, "alice", "pending")
    );
    assert_eq!(
        store.get_order(placed.order_id).await.unwrap().unwrap(),
        placed
    );
    assert!(
        store
            .get_order(placed.order_id + 1000)
            .await
            .unwrap()
            .is_none()
    );

    store
        .place_order(&new_order(&bob, p.product_id, 1, 150), None)
        .await
        .unwrap();
    let alices = store
        .list_orders_by_user(alice.user_id, PageRequest::first(50))
        .await
        .unwrap();
    assert_eq!(
        alices.items.iter().map(|o| o.order_id).collect::<Vec<_>>(),
        vec![placed.order_id]
    );
}

pub async fn order_lists_paginate_newest_first(store: Arc<dyn Store>) {
    let alice = user(&store, "alice").await;
    let mut ids = Vec::new();
    for _ in 0..5 {
        ids.push(
            store
                .place_order(&new_order(&alice, 1, 1, 100), None)
                .await
                .unwrap()
                .order_id,
        );
    }
    ids.reverse();
    let mut seen = Vec::new();
    let mut page = PageRequest::first(2);
    loop {
        let result = store
            .list_orders_by_user(alice.user_id, page)
            .await
            .unwrap();
        seen.extend(result.items.iter().map(|o| o.order_id));
        match result.next_after {
            Some(after) => {
                page = PageRequest {
                    limit: 2,
                    after: Some(after),
                }
            }
            None => break,
        }
    }
    assert_eq!(seen, ids);
}
