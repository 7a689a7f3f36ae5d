//! Ids from the id log: a `Log` of random tokens, one per id handed out; an
//! id is its token's row position (1-based). Positions are unique and grow in
//! real time across all processes, so ids increase and stay small.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

use super::sql;
use super::store::ClickHouseStore;
use crate::domain::MAX_ID;
use crate::error::{AppError, AppResult};
use crate::repo::random;

impl ClickHouseStore {
    /// `n` new ids, in increasing order: the positions of `n` fresh tokens
    /// appended to the id log in one insert.
    pub(super) async fn allocate_ids(&self, n: usize) -> AppResult<Vec<i64>> {
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
        let tokens: Vec<u64> = (0..n).map(|_| random::token()).collect();
        self.http()
            .insert(
                sql::ID_LOG,
                &tokens
                    .iter()
                    .map(|&token| Row { token })
                    .collect::<Vec<_>>(),
            )
            .await?;
        let found: Positions = self
            .http()
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
}
