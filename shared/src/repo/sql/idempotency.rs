//! `Idempotency-Key` records, on both SQL databases (the pattern is described
//! in `super`). Times are Unix seconds (`BIGINT`) on both.
//!
//! A claim is one upsert that takes the row only when it is free: absent,
//! expired, or running on a lapsed lease with the same fingerprint. The unit
//! of work that creates the order or invoice answers the key (`ANSWER`): it
//! stores the response while the claim holds the key, or takes the key with
//! it when it is free, so the creating routes need no claim beforehand
//! (`takes_keys_when_creating`); the response and what it describes commit
//! together or not at all. For an order that is the one round trip of
//! `Dialect::PLACE_ANSWERED_ORDER` (see `orders`); otherwise it runs inside
//! the creating transaction (`finish_in`). A refusal that created nothing is
//! remembered by `complete_idempotency_key`, an UPDATE conditional on the
//! claim's token and on no response yet.
//!
//! A claim reads the key's row first (most claims follow a creating write
//! that found the key not free: a replay is then one statement), and takes
//! the key only when it is absent or free. On PostgreSQL the claim's own commit does not wait
//! for the WAL to reach disk (`synchronous_commit` off for that statement's
//! transaction only, set inside the statement, so no extra round trip): the
//! creating transaction that finishes it commits synchronously, and flushing
//! its WAL flushes the claim's earlier records too, so a remembered response
//! is never durable without its claim; a crash before that loses only a claim
//! whose request failed with it, which a retry takes again. It spares a claimed
//! request a second disk flush.

use async_trait::async_trait;
use sqlx::Row;

use super::dialect::Dialect;
use super::{Access, SqlQuery, SqlStore, store_error};
use crate::domain::idempotency::outcome_of;
use crate::domain::{ClaimOutcome, IdemClaim, IdemFinish, StoredResponse, Timestamp};
use crate::error::{AppError, AppResult};
use crate::repo::IdempotencyRepo;

/// The claim: one upsert that takes the row only when it is free. `{rows}` is
/// the dialect's source of the one new row (`Dialect::CLAIM_ROW`).
const CLAIM: &str = claim_key!("{rows}");

/// Stores the response (`$8` to `$10`) for the claim (`$1` to `$7`, as
/// `CLAIM` takes them) while it holds the key, or takes the key with it when
/// the key is free: a store that takes keys when creating needs no claim made
/// beforehand (`IdempotencyRepo::takes_keys_when_creating`).
const ANSWER: &str = answer_key!("VALUES ($1, $2, $3, $4, $5, $6, $8, $9, $10)");

const READ: &str = "SELECT token, fingerprint, lease_until, expires_at, status, body, location
     FROM idempotency_keys WHERE user_id = $1 AND idem_key = $2";

/// A key's stored record.
struct Record {
    token: String,
    fingerprint: String,
    lease_until: Timestamp,
    expires_at: Timestamp,
    response: Option<StoredResponse>,
}

impl Record {
    /// Whether `claim` may take this row: what `key_is_free!` says in SQL.
    fn is_free_for(&self, claim: &IdemClaim) -> bool {
        self.expires_at <= claim.now
            || (self.response.is_none()
                && self.lease_until <= claim.now
                && self.fingerprint == claim.fingerprint)
    }

    fn outcome(self, claim: &IdemClaim) -> ClaimOutcome {
        outcome_of(
            claim,
            &self.token,
            &self.fingerprint,
            self.response,
            self.lease_until,
        )
    }
}

const FINISH: &str = "UPDATE idempotency_keys SET status = $1, body = $2, location = $3
     WHERE user_id = $4 AND idem_key = $5 AND token = $6 AND status IS NULL";

const RELEASE: &str = "DELETE FROM idempotency_keys
     WHERE user_id = $1 AND idem_key = $2 AND token = $3 AND status IS NULL";

const PURGE: &str = "DELETE FROM idempotency_keys WHERE expires_at <= $1";

/// Purging expired rows costs a statement; one claim in this many pays it.
const PURGE_EVERY: u8 = 32;

/// Whether this claim purges: its token is random hex, so its first byte
/// picks one claim in `PURGE_EVERY`.
fn purges(claim: &IdemClaim) -> bool {
    u8::from_str_radix(claim.token.get(..2).unwrap_or("ff"), 16)
        .unwrap_or(1)
        .is_multiple_of(PURGE_EVERY)
}

pub(super) fn in_use() -> AppError {
    AppError::IdempotencyKeyInUse {
        retry_after_seconds: 1,
    }
}

macro_rules! idempotency_repo {
    () => {
        /// Stores the response while `claim` holds the key; `false` (nothing
        /// written) when it no longer does.
        async fn finish<'c, E>(
            conn: E,
            claim: &IdemClaim,
            response: &StoredResponse,
        ) -> AppResult<bool>
        where
            E: sqlx::Executor<'c, Database = Db>,
        {
            let done = sqlx::query(FINISH)
                .bind(i64::from(response.status))
                .bind(&response.body)
                .bind(response.location.as_deref())
                .bind(claim.user_id)
                .bind(claim.key.as_str())
                .bind(&claim.token)
                .execute(conn)
                .await
                .map_err(store_error::<Db>)?;
            Ok(done.rows_affected() == 1)
        }

        /// Purges now and then, then takes the key if it is free; whether it did.
        async fn take(
            conn: &mut <Db as sqlx::Database>::Connection,
            claim: &IdemClaim,
        ) -> AppResult<bool> {
            SqlStore::<Db>::purge_now_and_then(&mut *conn, claim).await?;
            static CLAIM_SQL: std::sync::LazyLock<String> =
                std::sync::LazyLock::new(|| CLAIM.replace("{rows}", Db::CLAIM_ROW));
            let taken = SqlStore::<Db>::bind_claim(sqlx::query(CLAIM_SQL.as_str()), claim)
                .execute(&mut *conn)
                .await
                .map_err(store_error::<Db>)?;
            // A row counts as affected when inserted or taken over, not when
            // the conflict's WHERE left it alone.
            Ok(taken.rows_affected() == 1)
        }

        /// The key's record, if there is one.
        async fn read(
            conn: &mut <Db as sqlx::Database>::Connection,
            claim: &IdemClaim,
        ) -> AppResult<Option<Record>> {
            let row = sqlx::query(READ)
                .bind(claim.user_id)
                .bind(claim.key.as_str())
                .fetch_optional(&mut *conn)
                .await
                .map_err(store_error::<Db>)?;
            let Some(row) = row else {
                return Ok(None);
            };
            let get = |e| AppError::internal(e);
            let status: Option<i64> = row.try_get("status").map_err(get)?;
            let response = match status {
                Some(status) => Some(StoredResponse {
                    status: u16::try_from(status).map_err(AppError::internal)?,
                    body: row
                        .try_get::<Option<String>, _>("body")
                        .map_err(get)?
                        .unwrap_or_default(),
                    location: row.try_get("location").map_err(get)?,
                }),
                None => None,
            };
            Ok(Some(Record {
                token: row.try_get("token").map_err(get)?,
                fingerprint: row.try_get("fingerprint").map_err(get)?,
                lease_until: Timestamp::from_unix(row.try_get("lease_until").map_err(get)?),
                expires_at: Timestamp::from_unix(row.try_get("expires_at").map_err(get)?),
                response,
            }))
        }

        impl SqlStore<Db> {
            /// Binds the claim as `$1` to `$7`, as `CLAIM` and `ANSWER` take it.
            pub(in crate::repo::sql) fn bind_claim<'q>(
                query: SqlQuery<'q, Db>,
                claim: &'q IdemClaim,
            ) -> SqlQuery<'q, Db> {
                query
                    .bind(claim.user_id)
                    .bind(claim.key.as_str())
                    .bind(&claim.fingerprint)
                    .bind(&claim.token)
                    .bind(claim.lease_until.unix())
                    .bind(claim.expires_at().unix())
                    .bind(claim.now.unix())
            }

            /// Purges expired keys, for one claim in `PURGE_EVERY`.
            pub(in crate::repo::sql) async fn purge_now_and_then<'c, E>(
                conn: E,
                claim: &IdemClaim,
            ) -> AppResult<()>
            where
                E: sqlx::Executor<'c, Database = Db>,
            {
                if purges(claim) {
                    sqlx::query(PURGE)
                        .bind(claim.now.unix())
                        .execute(conn)
                        .await
                        .map_err(store_error::<Db>)?;
                }
                Ok(())
            }

            /// Inside a creating transaction: renders the response for `idem`
            /// and answers the key with it (`ANSWER`), or fails (the dropped
            /// transaction rolls back) when the key is neither the claim's nor
            /// free, so a holder whose lease was taken over creates nothing.
            pub(in crate::repo::sql) async fn finish_in<T>(
                tx: &mut sqlx::Transaction<'_, Db>,
                idem: Option<&IdemFinish<'_, T>>,
                value: &T,
            ) -> AppResult<()> {
                let Some(idem) = idem else {
                    return Ok(());
                };
                let response = (idem.render)(value);
                Self::purge_now_and_then(&mut **tx, idem.claim).await?;
                let answered = Self::bind_claim(sqlx::query(ANSWER), idem.claim)
                    .bind(i64::from(response.status))
                    .bind(&response.body)
                    .bind(response.location.as_deref())
                    .execute(&mut **tx)
                    .await
                    .map_err(store_error::<Db>)?;
                if answered.rows_affected() == 1 {
                    Ok(())
                } else {
                    Err(in_use())
                }
            }
        }

        #[async_trait]
        impl IdempotencyRepo for SqlStore<Db> {
            async fn claim_idempotency_key(&self, claim: &IdemClaim) -> AppResult<ClaimOutcome> {
                let mut conn = self.conn(Access::Write).await?;
                // A claim here mostly follows a creating write that found the
                // key not free (see `takes_keys_when_creating`): read first, so
                // a replay costs one statement, and take only a key that is
                // absent or free.
                if let Some(record) = read(&mut conn, claim).await?
                    && !record.is_free_for(claim)
                {
                    conn.finished(true);
                    return Ok(record.outcome(claim));
                }
                if take(&mut conn, claim).await? {
                    conn.finished(true);
                    return Ok(ClaimOutcome::Claimed);
                }
                let record = read(&mut conn, claim)
                    .await?
                    .ok_or_else(|| AppError::internal("idempotency claim lost its row"))?;
                // Every statement ran to its end (an early error return drops the connection).
                conn.finished(true);
                Ok(record.outcome(claim))
            }

            async fn complete_idempotency_key(
                &self,
                claim: &IdemClaim,
                response: &StoredResponse,
            ) -> AppResult<bool> {
                let mut conn = self.conn(Access::Write).await?;
                let finished = finish(&mut *conn, claim, response).await;
                conn.finished(finished.is_ok());
                finished
            }

            fn takes_keys_when_creating(&self) -> bool {
                true
            }

            async fn release_idempotency_key(&self, claim: &IdemClaim) -> AppResult<()> {
                let mut conn = self.conn(Access::Write).await?;
                let released = sqlx::query(RELEASE)
                    .bind(claim.user_id)
                    .bind(claim.key.as_str())
                    .bind(&claim.token)
                    .execute(&mut *conn)
                    .await;
                conn.settle(&released);
                released.map_err(store_error::<Db>)?;
                Ok(())
            }
        }
    };
}

for_each_database!(idempotency_repo);
