//! argon2id password hashing (m = 19 MiB, t = 2, p = 1; PHC strings). Hashing is
//! CPU-bound, so it runs on the blocking pool, off the async workers.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use argon2::password_hash::phc::PasswordHash;
use argon2::password_hash::{PasswordHasher as _, PasswordVerifier as _};
use argon2::{Algorithm, Argon2, Params, Version};

use crate::error::AppError;

/// OWASP's minimum for argon2id.
pub const MEMORY_KIB: u32 = 19 * 1024;
pub const ITERATIONS: u32 = 2;
pub const PARALLELISM: u32 = 1;

/// What a login for an unknown username is verified against, so that a miss
/// costs one hash, like a hit. The hash of 32 random bytes, thrown away, with
/// the same parameters: no password matches it, and the result is ignored anyway.
const DECOY_HASH: &str = "$argon2id$v=19$m=19456,t=2,p=1$Ou2+Rty4ePxUDpAygdGb7g$hvAOv4k/FP/l2wtm5yTN6/AyYRGFs+pQt1S6u8/4WfY";

#[derive(Clone)]
pub struct PasswordHasher {
    argon: Arc<Argon2<'static>>,
    /// How many hashes this hasher (and its clones) computed: what proves
    /// that a throttled login costs none.
    spent: Arc<AtomicU64>,
}

impl Default for PasswordHasher {
    fn default() -> Self {
        PasswordHasher::new()
    }
}

impl PasswordHasher {
    pub fn new() -> PasswordHasher {
        let params = Params::new(MEMORY_KIB, ITERATIONS, PARALLELISM, None)
            .expect("argon2 parameters are valid");
        PasswordHasher {
            argon: Arc::new(Argon2::new(Algorithm::Argon2id, Version::V0x13, params)),
            spent: Arc::new(AtomicU64::new(0)),
        }
    }

    /// The hashes computed so far (hashing and verifying, the decoy included).
    pub fn hashes_spent(&self) -> u64 {
        self.spent.load(Ordering::Relaxed)
    }

    /// A PHC string for the password, with a fresh random salt.
    pub async fn hash(&self, password: &str) -> Result<String, AppError> {
        let argon = self.argon.clone();
        let password = password.to_owned();
        self.spent.fetch_add(1, Ordering::Relaxed);
        tokio::task::spawn_blocking(move || {
            argon
                .hash_password(password.as_bytes())
                .map(|h| h.to_string())
        })
        .await
        .map_err(AppError::internal)?
        .map_err(AppError::internal)
    }

    /// Checks a password against a stored PHC string, or (with `None`) against
    /// the decoy, which always fails but costs the same.
    pub async fn verify(&self, password: &str, stored: Option<&str>) -> Result<bool, AppError> {
        let argon = self.argon.clone();
        let password = password.to_owned();
        let known = stored.is_some();
        self.spent.fetch_add(1, Ordering::Relaxed);
        let stored = match stored {
            Some(s) => s.to_owned(),
            None => DECOY_HASH.to_owned(),
        };
        let matched = tokio::task::spawn_blocking(move || -> Result<bool, AppError> {
            let parsed = PasswordHash::new(&stored).map_err(AppError::internal)?;
            Ok(argon.verify_password(password.as_bytes(), &parsed).is_ok())
        })
        .await
        .map_err(AppError::internal)??;
        Ok(matched && known)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn hashes_are_argon2id_phc_strings_that_verify() {
        let hasher = PasswordHasher::new();
        let hash = hasher.hash("correct horse battery").await.unwrap();
        assert!(
            hash.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
            "{hash}"
        );
        assert!(
            hasher
                .verify("correct horse battery", Some(&hash))
                .await
                .unwrap()
        );
        assert!(
            !hasher
                .verify("wrong horse battery", Some(&hash))
                .await
                .unwrap()
        );
        assert!(!hasher.verify("correct horse battery", None).await.unwrap());
        assert_eq!(
            hasher.clone().hashes_spent(),
            4,
            "one hash, three verifications"
        );
    }

    #[test]
    fn the_decoy_costs_what_a_real_hash_costs() {
        let decoy = PasswordHash::new(DECOY_HASH).expect("the decoy is a valid PHC string");
        assert_eq!(decoy.algorithm.as_str(), "argon2id");
        let params = Params::try_from(&decoy).unwrap();
        assert_eq!(
            (params.m_cost(), params.t_cost(), params.p_cost()),
            (MEMORY_KIB, ITERATIONS, PARALLELISM)
        );
    }
}
