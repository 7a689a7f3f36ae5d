//! `OrderRepo` on DynamoDB: an order and all its lines are one item, so
//! placing it is one `PutItem`, all or nothing; a user's orders, newest
//! first, are a backward query of the user's `GSI1` partition.

use async_trait::async_trait;

use super::ids::{self, ID_ATTEMPTS};
use super::items::{order, order_item};
use super::keys::{self, Key};
use super::schema::GSI1;
use super::store::DynamoDbStore;
use crate::domain::{IdemFinish, NewOrder, Order, Page, PageRequest};
use crate::error::{AppError, AppResult};
use crate::repo::OrderRepo;

#[async_trait]
impl OrderRepo for DynamoDbStore {
    async fn place_order(
        &self,
        new: &NewOrder,
        idem: Option<&IdemFinish<'_, Order>>,
    ) -> AppResult<Order> {
        for _ in 0..ID_ATTEMPTS {
            let id = ids::fresh_id()?;
            let order = new.stored_as(id);
            let Some(idem) = idem else {
                // One item holds the order and all its lines: one PutItem, all or nothing.
                if self.put_new_item(order_item(id, new)).await? {
                    return Ok(order);
                }
                continue;
            };
            // With a key: the order and its remembered response in one transaction.
            let finish = self.finish_item(idem.claim, &(idem.render)(&order))?;
            match self
                .transact(vec![self.put_new(order_item(id, new))?, finish])
                .await?
            {
                Ok(()) => return Ok(order),
                Err(1) => {
                    return Err(AppError::IdempotencyKeyInUse {
                        retry_after_seconds: 1,
                    });
                }
                // The id was taken in the same millisecond: try a fresh one.
                Err(_) => continue,
            }
        }
        Err(ids::exhausted("order"))
    }

    async fn get_order(&self, id: i64) -> AppResult<Option<Order>> {
        self.get(Key::order(id))
            .await?
            .as_ref()
            .map(order)
            .transpose()
    }

    async fn list_orders_by_user(&self, user_id: i64, page: PageRequest) -> AppResult<Page<Order>> {
        let items = self
            .query_page(
                GSI1,
                keys::orders_of_user(user_id),
                page.after,
                false,
                page.limit,
            )
            .await?;
        let orders = items.iter().map(order).collect::<AppResult<Vec<_>>>()?;
        Ok(Page::from_overfetch(orders, page.limit, |o| o.order_id))
    }
}
