//! Money as integer micro-units of the configured currency (1 USD = 1 000 000 micro-dollars),
//! so sums and comparisons are exact. A `u64` holds amounts up to 18 trillion per hour.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Micro-units per unit of currency.
pub const MICROS_PER_UNIT: u64 = 1_000_000;

/// An amount of money in micro-units (micro-dollars for USD).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct MicroDollars(pub u64);

/// Why a money amount was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{given:?} is not an amount of money: {problem}")]
pub struct InvalidMoney {
    /// The text given.
    pub given: String,
    /// What is wrong.
    pub problem: &'static str,
}

impl MicroDollars {
    /// Parses a non-negative decimal (`0.04`, `3`, `2.5`) with at most six decimal places.
    pub fn parse(text: &str) -> Result<Self, InvalidMoney> {
        let fail = |problem| InvalidMoney {
            given: text.to_string(),
            problem,
        };
        let t = text.trim().strip_prefix('$').unwrap_or(text.trim());
        if t.starts_with('-') {
            return Err(fail("it is negative"));
        }
        let (int, frac) = t.split_once('.').unwrap_or((t, ""));
        if int.is_empty() && frac.is_empty() {
            return Err(fail("it has no digits"));
        }
        if !int.bytes().chain(frac.bytes()).all(|c| c.is_ascii_digit()) {
            return Err(fail("it must be a decimal number like 0.04"));
        }
        if frac.len() > 6 {
            return Err(fail(
                "it has more than six decimal places (amounts are kept in micro-units)",
            ));
        }
        let int: u64 = if int.is_empty() {
            0
        } else {
            int.parse().map_err(|_| fail("it is too large"))?
        };
        let frac_micros: u64 = format!("{frac:0<6}")
            .parse()
            .map_err(|_| fail("it must be a decimal number like 0.04"))?;
        int.checked_mul(MICROS_PER_UNIT)
            .and_then(|m| m.checked_add(frac_micros))
            .map(Self)
            .ok_or_else(|| fail("it is too large"))
    }

    /// Saturating sum.
    pub fn saturating_add(self, other: Self) -> Self {
        Self(self.0.saturating_add(other.0))
    }
}

impl fmt::Display for MicroDollars {
    /// `1.25`, `2.00`, `0.000125`: at least two decimals, no trailing zeros beyond them.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let int = self.0 / MICROS_PER_UNIT;
        let frac = format!("{:06}", self.0 % MICROS_PER_UNIT);
        let trimmed = frac.trim_end_matches('0');
        let shown = if trimmed.len() < 2 {
            &frac[..2]
        } else {
            trimmed
        };
        write!(f, "{int}.{shown}")
    }
}

impl Serialize for MicroDollars {
    /// As the decimal string, so JSON consumers never see float rounding.
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for MicroDollars {
    /// From a decimal string or a YAML/JSON number.
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            Text(String),
            Unsigned(u64),
            Float(f64),
        }
        let text = match Raw::deserialize(deserializer)? {
            Raw::Text(s) => s,
            Raw::Unsigned(n) => n.to_string(),
            // Shortest text that reads back as the same f64: 0.04 → "0.04".
            Raw::Float(f) => f.to_string(),
        };
        Self::parse(&text).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimals_parse_exactly() {
        assert_eq!(MicroDollars::parse("0.04"), Ok(MicroDollars(40_000)));
        assert_eq!(MicroDollars::parse("3"), Ok(MicroDollars(3_000_000)));
        assert_eq!(MicroDollars::parse("$2.5"), Ok(MicroDollars(2_500_000)));
        assert_eq!(MicroDollars::parse(".000001"), Ok(MicroDollars(1)));
        for bad in [
            "",
            "-1",
            "1.0000001",
            "abc",
            "1.2.3",
            "99999999999999999999",
        ] {
            assert!(MicroDollars::parse(bad).is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn display_keeps_two_decimals_and_drops_trailing_zeros() {
        assert_eq!(MicroDollars(1_250_000).to_string(), "1.25");
        assert_eq!(MicroDollars(2_000_000).to_string(), "2.00");
        assert_eq!(MicroDollars(125).to_string(), "0.000125");
        assert_eq!(MicroDollars(0).to_string(), "0.00");
        assert_eq!(MicroDollars(40_000).to_string(), "0.04");
    }

    #[test]
    fn numbers_from_yaml_read_exactly() {
        let v: MicroDollars = serde_json::from_str("0.04").unwrap();
        assert_eq!(v, MicroDollars(40_000));
        let v: MicroDollars = serde_json::from_str("\"0.005\"").unwrap();
        assert_eq!(v, MicroDollars(5_000));
        assert_eq!(serde_json::to_string(&v).unwrap(), "\"0.005\"");
    }
}
