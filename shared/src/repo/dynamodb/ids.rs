//! Ids without a hot item. The previous version took every id of a kind from
//! one counter item (`COUNTER` / `ORDER`, ...), so every order placed in the
//! whole system updated the same item, and one item can take at most 1,000
//! write units a second. Now an id is made where it is needed:
//!
//! ```text
//! id = (milliseconds since 2025-01-01 UTC) << 12  |  12 low bits
//! ```
//!
//! The low bits start at a random value and the process never hands out an
//! id at or below its last one (`IdClock`), so ids are increasing within a
//! process and, across processes, in time order up to the clocks' skew and the
//! millisecond. They stay below 2^53 until 2094 (2^41 ms after the epoch).
//!
//! Uniqueness is the write's job, not the clock's: every item keyed by a new
//! id is written with `attribute_not_exists(PK)`. Two processes meet on an id
//! only when they draw the same low bits in the same millisecond (about 1 in
//! 4,096 for two writes of a kind in one millisecond); the loser's condition
//! fails and it tries again with a fresh id, up to `ID_ATTEMPTS` times.
//!
//! Ids from the old counter are small (1, 2, ...), below every id made here,
//! so data written by the previous version keeps its place in every order.

use std::sync::atomic::{AtomicI64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use crate::domain::MAX_ID;
use crate::error::{AppError, AppResult};
use crate::repo::random;

/// 2025-01-01T00:00:00Z, in Unix milliseconds.
const EPOCH_MS: i64 = 1_735_689_600_000;
/// The bits below the millisecond: room for a block of up to 4,096 ids.
const LOW_BITS: u32 = 12;
/// Writes of a new item try this many fresh ids before giving up. Five
/// collisions in a row do not happen by chance (about 2^-60); they mean a
/// broken clock or a table restored over newer ids.
pub(super) const ID_ATTEMPTS: usize = 5;

/// The process's id source.
static CLOCK: IdClock = IdClock::new();

/// The first of `count` consecutive fresh ids (a block, for the catalog).
pub(super) fn fresh_ids(count: usize) -> AppResult<i64> {
    let now_ms = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or_default();
    CLOCK.next(now_ms, random::token(), count)
}

pub(super) fn fresh_id() -> AppResult<i64> {
    fresh_ids(1)
}

/// The error when every attempt met an existing item.
pub(super) fn exhausted(kind: &str) -> AppError {
    AppError::internal(format!(
        "every fresh {kind} id of {ID_ATTEMPTS} attempts was taken"
    ))
}

/// Hands out ids above the last one it handed out.
struct IdClock {
    last: AtomicI64,
}

impl IdClock {
    const fn new() -> IdClock {
        IdClock {
            last: AtomicI64::new(0),
        }
    }

    /// The first of `count` ids, made from the time and `random` (for the
    /// low bits), and above every id this clock handed out before.
    fn next(&self, now_ms: i64, random: u64, count: usize) -> AppResult<i64> {
        let block = 1_i64 << LOW_BITS;
        let count = i64::try_from(count)
            .ok()
            .filter(|c| (1..=block).contains(c))
            .ok_or_else(|| AppError::internal(format!("cannot make {count} ids at once")))?;
        // A block of `count` fits in the low bits wherever it starts in [0, span).
        let span = (block - count + 1) as u64;
        let low = (random % span) as i64;
        let candidate = ((now_ms - EPOCH_MS).max(0) << LOW_BITS) | low;
        let mut first = candidate;
        // Only `Ok` is possible: the closure always returns `Some`.
        let _ = self
            .last
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |last| {
                first = candidate.max(last + 1);
                Some(first + count - 1)
            });
        if first + count - 1 > MAX_ID {
            return Err(AppError::internal(
                "the id clock is past 2^53 (the year 2094, or a wrong clock)",
            ));
        }
        Ok(first)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// 2026-11-20T05:30:00Z.
    const NOW: i64 = 1_795_152_600_000;

    #[test]
    fn ids_carry_the_time_above_the_low_bits() {
        let clock = IdClock::new();
        let id = clock.next(NOW, 7, 1).unwrap();
        assert_eq!(id, ((NOW - EPOCH_MS) << LOW_BITS) | 7);
        assert_eq!((id >> LOW_BITS) + EPOCH_MS, NOW);
        // Later milliseconds make larger ids, whatever the random bits.
        assert!(clock.next(NOW + 1, 0, 1).unwrap() > id);
    }

    #[test]
    fn ids_never_repeat_or_go_back_within_a_process() {
        let clock = IdClock::new();
        let first = clock.next(NOW, 4_000, 1).unwrap();
        // The same millisecond with smaller random bits, and a clock that stepped back.
        let second = clock.next(NOW, 3, 1).unwrap();
        let third = clock.next(NOW - 5_000, 3, 1).unwrap();
        assert_eq!((second, third), (first + 1, first + 2));
    }

    #[test]
    fn a_block_is_consecutive_and_stays_in_its_millisecond() {
        let clock = IdClock::new();
        let first = clock.next(NOW, u64::MAX, 99).unwrap();
        let last = first + 98;
        assert_eq!(first >> LOW_BITS, last >> LOW_BITS);
        assert!(clock.next(NOW, 0, 1).unwrap() > last);
        assert!(clock.next(NOW, 0, 0).is_err());
        assert!(clock.next(NOW, 0, 4_097).is_err());
    }

    #[test]
    fn ids_stay_below_2_pow_53_until_2094() {
        let clock = IdClock::new();
        let last_ms = EPOCH_MS + (1 << 41) - 1;
        assert_eq!(clock.next(last_ms, u64::MAX, 1).unwrap(), MAX_ID);
        assert!(clock.next(last_ms + 1, 0, 1).is_err());
        // Ids made now are far above any id from the old counter.
        assert!(IdClock::new().next(NOW, 0, 1).unwrap() > 1 << 40);
    }
}
