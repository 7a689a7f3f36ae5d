//! Orders, on both SQL databases (the pattern is described in `super`).

use async_trait::async_trait;

use super::dialect::{Dialect, JsonDoc};
use super::idempotency::in_use;
use super::{Access, SqlQuery, SqlStore, rows, store_error};
use crate::domain::idempotency::{UNASSIGNED_ID, UNASSIGNED_ID_TEXT};
use crate::domain::order::ORDER_STATUS_PENDING;
use crate::domain::{IdemFinish, NewOrder, Order, Page, PageRequest, StoredResponse};
use crate::error::{AppError, AppResult};
use crate::repo::{OrderRepo, codec};

/// Places an order in one `INSERT` that carries all its lines.
const PLACE: &str = concat!(
    "INSERT INTO orders (user_id, username, items, subtotal_cents, tax_cents, \
     total_cents, status, created_at) \
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING ",
    order_columns!()
);

macro_rules! order_repo {
    () => {
        /// A keyed order: the order and the response remembered for its key
        /// commit together or not at all, and only while the claim holds the
        /// key or takes it free (so a holder whose lease was taken over
        /// creates nothing).
        impl SqlStore<Db> {
            /// In one round trip (`Dialect::PLACE_ANSWERED_ORDER`): the
            /// response was rendered before the id was known, and the
            /// database writes the id it assigns into the stored copy.
            async fn place_answered(
                &self,
                new: &NewOrder,
                idem: &IdemFinish<'_, Order>,
                template: &StoredResponse,
            ) -> AppResult<Order> {
                let query = Self::bind_claim(sqlx::query(Db::PLACE_ANSWERED_ORDER), idem.claim);
                let query = bind_order(query, new)
                    .bind(i64::from(template.status))
                    .bind(&template.body)
                    .bind(UNASSIGNED_ID_TEXT)
                    .bind(template.location.as_deref());
                let mut conn = self.conn(Access::Write).await?;
                Self::purge_now_and_then(&mut *conn, idem.claim).await?;
                let placed = query.fetch_all(&mut *conn).await;
                // A batch that failed part-way may have left its transaction
                // open: the connection is not reused (dropping it rolls back).
                conn.finished(placed.is_ok());
                let placed = placed.map_err(store_error::<Db>)?;
                let Some(row) = placed.first() else {
                    return Err(in_use());
                };
                let id: i64 = sqlx::Row::try_get(row, "id").map_err(AppError::internal)?;
                let order = new.stored_as(id);
                // The response sent: the stored one, rendered from the order.
                let sent = (idem.render)(&order);
                debug_assert_eq!(sent, template.with_id(id));
                Ok(order)
            }

            /// The general way, for a response the database cannot finish
            /// (see `IdemFinish::template`): a transaction around the
            /// `INSERT` and the response rendered from what it returned.
            async fn place_in_transaction(
                &self,
                new: &NewOrder,
                idem: &IdemFinish<'_, Order>,
            ) -> AppResult<Order> {
                let query = bind_order(sqlx::query(PLACE), new);
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
        }

        /// Binds the order's columns, next after what `query` has bound: `$1`
        /// to `$8` of `PLACE`, `$8` to `$15` of `Dialect::PLACE_ANSWERED_ORDER`.
        fn bind_order<'q>(query: SqlQuery<'q, Db>, new: &'q NewOrder) -> SqlQuery<'q, Db> {
            query
                .bind(new.user_id)
                .bind(&new.username)
                .bind(JsonDoc(codec::encode_order_items(&new.items)))
                .bind(new.subtotal.cents())
                .bind(new.tax.cents())
                .bind(new.total.cents())
                .bind(ORDER_STATUS_PENDING)
                .bind(new.created_at)
        }

        #[async_trait]
        impl OrderRepo for SqlStore<Db> {
            async fn place_order(
                &self,
                new: &NewOrder,
                idem: Option<&IdemFinish<'_, Order>>,
            ) -> AppResult<Order> {
                let Some(idem) = idem else {
                    // One statement is atomic by itself: no transaction to open
                    // and commit (two round trips saved).
                    let query = bind_order(sqlx::query(PLACE), new);
                    return self.fetch_one(Access::Write, query, rows::order).await;
                };
                match idem.template(&new.stored_as(UNASSIGNED_ID)) {
                    Some(template) => self.place_answered(new, idem, &template).await,
                    None => self.place_in_transaction(new, idem).await,
                }
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
