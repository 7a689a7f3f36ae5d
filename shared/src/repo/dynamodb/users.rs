//! `UserRepo` on DynamoDB: registration is one transaction that puts the
//! lower-cased username guard and the user, so a name is taken once in any
//! letter case; a lookup by name reads the guard, then the user.

use async_trait::async_trait;

use aws_sdk_dynamodb::types::ReturnValue;

use super::attributes::{corrupt, num, s};
use super::errors::store_error;
use super::ids::{self, ID_ATTEMPTS};
use super::items::{user, user_item, user_record, username_guard};
use super::keys::Key;
use super::store::DynamoDbStore;
use crate::domain::{NewUser, Role, User, UserRecord};
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
        let Some(id) = self.user_id_of(username).await? else {
            return Ok(None);
        };
        // Both items are written in one transaction: a guard without its user is corruption.
        match self.get(Key::user(id)).await? {
            Some(user) => user_record(&user).map(Some),
            None => Err(corrupt("user of a username")),
        }
    }

    async fn set_user_role(&self, username: &str, role: Role) -> AppResult<Option<User>> {
        let Some(id) = self.user_id_of(username).await? else {
            return Ok(None);
        };
        let result = self
            .ready()
            .await?
            .update_item()
            .table_name(self.table())
            .set_key(Some(Key::user(id).item()))
            .update_expression("SET #role = :role")
            // A guard without its user is corruption; never create a fragment of one.
            .condition_expression("attribute_exists(PK)")
            .expression_attribute_names("#role", "role")
            .expression_attribute_values(":role", s(role.as_str()))
            .return_values(ReturnValue::AllNew)
            .send()
            .await;
        match result {
            Ok(out) => out.attributes.as_ref().map(user).transpose(),
            Err(e)
                if e.as_service_error()
                    .is_some_and(|e| e.is_conditional_check_failed_exception()) =>
            {
                Err(corrupt("user of a username"))
            }
            Err(e) => Err(store_error(e)),
        }
    }
}

impl DynamoDbStore {
    /// The id the username's guard points at, if the name is registered.
    async fn user_id_of(&self, username: &str) -> AppResult<Option<i64>> {
        // The same normalisation as `Username::normalized`, for any input.
        self.get(Key::username(&username.to_ascii_lowercase()))
            .await?
            .map(|guard| num(&guard, "user_id"))
            .transpose()
    }
}
