//! The catalog.

use serde::Serialize;

use super::{Money, Timestamp};
use crate::error::AppError;

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Product {
    pub product_id: i64,
    pub name: String,
    pub description: String,
    pub price: Money,
    pub category: String,
    pub in_stock: bool,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

/// A product to insert, validated.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewProduct {
    pub name: String,
    pub description: String,
    pub price: Money,
    pub category: String,
    pub in_stock: bool,
    pub created_at: Timestamp,
}

impl NewProduct {
    /// The product this becomes once stored under `product_id`: not yet updated.
    pub fn stored_as(&self, product_id: i64) -> Product {
        Product {
            product_id,
            name: self.name.clone(),
            description: self.description.clone(),
            price: self.price,
            category: self.category.clone(),
            in_stock: self.in_stock,
            created_at: self.created_at,
            updated_at: self.created_at,
        }
    }
}

/// A partial update, validated; `None` leaves a field as it is.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ProductPatch {
    pub name: Option<String>,
    pub description: Option<String>,
    pub price: Option<Money>,
    pub category: Option<String>,
    pub in_stock: Option<bool>,
    pub updated_at: Option<Timestamp>,
}

impl ProductPatch {
    pub fn apply(&self, product: &mut Product) {
        if let Some(name) = &self.name {
            product.name.clone_from(name);
        }
        if let Some(description) = &self.description {
            product.description.clone_from(description);
        }
        if let Some(price) = self.price {
            product.price = price;
        }
        if let Some(category) = &self.category {
            product.category.clone_from(category);
        }
        if let Some(in_stock) = self.in_stock {
            product.in_stock = in_stock;
        }
        if let Some(at) = self.updated_at {
            product.updated_at = at;
        }
    }
}

pub fn validate_name(name: &str) -> Result<String, AppError> {
    bounded_text(name, "name", 1, 200)
}

pub fn validate_description(description: &str) -> Result<String, AppError> {
    bounded_text(description, "description", 0, 2000)
}

pub fn validate_category(category: &str) -> Result<String, AppError> {
    bounded_text(category, "category", 1, 64)
}

fn bounded_text(text: &str, field: &str, min: usize, max: usize) -> Result<String, AppError> {
    let text = text.trim();
    let len = text.chars().count();
    if len < min || len > max {
        return Err(AppError::validation(format!(
            "{field} must be {min} to {max} characters"
        )));
    }
    if text.chars().any(|c| c.is_control()) {
        return Err(AppError::validation(format!(
            "{field} must not contain control characters"
        )));
    }
    Ok(text.to_owned())
}
