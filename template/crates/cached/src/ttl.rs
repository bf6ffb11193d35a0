//! A TTL written with its unit, as in `ttl = "10m"`: `500ms`, `30s`, `10m`, `1h`.
//!
//! The unit is required because a bare number is ambiguous (aiocache's `ttl=600` is
//! seconds, Redis's `PX` is milliseconds); the value is turned into milliseconds at
//! compile time, so a typo is a compile error and not a surprise in production.

/// The units a TTL may be written in, longest suffix first so `ms` is not read as `s`.
const UNITS: [(&str, u64); 4] = [("ms", 1), ("s", 1_000), ("m", 60_000), ("h", 3_600_000)];

/// Milliseconds of a TTL such as `"10m"`, or a one-line message naming the problem and
/// the accepted forms.
pub fn parse_millis(text: &str) -> Result<u64, String> {
    let digits_end = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(digits_end);
    let Some(&(_, unit_millis)) = UNITS.iter().find(|(name, _)| *name == unit) else {
        return Err(format!(
            "ttl \"{text}\" is not a duration: write a whole number and a unit, as in \"500ms\", \"30s\", \"10m\" or \"1h\""
        ));
    };
    if number.is_empty() {
        return Err(format!(
            "ttl \"{text}\" has no whole number before its unit: write it as in \"30s\" or \"10m\""
        ));
    }
    // Only digits are left, so a number that does not parse is one too big for u64.
    let millis = number
        .parse::<u64>()
        .ok()
        .and_then(|count| count.checked_mul(unit_millis));
    match millis {
        Some(0) => Err(format!(
            "ttl \"{text}\" is zero: an entry must live at least 1ms; leave ttl out for the alias's default TTL"
        )),
        Some(millis) => Ok(millis),
        None => Err(format!(
            "ttl \"{text}\" is too long to count in milliseconds: the engine keeps an entry 10 years at most anyway"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::parse_millis;

    #[test]
    fn each_unit_is_read() {
        assert_eq!(parse_millis("500ms"), Ok(500));
        assert_eq!(parse_millis("30s"), Ok(30_000));
        assert_eq!(parse_millis("10m"), Ok(600_000));
        assert_eq!(parse_millis("1h"), Ok(3_600_000));
        assert_eq!(parse_millis("90m"), Ok(5_400_000));
    }

    #[test]
    fn a_missing_or_unknown_unit_is_refused_with_the_forms_accepted() {
        for text in ["600", "10 m", "10min", "1d", "m", "", "-5s", "1.5s"] {
            let message = parse_millis(text).unwrap_err();
            assert!(message.contains(&format!("\"{text}\"")), "{message}");
            assert!(
                message.contains("\"30s\""),
                "names an accepted form: {message}"
            );
        }
    }

    #[test]
    fn zero_and_overflow_are_refused() {
        assert!(parse_millis("0s").unwrap_err().contains("at least 1ms"));
        assert!(parse_millis("0ms").unwrap_err().contains("at least 1ms"));
        let huge = format!("{}h", u64::MAX / 1000);
        assert!(parse_millis(&huge).unwrap_err().contains("too long"));
        let beyond_u64 = format!("{}0s", u64::MAX);
        assert!(parse_millis(&beyond_u64).unwrap_err().contains("too long"));
    }
}
