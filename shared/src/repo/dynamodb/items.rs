//! Items to domain types and back: what each entity's item holds (its key,
//! its index keys, its attributes) and how it is read. Money is integer
//! cents in number attributes; order and invoice lines are one JSON string
//! (see `codec`); an invoice's history is a list of JSON strings, so a status
//! move can `list_append` to it.

use aws_sdk_dynamodb::types::AttributeValue;

use super::attributes::{Item, corrupt, flag, money, n, num, s, text, time};
use super::keys::{self, Key};
use crate::domain::invoice::invoice_number;
use crate::domain::order::ORDER_STATUS_PENDING;
use crate::domain::{
    Invoice, InvoiceStatus, NewInvoice, NewOrder, NewProduct, NewUser, Order, Product, Role,
    Timestamp, User, UserRecord,
};
use crate::error::AppResult;
use crate::repo::codec;

/// An item with its key and these attributes.
fn keyed(key: Key, attributes: impl IntoIterator<Item = (&'static str, AttributeValue)>) -> Item {
    let mut item = key.item();
    item.extend(attributes.into_iter().map(|(k, v)| (k.to_owned(), v)));
    item
}

/// The guard of a username, pointing at its user.
pub(super) fn username_guard(id: i64, new: &NewUser) -> Item {
    keyed(
        Key::username(&new.username.normalized()),
        [("user_id", n(id))],
    )
}

pub(super) fn user_item(id: i64, new: &NewUser) -> Item {
    keyed(
        Key::user(id),
        [
            ("id", n(id)),
            ("username", s(new.username.as_str())),
            ("password_hash", s(&new.password_hash)),
            ("created_at", n(new.created_at.unix())),
            ("role", s(Role::Customer.as_str())),
        ],
    )
}

pub(super) fn user(item: &Item) -> AppResult<User> {
    Ok(User {
        id: num(item, "id")?,
        username: text(item, "username")?,
        created_at: time(item, "created_at")?,
    })
}

pub(super) fn user_record(item: &Item) -> AppResult<UserRecord> {
    // Users registered before roles were stored have no `role`: customers.
    let role = match item.get("role") {
        None => Role::Customer,
        Some(_) => Role::parse(&text(item, "role")?).ok_or_else(|| corrupt("role"))?,
    };
    Ok(UserRecord {
        user: user(item)?,
        password_hash: text(item, "password_hash")?,
        role,
    })
}

pub(super) fn product_item(id: i64, p: &NewProduct) -> Item {
    keyed(
        Key::product(id),
        [
            ("GSI1PK", s(keys::products_of(id))),
            ("GSI1SK", n(id)),
            ("GSI2PK", s(keys::category_of(&p.category, id))),
            ("GSI2SK", n(id)),
            ("id", n(id)),
            ("name", s(&p.name)),
            ("description", s(&p.description)),
            ("price_cents", n(p.price.cents())),
            ("category", s(&p.category)),
            ("in_stock", AttributeValue::Bool(p.in_stock)),
            ("created_at", n(p.created_at.unix())),
            ("updated_at", n(p.created_at.unix())),
        ],
    )
}

pub(super) fn product(item: &Item) -> AppResult<Product> {
    Ok(Product {
        product_id: num(item, "id")?,
        name: text(item, "name")?,
        description: text(item, "description")?,
        price: money(item, "price_cents")?,
        category: text(item, "category")?,
        in_stock: flag(item, "in_stock")?,
        created_at: time(item, "created_at")?,
        updated_at: time(item, "updated_at")?,
    })
}

/// The marker that says the sample catalog was seeded.
pub(super) fn catalog_marker(at: Timestamp) -> Item {
    keyed(Key::catalog_marker(), [("seeded_at", n(at.unix()))])
}

pub(super) fn order_item(id: i64, o: &NewOrder) -> Item {
    keyed(
        Key::order(id),
        [
            ("GSI1PK", s(keys::orders_of_user(o.user_id))),
            ("GSI1SK", n(id)),
            ("id", n(id)),
            ("user_id", n(o.user_id)),
            ("username", s(&o.username)),
            ("items", s(codec::encode_order_items(&o.items))),
            ("subtotal_cents", n(o.subtotal.cents())),
            ("tax_cents", n(o.tax.cents())),
            ("total_cents", n(o.total.cents())),
            ("status", s(ORDER_STATUS_PENDING)),
            ("created_at", n(o.created_at.unix())),
        ],
    )
}

pub(super) fn order(item: &Item) -> AppResult<Order> {
    Ok(Order {
        order_id: num(item, "id")?,
        user_id: num(item, "user_id")?,
        username: text(item, "username")?,
        items: codec::decode_order_items(&text(item, "items")?)?,
        subtotal: money(item, "subtotal_cents")?,
        tax: money(item, "tax_cents")?,
        total: money(item, "total_cents")?,
        status: text(item, "status")?,
        created_at: time(item, "created_at")?,
    })
}

/// The guard of an order's one invoice, pointing at it.
pub(super) fn invoice_guard(id: i64, order_id: i64) -> Item {
    keyed(Key::invoice_of_order(order_id), [("invoice_id", n(id))])
}

pub(super) fn invoice_item(id: i64, i: &NewInvoice) -> Item {
    keyed(
        Key::invoice(id),
        [
            ("GSI1PK", s(keys::invoices_of_user(i.user_id))),
            ("GSI1SK", n(id)),
            ("id", n(id)),
            ("order_id", n(i.order_id)),
            ("user_id", n(i.user_id)),
            ("username", s(&i.username)),
            ("items", s(codec::encode_invoice_items(&i.items))),
            ("subtotal_cents", n(i.subtotal.cents())),
            ("tax_cents", n(i.tax.cents())),
            ("total_cents", n(i.total.cents())),
            ("status", s(InvoiceStatus::Draft.as_str())),
            ("history", AttributeValue::L(Vec::new())),
            ("created_at", n(i.created_at.unix())),
            ("due_date", n(i.due_date.unix())),
        ],
    )
}

pub(super) fn invoice(item: &Item) -> AppResult<Invoice> {
    let id = num(item, "id")?;
    let created_at = time(item, "created_at")?;
    // The history is a list of JSON objects; joined, they are the JSON array the codec reads.
    let entries = item
        .get("history")
        .and_then(|v| v.as_l().ok())
        .ok_or_else(|| corrupt("history"))?;
    let entries = entries
        .iter()
        .map(|e| e.as_s().map(String::as_str))
        .collect::<Result<Vec<_>, _>>();
    let history = format!("[{}]", entries.map_err(|_| corrupt("history"))?.join(","));
    Ok(Invoice {
        invoice_id: id,
        invoice_number: invoice_number(id, created_at),
        order_id: num(item, "order_id")?,
        user_id: num(item, "user_id")?,
        username: text(item, "username")?,
        items: codec::decode_invoice_items(&text(item, "items")?)?,
        subtotal: money(item, "subtotal_cents")?,
        tax: money(item, "tax_cents")?,
        total: money(item, "total_cents")?,
        status: InvoiceStatus::parse(&text(item, "status")?).map_err(|_| corrupt("status"))?,
        created_at,
        due_date: time(item, "due_date")?,
        status_history: codec::decode_status_history(&history)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{InvoiceItem, Money, OrderItem, Quantity, StatusChange};
    use crate::error::AppError;
    use crate::sample;

    #[test]
    fn items_round_trip_with_money_as_integer_cents() {
        let new = NewProduct {
            name: "Lamp".into(),
            description: "Desk lamp".into(),
            price: Money::from_cents(1999),
            category: "home".into(),
            in_stock: false,
            created_at: Timestamp::from_unix(1_795_080_600),
        };
        let item = product_item(7, &new);
        assert_eq!(item["price_cents"], n(1999));
        assert_eq!(
            (item["GSI1SK"].clone(), item["GSI2PK"].clone()),
            (n(7), s("CATEGORY.7#home"))
        );
        let read = product(&item).unwrap();
        assert_eq!(
            (read.product_id, read.price.cents(), read.in_stock),
            (7, 1999, false)
        );

        let line = OrderItem {
            product_id: 7,
            product_name: "Lamp".into(),
            quantity: Quantity::new(2).unwrap(),
            unit_price: Money::from_cents(1999),
            total: Money::from_cents(3998),
        };
        let placed = NewOrder {
            user_id: 3,
            username: "alice".into(),
            items: vec![line],
            subtotal: Money::from_cents(3998),
            tax: Money::from_cents(400),
            total: Money::from_cents(4398),
            created_at: new.created_at,
        };
        let stored = order(&order_item(11, &placed)).unwrap();
        assert_eq!(
            (stored.order_id, stored.items.clone(), stored.total),
            (11, placed.items.clone(), placed.total)
        );

        let billed = NewInvoice {
            order_id: 11,
            user_id: 3,
            username: "alice".into(),
            items: vec![InvoiceItem {
                product_id: 7,
                product_name: "Lamp".into(),
                description: "Desk lamp".into(),
                quantity: 2,
                unit_price: Money::from_cents(1999),
                total_price: Money::from_cents(3998),
            }],
            subtotal: placed.subtotal,
            tax: placed.tax,
            total: placed.total,
            created_at: new.created_at,
            due_date: new.created_at.plus_days(30),
        };
        let mut item = invoice_item(5, &billed);
        let moved = StatusChange {
            from: InvoiceStatus::Draft,
            to: InvoiceStatus::Sent,
            changed_by: 3,
            changed_at: new.created_at,
        };
        // What `list_append` does to the stored history on a status move.
        item.insert(
            "history".into(),
            AttributeValue::L(vec![s(codec::encode_status_change(&moved))]),
        );
        let read = invoice(&item).unwrap();
        assert_eq!(
            (read.invoice_number.as_str(), read.status),
            ("INV-2026-000005", InvoiceStatus::Draft)
        );
        assert_eq!(read.status_history, vec![moved]);
        assert_eq!(read.items, billed.items);
    }

    #[test]
    fn a_damaged_item_is_an_internal_error_not_a_panic() {
        let mut item = product_item(1, &sample::catalog(Timestamp::from_unix(0))[0]);
        item.insert("price_cents".into(), s("12.5"));
        assert!(matches!(product(&item), Err(AppError::Internal(_))));
        item.remove("name");
        assert!(matches!(product(&item), Err(AppError::Internal(_))));
    }
}
