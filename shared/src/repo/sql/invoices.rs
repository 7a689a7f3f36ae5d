//! Invoices, on both SQL databases (the pattern is described in `super`).

use async_trait::async_trait;

use super::dialect::{Dialect, JsonDoc};
use super::{Access, SqlStore, rows, store_error};
use crate::domain::{IdemFinish, Invoice, NewInvoice, Page, PageRequest, StatusChange};
use crate::error::{AppError, AppResult};
use crate::repo::{InvoiceRepo, codec};

macro_rules! invoice_repo {
    () => {
        #[async_trait]
        impl InvoiceRepo for SqlStore<Db> {
            async fn create_invoice_once(
                &self,
                new: &NewInvoice,
                idem: Option<&IdemFinish<'_, (Invoice, bool)>>,
            ) -> AppResult<(Invoice, bool)> {
                // The UNIQUE (order_id) constraint decides the race: one INSERT
                // wins, the others (waiting for its commit where they overlap)
                // do nothing and read the winner's row.
                let query = sqlx::query(concat!(
                    "INSERT INTO invoices (order_id, user_id, username, items, subtotal_cents, \
                     tax_cents, total_cents, status, status_history, created_at, due_date) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, 'draft', '[]', $8, $9) \
                     ON CONFLICT (order_id) DO NOTHING RETURNING ",
                    invoice_columns!()
                ))
                .bind(new.order_id)
                .bind(new.user_id)
                .bind(&new.username)
                .bind(JsonDoc(codec::encode_invoice_items(&new.items)))
                .bind(new.subtotal.cents())
                .bind(new.tax.cents())
                .bind(new.total.cents())
                .bind(new.created_at)
                .bind(new.due_date);
                let mut conn = self.conn(Access::Write).await?;
                let created = async {
                    let mut tx = sqlx::Connection::begin(&mut *conn)
                        .await
                        .map_err(store_error::<Db>)?;
                    let inserted = query
                        .fetch_optional(&mut *tx)
                        .await
                        .map_err(store_error::<Db>)?;
                    let result = match inserted {
                        Some(row) => (rows::invoice(&row)?, true),
                        None => {
                            // Lost the race: the winner's row is committed (the
                            // insert waited for it); read it in this transaction.
                            let row = sqlx::query(concat!(
                                "SELECT ",
                                invoice_columns!(),
                                " FROM invoices WHERE order_id = $1"
                            ))
                            .bind(new.order_id)
                            .fetch_optional(&mut *tx)
                            .await
                            .map_err(store_error::<Db>)?
                            .ok_or_else(|| {
                                AppError::internal("invoice insert conflicted but no invoice found")
                            })?;
                            (rows::invoice(&row)?, false)
                        }
                    };
                    SqlStore::<Db>::finish_in(&mut tx, idem, &result).await?;
                    tx.commit().await.map_err(store_error::<Db>)?;
                    Ok(result)
                }
                .await;
                // Any failure inside the transaction: the connection is not reused.
                conn.finished(created.is_ok());
                created
            }

            async fn get_invoice(&self, id: i64) -> AppResult<Option<Invoice>> {
                let query = sqlx::query(concat!(
                    "SELECT ",
                    invoice_columns!(),
                    " FROM invoices WHERE id = $1"
                ));
                self.fetch_optional(Access::Read, query.bind(id), rows::invoice)
                    .await
            }

            async fn get_invoice_by_order(&self, order_id: i64) -> AppResult<Option<Invoice>> {
                let query = sqlx::query(concat!(
                    "SELECT ",
                    invoice_columns!(),
                    " FROM invoices WHERE order_id = $1"
                ));
                self.fetch_optional(Access::Read, query.bind(order_id), rows::invoice)
                    .await
            }

            async fn list_invoices_by_user(
                &self,
                user_id: i64,
                page: PageRequest,
            ) -> AppResult<Page<Invoice>> {
                let sql = concat!(
                    "SELECT ",
                    invoice_columns!(),
                    " FROM invoices WHERE user_id = $1 AND id < $2 ORDER BY id DESC LIMIT $3"
                );
                self.fetch_newest_first(sql, user_id, page, rows::invoice, |i| i.invoice_id)
                    .await
            }

            async fn transition_invoice(
                &self,
                id: i64,
                change: &StatusChange,
            ) -> AppResult<Option<Invoice>> {
                // Compare-and-set in one statement: the WHERE on the old status
                // (re-checked after the row lock, on PostgreSQL) makes a
                // concurrent move lose cleanly (no row); the history grows
                // with the status.
                let query = sqlx::query(Db::TRANSITION_INVOICE)
                    .bind(change.to.as_str())
                    .bind(JsonDoc(codec::encode_status_change(change)))
                    .bind(id)
                    .bind(change.from.as_str());
                self.fetch_optional(Access::Write, query, rows::invoice)
                    .await
            }
        }
    };
}

for_each_database!(invoice_repo);
