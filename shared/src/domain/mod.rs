//! Validated domain types. A value of one of these types is valid by construction:
//! parsing is the only way in from the outside.

pub mod idempotency;
pub mod invoice;
pub mod money;
pub mod order;
pub mod product;
pub mod session;
pub mod user;

pub use idempotency::{ClaimOutcome, IdemClaim, IdemFinish, IdempotencyKey, StoredResponse};
pub use invoice::{Invoice, InvoiceItem, InvoiceStatus, NewInvoice, StatusChange};
pub use money::Money;
pub use order::{NewOrder, Order, OrderItem, OrderLine, Quantity};
pub use product::{NewProduct, Product, ProductPatch};
pub use session::{FailureWindow, NewSession, RefreshToken, RotateOutcome, Rotation, SessionOwner};
pub use user::{Identity, NewUser, Password, Role, User, UserRecord, Username};

use serde::{Serialize, Serializer};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::error::AppError;

/// Largest id a JavaScript client reads exactly (2^53 - 1).
pub const MAX_ID: i64 = (1 << 53) - 1;

/// Parses a positive integer id from a path segment or body; `what` names it in errors.
/// An integral number written with a zero fraction (`5.0`) is that integer, as
/// JSON Schema counts it (and as bodies already read it): clients that render
/// ids from such numbers into paths are not refused.
pub fn parse_id(text: &str, what: &str) -> Result<i64, AppError> {
    let digits = match text.split_once('.') {
        Some((whole, fraction)) if !fraction.is_empty() && fraction.bytes().all(|b| b == b'0') => {
            whole
        }
        _ => text,
    };
    match digits.parse::<i64>() {
        Ok(id) if (1..=MAX_ID).contains(&id) => Ok(id),
        _ => Err(AppError::validation(format!(
            "{what} must be a positive integer below 2^53"
        ))),
    }
}

/// A point in time, second precision, UTC. Stored as Unix seconds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp(i64);

impl Timestamp {
    pub fn now() -> Timestamp {
        Timestamp(OffsetDateTime::now_utc().unix_timestamp())
    }

    pub const fn from_unix(seconds: i64) -> Timestamp {
        Timestamp(seconds)
    }

    pub const fn unix(self) -> i64 {
        self.0
    }

    pub fn plus_days(self, days: i64) -> Timestamp {
        Timestamp(self.0 + days * 86_400)
    }

    pub fn year(self) -> i32 {
        self.to_datetime().year()
    }

    fn to_datetime(self) -> OffsetDateTime {
        OffsetDateTime::from_unix_timestamp(self.0).unwrap_or(OffsetDateTime::UNIX_EPOCH)
    }

    /// RFC 3339 in UTC with a `Z`: `2026-11-24T09:30:00Z`.
    pub fn rfc3339(self) -> String {
        self.to_datetime().format(&Rfc3339).unwrap_or_default()
    }
}

impl Serialize for Timestamp {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.rfc3339())
    }
}

/// One page of a list: `limit` items after the cursor position `after`.
/// For products the cursor is the last id seen (ascending); for orders and
/// invoices it is the last id seen walking newest first (descending).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PageRequest {
    pub limit: u32,
    pub after: Option<i64>,
}

impl PageRequest {
    pub const DEFAULT_LIMIT: u32 = 50;
    pub const MAX_LIMIT: u32 = 200;

    pub fn first(limit: u32) -> PageRequest {
        PageRequest { limit, after: None }
    }
}

/// A page of results and the cursor of the next page, if more remain.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub next_after: Option<i64>,
}

impl<T> Page<T> {
    /// Builds a page from up to `limit + 1` rows fetched by a backend: the extra
    /// row only says that more remain.
    pub fn from_overfetch(mut rows: Vec<T>, limit: u32, id_of: impl Fn(&T) -> i64) -> Page<T> {
        let limit = limit as usize;
        let more = rows.len() > limit;
        rows.truncate(limit);
        let next_after = if more { rows.last().map(id_of) } else { None };
        Page {
            items: rows,
            next_after,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_positive_and_below_2_pow_53() {
        assert_eq!(parse_id("7", "id").unwrap(), 7);
        assert_eq!(parse_id("5.0", "id").unwrap(), 5);
        assert_eq!(parse_id("5.00", "id").unwrap(), 5);
        for bad in [
            "0",
            "-1",
            "abc",
            "9007199254740992",
            "",
            "1.5",
            "5.",
            "5.0.0",
            ".0",
            "0.0",
        ] {
            assert!(parse_id(bad, "id").is_err(), "{bad}");
        }
    }

    #[test]
    fn timestamps_are_rfc3339_utc() {
        assert_eq!(
            Timestamp::from_unix(1_795_080_600).rfc3339(),
            "2026-11-19T09:30:00Z"
        );
    }
}
