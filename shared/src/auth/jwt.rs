//! HS256 JWTs. The verifier pins the algorithm and checks `exp`, `iss` and `aud`
//! with a small leeway; anything else (other algorithms, `none`, forged
//! signatures) is refused.

use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};

use crate::config::JwtConfig;
use crate::domain::{Identity, Role, Timestamp};
use crate::error::AppError;

/// Clock skew tolerated on `exp` (and `nbf`), in seconds.
const LEEWAY_SECONDS: u64 = 30;

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct Claims {
    pub sub: String,
    pub username: String,
    pub role: Role,
    pub iat: i64,
    pub exp: i64,
    pub iss: String,
    pub aud: String,
}

/// The keys and rules for tokens, built once per cold start.
pub struct TokenKeys {
    encoding: EncodingKey,
    decoding: DecodingKey,
    validation: Validation,
    issuer: String,
    audience: String,
    ttl_seconds: u64,
}

impl TokenKeys {
    pub fn new(config: &JwtConfig) -> TokenKeys {
        let mut validation = Validation::new(Algorithm::HS256);
        validation.set_issuer(&[&config.issuer]);
        validation.set_audience(&[&config.audience]);
        validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
        validation.leeway = LEEWAY_SECONDS;
        validation.validate_exp = true;
        TokenKeys {
            encoding: EncodingKey::from_secret(&config.secret),
            decoding: DecodingKey::from_secret(&config.secret),
            validation,
            issuer: config.issuer.clone(),
            audience: config.audience.clone(),
            ttl_seconds: config.ttl_seconds,
        }
    }

    pub fn ttl_seconds(&self) -> u64 {
        self.ttl_seconds
    }

    pub fn issue(&self, identity: &Identity, now: Timestamp) -> Result<String, AppError> {
        let claims = Claims {
            sub: identity.user_id.to_string(),
            username: identity.username.clone(),
            role: identity.role,
            iat: now.unix(),
            exp: now.unix() + i64::try_from(self.ttl_seconds).unwrap_or(3600),
            iss: self.issuer.clone(),
            aud: self.audience.clone(),
        };
        jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &self.encoding)
            .map_err(AppError::internal)
    }

    /// Verifies a token and returns who it names. The error never says why a
    /// token was refused beyond "invalid or expired".
    pub fn verify(&self, token: &str) -> Result<Identity, AppError> {
        let refused = || AppError::Unauthorized("invalid or expired token".into());
        let data = jsonwebtoken::decode::<Claims>(token, &self.decoding, &self.validation)
            .map_err(|_| refused())?;
        let user_id = data
            .claims
            .sub
            .parse::<i64>()
            .ok()
            .filter(|id| *id > 0)
            .ok_or_else(refused)?;
        Ok(Identity {
            user_id,
            username: data.claims.username,
            role: data.claims.role,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::Engine;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;

    fn keys(secret: &str, aud: &str) -> TokenKeys {
        TokenKeys::new(&JwtConfig {
            secret: secret.as_bytes().to_vec(),
            issuer: "commerce-api".into(),
            audience: aud.into(),
            ttl_seconds: 3600,
        })
    }

    const SECRET: &str = "0123456789abcdef0123456789abcdef";

    fn alice() -> Identity {
        Identity {
            user_id: 7,
            username: "alice".into(),
            role: Role::Customer,
        }
    }

    #[test]
    fn issued_tokens_verify() {
        let k = keys(SECRET, "clients");
        let token = k.issue(&alice(), Timestamp::now()).unwrap();
        assert_eq!(k.verify(&token).unwrap(), alice());
    }

    #[test]
    fn forged_expired_and_foreign_tokens_are_refused() {
        let k = keys(SECRET, "clients");
        let forged = keys("another-secret-another-secret-xx", "clients")
            .issue(&alice(), Timestamp::now())
            .unwrap();
        assert!(k.verify(&forged).is_err(), "forged");
        let expired = k
            .issue(
                &alice(),
                Timestamp::from_unix(Timestamp::now().unix() - 3600 - 120),
            )
            .unwrap();
        assert!(k.verify(&expired).is_err(), "expired");
        let wrong_aud = keys(SECRET, "someone-else")
            .issue(&alice(), Timestamp::now())
            .unwrap();
        assert!(k.verify(&wrong_aud).is_err(), "wrong aud");
        assert!(k.verify("not.a.token").is_err());
        assert!(k.verify("").is_err());
    }

    #[test]
    fn alg_none_is_refused() {
        let k = keys(SECRET, "clients");
        let valid = k.issue(&alice(), Timestamp::now()).unwrap();
        let payload = valid.split('.').nth(1).unwrap();
        let header = URL_SAFE_NO_PAD.encode(br#"{"alg":"none","typ":"JWT"}"#);
        assert!(k.verify(&format!("{header}.{payload}.")).is_err());
        let hs512 = URL_SAFE_NO_PAD.encode(br#"{"alg":"HS512","typ":"JWT"}"#);
        assert!(
            k.verify(&format!(
                "{hs512}.{payload}.{}",
                valid.split('.').nth(2).unwrap()
            ))
            .is_err()
        );
    }

    #[test]
    fn tampered_claims_are_refused() {
        let k = keys(SECRET, "clients");
        let valid = k.issue(&alice(), Timestamp::now()).unwrap();
        let mut parts: Vec<String> = valid.split('.').map(str::to_owned).collect();
        let claims = String::from_utf8(URL_SAFE_NO_PAD.decode(&parts[1]).unwrap()).unwrap();
        parts[1] = URL_SAFE_NO_PAD.encode(claims.replace("customer", "admin"));
        assert!(k.verify(&parts.join(".")).is_err());
    }
}
