//! Orders, on both SQL databases (the pattern is described in `super`).

use async_trait::async_trait;

use super::dialect::JsonDoc;
use super::{Access, SqlStore, rows, store_error};
use crate::domain::order::ORDER_STATUS_PENDING;
use crate::domain::{IdemFinish, NewOrder, Order, Page, PageRequest};
use crate::error::AppResult;
use crate::repo::{OrderRepo, codec};

macro_rules! order_repo {
    () => {
        #[async_trait]
        impl OrderRepo for SqlStore<Db> {
            async fn place_order(
                &self,
                new: &NewOrder,
                idem: Option<&IdemFinish<'_, Order>>,
            ) -> AppResult<Order> {
                // One INSERT carries the order and all its lines; with a key, the
                // remembered response commits in the same transaction.
                let query = sqlx::query(concat!(
                    "INSERT INTO orders (user_id, username, items, subtotal_cents, tax_cents, \
                     total_cents, status, created_at) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING ",
                    order_columns!()
                ))
                .bind(new.user_id)
                .bind(&new.username)
                .bind(JsonDoc(codec::encode_order_items(&new.items)))
                .bind(new.subtotal.cents())
                .bind(new.tax.cents())
                .bind(new.total.cents())
                .bind(ORDER_STATUS_PENDING)
                .bind(new.created_at);
                let Some(idem) = idem else {
                    // One statement is atomic by itself: no transaction to open
                    // and commit (two round trips saved).
                    return self.fetch_one(Access::Write, query, rows::order).await;
                };
                let mut conn = self.conn(Access::Write).await?;
                let placed = async {
                    let mut tx = sqlx::Connection::begin(&mut *conn)
                        .await
                        .map_err(store_error::<Db>)?;
                    let row = query.fetch_one(&mut *tx).await.map_err(store_error::<Db>)?;
                    let order = rows::order(&row)?;
                    SqlStore::<Db>::finish_in(&mut tx, Some(idem), &order).await?;
                    tx.commit().await.map_err(store_error::<Db>)?;
                    Ok(order)
                }
                .await;
                // Any failure inside the transaction: the connection is not reused.
                conn.finished(placed.is_ok());
                placed
            }

            async fn get_order(&self, id: i64) -> AppResult<Option<Order>> {
                let query = sqlx::query(concat!(
                    "SELECT ",
                    order_columns!(),
                    " FROM orders WHERE id = $1"
                ));
                self.fetch_optional(Access::Read, query.bind(id), rows::order)
                    .await
            }

            async fn list_orders_by_user(
                &self,
                user_id: i64,
                page: PageRequest,
            ) -> AppResult<Page<Order>> {
                let sql = concat!(
                    "SELECT ",
                    order_columns!(),
                    " FROM orders WHERE user_id = $1 AND id < $2 ORDER BY id DESC LIMIT $3"
                );
                self.fetch_newest_first(sql, user_id, page, rows::order, |o| o.order_id)
                    .await
            }
        }
    };
}

for_each_database!(order_repo);
