//! Lookups, errors and pagination shared by the ECS handlers, with AWS's wording.

use ecsim_api::ecs as api;
use ecsim_core::Millis;
use ecsim_core::clock::epoch_seconds;
use ecsim_protocol::AwsError;

use super::state::{ClusterRecord, EcsState};
use crate::world::World;

pub fn invalid_parameter(message: impl Into<String>) -> AwsError {
    AwsError::client("InvalidParameterException", message)
}

pub fn client_exception(message: impl Into<String>) -> AwsError {
    AwsError::client("ClientException", message)
}

pub fn cluster_not_found() -> AwsError {
    AwsError::client("ClusterNotFoundException", "Cluster not found.")
}

pub fn service_not_found() -> AwsError {
    AwsError::client("ServiceNotFoundException", "Service not found.")
}

pub fn service_not_active() -> AwsError {
    AwsError::client("ServiceNotActiveException", "Service was not ACTIVE.")
}

/// Epoch seconds for an API timestamp.
pub fn ts(at_ms: Millis) -> f64 {
    epoch_seconds(at_ms)
}

/// The last `/`-separated segment of a name or ARN (`arn:…:cluster/demo` → `demo`).
pub fn last_segment(name_or_arn: &str) -> &str {
    name_or_arn.rsplit('/').next().unwrap_or(name_or_arn)
}

/// The cluster name a request means: its `cluster` parameter (name or ARN) or `default`.
pub fn cluster_name(cluster: Option<&str>) -> String {
    match cluster {
        None | Some("") => "default".to_string(),
        Some(c) if c.starts_with("arn:") => c
            .split_once(":cluster/")
            .map(|(_, n)| n.to_string())
            .unwrap_or_else(|| c.to_string()),
        Some(c) => c.to_string(),
    }
}

/// The ACTIVE cluster a request means, or `ClusterNotFoundException`.
pub fn active_cluster<'w>(ecs: &'w EcsState, cluster: Option<&str>) -> Result<&'w ClusterRecord, AwsError> {
    ecs.clusters
        .get(&cluster_name(cluster))
        .filter(|c| c.status == "ACTIVE")
        .ok_or_else(cluster_not_found)
}

pub fn active_cluster_mut<'w>(
    ecs: &'w mut EcsState,
    cluster: Option<&str>,
) -> Result<&'w mut ClusterRecord, AwsError> {
    ecs.clusters
        .get_mut(&cluster_name(cluster))
        .filter(|c| c.status == "ACTIVE")
        .ok_or_else(cluster_not_found)
}

/// ARN of a cluster by name in this world.
pub fn cluster_arn(world: &World, name: &str) -> String {
    world.arn("ecs", &format!("cluster/{name}"))
}

/// The principal ARN ECS records as `createdBy` / `registeredBy`.
pub fn root_principal_arn(world: &World) -> String {
    format!("arn:aws:iam::{}:root", world.account_id)
}

/// ECS-style pagination over keys in a stable order.
///
/// `next_token` is opaque to clients: the hex encoding of the last key returned. `max_results`
/// must lie in `1..=limit`; `default_max` applies when it is absent.
pub fn paginate<T: Clone>(
    items: &[(String, T)],
    next_token: Option<&str>,
    max_results: Option<i32>,
    default_max: usize,
    limit: usize,
) -> Result<(Vec<T>, Option<String>), AwsError> {
    let page_size = match max_results {
        None => default_max,
        Some(n) if n >= 1 && usize::try_from(n).is_ok_and(|n| n <= limit) => {
            usize::try_from(n).unwrap_or(limit)
        }
        Some(n) => {
            return Err(invalid_parameter(format!(
                "maxResults must be between 1 and {limit}, got {n}."
            )));
        }
    };
    let start = match next_token {
        None | Some("") => 0,
        Some(token) => {
            let after = decode_token(token).ok_or_else(|| invalid_parameter("Invalid token"))?;
            items
                .iter()
                .position(|(k, _)| k.as_str() > after.as_str())
                .unwrap_or(items.len())
        }
    };
    let end = (start + page_size).min(items.len());
    let page: Vec<T> = items[start..end].iter().map(|(_, v)| v.clone()).collect();
    let token = (end < items.len()).then(|| encode_token(&items[end - 1].0));
    Ok((page, token))
}

fn encode_token(key: &str) -> String {
    key.bytes().map(|b| format!("{b:02x}")).collect()
}

fn decode_token(token: &str) -> Option<String> {
    if !token.len().is_multiple_of(2) || token.len() > 4096 {
        return None;
    }
    let bytes: Option<Vec<u8>> = (0..token.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(token.get(i..i + 2)?, 16).ok())
        .collect();
    String::from_utf8(bytes?).ok()
}

/// A `Failure` entry for a resource that does not exist.
pub fn missing(arn: String) -> api::Failure {
    api::Failure {
        arn: Some(arn),
        reason: Some("MISSING".into()),
        detail: None,
    }
}

/// Validates resource tags as ECS does: at most 50, keys 1–128 chars, values up to 256, no `aws:` prefix.
pub fn validate_tags(tags: &[api::Tag]) -> Result<(), AwsError> {
    if tags.len() > 50 {
        return Err(invalid_parameter("The number of tags exceeds the limit of 50."));
    }
    for tag in tags {
        let key = tag.key.as_deref().unwrap_or("");
        if key.is_empty() || key.chars().count() > 128 {
            return Err(invalid_parameter(
                "Tag keys must be between 1 and 128 characters.",
            ));
        }
        if key.to_ascii_lowercase().starts_with("aws:") {
            return Err(invalid_parameter("Tag keys starting with 'aws:' are reserved."));
        }
        if tag.value.as_deref().unwrap_or("").chars().count() > 256 {
            return Err(invalid_parameter("Tag values must be at most 256 characters."));
        }
    }
    Ok(())
}

/// Merges `new` into `existing` by key (new values win), keeping first-seen order.
pub fn merge_tags(existing: &mut Vec<api::Tag>, new: &[api::Tag]) {
    for tag in new {
        match existing.iter_mut().find(|t| t.key == tag.key) {
            Some(t) => t.value.clone_from(&tag.value),
            None => existing.push(tag.clone()),
        }
    }
}

/// Resource names: up to 255 letters, digits, hyphens and underscores.
pub fn is_valid_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 255
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pagination_walks_every_item_once() {
        let items: Vec<(String, u32)> = (0..25).map(|i| (format!("k{i:03}"), i)).collect();
        let mut seen = Vec::new();
        let mut token: Option<String> = None;
        loop {
            let (page, next) = paginate(&items, token.as_deref(), Some(10), 100, 100).unwrap();
            seen.extend(page);
            match next {
                Some(t) => token = Some(t),
                None => break,
            }
        }
        assert_eq!(seen, (0..25).collect::<Vec<_>>());
        assert!(paginate(&items, Some("zz"), None, 100, 100).is_err());
        assert!(paginate(&items, None, Some(0), 100, 100).is_err());
        assert!(paginate(&items, None, Some(101), 100, 100).is_err());
    }

    #[test]
    fn cluster_names_from_arns() {
        assert_eq!(cluster_name(None), "default");
        assert_eq!(
            cluster_name(Some("arn:aws:ecs:us-east-1:000000000000:cluster/demo")),
            "demo"
        );
        assert_eq!(cluster_name(Some("demo")), "demo");
        assert_eq!(last_segment("arn:aws:ecs:us-east-1:0:task/demo/abc"), "abc");
    }
}
