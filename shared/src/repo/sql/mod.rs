//! One SQL store for SQLite and PostgreSQL: the same statements and the same
//! Rust code serve both; what differs lives in `dialect`.
//!
//! Each repository (`users`, `products`, `orders`, `invoices`, and the bootstrap
//! and `Store` impl below) is written once, as the body of a macro that
//! `for_each_database!` expands once per compiled database, in a module where
//! `Db` names it: plain, concrete code, type-checked for each. A generic
//! `impl<D: Database>` was the alternative; it would have to restate sqlx's
//! requirements (that a connection of `D` executes queries; that `i64`, `&str`,
//! `bool`, their `Option`s and our own column types encode and decode for `D`;
//! ...) on every impl, since Rust does not carry such bounds from a trait to
//! its users, and that clause would outweigh the queries.
//!
//! To add a query for both: write its statement once, with `$n` parameters and
//! plain columns (bind and read timestamps as `Timestamp`, JSON documents as
//! `JsonDoc`). Only if it needs SQL that one of the two lacks, give `Dialect` a
//! constant for it, assembled in `dialect!` from each database's fragment. A
//! new table gets a file of its own with the same shape as `users.rs`.
//!
//! Per database, `sqlite` opens the file (WAL, busy timeout, a file lock for the
//! bootstrap) and `postgres` prepares a lazy pool (statement timeout); both
//! then bootstrap through `SqlStore::pool` below.

use std::future::Future;
use std::pin::Pin;

use async_trait::async_trait;
use sqlx::query::Query;
use sqlx::{Database, Pool};
use tokio::sync::OnceCell;

use super::{Bootstrap, Store};

pub(super) mod conn;
use crate::domain::{Page, PageRequest, Timestamp};
use crate::error::{AppError, AppResult};
use crate::sample;

/// A statement with its parameters bound, ready to run on `D`.
type SqlQuery<'q, D> = Query<'q, D, <D as Database>::Arguments>;
/// Maps a result row of `D` to a domain value (the functions of `rows`).
type MapRow<D, T> = fn(&<D as Database>::Row) -> AppResult<T>;

/// Expands `$impls!()` once per compiled database, each time in a module of
/// its own that sees the caller's imports and names the database `Db`.
macro_rules! for_each_database {
    ($impls:ident) => {
        #[cfg(feature = "sqlite")]
        mod on_sqlite {
            use super::*;
            type Db = sqlx::Sqlite;
            $impls!();
        }
        #[cfg(feature = "postgres")]
        mod on_postgres {
            use super::*;
            type Db = sqlx::Postgres;
            $impls!();
        }
    };
}

/// The columns every query selects, in the shape `rows` reads (macros, so
/// `concat!` can build `&'static str` statements from them).
macro_rules! user_columns {
    () => {
        "id, username, password_hash, created_at, role"
    };
}
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

/// When a key's row may be taken over by a claim (the statement's `excluded`
/// row, with `$7` its `now`): the row expired, or it runs on a lapsed lease
/// with the same fingerprint.
macro_rules! key_is_free {
    () => {
        "idempotency_keys.expires_at <= $7
            OR (idempotency_keys.status IS NULL AND idempotency_keys.lease_until <= $7
                AND idempotency_keys.fingerprint = excluded.fingerprint)"
    };
}
/// Claims a key: an upsert of the claim `$1` to `$7` (user, key, fingerprint,
/// token, lease end, expiry, now) from the row source `$rows`, that takes the
/// row only when it is free.
macro_rules! claim_key {
    ($rows:literal) => {
        concat!(
            "INSERT INTO idempotency_keys
                 (user_id, idem_key, fingerprint, token, lease_until, expires_at) ",
            $rows,
            " ON CONFLICT (user_id, idem_key) DO UPDATE SET
                 fingerprint = excluded.fingerprint, token = excluded.token,
                 lease_until = excluded.lease_until, expires_at = excluded.expires_at,
                 status = NULL, body = NULL, location = NULL
             WHERE ",
            key_is_free!()
        )
    };
}

/// Answers a key: an upsert of the claim `$1` to `$7` with its response, from
/// the row source `$rows`, that writes the response while the claim holds the
/// key and takes the row with it when the key is free.
macro_rules! answer_key {
    ($rows:literal) => {
        concat!(
            "INSERT INTO idempotency_keys (user_id, idem_key, fingerprint, token, \
                 lease_until, expires_at, status, body, location) ",
            $rows,
            " ON CONFLICT (user_id, idem_key) DO UPDATE SET
                 fingerprint = excluded.fingerprint, token = excluded.token,
                 lease_until = excluded.lease_until, expires_at = excluded.expires_at,
                 status = excluded.status, body = excluded.body, location = excluded.location
             WHERE (idempotency_keys.status IS NULL AND idempotency_keys.token = excluded.token)
                OR ",
            key_is_free!()
        )
    };
}

pub mod dialect;
mod idempotency;
mod invoices;
mod orders;
#[cfg(feature = "postgres")]
pub mod postgres;
mod products;
mod rows;
mod sessions;
#[cfg(feature = "sqlite")]
pub mod sqlite;
mod users;

use dialect::Dialect;

/// Work the first use does before the bootstrap: PostgreSQL sets its real
/// connection options there, since their secrets may have to be fetched from
/// AWS, which a cold start must not wait for.
type Prepare<D> = Box<
    dyn for<'a> Fn(&'a Pool<D>) -> Pin<Box<dyn Future<Output = AppResult<()>> + Send + 'a>>
        + Send
        + Sync,
>;

/// A repository over one SQL database: `SqliteStore` or `PostgresStore`.
pub struct SqlStore<D: Database> {
    pool: Pool<D>,
    /// The connection the store holds (see `conn`), if it keeps one, and
    /// which units of work run on it.
    held: Option<(conn::Slot<D>, Holds)>,
    bootstrap: Bootstrap,
    prepare: Option<Prepare<D>>,
    /// Set once the bootstrap has run; a failed one is retried on next use.
    ready: OnceCell<()>,
}

impl<D: Database> SqlStore<D> {
    fn new(
        pool: Pool<D>,
        held: Option<(conn::Slot<D>, Holds)>,
        bootstrap: Bootstrap,
        prepare: Option<Prepare<D>>,
    ) -> Self {
        SqlStore {
            pool,
            held,
            bootstrap,
            prepare,
            ready: OnceCell::new(),
        }
    }
}

/// What a unit of work does to the database, which decides where it runs.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(super) enum Access {
    Read,
    /// Writes, and reads that must see the latest committed write.
    Write,
}

/// Which units of work run on a store's held connection.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(super) enum Holds {
    /// All of them: a single-connection store (PostgreSQL on Lambda).
    All,
    /// Writes; reads use the pool. SQLite lets one connection write at a
    /// time, so writers queue in-process for the one writer connection rather
    /// than contend for the file lock (SQLite's busy handler sleeps between
    /// tries), and a write pays no pool release (a task and a ping).
    Writes,
}

/// Maps a driver error: an unreachable or contended store is a 503, anything
/// else a logged 500.
fn store_error<D: Dialect>(e: sqlx::Error) -> AppError {
    match e {
        sqlx::Error::Io(_)
        | sqlx::Error::Tls(_)
        | sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::WorkerCrashed => AppError::unavailable(e),
        sqlx::Error::Database(ref db) if db.code().is_some_and(|c| D::is_transient(&c)) => {
            AppError::unavailable(e)
        }
        other => AppError::internal(other),
    }
}

fn migrate_error<D: Dialect>(e: sqlx::migrate::MigrateError) -> AppError {
    match e {
        sqlx::migrate::MigrateError::Execute(e) => store_error::<D>(e),
        other => AppError::internal(format!("migrations failed: {other}")),
    }
}

fn is_unique_violation(e: &sqlx::Error) -> bool {
    matches!(e, sqlx::Error::Database(db) if db.is_unique_violation())
}

/// The bootstrap, the ways to run a query that every repository uses, and
/// the `Store` impl.
macro_rules! store {
    () => {
        impl SqlStore<Db> {
            /// The pool, once the store is bootstrapped: migrated and
            /// seeded as `bootstrap` says, once per instance, on first use
            /// (or at open, for SQLite). A failure (the database is down)
            /// is not remembered: the next call tries again.
            pub(super) async fn pool(&self) -> AppResult<&Pool<Db>> {
                self.ready
                    .get_or_try_init(|| async {
                        if let Some(prepare) = &self.prepare {
                            prepare(&self.pool).await?;
                        }
                        if self.bootstrap.migrate {
                            Db::migrator()
                                .run(&self.pool)
                                .await
                                .map_err(migrate_error::<Db>)?;
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

            /// A connection for one unit of work that does `access`, once
            /// the store is bootstrapped: the held one where the store holds
            /// one for such work, else one from the pool (`conn`).
            pub(super) async fn conn(&self, access: Access) -> AppResult<conn::Conn<Db>> {
                let pool = self.pool().await?;
                let held = self.held.as_ref().and_then(|(slot, holds)| {
                    (*holds == Holds::All || access == Access::Write).then_some(slot)
                });
                conn::Conn::acquire(pool, held)
                    .await
                    .map_err(store_error::<Db>)
            }

            /// Runs `query`, which does `access`, and maps the row it returns.
            pub(super) async fn fetch_one<T>(
                &self,
                access: Access,
                query: SqlQuery<'_, Db>,
                map: MapRow<Db, T>,
            ) -> AppResult<T> {
                let mut conn = self.conn(access).await?;
                let result = query.fetch_one(&mut *conn).await;
                conn.settle(&result);
                let row = result.map_err(store_error::<Db>)?;
                map(&row)
            }

            /// Runs `query`, which does `access`, and maps the row it returns, if any.
            pub(super) async fn fetch_optional<T>(
                &self,
                access: Access,
                query: SqlQuery<'_, Db>,
                map: MapRow<Db, T>,
            ) -> AppResult<Option<T>> {
                let mut conn = self.conn(access).await?;
                let result = query.fetch_optional(&mut *conn).await;
                conn.settle(&result);
                let row = result.map_err(store_error::<Db>)?;
                row.as_ref().map(map).transpose()
            }

            /// Runs `query`, which does `access`, and maps every row it returns.
            pub(super) async fn fetch_all<T>(
                &self,
                access: Access,
                query: SqlQuery<'_, Db>,
                map: MapRow<Db, T>,
            ) -> AppResult<Vec<T>> {
                let mut conn = self.conn(access).await?;
                let result = query.fetch_all(&mut *conn).await;
                conn.settle(&result);
                let rows = result.map_err(store_error::<Db>)?;
                rows.iter().map(map).collect()
            }

            /// One page of a user's records, newest first: `sql` selects from
            /// the table `WHERE user_id = $1 AND id < $2 ORDER BY id DESC LIMIT $3`.
            pub(super) async fn fetch_newest_first<T>(
                &self,
                sql: &'static str,
                user_id: i64,
                page: PageRequest,
                map: MapRow<Db, T>,
                id: fn(&T) -> i64,
            ) -> AppResult<Page<T>> {
                let query = sqlx::query(sql)
                    .bind(user_id)
                    .bind(page.after.unwrap_or(i64::MAX))
                    .bind(i64::from(page.limit) + 1);
                let items = self.fetch_all(Access::Read, query, map).await?;
                Ok(Page::from_overfetch(items, page.limit, id))
            }
        }

        #[async_trait]
        impl Store for SqlStore<Db> {
            fn driver(&self) -> &'static str {
                Db::DRIVER
            }

            async fn ping(&self) -> AppResult<()> {
                let mut conn = self.conn(Access::Read).await?;
                let result = sqlx::query("SELECT 1").execute(&mut *conn).await;
                conn.settle(&result);
                result.map_err(store_error::<Db>)?;
                Ok(())
            }
        }
    };
}

for_each_database!(store);
