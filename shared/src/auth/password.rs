//! argon2id password hashing (m = 19 MiB, t = 2, p = 1; PHC strings). Hashing is
//! CPU-bound, so it runs on the blocking pool, off the async workers.

use std::sync::{Arc, OnceLock};

use argon2::password_hash::phc::PasswordHash;
use argon2::password_hash::{PasswordHasher as _, PasswordVerifier as _};
use argon2::{Algorithm, Argon2, Params, Version};

use crate::error::AppError;

/// OWASP's minimum for argon2id.
pub const MEMORY_KIB: u32 = 19 * 1024;
pub const ITERATIONS: u32 = 2;
pub const PARALLELISM: u32 = 1;

#[derive(Clone)]
pub struct PasswordHasher {
    argon: Arc<Argon2<'static>>,
    /// A hash of a random password, verified against when the username is
    /// unknown so that a miss costs as much as a hit.
    decoy: Arc<OnceLock<String>>,
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
            decoy: Arc::new(OnceLock::new()),
        }
    }

    /// A PHC string for the password, with a fresh random salt.
    pub async fn hash(&self, password: &str) -> Result<String, AppError> {
        let argon = self.argon.clone();
        let password = password.to_owned();
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
        let stored = match stored {
            Some(s) => s.to_owned(),
            None => self.decoy_hash()?,
        };
        let matched = tokio::task::spawn_blocking(move || -> Result<bool, AppError> {
            let parsed = PasswordHash::new(&stored).map_err(AppError::internal)?;
            Ok(argon.verify_password(password.as_bytes(), &parsed).is_ok())
        })
        .await
        .map_err(AppError::internal)??;
        Ok(matched && known)
    }

    fn decoy_hash(&self) -> Result<String, AppError> {
        if let Some(h) = self.decoy.get() {
            return Ok(h.clone());
        }
        let salt = argon2::password_hash::generate_salt();
        let random_password = argon2::password_hash::generate_salt();
        let hash = self
            .argon
            .hash_password_with_salt(&random_password, &salt)
            .map_err(AppError::internal)?
            .to_string();
        Ok(self.decoy.get_or_init(|| hash).clone())
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
    }
}
