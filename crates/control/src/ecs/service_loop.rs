//! The service controller of the foundation: keeps each service at its desired count, replaces
//! tasks that stop, rolls a new deployment out within `minimumHealthyPercent`/`maximumPercent`,
//! drains deleted services, and writes the service events AWS writes.
//!
//! It runs on `ServiceCheck` timers (queued by `wake`) and only changes world state and timers.

use ecsim_api::ecs as api;

use super::lifecycle::{self, NewTask};
use super::placement;
use super::state::{ServiceRecord, TaskStatus};
use crate::engine::Ctx;
use crate::timers::TimerKind;
use crate::world::World;

/// Queues one controller run for a service (at most one outstanding).
pub fn wake(world: &mut World, ctx: &mut Ctx<'_>, cluster: &str, service: &str) {
    let Some(svc) = world.ecs.service_mut(cluster, service) else {
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
        if let Some(svc) = world.ecs.service_mut(cluster, &name) {
            svc.placement_blocked = false;
        }
        wake(world, ctx, cluster, &name);
    }
}

/// Counts a task of `deployment` that stopped before it ever ran.
pub fn count_failed_task(world: &mut World, cluster: &str, service: &str, deployment: &str) {
    let Some(svc) = world.ecs.service_mut(cluster, service) else {
        return;
    };
    if let Some(set) = svc.task_set_mut(deployment) {
        set.failed_tasks += 1;
        return;
    }
    if let Some(d) = svc.deployments.iter_mut().find(|d| d.id == deployment)
        && d.rollout_state == api::DeploymentRolloutState::InProgress
    {
        // Only a rollout in progress is watched; a finished one keeps its count.
        d.failed_tasks += 1;
    }
}

/// A task of `deployment` reached RUNNING: with `resetOnHealthyTask` (the default) the circuit
/// breaker's consecutive-failure count starts over.
pub fn task_became_healthy(world: &mut World, cluster: &str, service: &str, deployment: &str) {
    let Some(svc) = world.ecs.service_mut(cluster, service) else {
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

/// A live task (desired RUNNING) of a service, as the controller sees it.
#[derive(Debug, Clone)]
struct LiveTask {
    id: String,
    deployment: String,
    status: TaskStatus,
    zone: String,
    created_ms: u64,
    /// On a DRAINING container instance, or picked to move for AZ rebalancing: replaced first,
    /// then stopped within minimumHealthyPercent, like a task of an older deployment.
    leaving: bool,
    /// No load balancer targets, or all of them healthy.
    lb_healthy: bool,
}

/// Tasks of one service grouped for the controller.
struct Census {
    live: Vec<LiveTask>,
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
            let draining = t
                .placement
                .container_instance_id
                .as_ref()
                .and_then(|id| cl.container_instances.get(id))
                .is_some_and(|ci| ci.status == "DRAINING");
            c.live.push(LiveTask {
                id: t.id.clone(),
                deployment: t.deployment_id.clone().unwrap_or_default(),
                status: t.status,
                zone: t.placement.availability_zone.clone(),
                created_ms: t.created_at_ms,
                leaving: draining || t.moving,
                lb_healthy: super::load_balancing::targets_healthy(t),
            });
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

/// Adds a service event with an id from the seeded RNG.
pub(crate) fn event(world: &mut World, ctx: &mut Ctx<'_>, cluster: &str, service: &str, message: String) {
    let id = ctx.rng.uuid();
    if let Some(svc) = world.ecs.service_mut(cluster, service) {
        svc.push_event(id, ctx.now_ms, message);
    }
}

fn service_mut<'w>(world: &'w mut World, cluster: &str, service: &str) -> Option<&'w mut ServiceRecord> {
    world.ecs.service_mut(cluster, service)
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
        .filter(|t| t.status == TaskStatus::Running && task_is_unhealthy(world, cluster, &t.id))
        .map(|t| t.id.clone())
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
    // Tasks that failed their target group's health checks after the grace period are replaced.
    let failed_elb: Vec<(String, String)> = census(world, cluster, service)
        .live
        .iter()
        .filter(|t| t.status == TaskStatus::Running)
        .filter_map(|t| {
            let task = world.ecs.clusters.get(cluster)?.tasks.get(&t.id)?;
            super::load_balancing::failed_elb_health(world, task, ctx.now_ms).map(|tg| (t.id.clone(), tg))
        })
        .collect();
    for (id, tg) in &failed_elb {
        let deployment = world.ecs.task_mut(id).and_then(|t| t.deployment_id.clone());
        if let Some(deployment) = deployment {
            count_failed_task(world, cluster, service, &deployment);
        }
        lifecycle::request_stop(
            world,
            ctx,
            id,
            api::TaskStopCode::ServiceSchedulerInitiated,
            format!("Task failed ELB health checks in (target-group {tg})"),
        );
        event(
            world,
            ctx,
            cluster,
            service,
            format!("(service {service}) (task {id}) failed ELB health checks in (target-group {tg})."),
        );
    }
    let Some(svc) = service_mut(world, cluster, service) else {
        return;
    };
    if svc.status == "DRAINING" {
        drain(world, ctx, cluster, service);
        return;
    }
    if svc.uses_task_sets() {
        super::task_sets::reconcile(world, ctx, cluster, service);
        return;
    }
    scale(world, ctx, cluster, service);
    finish_deployments(world, ctx, cluster, service);
}

fn drain(world: &mut World, ctx: &mut Ctx<'_>, cluster: &str, service: &str) {
    let c = census(world, cluster, service);
    let ids: Vec<String> = c.live.iter().map(|t| t.id.clone()).collect();
    stop_tasks(world, ctx, cluster, service, &ids, None);
    let c = census(world, cluster, service);
    if c.live.is_empty()
        && c.stopping == 0
        && let Some(svc) = service_mut(world, cluster, service)
    {
        svc.status = "INACTIVE";
        svc.deployments.clear();
        svc.task_sets.clear();
    }
}

pub(crate) fn stop_tasks(
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

/// Starts and stops tasks toward the PRIMARY deployment's desired count, within the bounds:
/// live tasks never exceed `maximumPercent`, and the controller never stops a RUNNING task when
/// that would leave fewer than `minimumHealthyPercent` running.
fn scale(world: &mut World, ctx: &mut Ctx<'_>, cluster: &str, service: &str) {
    // A blue/green run scales green to its full size beside blue (no maximumPercent), only from
    // SCALE_UP on, and blue stays until CLEAN_UP scales it in.
    let blue_green = super::blue_green::scaling(world, cluster, service);
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
    let rebalance = svc.availability_zone_rebalancing == api::AvailabilityZoneRebalancing::Enabled;
    let desired = i64::from(svc.desired_count.max(0));
    let config = &svc.deployment_configuration;
    let max_pct = i64::from(config.maximum_percent.unwrap_or(200));
    let min_pct = i64::from(config.minimum_healthy_percent.unwrap_or(100));
    let hold_target = blue_green.as_ref().is_some_and(|b| !b.start_target);
    let keep_sources = blue_green.as_ref().is_some_and(|b| b.keep_sources);
    // Blue keeps serving production until CLEAN_UP, so its stopped tasks are replaced.
    let blue_to_keep = blue_green.as_ref().filter(|b| b.keep_sources).and_then(|b| {
        svc.deployments
            .iter()
            .find(|d| d.id == b.blue_deployment_id)
            .map(|d| (d.id.clone(), i64::from(d.desired_count.max(0))))
    });
    let upper = if blue_green.is_some() {
        i64::MAX
    } else {
        (desired * max_pct / 100).max(desired.min(1))
    };
    let lower = (desired * min_pct + 99) / 100;
    let c = census(world, cluster, service);
    let staying: Vec<&LiveTask> = c
        .live
        .iter()
        .filter(|t| t.deployment == primary_id && !t.leaving)
        .collect();
    let going: Vec<&LiveTask> = c
        .live
        .iter()
        .filter(|t| t.deployment != primary_id || t.leaving)
        .collect();
    let total_live = c.live.len() as i64;

    // Scale the primary up within maximumPercent.
    let missing = desired - staying.len() as i64;
    let room = upper - total_live;
    let to_start = if hold_target { 0 } else { missing.min(room).max(0) };
    if to_start > 0 {
        start_tasks(
            world,
            ctx,
            cluster,
            service,
            usize::try_from(to_start).unwrap_or(0),
        );
    } else if missing < 0 {
        let excess = usize::try_from(-missing).unwrap_or(0);
        let chosen = scale_in_choice(&staying, excess);
        stop_tasks(world, ctx, cluster, service, &chosen, None);
    }
    if let Some((blue_id, blue_desired)) = blue_to_keep {
        let blue_live = c
            .live
            .iter()
            .filter(|t| t.deployment == blue_id && !t.leaving)
            .count() as i64;
        let blue_missing = usize::try_from(blue_desired - blue_live).unwrap_or(0);
        if blue_missing > 0 {
            start_tasks_of(world, ctx, cluster, service, &blue_id, blue_missing);
        }
    }

    // Drain older deployments and leaving tasks while enough tasks stay running.
    if !going.is_empty() && !keep_sources {
        // Healthy tasks: running, and healthy in their target groups when behind a load balancer.
        let running_now = c
            .live
            .iter()
            .filter(|t| t.status == TaskStatus::Running && t.lb_healthy)
            .count() as i64;
        let mut can_stop = running_now - lower;
        let mut chosen = Vec::new();
        // Tasks that never started cost nothing to stop.
        for t in going.iter().filter(|t| t.status != TaskStatus::Running) {
            chosen.push(t.id.clone());
        }
        for t in going.iter().filter(|t| t.status == TaskStatus::Running) {
            if can_stop <= 0 {
                break;
            }
            chosen.push(t.id.clone());
            can_stop -= 1;
        }
        stop_tasks(world, ctx, cluster, service, &chosen, Some(&primary_id));
    } else if rebalance && missing == 0 && blue_green.is_none() {
        rebalance_zones(world, ctx, cluster, service, &staying);
    }
}

/// Which `excess` live tasks of deployment or task set `id` to stop when it scales in.
pub(crate) fn scale_in_ids(
    world: &World,
    cluster: &str,
    service: &str,
    id: &str,
    excess: usize,
) -> Vec<String> {
    let c = census(world, cluster, service);
    let candidates: Vec<&LiveTask> = c.live.iter().filter(|t| t.deployment == id).collect();
    scale_in_choice(&candidates, excess)
}

/// Scale-in: tasks not yet running first, then from the busiest AZ, newest first.
fn scale_in_choice(candidates: &[&LiveTask], excess: usize) -> Vec<String> {
    let mut candidates: Vec<&LiveTask> = candidates.to_vec();
    let mut per_zone = std::collections::BTreeMap::<&str, usize>::new();
    for t in &candidates {
        *per_zone.entry(t.zone.as_str()).or_default() += 1;
    }
    let mut chosen = Vec::new();
    for _ in 0..excess {
        candidates.sort_by(|a, b| {
            let key = |t: &LiveTask| {
                (
                    t.status == TaskStatus::Running,
                    std::cmp::Reverse(per_zone.get(t.zone.as_str()).copied().unwrap_or(0)),
                    std::cmp::Reverse(t.created_ms),
                )
            };
            key(a).cmp(&key(b)).then_with(|| a.id.cmp(&b.id))
        });
        if candidates.is_empty() {
            break;
        }
        let t = candidates.remove(0);
        if let Some(n) = per_zone.get_mut(t.zone.as_str()) {
            *n -= 1;
        }
        chosen.push(t.id.clone());
    }
    chosen
}

/// The AZs a service can place into now: its subnets' AZs (awsvpc) or AZs with an ACTIVE
/// container instance (EC2).
fn available_zones(world: &World, cluster: &str, service: &str) -> Vec<String> {
    let Some(cl) = world.ecs.clusters.get(cluster) else {
        return Vec::new();
    };
    let Some(svc) = cl.services.get(service) else {
        return Vec::new();
    };
    let fargate = svc.deployments.first().and_then(|d| d.launch_type) == Some(api::LaunchType::Fargate);
    let mut zones: Vec<String> = if fargate {
        svc.network_configuration
            .as_ref()
            .and_then(|n| n.awsvpc_configuration.as_ref())
            .map(|v| {
                v.subnets
                    .iter()
                    .filter_map(|s| world.network.subnets.get(s))
                    .map(|s| s.availability_zone.clone())
                    .collect()
            })
            .unwrap_or_default()
    } else {
        cl.container_instances
            .values()
            .filter(|ci| ci.status == "ACTIVE")
            .map(|ci| ci.availability_zone.clone())
            .collect()
    };
    zones.sort();
    zones.dedup();
    // A zone an injected outage took down takes no tasks, so rebalancing must not count it.
    zones.retain(|z| crate::faults::zone_refusal(world, z).is_none());
    zones
}

/// AZ rebalancing: when the busiest available AZ has two or more tasks more than the quietest,
/// one task of the busiest AZ is marked to move; the next runs start its replacement (placement
/// picks the quietest AZ) and stop it once the replacement runs. One move at a time.
fn rebalance_zones(
    world: &mut World,
    ctx: &mut Ctx<'_>,
    cluster: &str,
    service: &str,
    staying: &[&LiveTask],
) {
    if staying.iter().any(|t| t.status != TaskStatus::Running) {
        return;
    }
    let zones = available_zones(world, cluster, service);
    if zones.len() < 2 {
        return;
    }
    let count = |z: &str| staying.iter().filter(|t| t.zone == z).count();
    let busiest = zones
        .iter()
        .max_by_key(|z| (count(z), std::cmp::Reverse((*z).clone())));
    let quietest = zones.iter().map(|z| count(z)).min().unwrap_or(0);
    let Some(busiest) = busiest else { return };
    if count(busiest) < quietest + 2 {
        return;
    }
    let Some(task) = staying
        .iter()
        .filter(|t| &t.zone == busiest)
        .max_by_key(|t| (t.created_ms, t.id.clone()))
    else {
        return;
    };
    let id = task.id.clone();
    if let Some(t) = world.ecs.task_mut(&id) {
        t.moving = true;
    }
    let message =
        format!("(service {service}) is rebalancing tasks across Availability Zones: moving (task {id}).");
    event(world, ctx, cluster, service, message);
    wake(world, ctx, cluster, service);
}

/// What the tasks of one deployment or task set are launched from.
#[derive(Debug, Clone)]
struct LaunchSpec {
    /// The deployment or task set id the tasks carry.
    id: String,
    task_definition_arn: String,
    launch_type: Option<api::LaunchType>,
    capacity_provider_strategy: Vec<api::CapacityProviderStrategyItem>,
    platform_version: Option<String>,
    network_configuration: Option<api::NetworkConfiguration>,
}

fn launch_spec(svc: &ServiceRecord, id: &str) -> Option<LaunchSpec> {
    if let Some(d) = svc.deployments.iter().find(|d| d.id == id) {
        return Some(LaunchSpec {
            id: d.id.clone(),
            task_definition_arn: d.task_definition_arn.clone(),
            launch_type: d.launch_type,
            capacity_provider_strategy: d.capacity_provider_strategy.clone(),
            platform_version: d.platform_version.clone(),
            network_configuration: d.network_configuration.clone(),
        });
    }
    svc.task_set(id).map(|t| LaunchSpec {
        id: t.id.clone(),
        task_definition_arn: t.task_definition_arn.clone(),
        launch_type: t.launch_type,
        capacity_provider_strategy: t.capacity_provider_strategy.clone(),
        platform_version: t.platform_version.clone(),
        network_configuration: t.network_configuration.clone(),
    })
}

fn start_tasks(world: &mut World, ctx: &mut Ctx<'_>, cluster: &str, service: &str, count: usize) {
    let Some(primary_id) = service_mut(world, cluster, service)
        .and_then(|svc| svc.deployments.first())
        .map(|d| d.id.clone())
    else {
        return;
    };
    start_tasks_of(world, ctx, cluster, service, &primary_id, count);
}

/// Starts `count` tasks of the deployment or task set `spec_id`.
pub(crate) fn start_tasks_of(
    world: &mut World,
    ctx: &mut Ctx<'_>,
    cluster: &str,
    service: &str,
    spec_id: &str,
    count: usize,
) {
    let Some(svc) = service_mut(world, cluster, service) else {
        return;
    };
    let Some(primary) = launch_spec(svc, spec_id) else {
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
    let awsvpc = primary
        .network_configuration
        .as_ref()
        .and_then(|n| n.awsvpc_configuration.clone());
    let fargate = primary.launch_type == Some(api::LaunchType::Fargate);
    let mut placements = Vec::new();
    let mut blocked: Option<String> = None;
    if fargate {
        let Some(cl) = world.ecs.clusters.get(cluster) else {
            return;
        };
        let mut load = placement::group_load_by_zone(cl, &group);
        let subnets = awsvpc.as_ref().map(|v| v.subnets.clone()).unwrap_or_default();
        for _ in 0..count {
            match placement::place_awsvpc(world, &subnets, &mut load) {
                Ok(p) => placements.push(p),
                Err(e) => {
                    blocked = Some(format!(
                        "(service {service}) was unable to place a task. Reason: {}",
                        e.message
                    ));
                    break;
                }
            }
        }
    } else {
        let Some(svc) = world.ecs.service(cluster, service) else {
            return;
        };
        let rules = match placement::compile_rules(
            definition
                .definition
                .placement_constraints
                .as_deref()
                .unwrap_or_default(),
            &svc.placement_constraints,
            &svc.placement_strategy,
        ) {
            Ok(r) => r,
            Err(e) => {
                event(
                    world,
                    ctx,
                    cluster,
                    service,
                    format!(
                        "(service {service}) was unable to place a task. Reason: {}",
                        e.message
                    ),
                );
                return;
            }
        };
        let request = placement::Ec2Request {
            needs: placement::requirements(&definition.definition, None),
            host_ports: placement::host_ports(&definition.definition),
            group: &group,
            count: u32::try_from(count).unwrap_or(u32::MAX),
            rules: &rules,
            zones_down: &crate::faults::zones_down(world),
        };
        let Some(cl) = world.ecs.clusters.get(cluster) else {
            return;
        };
        let (placed, failure) = placement::place_ec2(cl, &request, None, ctx.rng);
        for p in placed {
            placements.push(super::tasks::with_eni(world, p, awsvpc.as_ref()));
        }
        blocked = failure.map(|f| ecsim_scheduler::unable_to_place_message(service, &f));
    }
    let mut started = Vec::new();
    let mut placements = placements.into_iter();
    while let Some(placement) = placements.next() {
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
                blocked = Some(format!(
                    "(service {service}) was unable to start a task: {}",
                    e.message
                ));
                // Give back the addresses taken for tasks that will not start.
                for p in placements.by_ref() {
                    if let Some((subnet, ip)) = p.subnet_id.zip(p.private_ip) {
                        world.network.release_ip(&subnet, &ip);
                    }
                }
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
    if let Some(message) = blocked {
        let already = service_mut(world, cluster, service).is_some_and(|s| s.placement_blocked);
        if !already {
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
    let has_tasks = |id: &str| c.live.iter().any(|t| t.deployment == id);
    svc.deployments.retain(|d| d.id == primary_id || has_tasks(&d.id));
    let mut messages = super::deployments::drive(world, ctx, cluster, service);
    let Some(svc) = service_mut(world, cluster, service) else {
        return;
    };
    let running = c
        .live
        .iter()
        .filter(|t| t.deployment == primary_id && t.status == TaskStatus::Running)
        .count() as i64;
    let others_running = c.live.iter().any(|t| t.deployment != primary_id);
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
