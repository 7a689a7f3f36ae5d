//! How lists read the indexes. A user's orders or invoices are one index
//! partition, paged with `query_page`. The product list and each category
//! are sharded over several partitions (see `keys.rs`), so `query_shards`
//! reads every shard and merges them by id: a k-way merge that fetches from
//! each shard only as far as the page needs, all shards in parallel.

use std::collections::VecDeque;

use futures::future::try_join_all;

use super::attributes::{Item, n, num, s};
use super::errors::store_error;
use super::schema::index_keys;
use super::store::DynamoDbStore;
use crate::domain::MAX_ID;
use crate::error::AppResult;

impl DynamoDbStore {
    /// Up to `limit + 1` items of one index partition, in id order, after
    /// `after` (ascending: ids above it; descending: ids below it). Follows
    /// `LastEvaluatedKey` until enough items came back or the partition ends.
    pub(super) async fn query_page(
        &self,
        index: &'static str,
        partition: String,
        after: Option<i64>,
        ascending: bool,
        limit: u32,
    ) -> AppResult<Vec<Item>> {
        let wanted = limit as usize + 1;
        let mut items: Vec<Item> = Vec::with_capacity(wanted);
        let mut start = None;
        loop {
            let chunk = IndexRange {
                index,
                partition: &partition,
                after,
                ascending,
            }
            .read(self, wanted - items.len(), start)
            .await?;
            items.extend(chunk.items);
            start = chunk.next;
            if items.len() >= wanted || start.is_none() {
                break;
            }
        }
        items.truncate(wanted);
        Ok(items)
    }

    /// Up to `limit + 1` items, in ascending id order after `after`, of the
    /// union of several partitions of one index (the shards of one list).
    ///
    /// Each shard is a queue refilled by `Query` when it runs dry: a page
    /// takes the smallest head until it is full, and refills every empty
    /// queue (in parallel) before choosing, so no smaller id can be waiting
    /// unread. The first read of a shard asks for twice its even share of
    /// the page; each refill of a shard asks for twice its previous read, up
    /// to what the page still needs: one round trip when ids spread evenly,
    /// a few when one shard holds most of the page (data of the previous
    /// version all sits in shard 0).
    pub(super) async fn query_shards(
        &self,
        index: &'static str,
        partitions: &[String],
        after: Option<i64>,
        limit: u32,
    ) -> AppResult<Vec<Item>> {
        let wanted = limit as usize + 1;
        let (_, sort_key) = index_keys(index);
        let first_read = (2 * wanted.div_ceil(partitions.len().max(1))).min(wanted);
        let mut shards: Vec<Shard> = partitions
            .iter()
            .map(|partition| Shard {
                range: IndexRange {
                    index,
                    partition,
                    after,
                    ascending: true,
                },
                queue: VecDeque::new(),
                next: None,
                exhausted: false,
                read_size: first_read,
            })
            .collect();
        let mut page: Vec<Item> = Vec::with_capacity(wanted);
        let mut last_id = None;
        while page.len() < wanted {
            let need = wanted - page.len();
            let dry = shards
                .iter_mut()
                .filter(|s| s.queue.is_empty() && !s.exhausted);
            try_join_all(dry.map(|shard| shard.refill(self, need, sort_key))).await?;
            let Some(head) = shards
                .iter_mut()
                .filter(|s| !s.queue.is_empty())
                .min_by_key(|s| s.queue[0].0)
            else {
                break;
            };
            let (id, item) = head.queue.pop_front().expect("a non-empty queue");
            // An item moving between partitions (a category change) can be
            // seen in both for a moment: once is enough.
            if last_id != Some(id) {
                page.push(item);
                last_id = Some(id);
            }
        }
        Ok(page)
    }
}

/// One shard of a sharded list, as far as it was read.
struct Shard<'a> {
    range: IndexRange<'a>,
    /// Read, not yet merged, with their ids.
    queue: VecDeque<(i64, Item)>,
    /// Where the next read starts.
    next: Option<Item>,
    exhausted: bool,
    /// How many items the next read asks for.
    read_size: usize,
}

impl Shard<'_> {
    async fn refill(
        &mut self,
        store: &DynamoDbStore,
        need: usize,
        sort_key: &str,
    ) -> AppResult<()> {
        let chunk = self
            .range
            .read(store, self.read_size.min(need), self.next.take())
            .await?;
        self.read_size = self.read_size.saturating_mul(2);
        self.exhausted = chunk.next.is_none();
        self.next = chunk.next;
        for item in chunk.items {
            self.queue.push_back((num(&item, sort_key)?, item));
        }
        Ok(())
    }
}

/// The items of one index partition beyond a cursor id, in id order.
pub(super) struct IndexRange<'a> {
    pub index: &'static str,
    pub partition: &'a str,
    /// Ascending: ids above it (all when `None`); descending: ids below it.
    pub after: Option<i64>,
    pub ascending: bool,
}

/// One `Query` response: the items, and where the next one starts (`None`
/// when the range is exhausted).
pub(super) struct Chunk {
    pub items: Vec<Item>,
    pub next: Option<Item>,
}

impl IndexRange<'_> {
    /// One `Query` of at most `limit` items, from `start` (a previous
    /// chunk's `next`) or from the cursor.
    pub(super) async fn read(
        &self,
        store: &DynamoDbStore,
        limit: usize,
        start: Option<Item>,
    ) -> AppResult<Chunk> {
        let (pk, sk) = index_keys(self.index);
        let (condition, bound) = if self.ascending {
            ("#pk = :pk AND #sk > :after", self.after.unwrap_or(0))
        } else {
            (
                "#pk = :pk AND #sk < :after",
                self.after.unwrap_or(MAX_ID + 1),
            )
        };
        let out = store
            .ready()
            .await?
            .query()
            .table_name(store.table())
            .index_name(self.index)
            .key_condition_expression(condition)
            .expression_attribute_names("#pk", pk)
            .expression_attribute_names("#sk", sk)
            .expression_attribute_values(":pk", s(self.partition))
            .expression_attribute_values(":after", n(bound))
            .scan_index_forward(self.ascending)
            .limit(i32::try_from(limit).unwrap_or(i32::MAX))
            .set_exclusive_start_key(start)
            .send()
            .await
            .map_err(store_error)?;
        Ok(Chunk {
            items: out.items.unwrap_or_default(),
            next: out.last_evaluated_key,
        })
    }
}
