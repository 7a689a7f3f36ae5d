//! Reading many items by key in few round trips. `BatchGetItem` takes up to
//! 100 keys a call and may answer with some of them unprocessed (throttled,
//! or past its 16 MB response limit); those are asked for again after a
//! short, jittered, growing backoff, a bounded number of times, and what is
//! still left then is a 503 like any other throttling the retries outlast.

use std::future::Future;
use std::time::Duration;

use aws_sdk_dynamodb::types::KeysAndAttributes;
use futures::{StreamExt, TryStreamExt, stream};

use super::attributes::Item;
use super::errors::store_error;
use super::store::DynamoDbStore;
use crate::error::{AppError, AppResult};
use crate::repo::random;

/// DynamoDB's limit on the keys of one `BatchGetItem`.
pub(super) const MAX_KEYS_PER_BATCH: usize = 100;
/// Calls for one batch of keys, the first included.
const BATCH_ATTEMPTS: u32 = 6;
/// The backoff before the second call; it doubles for each later one (with
/// full jitter) up to `MAX_BACKOFF`. At most about 0.8 s in all.
const BASE_BACKOFF: Duration = Duration::from_millis(25);
const MAX_BACKOFF: Duration = Duration::from_millis(400);
/// Batches of one read in flight at once.
const BATCHES_IN_FLIGHT: usize = 4;

impl DynamoDbStore {
    /// The items with these keys that exist, in no particular order, read
    /// strongly consistent. The keys must be distinct (DynamoDB refuses a
    /// batch that names a key twice).
    pub(super) async fn get_many(&self, keys: Vec<Item>) -> AppResult<Vec<Item>> {
        let client = self.ready().await?;
        let table = self.table();
        let batches = keys
            .chunks(MAX_KEYS_PER_BATCH)
            .map(<[Item]>::to_vec)
            .collect::<Vec<_>>();
        let found: Vec<Vec<Item>> = stream::iter(batches)
            .map(|batch| {
                until_processed(batch, BASE_BACKOFF, move |keys| async move {
                    let request = KeysAndAttributes::builder()
                        .set_keys(Some(keys))
                        // Read-your-writes, as a single `GetItem` here is.
                        .consistent_read(true)
                        .build()
                        .map_err(AppError::internal)?;
                    let out = client
                        .batch_get_item()
                        .request_items(table, request)
                        .send()
                        .await
                        .map_err(store_error)?;
                    let items = out
                        .responses
                        .and_then(|mut r| r.remove(table))
                        .unwrap_or_default();
                    let unprocessed = out
                        .unprocessed_keys
                        .and_then(|mut u| u.remove(table))
                        .map(|k| k.keys)
                        .unwrap_or_default();
                    Ok((items, unprocessed))
                })
            })
            .buffer_unordered(BATCHES_IN_FLIGHT)
            .try_collect()
            .await?;
        Ok(found.into_iter().flatten().collect())
    }
}

/// Calls `fetch` with the keys, then again with the keys it left
/// unprocessed, after a backoff, until none are left or `BATCH_ATTEMPTS`
/// calls were made. `fetch` answers the items found and the keys left.
async fn until_processed<F, Fut>(
    mut keys: Vec<Item>,
    base_backoff: Duration,
    mut fetch: F,
) -> AppResult<Vec<Item>>
where
    F: FnMut(Vec<Item>) -> Fut,
    Fut: Future<Output = AppResult<(Vec<Item>, Vec<Item>)>>,
{
    let mut found = Vec::new();
    for attempt in 0..BATCH_ATTEMPTS {
        if attempt > 0 {
            tokio::time::sleep(backoff(base_backoff, attempt)).await;
        }
        let (items, unprocessed) = fetch(keys).await?;
        found.extend(items);
        if unprocessed.is_empty() {
            return Ok(found);
        }
        keys = unprocessed;
    }
    Err(AppError::unavailable(format!(
        "DynamoDB left {} keys of a BatchGetItem unprocessed after {BATCH_ATTEMPTS} calls",
        keys.len()
    )))
}

/// Full jitter: a random wait up to `base * 2^(attempt - 1)`, capped.
fn backoff(base: Duration, attempt: u32) -> Duration {
    let ceiling = base
        .saturating_mul(1 << (attempt - 1).min(16))
        .min(MAX_BACKOFF);
    let ceiling_us = u64::try_from(ceiling.as_micros()).unwrap_or(u64::MAX);
    Duration::from_micros(random::token() % (ceiling_us + 1))
}

#[cfg(test)]
mod tests {
    use std::cell::RefCell;

    use aws_sdk_dynamodb::types::AttributeValue;

    use super::*;

    fn key(i: usize) -> Item {
        Item::from([("PK".to_owned(), AttributeValue::S(i.to_string()))])
    }

    #[tokio::test]
    async fn unprocessed_keys_are_asked_for_again_until_none_are_left() {
        let calls = RefCell::new(Vec::new());
        let keys: Vec<Item> = (0..10).map(key).collect();
        // Each call processes only the first 3 keys it is given.
        let found = until_processed(keys, Duration::ZERO, |keys: Vec<Item>| {
            calls.borrow_mut().push(keys.len());
            let split = keys.len().min(3);
            let (done, left) = keys.split_at(split);
            let answer = (done.to_vec(), left.to_vec());
            async move { Ok(answer) }
        })
        .await
        .unwrap();
        assert_eq!(*calls.borrow(), vec![10, 7, 4, 1]);
        let mut found: Vec<String> = found
            .iter()
            .map(|k| k["PK"].as_s().unwrap().clone())
            .collect();
        found.sort_by_key(|k| k.parse::<usize>().unwrap());
        assert_eq!(found, (0..10).map(|i| i.to_string()).collect::<Vec<_>>());
    }

    #[tokio::test]
    async fn keys_never_processed_are_a_503_after_a_bounded_number_of_calls() {
        let calls = RefCell::new(0);
        let result = until_processed(vec![key(1), key(2)], Duration::ZERO, |keys| {
            *calls.borrow_mut() += 1;
            async move { Ok((Vec::new(), keys)) }
        })
        .await;
        assert!(
            matches!(result, Err(AppError::Unavailable(_))),
            "{result:?}"
        );
        assert_eq!(*calls.borrow(), BATCH_ATTEMPTS);
    }

    #[test]
    fn backoff_grows_and_is_capped() {
        for attempt in 1..20 {
            let ceiling = BASE_BACKOFF
                .saturating_mul(1 << (attempt - 1).min(16))
                .min(MAX_BACKOFF);
            assert!(backoff(BASE_BACKOFF, attempt) <= ceiling);
        }
        assert_eq!(backoff(Duration::ZERO, 3), Duration::ZERO);
    }
}
