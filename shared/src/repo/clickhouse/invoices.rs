//! `InvoiceRepo` on ClickHouse: an order's one invoice is decided by a claim
//! on the order id, and a status move (compare-and-set) by a claim on
//! `invoice_id:version`; losers help write the winner's row.

use async_trait::async_trait;

use super::rows::{Count, InvoiceOut, InvoiceRow, from_json, seconds, to_json};
use super::sql;
use super::store::ClickHouseStore;
use crate::domain::{
    IdemFinish, Invoice, InvoiceStatus, NewInvoice, Page, PageRequest, StatusChange,
};
use crate::error::{AppError, AppResult};
use crate::repo::{InvoiceRepo, codec};

impl ClickHouseStore {
    /// The order's one invoice, decided by the first claim on its order id:
    /// created now (`true`) or found.
    async fn create_invoice_claimed(&self, new: &NewInvoice) -> AppResult<(Invoice, bool)> {
        let http = self.ready().await?;
        // The common retry: the invoice exists, no claim needed.
        if let Some(existing) = self
            .latest_invoice(&sql::invoice_by_order(new.order_id))
            .await?
        {
            return Ok((existing.invoice()?, false));
        }
        let id = self.allocate_ids(1).await?[0];
        let row = InvoiceRow {
            id,
            version: 0,
            order_id: new.order_id,
            user_id: new.user_id,
            username: new.username.clone(),
            items: codec::encode_invoice_items(&new.items),
            subtotal_cents: new.subtotal.cents(),
            tax_cents: new.tax.cents(),
            total_cents: new.total.cents(),
            status: InvoiceStatus::Draft.as_str().to_owned(),
            status_history: "[]".to_owned(),
            created_at: seconds(new.created_at)?,
            due_date: seconds(new.due_date)?,
        };
        let key = new.order_id.to_string();
        let claim = self
            .claim(sql::INVOICE_CLAIMS, &key, to_json(&row)?)
            .await?;
        if claim.won {
            http.insert(sql::INVOICES, &[&row]).await?;
            return Ok((row.invoice()?, true));
        }
        if let Some(existing) = self
            .latest_invoice(&sql::invoice_by_order(new.order_id))
            .await?
        {
            return Ok((existing.invoice()?, false));
        }
        // Help: the winner's invoice is decided but not written yet.
        let winner: InvoiceRow = from_json(
            &self
                .claim_payload(sql::INVOICE_CLAIMS, &key, claim.winner)
                .await?,
        )?;
        http.insert(sql::INVOICES, &[&winner]).await?;
        Ok((winner.invoice()?, false))
    }
}

#[async_trait]
impl InvoiceRepo for ClickHouseStore {
    async fn create_invoice_once(
        &self,
        new: &NewInvoice,
        idem: Option<&IdemFinish<'_, (Invoice, bool)>>,
    ) -> AppResult<(Invoice, bool)> {
        let result = self.create_invoice_claimed(new).await?;
        if let Some(idem) = idem.filter(|_| result.1) {
            // The invoice is decided by its own claim (one per order, so a
            // retry can never make a second); the response is claimed after it.
            if !self
                .finish_key(idem.claim, &(idem.render)(&result), None)
                .await?
            {
                return Err(AppError::IdempotencyKeyInUse {
                    retry_after_seconds: 1,
                });
            }
        }
        Ok(result)
    }

    async fn get_invoice(&self, id: i64) -> AppResult<Option<Invoice>> {
        self.latest_invoice(&sql::invoice_by_id(id))
            .await?
            .map(|r| r.invoice())
            .transpose()
    }

    async fn get_invoice_by_order(&self, order_id: i64) -> AppResult<Option<Invoice>> {
        self.latest_invoice(&sql::invoice_by_order(order_id))
            .await?
            .map(|r| r.invoice())
            .transpose()
    }

    async fn list_invoices_by_user(
        &self,
        user_id: i64,
        page: PageRequest,
    ) -> AppResult<Page<Invoice>> {
        let query = sql::invoices_page(user_id, page.after.unwrap_or(i64::MAX), page.limit + 1);
        let rows: Vec<InvoiceOut> = self.ready().await?.select(&query).await?;
        let invoices = rows
            .into_iter()
            .map(|r| InvoiceRow::from(r).invoice())
            .collect::<AppResult<Vec<_>>>()?;
        Ok(Page::from_overfetch(invoices, page.limit, |i| i.invoice_id))
    }

    async fn transition_invoice(
        &self,
        id: i64,
        change: &StatusChange,
    ) -> AppResult<Option<Invoice>> {
        let http = self.ready().await?;
        let Some(current) = self.latest_invoice(&sql::invoice_by_id(id)).await? else {
            return Ok(None);
        };
        if current.status != change.from.as_str() {
            return Ok(None);
        }
        let key = format!("{id}:{}", current.version);
        let proposed = codec::encode_status_change(change);
        let claim = self
            .claim(sql::STATUS_CLAIMS, &key, proposed.clone())
            .await?;
        if claim.won {
            let next = current.moved(&proposed)?;
            http.insert(sql::INVOICES, &[&next]).await?;
            return Ok(Some(next.invoice()?));
        }
        // Lost: someone else's move from this version stands. Help it be written.
        let written: Count = http
            .select_one(&sql::invoice_version_exists(id, current.version + 1))
            .await?
            .unwrap_or_default();
        if written.n == 0 {
            let winner = self
                .claim_payload(sql::STATUS_CLAIMS, &key, claim.winner)
                .await?;
            http.insert(sql::INVOICES, &[current.moved(&winner)?])
                .await?;
        }
        Ok(None)
    }
}

impl ClickHouseStore {
    /// The latest version of the invoice the query selects.
    async fn latest_invoice(&self, query: &str) -> AppResult<Option<InvoiceRow>> {
        Ok(self
            .ready()
            .await?
            .select_one::<InvoiceOut>(query)
            .await?
            .map(InvoiceRow::from))
    }
}
