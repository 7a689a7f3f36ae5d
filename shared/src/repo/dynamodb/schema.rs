//! The table and its two indexes: created (on-demand capacity) when missing
//! and `AUTO_MIGRATE` allows, then waited for until active. A table without
//! the indexes this backend queries is refused as a configuration error
//! rather than left to fail every list later.

use std::time::Duration;

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::error::SdkError;
use aws_sdk_dynamodb::operation::create_table::CreateTableError;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, GlobalSecondaryIndex, IndexStatus, KeySchemaElement, KeyType,
    Projection, ProjectionType, ScalarAttributeType, TableStatus,
};

use super::errors::store_error;
use super::store::DynamoDbStore;
use crate::error::{AppError, AppResult};

/// The index of the id-ordered lists: all products, a user's orders, a user's invoices.
pub const GSI1: &str = "GSI1";
/// The index of products by category.
pub const GSI2: &str = "GSI2";

/// How long `create_table_if_missing` waits for a new table (and its indexes) to be active.
const TABLE_READY_WAIT: Duration = Duration::from_secs(120);

/// The key attributes of an index: its partition and sort key.
pub(super) fn index_keys(index: &str) -> (&'static str, &'static str) {
    if index == GSI1 {
        ("GSI1PK", "GSI1SK")
    } else {
        ("GSI2PK", "GSI2SK")
    }
}

impl DynamoDbStore {
    /// Creates the table with its indexes (on-demand capacity) unless it
    /// exists, and waits until it and its indexes are active. Safe to run from
    /// several instances at once: a concurrent creation is waited for.
    pub async fn create_table_if_missing(&self) -> AppResult<()> {
        match self
            .client()
            .await?
            .describe_table()
            .table_name(self.table())
            .send()
            .await
        {
            Ok(_) => {}
            Err(e)
                if e.as_service_error()
                    .is_some_and(|e| e.is_resource_not_found_exception()) =>
            {
                let created = create_table(self.client().await?, self.table()).await;
                match created {
                    Ok(()) => tracing::info!(table = %self.table(), "created the DynamoDB table"),
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
                .table_name(self.table())
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
                        self.table()
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
                    self.table()
                )));
            }
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
    }
}

async fn create_table(client: &Client, table: &str) -> Result<(), SdkError<CreateTableError>> {
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
    let index = |name: &str| {
        let (pk, sk) = index_keys(name);
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
        .table_name(table)
        .billing_mode(BillingMode::PayPerRequest)
        .attribute_definitions(attribute("PK", ScalarAttributeType::S))
        .attribute_definitions(attribute("SK", ScalarAttributeType::S))
        .attribute_definitions(attribute("GSI1PK", ScalarAttributeType::S))
        .attribute_definitions(attribute("GSI1SK", ScalarAttributeType::N))
        .attribute_definitions(attribute("GSI2PK", ScalarAttributeType::S))
        .attribute_definitions(attribute("GSI2SK", ScalarAttributeType::N))
        .key_schema(key("PK", KeyType::Hash))
        .key_schema(key("SK", KeyType::Range))
        .global_secondary_indexes(index(GSI1))
        .global_secondary_indexes(index(GSI2))
        .send()
        .await
        .map(|_| ())
}
