//! Unpredictable 64-bit values without a dependency, for the backends that
//! need them: ClickHouse's claim tokens and ids, DynamoDB's id low bits.

use std::hash::{BuildHasher, Hasher};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

/// 64 unpredictable bits: SipHash, keyed with the process's random
/// `RandomState` keys (from the OS), of the clock and a process-wide counter.
pub(crate) fn token() -> u64 {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    hasher.write_u64(COUNTER.fetch_add(1, Ordering::Relaxed));
    hasher.write_u128(
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or_default(),
    );
    hasher.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_differ() {
        let tokens: std::collections::HashSet<u64> = (0..10_000).map(|_| token()).collect();
        assert_eq!(tokens.len(), 10_000);
    }
}
