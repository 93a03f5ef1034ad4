//! Timestamp text: epoch seconds (`f64`) to and from ISO-8601 and RFC 822 (HTTP-date) strings.
//!
//! Pure calendar arithmetic (proleptic Gregorian, UTC). It must not read the clock and uses no
//! date crate; callers pass the instant in.

/// Milliseconds of the earliest and latest instants we format (years 0000 to 9999).
const MIN_MS: i64 = -62_167_219_200_000;
const MAX_MS: i64 = 253_402_300_799_999;

/// Days since 1970-01-01 of a civil date (Howard Hinnant's `days_from_civil`).
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = if y >= 0 { y } else { y - 399 } / 400;
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// Civil date of a day count since 1970-01-01 (Howard Hinnant's `civil_from_days`).
fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = if z >= 0 { z } else { z - 146_096 } / 146_097;
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

fn is_leap(year: i64) -> bool {
    (year % 4 == 0 && year % 100 != 0) || year % 400 == 0
}

fn days_in_month(year: i64, month: i64) -> i64 {
    match month {
        2 if is_leap(year) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Whole milliseconds of an epoch-seconds value, rounded to the nearest millisecond and clamped
/// to years 0000..=9999. Non-finite input counts as the epoch.
fn epoch_millis(epoch_seconds: f64) -> i64 {
    if !epoch_seconds.is_finite() {
        return 0;
    }
    let ms = (epoch_seconds * 1000.0).round();
    // The clamp keeps the cast in range; `as` saturates anyway.
    (ms.clamp(MIN_MS as f64, MAX_MS as f64)) as i64
}

struct Parts {
    year: i64,
    month: i64,
    day: i64,
    hour: i64,
    minute: i64,
    second: i64,
    millis: i64,
    weekday: usize,
}

fn split(epoch_seconds: f64) -> Parts {
    let ms = epoch_millis(epoch_seconds);
    let days = ms.div_euclid(86_400_000);
    let in_day = ms.rem_euclid(86_400_000);
    let (year, month, day) = civil_from_days(days);
    Parts {
        year,
        month,
        day,
        hour: in_day / 3_600_000,
        minute: in_day / 60_000 % 60,
        second: in_day / 1000 % 60,
        millis: in_day % 1000,
        // 1970-01-01 was a Thursday; index 0 is Sunday.
        weekday: usize::try_from((days + 4).rem_euclid(7)).unwrap_or(0),
    }
}

/// `2026-01-01T00:00:00.000Z`: UTC with milliseconds, the form awsQuery and EC2 responses use.
pub fn format_iso8601(epoch_seconds: f64) -> String {
    let p = split(epoch_seconds);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z",
        p.year, p.month, p.day, p.hour, p.minute, p.second, p.millis
    )
}

/// `Thu, 01 Jan 2026 00:00:00 GMT` (RFC 822 / IMF-fixdate), for members modelled as `rfc822`.
pub fn format_http_date(epoch_seconds: f64) -> String {
    const DAYS: [&str; 7] = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"];
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let p = split(epoch_seconds);
    let month = usize::try_from(p.month - 1).unwrap_or(0).min(11);
    format!(
        "{}, {:02} {} {:04} {:02}:{:02}:{:02} GMT",
        DAYS[p.weekday], p.day, MONTHS[month], p.year, p.hour, p.minute, p.second
    )
}

/// Epoch seconds as JSON-friendly text: integral values without a fraction.
pub fn format_epoch_seconds(epoch_seconds: f64) -> String {
    let ms = epoch_millis(epoch_seconds);
    if ms % 1000 == 0 {
        (ms / 1000).to_string()
    } else {
        format!("{}", ms as f64 / 1000.0)
    }
}

/// A cursor over ASCII digits and separators.
struct Cursor<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl Cursor<'_> {
    fn digits(&mut self, n: usize) -> Option<i64> {
        let end = self.pos.checked_add(n)?;
        let slice = self.bytes.get(self.pos..end)?;
        let mut v: i64 = 0;
        for &b in slice {
            if !b.is_ascii_digit() {
                return None;
            }
            v = v * 10 + i64::from(b - b'0');
        }
        self.pos = end;
        Some(v)
    }

    fn peek(&self) -> Option<u8> {
        self.bytes.get(self.pos).copied()
    }

    fn eat(&mut self, b: u8) -> bool {
        if self.peek() == Some(b) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    fn done(&self) -> bool {
        self.pos == self.bytes.len()
    }
}

/// Parses an ISO-8601 / RFC 3339 date-time into epoch seconds: `2026-01-01T00:00:00Z`,
/// fractional seconds, `+hh:mm` / `+hhmm` / `+hh` offsets, a missing offset (UTC), a space or
/// lower-case `t` separator, and a bare date. Returns `None` for anything else.
pub fn parse_iso8601(text: &str) -> Option<f64> {
    let mut c = Cursor {
        bytes: text.trim().as_bytes(),
        pos: 0,
    };
    let year = c.digits(4)?;
    if !c.eat(b'-') {
        return None;
    }
    let month = c.digits(2)?;
    if !c.eat(b'-') {
        return None;
    }
    let day = c.digits(2)?;
    if !(1..=12).contains(&month) || day < 1 || day > days_in_month(year, month) {
        return None;
    }
    let mut seconds = days_from_civil(year, month, day) as f64 * 86_400.0;
    if c.done() {
        return Some(seconds);
    }
    if !(c.eat(b'T') || c.eat(b't') || c.eat(b' ')) {
        return None;
    }
    let hour = c.digits(2)?;
    if !c.eat(b':') {
        return None;
    }
    let minute = c.digits(2)?;
    let mut second = 0;
    let mut fraction = 0.0;
    if c.eat(b':') {
        second = c.digits(2)?;
        if c.eat(b'.') || c.eat(b',') {
            let start = c.pos;
            let mut scale = 0.1;
            while let Some(b) = c.peek().filter(u8::is_ascii_digit) {
                fraction += f64::from(b - b'0') * scale;
                scale /= 10.0;
                c.pos += 1;
            }
            if c.pos == start {
                return None;
            }
        }
    }
    // 24:00:00 and leap seconds are not accepted; neither do AWS services.
    if hour > 23 || minute > 59 || second > 59 {
        return None;
    }
    seconds += (hour * 3600 + minute * 60 + second) as f64 + fraction;
    let offset = match c.peek() {
        None => 0,
        Some(b'Z' | b'z') => {
            c.pos += 1;
            0
        }
        Some(sign @ (b'+' | b'-')) => {
            c.pos += 1;
            let oh = c.digits(2)?;
            let om = if c.eat(b':') {
                c.digits(2)?
            } else {
                c.digits(2).unwrap_or(0)
            };
            if oh > 23 || om > 59 {
                return None;
            }
            let off = oh * 3600 + om * 60;
            if sign == b'+' { off } else { -off }
        }
        Some(_) => return None,
    };
    if !c.done() {
        return None;
    }
    Some(seconds - offset as f64)
}

/// Timestamp text as clients send it in query strings: ISO-8601, or epoch seconds as a number.
pub fn parse_timestamp_text(text: &str) -> Option<f64> {
    let t = text.trim();
    if let Some(v) = parse_iso8601(t) {
        return Some(v);
    }
    let numeric = !t.is_empty()
        && t.bytes()
            .all(|b| b.is_ascii_digit() || matches!(b, b'.' | b'-' | b'+' | b'e' | b'E'));
    if numeric {
        t.parse::<f64>().ok().filter(|v| v.is_finite())
    } else {
        None
    }
}
