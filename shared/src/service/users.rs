use std::sync::Arc;

use crate::auth::{PasswordHasher, TokenKeys};
use crate::domain::{Identity, NewUser, Password, Timestamp, User, Username};
use crate::error::{AppError, AppResult};
use crate::metrics::{self, Metric};
use crate::repo::Store;

pub struct UserService {
    store: Arc<dyn Store>,
    hasher: PasswordHasher,
    tokens: Arc<TokenKeys>,
}

pub struct LoginOutcome {
    pub token: String,
    pub expires_in: u64,
    pub identity: Identity,
}

impl UserService {
    pub fn new(store: Arc<dyn Store>, tokens: Arc<TokenKeys>) -> UserService {
        UserService {
            store,
            hasher: PasswordHasher::new(),
            tokens,
        }
    }

    pub async fn register(&self, username: &str, password: &str) -> AppResult<User> {
        let username = Username::parse(username)?;
        let password = Password::parse(password)?;
        let password_hash = self.hasher.hash(password.expose()).await?;
        self.store
            .register_user(&NewUser {
                username,
                password_hash,
                created_at: Timestamp::now(),
            })
            .await
    }

    /// Checks the credentials and issues a token. A wrong username and a wrong
    /// password give the same error after the same work: one argon2id hash.
    pub async fn login(&self, username: &str, password: &str) -> AppResult<LoginOutcome> {
        let record = match Username::parse(username) {
            Ok(name) => self.store.find_user_by_username(name.as_str()).await?,
            Err(_) => None,
        };
        let matched = self
            .hasher
            .verify(password, record.as_ref().map(|r| r.password_hash.as_str()))
            .await?;
        let Some(record) = record.filter(|_| matched) else {
            metrics::count(Metric::FailedLogins);
            return Err(AppError::InvalidCredentials);
        };
        // The role stored on the user: only an operator changes it.
        let identity = record.identity();
        let token = self.tokens.issue(&identity, Timestamp::now()).await?;
        Ok(LoginOutcome {
            token,
            expires_in: self.tokens.ttl_seconds(),
            identity,
        })
    }

    /// Resolves the user a request names by username: the caller themself, or
    /// (for an admin) anyone. A customer naming someone else is refused.
    pub async fn resolve_target(&self, caller: &Identity, username: &str) -> AppResult<Identity> {
        if caller.username.eq_ignore_ascii_case(username) {
            return Ok(caller.clone());
        }
        if !caller.is_admin() {
            return Err(AppError::Forbidden(
                "you may only act on your own orders".into(),
            ));
        }
        let record = self
            .store
            .find_user_by_username(username)
            .await?
            .ok_or_else(|| AppError::UserNotFound(username.to_owned()))?;
        Ok(record.identity())
    }
}
