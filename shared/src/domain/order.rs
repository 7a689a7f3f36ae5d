//! Orders: priced at the moment of ordering, never repriced.

use serde::Serialize;

use super::{Money, Timestamp};
use crate::error::AppError;

/// 1 to 1000 of one product on one line.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Quantity(u32);

impl Quantity {
    pub const MAX: u32 = 1000;

    pub fn new(n: i64) -> Result<Quantity, AppError> {
        match u32::try_from(n) {
            Ok(q) if (1..=Self::MAX).contains(&q) => Ok(Quantity(q)),
            _ => Err(AppError::validation(format!(
                "quantity must be 1 to {}",
                Self::MAX
            ))),
        }
    }

    pub fn get(self) -> u32 {
        self.0
    }
}

impl Serialize for Quantity {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u32(self.0)
    }
}

/// An order line as requested: which product, how many.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OrderLine {
    pub product_id: i64,
    pub quantity: Quantity,
}

/// At most this many lines in one order (after merging repeats).
pub const MAX_ORDER_LINES: usize = 50;

/// Validates the requested lines: 1 to 50 of them, the same product twice merged
/// into one line (first position kept), each merged quantity still 1 to 1000.
pub fn merge_lines(raw: &[(i64, i64)]) -> Result<Vec<OrderLine>, AppError> {
    if raw.is_empty() {
        return Err(AppError::validation("items must hold at least one line"));
    }
    if raw.len() > MAX_ORDER_LINES {
        return Err(AppError::validation(format!(
            "items must hold at most {MAX_ORDER_LINES} lines"
        )));
    }
    let mut merged: Vec<(i64, i64)> = Vec::with_capacity(raw.len());
    for &(product_id, quantity) in raw {
        super::parse_id(&product_id.to_string(), "items.product_id")?;
        Quantity::new(quantity)?;
        match merged.iter_mut().find(|(id, _)| *id == product_id) {
            Some((_, q)) => *q += quantity,
            None => merged.push((product_id, quantity)),
        }
    }
    merged
        .into_iter()
        .map(|(product_id, quantity)| {
            Ok(OrderLine {
                product_id,
                quantity: Quantity::new(quantity)?,
            })
        })
        .collect()
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct OrderItem {
    pub product_id: i64,
    pub product_name: String,
    pub quantity: Quantity,
    pub unit_price: Money,
    pub total: Money,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Order {
    pub order_id: i64,
    pub user_id: i64,
    pub username: String,
    pub items: Vec<OrderItem>,
    pub subtotal: Money,
    pub tax: Money,
    pub total: Money,
    pub status: String,
    pub created_at: Timestamp,
}

/// A fully priced order, ready to be stored with all its lines in one unit of work.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewOrder {
    pub user_id: i64,
    pub username: String,
    pub items: Vec<OrderItem>,
    pub subtotal: Money,
    pub tax: Money,
    pub total: Money,
    pub created_at: Timestamp,
}

pub const ORDER_STATUS_PENDING: &str = "pending";

impl NewOrder {
    /// The order this becomes once stored under `order_id`: new orders are pending.
    pub fn stored_as(&self, order_id: i64) -> Order {
        Order {
            order_id,
            user_id: self.user_id,
            username: self.username.clone(),
            items: self.items.clone(),
            subtotal: self.subtotal,
            tax: self.tax,
            total: self.total,
            status: ORDER_STATUS_PENDING.into(),
            created_at: self.created_at,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn merges_repeated_products() {
        let lines = merge_lines(&[(1, 2), (2, 1), (1, 3)]).unwrap();
        assert_eq!(lines.len(), 2);
        assert_eq!((lines[0].product_id, lines[0].quantity.get()), (1, 5));
    }

    #[test]
    fn bounds_lines_and_quantities() {
        assert!(merge_lines(&[]).is_err());
        assert!(merge_lines(&[(1, 0)]).is_err());
        assert!(merge_lines(&[(1, 1001)]).is_err());
        assert!(merge_lines(&[(1, 600), (1, 600)]).is_err());
        assert!(merge_lines(&[(0, 1)]).is_err());
        let many: Vec<_> = (1..=51).map(|id| (id, 1)).collect();
        assert!(merge_lines(&many).is_err());
        assert!(merge_lines(&many[..50]).is_ok());
    }
}
