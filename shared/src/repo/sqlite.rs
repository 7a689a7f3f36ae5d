//! The embedded SQLite backend: the zero-setup default for local use.
//! WAL journal so readers never block the writer; a busy timeout so concurrent
//! writers queue instead of failing; every unit of work one statement or one
//! transaction that starts with a write (so it takes the write lock up front).

use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::Duration;

use async_trait::async_trait;
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};

use super::sql::idempotency::{self, finish_in};
use super::sql::{self, is_unique_violation, store_error};
use super::{
    Bootstrap, IdempotencyRepo, InvoiceRepo, OrderRepo, ProductRepo, Store, UserRepo, codec,
};
use crate::domain::order::ORDER_STATUS_PENDING;
use crate::domain::{
    ClaimOutcome, IdemClaim, IdemFinish, Invoice, NewInvoice, NewOrder, NewProduct, NewUser, Order,
    Page, PageRequest, Product, ProductPatch, StatusChange, StoredResponse, Timestamp, User,
    UserRecord,
};
use crate::error::{AppError, AppResult};
use crate::sample;

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/sqlite");

/// The column lists every query selects, in the shape `sql::product`,
/// `sql::order` and `sql::invoice` read (macros, so `concat!` can build
/// `&'static str` queries from them).
macro_rules! product_columns {
    () => {
        "id, name, description, price_cents, category, in_stock, created_at, updated_at"
    };
}
macro_rules! order_columns {
    () => {
        "id, user_id, username, items, subtotal_cents, tax_cents, total_cents, status, created_at"
    };
}
macro_rules! invoice_columns {
    () => {
        "id, order_id, user_id, username, items, subtotal_cents, tax_cents, total_cents, \
         status, status_history, created_at, due_date"
    };
}

const INVOICE_BY_ORDER: &str = concat!(
    "SELECT ",
    invoice_columns!(),
    " FROM invoices WHERE order_id = ?"
);

pub struct SqliteStore {
    pool: SqlitePool,
}

impl SqliteStore {
    /// Opens (creating if needed) the database file, then migrates and seeds it
    /// as `bootstrap` says.
    pub async fn open(path: &Path, bootstrap: Bootstrap) -> AppResult<SqliteStore> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)
                .map_err(|e| AppError::internal(format!("cannot create {}: {e}", dir.display())))?;
        }
        // Processes starting at once on one file take turns for the whole
        // bootstrap: creating the file and switching it to WAL, migrating and
        // seeding. Some of those steps answer "database is locked" at once,
        // without waiting out the busy timeout, if they overlap.
        let bootstrap_lock = if bootstrap.migrate || bootstrap.seed {
            Some(lock_file(lock_path_for(path)).await?)
        } else {
            None
        };
        let options = SqliteConnectOptions::from_str("sqlite:")
            .map_err(store_error)?
            .filename(path)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .foreign_keys(true)
            .busy_timeout(Duration::from_secs(10));
        let pool = SqlitePoolOptions::new()
            // One writer at a time anyway (SQLite), and few cores: a small pool
            // keeps connections (each with its own worker thread) warm.
            .max_connections(4)
            // An embedded file cannot go away between requests; skip the ping.
            .test_before_acquire(false)
            .acquire_timeout(Duration::from_secs(10))
            .connect_with(options)
            .await
            .map_err(store_error)?;
        let store = SqliteStore { pool };
        if bootstrap.migrate {
            MIGRATOR
                .run(&store.pool)
                .await
                .map_err(|e| AppError::internal(format!("migrations failed: {e}")))?;
        }
        if bootstrap.seed {
            store
                .seed_catalog(&sample::catalog(Timestamp::now()))
                .await?;
        }
        drop(bootstrap_lock);
        Ok(store)
    }
}

/// An exclusive lock on a file beside the database, held until dropped.
async fn lock_file(lock_path: PathBuf) -> AppResult<std::fs::File> {
    tokio::task::spawn_blocking(move || -> std::io::Result<std::fs::File> {
        let file = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&lock_path)?;
        file.lock()?;
        Ok(file)
    })
    .await
    .map_err(AppError::internal)?
    .map_err(|e| AppError::internal(format!("cannot lock the database for its bootstrap: {e}")))
}

fn lock_path_for(path: &Path) -> PathBuf {
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(".bootstrap.lock");
    path.with_file_name(name)
}

#[async_trait]
impl UserRepo for SqliteStore {
    async fn register_user(&self, new: &NewUser) -> AppResult<User> {
        let result = sqlx::query(
            "INSERT INTO users (username, password_hash, created_at) VALUES (?, ?, ?) RETURNING id",
        )
        .bind(new.username.as_str())
        .bind(&new.password_hash)
        .bind(new.created_at.unix())
        .fetch_one(&self.pool)
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
            "SELECT id, username, password_hash, created_at FROM users WHERE username = ? COLLATE NOCASE",
        )
        .bind(username)
        .fetch_optional(&self.pool)
        .await
        .map_err(store_error)?;
        row.as_ref().map(sql::user_record).transpose()
    }
}

#[async_trait]
impl ProductRepo for SqliteStore {
    async fn list_products(
        &self,
        category: Option<&str>,
        page: PageRequest,
    ) -> AppResult<Page<Product>> {
        let rows = sqlx::query(concat!(
            "SELECT ",
            product_columns!(),
            " FROM products
             WHERE (?1 IS NULL OR category = ?1) AND id > ?2
             ORDER BY id LIMIT ?3"
        ))
        .bind(category)
        .bind(page.after.unwrap_or(0))
        .bind(i64::from(page.limit) + 1)
        .fetch_all(&self.pool)
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
            " FROM products WHERE id = ?"
        ))
        .bind(id)
        .fetch_optional(&self.pool)
        .await
        .map_err(store_error)?;
        row.as_ref().map(sql::product).transpose()
    }

    async fn get_products(&self, ids: &[i64]) -> AppResult<Vec<Product>> {
        // The ids travel as one JSON array parameter, unpacked by json_each.
        let ids = serde_json::to_string(ids).map_err(AppError::internal)?;
        let rows = sqlx::query(concat!(
            "SELECT ",
            product_columns!(),
            " FROM products WHERE id IN (SELECT value FROM json_each(?))"
        ))
        .bind(ids)
        .fetch_all(&self.pool)
        .await
        .map_err(store_error)?;
        rows.iter().map(sql::product).collect()
    }

    async fn create_product(&self, new: &NewProduct) -> AppResult<Product> {
        let row = sqlx::query(concat!("INSERT INTO products (name, description, price_cents, category, in_stock, created_at, updated_at)
             VALUES (?, ?, ?, ?, ?, ?, ?)
             RETURNING ", product_columns!()),
        )
        .bind(&new.name)
        .bind(&new.description)
        .bind(new.price.cents())
        .bind(&new.category)
        .bind(new.in_stock)
        .bind(new.created_at.unix())
        .bind(new.created_at.unix())
        .fetch_one(&self.pool)
        .await
        .map_err(store_error)?;
        sql::product(&row)
    }

    async fn update_product(&self, id: i64, patch: &ProductPatch) -> AppResult<Option<Product>> {
        let row = sqlx::query(concat!(
            "UPDATE products SET
                 name = COALESCE(?, name),
                 description = COALESCE(?, description),
                 price_cents = COALESCE(?, price_cents),
                 category = COALESCE(?, category),
                 in_stock = COALESCE(?, in_stock),
                 updated_at = COALESCE(?, updated_at)
             WHERE id = ?
             RETURNING ",
            product_columns!()
        ))
        .bind(patch.name.as_deref())
        .bind(patch.description.as_deref())
        .bind(patch.price.map(|p| p.cents()))
        .bind(patch.category.as_deref())
        .bind(patch.in_stock)
        .bind(patch.updated_at.map(Timestamp::unix))
        .bind(id)
        .fetch_optional(&self.pool)
        .await
        .map_err(store_error)?;
        row.as_ref().map(sql::product).transpose()
    }

    async fn seed_catalog(&self, products: &[NewProduct]) -> AppResult<bool> {
        let mut tx = self.pool.begin().await.map_err(store_error)?;
        // The first statement writes, so the transaction holds the write lock
        // from here on and a concurrent seeder waits, then finds the marker.
        let claimed = sqlx::query(
            "INSERT INTO catalog_seed (id, seeded_at) VALUES (1, ?) ON CONFLICT (id) DO NOTHING",
        )
        .bind(Timestamp::now().unix())
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
                 VALUES (?, ?, ?, ?, ?, ?, ?)",
            )
            .bind(&p.name)
            .bind(&p.description)
            .bind(p.price.cents())
            .bind(&p.category)
            .bind(p.in_stock)
            .bind(p.created_at.unix())
            .bind(p.created_at.unix())
            .execute(&mut *tx)
            .await
            .map_err(store_error)?;
        }
        tx.commit().await.map_err(store_error)?;
        Ok(true)
    }
}

#[async_trait]
impl OrderRepo for SqliteStore {
    async fn place_order(
        &self,
        new: &NewOrder,
        idem: Option<&IdemFinish<'_, Order>>,
    ) -> AppResult<Order> {
        // One INSERT carries the order and all its lines; with a key, the
        // remembered response commits in the same transaction.
        let mut tx = self.pool.begin().await.map_err(store_error)?;
        let row = sqlx::query(concat!("INSERT INTO orders (user_id, username, items, subtotal_cents, tax_cents, total_cents, status, created_at)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?)
             RETURNING ", order_columns!()),
        )
        .bind(new.user_id)
        .bind(&new.username)
        .bind(codec::encode_order_items(&new.items))
        .bind(new.subtotal.cents())
        .bind(new.tax.cents())
        .bind(new.total.cents())
        .bind(ORDER_STATUS_PENDING)
        .bind(new.created_at.unix())
        .fetch_one(&mut *tx)
        .await
        .map_err(store_error)?;
        let order = sql::order(&row)?;
        finish_in(&mut tx, idem, &order).await?;
        tx.commit().await.map_err(store_error)?;
        Ok(order)
    }

    async fn get_order(&self, id: i64) -> AppResult<Option<Order>> {
        let row = sqlx::query(concat!(
            "SELECT ",
            order_columns!(),
            " FROM orders WHERE id = ?"
        ))
        .bind(id)
        .fetch_optional(&self.pool)
        .await
        .map_err(store_error)?;
        row.as_ref().map(sql::order).transpose()
    }

    async fn list_orders_by_user(&self, user_id: i64, page: PageRequest) -> AppResult<Page<Order>> {
        let rows = sqlx::query(concat!(
            "SELECT ",
            order_columns!(),
            " FROM orders WHERE user_id = ? AND id < ? ORDER BY id DESC LIMIT ?"
        ))
        .bind(user_id)
        .bind(page.after.unwrap_or(i64::MAX))
        .bind(i64::from(page.limit) + 1)
        .fetch_all(&self.pool)
        .await
        .map_err(store_error)?;
        let orders = rows.iter().map(sql::order).collect::<AppResult<Vec<_>>>()?;
        Ok(Page::from_overfetch(orders, page.limit, |o| o.order_id))
    }
}

#[async_trait]
impl InvoiceRepo for SqliteStore {
    async fn create_invoice_once(
        &self,
        new: &NewInvoice,
        idem: Option<&IdemFinish<'_, (Invoice, bool)>>,
    ) -> AppResult<(Invoice, bool)> {
        let mut tx = self.pool.begin().await.map_err(store_error)?;
        // The UNIQUE (order_id) constraint decides the race: one INSERT wins,
        // the others do nothing and read the winner's row.
        let inserted = sqlx::query(concat!("INSERT INTO invoices (order_id, user_id, username, items, subtotal_cents, tax_cents, total_cents,
                                   status, status_history, created_at, due_date)
             VALUES (?, ?, ?, ?, ?, ?, ?, 'draft', '[]', ?, ?)
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
        .bind(new.created_at.unix())
        .bind(new.due_date.unix())
        .fetch_optional(&mut *tx)
        .await
        .map_err(store_error)?;
        let result = match inserted {
            Some(row) => (sql::invoice(&row)?, true),
            None => {
                // Lost the race: the winner's row is committed (the insert
                // waited for it); read it in this transaction.
                let row = sqlx::query(INVOICE_BY_ORDER)
                    .bind(new.order_id)
                    .fetch_optional(&mut *tx)
                    .await
                    .map_err(store_error)?
                    .ok_or_else(|| {
                        AppError::internal("invoice insert conflicted but no invoice found")
                    })?;
                (sql::invoice(&row)?, false)
            }
        };
        finish_in(&mut tx, idem, &result).await?;
        tx.commit().await.map_err(store_error)?;
        Ok(result)
    }

    async fn get_invoice(&self, id: i64) -> AppResult<Option<Invoice>> {
        let row = sqlx::query(concat!(
            "SELECT ",
            invoice_columns!(),
            " FROM invoices WHERE id = ?"
        ))
        .bind(id)
        .fetch_optional(&self.pool)
        .await
        .map_err(store_error)?;
        row.as_ref().map(sql::invoice).transpose()
    }

    async fn get_invoice_by_order(&self, order_id: i64) -> AppResult<Option<Invoice>> {
        let row = sqlx::query(INVOICE_BY_ORDER)
            .bind(order_id)
            .fetch_optional(&self.pool)
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
            " FROM invoices WHERE user_id = ? AND id < ? ORDER BY id DESC LIMIT ?"
        ))
        .bind(user_id)
        .bind(page.after.unwrap_or(i64::MAX))
        .bind(i64::from(page.limit) + 1)
        .fetch_all(&self.pool)
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
        // Compare-and-set in one statement: the WHERE on the old status makes a
        // concurrent move lose cleanly (no row), and the history grows with it.
        let row = sqlx::query(concat!(
            "UPDATE invoices
             SET status = ?, status_history = json_insert(status_history, '$[#]', json(?))
             WHERE id = ? AND status = ?
             RETURNING ",
            invoice_columns!()
        ))
        .bind(change.to.as_str())
        .bind(codec::encode_status_change(change))
        .bind(id)
        .bind(change.from.as_str())
        .fetch_optional(&self.pool)
        .await
        .map_err(store_error)?;
        row.as_ref().map(sql::invoice).transpose()
    }
}

#[async_trait]
impl IdempotencyRepo for SqliteStore {
    async fn claim_idempotency_key(&self, claim: &IdemClaim) -> AppResult<ClaimOutcome> {
        idempotency::claim(&self.pool, claim).await
    }

    async fn complete_idempotency_key(
        &self,
        claim: &IdemClaim,
        response: &StoredResponse,
    ) -> AppResult<bool> {
        idempotency::finish(&self.pool, claim, response).await
    }

    async fn release_idempotency_key(&self, claim: &IdemClaim) -> AppResult<()> {
        idempotency::release(&self.pool, claim).await
    }
}

#[async_trait]
impl Store for SqliteStore {
    fn driver(&self) -> &'static str {
        "sqlite"
    }

    async fn ping(&self) -> AppResult<()> {
        sqlx::query("SELECT 1")
            .execute(&self.pool)
            .await
            .map_err(store_error)?;
        Ok(())
    }
}
