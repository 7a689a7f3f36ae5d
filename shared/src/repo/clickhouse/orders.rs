//! `OrderRepo` on ClickHouse: an order and its lines are one row, inserted
//! whole; a user's orders, newest first, are read by descending id.

use async_trait::async_trait;

use super::rows::{OrderOut, OrderRow, seconds};
use super::sql;
use super::store::ClickHouseStore;
use crate::domain::order::ORDER_STATUS_PENDING;
use crate::domain::{IdemFinish, NewOrder, Order, Page, PageRequest};
use crate::error::{AppError, AppResult};
use crate::repo::{OrderRepo, codec};

#[async_trait]
impl OrderRepo for ClickHouseStore {
    async fn place_order(
        &self,
        new: &NewOrder,
        idem: Option<&IdemFinish<'_, Order>>,
    ) -> AppResult<Order> {
        let http = self.ready().await?;
        let id = self.allocate_ids(1).await?[0];
        // One row holds the order and its lines: written whole or not at all.
        let row = OrderRow {
            id,
            user_id: new.user_id,
            username: new.username.clone(),
            items: codec::encode_order_items(&new.items),
            subtotal_cents: new.subtotal.cents(),
            tax_cents: new.tax.cents(),
            total_cents: new.total.cents(),
            status: ORDER_STATUS_PENDING.to_owned(),
            created_at: seconds(new.created_at)?,
        };
        let order = new.stored_as(id);
        match idem {
            None => http.insert(sql::ORDERS, &[&row]).await?,
            // With a key, the order row rides in the result claim: only the
            // claim's winner writes it (see `idempotency.rs`).
            Some(idem) => {
                let response = (idem.render)(&order);
                let row = serde_json::to_value(&row).map_err(AppError::internal)?;
                if !self.finish_key(idem.claim, &response, Some(row)).await? {
                    return Err(AppError::IdempotencyKeyInUse {
                        retry_after_seconds: 1,
                    });
                }
            }
        }
        Ok(order)
    }

    async fn get_order(&self, id: i64) -> AppResult<Option<Order>> {
        let row: Option<OrderOut> = self
            .ready()
            .await?
            .select_one(&sql::order_by_id(id))
            .await?;
        row.map(OrderOut::order).transpose()
    }

    async fn list_orders_by_user(&self, user_id: i64, page: PageRequest) -> AppResult<Page<Order>> {
        let query = sql::orders_page(user_id, page.after.unwrap_or(i64::MAX), page.limit + 1);
        let rows: Vec<OrderOut> = self.ready().await?.select(&query).await?;
        let orders = rows
            .into_iter()
            .map(OrderOut::order)
            .collect::<AppResult<Vec<_>>>()?;
        Ok(Page::from_overfetch(orders, page.limit, |o| o.order_id))
    }
}
