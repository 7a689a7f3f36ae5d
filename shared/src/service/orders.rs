use std::sync::Arc;

use crate::domain::order::merge_lines;
use crate::domain::{
    IdemFinish, Identity, Money, NewOrder, Order, OrderItem, Page, PageRequest, Timestamp,
};
use crate::error::{AppError, AppResult};
use crate::metrics::{self, Metric};
use crate::repo::Store;

pub struct OrderService {
    store: Arc<dyn Store>,
    tax_rate_bps: u32,
}

impl OrderService {
    pub fn new(store: Arc<dyn Store>, tax_rate_bps: u32) -> OrderService {
        OrderService {
            store,
            tax_rate_bps,
        }
    }

    /// The order `owner` asks for with requested `(product_id, quantity)`
    /// lines, ready to place: repeats merged, every product checked to exist
    /// and be in stock, priced now, taxed. Only reads.
    pub async fn price(&self, owner: &Identity, raw_lines: &[(i64, i64)]) -> AppResult<NewOrder> {
        let lines = merge_lines(raw_lines)?;
        let mut items = Vec::with_capacity(lines.len());
        let mut subtotal = Money::ZERO;
        let too_large = || AppError::validation("items: the order total is too large");
        let ids: Vec<i64> = lines.iter().map(|l| l.product_id).collect();
        let products = self.store.get_products(&ids).await?;
        for line in &lines {
            let product = products
                .iter()
                .find(|p| p.product_id == line.product_id)
                .ok_or(AppError::UnknownProductInOrder(line.product_id))?;
            if !product.in_stock {
                return Err(AppError::ProductOutOfStock(product.product_id));
            }
            let total = product
                .price
                .checked_mul(line.quantity.get())
                .ok_or_else(too_large)?;
            subtotal = subtotal.checked_add(total).ok_or_else(too_large)?;
            items.push(OrderItem {
                product_id: product.product_id,
                product_name: product.name.clone(),
                quantity: line.quantity,
                unit_price: product.price,
                total,
            });
        }
        let tax = subtotal.percent_bps(self.tax_rate_bps);
        let total = subtotal.checked_add(tax).ok_or_else(too_large)?;
        Ok(NewOrder {
            user_id: owner.user_id,
            username: owner.username.clone(),
            items,
            subtotal,
            tax,
            total,
            created_at: Timestamp::now(),
        })
    }

    /// Stores a priced order with all its lines at once. With `idem`, the
    /// remembered response is stored with the order (see `IdemFinish`).
    pub async fn place(
        &self,
        new: &NewOrder,
        idem: Option<&IdemFinish<'_, Order>>,
    ) -> AppResult<Order> {
        let order = self.store.place_order(new, idem).await?;
        metrics::count(Metric::OrdersPlaced);
        Ok(order)
    }

    pub async fn list(&self, owner: &Identity, page: PageRequest) -> AppResult<Page<Order>> {
        self.store.list_orders_by_user(owner.user_id, page).await
    }
}
