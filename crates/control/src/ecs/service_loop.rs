//! The service controller of the foundation: keeps each service at its desired count, replaces
//! tasks that stop, rolls a new deployment out within `minimumHealthyPercent`/`maximumPercent`,
//! drains deleted services, and writes the service events AWS writes.
//!
//! It runs on `ServiceCheck` timers (queued by `wake`) and only changes world state and timers.

use ecsim_api::ecs as api;

use super::lifecycle::{self, NewTask};
use super::placement::{self, NoInstance};
use super::state::{ServiceRecord, TaskStatus};
use crate::engine::Ctx;
use crate::timers::TimerKind;
use crate::world::World;

/// Queues one controller run for a service (at most one outstanding).
pub fn wake(world: &mut World, ctx: &mut Ctx<'_>, cluster: &str, service: &str) {
    let Some(svc) = world
        .ecs
        .clusters
        .get_mut(cluster)
        .and_then(|c| c.services.get_mut(service))
    else {
        return;
    };
    if svc.check_pending || svc.status == "INACTIVE" {
        return;
    }
    svc.check_pending = true;
    ctx.timers.schedule(
        ctx.now_ms,
        ctx.world_index,
        TimerKind::ServiceCheck {
            cluster: cluster.to_string(),
            service: service.to_string(),
        },
    );
}

/// Queues a run for every service of a cluster (capacity changed).
pub fn wake_cluster(world: &mut World, ctx: &mut Ctx<'_>, cluster: &str) {
    let names: Vec<String> = world
        .ecs
        .clusters
        .get(cluster)
        .map(|c| c.services.keys().cloned().collect())
        .unwrap_or_default();
    for name in names {
        if let Some(svc) = world
            .ecs
            .clusters
            .get_mut(cluster)
            .and_then(|c| c.services.get_mut(&name))
        {
            svc.placement_blocked = false;
        }
        wake(world, ctx, cluster, &name);
    }
}

/// Counts a task of `deployment` that stopped before it ever ran.
pub fn count_failed_task(world: &mut World, cluster: &str, service: &str, deployment: &str) {
    if let Some(d) = world
        .ecs
        .clusters
        .get_mut(cluster)
        .and_then(|c| c.services.get_mut(service))
        .and_then(|s| s.deployments.iter_mut().find(|d| d.id == deployment))
        && d.rollout_state == api::DeploymentRolloutState::InProgress
    {
        // Only a rollout in progress is watched; a finished one keeps its count.
        d.failed_tasks += 1;
    }
}

/// A task of `deployment` reached RUNNING: with `resetOnHealthyTask` (the default) the circuit
/// breaker's consecutive-failure count starts over.
pub fn task_became_healthy(world: &mut World, cluster: &str, service: &str, deployment: &str) {
    let Some(svc) = world
        .ecs
        .clusters
        .get_mut(cluster)
        .and_then(|c| c.services.get_mut(service))
    else {
        return;
    };
    let reset = svc
        .deployment_configuration
        .deployment_circuit_breaker
        .as_ref()
        .is_none_or(|b| b.reset_on_healthy_task.unwrap_or(true));
    if let Some(d) = svc.deployments.iter_mut().find(|d| d.id == deployment)
        && reset
    {
        d.failed_tasks = 0;
    }
}

/// Tasks of one service grouped for the controller.
struct Census {
    /// (task id, deployment id, status, zone, created) of tasks with desired RUNNING.
    live: Vec<(String, String, TaskStatus, String, u64)>,
    /// Tasks still on their way to STOPPED.
    stopping: usize,
}

fn census(world: &World, cluster: &str, service: &str) -> Census {
    let mut c = Census {
        live: Vec::new(),
        stopping: 0,
    };
    let Some(cl) = world.ecs.clusters.get(cluster) else {
        return c;
    };
    for t in cl.tasks_of_service(service) {
        if t.is_live() {
            c.live.push((
                t.id.clone(),
                t.deployment_id.clone().unwrap_or_default(),
                t.status,
                t.placement.availability_zone.clone(),
                t.created_at_ms,
            ));
        } else if t.status != TaskStatus::Stopped {
            c.stopping += 1;
        }
    }
    c
}

fn task_is_unhealthy(world: &World, cluster: &str, task_id: &str) -> bool {
    world
        .ecs
        .clusters
        .get(cluster)
        .and_then(|c| c.tasks.get(task_id))
        .is_some_and(|t| lifecycle::task_health(t) == api::HealthStatus::Unhealthy)
}

fn event(world: &mut World, ctx: &mut Ctx<'_>, cluster: &str, service: &str, message: String) {
    let id = ctx.rng.uuid();
    if let Some(svc) = world
        .ecs
        .clusters
        .get_mut(cluster)
        .and_then(|c| c.services.get_mut(service))
    {
        svc.push_event(id, ctx.now_ms, message);
    }
}

fn service_mut<'w>(world: &'w mut World, cluster: &str, service: &str) -> Option<&'w mut ServiceRecord> {
    world
        .ecs
        .clusters
        .get_mut(cluster)
        .and_then(|c| c.services.get_mut(service))
}

/// One controller run for one service.
pub fn run(world: &mut World, ctx: &mut Ctx<'_>, cluster: &str, service: &str) {
    let Some(svc) = service_mut(world, cluster, service) else {
        return;
    };
    svc.check_pending = false;
    if svc.status == "INACTIVE" {
        return;
    }
    // Service tasks whose essential containers turned UNHEALTHY are replaced.
    let unhealthy: Vec<String> = census(world, cluster, service)
        .live
        .iter()
        .filter(|(id, _, status, _, _)| {
            *status == TaskStatus::Running && task_is_unhealthy(world, cluster, id)
        })
        .map(|(id, ..)| id.clone())
        .collect();
    for id in &unhealthy {
        // Stopped for failing health checks: a failure for the circuit breaker.
        let deployment = world.ecs.task_mut(id).and_then(|t| t.deployment_id.clone());
        if let Some(deployment) = deployment {
            count_failed_task(world, cluster, service, &deployment);
        }
        lifecycle::request_stop(
            world,
            ctx,
            id,
            api::TaskStopCode::ServiceSchedulerInitiated,
            "Task failed container health checks".into(),
        );
    }
    let Some(svc) = service_mut(world, cluster, service) else {
        return;
    };
    if svc.status == "DRAINING" {
        drain(world, ctx, cluster, service);
        return;
    }
    scale(world, ctx, cluster, service);
    finish_deployments(world, ctx, cluster, service);
}

fn drain(world: &mut World, ctx: &mut Ctx<'_>, cluster: &str, service: &str) {
    let c = census(world, cluster, service);
    let ids: Vec<String> = c.live.iter().map(|(id, ..)| id.clone()).collect();
    stop_tasks(world, ctx, cluster, service, &ids, None);
    let c = census(world, cluster, service);
    if c.live.is_empty()
        && c.stopping == 0
        && let Some(svc) = service_mut(world, cluster, service)
    {
        svc.status = "INACTIVE";
        svc.deployments.clear();
    }
}

fn stop_tasks(
    world: &mut World,
    ctx: &mut Ctx<'_>,
    cluster: &str,
    service: &str,
    ids: &[String],
    deployment: Option<&str>,
) {
    if ids.is_empty() {
        return;
    }
    let reason = match deployment {
        Some(d) => format!("Scaling activity initiated by (deployment {d})"),
        None => format!("Scaling activity initiated by (service {service})"),
    };
    for id in ids {
        lifecycle::request_stop(
            world,
            ctx,
            id,
            api::TaskStopCode::ServiceSchedulerInitiated,
            reason.clone(),
        );
    }
    let list: Vec<String> = ids.iter().map(|id| format!("(task {id})")).collect();
    let message = format!(
        "(service {service}) has stopped {} running tasks: {}.",
        ids.len(),
        list.join(" ")
    );
    event(world, ctx, cluster, service, message);
}

/// Starts and stops tasks toward the PRIMARY deployment's desired count, within the bounds.
fn scale(world: &mut World, ctx: &mut Ctx<'_>, cluster: &str, service: &str) {
    let Some(svc) = service_mut(world, cluster, service) else {
        return;
    };
    let Some(primary) = svc.deployments.first() else {
        return;
    };
    let primary_id = primary.id.clone();
    if primary.rollout_state == api::DeploymentRolloutState::Failed {
        // A failed deployment launches nothing more, and what runs from older ones stays.
        return;
    }
    let desired = i64::from(svc.desired_count.max(0));
    let config = &svc.deployment_configuration;
    let max_pct = i64::from(config.maximum_percent.unwrap_or(200));
    let min_pct = i64::from(config.minimum_healthy_percent.unwrap_or(100));
    let upper = (desired * max_pct / 100).max(desired.min(1));
    let lower = (desired * min_pct + 99) / 100;
    let c = census(world, cluster, service);
    let primary_live: Vec<_> = c.live.iter().filter(|t| t.1 == primary_id).collect();
    let old_live: Vec<_> = c.live.iter().filter(|t| t.1 != primary_id).collect();
    let total_live = c.live.len() as i64;

    // Scale the primary up within maximumPercent.
    let missing = desired - primary_live.len() as i64;
    let room = upper - total_live;
    let to_start = missing.min(room).max(0);
    if to_start > 0 {
        start_tasks(
            world,
            ctx,
            cluster,
            service,
            usize::try_from(to_start).unwrap_or(0),
        );
    } else if missing < 0 {
        // Scale in: tasks not yet running first, then from the busiest AZ, newest first.
        let mut candidates: Vec<_> = primary_live.iter().map(|t| (*t).clone()).collect();
        let mut per_zone = std::collections::BTreeMap::<String, usize>::new();
        for t in &candidates {
            *per_zone.entry(t.3.clone()).or_default() += 1;
        }
        let mut chosen = Vec::new();
        for _ in 0..(-missing) {
            candidates.sort_by(|a, b| {
                let key = |t: &(String, String, TaskStatus, String, u64)| {
                    (
                        t.2 == TaskStatus::Running,
                        std::cmp::Reverse(per_zone[&t.3]),
                        std::cmp::Reverse(t.4),
                    )
                };
                key(a).cmp(&key(b)).then_with(|| a.0.cmp(&b.0))
            });
            if candidates.is_empty() {
                break;
            }
            let t = candidates.remove(0);
            if let Some(n) = per_zone.get_mut(&t.3) {
                *n -= 1;
            }
            chosen.push(t.0);
        }
        stop_tasks(world, ctx, cluster, service, &chosen, None);
    }

    // Drain older deployments while enough tasks stay running.
    if !old_live.is_empty() {
        let running_now = c.live.iter().filter(|t| t.2 == TaskStatus::Running).count() as i64;
        let mut can_stop = running_now - lower;
        let mut chosen = Vec::new();
        // Tasks that never started cost nothing to stop.
        for t in old_live.iter().filter(|t| t.2 != TaskStatus::Running) {
            chosen.push(t.0.clone());
        }
        for t in old_live.iter().filter(|t| t.2 == TaskStatus::Running) {
            if can_stop <= 0 {
                break;
            }
            chosen.push(t.0.clone());
            can_stop -= 1;
        }
        let primary_deployment = primary_id.clone();
        stop_tasks(world, ctx, cluster, service, &chosen, Some(&primary_deployment));
    }
}

fn start_tasks(world: &mut World, ctx: &mut Ctx<'_>, cluster: &str, service: &str, count: usize) {
    let Some(svc) = service_mut(world, cluster, service) else {
        return;
    };
    let Some(primary) = svc.deployments.first().cloned() else {
        return;
    };
    let group = format!("service:{service}");
    let tags = if svc.propagate_tags == Some(api::PropagateTags::Service) {
        svc.tags.clone()
    } else {
        Vec::new()
    };
    let enable_execute_command = svc.enable_execute_command;
    let Some(definition) = super::task_definitions::find(&world.ecs, &primary.task_definition_arn).cloned()
    else {
        return;
    };
    let Some(cl) = world.ecs.clusters.get(cluster) else {
        return;
    };
    let mut load = placement::group_load_by_zone(cl, &group);
    let needs = placement::requirements(&definition.definition, None);
    let mut started = Vec::new();
    let mut blocked: Option<String> = None;
    for _ in 0..count {
        let placed = match primary
            .network_configuration
            .as_ref()
            .and_then(|n| n.awsvpc_configuration.as_ref())
        {
            Some(vpc)
                if primary.launch_type == Some(api::LaunchType::Fargate) || primary.launch_type.is_none() =>
            {
                placement::place_awsvpc(world, &vpc.subnets, &mut load).map_err(|e| e.message)
            }
            awsvpc => {
                let Some(cl) = world.ecs.clusters.get(cluster) else {
                    return;
                };
                match placement::place_on_instance(cl, needs, &group, None) {
                    Ok(mut p) => {
                        if let Some(vpc) = awsvpc {
                            // awsvpc on EC2: the ENI comes from a subnet in the instance's AZ.
                            let subnet = vpc.subnets.iter().find(|s| {
                                world
                                    .network
                                    .subnets
                                    .get(*s)
                                    .is_some_and(|x| x.availability_zone == p.availability_zone)
                            });
                            if let Some(subnet) = subnet {
                                p.private_ip = world.network.allocate_ip(subnet);
                                p.subnet_id = Some(subnet.clone());
                            }
                        }
                        Ok(p)
                    }
                    Err(NoInstance::NoInstances) => {
                        Err("No Container Instances were found in your cluster.".into())
                    }
                    Err(NoInstance::Insufficient { instance_arn, reason }) => Err(format!(
                        "The closest matching container-instance {instance_arn} has insufficient {} available.",
                        match reason {
                            "RESOURCE:CPU" => "CPU units",
                            _ => "memory",
                        }
                    )),
                }
            }
        };
        let placement = match placed {
            Ok(p) => p,
            Err(reason) => {
                blocked = Some(reason);
                break;
            }
        };
        let new = NewTask {
            cluster_name: cluster.to_string(),
            definition: &definition,
            group: group.clone(),
            started_by: Some(primary.id.clone()),
            service_name: Some(service.to_string()),
            deployment_id: Some(primary.id.clone()),
            launch_type: primary.launch_type,
            capacity_provider_name: primary
                .capacity_provider_strategy
                .first()
                .map(|c| c.capacity_provider.clone()),
            platform_version: primary.platform_version.clone(),
            placement,
            overrides: api::TaskOverride::default(),
            tags: tags.clone(),
            enable_execute_command,
        };
        match lifecycle::create_task(world, ctx, new) {
            Ok(id) => started.push(id),
            Err(e) => {
                blocked = Some(e.message);
                break;
            }
        }
    }
    if !started.is_empty() {
        let list: Vec<String> = started.iter().map(|id| format!("(task {id})")).collect();
        let message = format!(
            "(service {service}) has started {} tasks: {}.",
            started.len(),
            list.join(" ")
        );
        event(world, ctx, cluster, service, message);
        if let Some(svc) = service_mut(world, cluster, service) {
            svc.steady_reported = false;
            svc.placement_blocked = false;
        }
    }
    if let Some(reason) = blocked {
        let already = service_mut(world, cluster, service).is_some_and(|s| s.placement_blocked);
        if !already {
            let message = format!(
                "(service {service}) was unable to place a task because no container instance met all of its \
                 requirements. Reason: {reason}"
            );
            event(world, ctx, cluster, service, message);
            if let Some(svc) = service_mut(world, cluster, service) {
                svc.placement_blocked = true;
            }
        }
    }
}

/// Drops drained deployments and completes the PRIMARY one when the service is steady.
fn finish_deployments(world: &mut World, ctx: &mut Ctx<'_>, cluster: &str, service: &str) {
    let c = census(world, cluster, service);
    let Some(svc) = service_mut(world, cluster, service) else {
        return;
    };
    let Some(primary_id) = svc.deployments.first().map(|d| d.id.clone()) else {
        return;
    };
    // Fully replaced deployments leave the list, as on AWS.
    let has_tasks = |id: &str| c.live.iter().any(|t| t.1 == id);
    svc.deployments.retain(|d| d.id == primary_id || has_tasks(&d.id));
    let mut messages = super::deployments::drive(world, ctx, cluster, service);
    let Some(svc) = service_mut(world, cluster, service) else {
        return;
    };
    let running = c
        .live
        .iter()
        .filter(|t| t.1 == primary_id && t.2 == TaskStatus::Running)
        .count() as i64;
    let others_running = c.live.iter().any(|t| t.1 != primary_id);
    let completed = svc
        .deployments
        .first()
        .is_some_and(|d| d.id == primary_id && d.rollout_state == api::DeploymentRolloutState::Completed);
    let steady =
        completed && svc.deployments.len() == 1 && !others_running && running == i64::from(svc.desired_count);
    if steady && !svc.steady_reported {
        svc.steady_reported = true;
        messages.push(format!("(service {service}) has reached a steady state."));
    }
    for m in messages {
        event(world, ctx, cluster, service, m);
    }
}
