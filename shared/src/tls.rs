//! The process's rustls crypto provider.
//!
//! Every TLS client here runs rustls on ring: sqlx names it itself, while
//! reqwest (ClickHouse over HTTPS, and the AWS SDK's HTTP client) takes the
//! process's default provider and, built without its own (it would be
//! aws-lc-rs, about 0.5 MB more in each Lambda artifact), panics when none is
//! installed. Call this before building any `reqwest::Client`.

/// Installs ring as the process's default crypto provider; a no-op when one
/// is installed already.
pub fn install_crypto_provider() {
    // An error only says a provider is installed: the one to keep.
    let _ = rustls::crypto::ring::default_provider().install_default();
}
