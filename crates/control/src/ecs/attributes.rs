//! Custom attributes on container instances: PutAttributes, DeleteAttributes, ListAttributes.
//!
//! Attributes live on the container instance record (`ContainerInstanceRecord.attributes`, the
//! built-ins the agent reports included), so placement constraints and ListContainerInstances
//! filters see a change at once; handlers also wake the cluster's services so that tasks waiting
//! for a matching instance are retried.

use std::collections::BTreeMap;

use ecsim_api::ecs as api;
use ecsim_protocol::AwsError;

use super::EcsHandler;
use super::common::{self, invalid_parameter};
use super::state::ClusterRecord;

type R<T> = Result<T, AwsError>;

/// Most attributes one PutAttributes / DeleteAttributes call may carry.
pub const MAX_ATTRIBUTES_PER_CALL: usize = 10;
/// Most custom attributes one resource may have.
pub const MAX_CUSTOM_ATTRIBUTES: usize = 10;
/// Longest attribute name and value, in characters.
pub const MAX_NAME_CHARS: usize = 128;
pub const MAX_VALUE_CHARS: usize = 128;

fn target_not_found(target: &str) -> AwsError {
    AwsError::client(
        "TargetNotFoundException",
        format!("Could not find container instance {target}"),
    )
}

fn limit_exceeded(target: &str) -> AwsError {
    AwsError::client(
        "AttributeLimitExceededException",
        format!(
            "The container instance {target} would have more than {MAX_CUSTOM_ATTRIBUTES} custom attributes."
        ),
    )
}

/// Attributes ECS and its agent set (`ecs.*`, the agent's capabilities): not for PutAttributes or
/// DeleteAttributes, and not counted against the custom attribute limit.
pub fn is_builtin(name: &str) -> bool {
    name.starts_with("ecs.") || name.starts_with("com.amazonaws.ecs.")
}

fn valid_name(name: &str) -> bool {
    let n = name.chars().count();
    (1..=MAX_NAME_CHARS).contains(&n)
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '/' | '.' | '@'))
}

/// Values: up to 128 letters, digits, hyphens, underscores, periods, `@`, slashes, backslashes,
/// colons and spaces, not starting or ending with a space.
fn valid_value(value: &str) -> bool {
    value.chars().count() <= MAX_VALUE_CHARS
        && !value.starts_with(' ')
        && !value.ends_with(' ')
        && value
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '@' | '/' | '\\' | ':' | ' '))
}

/// Checks the list a Put/Delete call carries and returns, per attribute, the id of its target.
fn check_request(attributes: &[api::Attribute], put: bool) -> R<Vec<String>> {
    if attributes.is_empty() {
        return Err(invalid_parameter("attributes can not be empty."));
    }
    if attributes.len() > MAX_ATTRIBUTES_PER_CALL {
        return Err(invalid_parameter(format!(
            "attributes can have at most {MAX_ATTRIBUTES_PER_CALL} items."
        )));
    }
    let mut targets = Vec::with_capacity(attributes.len());
    for a in attributes {
        if !valid_name(&a.name) {
            return Err(invalid_parameter(format!(
                "Attribute name '{}' is invalid: names are 1 to {MAX_NAME_CHARS} letters, numbers, \
                 hyphens, underscores, slashes, periods and at signs (@).",
                a.name
            )));
        }
        if is_builtin(&a.name) {
            return Err(invalid_parameter(format!(
                "Attribute {} is reserved by Amazon ECS and can not be changed.",
                a.name
            )));
        }
        if put && a.value.as_deref().is_some_and(|v| !valid_value(v)) {
            return Err(invalid_parameter(format!(
                "The value of attribute {} is invalid: values are up to {MAX_VALUE_CHARS} letters, \
                 numbers, hyphens, underscores, periods, at signs (@), slashes, backslashes, colons \
                 and spaces, and can not start or end with a space.",
                a.name
            )));
        }
        let target = a
            .target_id
            .as_deref()
            .filter(|t| !t.is_empty())
            .ok_or_else(|| invalid_parameter(format!("Attribute {} needs a targetId.", a.name)))?;
        if a.target_type.is_none() && !target.starts_with("arn:") {
            return Err(invalid_parameter(format!(
                "Attribute {} needs a targetType when its targetId is not an ARN.",
                a.name
            )));
        }
        targets.push(target.to_string());
    }
    Ok(targets)
}

/// The id of the container instance `target` (id or ARN) names in `cluster`, if it is registered.
fn find_target(cluster: &ClusterRecord, target: &str) -> R<String> {
    let id = common::last_segment(target);
    cluster
        .container_instances
        .get(id)
        .filter(|ci| ci.status != "INACTIVE")
        .map(|ci| ci.id.clone())
        .ok_or_else(|| target_not_found(target))
}

/// Adds or replaces custom attributes on container instances. All targets are checked, and the
/// limit of 10 custom attributes per instance, before anything changes.
pub fn put_attributes(
    h: &mut EcsHandler<'_, '_>,
    input: api::PutAttributesRequest,
) -> R<api::PutAttributesResponse> {
    let cluster = common::active_cluster(&h.world.ecs, input.cluster.as_deref())?;
    let cluster_name = cluster.name.clone();
    let targets = check_request(&input.attributes, true)?;
    // The attributes each instance ends up with, computed before any change.
    let mut updated: BTreeMap<String, Vec<api::Attribute>> = BTreeMap::new();
    for (a, target) in input.attributes.iter().zip(&targets) {
        let id = find_target(cluster, target)?;
        let attributes = updated
            .entry(id.clone())
            .or_insert_with(|| cluster.container_instances[&id].attributes.clone());
        match attributes.iter_mut().find(|x| x.name == a.name) {
            Some(x) => x.value.clone_from(&a.value),
            None => attributes.push(api::Attribute {
                name: a.name.clone(),
                value: a.value.clone(),
                ..Default::default()
            }),
        }
        if attributes.iter().filter(|x| !is_builtin(&x.name)).count() > MAX_CUSTOM_ATTRIBUTES {
            return Err(limit_exceeded(target));
        }
    }
    let cluster = common::active_cluster_mut(&mut h.world.ecs, Some(&cluster_name))?;
    for (id, attributes) in updated {
        if let Some(ci) = cluster.container_instances.get_mut(&id)
            && ci.attributes != attributes
        {
            ci.attributes = attributes;
            ci.version += 1;
        }
    }
    super::service_loop::wake_cluster(h.world, h.ctx, &cluster_name);
    Ok(api::PutAttributesResponse {
        attributes: Some(input.attributes),
    })
}

/// Removes custom attributes (by name) from container instances; names an instance does not have
/// are ignored. All targets are checked before anything changes.
pub fn delete_attributes(
    h: &mut EcsHandler<'_, '_>,
    input: api::DeleteAttributesRequest,
) -> R<api::DeleteAttributesResponse> {
    let cluster = common::active_cluster(&h.world.ecs, input.cluster.as_deref())?;
    let cluster_name = cluster.name.clone();
    let targets = check_request(&input.attributes, false)?;
    let ids = targets
        .iter()
        .map(|t| find_target(cluster, t))
        .collect::<R<Vec<String>>>()?;
    let cluster = common::active_cluster_mut(&mut h.world.ecs, Some(&cluster_name))?;
    for (a, id) in input.attributes.iter().zip(&ids) {
        if let Some(ci) = cluster.container_instances.get_mut(id) {
            let before = ci.attributes.len();
            ci.attributes.retain(|x| x.name != a.name);
            if ci.attributes.len() != before {
                ci.version += 1;
            }
        }
    }
    super::service_loop::wake_cluster(h.world, h.ctx, &cluster_name);
    Ok(api::DeleteAttributesResponse {
        attributes: Some(input.attributes),
    })
}

/// Every attribute of every registered container instance of the cluster (built-ins included),
/// with the instance's ARN as `targetId`, optionally only those with a name (and value); ordered
/// by instance ARN, then name.
pub fn list_attributes(
    h: &mut EcsHandler<'_, '_>,
    input: api::ListAttributesRequest,
) -> R<api::ListAttributesResponse> {
    let cluster = common::active_cluster(&h.world.ecs, input.cluster.as_deref())?;
    let name = input.attribute_name.as_deref().filter(|n| !n.is_empty());
    let value = input.attribute_value.as_deref();
    if value.is_some() && name.is_none() {
        return Err(invalid_parameter(
            "attributeValue can only be specified together with attributeName.",
        ));
    }
    let mut items: Vec<(String, api::Attribute)> = cluster
        .container_instances
        .values()
        .filter(|ci| ci.status != "INACTIVE")
        .flat_map(|ci| {
            ci.attributes
                .iter()
                .filter(|a| name.is_none_or(|n| a.name == n))
                .filter(|a| value.is_none_or(|v| a.value.as_deref() == Some(v)))
                .map(|a| {
                    // `\0` sorts below every character, so keys order as (ARN, name).
                    let key = format!("{}\0{}", ci.arn, a.name);
                    let attribute = api::Attribute {
                        name: a.name.clone(),
                        value: a.value.clone(),
                        target_type: Some(input.target_type),
                        target_id: Some(ci.arn.clone()),
                    };
                    (key, attribute)
                })
        })
        .collect();
    items.sort_by(|a, b| a.0.cmp(&b.0));
    items.dedup_by(|a, b| a.0 == b.0);
    let (attributes, next_token) =
        common::paginate(&items, input.next_token.as_deref(), input.max_results, 100, 100)?;
    Ok(api::ListAttributesResponse {
        attributes: Some(attributes),
        next_token,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ecs::clusters::testkit::{Env, register_instance};

    fn env_with_instances(n: usize) -> (Env, Vec<String>) {
        let mut env = Env::new();
        env.call(|h| {
            crate::ecs::clusters::create_cluster(
                h,
                api::CreateClusterRequest {
                    cluster_name: Some("web".into()),
                    ..Default::default()
                },
            )
        })
        .unwrap();
        let ids = (0..n).map(|_| register_instance(&mut env, "web")).collect();
        (env, ids)
    }

    fn attr(name: &str, value: Option<&str>, target: &str) -> api::Attribute {
        api::Attribute {
            name: name.into(),
            value: value.map(String::from),
            target_type: Some(api::TargetType::ContainerInstance),
            target_id: Some(target.into()),
        }
    }

    fn put(env: &mut Env, attributes: Vec<api::Attribute>) -> R<api::PutAttributesResponse> {
        let input = api::PutAttributesRequest {
            cluster: Some("web".into()),
            attributes,
        };
        env.call(|h| put_attributes(h, input))
    }

    fn list(env: &mut Env, name: Option<&str>, value: Option<&str>) -> R<Vec<api::Attribute>> {
        let input = api::ListAttributesRequest {
            cluster: Some("web".into()),
            attribute_name: name.map(String::from),
            attribute_value: value.map(String::from),
            ..Default::default()
        };
        env.call(|h| list_attributes(h, input))
            .map(|r| r.attributes.unwrap())
    }

    #[test]
    fn put_replace_list_and_delete() {
        let (mut env, ids) = env_with_instances(2);
        let out = put(&mut env, vec![attr("stack", Some("prod"), &ids[0])]).unwrap();
        assert_eq!(
            out.attributes.unwrap()[0].target_id.as_deref(),
            Some(ids[0].as_str())
        );
        put(&mut env, vec![attr("stack", Some("dev"), &ids[0])]).unwrap();
        let found = list(&mut env, Some("stack"), None).unwrap();
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].value.as_deref(), Some("dev"));
        assert!(found[0].target_id.as_deref().unwrap().ends_with(&ids[0]));
        assert!(list(&mut env, Some("stack"), Some("prod")).unwrap().is_empty());
        assert_eq!(list(&mut env, Some("ecs.os-type"), None).unwrap().len(), 2);
        let all = list(&mut env, None, None).unwrap();
        let keys: Vec<(String, String)> = all
            .iter()
            .map(|a| (a.target_id.clone().unwrap(), a.name.clone()))
            .collect();
        let mut sorted = keys.clone();
        sorted.sort();
        assert_eq!(keys, sorted);
        assert_eq!(
            list(&mut env, None, Some("prod")).unwrap_err().code,
            "InvalidParameterException"
        );

        let input = api::DeleteAttributesRequest {
            cluster: Some("web".into()),
            attributes: vec![attr("stack", None, &ids[0])],
        };
        env.call(|h| delete_attributes(h, input)).unwrap();
        assert!(list(&mut env, Some("stack"), None).unwrap().is_empty());
    }

    #[test]
    fn put_refuses_bad_input_and_checks_before_changing() {
        let (mut env, ids) = env_with_instances(1);
        let code = |r: R<api::PutAttributesResponse>| r.unwrap_err().code;
        assert_eq!(
            code(put(&mut env, vec![attr("bad name", None, &ids[0])])),
            "InvalidParameterException"
        );
        assert_eq!(
            code(put(&mut env, vec![attr("ecs.instance-type", Some("x"), &ids[0])])),
            "InvalidParameterException"
        );
        let no_target = api::Attribute {
            name: "stack".into(),
            ..Default::default()
        };
        assert_eq!(code(put(&mut env, vec![no_target])), "InvalidParameterException");
        assert_eq!(
            code(put(
                &mut env,
                vec![attr("a", None, &ids[0]), attr("b", None, "nope")]
            )),
            "TargetNotFoundException"
        );
        assert!(
            list(&mut env, Some("a"), None).unwrap().is_empty(),
            "nothing changed"
        );
        let ten: Vec<api::Attribute> = (0..10)
            .map(|i| attr(&format!("k{i}"), Some("v"), &ids[0]))
            .collect();
        put(&mut env, ten).unwrap();
        assert_eq!(
            code(put(&mut env, vec![attr("k10", None, &ids[0])])),
            "AttributeLimitExceededException"
        );
        put(&mut env, vec![attr("k9", Some("w"), &ids[0])]).unwrap();
    }
}
