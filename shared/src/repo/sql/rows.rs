//! Result rows to domain types, for SQLite and PostgreSQL alike: both select
//! the same columns, decoded to the same Rust types (`dialect` makes a
//! timestamp a `Timestamp` and a JSON document a `JsonDoc` on each).

use sqlx::{ColumnIndex, Decode, Row, Type};

use super::dialect::JsonDoc;
use crate::domain::invoice::invoice_number;
use crate::domain::order::ORDER_STATUS_PENDING;
use crate::domain::{
    Invoice, InvoiceStatus, Money, Order, Product, Role, Timestamp, User, UserRecord,
};
use crate::error::{AppError, AppResult};
use crate::repo::codec;

/// Typed column access that works on SQLite and PostgreSQL rows alike.
pub(super) trait Columns {
    fn int(&self, col: &str) -> AppResult<i64>;
    fn text(&self, col: &str) -> AppResult<String>;
    fn flag(&self, col: &str) -> AppResult<bool>;
    fn time(&self, col: &str) -> AppResult<Timestamp>;
    fn json(&self, col: &str) -> AppResult<String>;
}

impl<R> Columns for R
where
    R: Row,
    for<'a> &'a str: ColumnIndex<R>,
    i64: Type<R::Database> + for<'r> Decode<'r, R::Database>,
    String: Type<R::Database> + for<'r> Decode<'r, R::Database>,
    bool: Type<R::Database> + for<'r> Decode<'r, R::Database>,
    Timestamp: Type<R::Database> + for<'r> Decode<'r, R::Database>,
    JsonDoc: Type<R::Database> + for<'r> Decode<'r, R::Database>,
{
    fn int(&self, col: &str) -> AppResult<i64> {
        self.try_get(col).map_err(column_error)
    }

    fn text(&self, col: &str) -> AppResult<String> {
        self.try_get(col).map_err(column_error)
    }

    fn flag(&self, col: &str) -> AppResult<bool> {
        self.try_get(col).map_err(column_error)
    }

    fn time(&self, col: &str) -> AppResult<Timestamp> {
        self.try_get(col).map_err(column_error)
    }

    fn json(&self, col: &str) -> AppResult<String> {
        self.try_get(col)
            .map(|JsonDoc(text)| text)
            .map_err(column_error)
    }
}

/// A column that is missing or does not decode is a bug or a corrupt row,
/// never an outage.
fn column_error(e: sqlx::Error) -> AppError {
    AppError::internal(e)
}

/// The `id` a statement returned.
pub(super) fn id(row: &impl Columns) -> AppResult<i64> {
    row.int("id")
}

pub(super) fn user_record(row: &impl Columns) -> AppResult<UserRecord> {
    Ok(UserRecord {
        user: user(row)?,
        password_hash: row.text("password_hash")?,
        role: role(&row.text("role")?)?,
    })
}

fn role(text: &str) -> AppResult<Role> {
    Role::parse(text).ok_or_else(|| AppError::internal(format!("unknown role {text:?} stored")))
}

pub(super) fn user(row: &impl Columns) -> AppResult<User> {
    Ok(User {
        id: row.int("id")?,
        username: row.text("username")?,
        created_at: row.time("created_at")?,
    })
}

pub(super) fn product(row: &impl Columns) -> AppResult<Product> {
    Ok(Product {
        product_id: row.int("id")?,
        name: row.text("name")?,
        description: row.text("description")?,
        price: Money::from_cents(row.int("price_cents")?),
        category: row.text("category")?,
        in_stock: row.flag("in_stock")?,
        created_at: row.time("created_at")?,
        updated_at: row.time("updated_at")?,
    })
}

pub(super) fn order(row: &impl Columns) -> AppResult<Order> {
    let status = row.text("status")?;
    Ok(Order {
        order_id: row.int("id")?,
        user_id: row.int("user_id")?,
        username: row.text("username")?,
        items: codec::decode_order_items(&row.json("items")?)?,
        subtotal: Money::from_cents(row.int("subtotal_cents")?),
        tax: Money::from_cents(row.int("tax_cents")?),
        total: Money::from_cents(row.int("total_cents")?),
        status: if status.is_empty() {
            ORDER_STATUS_PENDING.into()
        } else {
            status
        },
        created_at: row.time("created_at")?,
    })
}

pub(super) fn invoice(row: &impl Columns) -> AppResult<Invoice> {
    let id = row.int("id")?;
    let created_at = row.time("created_at")?;
    Ok(Invoice {
        invoice_id: id,
        invoice_number: invoice_number(id, created_at),
        order_id: row.int("order_id")?,
        user_id: row.int("user_id")?,
        username: row.text("username")?,
        items: codec::decode_invoice_items(&row.json("items")?)?,
        subtotal: Money::from_cents(row.int("subtotal_cents")?),
        tax: Money::from_cents(row.int("tax_cents")?),
        total: Money::from_cents(row.int("total_cents")?),
        status: InvoiceStatus::parse(&row.text("status")?)
            .map_err(|_| AppError::internal("stored invoice status unreadable"))?,
        created_at,
        due_date: row.time("due_date")?,
        status_history: codec::decode_status_history(&row.json("status_history")?)?,
    })
}
