//! HS256 JWTs. The verifier pins the algorithm and checks `exp`, `iss` and `aud`
//! with a small leeway, and refuses an `iat` in the future beyond it; anything
//! else (other algorithms, `none`, forged signatures) is refused. The key is
//! `JWT_SECRET`, fetched from AWS on the first token issued or verified when
//! the setting names it there.

use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};
use tokio::sync::OnceCell;

use crate::config::{JwtConfig, Secret};
use crate::domain::{Identity, Role, Timestamp};
use crate::error::AppError;

/// Clock skew tolerated on `exp`, `nbf` and `iat`, in seconds.
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
    /// The session (refresh token family) the token was issued in; tokens
    /// from before sessions existed have none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sid: Option<String>,
}

/// The keys and rules for tokens, built once per cold start; the keys
/// themselves on first use when the secret lives in AWS.
pub struct TokenKeys {
    secret: Secret,
    keys: OnceCell<Keys>,
    validation: Validation,
    issuer: String,
    audience: String,
    ttl_seconds: u64,
}

struct Keys {
    encoding: EncodingKey,
    decoding: DecodingKey,
}

impl Keys {
    fn new(secret: &str) -> Keys {
        // Every token is signed or verified with keys made here.
        super::hs256::install();
        Keys {
            encoding: EncodingKey::from_secret(secret.as_bytes()),
            decoding: DecodingKey::from_secret(secret.as_bytes()),
        }
    }
}

impl TokenKeys {
    /// Never calls AWS: a secret given as it is becomes keys now, one held
    /// in AWS on the first `issue` or `verify`.
    pub fn new(config: &JwtConfig) -> TokenKeys {
        let mut validation = Validation::new(Algorithm::HS256);
        validation.set_issuer(&[&config.issuer]);
        validation.set_audience(&[&config.audience]);
        validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
        validation.leeway = LEEWAY_SECONDS;
        validation.validate_exp = true;
        TokenKeys {
            secret: config.secret.clone(),
            keys: OnceCell::new_with(config.secret.plain_value().map(Keys::new)),
            validation,
            issuer: config.issuer.clone(),
            audience: config.audience.clone(),
            ttl_seconds: config.ttl_seconds,
        }
    }

    /// The keys; fetching the secret (once) may fail, as a 503 or a 500, never a 401.
    async fn keys(&self) -> Result<&Keys, AppError> {
        self.keys
            .get_or_try_init(|| async { Ok(Keys::new(self.secret.value().await?)) })
            .await
    }

    pub fn ttl_seconds(&self) -> u64 {
        self.ttl_seconds
    }

    pub async fn issue(&self, identity: &Identity, now: Timestamp) -> Result<String, AppError> {
        self.issue_in_session(identity, None, now).await
    }

    /// A token that names its session in `sid`.
    pub async fn issue_in_session(
        &self,
        identity: &Identity,
        session_id: Option<&str>,
        now: Timestamp,
    ) -> Result<String, AppError> {
        let claims = Claims {
            sub: identity.user_id.to_string(),
            username: identity.username.clone(),
            role: identity.role,
            iat: now.unix(),
            exp: now.unix() + i64::try_from(self.ttl_seconds).unwrap_or(3600),
            iss: self.issuer.clone(),
            aud: self.audience.clone(),
            sid: session_id.map(str::to_owned),
        };
        let keys = self.keys().await?;
        jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &keys.encoding)
            .map_err(AppError::internal)
    }

    /// Verifies a token and returns who it names. The error never says why a
    /// token was refused beyond "invalid or expired".
    pub async fn verify(&self, token: &str) -> Result<Identity, AppError> {
        let refused = || AppError::Unauthorized("invalid or expired token".into());
        // Garbage is refused before the key is needed (and perhaps fetched).
        jsonwebtoken::decode_header(token).map_err(|_| refused())?;
        let keys = self.keys().await?;
        let data = jsonwebtoken::decode::<Claims>(token, &keys.decoding, &self.validation)
            .map_err(|_| refused())?;
        // A token "issued" in the future was not issued by this service's clock.
        let latest_iat = Timestamp::now().unix() + i64::try_from(LEEWAY_SECONDS).unwrap_or(0);
        if data.claims.iat > latest_iat {
            return Err(refused());
        }
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
            secret: Secret::plain("JWT_SECRET", secret),
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

    #[tokio::test]
    async fn issued_tokens_verify() {
        let k = keys(SECRET, "clients");
        let token = k.issue(&alice(), Timestamp::now()).await.unwrap();
        assert_eq!(k.verify(&token).await.unwrap(), alice());
    }

    #[tokio::test]
    async fn forged_expired_and_foreign_tokens_are_refused() {
        let k = keys(SECRET, "clients");
        let forged = keys("another-secret-another-secret-xx", "clients")
            .issue(&alice(), Timestamp::now())
            .await
            .unwrap();
        assert!(k.verify(&forged).await.is_err(), "forged");
        let expired = k
            .issue(
                &alice(),
                Timestamp::from_unix(Timestamp::now().unix() - 3600 - 120),
            )
            .await
            .unwrap();
        assert!(k.verify(&expired).await.is_err(), "expired");
        let wrong_aud = keys(SECRET, "someone-else")
            .issue(&alice(), Timestamp::now())
            .await
            .unwrap();
        assert!(k.verify(&wrong_aud).await.is_err(), "wrong aud");
        assert!(k.verify("not.a.token").await.is_err());
        assert!(k.verify("").await.is_err());
    }

    #[tokio::test]
    async fn alg_none_is_refused() {
        let k = keys(SECRET, "clients");
        let valid = k.issue(&alice(), Timestamp::now()).await.unwrap();
        let payload = valid.split('.').nth(1).unwrap();
        let header = URL_SAFE_NO_PAD.encode(br#"{"alg":"none","typ":"JWT"}"#);
        assert!(k.verify(&format!("{header}.{payload}.")).await.is_err());
        let hs512 = URL_SAFE_NO_PAD.encode(br#"{"alg":"HS512","typ":"JWT"}"#);
        assert!(
            k.verify(&format!(
                "{hs512}.{payload}.{}",
                valid.split('.').nth(2).unwrap()
            ))
            .await
            .is_err()
        );
    }

    #[tokio::test]
    async fn tampered_claims_are_refused() {
        let k = keys(SECRET, "clients");
        let valid = k.issue(&alice(), Timestamp::now()).await.unwrap();
        let mut parts: Vec<String> = valid.split('.').map(str::to_owned).collect();
        let claims = String::from_utf8(URL_SAFE_NO_PAD.decode(&parts[1]).unwrap()).unwrap();
        parts[1] = URL_SAFE_NO_PAD.encode(claims.replace("customer", "admin"));
        assert!(k.verify(&parts.join(".")).await.is_err());
    }

    #[tokio::test]
    async fn session_tokens_carry_sid() {
        let k = keys(SECRET, "clients");
        let token = k
            .issue_in_session(&alice(), Some("abc123"), Timestamp::now())
            .await
            .unwrap();
        let claims = URL_SAFE_NO_PAD
            .decode(token.split('.').nth(1).unwrap())
            .unwrap();
        let claims: Claims = serde_json::from_slice(&claims).unwrap();
        assert_eq!(claims.sid.as_deref(), Some("abc123"));
        assert_eq!(k.verify(&token).await.unwrap(), alice());
    }

    #[tokio::test]
    async fn a_token_issued_in_the_future_is_refused_beyond_the_leeway() {
        let k = keys(SECRET, "clients");
        let now = Timestamp::now().unix();
        let skewed = k
            .issue(&alice(), Timestamp::from_unix(now + 10))
            .await
            .unwrap();
        assert_eq!(
            k.verify(&skewed).await.unwrap(),
            alice(),
            "within the leeway"
        );
        let leeway = i64::try_from(LEEWAY_SECONDS).unwrap();
        let future = k
            .issue(&alice(), Timestamp::from_unix(now + leeway + 60))
            .await
            .unwrap();
        assert!(
            matches!(k.verify(&future).await, Err(AppError::Unauthorized(_))),
            "iat a minute past the leeway, though exp is valid"
        );
    }
}
