//! Money as integer cents. Parsing reads the decimal text of the JSON number, so a
//! float never touches an amount.

use std::fmt;

use serde::de::Error as _;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::value::RawValue;

/// The largest accepted amount: 1,000,000,000.00.
pub const MAX_CENTS: i64 = 100_000_000_000;

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Money(i64);

impl Money {
    pub const ZERO: Money = Money(0);

    /// Wraps cents read back from the store (already validated when written).
    pub const fn from_cents(cents: i64) -> Money {
        Money(cents)
    }

    pub const fn cents(self) -> i64 {
        self.0
    }

    /// Parses the decimal text of an amount: `12`, `12.5`, `12.50`. At most two
    /// significant decimals, not negative, at most 1,000,000,000.00; no exponents.
    pub fn parse(text: &str) -> Result<Money, String> {
        let text = text.trim();
        if text.starts_with('-') {
            return Err("must not be negative".into());
        }
        if text.contains(['e', 'E']) {
            return Err("must be written as a plain decimal number (no exponent)".into());
        }
        let (int, frac) = text.split_once('.').unwrap_or((text, ""));
        if int.is_empty()
            || !int.bytes().all(|b| b.is_ascii_digit())
            || !frac.bytes().all(|b| b.is_ascii_digit())
        {
            return Err("must be a decimal number".into());
        }
        if text.contains('.') && frac.is_empty() {
            return Err("must be a decimal number".into());
        }
        let frac = frac.trim_end_matches('0');
        if frac.len() > 2 {
            return Err("must have at most two decimals".into());
        }
        let int = int.trim_start_matches('0');
        if int.len() > 10 {
            return Err("must be at most 1000000000.00".into());
        }
        let whole: i64 = if int.is_empty() {
            0
        } else {
            int.parse().map_err(|_| "must be a decimal number")?
        };
        let mut cents_part: i64 = if frac.is_empty() {
            0
        } else {
            frac.parse().map_err(|_| "must be a decimal number")?
        };
        if frac.len() == 1 {
            cents_part *= 10;
        }
        let cents = whole * 100 + cents_part;
        if cents > MAX_CENTS {
            return Err("must be at most 1000000000.00".into());
        }
        Ok(Money(cents))
    }

    pub fn checked_add(self, other: Money) -> Option<Money> {
        self.0.checked_add(other.0).map(Money)
    }

    pub fn checked_mul(self, times: u32) -> Option<Money> {
        self.0.checked_mul(i64::from(times)).map(Money)
    }

    /// `basis_points` / 10 000 of this amount, rounded half-up to the cent.
    pub fn percent_bps(self, basis_points: u32) -> Money {
        let scaled = i128::from(self.0) * i128::from(basis_points);
        let rounded = (scaled + 5_000).div_euclid(10_000);
        Money(i64::try_from(rounded).unwrap_or(i64::MAX))
    }
}

impl fmt::Display for Money {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sign = if self.0 < 0 { "-" } else { "" };
        let abs = self.0.unsigned_abs();
        write!(f, "{sign}{}.{:02}", abs / 100, abs % 100)
    }
}

/// Written as a JSON number with two decimals (`1299.99`), straight from the cents.
impl Serialize for Money {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let raw = RawValue::from_string(self.to_string()).map_err(serde::ser::Error::custom)?;
        raw.serialize(serializer)
    }
}

/// Read from a JSON number's own text, never through `f64`.
impl<'de> Deserialize<'de> for Money {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let raw: Box<RawValue> = Deserialize::deserialize(deserializer)?;
        let text = raw.get();
        if !text.starts_with(|c: char| c.is_ascii_digit() || c == '-') {
            return Err(D::Error::custom(format!(
                "invalid type: {text}, expected a number"
            )));
        }
        Money::parse(text).map_err(D::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_decimal_text_exactly() {
        assert_eq!(Money::parse("1299.99").unwrap().cents(), 129_999);
        assert_eq!(Money::parse("0.1").unwrap().cents(), 10);
        assert_eq!(Money::parse("12").unwrap().cents(), 1200);
        assert_eq!(Money::parse("12.500").unwrap().cents(), 1250);
        assert_eq!(Money::parse("0").unwrap().cents(), 0);
        assert_eq!(Money::parse("1000000000.00").unwrap().cents(), MAX_CENTS);
    }

    #[test]
    fn refuses_bad_amounts() {
        for bad in [
            "-1",
            "1.001",
            "1000000000.01",
            "99999999999",
            "1e3",
            "",
            ".5",
            "5.",
            "NaN",
            "1.2.3",
            "abc",
        ] {
            assert!(Money::parse(bad).is_err(), "{bad} should be refused");
        }
    }

    #[test]
    fn three_times_ten_cents_is_thirty_cents() {
        let dime = Money::parse("0.10").unwrap();
        assert_eq!(dime.checked_mul(3).unwrap().to_string(), "0.30");
    }

    #[test]
    fn tax_rounds_half_up() {
        // 10 % of 0.05 is 0.005, which rounds up to 0.01.
        assert_eq!(Money::from_cents(5).percent_bps(1000).cents(), 1);
        // 10 % of 0.04 is 0.004, which rounds down to 0.00.
        assert_eq!(Money::from_cents(4).percent_bps(1000).cents(), 0);
        assert_eq!(Money::from_cents(129_999).percent_bps(1000).cents(), 13_000);
        assert_eq!(Money::from_cents(1000).percent_bps(0).cents(), 0);
    }

    #[test]
    fn json_round_trip_keeps_two_decimals() {
        let m: Money = serde_json::from_str("19.9").unwrap();
        assert_eq!(serde_json::to_string(&m).unwrap(), "19.90");
        assert!(serde_json::from_str::<Money>("\"19.90\"").is_err());
        assert!(serde_json::from_str::<Money>("-3").is_err());
    }
}
