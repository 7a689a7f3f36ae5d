//! The rows this backend writes and reads, and their mapping to domain
//! types: `*Row` is what is inserted (and carried in claim payloads), `*Out`
//! what a query returns. Also the conversions every row needs: timestamps as
//! `DateTime` seconds, JSON for claim payloads, and product update versions.

use std::time::{SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

use crate::domain::invoice::invoice_number;
use crate::domain::order::ORDER_STATUS_PENDING;
use crate::domain::{Invoice, InvoiceStatus, Money, NewProduct, Order, Product, Timestamp};
use crate::error::{AppError, AppResult};
use crate::repo::{codec, random};

#[derive(Serialize, Deserialize)]
pub(super) struct UserRow {
    pub name_key: String,
    pub id: i64,
    pub username: String,
    pub password_hash: String,
    pub created_at: u32,
}

#[derive(Deserialize)]
pub(super) struct UserOut {
    pub id: i64,
    pub username: String,
    pub password_hash: String,
    pub created_s: i64,
}

#[derive(Serialize, Deserialize)]
pub(super) struct ProductRow {
    pub id: i64,
    pub version: u64,
    pub name: Option<String>,
    pub description: Option<String>,
    pub price_cents: Option<i64>,
    pub category: Option<String>,
    pub in_stock: Option<u8>,
    pub created_at: Option<u32>,
    pub updated_at: Option<u32>,
}

impl ProductRow {
    pub(super) fn created(id: i64, p: &NewProduct) -> AppResult<ProductRow> {
        let at = seconds(p.created_at)?;
        Ok(ProductRow {
            id,
            version: 0,
            name: Some(p.name.clone()),
            description: Some(p.description.clone()),
            price_cents: Some(p.price.cents()),
            category: Some(p.category.clone()),
            in_stock: Some(u8::from(p.in_stock)),
            created_at: Some(at),
            updated_at: Some(at),
        })
    }
}

#[derive(Deserialize)]
pub(super) struct ProductOut {
    pub id: i64,
    pub name: String,
    pub description: String,
    pub price_cents: i64,
    pub category: String,
    pub in_stock: u8,
    pub created_s: i64,
    pub updated_s: i64,
    pub latest_version: u64,
}

impl ProductOut {
    pub(super) fn product(self) -> Product {
        Product {
            product_id: self.id,
            name: self.name,
            description: self.description,
            price: Money::from_cents(self.price_cents),
            category: self.category,
            in_stock: self.in_stock != 0,
            created_at: Timestamp::from_unix(self.created_s),
            updated_at: Timestamp::from_unix(self.updated_s),
        }
    }
}

#[derive(Serialize)]
pub(super) struct OrderRow {
    pub id: i64,
    pub user_id: i64,
    pub username: String,
    pub items: String,
    pub subtotal_cents: i64,
    pub tax_cents: i64,
    pub total_cents: i64,
    pub status: String,
    pub created_at: u32,
}

#[derive(Deserialize)]
pub(super) struct OrderOut {
    pub id: i64,
    pub user_id: i64,
    pub username: String,
    pub items: String,
    pub subtotal_cents: i64,
    pub tax_cents: i64,
    pub total_cents: i64,
    pub status: String,
    pub created_s: i64,
}

impl OrderOut {
    pub(super) fn order(self) -> AppResult<Order> {
        Ok(Order {
            order_id: self.id,
            user_id: self.user_id,
            username: self.username,
            items: codec::decode_order_items(&self.items)?,
            subtotal: Money::from_cents(self.subtotal_cents),
            tax: Money::from_cents(self.tax_cents),
            total: Money::from_cents(self.total_cents),
            status: if self.status.is_empty() {
                ORDER_STATUS_PENDING.into()
            } else {
                self.status
            },
            created_at: Timestamp::from_unix(self.created_s),
        })
    }
}

/// One version of an invoice: what is inserted, claimed and read back.
#[derive(Serialize, Deserialize, Clone)]
pub(super) struct InvoiceRow {
    pub id: i64,
    pub version: u32,
    pub order_id: i64,
    pub user_id: i64,
    pub username: String,
    pub items: String,
    pub subtotal_cents: i64,
    pub tax_cents: i64,
    pub total_cents: i64,
    pub status: String,
    pub status_history: String,
    pub created_at: u32,
    pub due_date: u32,
}

impl InvoiceRow {
    /// The next version after applying one stored status change (as encoded by
    /// the codec). Deterministic, so a winner and a helper write the same row.
    pub(super) fn moved(&self, change_json: &str) -> AppResult<InvoiceRow> {
        let change = codec::decode_status_history(&format!("[{change_json}]"))?
            .pop()
            .ok_or_else(|| AppError::internal("empty status change"))?;
        let mut history: Vec<serde_json::Value> = from_json(&self.status_history)?;
        history.push(from_json(change_json)?);
        Ok(InvoiceRow {
            version: self.version + 1,
            status: change.to.as_str().to_owned(),
            status_history: to_json(&history)?,
            ..self.clone()
        })
    }

    pub(super) fn invoice(self) -> AppResult<Invoice> {
        let created_at = Timestamp::from_unix(i64::from(self.created_at));
        Ok(Invoice {
            invoice_id: self.id,
            invoice_number: invoice_number(self.id, created_at),
            order_id: self.order_id,
            user_id: self.user_id,
            username: self.username,
            items: codec::decode_invoice_items(&self.items)?,
            subtotal: Money::from_cents(self.subtotal_cents),
            tax: Money::from_cents(self.tax_cents),
            total: Money::from_cents(self.total_cents),
            status: InvoiceStatus::parse(&self.status)
                .map_err(|_| AppError::internal("stored invoice status unreadable"))?,
            created_at,
            due_date: Timestamp::from_unix(i64::from(self.due_date)),
            status_history: codec::decode_status_history(&self.status_history)?,
        })
    }
}

#[derive(Deserialize)]
pub(super) struct InvoiceOut {
    pub id: i64,
    pub version: u32,
    pub order_id: i64,
    pub user_id: i64,
    pub username: String,
    pub items: String,
    pub subtotal_cents: i64,
    pub tax_cents: i64,
    pub total_cents: i64,
    pub status: String,
    pub status_history: String,
    pub created_s: u32,
    pub due_s: u32,
}

impl From<InvoiceOut> for InvoiceRow {
    fn from(o: InvoiceOut) -> InvoiceRow {
        InvoiceRow {
            id: o.id,
            version: o.version,
            order_id: o.order_id,
            user_id: o.user_id,
            username: o.username,
            items: o.items,
            subtotal_cents: o.subtotal_cents,
            tax_cents: o.tax_cents,
            total_cents: o.total_cents,
            status: o.status,
            status_history: o.status_history,
            created_at: o.created_s,
            due_date: o.due_s,
        }
    }
}

#[derive(Deserialize, Default)]
pub(super) struct Count {
    pub n: u64,
}

/// A timestamp as a `DateTime` value: Unix seconds that fit its UInt32.
pub(super) fn seconds(t: Timestamp) -> AppResult<u32> {
    u32::try_from(t.unix()).map_err(|_| {
        AppError::internal(format!(
            "timestamp {} outside ClickHouse DateTime",
            t.unix()
        ))
    })
}

pub(super) fn to_json<T: Serialize>(value: &T) -> AppResult<String> {
    serde_json::to_string(value).map_err(AppError::internal)
}

pub(super) fn from_json<T: serde::de::DeserializeOwned>(text: &str) -> AppResult<T> {
    serde_json::from_str(text)
        .map_err(|e| AppError::internal(format!("stored claim unreadable: {e}")))
}

/// A product update's version: its time in ms, above the version it read,
/// with 16 random low bits so two updates in the same ms do not tie.
pub(super) fn next_version(read: u64) -> u64 {
    let now_ms = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or_default();
    let step = now_ms.max((read >> 16) + 1);
    (step << 16) | (random::token() & 0xFFFF)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::StatusChange;

    #[test]
    fn update_versions_exceed_the_version_read() {
        let created = 0;
        let first = next_version(created);
        assert!(first > created);
        // Even when the version read is "from the future" (another clock).
        let future = (u64::from(u32::MAX) << 20) | 5;
        assert!(next_version(future) > future);
    }

    #[test]
    fn a_move_appends_one_history_entry_and_bumps_the_version() {
        let row = InvoiceRow {
            id: 9,
            version: 0,
            order_id: 1,
            user_id: 2,
            username: "alice".into(),
            items: "[]".into(),
            subtotal_cents: 100,
            tax_cents: 10,
            total_cents: 110,
            status: "draft".into(),
            status_history: "[]".into(),
            created_at: 1_790_000_000,
            due_date: 1_792_592_000,
        };
        let change = StatusChange {
            from: InvoiceStatus::Draft,
            to: InvoiceStatus::Sent,
            changed_by: 2,
            changed_at: Timestamp::from_unix(1_790_000_100),
        };
        let sent = row.moved(&codec::encode_status_change(&change)).unwrap();
        assert_eq!((sent.version, sent.status.as_str()), (1, "sent"));
        assert_eq!(
            row.moved(&codec::encode_status_change(&change))
                .unwrap()
                .status_history,
            sent.status_history
        );
        let invoice = sent.invoice().unwrap();
        assert_eq!(invoice.status_history, vec![change]);
        assert_eq!(invoice.invoice_number, "INV-2026-000009");
    }

    #[test]
    fn timestamps_outside_datetime_are_refused() {
        assert_eq!(
            seconds(Timestamp::from_unix(1_790_000_000)).unwrap(),
            1_790_000_000
        );
        assert!(seconds(Timestamp::from_unix(-1)).is_err());
        assert!(seconds(Timestamp::from_unix(i64::from(u32::MAX) + 1)).is_err());
    }
}
