//! Service deployments on the executor: each new PRIMARY deployment gets a service revision and a
//! service deployment whose executor runs its plan; the controller feeds it observations
//! (rolled out, failed tasks, alarms) and applies the outcome: completion, or failure with or
//! without rollback to the last completed revision.

use ecsim_api::ecs as api;
use ecsim_core::Millis;

use super::state::{
    DeploymentRecord, ServiceDeploymentRecord, ServiceRecord, ServiceRevisionRecord, StopRequest, TaskStatus,
};
use crate::alarms::AlarmState;
use crate::deploy::{Executor, Monitors, NoRouter, Observation, Outcome, Plan, Trigger};
use crate::engine::Ctx;
use crate::timers::TimerKind;
use crate::world::World;

/// How often watched alarms are polled while a deployment runs (emulator decision).
pub const ALARM_POLL_MS: Millis = 10_000;
/// Bake time after a rolling deployment with alarms when `bakeTimeInMinutes` is not set
/// (ECS computes its own; emulator decision, documented in the README).
pub const DEFAULT_ALARM_BAKE_MS: Millis = 5 * 60_000;

const ALNUM: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

/// The circuit breaker's failed-task threshold for a desired count, as AWS computes it.
pub fn circuit_breaker_threshold(config: &api::DeploymentCircuitBreaker, desired: i32) -> u32 {
    let desired = f64::from(desired.max(0));
    let (kind, value) = config
        .threshold_configuration
        .as_ref()
        .map_or((api::ThresholdType::BoundedPercent, 50), |t| (t.r#type, t.value));
    let value = f64::from(value.max(0));
    // Fractions round up (emulator decision: AWS does not document rounding).
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
    let threshold = match kind {
        api::ThresholdType::Count => value as u32,
        api::ThresholdType::UnboundedPercent => (desired * value / 100.0).ceil() as u32,
        api::ThresholdType::BoundedPercent => ((desired * value / 100.0).ceil() as u32).clamp(3, 200),
    };
    threshold.max(1)
}

fn monitors_status(enabled: bool) -> api::ServiceDeploymentRollbackMonitorsStatus {
    if enabled {
        api::ServiceDeploymentRollbackMonitorsStatus::Monitoring
    } else {
        api::ServiceDeploymentRollbackMonitorsStatus::Disabled
    }
}

/// Creates the revision and service deployment of the service's new PRIMARY deployment and
/// links them. Supersedes a service deployment still in progress.
pub fn begin(world: &mut World, ctx: &mut Ctx<'_>, cluster: &str, service: &str) {
    let revision_id = ctx.rng.digits(19);
    let deployment_id = ctx.rng.string_from(ALNUM, 21);
    let Some(svc) = world.ecs.service(cluster, service) else {
        return;
    };
    let Some(primary) = svc.deployments.first() else {
        return;
    };
    let revision = ServiceRevisionRecord {
        arn: world.arn(
            "ecs",
            &format!("service-revision/{cluster}/{service}/{revision_id}"),
        ),
        service_arn: svc.arn.clone(),
        cluster_arn: svc.cluster_arn.clone(),
        task_definition_arn: primary.task_definition_arn.clone(),
        launch_type: primary.launch_type,
        capacity_provider_strategy: primary.capacity_provider_strategy.clone(),
        platform_version: primary.platform_version.clone(),
        platform_family: primary.platform_family.clone(),
        network_configuration: primary.network_configuration.clone(),
        load_balancers: svc.load_balancers.clone(),
        created_at_ms: ctx.now_ms,
    };
    let sources: Vec<String> = svc.deployments[1..]
        .iter()
        .map(|d| d.service_revision_arn.clone())
        .collect();
    let superseded: Vec<String> = svc.deployments[1..]
        .iter()
        .map(|d| d.service_deployment_arn.clone())
        .collect();
    let mut record = new_service_deployment(
        world.arn(
            "ecs",
            &format!("service-deployment/{cluster}/{service}/{deployment_id}"),
        ),
        svc,
        revision.arn.clone(),
        sources,
        ctx.now_ms,
    );
    // BLUE_GREEN / LINEAR / CANARY: the lifecycle plan, green target groups and initial weights.
    super::blue_green::prepare(world, ctx, &mut record);
    let (sd_arn, rev_arn) = (record.arn.clone(), revision.arn.clone());
    for arn in superseded {
        if let Some(old) = world.ecs.service_deployments.get_mut(&arn)
            && matches!(
                old.status,
                api::ServiceDeploymentStatus::InProgress | api::ServiceDeploymentStatus::Pending
            )
        {
            old.status = api::ServiceDeploymentStatus::Stopped;
            old.status_reason = Some("Service deployment superseded by a newer service deployment.".into());
            old.stopped_at_ms = Some(ctx.now_ms);
            old.finished_at_ms = Some(ctx.now_ms);
            old.updated_at_ms = ctx.now_ms;
        }
    }
    world.ecs.service_revisions.insert(revision.arn.clone(), revision);
    world.ecs.service_deployments.insert(record.arn.clone(), record);
    if let Some(primary) = world
        .ecs
        .service_mut(cluster, service)
        .and_then(|s| s.deployments.first_mut())
    {
        primary.service_deployment_arn = sd_arn;
        primary.service_revision_arn = rev_arn;
    }
}

fn new_service_deployment(
    arn: String,
    svc: &ServiceRecord,
    target_revision_arn: String,
    source_revision_arns: Vec<String>,
    now_ms: Millis,
) -> ServiceDeploymentRecord {
    let config = svc.deployment_configuration.clone();
    let breaker = config.deployment_circuit_breaker.clone().unwrap_or_default();
    let alarms = config
        .alarms
        .clone()
        .filter(|a| a.enable && !a.alarm_names.is_empty());
    let threshold = circuit_breaker_threshold(&breaker, svc.desired_count);
    let bake_ms = alarms.as_ref().map(|_| {
        config
            .bake_time_in_minutes
            .map_or(DEFAULT_ALARM_BAKE_MS, |m| u64::try_from(m).unwrap_or(0) * 60_000)
    });
    let monitors = Monitors {
        circuit_breaker_threshold: breaker.enable.then_some(threshold),
        alarms: alarms.is_some(),
    };
    ServiceDeploymentRecord {
        arn,
        service_arn: svc.arn.clone(),
        cluster_arn: svc.cluster_arn.clone(),
        cluster_name: svc.cluster_name.clone(),
        service_name: svc.name.clone(),
        created_at_ms: now_ms,
        started_at_ms: Some(now_ms),
        finished_at_ms: None,
        stopped_at_ms: None,
        updated_at_ms: now_ms,
        source_revision_arns,
        target_revision_arn,
        status: api::ServiceDeploymentStatus::InProgress,
        status_reason: None,
        circuit_breaker: api::ServiceDeploymentCircuitBreaker {
            status: Some(monitors_status(breaker.enable)),
            failure_count: Some(0),
            threshold: Some(i32::try_from(threshold).unwrap_or(i32::MAX)),
        },
        alarms: api::ServiceDeploymentAlarms {
            status: Some(monitors_status(alarms.is_some())),
            alarm_names: alarms.as_ref().map(|a| a.alarm_names.clone()),
            triggered_alarm_names: None,
        },
        circuit_breaker_rollback: breaker.enable && breaker.rollback,
        alarms_rollback: alarms.as_ref().is_some_and(|a| a.rollback),
        stop_request: None,
        deployment_configuration: config,
        rollback: None,
        execution: Executor::new(Plan::rolling(bake_ms), monitors, now_ms),
        blue_green: None,
    }
}

/// What the controller sees of the PRIMARY deployment this round.
fn observe(
    world: &World,
    ctx: &Ctx<'_>,
    cluster: &str,
    service: &str,
    sd: &ServiceDeploymentRecord,
) -> Observation {
    let Some(cl) = world.ecs.clusters.get(cluster) else {
        return Observation::default();
    };
    let Some(svc) = cl.services.get(service) else {
        return Observation::default();
    };
    let Some(primary) = svc.deployments.first() else {
        return Observation::default();
    };
    let (mut primary_running, mut others_live, mut others_not_stopped) = (0i64, false, false);
    for t in cl.tasks_of_service(service) {
        if t.deployment_id.as_deref() == Some(primary.id.as_str()) {
            // Behind a load balancer a task counts once its targets are healthy.
            primary_running += i64::from(
                t.is_live() && t.status == TaskStatus::Running && super::load_balancing::targets_healthy(t),
            );
        } else {
            others_live |= t.is_live();
            others_not_stopped |= t.status != TaskStatus::Stopped;
        }
    }
    let desired = i64::from(svc.desired_count);
    let old_gone = svc.deployments.len() == 1 && !others_live;
    // With early success criteria a rolling deployment is done once `healthyPercent` of the
    // desired count is healthy (and, for BLOCKING clean-up, every old task has STOPPED); the
    // controller goes on to the full count and drains the rest in the background.
    let rolled_out = match sd
        .deployment_configuration
        .early_success_criteria
        .as_ref()
        .filter(|e| e.enable && sd.blue_green.is_none())
    {
        Some(early) => {
            let pct = i64::from(early.healthy_percent.unwrap_or(100));
            let enough = primary_running >= (desired * pct + 99) / 100;
            let cleaned = early.source_service_revision_cleanup
                == Some(api::ServiceRevisionCleanup::Deferred)
                || (old_gone && !others_not_stopped);
            enough && cleaned
        }
        None => old_gone && primary_running == desired,
    };
    let alarms_in_alarm = if sd.execution.monitors().alarms {
        sd.alarms
            .alarm_names
            .iter()
            .flatten()
            .filter(|name| {
                ctx.alarms.state(&world.account_id, &world.region, name) == Some(AlarmState::Alarm)
            })
            .cloned()
            .collect()
    } else {
        Vec::new()
    };
    Observation {
        rolled_out,
        failed_tasks: u32::try_from(primary.failed_tasks.max(0)).unwrap_or(0),
        alarms_in_alarm,
    }
}

fn schedule_check(ctx: &mut Ctx<'_>, cluster: &str, service: &str, at_ms: Millis) {
    ctx.timers.schedule_once(
        at_ms,
        ctx.world_index,
        TimerKind::ServiceCheck {
            cluster: cluster.to_string(),
            service: service.to_string(),
        },
    );
}

/// Runs the PRIMARY deployment's executor and applies what it decides. Returns service events.
pub fn drive(world: &mut World, ctx: &mut Ctx<'_>, cluster: &str, service: &str) -> Vec<String> {
    let Some(sd_arn) = world
        .ecs
        .service(cluster, service)
        .and_then(|s| s.deployments.first())
        .map(|d| d.service_deployment_arn.clone())
    else {
        return Vec::new();
    };
    let Some(sd) = world.ecs.service_deployments.get(&sd_arn) else {
        return Vec::new();
    };
    let running = matches!(
        sd.status,
        api::ServiceDeploymentStatus::InProgress
            | api::ServiceDeploymentStatus::RollbackInProgress
            | api::ServiceDeploymentStatus::StopRequested
            | api::ServiceDeploymentStatus::RollbackRequested
    );
    if !running {
        return Vec::new();
    }
    let seen = observe(world, ctx, cluster, service, sd);
    let Some(sd) = world.ecs.service_deployments.get_mut(&sd_arn) else {
        return Vec::new();
    };
    // Once tripped, the count stays what tripped it (a rollback's own tasks start from 0).
    if sd.circuit_breaker.status == Some(api::ServiceDeploymentRollbackMonitorsStatus::Monitoring) {
        sd.circuit_breaker.failure_count = Some(i32::try_from(seen.failed_tasks).unwrap_or(i32::MAX));
    }
    let advance = match super::blue_green::advance(world, ctx, &sd_arn, &seen) {
        Some(advance) => advance,
        None => {
            let Some(sd) = world.ecs.service_deployments.get_mut(&sd_arn) else {
                return Vec::new();
            };
            sd.execution.advance(ctx.now_ms, &seen, &mut NoRouter)
        }
    };
    let alarms_watched = world
        .ecs
        .service_deployments
        .get(&sd_arn)
        .is_some_and(|sd| sd.execution.monitors().alarms);
    match advance.outcome {
        Outcome::InProgress => {
            if let Some(at) = advance.wake_at_ms {
                schedule_check(ctx, cluster, service, at);
            }
            if alarms_watched {
                schedule_check(ctx, cluster, service, ctx.now_ms + ALARM_POLL_MS);
            }
            Vec::new()
        }
        Outcome::Succeeded => succeed(world, ctx, cluster, service, &sd_arn),
        Outcome::Failed { trigger, reason } => {
            let triggered = seen.alarms_in_alarm;
            fail(world, ctx, cluster, service, &sd_arn, trigger, &reason, triggered)
        }
    }
}

fn finish_monitors(sd: &mut ServiceDeploymentRecord) {
    for status in [&mut sd.circuit_breaker.status, &mut sd.alarms.status] {
        if *status == Some(api::ServiceDeploymentRollbackMonitorsStatus::Monitoring) {
            *status = Some(api::ServiceDeploymentRollbackMonitorsStatus::MonitoringComplete);
        }
    }
}

fn succeed(world: &mut World, ctx: &mut Ctx<'_>, cluster: &str, service: &str, sd_arn: &str) -> Vec<String> {
    let now = ctx.now_ms;
    super::blue_green::finish(world, sd_arn);
    let mut events = Vec::new();
    if let Some(sd) = world.ecs.service_deployments.get_mut(sd_arn) {
        sd.status = if sd.rollback.is_some() {
            api::ServiceDeploymentStatus::RollbackSuccessful
        } else {
            api::ServiceDeploymentStatus::Successful
        };
        sd.finished_at_ms = Some(now);
        sd.updated_at_ms = now;
        finish_monitors(sd);
    }
    let Some(svc) = world.ecs.service_mut(cluster, service) else {
        return events;
    };
    if let Some(primary) = svc.deployments.first_mut() {
        primary.rollout_state = api::DeploymentRolloutState::Completed;
        primary.rollout_state_reason = format!("ECS deployment {} completed.", primary.id);
        primary.updated_at_ms = now;
        events.push(format!(
            "(service {service}) (deployment {}) deployment completed.",
            primary.id
        ));
        svc.last_completed_revision_arn = Some(primary.service_revision_arn.clone());
    }
    events
}

#[allow(clippy::too_many_arguments)]
fn fail(
    world: &mut World,
    ctx: &mut Ctx<'_>,
    cluster: &str,
    service: &str,
    sd_arn: &str,
    trigger: Trigger,
    reason: &str,
    triggered_alarms: Vec<String>,
) -> Vec<String> {
    let now = ctx.now_ms;
    let Some(sd) = world.ecs.service_deployments.get_mut(sd_arn) else {
        return Vec::new();
    };
    let (rollout_reason, wants_rollback) = match trigger {
        Trigger::CircuitBreaker => {
            sd.circuit_breaker.status = Some(api::ServiceDeploymentRollbackMonitorsStatus::Triggered);
            (
                "ECS deployment circuit breaker: tasks failed to start.".to_string(),
                sd.circuit_breaker_rollback,
            )
        }
        Trigger::Alarm => {
            sd.alarms.status = Some(api::ServiceDeploymentRollbackMonitorsStatus::Triggered);
            sd.alarms.triggered_alarm_names = Some(triggered_alarms.clone());
            (
                format!(
                    "ECS deployment detected triggered alarm(s): {}.",
                    triggered_alarms.join(", ")
                ),
                sd.alarms_rollback,
            )
        }
        Trigger::Stopped => (reason.to_string(), sd.stop_request == Some(StopRequest::Rollback)),
        // A failed lifecycle hook rolls back, as ECS does.
        Trigger::Gate => (reason.to_string(), true),
    };
    sd.updated_at_ms = now;
    let in_rollback = sd.rollback.is_some();
    let Some(svc) = world.ecs.service_mut(cluster, service) else {
        return Vec::new();
    };
    let Some(primary) = svc.deployments.first_mut() else {
        return Vec::new();
    };
    primary.rollout_state = api::DeploymentRolloutState::Failed;
    primary.rollout_state_reason = rollout_reason.clone();
    primary.updated_at_ms = now;
    let failed_id = primary.id.clone();
    let mut events = vec![format!(
        "(service {service}) (deployment {failed_id}) deployment failed: {rollout_reason}"
    )];
    let target = svc
        .last_completed_revision_arn
        .clone()
        .filter(|_| wants_rollback && !in_rollback);
    if target.is_some()
        && let Some(more) = super::blue_green::roll_back(world, ctx, sd_arn, &rollout_reason)
    {
        events.extend(more);
        return events;
    }
    super::blue_green::finish(world, sd_arn);
    let Some(revision_arn) = target else {
        let Some(sd) = world.ecs.service_deployments.get_mut(sd_arn) else {
            return events;
        };
        sd.status = if in_rollback {
            api::ServiceDeploymentStatus::RollbackFailed
        } else {
            api::ServiceDeploymentStatus::Stopped
        };
        sd.status_reason = Some(rollout_reason);
        sd.stopped_at_ms = Some(now);
        sd.finished_at_ms = Some(now);
        return events;
    };
    // Roll back as ECS does: a new PRIMARY deployment of the last completed revision.
    let Some(revision) = world.ecs.service_revisions.get(&revision_arn).cloned() else {
        return events;
    };
    let id = format!("ecs-svc/{}", ctx.rng.digits(19));
    let Some(svc) = world.ecs.service_mut(cluster, service) else {
        return events;
    };
    for d in &mut svc.deployments {
        d.status = "ACTIVE";
        d.desired_count = 0;
    }
    let rollback = DeploymentRecord {
        rollout_state_reason: format!("ECS deployment {id} in progress."),
        id: id.clone(),
        status: "PRIMARY",
        task_definition_arn: revision.task_definition_arn.clone(),
        desired_count: svc.desired_count,
        failed_tasks: 0,
        created_at_ms: now,
        updated_at_ms: now,
        launch_type: revision.launch_type,
        capacity_provider_strategy: revision.capacity_provider_strategy.clone(),
        platform_version: revision.platform_version.clone(),
        platform_family: revision.platform_family.clone(),
        network_configuration: revision.network_configuration.clone(),
        rollout_state: api::DeploymentRolloutState::InProgress,
        service_deployment_arn: sd_arn.to_string(),
        service_revision_arn: revision_arn.clone(),
        load_balancers: None,
    };
    svc.task_definition_arn = revision.task_definition_arn.clone();
    svc.network_configuration = revision.network_configuration.clone();
    svc.deployments.insert(0, rollback);
    svc.steady_reported = false;
    events.push(format!("(service {service}) rolling back to deployment {id}."));
    if let Some(sd) = world.ecs.service_deployments.get_mut(sd_arn) {
        sd.status = api::ServiceDeploymentStatus::RollbackInProgress;
        sd.status_reason = Some(rollout_reason.clone());
        sd.rollback = Some(api::Rollback {
            reason: Some(rollout_reason),
            started_at: Some(super::common::ts(now)),
            service_revision_arn: Some(revision_arn),
        });
        sd.execution = Executor::new(Plan::rolling(None), Monitors::default(), now);
    }
    schedule_check(ctx, cluster, service, now);
    events
}

/// StopServiceDeployment: asks the executor to stop; the next controller run applies it.
pub fn request_stop(world: &mut World, ctx: &mut Ctx<'_>, sd_arn: &str, stop: StopRequest) -> bool {
    let Some(sd) = world.ecs.service_deployments.get_mut(sd_arn) else {
        return false;
    };
    if !matches!(
        sd.status,
        api::ServiceDeploymentStatus::InProgress | api::ServiceDeploymentStatus::Pending
    ) {
        return false;
    }
    sd.stop_request = Some(stop);
    sd.status = match stop {
        StopRequest::Abort => api::ServiceDeploymentStatus::StopRequested,
        StopRequest::Rollback => api::ServiceDeploymentStatus::RollbackRequested,
    };
    sd.updated_at_ms = ctx.now_ms;
    let reason = match stop {
        StopRequest::Abort => "Service deployment stopped by user.",
        StopRequest::Rollback => "Service deployment rollback requested by user.",
    };
    sd.execution.stop(reason.to_string());
    let (cluster, service) = (sd.cluster_name.clone(), sd.service_name.clone());
    super::service_loop::wake(world, ctx, &cluster, &service);
    true
}

/// How the Lambda stand-in of an ECS lifecycle hook answered (`hookStatus`, `callBackDelay`).
pub fn on_hook_outcome(
    world: &mut World,
    ctx: &mut Ctx<'_>,
    service_deployment_arn: &str,
    hook_id: &str,
    outcome: crate::functions::InvocationOutcome,
) {
    super::blue_green::hooks::on_outcome(world, ctx, service_deployment_arn, hook_id, outcome);
}
