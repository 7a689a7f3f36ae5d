use std::sync::Arc;

use crate::config::CatalogWrite;
use crate::domain::product::{validate_category, validate_description, validate_name};
use crate::domain::{
    Identity, Money, NewProduct, Page, PageRequest, Product, ProductPatch, Timestamp,
};
use crate::error::{AppError, AppResult};
use crate::repo::Store;

pub struct ProductService {
    store: Arc<dyn Store>,
    catalog_write: CatalogWrite,
}

/// A product as a client describes it, before validation.
pub struct ProductDraft {
    pub name: String,
    pub description: Option<String>,
    pub price: Money,
    pub category: String,
    pub in_stock: Option<bool>,
}

/// A partial update as a client describes it, before validation.
#[derive(Default)]
pub struct ProductChanges {
    pub name: Option<String>,
    pub description: Option<String>,
    pub price: Option<Money>,
    pub category: Option<String>,
    pub in_stock: Option<bool>,
}

impl ProductChanges {
    pub fn is_empty(&self) -> bool {
        self.name.is_none()
            && self.description.is_none()
            && self.price.is_none()
            && self.category.is_none()
            && self.in_stock.is_none()
    }
}

impl ProductService {
    pub fn new(store: Arc<dyn Store>, catalog_write: CatalogWrite) -> ProductService {
        ProductService {
            store,
            catalog_write,
        }
    }

    pub async fn list(
        &self,
        category: Option<&str>,
        page: PageRequest,
    ) -> AppResult<Page<Product>> {
        let category = category.map(validate_category).transpose()?;
        self.store.list_products(category.as_deref(), page).await
    }

    pub async fn get(&self, id: i64) -> AppResult<Product> {
        self.store
            .get_product(id)
            .await?
            .ok_or(AppError::ProductNotFound(id))
    }

    pub async fn create(&self, caller: &Identity, draft: ProductDraft) -> AppResult<Product> {
        self.ensure_can_write(caller)?;
        let now = Timestamp::now();
        let new = NewProduct {
            name: validate_name(&draft.name)?,
            description: validate_description(draft.description.as_deref().unwrap_or(""))?,
            price: draft.price,
            category: validate_category(&draft.category)?,
            in_stock: draft.in_stock.unwrap_or(true),
            created_at: now,
        };
        self.store.create_product(&new).await
    }

    pub async fn update(
        &self,
        caller: &Identity,
        id: i64,
        changes: ProductChanges,
    ) -> AppResult<Product> {
        self.ensure_can_write(caller)?;
        let patch = ProductPatch {
            name: changes.name.as_deref().map(validate_name).transpose()?,
            description: changes
                .description
                .as_deref()
                .map(validate_description)
                .transpose()?,
            price: changes.price,
            category: changes
                .category
                .as_deref()
                .map(validate_category)
                .transpose()?,
            in_stock: changes.in_stock,
            updated_at: Some(Timestamp::now()),
        };
        self.store
            .update_product(id, &patch)
            .await?
            .ok_or(AppError::ProductNotFound(id))
    }

    fn ensure_can_write(&self, caller: &Identity) -> AppResult<()> {
        match self.catalog_write {
            CatalogWrite::Admin if !caller.is_admin() => Err(AppError::Forbidden(
                "only administrators may change the catalog".into(),
            )),
            _ => Ok(()),
        }
    }
}
