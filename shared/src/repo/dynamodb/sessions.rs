//! `SessionRepo` on DynamoDB.
//!
//! | item | `PK` | `SK` |
//! |---|---|---|
//! | session | `SESSION#<session id>` | `SESSION` |
//! | refresh token | `REFRESH#<sha-256 hex>` | `REFRESH` |
//! | failed-login window | `LOGINFAIL#<lower-cased name>` | `LOGINFAIL` |
//!
//! A rotation is one `TransactWriteItems`: an Update of the presented token
//! that sets `spent_at`, conditional on it being unspent and unexpired; a
//! condition check that its session has no `revoked_at`; and the Put of the
//! new token (`attribute_not_exists(PK)`). Of concurrent rotations of one
//! token only one transaction's condition holds; the others find the token
//! spent and revoke the session (reuse). A failed login is one conditional
//! UpdateItem: open a new window (when none is open) or add one to the open
//! window. Items carry a `ttl` so DynamoDB clears them some day, but every
//! decision reads the stored times.

use async_trait::async_trait;
use aws_sdk_dynamodb::operation::update_item::UpdateItemError;
use aws_sdk_dynamodb::types::{Put, ReturnValue, TransactWriteItem, Update};

use super::attributes::{Item, n, num, s, text};
use super::errors::store_error;
use super::keys::Key;
use super::store::DynamoDbStore;
use crate::domain::session::LOGIN_FAILURE_WINDOW_SECONDS;
use crate::domain::{FailureWindow, NewSession, RotateOutcome, Rotation, SessionOwner, Timestamp};
use crate::error::{AppError, AppResult};
use crate::repo::SessionRepo;

fn session_key(id: &str) -> Key {
    Key {
        pk: format!("SESSION#{id}"),
        sk: "SESSION",
    }
}

fn token_key(hash: &str) -> Key {
    Key {
        pk: format!("REFRESH#{hash}"),
        sk: "REFRESH",
    }
}

fn failures_key(name_key: &str) -> Key {
    Key {
        pk: format!("LOGINFAIL#{name_key}"),
        sk: "LOGINFAIL",
    }
}

fn token_item(hash: &str, session_id: &str, user_id: i64, expires_at: Timestamp) -> Item {
    let mut item = token_key(hash).item();
    item.extend([
        ("session_id".to_owned(), s(session_id)),
        ("user_id".to_owned(), n(user_id)),
        ("expires_at".to_owned(), n(expires_at.unix())),
        ("ttl".to_owned(), n(expires_at.unix())),
    ]);
    item
}

fn is_condition_failure<R>(e: &aws_sdk_dynamodb::error::SdkError<UpdateItemError, R>) -> bool {
    e.as_service_error()
        .is_some_and(UpdateItemError::is_conditional_check_failed_exception)
}

impl DynamoDbStore {
    /// Sets `revoked_at` on a session unless it has one.
    async fn revoke(&self, session_id: &str, now: Timestamp) -> AppResult<()> {
        let updated = self
            .ready()
            .await?
            .update_item()
            .table_name(self.table())
            .set_key(Some(session_key(session_id).item()))
            .update_expression("SET revoked_at = if_not_exists(revoked_at, :now)")
            .condition_expression("attribute_exists(PK)")
            .expression_attribute_values(":now", n(now.unix()))
            .send()
            .await;
        match updated {
            Ok(_) => Ok(()),
            // No such session: nothing to revoke.
            Err(e) if is_condition_failure(&e) => Ok(()),
            Err(e) => Err(store_error(e)),
        }
    }

    fn window(item: Option<&Item>, now: Timestamp) -> AppResult<FailureWindow> {
        let Some(item) = item else {
            return Ok(FailureWindow::empty(now));
        };
        let opened_at = Timestamp::from_unix(num(item, "opened_at")?);
        if !FailureWindow::is_open(opened_at, now) {
            return Ok(FailureWindow::empty(now));
        }
        Ok(FailureWindow {
            failures: u32::try_from(num(item, "failures")?).unwrap_or(u32::MAX),
            opened_at,
        })
    }
}

#[async_trait]
impl SessionRepo for DynamoDbStore {
    async fn create_session(&self, new: &NewSession) -> AppResult<()> {
        self.ready().await?;
        let mut session = session_key(&new.session_id).item();
        session.extend([
            ("user_id".to_owned(), n(new.user_id)),
            ("username".to_owned(), s(&new.username)),
            ("created_at".to_owned(), n(new.created_at.unix())),
            ("ttl".to_owned(), n(new.expires_at.unix())),
        ]);
        let token = token_item(
            &new.token_hash,
            &new.session_id,
            new.user_id,
            new.expires_at,
        );
        match self
            .transact(vec![self.put_new(session)?, self.put_new(token)?])
            .await?
        {
            Ok(()) => Ok(()),
            Err(_) => Err(AppError::internal("a new session id or token hash exists")),
        }
    }

    async fn rotate_refresh_token(&self, rotation: &Rotation) -> AppResult<RotateOutcome> {
        let Some(token) = self.get(token_key(&rotation.presented)).await? else {
            return Ok(RotateOutcome::Invalid);
        };
        let session_id = text(&token, "session_id")?;
        let user_id = num(&token, "user_id")?;
        if token.contains_key("spent_at") {
            self.revoke(&session_id, rotation.now).await?;
            return Ok(RotateOutcome::Reused);
        }
        let spend = Update::builder()
            .table_name(self.table())
            .set_key(Some(token_key(&rotation.presented).item()))
            .update_expression("SET spent_at = :now")
            .condition_expression("attribute_not_exists(spent_at) AND expires_at > :now")
            .expression_attribute_values(":now", n(rotation.now.unix()))
            .build()
            .map_err(AppError::internal)?;
        // The session must not be revoked; it lives as long as its newest
        // token, for DynamoDB's clean-up.
        let extend = Update::builder()
            .table_name(self.table())
            .set_key(Some(session_key(&session_id).item()))
            .update_expression("SET #ttl = :ttl")
            .condition_expression("attribute_exists(PK) AND attribute_not_exists(revoked_at)")
            .expression_attribute_names("#ttl", "ttl")
            .expression_attribute_values(":ttl", n(rotation.next_expires_at.unix()))
            .build()
            .map_err(AppError::internal)?;
        let next = Put::builder()
            .table_name(self.table())
            .set_item(Some(token_item(
                &rotation.next,
                &session_id,
                user_id,
                rotation.next_expires_at,
            )))
            .condition_expression("attribute_not_exists(PK)")
            .build()
            .map_err(AppError::internal)?;
        let items = vec![
            TransactWriteItem::builder().update(spend).build(),
            TransactWriteItem::builder().update(extend).build(),
            TransactWriteItem::builder().put(next).build(),
        ];
        // `transact` gives each call its own ClientRequestToken, so the SDK's
        // retry of a rotation that committed (its answer lost) is a success,
        // not a failed condition on the token it has just spent.
        match self.transact(items).await? {
            Ok(()) => {}
            // Spent meanwhile (a concurrent rotation won), or expired.
            Err(0) => {
                let again = self.get(token_key(&rotation.presented)).await?;
                if again.is_some_and(|t| t.contains_key("spent_at")) {
                    self.revoke(&session_id, rotation.now).await?;
                    return Ok(RotateOutcome::Reused);
                }
                return Ok(RotateOutcome::Invalid);
            }
            // The session is revoked.
            Err(1) => return Ok(RotateOutcome::Invalid),
            Err(_) => return Err(AppError::internal("a new refresh token hash exists")),
        }
        let session = self
            .get(session_key(&session_id))
            .await?
            .ok_or_else(|| AppError::internal("refresh token of a missing session"))?;
        Ok(RotateOutcome::Rotated(SessionOwner {
            session_id,
            user_id,
            username: text(&session, "username")?,
        }))
    }

    async fn revoke_session(
        &self,
        user_id: i64,
        token_hash: &str,
        now: Timestamp,
    ) -> AppResult<bool> {
        let Some(token) = self.get(token_key(token_hash)).await? else {
            return Ok(false);
        };
        if num(&token, "user_id")? != user_id {
            return Ok(false);
        }
        self.revoke(&text(&token, "session_id")?, now).await?;
        Ok(true)
    }

    async fn record_login_failure(
        &self,
        name_key: &str,
        now: Timestamp,
    ) -> AppResult<FailureWindow> {
        let client = self.ready().await?;
        let cutoff = now.unix() - LOGIN_FAILURE_WINDOW_SECONDS;
        let ttl = now.unix() + LOGIN_FAILURE_WINDOW_SECONDS;
        // Either step's condition may fail because the other state arrived
        // meanwhile (a window opened, or closed): a few rounds settle it.
        for _ in 0..4 {
            let added = client
                .update_item()
                .table_name(self.table())
                .set_key(Some(failures_key(name_key).item()))
                .update_expression("SET failures = failures + :one")
                .condition_expression("opened_at > :cutoff")
                .expression_attribute_values(":one", n(1))
                .expression_attribute_values(":cutoff", n(cutoff))
                .return_values(ReturnValue::AllNew)
                .send()
                .await;
            match added {
                Ok(out) => return Self::window(out.attributes(), now),
                Err(e) if is_condition_failure(&e) => {}
                Err(e) => return Err(store_error(e)),
            }
            let opened = client
                .update_item()
                .table_name(self.table())
                .set_key(Some(failures_key(name_key).item()))
                .update_expression("SET opened_at = :now, failures = :one, #ttl = :ttl")
                .condition_expression("attribute_not_exists(PK) OR opened_at <= :cutoff")
                .expression_attribute_names("#ttl", "ttl")
                .expression_attribute_values(":now", n(now.unix()))
                .expression_attribute_values(":one", n(1))
                .expression_attribute_values(":cutoff", n(cutoff))
                .expression_attribute_values(":ttl", n(ttl))
                .return_values(ReturnValue::AllNew)
                .send()
                .await;
            match opened {
                Ok(out) => return Self::window(out.attributes(), now),
                Err(e) if is_condition_failure(&e) => {}
                Err(e) => return Err(store_error(e)),
            }
        }
        Err(AppError::unavailable(
            "failed-login window kept changing under concurrent updates",
        ))
    }

    async fn login_failures(&self, name_key: &str, now: Timestamp) -> AppResult<FailureWindow> {
        let item = self.get(failures_key(name_key)).await?;
        Self::window(item.as_ref(), now)
    }
}
