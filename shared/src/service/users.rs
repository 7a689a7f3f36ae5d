use std::sync::Arc;

use crate::auth::{PasswordHasher, TokenKeys};
use crate::domain::session::{DEFAULT_REFRESH_TTL_SECONDS, new_session_id};
use crate::domain::{
    Identity, NewSession, NewUser, Password, RefreshToken, RotateOutcome, Rotation, Timestamp,
    User, Username,
};
use crate::error::{AppError, AppResult};
use crate::metrics::{self, Metric};
use crate::repo::Store;

pub struct UserService {
    store: Arc<dyn Store>,
    hasher: PasswordHasher,
    tokens: Arc<TokenKeys>,
    refresh_ttl_seconds: u64,
}

/// What a login or a refresh answers: an access token for the session and
/// the session's new refresh token.
pub struct LoginOutcome {
    pub token: String,
    pub expires_in: u64,
    pub refresh_token: RefreshToken,
    pub refresh_expires_in: u64,
    pub identity: Identity,
}

impl UserService {
    pub fn new(store: Arc<dyn Store>, tokens: Arc<TokenKeys>) -> UserService {
        UserService {
            store,
            hasher: PasswordHasher::new(),
            tokens,
            refresh_ttl_seconds: DEFAULT_REFRESH_TTL_SECONDS,
        }
    }

    /// The argon2id hashes this service has computed (registrations and
    /// logins, decoys included).
    pub fn password_hashes_spent(&self) -> u64 {
        self.hasher.hashes_spent()
    }

    /// Sets how long each refresh token lives (`REFRESH_TTL_SECONDS`).
    pub fn with_refresh_ttl(mut self, seconds: u64) -> UserService {
        self.refresh_ttl_seconds = seconds;
        self
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

    /// Checks the credentials and opens a session. A wrong username and a
    /// wrong password give the same error after the same work: one argon2id
    /// hash. A username with too many recent failures (known or not) is
    /// refused before any hash is spent: `TooManyAttempts`, with the seconds
    /// until its window closes. A successful login leaves the count as it is:
    /// the window closes on its own.
    pub async fn login(&self, username: &str, password: &str) -> AppResult<LoginOutcome> {
        let now = Timestamp::now();
        // Only well-formed names are counted: no other name can exist, and
        // the store never sees unbounded input.
        let name = Username::parse(username).ok();
        if let Some(name) = &name {
            let window = self.store.login_failures(&name.normalized(), now).await?;
            if let Some(retry_after_seconds) = window.throttled_for(now) {
                metrics::count(Metric::FailedLogins);
                return Err(AppError::TooManyAttempts {
                    retry_after_seconds,
                });
            }
        }
        let record = match &name {
            Some(name) => self.store.find_user_by_username(name.as_str()).await?,
            None => None,
        };
        let matched = self
            .hasher
            .verify(password, record.as_ref().map(|r| r.password_hash.as_str()))
            .await?;
        let Some(record) = record.filter(|_| matched) else {
            metrics::count(Metric::FailedLogins);
            if let Some(name) = &name {
                self.store
                    .record_login_failure(&name.normalized(), now)
                    .await?;
            }
            return Err(AppError::InvalidCredentials);
        };
        // The role stored on the user: only an operator changes it.
        let identity = record.identity();
        let session_id = new_session_id()?;
        let refresh_token = RefreshToken::generate()?;
        self.store
            .create_session(&NewSession {
                session_id: session_id.clone(),
                user_id: identity.user_id,
                username: identity.username.clone(),
                token_hash: refresh_token.hash(),
                created_at: now,
                expires_at: self.refresh_expiry(now),
            })
            .await?;
        self.answer(identity, &session_id, refresh_token, now).await
    }

    /// Rotates a refresh token: the presented one is spent, the answer
    /// carries a new access token and a new refresh token of the same
    /// session. Unknown, expired, revoked and spent tokens are all
    /// `InvalidRefreshToken`; a spent one also ends its session.
    pub async fn refresh(&self, refresh_token: &str) -> AppResult<LoginOutcome> {
        let presented = RefreshToken::parse(refresh_token)?;
        let next = RefreshToken::generate()?;
        let now = Timestamp::now();
        let outcome = self
            .store
            .rotate_refresh_token(&Rotation {
                presented: presented.hash(),
                next: next.hash(),
                now,
                next_expires_at: self.refresh_expiry(now),
            })
            .await?;
        let owner = match outcome {
            RotateOutcome::Rotated(owner) => owner,
            RotateOutcome::Reused => {
                tracing::warn!("a spent refresh token was presented again; its session is revoked");
                return Err(AppError::InvalidRefreshToken);
            }
            RotateOutcome::Invalid => return Err(AppError::InvalidRefreshToken),
        };
        // The user as stored now (the role may have changed since login).
        let record = self
            .store
            .find_user_by_username(&owner.username)
            .await?
            .filter(|r| r.user.id == owner.user_id)
            .ok_or(AppError::InvalidRefreshToken)?;
        let identity = record.identity();
        self.answer(identity, &owner.session_id, next, now).await
    }

    /// Ends the session `refresh_token` belongs to, if it is the caller's.
    /// Someone else's token is refused like an unknown one, and nothing is revoked.
    pub async fn logout(&self, caller: &Identity, refresh_token: &str) -> AppResult<()> {
        let token = RefreshToken::parse(refresh_token)?;
        if self
            .store
            .revoke_session(caller.user_id, &token.hash(), Timestamp::now())
            .await?
        {
            Ok(())
        } else {
            Err(AppError::InvalidRefreshToken)
        }
    }

    fn refresh_expiry(&self, now: Timestamp) -> Timestamp {
        Timestamp::from_unix(now.unix() + i64::try_from(self.refresh_ttl_seconds).unwrap_or(0))
    }

    async fn answer(
        &self,
        identity: Identity,
        session_id: &str,
        refresh_token: RefreshToken,
        now: Timestamp,
    ) -> AppResult<LoginOutcome> {
        let token = self
            .tokens
            .issue_in_session(&identity, Some(session_id), now)
            .await?;
        Ok(LoginOutcome {
            token,
            expires_in: self.tokens.ttl_seconds(),
            refresh_token,
            refresh_expires_in: self.refresh_ttl_seconds,
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
