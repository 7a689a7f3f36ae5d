//! TLS material for the tests: the CAs of the test servers (named by the test
//! command's environment, with defaults that fit this project's machines) and
//! a CA that signed nothing any server holds.

use std::path::{Path, PathBuf};

/// `TEST_POSTGRES_CA`: verifies the PostgreSQL test server's certificate for
/// `localhost` (default: Debian's self-signed "snakeoil" certificate).
pub fn postgres_ca() -> PathBuf {
    existing(
        "TEST_POSTGRES_CA",
        std::env::var("TEST_POSTGRES_CA")
            .unwrap_or_else(|_| "/etc/ssl/certs/ssl-cert-snakeoil.pem".into()),
    )
}

/// `TEST_CLICKHOUSE_HTTPS_URL`: the ClickHouse test server's HTTPS interface.
pub fn clickhouse_https_url() -> String {
    std::env::var("TEST_CLICKHOUSE_HTTPS_URL").unwrap_or_else(|_| "https://localhost:8443".into())
}

/// `TEST_CLICKHOUSE_CA`: verifies the ClickHouse HTTPS certificate (default:
/// the test CA that local/scripts/services/tls.sh makes under `.build/tls`).
pub fn clickhouse_ca() -> PathBuf {
    let default = Path::new(env!("CARGO_MANIFEST_DIR")).join("../.build/tls/ca.pem");
    existing(
        "TEST_CLICKHOUSE_CA",
        std::env::var("TEST_CLICKHOUSE_CA")
            .unwrap_or_else(|_| default.to_string_lossy().into_owned()),
    )
}

/// A fresh CA made with openssl in `dir`: a root no server certificate chains to.
pub fn foreign_ca(dir: &Path) -> PathBuf {
    let ca = dir.join("foreign-ca.pem");
    let status = std::process::Command::new("openssl")
        .args([
            "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
        ])
        .args(["-subj", "/CN=a CA no test server knows"])
        .arg("-keyout")
        .arg(dir.join("foreign-ca.key"))
        .arg("-out")
        .arg(&ca)
        .stderr(std::process::Stdio::null())
        .status()
        .expect("openssl is needed to make a foreign CA");
    assert!(status.success(), "openssl req failed");
    ca
}

/// A missing CA is a loud failure: a suite never passes by skipping.
fn existing(variable: &str, path: String) -> PathBuf {
    assert!(
        Path::new(&path).is_file(),
        "the test CA {path} ({variable}) is missing; local/scripts/test.sh sets it up"
    );
    PathBuf::from(path)
}
