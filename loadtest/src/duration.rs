//! Parses human durations for the command line: `30s`, `2m`, `500ms`, `1h`, `1m30s`, or bare seconds.

use std::time::Duration;

/// Why a duration could not be parsed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DurationError {
    #[error("empty duration")]
    Empty,
    #[error("`{0}` is not a duration: use forms like 30s, 2m, 500ms, 1h or 1m30s")]
    Malformed(String),
    #[error("`{0}` is too long")]
    TooLong(String),
}

/// Longest duration accepted anywhere on the command line: a load test is not a soak test.
pub const DURATION_SECS_MAX: u64 = 24 * 60 * 60;

/// Parses `text` as a sum of `<integer><unit>` parts (units `ms`, `s`, `m`, `h`); a bare integer
/// means seconds.
pub fn parse_duration(text: &str) -> Result<Duration, DurationError> {
    let text = text.trim();
    if text.is_empty() {
        return Err(DurationError::Empty);
    }
    if let Ok(secs) = text.parse::<u64>() {
        return checked(Duration::from_secs(secs), text);
    }
    let malformed = || DurationError::Malformed(text.to_owned());
    let mut total_ms: u64 = 0;
    let mut rest = text;
    while !rest.is_empty() {
        let digits = rest.find(|c: char| !c.is_ascii_digit()).unwrap_or(rest.len());
        if digits == 0 {
            return Err(malformed());
        }
        let value: u64 = rest[..digits].parse().map_err(|_| malformed())?;
        rest = &rest[digits..];
        let unit_len = rest.find(|c: char| c.is_ascii_digit()).unwrap_or(rest.len());
        let unit_ms: u64 = match &rest[..unit_len] {
            "ms" => 1,
            "s" => 1_000,
            "m" => 60_000,
            "h" => 3_600_000,
            _ => return Err(malformed()),
        };
        rest = &rest[unit_len..];
        let part = value.checked_mul(unit_ms).ok_or_else(|| DurationError::TooLong(text.to_owned()))?;
        total_ms = total_ms.checked_add(part).ok_or_else(|| DurationError::TooLong(text.to_owned()))?;
    }
    checked(Duration::from_millis(total_ms), text)
}

fn checked(duration: Duration, text: &str) -> Result<Duration, DurationError> {
    if duration > Duration::from_secs(DURATION_SECS_MAX) {
        return Err(DurationError::TooLong(text.to_owned()));
    }
    Ok(duration)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_single_units() {
        assert_eq!(parse_duration("30s"), Ok(Duration::from_secs(30)));
        assert_eq!(parse_duration("2m"), Ok(Duration::from_secs(120)));
        assert_eq!(parse_duration("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_duration("1h"), Ok(Duration::from_secs(3600)));
        assert_eq!(parse_duration("0s"), Ok(Duration::ZERO));
    }

    #[test]
    fn parses_bare_seconds_and_compounds() {
        assert_eq!(parse_duration("45"), Ok(Duration::from_secs(45)));
        assert_eq!(parse_duration("1m30s"), Ok(Duration::from_secs(90)));
        assert_eq!(parse_duration(" 1s500ms "), Ok(Duration::from_millis(1500)));
    }

    #[test]
    fn rejects_garbage() {
        assert_eq!(parse_duration(""), Err(DurationError::Empty));
        for bad in ["s", "10x", "1.5s", "-3s", "m5", "10 s", "5sec"] {
            assert!(matches!(parse_duration(bad), Err(DurationError::Malformed(_))), "{bad}");
        }
    }

    #[test]
    fn rejects_overlong() {
        assert!(matches!(parse_duration("25h"), Err(DurationError::TooLong(_))));
        assert!(matches!(parse_duration("99999999999999999999h"), Err(DurationError::Malformed(_))));
        assert!(matches!(parse_duration("18446744073709551615h"), Err(DurationError::TooLong(_))));
    }
}
