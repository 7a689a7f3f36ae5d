//! `ProductRepo` on ClickHouse: products are uncontended versioned rows (a
//! creation row, then one row per partial update with only the changed
//! fields, merged field by field with `argMax`); the sample catalog is
//! seeded once by a claim on `catalog`, with losers helping write it.

use async_trait::async_trait;

use super::rows::{Count, ProductOut, ProductRow, from_json, next_version, seconds, to_json};
use super::sql;
use super::store::ClickHouseStore;
use crate::domain::{NewProduct, Page, PageRequest, Product, ProductPatch};
use crate::error::AppResult;
use crate::repo::ProductRepo;

#[async_trait]
impl ProductRepo for ClickHouseStore {
    async fn list_products(
        &self,
        category: Option<&str>,
        page: PageRequest,
    ) -> AppResult<Page<Product>> {
        let query = sql::products_page(category, page.after.unwrap_or(0), page.limit + 1);
        let rows: Vec<ProductOut> = self.ready().await?.select(&query).await?;
        let products = rows.into_iter().map(ProductOut::product).collect();
        Ok(Page::from_overfetch(products, page.limit, |p| p.product_id))
    }

    async fn get_product(&self, id: i64) -> AppResult<Option<Product>> {
        Ok(self.get_product_state(id).await?.map(ProductOut::product))
    }

    async fn create_product(&self, new: &NewProduct) -> AppResult<Product> {
        let http = self.ready().await?;
        let id = self.allocate_ids(1).await?[0];
        http.insert(sql::PRODUCTS, &[ProductRow::created(id, new)?])
            .await?;
        Ok(new.stored_as(id))
    }

    async fn update_product(&self, id: i64, patch: &ProductPatch) -> AppResult<Option<Product>> {
        let http = self.ready().await?;
        let Some(current) = self.get_product_state(id).await? else {
            return Ok(None);
        };
        let row = ProductRow {
            id,
            version: next_version(current.latest_version),
            name: patch.name.clone(),
            description: patch.description.clone(),
            price_cents: patch.price.map(|p| p.cents()),
            category: patch.category.clone(),
            in_stock: patch.in_stock.map(u8::from),
            created_at: None,
            updated_at: patch.updated_at.map(seconds).transpose()?,
        };
        http.insert(sql::PRODUCTS, &[row]).await?;
        // The state after this patch (and any concurrent one), as `RETURNING` gives.
        self.get_product(id).await
    }

    async fn seed_catalog(&self, products: &[NewProduct]) -> AppResult<bool> {
        self.ready().await?;
        self.seed_now(products).await
    }
}

impl ClickHouseStore {
    /// Seeds without waiting for `ready` (which calls it).
    pub(super) async fn seed_now(&self, products: &[NewProduct]) -> AppResult<bool> {
        let ids = self.allocate_ids(products.len()).await?;
        let rows = products
            .iter()
            .zip(&ids)
            .map(|(p, &id)| ProductRow::created(id, p))
            .collect::<AppResult<Vec<_>>>()?;
        let claim = self
            .claim(sql::SEED_CLAIMS, "catalog", to_json(&rows)?)
            .await?;
        if claim.won {
            self.http().insert(sql::PRODUCTS, &rows).await?;
            return Ok(true);
        }
        // Help: make sure the winner's catalog is written before saying "seeded".
        let winner: Vec<ProductRow> = from_json(
            &self
                .claim_payload(sql::SEED_CLAIMS, "catalog", claim.winner)
                .await?,
        )?;
        let winner_ids: Vec<i64> = winner.iter().map(|p| p.id).collect();
        if !winner_ids.is_empty() {
            let present: Count = self
                .http()
                .select_one(&sql::products_present(&winner_ids))
                .await?
                .unwrap_or_default();
            if present.n < winner_ids.len() as u64 {
                self.http().insert(sql::PRODUCTS, &winner).await?;
            }
        }
        Ok(false)
    }

    /// A product's current state (every field at its latest version).
    async fn get_product_state(&self, id: i64) -> AppResult<Option<ProductOut>> {
        self.ready()
            .await?
            .select_one(&sql::product_by_id(id))
            .await
    }
}
