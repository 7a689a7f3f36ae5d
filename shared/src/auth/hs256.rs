//! jsonwebtoken's cryptography, for the one algorithm tokens here use: HS256
//! (HMAC-SHA-256 from RustCrypto's `hmac` and `sha2`).
//!
//! jsonwebtoken links a whole provider when one of its crypto features is on:
//! `rust_crypto` brings RSA, ECDSA P-256/P-384 and Ed25519 too (about 0.2 MB
//! of every Lambda artifact, none of it reachable from an HS256 token), and
//! `aws_lc_rs` brings aws-lc. Without either, jsonwebtoken calls the provider
//! the process installs, this one. Any other algorithm is refused here as
//! well as by the `Validation`, which pins HS256 before a key is ever used.

use hmac::{Hmac, Mac};
use jsonwebtoken::crypto::{CryptoProvider, JwtSigner, JwtVerifier, KeyUtils};
use jsonwebtoken::errors::{ErrorKind, Result};
use jsonwebtoken::signature::{self, Signer, Verifier};
use jsonwebtoken::{Algorithm, AlgorithmFamily};
use sha2::Sha256;

type HmacSha256 = Hmac<Sha256>;

/// Signs and verifies with one HS256 key.
struct Hs256(HmacSha256);

impl Hs256 {
    fn new(algorithm: &Algorithm, family: AlgorithmFamily, key: &[u8]) -> Result<Hs256> {
        if *algorithm != Algorithm::HS256 {
            return Err(ErrorKind::InvalidAlgorithm.into());
        }
        if family != AlgorithmFamily::Hmac {
            return Err(ErrorKind::InvalidKeyFormat.into());
        }
        HmacSha256::new_from_slice(key)
            .map(Hs256)
            .map_err(|_| ErrorKind::InvalidKeyFormat.into())
    }
}

impl Signer<Vec<u8>> for Hs256 {
    fn try_sign(&self, message: &[u8]) -> std::result::Result<Vec<u8>, signature::Error> {
        let mut mac = self.0.clone();
        mac.update(message);
        Ok(mac.finalize().into_bytes().to_vec())
    }
}

impl JwtSigner for Hs256 {
    fn algorithm(&self) -> Algorithm {
        Algorithm::HS256
    }
}

impl Verifier<Vec<u8>> for Hs256 {
    fn verify(&self, message: &[u8], tag: &Vec<u8>) -> std::result::Result<(), signature::Error> {
        let mut mac = self.0.clone();
        mac.update(message);
        // Constant-time comparison.
        mac.verify_slice(tag).map_err(signature::Error::from_source)
    }
}

impl JwtVerifier for Hs256 {
    fn algorithm(&self) -> Algorithm {
        Algorithm::HS256
    }
}

static PROVIDER: CryptoProvider = CryptoProvider {
    signer_factory: |algorithm, key| {
        Ok(Box::new(Hs256::new(
            algorithm,
            key.family(),
            key.as_bytes(),
        )?))
    },
    verifier_factory: |algorithm, key| {
        Ok(Box::new(Hs256::new(
            algorithm,
            key.family(),
            key.try_get_as_bytes()?,
        )?))
    },
    // JWKs (public keys published as JSON) are never read here.
    key_utils: KeyUtils::new_unimplemented(),
};

/// Makes this the process's provider; a no-op after the first call.
pub(super) fn install() {
    // An error only says a provider is installed already: this one, as
    // nothing else in the workspace installs one.
    let _ = PROVIDER.install_default();
}
