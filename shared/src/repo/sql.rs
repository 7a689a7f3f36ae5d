//! What the two sqlx backends (SQLite, PostgreSQL) share: error mapping and the
//! mapping of result rows to domain types. Both select the same column names,
//! with timestamps as Unix seconds, so one mapper serves both.

use sqlx::{ColumnIndex, Decode, Row, Type};

pub(crate) mod idempotency;

use super::codec;
use crate::domain::invoice::invoice_number;
use crate::domain::order::ORDER_STATUS_PENDING;
use crate::domain::{Invoice, InvoiceStatus, Money, Order, Product, Timestamp, User, UserRecord};
use crate::error::{AppError, AppResult};

/// Maps a driver error: an unreachable store is a 503, anything else a logged 500.
pub(crate) fn store_error(e: sqlx::Error) -> AppError {
    match e {
        sqlx::Error::Io(_)
        | sqlx::Error::Tls(_)
        | sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::WorkerCrashed => AppError::unavailable(e),
        sqlx::Error::Database(ref db) if is_transient(db.code().as_deref()) => {
            AppError::unavailable(e)
        }
        other => AppError::internal(other),
    }
}

/// Database error codes that mean "try again later", not "your request is wrong".
fn is_transient(code: Option<&str>) -> bool {
    matches!(
        code,
        // SQLite: SQLITE_BUSY, SQLITE_LOCKED (and their extended codes).
        Some("5" | "6" | "261" | "517" | "262")
        // PostgreSQL: serialization failure, deadlock, admin shutdown, cannot connect now, statement timeout.
        | Some("40001" | "40P01" | "57P01" | "57P02" | "57P03" | "57014")
    ) || code.is_some_and(|c| c.starts_with("08"))
}

pub(crate) fn is_unique_violation(e: &sqlx::Error) -> bool {
    matches!(e, sqlx::Error::Database(db) if db.is_unique_violation())
}

/// Typed column access that works on SQLite and PostgreSQL rows alike.
pub(crate) trait Columns {
    fn int(&self, col: &str) -> AppResult<i64>;
    fn text(&self, col: &str) -> AppResult<String>;
    fn flag(&self, col: &str) -> AppResult<bool>;
    fn opt_int(&self, col: &str) -> AppResult<Option<i64>>;
    fn opt_text(&self, col: &str) -> AppResult<Option<String>>;
}

impl<R> Columns for R
where
    R: Row,
    for<'a> &'a str: ColumnIndex<R>,
    i64: Type<R::Database> + for<'r> Decode<'r, R::Database>,
    String: Type<R::Database> + for<'r> Decode<'r, R::Database>,
    bool: Type<R::Database> + for<'r> Decode<'r, R::Database>,
{
    fn int(&self, col: &str) -> AppResult<i64> {
        self.try_get(col).map_err(store_error)
    }

    fn text(&self, col: &str) -> AppResult<String> {
        self.try_get(col).map_err(store_error)
    }

    fn flag(&self, col: &str) -> AppResult<bool> {
        self.try_get(col).map_err(store_error)
    }

    fn opt_int(&self, col: &str) -> AppResult<Option<i64>> {
        self.try_get(col).map_err(store_error)
    }

    fn opt_text(&self, col: &str) -> AppResult<Option<String>> {
        self.try_get(col).map_err(store_error)
    }
}

pub(crate) fn user_record(row: &impl Columns) -> AppResult<UserRecord> {
    Ok(UserRecord {
        user: User {
            id: row.int("id")?,
            username: row.text("username")?,
            created_at: Timestamp::from_unix(row.int("created_at")?),
        },
        password_hash: row.text("password_hash")?,
    })
}

pub(crate) fn product(row: &impl Columns) -> AppResult<Product> {
    Ok(Product {
        product_id: row.int("id")?,
        name: row.text("name")?,
        description: row.text("description")?,
        price: Money::from_cents(row.int("price_cents")?),
        category: row.text("category")?,
        in_stock: row.flag("in_stock")?,
        created_at: Timestamp::from_unix(row.int("created_at")?),
        updated_at: Timestamp::from_unix(row.int("updated_at")?),
    })
}

pub(crate) fn order(row: &impl Columns) -> AppResult<Order> {
    let status = row.text("status")?;
    Ok(Order {
        order_id: row.int("id")?,
        user_id: row.int("user_id")?,
        username: row.text("username")?,
        items: codec::decode_order_items(&row.text("items")?)?,
        subtotal: Money::from_cents(row.int("subtotal_cents")?),
        tax: Money::from_cents(row.int("tax_cents")?),
        total: Money::from_cents(row.int("total_cents")?),
        status: if status.is_empty() {
            ORDER_STATUS_PENDING.into()
        } else {
            status
        },
        created_at: Timestamp::from_unix(row.int("created_at")?),
    })
}

pub(crate) fn invoice(row: &impl Columns) -> AppResult<Invoice> {
    let id = row.int("id")?;
    let created_at = Timestamp::from_unix(row.int("created_at")?);
    Ok(Invoice {
        invoice_id: id,
        invoice_number: invoice_number(id, created_at),
        order_id: row.int("order_id")?,
        user_id: row.int("user_id")?,
        username: row.text("username")?,
        items: codec::decode_invoice_items(&row.text("items")?)?,
        subtotal: Money::from_cents(row.int("subtotal_cents")?),
        tax: Money::from_cents(row.int("tax_cents")?),
        total: Money::from_cents(row.int("total_cents")?),
        status: InvoiceStatus::parse(&row.text("status")?)
            .map_err(|_| AppError::internal("stored invoice status unreadable"))?,
        created_at,
        due_date: Timestamp::from_unix(row.int("due_date")?),
        status_history: codec::decode_status_history(&row.text("status_history")?)?,
    })
}
