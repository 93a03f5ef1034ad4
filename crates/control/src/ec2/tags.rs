//! EC2 tags on VPCs, subnets and security groups: CreateTags, DeleteTags, DescribeTags, and the
//! `TagSpecifications` of the Create calls.
//!
//! Tags live on the network resources themselves; this module only validates and moves them.

use std::collections::BTreeSet;

use ecsim_api::ec2 as api;
use ecsim_protocol::AwsError;

use super::filter::{Filters, dry_run, paginate};
use crate::network::{Network, Tags};

/// AWS's per-resource tag limit.
const MAX_TAGS: usize = 50;

/// The taggable resource an id names, from its prefix.
fn resource_type(id: &str) -> Option<api::ResourceType> {
    if id.starts_with("vpc-") {
        Some(api::ResourceType::Vpc)
    } else if id.starts_with("subnet-") {
        Some(api::ResourceType::Subnet)
    } else if id.starts_with("sg-") {
        Some(api::ResourceType::SecurityGroup)
    } else {
        None
    }
}

/// The tags of the resource `id`, or the NotFound error EC2 gives for it.
fn tags_mut<'n>(network: &'n mut Network, id: &str) -> Result<&'n mut Tags, AwsError> {
    let found = match resource_type(id) {
        Some(api::ResourceType::Vpc) => network.vpcs.get_mut(id).map(|v| &mut v.tags),
        Some(api::ResourceType::Subnet) => network.subnets.get_mut(id).map(|s| &mut s.tags),
        Some(api::ResourceType::SecurityGroup) => network.security_groups.get_mut(id).map(|g| &mut g.tags),
        _ => {
            return Err(AwsError::client(
                "InvalidID",
                format!("The ID '{id}' is not valid"),
            ));
        }
    };
    found.ok_or_else(|| match resource_type(id) {
        Some(api::ResourceType::Vpc) => AwsError::client(
            "InvalidVpcID.NotFound",
            format!("The vpc ID '{id}' does not exist"),
        ),
        Some(api::ResourceType::Subnet) => AwsError::client(
            "InvalidSubnetID.NotFound",
            format!("The subnet ID '{id}' does not exist"),
        ),
        _ => AwsError::client(
            "InvalidGroup.NotFound",
            format!("The security group '{id}' does not exist"),
        ),
    })
}

/// A validated (key, value) pair: keys 1–128 characters and not `aws:`-prefixed, values ≤ 256.
fn checked(tag: &api::Tag) -> Result<(String, String), AwsError> {
    let key = tag.key.clone().unwrap_or_default();
    let value = tag.value.clone().unwrap_or_default();
    let invalid = |msg: String| Err(AwsError::client("InvalidParameterValue", msg));
    if key.is_empty() {
        return invalid("Tag keys must be specified and non-empty".into());
    }
    if key.chars().count() > 128 {
        return invalid(format!(
            "Tag key exceeds the maximum length of 128 characters: {key}"
        ));
    }
    if value.chars().count() > 256 {
        return invalid(format!(
            "Tag value exceeds the maximum length of 256 characters: {value}"
        ));
    }
    if key.to_ascii_lowercase().starts_with("aws:") {
        return invalid("Tag keys starting with 'aws:' are reserved for internal use".into());
    }
    Ok((key, value))
}

fn limit_error() -> AwsError {
    AwsError::client(
        "TagLimitExceeded",
        "The maximum number of Tags for a resource has been reached.",
    )
}

/// The tags a Create call's `TagSpecifications` give a new resource of type `resource`. A
/// specification for another resource type is refused, as EC2 does.
pub(super) fn from_specs(
    specs: Option<Vec<api::TagSpecification>>,
    resource: api::ResourceType,
) -> Result<Tags, AwsError> {
    let mut tags = Tags::new();
    for spec in specs.unwrap_or_default() {
        if let Some(rt) = spec.resource_type
            && rt != resource
        {
            return Err(AwsError::client(
                "InvalidParameterValue",
                format!("'{rt}' is not a valid taggable resource type for this operation."),
            ));
        }
        for tag in spec.tags.unwrap_or_default() {
            let (k, v) = checked(&tag)?;
            tags.insert(k, v);
        }
    }
    if tags.len() > MAX_TAGS {
        return Err(limit_error());
    }
    Ok(tags)
}

/// A resource's tags in the API's shape (`None` when it has none, as EC2 omits the set).
pub(super) fn to_list(tags: &Tags) -> Option<Vec<api::Tag>> {
    (!tags.is_empty()).then(|| {
        tags.iter()
            .map(|(k, v)| api::Tag {
                key: Some(k.clone()),
                value: Some(v.clone()),
            })
            .collect()
    })
}

/// CreateTags: every resource must exist and every tag be valid before anything changes.
pub(super) fn create(network: &mut Network, input: api::CreateTagsRequest) -> Result<(), AwsError> {
    dry_run(input.dry_run)?;
    let new: Vec<(String, String)> = input.tags.iter().map(checked).collect::<Result<_, _>>()?;
    for id in &input.resources {
        let tags = tags_mut(network, id)?;
        let added: BTreeSet<&String> = new
            .iter()
            .map(|(k, _)| k)
            .filter(|k| !tags.contains_key(*k))
            .collect();
        if tags.len() + added.len() > MAX_TAGS {
            return Err(limit_error());
        }
    }
    for id in &input.resources {
        let tags = tags_mut(network, id)?;
        tags.extend(new.iter().cloned());
    }
    Ok(())
}

/// DeleteTags: without `Tags` every tag goes; a tag with a value is removed only when the value
/// matches (an empty value matches only an empty value); a tag without a value goes whatever it is.
pub(super) fn delete(network: &mut Network, input: api::DeleteTagsRequest) -> Result<(), AwsError> {
    dry_run(input.dry_run)?;
    for id in &input.resources {
        tags_mut(network, id)?;
    }
    for id in &input.resources {
        let tags = tags_mut(network, id)?;
        match &input.tags {
            None => tags.clear(),
            Some(list) => {
                for tag in list {
                    let Some(key) = tag.key.as_deref() else { continue };
                    let remove = match &tag.value {
                        None => true,
                        Some(value) => tags.get(key) == Some(value),
                    };
                    if remove {
                        tags.remove(key);
                    }
                }
            }
        }
    }
    Ok(())
}

const TAG_FILTERS: &[&str] = &["key", "value", "resource-id", "resource-type", "tag:"];

/// DescribeTags: one entry per (resource, key), sorted by resource id then key.
pub(super) fn describe(
    network: &Network,
    input: api::DescribeTagsRequest,
) -> Result<api::DescribeTagsResult, AwsError> {
    dry_run(input.dry_run)?;
    let filters = Filters::parse(input.filters, TAG_FILTERS)?;
    let owners = network
        .vpcs
        .values()
        .map(|v| (&v.id, &v.tags))
        .chain(network.subnets.values().map(|s| (&s.id, &s.tags)))
        .chain(network.security_groups.values().map(|g| (&g.id, &g.tags)));
    let mut items = Vec::new();
    for (id, tags) in owners {
        let Some(rt) = resource_type(id) else { continue };
        for (key, value) in tags {
            let field = |name: &str| -> Vec<String> {
                match name {
                    "key" => vec![key.clone()],
                    "value" => vec![value.clone()],
                    "resource-id" => vec![id.clone()],
                    "resource-type" => vec![rt.as_str().to_string()],
                    _ => match name.strip_prefix("tag:") {
                        Some(k) if k == key => vec![value.clone()],
                        _ => Vec::new(),
                    },
                }
            };
            if filters.matches(field) {
                let entry = api::TagDescription {
                    key: Some(key.clone()),
                    resource_id: Some(id.clone()),
                    resource_type: Some(rt),
                    value: Some(value.clone()),
                };
                items.push((format!("{id}\n{key}"), entry));
            }
        }
    }
    items.sort_by(|a, b| a.0.cmp(&b.0));
    let (tags, next_token) = paginate(items, input.max_results, input.next_token.as_deref())?;
    Ok(api::DescribeTagsResult {
        next_token,
        tags: Some(tags),
    })
}
