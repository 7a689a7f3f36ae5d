//! `Idempotency-Key` records on DynamoDB: one item per (user, key),
//! `PK = IDEM#<user id>#<key>`, `SK = IDEM`.
//!
//! A claim is one conditional PutItem that succeeds only when the key is free
//! (absent, expired, or running on a lapsed lease with the same fingerprint).
//! Finishing is an Update conditional on the claim's token and on no response
//! yet, in the same TransactWriteItems as the order or invoice it describes, so
//! both are written or neither. That transaction carries a ClientRequestToken
//! derived from the claim, so when the SDK retries a transaction that did
//! succeed but whose answer was lost, DynamoDB answers success again instead of
//! failing its conditions. Expiry is decided from the stored `expires_at` on
//! every read; the `ttl` attribute only lets DynamoDB clean up (days later).

use async_trait::async_trait;
use aws_sdk_dynamodb::operation::put_item::PutItemError;
use aws_sdk_dynamodb::types::{TransactWriteItem, Update};

use super::attributes::{Item, n, num, s, text};
use super::errors::store_error;
use super::keys::Key;
use super::store::DynamoDbStore;
use crate::domain::idempotency::outcome_of;
use crate::domain::{ClaimOutcome, IdemClaim, StoredResponse, Timestamp};
use crate::error::{AppError, AppResult};
use crate::repo::IdempotencyRepo;

const SK: &str = "IDEM";
/// The condition under which this claim's token may finish the key.
const HELD: &str = "#token = :token AND attribute_not_exists(#status)";

fn pk(claim: &IdemClaim) -> String {
    // The user id is all digits and comes first, so any key text after the
    // second `#` cannot make two (user, key) pairs collide.
    format!("IDEM#{}#{}", claim.user_id, claim.key.as_str())
}

#[async_trait]
impl IdempotencyRepo for DynamoDbStore {
    async fn claim_idempotency_key(&self, claim: &IdemClaim) -> AppResult<ClaimOutcome> {
        self.claim_key(claim).await
    }

    async fn complete_idempotency_key(
        &self,
        claim: &IdemClaim,
        response: &StoredResponse,
    ) -> AppResult<bool> {
        self.complete_key(claim, response).await
    }

    async fn release_idempotency_key(&self, claim: &IdemClaim) -> AppResult<()> {
        self.release_key(claim).await
    }
}

impl DynamoDbStore {
    async fn claim_key(&self, claim: &IdemClaim) -> AppResult<ClaimOutcome> {
        let client = self.ready().await?;
        let expires_at = claim.expires_at().unix();
        let put = client
            .put_item()
            .table_name(self.table())
            .item("PK", s(pk(claim)))
            .item("SK", s(SK))
            .item("fingerprint", s(&claim.fingerprint))
            .item("token", s(&claim.token))
            .item("lease_until", n(claim.lease_until.unix()))
            .item("expires_at", n(expires_at))
            .item("ttl", n(expires_at))
            .condition_expression(
                "attribute_not_exists(PK) OR expires_at <= :now \
                 OR (attribute_not_exists(#status) AND lease_until <= :now \
                     AND fingerprint = :fp)",
            )
            .expression_attribute_names("#status", "status")
            .expression_attribute_values(":now", n(claim.now.unix()))
            .expression_attribute_values(":fp", s(&claim.fingerprint))
            .send()
            .await;
        match put {
            Ok(_) => return Ok(ClaimOutcome::Claimed),
            Err(e)
                if matches!(
                    e.as_service_error(),
                    Some(PutItemError::ConditionalCheckFailedException(_))
                ) => {}
            Err(e) => return Err(store_error(e)),
        }
        let item = self
            .get(Key {
                pk: pk(claim),
                sk: SK,
            })
            .await?
            .ok_or_else(|| {
                AppError::internal("idempotency record vanished after a refused claim")
            })?;
        Ok(outcome_of(
            claim,
            &text(&item, "token")?,
            &text(&item, "fingerprint")?,
            stored_response(&item)?,
            Timestamp::from_unix(num(&item, "lease_until")?),
        ))
    }

    /// The Update that stores `response`, only while `claim` holds the key:
    /// a transaction item for the creating transaction.
    pub(super) fn finish_item(
        &self,
        claim: &IdemClaim,
        response: &StoredResponse,
    ) -> AppResult<TransactWriteItem> {
        let mut update = Update::builder()
            .table_name(self.table())
            .set_key(Some(
                Key {
                    pk: pk(claim),
                    sk: SK,
                }
                .item(),
            ))
            .update_expression("SET #status = :status, #body = :body REMOVE #location")
            .condition_expression(HELD)
            .expression_attribute_names("#token", "token")
            .expression_attribute_names("#status", "status")
            .expression_attribute_names("#location", "location")
            .expression_attribute_names("#body", "body")
            .expression_attribute_values(":token", s(&claim.token))
            .expression_attribute_values(":status", n(i64::from(response.status)))
            .expression_attribute_values(":body", s(&response.body));
        if let Some(location) = &response.location {
            update = update
                .update_expression("SET #status = :status, #body = :body, #location = :location")
                .expression_attribute_values(":location", s(location));
        }
        Ok(TransactWriteItem::builder()
            .update(update.build().map_err(AppError::internal)?)
            .build())
    }

    /// Remembers an answer that created nothing; `false` when the claim no
    /// longer holds the key.
    async fn complete_key(&self, claim: &IdemClaim, response: &StoredResponse) -> AppResult<bool> {
        let finish = self.finish_item(claim, response)?;
        Ok(self.transact(vec![finish]).await?.is_ok())
    }

    async fn release_key(&self, claim: &IdemClaim) -> AppResult<()> {
        let deleted = self
            .ready()
            .await?
            .delete_item()
            .table_name(self.table())
            .set_key(Some(
                Key {
                    pk: pk(claim),
                    sk: SK,
                }
                .item(),
            ))
            .condition_expression(HELD)
            .expression_attribute_names("#token", "token")
            .expression_attribute_names("#status", "status")
            .expression_attribute_values(":token", s(&claim.token))
            .send()
            .await;
        match deleted {
            Ok(_) => Ok(()),
            // Not ours any more (taken over or finished): nothing to release.
            Err(e)
                if e.as_service_error()
                    .is_some_and(|e| e.is_conditional_check_failed_exception()) =>
            {
                Ok(())
            }
            Err(e) => Err(store_error(e)),
        }
    }
}

fn stored_response(item: &Item) -> AppResult<Option<StoredResponse>> {
    if !item.contains_key("status") {
        return Ok(None);
    }
    Ok(Some(StoredResponse {
        status: u16::try_from(num(item, "status")?).map_err(AppError::internal)?,
        body: text(item, "body")?,
        location: item
            .get("location")
            .map(|_| text(item, "location"))
            .transpose()?,
    }))
}
