//! Ids: `UpdateItem ADD n :count` on the kind's counter item is atomic and
//! returns the new value, so ids are positive, increasing and never handed
//! out twice (a failed write leaves a gap, never a duplicate).

use aws_sdk_dynamodb::types::ReturnValue;

use super::attributes::{n, num};
use super::errors::store_error;
use super::keys::Key;
use super::store::DynamoDbStore;
use crate::domain::MAX_ID;
use crate::error::{AppError, AppResult};

impl DynamoDbStore {
    /// The next `count` ids of one kind: the last of them is returned, the
    /// first is `last - count + 1`.
    pub(super) async fn next_ids(&self, kind: &'static str, count: usize) -> AppResult<i64> {
        let out = self
            .client()
            .await?
            .update_item()
            .table_name(self.table())
            .set_key(Some(Key::counter(kind).item()))
            .update_expression("ADD #n :count")
            .expression_attribute_names("#n", "n")
            .expression_attribute_values(":count", n(count as i64))
            .return_values(ReturnValue::UpdatedNew)
            .send()
            .await
            .map_err(store_error)?;
        let last = out
            .attributes
            .as_ref()
            .map(|a| num(a, "n"))
            .transpose()?
            .unwrap_or(0);
        if !(1..=MAX_ID).contains(&last) {
            return Err(AppError::internal(format!(
                "the {kind} id counter is out of range: {last}"
            )));
        }
        Ok(last)
    }

    pub(super) async fn next_id(&self, kind: &'static str) -> AppResult<i64> {
        self.next_ids(kind, 1).await
    }
}
