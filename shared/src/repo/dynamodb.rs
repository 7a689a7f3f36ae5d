//! The DynamoDB backend: one table, every entity an item in it, every unit of
//! work atomic by DynamoDB's own means (single-item conditional writes and
//! `TransactWriteItems`), never by a read followed by a write.
//!
//! # Table design
//!
//! Keys are two strings, `PK` (partition) and `SK` (sort). Two global secondary
//! indexes, both projecting all attributes so a list needs no second read,
//! have a string partition key and a number sort key (the entity id, so key
//! conditions on the id page through them in order):
//!
//! | item | `PK` | `SK` | `GSI1PK` / `GSI1SK` | `GSI2PK` / `GSI2SK` |
//! |---|---|---|---|---|
//! | user | `USER#<id>` | `USER` | | |
//! | username guard | `USERNAME#<lower-cased name>` | `USERNAME` | | |
//! | product | `PRODUCT#<id>` | `PRODUCT` | `PRODUCTS` / id | `CATEGORY#<category>` / id |
//! | order | `ORDER#<id>` | `ORDER` | `USER#<user id>#ORDERS` / id | |
//! | invoice | `INVOICE#<id>` | `INVOICE` | `USER#<user id>#INVOICES` / id | |
//! | invoice guard | `ORDER#<order id>` | `INVOICE` | | |
//! | id counter | `COUNTER` | `USER`, `PRODUCT`, `ORDER`, `INVOICE` | | |
//! | catalog marker | `CATALOG` | `SEEDED` | | |
//!
//! Access patterns: a user by name is the guard (`user_id`) then the user item;
//! products by id are a forward `Query` on `GSI1` (`PRODUCTS`, `GSI1SK > after`),
//! by category the same on `GSI2`; a user's orders or invoices, newest first,
//! are a backward `Query` on `GSI1` (`GSI1SK < after`); the invoice of an order
//! is its guard item (`invoice_id`) then the invoice. Point reads are strongly
//! consistent; index queries are eventually consistent (DynamoDB offers
//! nothing else on a GSI), so a list may miss an item written a moment ago.
//!
//! Money is integer cents in number attributes (`price_cents`, `subtotal_cents`,
//! ...). Order and invoice lines are immutable snapshots always read with their
//! parent, stored as one JSON string attribute (`items`, see [`codec`]); the
//! status history is a list of JSON strings (`history`) so that a status move
//! can append to it with `list_append` in the same `UpdateItem`.
//!
//! # Why each unit of work is atomic
//!
//! - **ids**: `UpdateItem ADD n :k` on the kind's counter item is atomic and
//!   returns the new value: ids are positive, increasing, never handed out
//!   twice (a failed write leaves a gap, never a duplicate).
//! - **register**: one transaction puts the username guard (keyed by the
//!   lower-cased name, `attribute_not_exists(PK)`) and the user item. Of any
//!   number of concurrent registrations of a name in any letter case, one
//!   commits; the others fail the guard's condition: `UsernameTaken`.
//! - **place an order**: one `PutItem` carries the order and all its lines.
//! - **create the invoice of an order**: one transaction puts the order's
//!   invoice guard (`attribute_not_exists(PK)`) and the invoice. A loser fails
//!   the condition and reads the winner's invoice through the guard.
//! - **move an invoice's status**: one `UpdateItem` with
//!   `ConditionExpression: status = :from` sets the new status and appends the
//!   change to the history: compare-and-set, with the history never out of
//!   step with the status.
//! - **seed the catalog**: one transaction puts the catalog marker
//!   (`attribute_not_exists(PK)`) and every sample product: seeded once, whole.
//!
//! # Failures
//!
//! The SDK's standard retry (short backoff) retries throttling, 5xx and
//! transaction conflicts (a classifier below teaches it that a transaction
//! cancelled only by conflicts is worth retrying); short connect and operation
//! timeouts bound a call to a down endpoint. Whatever is left is
//! `AppError::Unavailable` (a 503); a cancelled transaction whose condition
//! failed is the domain outcome, never an error.

use std::collections::HashMap;
use std::time::Duration;

use async_trait::async_trait;
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::config::interceptors::InterceptorContext;
use aws_sdk_dynamodb::config::retry::{ClassifyRetry, RetryAction, RetryConfig};
use aws_sdk_dynamodb::config::timeout::TimeoutConfig;
use aws_sdk_dynamodb::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_dynamodb::operation::put_item::PutItemError;
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::operation::update_item::UpdateItemError;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, AttributeValue, BillingMode, GlobalSecondaryIndex, IndexStatus,
    KeySchemaElement, KeyType, Projection, ProjectionType, Put, ReturnValue, ScalarAttributeType,
    TableStatus, TransactWriteItem,
};
use tokio::sync::OnceCell;

use super::{Bootstrap, InvoiceRepo, OrderRepo, ProductRepo, Store, UserRepo, codec};
use crate::config::DynamoDbConfig;
use crate::domain::invoice::invoice_number;
use crate::domain::order::ORDER_STATUS_PENDING;
use crate::domain::{
    Invoice, InvoiceStatus, MAX_ID, Money, NewInvoice, NewOrder, NewProduct, NewUser, Order, Page,
    PageRequest, Product, ProductPatch, StatusChange, Timestamp, User, UserRecord,
};
use crate::error::{AppError, AppResult};
use crate::sample;

/// The index of the id-ordered lists: all products, a user's orders, a user's invoices.
pub const GSI1: &str = "GSI1";
/// The index of products by category.
pub const GSI2: &str = "GSI2";

/// How long `create_table_if_missing` waits for a new table (and its indexes) to be active.
const TABLE_READY_WAIT: Duration = Duration::from_secs(120);
/// DynamoDB's limit on the number of items in one transaction.
const MAX_TRANSACTION_ITEMS: usize = 100;

type Item = HashMap<String, AttributeValue>;

pub struct DynamoDbStore {
    /// Built on first use, not at cold start: loading the AWS configuration
    /// builds the HTTPS client, which reads the system's root certificates
    /// (about 5 ms), and a cold start that serves no store request should not pay.
    client: OnceCell<Client>,
    config: DynamoDbConfig,
    table: String,
    bootstrap: Bootstrap,
    ready: OnceCell<()>,
}

impl DynamoDbStore {
    /// Prepares the store without calling DynamoDB or building the HTTPS
    /// client: the first request that needs the table builds the client,
    /// creates the table (when `bootstrap.migrate`) and seeds it.
    pub async fn connect(
        config: &DynamoDbConfig,
        bootstrap: Bootstrap,
    ) -> AppResult<DynamoDbStore> {
        Ok(DynamoDbStore {
            client: OnceCell::new(),
            config: config.clone(),
            table: config.table.clone(),
            bootstrap,
            ready: OnceCell::new(),
        })
    }

    /// The SDK client, built once (for tools and tests too: creating or
    /// deleting tables).
    pub async fn client(&self) -> AppResult<&Client> {
        self.client
            .get_or_try_init(|| build_client(&self.config))
            .await
    }

    pub fn table(&self) -> &str {
        &self.table
    }

    /// Creates the table and bootstraps once per instance, on first use. A
    /// failure (DynamoDB unreachable) is not remembered: the next request tries again.
    async fn ready(&self) -> AppResult<&Client> {
        self.ready
            .get_or_try_init(|| async {
                if self.bootstrap.migrate {
                    self.create_table_if_missing().await?;
                }
                if self.bootstrap.seed {
                    self.seed_catalog_now(&sample::catalog(Timestamp::now()))
                        .await?;
                }
                Ok::<(), AppError>(())
            })
            .await?;
        self.client().await
    }

    /// Creates the table with its indexes (on-demand capacity) unless it
    /// exists, and waits until it and its indexes are active. Safe to run from
    /// several instances at once: a concurrent creation is waited for.
    pub async fn create_table_if_missing(&self) -> AppResult<()> {
        match self
            .client()
            .await?
            .describe_table()
            .table_name(&self.table)
            .send()
            .await
        {
            Ok(_) => {}
            Err(e)
                if e.as_service_error()
                    .is_some_and(|e| e.is_resource_not_found_exception()) =>
            {
                let created = self.create_table(self.client().await?).await;
                match created {
                    Ok(()) => tracing::info!(table = %self.table, "created the DynamoDB table"),
                    Err(e)
                        if e.as_service_error()
                            .is_some_and(|e| e.is_resource_in_use_exception()) => {}
                    Err(e) => return Err(store_error(e)),
                }
            }
            Err(e) => return Err(store_error(e)),
        }
        self.wait_until_active().await
    }

    async fn create_table(
        &self,
        client: &Client,
    ) -> Result<(), SdkError<aws_sdk_dynamodb::operation::create_table::CreateTableError>> {
        let key = |name: &str, kind: KeyType| {
            KeySchemaElement::builder()
                .attribute_name(name)
                .key_type(kind)
                .build()
                .expect("key schema has both fields")
        };
        let attribute = |name: &str, kind: ScalarAttributeType| {
            AttributeDefinition::builder()
                .attribute_name(name)
                .attribute_type(kind)
                .build()
                .expect("attribute definition has both fields")
        };
        let index = |name: &str, pk: &str, sk: &str| {
            GlobalSecondaryIndex::builder()
                .index_name(name)
                .key_schema(key(pk, KeyType::Hash))
                .key_schema(key(sk, KeyType::Range))
                .projection(
                    Projection::builder()
                        .projection_type(ProjectionType::All)
                        .build(),
                )
                .build()
                .expect("index has a name, keys and a projection")
        };
        client
            .create_table()
            .table_name(&self.table)
            .billing_mode(BillingMode::PayPerRequest)
            .attribute_definitions(attribute("PK", ScalarAttributeType::S))
            .attribute_definitions(attribute("SK", ScalarAttributeType::S))
            .attribute_definitions(attribute("GSI1PK", ScalarAttributeType::S))
            .attribute_definitions(attribute("GSI1SK", ScalarAttributeType::N))
            .attribute_definitions(attribute("GSI2PK", ScalarAttributeType::S))
            .attribute_definitions(attribute("GSI2SK", ScalarAttributeType::N))
            .key_schema(key("PK", KeyType::Hash))
            .key_schema(key("SK", KeyType::Range))
            .global_secondary_indexes(index(GSI1, "GSI1PK", "GSI1SK"))
            .global_secondary_indexes(index(GSI2, "GSI2PK", "GSI2SK"))
            .send()
            .await
            .map(|_| ())
    }

    /// Polls until the table and both indexes are active. A table that exists
    /// without the indexes this backend queries is a configuration error,
    /// reported as such rather than as failing queries later.
    async fn wait_until_active(&self) -> AppResult<()> {
        let deadline = tokio::time::Instant::now() + TABLE_READY_WAIT;
        loop {
            let described = self
                .client()
                .await?
                .describe_table()
                .table_name(&self.table)
                .send()
                .await
                .map_err(store_error)?;
            let table = described
                .table
                .ok_or_else(|| AppError::internal("DescribeTable returned no table"))?;
            let indexes = table.global_secondary_indexes();
            for name in [GSI1, GSI2] {
                if !indexes.iter().any(|i| i.index_name() == Some(name)) {
                    return Err(AppError::internal(format!(
                        "DynamoDB table {} has no index {name}; it was not created by this service",
                        self.table
                    )));
                }
            }
            let active = table.table_status() == Some(&TableStatus::Active)
                && indexes
                    .iter()
                    .all(|i| i.index_status().is_none_or(|s| *s == IndexStatus::Active));
            if active {
                return Ok(());
            }
            if tokio::time::Instant::now() > deadline {
                return Err(AppError::unavailable(format!(
                    "DynamoDB table {} is not active yet",
                    self.table
                )));
            }
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
    }

    /// The next `count` ids of one kind: the last of them is returned, the
    /// first is `last - count + 1`.
    async fn next_ids(&self, kind: &str, count: usize) -> AppResult<i64> {
        let out = self
            .client()
            .await?
            .update_item()
            .table_name(&self.table)
            .key("PK", s("COUNTER"))
            .key("SK", s(kind))
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

    async fn next_id(&self, kind: &str) -> AppResult<i64> {
        self.next_ids(kind, 1).await
    }

    async fn get(&self, pk: String, sk: &str) -> AppResult<Option<Item>> {
        let out = self
            .ready()
            .await?
            .get_item()
            .table_name(&self.table)
            .key("PK", s(pk))
            .key("SK", s(sk))
            // Read-your-writes: a just-created order is found by the next request.
            .consistent_read(true)
            .send()
            .await
            .map_err(store_error)?;
        Ok(out.item)
    }

    /// Runs a transaction. `Ok(Err(i))` when it was cancelled because the
    /// condition of item `i` failed: a domain outcome for the caller to map.
    async fn transact(&self, items: Vec<TransactWriteItem>) -> AppResult<Result<(), usize>> {
        let result = self
            .client()
            .await?
            .transact_write_items()
            .set_transact_items(Some(items))
            .send()
            .await;
        match result {
            Ok(_) => Ok(Ok(())),
            Err(e) => {
                if let Some(TransactWriteItemsError::TransactionCanceledException(cancelled)) =
                    e.as_service_error()
                {
                    let failed = cancelled
                        .cancellation_reasons()
                        .iter()
                        .position(|r| r.code() == Some("ConditionalCheckFailed"));
                    if let Some(index) = failed {
                        return Ok(Err(index));
                    }
                }
                Err(store_error(e))
            }
        }
    }

    /// A `Put` of a new item: fails (and so cancels its transaction) when the key exists.
    fn put_new(&self, item: Item) -> AppResult<TransactWriteItem> {
        let put = Put::builder()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression("attribute_not_exists(PK)")
            .build()
            .map_err(AppError::internal)?;
        Ok(TransactWriteItem::builder().put(put).build())
    }

    async fn seed_catalog_now(&self, products: &[NewProduct]) -> AppResult<bool> {
        if self.catalog_seeded().await? {
            return Ok(false);
        }
        if products.len() + 1 > MAX_TRANSACTION_ITEMS {
            return Err(AppError::internal(
                "the sample catalog must hold at most 99 products to seed in one transaction",
            ));
        }
        let first = match products.len() {
            0 => 1,
            count => self.next_ids("PRODUCT", count).await? - count as i64 + 1,
        };
        let mut writes = vec![self.put_new(HashMap::from([
            ("PK".to_owned(), s("CATALOG")),
            ("SK".to_owned(), s("SEEDED")),
            ("seeded_at".to_owned(), n(Timestamp::now().unix())),
        ]))?];
        for (id, p) in (first..).zip(products) {
            writes.push(self.put_new(product_item(id, p))?);
        }
        // A concurrent seeder fails the marker's condition: nothing of its
        // catalog is written, and it reports that it did not seed.
        match self.transact(writes).await? {
            Ok(()) => Ok(true),
            Err(0) => Ok(false),
            Err(_) => Err(AppError::internal(
                "a product id from the counter already exists",
            )),
        }
    }

    /// Whether the catalog was seeded, read before spending product ids.
    async fn catalog_seeded(&self) -> AppResult<bool> {
        let out = self
            .client()
            .await?
            .get_item()
            .table_name(&self.table)
            .key("PK", s("CATALOG"))
            .key("SK", s("SEEDED"))
            .consistent_read(true)
            .send()
            .await
            .map_err(store_error)?;
        Ok(out.item.is_some())
    }

    /// Up to `limit + 1` items of one index partition, in id order, after
    /// `after` (ascending: ids above it; descending: ids below it). Follows
    /// `LastEvaluatedKey` until enough items came back or the partition ends.
    async fn query_page(
        &self,
        index: &str,
        partition: String,
        after: Option<i64>,
        ascending: bool,
        limit: u32,
    ) -> AppResult<Vec<Item>> {
        let client = self.ready().await?;
        let (pk, sk) = if index == GSI1 {
            ("GSI1PK", "GSI1SK")
        } else {
            ("GSI2PK", "GSI2SK")
        };
        let (condition, bound) = if ascending {
            ("#pk = :pk AND #sk > :after", after.unwrap_or(0))
        } else {
            ("#pk = :pk AND #sk < :after", after.unwrap_or(MAX_ID + 1))
        };
        let wanted = limit as usize + 1;
        let mut items: Vec<Item> = Vec::with_capacity(wanted);
        let mut start = None;
        loop {
            let out = client
                .query()
                .table_name(&self.table)
                .index_name(index)
                .key_condition_expression(condition)
                .expression_attribute_names("#pk", pk)
                .expression_attribute_names("#sk", sk)
                .expression_attribute_values(":pk", s(partition.clone()))
                .expression_attribute_values(":after", n(bound))
                .scan_index_forward(ascending)
                .limit(i32::try_from(wanted - items.len()).unwrap_or(i32::MAX))
                .set_exclusive_start_key(start)
                .send()
                .await
                .map_err(store_error)?;
            items.extend(out.items.unwrap_or_default());
            start = out.last_evaluated_key;
            if items.len() >= wanted || start.is_none() {
                break;
            }
        }
        items.truncate(wanted);
        Ok(items)
    }
}

/// Teaches the SDK's standard retry that a transaction cancelled only by
/// conflicts with other in-flight transactions (or by throttling of one of its
/// items) is transient, like a single-item write that met a transaction. A
/// cancellation with a failed condition is an answer, never retried.
#[derive(Debug)]
struct TransactionConflictRetry;

impl ClassifyRetry for TransactionConflictRetry {
    fn classify_retry(&self, ctx: &InterceptorContext) -> RetryAction {
        let Some(Err(error)) = ctx.output_or_error() else {
            return RetryAction::NoActionIndicated;
        };
        let Some(error) = error.as_operation_error() else {
            return RetryAction::NoActionIndicated;
        };
        if let Some(TransactWriteItemsError::TransactionCanceledException(cancelled)) =
            error.downcast_ref::<TransactWriteItemsError>()
        {
            let codes: Vec<&str> = cancelled
                .cancellation_reasons()
                .iter()
                .filter_map(|r| r.code())
                .collect();
            return retry_for_cancellation(&codes);
        }
        let code = error
            .downcast_ref::<PutItemError>()
            .and_then(|e| e.code())
            .or_else(|| {
                error
                    .downcast_ref::<UpdateItemError>()
                    .and_then(|e| e.code())
            });
        match code {
            Some("TransactionConflictException") => RetryAction::transient_error(),
            _ => RetryAction::NoActionIndicated,
        }
    }

    fn name(&self) -> &'static str {
        "DynamoDB transaction conflict"
    }
}

/// What to do about a transaction cancelled for these reasons (one code per
/// item, `None` for the items that were fine).
fn retry_for_cancellation(codes: &[&str]) -> RetryAction {
    if codes.contains(&"ConditionalCheckFailed") {
        return RetryAction::NoActionIndicated;
    }
    if codes
        .iter()
        .any(|c| matches!(*c, "ThrottlingError" | "ProvisionedThroughputExceeded"))
    {
        return RetryAction::throttling_error();
    }
    if codes.contains(&"TransactionConflict") {
        return RetryAction::transient_error();
    }
    RetryAction::NoActionIndicated
}

/// Maps an SDK error: what says "not now" (unreachable, timed out, throttled
/// or conflicting after the retries, a 5xx) is a 503; anything else (a
/// missing table, denied access, a malformed request) is a logged 500.
fn store_error<E, R>(e: SdkError<E, R>) -> AppError
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    R: std::fmt::Debug + Send + Sync + 'static,
{
    let detail = aws_sdk_dynamodb::error::DisplayErrorContext(&e).to_string();
    match &e {
        SdkError::TimeoutError(_) | SdkError::DispatchFailure(_) | SdkError::ResponseError(_) => {
            AppError::unavailable(detail)
        }
        SdkError::ServiceError(service) => {
            let transient = matches!(
                service.err().code(),
                Some(
                    "ProvisionedThroughputExceededException"
                        | "RequestLimitExceeded"
                        | "ThrottlingException"
                        | "InternalServerError"
                        | "ServiceUnavailable"
                        | "TransactionConflictException"
                        | "TransactionInProgressException"
                        | "TransactionCanceledException"
                        | "LimitExceededException"
                )
            );
            if transient {
                AppError::unavailable(detail)
            } else {
                AppError::internal(detail)
            }
        }
        _ => AppError::internal(detail),
    }
}

fn s(value: impl Into<String>) -> AttributeValue {
    AttributeValue::S(value.into())
}

fn n(value: i64) -> AttributeValue {
    AttributeValue::N(value.to_string())
}

fn corrupt(name: &str) -> AppError {
    AppError::internal(format!("stored DynamoDB item has no readable `{name}`"))
}

fn text(item: &Item, name: &str) -> AppResult<String> {
    item.get(name)
        .and_then(|v| v.as_s().ok())
        .cloned()
        .ok_or_else(|| corrupt(name))
}

fn num(item: &Item, name: &str) -> AppResult<i64> {
    item.get(name)
        .and_then(|v| v.as_n().ok())
        .and_then(|v| v.parse().ok())
        .ok_or_else(|| corrupt(name))
}

fn flag(item: &Item, name: &str) -> AppResult<bool> {
    item.get(name)
        .and_then(|v| v.as_bool().ok())
        .copied()
        .ok_or_else(|| corrupt(name))
}

fn money(item: &Item, name: &str) -> AppResult<Money> {
    num(item, name).map(Money::from_cents)
}

fn time(item: &Item, name: &str) -> AppResult<Timestamp> {
    num(item, name).map(Timestamp::from_unix)
}

fn user_record(user: &Item) -> AppResult<UserRecord> {
    Ok(UserRecord {
        user: User {
            id: num(user, "id")?,
            username: text(user, "username")?,
            created_at: time(user, "created_at")?,
        },
        password_hash: text(user, "password_hash")?,
    })
}

fn product_item(id: i64, p: &NewProduct) -> Item {
    HashMap::from([
        ("PK".to_owned(), s(format!("PRODUCT#{id}"))),
        ("SK".to_owned(), s("PRODUCT")),
        ("GSI1PK".to_owned(), s("PRODUCTS")),
        ("GSI1SK".to_owned(), n(id)),
        ("GSI2PK".to_owned(), s(format!("CATEGORY#{}", p.category))),
        ("GSI2SK".to_owned(), n(id)),
        ("id".to_owned(), n(id)),
        ("name".to_owned(), s(&p.name)),
        ("description".to_owned(), s(&p.description)),
        ("price_cents".to_owned(), n(p.price.cents())),
        ("category".to_owned(), s(&p.category)),
        ("in_stock".to_owned(), AttributeValue::Bool(p.in_stock)),
        ("created_at".to_owned(), n(p.created_at.unix())),
        ("updated_at".to_owned(), n(p.created_at.unix())),
    ])
}

fn product(item: &Item) -> AppResult<Product> {
    Ok(Product {
        product_id: num(item, "id")?,
        name: text(item, "name")?,
        description: text(item, "description")?,
        price: money(item, "price_cents")?,
        category: text(item, "category")?,
        in_stock: flag(item, "in_stock")?,
        created_at: time(item, "created_at")?,
        updated_at: time(item, "updated_at")?,
    })
}

fn order_item(id: i64, o: &NewOrder) -> Item {
    HashMap::from([
        ("PK".to_owned(), s(format!("ORDER#{id}"))),
        ("SK".to_owned(), s("ORDER")),
        ("GSI1PK".to_owned(), s(format!("USER#{}#ORDERS", o.user_id))),
        ("GSI1SK".to_owned(), n(id)),
        ("id".to_owned(), n(id)),
        ("user_id".to_owned(), n(o.user_id)),
        ("username".to_owned(), s(&o.username)),
        ("items".to_owned(), s(codec::encode_order_items(&o.items))),
        ("subtotal_cents".to_owned(), n(o.subtotal.cents())),
        ("tax_cents".to_owned(), n(o.tax.cents())),
        ("total_cents".to_owned(), n(o.total.cents())),
        ("status".to_owned(), s(ORDER_STATUS_PENDING)),
        ("created_at".to_owned(), n(o.created_at.unix())),
    ])
}

fn order(item: &Item) -> AppResult<Order> {
    Ok(Order {
        order_id: num(item, "id")?,
        user_id: num(item, "user_id")?,
        username: text(item, "username")?,
        items: codec::decode_order_items(&text(item, "items")?)?,
        subtotal: money(item, "subtotal_cents")?,
        tax: money(item, "tax_cents")?,
        total: money(item, "total_cents")?,
        status: text(item, "status")?,
        created_at: time(item, "created_at")?,
    })
}

fn invoice_item(id: i64, i: &NewInvoice) -> Item {
    HashMap::from([
        ("PK".to_owned(), s(format!("INVOICE#{id}"))),
        ("SK".to_owned(), s("INVOICE")),
        (
            "GSI1PK".to_owned(),
            s(format!("USER#{}#INVOICES", i.user_id)),
        ),
        ("GSI1SK".to_owned(), n(id)),
        ("id".to_owned(), n(id)),
        ("order_id".to_owned(), n(i.order_id)),
        ("user_id".to_owned(), n(i.user_id)),
        ("username".to_owned(), s(&i.username)),
        ("items".to_owned(), s(codec::encode_invoice_items(&i.items))),
        ("subtotal_cents".to_owned(), n(i.subtotal.cents())),
        ("tax_cents".to_owned(), n(i.tax.cents())),
        ("total_cents".to_owned(), n(i.total.cents())),
        ("status".to_owned(), s(InvoiceStatus::Draft.as_str())),
        ("history".to_owned(), AttributeValue::L(Vec::new())),
        ("created_at".to_owned(), n(i.created_at.unix())),
        ("due_date".to_owned(), n(i.due_date.unix())),
    ])
}

fn invoice(item: &Item) -> AppResult<Invoice> {
    let id = num(item, "id")?;
    let created_at = time(item, "created_at")?;
    // The history is a list of JSON objects; joined, they are the JSON array the codec reads.
    let entries = item
        .get("history")
        .and_then(|v| v.as_l().ok())
        .ok_or_else(|| corrupt("history"))?;
    let entries = entries
        .iter()
        .map(|e| e.as_s().map(String::as_str))
        .collect::<Result<Vec<_>, _>>();
    let history = format!("[{}]", entries.map_err(|_| corrupt("history"))?.join(","));
    Ok(Invoice {
        invoice_id: id,
        invoice_number: invoice_number(id, created_at),
        order_id: num(item, "order_id")?,
        user_id: num(item, "user_id")?,
        username: text(item, "username")?,
        items: codec::decode_invoice_items(&text(item, "items")?)?,
        subtotal: money(item, "subtotal_cents")?,
        tax: money(item, "tax_cents")?,
        total: money(item, "total_cents")?,
        status: InvoiceStatus::parse(&text(item, "status")?).map_err(|_| corrupt("status"))?,
        created_at,
        due_date: time(item, "due_date")?,
        status_history: codec::decode_status_history(&history)?,
    })
}

#[async_trait]
impl UserRepo for DynamoDbStore {
    async fn register_user(&self, new: &NewUser) -> AppResult<User> {
        self.ready().await?;
        let id = self.next_id("USER").await?;
        let guard = HashMap::from([
            (
                "PK".to_owned(),
                s(format!("USERNAME#{}", new.username.normalized())),
            ),
            ("SK".to_owned(), s("USERNAME")),
            ("user_id".to_owned(), n(id)),
        ]);
        let user = HashMap::from([
            ("PK".to_owned(), s(format!("USER#{id}"))),
            ("SK".to_owned(), s("USER")),
            ("id".to_owned(), n(id)),
            ("username".to_owned(), s(new.username.as_str())),
            ("password_hash".to_owned(), s(&new.password_hash)),
            ("created_at".to_owned(), n(new.created_at.unix())),
        ]);
        match self
            .transact(vec![self.put_new(guard)?, self.put_new(user)?])
            .await?
        {
            Ok(()) => Ok(User {
                id,
                username: new.username.as_str().to_owned(),
                created_at: new.created_at,
            }),
            Err(0) => Err(AppError::UsernameTaken),
            Err(_) => Err(AppError::internal(
                "a user id from the counter already exists",
            )),
        }
    }

    async fn find_user_by_username(&self, username: &str) -> AppResult<Option<UserRecord>> {
        // The same normalisation as `Username::normalized`, for any input.
        let Some(guard) = self
            .get(
                format!("USERNAME#{}", username.to_ascii_lowercase()),
                "USERNAME",
            )
            .await?
        else {
            return Ok(None);
        };
        let id = num(&guard, "user_id")?;
        // Both items are written in one transaction: a guard without its user is corruption.
        match self.get(format!("USER#{id}"), "USER").await? {
            Some(user) => user_record(&user).map(Some),
            None => Err(corrupt("user of a username")),
        }
    }
}

#[async_trait]
impl ProductRepo for DynamoDbStore {
    async fn list_products(
        &self,
        category: Option<&str>,
        page: PageRequest,
    ) -> AppResult<Page<Product>> {
        let (index, partition) = match category {
            Some(category) => (GSI2, format!("CATEGORY#{category}")),
            None => (GSI1, "PRODUCTS".to_owned()),
        };
        let items = self
            .query_page(index, partition, page.after, true, page.limit)
            .await?;
        let products = items.iter().map(product).collect::<AppResult<Vec<_>>>()?;
        Ok(Page::from_overfetch(products, page.limit, |p| p.product_id))
    }

    async fn get_product(&self, id: i64) -> AppResult<Option<Product>> {
        self.get(format!("PRODUCT#{id}"), "PRODUCT")
            .await?
            .as_ref()
            .map(product)
            .transpose()
    }

    async fn create_product(&self, new: &NewProduct) -> AppResult<Product> {
        let client = self.ready().await?;
        let id = self.next_id("PRODUCT").await?;
        client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(product_item(id, new)))
            // Ids are unique by the counter; this only keeps a reset counter
            // (a restored backup) from overwriting a product.
            .condition_expression("attribute_not_exists(PK)")
            .send()
            .await
            .map_err(store_error)?;
        Ok(new.stored_as(id))
    }

    async fn update_product(&self, id: i64, patch: &ProductPatch) -> AppResult<Option<Product>> {
        let mut sets = Vec::new();
        let mut names = HashMap::new();
        let mut values = HashMap::new();
        let mut set = |attribute: &str, value: AttributeValue| {
            sets.push(format!("#{attribute} = :{attribute}"));
            names.insert(format!("#{attribute}"), attribute.to_owned());
            values.insert(format!(":{attribute}"), value);
        };
        if let Some(name) = &patch.name {
            set("name", s(name));
        }
        if let Some(description) = &patch.description {
            set("description", s(description));
        }
        if let Some(price) = patch.price {
            set("price_cents", n(price.cents()));
        }
        if let Some(category) = &patch.category {
            set("category", s(category));
            // The category index moves with the category.
            set("GSI2PK", s(format!("CATEGORY#{category}")));
        }
        if let Some(in_stock) = patch.in_stock {
            set("in_stock", AttributeValue::Bool(in_stock));
        }
        if let Some(at) = patch.updated_at {
            set("updated_at", n(at.unix()));
        }
        if sets.is_empty() {
            return self.get_product(id).await;
        }
        let result = self
            .ready()
            .await?
            .update_item()
            .table_name(&self.table)
            .key("PK", s(format!("PRODUCT#{id}")))
            .key("SK", s("PRODUCT"))
            .update_expression(format!("SET {}", sets.join(", ")))
            // Without it, an update of a missing product would create a fragment of one.
            .condition_expression("attribute_exists(PK)")
            .set_expression_attribute_names(Some(names))
            .set_expression_attribute_values(Some(values))
            .return_values(ReturnValue::AllNew)
            .send()
            .await;
        match result {
            Ok(out) => out.attributes.as_ref().map(product).transpose(),
            Err(e)
                if e.as_service_error()
                    .is_some_and(|e| e.is_conditional_check_failed_exception()) =>
            {
                Ok(None)
            }
            Err(e) => Err(store_error(e)),
        }
    }

    async fn seed_catalog(&self, products: &[NewProduct]) -> AppResult<bool> {
        self.ready().await?;
        self.seed_catalog_now(products).await
    }
}

#[async_trait]
impl OrderRepo for DynamoDbStore {
    async fn place_order(&self, new: &NewOrder) -> AppResult<Order> {
        let client = self.ready().await?;
        let id = self.next_id("ORDER").await?;
        // One item holds the order and all its lines: one PutItem, all or nothing.
        client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(order_item(id, new)))
            .condition_expression("attribute_not_exists(PK)")
            .send()
            .await
            .map_err(store_error)?;
        Ok(new.stored_as(id))
    }

    async fn get_order(&self, id: i64) -> AppResult<Option<Order>> {
        self.get(format!("ORDER#{id}"), "ORDER")
            .await?
            .as_ref()
            .map(order)
            .transpose()
    }

    async fn list_orders_by_user(&self, user_id: i64, page: PageRequest) -> AppResult<Page<Order>> {
        let items = self
            .query_page(
                GSI1,
                format!("USER#{user_id}#ORDERS"),
                page.after,
                false,
                page.limit,
            )
            .await?;
        let orders = items.iter().map(order).collect::<AppResult<Vec<_>>>()?;
        Ok(Page::from_overfetch(orders, page.limit, |o| o.order_id))
    }
}

#[async_trait]
impl InvoiceRepo for DynamoDbStore {
    async fn create_invoice_once(&self, new: &NewInvoice) -> AppResult<(Invoice, bool)> {
        // The common repeat (an order invoiced before) costs one read and no id.
        if let Some(existing) = self.get_invoice_by_order(new.order_id).await? {
            return Ok((existing, false));
        }
        let id = self.next_id("INVOICE").await?;
        let guard = HashMap::from([
            ("PK".to_owned(), s(format!("ORDER#{}", new.order_id))),
            ("SK".to_owned(), s("INVOICE")),
            ("invoice_id".to_owned(), n(id)),
        ]);
        let item = invoice_item(id, new);
        let created = invoice(&item)?;
        match self
            .transact(vec![self.put_new(guard)?, self.put_new(item)?])
            .await?
        {
            Ok(()) => Ok((created, true)),
            // Another creator won the guard: its invoice is the order's one.
            Err(0) => {
                let existing = self
                    .get_invoice_by_order(new.order_id)
                    .await?
                    .ok_or_else(|| {
                        AppError::internal("invoice guard taken but no invoice found")
                    })?;
                Ok((existing, false))
            }
            Err(_) => Err(AppError::internal(
                "an invoice id from the counter already exists",
            )),
        }
    }

    async fn get_invoice(&self, id: i64) -> AppResult<Option<Invoice>> {
        self.get(format!("INVOICE#{id}"), "INVOICE")
            .await?
            .as_ref()
            .map(invoice)
            .transpose()
    }

    async fn get_invoice_by_order(&self, order_id: i64) -> AppResult<Option<Invoice>> {
        let Some(guard) = self.get(format!("ORDER#{order_id}"), "INVOICE").await? else {
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
                format!("USER#{user_id}#INVOICES"),
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
            .table_name(&self.table)
            .key("PK", s(format!("INVOICE#{id}")))
            .key("SK", s("INVOICE"))
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

#[async_trait]
impl Store for DynamoDbStore {
    fn driver(&self) -> &'static str {
        "dynamodb"
    }

    /// One strongly consistent read of a key that never exists: a data-plane
    /// call (not `DescribeTable`, whose rate is limited), so it needs only
    /// `dynamodb:GetItem` and proves the table answers.
    async fn ping(&self) -> AppResult<()> {
        self.get("HEALTH".to_owned(), "PING").await.map(|_| ())
    }
}

/// The SDK client for the configured endpoint: standard retries tuned for
/// DynamoDB, short timeouts, and local placeholders when a local endpoint is set.
async fn build_client(config: &DynamoDbConfig) -> AppResult<Client> {
    let timeouts = TimeoutConfig::builder()
        .connect_timeout(config.connect_timeout)
        .operation_timeout(config.operation_timeout)
        .build();
    // The standard mode (with its retry quota), with DynamoDB's usual base
    // delay of 25 ms instead of the generic 1 s: conflicts and throttling
    // clear in milliseconds, and the operation timeout bounds the total.
    let retries = RetryConfig::standard()
        .with_max_attempts(5)
        .with_initial_backoff(Duration::from_millis(25))
        .with_max_backoff(Duration::from_secs(1));
    let sdk_config = crate::aws::sdk_config(
        config.endpoint.as_deref(),
        timeouts,
        retries,
        "DYNAMODB_ENDPOINT",
    )
    .await?;
    let client_config = aws_sdk_dynamodb::config::Builder::from(&sdk_config)
        .retry_classifier(TransactionConflictRetry)
        .build();
    Ok(Client::from_conf(client_config))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{InvoiceItem, OrderItem, Quantity};

    #[test]
    fn items_round_trip_with_money_as_integer_cents() {
        let new = NewProduct {
            name: "Lamp".into(),
            description: "Desk lamp".into(),
            price: Money::from_cents(1999),
            category: "home".into(),
            in_stock: false,
            created_at: Timestamp::from_unix(1_795_080_600),
        };
        let item = product_item(7, &new);
        assert_eq!(item["price_cents"], n(1999));
        assert_eq!(
            (item["GSI1SK"].clone(), item["GSI2PK"].clone()),
            (n(7), s("CATEGORY#home"))
        );
        let read = product(&item).unwrap();
        assert_eq!(
            (read.product_id, read.price.cents(), read.in_stock),
            (7, 1999, false)
        );

        let line = OrderItem {
            product_id: 7,
            product_name: "Lamp".into(),
            quantity: Quantity::new(2).unwrap(),
            unit_price: Money::from_cents(1999),
            total: Money::from_cents(3998),
        };
        let placed = NewOrder {
            user_id: 3,
            username: "alice".into(),
            items: vec![line],
            subtotal: Money::from_cents(3998),
            tax: Money::from_cents(400),
            total: Money::from_cents(4398),
            created_at: new.created_at,
        };
        let stored = order(&order_item(11, &placed)).unwrap();
        assert_eq!(
            (stored.order_id, stored.items.clone(), stored.total),
            (11, placed.items.clone(), placed.total)
        );

        let billed = NewInvoice {
            order_id: 11,
            user_id: 3,
            username: "alice".into(),
            items: vec![InvoiceItem {
                product_id: 7,
                product_name: "Lamp".into(),
                description: "Desk lamp".into(),
                quantity: 2,
                unit_price: Money::from_cents(1999),
                total_price: Money::from_cents(3998),
            }],
            subtotal: placed.subtotal,
            tax: placed.tax,
            total: placed.total,
            created_at: new.created_at,
            due_date: new.created_at.plus_days(30),
        };
        let mut item = invoice_item(5, &billed);
        let moved = StatusChange {
            from: InvoiceStatus::Draft,
            to: InvoiceStatus::Sent,
            changed_by: 3,
            changed_at: new.created_at,
        };
        // What `list_append` does to the stored history on a status move.
        item.insert(
            "history".into(),
            AttributeValue::L(vec![s(codec::encode_status_change(&moved))]),
        );
        let read = invoice(&item).unwrap();
        assert_eq!(
            (read.invoice_number.as_str(), read.status),
            ("INV-2026-000005", InvoiceStatus::Draft)
        );
        assert_eq!(read.status_history, vec![moved]);
        assert_eq!(read.items, billed.items);
    }

    #[test]
    fn only_conflicted_or_throttled_transactions_are_retried() {
        // moto never reports conflicts, so the contract suite cannot reach this.
        let retry = retry_for_cancellation;
        assert_eq!(
            retry(&["None", "TransactionConflict"]),
            RetryAction::transient_error()
        );
        assert_eq!(
            retry(&["ThrottlingError", "None"]),
            RetryAction::throttling_error()
        );
        // A failed condition is the answer (username taken, invoice exists), whatever else happened.
        assert_eq!(
            retry(&["ConditionalCheckFailed", "TransactionConflict"]),
            RetryAction::NoActionIndicated
        );
        assert_eq!(
            retry(&["ValidationError", "None"]),
            RetryAction::NoActionIndicated
        );
    }

    #[test]
    fn a_damaged_item_is_an_internal_error_not_a_panic() {
        let mut item = product_item(1, &sample::catalog(Timestamp::from_unix(0))[0]);
        item.insert("price_cents".into(), s("12.5"));
        assert!(matches!(product(&item), Err(AppError::Internal(_))));
        item.remove("name");
        assert!(matches!(product(&item), Err(AppError::Internal(_))));
    }
}
