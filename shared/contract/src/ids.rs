//! Contract case for ids: every id a backend hands out is positive and
//! exact as a JSON number (below 2^53).

use std::sync::Arc;

use shared::domain::MAX_ID;
use shared::repo::Store;

use crate::fixtures::{invoiced_order, user};

pub async fn ids_are_positive_and_below_2_pow_53(store: Arc<dyn Store>) {
    let alice = user(&store, "alice").await;
    let invoice = invoiced_order(&store, &alice).await;
    for id in [
        alice.user_id,
        invoice.invoice_id,
        invoice.order_id,
        invoice.items[0].product_id,
    ] {
        assert!((1..=MAX_ID).contains(&id), "{id}");
    }
}
