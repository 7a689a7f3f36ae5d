//! Sessions, refresh tokens and failed-login windows, on both SQL databases
//! (the pattern is described in `super`). Times are Unix seconds (`BIGINT`).
//!
//! A rotation is one transaction whose first statement is the conditional
//! UPDATE that spends the presented token (`spent_at IS NULL`, unexpired,
//! session not revoked): the database's row lock lets exactly one of any
//! number of concurrent rotations match the row; the others see it spent.
//! The new token is inserted in the same transaction. A failed login is one
//! upsert that either opens a new window or adds one to the open one.

use async_trait::async_trait;
use sqlx::Row;

use super::{Access, SqlStore, store_error};
use crate::domain::session::LOGIN_FAILURE_WINDOW_SECONDS;
use crate::domain::{FailureWindow, NewSession, RotateOutcome, Rotation, SessionOwner, Timestamp};
use crate::error::{AppError, AppResult};
use crate::repo::SessionRepo;

const INSERT_SESSION: &str =
    "INSERT INTO sessions (id, user_id, username, created_at) VALUES ($1, $2, $3, $4)";

const INSERT_TOKEN: &str =
    "INSERT INTO refresh_tokens (token_hash, session_id, expires_at) VALUES ($1, $2, $3)";

/// Spends a live token: the one statement that decides a rotation.
const SPEND: &str = "UPDATE refresh_tokens SET spent_at = $1
     WHERE token_hash = $2 AND spent_at IS NULL AND expires_at > $1
       AND session_id IN (SELECT id FROM sessions WHERE revoked_at IS NULL)
     RETURNING session_id";

const TOKEN: &str = "SELECT session_id, spent_at FROM refresh_tokens WHERE token_hash = $1";

const OWNER: &str = "SELECT user_id, username FROM sessions WHERE id = $1";

const REVOKE: &str = "UPDATE sessions SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL";

/// Revokes the session of a token, only the owner's; a revoked one stays so.
const REVOKE_OWNED: &str = "UPDATE sessions SET revoked_at = COALESCE(revoked_at, $1)
     WHERE user_id = $2
       AND id = (SELECT session_id FROM refresh_tokens WHERE token_hash = $3)
     RETURNING id";

/// A window still open at `$3` gains a failure; otherwise a new one opens at `$3`.
const RECORD_FAILURE: &str = "INSERT INTO login_failures (name_key, opened_at, failures)
     VALUES ($1, $3, 1)
     ON CONFLICT (name_key) DO UPDATE SET
         failures = CASE WHEN login_failures.opened_at > $2
                         THEN login_failures.failures + 1 ELSE 1 END,
         opened_at = CASE WHEN login_failures.opened_at > $2
                          THEN login_failures.opened_at ELSE excluded.opened_at END
     RETURNING opened_at, failures";

const FAILURES: &str = "SELECT opened_at, failures FROM login_failures WHERE name_key = $1";

/// Closed windows say nothing; one recorded failure in `PURGE_EVERY` clears them.
const PURGE_FAILURES: &str = "DELETE FROM login_failures WHERE opened_at <= $1";

/// Whether this call pays for a purge: one in `PURGE_EVERY`, at random.
fn purges() -> bool {
    let mut byte = [0u8; 1];
    getrandom::fill(&mut byte).is_ok() && byte[0] % PURGE_EVERY == 0
}

/// Tokens past their expiry are dead whatever their state; one rotation in
/// `PURGE_EVERY` clears those of a day ago.
const PURGE_TOKENS: &str = "DELETE FROM refresh_tokens WHERE expires_at <= $1";
const PURGE_EVERY: u8 = 64;

macro_rules! session_repo {
    () => {
        /// A `login_failures` row: when its window opened, and its failures.
        fn failure_row(row: &<Db as sqlx::Database>::Row) -> AppResult<(i64, i64)> {
            let get = |e| AppError::internal(e);
            Ok((
                row.try_get("opened_at").map_err(get)?,
                row.try_get("failures").map_err(get)?,
            ))
        }

        /// The window a `login_failures` row describes, as of `now`.
        fn window((opened_at, failures): (i64, i64), now: Timestamp) -> FailureWindow {
            if !FailureWindow::is_open(Timestamp::from_unix(opened_at), now) {
                return FailureWindow::empty(now);
            }
            FailureWindow {
                failures: u32::try_from(failures).unwrap_or(u32::MAX),
                opened_at: Timestamp::from_unix(opened_at),
            }
        }

        #[async_trait]
        impl SessionRepo for SqlStore<Db> {
            async fn create_session(&self, new: &NewSession) -> AppResult<()> {
                let mut conn = self.conn(Access::Write).await?;
                let created = async {
                    let mut tx = sqlx::Connection::begin(&mut *conn)
                        .await
                        .map_err(store_error::<Db>)?;
                    sqlx::query(INSERT_SESSION)
                        .bind(&new.session_id)
                        .bind(new.user_id)
                        .bind(&new.username)
                        .bind(new.created_at.unix())
                        .execute(&mut *tx)
                        .await
                        .map_err(store_error::<Db>)?;
                    sqlx::query(INSERT_TOKEN)
                        .bind(&new.token_hash)
                        .bind(&new.session_id)
                        .bind(new.expires_at.unix())
                        .execute(&mut *tx)
                        .await
                        .map_err(store_error::<Db>)?;
                    tx.commit().await.map_err(store_error::<Db>)
                }
                .await;
                // Any failure inside the transaction: the connection is not reused.
                conn.finished(created.is_ok());
                created
            }

            async fn rotate_refresh_token(&self, rotation: &Rotation) -> AppResult<RotateOutcome> {
                let mut conn = self.conn(Access::Write).await?;
                let rotated = async {
                    if rotation
                        .next
                        .as_bytes()
                        .first()
                        .is_some_and(|b| b % PURGE_EVERY == 0)
                    {
                        sqlx::query(PURGE_TOKENS)
                            .bind(rotation.now.unix() - 86_400)
                            .execute(&mut *conn)
                            .await
                            .map_err(store_error::<Db>)?;
                    }
                    let get = |e| AppError::internal(e);
                    let mut tx = sqlx::Connection::begin(&mut *conn)
                        .await
                        .map_err(store_error::<Db>)?;
                    let spent = sqlx::query(SPEND)
                        .bind(rotation.now.unix())
                        .bind(&rotation.presented)
                        .fetch_optional(&mut *tx)
                        .await
                        .map_err(store_error::<Db>)?;
                    if let Some(spent) = spent {
                        let session_id: String = spent.try_get("session_id").map_err(get)?;
                        sqlx::query(INSERT_TOKEN)
                            .bind(&rotation.next)
                            .bind(&session_id)
                            .bind(rotation.next_expires_at.unix())
                            .execute(&mut *tx)
                            .await
                            .map_err(store_error::<Db>)?;
                        let owner = sqlx::query(OWNER)
                            .bind(&session_id)
                            .fetch_one(&mut *tx)
                            .await
                            .map_err(store_error::<Db>)?;
                        let owner = SessionOwner {
                            user_id: owner.try_get("user_id").map_err(get)?,
                            username: owner.try_get("username").map_err(get)?,
                            session_id,
                        };
                        tx.commit().await.map_err(store_error::<Db>)?;
                        return Ok(RotateOutcome::Rotated(owner));
                    }
                    // Not live. Spent before means a second holder: end the session.
                    let token = sqlx::query(TOKEN)
                        .bind(&rotation.presented)
                        .fetch_optional(&mut *tx)
                        .await
                        .map_err(store_error::<Db>)?;
                    let outcome = match token {
                        Some(token)
                            if token
                                .try_get::<Option<i64>, _>("spent_at")
                                .map_err(get)?
                                .is_some() =>
                        {
                            let session_id: String = token.try_get("session_id").map_err(get)?;
                            sqlx::query(REVOKE)
                                .bind(rotation.now.unix())
                                .bind(&session_id)
                                .execute(&mut *tx)
                                .await
                                .map_err(store_error::<Db>)?;
                            RotateOutcome::Reused
                        }
                        _ => RotateOutcome::Invalid,
                    };
                    tx.commit().await.map_err(store_error::<Db>)?;
                    Ok(outcome)
                }
                .await;
                conn.finished(rotated.is_ok());
                rotated
            }

            async fn revoke_session(
                &self,
                user_id: i64,
                token_hash: &str,
                now: Timestamp,
            ) -> AppResult<bool> {
                let query = sqlx::query(REVOKE_OWNED)
                    .bind(now.unix())
                    .bind(user_id)
                    .bind(token_hash);
                let revoked = self
                    .fetch_optional(Access::Write, query, |_| Ok(()))
                    .await?;
                Ok(revoked.is_some())
            }

            async fn record_login_failure(
                &self,
                name_key: &str,
                now: Timestamp,
            ) -> AppResult<FailureWindow> {
                let mut conn = self.conn(Access::Write).await?;
                if purges() {
                    let purged = sqlx::query(PURGE_FAILURES)
                        .bind(now.unix() - LOGIN_FAILURE_WINDOW_SECONDS)
                        .execute(&mut *conn)
                        .await;
                    conn.settle(&purged);
                    purged.map_err(store_error::<Db>)?;
                }
                let row = sqlx::query(RECORD_FAILURE)
                    .bind(name_key)
                    .bind(now.unix() - LOGIN_FAILURE_WINDOW_SECONDS)
                    .bind(now.unix())
                    .fetch_one(&mut *conn)
                    .await;
                conn.settle(&row);
                Ok(window(failure_row(&row.map_err(store_error::<Db>)?)?, now))
            }

            async fn login_failures(
                &self,
                name_key: &str,
                now: Timestamp,
            ) -> AppResult<FailureWindow> {
                let query = sqlx::query(FAILURES).bind(name_key);
                let row = self
                    .fetch_optional(Access::Read, query, failure_row)
                    .await?;
                Ok(row.map_or_else(|| FailureWindow::empty(now), |row| window(row, now)))
            }
        }
    };
}

for_each_database!(session_repo);
