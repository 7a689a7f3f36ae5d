//! Idempotent retries (`Idempotency-Key`): the key, the request's fingerprint,
//! the remembered response, and a claim on a key.
//!
//! A request with a key first claims it; the unit of work that creates
//! something then writes the remembered response in the same transaction (or
//! conditional write) as what it creates, conditional on still holding the
//! claim. So a crash leaves both or neither, and a holder whose lease lapsed
//! and was taken over cannot create a second order.

use sha2::{Digest, Sha256};

use super::Timestamp;
use crate::error::AppError;

/// How long a key and its remembered response live (API: 24 hours).
pub const IDEMPOTENCY_TTL_SECONDS: i64 = 24 * 3600;
/// Longest key the API accepts.
pub const MAX_KEY_LEN: usize = 255;

/// A client's `Idempotency-Key`: 1 to 255 printable ASCII characters.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IdempotencyKey(String);

impl IdempotencyKey {
    pub fn parse(text: &str) -> Result<IdempotencyKey, AppError> {
        if text.is_empty() || text.len() > MAX_KEY_LEN {
            return Err(AppError::InvalidIdempotencyKey(
                "Idempotency-Key must be 1 to 255 characters",
            ));
        }
        if !text.bytes().all(|b| (0x20..=0x7e).contains(&b)) {
            return Err(AppError::InvalidIdempotencyKey(
                "Idempotency-Key must be printable ASCII",
            ));
        }
        Ok(IdempotencyKey(text.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// SHA-256 (hex) of the method, the path and the body compared as JSON: the
/// body is parsed and written back with sorted keys and no whitespace
/// (serde_json's map is ordered), so key order and spacing do not matter. A
/// body that is not JSON is hashed as it came.
pub fn fingerprint(method: &str, path: &str, body: &[u8]) -> String {
    let canonical = serde_json::from_slice::<serde_json::Value>(body)
        .ok()
        .and_then(|v| serde_json::to_vec(&v).ok());
    let mut hash = Sha256::new();
    hash.update(method.as_bytes());
    hash.update(b"\n");
    hash.update(path.as_bytes());
    hash.update(b"\n");
    match canonical {
        Some(json) => {
            hash.update(b"json\n");
            hash.update(&json);
        }
        None => {
            hash.update(b"raw\n");
            hash.update(body);
        }
    }
    format!("{:x}", hash.finalize())
}

/// Whether an answer is final, so remembered for replay (API: 2xx, and 4xx
/// other than 401, 403, 409 in-use and 429). 5xx are not: a retry runs again.
pub fn is_remembered(status: u16, in_use: bool) -> bool {
    match status {
        200..=299 => true,
        401 | 403 | 429 => false,
        409 if in_use => false,
        400..=499 => true,
        _ => false,
    }
}

/// A response as it is remembered and replayed: status, body and `Location`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredResponse {
    pub status: u16,
    pub body: String,
    pub location: Option<String>,
}

/// One request's claim on a key. `token` is random per attempt: only the
/// holder of the current token may finish or release the key.
#[derive(Clone, Debug)]
pub struct IdemClaim {
    pub user_id: i64,
    pub key: IdempotencyKey,
    pub fingerprint: String,
    pub token: String,
    /// The time of the claim; passed in so tests can move the clock.
    pub now: Timestamp,
    /// Until then the claim holds; after it, a retry with the same fingerprint takes over.
    pub lease_until: Timestamp,
}

impl IdemClaim {
    pub fn new(
        user_id: i64,
        key: IdempotencyKey,
        fingerprint: String,
        now: Timestamp,
        lease_until: Timestamp,
    ) -> Result<IdemClaim, AppError> {
        Ok(IdemClaim {
            user_id,
            key,
            fingerprint,
            token: random_token()?,
            now,
            lease_until,
        })
    }

    /// When the key and its remembered response expire (24 h after the claim).
    pub fn expires_at(&self) -> Timestamp {
        Timestamp::from_unix(self.now.unix() + IDEMPOTENCY_TTL_SECONDS)
    }
}

/// 128 random bits from the OS, as hex.
fn random_token() -> Result<String, AppError> {
    let mut bytes = [0u8; 16];
    getrandom::fill(&mut bytes).map_err(AppError::internal)?;
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
}

/// What a claim found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ClaimOutcome {
    /// This request holds the key: run it.
    Claimed,
    /// The same request finished before: answer its response again.
    Replay(StoredResponse),
    /// The same request is running elsewhere (its lease has not lapsed).
    InProgress { lease_until: Timestamp },
    /// The key was used for a different method, path or body.
    Mismatch,
}

/// Decides a claim from the record the store holds for the key, as every
/// backend reads it back: whose token, which fingerprint, done or running.
pub fn outcome_of(
    claim: &IdemClaim,
    token: &str,
    fingerprint: &str,
    response: Option<StoredResponse>,
    lease_until: Timestamp,
) -> ClaimOutcome {
    if fingerprint != claim.fingerprint {
        ClaimOutcome::Mismatch
    } else if let Some(response) = response {
        ClaimOutcome::Replay(response)
    } else if token == claim.token {
        ClaimOutcome::Claimed
    } else {
        ClaimOutcome::InProgress { lease_until }
    }
}

/// The part of a creating unit of work that finishes a claim: the backend
/// calls `render` with the created value inside the unit of work and stores
/// the response with it, only while `claim.token` holds the key, or, on a
/// store that takes keys when creating (`IdempotencyRepo::takes_keys_when_creating`),
/// also when the key is free for `claim` to take.
pub struct IdemFinish<'a, T> {
    pub claim: &'a IdemClaim,
    pub render: &'a (dyn Fn(&T) -> StoredResponse + Send + Sync),
}

/// The id a value is rendered with before its database assigns the real one
/// (`IdemFinish::template`). No stored row has it: ids count up from 1.
pub const UNASSIGNED_ID: i64 = i64::MIN;

/// `UNASSIGNED_ID` as it reads in a rendered response: the marker a
/// template's body holds in place of the id.
pub const UNASSIGNED_ID_TEXT: &str = "-9223372036854775808";

impl<T> IdemFinish<'_, T> {
    /// The response for a value not stored yet, rendered with `UNASSIGNED_ID`
    /// as its id, so that the statement that stores the value can store its
    /// response too, writing in the id it assigns where `UNASSIGNED_ID_TEXT` stands
    /// (`StoredResponse::with_id` is the same substitution): one round trip
    /// instead of a transaction's four. `None` when `UNASSIGNED_ID_TEXT`
    /// does not stand exactly once in the body, or stands in the location
    /// (a name that happens to hold it): the substitution could then touch
    /// something else, and the caller renders inside a transaction instead.
    ///
    /// It renders through `render`, so a caller that uses a template still
    /// renders the stored value last: that rendering is the one sent.
    pub fn template(&self, unassigned: &T) -> Option<StoredResponse> {
        let template = (self.render)(unassigned);
        let in_location = template
            .location
            .as_deref()
            .is_some_and(|l| l.contains(UNASSIGNED_ID_TEXT));
        (template.body.matches(UNASSIGNED_ID_TEXT).count() == 1 && !in_location).then_some(template)
    }
}

impl StoredResponse {
    /// A template (`IdemFinish::template`) with the assigned `id` in place.
    pub fn with_id(&self, id: i64) -> StoredResponse {
        StoredResponse {
            status: self.status,
            body: self.body.replace(UNASSIGNED_ID_TEXT, &id.to_string()),
            location: self.location.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_unassigned_id_reads_as_its_marker() {
        assert_eq!(UNASSIGNED_ID.to_string(), UNASSIGNED_ID_TEXT);
    }

    #[test]
    fn keys_are_1_to_255_printable_ascii() {
        assert!(IdempotencyKey::parse("a").is_ok());
        assert!(IdempotencyKey::parse(&"k".repeat(255)).is_ok());
        assert!(IdempotencyKey::parse("order 42 / retry #1 ~").is_ok());
        for bad in ["", &"k".repeat(256), "tab\there", "é", "new\nline"] {
            assert!(
                matches!(
                    IdempotencyKey::parse(bad),
                    Err(AppError::InvalidIdempotencyKey(_))
                ),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn final_answers_are_remembered_and_5xx_are_not() {
        for status in [200, 201, 400, 404, 409, 413, 422] {
            assert!(is_remembered(status, false), "{status}");
        }
        for status in [401, 403, 429, 500, 503] {
            assert!(!is_remembered(status, false), "{status}");
        }
        assert!(!is_remembered(409, true));
    }

    #[test]
    fn fingerprints_compare_bodies_as_json() {
        let a = fingerprint("POST", "/orders", br#"{"product_id":2,"quantity":3}"#);
        let b = fingerprint(
            "POST",
            "/orders",
            b"{ \"quantity\": 3,\n \"product_id\": 2 }",
        );
        assert_eq!(a, b);
        assert_ne!(
            a,
            fingerprint("POST", "/orders", br#"{"product_id":2,"quantity":4}"#)
        );
        assert_ne!(
            a,
            fingerprint("POST", "/orders/bob", br#"{"product_id":2,"quantity":3}"#)
        );
        assert_ne!(
            a,
            fingerprint("PUT", "/orders", br#"{"product_id":2,"quantity":3}"#)
        );
        assert_eq!(a.len(), 64);
    }

    #[test]
    fn the_record_decides_the_outcome() {
        let claim = IdemClaim::new(
            1,
            IdempotencyKey::parse("k").unwrap(),
            "f".into(),
            Timestamp::from_unix(100),
            Timestamp::from_unix(130),
        )
        .unwrap();
        let done = StoredResponse {
            status: 201,
            body: "{}".into(),
            location: None,
        };
        let lease = Timestamp::from_unix(130);
        assert_eq!(
            outcome_of(&claim, &claim.token, "f", None, lease),
            ClaimOutcome::Claimed
        );
        assert_eq!(
            outcome_of(&claim, "other", "f", None, lease),
            ClaimOutcome::InProgress { lease_until: lease }
        );
        assert_eq!(
            outcome_of(&claim, "other", "f", Some(done.clone()), lease),
            ClaimOutcome::Replay(done.clone())
        );
        assert_eq!(
            outcome_of(&claim, "other", "g", Some(done), lease),
            ClaimOutcome::Mismatch
        );
        assert_eq!(claim.expires_at(), Timestamp::from_unix(100 + 86_400));
    }
}
