//! `UserRepo` on ClickHouse: a registration claims the lower-cased name;
//! the first claim wins and writes the user, a loser helps write the
//! winner's user (if missing) and answers `UsernameTaken`.

use async_trait::async_trait;

use super::rows::{UserOut, UserRow, from_json, seconds, to_json};
use super::sql;
use super::store::ClickHouseStore;
use crate::domain::{NewUser, Timestamp, User, UserRecord};
use crate::error::{AppError, AppResult};
use crate::repo::UserRepo;

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
