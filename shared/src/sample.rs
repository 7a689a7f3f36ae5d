//! The sample catalog seeded into an empty store on first start.

use crate::domain::{Money, NewProduct, Timestamp};

pub fn catalog(now: Timestamp) -> Vec<NewProduct> {
    let product =
        |name: &str, description: &str, cents: i64, category: &str, in_stock: bool| NewProduct {
            name: name.into(),
            description: description.into(),
            price: Money::from_cents(cents),
            category: category.into(),
            in_stock,
            created_at: now,
        };
    vec![
        product(
            "Laptop",
            "14-inch ultrabook, 16 GB RAM, 512 GB SSD",
            129_999,
            "electronics",
            true,
        ),
        product(
            "Wireless Mouse",
            "Ergonomic 2.4 GHz mouse",
            2_999,
            "electronics",
            true,
        ),
        product(
            "Mechanical Keyboard",
            "Tenkeyless, brown switches",
            8_950,
            "electronics",
            true,
        ),
        product(
            "4K Monitor",
            "27-inch IPS, USB-C",
            34_900,
            "electronics",
            false,
        ),
        product(
            "Rust in Action",
            "Systems programming book",
            3_999,
            "books",
            true,
        ),
        product(
            "Designing Data-Intensive Applications",
            "The big ideas behind reliable systems",
            4_550,
            "books",
            true,
        ),
        product("Coffee Mug", "Ceramic, 350 ml", 1_250, "kitchen", true),
        product(
            "French Press",
            "Borosilicate glass, 1 l",
            2_700,
            "kitchen",
            true,
        ),
    ]
}
