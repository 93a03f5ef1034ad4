//! Where a new task goes: the least-loaded AZ of the given subnets for awsvpc/Fargate tasks, or a
//! container instance with room for it on EC2. Pure functions over the world.
//!
//! This is the foundation's placement: even spread by AZ, then by instance. Placement strategies
//! and constraints (`memberOf`, `distinctInstance`, binpack) are not evaluated here yet.

use std::collections::BTreeMap;

use ecsim_api::ecs as api;
use ecsim_protocol::AwsError;
use ecsim_scheduler as sched;

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
    let mut refused: Vec<String> = Vec::new();
    for id in subnets {
        let Some(subnet) = world.network.subnets.get(id) else {
            continue;
        };
        // An injected AZ outage keeps new tasks out of the zone.
        if let Some(reason) = crate::faults::zone_refusal(world, &subnet.availability_zone) {
            refused.push(format!("subnet {id}: {reason}"));
            continue;
        }
        if world.network.available_ips(subnet) == 0 {
            continue;
        }
        let n = load.get(&subnet.availability_zone).copied().unwrap_or(0);
        if best.as_ref().is_none_or(|(b, _, _)| n < *b) {
            best = Some((n, id, subnet.availability_zone.clone()));
        }
    }
    let (_, subnet_id, zone) = best.ok_or_else(|| {
        if refused.is_empty() {
            invalid_parameter("No free IP addresses in the given subnets.")
        } else {
            invalid_parameter(format!("No subnet can take the task: {}.", refused.join("; ")))
        }
    })?;
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

// === EC2 placement through the scheduler pipeline ===

/// Placement constraints and strategies of a request, compiled for the scheduler.
#[derive(Debug, Clone, Default)]
pub struct Rules {
    pub constraints: Vec<sched::Constraint>,
    pub strategies: Vec<sched::Strategy>,
}

fn member_of(expression: Option<&str>) -> Result<sched::Constraint, AwsError> {
    let expression = expression.unwrap_or_default();
    let expr = sched::parse(expression).map_err(|e| invalid_parameter(e.to_string()))?;
    Ok(sched::Constraint::MemberOf(expr))
}

/// Compiles the task definition's and the request's (or service's) placement rules, refusing what
/// ECS refuses: bad query expressions, bad strategy fields, too many of either.
pub fn compile_rules(
    definition_constraints: &[api::TaskDefinitionPlacementConstraint],
    constraints: &[api::PlacementConstraint],
    strategies: &[api::PlacementStrategy],
) -> Result<Rules, AwsError> {
    let mut rules = Rules::default();
    for c in definition_constraints {
        rules.constraints.push(member_of(c.expression.as_deref())?);
    }
    for c in constraints {
        match c.r#type {
            Some(api::PlacementConstraintType::DistinctInstance) => {
                if c.expression.as_deref().is_some_and(|e| !e.is_empty()) {
                    return Err(invalid_parameter(
                        "distinctInstance placement constraints take no expression.",
                    ));
                }
                rules.constraints.push(sched::Constraint::DistinctInstance);
            }
            Some(api::PlacementConstraintType::MemberOf) => {
                rules.constraints.push(member_of(c.expression.as_deref())?)
            }
            None => return Err(invalid_parameter("A placement constraint needs a type.")),
        }
    }
    for s in strategies {
        let strategy = match s.r#type {
            Some(api::PlacementStrategyType::Random) => sched::Strategy::Random,
            Some(api::PlacementStrategyType::Spread) => {
                let field = s.field.clone().unwrap_or_default();
                sched::snapshot::spread_field(&field).map_err(|e| invalid_parameter(e.to_string()))?;
                sched::Strategy::Spread(field)
            }
            Some(api::PlacementStrategyType::Binpack) => {
                match s.field.as_deref().map(str::to_ascii_lowercase).as_deref() {
                    Some("cpu") => sched::Strategy::Binpack(sched::BinpackField::Cpu),
                    Some("memory") => sched::Strategy::Binpack(sched::BinpackField::Memory),
                    _ => {
                        return Err(invalid_parameter(
                            "The binpack placement strategy field must be cpu or memory.",
                        ));
                    }
                }
            }
            None => return Err(invalid_parameter("A placement strategy needs a type.")),
        };
        rules.strategies.push(strategy);
    }
    if rules.strategies.len() > sched::snapshot::MAX_STRATEGIES {
        return Err(invalid_parameter("At most 5 placement strategies are allowed."));
    }
    if rules.constraints.len() > sched::snapshot::MAX_CONSTRAINTS {
        return Err(invalid_parameter("At most 10 placement constraints are allowed."));
    }
    Ok(rules)
}

/// With no strategy given, ecsim spreads over AZs then instances (emulator decision: the default
/// ECS applies to services, used for RunTask too so placement stays deterministic and balanced).
fn default_strategies() -> Vec<sched::Strategy> {
    vec![
        sched::Strategy::Spread(format!("attribute:{}", sched::snapshot::ATTR_AVAILABILITY_ZONE)),
        sched::Strategy::Spread("instanceId".into()),
    ]
}

/// Host ports a task binds on its instance (bridge/host network modes).
pub fn host_ports(definition: &api::TaskDefinition) -> Vec<u16> {
    let mode = definition.network_mode.unwrap_or(api::NetworkMode::Bridge);
    if mode == api::NetworkMode::Awsvpc {
        return Vec::new();
    }
    definition
        .container_definitions
        .iter()
        .flatten()
        .flat_map(|c| c.port_mappings.iter().flatten())
        .filter_map(|pm| match mode {
            api::NetworkMode::Host => pm.host_port.or(pm.container_port),
            _ => pm.host_port.filter(|p| *p > 0),
        })
        .filter_map(|p| u16::try_from(p).ok())
        .collect()
}

/// The cluster's container instances as the scheduler sees them, in id order. `only` limits the
/// candidates (StartTask).
pub fn snapshot(cluster: &ClusterRecord, only: Option<&[String]>) -> sched::ClusterSnapshot {
    #[derive(Default)]
    struct Use {
        cpu: i64,
        memory: i64,
        ports: std::collections::BTreeSet<u16>,
        groups: BTreeMap<String, u32>,
        tasks: u32,
    }
    let mut used: BTreeMap<&str, Use> = BTreeMap::new();
    for t in cluster.tasks.values().filter(|t| t.status != TaskStatus::Stopped) {
        let Some(id) = t.placement.container_instance_id.as_deref() else {
            continue;
        };
        let u = used.entry(id).or_default();
        u.cpu += t.cpu.as_deref().and_then(|v| v.parse::<i64>().ok()).unwrap_or(0);
        u.memory += t
            .memory
            .as_deref()
            .and_then(|v| v.parse::<i64>().ok())
            .unwrap_or(0);
        for c in &t.containers {
            for pm in &c.port_mappings {
                if let Some(p) = pm
                    .host_port
                    .filter(|p| *p > 0)
                    .and_then(|p| u16::try_from(p).ok())
                {
                    u.ports.insert(p);
                }
            }
        }
        if t.is_live() {
            *u.groups.entry(t.group.clone()).or_default() += 1;
            u.tasks += 1;
        }
    }
    let instances = cluster
        .container_instances
        .values()
        .filter(|ci| only.is_none_or(|ids| ids.contains(&ci.id)))
        .filter(|ci| ci.status != "INACTIVE")
        .map(|ci| {
            let u = used.remove(ci.id.as_str()).unwrap_or_default();
            let mut ports: std::collections::BTreeSet<u16> = u.ports;
            for r in ci
                .registered_resources
                .iter()
                .filter(|r| r.name.as_deref() == Some("PORTS"))
            {
                ports.extend(
                    r.string_set_value
                        .iter()
                        .flatten()
                        .filter_map(|p| p.parse::<u16>().ok()),
                );
            }
            sched::InstanceSnapshot {
                id: ci.id.clone(),
                arn: ci.arn.clone(),
                ec2_instance_id: ci.ec2_instance_id.clone(),
                availability_zone: ci.availability_zone.clone(),
                attributes: ci
                    .attributes
                    .iter()
                    .map(|a| (a.name.clone(), a.value.clone()))
                    .collect(),
                cpu_remaining: ci.registered("CPU") - u.cpu,
                memory_remaining: ci.registered("MEMORY") - u.memory,
                ports_in_use: ports,
                running_task_groups: u.groups,
                running_tasks: u.tasks,
                registered_at_ms: ci.registered_at_ms,
                agent_connected: true,
                agent_version: ci.version_info.agent_version.clone().unwrap_or_default(),
                active: ci.status == "ACTIVE",
            }
        })
        .collect();
    sched::ClusterSnapshot { instances }
}

/// What one EC2 placement call asks for.
pub struct Ec2Request<'r> {
    pub needs: (i64, i64),
    pub host_ports: Vec<u16>,
    pub group: &'r str,
    pub count: u32,
    pub rules: &'r Rules,
    /// Availability zones an injected outage has taken down: their instances lost their network,
    /// so their agents count as disconnected and take no new tasks.
    pub zones_down: &'r [String],
}

/// Places `count` tasks on container instances; returns the placements made and, when some could
/// not be placed, why (for RunTask `failures` and the service event).
pub fn place_ec2(
    cluster: &ClusterRecord,
    request: &Ec2Request<'_>,
    only: Option<&[String]>,
    rng: &mut ecsim_core::Rng,
) -> (Vec<TaskPlacement>, Option<sched::PlacementFailure>) {
    let mut snapshot = snapshot(cluster, only);
    for i in &mut snapshot.instances {
        if request.zones_down.contains(&i.availability_zone) {
            i.agent_connected = false;
        }
    }
    let strategies = if request.rules.strategies.is_empty() {
        default_strategies()
    } else {
        request.rules.strategies.clone()
    };
    let req = sched::PlacementRequest {
        cpu: request.needs.0,
        memory: request.needs.1,
        host_ports: request.host_ports.clone(),
        group: request.group.to_string(),
        count: request.count,
        constraints: request.rules.constraints.clone(),
        strategies,
    };
    let placement = sched::place(&req, &snapshot, rng);
    let placed = placement
        .chosen
        .iter()
        .filter_map(|c| snapshot.instances.get(usize::try_from(c.instance_index).ok()?))
        .map(|i| TaskPlacement {
            availability_zone: i.availability_zone.clone(),
            subnet_id: None,
            private_ip: None,
            container_instance_id: Some(i.id.clone()),
        })
        .collect();
    (placed, placement.failures.into_iter().next())
}
