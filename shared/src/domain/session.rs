//! Sessions and login throttling.
//!
//! A login opens a **session** (a family of refresh tokens, named by a random
//! session id that access tokens carry as `sid`) with its first refresh token.
//! A refresh **rotates**: the presented token is spent and a new one of the
//! same session is issued, atomically, so of two refreshes with one token only
//! one gets a new token. A spent token presented again means two parties hold
//! the session (a stolen copy, or a client that raced itself): the whole
//! session is revoked, and every token of it dies, the newest one included.
//!
//! Refresh tokens are 256 bits from the OS's random source, URL-safe base64
//! (43 characters) on the wire; stores keep only their SHA-256, so a copy of
//! the store does not hold usable tokens.
//!
//! Login throttling counts failed logins per lower-cased username in a fixed
//! window that opens at the first failure and lasts `LOGIN_FAILURE_WINDOW_SECONDS`;
//! from the `LOGIN_FAILURE_LIMIT`th failure on, logins for that name are refused
//! until the window closes.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sha2::{Digest, Sha256};

use super::Timestamp;
use crate::error::AppError;

/// Default lifetime of a refresh token (`REFRESH_TTL_SECONDS`): 30 days.
pub const DEFAULT_REFRESH_TTL_SECONDS: u64 = 30 * 86_400;
/// Random bytes in a refresh token (256 bits).
pub const REFRESH_TOKEN_BYTES: usize = 32;
/// Length of a refresh token on the wire: 32 bytes in unpadded base64.
pub const REFRESH_TOKEN_LEN: usize = 43;
/// Failed logins for one username that close login for it...
pub const LOGIN_FAILURE_LIMIT: u32 = 5;
/// ...for the rest of this window, opened by the first failure (15 minutes).
pub const LOGIN_FAILURE_WINDOW_SECONDS: i64 = 15 * 60;

/// A refresh token as the client holds it. Its `Debug` never shows it.
#[derive(Clone, PartialEq, Eq)]
pub struct RefreshToken(String);

impl std::fmt::Debug for RefreshToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("RefreshToken(..)")
    }
}

impl RefreshToken {
    /// 256 fresh bits from the OS.
    pub fn generate() -> Result<RefreshToken, AppError> {
        let mut bytes = [0u8; REFRESH_TOKEN_BYTES];
        getrandom::fill(&mut bytes).map_err(AppError::internal)?;
        Ok(RefreshToken(URL_SAFE_NO_PAD.encode(bytes)))
    }

    /// A token from a request: exactly the shape this service issues, else
    /// `InvalidRefreshToken` (so nothing unbounded reaches a store).
    pub fn parse(text: &str) -> Result<RefreshToken, AppError> {
        let decoded = (text.len() == REFRESH_TOKEN_LEN)
            .then(|| URL_SAFE_NO_PAD.decode(text).ok())
            .flatten();
        match decoded {
            Some(bytes) if bytes.len() == REFRESH_TOKEN_BYTES => Ok(RefreshToken(text.to_owned())),
            _ => Err(AppError::InvalidRefreshToken),
        }
    }

    pub fn expose(&self) -> &str {
        &self.0
    }

    /// What the store keeps: SHA-256 of the token, hex.
    pub fn hash(&self) -> String {
        Sha256::digest(self.0.as_bytes())
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect()
    }
}

/// A new session id: 128 random bits, hex.
pub fn new_session_id() -> Result<String, AppError> {
    let mut bytes = [0u8; 16];
    getrandom::fill(&mut bytes).map_err(AppError::internal)?;
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
}

/// A session opened by a login, with its first refresh token (by hash).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewSession {
    pub session_id: String,
    pub user_id: i64,
    pub username: String,
    pub token_hash: String,
    pub created_at: Timestamp,
    /// When the first refresh token expires.
    pub expires_at: Timestamp,
}

/// A refresh: spend `presented`, issue `next` (both hashes) in the same session.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rotation {
    pub presented: String,
    pub next: String,
    /// The time of the refresh; passed in so tests can move the clock.
    pub now: Timestamp,
    /// When `next` expires.
    pub next_expires_at: Timestamp,
}

/// Whose session a token belongs to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SessionOwner {
    pub session_id: String,
    pub user_id: i64,
    pub username: String,
}

/// What a rotation did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RotateOutcome {
    /// The presented token is spent and `next` is live in the same session.
    Rotated(SessionOwner),
    /// The presented token had been spent before: the session is now revoked.
    Reused,
    /// Unknown, expired, or of a revoked session: nothing changed.
    Invalid,
}

/// The failed logins of one username in its current window.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FailureWindow {
    pub failures: u32,
    /// When the window opened (its first failure); it closes
    /// `LOGIN_FAILURE_WINDOW_SECONDS` later.
    pub opened_at: Timestamp,
}

impl FailureWindow {
    /// No failures: what a store answers for a name without an open window.
    pub fn empty(now: Timestamp) -> FailureWindow {
        FailureWindow {
            failures: 0,
            opened_at: now,
        }
    }

    pub fn closes_at(&self) -> Timestamp {
        Timestamp::from_unix(self.opened_at.unix() + LOGIN_FAILURE_WINDOW_SECONDS)
    }

    /// Whether a window that opened at `opened_at` is still open at `now`.
    pub fn is_open(opened_at: Timestamp, now: Timestamp) -> bool {
        opened_at.unix() + LOGIN_FAILURE_WINDOW_SECONDS > now.unix()
    }

    /// Seconds until login is allowed again, if it is closed at `now`.
    pub fn throttled_for(&self, now: Timestamp) -> Option<u64> {
        let left = self.closes_at().unix() - now.unix();
        (self.failures >= LOGIN_FAILURE_LIMIT && left > 0).then(|| u64::try_from(left).unwrap_or(1))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_256_random_bits_in_url_safe_base64() {
        let a = RefreshToken::generate().unwrap();
        let b = RefreshToken::generate().unwrap();
        assert_ne!(a, b);
        assert_eq!(a.expose().len(), REFRESH_TOKEN_LEN);
        assert!(
            a.expose()
                .bytes()
                .all(|c| c.is_ascii_alphanumeric() || c == b'-' || c == b'_')
        );
        assert_eq!(RefreshToken::parse(a.expose()).unwrap(), a);
        assert_eq!(a.hash().len(), 64);
        assert_ne!(a.hash(), b.hash());
        assert!(!format!("{a:?}").contains(a.expose()));
    }

    #[test]
    fn only_the_issued_shape_parses() {
        let good = RefreshToken::generate().unwrap();
        for bad in [
            String::new(),
            "x".repeat(43 * 100),
            format!("{}=", good.expose()),
            good.expose()[..42].to_owned(),
            format!("{}+", &good.expose()[..42]),
        ] {
            assert!(
                matches!(
                    RefreshToken::parse(&bad),
                    Err(AppError::InvalidRefreshToken)
                ),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn the_window_throttles_from_the_fifth_failure_until_it_closes() {
        let opened = Timestamp::from_unix(1_000);
        let window = |failures| FailureWindow {
            failures,
            opened_at: opened,
        };
        assert_eq!(window(4).throttled_for(Timestamp::from_unix(1_010)), None);
        assert_eq!(
            window(5).throttled_for(Timestamp::from_unix(1_010)),
            Some(890)
        );
        assert_eq!(window(5).throttled_for(Timestamp::from_unix(1_900)), None);
        assert!(FailureWindow::is_open(opened, Timestamp::from_unix(1_899)));
        assert!(!FailureWindow::is_open(opened, Timestamp::from_unix(1_900)));
    }
}
