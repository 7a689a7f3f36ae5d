//! `ProductRepo` on DynamoDB: a product is one item, listed through `GSI1`
//! (all products) or `GSI2` (one category) by ascending id, each list merged
//! from its shards; many products by id are one `BatchGetItem` per 100; a
//! partial update is one conditional `UpdateItem` that moves the category
//! index with the category; the sample catalog is seeded in one transaction
//! with its marker.

use std::collections::{BTreeSet, HashMap};

use async_trait::async_trait;
use aws_sdk_dynamodb::types::{AttributeValue, ReturnValue};

use super::attributes::{n, s};
use super::errors::store_error;
use super::ids::{self, ID_ATTEMPTS};
use super::items::{catalog_marker, product, product_item};
use super::keys::{self, Key};
use super::schema::{GSI1, GSI2};
use super::store::DynamoDbStore;
use crate::domain::{NewProduct, Page, PageRequest, Product, ProductPatch, Timestamp};
use crate::error::{AppError, AppResult};
use crate::repo::ProductRepo;

/// DynamoDB's limit on the number of items in one transaction.
const MAX_TRANSACTION_ITEMS: usize = 100;

#[async_trait]
impl ProductRepo for DynamoDbStore {
    async fn list_products(
        &self,
        category: Option<&str>,
        page: PageRequest,
    ) -> AppResult<Page<Product>> {
        let (index, partitions) = match category {
            Some(category) => (GSI2, keys::category(category)),
            None => (GSI1, keys::all_products()),
        };
        let items = self
            .query_shards(index, &partitions, page.after, page.limit)
            .await?;
        let products = items.iter().map(product).collect::<AppResult<Vec<_>>>()?;
        Ok(Page::from_overfetch(products, page.limit, |p| p.product_id))
    }

    async fn get_product(&self, id: i64) -> AppResult<Option<Product>> {
        self.get(Key::product(id))
            .await?
            .as_ref()
            .map(product)
            .transpose()
    }

    /// One read for up to 100 products (an order of 50 lines is one call).
    async fn get_products(&self, ids: &[i64]) -> AppResult<Vec<Product>> {
        // Distinct keys: a batch naming one twice is refused.
        let distinct: BTreeSet<i64> = ids.iter().copied().collect();
        let keys = distinct.into_iter().map(|id| Key::product(id).item());
        self.get_many(keys.collect())
            .await?
            .iter()
            .map(product)
            .collect()
    }

    async fn create_product(&self, new: &NewProduct) -> AppResult<Product> {
        for _ in 0..ID_ATTEMPTS {
            let id = ids::fresh_id()?;
            if self.put_new_item(product_item(id, new)).await? {
                return Ok(new.stored_as(id));
            }
        }
        Err(ids::exhausted("product"))
    }

    async fn update_product(&self, id: i64, patch: &ProductPatch) -> AppResult<Option<Product>> {
        let mut sets = Vec::new();
        let mut names = HashMap::new();
        let mut values = HashMap::new();
        let mut set = |attribute: &str, value: AttributeValue| {
            sets.push(format!("#{attribute} = :{attribute}"));
            names.insert(format!("#{attribute}"), attribute.to_owned());
            values.insert(format!(":{attribute}"), value);
        };
        if let Some(name) = &patch.name {
            set("name", s(name));
        }
        if let Some(description) = &patch.description {
            set("description", s(description));
        }
        if let Some(price) = patch.price {
            set("price_cents", n(price.cents()));
        }
        if let Some(category) = &patch.category {
            set("category", s(category));
            // The category index moves with the category.
            set("GSI2PK", s(keys::category_of(category, id)));
        }
        if let Some(in_stock) = patch.in_stock {
            set("in_stock", AttributeValue::Bool(in_stock));
        }
        if let Some(at) = patch.updated_at {
            set("updated_at", n(at.unix()));
        }
        if sets.is_empty() {
            return self.get_product(id).await;
        }
        let result = self
            .ready()
            .await?
            .update_item()
            .table_name(self.table())
            .set_key(Some(Key::product(id).item()))
            .update_expression(format!("SET {}", sets.join(", ")))
            // Without it, an update of a missing product would create a fragment of one.
            .condition_expression("attribute_exists(PK)")
            .set_expression_attribute_names(Some(names))
            .set_expression_attribute_values(Some(values))
            .return_values(ReturnValue::AllNew)
            .send()
            .await;
        match result {
            Ok(out) => out.attributes.as_ref().map(product).transpose(),
            Err(e)
                if e.as_service_error()
                    .is_some_and(|e| e.is_conditional_check_failed_exception()) =>
            {
                Ok(None)
            }
            Err(e) => Err(store_error(e)),
        }
    }

    async fn seed_catalog(&self, products: &[NewProduct]) -> AppResult<bool> {
        self.ready().await?;
        self.seed_catalog_now(products).await
    }
}

impl DynamoDbStore {
    /// Seeds without waiting for `ready` (which calls it).
    pub(super) async fn seed_catalog_now(&self, products: &[NewProduct]) -> AppResult<bool> {
        if self.catalog_seeded().await? {
            return Ok(false);
        }
        if products.len() + 1 > MAX_TRANSACTION_ITEMS {
            return Err(AppError::internal(
                "the sample catalog must hold at most 99 products to seed in one transaction",
            ));
        }
        for _ in 0..ID_ATTEMPTS {
            let first = ids::fresh_ids(products.len().max(1))?;
            let mut writes = vec![self.put_new(catalog_marker(Timestamp::now()))?];
            for (id, p) in (first..).zip(products) {
                writes.push(self.put_new(product_item(id, p))?);
            }
            // A concurrent seeder fails the marker's condition: nothing of its
            // catalog is written, and it reports that it did not seed. A
            // product whose id was taken cancels the whole catalog: try anew.
            match self.transact(writes).await? {
                Ok(()) => return Ok(true),
                Err(0) => return Ok(false),
                Err(_) => continue,
            }
        }
        Err(ids::exhausted("product"))
    }

    /// Whether the catalog was seeded, read before writing the whole catalog.
    async fn catalog_seeded(&self) -> AppResult<bool> {
        let out = self
            .client()
            .await?
            .get_item()
            .table_name(self.table())
            .set_key(Some(Key::catalog_marker().item()))
            .consistent_read(true)
            .send()
            .await
            .map_err(store_error)?;
        Ok(out.item.is_some())
    }
}
