//! TagResource, UntagResource and ListTagsForResource on CodeDeploy applications and deployment
//! groups, plus the tag checks CreateApplication and CreateDeploymentGroup reuse.
//!
//! Tags live on the application and group records; this module never creates or deletes a
//! resource, and deployment configs carry no tags (their ARNs are answered with
//! `ArnNotSupportedException`, as only applications and deployment groups are taggable in AWS).

use ecsim_api::codedeploy as api;
use ecsim_protocol::AwsError;

use super::CodeDeployHandler;
use super::common::{
    application_arn, application_does_not_exist, config_arn, config_does_not_exist, error, group_arn,
    group_does_not_exist, paginate,
};
use super::configs;
use super::state::TagList;
use crate::world::World;

type R<T> = Result<T, AwsError>;

/// AWS's tagging limits (the model states none for CodeDeploy; these are the ones every AWS
/// service documents): tags per resource, key and value lengths in characters.
const MAX_TAGS_PER_RESOURCE: usize = 50;
const MAX_KEY_CHARS: usize = 128;
const MAX_VALUE_CHARS: usize = 256;
/// ListTagsForResource page size (a resource holds at most 50, so one page in practice).
const PAGE_SIZE: usize = 100;

fn invalid_tags(message: impl Into<String>) -> AwsError {
    error("InvalidTagsToAddException", message)
}

/// Checks tags to add: a key of 1–128 characters not starting with `aws:` (reserved), a value of
/// at most 256 characters.
pub fn validate(tags: &[api::Tag]) -> R<()> {
    for tag in tags {
        let key = tag.key.as_deref().unwrap_or_default();
        if key.is_empty() || key.chars().count() > MAX_KEY_CHARS {
            return Err(invalid_tags(format!(
                "Tag keys must be 1 to {MAX_KEY_CHARS} characters long; got '{key}'."
            )));
        }
        if key.to_ascii_lowercase().starts_with("aws:") {
            return Err(invalid_tags(format!(
                "Tag key '{key}' uses the reserved prefix 'aws:'."
            )));
        }
        let value = tag.value.as_deref().unwrap_or_default();
        if value.chars().count() > MAX_VALUE_CHARS {
            return Err(invalid_tags(format!(
                "The value of tag '{key}' is longer than {MAX_VALUE_CHARS} characters."
            )));
        }
    }
    Ok(())
}

/// `existing` with `added` applied: a tag whose key is already there replaces its value, a new
/// key is appended. Refuses a result of more than 50 tags (and then changes nothing).
pub fn merged(existing: &TagList, added: &[api::Tag]) -> R<TagList> {
    let mut tags = existing.clone();
    for tag in added {
        match tags.iter_mut().find(|t| t.key == tag.key) {
            Some(current) => current.value = tag.value.clone(),
            None => tags.push(tag.clone()),
        }
    }
    if tags.len() > MAX_TAGS_PER_RESOURCE {
        return Err(invalid_tags(format!(
            "A resource can have at most {MAX_TAGS_PER_RESOURCE} tags; this request would leave {}.",
            tags.len()
        )));
    }
    Ok(tags)
}

/// A taggable resource named by an ARN of this world.
enum Resource {
    Application(String),
    Group(String, String),
}

/// Resolves `arn` to a resource of this world, with the error AWS gives for each way it can fail:
/// empty → `ResourceArnRequiredException`; not a CodeDeploy ARN → `InvalidArnException`; a
/// CodeDeploy resource that cannot be tagged → `ArnNotSupportedException`; an ARN of this shape
/// naming nothing here (another account or region included) → the resource's `…DoesNotExist…`.
fn resource(world: &World, arn: &str) -> R<Resource> {
    if arn.is_empty() {
        return Err(error(
            "ResourceArnRequiredException",
            "The ARN of a resource is required.",
        ));
    }
    // arn:<partition>:<service>:<region>:<account>:<resource>; CodeDeploy resources are
    // <type>:<name>.
    let parts: Vec<&str> = arn.splitn(6, ':').collect();
    let [prefix, partition, service, _region, _account, resource] = parts.as_slice() else {
        return Err(error("InvalidArnException", format!("{arn} is not a valid ARN.")));
    };
    if *prefix != "arn" || partition.is_empty() || service.is_empty() || resource.is_empty() {
        return Err(error("InvalidArnException", format!("{arn} is not a valid ARN.")));
    }
    if *service != "codedeploy" {
        return Err(error(
            "ArnNotSupportedException",
            format!("{arn} is not a CodeDeploy application or deployment group ARN."),
        ));
    }
    let Some((kind, name)) = resource.split_once(':').filter(|(_, name)| !name.is_empty()) else {
        return Err(error(
            "InvalidArnException",
            format!("{arn} names no CodeDeploy resource: expected <type>:<name> after the account."),
        ));
    };
    match kind {
        "application" => {
            let exists =
                world.codedeploy.applications.contains_key(name) && application_arn(world, name) == arn;
            if !exists {
                return Err(application_does_not_exist(name));
            }
            Ok(Resource::Application(name.to_string()))
        }
        "deploymentgroup" => {
            let Some((application, group)) = name.split_once('/') else {
                return Err(error(
                    "InvalidArnException",
                    format!(
                        "{arn} names no deployment group: expected deploymentgroup:<application>/<group>."
                    ),
                ));
            };
            let here = group_arn(world, application, group) == arn;
            if !here || !world.codedeploy.applications.contains_key(application) {
                return Err(application_does_not_exist(application));
            }
            if world.codedeploy.group(application, group).is_none() {
                return Err(group_does_not_exist(application, group));
            }
            Ok(Resource::Group(application.to_string(), group.to_string()))
        }
        "deploymentconfig" => {
            let exists = config_arn(world, name) == arn
                && (configs::predefined(name).is_some() || world.codedeploy.configs.contains_key(name));
            if !exists {
                return Err(config_does_not_exist(name));
            }
            Err(error(
                "ArnNotSupportedException",
                format!("Deployment configurations cannot be tagged: {arn}"),
            ))
        }
        _ => Err(error(
            "ArnNotSupportedException",
            format!("{arn} is not a CodeDeploy application or deployment group ARN."),
        )),
    }
}

/// The error for a resource that `resource` found but is gone now (nothing in between removes
/// one, so this only keeps the handlers total).
fn not_found(resource: &Resource) -> AwsError {
    match resource {
        Resource::Application(name) => application_does_not_exist(name),
        Resource::Group(application, group) => group_does_not_exist(application, group),
    }
}

fn tags_mut<'w>(world: &'w mut World, resource: &Resource) -> Option<&'w mut TagList> {
    match resource {
        Resource::Application(name) => world.codedeploy.applications.get_mut(name).map(|a| &mut a.tags),
        Resource::Group(application, group) => world
            .codedeploy
            .group_mut(application, group)
            .map(|g| &mut g.tags),
    }
}

fn tags_of<'w>(world: &'w World, resource: &Resource) -> Option<&'w TagList> {
    match resource {
        Resource::Application(name) => world.codedeploy.applications.get(name).map(|a| &a.tags),
        Resource::Group(application, group) => world.codedeploy.group(application, group).map(|g| &g.tags),
    }
}

pub fn tag_resource(
    h: &mut CodeDeployHandler<'_, '_>,
    input: api::TagResourceInput,
) -> R<api::TagResourceOutput> {
    let resource = resource(h.world, &input.resource_arn)?;
    if input.tags.is_empty() {
        return Err(error("TagRequiredException", "A tag must be specified."));
    }
    validate(&input.tags)?;
    let tags = tags_mut(h.world, &resource).ok_or_else(|| not_found(&resource))?;
    *tags = merged(tags, &input.tags)?;
    Ok(api::TagResourceOutput {})
}

pub fn untag_resource(
    h: &mut CodeDeployHandler<'_, '_>,
    input: api::UntagResourceInput,
) -> R<api::UntagResourceOutput> {
    let resource = resource(h.world, &input.resource_arn)?;
    if input.tag_keys.is_empty() {
        return Err(error(
            "TagRequiredException",
            "At least one tag key must be specified.",
        ));
    }
    let tags = tags_mut(h.world, &resource).ok_or_else(|| not_found(&resource))?;
    // Keys the resource does not have are ignored, as AWS does.
    tags.retain(|t| !input.tag_keys.iter().any(|k| Some(k) == t.key.as_ref()));
    Ok(api::UntagResourceOutput {})
}

pub fn list_tags_for_resource(
    h: &mut CodeDeployHandler<'_, '_>,
    input: api::ListTagsForResourceInput,
) -> R<api::ListTagsForResourceOutput> {
    let resource = resource(h.world, &input.resource_arn)?;
    let tags = tags_of(h.world, &resource).ok_or_else(|| not_found(&resource))?;
    let (page, next_token) = paginate(tags, input.next_token.as_deref(), PAGE_SIZE)?;
    Ok(api::ListTagsForResourceOutput {
        tags: Some(page),
        next_token,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tag(key: &str, value: &str) -> api::Tag {
        api::Tag {
            key: Some(key.into()),
            value: Some(value.into()),
        }
    }

    #[test]
    fn merging_replaces_values_and_appends_new_keys() {
        let existing = vec![tag("team", "a"), tag("env", "dev")];
        let merged = merged(&existing, &[tag("env", "prod"), tag("cost", "42")]).expect("fits");
        assert_eq!(
            merged,
            vec![tag("team", "a"), tag("env", "prod"), tag("cost", "42")]
        );
    }

    #[test]
    fn limits_are_enforced() {
        let fifty: Vec<api::Tag> = (0..50).map(|i| tag(&format!("k{i}"), "v")).collect();
        assert!(merged(&Vec::new(), &fifty).is_ok());
        let e = merged(&fifty, &[tag("one-more", "v")]).expect_err("51 tags");
        assert_eq!(e.code, "InvalidTagsToAddException");
        for bad in [tag("", "v"), tag(&"k".repeat(129), "v"), tag("AWS:owner", "v")] {
            assert_eq!(
                validate(&[bad]).expect_err("invalid").code,
                "InvalidTagsToAddException"
            );
        }
        assert!(validate(&[tag(&"k".repeat(128), &"v".repeat(256))]).is_ok());
        assert!(validate(&[tag("k", &"v".repeat(257))]).is_err());
    }
}
