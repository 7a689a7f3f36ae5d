//! `SessionRepo` on ClickHouse, by the backend's one rule for races: the first
//! claim in a `Log` wins (see the module comment of `clickhouse/mod.rs`).
//!
//! - A session is a row of `sessions`, its refresh tokens rows of
//!   `refresh_tokens` (by hash), written before the client learns of them.
//! - Spending a token is a claim on its hash in `token_spends`, carrying its
//!   successor. Of concurrent rotations of one token exactly one claim is
//!   first: that one writes the successor's row; every other one found the
//!   token spent, which is reuse.
//! - Revoking a session appends a row to `session_revocations`; a session
//!   with any such row is revoked for good.
//! - A failed login appends a row to `login_failures` with the window it
//!   counts in: the latest window of the name while it is open, else a new
//!   one opened now. The count is the rows of the windows still open, so two
//!   failures that opened windows in the same instant both count.

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use super::rows::{seconds, to_json};
use super::sql;
use super::store::ClickHouseStore;
use crate::domain::session::LOGIN_FAILURE_WINDOW_SECONDS;
use crate::domain::{FailureWindow, NewSession, RotateOutcome, Rotation, SessionOwner, Timestamp};
use crate::error::{AppError, AppResult};
use crate::repo::SessionRepo;

#[derive(Serialize)]
struct SessionRow<'a> {
    id: &'a str,
    user_id: i64,
    username: &'a str,
    created_at: u32,
}

#[derive(Serialize)]
struct TokenRow<'a> {
    token_hash: &'a str,
    session_id: &'a str,
    expires_at: u32,
}

#[derive(Deserialize)]
struct TokenOut {
    session_id: String,
    expires_s: i64,
}

#[derive(Deserialize)]
struct OwnerOut {
    user_id: i64,
    username: String,
}

#[derive(Deserialize)]
struct Count {
    n: u64,
}

/// What a spend claims: the successor it issues.
#[derive(Serialize)]
struct Spend<'a> {
    next: &'a str,
    at: i64,
}

#[derive(Serialize)]
struct RevocationRow<'a> {
    session_id: &'a str,
    revoked_at: u32,
}

#[derive(Serialize)]
struct FailureRow<'a> {
    name_key: &'a str,
    at: u32,
    opened_at: u32,
}

#[derive(Deserialize)]
struct Opened {
    opened_s: i64,
}

#[derive(Deserialize)]
struct Failures {
    failures: u64,
    opened_s: i64,
}

impl ClickHouseStore {
    async fn token(&self, token_hash: &str) -> AppResult<Option<TokenOut>> {
        self.ready()
            .await?
            .select_one(&sql::refresh_token(token_hash))
            .await
    }

    async fn is_spent(&self, token_hash: &str) -> AppResult<bool> {
        #[derive(Deserialize)]
        struct First {
            #[allow(dead_code)]
            token: u64,
        }
        let first: Option<First> = self
            .ready()
            .await?
            .select_one(&sql::first_claim(sql::TOKEN_SPENDS, token_hash))
            .await?;
        Ok(first.is_some())
    }

    async fn is_revoked(&self, session_id: &str) -> AppResult<bool> {
        let count: Option<Count> = self
            .ready()
            .await?
            .select_one(&sql::session_revoked(session_id))
            .await?;
        Ok(count.is_some_and(|c| c.n > 0))
    }

    async fn revoke(&self, session_id: &str, now: Timestamp) -> AppResult<()> {
        self.ready()
            .await?
            .insert(
                sql::SESSION_REVOCATIONS,
                &[RevocationRow {
                    session_id,
                    revoked_at: seconds(now)?,
                }],
            )
            .await
    }

    async fn owner(&self, session_id: &str) -> AppResult<Option<OwnerOut>> {
        self.ready()
            .await?
            .select_one(&sql::session_by_id(session_id))
            .await
    }

    async fn failures(&self, name_key: &str, now: Timestamp) -> AppResult<FailureWindow> {
        let found: Option<Failures> = self
            .ready()
            .await?
            .select_one(&sql::failures_since(
                name_key,
                now.unix() - LOGIN_FAILURE_WINDOW_SECONDS,
            ))
            .await?;
        Ok(match found {
            Some(f) if f.failures > 0 => FailureWindow {
                failures: u32::try_from(f.failures).unwrap_or(u32::MAX),
                opened_at: Timestamp::from_unix(f.opened_s),
            },
            _ => FailureWindow::empty(now),
        })
    }
}

#[async_trait]
impl SessionRepo for ClickHouseStore {
    async fn create_session(&self, new: &NewSession) -> AppResult<()> {
        let http = self.ready().await?;
        http.insert(
            sql::SESSIONS,
            &[SessionRow {
                id: &new.session_id,
                user_id: new.user_id,
                username: &new.username,
                created_at: seconds(new.created_at)?,
            }],
        )
        .await?;
        http.insert(
            sql::REFRESH_TOKENS,
            &[TokenRow {
                token_hash: &new.token_hash,
                session_id: &new.session_id,
                expires_at: seconds(new.expires_at)?,
            }],
        )
        .await
    }

    async fn rotate_refresh_token(&self, rotation: &Rotation) -> AppResult<RotateOutcome> {
        let Some(token) = self.token(&rotation.presented).await? else {
            return Ok(RotateOutcome::Invalid);
        };
        if self.is_spent(&rotation.presented).await? {
            self.revoke(&token.session_id, rotation.now).await?;
            return Ok(RotateOutcome::Reused);
        }
        if token.expires_s <= rotation.now.unix() || self.is_revoked(&token.session_id).await? {
            return Ok(RotateOutcome::Invalid);
        }
        let spend = Spend {
            next: &rotation.next,
            at: rotation.now.unix(),
        };
        let claim = self
            .claim(sql::TOKEN_SPENDS, &rotation.presented, to_json(&spend)?)
            .await?;
        if !claim.won {
            // Another rotation spent it first: two holders of one token.
            self.revoke(&token.session_id, rotation.now).await?;
            return Ok(RotateOutcome::Reused);
        }
        self.ready()
            .await?
            .insert(
                sql::REFRESH_TOKENS,
                &[TokenRow {
                    token_hash: &rotation.next,
                    session_id: &token.session_id,
                    expires_at: seconds(rotation.next_expires_at)?,
                }],
            )
            .await?;
        let owner = self
            .owner(&token.session_id)
            .await?
            .ok_or_else(|| AppError::internal("refresh token of a missing session"))?;
        Ok(RotateOutcome::Rotated(SessionOwner {
            session_id: token.session_id,
            user_id: owner.user_id,
            username: owner.username,
        }))
    }

    async fn revoke_session(
        &self,
        user_id: i64,
        token_hash: &str,
        now: Timestamp,
    ) -> AppResult<bool> {
        let Some(token) = self.token(token_hash).await? else {
            return Ok(false);
        };
        match self.owner(&token.session_id).await? {
            Some(owner) if owner.user_id == user_id => {
                self.revoke(&token.session_id, now).await?;
                Ok(true)
            }
            _ => Ok(false),
        }
    }

    async fn record_login_failure(
        &self,
        name_key: &str,
        now: Timestamp,
    ) -> AppResult<FailureWindow> {
        let http = self.ready().await?;
        let latest: Option<Opened> = http
            .select_one(&sql::latest_failure_window(name_key))
            .await?;
        let opened_at = match latest {
            Some(l)
                if l.opened_s > 0
                    && FailureWindow::is_open(Timestamp::from_unix(l.opened_s), now) =>
            {
                Timestamp::from_unix(l.opened_s)
            }
            _ => now,
        };
        http.insert(
            sql::LOGIN_FAILURES,
            &[FailureRow {
                name_key,
                at: seconds(now)?,
                opened_at: seconds(opened_at)?,
            }],
        )
        .await?;
        self.failures(name_key, now).await
    }

    async fn login_failures(&self, name_key: &str, now: Timestamp) -> AppResult<FailureWindow> {
        self.failures(name_key, now).await
    }
}
