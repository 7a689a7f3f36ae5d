//! `UserRepo` on DynamoDB: registration is one transaction that puts the
//! lower-cased username guard and the user, so a name is taken once in any
//! letter case; a lookup by name reads the guard, then the user.

use async_trait::async_trait;

use super::attributes::{corrupt, num};
use super::ids::{self, ID_ATTEMPTS};
use super::items::{user_item, user_record, username_guard};
use super::keys::Key;
use super::store::DynamoDbStore;
use crate::domain::{NewUser, User, UserRecord};
use crate::error::{AppError, AppResult};
use crate::repo::UserRepo;

#[async_trait]
impl UserRepo for DynamoDbStore {
    async fn register_user(&self, new: &NewUser) -> AppResult<User> {
        self.ready().await?;
        for _ in 0..ID_ATTEMPTS {
            let id = ids::fresh_id()?;
            match self
                .transact(vec![
                    self.put_new(username_guard(id, new))?,
                    self.put_new(user_item(id, new))?,
                ])
                .await?
            {
                Ok(()) => {
                    return Ok(User {
                        id,
                        username: new.username.as_str().to_owned(),
                        created_at: new.created_at,
                    });
                }
                Err(0) => return Err(AppError::UsernameTaken),
                // The id was taken in the same millisecond: try a fresh one.
                Err(_) => continue,
            }
        }
        Err(ids::exhausted("user"))
    }

    async fn find_user_by_username(&self, username: &str) -> AppResult<Option<UserRecord>> {
        // The same normalisation as `Username::normalized`, for any input.
        let Some(guard) = self
            .get(Key::username(&username.to_ascii_lowercase()))
            .await?
        else {
            return Ok(None);
        };
        let id = num(&guard, "user_id")?;
        // Both items are written in one transaction: a guard without its user is corruption.
        match self.get(Key::user(id)).await? {
            Some(user) => user_record(&user).map(Some),
            None => Err(corrupt("user of a username")),
        }
    }
}
