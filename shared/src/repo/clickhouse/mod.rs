//! The ClickHouse backend, over the HTTP interface (port 8123).
//!
//! # Why it is correct without transactions or unique keys
//!
//! ClickHouse has neither, and `INSERT ... SELECT ... WHERE NOT EXISTS` is not
//! atomic. What it does have, on one server, is the `Log` table engine: an
//! INSERT holds the table's exclusive lock for its whole duration and appends
//! its rows at the end of the column files; a SELECT takes the shared lock
//! only to note how many rows exist, then reads that prefix. So a `Log` table
//! is an append-only log with one total order that every reader agrees on, and
//! a reader whose own append finished before it started sees every row that
//! precedes its own. Read with `max_threads = 1` it is one stream from the
//! first row, so the first matching row returned is the first one appended.
//!
//! Every race is decided by such a log ("claim, then read back"):
//!
//! 1. A contender appends a claim `(key, token, payload)`: `key` names what is
//!    contended (a lower-cased username, an order id, `invoice:version`, the
//!    catalog), `token` is its random 64-bit name, `payload` the complete value
//!    it proposes (the user row, the invoice row, the status change, the sample
//!    products with their ids).
//! 2. It then reads the first claim on `key`. That is the same row for every
//!    contender, whenever it reads (its own claim is in its prefix, so every
//!    earlier one is too). The contender whose token it is has won; all the
//!    others have lost, and know the winner's token.
//!
//! Exactly one contender wins, whatever the interleaving. (The tempting rule
//! "the smallest token among those I see wins" is wrong: A appends 5, reads
//! {5} and wins; B appends 3 afterwards, reads {3, 5} and wins as well. Only an
//! order that later arrivals cannot beat makes the first decision final.)
//!
//! The decision is durable at the moment of the append, because the winning
//! claim carries the whole value. The winner then writes that value into the
//! ordinary table readers use; a loser that finds it missing there (the winner
//! is slow, or died between its two writes) writes the same row from the claim
//! payload: "helping". Both write identical rows, and every read collapses
//! duplicates (`LIMIT 1`, `LIMIT 1 BY id`, `argMax`), so a second copy is
//! harmless.
//!
//! - Users: key = the lower-cased name (usernames are ASCII by validation).
//!   One winner among any number of registrations; losers get `UsernameTaken`.
//! - Invoices: key = the order id; losers return the winner's invoice.
//! - Status moves (compare-and-set): invoices are versioned rows (version 0 at
//!   creation, +1 per move). A mover reads version v, checks its status is
//!   `from`, and claims `invoice_id:v` with the change. Only the first claim on
//!   `id:v` becomes version v+1 (the winner appends it, helpers copy it from
//!   the claim). A version v+1 row exists only after a claim on `id:v` exists,
//!   so a mover holding a stale version can never win: it loses and returns
//!   `None`. The history grows by exactly one entry per version.
//! - Sample catalog: key = `catalog`; the winner's products (ids included)
//!   are the catalog, written by the winner or by helpers, once.
//! - Ids: a `Log` of tokens, one per id handed out; an id is its token's row
//!   position (1-based). Positions are unique and grow in real time across
//!   all processes, so product ids increase and orders/invoices list newest
//!   first by id; ids stay small (well below 2^53). Losers of a claim leave
//!   gaps, as a PostgreSQL sequence does after a conflict.
//!
//! Products are not contended: a creation row (version 0, every field) plus
//! one row per partial update carrying only the changed fields; the current
//! product is, field by field, the value of the highest version that set it
//! (`argMax` skips NULLs). Two concurrent updates of different fields both
//! apply, as two concurrent `UPDATE`s would. An update's version is its time
//! in ms (with random low bits), and always above the version it read.
//!
//! # What it assumes
//!
//! - One ClickHouse server (one shard, no replicas): the `Log` engine's lock
//!   is per server, and the orders above are per server. A cluster needs a
//!   different arbiter (e.g. ClickHouse Keeper, or `KeeperMap` tables).
//! - Synchronous inserts: the HTTP INSERT returns after the rows are written
//!   and visible (the default; `async_insert` must stay off, no `Buffer` or
//!   `Distributed` tables in front).
//! - The claim logs and `id_log` are never truncated or edited: ids are row
//!   positions, and decisions are first rows. They are scanned on each claim
//!   (only their key/token columns: ~16 bytes a row), which is cheap up to
//!   millions of rows; far beyond that they would need sharding by key.
//! - Tokens are 64 random bits (SipHash of the time and a counter under the
//!   process's random keys); two contenders drawing the same one is the only
//!   way to get two winners, at odds of about n²/2^65.
//! - Timestamps are `DateTime('UTC')` (whole seconds, 1970 to 2106): 18.16
//!   has no DateTime64, and the domain keeps seconds anyway.
//!
//! All SQL lives in `sql.rs`; `client.rs` speaks HTTP.

use std::collections::HashMap;
use std::hash::{BuildHasher, Hasher};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use tokio::sync::OnceCell;

use super::{
    Bootstrap, IdempotencyRepo, InvoiceRepo, OrderRepo, ProductRepo, Store, UserRepo, codec,
};
use crate::config::ClickHouseConfig;
use crate::domain::invoice::invoice_number;
use crate::domain::order::ORDER_STATUS_PENDING;
use crate::domain::{
    ClaimOutcome, IdemClaim, IdemFinish, Invoice, InvoiceStatus, MAX_ID, Money, NewInvoice,
    NewOrder, NewProduct, NewUser, Order, Page, PageRequest, Product, ProductPatch, StatusChange,
    StoredResponse, Timestamp, User, UserRecord,
};
use crate::error::{AppError, AppResult};
use crate::sample;

mod client;
mod idempotency;
pub mod sql;

use client::Http;

pub struct ClickHouseStore {
    http: Http,
    database: String,
    bootstrap: Bootstrap,
    ready: OnceCell<()>,
}

/// The outcome of a claim: whether we won, and the winning token.
struct Claim {
    won: bool,
    winner: u64,
}

impl ClickHouseStore {
    /// Builds the client without contacting the server: the first request
    /// that needs the store migrates and seeds (as `bootstrap` says).
    pub fn new(config: &ClickHouseConfig, bootstrap: Bootstrap) -> AppResult<ClickHouseStore> {
        Ok(ClickHouseStore {
            http: Http::new(config)?,
            database: config.database.clone(),
            bootstrap,
            ready: OnceCell::new(),
        })
    }

    /// Migrates and seeds once per instance, on first use; a failure is not
    /// remembered, so the next request tries again.
    async fn ready(&self) -> AppResult<&Http> {
        self.ready
            .get_or_try_init(|| async {
                if self.bootstrap.migrate {
                    self.http
                        .execute_idempotent(&sql::create_database(&self.database), false)
                        .await?;
                    for statement in sql::SCHEMA {
                        self.http.execute_idempotent(statement, true).await?;
                    }
                }
                if self.bootstrap.seed {
                    self.seed_now(&sample::catalog(Timestamp::now())).await?;
                }
                Ok::<(), AppError>(())
            })
            .await?;
        Ok(&self.http)
    }

    /// Appends a claim on `key` and reads back the first one.
    async fn claim(&self, log: &'static str, key: &str, payload: String) -> AppResult<Claim> {
        #[derive(Serialize)]
        struct Row<'a> {
            key: &'a str,
            token: u64,
            payload: String,
        }
        #[derive(Deserialize)]
        struct First {
            token: u64,
        }
        let token = random_token();
        self.http
            .insert(
                log,
                &[Row {
                    key,
                    token,
                    payload,
                }],
            )
            .await?;
        let first: First = self
            .http
            .select_one(&sql::first_claim(log, key))
            .await?
            .ok_or_else(|| {
                AppError::internal(format!("claim on {log}/{key} not found after appending it"))
            })?;
        Ok(Claim {
            won: first.token == token,
            winner: first.token,
        })
    }

    async fn claim_payload(&self, log: &'static str, key: &str, token: u64) -> AppResult<String> {
        #[derive(Deserialize)]
        struct Payload {
            payload: String,
        }
        let row: Payload = self
            .http
            .select_one(&sql::claim_payload(log, key, token))
            .await?
            .ok_or_else(|| AppError::internal(format!("winning claim on {log}/{key} vanished")))?;
        Ok(row.payload)
    }

    /// `n` new ids, in increasing order: the positions of `n` fresh tokens
    /// appended to the id log in one insert.
    async fn allocate_ids(&self, n: usize) -> AppResult<Vec<i64>> {
        #[derive(Serialize)]
        struct Row {
            token: u64,
        }
        #[derive(Deserialize)]
        struct Positions {
            tokens: Vec<u64>,
            positions: Vec<u64>,
        }
        if n == 0 {
            return Ok(Vec::new());
        }
        let tokens: Vec<u64> = (0..n).map(|_| random_token()).collect();
        self.http
            .insert(
                sql::ID_LOG,
                &tokens
                    .iter()
                    .map(|&token| Row { token })
                    .collect::<Vec<_>>(),
            )
            .await?;
        let found: Positions = self
            .http
            .select_one(&sql::id_positions(&tokens))
            .await?
            .ok_or_else(|| AppError::internal("id log answered nothing"))?;
        let by_token: HashMap<u64, u64> = found.tokens.into_iter().zip(found.positions).collect();
        tokens
            .iter()
            .map(
                |t| match by_token.get(t).and_then(|&p| i64::try_from(p).ok()) {
                    Some(id) if (1..=MAX_ID).contains(&id) => Ok(id),
                    _ => Err(AppError::internal(
                        "id log: a new token has no valid position",
                    )),
                },
            )
            .collect()
    }

    async fn seed_now(&self, products: &[NewProduct]) -> AppResult<bool> {
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
            self.http.insert(sql::PRODUCTS, &rows).await?;
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
                .http
                .select_one(&sql::products_present(&winner_ids))
                .await?
                .unwrap_or_default();
            if present.n < winner_ids.len() as u64 {
                self.http.insert(sql::PRODUCTS, &winner).await?;
            }
        }
        Ok(false)
    }

    async fn latest_invoice(&self, query: &str) -> AppResult<Option<InvoiceRow>> {
        Ok(self
            .ready()
            .await?
            .select_one::<InvoiceOut>(query)
            .await?
            .map(InvoiceRow::from))
    }
}

#[async_trait]
impl UserRepo for ClickHouseStore {
    async fn register_user(&self, new: &NewUser) -> AppResult<User> {
        let http = self.ready().await?;
        let name_key = new.username.as_str().to_ascii_lowercase();
        let id = self.allocate_ids(1).await?[0];
        let row = UserRow {
            name_key: name_key.clone(),
            id,
            username: new.username.as_str().to_owned(),
            password_hash: new.password_hash.clone(),
            created_at: seconds(new.created_at)?,
        };
        let claim = self
            .claim(sql::USER_CLAIMS, &name_key, to_json(&row)?)
            .await?;
        if claim.won {
            http.insert(sql::USERS, &[&row]).await?;
            return Ok(User {
                id,
                username: row.username,
                created_at: new.created_at,
            });
        }
        // Help: the name is taken by the first claim; make sure that user exists.
        if http
            .select_one::<UserOut>(&sql::user_by_name_key(&name_key))
            .await?
            .is_none()
        {
            let winner: UserRow = from_json(
                &self
                    .claim_payload(sql::USER_CLAIMS, &name_key, claim.winner)
                    .await?,
            )?;
            http.insert(sql::USERS, &[winner]).await?;
        }
        Err(AppError::UsernameTaken)
    }

    async fn find_user_by_username(&self, username: &str) -> AppResult<Option<UserRecord>> {
        let found: Option<UserOut> = self
            .ready()
            .await?
            .select_one(&sql::user_by_name_key(&username.to_ascii_lowercase()))
            .await?;
        Ok(found.map(|u| UserRecord {
            user: User {
                id: u.id,
                username: u.username,
                created_at: Timestamp::from_unix(u.created_s),
            },
            password_hash: u.password_hash,
        }))
    }
}

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
    async fn get_product_state(&self, id: i64) -> AppResult<Option<ProductOut>> {
        self.ready()
            .await?
            .select_one(&sql::product_by_id(id))
            .await
    }
}

#[async_trait]
impl OrderRepo for ClickHouseStore {
    async fn place_order(
        &self,
        new: &NewOrder,
        idem: Option<&IdemFinish<'_, Order>>,
    ) -> AppResult<Order> {
        let http = self.ready().await?;
        let id = self.allocate_ids(1).await?[0];
        // One row holds the order and its lines: written whole or not at all.
        let row = OrderRow {
            id,
            user_id: new.user_id,
            username: new.username.clone(),
            items: codec::encode_order_items(&new.items),
            subtotal_cents: new.subtotal.cents(),
            tax_cents: new.tax.cents(),
            total_cents: new.total.cents(),
            status: ORDER_STATUS_PENDING.to_owned(),
            created_at: seconds(new.created_at)?,
        };
        let order = new.stored_as(id);
        match idem {
            None => http.insert(sql::ORDERS, &[&row]).await?,
            // With a key, the order row rides in the result claim: only the
            // claim's winner writes it (see `idempotency.rs`).
            Some(idem) => {
                let response = (idem.render)(&order);
                let row = serde_json::to_value(&row).map_err(AppError::internal)?;
                if !self.finish_key(idem.claim, &response, Some(row)).await? {
                    return Err(AppError::IdempotencyKeyInUse {
                        retry_after_seconds: 1,
                    });
                }
            }
        }
        Ok(order)
    }

    async fn get_order(&self, id: i64) -> AppResult<Option<Order>> {
        let row: Option<OrderOut> = self
            .ready()
            .await?
            .select_one(&sql::order_by_id(id))
            .await?;
        row.map(OrderOut::order).transpose()
    }

    async fn list_orders_by_user(&self, user_id: i64, page: PageRequest) -> AppResult<Page<Order>> {
        let query = sql::orders_page(user_id, page.after.unwrap_or(i64::MAX), page.limit + 1);
        let rows: Vec<OrderOut> = self.ready().await?.select(&query).await?;
        let orders = rows
            .into_iter()
            .map(OrderOut::order)
            .collect::<AppResult<Vec<_>>>()?;
        Ok(Page::from_overfetch(orders, page.limit, |o| o.order_id))
    }
}

impl ClickHouseStore {
    /// The order's one invoice, decided by the first claim on its order id:
    /// created now (`true`) or found.
    async fn create_invoice_claimed(&self, new: &NewInvoice) -> AppResult<(Invoice, bool)> {
        let http = self.ready().await?;
        // The common retry: the invoice exists, no claim needed.
        if let Some(existing) = self
            .latest_invoice(&sql::invoice_by_order(new.order_id))
            .await?
        {
            return Ok((existing.invoice()?, false));
        }
        let id = self.allocate_ids(1).await?[0];
        let row = InvoiceRow {
            id,
            version: 0,
            order_id: new.order_id,
            user_id: new.user_id,
            username: new.username.clone(),
            items: codec::encode_invoice_items(&new.items),
            subtotal_cents: new.subtotal.cents(),
            tax_cents: new.tax.cents(),
            total_cents: new.total.cents(),
            status: InvoiceStatus::Draft.as_str().to_owned(),
            status_history: "[]".to_owned(),
            created_at: seconds(new.created_at)?,
            due_date: seconds(new.due_date)?,
        };
        let key = new.order_id.to_string();
        let claim = self
            .claim(sql::INVOICE_CLAIMS, &key, to_json(&row)?)
            .await?;
        if claim.won {
            http.insert(sql::INVOICES, &[&row]).await?;
            return Ok((row.invoice()?, true));
        }
        if let Some(existing) = self
            .latest_invoice(&sql::invoice_by_order(new.order_id))
            .await?
        {
            return Ok((existing.invoice()?, false));
        }
        // Help: the winner's invoice is decided but not written yet.
        let winner: InvoiceRow = from_json(
            &self
                .claim_payload(sql::INVOICE_CLAIMS, &key, claim.winner)
                .await?,
        )?;
        http.insert(sql::INVOICES, &[&winner]).await?;
        Ok((winner.invoice()?, false))
    }
}

#[async_trait]
impl InvoiceRepo for ClickHouseStore {
    async fn create_invoice_once(
        &self,
        new: &NewInvoice,
        idem: Option<&IdemFinish<'_, (Invoice, bool)>>,
    ) -> AppResult<(Invoice, bool)> {
        let result = self.create_invoice_claimed(new).await?;
        if let Some(idem) = idem.filter(|_| result.1) {
            // The invoice is decided by its own claim (one per order, so a
            // retry can never make a second); the response is claimed after it.
            if !self
                .finish_key(idem.claim, &(idem.render)(&result), None)
                .await?
            {
                return Err(AppError::IdempotencyKeyInUse {
                    retry_after_seconds: 1,
                });
            }
        }
        Ok(result)
    }

    async fn get_invoice(&self, id: i64) -> AppResult<Option<Invoice>> {
        self.latest_invoice(&sql::invoice_by_id(id))
            .await?
            .map(|r| r.invoice())
            .transpose()
    }

    async fn get_invoice_by_order(&self, order_id: i64) -> AppResult<Option<Invoice>> {
        self.latest_invoice(&sql::invoice_by_order(order_id))
            .await?
            .map(|r| r.invoice())
            .transpose()
    }

    async fn list_invoices_by_user(
        &self,
        user_id: i64,
        page: PageRequest,
    ) -> AppResult<Page<Invoice>> {
        let query = sql::invoices_page(user_id, page.after.unwrap_or(i64::MAX), page.limit + 1);
        let rows: Vec<InvoiceOut> = self.ready().await?.select(&query).await?;
        let invoices = rows
            .into_iter()
            .map(|r| InvoiceRow::from(r).invoice())
            .collect::<AppResult<Vec<_>>>()?;
        Ok(Page::from_overfetch(invoices, page.limit, |i| i.invoice_id))
    }

    async fn transition_invoice(
        &self,
        id: i64,
        change: &StatusChange,
    ) -> AppResult<Option<Invoice>> {
        let http = self.ready().await?;
        let Some(current) = self.latest_invoice(&sql::invoice_by_id(id)).await? else {
            return Ok(None);
        };
        if current.status != change.from.as_str() {
            return Ok(None);
        }
        let key = format!("{id}:{}", current.version);
        let proposed = codec::encode_status_change(change);
        let claim = self
            .claim(sql::STATUS_CLAIMS, &key, proposed.clone())
            .await?;
        if claim.won {
            let next = current.moved(&proposed)?;
            http.insert(sql::INVOICES, &[&next]).await?;
            return Ok(Some(next.invoice()?));
        }
        // Lost: someone else's move from this version stands. Help it be written.
        let written: Count = http
            .select_one(&sql::invoice_version_exists(id, current.version + 1))
            .await?
            .unwrap_or_default();
        if written.n == 0 {
            let winner = self
                .claim_payload(sql::STATUS_CLAIMS, &key, claim.winner)
                .await?;
            http.insert(sql::INVOICES, &[current.moved(&winner)?])
                .await?;
        }
        Ok(None)
    }
}

#[async_trait]
impl IdempotencyRepo for ClickHouseStore {
    async fn claim_idempotency_key(&self, claim: &IdemClaim) -> AppResult<ClaimOutcome> {
        self.claim_key(claim).await
    }

    async fn complete_idempotency_key(
        &self,
        claim: &IdemClaim,
        response: &StoredResponse,
    ) -> AppResult<bool> {
        self.finish_key(claim, response, None).await
    }

    async fn release_idempotency_key(&self, claim: &IdemClaim) -> AppResult<()> {
        self.release_key(claim).await
    }
}

#[async_trait]
impl Store for ClickHouseStore {
    fn driver(&self) -> &'static str {
        "clickhouse"
    }

    /// `SELECT 1` within the connect budget (1.5 s by default); it does not
    /// wait for migrations, so `/health` answers fast either way.
    async fn ping(&self) -> AppResult<()> {
        self.http.ping().await
    }
}

#[derive(Serialize, Deserialize)]
struct UserRow {
    name_key: String,
    id: i64,
    username: String,
    password_hash: String,
    created_at: u32,
}

#[derive(Deserialize)]
struct UserOut {
    id: i64,
    username: String,
    password_hash: String,
    created_s: i64,
}

#[derive(Serialize, Deserialize)]
struct ProductRow {
    id: i64,
    version: u64,
    name: Option<String>,
    description: Option<String>,
    price_cents: Option<i64>,
    category: Option<String>,
    in_stock: Option<u8>,
    created_at: Option<u32>,
    updated_at: Option<u32>,
}

impl ProductRow {
    fn created(id: i64, p: &NewProduct) -> AppResult<ProductRow> {
        let at = seconds(p.created_at)?;
        Ok(ProductRow {
            id,
            version: 0,
            name: Some(p.name.clone()),
            description: Some(p.description.clone()),
            price_cents: Some(p.price.cents()),
            category: Some(p.category.clone()),
            in_stock: Some(u8::from(p.in_stock)),
            created_at: Some(at),
            updated_at: Some(at),
        })
    }
}

#[derive(Deserialize)]
struct ProductOut {
    id: i64,
    name: String,
    description: String,
    price_cents: i64,
    category: String,
    in_stock: u8,
    created_s: i64,
    updated_s: i64,
    latest_version: u64,
}

impl ProductOut {
    fn product(self) -> Product {
        Product {
            product_id: self.id,
            name: self.name,
            description: self.description,
            price: Money::from_cents(self.price_cents),
            category: self.category,
            in_stock: self.in_stock != 0,
            created_at: Timestamp::from_unix(self.created_s),
            updated_at: Timestamp::from_unix(self.updated_s),
        }
    }
}

#[derive(Serialize)]
struct OrderRow {
    id: i64,
    user_id: i64,
    username: String,
    items: String,
    subtotal_cents: i64,
    tax_cents: i64,
    total_cents: i64,
    status: String,
    created_at: u32,
}

#[derive(Deserialize)]
struct OrderOut {
    id: i64,
    user_id: i64,
    username: String,
    items: String,
    subtotal_cents: i64,
    tax_cents: i64,
    total_cents: i64,
    status: String,
    created_s: i64,
}

impl OrderOut {
    fn order(self) -> AppResult<Order> {
        Ok(Order {
            order_id: self.id,
            user_id: self.user_id,
            username: self.username,
            items: codec::decode_order_items(&self.items)?,
            subtotal: Money::from_cents(self.subtotal_cents),
            tax: Money::from_cents(self.tax_cents),
            total: Money::from_cents(self.total_cents),
            status: if self.status.is_empty() {
                ORDER_STATUS_PENDING.into()
            } else {
                self.status
            },
            created_at: Timestamp::from_unix(self.created_s),
        })
    }
}

/// One version of an invoice: what is inserted, claimed and read back.
#[derive(Serialize, Deserialize, Clone)]
struct InvoiceRow {
    id: i64,
    version: u32,
    order_id: i64,
    user_id: i64,
    username: String,
    items: String,
    subtotal_cents: i64,
    tax_cents: i64,
    total_cents: i64,
    status: String,
    status_history: String,
    created_at: u32,
    due_date: u32,
}

impl InvoiceRow {
    /// The next version after applying one stored status change (as encoded by
    /// the codec). Deterministic, so a winner and a helper write the same row.
    fn moved(&self, change_json: &str) -> AppResult<InvoiceRow> {
        let change = codec::decode_status_history(&format!("[{change_json}]"))?
            .pop()
            .ok_or_else(|| AppError::internal("empty status change"))?;
        let mut history: Vec<serde_json::Value> = from_json(&self.status_history)?;
        history.push(from_json(change_json)?);
        Ok(InvoiceRow {
            version: self.version + 1,
            status: change.to.as_str().to_owned(),
            status_history: to_json(&history)?,
            ..self.clone()
        })
    }

    fn invoice(self) -> AppResult<Invoice> {
        let created_at = Timestamp::from_unix(i64::from(self.created_at));
        Ok(Invoice {
            invoice_id: self.id,
            invoice_number: invoice_number(self.id, created_at),
            order_id: self.order_id,
            user_id: self.user_id,
            username: self.username,
            items: codec::decode_invoice_items(&self.items)?,
            subtotal: Money::from_cents(self.subtotal_cents),
            tax: Money::from_cents(self.tax_cents),
            total: Money::from_cents(self.total_cents),
            status: InvoiceStatus::parse(&self.status)
                .map_err(|_| AppError::internal("stored invoice status unreadable"))?,
            created_at,
            due_date: Timestamp::from_unix(i64::from(self.due_date)),
            status_history: codec::decode_status_history(&self.status_history)?,
        })
    }
}

#[derive(Deserialize)]
struct InvoiceOut {
    id: i64,
    version: u32,
    order_id: i64,
    user_id: i64,
    username: String,
    items: String,
    subtotal_cents: i64,
    tax_cents: i64,
    total_cents: i64,
    status: String,
    status_history: String,
    created_s: u32,
    due_s: u32,
}

impl From<InvoiceOut> for InvoiceRow {
    fn from(o: InvoiceOut) -> InvoiceRow {
        InvoiceRow {
            id: o.id,
            version: o.version,
            order_id: o.order_id,
            user_id: o.user_id,
            username: o.username,
            items: o.items,
            subtotal_cents: o.subtotal_cents,
            tax_cents: o.tax_cents,
            total_cents: o.total_cents,
            status: o.status,
            status_history: o.status_history,
            created_at: o.created_s,
            due_date: o.due_s,
        }
    }
}

#[derive(Deserialize, Default)]
struct Count {
    n: u64,
}

/// A timestamp as a `DateTime` value: Unix seconds that fit its UInt32.
fn seconds(t: Timestamp) -> AppResult<u32> {
    u32::try_from(t.unix()).map_err(|_| {
        AppError::internal(format!(
            "timestamp {} outside ClickHouse DateTime",
            t.unix()
        ))
    })
}

fn to_json<T: Serialize>(value: &T) -> AppResult<String> {
    serde_json::to_string(value).map_err(AppError::internal)
}

fn from_json<T: serde::de::DeserializeOwned>(text: &str) -> AppResult<T> {
    serde_json::from_str(text)
        .map_err(|e| AppError::internal(format!("stored claim unreadable: {e}")))
}

/// 64 unpredictable bits: SipHash, keyed with the process's random
/// `RandomState` keys (from the OS), of the clock and a process-wide counter.
fn random_token() -> u64 {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    hasher.write_u64(COUNTER.fetch_add(1, Ordering::Relaxed));
    hasher.write_u128(
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or_default(),
    );
    hasher.finish()
}

/// A product update's version: its time in ms, above the version it read,
/// with 16 random low bits so two updates in the same ms do not tie.
fn next_version(read: u64) -> u64 {
    let now_ms = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or_default();
    let step = now_ms.max((read >> 16) + 1);
    (step << 16) | (random_token() & 0xFFFF)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_differ() {
        let tokens: std::collections::HashSet<u64> = (0..10_000).map(|_| random_token()).collect();
        assert_eq!(tokens.len(), 10_000);
    }

    #[test]
    fn update_versions_exceed_the_version_read() {
        let created = 0;
        let first = next_version(created);
        assert!(first > created);
        // Even when the version read is "from the future" (another clock).
        let future = (u64::from(u32::MAX) << 20) | 5;
        assert!(next_version(future) > future);
    }

    #[test]
    fn a_move_appends_one_history_entry_and_bumps_the_version() {
        let row = InvoiceRow {
            id: 9,
            version: 0,
            order_id: 1,
            user_id: 2,
            username: "alice".into(),
            items: "[]".into(),
            subtotal_cents: 100,
            tax_cents: 10,
            total_cents: 110,
            status: "draft".into(),
            status_history: "[]".into(),
            created_at: 1_790_000_000,
            due_date: 1_792_592_000,
        };
        let change = StatusChange {
            from: InvoiceStatus::Draft,
            to: InvoiceStatus::Sent,
            changed_by: 2,
            changed_at: Timestamp::from_unix(1_790_000_100),
        };
        let sent = row.moved(&codec::encode_status_change(&change)).unwrap();
        assert_eq!((sent.version, sent.status.as_str()), (1, "sent"));
        assert_eq!(
            row.moved(&codec::encode_status_change(&change))
                .unwrap()
                .status_history,
            sent.status_history
        );
        let invoice = sent.invoice().unwrap();
        assert_eq!(invoice.status_history, vec![change]);
        assert_eq!(invoice.invoice_number, "INV-2026-000009");
    }

    #[test]
    fn timestamps_outside_datetime_are_refused() {
        assert_eq!(
            seconds(Timestamp::from_unix(1_790_000_000)).unwrap(),
            1_790_000_000
        );
        assert!(seconds(Timestamp::from_unix(-1)).is_err());
        assert!(seconds(Timestamp::from_unix(i64::from(u32::MAX) + 1)).is_err());
    }
}
