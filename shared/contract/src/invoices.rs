//! Contract cases for invoices: one per order even under concurrent
//! creators, found by id, by order and by owner, status moves as
//! compare-and-set with one winner.

use std::collections::HashSet;
use std::sync::Arc;

use futures::future::join_all;
use shared::domain::{InvoiceStatus, Money, PageRequest};
use shared::repo::Store;

use crate::fixtures::{change, invoiced_order, new_invoice, new_order, user};

pub async fn one_invoice_per_order_under_concurrent_creators(store: Arc<dyn Store>) {
    let alice = user(&store, "alice").await;
    let order = store
        .place_order(&new_order(&alice, 1, 2, 250), None)
        .await
        .unwrap();
    let creators = (0..32).map(|_| {
        let store = store.clone();
        let new = new_invoice(&order);
        tokio::spawn(async move { store.create_invoice_once(&new, None).await })
    });
    let results: Vec<_> = join_all(creators)
        .await
        .into_iter()
        .map(|r| r.unwrap().unwrap())
        .collect();
    let ids: HashSet<i64> = results.iter().map(|(inv, _)| inv.invoice_id).collect();
    assert_eq!(ids.len(), 1, "one invoice: {ids:?}");
    assert_eq!(results.iter().filter(|(_, created)| *created).count(), 1);
    let invoice = &results[0].0;
    assert_eq!(
        (invoice.order_id, invoice.status),
        (order.order_id, InvoiceStatus::Draft)
    );
    assert_eq!(
        (invoice.subtotal, invoice.tax, invoice.total),
        (order.subtotal, order.tax, order.total)
    );
    assert_eq!(invoice.items.len(), 1);
    assert_eq!(invoice.items[0].total_price, Money::from_cents(500));
    assert!(invoice.status_history.is_empty());
    let listed = store
        .list_invoices_by_user(alice.user_id, PageRequest::first(50))
        .await
        .unwrap();
    assert_eq!(listed.items.len(), 1);
}

pub async fn invoices_are_found_by_id_order_and_owner(store: Arc<dyn Store>) {
    let alice = user(&store, "alice").await;
    let bob = user(&store, "bob").await;
    let first = invoiced_order(&store, &alice).await;
    let second = invoiced_order(&store, &alice).await;
    let bobs = invoiced_order(&store, &bob).await;
    assert_eq!(
        store.get_invoice(first.invoice_id).await.unwrap().unwrap(),
        first
    );
    assert_eq!(
        store
            .get_invoice_by_order(second.order_id)
            .await
            .unwrap()
            .unwrap(),
        second
    );
    assert!(
        store
            .get_invoice(bobs.invoice_id + 1000)
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        store
            .get_invoice_by_order(bobs.order_id + 1000)
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        first.invoice_number.starts_with("INV-") && first.invoice_number != second.invoice_number
    );
    let alices = store
        .list_invoices_by_user(alice.user_id, PageRequest::first(1))
        .await
        .unwrap();
    assert_eq!(
        alices
            .items
            .iter()
            .map(|i| i.invoice_id)
            .collect::<Vec<_>>(),
        vec![second.invoice_id]
    );
    let rest = store
        .list_invoices_by_user(
            alice.user_id,
            PageRequest {
                limit: 1,
                after: alices.next_after,
            },
        )
        .await
        .unwrap();
    assert_eq!(
        rest.items.iter().map(|i| i.invoice_id).collect::<Vec<_>>(),
        vec![first.invoice_id]
    );
    assert_eq!(rest.next_after, None);
}

pub async fn status_moves_are_compare_and_set(store: Arc<dyn Store>) {
    let alice = user(&store, "alice").await;
    let invoice = invoiced_order(&store, &alice).await;
    use InvoiceStatus::*;
    let sent = store
        .transition_invoice(invoice.invoice_id, &change(Draft, Sent, alice.user_id))
        .await
        .unwrap();
    let sent = sent.expect("draft -> sent applies");
    assert_eq!(sent.status, Sent);
    assert_eq!(sent.status_history.len(), 1);
    assert_eq!(
        (sent.status_history[0].from, sent.status_history[0].to),
        (Draft, Sent)
    );
    assert_eq!(sent.status_history[0].changed_by, alice.user_id);
    // The old status no longer holds: nothing is written.
    assert!(
        store
            .transition_invoice(invoice.invoice_id, &change(Draft, Paid, 1))
            .await
            .unwrap()
            .is_none()
    );
    assert_eq!(
        store
            .get_invoice(invoice.invoice_id)
            .await
            .unwrap()
            .unwrap(),
        sent
    );
    assert!(
        store
            .transition_invoice(invoice.invoice_id + 1000, &change(Draft, Sent, 1))
            .await
            .unwrap()
            .is_none()
    );
}

pub async fn concurrent_status_moves_have_one_winner(store: Arc<dyn Store>) {
    let alice = user(&store, "alice").await;
    let invoice = invoiced_order(&store, &alice).await;
    use InvoiceStatus::*;
    store
        .transition_invoice(invoice.invoice_id, &change(Draft, Sent, 1))
        .await
        .unwrap()
        .unwrap();
    let movers = (0..32).map(|i| {
        let store = store.clone();
        let to = if i % 2 == 0 { Paid } else { Cancelled };
        tokio::spawn(async move {
            (
                to,
                store
                    .transition_invoice(invoice.invoice_id, &change(Sent, to, i))
                    .await,
            )
        })
    });
    let results: Vec<_> = join_all(movers)
        .await
        .into_iter()
        .map(|r| r.unwrap())
        .collect();
    let winners: Vec<_> = results
        .iter()
        .filter_map(|(to, r)| r.as_ref().unwrap().as_ref().map(|inv| (*to, inv)))
        .collect();
    assert_eq!(winners.len(), 1, "exactly one compare-and-set wins");
    let (to, won) = winners[0];
    let stored = store
        .get_invoice(invoice.invoice_id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!((stored.status, won.status), (to, to));
    assert_eq!(
        stored.status_history.len(),
        2,
        "no lost or extra history: {:?}",
        stored.status_history
    );
}
