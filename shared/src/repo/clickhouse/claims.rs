//! Claims: how every race on ClickHouse is decided (see the module docs). A
//! contender appends `(key, token, payload)` to a `Log` table and reads back
//! the first claim on `key`; the same row is first for everyone, so exactly
//! one contender wins and all know its token (and so its payload).

use serde::{Deserialize, Serialize};

use super::sql;
use super::store::ClickHouseStore;
use crate::error::{AppError, AppResult};
use crate::repo::random;

/// The outcome of a claim: whether we won, and the winning token.
pub(super) struct Claim {
    pub won: bool,
    pub winner: u64,
}

impl ClickHouseStore {
    /// Appends a claim on `key` and reads back the first one.
    pub(super) async fn claim(
        &self,
        log: &'static str,
        key: &str,
        payload: String,
    ) -> AppResult<Claim> {
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
        let token = random::token();
        self.http()
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
            .http()
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

    /// The payload of the winning claim, for a loser that helps write it.
    pub(super) async fn claim_payload(
        &self,
        log: &'static str,
        key: &str,
        token: u64,
    ) -> AppResult<String> {
        #[derive(Deserialize)]
        struct Payload {
            payload: String,
        }
        let row: Payload = self
            .http()
            .select_one(&sql::claim_payload(log, key, token))
            .await?
            .ok_or_else(|| AppError::internal(format!("winning claim on {log}/{key} vanished")))?;
        Ok(row.payload)
    }
}
