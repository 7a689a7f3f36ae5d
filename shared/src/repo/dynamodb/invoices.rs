//! `InvoiceRepo` on DynamoDB: an order's one invoice is written in one
//! transaction with the order's invoice guard (a loser reads the winner's
//! invoice through it), and a status move is one conditional `UpdateItem`
//! that sets the status and appends to the history together.

use async_trait::async_trait;
use aws_sdk_dynamodb::types::{AttributeValue, ReturnValue};

use super::attributes::{corrupt, num, s};
use super::errors::store_error;
use super::ids::{self, ID_ATTEMPTS};
use super::items::{invoice, invoice_guard, invoice_item};
use super::keys::{self, Key};
use super::schema::GSI1;
use super::store::DynamoDbStore;
use crate::domain::{IdemFinish, Invoice, NewInvoice, Page, PageRequest, StatusChange};
use crate::error::{AppError, AppResult};
use crate::repo::{InvoiceRepo, codec};

#[async_trait]
impl InvoiceRepo for DynamoDbStore {
    async fn create_invoice_once(
        &self,
        new: &NewInvoice,
        idem: Option<&IdemFinish<'_, (Invoice, bool)>>,
    ) -> AppResult<(Invoice, bool)> {
        // The common repeat (an order invoiced before) costs one read and no write.
        if let Some(existing) = self.get_invoice_by_order(new.order_id).await? {
            return Ok((existing, false));
        }
        for _ in 0..ID_ATTEMPTS {
            let id = ids::fresh_id()?;
            let item = invoice_item(id, new);
            let created = (invoice(&item)?, true);
            let mut writes = vec![
                self.put_new(invoice_guard(id, new.order_id))?,
                self.put_new(item)?,
            ];
            let outcome = match idem {
                // With a key, its remembered response joins the transaction.
                Some(idem) => {
                    writes.push(self.finish_item(idem.claim, &(idem.render)(&created))?);
                    self.transact(writes).await?
                }
                None => self.transact(writes).await?,
            };
            match outcome {
                Ok(()) => return Ok(created),
                Err(2) => {
                    return Err(AppError::IdempotencyKeyInUse {
                        retry_after_seconds: 1,
                    });
                }
                // Another creator won the guard: its invoice is the order's one.
                Err(0) => {
                    let existing =
                        self.get_invoice_by_order(new.order_id)
                            .await?
                            .ok_or_else(|| {
                                AppError::internal("invoice guard taken but no invoice found")
                            })?;
                    return Ok((existing, false));
                }
                // The id was taken in the same millisecond: try a fresh one.
                Err(_) => continue,
            }
        }
        Err(ids::exhausted("invoice"))
    }

    async fn get_invoice(&self, id: i64) -> AppResult<Option<Invoice>> {
        self.get(Key::invoice(id))
            .await?
            .as_ref()
            .map(invoice)
            .transpose()
    }

    async fn get_invoice_by_order(&self, order_id: i64) -> AppResult<Option<Invoice>> {
        let Some(guard) = self.get(Key::invoice_of_order(order_id)).await? else {
            return Ok(None);
        };
        let id = num(&guard, "invoice_id")?;
        // Written with its guard in one transaction, so it is there.
        match self.get_invoice(id).await? {
            Some(invoice) => Ok(Some(invoice)),
            None => Err(corrupt("invoice of an order guard")),
        }
    }

    async fn list_invoices_by_user(
        &self,
        user_id: i64,
        page: PageRequest,
    ) -> AppResult<Page<Invoice>> {
        let items = self
            .query_page(
                GSI1,
                keys::invoices_of_user(user_id),
                page.after,
                false,
                page.limit,
            )
            .await?;
        let invoices = items.iter().map(invoice).collect::<AppResult<Vec<_>>>()?;
        Ok(Page::from_overfetch(invoices, page.limit, |i| i.invoice_id))
    }

    async fn transition_invoice(
        &self,
        id: i64,
        change: &StatusChange,
    ) -> AppResult<Option<Invoice>> {
        // Compare-and-set in one UpdateItem: DynamoDB serialises writes to an
        // item, so of concurrent moves from the same status exactly one finds
        // its condition true. A missing invoice has no status: the condition
        // fails too, and nothing is created.
        let result = self
            .ready()
            .await?
            .update_item()
            .table_name(self.table())
            .set_key(Some(Key::invoice(id).item()))
            .update_expression("SET #status = :to, #history = list_append(#history, :change)")
            .condition_expression("#status = :from")
            .expression_attribute_names("#status", "status")
            .expression_attribute_names("#history", "history")
            .expression_attribute_values(":to", s(change.to.as_str()))
            .expression_attribute_values(":from", s(change.from.as_str()))
            .expression_attribute_values(
                ":change",
                AttributeValue::L(vec![s(codec::encode_status_change(change))]),
            )
            .return_values(ReturnValue::AllNew)
            .send()
            .await;
        match result {
            Ok(out) => out.attributes.as_ref().map(invoice).transpose(),
            Err(e)
                if e.as_service_error()
                    .is_some_and(|e| e.is_conditional_check_failed_exception()) =>
            {
                Ok(None)
            }
            Err(e) => Err(store_error(e)),
        }
    }
}
