//! Every key this backend reads or writes, in one place: the table's
//! `PK`/`SK` pairs and the index partitions the lists query. Keeping the
//! formats here means an item's key and the reads that find it cannot drift
//! apart.
//!
//! The product list and each category are sharded over `PRODUCT_SHARDS`
//! index partitions (by id), so no single partition receives every product
//! write. Shard 0 keeps the key the previous version used for the whole list
//! (`PRODUCTS`, `CATEGORY#<category>`), so items it wrote are read as part
//! of shard 0 without being moved; shards 1 to 7 add `.<shard>` to the prefix
//! (`PRODUCTS.3`, `CATEGORY.3#<category>`), which no category text can
//! imitate since a category follows the first `#`.

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

/// How many index partitions the product list and each category are spread
/// over. Fixed with the data: an item's shard is its id modulo this number.
pub(super) const PRODUCT_SHARDS: i64 = 8;

/// The shard of a product.
fn shard(product_id: i64) -> i64 {
    product_id.rem_euclid(PRODUCT_SHARDS)
}

/// The `GSI1` partition of one shard of the product list.
fn products_shard(shard: i64) -> String {
    match shard {
        0 => "PRODUCTS".to_owned(),
        n => format!("PRODUCTS.{n}"),
    }
}

/// The `GSI2` partition of one shard of a category.
fn category_shard(category: &str, shard: i64) -> String {
    match shard {
        0 => format!("CATEGORY#{category}"),
        n => format!("CATEGORY.{n}#{category}"),
    }
}

/// The `GSI1` partition a product is listed in.
pub(super) fn products_of(product_id: i64) -> String {
    products_shard(shard(product_id))
}

/// The `GSI2` partition a product of this category is listed in.
pub(super) fn category_of(category: &str, product_id: i64) -> String {
    category_shard(category, shard(product_id))
}

/// Every `GSI1` partition of the product list.
pub(super) fn all_products() -> Vec<String> {
    (0..PRODUCT_SHARDS).map(products_shard).collect()
}

/// Every `GSI2` partition of one category.
pub(super) fn category(category: &str) -> Vec<String> {
    (0..PRODUCT_SHARDS)
        .map(|shard| category_shard(category, shard))
        .collect()
}

/// The `GSI1` partition of one user's orders.
pub(super) fn orders_of_user(user_id: i64) -> String {
    format!("USER#{user_id}#ORDERS")
}

/// The `GSI1` partition of one user's invoices.
pub(super) fn invoices_of_user(user_id: i64) -> String {
    format!("USER#{user_id}#INVOICES")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shard_zero_is_the_unsharded_key_of_the_previous_version() {
        assert_eq!(products_of(16), "PRODUCTS");
        assert_eq!(category_of("books", 8), "CATEGORY#books");
        assert_eq!(products_of(11), "PRODUCTS.3");
        assert_eq!(category_of("books", 11), "CATEGORY.3#books");
        assert_eq!(all_products().len(), PRODUCT_SHARDS as usize);
    }

    #[test]
    fn no_category_text_reaches_another_categorys_partition() {
        // Category "3#books" in shard 0 and "books" in shard 3 stay apart.
        let every = |c: &str| category(c);
        let theirs = every("3#books");
        assert!(every("books").iter().all(|p| !theirs.contains(p)));
        let dotted = every(".3#books");
        assert!(every("books").iter().all(|p| !dotted.contains(p)));
    }
}
