//! Token settings: the JWT secret and claims, who is an admin, who may write
//! the catalog.

use std::collections::HashSet;

use super::{Lookup, config_error, parse_num};
use crate::error::AppError;

/// The secret the dev server uses when `JWT_SECRET` is unset. Never valid in a
/// deployed function, which refuses to start without its own secret.
pub const DEV_JWT_SECRET: &str = "dev-only-secret-do-not-deploy-0123456789abcdef";

#[derive(Clone)]
pub struct JwtConfig {
    pub secret: Vec<u8>,
    pub issuer: String,
    pub audience: String,
    pub ttl_seconds: u64,
}

impl std::fmt::Debug for JwtConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JwtConfig")
            .field("secret", &"<redacted>")
            .field("issuer", &self.issuer)
            .field("audience", &self.audience)
            .field("ttl_seconds", &self.ttl_seconds)
            .finish()
    }
}

/// Where `JWT_SECRET` may come from when it is not set.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SecretPolicy {
    /// A deployed function: no secret, no start.
    Required,
    /// The local dev server: fall back to `DEV_JWT_SECRET` (and say so).
    DevFallback,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CatalogWrite {
    /// Any authenticated user may create and update products (the original service).
    Authenticated,
    Admin,
}

pub(super) fn jwt_config(get: &impl Lookup, policy: SecretPolicy) -> Result<JwtConfig, AppError> {
    let secret = match (get("JWT_SECRET"), policy) {
        (Some(secret), _) => secret,
        (None, SecretPolicy::DevFallback) => DEV_JWT_SECRET.to_owned(),
        (None, SecretPolicy::Required) => {
            return Err(config_error("JWT_SECRET is required (at least 32 bytes)"));
        }
    };
    if secret.len() < 32 {
        return Err(config_error("JWT_SECRET must be at least 32 bytes"));
    }
    Ok(JwtConfig {
        secret: secret.into_bytes(),
        issuer: get("JWT_ISSUER").unwrap_or_else(|| "commerce-api".into()),
        audience: get("JWT_AUDIENCE").unwrap_or_else(|| "commerce-api-clients".into()),
        ttl_seconds: parse_num(get, "JWT_TTL_SECONDS", 3600, 60, 86_400)?,
    })
}

pub(super) fn catalog_write(get: &impl Lookup) -> Result<CatalogWrite, AppError> {
    match get("CATALOG_WRITE").as_deref() {
        None | Some("authenticated") => Ok(CatalogWrite::Authenticated),
        Some("admin") => Ok(CatalogWrite::Admin),
        Some(other) => Err(config_error(&format!(
            "CATALOG_WRITE must be `authenticated` or `admin`, not `{other}`"
        ))),
    }
}

/// `ADMIN_USERNAMES`, comma-separated, lower-cased.
pub(super) fn admin_usernames(get: &impl Lookup) -> HashSet<String> {
    get("ADMIN_USERNAMES")
        .unwrap_or_default()
        .split(',')
        .map(|s| s.trim().to_ascii_lowercase())
        .filter(|s| !s.is_empty())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn lookup(pairs: &[(&str, &str)]) -> impl Lookup {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        move |k: &str| map.get(k).cloned()
    }

    #[test]
    fn a_deployed_function_needs_a_secret_of_32_bytes() {
        assert!(jwt_config(&lookup(&[]), SecretPolicy::Required).is_err());
        let dev = jwt_config(&lookup(&[]), SecretPolicy::DevFallback).unwrap();
        assert_eq!(dev.secret, DEV_JWT_SECRET.as_bytes());
        assert_eq!(dev.ttl_seconds, 3600);
        let short = lookup(&[("JWT_SECRET", "short")]);
        assert!(jwt_config(&short, SecretPolicy::DevFallback).is_err());
    }

    #[test]
    fn the_secret_never_shows_in_debug() {
        let get = lookup(&[("JWT_SECRET", "0123456789abcdef0123456789abcdef")]);
        let jwt = jwt_config(&get, SecretPolicy::Required).unwrap();
        assert!(!format!("{jwt:?}").contains("0123456789abcdef"));
    }

    #[test]
    fn admins_are_lower_cased_and_catalog_write_is_checked() {
        let get = lookup(&[
            ("ADMIN_USERNAMES", " Root, ,ops "),
            ("CATALOG_WRITE", "admin"),
        ]);
        let expected: HashSet<String> = ["root".to_owned(), "ops".to_owned()].into();
        assert_eq!(admin_usernames(&get), expected);
        assert_eq!(catalog_write(&get).unwrap(), CatalogWrite::Admin);
        assert!(catalog_write(&lookup(&[("CATALOG_WRITE", "everyone")])).is_err());
    }
}
