//! Every key this backend reads or writes, in one place: the table's
//! `PK`/`SK` pairs and the index partitions the lists query. Keeping the
//! formats here means an item's key and the reads that find it cannot drift
//! apart.

use super::attributes::{Item, s};

/// A table key: partition and sort key.
pub(super) struct Key {
    pub pk: String,
    pub sk: &'static str,
}

impl Key {
    /// The key as the two attributes a read, an update or an item carries.
    pub fn item(self) -> Item {
        Item::from([("PK".to_owned(), s(self.pk)), ("SK".to_owned(), s(self.sk))])
    }

    pub fn user(id: i64) -> Key {
        Key {
            pk: format!("USER#{id}"),
            sk: "USER",
        }
    }

    /// The guard that makes a username unique in any letter case.
    pub fn username(lower_cased: &str) -> Key {
        Key {
            pk: format!("USERNAME#{lower_cased}"),
            sk: "USERNAME",
        }
    }

    pub fn product(id: i64) -> Key {
        Key {
            pk: format!("PRODUCT#{id}"),
            sk: "PRODUCT",
        }
    }

    pub fn order(id: i64) -> Key {
        Key {
            pk: format!("ORDER#{id}"),
            sk: "ORDER",
        }
    }

    pub fn invoice(id: i64) -> Key {
        Key {
            pk: format!("INVOICE#{id}"),
            sk: "INVOICE",
        }
    }

    /// The guard that gives an order at most one invoice.
    pub fn invoice_of_order(order_id: i64) -> Key {
        Key {
            pk: format!("ORDER#{order_id}"),
            sk: "INVOICE",
        }
    }

    /// The id counter of one kind (`USER`, `PRODUCT`, `ORDER`, `INVOICE`).
    pub fn counter(kind: &'static str) -> Key {
        Key {
            pk: "COUNTER".to_owned(),
            sk: kind,
        }
    }

    /// The marker written with the sample catalog, so it is seeded once.
    pub fn catalog_marker() -> Key {
        Key {
            pk: "CATALOG".to_owned(),
            sk: "SEEDED",
        }
    }

    /// A key no item ever has, read by the health check.
    pub fn health() -> Key {
        Key {
            pk: "HEALTH".to_owned(),
            sk: "PING",
        }
    }
}

/// The `GSI1` partition of all products.
pub(super) fn all_products() -> String {
    "PRODUCTS".to_owned()
}

/// The `GSI2` partition of one category's products.
pub(super) fn category(category: &str) -> String {
    format!("CATEGORY#{category}")
}

/// The `GSI1` partition of one user's orders.
pub(super) fn orders_of_user(user_id: i64) -> String {
    format!("USER#{user_id}#ORDERS")
}

/// The `GSI1` partition of one user's invoices.
pub(super) fn invoices_of_user(user_id: i64) -> String {
    format!("USER#{user_id}#INVOICES")
}
