//! Tags of load balancers, target groups, listeners and rules: AddTags, RemoveTags, DescribeTags
//! and the checks tags given at creation go through.
//!
//! At most 50 tags per resource (`TooManyTags`); keys may not start with `aws:`. A request that
//! fails changes no resource.

use ecsim_api::elbv2 as api;

use super::common::{
    R, error, lb_not_found, listener_not_found, rule_not_found, target_group_not_found, validation,
};
use super::state::{Elbv2State, Tags};
use crate::world::World;

/// Most tags one resource may carry.
pub const MAX_TAGS: usize = 50;

/// Checks tags given to a create call and returns them as a map.
pub fn new_tags(tags: Option<Vec<api::Tag>>) -> R<Tags> {
    let mut out = Tags::new();
    merge(&mut out, &tags.unwrap_or_default())?;
    Ok(out)
}

/// Adds `tags` to `into` (same key: new value), refusing duplicates, reserved keys and more than
/// [`MAX_TAGS`] in total.
fn merge(into: &mut Tags, tags: &[api::Tag]) -> R<()> {
    let mut seen = std::collections::BTreeSet::new();
    for tag in tags {
        if !seen.insert(tag.key.as_str()) {
            return Err(error(
                "DuplicateTagKeys",
                format!("Tag key '{}' was specified more than once", tag.key),
            ));
        }
        if tag.key.is_empty() || tag.key.len() > 128 {
            return Err(validation("Tag keys must be 1 to 128 characters long"));
        }
        if tag.key.to_ascii_lowercase().starts_with("aws:") {
            return Err(validation(format!(
                "Tag key '{}' cannot start with 'aws:': the prefix is reserved",
                tag.key
            )));
        }
        if tag.value.as_deref().is_some_and(|v| v.len() > 256) {
            return Err(validation("Tag values must be at most 256 characters long"));
        }
        into.insert(tag.key.clone(), tag.value.clone().unwrap_or_default());
    }
    if into.len() > MAX_TAGS {
        return Err(error(
            "TooManyTags",
            format!("A resource can have at most {MAX_TAGS} tags"),
        ));
    }
    Ok(())
}

pub fn render(tags: &Tags) -> Vec<api::Tag> {
    tags.iter()
        .map(|(k, v)| api::Tag {
            key: k.clone(),
            value: Some(v.clone()),
        })
        .collect()
}

/// The tags of the resource named by `arn`, or the resource type's not-found error.
fn tags_of<'s>(state: &'s Elbv2State, arn: &str) -> R<&'s Tags> {
    let resource = ecsim_core::ids::arn_resource(arn).unwrap_or_default();
    if resource.starts_with("loadbalancer/") {
        state
            .load_balancers
            .get(arn)
            .map(|lb| &lb.tags)
            .ok_or_else(|| lb_not_found(arn))
    } else if resource.starts_with("targetgroup/") {
        state
            .target_groups
            .get(arn)
            .map(|tg| &tg.tags)
            .ok_or_else(|| target_group_not_found(arn))
    } else if resource.starts_with("listener/") {
        state
            .listeners
            .get(arn)
            .map(|l| &l.tags)
            .ok_or_else(|| listener_not_found(arn))
    } else if resource.starts_with("listener-rule/") {
        state
            .rules
            .get(arn)
            .map(|r| &r.tags)
            .or_else(|| state.listener_by_default_rule(arn).map(|l| &l.default_rule_tags))
            .ok_or_else(|| rule_not_found(arn))
    } else {
        Err(validation(format!(
            "'{arn}' is not a valid Elastic Load Balancing resource ARN"
        )))
    }
}

fn tags_of_mut<'s>(state: &'s mut Elbv2State, arn: &str) -> Option<&'s mut Tags> {
    if state.load_balancers.contains_key(arn) {
        return state.load_balancers.get_mut(arn).map(|lb| &mut lb.tags);
    }
    if state.target_groups.contains_key(arn) {
        return state.target_groups.get_mut(arn).map(|tg| &mut tg.tags);
    }
    if state.listeners.contains_key(arn) {
        return state.listeners.get_mut(arn).map(|l| &mut l.tags);
    }
    if state.rules.contains_key(arn) {
        return state.rules.get_mut(arn).map(|r| &mut r.tags);
    }
    state
        .listeners
        .values_mut()
        .find(|l| l.default_rule_arn == arn)
        .map(|l| &mut l.default_rule_tags)
}

pub fn add_tags(world: &mut World, input: api::AddTagsInput) -> R<api::AddTagsOutput> {
    if input.resource_arns.is_empty() {
        return Err(validation("At least one resource ARN must be specified"));
    }
    // Check every resource first, so a failure changes nothing.
    let mut updated = Vec::new();
    for arn in &input.resource_arns {
        let mut tags = tags_of(&world.elbv2, arn)?.clone();
        merge(&mut tags, &input.tags)?;
        updated.push((arn.clone(), tags));
    }
    for (arn, tags) in updated {
        if let Some(slot) = tags_of_mut(&mut world.elbv2, &arn) {
            *slot = tags;
        }
    }
    Ok(api::AddTagsOutput {})
}

pub fn remove_tags(world: &mut World, input: api::RemoveTagsInput) -> R<api::RemoveTagsOutput> {
    if input.resource_arns.is_empty() {
        return Err(validation("At least one resource ARN must be specified"));
    }
    for arn in &input.resource_arns {
        tags_of(&world.elbv2, arn)?;
    }
    for arn in &input.resource_arns {
        if let Some(tags) = tags_of_mut(&mut world.elbv2, arn) {
            for key in &input.tag_keys {
                tags.remove(key);
            }
        }
    }
    Ok(api::RemoveTagsOutput {})
}

pub fn describe_tags(world: &World, input: api::DescribeTagsInput) -> R<api::DescribeTagsOutput> {
    if input.resource_arns.is_empty() {
        return Err(validation("At least one resource ARN must be specified"));
    }
    let mut out = Vec::new();
    for arn in &input.resource_arns {
        let tags = tags_of(&world.elbv2, arn)?;
        out.push(api::TagDescription {
            resource_arn: Some(arn.clone()),
            tags: Some(render(tags)),
        });
    }
    Ok(api::DescribeTagsOutput {
        tag_descriptions: Some(out),
    })
}
