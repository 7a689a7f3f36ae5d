//! How order lines, invoice lines and status history are stored inside one
//! record. They are immutable snapshots (or append-only, for history) that are
//! always read with their parent, so every backend keeps them as a JSON document
//! on the parent row or item: one write, atomic with the parent.

use serde::{Deserialize, Serialize};

use crate::domain::{
    InvoiceItem, InvoiceStatus, Money, OrderItem, Quantity, StatusChange, Timestamp,
};
use crate::error::{AppError, AppResult};

#[derive(Serialize, Deserialize)]
struct StoredOrderItem {
    product_id: i64,
    product_name: String,
    quantity: u32,
    unit_price_cents: i64,
    total_cents: i64,
}

#[derive(Serialize, Deserialize)]
struct StoredInvoiceItem {
    product_id: i64,
    product_name: String,
    description: String,
    quantity: u32,
    unit_price_cents: i64,
    total_cents: i64,
}

#[derive(Serialize, Deserialize)]
struct StoredStatusChange {
    from: String,
    to: String,
    by: i64,
    at: i64,
}

fn corrupt(what: &str, e: impl std::fmt::Display) -> AppError {
    AppError::internal(format!("stored {what} unreadable: {e}"))
}

pub fn encode_order_items(items: &[OrderItem]) -> String {
    let stored: Vec<_> = items
        .iter()
        .map(|i| StoredOrderItem {
            product_id: i.product_id,
            product_name: i.product_name.clone(),
            quantity: i.quantity.get(),
            unit_price_cents: i.unit_price.cents(),
            total_cents: i.total.cents(),
        })
        .collect();
    serde_json::to_string(&stored).unwrap_or_default()
}

pub fn decode_order_items(json: &str) -> AppResult<Vec<OrderItem>> {
    let stored: Vec<StoredOrderItem> =
        serde_json::from_str(json).map_err(|e| corrupt("order items", e))?;
    stored
        .into_iter()
        .map(|s| {
            Ok(OrderItem {
                product_id: s.product_id,
                product_name: s.product_name,
                quantity: Quantity::new(i64::from(s.quantity))
                    .map_err(|e| corrupt("order items", e))?,
                unit_price: Money::from_cents(s.unit_price_cents),
                total: Money::from_cents(s.total_cents),
            })
        })
        .collect()
}

pub fn encode_invoice_items(items: &[InvoiceItem]) -> String {
    let stored: Vec<_> = items
        .iter()
        .map(|i| StoredInvoiceItem {
            product_id: i.product_id,
            product_name: i.product_name.clone(),
            description: i.description.clone(),
            quantity: i.quantity,
            unit_price_cents: i.unit_price.cents(),
            total_cents: i.total_price.cents(),
        })
        .collect();
    serde_json::to_string(&stored).unwrap_or_default()
}

pub fn decode_invoice_items(json: &str) -> AppResult<Vec<InvoiceItem>> {
    let stored: Vec<StoredInvoiceItem> =
        serde_json::from_str(json).map_err(|e| corrupt("invoice items", e))?;
    Ok(stored
        .into_iter()
        .map(|s| InvoiceItem {
            product_id: s.product_id,
            product_name: s.product_name,
            description: s.description,
            quantity: s.quantity,
            unit_price: Money::from_cents(s.unit_price_cents),
            total_price: Money::from_cents(s.total_cents),
        })
        .collect())
}

/// One status change as a JSON object, to append to a stored history array.
pub fn encode_status_change(change: &StatusChange) -> String {
    serde_json::to_string(&StoredStatusChange {
        from: change.from.as_str().into(),
        to: change.to.as_str().into(),
        by: change.changed_by,
        at: change.changed_at.unix(),
    })
    .unwrap_or_default()
}

pub fn decode_status_history(json: &str) -> AppResult<Vec<StatusChange>> {
    let stored: Vec<StoredStatusChange> =
        serde_json::from_str(json).map_err(|e| corrupt("status history", e))?;
    stored
        .into_iter()
        .map(|s| {
            Ok(StatusChange {
                from: InvoiceStatus::parse(&s.from).map_err(|e| corrupt("status history", e))?,
                to: InvoiceStatus::parse(&s.to).map_err(|e| corrupt("status history", e))?,
                changed_by: s.by,
                changed_at: Timestamp::from_unix(s.at),
            })
        })
        .collect()
}
