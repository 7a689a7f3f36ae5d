//! `Idempotency-Key` records on SQLite and PostgreSQL: the same statements on
//! both (`$n` placeholders, which SQLite reads as numbered parameters; times as
//! Unix seconds), generic over the sqlx database.
//!
//! A claim is one upsert that takes the row only when it is free: absent,
//! expired, or running on a lapsed lease with the same fingerprint. Finishing
//! is an UPDATE conditional on the claim's token and on no response yet, run
//! inside the transaction that creates the order or invoice, so the response
//! and what it describes commit together or not at all.

use sqlx::{Database, Encode, Executor, IntoArguments, Type};

use super::{Columns, store_error};
use crate::domain::idempotency::outcome_of;
use crate::domain::{ClaimOutcome, IdemClaim, IdemFinish, StoredResponse, Timestamp};
use crate::error::{AppError, AppResult};

const CLAIM: &str = "INSERT INTO idempotency_keys
         (user_id, idem_key, fingerprint, token, lease_until, expires_at)
     VALUES ($1, $2, $3, $4, $5, $6)
     ON CONFLICT (user_id, idem_key) DO UPDATE SET
         fingerprint = excluded.fingerprint, token = excluded.token,
         lease_until = excluded.lease_until, expires_at = excluded.expires_at,
         status = NULL, body = NULL, location = NULL
     WHERE idempotency_keys.expires_at <= $7
        OR (idempotency_keys.status IS NULL AND idempotency_keys.lease_until <= $7
            AND idempotency_keys.fingerprint = excluded.fingerprint)
     RETURNING token";

const READ: &str = "SELECT token, fingerprint, lease_until, expires_at, status, body, location
     FROM idempotency_keys WHERE user_id = $1 AND idem_key = $2";

const FINISH: &str = "UPDATE idempotency_keys SET status = $1, body = $2, location = $3
     WHERE user_id = $4 AND idem_key = $5 AND token = $6 AND status IS NULL
     RETURNING token";

const RELEASE: &str = "DELETE FROM idempotency_keys
     WHERE user_id = $1 AND idem_key = $2 AND token = $3 AND status IS NULL";

const PURGE: &str = "DELETE FROM idempotency_keys WHERE expires_at <= $1";

/// Purging expired rows costs a statement; one claim in this many pays it.
const PURGE_EVERY: u8 = 32;

/// Claims the key (see the module comment), and reads the record back when
/// the claim did not take it.
pub(crate) async fn claim<DB>(pool: &sqlx::Pool<DB>, claim: &IdemClaim) -> AppResult<ClaimOutcome>
where
    DB: Database,
    DB::Arguments: IntoArguments<DB>,
    for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
    for<'q> i64: Encode<'q, DB> + Type<DB>,
    for<'q> String: Encode<'q, DB> + Type<DB>,
    DB::Row: Columns,
{
    // The token is random hex: its first byte picks one claim in PURGE_EVERY.
    let lot = u8::from_str_radix(claim.token.get(..2).unwrap_or("ff"), 16).unwrap_or(1);
    if lot.is_multiple_of(PURGE_EVERY) {
        sqlx::query::<DB>(PURGE)
            .bind(claim.now.unix())
            .execute(pool)
            .await
            .map_err(store_error)?;
    }
    let taken = sqlx::query::<DB>(CLAIM)
        .bind(claim.user_id)
        .bind(claim.key.as_str().to_owned())
        .bind(claim.fingerprint.clone())
        .bind(claim.token.clone())
        .bind(claim.lease_until.unix())
        .bind(claim.expires_at().unix())
        .bind(claim.now.unix())
        .fetch_optional(pool)
        .await
        .map_err(store_error)?;
    if taken.is_some() {
        return Ok(ClaimOutcome::Claimed);
    }
    let row = sqlx::query::<DB>(READ)
        .bind(claim.user_id)
        .bind(claim.key.as_str().to_owned())
        .fetch_optional(pool)
        .await
        .map_err(store_error)?
        .ok_or_else(|| AppError::internal("idempotency claim lost its row"))?;
    let response = match row.opt_int("status")? {
        Some(status) => Some(StoredResponse {
            status: u16::try_from(status).map_err(AppError::internal)?,
            body: row.opt_text("body")?.unwrap_or_default(),
            location: row.opt_text("location")?,
        }),
        None => None,
    };
    Ok(outcome_of(
        claim,
        &row.text("token")?,
        &row.text("fingerprint")?,
        response,
        Timestamp::from_unix(row.int("lease_until")?),
    ))
}

/// Stores the response while the claim still holds the key; `false` when it
/// no longer does (nothing written). Runs on a transaction's connection when
/// the response must commit with what it describes.
pub(crate) async fn finish<'c, DB, E>(
    conn: E,
    claim: &IdemClaim,
    response: &StoredResponse,
) -> AppResult<bool>
where
    DB: Database,
    E: Executor<'c, Database = DB>,
    DB::Arguments: IntoArguments<DB>,
    for<'q> i64: Encode<'q, DB> + Type<DB>,
    for<'q> String: Encode<'q, DB> + Type<DB>,
    for<'q> Option<String>: Encode<'q, DB> + Type<DB>,
{
    let done = sqlx::query::<DB>(FINISH)
        .bind(i64::from(response.status))
        .bind(response.body.clone())
        .bind(response.location.clone())
        .bind(claim.user_id)
        .bind(claim.key.as_str().to_owned())
        .bind(claim.token.clone())
        .fetch_optional(conn)
        .await
        .map_err(store_error)?;
    Ok(done.is_some())
}

/// Removes the claim's own running record.
pub(crate) async fn release<DB>(pool: &sqlx::Pool<DB>, claim: &IdemClaim) -> AppResult<()>
where
    DB: Database,
    DB::Arguments: IntoArguments<DB>,
    for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
    for<'q> i64: Encode<'q, DB> + Type<DB>,
    for<'q> String: Encode<'q, DB> + Type<DB>,
{
    sqlx::query::<DB>(RELEASE)
        .bind(claim.user_id)
        .bind(claim.key.as_str().to_owned())
        .bind(claim.token.clone())
        .execute(pool)
        .await
        .map_err(store_error)?;
    Ok(())
}

/// Inside a creating transaction: renders and stores the response for `idem`,
/// or fails (rolling the transaction back when it is dropped) when the claim
/// no longer holds the key: a holder whose lease was taken over creates nothing.
pub(crate) async fn finish_in<DB, T>(
    tx: &mut sqlx::Transaction<'_, DB>,
    idem: Option<&IdemFinish<'_, T>>,
    value: &T,
) -> AppResult<()>
where
    DB: Database,
    DB::Arguments: IntoArguments<DB>,
    for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
    for<'q> i64: Encode<'q, DB> + Type<DB>,
    for<'q> String: Encode<'q, DB> + Type<DB>,
    for<'q> Option<String>: Encode<'q, DB> + Type<DB>,
{
    let Some(idem) = idem else {
        return Ok(());
    };
    let response = (idem.render)(value);
    if finish(&mut **tx, idem.claim, &response).await? {
        Ok(())
    } else {
        Err(AppError::IdempotencyKeyInUse {
            retry_after_seconds: 1,
        })
    }
}
