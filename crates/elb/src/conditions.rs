//! ALB rule conditions: wildcard patterns, query strings and source CIDRs.
//!
//! The values inside one condition are alternatives (any may match); the conditions of a rule must
//! all match (see [`crate::router`]). The pure helpers here ([`wildcard_match`], [`parse_cidr`])
//! are also what the control plane validates `CreateRule` input with.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use crate::router::RequestView;
use crate::snapshot::{Condition, QueryPair};

/// Whether `request` satisfies `condition` (any of its values).
pub fn matches<R: RequestView + ?Sized>(condition: &Condition, request: &R) -> bool {
    match condition {
        Condition::HostHeader(patterns) => request.host().is_some_and(|host| {
            let host = strip_port(host);
            patterns.iter().any(|p| wildcard_match(p, host, true))
        }),
        Condition::PathPattern(patterns) => {
            let path = request.path();
            // Defensive: the path never carries the query, whatever the caller passed.
            let path = path.split_once('?').map_or(path, |(p, _)| p);
            patterns.iter().any(|p| wildcard_match(p, path, false))
        }
        Condition::HttpHeader { name, values } => {
            let name = name.to_ascii_lowercase();
            request
                .header_values(&name)
                .any(|value| values.iter().any(|p| wildcard_match(p, value, true)))
        }
        Condition::HttpRequestMethod(methods) => {
            let method = request.method();
            methods.iter().any(|m| m == method)
        }
        Condition::QueryString(pairs) => {
            let params = parse_query(request.query().unwrap_or(""));
            pairs.iter().any(|pair| query_pair_matches(pair, &params))
        }
        Condition::SourceIp(blocks) => {
            let address = request.source_ip();
            blocks
                .iter()
                .filter_map(|block| parse_cidr(block))
                .any(|cidr| cidr.contains(address))
        }
    }
}

/// Whether every condition matches (a rule without conditions matches everything).
pub fn all_match<R: RequestView + ?Sized>(conditions: &[Condition], request: &R) -> bool {
    conditions.iter().all(|c| matches(c, request))
}

/// Whether `text` matches `pattern`, where `*` matches any run of characters (also none) and `?`
/// exactly one character. Every other character matches itself, ignoring case (Unicode simple
/// lower-casing) when `case_insensitive`.
///
/// Iterative, remembering only the last `*`: `O(len(pattern) · len(text))` in the worst case and
/// no recursion, so hostile patterns cannot blow up.
pub fn wildcard_match(pattern: &str, text: &str, case_insensitive: bool) -> bool {
    let pattern: Vec<Token> = pattern.chars().map(Token::from_char).collect();
    glob(&pattern, text, case_insensitive)
}

/// [`wildcard_match`] where `\*`, `\?` and `\\` in `pattern` stand for the literal characters, as
/// query-string condition values escape them. A lone trailing `\` is a literal backslash.
pub fn wildcard_match_escaped(pattern: &str, text: &str, case_insensitive: bool) -> bool {
    let mut tokens = Vec::with_capacity(pattern.len());
    let mut chars = pattern.chars();
    while let Some(c) = chars.next() {
        if c == '\\' {
            match chars.next() {
                Some(escaped) => tokens.push(Token::Literal(escaped)),
                None => tokens.push(Token::Literal('\\')),
            }
        } else {
            tokens.push(Token::from_char(c));
        }
    }
    glob(&tokens, text, case_insensitive)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Token {
    Literal(char),
    AnyOne,
    AnyRun,
}

impl Token {
    fn from_char(c: char) -> Self {
        match c {
            '*' => Token::AnyRun,
            '?' => Token::AnyOne,
            c => Token::Literal(c),
        }
    }
}

fn chars_equal(a: char, b: char, case_insensitive: bool) -> bool {
    a == b || (case_insensitive && (a.eq_ignore_ascii_case(&b) || a.to_lowercase().eq(b.to_lowercase())))
}

/// Greedy matching with a single backtrack point: on a mismatch, the most recent `*` absorbs one
/// more character and matching resumes after it.
fn glob(pattern: &[Token], text: &str, case_insensitive: bool) -> bool {
    let text: Vec<char> = text.chars().collect();
    let (mut p, mut t) = (0_usize, 0_usize);
    // (pattern index after the star, text index the star's run ends at)
    let mut backtrack: Option<(usize, usize)> = None;
    while t < text.len() {
        match pattern.get(p) {
            Some(Token::AnyRun) => {
                p += 1;
                backtrack = Some((p, t));
                continue;
            }
            Some(Token::AnyOne) => {
                p += 1;
                t += 1;
                continue;
            }
            Some(Token::Literal(c)) if chars_equal(*c, text[t], case_insensitive) => {
                p += 1;
                t += 1;
                continue;
            }
            _ => {}
        }
        match backtrack {
            Some((after_star, run_end)) => {
                p = after_star;
                t = run_end + 1;
                backtrack = Some((after_star, run_end + 1));
            }
            None => return false,
        }
    }
    pattern[p.min(pattern.len())..]
        .iter()
        .all(|token| *token == Token::AnyRun)
}

/// `host` without a trailing `:port` (IPv6 literals keep their brackets).
fn strip_port(host: &str) -> &str {
    if let Some(rest) = host.strip_prefix('[') {
        return match rest.find(']') {
            Some(end) => &host[..end + 2],
            None => host,
        };
    }
    match host.rsplit_once(':') {
        Some((name, port)) if !name.contains(':') && port.bytes().all(|b| b.is_ascii_digit()) => name,
        _ => host,
    }
}

/// The parameters of a raw query string, percent-decoded with `+` as a space. A parameter without
/// `=` has an empty value; empty segments (`a=1&&b=2`) are skipped.
pub fn parse_query(query: &str) -> Vec<(String, String)> {
    let query = query.strip_prefix('?').unwrap_or(query);
    query
        .split('&')
        .filter(|segment| !segment.is_empty())
        .map(|segment| {
            let (key, value) = segment.split_once('=').unwrap_or((segment, ""));
            (percent_decode(key), percent_decode(value))
        })
        .collect()
}

/// Percent-decodes `s` (`+` is a space); invalid escapes stay as written, invalid UTF-8 becomes
/// U+FFFD.
pub fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' => match (
                bytes.get(i + 1).and_then(|&b| hex(b)),
                bytes.get(i + 2).and_then(|&b| hex(b)),
            ) {
                (Some(hi), Some(lo)) => {
                    out.push(hi << 4 | lo);
                    i += 2;
                }
                _ => out.push(b'%'),
            },
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn hex(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

fn query_pair_matches(pair: &QueryPair, params: &[(String, String)]) -> bool {
    params.iter().any(|(key, value)| {
        pair.key
            .as_deref()
            .is_none_or(|pattern| wildcard_match_escaped(pattern, key, true))
            && wildcard_match_escaped(&pair.value, value, true)
    })
}

/// An IPv4 or IPv6 address block.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Cidr {
    /// The block's first address (host bits cleared).
    pub network: IpAddr,
    pub prefix_len: u8,
}

/// Parses `a.b.c.d/n` (n ≤ 32) or an IPv6 block `x::y/n` (n ≤ 128). The prefix length is required;
/// host bits below it are ignored (`10.1.2.3/8` is `10.0.0.0/8`).
pub fn parse_cidr(s: &str) -> Option<Cidr> {
    let (address, prefix) = s.trim().split_once('/')?;
    if prefix.is_empty() || !prefix.bytes().all(|b| b.is_ascii_digit()) || prefix.len() > 3 {
        return None;
    }
    let prefix_len: u8 = prefix.parse().ok()?;
    let address: IpAddr = address.parse().ok()?;
    let max = if address.is_ipv4() { 32 } else { 128 };
    if prefix_len > max {
        return None;
    }
    let network = match address {
        IpAddr::V4(v4) => IpAddr::V4(Ipv4Addr::from(u32::from(v4) & mask_v4(prefix_len))),
        IpAddr::V6(v6) => IpAddr::V6(Ipv6Addr::from(u128::from(v6) & mask_v6(prefix_len))),
    };
    Some(Cidr { network, prefix_len })
}

fn mask_v4(prefix_len: u8) -> u32 {
    u32::MAX.checked_shl(32 - u32::from(prefix_len)).unwrap_or(0)
}

fn mask_v6(prefix_len: u8) -> u128 {
    u128::MAX.checked_shl(128 - u32::from(prefix_len)).unwrap_or(0)
}

impl Cidr {
    /// Whether `address` lies in the block. IPv4-mapped IPv6 addresses (`::ffff:a.b.c.d`) are
    /// their IPv4 address, and an IPv4 address is its mapped form for an IPv6 block.
    pub fn contains(&self, address: IpAddr) -> bool {
        let address = match address {
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(address, IpAddr::V4),
            v4 => v4,
        };
        match (self.network, address) {
            (IpAddr::V4(net), IpAddr::V4(a)) => u32::from(a) & mask_v4(self.prefix_len) == u32::from(net),
            (IpAddr::V6(net), IpAddr::V6(a)) => u128::from(a) & mask_v6(self.prefix_len) == u128::from(net),
            (IpAddr::V6(net), IpAddr::V4(a)) => {
                u128::from(a.to_ipv6_mapped()) & mask_v6(self.prefix_len) == u128::from(net)
            }
            (IpAddr::V4(_), IpAddr::V6(_)) => false,
        }
    }
}

impl std::fmt::Display for Cidr {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.network, self.prefix_len)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::TestRequest;
    use proptest::prelude::*;

    fn strings(values: &[&str]) -> Vec<String> {
        values.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn wildcard_table() {
        let cases: &[(&str, &str, bool, bool)] = &[
            // (pattern, text, case_insensitive, expected)
            ("*.example.com", "www.example.com", true, true),
            ("*.example.com", "a.b.example.com", true, true),
            ("*.example.com", "example.com", true, false),
            ("*.example.com", ".example.com", true, true),
            ("example.com", "EXAMPLE.com", true, true),
            ("example.com", "EXAMPLE.com", false, false),
            ("/api/*", "/api/", false, true),
            ("/api/*", "/api/users/7", false, true),
            ("/api/*", "/api", false, false),
            ("/api/*", "/API/users", false, false),
            ("/img/?.png", "/img/a.png", false, true),
            ("/img/?.png", "/img/ab.png", false, false),
            ("/img/?.png", "/img/.png", false, false),
            ("?", "é", false, true),
            ("?", "", false, false),
            ("*", "", false, true),
            ("", "", false, true),
            ("", "a", false, false),
            ("a*b*c", "axxbyyc", false, true),
            ("a*b*c", "axxbyy", false, false),
            ("*a", "baaa", false, true),
            ("**", "anything", false, true),
            ("*?", "", false, false),
            ("*?", "x", false, true),
            ("a*", "a", false, true),
            ("*abc*", "xxabxabcyy", false, true),
            ("Ärger*", "ärgerlich", true, true),
            ("*/v?/*", "/svc/v2/items", false, true),
        ];
        for &(pattern, text, ci, expected) in cases {
            assert_eq!(
                wildcard_match(pattern, text, ci),
                expected,
                "{pattern:?} vs {text:?} (ci {ci})"
            );
        }
    }

    #[test]
    fn wildcard_is_fast_on_hostile_patterns() {
        let text = "a".repeat(5_000);
        let pattern = format!("{}b", "*a".repeat(60));
        assert!(!wildcard_match(&pattern, &text, false));
    }

    #[test]
    fn escaped_wildcards_are_literal() {
        assert!(wildcard_match_escaped(r"a\*b", "a*b", false));
        assert!(!wildcard_match_escaped(r"a\*b", "axxb", false));
        assert!(wildcard_match_escaped(r"\?", "?", false));
        assert!(!wildcard_match_escaped(r"\?", "x", false));
        assert!(wildcard_match_escaped(r"a\\", r"a\", false));
        assert!(wildcard_match_escaped("a\\", "a\\", false));
    }

    #[test]
    fn host_header_is_case_insensitive_and_ignores_the_port() {
        let condition = Condition::HostHeader(strings(&["*.example.com", "api.test"]));
        assert!(matches(&condition, &TestRequest::get("WWW.Example.COM", "/")));
        assert!(matches(
            &condition,
            &TestRequest::get("www.example.com:8080", "/")
        ));
        assert!(matches(&condition, &TestRequest::get("API.test", "/")));
        assert!(!matches(&condition, &TestRequest::get("example.com", "/")));
        let mut no_host = TestRequest::get("x", "/");
        no_host.host = None;
        assert!(!matches(&condition, &no_host));
    }

    #[test]
    fn path_pattern_is_case_sensitive_and_ignores_the_query() {
        let condition = Condition::PathPattern(strings(&["/api/*", "/health"]));
        assert!(matches(&condition, &TestRequest::get("h", "/api/users?x=1")));
        assert!(matches(&condition, &TestRequest::get("h", "/health?full=true")));
        assert!(!matches(&condition, &TestRequest::get("h", "/Health")));
        assert!(!matches(&condition, &TestRequest::get("h", "/apiary")));
        let only_query = Condition::PathPattern(strings(&["*x=1*"]));
        assert!(!matches(&only_query, &TestRequest::get("h", "/p?x=1")));
    }

    #[test]
    fn http_header_matches_any_value_against_any_pattern() {
        let condition = Condition::HttpHeader {
            name: "User-Agent".into(),
            values: strings(&["*Mobile*", "curl/?.*"]),
        };
        assert!(matches(
            &condition,
            &TestRequest::get("h", "/").header("user-agent", "Foo MOBILE Bar")
        ));
        assert!(matches(
            &condition,
            &TestRequest::get("h", "/").header("User-Agent", "curl/8.5.0")
        ));
        assert!(matches(
            &condition,
            &TestRequest::get("h", "/")
                .header("user-agent", "desktop")
                .header("user-agent", "mobile")
        ));
        assert!(!matches(
            &condition,
            &TestRequest::get("h", "/").header("user-agent", "desktop")
        ));
        assert!(!matches(&condition, &TestRequest::get("h", "/")));
    }

    #[test]
    fn request_method_is_exact_and_case_sensitive() {
        let condition = Condition::HttpRequestMethod(strings(&["GET", "HEAD"]));
        assert!(matches(&condition, &TestRequest::get("h", "/")));
        assert!(matches(&condition, &TestRequest::get("h", "/").method("HEAD")));
        assert!(!matches(&condition, &TestRequest::get("h", "/").method("get")));
        assert!(!matches(&condition, &TestRequest::get("h", "/").method("POST")));
    }

    #[test]
    fn query_string_pairs() {
        let pair = |key: Option<&str>, value: &str| QueryPair {
            key: key.map(str::to_string),
            value: value.into(),
        };
        let condition = Condition::QueryString(vec![pair(Some("version"), "v2*"), pair(None, "blue")]);
        let matching = [
            "/?version=v2",
            "/?a=1&VERSION=V2.1",
            "/?other=BLUE",
            "/?x=bl%75e",
            "/?ver%73ion=v2",
            "/?a&b=blue",
        ];
        for path in matching {
            assert!(matches(&condition, &TestRequest::get("h", path)), "{path}");
        }
        for path in ["/", "/?version=v1", "/?v2=version", "/?x=blue2", "/?version"] {
            assert!(!matches(&condition, &TestRequest::get("h", path)), "{path}");
        }
        let spaced = Condition::QueryString(vec![pair(Some("q"), "hello world")]);
        assert!(matches(&spaced, &TestRequest::get("h", "/?q=hello+world")));
        assert!(matches(&spaced, &TestRequest::get("h", "/?q=hello%20world")));
        let literal = Condition::QueryString(vec![pair(Some("q"), r"a\*")]);
        assert!(matches(&literal, &TestRequest::get("h", "/?q=a%2A")));
        assert!(!matches(&literal, &TestRequest::get("h", "/?q=ab")));
        let empty_value = Condition::QueryString(vec![pair(Some("debug"), "*")]);
        assert!(matches(&empty_value, &TestRequest::get("h", "/?debug")));
    }

    #[test]
    fn percent_decoding() {
        assert_eq!(percent_decode("a%20b+c"), "a b c");
        assert_eq!(percent_decode("100%"), "100%");
        assert_eq!(percent_decode("%zz%4"), "%zz%4");
        assert_eq!(percent_decode("%C3%A9"), "é");
        assert_eq!(
            parse_query("?a=1&&b&c=%3D"),
            vec![
                ("a".to_string(), "1".to_string()),
                ("b".to_string(), String::new()),
                ("c".to_string(), "=".to_string()),
            ]
        );
    }

    #[test]
    fn source_ip_blocks() {
        let condition = Condition::SourceIp(strings(&["10.0.0.0/8", "2001:db8::/32", "not a cidr"]));
        assert!(matches(
            &condition,
            &TestRequest::get("h", "/").with_source_ip("10.1.2.3")
        ));
        assert!(matches(
            &condition,
            &TestRequest::get("h", "/").with_source_ip("::ffff:10.9.9.9")
        ));
        assert!(matches(
            &condition,
            &TestRequest::get("h", "/").with_source_ip("2001:db8:1::5")
        ));
        assert!(!matches(
            &condition,
            &TestRequest::get("h", "/").with_source_ip("11.0.0.1")
        ));
        assert!(!matches(
            &condition,
            &TestRequest::get("h", "/").with_source_ip("2001:db9::1")
        ));
    }

    #[test]
    fn cidr_parsing() {
        let v4 = parse_cidr("10.1.2.3/8").expect("v4");
        assert_eq!(v4.to_string(), "10.0.0.0/8");
        assert_eq!(parse_cidr("::1/128").expect("v6").to_string(), "::1/128");
        assert!(
            parse_cidr("0.0.0.0/0")
                .expect("any")
                .contains("203.0.113.9".parse().expect("ip"))
        );
        assert!(
            parse_cidr("::/0")
                .expect("any6")
                .contains("2001:db8::1".parse().expect("ip"))
        );
        for bad in [
            "10.0.0.0",
            "10.0.0.0/33",
            "::/129",
            "10.0.0/8",
            "10.0.0.0/",
            "10.0.0.0/+8",
            "x/8",
            "::1/1000",
        ] {
            assert_eq!(parse_cidr(bad), None, "{bad}");
        }
        let mapped = parse_cidr("::ffff:192.168.0.0/112").expect("mapped block");
        assert!(mapped.contains("192.168.3.4".parse().expect("ip")));
        assert!(
            !parse_cidr("10.0.0.0/8")
                .expect("v4")
                .contains("::1".parse().expect("ip"))
        );
    }

    #[test]
    fn ports_are_stripped_from_hosts() {
        assert_eq!(strip_port("example.com:80"), "example.com");
        assert_eq!(strip_port("example.com"), "example.com");
        assert_eq!(strip_port("[::1]:8080"), "[::1]");
        assert_eq!(strip_port("::1"), "::1");
    }

    /// A straightforward (exponential, but fine on short inputs) reference matcher.
    fn reference(pattern: &[char], text: &[char]) -> bool {
        match pattern.split_first() {
            None => text.is_empty(),
            Some(('*', rest)) => (0..=text.len()).any(|skip| reference(rest, &text[skip..])),
            Some(('?', rest)) => !text.is_empty() && reference(rest, &text[1..]),
            Some((c, rest)) => text.first() == Some(c) && reference(rest, &text[1..]),
        }
    }

    proptest! {
        #[test]
        fn wildcard_agrees_with_the_reference(pattern in "[ab*?]{0,8}", text in "[ab]{0,10}") {
            let p: Vec<char> = pattern.chars().collect();
            let t: Vec<char> = text.chars().collect();
            prop_assert_eq!(wildcard_match(&pattern, &text, false), reference(&p, &t));
        }

        #[test]
        fn cidr_contains_its_own_network(a in any::<u32>(), len in 0_u8..=32) {
            let cidr = parse_cidr(&format!("{}/{len}", Ipv4Addr::from(a))).expect("valid");
            prop_assert!(cidr.contains(IpAddr::V4(Ipv4Addr::from(a))));
            prop_assert!(cidr.contains(IpAddr::V6(Ipv4Addr::from(a).to_ipv6_mapped())));
        }
    }
}
