//! Opening the embedded SQLite store: the zero-setup default for local use.
//! WAL journal so readers never block the writer; one writer connection that
//! the store holds, so this process's writers queue for it in turn (SQLite
//! lets one connection write at a time) while reads use a small pool; a busy
//! timeout for writers in other processes on the same file; every unit of
//! work (in `super`) one statement or one transaction that starts with a
//! write (so it takes the write lock up front).

use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::Duration;

use sqlx::Sqlite;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};

use super::{SqlStore, store_error};
use crate::error::{AppError, AppResult};
use crate::repo::Bootstrap;

/// The SQL store on an SQLite file.
pub type SqliteStore = SqlStore<Sqlite>;

impl SqlStore<Sqlite> {
    /// Opens (creating if needed) the database file, then migrates and seeds it
    /// as `bootstrap` says.
    pub async fn open(path: &Path, bootstrap: Bootstrap) -> AppResult<SqliteStore> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)
                .map_err(|e| AppError::internal(format!("cannot create {}: {e}", dir.display())))?;
        }
        // Processes starting at once on one file take turns for the whole
        // bootstrap: creating the file and switching it to WAL, migrating and
        // seeding. Some of those steps answer "database is locked" at once,
        // without waiting out the busy timeout, if they overlap.
        let bootstrap_lock = if bootstrap.migrate || bootstrap.seed {
            Some(lock_file(lock_path_for(path)).await?)
        } else {
            None
        };
        let options = SqliteConnectOptions::from_str("sqlite:")
            .map_err(store_error::<Sqlite>)?
            .filename(path)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .foreign_keys(true)
            .busy_timeout(Duration::from_secs(10));
        let pool = SqlitePoolOptions::new()
            // For reads (writes have their own connection), and few cores: a
            // small pool keeps connections (each with its own worker thread) warm.
            .max_connections(4)
            // An embedded file cannot go away between requests; skip the ping.
            .test_before_acquire(false)
            .acquire_timeout(Duration::from_secs(10))
            .connect_with(options)
            .await
            .map_err(store_error::<Sqlite>)?;
        // One writer connection, held by the store (`super::Holds::Writes`).
        let writer = Some((super::conn::slot(), super::Holds::Writes));
        let store = SqlStore::new(pool, writer, bootstrap, None);
        // Bootstrap now, under the lock, rather than on first use.
        store.pool().await?;
        drop(bootstrap_lock);
        Ok(store)
    }
}

/// An exclusive lock on a file beside the database, held until dropped.
async fn lock_file(lock_path: PathBuf) -> AppResult<std::fs::File> {
    tokio::task::spawn_blocking(move || -> std::io::Result<std::fs::File> {
        let file = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&lock_path)?;
        file.lock()?;
        Ok(file)
    })
    .await
    .map_err(AppError::internal)?
    .map_err(|e| AppError::internal(format!("cannot lock the database for its bootstrap: {e}")))
}

fn lock_path_for(path: &Path) -> PathBuf {
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(".bootstrap.lock");
    path.with_file_name(name)
}
