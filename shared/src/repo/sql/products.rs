//! The product catalog, on both SQL databases (the pattern is described in
//! `super`).

use async_trait::async_trait;

use super::dialect::{Dialect, IdList};
use super::{Access, SqlQuery, SqlStore, rows, store_error};
use crate::domain::{NewProduct, Page, PageRequest, Product, ProductPatch, Timestamp};
use crate::error::AppResult;
use crate::repo::ProductRepo;

/// A new product (created and updated at `$6`), bound by `bind_product`.
macro_rules! insert_product {
    () => {
        "INSERT INTO products \
         (name, description, price_cents, category, in_stock, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $6)"
    };
}

macro_rules! product_repo {
    () => {
        /// Binds the parameters of `insert_product!()`.
        fn bind_product<'q>(query: SqlQuery<'q, Db>, p: &NewProduct) -> SqlQuery<'q, Db> {
            query
                .bind(&p.name)
                .bind(&p.description)
                .bind(p.price.cents())
                .bind(&p.category)
                .bind(p.in_stock)
                .bind(p.created_at)
        }

        impl SqlStore<Db> {
            /// Seeds the catalog unless it was seeded before; `true` when this
            /// call did. Runs on the pool directly: it is part of the bootstrap.
            pub(in crate::repo::sql) async fn seed_catalog_now(
                &self,
                products: &[NewProduct],
            ) -> AppResult<bool> {
                let mut tx = self.pool.begin().await.map_err(store_error::<Db>)?;
                // The first statement writes: a concurrent seeder waits on the
                // row (PostgreSQL) or the write lock (SQLite) until we commit,
                // then inserts nothing. The catalog is seeded once.
                let claimed = sqlx::query(
                    "INSERT INTO catalog_seed (id, seeded_at) VALUES (1, $1) \
                     ON CONFLICT (id) DO NOTHING",
                )
                .bind(Timestamp::now())
                .execute(&mut *tx)
                .await
                .map_err(store_error::<Db>)?
                .rows_affected()
                    == 1;
                if !claimed {
                    return Ok(false);
                }
                for p in products {
                    bind_product(sqlx::query(insert_product!()), p)
                        .execute(&mut *tx)
                        .await
                        .map_err(store_error::<Db>)?;
                }
                tx.commit().await.map_err(store_error::<Db>)?;
                Ok(true)
            }
        }

        #[async_trait]
        impl ProductRepo for SqlStore<Db> {
            async fn list_products(
                &self,
                category: Option<&str>,
                page: PageRequest,
            ) -> AppResult<Page<Product>> {
                let query = sqlx::query(concat!(
                    "SELECT ",
                    product_columns!(),
                    " FROM products WHERE (CAST($1 AS TEXT) IS NULL OR category = $1) \
                     AND id > $2 ORDER BY id LIMIT $3"
                ))
                .bind(category)
                .bind(page.after.unwrap_or(0))
                .bind(i64::from(page.limit) + 1);
                let products = self.fetch_all(Access::Read, query, rows::product).await?;
                Ok(Page::from_overfetch(products, page.limit, |p| p.product_id))
            }

            async fn get_product(&self, id: i64) -> AppResult<Option<Product>> {
                let query = sqlx::query(concat!(
                    "SELECT ",
                    product_columns!(),
                    " FROM products WHERE id = $1"
                ));
                self.fetch_optional(Access::Read, query.bind(id), rows::product)
                    .await
            }

            async fn get_products(&self, ids: &[i64]) -> AppResult<Vec<Product>> {
                let query = sqlx::query(Db::PRODUCTS_BY_IDS).bind(IdList(ids));
                self.fetch_all(Access::Read, query, rows::product).await
            }

            async fn create_product(&self, new: &NewProduct) -> AppResult<Product> {
                let query = sqlx::query(concat!(
                    insert_product!(),
                    " RETURNING ",
                    product_columns!()
                ));
                self.fetch_one(Access::Write, bind_product(query, new), rows::product)
                    .await
            }

            async fn update_product(
                &self,
                id: i64,
                patch: &ProductPatch,
            ) -> AppResult<Option<Product>> {
                let query = sqlx::query(concat!(
                    "UPDATE products SET \
                     name = COALESCE($1, name), \
                     description = COALESCE($2, description), \
                     price_cents = COALESCE($3, price_cents), \
                     category = COALESCE($4, category), \
                     in_stock = COALESCE($5, in_stock), \
                     updated_at = COALESCE($6, updated_at) \
                     WHERE id = $7 RETURNING ",
                    product_columns!()
                ))
                .bind(patch.name.as_deref())
                .bind(patch.description.as_deref())
                .bind(patch.price.map(|p| p.cents()))
                .bind(patch.category.as_deref())
                .bind(patch.in_stock)
                .bind(patch.updated_at)
                .bind(id);
                self.fetch_optional(Access::Write, query, rows::product)
                    .await
            }

            async fn seed_catalog(&self, products: &[NewProduct]) -> AppResult<bool> {
                self.pool().await?;
                self.seed_catalog_now(products).await
            }
        }
    };
}

for_each_database!(product_repo);
