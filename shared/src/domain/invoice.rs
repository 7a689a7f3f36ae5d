//! Invoices and their status machine.

use std::fmt;

use serde::Serialize;

use super::{Money, Timestamp};
use crate::error::AppError;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum InvoiceStatus {
    Draft,
    Sent,
    Paid,
    Cancelled,
}

impl InvoiceStatus {
    pub const ALL: [InvoiceStatus; 4] = [
        InvoiceStatus::Draft,
        InvoiceStatus::Sent,
        InvoiceStatus::Paid,
        InvoiceStatus::Cancelled,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            InvoiceStatus::Draft => "draft",
            InvoiceStatus::Sent => "sent",
            InvoiceStatus::Paid => "paid",
            InvoiceStatus::Cancelled => "cancelled",
        }
    }

    pub fn parse(text: &str) -> Result<InvoiceStatus, AppError> {
        InvoiceStatus::ALL
            .into_iter()
            .find(|s| s.as_str() == text)
            .ok_or_else(|| {
                AppError::validation("status must be one of draft, sent, paid, cancelled")
            })
    }

    /// The machine: draft -> sent | paid | cancelled; sent -> paid | cancelled;
    /// paid and cancelled are final. Staying put is not a transition.
    pub fn can_become(self, next: InvoiceStatus) -> bool {
        use InvoiceStatus::*;
        matches!(
            (self, next),
            (Draft, Sent) | (Draft, Paid) | (Draft, Cancelled) | (Sent, Paid) | (Sent, Cancelled)
        )
    }

    pub fn is_final(self) -> bool {
        matches!(self, InvoiceStatus::Paid | InvoiceStatus::Cancelled)
    }
}

impl fmt::Display for InvoiceStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for InvoiceStatus {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct InvoiceItem {
    pub product_id: i64,
    pub product_name: String,
    pub description: String,
    pub quantity: u32,
    pub unit_price: Money,
    pub total_price: Money,
}

/// One recorded status change: who moved the invoice, from what, to what, when.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct StatusChange {
    pub from: InvoiceStatus,
    pub to: InvoiceStatus,
    pub changed_by: i64,
    pub changed_at: Timestamp,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Invoice {
    pub invoice_id: i64,
    pub invoice_number: String,
    pub order_id: i64,
    pub user_id: i64,
    pub username: String,
    pub items: Vec<InvoiceItem>,
    pub subtotal: Money,
    pub tax: Money,
    pub total: Money,
    pub status: InvoiceStatus,
    pub created_at: Timestamp,
    pub due_date: Timestamp,
    pub status_history: Vec<StatusChange>,
}

/// The human-readable number of an invoice, derived from its id and year:
/// unique because the id is.
pub fn invoice_number(invoice_id: i64, created_at: Timestamp) -> String {
    format!("INV-{}-{:06}", created_at.year(), invoice_id)
}

/// An invoice to create for an order (status draft, due 30 days later).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewInvoice {
    pub order_id: i64,
    pub user_id: i64,
    pub username: String,
    pub items: Vec<InvoiceItem>,
    pub subtotal: Money,
    pub tax: Money,
    pub total: Money,
    pub created_at: Timestamp,
    pub due_date: Timestamp,
}

pub const INVOICE_DUE_DAYS: i64 = 30;

#[cfg(test)]
mod tests {
    use super::InvoiceStatus::*;
    use super::*;

    #[test]
    fn status_machine_allows_only_the_listed_moves() {
        let allowed = [
            (Draft, Sent),
            (Draft, Paid),
            (Draft, Cancelled),
            (Sent, Paid),
            (Sent, Cancelled),
        ];
        for from in InvoiceStatus::ALL {
            for to in InvoiceStatus::ALL {
                assert_eq!(
                    from.can_become(to),
                    allowed.contains(&(from, to)),
                    "{from} -> {to}"
                );
            }
        }
        assert!(Paid.is_final() && Cancelled.is_final() && !Draft.is_final());
    }

    #[test]
    fn parses_known_statuses_only() {
        assert_eq!(InvoiceStatus::parse("sent").unwrap(), Sent);
        assert!(InvoiceStatus::parse("SENT").is_err());
        assert!(InvoiceStatus::parse("void").is_err());
    }

    #[test]
    fn invoice_numbers_are_readable() {
        assert_eq!(
            invoice_number(123, Timestamp::from_unix(1_795_080_600)),
            "INV-2026-000123"
        );
    }
}
