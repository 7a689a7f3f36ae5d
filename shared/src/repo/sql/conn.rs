//! The connection a unit of work runs on: one from the pool, or one the store
//! holds: on PostgreSQL opened with a single connection (`DB_MAX_CONNECTIONS=1`,
//! the default on Lambda) the one connection for everything, on SQLite the one
//! writer connection (see `super::Holds`).
//!
//! Why a held connection: a Lambda execution environment serves one request
//! at a time, so a pool there only adds cost, and sqlx's pool pings every
//! connection as it is released (there is no switch), a round trip per
//! request that measurably slows a warm read (see the README's benchmark).
//! What the ping guards against still holds here: a connection is put back
//! only when the work on it ran to the end (a result, or an error the server
//! reported); when a request is cancelled mid-query (its future dropped) or
//! the connection failed, it is dropped and the next request connects anew.
//! A connection idle for longer than `IDLE_CHECK` (a Lambda environment
//! frozen between invocations, a server that may have restarted) is pinged
//! before use, so a stale one costs a reconnect, not a failed request.

use std::ops::{Deref, DerefMut};
use std::sync::Arc;
use std::time::{Duration, Instant};

use sqlx::pool::PoolConnection;
use sqlx::{Connection, Database, Pool};
use tokio::sync::{Mutex, OwnedMutexGuard};

/// How long a held connection may sit unused before it is checked.
const IDLE_CHECK: Duration = Duration::from_secs(30);

/// The held connection and when it last finished a unit of work.
pub(super) struct Held<D: Database> {
    conn: D::Connection,
    last_used: Instant,
}

/// Where a single-connection store keeps its connection between requests.
pub(super) type Slot<D> = Arc<Mutex<Option<Held<D>>>>;

pub(super) fn slot<D: Database>() -> Slot<D> {
    Arc::new(Mutex::new(None))
}

/// A connection for one unit of work; derefs to the driver's connection.
pub(super) enum Conn<D: Database> {
    Pooled(PoolConnection<D>),
    Held {
        slot: OwnedMutexGuard<Option<Held<D>>>,
        conn: Option<D::Connection>,
        /// Set when the work ended cleanly: the connection goes back.
        keep: bool,
    },
}

impl<D: Database> Conn<D> {
    /// The held connection (checked if idle, connected if absent) when the
    /// store has a slot, else one from the pool.
    pub(super) async fn acquire(pool: &Pool<D>, slot: Option<&Slot<D>>) -> sqlx::Result<Conn<D>> {
        let Some(slot) = slot else {
            return Ok(Conn::Pooled(pool.acquire().await?));
        };
        let mut guard = slot.clone().lock_owned().await;
        let reusable = match guard.take() {
            Some(held) if held.last_used.elapsed() < IDLE_CHECK => Some(held.conn),
            Some(mut held) => held.conn.ping().await.is_ok().then_some(held.conn),
            None => None,
        };
        let conn = match reusable {
            Some(conn) => conn,
            // The pool connects with its options (timeouts, TLS, the
            // statement timeout); `detach` takes the connection out of its
            // accounting, so it is ours alone.
            None => pool.acquire().await?.detach(),
        };
        Ok(Conn::Held {
            slot: guard,
            conn: Some(conn),
            keep: false,
        })
    }

    /// Records how the work on this connection ended: it is kept for the
    /// next unit of work unless the error says the connection itself failed.
    pub(super) fn settle<T>(&mut self, result: &sqlx::Result<T>) {
        self.finished(match result {
            Ok(_) => true,
            Err(e) => reusable_after(e),
        });
    }

    /// Records that the work ended (`clean`) or left the connection in doubt.
    pub(super) fn finished(&mut self, clean: bool) {
        if let Conn::Held { keep, .. } = self {
            *keep = clean;
        }
    }
}

/// Errors the server reported, or that arose decoding a complete answer,
/// leave the connection in step with the server; the others (I/O, TLS,
/// protocol) do not.
fn reusable_after(e: &sqlx::Error) -> bool {
    matches!(
        e,
        sqlx::Error::Database(_)
            | sqlx::Error::RowNotFound
            | sqlx::Error::ColumnNotFound(_)
            | sqlx::Error::ColumnIndexOutOfBounds { .. }
            | sqlx::Error::ColumnDecode { .. }
            | sqlx::Error::Decode(_)
            | sqlx::Error::TypeNotFound { .. }
    )
}

impl<D: Database> Drop for Conn<D> {
    fn drop(&mut self) {
        if let Conn::Held { slot, conn, keep } = self
            && *keep
            && let Some(conn) = conn.take()
        {
            **slot = Some(Held {
                conn,
                last_used: Instant::now(),
            });
        }
        // Otherwise a held connection is dropped here, closing its socket;
        // a pooled one goes back through sqlx's own release.
    }
}

impl<D: Database> Deref for Conn<D> {
    type Target = D::Connection;

    fn deref(&self) -> &D::Connection {
        match self {
            Conn::Pooled(conn) => conn,
            Conn::Held { conn, .. } => conn.as_ref().expect("present until drop"),
        }
    }
}

impl<D: Database> DerefMut for Conn<D> {
    fn deref_mut(&mut self) -> &mut D::Connection {
        match self {
            Conn::Pooled(conn) => conn,
            Conn::Held { conn, .. } => conn.as_mut().expect("present until drop"),
        }
    }
}
