//! Everything a function needs, built once per cold start and shared by every
//! invocation: the configuration, the store, the token keys and the services.

use std::sync::Arc;

use crate::auth::TokenKeys;
use crate::config::{Config, SecretPolicy};
use crate::error::AppResult;
use crate::repo::{self, Store};
use crate::service::{InvoiceService, OrderService, ProductService, UserService};

pub struct App {
    pub config: Config,
    pub store: Arc<dyn Store>,
    pub tokens: Arc<TokenKeys>,
    pub users: UserService,
    pub products: ProductService,
    pub orders: OrderService,
    pub invoices: InvoiceService,
}

impl App {
    /// Reads the environment and opens the configured store.
    pub async fn from_env(policy: SecretPolicy) -> AppResult<App> {
        let config = Config::from_env(policy)?;
        App::build(config).await
    }

    pub async fn build(config: Config) -> AppResult<App> {
        let store = repo::open(&config.db, config.auto_migrate).await?;
        Ok(App::with_store(config, store))
    }

    pub fn with_store(config: Config, store: Arc<dyn Store>) -> App {
        let tokens = Arc::new(TokenKeys::new(&config.jwt));
        App {
            users: UserService::new(store.clone(), tokens.clone())
                .with_refresh_ttl(config.refresh_ttl_seconds),
            products: ProductService::new(store.clone(), config.catalog_write),
            orders: OrderService::new(store.clone(), config.tax_rate_bps),
            invoices: InvoiceService::new(store.clone()),
            config,
            store,
            tokens,
        }
    }
}
