//! Where a new task goes: the least-loaded AZ of the given subnets for awsvpc/Fargate tasks, or a
//! container instance with room for it on EC2. Pure functions over the world.
//!
//! This is the foundation's placement: even spread by AZ, then by instance. Placement strategies
//! and constraints (`memberOf`, `distinctInstance`, binpack) are not evaluated here yet.

use std::collections::BTreeMap;

use ecsim_api::ecs as api;
use ecsim_protocol::AwsError;

use super::common::invalid_parameter;
use super::state::{ClusterRecord, TaskPlacement, TaskStatus};
use crate::world::World;

/// CPU units and MiB a task reserves: task-level sizes when given, else the sum of its
/// containers' (memory falling back to memoryReservation).
pub fn requirements(definition: &api::TaskDefinition, overrides: Option<&api::TaskOverride>) -> (i64, i64) {
    let parse = |s: Option<&String>| s.and_then(|v| v.trim().parse::<i64>().ok());
    let task_cpu = parse(overrides.and_then(|o| o.cpu.as_ref())).or_else(|| parse(definition.cpu.as_ref()));
    let task_mem =
        parse(overrides.and_then(|o| o.memory.as_ref())).or_else(|| parse(definition.memory.as_ref()));
    let containers = definition.container_definitions.as_deref().unwrap_or_default();
    let cpu = task_cpu.unwrap_or_else(|| containers.iter().map(|c| i64::from(c.cpu.unwrap_or(0))).sum());
    let memory = task_mem.unwrap_or_else(|| {
        containers
            .iter()
            .map(|c| i64::from(c.memory.or(c.memory_reservation).unwrap_or(0)))
            .sum()
    });
    (cpu, memory)
}

/// CPU units and MiB reserved on a container instance by tasks that are not STOPPED.
pub fn reserved(cluster: &ClusterRecord, instance_id: &str) -> (i64, i64) {
    cluster
        .tasks
        .values()
        .filter(|t| t.status != TaskStatus::Stopped)
        .filter(|t| t.placement.container_instance_id.as_deref() == Some(instance_id))
        .fold((0, 0), |(c, m), t| {
            let cpu = t.cpu.as_deref().and_then(|v| v.parse::<i64>().ok()).unwrap_or(0);
            let mem = t
                .memory
                .as_deref()
                .and_then(|v| v.parse::<i64>().ok())
                .unwrap_or(0);
            (c + cpu, m + mem)
        })
}

/// Live tasks of `group` per AZ, the load spread placement balances.
pub fn group_load_by_zone(cluster: &ClusterRecord, group: &str) -> BTreeMap<String, usize> {
    cluster.live_load.get(group).cloned().unwrap_or_default()
}

/// Checks an awsvpc configuration against the world's network, as ECS does on RunTask and
/// CreateService: subnets exist, all in one VPC; security groups exist.
pub fn validate_awsvpc(world: &World, config: &api::AwsVpcConfiguration) -> Result<(), AwsError> {
    if config.subnets.is_empty() {
        return Err(invalid_parameter("subnets can not be empty."));
    }
    if config.subnets.len() > 16 {
        return Err(invalid_parameter("subnets can have at most 16 items."));
    }
    let mut vpc: Option<&str> = None;
    for id in &config.subnets {
        let subnet = world.network.subnets.get(id).ok_or_else(|| {
            invalid_parameter(format!(
                "Error retrieving subnet information for [{id}]: The subnet ID '{id}' does not exist \
                 (Service: AmazonEC2; Status Code: 400; Error Code: InvalidSubnetID.NotFound)"
            ))
        })?;
        match vpc {
            Some(v) if v != subnet.vpc_id => {
                return Err(invalid_parameter("The subnets must all belong to the same VPC."));
            }
            _ => vpc = Some(&subnet.vpc_id),
        }
    }
    let groups = config.security_groups.as_deref().unwrap_or_default();
    if groups.len() > 5 {
        return Err(invalid_parameter("securityGroups can have at most 5 items."));
    }
    for id in groups {
        if !world.network.security_groups.contains_key(id) {
            return Err(invalid_parameter(format!(
                "Error retrieving security group information for [{id}]: The security group '{id}' \
                 does not exist (Service: AmazonEC2; Status Code: 400; Error Code: InvalidGroup.NotFound)"
            )));
        }
    }
    Ok(())
}

/// Picks the subnet for the next awsvpc task of a group: the AZ with the fewest live tasks of the
/// group among the subnets' AZs, ties broken by subnet order. Takes an address from it.
pub fn place_awsvpc(
    world: &mut World,
    subnets: &[String],
    load: &mut BTreeMap<String, usize>,
) -> Result<TaskPlacement, AwsError> {
    let mut best: Option<(usize, &String, String)> = None;
    for id in subnets {
        let Some(subnet) = world.network.subnets.get(id) else {
            continue;
        };
        if world.network.available_ips(subnet) == 0 {
            continue;
        }
        let n = load.get(&subnet.availability_zone).copied().unwrap_or(0);
        if best.as_ref().is_none_or(|(b, _, _)| n < *b) {
            best = Some((n, id, subnet.availability_zone.clone()));
        }
    }
    let (_, subnet_id, zone) =
        best.ok_or_else(|| invalid_parameter("No free IP addresses in the given subnets."))?;
    let subnet_id = subnet_id.clone();
    let ip = world
        .network
        .allocate_ip(&subnet_id)
        .ok_or_else(|| invalid_parameter("No free IP addresses in the given subnets."))?;
    *load.entry(zone.clone()).or_insert(0) += 1;
    Ok(TaskPlacement {
        availability_zone: zone,
        subnet_id: Some(subnet_id),
        private_ip: Some(ip),
        container_instance_id: None,
    })
}

/// Why no container instance could take a task, in ECS's words.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NoInstance {
    /// The cluster has no ACTIVE container instance.
    NoInstances,
    /// Instances exist but none has room; the reason names the resource (`RESOURCE:MEMORY`).
    Insufficient {
        instance_arn: String,
        reason: &'static str,
    },
}

/// Picks an ACTIVE container instance with room for (cpu, memory): the AZ with the fewest live
/// tasks of the group, then the instance with the fewest tasks, then instance id order.
pub fn place_on_instance(
    cluster: &ClusterRecord,
    needs: (i64, i64),
    group: &str,
    only: Option<&[String]>,
) -> Result<TaskPlacement, NoInstance> {
    let load = group_load_by_zone(cluster, group);
    let mut best: Option<((usize, usize, &str), &str)> = None;
    let mut last_refusal: Option<(String, &'static str)> = None;
    let mut any = false;
    for ci in cluster.container_instances.values() {
        if ci.status != "ACTIVE" || only.is_some_and(|ids| !ids.contains(&ci.id)) {
            continue;
        }
        any = true;
        let (cpu_used, mem_used) = reserved(cluster, &ci.id);
        if ci.registered("CPU") - cpu_used < needs.0 {
            last_refusal = Some((ci.arn.clone(), "RESOURCE:CPU"));
            continue;
        }
        if ci.registered("MEMORY") - mem_used < needs.1 {
            last_refusal = Some((ci.arn.clone(), "RESOURCE:MEMORY"));
            continue;
        }
        let on_instance = cluster
            .tasks
            .values()
            .filter(|t| t.is_live() && t.placement.container_instance_id.as_deref() == Some(ci.id.as_str()))
            .count();
        let key = (
            load.get(&ci.availability_zone).copied().unwrap_or(0),
            on_instance,
            ci.id.as_str(),
        );
        if best.as_ref().is_none_or(|(b, _)| key < *b) {
            best = Some((key, &ci.id));
        }
    }
    match best {
        Some((_, id)) => {
            let ci = &cluster.container_instances[id];
            Ok(TaskPlacement {
                availability_zone: ci.availability_zone.clone(),
                subnet_id: None,
                private_ip: None,
                container_instance_id: Some(ci.id.clone()),
            })
        }
        None if !any => Err(NoInstance::NoInstances),
        None => {
            let (instance_arn, reason) = last_refusal.unwrap_or_default();
            Err(NoInstance::Insufficient { instance_arn, reason })
        }
    }
}
