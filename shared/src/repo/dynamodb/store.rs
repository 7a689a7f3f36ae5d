//! `DynamoDbStore`: the lazily built client, the once-per-instance table
//! creation and seeding, and the write and read primitives the repository
//! files share (a strongly consistent point read, a transaction whose failed
//! condition is an answer, a conditional put of a new item).

use async_trait::async_trait;
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::{Put, TransactWriteItem};
use tokio::sync::OnceCell;

use super::attributes::Item;
use super::client::build_client;
use super::errors::store_error;
use super::keys::Key;
use crate::config::DynamoDbConfig;
use crate::domain::Timestamp;
use crate::error::{AppError, AppResult};
use crate::repo::{Bootstrap, Store};
use crate::sample;

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
    pub(super) async fn ready(&self) -> AppResult<&Client> {
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

    /// One item by key, strongly consistent.
    pub(super) async fn get(&self, key: Key) -> AppResult<Option<Item>> {
        let out = self
            .ready()
            .await?
            .get_item()
            .table_name(&self.table)
            .set_key(Some(key.item()))
            // Read-your-writes: a just-created order is found by the next request.
            .consistent_read(true)
            .send()
            .await
            .map_err(store_error)?;
        Ok(out.item)
    }

    /// Runs a transaction. `Ok(Err(i))` when it was cancelled because the
    /// condition of item `i` failed: a domain outcome for the caller to map.
    ///
    /// Every call carries a fresh ClientRequestToken (the SDK fills one in:
    /// the API model marks the field an idempotency token), which the SDK's
    /// retries of this call repeat. DynamoDB answers a repeat of a request it
    /// already ran (within 10 minutes) with success, without running it again,
    /// so a transaction that committed but whose response was lost is not, on
    /// the retry, cancelled by its own writes' conditions (which would read as
    /// "username taken" or "key in use"). A caller's next attempt with other
    /// items (a fresh id) is another call with another token. Proved by
    /// `contract/tests/dynamodb_lost_response.rs`.
    pub(super) async fn transact(
        &self,
        items: Vec<TransactWriteItem>,
    ) -> AppResult<Result<(), usize>> {
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
    pub(super) fn put_new(&self, item: Item) -> AppResult<TransactWriteItem> {
        let put = Put::builder()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression("attribute_not_exists(PK)")
            .build()
            .map_err(AppError::internal)?;
        Ok(TransactWriteItem::builder().put(put).build())
    }

    /// A conditional `PutItem` of a new item: `false`, and nothing written,
    /// when an item with its key exists (an id another process took).
    pub(super) async fn put_new_item(&self, item: Item) -> AppResult<bool> {
        let result = self
            .ready()
            .await?
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression("attribute_not_exists(PK)")
            .send()
            .await;
        match result {
            Ok(_) => Ok(true),
            Err(e)
                if e.as_service_error()
                    .is_some_and(|e| e.is_conditional_check_failed_exception()) =>
            {
                Ok(false)
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
        self.get(Key::health()).await.map(|_| ())
    }
}
