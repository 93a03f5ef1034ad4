//! Stickiness cookies: `AWSALBTG` (target group), `AWSALB` (target), `AWSALBAPP-0` (application
//! cookie stickiness).
//!
//! The cookie values are opaque, deterministic tokens (a salted 64-bit FNV-1a hash as 16 hex
//! digits): the same group or target gives the same token in every run, and a client cannot read
//! the target's address out of it.

/// Target-group stickiness of a weighted forward action.
pub const GROUP_COOKIE: &str = "AWSALBTG";
/// Duration-based (`lb_cookie`) target stickiness.
pub const TARGET_COOKIE: &str = "AWSALB";
/// Application-based (`app_cookie`) target stickiness.
pub const APP_COOKIE: &str = "AWSALBAPP-0";

const FNV_OFFSET_BASIS: u64 = 0xcbf2_9ce4_8422_2325;
const FNV_PRIME: u64 = 0x0000_0100_0000_01b3;
const SALT: &[u8] = b"ecsim-alb-stickiness-v1\0";

fn fnv1a(parts: &[&[u8]]) -> u64 {
    let mut hash = FNV_OFFSET_BASIS;
    for part in parts {
        for &byte in *part {
            hash ^= u64::from(byte);
            hash = hash.wrapping_mul(FNV_PRIME);
        }
    }
    hash
}

/// The `AWSALBTG` token of the target group `group_arn`.
pub fn group_token(group_arn: &str) -> String {
    format!("{:016x}", fnv1a(&[SALT, b"group\0", group_arn.as_bytes()]))
}

/// The `AWSALB` / `AWSALBAPP-0` token of target `id` on `port`.
pub fn target_token(id: &str, port: u16) -> String {
    format!(
        "{:016x}",
        fnv1a(&[SALT, b"target\0", id.as_bytes(), b"\0", &port.to_be_bytes()])
    )
}

/// A `Set-Cookie` header value: `<name>=<token>; Max-Age=<duration_s>; Path=/`.
pub fn set_cookie(name: &str, token: &str, duration_s: u32) -> String {
    format!("{name}={token}; Max-Age={duration_s}; Path=/")
}

/// The value of cookie `name` in one `Cookie` header value (`a=1; b=2`), if present. Names are
/// case-sensitive; surrounding double quotes of a value are removed.
pub fn cookie_value<'a>(cookie_header: &'a str, name: &str) -> Option<&'a str> {
    cookie_header.split(';').find_map(|pair| {
        let (key, value) = pair.split_once('=')?;
        (key.trim() == name).then(|| {
            let value = value.trim();
            value
                .strip_prefix('"')
                .and_then(|v| v.strip_suffix('"'))
                .unwrap_or(value)
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_deterministic_and_distinct() {
        let arn = "arn:aws:elasticloadbalancing:us-east-1:000000000000:targetgroup/blue/0123456789abcdef";
        assert_eq!(group_token(arn), group_token(arn));
        assert_eq!(group_token(arn).len(), 16);
        assert!(group_token(arn).bytes().all(|b| b.is_ascii_hexdigit()));
        assert_ne!(group_token(arn), group_token(&arn.replace("blue", "green")));
        assert_eq!(target_token("10.0.0.1", 80), target_token("10.0.0.1", 80));
        assert_ne!(target_token("10.0.0.1", 80), target_token("10.0.0.1", 81));
        assert_ne!(target_token("10.0.0.1", 80), target_token("10.0.0.10", 80));
        // A target id never collides with a group ARN of the same text.
        assert_ne!(target_token("x", 0), group_token("x"));
    }

    #[test]
    fn set_cookie_format() {
        assert_eq!(
            set_cookie(TARGET_COOKIE, "abc", 86_400),
            "AWSALB=abc; Max-Age=86400; Path=/"
        );
    }

    #[test]
    fn cookie_header_parsing() {
        let header = "session=xyz; AWSALB=0011; AWSALBTG=\"22\"; AWSALBAPP-0=33";
        assert_eq!(cookie_value(header, TARGET_COOKIE), Some("0011"));
        assert_eq!(cookie_value(header, GROUP_COOKIE), Some("22"));
        assert_eq!(cookie_value(header, APP_COOKIE), Some("33"));
        assert_eq!(cookie_value(header, "awsalb"), None);
        assert_eq!(cookie_value(header, "missing"), None);
        assert_eq!(cookie_value("", TARGET_COOKIE), None);
    }
}
