//! Repository traits: what the services need from storage, shaped as units of
//! work. Each method that must be atomic (register a unique user, place an order
//! with its lines, create the one invoice of an order, move an invoice from one
//! status to another, seed the catalog once) is a single call, and each backend
//! makes it atomic its own way: a transaction, a conditional write, a claim.

use std::sync::Arc;

use async_trait::async_trait;

use crate::config::DbConfig;
use crate::domain::{
    ClaimOutcome, FailureWindow, IdemClaim, IdemFinish, Invoice, NewInvoice, NewOrder, NewProduct,
    NewSession, NewUser, Order, Page, PageRequest, Product, ProductPatch, Role, RotateOutcome,
    Rotation, StatusChange, Timestamp, User, UserRecord,
};
use crate::error::{AppError, AppResult};

#[cfg(feature = "clickhouse")]
pub mod clickhouse;
pub mod codec;
#[cfg(feature = "dynamodb")]
pub mod dynamodb;
#[cfg(any(feature = "clickhouse", feature = "dynamodb"))]
mod random;
#[cfg(any(feature = "sqlite", feature = "postgres"))]
pub mod sql;
#[cfg(feature = "postgres")]
pub use sql::postgres;
#[cfg(feature = "sqlite")]
pub use sql::sqlite;

#[async_trait]
pub trait UserRepo: Send + Sync {
    /// Stores a new user; `AppError::UsernameTaken` when the name exists in any letter case.
    async fn register_user(&self, new: &NewUser) -> AppResult<User>;
    /// Finds a user by name, case-insensitively, with the password hash.
    async fn find_user_by_username(&self, username: &str) -> AppResult<Option<UserRecord>>;
    /// Gives the user (found by name, case-insensitively) this role: the
    /// operator's `admin grant|revoke`, never a request. `None` when no such
    /// user exists: nothing is written, so a name cannot be made an admin
    /// before someone registers it.
    async fn set_user_role(&self, username: &str, role: Role) -> AppResult<Option<User>>;
}

#[async_trait]
pub trait ProductRepo: Send + Sync {
    /// Products by ascending id, after the cursor, optionally of one category.
    async fn list_products(
        &self,
        category: Option<&str>,
        page: PageRequest,
    ) -> AppResult<Page<Product>>;
    async fn get_product(&self, id: i64) -> AppResult<Option<Product>>;
    /// The products with these ids that exist, in any order. One round trip
    /// where the backend can (an order of 50 lines is one query, not 50).
    async fn get_products(&self, ids: &[i64]) -> AppResult<Vec<Product>> {
        let mut found = Vec::with_capacity(ids.len());
        for id in ids {
            found.extend(self.get_product(*id).await?);
        }
        Ok(found)
    }
    async fn create_product(&self, new: &NewProduct) -> AppResult<Product>;
    /// Applies the patch; `None` when the product does not exist.
    async fn update_product(&self, id: i64, patch: &ProductPatch) -> AppResult<Option<Product>>;
    /// Inserts the sample catalog unless a catalog was seeded before, atomically:
    /// `true` when this call seeded it. Two concurrent calls seed once.
    async fn seed_catalog(&self, products: &[NewProduct]) -> AppResult<bool>;
}

#[async_trait]
pub trait OrderRepo: Send + Sync {
    /// Stores the order with all its lines, all or nothing. With `idem`, the
    /// remembered response is written in the same unit of work, only while the
    /// claim still holds the key (else nothing is written:
    /// `AppError::IdempotencyKeyInUse`).
    async fn place_order(
        &self,
        new: &NewOrder,
        idem: Option<&IdemFinish<'_, Order>>,
    ) -> AppResult<Order>;
    async fn get_order(&self, id: i64) -> AppResult<Option<Order>>;
    /// One user's orders, newest first (descending id), after the cursor.
    async fn list_orders_by_user(&self, user_id: i64, page: PageRequest) -> AppResult<Page<Order>>;
}

#[async_trait]
pub trait InvoiceRepo: Send + Sync {
    /// Creates the invoice of `new.order_id` unless the order has one already.
    /// Returns the order's one invoice and whether this call created it; any
    /// number of concurrent callers see the same invoice and one `true`.
    /// With `idem`, the remembered response is written with the invoice (or
    /// with the finding of the existing one), as for `place_order`.
    async fn create_invoice_once(
        &self,
        new: &NewInvoice,
        idem: Option<&IdemFinish<'_, (Invoice, bool)>>,
    ) -> AppResult<(Invoice, bool)>;
    async fn get_invoice(&self, id: i64) -> AppResult<Option<Invoice>>;
    async fn get_invoice_by_order(&self, order_id: i64) -> AppResult<Option<Invoice>>;
    /// One user's invoices, newest first (descending id), after the cursor.
    async fn list_invoices_by_user(
        &self,
        user_id: i64,
        page: PageRequest,
    ) -> AppResult<Page<Invoice>>;
    /// Compare-and-set: moves the invoice from `change.from` to `change.to` and
    /// records the change, only if its status is still `change.from`. `None`
    /// when it is not (or the invoice does not exist): nothing was written.
    async fn transition_invoice(
        &self,
        id: i64,
        change: &StatusChange,
    ) -> AppResult<Option<Invoice>>;
}

/// Records of `Idempotency-Key`s: claimed with a lease, finished with the
/// response by the creating unit of work (see `IdemFinish`) or by
/// `complete_idempotency_key`, released after a 5xx. A record past its 24 h is
/// treated as absent whatever the store's own expiry does.
#[async_trait]
pub trait IdempotencyRepo: Send + Sync {
    /// Claims the key, or says why not: the same request finished (replay),
    /// runs elsewhere (in progress), or the key was used for another request.
    /// A running record whose lease lapsed is taken over by the same request.
    async fn claim_idempotency_key(&self, claim: &IdemClaim) -> AppResult<ClaimOutcome>;
    /// Remembers a final answer that created nothing (a 4xx); `false` when the
    /// claim no longer holds the key.
    async fn complete_idempotency_key(
        &self,
        claim: &IdemClaim,
        response: &crate::domain::StoredResponse,
    ) -> AppResult<bool>;
    /// Forgets a claim after an answer that is not remembered (a 5xx), so a
    /// retry runs again. Only the holder's own claim is removed.
    async fn release_idempotency_key(&self, claim: &IdemClaim) -> AppResult<()>;
    /// Whether the creating units of work (`place_order`, `create_invoice_once`)
    /// take the key themselves: given a claim not made yet, they take the key
    /// if it is free as they create, in the same atomic unit, or create nothing
    /// and fail with `IdempotencyKeyInUse` (then `claim_idempotency_key` says
    /// why). A keyed request then needs no claim of its own ahead of the work.
    /// Either way a claim already made is honoured.
    fn takes_keys_when_creating(&self) -> bool {
        false
    }
}

/// Sessions (families of refresh tokens, stored by hash) and the failed-login
/// counts that throttle login. Expiry is decided against the `now` passed
/// in, from the stored times, whatever clean-up the store does on its own.
#[async_trait]
pub trait SessionRepo: Send + Sync {
    /// Opens a session with its first refresh token.
    async fn create_session(&self, new: &NewSession) -> AppResult<()>;
    /// Atomically spends `rotation.presented` and stores `rotation.next` in
    /// the same session, only if the presented token is live: known, unspent,
    /// unexpired at `rotation.now`, of a session not revoked. Of any number of
    /// concurrent rotations of one token, exactly one is `Rotated`. A token
    /// spent before revokes its whole session: `Reused`.
    async fn rotate_refresh_token(&self, rotation: &Rotation) -> AppResult<RotateOutcome>;
    /// Revokes the session of the token with this hash, only if that session
    /// is `user_id`'s; `false` (nothing revoked) when the token is unknown or
    /// someone else's. Revoking a revoked session again is `true`.
    async fn revoke_session(
        &self,
        user_id: i64,
        token_hash: &str,
        now: Timestamp,
    ) -> AppResult<bool>;
    /// Counts a failed login for `name_key` (a lower-cased username) at
    /// `now`, atomically, and returns its window afterwards: the open window
    /// with one more failure, or a new window of one failure opened at `now`.
    async fn record_login_failure(
        &self,
        name_key: &str,
        now: Timestamp,
    ) -> AppResult<FailureWindow>;
    /// The failed logins of `name_key` in the window open at `now` (none when
    /// no window is open).
    async fn login_failures(&self, name_key: &str, now: Timestamp) -> AppResult<FailureWindow>;
}

/// A whole storage backend.
#[async_trait]
pub trait Store:
    UserRepo + ProductRepo + OrderRepo + InvoiceRepo + IdempotencyRepo + SessionRepo
{
    /// The `DB_DRIVER` name of this backend.
    fn driver(&self) -> &'static str;
    /// A cheap round trip to the store, for `/health`.
    async fn ping(&self) -> AppResult<()>;
}

/// What a backend does to its store before serving: bring the schema up to
/// date, then seed the sample catalog (once, ever). Both run when
/// `AUTO_MIGRATE` allows; tests open stores unseeded.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Bootstrap {
    pub migrate: bool,
    pub seed: bool,
}

/// Opens the configured store, migrating and seeding it when `auto_migrate`.
pub async fn open(config: &DbConfig, auto_migrate: bool) -> AppResult<Arc<dyn Store>> {
    let bootstrap = Bootstrap {
        migrate: auto_migrate,
        seed: auto_migrate,
    };
    open_with(config, bootstrap).await
}

/// Opens the configured store with exactly this bootstrap (an operator's
/// command migrates but never seeds a store it was pointed at).
// `bootstrap` is unused in a binary built with no store at all (the authorizer).
#[allow(unused_variables)]
pub async fn open_with(config: &DbConfig, bootstrap: Bootstrap) -> AppResult<Arc<dyn Store>> {
    match config {
        #[cfg(feature = "sqlite")]
        DbConfig::Sqlite { path } => {
            Ok(Arc::new(sqlite::SqliteStore::open(path, bootstrap).await?))
        }
        #[cfg(feature = "postgres")]
        DbConfig::Postgres(pg) => Ok(Arc::new(postgres::PostgresStore::connect_lazy(
            pg, bootstrap,
        )?)),
        #[cfg(feature = "clickhouse")]
        DbConfig::ClickHouse(ch) => Ok(Arc::new(clickhouse::ClickHouseStore::new(ch, bootstrap)?)),
        #[cfg(feature = "dynamodb")]
        DbConfig::DynamoDb(ddb) => Ok(Arc::new(
            dynamodb::DynamoDbStore::connect(ddb, bootstrap).await?,
        )),
        #[allow(unreachable_patterns)]
        other => Err(AppError::internal(format!(
            "DB_DRIVER={} is not compiled into this binary (enable the cargo feature `{}`)",
            other.driver(),
            other.driver()
        ))),
    }
}
