//! Rule conditions: checking `Conditions` in both the legacy `Values` form and the `*Config`
//! blocks, storing them as `ecsim_elb::Condition`, and rendering them back.
//!
//! Limits as AWS documents them: at most one each of host-header, path-pattern,
//! http-request-method and source-ip per rule, at most 5 condition values and 5 wildcards per
//! rule. `RegexValues` are refused (the data plane matches wildcards only). Matching itself is
//! the data plane's job.

use std::net::IpAddr;

use ecsim_api::elbv2 as api;
use ecsim_elb::{Condition, QueryPair};

use super::common::{R, unsupported, validation};

/// Condition values one rule may carry.
pub const MAX_VALUES_PER_RULE: usize = 5;
/// `*` and `?` wildcards one rule may carry.
pub const MAX_WILDCARDS_PER_RULE: usize = 5;

/// Checks the conditions of a (non-default) rule.
pub fn parse(conditions: Vec<api::RuleCondition>) -> R<Vec<Condition>> {
    if conditions.is_empty() {
        return Err(validation("A rule must have at least one condition"));
    }
    let mut out: Vec<Condition> = Vec::new();
    for c in conditions {
        let parsed = parse_one(c)?;
        let unique = |x: &Condition| match x {
            Condition::HostHeader(_) => Some("host-header"),
            Condition::PathPattern(_) => Some("path-pattern"),
            Condition::HttpRequestMethod(_) => Some("http-request-method"),
            Condition::SourceIp(_) => Some("source-ip"),
            _ => None,
        };
        if let Some(field) = unique(&parsed)
            && out.iter().any(|o| unique(o) == Some(field))
        {
            return Err(validation(format!(
                "A rule can have at most one '{field}' condition"
            )));
        }
        out.push(parsed);
    }
    let values: usize = out.iter().map(value_count).sum();
    if values > MAX_VALUES_PER_RULE {
        return Err(validation(format!(
            "A rule can only have '{MAX_VALUES_PER_RULE}' condition values"
        )));
    }
    let wildcards: usize = out.iter().map(wildcard_count).sum();
    if wildcards > MAX_WILDCARDS_PER_RULE {
        return Err(validation(format!(
            "A rule can only have '{MAX_WILDCARDS_PER_RULE}' wildcards"
        )));
    }
    Ok(out)
}

fn value_count(c: &Condition) -> usize {
    match c {
        Condition::HostHeader(v)
        | Condition::PathPattern(v)
        | Condition::HttpRequestMethod(v)
        | Condition::SourceIp(v) => v.len(),
        Condition::HttpHeader { values, .. } => values.len(),
        Condition::QueryString(pairs) => pairs.len(),
    }
}

fn wildcard_count(c: &Condition) -> usize {
    let count = |s: &str| s.chars().filter(|ch| *ch == '*' || *ch == '?').count();
    match c {
        Condition::HostHeader(v) | Condition::PathPattern(v) => v.iter().map(|s| count(s)).sum(),
        Condition::HttpHeader { values, .. } => values.iter().map(|s| count(s)).sum(),
        Condition::QueryString(pairs) => pairs
            .iter()
            .map(|p| count(&p.value) + p.key.as_deref().map_or(0, count))
            .sum(),
        Condition::HttpRequestMethod(_) | Condition::SourceIp(_) => 0,
    }
}

fn parse_one(c: api::RuleCondition) -> R<Condition> {
    let field = c
        .field
        .clone()
        .ok_or_else(|| validation("A condition field must be specified"))?;
    let has_regex = c.regex_values.is_some()
        || c.host_header_config
            .as_ref()
            .is_some_and(|h| h.regex_values.is_some())
        || c.path_pattern_config
            .as_ref()
            .is_some_and(|p| p.regex_values.is_some())
        || c.http_header_config
            .as_ref()
            .is_some_and(|h| h.regex_values.is_some());
    if has_regex {
        return Err(unsupported("RegexValues in rule conditions"));
    }
    let configs = [
        ("host-header", "HostHeaderConfig", c.host_header_config.is_some()),
        (
            "path-pattern",
            "PathPatternConfig",
            c.path_pattern_config.is_some(),
        ),
        ("http-header", "HttpHeaderConfig", c.http_header_config.is_some()),
        (
            "query-string",
            "QueryStringConfig",
            c.query_string_config.is_some(),
        ),
        (
            "http-request-method",
            "HttpRequestMethodConfig",
            c.http_request_method_config.is_some(),
        ),
        ("source-ip", "SourceIpConfig", c.source_ip_config.is_some()),
    ];
    if !configs.iter().any(|(f, _, _)| *f == field) {
        return Err(validation(format!("Condition field '{field}' is not valid")));
    }
    if let Some((f, name, _)) = configs.iter().find(|(f, _, given)| *given && *f != field) {
        return Err(validation(format!(
            "{name} can only be specified for '{f}' conditions"
        )));
    }
    let legacy = c.values.clone();
    if legacy.is_some() && !matches!(field.as_str(), "host-header" | "path-pattern") {
        return Err(validation(format!(
            "Values cannot be specified for '{field}' conditions; use the condition's config block"
        )));
    }
    let pick =
        |legacy: Option<Vec<String>>, config: Option<Option<Vec<String>>>, name: &str| -> R<Vec<String>> {
            match (legacy, config) {
                (Some(_), Some(_)) => Err(validation(format!(
                    "Values and {name} cannot both be specified for a '{field}' condition"
                ))),
                (Some(v), None) | (None, Some(Some(v))) if !v.is_empty() => Ok(v),
                _ => Err(validation(format!(
                    "A '{field}' condition must have at least one value"
                ))),
            }
        };
    match field.as_str() {
        "host-header" => {
            let values = pick(legacy, c.host_header_config.map(|h| h.values), "HostHeaderConfig")?;
            for v in &values {
                let ok = !v.is_empty()
                    && v.len() <= 128
                    && v.bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b"-.*?".contains(&b));
                if !ok {
                    return Err(validation(format!(
                        "Host header value '{v}' must be 1 to 128 characters from A-Z, a-z, 0-9, '-', '.', '*' and '?'"
                    )));
                }
            }
            Ok(Condition::HostHeader(values))
        }
        "path-pattern" => {
            let values = pick(
                legacy,
                c.path_pattern_config.map(|p| p.values),
                "PathPatternConfig",
            )?;
            for v in &values {
                let ok = !v.is_empty()
                    && v.len() <= 128
                    && v.bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b"_-.$/~\"'@:+&*?".contains(&b));
                if !ok {
                    return Err(validation(format!(
                        "Path pattern '{v}' must be 1 to 128 characters from A-Z, a-z, 0-9 and _ - . $ / ~ \" ' @ : + & * ?"
                    )));
                }
            }
            Ok(Condition::PathPattern(values))
        }
        "http-header" => {
            let config = c.http_header_config.unwrap_or_default();
            let name = config.http_header_name.filter(|n| !n.is_empty()).ok_or_else(|| {
                validation("An http-header condition needs HttpHeaderConfig.HttpHeaderName")
            })?;
            let token = name.len() <= 40
                && name
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b));
            if !token {
                return Err(validation(format!("HTTP header name '{name}' is not valid")));
            }
            if name.eq_ignore_ascii_case("host") {
                return Err(validation("Use a host-header condition to match the Host header"));
            }
            let values = config.values.unwrap_or_default();
            if values.is_empty() {
                return Err(validation(
                    "An http-header condition must have at least one value",
                ));
            }
            if values.iter().any(|v| v.len() > 128) {
                return Err(validation(
                    "HTTP header values can be at most 128 characters long",
                ));
            }
            Ok(Condition::HttpHeader { name, values })
        }
        "http-request-method" => {
            let values = c
                .http_request_method_config
                .and_then(|m| m.values)
                .unwrap_or_default();
            if values.is_empty() {
                return Err(validation(
                    "An http-request-method condition must have at least one value",
                ));
            }
            for v in &values {
                let ok = !v.is_empty()
                    && v.len() <= 40
                    && v.bytes()
                        .all(|b| b.is_ascii_uppercase() || b == b'-' || b == b'_');
                if !ok {
                    return Err(validation(format!(
                        "HTTP request method '{v}' must be 1 to 40 characters from A-Z, '-' and '_'"
                    )));
                }
            }
            Ok(Condition::HttpRequestMethod(values))
        }
        "query-string" => {
            let pairs = c.query_string_config.and_then(|q| q.values).unwrap_or_default();
            if pairs.is_empty() {
                return Err(validation(
                    "A query-string condition must have at least one key/value pair",
                ));
            }
            let mut out = Vec::new();
            for p in pairs {
                let value = p
                    .value
                    .filter(|v| !v.is_empty())
                    .ok_or_else(|| validation("Each query-string key/value pair needs a value"))?;
                if value.len() > 128 || p.key.as_ref().is_some_and(|k| k.len() > 128) {
                    return Err(validation(
                        "Query string keys and values can be at most 128 characters long",
                    ));
                }
                out.push(QueryPair { key: p.key, value });
            }
            Ok(Condition::QueryString(out))
        }
        "source-ip" => {
            let config = c.source_ip_config.unwrap_or_default();
            if config.ip_address_type.is_some() {
                return Err(unsupported("source-ip conditions by IP address type"));
            }
            let values = config.values.unwrap_or_default();
            if values.is_empty() {
                return Err(validation(
                    "A source-ip condition must have at least one CIDR block",
                ));
            }
            for v in &values {
                if !is_cidr(v) {
                    return Err(validation(format!("Source IP '{v}' is not a valid CIDR block")));
                }
            }
            Ok(Condition::SourceIp(values))
        }
        other => Err(validation(format!("Condition field '{other}' is not valid"))),
    }
}

/// `a.b.c.d/n` (n ≤ 32) or an IPv6 address with `/n` (n ≤ 128).
fn is_cidr(s: &str) -> bool {
    let Some((addr, len)) = s.split_once('/') else {
        return false;
    };
    let Ok(len) = len.parse::<u8>() else {
        return false;
    };
    match addr.parse::<IpAddr>() {
        Ok(IpAddr::V4(_)) => len <= 32,
        Ok(IpAddr::V6(_)) => len <= 128,
        Err(_) => false,
    }
}

/// A condition as `DescribeRules` answers it: host-header and path-pattern carry both `Values`
/// and their config block, the others their config block.
pub fn render(c: &Condition) -> api::RuleCondition {
    match c {
        Condition::HostHeader(v) => api::RuleCondition {
            field: Some("host-header".into()),
            values: Some(v.clone()),
            host_header_config: Some(api::HostHeaderConditionConfig {
                values: Some(v.clone()),
                regex_values: None,
            }),
            ..Default::default()
        },
        Condition::PathPattern(v) => api::RuleCondition {
            field: Some("path-pattern".into()),
            values: Some(v.clone()),
            path_pattern_config: Some(api::PathPatternConditionConfig {
                values: Some(v.clone()),
                regex_values: None,
            }),
            ..Default::default()
        },
        Condition::HttpHeader { name, values } => api::RuleCondition {
            field: Some("http-header".into()),
            http_header_config: Some(api::HttpHeaderConditionConfig {
                http_header_name: Some(name.clone()),
                values: Some(values.clone()),
                regex_values: None,
            }),
            ..Default::default()
        },
        Condition::HttpRequestMethod(v) => api::RuleCondition {
            field: Some("http-request-method".into()),
            http_request_method_config: Some(api::HttpRequestMethodConditionConfig {
                values: Some(v.clone()),
            }),
            ..Default::default()
        },
        Condition::QueryString(pairs) => api::RuleCondition {
            field: Some("query-string".into()),
            query_string_config: Some(api::QueryStringConditionConfig {
                values: Some(
                    pairs
                        .iter()
                        .map(|p| api::QueryStringKeyValuePair {
                            key: p.key.clone(),
                            value: Some(p.value.clone()),
                        })
                        .collect(),
                ),
            }),
            ..Default::default()
        },
        Condition::SourceIp(v) => api::RuleCondition {
            field: Some("source-ip".into()),
            source_ip_config: Some(api::SourceIpConditionConfig {
                values: Some(v.clone()),
                ip_address_type: None,
            }),
            ..Default::default()
        },
    }
}
