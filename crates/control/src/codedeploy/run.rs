//! The CodeDeploy deployment controller: runs each ECS blue/green deployment's plan on the one
//! deployment executor — lifecycle events and hooks as gates, production traffic shifts as
//! weight steps — watches the group's alarms, and applies the outcome: success (the original task
//! set removed after the termination wait), or failure with or without rollback (traffic back on
//! the original, the replacement removed, a rollback deployment recorded).
//!
//! It runs on `TimerKind::CodeDeploy` timers and after the API calls that move a deployment; it
//! changes world state and timers only. Hooks go out as function invocations the edge performs.

use ecsim_api::codedeploy as api;
use ecsim_core::Millis;

use super::appspec::HookEvent;
use super::state::{DeploymentRecord, GateFailure, HookExecution, LifecycleEventRecord};
use crate::alarms::AlarmState;
use crate::deploy::{GateState, Observation, Outcome, Plan, Router, Step, Trigger};
use crate::ecs::state::TaskSetStatus;
use crate::ecs::task_sets;
use crate::engine::Ctx;
use crate::functions::{InvocationOutcome, InvocationPurpose};
use crate::timers::TimerKind;
use crate::world::World;

/// How often a gate that waits on ECS (the replacement becoming stable, the original draining)
/// looks again (emulator decision).
pub const CHECK_MS: Millis = 1_000;
/// How often the group's alarms are polled while a deployment runs (emulator decision).
pub const ALARM_POLL_MS: Millis = 10_000;
/// How long a hook may take to report back through PutLifecycleEventHookExecutionStatus.
pub const HOOK_TIMEOUT_MS: Millis = 60 * 60_000;
/// How long the replacement task set may take to become stable (emulator decision).
pub const INSTALL_TIMEOUT_MS: Millis = 60 * 60_000;
/// Replacement tasks that may fail to start before Install fails (emulator decision).
pub const INSTALL_MAX_FAILED_TASKS: i32 = 10;

/// The lifecycle events of an ECS deployment, in the order they run.
pub const LIFECYCLE_EVENTS: [&str; 8] = [
    "BeforeInstall",
    "Install",
    "AfterInstall",
    "AllowTestTraffic",
    "AfterAllowTestTraffic",
    "BeforeAllowTraffic",
    "AllowTraffic",
    "AfterAllowTraffic",
];

const READY_WAIT: &str = "ReadyWait";
const TERMINATION_WAIT: &str = "TerminationWait";
const TERMINATE: &str = "TerminateOriginal";
const REMOVE_REPLACEMENT: &str = "RemoveReplacement";

/// The plan of an ECS blue/green deployment: the lifecycle events as gates (with a ready wait
/// when the group waits for ContinueDeployment), the production traffic steps of its config
/// inside AllowTraffic, then the termination wait and the removal of the original task set.
pub fn plan(traffic_steps: Vec<Step>, ready_wait: bool) -> Plan {
    let mut steps: Vec<Step> = LIFECYCLE_EVENTS[..5].iter().map(|e| Step::gate(*e)).collect();
    if ready_wait {
        steps.push(Step::gate(READY_WAIT));
    }
    steps.push(Step::gate("BeforeAllowTraffic"));
    steps.push(Step::gate("AllowTraffic"));
    steps.extend(traffic_steps);
    steps.push(Step::gate("AfterAllowTraffic"));
    steps.push(Step::gate(TERMINATION_WAIT));
    steps.push(Step::gate(TERMINATE));
    Plan { steps }
}

/// The plan of a rollback deployment: done once the replacement task set is gone.
pub fn rollback_plan() -> Plan {
    Plan {
        steps: vec![Step::gate(REMOVE_REPLACEMENT)],
    }
}

/// Fresh lifecycle event records, all Pending.
pub fn fresh_events() -> Vec<LifecycleEventRecord> {
    LIFECYCLE_EVENTS
        .iter()
        .map(|name| LifecycleEventRecord {
            name,
            status: api::LifecycleEventStatus::Pending,
            start_ms: None,
            end_ms: None,
            diagnostics: None,
            hook: None,
        })
        .collect()
}

/// Asks for a controller run at `at_ms` (none is added when one is already due by then).
pub fn schedule(ctx: &mut Ctx<'_>, deployment_id: &str, at_ms: Millis) {
    ctx.timers.schedule_once(
        at_ms,
        ctx.world_index,
        TimerKind::CodeDeploy {
            deployment_id: deployment_id.to_string(),
        },
    );
}

fn alarms_in_alarm(world: &World, ctx: &Ctx<'_>, d: &DeploymentRecord) -> (Vec<String>, Vec<String>) {
    let Some(config) = d.alarm_configuration.as_ref().filter(|c| c.enabled == Some(true)) else {
        return (Vec::new(), Vec::new());
    };
    let (mut firing, mut unreadable) = (Vec::new(), Vec::new());
    for alarm in config.alarms.iter().flatten() {
        let Some(name) = alarm.name.as_deref() else {
            continue;
        };
        match ctx.alarms.state(&world.account_id, &world.region, name) {
            Some(AlarmState::Alarm) => firing.push(name.to_string()),
            Some(_) => {}
            None => unreadable.push(name.to_string()),
        }
    }
    if config.ignore_poll_alarm_failure == Some(true) {
        unreadable.clear();
    }
    (firing, unreadable)
}

/// Runs one deployment's executor as far as it can go now and applies the outcome.
pub fn drive(world: &mut World, ctx: &mut Ctx<'_>, deployment_id: &str) {
    let Some(d) = world.codedeploy.deployments.get_mut(deployment_id) else {
        return;
    };
    if !d.is_active() {
        return;
    }
    let Some(mut execution) = d.execution.take() else {
        return;
    };
    let (firing, unreadable) = alarms_in_alarm(world, ctx, &world.codedeploy.deployments[deployment_id]);
    let mut seen = Observation {
        rolled_out: true,
        failed_tasks: 0,
        alarms_in_alarm: firing,
    };
    // An alarm whose state cannot be read stops the deployment unless the group ignores poll
    // failures (it cannot stop the rollback deployment: that one watches nothing).
    seen.alarms_in_alarm.extend(unreadable);
    let advance = {
        let mut router = DeploymentRouter {
            world,
            ctx,
            deployment_id,
        };
        execution.advance(router.ctx.now_ms, &seen, &mut router)
    };
    let watching = execution.monitors().alarms;
    if let Some(d) = world.codedeploy.deployments.get_mut(deployment_id) {
        d.execution = Some(execution);
        d.last_updated_ms = ctx.now_ms;
    }
    match advance.outcome {
        Outcome::InProgress => {
            if let Some(at) = advance.wake_at_ms {
                schedule(ctx, deployment_id, at);
            }
            if watching {
                schedule(ctx, deployment_id, ctx.now_ms + ALARM_POLL_MS);
            }
        }
        Outcome::Succeeded => succeed(world, ctx, deployment_id),
        Outcome::Failed { trigger, reason } => {
            fail(world, ctx, deployment_id, trigger, &reason, &seen.alarms_in_alarm)
        }
    }
}

/// The executor's hands for one CodeDeploy deployment.
struct DeploymentRouter<'w, 'c, 'a> {
    world: &'w mut World,
    ctx: &'c mut Ctx<'a>,
    deployment_id: &'w str,
}

impl Router for DeploymentRouter<'_, '_, '_> {
    fn set_target_weight(&mut self, target_weight_pct: u32) {
        shift_production(self.world, self.ctx, self.deployment_id, target_weight_pct);
    }

    fn gate(&mut self, name: &str, entered_ms: Millis, now_ms: Millis) -> GateState {
        let (world, ctx, id) = (&mut *self.world, &mut *self.ctx, self.deployment_id);
        match name {
            "Install" => install(world, ctx, id, now_ms),
            "AllowTestTraffic" => allow_test_traffic(world, ctx, id, now_ms),
            "AllowTraffic" => {
                start_event(world, id, "AllowTraffic", now_ms);
                GateState::Open
            }
            "AfterAllowTraffic" => {
                finish_allow_traffic(world, ctx, id, now_ms);
                hook_gate(world, ctx, id, name, now_ms)
            }
            READY_WAIT => ready_wait(world, id, entered_ms, now_ms),
            TERMINATION_WAIT => termination_wait(world, id, entered_ms, now_ms),
            TERMINATE => terminate_original(world, ctx, id),
            REMOVE_REPLACEMENT => replacement_removed(world, id),
            _ => hook_gate(world, ctx, id, name, now_ms),
        }
    }
}

fn deployment<'w>(world: &'w mut World, id: &str) -> Option<&'w mut DeploymentRecord> {
    world.codedeploy.deployments.get_mut(id)
}

fn start_event(world: &mut World, id: &str, name: &str, now_ms: Millis) {
    if let Some(e) = deployment(world, id).and_then(|d| d.event_mut(name))
        && e.status == api::LifecycleEventStatus::Pending
    {
        e.status = api::LifecycleEventStatus::InProgress;
        e.start_ms = Some(now_ms);
    }
}

fn finish_event(
    world: &mut World,
    id: &str,
    name: &str,
    status: api::LifecycleEventStatus,
    now_ms: Millis,
    diagnostics: Option<api::Diagnostics>,
) {
    if let Some(e) = deployment(world, id).and_then(|d| d.event_mut(name)) {
        e.start_ms.get_or_insert(now_ms);
        e.status = status;
        e.end_ms = Some(now_ms);
        e.diagnostics = diagnostics;
    }
}

/// How a gate fails: the deployment's error code and status, the lifecycle event's error code.
type GateError = (api::ErrorCode, api::DeploymentStatus, api::LifecycleErrorCode);

/// Fails the gate `event`: the event Failed with `message`, the deployment failing as `error` says.
fn fail_gate(
    world: &mut World,
    id: &str,
    event: &str,
    error: GateError,
    message: String,
    now_ms: Millis,
) -> GateState {
    let (code, status, error_code) = error;
    if LIFECYCLE_EVENTS.contains(&event) {
        finish_event(
            world,
            id,
            event,
            api::LifecycleEventStatus::Failed,
            now_ms,
            Some(api::Diagnostics {
                error_code: Some(error_code),
                script_name: None,
                message: Some(message.clone()),
                log_tail: None,
            }),
        );
    }
    if let Some(d) = deployment(world, id) {
        d.gate_failure = Some(GateFailure { code, status });
    }
    GateState::Failed { reason: message }
}

/// A hookable lifecycle event: runs its hook (or passes when the AppSpec has none) and waits for
/// the hook to report back.
fn hook_gate(world: &mut World, ctx: &mut Ctx<'_>, id: &str, name: &str, now_ms: Millis) -> GateState {
    let Some(d) = deployment(world, id) else {
        return GateState::Open;
    };
    let Some(event) = d.event(name) else {
        return GateState::Open;
    };
    match event.status {
        api::LifecycleEventStatus::Succeeded | api::LifecycleEventStatus::Skipped => GateState::Open,
        api::LifecycleEventStatus::Failed => {
            let reason = event
                .diagnostics
                .as_ref()
                .and_then(|x| x.message.clone())
                .unwrap_or_else(|| format!("The {name} lifecycle event failed."));
            if d.gate_failure.is_none() {
                d.gate_failure = Some(GateFailure {
                    code: api::ErrorCode::HookExecutionFailure,
                    status: api::DeploymentStatus::Failed,
                });
            }
            GateState::Failed { reason }
        }
        api::LifecycleEventStatus::InProgress => {
            let started = event.start_ms.unwrap_or(now_ms);
            if now_ms >= started + HOOK_TIMEOUT_MS {
                return fail_gate(
                    world,
                    id,
                    name,
                    (
                        api::ErrorCode::HookExecutionFailure,
                        api::DeploymentStatus::Failed,
                        api::LifecycleErrorCode::ScriptTimedOut,
                    ),
                    format!("The {name} hook did not report back within one hour."),
                    now_ms,
                );
            }
            GateState::Waiting {
                recheck_at_ms: Some(started + HOOK_TIMEOUT_MS),
            }
        }
        api::LifecycleEventStatus::Pending | api::LifecycleEventStatus::Unknown => {
            let function = HookEvent::parse(name)
                .and_then(|e| d.appspec.as_ref().and_then(|a| a.hook(e)))
                .map(str::to_string);
            start_event(world, id, name, now_ms);
            let Some(function) = function else {
                finish_event(
                    world,
                    id,
                    name,
                    api::LifecycleEventStatus::Succeeded,
                    now_ms,
                    None,
                );
                return GateState::Open;
            };
            let execution_id = ctx.rng.uuid();
            let payload = serde_json::json!({
                "DeploymentId": id,
                "LifecycleEventHookExecutionId": execution_id,
            });
            let purpose = InvocationPurpose::CodeDeployHook {
                world: ctx.world_index,
                deployment_id: id.to_string(),
                execution_id: execution_id.clone(),
            };
            match ctx.functions.invoke(&function, payload, purpose) {
                Ok(_) => {
                    if let Some(e) = deployment(world, id).and_then(|d| d.event_mut(name)) {
                        e.hook = Some(HookExecution {
                            function,
                            execution_id,
                        });
                    }
                    GateState::Waiting {
                        recheck_at_ms: Some(now_ms + HOOK_TIMEOUT_MS),
                    }
                }
                Err(message) => fail_gate(
                    world,
                    id,
                    name,
                    (
                        api::ErrorCode::HookExecutionFailure,
                        api::DeploymentStatus::Failed,
                        api::LifecycleErrorCode::ScriptMissing,
                    ),
                    format!("The {name} hook could not be invoked: {message}"),
                    now_ms,
                ),
            }
        }
    }
}

/// Install: create the replacement task set in the replacement target group, then wait until it
/// runs its count with every target healthy.
fn install(world: &mut World, ctx: &mut Ctx<'_>, id: &str, now_ms: Millis) -> GateState {
    let Some(d) = deployment(world, id) else {
        return GateState::Open;
    };
    let (cluster, service) = (d.cluster.clone(), d.service.clone());
    let Some(replacement) = d.replacement_task_set.clone() else {
        start_event(world, id, "Install", now_ms);
        return match create_replacement(world, ctx, id) {
            Ok(()) => GateState::Waiting {
                recheck_at_ms: Some(now_ms + CHECK_MS),
            },
            Err(message) => fail_gate(
                world,
                id,
                "Install",
                (
                    api::ErrorCode::EcsUpdateError,
                    api::DeploymentStatus::Failed,
                    api::LifecycleErrorCode::UnknownError,
                ),
                message,
                now_ms,
            ),
        };
    };
    if task_sets::is_steady(world, &cluster, &service, &replacement) {
        finish_event(
            world,
            id,
            "Install",
            api::LifecycleEventStatus::Succeeded,
            now_ms,
            None,
        );
        return GateState::Open;
    }
    let failed = world
        .ecs
        .service(&cluster, &service)
        .and_then(|s| s.task_set(&replacement))
        .map_or(0, |t| t.failed_tasks);
    let started = deployment(world, id)
        .and_then(|d| d.event("Install").and_then(|e| e.start_ms))
        .unwrap_or(now_ms);
    if failed >= INSTALL_MAX_FAILED_TASKS {
        return fail_gate(
            world,
            id,
            "Install",
            (
                api::ErrorCode::EcsUpdateError,
                api::DeploymentStatus::Failed,
                api::LifecycleErrorCode::UnknownError,
            ),
            format!(
                "The ECS replacement task set {replacement} failed to become stable: {failed} tasks failed to start."
            ),
            now_ms,
        );
    }
    if now_ms >= started + INSTALL_TIMEOUT_MS {
        return fail_gate(
            world,
            id,
            "Install",
            (
                api::ErrorCode::Timeout,
                api::DeploymentStatus::Failed,
                api::LifecycleErrorCode::ScriptTimedOut,
            ),
            format!("The ECS replacement task set {replacement} did not become stable within 60 minutes."),
            now_ms,
        );
    }
    GateState::Waiting {
        recheck_at_ms: Some(now_ms + CHECK_MS),
    }
}

fn create_replacement(world: &mut World, ctx: &mut Ctx<'_>, id: &str) -> Result<(), String> {
    let d = &world.codedeploy.deployments[id];
    let (cluster, service) = (d.cluster.clone(), d.service.clone());
    let appspec = d.appspec.clone().ok_or("the deployment has no AppSpec")?;
    let traffic = d
        .traffic
        .clone()
        .ok_or("the deployment group has no target group pair")?;
    let svc = world
        .ecs
        .service(&cluster, &service)
        .ok_or_else(|| format!("The ECS service {service} does not exist in cluster {cluster}."))?;
    let original = svc
        .task_set(&d.original_task_set)
        .ok_or_else(|| format!("The ECS service {service} has no primary task set."))?;
    let spec = task_sets::TaskSetSpec {
        task_definition: appspec.task_definition.clone(),
        launch_type: if appspec.capacity_provider_strategy.is_empty() {
            original.launch_type
        } else {
            None
        },
        capacity_provider_strategy: (!appspec.capacity_provider_strategy.is_empty())
            .then(|| appspec.capacity_provider_strategy.clone())
            .or_else(|| Some(original.capacity_provider_strategy.clone())),
        platform_version: appspec
            .platform_version
            .clone()
            .or_else(|| original.platform_version.clone()),
        network_configuration: appspec
            .network_configuration
            .clone()
            .or_else(|| original.network_configuration.clone()),
        load_balancers: vec![ecsim_api::ecs::LoadBalancer {
            target_group_arn: Some(traffic.replacement_tg_arn.clone()),
            container_name: Some(appspec.container_name.clone()),
            container_port: Some(i32::from(appspec.container_port)),
            ..Default::default()
        }],
        scale_pct: 100.0,
        started_by: Some("CODE_DEPLOY".into()),
        external_id: Some(id.to_string()),
        tags: Vec::new(),
    };
    // Production keeps all its traffic on the original, and the replacement target group joins
    // the forward action at weight 0: attached to the load balancer, its targets are health
    // checked from the start.
    let weights = [
        (traffic.original_tg_arn.clone(), 100),
        (traffic.replacement_tg_arn.clone(), 0),
    ];
    set_listener_weights(world, ctx, &traffic.prod_listener_arns, &weights)?;
    let replacement = task_sets::create(world, ctx, &cluster, &service, spec).map_err(|e| e.message)?;
    if let Some(d) = deployment(world, id) {
        d.replacement_task_set = Some(replacement);
    }
    crate::ecs::service_loop::wake(world, ctx, &cluster, &service);
    Ok(())
}

fn set_listener_weights(
    world: &mut World,
    ctx: &mut Ctx<'_>,
    listeners: &[String],
    weights: &[(String, i32)],
) -> Result<(), String> {
    for listener in listeners {
        crate::elbv2::weights::set_forward_weights(world, ctx, listener, weights).map_err(|e| e.message)?;
    }
    Ok(())
}

/// AllowTestTraffic: the test listener forwards to the replacement target group.
fn allow_test_traffic(world: &mut World, ctx: &mut Ctx<'_>, id: &str, now_ms: Millis) -> GateState {
    start_event(world, id, "AllowTestTraffic", now_ms);
    let Some(traffic) = deployment(world, id).and_then(|d| d.traffic.clone()) else {
        return GateState::Open;
    };
    let weights = [
        (traffic.original_tg_arn.clone(), 0),
        (traffic.replacement_tg_arn.clone(), 100),
    ];
    if let Err(message) = set_listener_weights(world, ctx, &traffic.test_listener_arns, &weights) {
        return fail_gate(
            world,
            id,
            "AllowTestTraffic",
            (
                api::ErrorCode::ElasticLoadBalancingInvalid,
                api::DeploymentStatus::Failed,
                api::LifecycleErrorCode::UnknownError,
            ),
            message,
            now_ms,
        );
    }
    finish_event(
        world,
        id,
        "AllowTestTraffic",
        api::LifecycleEventStatus::Succeeded,
        now_ms,
        None,
    );
    GateState::Open
}

/// A production traffic step: `target_weight_pct` of production traffic on the replacement.
fn shift_production(world: &mut World, ctx: &mut Ctx<'_>, id: &str, target_weight_pct: u32) {
    let Some(traffic) = deployment(world, id).and_then(|d| d.traffic.clone()) else {
        return;
    };
    let replacement = i32::try_from(target_weight_pct.min(100)).unwrap_or(100);
    let weights = [
        (traffic.original_tg_arn.clone(), 100 - replacement),
        (traffic.replacement_tg_arn.clone(), replacement),
    ];
    let result = set_listener_weights(world, ctx, &traffic.prod_listener_arns, &weights);
    if let Some(d) = deployment(world, id) {
        match result {
            Ok(()) => d.replacement_weight_pct = target_weight_pct,
            // The next gate fails the deployment with this.
            Err(message) => {
                d.status_messages.push(message);
                d.gate_failure = Some(GateFailure {
                    code: api::ErrorCode::ElasticLoadBalancingInvalid,
                    status: api::DeploymentStatus::Failed,
                });
            }
        }
    }
}

/// After the last traffic step: AllowTraffic is done and the replacement becomes the service's
/// PRIMARY task set.
fn finish_allow_traffic(world: &mut World, ctx: &mut Ctx<'_>, id: &str, now_ms: Millis) {
    let Some(d) = deployment(world, id) else {
        return;
    };
    if d.event("AllowTraffic").map(|e| e.status) != Some(api::LifecycleEventStatus::InProgress) {
        return;
    }
    let (cluster, service, replacement) = (
        d.cluster.clone(),
        d.service.clone(),
        d.replacement_task_set.clone(),
    );
    finish_event(
        world,
        id,
        "AllowTraffic",
        api::LifecycleEventStatus::Succeeded,
        now_ms,
        None,
    );
    if let Some(replacement) = replacement {
        let _ = task_sets::set_primary(world, ctx, &cluster, &service, &replacement);
    }
}

fn ready_wait(world: &mut World, id: &str, entered_ms: Millis, now_ms: Millis) -> GateState {
    let Some(d) = deployment(world, id) else {
        return GateState::Open;
    };
    if d.continue_ready {
        d.status = api::DeploymentStatus::InProgress;
        return GateState::Open;
    }
    d.status = api::DeploymentStatus::Ready;
    let wait_ms = d
        .blue_green
        .as_ref()
        .and_then(|b| b.deployment_ready_option.as_ref())
        .and_then(|r| r.wait_time_in_minutes)
        .map_or(0, |m| Millis::try_from(m.max(0)).unwrap_or(0) * 60_000);
    if now_ms >= entered_ms + wait_ms {
        d.gate_failure = Some(GateFailure {
            code: api::ErrorCode::Timeout,
            status: api::DeploymentStatus::Stopped,
        });
        return GateState::Failed {
            reason: "The deployment timed out while waiting for the replacement environment to be ready: \
                     nobody continued it with ContinueDeployment."
                .into(),
        };
    }
    GateState::Waiting {
        recheck_at_ms: Some(entered_ms + wait_ms),
    }
}

fn termination_wait(world: &mut World, id: &str, entered_ms: Millis, now_ms: Millis) -> GateState {
    let Some(d) = deployment(world, id) else {
        return GateState::Open;
    };
    d.termination_wait_started = true;
    let wait_ms = d
        .blue_green
        .as_ref()
        .and_then(|b| b.terminate_blue_instances_on_deployment_success.as_ref())
        .and_then(|t| t.termination_wait_time_in_minutes)
        .map_or(0, |m| Millis::try_from(m.max(0)).unwrap_or(0) * 60_000);
    if d.continue_termination || now_ms >= entered_ms + wait_ms {
        return GateState::Open;
    }
    GateState::Waiting {
        recheck_at_ms: Some(entered_ms + wait_ms),
    }
}

/// The original task set is deleted (it drains on its own), unless the group keeps it alive.
fn terminate_original(world: &mut World, ctx: &mut Ctx<'_>, id: &str) -> GateState {
    let Some(d) = deployment(world, id) else {
        return GateState::Open;
    };
    let keep = d
        .blue_green
        .as_ref()
        .and_then(|b| b.terminate_blue_instances_on_deployment_success.as_ref())
        .and_then(|t| t.action)
        == Some(api::InstanceAction::KeepAlive);
    let (cluster, service, original) = (d.cluster.clone(), d.service.clone(), d.original_task_set.clone());
    if !keep {
        let _ = task_sets::delete(world, ctx, &cluster, &service, &original, true);
    }
    GateState::Open
}

/// A rollback deployment is done once the replacement task set has left the service.
fn replacement_removed(world: &mut World, id: &str) -> GateState {
    let Some(d) = world.codedeploy.deployments.get(id) else {
        return GateState::Open;
    };
    let gone = d.replacement_task_set.as_ref().is_none_or(|r| {
        world
            .ecs
            .service(&d.cluster, &d.service)
            .is_none_or(|s| s.task_set(r).is_none())
    });
    if gone {
        GateState::Open
    } else {
        GateState::Waiting {
            recheck_at_ms: Some(world.codedeploy.deployments[id].last_updated_ms + CHECK_MS),
        }
    }
}

/// How the stand-in of an AppSpec hook's Lambda function was invoked. A function that answered
/// reports its verdict through PutLifecycleEventHookExecutionStatus; one that could not be
/// invoked fails its lifecycle event now.
pub fn on_invocation_outcome(
    world: &mut World,
    ctx: &mut Ctx<'_>,
    deployment_id: &str,
    execution_id: &str,
    outcome: InvocationOutcome,
) {
    let InvocationOutcome::Failed(message) = outcome else {
        return;
    };
    let Some(d) = deployment(world, deployment_id) else {
        return;
    };
    let Some(event) = d
        .events
        .iter()
        .find(|e| e.hook.as_ref().is_some_and(|h| h.execution_id == execution_id))
    else {
        return;
    };
    if event.status != api::LifecycleEventStatus::InProgress {
        return;
    }
    let name = event.name;
    let function = event
        .hook
        .as_ref()
        .map(|h| h.function.clone())
        .unwrap_or_default();
    finish_event(
        world,
        deployment_id,
        name,
        api::LifecycleEventStatus::Failed,
        ctx.now_ms,
        Some(api::Diagnostics {
            error_code: Some(api::LifecycleErrorCode::ScriptFailed),
            script_name: Some(function),
            message: Some(format!("The {name} hook failed: {message}")),
            log_tail: None,
        }),
    );
    drive(world, ctx, deployment_id);
}

fn record_last(world: &mut World, id: &str, successful: bool) {
    let Some(d) = world.codedeploy.deployments.get(id) else {
        return;
    };
    let last = super::state::LastDeployment {
        deployment_id: d.id.clone(),
        status: d.status,
        end_ms: d.completed_at_ms,
        created_at_ms: d.created_at_ms,
    };
    let revision = d.revision.clone();
    let (application, group) = (d.application.clone(), d.group.clone());
    if let Some(g) = world.codedeploy.group_mut(&application, &group) {
        g.last_attempted = Some(last.clone());
        if successful {
            g.last_successful = Some(last);
            if revision.is_some() {
                g.target_revision = revision;
            }
        }
    }
}

fn succeed(world: &mut World, ctx: &mut Ctx<'_>, id: &str) {
    let now = ctx.now_ms;
    let Some(d) = deployment(world, id) else {
        return;
    };
    d.status = api::DeploymentStatus::Succeeded;
    d.completed_at_ms = Some(now);
    let triggering = d
        .rollback_info
        .as_ref()
        .and_then(|r| r.rollback_triggering_deployment_id.clone());
    record_last(world, id, true);
    if let Some(original) = triggering.and_then(|t| deployment(world, &t))
        && let Some(info) = original.rollback_info.as_mut()
    {
        info.rollback_message = Some(format!("Rollback deployment {id} succeeded."));
    }
}

fn wants_rollback(d: &DeploymentRecord, event: api::AutoRollbackEvent) -> bool {
    d.auto_rollback
        .as_ref()
        .is_some_and(|a| a.enabled == Some(true) && a.events.iter().flatten().any(|e| *e == event))
}

fn fail(world: &mut World, ctx: &mut Ctx<'_>, id: &str, trigger: Trigger, reason: &str, alarms: &[String]) {
    let now = ctx.now_ms;
    let Some(d) = deployment(world, id) else {
        return;
    };
    let (code, status, message, rollback) = match trigger {
        Trigger::Alarm => (
            api::ErrorCode::AlarmActive,
            api::DeploymentStatus::Stopped,
            format!(
                "One or more alarms have been activated according to the Amazon CloudWatch metrics you selected, and \
                 the affected deployments have been stopped. Activated alarms: <{}>",
                alarms.join(", ")
            ),
            wants_rollback(d, api::AutoRollbackEvent::DeploymentStopOnAlarm),
        ),
        Trigger::Stopped => (
            api::ErrorCode::ManualStop,
            api::DeploymentStatus::Stopped,
            reason.to_string(),
            d.stop_request.is_some_and(|s| s.rollback),
        ),
        Trigger::Gate | Trigger::CircuitBreaker => {
            let failure = d.gate_failure.clone().unwrap_or(GateFailure {
                code: api::ErrorCode::InternalError,
                status: api::DeploymentStatus::Failed,
            });
            (
                failure.code,
                failure.status,
                reason.to_string(),
                wants_rollback(d, api::AutoRollbackEvent::DeploymentFailure),
            )
        }
    };
    // Events still running end with the deployment.
    for e in &mut d.events {
        if e.status == api::LifecycleEventStatus::InProgress {
            e.status = api::LifecycleEventStatus::Failed;
            e.end_ms = Some(now);
        }
    }
    d.status = status;
    d.completed_at_ms = Some(now);
    d.error = Some(api::ErrorInformation {
        code: Some(code),
        message: Some(message),
    });
    let touched = d.replacement_task_set.is_some();
    record_last(world, id, false);
    if rollback && touched {
        roll_back(world, ctx, id);
    } else if let Some(d) = deployment(world, id)
        && rollback
    {
        d.rollback_info = Some(api::RollbackInfo {
            rollback_deployment_id: None,
            rollback_triggering_deployment_id: None,
            rollback_message: Some(
                "Automatic rollback skipped: the deployment stopped before it created a replacement task set."
                    .into(),
            ),
        });
    }
}

/// Traffic back on the original task set, the replacement removed, and a rollback deployment
/// that completes once the replacement is gone.
fn roll_back(world: &mut World, ctx: &mut Ctx<'_>, id: &str) {
    let now = ctx.now_ms;
    let Some(d) = world.codedeploy.deployments.get(id).cloned() else {
        return;
    };
    if let Some(traffic) = &d.traffic {
        // Production goes back to the original; test listeners go back to what they were.
        let production = [
            (traffic.original_tg_arn.clone(), 100),
            (traffic.replacement_tg_arn.clone(), 0),
        ];
        let _ = set_listener_weights(world, ctx, &traffic.prod_listener_arns, &production);
        for (listener, weights) in &traffic.saved_weights {
            if traffic.test_listener_arns.contains(listener) {
                let _ = crate::elbv2::weights::set_forward_weights(world, ctx, listener, weights);
            }
        }
    }
    let original_primary = world
        .ecs
        .service(&d.cluster, &d.service)
        .and_then(|s| s.task_set(&d.original_task_set))
        .is_some_and(|t| t.status != TaskSetStatus::Primary);
    if original_primary {
        let _ = task_sets::set_primary(world, ctx, &d.cluster, &d.service, &d.original_task_set);
    }
    if let Some(replacement) = &d.replacement_task_set {
        let _ = task_sets::delete(world, ctx, &d.cluster, &d.service, replacement, true);
    }
    let rollback_id = super::deployments::new_deployment_id(ctx);
    let group_revision = world
        .codedeploy
        .group(&d.application, &d.group)
        .and_then(|g| g.target_revision.clone());
    let mut events = fresh_events();
    for e in &mut events {
        e.status = if e.name == "AllowTraffic" {
            api::LifecycleEventStatus::Succeeded
        } else {
            api::LifecycleEventStatus::Skipped
        };
        e.start_ms = Some(now);
        e.end_ms = Some(now);
    }
    let record = DeploymentRecord {
        id: rollback_id.clone(),
        creator: api::DeploymentCreator::CodeDeployRollback,
        description: Some(format!("Rollback of deployment {id}")),
        status: api::DeploymentStatus::InProgress,
        error: None,
        rollback_info: Some(api::RollbackInfo {
            rollback_deployment_id: None,
            rollback_triggering_deployment_id: Some(id.to_string()),
            rollback_message: Some(format!("Rolls back deployment {id}.")),
        }),
        created_at_ms: now,
        started_at_ms: Some(now),
        completed_at_ms: None,
        revision: group_revision,
        appspec: None,
        replacement_weight_pct: 0,
        events,
        execution: Some(crate::deploy::Executor::new(
            rollback_plan(),
            crate::deploy::Monitors::default(),
            now,
        )),
        stop_request: None,
        continue_ready: false,
        continue_termination: false,
        termination_wait_started: false,
        gate_failure: None,
        status_messages: Vec::new(),
        last_updated_ms: now,
        ..d.clone()
    };
    if let Some(revision) = &record.revision {
        super::revisions::note_use(world, &d.application, revision, now);
    }
    world.codedeploy.deployments.insert(rollback_id.clone(), record);
    world.codedeploy.order.push(rollback_id.clone());
    if let Some(original) = deployment(world, id) {
        original.rollback_info = Some(api::RollbackInfo {
            rollback_deployment_id: Some(rollback_id.clone()),
            rollback_triggering_deployment_id: None,
            rollback_message: Some(format!("Rollback deployment {rollback_id} in progress.")),
        });
    }
    crate::ecs::service_loop::wake(world, ctx, &d.cluster, &d.service);
    schedule(ctx, &rollback_id, now);
}
