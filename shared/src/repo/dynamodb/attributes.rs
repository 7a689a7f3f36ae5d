//! Attribute values in and out: the two constructors every item uses (string
//! and number) and the typed readers that turn a missing or malformed
//! attribute into an internal error naming it, never a panic.

use std::collections::HashMap;

use aws_sdk_dynamodb::types::AttributeValue;

use crate::domain::{Money, Timestamp};
use crate::error::{AppError, AppResult};

/// One DynamoDB item, as the SDK hands it over.
pub(super) type Item = HashMap<String, AttributeValue>;

pub(super) fn s(value: impl Into<String>) -> AttributeValue {
    AttributeValue::S(value.into())
}

pub(super) fn n(value: i64) -> AttributeValue {
    AttributeValue::N(value.to_string())
}

pub(super) fn corrupt(name: &str) -> AppError {
    AppError::internal(format!("stored DynamoDB item has no readable `{name}`"))
}

pub(super) fn text(item: &Item, name: &str) -> AppResult<String> {
    item.get(name)
        .and_then(|v| v.as_s().ok())
        .cloned()
        .ok_or_else(|| corrupt(name))
}

pub(super) fn num(item: &Item, name: &str) -> AppResult<i64> {
    item.get(name)
        .and_then(|v| v.as_n().ok())
        .and_then(|v| v.parse().ok())
        .ok_or_else(|| corrupt(name))
}

pub(super) fn flag(item: &Item, name: &str) -> AppResult<bool> {
    item.get(name)
        .and_then(|v| v.as_bool().ok())
        .copied()
        .ok_or_else(|| corrupt(name))
}

pub(super) fn money(item: &Item, name: &str) -> AppResult<Money> {
    num(item, name).map(Money::from_cents)
}

pub(super) fn time(item: &Item, name: &str) -> AppResult<Timestamp> {
    num(item, name).map(Timestamp::from_unix)
}
