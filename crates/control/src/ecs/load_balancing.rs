//! ECS services behind load balancers: how the data plane reaches a task target, what a
//! simulated task answers to a health check, and how target health and draining feed back into
//! the service controller.
//!
//! The ELBv2 module owns targets and their health states; this module only translates between
//! targets and tasks. It does no IO.

use ecsim_core::Millis;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use ecsim_api::ecs as api;
use ecsim_elb::{Dial, ProbeOutcome, SimulatedTarget};

use ecsim_protocol::AwsError;

use super::common::invalid_parameter;
use super::state::{ContainerRecord, LbTarget, TaskRecord, TaskStatus};
use crate::timers::TimerKind;

use crate::engine::Ctx;
use crate::world::World;

/// How the data plane reaches target (`id`, `port`) of a target group whose `TargetType` is
/// `target_type` (`ip` or `instance`): an ecsim task's published loopback port or its simulated
/// behaviour, a loopback IP target as is, anything else refused with a description.
pub fn resolve_dial(world: &World, target_type: &str, id: &str, port: u16) -> Dial {
    match find_task_target(world, target_type, id, port) {
        TaskTarget::Found { task, container } => dial_task(task, container, port),
        TaskTarget::NotListening(description) => Dial::Refused(description),
        TaskTarget::NotATask => match id.parse::<IpAddr>() {
            Ok(ip) if target_type == "ip" && ip.is_loopback() => Dial::Loopback(SocketAddr::new(ip, port)),
            _ => Dial::Refused(format!(
                "ecsim only connects to loopback addresses and to its own tasks; target {id}:{port} is neither"
            )),
        },
    }
}

/// The answer a simulated task target gives a health check on `port`, or `None` when the target
/// is not a task on the simulated runtime (then the data plane probes it, or it is refused).
///
/// A simulated task answers 200 while its behaviour model is healthy and 503 once it is not
/// (`ECSIM_HEALTH`, `ECSIM_UNHEALTHY_AFTER_SECONDS`), as the test application's `/health` does;
/// a task that is no longer running refuses the connection.
pub fn simulated_probe(
    world: &World,
    target_type: &str,
    id: &str,
    port: u16,
    now_ms: Millis,
) -> Option<ProbeOutcome> {
    let TaskTarget::Found { task, container } = find_task_target(world, target_type, id, port) else {
        return None;
    };
    let c = &task.containers[container];
    if c.runtime.is_some() {
        return None;
    }
    if task.status != TaskStatus::Running || c.last_status != "RUNNING" {
        return Some(ProbeOutcome::Failed("connection refused".into()));
    }
    let turned_bad = c
        .behaviour
        .unhealthy_after_ms
        .zip(task.started_at_ms)
        .is_some_and(|(after, started)| started + after <= now_ms);
    let healthy = c.behaviour.healthy && !turned_bad;
    Some(ProbeOutcome::Status(if healthy { 200 } else { 503 }))
}

/// The live task that target (`id`, `port`) of a group with `target_type` reaches, if any (the
/// fault module matches task- and task-definition-scoped faults and AZ outages through it).
pub fn task_behind_target<'w>(
    world: &'w World,
    target_type: &str,
    id: &str,
    port: u16,
) -> Option<&'w TaskRecord> {
    match find_task_target(world, target_type, id, port) {
        TaskTarget::Found { task, .. } => Some(task),
        TaskTarget::NotListening(_) | TaskTarget::NotATask => None,
    }
}

enum TaskTarget<'w> {
    Found {
        task: &'w TaskRecord,
        container: usize,
    },
    /// A task owns the address but nothing of it listens on the port.
    NotListening(String),
    NotATask,
}

/// The live task behind a target: for `ip` targets the awsvpc task with that private address,
/// for `instance` targets the task on that container instance whose host port is `port`; then
/// the container that maps `port`.
fn find_task_target<'w>(world: &'w World, target_type: &str, id: &str, port: u16) -> TaskTarget<'w> {
    let live = |t: &&TaskRecord| t.status < TaskStatus::Stopped;
    for cluster in world.ecs.clusters.values() {
        if target_type == "ip" {
            let Some(task) = cluster
                .tasks
                .values()
                .filter(live)
                .find(|t| t.placement.private_ip.as_deref() == Some(id))
            else {
                continue;
            };
            return match task.containers.iter().position(|c| maps_container_port(c, port)) {
                Some(container) => TaskTarget::Found { task, container },
                None => TaskTarget::NotListening(format!(
                    "task {} has no container listening on port {port}",
                    task.id
                )),
            };
        }
        let Some(instance) = cluster
            .container_instances
            .values()
            .find(|ci| ci.ec2_instance_id == id)
        else {
            continue;
        };
        let on_instance = cluster
            .tasks
            .values()
            .filter(live)
            .filter(|t| t.placement.container_instance_id.as_deref() == Some(instance.id.as_str()));
        for task in on_instance {
            if let Some(container) = task
                .containers
                .iter()
                .position(|c| reported_host_ports(task, c).any(|(_, host)| host == port))
            {
                return TaskTarget::Found { task, container };
            }
        }
        return TaskTarget::NotListening(format!("no task on instance {id} listens on port {port}"));
    }
    TaskTarget::NotATask
}

fn maps_container_port(c: &ContainerRecord, port: u16) -> bool {
    c.port_mappings
        .iter()
        .any(|pm| pm.container_port.is_some_and(|p| i64::from(p) == i64::from(port)))
}

/// (container port, host port as the API reports it) of each port mapping of a container.
fn reported_host_ports<'t>(
    task: &'t TaskRecord,
    c: &'t ContainerRecord,
) -> impl Iterator<Item = (u16, u16)> + 't {
    c.port_mappings.iter().filter_map(move |pm| {
        let container_port = u16::try_from(pm.container_port?).ok()?;
        let host = u16::try_from(c.reported_host_port(task.network_mode, pm)?).ok()?;
        Some((container_port, host))
    })
}

/// How to reach container `container` of `task` on target port `port`.
fn dial_task(task: &TaskRecord, container: usize, port: u16) -> Dial {
    let c = &task.containers[container];
    if let Some(runtime) = &c.runtime {
        // The target port is the container port (awsvpc) or the reported host port (bridge/host);
        // either way the runtime published it on a loopback port of its own.
        let container_port = if task.network_mode == api::NetworkMode::Awsvpc {
            Some(port)
        } else {
            reported_host_ports(task, c)
                .find(|(_, host)| *host == port)
                .map(|(cp, _)| cp)
        };
        return match container_port.and_then(|cp| runtime.bindings.iter().find(|b| b.container_port == cp)) {
            Some(b) => Dial::Loopback(SocketAddr::new(IpAddr::from([127, 0, 0, 1]), b.host_port)),
            None => Dial::Refused(format!("task {} has not published port {port}", task.id)),
        };
    }
    if task.status != TaskStatus::Running {
        return Dial::Refused(format!("task {} is {}", task.id, task.status.as_str()));
    }
    let version = c.behaviour.version.clone().unwrap_or_else(|| {
        task.task_definition_arn
            .rsplit('/')
            .next()
            .unwrap_or_default()
            .to_string()
    });
    Dial::Simulated(Arc::new(SimulatedTarget {
        task_arn: task.arn.clone(),
        error_rate: c.behaviour.error_rate,
        error_status: 500,
        latency_ms: c.behaviour.latency_ms,
        version,
    }))
}

/// Checks a service's `loadBalancers` against the target groups and the task definition, with
/// the messages ECS uses.
pub fn validate_service_load_balancers(
    world: &World,
    definition: &api::TaskDefinition,
    load_balancers: &[api::LoadBalancer],
) -> Result<(), AwsError> {
    if load_balancers.len() > 5 {
        return Err(invalid_parameter("A service can use at most 5 target groups."));
    }
    for lb in load_balancers {
        let Some(tg_arn) = lb.target_group_arn.as_deref() else {
            return Err(invalid_parameter(match &lb.load_balancer_name {
                Some(name) => format!(
                    "ecsim does not support Classic Load Balancers ({name}); use an Application Load \
                     Balancer target group (targetGroupArn)."
                ),
                None => "targetGroupArn is required for each load balancer.".into(),
            }));
        };
        let Some(group) = elb::target_group_view(world, tg_arn) else {
            return Err(invalid_parameter(format!(
                "The target group with targetGroupArn {tg_arn} does not exist."
            )));
        };
        if !group.has_load_balancer {
            return Err(invalid_parameter(format!(
                "The target group with targetGroupArn {tg_arn} does not have an associated load balancer."
            )));
        }
        let (Some(container_name), Some(container_port)) = (lb.container_name.as_deref(), lb.container_port)
        else {
            return Err(invalid_parameter(
                "containerName and containerPort are required for each load balancer.",
            ));
        };
        let Some(container) = definition
            .container_definitions
            .iter()
            .flatten()
            .find(|c| c.name.as_deref() == Some(container_name))
        else {
            return Err(invalid_parameter(format!(
                "The container {container_name} does not exist in the task definition."
            )));
        };
        let maps_port = container
            .port_mappings
            .iter()
            .flatten()
            .any(|pm| pm.container_port == Some(container_port));
        if !maps_port {
            return Err(invalid_parameter(format!(
                "The container {container_name} did not have a container port {container_port} defined."
            )));
        }
        let awsvpc = definition.network_mode == Some(api::NetworkMode::Awsvpc);
        if awsvpc && group.target_type != "ip" {
            return Err(invalid_parameter(format!(
                "The provided target group {tg_arn} has target type {}, which is incompatible with the \
                 awsvpc network mode specified in the task definition.",
                group.target_type
            )));
        }
        if !awsvpc && group.target_type != "instance" {
            return Err(invalid_parameter(format!(
                "The provided target group {tg_arn} has target type {}, which is incompatible with the \
                 {} network mode specified in the task definition.",
                group.target_type,
                definition.network_mode.map_or("bridge", |m| m.as_str())
            )));
        }
    }
    Ok(())
}

/// The load balancers a service task registers in: its task set's, its deployment's own (a
/// blue/green deployment's green tasks), else the service's.
pub fn task_load_balancers<'s>(
    service: &'s super::state::ServiceRecord,
    deployment_id: Option<&str>,
) -> &'s [api::LoadBalancer] {
    let Some(id) = deployment_id else {
        return &service.load_balancers;
    };
    if let Some(task_set) = service.task_sets.iter().find(|t| t.id == id) {
        return &task_set.load_balancers;
    }
    service
        .deployments
        .iter()
        .find(|d| d.id == id)
        .and_then(|d| d.load_balancers.as_deref())
        .unwrap_or(&service.load_balancers)
}

/// Registers a service task that just reached RUNNING in each of its service's target groups:
/// its private IP and container port (`awsvpc`), or its container instance and host port.
pub fn register_task(world: &mut World, ctx: &mut Ctx<'_>, task_id: &str) {
    let Some(task) = world.ecs.task(task_id) else {
        return;
    };
    let Some(service) = task
        .service_name
        .as_deref()
        .and_then(|s| world.ecs.service(&task.cluster_name, s))
    else {
        return;
    };
    let mut targets = Vec::new();
    for lb in task_load_balancers(service, task.deployment_id.as_deref()) {
        let (Some(tg), Some(name), Some(port)) = (
            lb.target_group_arn.clone(),
            lb.container_name.as_deref(),
            lb.container_port.and_then(|p| u16::try_from(p).ok()),
        ) else {
            continue;
        };
        let Some(container) = task.containers.iter().find(|c| c.name == name) else {
            continue;
        };
        let target = if task.network_mode == api::NetworkMode::Awsvpc {
            task.placement.private_ip.clone().map(|ip| (ip, port))
        } else {
            let instance = task.placement.container_instance_id.as_deref().and_then(|id| {
                world
                    .ecs
                    .clusters
                    .get(&task.cluster_name)
                    .and_then(|c| c.container_instances.get(id))
            });
            let host_port = reported_host_ports(task, container)
                .find(|(cp, _)| *cp == port)
                .map(|(_, h)| h);
            instance.map(|i| i.ec2_instance_id.clone()).zip(host_port)
        };
        if let Some((id, target_port)) = target {
            targets.push((tg, id, target_port));
        }
    }
    let zone = task.placement.availability_zone.clone();
    let (cluster, service_name) = (task.cluster_name.clone(), service.name.clone());
    let mut registered = Vec::new();
    for (tg, id, port) in targets {
        match elb::register(world, ctx, &tg, &id, port, &zone) {
            Ok(()) => registered.push(LbTarget {
                target_group_arn: tg,
                id,
                port,
                draining: false,
            }),
            Err(e) => {
                let message = format!(
                    "(service {service_name}) failed to register targets in (target-group {tg}) due to \
                     (reason {}).",
                    e.message
                );
                super::service_loop::event(world, ctx, &cluster, &service_name, message);
            }
        }
    }
    if registered.is_empty() {
        return;
    }
    for t in &registered {
        let message = format!(
            "(service {service_name}) registered 1 targets in (target-group {})",
            t.target_group_arn
        );
        super::service_loop::event(world, ctx, &cluster, &service_name, message);
    }
    if let Some(task) = world.ecs.task_mut(task_id) {
        task.lb_targets = registered;
        task.lb_health = Some(api::HealthStatus::Unknown);
    }
    // The controller looks again when the grace period ends: failures before it are ignored.
    let grace_ms = grace_period_ms(world, &cluster, &service_name);
    if grace_ms > 0 {
        ctx.timers.schedule(
            ctx.now_ms + grace_ms,
            ctx.world_index,
            TimerKind::ServiceCheck {
                cluster: cluster.clone(),
                service: service_name.clone(),
            },
        );
    }
}

fn grace_period_ms(world: &World, cluster: &str, service: &str) -> Millis {
    world
        .ecs
        .service(cluster, service)
        .and_then(|s| s.health_check_grace_period_seconds)
        .map_or(0, |s| Millis::try_from(s.max(0)).unwrap_or(0) * 1_000)
}

/// Whether the load balancers count the task as healthy: it has no targets, or every target is
/// healthy.
pub fn targets_healthy(task: &TaskRecord) -> bool {
    task.lb_targets.is_empty() || task.lb_health == Some(api::HealthStatus::Healthy)
}

/// The target group whose health checks a running service task failed, once its service's
/// health check grace period is over.
pub fn failed_elb_health(world: &World, task: &TaskRecord, now_ms: Millis) -> Option<String> {
    if task.lb_health != Some(api::HealthStatus::Unhealthy) {
        return None;
    }
    let grace_ms = task
        .service_name
        .as_deref()
        .map_or(0, |s| grace_period_ms(world, &task.cluster_name, s));
    if task
        .started_at_ms
        .is_some_and(|started| now_ms < started + grace_ms)
    {
        return None;
    }
    task.lb_targets
        .iter()
        .find(|t| elb::health(world, &t.target_group_arn, &t.id, t.port) == Some(TargetHealth::Unhealthy))
        .map(|t| t.target_group_arn.clone())
}

/// Deregisters a stopping task's targets. Returns true when at least one target is draining: the
/// task then stays DEACTIVATING until [`target_drained`] has seen them all go.
pub fn begin_deregistration(world: &mut World, ctx: &mut Ctx<'_>, task_id: &str) -> bool {
    let Some(task) = world.ecs.task(task_id) else {
        return false;
    };
    let targets: Vec<LbTarget> = task.lb_targets.iter().filter(|t| !t.draining).cloned().collect();
    if targets.is_empty() {
        return task.lb_targets.iter().any(|t| t.draining);
    }
    let (cluster, service) = (task.cluster_name.clone(), task.service_name.clone());
    if let Some(task) = world.ecs.task_mut(task_id) {
        for t in &mut task.lb_targets {
            t.draining = true;
        }
    }
    if let Some(service) = &service {
        let message = format!("(service {service}) has begun draining connections on 1 tasks.");
        super::service_loop::event(world, ctx, &cluster, service, message);
    }
    for t in &targets {
        // A target removed at once (no delay, or a group no load balancer uses) has already been
        // reported through `target_drained`; a draining one will be.
        elb::deregister(world, ctx, &t.target_group_arn, &t.id, t.port);
        if let Some(service) = &service {
            let message = format!(
                "(service {service}) deregistered 1 targets in (target-group {})",
                t.target_group_arn
            );
            super::service_loop::event(world, ctx, &cluster, service, message);
        }
        if elb::health(world, &t.target_group_arn, &t.id, t.port).is_none() {
            // Gone without a word (the group itself was deleted): forget it here.
            forget_target(world, ctx, task_id, &t.target_group_arn, &t.id, t.port);
        }
    }
    world.ecs.task(task_id).is_some_and(|t| !t.lb_targets.is_empty())
}

/// The health state of target (`id`, `port`) in `target_group_arn` changed.
pub fn target_health_changed(
    world: &mut World,
    ctx: &mut Ctx<'_>,
    target_group_arn: &str,
    id: &str,
    port: u16,
) {
    let Some(task_id) = task_of_target(world, target_group_arn, id, port) else {
        return;
    };
    let Some(task) = world.ecs.task(&task_id) else {
        return;
    };
    let states: Vec<Option<TargetHealth>> = task
        .lb_targets
        .iter()
        .filter(|t| !t.draining)
        .map(|t| elb::health(world, &t.target_group_arn, &t.id, t.port))
        .collect();
    let health = if states.contains(&Some(TargetHealth::Unhealthy)) {
        api::HealthStatus::Unhealthy
    } else if !states.is_empty() && states.iter().all(|s| *s == Some(TargetHealth::Healthy)) {
        api::HealthStatus::Healthy
    } else {
        api::HealthStatus::Unknown
    };
    let owner = task.service_name.clone().zip(task.deployment_id.clone());
    let cluster = task.cluster_name.clone();
    let before = task.lb_health;
    if let Some(task) = world.ecs.task_mut(&task_id) {
        task.lb_health = Some(health);
        task.became_healthy |= health == api::HealthStatus::Healthy;
        task.version += 1;
    }
    if let Some((service, deployment)) = owner {
        if health == api::HealthStatus::Healthy && before != Some(api::HealthStatus::Healthy) {
            super::service_loop::task_became_healthy(world, &cluster, &service, &deployment);
        }
        super::service_loop::wake(world, ctx, &cluster, &service);
    }
}

/// Target (`id`, `port`) finished draining out of `target_group_arn` and is no longer registered.
pub fn target_drained(world: &mut World, ctx: &mut Ctx<'_>, target_group_arn: &str, id: &str, port: u16) {
    if let Some(task_id) = task_of_target(world, target_group_arn, id, port) {
        forget_target(world, ctx, &task_id, target_group_arn, id, port);
    }
}

/// Drops one target from a task; the last one to go lets a DEACTIVATING task stop.
fn forget_target(world: &mut World, ctx: &mut Ctx<'_>, task_id: &str, tg: &str, id: &str, port: u16) {
    let Some(task) = world.ecs.task_mut(task_id) else {
        return;
    };
    task.lb_targets
        .retain(|t| !(t.target_group_arn == tg && t.id == id && t.port == port));
    if task.lb_targets.is_empty() && task.status == TaskStatus::Deactivating && task.next_step_at_ms.is_none()
    {
        super::lifecycle::continue_deactivating(world, ctx, task_id);
    }
}

fn task_of_target(world: &World, tg: &str, id: &str, port: u16) -> Option<String> {
    world.ecs.clusters.values().find_map(|c| {
        c.tasks
            .values()
            .find(|t| {
                t.lb_targets
                    .iter()
                    .any(|l| l.target_group_arn == tg && l.id == id && l.port == port)
            })
            .map(|t| t.id.clone())
    })
}

/// A target's health as the ECS side needs it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TargetHealth {
    Initial,
    Healthy,
    Unhealthy,
    Draining,
    Unused,
}

/// The ELBv2 module as this one uses it.
mod elb {
    use super::*;
    use crate::elbv2::state::TargetState;

    pub struct GroupView {
        pub target_type: &'static str,
        pub has_load_balancer: bool,
    }

    pub fn target_group_view(world: &World, arn: &str) -> Option<GroupView> {
        crate::elbv2::target_group(world, arn).map(|g| GroupView {
            target_type: g.target_type_str(),
            has_load_balancer: g.in_use(),
        })
    }

    pub fn register(
        world: &mut World,
        ctx: &mut Ctx<'_>,
        tg: &str,
        id: &str,
        port: u16,
        zone: &str,
    ) -> Result<(), AwsError> {
        crate::elbv2::targets::register_target(world, ctx, tg, id, port, Some(zone))
    }

    /// Deregisters; the target drains, or is removed at once (reported through `target_drained`).
    pub fn deregister(world: &mut World, ctx: &mut Ctx<'_>, tg: &str, id: &str, port: u16) {
        crate::elbv2::targets::deregister_target(world, ctx, tg, id, port);
    }

    pub fn health(world: &World, tg: &str, id: &str, port: u16) -> Option<TargetHealth> {
        crate::elbv2::targets::target_state(world, tg, id, port).map(|(state, _)| match state {
            TargetState::Initial => TargetHealth::Initial,
            TargetState::Healthy => TargetHealth::Healthy,
            TargetState::Unhealthy => TargetHealth::Unhealthy,
            TargetState::Draining => TargetHealth::Draining,
            TargetState::Unused => TargetHealth::Unused,
        })
    }
}
