//! The ClickHouse backend, over the HTTP interface (port 8123).
//!
//! # Why it is correct without transactions or unique keys
//!
//! ClickHouse has neither, and `INSERT ... SELECT ... WHERE NOT EXISTS` is not
//! atomic. What it does have, on one server, is the `Log` table engine: an
//! INSERT holds the table's exclusive lock for its whole duration and appends
//! its rows at the end of the column files; a SELECT takes the shared lock
//! only to note how many rows exist, then reads that prefix. So a `Log` table
//! is an append-only log with one total order that every reader agrees on, and
//! a reader whose own append finished before it started sees every row that
//! precedes its own. Read with `max_threads = 1` it is one stream from the
//! first row, so the first matching row returned is the first one appended.
//!
//! Every race is decided by such a log ("claim, then read back"):
//!
//! 1. A contender appends a claim `(key, token, payload)`: `key` names what is
//!    contended (a lower-cased username, an order id, `invoice:version`, the
//!    catalog), `token` is its random 64-bit name, `payload` the complete value
//!    it proposes (the user row, the invoice row, the status change, the sample
//!    products with their ids).
//! 2. It then reads the first claim on `key`. That is the same row for every
//!    contender, whenever it reads (its own claim is in its prefix, so every
//!    earlier one is too). The contender whose token it is has won; all the
//!    others have lost, and know the winner's token.
//!
//! Exactly one contender wins, whatever the interleaving. (The tempting rule
//! "the smallest token among those I see wins" is wrong: A appends 5, reads
//! {5} and wins; B appends 3 afterwards, reads {3, 5} and wins as well. Only an
//! order that later arrivals cannot beat makes the first decision final.)
//!
//! The decision is durable at the moment of the append, because the winning
//! claim carries the whole value. The winner then writes that value into the
//! ordinary table readers use; a loser that finds it missing there (the winner
//! is slow, or died between its two writes) writes the same row from the claim
//! payload: "helping". Both write identical rows, and every read collapses
//! duplicates (`LIMIT 1`, `LIMIT 1 BY id`, `argMax`), so a second copy is
//! harmless.
//!
//! - Users: key = the lower-cased name (usernames are ASCII by validation).
//!   One winner among any number of registrations; losers get `UsernameTaken`.
//! - Invoices: key = the order id; losers return the winner's invoice.
//! - Status moves (compare-and-set): invoices are versioned rows (version 0 at
//!   creation, +1 per move). A mover reads version v, checks its status is
//!   `from`, and claims `invoice_id:v` with the change. Only the first claim on
//!   `id:v` becomes version v+1 (the winner appends it, helpers copy it from
//!   the claim). A version v+1 row exists only after a claim on `id:v` exists,
//!   so a mover holding a stale version can never win: it loses and returns
//!   `None`. The history grows by exactly one entry per version.
//! - Refresh tokens: key = the token's SHA-256; the first claim spends it
//!   and names its successor. Sessions are revoked by rows of a revocations
//!   log; failed logins are rows counted over their window (`sessions.rs`).
//! - Sample catalog: key = `catalog`; the winner's products (ids included)
//!   are the catalog, written by the winner or by helpers, once.
//! - Ids: a `Log` of tokens, one per id handed out; an id is its token's row
//!   position (1-based). Positions are unique and grow in real time across
//!   all processes, so product ids increase and orders/invoices list newest
//!   first by id; ids stay small (well below 2^53). Losers of a claim leave
//!   gaps, as a PostgreSQL sequence does after a conflict.
//!
//! Products are not contended: a creation row (version 0, every field) plus
//! one row per partial update carrying only the changed fields; the current
//! product is, field by field, the value of the highest version that set it
//! (`argMax` skips NULLs). Two concurrent updates of different fields both
//! apply, as two concurrent `UPDATE`s would. An update's version is its time
//! in ms (with random low bits), and always above the version it read.
//!
//! # What it assumes
//!
//! - One ClickHouse server (one shard, no replicas): the `Log` engine's lock
//!   is per server, and the orders above are per server. A cluster needs a
//!   different arbiter (e.g. ClickHouse Keeper, or `KeeperMap` tables).
//! - Synchronous inserts: the HTTP INSERT returns after the rows are written
//!   and visible (the default; `async_insert` must stay off, no `Buffer` or
//!   `Distributed` tables in front).
//! - The claim logs and `id_log` are never truncated or edited: ids are row
//!   positions, and decisions are first rows. They are scanned on each claim
//!   (only their key/token columns: ~16 bytes a row), which is cheap up to
//!   millions of rows; far beyond that they would need sharding by key.
//! - Tokens are 64 random bits (SipHash of the time and a counter under the
//!   process's random keys); two contenders drawing the same one is the only
//!   way to get two winners, at odds of about n²/2^65.
//! - Timestamps are `DateTime('UTC')` (whole seconds, 1970 to 2106): 18.16
//!   has no DateTime64, and the domain keeps seconds anyway.
//!
//! # Layout
//!
//! All SQL lives in `sql.rs`; `client.rs` speaks HTTP. `claims.rs` decides
//! races (claim, then read back), `ids.rs` hands out ids from the id log,
//! `rows.rs` holds the row types and their mapping to domain types,
//! `store.rs` the store itself, and one file per repository trait
//! (`users.rs`, `products.rs`, `orders.rs`, `invoices.rs`) implements it.

mod claims;
mod client;
mod idempotency;
mod ids;
mod invoices;
mod orders;
mod products;
mod rows;
mod sessions;
pub mod sql;
mod store;
mod users;

pub use store::ClickHouseStore;
