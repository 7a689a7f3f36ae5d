//! The PostgreSQL backend, fit for Lambda: a small pool (a few connections per
//! instance), created lazily on first use, with short connect and statement
//! timeouts; migrations (serialised by sqlx's advisory lock) and seeding run on
//! the first request that needs the store, not at cold start. Atomicity comes
//! from the database: unique indexes, `ON CONFLICT`, conditional `UPDATE`s and
//! a transaction for the seed.

use std::time::Duration;

use async_trait::async_trait;
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
use tokio::sync::OnceCell;

use super::sql::{self, is_unique_violation, store_error};
use super::{Bootstrap, InvoiceRepo, OrderRepo, ProductRepo, Store, UserRepo, codec};
use crate::config::PostgresConfig;
use crate::domain::order::ORDER_STATUS_PENDING;
use crate::domain::{
    Invoice, NewInvoice, NewOrder, NewProduct, NewUser, Order, Page, PageRequest, Product,
    ProductPatch, StatusChange, Timestamp, User, UserRecord,
};
use crate::error::{AppError, AppResult};
use crate::sample;

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/postgres");

/// The column lists every query selects, in the shape `sql::product`,
/// `sql::order` and `sql::invoice` read: JSONB as text, timestamps as Unix
/// seconds (macros, so `concat!` can build `&'static str` queries from them).
macro_rules! product_columns {
    () => {
        "id, name, description, price_cents, category, in_stock, \
         extract(epoch FROM created_at)::bigint AS created_at, \
         extract(epoch FROM updated_at)::bigint AS updated_at"
    };
}
macro_rules! order_columns {
    () => {
        "id, user_id, username, items::text AS items, subtotal_cents, tax_cents, total_cents, status, \
         extract(epoch FROM created_at)::bigint AS created_at"
    };
}
macro_rules! invoice_columns {
    () => {
        "id, order_id, user_id, username, items::text AS items, subtotal_cents, tax_cents, total_cents, \
         status, status_history::text AS status_history, \
         extract(epoch FROM created_at)::bigint AS created_at, \
         extract(epoch FROM due_date)::bigint AS due_date"
    };
}

pub struct PostgresStore {
    pool: PgPool,
    config: PostgresConfig,
    bootstrap: Bootstrap,
    ready: OnceCell<()>,
}

impl PostgresStore {
    /// Prepares the pool without connecting: the first query connects.
    pub fn connect_lazy(config: &PostgresConfig, bootstrap: Bootstrap) -> AppResult<PostgresStore> {
        // Placeholder options: the real ones (whose secrets may live in AWS)
        // are set on first use, before any connection is made.
        let options = PgConnectOptions::new_without_pgpass();
        let pool = PgPoolOptions::new()
            .max_connections(config.max_connections)
            .min_connections(0)
            .acquire_timeout(config.connect_timeout)
            .idle_timeout(Some(Duration::from_secs(60)))
            // No extra round trip per request: sqlx already pings every
            // connection when it is released and drops the broken ones, so a
            // connection that died with the server is replaced after one 503.
            .test_before_acquire(false)
            .connect_lazy_with(options);
        Ok(PostgresStore {
            pool,
            config: config.clone(),
            bootstrap,
            ready: OnceCell::new(),
        })
    }

    /// Sets the connection options (fetching secrets held in AWS), migrates
    /// and seeds once per instance, on first use. A failure (the database or
    /// AWS is down) is not remembered: the next request tries again.
    async fn pool(&self) -> AppResult<&PgPool> {
        self.ready
            .get_or_try_init(|| async {
                self.pool
                    .set_connect_options(self.config.connect_options().await?);
                if self.bootstrap.migrate {
                    MIGRATOR.run(&self.pool).await.map_err(|e| match e {
                        sqlx::migrate::MigrateError::Execute(e) => store_error(e),
                        other => AppError::internal(format!("migrations failed: {other}")),
                    })?;
                }
                if self.bootstrap.seed {
                    self.seed_catalog_now(&sample::catalog(Timestamp::now()))
                        .await?;
                }
                Ok::<(), AppError>(())
            })
            .await?;
        Ok(&self.pool)
    }

    async fn seed_catalog_now(&self, products: &[NewProduct]) -> AppResult<bool> {
        let mut tx = self.pool.begin().await.map_err(store_error)?;
        // A concurrent seeder blocks on the primary key until we commit, then
        // inserts nothing: the catalog is seeded exactly once.
        let claimed = sqlx::query("INSERT INTO catalog_seed (id, seeded_at) VALUES (1, now()) ON CONFLICT (id) DO NOTHING")
            .execute(&mut *tx)
            .await
            .map_err(store_error)?
            .rows_affected()
            == 1;
        if !claimed {
            return Ok(false);
        }
        for p in products {
            sqlx::query(
                "INSERT INTO products (name, description, price_cents, category, in_stock, created_at, updated_at)
                 VALUES ($1, $2, $3, $4, $5, to_timestamp($6), to_timestamp($6))",
            )
            .bind(&p.name)
            .bind(&p.description)
            .bind(p.price.cents())
            .bind(&p.category)
            .bind(p.in_stock)
            .bind(p.created_at.unix() as f64)
            .execute(&mut *tx)
            .await
            .map_err(store_error)?;
        }
        tx.commit().await.map_err(store_error)?;
        Ok(true)
    }
}

#[async_trait]
impl UserRepo for PostgresStore {
    async fn register_user(&self, new: &NewUser) -> AppResult<User> {
        let result = sqlx::query(
            "INSERT INTO users (username, password_hash, created_at) VALUES ($1, $2, to_timestamp($3)) RETURNING id",
        )
        .bind(new.username.as_str())
        .bind(&new.password_hash)
        .bind(new.created_at.unix() as f64)
        .fetch_one(self.pool().await?)
        .await;
        match result {
            Ok(row) => Ok(User {
                id: sql::Columns::int(&row, "id")?,
                username: new.username.as_str().to_owned(),
                created_at: new.created_at,
            }),
            Err(e) if is_unique_violation(&e) => Err(AppError::UsernameTaken),
            Err(e) => Err(store_error(e)),
        }
    }

    async fn find_user_by_username(&self, username: &str) -> AppResult<Option<UserRecord>> {
        let row = sqlx::query(
            "SELECT id, username, password_hash, extract(epoch FROM created_at)::bigint AS created_at
             FROM users WHERE lower(username) = lower($1)",
        )
        .bind(username)
        .fetch_optional(self.pool().await?)
        .await
        .map_err(store_error)?;
        row.as_ref().map(sql::user_record).transpose()
    }
}

#[async_trait]
impl ProductRepo for PostgresStore {
    async fn list_products(
        &self,
        category: Option<&str>,
        page: PageRequest,
    ) -> AppResult<Page<Product>> {
        let rows = sqlx::query(concat!(
            "SELECT ",
            product_columns!(),
            "
             FROM products
             WHERE ($1::text IS NULL OR category = $1) AND id > $2
             ORDER BY id LIMIT $3"
        ))
        .bind(category)
        .bind(page.after.unwrap_or(0))
        .bind(i64::from(page.limit) + 1)
        .fetch_all(self.pool().await?)
        .await
        .map_err(store_error)?;
        let products = rows
            .iter()
            .map(sql::product)
            .collect::<AppResult<Vec<_>>>()?;
        Ok(Page::from_overfetch(products, page.limit, |p| p.product_id))
    }

    async fn get_product(&self, id: i64) -> AppResult<Option<Product>> {
        let row = sqlx::query(concat!(
            "SELECT ",
            product_columns!(),
            "
             FROM products WHERE id = $1"
        ))
        .bind(id)
        .fetch_optional(self.pool().await?)
        .await
        .map_err(store_error)?;
        row.as_ref().map(sql::product).transpose()
    }

    async fn get_products(&self, ids: &[i64]) -> AppResult<Vec<Product>> {
        let rows = sqlx::query(concat!(
            "SELECT ",
            product_columns!(),
            " FROM products WHERE id = ANY($1)"
        ))
        .bind(ids)
        .fetch_all(self.pool().await?)
        .await
        .map_err(store_error)?;
        rows.iter().map(sql::product).collect()
    }

    async fn create_product(&self, new: &NewProduct) -> AppResult<Product> {
        let row = sqlx::query(concat!("INSERT INTO products (name, description, price_cents, category, in_stock, created_at, updated_at)
             VALUES ($1, $2, $3, $4, $5, to_timestamp($6), to_timestamp($6))
             RETURNING ", product_columns!()),
        )
        .bind(&new.name)
        .bind(&new.description)
        .bind(new.price.cents())
        .bind(&new.category)
        .bind(new.in_stock)
        .bind(new.created_at.unix() as f64)
        .fetch_one(self.pool().await?)
        .await
        .map_err(store_error)?;
        sql::product(&row)
    }

    async fn update_product(&self, id: i64, patch: &ProductPatch) -> AppResult<Option<Product>> {
        let row = sqlx::query(concat!(
            "UPDATE products SET
                 name = COALESCE($1, name),
                 description = COALESCE($2, description),
                 price_cents = COALESCE($3, price_cents),
                 category = COALESCE($4, category),
                 in_stock = COALESCE($5, in_stock),
                 updated_at = COALESCE(to_timestamp($6), updated_at)
             WHERE id = $7
             RETURNING ",
            product_columns!()
        ))
        .bind(patch.name.as_deref())
        .bind(patch.description.as_deref())
        .bind(patch.price.map(|p| p.cents()))
        .bind(patch.category.as_deref())
        .bind(patch.in_stock)
        .bind(patch.updated_at.map(|t| t.unix() as f64))
        .bind(id)
        .fetch_optional(self.pool().await?)
        .await
        .map_err(store_error)?;
        row.as_ref().map(sql::product).transpose()
    }

    async fn seed_catalog(&self, products: &[NewProduct]) -> AppResult<bool> {
        self.pool().await?;
        self.seed_catalog_now(products).await
    }
}

#[async_trait]
impl OrderRepo for PostgresStore {
    async fn place_order(&self, new: &NewOrder) -> AppResult<Order> {
        // One INSERT carries the order and all its lines: atomic by itself.
        let row = sqlx::query(concat!("INSERT INTO orders (user_id, username, items, subtotal_cents, tax_cents, total_cents, status, created_at)
             VALUES ($1, $2, $3::jsonb, $4, $5, $6, $7, to_timestamp($8))
             RETURNING ", order_columns!()),
        )
        .bind(new.user_id)
        .bind(&new.username)
        .bind(codec::encode_order_items(&new.items))
        .bind(new.subtotal.cents())
        .bind(new.tax.cents())
        .bind(new.total.cents())
        .bind(ORDER_STATUS_PENDING)
        .bind(new.created_at.unix() as f64)
        .fetch_one(self.pool().await?)
        .await
        .map_err(store_error)?;
        sql::order(&row)
    }

    async fn get_order(&self, id: i64) -> AppResult<Option<Order>> {
        let row = sqlx::query(concat!(
            "SELECT ",
            order_columns!(),
            "
             FROM orders WHERE id = $1"
        ))
        .bind(id)
        .fetch_optional(self.pool().await?)
        .await
        .map_err(store_error)?;
        row.as_ref().map(sql::order).transpose()
    }

    async fn list_orders_by_user(&self, user_id: i64, page: PageRequest) -> AppResult<Page<Order>> {
        let rows = sqlx::query(concat!(
            "SELECT ",
            order_columns!(),
            "
             FROM orders WHERE user_id = $1 AND id < $2 ORDER BY id DESC LIMIT $3"
        ))
        .bind(user_id)
        .bind(page.after.unwrap_or(i64::MAX))
        .bind(i64::from(page.limit) + 1)
        .fetch_all(self.pool().await?)
        .await
        .map_err(store_error)?;
        let orders = rows.iter().map(sql::order).collect::<AppResult<Vec<_>>>()?;
        Ok(Page::from_overfetch(orders, page.limit, |o| o.order_id))
    }
}

#[async_trait]
impl InvoiceRepo for PostgresStore {
    async fn create_invoice_once(&self, new: &NewInvoice) -> AppResult<(Invoice, bool)> {
        // The UNIQUE (order_id) index decides the race: concurrent inserts wait
        // for the winner's commit, then do nothing and read its row.
        let inserted = sqlx::query(concat!("INSERT INTO invoices (order_id, user_id, username, items, subtotal_cents, tax_cents, total_cents,
                                   status, status_history, created_at, due_date)
             VALUES ($1, $2, $3, $4::jsonb, $5, $6, $7, 'draft', '[]', to_timestamp($8), to_timestamp($9))
             ON CONFLICT (order_id) DO NOTHING
             RETURNING ", invoice_columns!()),
        )
        .bind(new.order_id)
        .bind(new.user_id)
        .bind(&new.username)
        .bind(codec::encode_invoice_items(&new.items))
        .bind(new.subtotal.cents())
        .bind(new.tax.cents())
        .bind(new.total.cents())
        .bind(new.created_at.unix() as f64)
        .bind(new.due_date.unix() as f64)
        .fetch_optional(self.pool().await?)
        .await
        .map_err(store_error)?;
        if let Some(row) = inserted {
            return Ok((sql::invoice(&row)?, true));
        }
        let existing = self
            .get_invoice_by_order(new.order_id)
            .await?
            .ok_or_else(|| AppError::internal("invoice insert conflicted but no invoice found"))?;
        Ok((existing, false))
    }

    async fn get_invoice(&self, id: i64) -> AppResult<Option<Invoice>> {
        let row = sqlx::query(concat!(
            "SELECT ",
            invoice_columns!(),
            "
             FROM invoices WHERE id = $1"
        ))
        .bind(id)
        .fetch_optional(self.pool().await?)
        .await
        .map_err(store_error)?;
        row.as_ref().map(sql::invoice).transpose()
    }

    async fn get_invoice_by_order(&self, order_id: i64) -> AppResult<Option<Invoice>> {
        let row = sqlx::query(concat!(
            "SELECT ",
            invoice_columns!(),
            "
             FROM invoices WHERE order_id = $1"
        ))
        .bind(order_id)
        .fetch_optional(self.pool().await?)
        .await
        .map_err(store_error)?;
        row.as_ref().map(sql::invoice).transpose()
    }

    async fn list_invoices_by_user(
        &self,
        user_id: i64,
        page: PageRequest,
    ) -> AppResult<Page<Invoice>> {
        let rows = sqlx::query(concat!(
            "SELECT ",
            invoice_columns!(),
            "
             FROM invoices WHERE user_id = $1 AND id < $2 ORDER BY id DESC LIMIT $3"
        ))
        .bind(user_id)
        .bind(page.after.unwrap_or(i64::MAX))
        .bind(i64::from(page.limit) + 1)
        .fetch_all(self.pool().await?)
        .await
        .map_err(store_error)?;
        let invoices = rows
            .iter()
            .map(sql::invoice)
            .collect::<AppResult<Vec<_>>>()?;
        Ok(Page::from_overfetch(invoices, page.limit, |i| i.invoice_id))
    }

    async fn transition_invoice(
        &self,
        id: i64,
        change: &StatusChange,
    ) -> AppResult<Option<Invoice>> {
        // Compare-and-set: the row lock plus the re-checked WHERE (read
        // committed) let exactly one of several concurrent moves apply.
        let row = sqlx::query(concat!(
            "UPDATE invoices
             SET status = $1, status_history = status_history || jsonb_build_array($2::jsonb)
             WHERE id = $3 AND status = $4
             RETURNING ",
            invoice_columns!()
        ))
        .bind(change.to.as_str())
        .bind(codec::encode_status_change(change))
        .bind(id)
        .bind(change.from.as_str())
        .fetch_optional(self.pool().await?)
        .await
        .map_err(store_error)?;
        row.as_ref().map(sql::invoice).transpose()
    }
}

#[async_trait]
impl Store for PostgresStore {
    fn driver(&self) -> &'static str {
        "postgres"
    }

    async fn ping(&self) -> AppResult<()> {
        sqlx::query("SELECT 1")
            .execute(self.pool().await?)
            .await
            .map_err(store_error)?;
        Ok(())
    }
}
