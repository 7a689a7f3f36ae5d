//! Builders the cases share: a registered customer, a product, an order and
//! its invoice, a status move, all with fixed, valid values.

use std::sync::Arc;

use shared::domain::{
    Identity, Invoice, InvoiceItem, InvoiceStatus, Money, NewInvoice, NewOrder, NewProduct,
    NewUser, Order, OrderItem, Quantity, Role, StatusChange, Timestamp, Username,
};
use shared::repo::Store;

pub fn now() -> Timestamp {
    Timestamp::now()
}

pub async fn user(store: &Arc<dyn Store>, name: &str) -> Identity {
    let user = store
        .register_user(&NewUser {
            username: Username::parse(name).unwrap(),
            password_hash: "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$aGFzaGhhc2g".into(),
            created_at: now(),
        })
        .await
        .expect("register");
    Identity {
        user_id: user.id,
        username: user.username,
        role: Role::Customer,
    }
}

pub fn new_product(name: &str, category: &str, cents: i64) -> NewProduct {
    NewProduct {
        name: name.into(),
        description: format!("{name} description"),
        price: Money::from_cents(cents),
        category: category.into(),
        in_stock: true,
        created_at: now(),
    }
}

pub fn new_order(owner: &Identity, product_id: i64, quantity: u32, unit_cents: i64) -> NewOrder {
    let unit = Money::from_cents(unit_cents);
    let total = unit.checked_mul(quantity).unwrap();
    NewOrder {
        user_id: owner.user_id,
        username: owner.username.clone(),
        items: vec![OrderItem {
            product_id,
            product_name: "Thing".into(),
            quantity: Quantity::new(i64::from(quantity)).unwrap(),
            unit_price: unit,
            total,
        }],
        subtotal: total,
        tax: total.percent_bps(1000),
        total: total.checked_add(total.percent_bps(1000)).unwrap(),
        created_at: now(),
    }
}

pub fn new_invoice(order: &Order) -> NewInvoice {
    NewInvoice {
        order_id: order.order_id,
        user_id: order.user_id,
        username: order.username.clone(),
        items: order
            .items
            .iter()
            .map(|i| InvoiceItem {
                product_id: i.product_id,
                product_name: i.product_name.clone(),
                description: "desc".into(),
                quantity: i.quantity.get(),
                unit_price: i.unit_price,
                total_price: i.total,
            })
            .collect(),
        subtotal: order.subtotal,
        tax: order.tax,
        total: order.total,
        created_at: now(),
        due_date: now().plus_days(30),
    }
}

pub async fn invoiced_order(store: &Arc<dyn Store>, owner: &Identity) -> Invoice {
    let product = store
        .create_product(&new_product("Thing", "misc", 1000))
        .await
        .unwrap();
    let order = store
        .place_order(&new_order(owner, product.product_id, 1, 1000), None)
        .await
        .unwrap();
    store
        .create_invoice_once(&new_invoice(&order), None)
        .await
        .unwrap()
        .0
}

pub fn change(from: InvoiceStatus, to: InvoiceStatus, by: i64) -> StatusChange {
    StatusChange {
        from,
        to,
        changed_by: by,
        changed_at: now(),
    }
}
