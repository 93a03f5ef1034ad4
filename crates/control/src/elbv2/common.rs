//! Small pieces every ELBv2 handler shares: AWS-shaped errors with the awsQuery codes, resource
//! ids, name rules, pagination and time conversion.
//!
//! Pure functions only; nothing here touches a world.

use ecsim_core::{Millis, Rng};
use ecsim_protocol::AwsError;

pub type R<T> = Result<T, AwsError>;

/// `ValidationError`: input that the model allows but ELBv2 refuses.
pub fn validation(message: impl Into<String>) -> AwsError {
    AwsError::client("ValidationError", message)
}

/// An error with one of the model's awsQuery codes (`LoadBalancerNotFound`, …).
pub fn error(code: &str, message: impl Into<String>) -> AwsError {
    AwsError::client(code, message)
}

/// A feature ELBv2 has and ecsim does not emulate: refused, never faked.
pub fn unsupported(what: impl std::fmt::Display) -> AwsError {
    validation(format!("ecsim does not support {what}"))
}

pub fn load_balancer_not_found(arns: &[String]) -> AwsError {
    error(
        "LoadBalancerNotFound",
        format!("Load balancers '[{}]' not found", arns.join(", ")),
    )
}

pub fn lb_not_found(arn: &str) -> AwsError {
    load_balancer_not_found(&[arn.to_string()])
}

pub fn target_group_not_found(arn: &str) -> AwsError {
    error("TargetGroupNotFound", format!("Target groups '{arn}' not found"))
}

pub fn listener_not_found(arn: &str) -> AwsError {
    error("ListenerNotFound", format!("Listener '{arn}' not found"))
}

pub fn rule_not_found(arn: &str) -> AwsError {
    error("RuleNotFound", format!("Rule '{arn}' not found"))
}

/// 16 lowercase hex digits, drawn again on the (unlikely) clash with an existing id.
pub fn new_id(rng: &mut Rng, taken: impl Fn(&str) -> bool) -> String {
    loop {
        let id = rng.hex(16);
        if !taken(&id) {
            return id;
        }
    }
}

/// Epoch seconds as the API carries timestamps.
#[allow(clippy::cast_precision_loss)]
pub fn epoch_seconds(ms: Millis) -> f64 {
    ms as f64 / 1_000.0
}

/// Load balancer and target group names: 1–32 alphanumerics or hyphens, not starting or ending
/// with a hyphen (and, for load balancers, not starting with `internal-`).
pub fn validate_name(kind: NameKind, name: &str) -> R<()> {
    let what = match kind {
        NameKind::LoadBalancer => "Load balancer",
        NameKind::TargetGroup => "Target group",
    };
    if name.is_empty() {
        return Err(validation(format!("{what} name cannot be empty")));
    }
    if name.len() > 32 {
        return Err(validation(format!(
            "{what} name '{name}' cannot be longer than '32' characters"
        )));
    }
    if !name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-') {
        return Err(validation(format!(
            "{what} name '{name}' can only contain characters that are alphanumeric characters or hyphens(-)"
        )));
    }
    if name.starts_with('-') || name.ends_with('-') {
        return Err(validation(format!(
            "{what} name '{name}' cannot begin or end with '-'"
        )));
    }
    if kind == NameKind::LoadBalancer && name.to_ascii_lowercase().starts_with("internal-") {
        return Err(validation(format!(
            "Load balancer name '{name}' cannot begin with 'internal-'"
        )));
    }
    Ok(())
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NameKind {
    LoadBalancer,
    TargetGroup,
}

/// Largest page any describe returns.
pub const MAX_PAGE_SIZE: usize = 400;

/// One page of `items` after `marker` (an offset this module issued), and the marker of the
/// next page when there is one.
pub fn paginate<T>(
    items: Vec<T>,
    marker: Option<&str>,
    page_size: Option<i32>,
) -> R<(Vec<T>, Option<String>)> {
    let size = match page_size {
        None => MAX_PAGE_SIZE,
        Some(n) if (1..=400).contains(&n) => usize::try_from(n).unwrap_or(MAX_PAGE_SIZE),
        Some(n) => {
            return Err(validation(format!(
                "Page size '{n}' must be between '1' and '400'"
            )));
        }
    };
    let start = match marker {
        None => 0,
        Some(m) => m
            .parse::<usize>()
            .ok()
            .filter(|s| *s <= items.len())
            .ok_or_else(|| validation("The marker is not valid"))?,
    };
    let end = start.saturating_add(size).min(items.len());
    let next = (end < items.len()).then(|| end.to_string());
    let page = items.into_iter().skip(start).take(end - start).collect();
    Ok((page, next))
}

/// Parses an integer attribute or parameter value within `min..=max`.
pub fn int_in(value: &str, min: i64, max: i64) -> Option<i64> {
    value
        .trim()
        .parse::<i64>()
        .ok()
        .filter(|v| (min..=max).contains(v))
}

/// `true` / `false`, as ELBv2 attributes spell them.
pub fn is_bool(value: &str) -> bool {
    value == "true" || value == "false"
}

/// A stable 64-bit FNV-1a hash (seeds derived from ARNs must not change between runs or
/// toolchains).
pub fn fnv1a(s: &str) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in s.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        assert!(validate_name(NameKind::LoadBalancer, "web-alb-1").is_ok());
        assert!(validate_name(NameKind::LoadBalancer, "internal-web").is_err());
        assert!(validate_name(NameKind::TargetGroup, "internal-web").is_ok());
        assert!(validate_name(NameKind::TargetGroup, "-web").is_err());
        assert!(validate_name(NameKind::TargetGroup, "web-").is_err());
        assert!(validate_name(NameKind::TargetGroup, "web_1").is_err());
        assert!(validate_name(NameKind::TargetGroup, &"a".repeat(32)).is_ok());
        assert!(validate_name(NameKind::TargetGroup, &"a".repeat(33)).is_err());
        assert!(validate_name(NameKind::TargetGroup, "").is_err());
    }

    #[test]
    fn pages() {
        let items: Vec<u32> = (0..5).collect();
        let (p, next) = paginate(items.clone(), None, Some(2)).unwrap();
        assert_eq!((p, next.as_deref()), (vec![0, 1], Some("2")));
        let (p, next) = paginate(items.clone(), Some("4"), Some(2)).unwrap();
        assert_eq!((p, next), (vec![4], None));
        assert!(paginate(items.clone(), Some("x"), None).is_err());
        assert!(paginate(items, None, Some(0)).is_err());
    }
}
