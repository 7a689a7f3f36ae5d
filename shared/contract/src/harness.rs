//! A fresh store for one contract case, and how to dispose of it.

use std::sync::Arc;

use futures::future::BoxFuture;
use shared::repo::Store;

/// What a backend's harness function returns: a migrated, unseeded store no
/// other test uses, and the cleanup that drops its database, table or file.
pub struct Harness {
    pub store: Arc<dyn Store>,
    pub cleanup: Option<Box<dyn FnOnce() -> BoxFuture<'static, ()> + Send>>,
}

impl Harness {
    pub async fn finish(self) {
        if let Some(cleanup) = self.cleanup {
            cleanup().await;
        }
    }
}
