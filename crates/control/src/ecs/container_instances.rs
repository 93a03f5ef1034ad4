//! Container instances, the emulator's EC2 capacity: registered as the ECS agent would
//! (RegisterContainerInstance), described, listed, drained and deregistered. Handlers record state
//! and wake the service controller; they never place tasks themselves.

use std::collections::BTreeSet;

use ecsim_api::ecs as api;
use ecsim_protocol::AwsError;

use super::EcsHandler;
use super::common::{self, invalid_parameter};
use super::state::{ClusterRecord, ContainerInstanceRecord, TaskRecord, TaskStatus};
use super::task_definitions::capability;
use crate::world::World;

type R<T> = Result<T, AwsError>;

/// What a simulated instance offers when the agent reports nothing (a t3.medium).
pub const DEFAULT_CPU: i32 = 2048;
pub const DEFAULT_MEMORY: i32 = 3904;
/// Ports the agent reserves on every instance (SSH, Docker, the agent's own).
pub const DEFAULT_PORTS: [&str; 5] = ["22", "2375", "2376", "51678", "51679"];
pub const INSTANCE_TYPE: &str = "t3.medium";
pub const AMI_ID: &str = "ami-0ec5100000000000d";
pub const AGENT_VERSION: &str = "1.88.0";
pub const AGENT_HASH: &str = "4e5a2a1d";
pub const DOCKER_VERSION: &str = "DockerVersion: 25.0.8";

const AZ_ATTRIBUTE: &str = "ecs.availability-zone";

// ---------------------------------------------------------------------------------------------
// rendering

fn int_resource(name: &str, value: i64) -> api::Resource {
    api::Resource {
        name: Some(name.to_string()),
        r#type: Some("INTEGER".into()),
        double_value: Some(0.0),
        long_value: Some(0),
        integer_value: Some(i32::try_from(value.max(0)).unwrap_or(i32::MAX)),
        string_set_value: None,
    }
}

fn set_resource(name: &str, values: Vec<String>) -> api::Resource {
    api::Resource {
        name: Some(name.to_string()),
        r#type: Some("STRINGSET".into()),
        double_value: Some(0.0),
        long_value: Some(0),
        integer_value: Some(0),
        string_set_value: Some(values),
    }
}

/// Tasks placed on the instance `id`.
fn tasks_on<'c>(cluster: &'c ClusterRecord, id: &'c str) -> impl Iterator<Item = &'c TaskRecord> {
    cluster
        .tasks
        .values()
        .filter(move |t| t.placement.container_instance_id.as_deref() == Some(id))
}

/// Host ports held on the instance by tasks that are not STOPPED (bridge and host mode; dynamic
/// bridge ports are not known here and not counted).
fn used_host_ports(cluster: &ClusterRecord, id: &str, udp: bool) -> BTreeSet<i32> {
    let mut ports = BTreeSet::new();
    for task in tasks_on(cluster, id).filter(|t| t.status != TaskStatus::Stopped) {
        if task.network_mode == api::NetworkMode::Awsvpc || task.network_mode == api::NetworkMode::None {
            continue;
        }
        let host_mode = task.network_mode == api::NetworkMode::Host;
        for m in task.containers.iter().flat_map(|c| c.port_mappings.iter()) {
            if (m.protocol == Some(api::TransportProtocol::Udp)) != udp {
                continue;
            }
            let port = m
                .host_port
                .filter(|p| *p > 0)
                .or(if host_mode { m.container_port } else { None });
            ports.extend(port);
        }
    }
    ports
}

/// Registered ports plus the ones tasks hold, as ECS reports reserved ports.
fn ports_with(registered: &api::Resource, used: BTreeSet<i32>) -> Vec<String> {
    let mut out = registered.string_set_value.clone().unwrap_or_default();
    for port in used.into_iter().map(|p| p.to_string()) {
        if !out.contains(&port) {
            out.push(port);
        }
    }
    out
}

/// What is left for new tasks: CPU and memory minus what tasks reserve; for ports, the ports
/// that are taken (the agent's plus the tasks'), as ECS reports them.
fn remaining_resources(cluster: &ClusterRecord, ci: &ContainerInstanceRecord) -> Vec<api::Resource> {
    let (cpu, memory) = super::placement::reserved(cluster, &ci.id);
    ci.registered_resources
        .iter()
        .map(|r| match r.name.as_deref() {
            Some("CPU") => int_resource("CPU", ci.registered("CPU") - cpu),
            Some("MEMORY") => int_resource("MEMORY", ci.registered("MEMORY") - memory),
            Some("PORTS") => set_resource("PORTS", ports_with(r, used_host_ports(cluster, &ci.id, false))),
            Some("PORTS_UDP") => {
                set_resource("PORTS_UDP", ports_with(r, used_host_ports(cluster, &ci.id, true)))
            }
            _ => r.clone(),
        })
        .collect()
}

fn count(n: usize) -> i32 {
    i32::try_from(n).unwrap_or(i32::MAX)
}

/// A container instance as the API shows it. Running = tasks RUNNING with desired status
/// RUNNING; pending = tasks before RUNNING with desired status RUNNING.
pub fn render_container_instance(
    _world: &World,
    cluster: &ClusterRecord,
    ci: &ContainerInstanceRecord,
    include_tags: bool,
) -> api::ContainerInstance {
    let live: Vec<&TaskRecord> = tasks_on(cluster, &ci.id).filter(|t| t.is_live()).collect();
    api::ContainerInstance {
        container_instance_arn: Some(ci.arn.clone()),
        ec2_instance_id: Some(ci.ec2_instance_id.clone()),
        capacity_provider_name: ci.capacity_provider_name.clone(),
        version: Some(ci.version),
        version_info: Some(ci.version_info.clone()),
        remaining_resources: Some(remaining_resources(cluster, ci)),
        registered_resources: Some(ci.registered_resources.clone()),
        status: Some(ci.status.clone()),
        status_reason: None,
        agent_connected: Some(ci.status != "INACTIVE"),
        running_tasks_count: Some(count(
            live.iter().filter(|t| t.status == TaskStatus::Running).count(),
        )),
        pending_tasks_count: Some(count(live.iter().filter(|t| t.status.is_pending()).count())),
        agent_update_status: None,
        attributes: Some(ci.attributes.clone()),
        registered_at: Some(common::ts(ci.registered_at_ms)),
        attachments: Some(Vec::new()),
        tags: include_tags.then(|| ci.tags.clone()),
        health_status: None,
        gpu_devices: None,
    }
}

// ---------------------------------------------------------------------------------------------
// registration

/// The instance's resources: CPU and MEMORY as integers, PORTS and PORTS_UDP as port sets
/// (defaults for any of the four not given); other resources (GPU…) as given.
fn registered_resources(given: Vec<api::Resource>) -> R<Vec<api::Resource>> {
    let mut known: [Option<api::Resource>; 4] = [None, None, None, None];
    let mut others = Vec::new();
    for r in given {
        let name = r.name.clone().unwrap_or_default();
        let slot = ["CPU", "MEMORY", "PORTS", "PORTS_UDP"]
            .iter()
            .position(|n| *n == name);
        match slot {
            Some(i) if known[i].is_some() => {
                return Err(invalid_parameter(format!(
                    "The resource {name} is given more than once."
                )));
            }
            Some(i @ (0 | 1)) => {
                let value = r
                    .integer_value
                    .map(i64::from)
                    .or(r.long_value)
                    .filter(|v| (0..=i64::from(i32::MAX)).contains(v));
                let value = value.ok_or_else(|| {
                    invalid_parameter(format!("The resource {name} needs a non-negative integer value."))
                })?;
                known[i] = Some(int_resource(&name, value));
            }
            Some(i) => {
                let ports = r.string_set_value.unwrap_or_default();
                if let Some(bad) = ports.iter().find(|p| p.parse::<u16>().is_err()) {
                    return Err(invalid_parameter(format!(
                        "The resource {name} holds an invalid port '{bad}'."
                    )));
                }
                known[i] = Some(set_resource(&name, ports));
            }
            None if name.is_empty() => return Err(invalid_parameter("Every resource needs a name.")),
            None => others.push(r),
        }
    }
    let [cpu, memory, ports, udp] = known;
    let mut out = vec![
        cpu.unwrap_or_else(|| int_resource("CPU", i64::from(DEFAULT_CPU))),
        memory.unwrap_or_else(|| int_resource("MEMORY", i64::from(DEFAULT_MEMORY))),
        ports.unwrap_or_else(|| set_resource("PORTS", DEFAULT_PORTS.iter().map(|p| p.to_string()).collect())),
        udp.unwrap_or_else(|| set_resource("PORTS_UDP", Vec::new())),
    ];
    out.extend(others);
    Ok(out)
}

/// What the agent reads from the EC2 instance identity document, when one is given.
#[derive(Debug, Default)]
struct Identity {
    instance_id: Option<String>,
    availability_zone: Option<String>,
    instance_type: Option<String>,
    image_id: Option<String>,
}

fn identity(document: Option<&str>) -> R<Identity> {
    let Some(doc) = document.filter(|d| !d.trim().is_empty()) else {
        return Ok(Identity::default());
    };
    let value: serde_json::Value = serde_json::from_str(doc)
        .map_err(|_| invalid_parameter("The instance identity document is not valid JSON."))?;
    let field = |k: &str| value.get(k).and_then(|v| v.as_str()).map(str::to_string);
    Ok(Identity {
        instance_id: field("instanceId"),
        availability_zone: field("availabilityZone"),
        instance_type: field("instanceType"),
        image_id: field("imageId"),
    })
}

/// The zone asked for (it must exist), else the zone with the fewest ACTIVE instances of the
/// cluster, ties in zone order.
fn choose_zone(world: &World, cluster: &ClusterRecord, wanted: Option<&str>) -> R<String> {
    if let Some(az) = wanted {
        return world.network.zone(az).map(|z| z.name.clone()).ok_or_else(|| {
            invalid_parameter(format!(
                "The availability zone '{az}' does not exist in region {}.",
                world.region
            ))
        });
    }
    let active_in = |zone: &str| {
        cluster
            .container_instances
            .values()
            .filter(|ci| ci.status == "ACTIVE" && ci.availability_zone == zone)
            .count()
    };
    world
        .network
        .zones
        .iter()
        .min_by_key(|z| active_in(&z.name))
        .map(|z| z.name.clone())
        .ok_or_else(|| invalid_parameter("The region has no Availability Zones."))
}

fn check_attributes(attributes: &[api::Attribute]) -> R<()> {
    for a in attributes {
        if a.name.is_empty() || a.name.len() > 128 {
            return Err(invalid_parameter(
                "Attribute names must be between 1 and 128 characters.",
            ));
        }
        if a.value.as_ref().is_some_and(|v| v.len() > 128) {
            return Err(invalid_parameter(format!(
                "The value of attribute {} is longer than 128 characters.",
                a.name
            )));
        }
    }
    Ok(())
}

/// Capabilities the simulated agent reports: every Docker remote API version up to 1.44, the
/// logging drivers, and everything a task definition can require.
fn agent_capabilities() -> Vec<String> {
    let mut out: Vec<String> = (17..=44)
        .map(|v| format!("com.amazonaws.ecs.capability.docker-remote-api.1.{v}"))
        .collect();
    for driver in [
        "json-file",
        "syslog",
        "none",
        "awslogs",
        "fluentd",
        "gelf",
        "journald",
        "splunk",
    ] {
        out.push(format!("com.amazonaws.ecs.capability.logging-driver.{driver}"));
    }
    out.push("com.amazonaws.ecs.capability.privileged-container".into());
    out.push("com.amazonaws.ecs.capability.task-iam-role-network-host".into());
    for c in capability::ALL {
        if !out.iter().any(|o| o == c) {
            out.push((*c).to_string());
        }
    }
    out
}

/// The given attributes plus the standard ones the agent sets (when absent), then capabilities.
fn instance_attributes(
    world: &World,
    zone: &str,
    identity: &Identity,
    given: Vec<api::Attribute>,
) -> Vec<api::Attribute> {
    let subnet = world
        .network
        .subnets
        .values()
        .filter(|s| s.availability_zone == zone)
        .max_by_key(|s| s.default_for_az);
    let standard: Vec<(&str, Option<String>)> = vec![
        (AZ_ATTRIBUTE, Some(zone.to_string())),
        (
            "ecs.instance-type",
            Some(
                identity
                    .instance_type
                    .clone()
                    .unwrap_or_else(|| INSTANCE_TYPE.into()),
            ),
        ),
        ("ecs.os-type", Some("linux".into())),
        ("ecs.os-family", Some("LINUX".into())),
        ("ecs.cpu-architecture", Some("x86_64".into())),
        (
            "ecs.ami-id",
            Some(identity.image_id.clone().unwrap_or_else(|| AMI_ID.into())),
        ),
        ("ecs.vpc-id", subnet.map(|s| s.vpc_id.clone())),
        ("ecs.subnet-id", subnet.map(|s| s.id.clone())),
    ];
    let mut out: Vec<api::Attribute> = given
        .into_iter()
        .map(|a| api::Attribute {
            name: a.name,
            value: a.value,
            ..Default::default()
        })
        .collect();
    let capabilities = agent_capabilities().into_iter().map(|c| (c, None));
    let standard = standard
        .into_iter()
        .filter_map(|(n, v)| v.map(|v| (n.to_string(), Some(v))));
    for (name, value) in standard.chain(capabilities) {
        if !out.iter().any(|a| a.name == name) {
            out.push(api::Attribute {
                name,
                value,
                ..Default::default()
            });
        }
    }
    out
}

fn version_info(given: Option<api::VersionInfo>) -> api::VersionInfo {
    let given = given.unwrap_or_default();
    api::VersionInfo {
        agent_version: given.agent_version.or_else(|| Some(AGENT_VERSION.into())),
        agent_hash: given.agent_hash.or_else(|| Some(AGENT_HASH.into())),
        docker_version: given.docker_version.or_else(|| Some(DOCKER_VERSION.into())),
    }
}

fn render_by_id(
    world: &World,
    cluster: &str,
    id: &str,
    include_tags: bool,
) -> Option<api::ContainerInstance> {
    let cluster = world.ecs.clusters.get(cluster)?;
    cluster
        .container_instances
        .get(id)
        .map(|ci| render_container_instance(world, cluster, ci, include_tags))
}

/// The id of the instance `reference` (id or ARN) names in `cluster`.
fn find_instance(cluster: &ClusterRecord, reference: &str) -> Option<String> {
    let id = common::last_segment(reference);
    cluster
        .container_instances
        .contains_key(id)
        .then(|| id.to_string())
}

/// Re-registration by the agent (`containerInstanceArn` given): the instance becomes ACTIVE again
/// with the resources, attributes and version it reports now.
fn reregister(
    h: &mut EcsHandler<'_, '_>,
    cluster_name: &str,
    reference: &str,
    resources: Vec<api::Resource>,
    attributes: Vec<api::Attribute>,
    version: Option<api::VersionInfo>,
) -> R<String> {
    let cluster = h
        .world
        .ecs
        .clusters
        .get_mut(cluster_name)
        .ok_or_else(common::cluster_not_found)?;
    let id = find_instance(cluster, reference).ok_or_else(|| {
        invalid_parameter(format!(
            "The container instance {reference} is not registered in cluster {cluster_name}."
        ))
    })?;
    let ci = cluster
        .container_instances
        .get_mut(&id)
        .ok_or_else(common::cluster_not_found)?;
    ci.status = "ACTIVE".into();
    ci.registered_resources = resources;
    for a in attributes {
        match ci.attributes.iter_mut().find(|x| x.name == a.name) {
            Some(x) => x.value = a.value,
            None => ci.attributes.push(api::Attribute {
                name: a.name,
                value: a.value,
                ..Default::default()
            }),
        }
    }
    if version.is_some() {
        ci.version_info = version_info(version);
    }
    ci.version += 1;
    Ok(id)
}

/// What a new registration brings, already validated.
struct Registration {
    identity: Identity,
    attributes: Vec<api::Attribute>,
    resources: Vec<api::Resource>,
    version_info: Option<api::VersionInfo>,
    tags: Vec<api::Tag>,
}

/// A first registration: a new id and EC2 instance id, the zone asked for (attribute
/// `ecs.availability-zone` or the identity document) or the least used one.
fn register_new(h: &mut EcsHandler<'_, '_>, cluster_name: &str, reg: Registration) -> R<String> {
    let wanted_zone = reg
        .attributes
        .iter()
        .find(|a| a.name == AZ_ATTRIBUTE)
        .and_then(|a| a.value.clone())
        .or_else(|| reg.identity.availability_zone.clone());
    let cluster = h
        .world
        .ecs
        .clusters
        .get(cluster_name)
        .ok_or_else(common::cluster_not_found)?;
    let zone = choose_zone(h.world, cluster, wanted_zone.as_deref())?;
    let given = reg
        .attributes
        .into_iter()
        .filter(|a| a.name != AZ_ATTRIBUTE)
        .collect();
    let attributes = instance_attributes(h.world, &zone, &reg.identity, given);
    let id = h.ctx.rng.hex(32);
    let ec2_instance_id = match reg.identity.instance_id {
        Some(given) => given,
        None => format!("i-{}", h.ctx.rng.hex(17)),
    };
    let record = ContainerInstanceRecord {
        id: id.clone(),
        arn: h
            .world
            .arn("ecs", &format!("container-instance/{cluster_name}/{id}")),
        ec2_instance_id,
        status: "ACTIVE".into(),
        availability_zone: zone,
        registered_resources: reg.resources,
        attributes,
        version_info: version_info(reg.version_info),
        registered_at_ms: h.ctx.now_ms,
        tags: reg.tags,
        capacity_provider_name: None,
        version: 1,
    };
    let cluster = h
        .world
        .ecs
        .clusters
        .get_mut(cluster_name)
        .ok_or_else(common::cluster_not_found)?;
    cluster.container_instances.insert(id.clone(), record);
    Ok(id)
}

/// Registers an EC2 instance with a cluster, as the ECS agent does, then wakes the cluster's
/// services so they can place tasks on it.
pub fn register_container_instance(
    h: &mut EcsHandler<'_, '_>,
    input: api::RegisterContainerInstanceRequest,
) -> R<api::RegisterContainerInstanceResponse> {
    let cluster_name = common::active_cluster(&h.world.ecs, input.cluster.as_deref())?
        .name
        .clone();
    let tags = input.tags.unwrap_or_default();
    common::validate_tags(&tags)?;
    let identity = identity(input.instance_identity_document.as_deref())?;
    let attributes = input.attributes.unwrap_or_default();
    check_attributes(&attributes)?;
    let resources = registered_resources(input.total_resources.unwrap_or_default())?;
    let id = match input.container_instance_arn.as_deref().filter(|a| !a.is_empty()) {
        Some(reference) => reregister(
            h,
            &cluster_name,
            reference,
            resources,
            attributes,
            input.version_info,
        )?,
        None => {
            let reg = Registration {
                identity,
                attributes,
                resources,
                version_info: input.version_info,
                tags,
            };
            register_new(h, &cluster_name, reg)?
        }
    };
    super::service_loop::wake_cluster(h.world, h.ctx, &cluster_name);
    Ok(api::RegisterContainerInstanceResponse {
        container_instance: render_by_id(h.world, &cluster_name, &id, true),
    })
}

// ---------------------------------------------------------------------------------------------
// deregistration and state

/// Deregisters an instance: it turns INACTIVE. With tasks still wanted on it the call fails unless
/// `force`; forced, those tasks are stopped (stop code `TerminationNotice`).
pub fn deregister_container_instance(
    h: &mut EcsHandler<'_, '_>,
    input: api::DeregisterContainerInstanceRequest,
) -> R<api::DeregisterContainerInstanceResponse> {
    let cluster = common::active_cluster(&h.world.ecs, input.cluster.as_deref())?;
    let cluster_name = cluster.name.clone();
    let id = find_instance(cluster, &input.container_instance).ok_or_else(|| {
        invalid_parameter(format!(
            "The container instance {} was not found in cluster {cluster_name}.",
            input.container_instance
        ))
    })?;
    let live: Vec<String> = tasks_on(cluster, &id)
        .filter(|t| t.is_live())
        .map(|t| t.id.clone())
        .collect();
    if !live.is_empty() && !input.force.unwrap_or(false) {
        return Err(invalid_parameter(
            "Found running tasks on the instance. Stop them first, or deregister with force.",
        ));
    }
    let Some(ci) = h
        .world
        .ecs
        .clusters
        .get_mut(&cluster_name)
        .and_then(|c| c.container_instances.get_mut(&id))
    else {
        return Err(common::cluster_not_found());
    };
    if ci.status != "INACTIVE" {
        ci.status = "INACTIVE".into();
        ci.version += 1;
        let reason = format!(
            "Host EC2 (instance {}) was deregistered from the cluster.",
            ci.ec2_instance_id
        );
        for task_id in &live {
            super::lifecycle::request_stop(
                h.world,
                h.ctx,
                task_id,
                api::TaskStopCode::TerminationNotice,
                reason.clone(),
            );
        }
        super::service_loop::wake_cluster(h.world, h.ctx, &cluster_name);
    }
    Ok(api::DeregisterContainerInstanceResponse {
        container_instance: render_by_id(h.world, &cluster_name, &id, false),
    })
}

/// Describes up to 100 instances by id or ARN (any status); unknown ones are `failures` MISSING.
pub fn describe_container_instances(
    h: &mut EcsHandler<'_, '_>,
    input: api::DescribeContainerInstancesRequest,
) -> R<api::DescribeContainerInstancesResponse> {
    let cluster = common::active_cluster(&h.world.ecs, input.cluster.as_deref())?;
    if input.container_instances.is_empty() || input.container_instances.len() > 100 {
        return Err(invalid_parameter(
            "containerInstances must name between 1 and 100 container instances.",
        ));
    }
    let include_tags = input
        .include
        .unwrap_or_default()
        .contains(&api::ContainerInstanceField::Tags);
    let (mut found, mut failures) = (Vec::new(), Vec::new());
    for reference in &input.container_instances {
        match find_instance(cluster, reference) {
            Some(id) => found.push(render_container_instance(
                h.world,
                cluster,
                &cluster.container_instances[&id],
                include_tags,
            )),
            None => failures.push(common::missing(h.world.arn(
                "ecs",
                &format!(
                    "container-instance/{}/{}",
                    cluster.name,
                    common::last_segment(reference)
                ),
            ))),
        }
    }
    Ok(api::DescribeContainerInstancesResponse {
        container_instances: Some(found),
        failures: Some(failures),
    })
}

/// ARNs of a cluster's instances in id order: those with `status`, or all but INACTIVE; with a
/// `filter`, only those its cluster query language expression matches (as placement sees them).
pub fn list_container_instances(
    h: &mut EcsHandler<'_, '_>,
    input: api::ListContainerInstancesRequest,
) -> R<api::ListContainerInstancesResponse> {
    let cluster = common::active_cluster(&h.world.ecs, input.cluster.as_deref())?;
    let wanted = |status: &str| match input.status {
        Some(s) => status == s.as_str(),
        None => status != "INACTIVE",
    };
    // Ids of the instances the filter keeps; `None` without a filter.
    let matching: Option<BTreeSet<String>> = match input.filter.as_deref().filter(|f| !f.trim().is_empty()) {
        None => None,
        Some(filter) => {
            let expr = ecsim_scheduler::parse(filter).map_err(|e| invalid_parameter(e.to_string()))?;
            let snapshot = super::placement::snapshot(cluster, None);
            Some(
                snapshot
                    .instances
                    .into_iter()
                    .filter(|i| expr.matches(i))
                    .map(|i| i.id)
                    .collect(),
            )
        }
    };
    let items: Vec<(String, String)> = cluster
        .container_instances
        .values()
        .filter(|ci| wanted(&ci.status))
        .filter(|ci| matching.as_ref().is_none_or(|ids| ids.contains(&ci.id)))
        .map(|ci| (ci.id.clone(), ci.arn.clone()))
        .collect();
    let (arns, next_token) =
        common::paginate(&items, input.next_token.as_deref(), input.max_results, 100, 100)?;
    Ok(api::ListContainerInstancesResponse {
        container_instance_arns: Some(arns),
        next_token,
    })
}

/// Sets instances ACTIVE or DRAINING, then wakes the services (draining moves their tasks).
/// Unknown instances are `failures` MISSING; INACTIVE ones are `failures` INACTIVE.
pub fn update_container_instances_state(
    h: &mut EcsHandler<'_, '_>,
    input: api::UpdateContainerInstancesStateRequest,
) -> R<api::UpdateContainerInstancesStateResponse> {
    let status = match input.status {
        api::ContainerInstanceStatus::Active | api::ContainerInstanceStatus::Draining => {
            input.status.as_str()
        }
        other => {
            return Err(invalid_parameter(format!(
                "Container instances can only be set to ACTIVE or DRAINING, not {}.",
                other.as_str()
            )));
        }
    };
    let arn_prefix = h.world.arn("ecs", "container-instance/");
    let cluster = common::active_cluster_mut(&mut h.world.ecs, input.cluster.as_deref())?;
    let cluster_name = cluster.name.clone();
    let (mut updated, mut failures) = (Vec::new(), Vec::new());
    for reference in &input.container_instances {
        let id = common::last_segment(reference);
        let arn = format!("{arn_prefix}{cluster_name}/{id}");
        match cluster.container_instances.get_mut(id) {
            None => failures.push(common::missing(arn)),
            Some(ci) if ci.status == "INACTIVE" => {
                failures.push(api::Failure {
                    arn: Some(arn),
                    reason: Some("INACTIVE".into()),
                    detail: None,
                });
            }
            Some(ci) => {
                if ci.status != status {
                    ci.status = status.to_string();
                    ci.version += 1;
                }
                updated.push(id.to_string());
            }
        }
    }
    if !updated.is_empty() {
        super::service_loop::wake_cluster(h.world, h.ctx, &cluster_name);
    }
    let instances = updated
        .iter()
        .filter_map(|id| render_by_id(h.world, &cluster_name, id, false))
        .collect();
    Ok(api::UpdateContainerInstancesStateResponse {
        container_instances: Some(instances),
        failures: Some(failures),
    })
}

// ---------------------------------------------------------------------------------------------
// tests

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ecs::clusters::testkit::{Env, register_instance, start_task};

    const ARN_PREFIX: &str = "arn:aws:ecs:us-east-1:000000000000:";

    fn env_with_cluster() -> Env {
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
        env
    }

    fn register(env: &mut Env, input: api::RegisterContainerInstanceRequest) -> R<api::ContainerInstance> {
        let input = api::RegisterContainerInstanceRequest {
            cluster: input.cluster.or(Some("web".into())),
            ..input
        };
        env.call(|h| register_container_instance(h, input))
            .map(|r| r.container_instance.unwrap())
    }

    fn attr<'a>(ci: &'a api::ContainerInstance, name: &str) -> Option<&'a str> {
        ci.attributes
            .as_ref()
            .unwrap()
            .iter()
            .find(|a| a.name == name)
            .and_then(|a| a.value.as_deref())
    }

    fn resource<'a>(list: &'a [api::Resource], name: &str) -> &'a api::Resource {
        list.iter().find(|r| r.name.as_deref() == Some(name)).unwrap()
    }

    fn describe(env: &mut Env, refs: &[&str], tags: bool) -> api::DescribeContainerInstancesResponse {
        let input = api::DescribeContainerInstancesRequest {
            cluster: Some("web".into()),
            container_instances: refs.iter().map(|r| r.to_string()).collect(),
            include: tags.then(|| vec![api::ContainerInstanceField::Tags]),
        };
        env.call(|h| describe_container_instances(h, input)).unwrap()
    }

    /// Registers a bridge definition with a static host port and returns its ARN.
    fn definition_with_port(env: &mut Env) -> String {
        let input = api::RegisterTaskDefinitionRequest {
            family: "web".into(),
            container_definitions: vec![api::ContainerDefinition {
                name: Some("app".into()),
                image: Some("nginx".into()),
                cpu: Some(256),
                memory: Some(512),
                port_mappings: Some(vec![api::PortMapping {
                    container_port: Some(80),
                    host_port: Some(8080),
                    ..Default::default()
                }]),
                ..Default::default()
            }],
            ..Default::default()
        };
        let td = env
            .call(|h| crate::ecs::task_definitions::register_task_definition(h, input))
            .unwrap();
        td.task_definition.unwrap().task_definition_arn.unwrap()
    }

    #[test]
    fn register_fills_agent_defaults() {
        let mut env = env_with_cluster();
        let ci = register(&mut env, api::RegisterContainerInstanceRequest::default()).unwrap();
        let arn = ci.container_instance_arn.clone().unwrap();
        let id = arn
            .strip_prefix(&format!("{ARN_PREFIX}container-instance/web/"))
            .unwrap();
        assert_eq!(id.len(), 32);
        assert!(id.bytes().all(|b| b.is_ascii_hexdigit()));
        let ec2 = ci.ec2_instance_id.clone().unwrap();
        assert!(ec2.starts_with("i-") && ec2.len() == 19, "{ec2}");
        assert_eq!(ci.status.as_deref(), Some("ACTIVE"));
        assert_eq!(ci.agent_connected, Some(true));
        assert_eq!(ci.registered_at, Some(1_767_225_600.0));
        assert_eq!(ci.version, Some(1));
        let version = ci.version_info.clone().unwrap();
        assert_eq!(version.agent_version.as_deref(), Some("1.88.0"));
        assert_eq!(version.docker_version.as_deref(), Some("DockerVersion: 25.0.8"));
        assert!(version.agent_hash.is_some());
        let registered = ci.registered_resources.clone().unwrap();
        assert_eq!(resource(&registered, "CPU").integer_value, Some(2048));
        assert_eq!(resource(&registered, "MEMORY").integer_value, Some(3904));
        assert_eq!(
            resource(&registered, "PORTS").string_set_value.as_deref(),
            Some(&DEFAULT_PORTS.map(String::from)[..])
        );
        assert_eq!(resource(&registered, "PORTS_UDP").string_set_value, Some(vec![]));
        assert_eq!(ci.remaining_resources.as_ref().unwrap(), &registered);
        assert_eq!(attr(&ci, "ecs.availability-zone"), Some("us-east-1a"));
        assert_eq!(attr(&ci, "ecs.instance-type"), Some("t3.medium"));
        assert_eq!(attr(&ci, "ecs.os-type"), Some("linux"));
        assert_eq!(attr(&ci, "ecs.os-family"), Some("LINUX"));
        assert_eq!(attr(&ci, "ecs.cpu-architecture"), Some("x86_64"));
        assert_eq!(attr(&ci, "ecs.ami-id"), Some("ami-0ec5100000000000d"));
        assert_eq!(attr(&ci, "ecs.vpc-id"), Some(crate::network::DEFAULT_VPC_ID));
        assert_eq!(
            attr(&ci, "ecs.subnet-id"),
            Some(crate::network::default_subnet_id("a").as_str())
        );
        let names: Vec<&str> = ci
            .attributes
            .as_ref()
            .unwrap()
            .iter()
            .map(|a| a.name.as_str())
            .collect();
        assert!(capability::ALL.iter().all(|c| names.contains(c)));
        assert_eq!(ci.running_tasks_count, Some(0));
        assert_eq!(ci.tags, Some(vec![]));
        let cluster = &env.world.ecs.clusters["web"];
        assert_eq!(cluster.container_instances[id].availability_zone, "us-east-1a");
    }

    #[test]
    fn zones_spread_and_can_be_chosen() {
        let mut env = env_with_cluster();
        let zones: Vec<String> = (0..3)
            .map(|_| {
                let ci = register(&mut env, api::RegisterContainerInstanceRequest::default()).unwrap();
                attr(&ci, AZ_ATTRIBUTE).unwrap().to_string()
            })
            .collect();
        assert_eq!(zones, ["us-east-1a", "us-east-1b", "us-east-1c"]);
        let pinned = api::RegisterContainerInstanceRequest {
            attributes: Some(vec![api::Attribute {
                name: AZ_ATTRIBUTE.into(),
                value: Some("us-east-1f".into()),
                ..Default::default()
            }]),
            ..Default::default()
        };
        let ci = register(&mut env, pinned).unwrap();
        assert_eq!(attr(&ci, AZ_ATTRIBUTE), Some("us-east-1f"));
        assert_eq!(
            attr(&ci, "ecs.subnet-id"),
            Some(crate::network::default_subnet_id("f").as_str())
        );
        let bad = api::RegisterContainerInstanceRequest {
            attributes: Some(vec![api::Attribute {
                name: AZ_ATTRIBUTE.into(),
                value: Some("eu-west-1a".into()),
                ..Default::default()
            }]),
            ..Default::default()
        };
        assert_eq!(
            register(&mut env, bad).unwrap_err().code,
            "InvalidParameterException"
        );
        let document = api::RegisterContainerInstanceRequest {
            instance_identity_document: Some(
                r#"{"instanceId":"i-0123456789abcdef0","availabilityZone":"us-east-1d","instanceType":"m5.large"}"#.into(),
            ),
            ..Default::default()
        };
        let ci = register(&mut env, document).unwrap();
        assert_eq!(ci.ec2_instance_id.as_deref(), Some("i-0123456789abcdef0"));
        assert_eq!(attr(&ci, AZ_ATTRIBUTE), Some("us-east-1d"));
        assert_eq!(attr(&ci, "ecs.instance-type"), Some("m5.large"));
        let missing = api::RegisterContainerInstanceRequest {
            cluster: Some("nope".into()),
            ..Default::default()
        };
        assert_eq!(
            register(&mut env, missing).unwrap_err().code,
            "ClusterNotFoundException"
        );
    }

    #[test]
    fn custom_resources_tags_and_reregistration() {
        let mut env = env_with_cluster();
        let int = |name: &str, v: i32| api::Resource {
            name: Some(name.into()),
            r#type: Some("INTEGER".into()),
            integer_value: Some(v),
            ..Default::default()
        };
        let input = api::RegisterContainerInstanceRequest {
            total_resources: Some(vec![int("CPU", 4096), int("MEMORY", 7680)]),
            tags: Some(vec![api::Tag {
                key: Some("fleet".into()),
                value: Some("blue".into()),
            }]),
            ..Default::default()
        };
        let ci = register(&mut env, input).unwrap();
        let registered = ci.registered_resources.clone().unwrap();
        assert_eq!(resource(&registered, "CPU").integer_value, Some(4096));
        assert_eq!(resource(&registered, "MEMORY").integer_value, Some(7680));
        assert_eq!(
            resource(&registered, "PORTS")
                .string_set_value
                .as_ref()
                .unwrap()
                .len(),
            5
        );
        assert_eq!(ci.tags.as_ref().unwrap()[0].key.as_deref(), Some("fleet"));
        let bad = api::RegisterContainerInstanceRequest {
            total_resources: Some(vec![int("CPU", -1)]),
            ..Default::default()
        };
        assert_eq!(
            register(&mut env, bad).unwrap_err().code,
            "InvalidParameterException"
        );
        let twice = api::RegisterContainerInstanceRequest {
            total_resources: Some(vec![int("CPU", 1), int("CPU", 2)]),
            ..Default::default()
        };
        assert_eq!(
            register(&mut env, twice).unwrap_err().code,
            "InvalidParameterException"
        );

        let again = api::RegisterContainerInstanceRequest {
            container_instance_arn: ci.container_instance_arn.clone(),
            total_resources: Some(vec![int("CPU", 1024)]),
            ..Default::default()
        };
        let ci2 = register(&mut env, again).unwrap();
        assert_eq!(ci2.container_instance_arn, ci.container_instance_arn);
        assert_eq!(ci2.version, Some(2));
        assert_eq!(
            resource(ci2.registered_resources.as_ref().unwrap(), "CPU").integer_value,
            Some(1024)
        );
        let unknown = api::RegisterContainerInstanceRequest {
            container_instance_arn: Some(format!("{ARN_PREFIX}container-instance/web/nope")),
            ..Default::default()
        };
        assert_eq!(
            register(&mut env, unknown).unwrap_err().code,
            "InvalidParameterException"
        );
    }

    #[test]
    fn describe_counts_tasks_and_remaining_resources() {
        let mut env = env_with_cluster();
        let id = register_instance(&mut env, "web");
        let td = definition_with_port(&mut env);
        let running = start_task(&mut env, "web", &id, &td);
        start_task(&mut env, "web", &id, &td);
        env.world.ecs.task_mut(&running).unwrap().status = TaskStatus::Running;
        let arn = format!("{ARN_PREFIX}container-instance/web/{id}");
        let out = describe(&mut env, &[&id, &arn, "nope"], true);
        let instances = out.container_instances.unwrap();
        assert_eq!(instances.len(), 2);
        let ci = &instances[0];
        assert_eq!(ci.running_tasks_count, Some(1));
        assert_eq!(ci.pending_tasks_count, Some(1));
        let (cpu, memory) = crate::ecs::placement::reserved(&env.world.ecs.clusters["web"], &id);
        let remaining = ci.remaining_resources.as_ref().unwrap();
        assert_eq!(
            resource(remaining, "CPU").integer_value,
            Some(i32::try_from(2048 - cpu).unwrap())
        );
        assert_eq!(
            resource(remaining, "MEMORY").integer_value,
            Some(i32::try_from(3904 - memory).unwrap())
        );
        assert!(memory > 0);
        assert!(
            resource(remaining, "PORTS")
                .string_set_value
                .as_ref()
                .unwrap()
                .contains(&"8080".to_string())
        );
        assert_eq!(ci.tags, Some(vec![]));
        let failures = out.failures.unwrap();
        assert_eq!(
            failures[0].arn.as_deref(),
            Some(format!("{ARN_PREFIX}container-instance/web/nope").as_str())
        );
        assert_eq!(failures[0].reason.as_deref(), Some("MISSING"));
        assert_eq!(
            describe(&mut env, &[&id], false).container_instances.unwrap()[0].tags,
            None
        );
        let e = env.call(|h| {
            describe_container_instances(
                h,
                api::DescribeContainerInstancesRequest {
                    cluster: Some("nope".into()),
                    container_instances: vec![id.clone()],
                    include: None,
                },
            )
        });
        assert_eq!(e.unwrap_err().code, "ClusterNotFoundException");
    }

    fn list(
        env: &mut Env,
        input: api::ListContainerInstancesRequest,
    ) -> R<api::ListContainerInstancesResponse> {
        let input = api::ListContainerInstancesRequest {
            cluster: Some("web".into()),
            ..input
        };
        env.call(|h| list_container_instances(h, input))
    }

    fn update(
        env: &mut Env,
        refs: &[&str],
        status: api::ContainerInstanceStatus,
    ) -> R<api::UpdateContainerInstancesStateResponse> {
        let input = api::UpdateContainerInstancesStateRequest {
            cluster: Some("web".into()),
            container_instances: refs.iter().map(|r| r.to_string()).collect(),
            status,
        };
        env.call(|h| update_container_instances_state(h, input))
    }

    #[test]
    fn list_filters_by_status_and_pages() {
        let mut env = env_with_cluster();
        let mut ids: Vec<String> = (0..5).map(|_| register_instance(&mut env, "web")).collect();
        ids.sort();
        update(&mut env, &[&ids[1]], api::ContainerInstanceStatus::Draining).unwrap();
        env.call(|h| {
            deregister_container_instance(
                h,
                api::DeregisterContainerInstanceRequest {
                    cluster: Some("web".into()),
                    container_instance: ids[2].clone(),
                    force: None,
                },
            )
        })
        .unwrap();
        let mut seen = Vec::new();
        let mut token = None;
        loop {
            let page = list(
                &mut env,
                api::ListContainerInstancesRequest {
                    max_results: Some(2),
                    next_token: token.clone(),
                    ..Default::default()
                },
            )
            .unwrap();
            seen.extend(page.container_instance_arns.unwrap());
            token = page.next_token;
            if token.is_none() {
                break;
            }
        }
        let seen: Vec<&str> = seen.iter().map(|a| common::last_segment(a)).collect();
        assert_eq!(seen, [&ids[0], &ids[1], &ids[3], &ids[4]]);
        let draining = list(
            &mut env,
            api::ListContainerInstancesRequest {
                status: Some(api::ContainerInstanceStatus::Draining),
                ..Default::default()
            },
        )
        .unwrap();
        assert_eq!(draining.container_instance_arns.unwrap().len(), 1);
        let filtered = list(
            &mut env,
            api::ListContainerInstancesRequest {
                filter: Some("attribute:ecs.instance-type == t3.medium".into()),
                ..Default::default()
            },
        );
        assert_eq!(filtered.unwrap().container_instance_arns.unwrap().len(), 4);
        let none = list(
            &mut env,
            api::ListContainerInstancesRequest {
                filter: Some("attribute:ecs.instance-type == m5.large".into()),
                ..Default::default()
            },
        );
        assert!(none.unwrap().container_instance_arns.unwrap().is_empty());
        let invalid = list(
            &mut env,
            api::ListContainerInstancesRequest {
                filter: Some("attribute:ecs.instance-type ==".into()),
                ..Default::default()
            },
        );
        assert_eq!(invalid.unwrap_err().code, "InvalidParameterException");
        let bad = list(
            &mut env,
            api::ListContainerInstancesRequest {
                max_results: Some(101),
                ..Default::default()
            },
        );
        assert_eq!(bad.unwrap_err().code, "InvalidParameterException");
    }

    #[test]
    fn update_state_drains_and_reports_failures() {
        let mut env = env_with_cluster();
        let id = register_instance(&mut env, "web");
        let out = update(
            &mut env,
            &[&id, "missing"],
            api::ContainerInstanceStatus::Draining,
        )
        .unwrap();
        let ci = &out.container_instances.unwrap()[0];
        assert_eq!(ci.status.as_deref(), Some("DRAINING"));
        assert_eq!(ci.version, Some(2));
        let failure = &out.failures.unwrap()[0];
        assert_eq!(
            failure.arn.as_deref(),
            Some(format!("{ARN_PREFIX}container-instance/web/missing").as_str())
        );
        assert_eq!(failure.reason.as_deref(), Some("MISSING"));
        let back = update(&mut env, &[&id], api::ContainerInstanceStatus::Active).unwrap();
        assert_eq!(
            back.container_instances.unwrap()[0].status.as_deref(),
            Some("ACTIVE")
        );
        let e = update(&mut env, &[&id], api::ContainerInstanceStatus::Registering).unwrap_err();
        assert_eq!(e.code, "InvalidParameterException");
    }

    #[test]
    fn deregister_needs_force_with_running_tasks() {
        let mut env = env_with_cluster();
        let id = register_instance(&mut env, "web");
        let td = definition_with_port(&mut env);
        let task = start_task(&mut env, "web", &id, &td);
        let deregister = |env: &mut Env, force: Option<bool>| {
            let input = api::DeregisterContainerInstanceRequest {
                cluster: Some("web".into()),
                container_instance: format!("{ARN_PREFIX}container-instance/web/{id}"),
                force,
            };
            env.call(|h| deregister_container_instance(h, input))
        };
        assert_eq!(
            deregister(&mut env, None).unwrap_err().code,
            "InvalidParameterException"
        );
        let ci = deregister(&mut env, Some(true))
            .unwrap()
            .container_instance
            .unwrap();
        assert_eq!(ci.status.as_deref(), Some("INACTIVE"));
        assert_eq!(ci.agent_connected, Some(false));
        let stopped = &env.world.ecs.clusters["web"].tasks[&task];
        assert_eq!(stopped.desired_status, "STOPPED");
        assert_eq!(stopped.stop_code, Some(api::TaskStopCode::TerminationNotice));
        let unknown = env.call(|h| {
            deregister_container_instance(
                h,
                api::DeregisterContainerInstanceRequest {
                    cluster: Some("web".into()),
                    container_instance: "nope".into(),
                    force: None,
                },
            )
        });
        assert_eq!(unknown.unwrap_err().code, "InvalidParameterException");
    }
}
