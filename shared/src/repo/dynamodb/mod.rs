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
//! | product | `PRODUCT#<id>` | `PRODUCT` | `PRODUCTS[.<s>]` / id | `CATEGORY[.<s>]#<category>` / id |
//! | order | `ORDER#<id>` | `ORDER` | `USER#<user id>#ORDERS` / id | |
//! | invoice | `INVOICE#<id>` | `INVOICE` | `USER#<user id>#INVOICES` / id | |
//! | invoice guard | `ORDER#<order id>` | `INVOICE` | | |
//! | catalog marker | `CATALOG` | `SEEDED` | | |
//! | session | `SESSION#<session id>` | `SESSION` | | |
//! | refresh token | `REFRESH#<sha-256 hex>` | `REFRESH` | | |
//! | failed-login window | `LOGINFAIL#<lower-cased name>` | `LOGINFAIL` | | |
//!
//! `<s>` is the product's shard, its id modulo 8, left out for shard 0 (see
//! `keys.rs`): the product list and each category are spread over 8 index
//! partitions, so no partition takes every product write. Ids are made from
//! the time and random low bits (see `ids.rs`), so no counter item takes
//! every write of a kind either.
//!
//! Access patterns: a user by name is the guard (`user_id`) then the user item;
//! the product list is a forward `Query` of each shard of `GSI1` (`GSI1SK >
//! after`), merged by id, a category's the same on `GSI2`; many products by
//! id are one `BatchGetItem` per 100; a user's orders or invoices, newest first, are
//! a backward `Query` on `GSI1` (`GSI1SK < after`); the invoice of an order
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
//! - **ids**: every item keyed by a new id is written with
//!   `attribute_not_exists(PK)` (alone or in its transaction), so an id two
//!   processes made in the same millisecond is written once; the other tries
//!   a fresh id.
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
//! - **rotate a refresh token**: one transaction spends the token (conditional
//!   on unspent and unexpired), checks its session is not revoked, and puts the
//!   successor; see `sessions.rs`.
//!
//! # Failures
//!
//! The SDK's standard retry (short backoff) retries throttling, 5xx and
//! transaction conflicts (a classifier in `errors.rs` teaches it that a
//! transaction cancelled only by conflicts is worth retrying); short connect
//! and operation timeouts bound a call to a down endpoint. Whatever is left is
//! `AppError::Unavailable` (a 503); a cancelled transaction whose condition
//! failed is the domain outcome, never an error.
//!
//! # Layout
//!
//! `schema.rs` creates the table, `keys.rs` names every key, `attributes.rs`
//! and `items.rs` map items to domain types and back, `ids.rs` makes ids,
//! `client.rs` builds the SDK client, `errors.rs` classifies its failures,
//! `store.rs` holds the store and its write primitives, `lists.rs` and
//! `batch.rs` its multi-item reads, and one file per repository trait
//! (`users.rs`, `products.rs`, `orders.rs`, `invoices.rs`) implements it.
//!
//! [`codec`]: super::codec

mod attributes;
mod batch;
mod client;
mod errors;
mod idempotency;
mod ids;
mod invoices;
mod items;
mod keys;
mod lists;
mod orders;
mod products;
mod schema;
mod sessions;
mod store;
mod users;

pub use schema::{GSI1, GSI2};
pub use store::DynamoDbStore;
