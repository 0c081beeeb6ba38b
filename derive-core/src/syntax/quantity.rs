//! Kubernetes resource quantities (`500m`, `1.5`, `256Mi`, `2G`, `1e3`), parsed exactly so that
//! quota arithmetic never rounds down a request.

use std::fmt;

/// A non-negative quantity held exactly as `digits × 10^exp10 × 2^exp2`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Quantity {
    digits: u128,
    exp10: i32,
    exp2: u32,
}

/// Why a string is not a quantity.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{given:?} is not a Kubernetes quantity: {problem}")]
pub struct InvalidQuantity {
    /// The string given.
    pub given: String,
    /// What is wrong.
    pub problem: &'static str,
}

impl Quantity {
    /// Parses a quantity; negative quantities are refused (no resource amount is negative).
    pub fn parse(s: &str) -> Result<Self, InvalidQuantity> {
        let fail = |problem| InvalidQuantity {
            given: s.to_string(),
            problem,
        };
        let number_end = s
            .find(|c: char| !(c.is_ascii_digit() || c == '.' || c == '+'))
            .unwrap_or(s.len());
        let (number, suffix) = s.split_at(number_end);
        let number = number.strip_prefix('+').unwrap_or(number);
        if s.starts_with('-') {
            return Err(fail("it is negative"));
        }
        let (int_part, frac_part) = number.split_once('.').unwrap_or((number, ""));
        if int_part.is_empty() && frac_part.is_empty() {
            return Err(fail("it has no number"));
        }
        if !(int_part.bytes().all(|c| c.is_ascii_digit())
            && frac_part.bytes().all(|c| c.is_ascii_digit()))
        {
            return Err(fail("the number must be digits with at most one '.'"));
        }
        let all_digits = format!("{int_part}{frac_part}");
        let significant = all_digits.trim_start_matches('0');
        if significant.len() > 30 {
            return Err(fail("it has too many digits"));
        }
        let digits: u128 = if significant.is_empty() {
            0
        } else {
            significant
                .parse()
                .map_err(|_| fail("it has too many digits"))?
        };
        let frac_len =
            i32::try_from(frac_part.len()).map_err(|_| fail("it has too many digits"))?;
        let (exp10, exp2) = match suffix {
            "" => (0, 0),
            "n" => (-9, 0),
            "u" => (-6, 0),
            "m" => (-3, 0),
            "k" => (3, 0),
            "M" => (6, 0),
            "G" => (9, 0),
            "T" => (12, 0),
            "P" => (15, 0),
            "E" => (18, 0),
            "Ki" => (0, 10),
            "Mi" => (0, 20),
            "Gi" => (0, 30),
            "Ti" => (0, 40),
            "Pi" => (0, 50),
            "Ei" => (0, 60),
            exp if exp.starts_with(['e', 'E']) => {
                let e: i32 = exp[1..]
                    .parse()
                    .map_err(|_| fail("the exponent after 'e' must be an integer"))?;
                if !(-30..=30).contains(&e) {
                    return Err(fail("the exponent is out of range"));
                }
                (e, 0)
            }
            _ => {
                return Err(fail(
                    "the suffix must be one of n, u, m, k, M, G, T, P, E, Ki, Mi, Gi, Ti, Pi, Ei or an exponent",
                ));
            }
        };
        Ok(Self {
            digits,
            exp10: exp10 - frac_len,
            exp2,
        })
    }

    /// The value times `10^scale`, rounded up to an integer; `None` on overflow.
    /// `scaled_ceil(3)` of a CPU quantity is millicores; `scaled_ceil(0)` of memory is bytes.
    pub fn scaled_ceil(&self, scale: i32) -> Option<u128> {
        let base = self.digits.checked_mul(1u128.checked_shl(self.exp2)?)?;
        let exp = self.exp10 + scale;
        if exp >= 0 {
            base.checked_mul(10u128.checked_pow(u32::try_from(exp).ok()?)?)
        } else {
            let divisor = 10u128.checked_pow(u32::try_from(-exp).ok()?)?;
            Some(base.div_ceil(divisor))
        }
    }

    /// True if the quantity is zero.
    pub fn is_zero(&self) -> bool {
        self.digits == 0
    }
}

impl fmt::Display for Quantity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}e{}*2^{}", self.digits, self.exp10, self.exp2)
    }
}

/// Millicores of a CPU quantity, rounded up (as Kubernetes does below 1m).
pub fn cpu_millicores(s: &str) -> Result<u64, InvalidQuantity> {
    to_u64(s, 3)
}

/// Bytes of a memory or storage quantity, rounded up.
pub fn bytes(s: &str) -> Result<u64, InvalidQuantity> {
    to_u64(s, 0)
}

fn to_u64(s: &str, scale: i32) -> Result<u64, InvalidQuantity> {
    Quantity::parse(s)?
        .scaled_ceil(scale)
        .and_then(|v| u64::try_from(v).ok())
        .ok_or(InvalidQuantity {
            given: s.to_string(),
            problem: "it is too large",
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpu_quantities_become_millicores() {
        assert_eq!(cpu_millicores("500m"), Ok(500));
        assert_eq!(cpu_millicores("1"), Ok(1000));
        assert_eq!(cpu_millicores("1.5"), Ok(1500));
        assert_eq!(cpu_millicores("0.1"), Ok(100));
        assert_eq!(cpu_millicores(".25"), Ok(250));
        assert_eq!(cpu_millicores("100u"), Ok(1), "below 1m rounds up");
        assert_eq!(cpu_millicores("2e3"), Ok(2_000_000));
    }

    #[test]
    fn memory_quantities_become_bytes() {
        assert_eq!(bytes("64Mi"), Ok(64 * 1024 * 1024));
        assert_eq!(bytes("1Gi"), Ok(1 << 30));
        assert_eq!(bytes("1.5Gi"), Ok(3 << 29));
        assert_eq!(bytes("1G"), Ok(1_000_000_000));
        assert_eq!(bytes("128974848"), Ok(128_974_848));
        assert_eq!(bytes("129e6"), Ok(129_000_000));
        assert_eq!(bytes("123Mi"), Ok(123 * 1024 * 1024));
    }

    #[test]
    fn malformed_quantities_are_refused() {
        for bad in ["", "-1", "1x", "Mi", "1.2.3", "1 Gi", "1e", "1e99", "1Gib"] {
            assert!(Quantity::parse(bad).is_err(), "{bad:?} parsed");
        }
        assert!(bytes("99999999999Ei").is_err(), "overflow is an error");
    }
}
