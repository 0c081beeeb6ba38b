//! Go durations (`30s`, `1h`, `1h30m`, `500ms`), as ESO refresh intervals and scrape intervals
//! are written.

/// Why a string is not a Go duration.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "{given:?} is not a duration: write a number with a unit (ns, us, ms, s, m, h), e.g. 30s, 1h or 1h30m"
)]
pub struct InvalidDuration {
    /// The string given.
    pub given: String,
}

/// Parses a Go duration into nanoseconds. `0` alone is allowed, as in Go.
pub fn parse_nanos(s: &str) -> Result<u128, InvalidDuration> {
    let fail = || InvalidDuration {
        given: s.to_string(),
    };
    if s == "0" {
        return Ok(0);
    }
    if s.is_empty() {
        return Err(fail());
    }
    let mut rest = s;
    let mut total: u128 = 0;
    while !rest.is_empty() {
        let number_len = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .ok_or_else(fail)?;
        let (number, tail) = rest.split_at(number_len);
        let unit_len = tail
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(tail.len());
        let (unit, tail) = tail.split_at(unit_len);
        let unit_nanos: u128 = match unit {
            "ns" => 1,
            "us" | "µs" => 1_000,
            "ms" => 1_000_000,
            "s" => 1_000_000_000,
            "m" => 60_000_000_000,
            "h" => 3_600_000_000_000,
            _ => return Err(fail()),
        };
        let (int_part, frac_part) = number.split_once('.').unwrap_or((number, ""));
        if int_part.is_empty() && frac_part.is_empty() || frac_part.len() > 9 {
            return Err(fail());
        }
        let int: u128 = if int_part.is_empty() {
            0
        } else {
            int_part.parse().map_err(|_| fail())?
        };
        let frac_digits = u32::try_from(frac_part.len()).map_err(|_| fail())?;
        let frac: u128 = if frac_part.is_empty() {
            0
        } else {
            frac_part.parse().map_err(|_| fail())?
        };
        let part = int
            .checked_mul(unit_nanos)
            .and_then(|v| v.checked_add(frac * unit_nanos / 10u128.pow(frac_digits)))
            .ok_or_else(fail)?;
        total = total.checked_add(part).ok_or_else(fail)?;
        rest = tail;
    }
    Ok(total)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_durations_parse() {
        assert_eq!(parse_nanos("30s"), Ok(30_000_000_000));
        assert_eq!(parse_nanos("1h30m"), Ok(5_400_000_000_000));
        assert_eq!(parse_nanos("1.5h"), Ok(5_400_000_000_000));
        assert_eq!(parse_nanos("500ms"), Ok(500_000_000));
        assert_eq!(parse_nanos("0"), Ok(0));
    }

    #[test]
    fn malformed_durations_are_refused() {
        for bad in ["", "30", "s", "1d", "1h 30m", "-1s", "1..5s"] {
            assert!(parse_nanos(bad).is_err(), "{bad:?} parsed");
        }
    }
}
