//! TagResource, UntagResource and ListTagsForResource for the ECS resources of one world:
//! clusters, services, task definitions, tasks, container instances and the FARGATE /
//! FARGATE_SPOT capacity providers. Only tags change here; nothing else about the resource.
//!
//! Errors: a resourceArn that is not an ECS ARN of this world (account and region) with a
//! resource type listed above → InvalidParameterException; a cluster in the ARN's path that does
//! not exist or is INACTIVE → ClusterNotFoundException; any other missing resource →
//! ResourceNotFoundException (emulator decision, also for ListTagsForResource).

use ecsim_api::ecs as api;
use ecsim_protocol::AwsError;

use super::EcsHandler;
use super::clusters::FARGATE_PROVIDERS;
use super::common::{self, invalid_parameter};
use super::state::{EcsState, TagList};
use crate::world::World;

type R<T> = Result<T, AwsError>;

/// The resource an ARN names.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Target {
    Cluster(String),
    Service { cluster: String, name: String },
    Task { cluster: String, id: String },
    ContainerInstance { cluster: String, id: String },
    TaskDefinition { family: String, revision: i32 },
    CapacityProvider(String),
}

fn invalid_arn() -> AwsError {
    invalid_parameter("The ARN provided is invalid.")
}

fn not_found() -> AwsError {
    AwsError::client(
        "ResourceNotFoundException",
        "The specified resource is not found.",
    )
}

fn parse_target(world: &World, arn: &str) -> R<Target> {
    let prefix = world.arn("ecs", "");
    let resource = arn.strip_prefix(prefix.as_str()).ok_or_else(invalid_arn)?;
    let (kind, rest) = resource.split_once('/').ok_or_else(invalid_arn)?;
    let parts: Vec<&str> = rest.split('/').collect();
    if parts.iter().any(|p| p.is_empty()) {
        return Err(invalid_arn());
    }
    let owned = |s: &str| s.to_string();
    match (kind, parts.as_slice()) {
        ("cluster", [name]) => Ok(Target::Cluster(owned(name))),
        ("service", [cluster, name]) => Ok(Target::Service {
            cluster: owned(cluster),
            name: owned(name),
        }),
        ("task", [cluster, id]) => Ok(Target::Task {
            cluster: owned(cluster),
            id: owned(id),
        }),
        ("container-instance", [cluster, id]) => Ok(Target::ContainerInstance {
            cluster: owned(cluster),
            id: owned(id),
        }),
        ("task-definition", [body]) => {
            let (family, revision) = body.split_once(':').ok_or_else(invalid_arn)?;
            let revision = revision.parse::<i32>().map_err(|_| invalid_arn())?;
            Ok(Target::TaskDefinition {
                family: owned(family),
                revision,
            })
        }
        ("capacity-provider", [name]) => Ok(Target::CapacityProvider(owned(name))),
        _ => Err(invalid_arn()),
    }
}

/// The tag list of the resource `target` names.
fn tags_mut<'w>(ecs: &'w mut EcsState, target: &Target) -> R<&'w mut TagList> {
    match target {
        Target::Cluster(name) => Ok(&mut common::active_cluster_mut(ecs, Some(name))?.tags),
        Target::Service { cluster, name } => common::active_cluster_mut(ecs, Some(cluster))?
            .services
            .get_mut(name)
            .map(|s| &mut s.tags)
            .ok_or_else(not_found),
        Target::Task { cluster, id } => common::active_cluster_mut(ecs, Some(cluster))?
            .tasks
            .get_mut(id)
            .map(|t| &mut t.tags)
            .ok_or_else(not_found),
        Target::ContainerInstance { cluster, id } => common::active_cluster_mut(ecs, Some(cluster))?
            .container_instances
            .get_mut(id)
            .map(|c| &mut c.tags)
            .ok_or_else(not_found),
        Target::TaskDefinition { family, revision } => ecs
            .families
            .get_mut(family)
            .and_then(|f| f.revisions.get_mut(revision))
            .map(|r| &mut r.tags)
            .ok_or_else(not_found),
        Target::CapacityProvider(name) if FARGATE_PROVIDERS.contains(&name.as_str()) => {
            Ok(ecs.capacity_provider_tags.entry(name.clone()).or_default())
        }
        Target::CapacityProvider(_) => Err(not_found()),
    }
}

/// Adds or overwrites tags; a resource may carry at most 50.
pub fn tag_resource(
    h: &mut EcsHandler<'_, '_>,
    input: api::TagResourceRequest,
) -> R<api::TagResourceResponse> {
    let target = parse_target(h.world, &input.resource_arn)?;
    common::validate_tags(&input.tags)?;
    let tags = tags_mut(&mut h.world.ecs, &target)?;
    let mut merged = tags.clone();
    common::merge_tags(&mut merged, &input.tags);
    if merged.len() > 50 {
        return Err(invalid_parameter("The number of tags exceeds the limit of 50."));
    }
    *tags = merged;
    Ok(api::TagResourceResponse {})
}

/// Removes tags by key; keys the resource does not carry are ignored.
pub fn untag_resource(
    h: &mut EcsHandler<'_, '_>,
    input: api::UntagResourceRequest,
) -> R<api::UntagResourceResponse> {
    let target = parse_target(h.world, &input.resource_arn)?;
    let tags = tags_mut(&mut h.world.ecs, &target)?;
    tags.retain(|t| {
        !input
            .tag_keys
            .iter()
            .any(|k| t.key.as_deref() == Some(k.as_str()))
    });
    Ok(api::UntagResourceResponse {})
}

pub fn list_tags_for_resource(
    h: &mut EcsHandler<'_, '_>,
    input: api::ListTagsForResourceRequest,
) -> R<api::ListTagsForResourceResponse> {
    let target = parse_target(h.world, &input.resource_arn)?;
    let tags = tags_mut(&mut h.world.ecs, &target)?.clone();
    Ok(api::ListTagsForResourceResponse { tags: Some(tags) })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ecs::clusters::testkit::{Env, bridge_definition, register_instance, start_task};

    const P: &str = "arn:aws:ecs:us-east-1:000000000000:";

    fn tag(k: &str, v: &str) -> api::Tag {
        api::Tag {
            key: Some(k.into()),
            value: Some(v.into()),
        }
    }

    fn tag_it(env: &mut Env, arn: &str, tags: Vec<api::Tag>) -> R<api::TagResourceResponse> {
        let input = api::TagResourceRequest {
            resource_arn: arn.into(),
            tags,
        };
        env.call(|h| tag_resource(h, input))
    }

    fn untag(env: &mut Env, arn: &str, keys: &[&str]) -> R<api::UntagResourceResponse> {
        let input = api::UntagResourceRequest {
            resource_arn: arn.into(),
            tag_keys: keys.iter().map(|k| k.to_string()).collect(),
        };
        env.call(|h| untag_resource(h, input))
    }

    fn list(env: &mut Env, arn: &str) -> R<Vec<api::Tag>> {
        let input = api::ListTagsForResourceRequest {
            resource_arn: arn.into(),
        };
        env.call(|h| list_tags_for_resource(h, input))
            .map(|r| r.tags.unwrap())
    }

    fn setup() -> (Env, Vec<String>) {
        let mut env = Env::new();
        env.call(|h| {
            crate::ecs::clusters::create_cluster(
                h,
                api::CreateClusterRequest {
                    cluster_name: Some("web".into()),
                    tags: Some(vec![tag("team", "a")]),
                    ..Default::default()
                },
            )
        })
        .unwrap();
        let instance = register_instance(&mut env, "web");
        let td = bridge_definition(&mut env);
        let task = start_task(&mut env, "web", &instance, &td);
        let arns = vec![
            format!("{P}cluster/web"),
            format!("{P}container-instance/web/{instance}"),
            td,
            format!("{P}task/web/{task}"),
            format!("{P}capacity-provider/FARGATE"),
        ];
        (env, arns)
    }

    #[test]
    fn tag_list_untag_every_kind() {
        let (mut env, arns) = setup();
        for arn in &arns {
            tag_it(&mut env, arn, vec![tag("env", "dev"), tag("owner", "me")]).unwrap();
            tag_it(&mut env, arn, vec![tag("env", "prod")]).unwrap();
            let tags = list(&mut env, arn).unwrap();
            assert!(tags.contains(&tag("env", "prod")), "{arn}: {tags:?}");
            assert!(tags.contains(&tag("owner", "me")), "{arn}");
            untag(&mut env, arn, &["owner", "absent"]).unwrap();
            assert!(
                !list(&mut env, arn)
                    .unwrap()
                    .iter()
                    .any(|t| t.key.as_deref() == Some("owner")),
                "{arn}"
            );
        }
        assert_eq!(
            list(&mut env, &arns[0]).unwrap(),
            [tag("team", "a"), tag("env", "prod")]
        );
        assert_eq!(
            list(&mut env, &format!("{P}capacity-provider/FARGATE_SPOT")).unwrap(),
            []
        );
    }

    #[test]
    fn services_can_be_tagged() {
        let (mut env, arns) = setup();
        let input = api::CreateServiceRequest {
            cluster: Some("web".into()),
            service_name: "api".into(),
            task_definition: Some(arns[2].clone()),
            desired_count: Some(0),
            launch_type: Some(api::LaunchType::Ec2),
            ..Default::default()
        };
        env.call(|h| crate::ecs::services::create_service(h, input))
            .unwrap();
        let arn = format!("{P}service/web/api");
        tag_it(&mut env, &arn, vec![tag("svc", "1")]).unwrap();
        assert_eq!(list(&mut env, &arn).unwrap(), [tag("svc", "1")]);
    }

    #[test]
    fn bad_arns_and_missing_resources() {
        let (mut env, _) = setup();
        for arn in [
            "web",
            "arn:aws:ecs:eu-west-1:000000000000:cluster/web",
            "arn:aws:ecs:us-east-1:111111111111:cluster/web",
            "arn:aws:sqs:us-east-1:000000000000:cluster/web",
            &format!("{P}bucket/web"),
            &format!("{P}service/api"),
            &format!("{P}cluster/"),
            &format!("{P}task-definition/web"),
        ] {
            let e = list(&mut env, arn).unwrap_err();
            assert_eq!(
                (e.code.as_str(), e.message.as_str()),
                ("InvalidParameterException", "The ARN provided is invalid."),
                "{arn}"
            );
        }
        for arn in [
            format!("{P}cluster/nope"),
            format!("{P}service/nope/api"),
            format!("{P}task/nope/abc"),
        ] {
            assert_eq!(
                tag_it(&mut env, &arn, vec![tag("a", "b")]).unwrap_err().code,
                "ClusterNotFoundException"
            );
        }
        for arn in [
            format!("{P}service/web/nope"),
            format!("{P}task/web/nope"),
            format!("{P}container-instance/web/nope"),
            format!("{P}task-definition/web:9"),
            format!("{P}capacity-provider/EC2"),
        ] {
            let e = untag(&mut env, &arn, &["a"]).unwrap_err();
            assert_eq!(
                (e.code.as_str(), e.message.as_str()),
                (
                    "ResourceNotFoundException",
                    "The specified resource is not found."
                )
            );
        }
    }

    #[test]
    fn tags_are_validated_and_limited() {
        let (mut env, arns) = setup();
        let e = tag_it(&mut env, &arns[0], vec![tag("aws:owner", "x")]).unwrap_err();
        assert_eq!(e.code, "InvalidParameterException");
        let many: Vec<api::Tag> = (0..49).map(|i| tag(&format!("k{i}"), "v")).collect();
        tag_it(&mut env, &arns[0], many).unwrap();
        let e = tag_it(&mut env, &arns[0], vec![tag("one-more", "x")]).unwrap_err();
        assert_eq!(e.code, "InvalidParameterException");
        assert_eq!(list(&mut env, &arns[0]).unwrap().len(), 50);
        tag_it(&mut env, &arns[0], vec![tag("k1", "changed")]).unwrap();
    }
}
