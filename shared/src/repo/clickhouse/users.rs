//! `UserRepo` on ClickHouse: a registration claims the lower-cased name;
//! the first claim wins and writes the user, a loser helps write the
//! winner's user (if missing) and answers `UsernameTaken`. A role change is a
//! versioned row in `user_roles` (no contention: an operator's command).

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use super::rows::{UserOut, UserRow, from_json, seconds, to_json};
use super::sql;
use super::store::ClickHouseStore;
use crate::domain::{NewUser, Role, Timestamp, User, UserRecord};
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
        let Some(found) = self.user_by_name(username).await? else {
            return Ok(None);
        };
        let role = self.role_of(found.id).await?;
        Ok(Some(UserRecord {
            user: found.user(),
            password_hash: found.password_hash,
            role,
        }))
    }

    async fn set_user_role(&self, username: &str, role: Role) -> AppResult<Option<User>> {
        let Some(found) = self.user_by_name(username).await? else {
            return Ok(None);
        };
        let version = self.allocate_ids(1).await?[0];
        let row = RoleRow {
            user_id: found.id,
            version,
            role: role.as_str(),
        };
        self.http().insert(sql::USER_ROLES, &[row]).await?;
        Ok(Some(found.user()))
    }
}

impl ClickHouseStore {
    async fn user_by_name(&self, username: &str) -> AppResult<Option<UserOut>> {
        self.ready()
            .await?
            .select_one(&sql::user_by_name_key(&username.to_ascii_lowercase()))
            .await
    }

    async fn role_of(&self, user_id: i64) -> AppResult<Role> {
        #[derive(Deserialize)]
        struct Latest {
            role: String,
        }
        let latest: Option<Latest> = self.http().select_one(&sql::role_of(user_id)).await?;
        match latest {
            None => Ok(Role::Customer),
            Some(l) => Role::parse(&l.role)
                .ok_or_else(|| AppError::internal(format!("unknown role {:?} stored", l.role))),
        }
    }
}

#[derive(Serialize)]
struct RoleRow {
    user_id: i64,
    version: i64,
    role: &'static str,
}

impl UserOut {
    fn user(&self) -> User {
        User {
            id: self.id,
            username: self.username.clone(),
            created_at: Timestamp::from_unix(self.created_s),
        }
    }
}
