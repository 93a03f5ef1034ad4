//! Durations in scenario files: `500ms`, `90s`, `10m`, `1h`, combinations such as `1m30s`, or a
//! plain number of seconds (decimals allowed). Parsing only.

/// Longest duration a file may name (30 days), so sums never overflow.
pub const MAX_DURATION_MS: u64 = 30 * 24 * 3_600_000;

/// Parses a duration into milliseconds; the error says what is accepted.
pub fn parse_ms(text: &str) -> Result<u64, String> {
    let bad = || {
        format!("'{text}' is not a duration (write e.g. 500ms, 90s, 10m, 1h, 1m30s, or seconds as a number)")
    };
    // `show` writes `12m 30s`; it reads back.
    let compact: String = text.chars().filter(|c| !c.is_whitespace()).collect();
    let trimmed = compact.as_str();
    if trimmed.is_empty() {
        return Err(bad());
    }
    if let Ok(seconds) = trimmed.parse::<f64>() {
        return from_seconds(seconds).ok_or_else(bad);
    }
    let mut total_ms: f64 = 0.0;
    let mut rest = trimmed;
    while !rest.is_empty() {
        let digits = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .ok_or_else(bad)?;
        if digits == 0 {
            return Err(bad());
        }
        let number: f64 = rest[..digits].parse().map_err(|_| bad())?;
        rest = &rest[digits..];
        let unit_len = rest.find(|c: char| c.is_ascii_digit()).unwrap_or(rest.len());
        let factor_ms = match &rest[..unit_len] {
            "ms" => 1.0,
            "s" => 1_000.0,
            "m" | "min" => 60_000.0,
            "h" => 3_600_000.0,
            _ => return Err(bad()),
        };
        total_ms += number * factor_ms;
        rest = &rest[unit_len..];
    }
    from_seconds(total_ms / 1_000.0).ok_or_else(bad)
}

fn from_seconds(seconds: f64) -> Option<u64> {
    #[allow(clippy::cast_precision_loss)] // the bound is far below 2^52
    let max_s = (MAX_DURATION_MS / 1_000) as f64;
    if !seconds.is_finite() || !(0.0..=max_s).contains(&seconds) {
        return None;
    }
    // Bounded and non-negative: the conversion cannot truncate meaningfully.
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
    Some((seconds * 1_000.0).round() as u64)
}

/// `750ms`, `42s`, `12m 30s`, `1h 5m`: how reports and messages show a duration.
pub fn show(ms: u64) -> String {
    if ms < 1_000 {
        return format!("{ms}ms");
    }
    let seconds = ms / 1_000;
    let (h, m, s) = (seconds / 3_600, seconds / 60 % 60, seconds % 60);
    let tenths = ms % 1_000 / 100;
    match (h, m) {
        (0, 0) if tenths > 0 => format!("{s}.{tenths}s"),
        (0, 0) => format!("{s}s"),
        (0, _) if s == 0 => format!("{m}m"),
        (0, _) => format!("{m}m {s}s"),
        _ if m == 0 => format!("{h}h"),
        _ => format!("{h}h {m}m"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn units_and_combinations() {
        assert_eq!(parse_ms("500ms"), Ok(500));
        assert_eq!(parse_ms("90s"), Ok(90_000));
        assert_eq!(parse_ms("10m"), Ok(600_000));
        assert_eq!(parse_ms("1h"), Ok(3_600_000));
        assert_eq!(parse_ms("1m30s"), Ok(90_000));
        assert_eq!(parse_ms(&show(750_000)), Ok(750_000));
        assert_eq!(parse_ms("1.5"), Ok(1_500));
        assert_eq!(parse_ms("0"), Ok(0));
        for bad in ["", "ten", "5x", "-1", "m", "31d", "1e9"] {
            assert!(parse_ms(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn shown_compactly() {
        assert_eq!(show(750), "750ms");
        assert_eq!(show(1_500), "1.5s");
        assert_eq!(show(42_000), "42s");
        assert_eq!(show(750_000), "12m 30s");
        assert_eq!(show(600_000), "10m");
        assert_eq!(show(3_900_000), "1h 5m");
    }
}
