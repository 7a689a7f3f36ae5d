use std::sync::Arc;

use crate::domain::invoice::INVOICE_DUE_DAYS;
use crate::domain::{
    IdemFinish, Identity, Invoice, InvoiceItem, InvoiceStatus, NewInvoice, Order, Page,
    PageRequest, StatusChange, Timestamp,
};
use crate::error::{AppError, AppResult};
use crate::metrics::{self, Metric};
use crate::repo::Store;

/// How many times a status change re-reads and retries after losing a race
/// before answering 409 `conflict`.
const STATUS_CHANGE_ATTEMPTS: usize = 5;

pub struct InvoiceService {
    store: Arc<dyn Store>,
}

impl InvoiceService {
    pub fn new(store: Arc<dyn Store>) -> InvoiceService {
        InvoiceService { store }
    }

    /// The invoice of an order: created now (`true`), or the one it already has.
    /// With `idem`, a created invoice's response is stored with it.
    pub async fn create_for_order(
        &self,
        caller: &Identity,
        order_id: i64,
        idem: Option<&IdemFinish<'_, (Invoice, bool)>>,
    ) -> AppResult<(Invoice, bool)> {
        let order = self.owned_order(caller, order_id).await?;
        if let Some(existing) = self.store.get_invoice_by_order(order_id).await? {
            return Ok((existing, false));
        }
        let new = self.draft_from(order).await?;
        self.store.create_invoice_once(&new, idem).await
    }

    pub async fn get(&self, caller: &Identity, id: i64) -> AppResult<Invoice> {
        let invoice = self
            .store
            .get_invoice(id)
            .await?
            .ok_or(AppError::InvoiceNotFound(id))?;
        caller.ensure_can_access(invoice.user_id)?;
        Ok(invoice)
    }

    pub async fn get_by_order(&self, caller: &Identity, order_id: i64) -> AppResult<Invoice> {
        self.owned_order(caller, order_id).await?;
        self.store
            .get_invoice_by_order(order_id)
            .await?
            .ok_or(AppError::InvoiceNotFoundForOrder(order_id))
    }

    pub async fn list_for_user(
        &self,
        caller: &Identity,
        user_id: i64,
        page: PageRequest,
    ) -> AppResult<Page<Invoice>> {
        caller.ensure_can_access(user_id)?;
        self.store.list_invoices_by_user(user_id, page).await
    }

    /// Moves an invoice to `to` along the status machine. Setting the current
    /// status again is a no-op; a concurrent change makes us re-read and decide
    /// again, so no transition is ever skipped or lost.
    pub async fn change_status(
        &self,
        caller: &Identity,
        id: i64,
        to: InvoiceStatus,
    ) -> AppResult<Invoice> {
        for _ in 0..STATUS_CHANGE_ATTEMPTS {
            let invoice = self.get(caller, id).await?;
            if invoice.status == to {
                return Ok(invoice);
            }
            if !invoice.status.can_become(to) {
                return Err(AppError::InvalidStatusTransition {
                    from: invoice.status.to_string(),
                    to: to.to_string(),
                });
            }
            let change = StatusChange {
                from: invoice.status,
                to,
                changed_by: caller.user_id,
                changed_at: Timestamp::now(),
            };
            if let Some(updated) = self.store.transition_invoice(id, &change).await? {
                // Counted on the move itself: asking again for `paid` changes nothing.
                if to == InvoiceStatus::Paid {
                    metrics::count(Metric::InvoicesPaid);
                }
                return Ok(updated);
            }
        }
        Err(AppError::Conflict)
    }

    async fn owned_order(&self, caller: &Identity, order_id: i64) -> AppResult<Order> {
        let order = self
            .store
            .get_order(order_id)
            .await?
            .ok_or(AppError::OrderNotFound(order_id))?;
        caller.ensure_can_access(order.user_id)?;
        Ok(order)
    }

    /// A draft invoice copying the order's lines and totals, with each
    /// product's current description.
    async fn draft_from(&self, order: Order) -> AppResult<NewInvoice> {
        let ids: Vec<i64> = order.items.iter().map(|i| i.product_id).collect();
        let products = self.store.get_products(&ids).await?;
        let mut items = Vec::with_capacity(order.items.len());
        for item in order.items {
            let description = products
                .iter()
                .find(|p| p.product_id == item.product_id)
                .map(|p| p.description.clone())
                .unwrap_or_default();
            items.push(InvoiceItem {
                product_id: item.product_id,
                product_name: item.product_name,
                description,
                quantity: item.quantity.get(),
                unit_price: item.unit_price,
                total_price: item.total,
            });
        }
        let now = Timestamp::now();
        Ok(NewInvoice {
            order_id: order.order_id,
            user_id: order.user_id,
            username: order.username,
            items,
            subtotal: order.subtotal,
            tax: order.tax,
            total: order.total,
            created_at: now,
            due_date: now.plus_days(INVOICE_DUE_DAYS),
        })
    }
}
