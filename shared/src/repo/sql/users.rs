//! Users, on both SQL databases (the pattern is described in `super`).

use async_trait::async_trait;

use super::dialect::Dialect;
use super::{Access, SqlStore, is_unique_violation, rows, store_error};
use crate::domain::{NewUser, Role, User, UserRecord};
use crate::error::{AppError, AppResult};
use crate::repo::UserRepo;

macro_rules! user_repo {
    () => {
        #[async_trait]
        impl UserRepo for SqlStore<Db> {
            async fn register_user(&self, new: &NewUser) -> AppResult<User> {
                let mut conn = self.conn(Access::Write).await?;
                let result = sqlx::query(
                    "INSERT INTO users (username, password_hash, created_at) \
                     VALUES ($1, $2, $3) RETURNING id",
                )
                .bind(new.username.as_str())
                .bind(&new.password_hash)
                .bind(new.created_at)
                .fetch_one(&mut *conn)
                .await;
                conn.settle(&result);
                match result {
                    Ok(row) => Ok(User {
                        id: rows::id(&row)?,
                        username: new.username.as_str().to_owned(),
                        created_at: new.created_at,
                    }),
                    // The case-insensitive unique index decides between racing registrations.
                    Err(e) if is_unique_violation(&e) => Err(AppError::UsernameTaken),
                    Err(e) => Err(store_error::<Db>(e)),
                }
            }

            async fn find_user_by_username(&self, username: &str) -> AppResult<Option<UserRecord>> {
                let query = sqlx::query(Db::USER_BY_NAME).bind(username);
                self.fetch_optional(Access::Read, query, rows::user_record)
                    .await
            }

            async fn set_user_role(&self, username: &str, role: Role) -> AppResult<Option<User>> {
                let query = sqlx::query(Db::SET_USER_ROLE)
                    .bind(username)
                    .bind(role.as_str());
                self.fetch_optional(Access::Write, query, rows::user).await
            }
        }
    };
}

for_each_database!(user_repo);
