//! Token settings: the JWT secret and claims, who may write the catalog.

use super::secret::{AwsContext, Check, Secret};
use super::{Lookup, config_error, parse_num};
use crate::error::AppError;

/// The secret the dev server uses when `JWT_SECRET` is unset. Never valid in a
/// deployed function, which refuses to start without its own secret.
pub const DEV_JWT_SECRET: &str = "dev-only-secret-do-not-deploy-0123456789abcdef";

#[derive(Clone, Debug)]
pub struct JwtConfig {
    /// `JWT_SECRET`: the HS256 key, or where it lives in AWS.
    pub secret: Secret,
    pub issuer: String,
    pub audience: String,
    pub ttl_seconds: u64,
}

impl JwtConfig {
    /// Whether the key is the published development secret (the dev server's fallback).
    pub fn uses_development_secret(&self) -> bool {
        self.secret.plain_value() == Some(DEV_JWT_SECRET)
    }
}

/// Where `JWT_SECRET` may come from when it is not set.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SecretPolicy {
    /// A deployed function: no secret, no start.
    Required,
    /// The local dev server: fall back to `DEV_JWT_SECRET` (and say so).
    DevFallback,
    /// A function that neither issues nor verifies tokens (health), deployed
    /// without the secret: `JWT_SECRET` is not read, and the keys are made of
    /// random bytes nobody knows, so no token would verify against them.
    NoTokens,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CatalogWrite {
    /// Any authenticated user may create and update products (the original service).
    Authenticated,
    Admin,
}

pub(super) fn jwt_config(
    get: &impl Lookup,
    policy: SecretPolicy,
    aws: &AwsContext,
) -> Result<JwtConfig, AppError> {
    let (secret, check): (String, Check) = match (get("JWT_SECRET"), policy) {
        (_, SecretPolicy::NoTokens) => (unknown_secret()?, long_enough),
        (Some(secret), SecretPolicy::Required) => (secret, deployable),
        (Some(secret), SecretPolicy::DevFallback) => (secret, long_enough),
        (None, SecretPolicy::DevFallback) => (DEV_JWT_SECRET.to_owned(), long_enough),
        (None, SecretPolicy::Required) => {
            return Err(config_error("JWT_SECRET is required (at least 32 bytes)"));
        }
    };
    Ok(JwtConfig {
        secret: Secret::from_setting("JWT_SECRET", secret, Some(check), aws)?,
        issuer: get("JWT_ISSUER").unwrap_or_else(|| "commerce-api".into()),
        audience: get("JWT_AUDIENCE").unwrap_or_else(|| "commerce-api-clients".into()),
        ttl_seconds: parse_num(get, "JWT_TTL_SECONDS", 3600, 60, 86_400)?,
    })
}

/// 32 bytes from the operating system's random source, as hex: a key no token
/// was ever signed with.
fn unknown_secret() -> Result<String, AppError> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes)
        .map_err(|e| config_error(&format!("no random bytes for the unused token keys: {e}")))?;
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
}

/// HS256 wants a key at least as long as its output.
fn long_enough(secret: &str) -> Result<(), &'static str> {
    if secret.len() < 32 {
        return Err("must be at least 32 bytes");
    }
    Ok(())
}

/// A deployed function's key: long enough, and not the one anyone can read in
/// this repository (tokens signed with it are forgeable by all).
fn deployable(secret: &str) -> Result<(), &'static str> {
    long_enough(secret)?;
    if secret == DEV_JWT_SECRET {
        return Err("is the published development secret; set a secret of your own");
    }
    Ok(())
}

/// `REFRESH_TTL_SECONDS`: how long a refresh token lives (default 30 days,
/// from an hour to a year).
pub(super) fn refresh_ttl_seconds(get: &impl Lookup) -> Result<u64, AppError> {
    parse_num(
        get,
        "REFRESH_TTL_SECONDS",
        crate::domain::session::DEFAULT_REFRESH_TTL_SECONDS,
        3600,
        365 * 86_400,
    )
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

/// `ADMIN_USERNAMES` once granted admin by name at login, so whoever
/// registered a listed name first became an admin. Roles now live on the user
/// and only an operator's command changes them; a configuration that still
/// sets it is refused rather than silently leaving its admins without the role.
pub(super) fn refuse_admin_usernames(get: &impl Lookup) -> Result<(), AppError> {
    match get("ADMIN_USERNAMES") {
        Some(names) if !names.trim().is_empty() => Err(config_error(
            "ADMIN_USERNAMES is no longer read: admins are made by an operator with \
             `local admin grant <username>` against the store; unset it",
        )),
        _ => Ok(()),
    }
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

    fn jwt(pairs: &[(&str, &str)], policy: SecretPolicy) -> Result<JwtConfig, AppError> {
        let get = lookup(pairs);
        jwt_config(&get, policy, &AwsContext::from_lookup(&get))
    }

    #[test]
    fn a_function_without_tokens_needs_no_secret_and_verifies_nothing() {
        let known = "0123456789abcdef0123456789abcdef";
        let health = jwt(&[("JWT_SECRET", known)], SecretPolicy::NoTokens).unwrap();
        let again = jwt(&[], SecretPolicy::NoTokens).unwrap();
        assert_ne!(
            health.secret.plain_value(),
            Some(known),
            "the environment's secret is not used"
        );
        assert_ne!(
            health.secret.plain_value(),
            again.secret.plain_value(),
            "fresh random keys"
        );
    }

    #[test]
    fn a_deployed_function_needs_a_secret_of_32_bytes() {
        assert!(jwt(&[], SecretPolicy::Required).is_err());
        let dev = jwt(&[], SecretPolicy::DevFallback).unwrap();
        assert!(dev.uses_development_secret());
        assert_eq!(dev.ttl_seconds, 3600);
        assert!(jwt(&[("JWT_SECRET", "short")], SecretPolicy::DevFallback).is_err());
    }

    #[test]
    fn a_deployed_function_refuses_the_development_secret() {
        let dev_secret = [("JWT_SECRET", DEV_JWT_SECRET)];
        let refused = jwt(&dev_secret, SecretPolicy::Required).unwrap_err();
        assert!(
            format!("{refused:?}").contains("development secret"),
            "{refused:?}"
        );
        // The dev server may be given it explicitly.
        assert!(jwt(&dev_secret, SecretPolicy::DevFallback).is_ok());
        assert!(deployable("another-secret-of-32-bytes-or-more").is_ok());
    }

    #[test]
    fn the_secret_never_shows_in_debug() {
        let jwt = jwt(
            &[("JWT_SECRET", "0123456789abcdef0123456789abcdef")],
            SecretPolicy::Required,
        )
        .unwrap();
        assert!(!format!("{jwt:?}").contains("0123456789abcdef"));
    }

    #[test]
    fn admin_names_are_refused_and_catalog_write_is_checked() {
        let get = lookup(&[("ADMIN_USERNAMES", "root"), ("CATALOG_WRITE", "admin")]);
        assert!(refuse_admin_usernames(&get).is_err());
        assert!(refuse_admin_usernames(&lookup(&[("ADMIN_USERNAMES", " ")])).is_ok());
        assert!(refuse_admin_usernames(&lookup(&[])).is_ok());
        assert_eq!(catalog_write(&get).unwrap(), CatalogWrite::Admin);
        assert!(catalog_write(&lookup(&[("CATALOG_WRITE", "everyone")])).is_err());
    }

    #[test]
    fn refresh_tokens_live_30_days_unless_set() {
        assert_eq!(refresh_ttl_seconds(&lookup(&[])).unwrap(), 30 * 86_400);
        assert_eq!(
            refresh_ttl_seconds(&lookup(&[("REFRESH_TTL_SECONDS", "7200")])).unwrap(),
            7200
        );
        assert!(refresh_ttl_seconds(&lookup(&[("REFRESH_TTL_SECONDS", "5")])).is_err());
    }
}
