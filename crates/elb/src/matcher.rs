//! Health-check success codes (`Matcher.HttpCode`): `200`, `200,202`, `200-299`.
//!
//! HTTP matchers take codes 200–499 and gRPC matchers (`Matcher.GrpcCode`) codes 0–99, as single
//! codes, inclusive ranges, or a comma-separated mix of both (`200,300-399`).

use std::fmt;
use std::ops::RangeInclusive;

/// The default `Matcher.HttpCode` of HTTP and HTTPS target groups.
pub const DEFAULT_HTTP_CODE: &str = "200";
/// The default `Matcher.GrpcCode` of gRPC target groups.
pub const DEFAULT_GRPC_CODE: &str = "12";

const HTTP_CODES: RangeInclusive<u16> = 200..=499;
const GRPC_CODES: RangeInclusive<u16> = 0..=99;

/// A parsed success-code matcher.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CodeMatcher {
    /// Inclusive (low, high) ranges in the order given; a single code is `(code, code)`.
    ranges: Vec<(u16, u16)>,
}

impl CodeMatcher {
    /// Parses `spec` (`200`, `200,202`, `200-299`, `200,300-399`). The error is a sentence fit for
    /// an AWS `ValidationError` message.
    pub fn parse(spec: &str, grpc: bool) -> Result<CodeMatcher, String> {
        let (kind, allowed) = if grpc {
            ("gRPC", GRPC_CODES)
        } else {
            ("HTTP", HTTP_CODES)
        };
        let invalid = |why: &str| {
            format!(
                "Health check matcher {kind} code '{spec}' is not valid: {why}. Specify a code, a comma-separated \
                 list of codes or a range of codes (for example, '{example}') between '{}' and '{}'",
                allowed.start(),
                allowed.end(),
                example = if grpc { "0-99" } else { "200-299" },
            )
        };
        if spec.trim().is_empty() {
            return Err(invalid("it is empty"));
        }
        let parse_code = |text: &str| -> Result<u16, String> {
            let text = text.trim();
            if text.is_empty() || text.len() > 3 || !text.bytes().all(|b| b.is_ascii_digit()) {
                return Err(invalid(&format!("'{text}' is not a status code")));
            }
            let code: u16 = text
                .parse()
                .map_err(|_| invalid(&format!("'{text}' is not a status code")))?;
            if !allowed.contains(&code) {
                return Err(invalid(&format!(
                    "code '{code}' must be within '{}-{}' inclusive",
                    allowed.start(),
                    allowed.end()
                )));
            }
            Ok(code)
        };
        let mut ranges = Vec::new();
        for item in spec.split(',') {
            let range = match item.split_once('-') {
                Some((low, high)) => {
                    let (low, high) = (parse_code(low)?, parse_code(high)?);
                    if low > high {
                        return Err(invalid(&format!("the range '{}' runs backwards", item.trim())));
                    }
                    (low, high)
                }
                None => {
                    let code = parse_code(item)?;
                    (code, code)
                }
            };
            ranges.push(range);
        }
        Ok(CodeMatcher { ranges })
    }

    /// Whether `status` counts as a success.
    pub fn matches(&self, status: u16) -> bool {
        self.ranges
            .iter()
            .any(|&(low, high)| (low..=high).contains(&status))
    }

    /// The inclusive ranges, in the order given.
    pub fn ranges(&self) -> &[(u16, u16)] {
        &self.ranges
    }
}

impl fmt::Display for CodeMatcher {
    /// The canonical spec: items joined by `,`, ranges as `low-high`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, &(low, high)) in self.ranges.iter().enumerate() {
            if i > 0 {
                f.write_str(",")?;
            }
            if low == high {
                write!(f, "{low}")?;
            } else {
                write!(f, "{low}-{high}")?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn single_codes_lists_and_ranges() {
        let single = CodeMatcher::parse("200", false).expect("single");
        assert!(single.matches(200));
        assert!(!single.matches(201));

        let list = CodeMatcher::parse("200,202", false).expect("list");
        assert!(list.matches(200) && list.matches(202) && !list.matches(201));

        let range = CodeMatcher::parse("200-299", false).expect("range");
        assert!(range.matches(200) && range.matches(250) && range.matches(299));
        assert!(!range.matches(199) && !range.matches(300));

        let mixed = CodeMatcher::parse("200, 300-399", false).expect("mixed");
        assert!(mixed.matches(200) && mixed.matches(302) && !mixed.matches(204) && !mixed.matches(400));
        assert_eq!(mixed.to_string(), "200,300-399");
        assert_eq!(mixed.ranges(), &[(200, 200), (300, 399)]);

        let whole = CodeMatcher::parse("200-499", false).expect("whole");
        assert!(whole.matches(404) && !whole.matches(500));
    }

    #[test]
    fn grpc_codes() {
        let default = CodeMatcher::parse(DEFAULT_GRPC_CODE, true).expect("default");
        assert!(default.matches(12) && !default.matches(0));
        let range = CodeMatcher::parse("0-99", true).expect("range");
        assert!(range.matches(0) && range.matches(99));
        assert!(CodeMatcher::parse("100", true).is_err());
        assert!(CodeMatcher::parse("200", true).is_err());
    }

    #[test]
    fn invalid_specs_are_refused_with_a_reason() {
        for spec in [
            "", " ", "abc", "199", "500", "200-", "-200", "299-200", "200,,201", "2000", "200-600", "+200",
        ] {
            let error = CodeMatcher::parse(spec, false).expect_err(spec);
            assert!(
                error.starts_with("Health check matcher HTTP code"),
                "{spec}: {error}"
            );
        }
        let error = CodeMatcher::parse("500", false).expect_err("500");
        assert!(error.contains("must be within '200-499' inclusive"), "{error}");
        assert!(CodeMatcher::parse(DEFAULT_HTTP_CODE, false).is_ok());
    }

    proptest! {
        #[test]
        fn a_range_matches_exactly_its_codes(low in 200_u16..=499, span in 0_u16..=100, status in 0_u16..=600) {
            let high = (low + span).min(499);
            let matcher = CodeMatcher::parse(&format!("{low}-{high}"), false).expect("valid");
            prop_assert_eq!(matcher.matches(status), (low..=high).contains(&status));
            let reparsed = CodeMatcher::parse(&matcher.to_string(), false).expect("canonical");
            prop_assert_eq!(reparsed, matcher);
        }
    }
}
