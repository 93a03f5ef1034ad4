//! Lifecycle hooks of ECS-native blue/green deployments: which hooks run at a gate, invoking
//! `AWS_LAMBDA` hooks through the local function stand-ins, applying their answers
//! (`hookStatus`, `callBackDelay`), timeouts, and `PAUSE` hooks resolved by
//! ContinueServiceDeployment.
//!
//! A hook never succeeds by default: an invocation that cannot be queued (no stand-in
//! registered), a function error, or an answer without a valid `hookStatus` fails it, and a failed
//! hook rolls the deployment back. Nothing here does IO or reads a clock.

use ecsim_api::ecs as api;
use ecsim_core::Millis;
use ecsim_protocol::AwsError;
use serde_json::{Value, json};

use super::{BlueGreenRun, DeploymentInfo};
use crate::deploy::GateState;
use crate::deploy::plan::stage;
use crate::engine::Ctx;
use crate::functions::{InvocationOutcome, InvocationPurpose};
use crate::timers::TimerKind;
use crate::world::World;

/// Hook timeout when `timeoutConfiguration.timeoutInMinutes` is not set (24 hours).
const DEFAULT_TIMEOUT_MINUTES: i32 = 1440;
/// Seconds before an IN_PROGRESS hook is invoked again when it gives no `callBackDelay`.
const DEFAULT_CALLBACK_DELAY_S: u64 = 30;
/// Longest `callBackDelay` honoured, in seconds (longer ones are clamped; the timeout still rules).
const MAX_CALLBACK_DELAY_S: u64 = 24 * 3600;

/// One run of one lifecycle hook at one gate.
#[derive(Debug, Clone, PartialEq)]
pub struct HookRun {
    pub hook_id: String,
    /// The gate (stage, with `#n` for a repeated one) it runs at.
    pub gate: String,
    pub target_type: api::DeploymentLifecycleHookTargetType,
    pub target_arn: Option<String>,
    pub hook_details: Option<Value>,
    pub status: api::DeploymentLifecycleHookStatus,
    pub expires_at_ms: Millis,
    pub timeout_action: api::DeploymentLifecycleHookAction,
    /// A Lambda hook due to be invoked (first, or again after IN_PROGRESS) at this time.
    pub next_invoke_at_ms: Option<Millis>,
    /// `hookDetails` the function returned with IN_PROGRESS, passed to its next invocation.
    pub returned_details: Option<Value>,
    pub reason: Option<String>,
}

impl HookRun {
    /// `lifecycleHookDetails[]` as DescribeServiceDeployments shows it.
    pub fn detail(&self) -> api::DeploymentLifecycleHookDetail {
        api::DeploymentLifecycleHookDetail {
            hook_id: Some(self.hook_id.clone()),
            target_type: Some(self.target_type),
            target_arn: self.target_arn.clone(),
            status: Some(self.status),
            expires_at: Some(crate::ecs::common::ts(self.expires_at_ms)),
            timeout_action: Some(self.timeout_action),
        }
    }

    fn waiting(&self) -> bool {
        matches!(
            self.status,
            api::DeploymentLifecycleHookStatus::InProgress
                | api::DeploymentLifecycleHookStatus::AwaitingAction
        )
    }

    fn describe(&self) -> String {
        match &self.target_arn {
            Some(arn) => format!("lifecycle hook {} ({arn})", self.hook_id),
            None => format!("lifecycle hook {} (PAUSE)", self.hook_id),
        }
    }
}

/// The hooks configured for `gate`'s stage, started once per gate.
fn start_runs(ctx: &mut Ctx<'_>, run: &mut BlueGreenRun, info: &DeploymentInfo, gate: &str, now_ms: Millis) {
    let Ok(hook_stage) = stage::of_gate(gate).parse::<api::DeploymentLifecycleHookStage>() else {
        return;
    };
    for hook in &info.hooks {
        if !hook.lifecycle_stages.iter().flatten().any(|s| *s == hook_stage) {
            continue;
        }
        let target_type = hook.target_type.unwrap_or_default();
        let timeout = hook.timeout_configuration.as_ref();
        let minutes = timeout
            .and_then(|t| t.timeout_in_minutes)
            .unwrap_or(DEFAULT_TIMEOUT_MINUTES);
        let lambda = target_type == api::DeploymentLifecycleHookTargetType::AwsLambda;
        run.hooks.push(HookRun {
            hook_id: ctx.rng.uuid(),
            gate: gate.to_string(),
            target_type,
            target_arn: hook.hook_target_arn.clone().filter(|_| lambda),
            hook_details: hook.hook_details.clone(),
            status: if lambda {
                api::DeploymentLifecycleHookStatus::InProgress
            } else {
                api::DeploymentLifecycleHookStatus::AwaitingAction
            },
            expires_at_ms: now_ms + u64::try_from(minutes.max(1)).unwrap_or(1) * 60_000,
            // Default ROLLBACK, as the model documents.
            timeout_action: timeout.and_then(|t| t.action).unwrap_or_default(),
            next_invoke_at_ms: lambda.then_some(now_ms),
            returned_details: None,
            reason: None,
        });
    }
}

/// The Lambda payload (aws-semantics 2.8). The fields are given at the top level and, as AWS's
/// own payload nests them, again under `executionDetails`.
fn payload(run: &BlueGreenRun, info: &DeploymentInfo, hook: &HookRun) -> Value {
    let weights = |green: u32| {
        json!({
            run.blue_revision_arn.clone(): 100 - green.min(100),
            info.target_revision_arn.clone(): green.min(100),
        })
    };
    let (test, production) = (weights(run.test_weight_pct), weights(run.production_weight_pct));
    json!({
        "serviceArn": info.service_arn,
        "serviceDeploymentArn": info.arn,
        "resourceArn": info.arn,
        "targetServiceRevisionArn": info.target_revision_arn,
        "testTrafficWeights": test,
        "productionTrafficWeights": production,
        "lifecycleStage": stage::of_gate(&hook.gate),
        "executionId": hook.hook_id,
        "hookId": hook.hook_id,
        "hookDetails": hook.returned_details.clone().or_else(|| hook.hook_details.clone()),
        "executionDetails": {
            "serviceArn": info.service_arn,
            "targetServiceRevisionArn": info.target_revision_arn,
            "testTrafficWeights": test,
            "productionTrafficWeights": production,
        },
    })
}

/// Whether the deployment may pass gate `gate`: starts its hooks on the first ask, invokes Lambda
/// hooks that are due, applies timeouts, and opens once every hook succeeded (or timed out with
/// CONTINUE). A failed hook, or one timed out with ROLLBACK, fails the deployment.
pub(crate) fn at_gate(
    ctx: &mut Ctx<'_>,
    run: &mut BlueGreenRun,
    info: &DeploymentInfo,
    gate: &str,
    now_ms: Millis,
) -> GateState {
    if !run.hooks.iter().any(|h| h.gate == gate) {
        start_runs(ctx, run, info, gate, now_ms);
    }
    let mut recheck_at_ms: Option<Millis> = None;
    let mut waiting = false;
    for i in 0..run.hooks.len() {
        if run.hooks[i].gate != gate {
            continue;
        }
        let due = run.hooks[i].status == api::DeploymentLifecycleHookStatus::InProgress
            && run.hooks[i].next_invoke_at_ms.is_some_and(|at| at <= now_ms);
        if due {
            let body = payload(run, info, &run.hooks[i]);
            let hook = &mut run.hooks[i];
            hook.next_invoke_at_ms = None;
            let purpose = InvocationPurpose::EcsHook {
                world: ctx.world_index,
                service_deployment_arn: info.arn.clone(),
                hook_id: hook.hook_id.clone(),
            };
            let target = hook.target_arn.clone().unwrap_or_default();
            if let Err(message) = ctx.functions.invoke(&target, body, purpose) {
                hook.status = api::DeploymentLifecycleHookStatus::Failed;
                hook.reason = Some(message);
            }
        }
        let hook = &mut run.hooks[i];
        if hook.waiting() && now_ms >= hook.expires_at_ms {
            hook.status = api::DeploymentLifecycleHookStatus::TimedOut;
        }
        match hook.status {
            api::DeploymentLifecycleHookStatus::Failed => {
                return GateState::Failed {
                    reason: format!(
                        "The {} failed at the {} lifecycle stage: {}",
                        hook.describe(),
                        stage::of_gate(gate),
                        hook.reason.as_deref().unwrap_or("the hook failed")
                    ),
                };
            }
            api::DeploymentLifecycleHookStatus::TimedOut
                if hook.timeout_action == api::DeploymentLifecycleHookAction::Rollback =>
            {
                return GateState::Failed {
                    reason: format!(
                        "The {} timed out at the {} lifecycle stage.",
                        hook.describe(),
                        stage::of_gate(gate)
                    ),
                };
            }
            api::DeploymentLifecycleHookStatus::TimedOut | api::DeploymentLifecycleHookStatus::Succeeded => {}
            api::DeploymentLifecycleHookStatus::InProgress
            | api::DeploymentLifecycleHookStatus::AwaitingAction => {
                waiting = true;
                for at in std::iter::once(hook.expires_at_ms).chain(hook.next_invoke_at_ms) {
                    recheck_at_ms = Some(recheck_at_ms.map_or(at, |r| r.min(at)));
                }
            }
        }
    }
    if waiting {
        GateState::Waiting { recheck_at_ms }
    } else {
        GateState::Open
    }
}

/// The hook run `hook_id` of an active run, for changing.
fn hook_mut<'w>(world: &'w mut World, sd_arn: &str, hook_id: &str) -> Option<&'w mut HookRun> {
    world
        .ecs
        .service_deployments
        .get_mut(sd_arn)?
        .blue_green
        .as_mut()
        .filter(|r| r.active)?
        .hooks
        .iter_mut()
        .find(|h| h.hook_id == hook_id)
}

fn wake_service(world: &mut World, ctx: &mut Ctx<'_>, sd_arn: &str) {
    if let Some(sd) = world.ecs.service_deployments.get(sd_arn) {
        let (cluster, service) = (sd.cluster_name.clone(), sd.service_name.clone());
        crate::ecs::service_loop::wake(world, ctx, &cluster, &service);
    }
}

/// How a Lambda hook's stand-in answered: SUCCEEDED opens the hook, FAILED fails it, IN_PROGRESS
/// invokes it again after `callBackDelay` seconds; an error or an answer without a valid
/// `hookStatus` fails it. Outcomes for hooks no longer waiting are ignored.
pub fn on_outcome(
    world: &mut World,
    ctx: &mut Ctx<'_>,
    sd_arn: &str,
    hook_id: &str,
    outcome: InvocationOutcome,
) {
    let now = ctx.now_ms;
    let Some(hook) = hook_mut(world, sd_arn, hook_id) else {
        return;
    };
    if hook.status != api::DeploymentLifecycleHookStatus::InProgress || hook.next_invoke_at_ms.is_some() {
        return;
    }
    let mut recheck_at = now;
    match outcome {
        InvocationOutcome::Failed(message) => {
            hook.status = api::DeploymentLifecycleHookStatus::Failed;
            hook.reason = Some(format!("the function failed: {message}"));
        }
        InvocationOutcome::Returned(answer) => match answer.get("hookStatus").and_then(Value::as_str) {
            Some("SUCCEEDED") => hook.status = api::DeploymentLifecycleHookStatus::Succeeded,
            Some("FAILED") => {
                hook.status = api::DeploymentLifecycleHookStatus::Failed;
                hook.reason = Some("the function returned hookStatus FAILED".into());
            }
            Some("IN_PROGRESS") => {
                let delay_s = answer
                    .get("callBackDelay")
                    .and_then(Value::as_u64)
                    .unwrap_or(DEFAULT_CALLBACK_DELAY_S)
                    .min(MAX_CALLBACK_DELAY_S);
                recheck_at = now + delay_s * 1_000;
                hook.next_invoke_at_ms = Some(recheck_at);
                hook.returned_details = answer
                    .get("hookDetails")
                    .cloned()
                    .or(hook.returned_details.take());
            }
            _ => {
                hook.status = api::DeploymentLifecycleHookStatus::Failed;
                hook.reason = Some(format!(
                    "the function returned no valid hookStatus (SUCCEEDED, FAILED or IN_PROGRESS): {answer}"
                ));
            }
        },
    }
    let Some(sd) = world.ecs.service_deployments.get(sd_arn) else {
        return;
    };
    ctx.timers.schedule_once(
        recheck_at,
        ctx.world_index,
        TimerKind::ServiceCheck {
            cluster: sd.cluster_name.clone(),
            service: sd.service_name.clone(),
        },
    );
}

/// ContinueServiceDeployment: resolves a PAUSE hook awaiting action with CONTINUE (the hook
/// succeeds) or ROLLBACK (the hook fails, which rolls the deployment back).
pub fn continue_deployment(
    world: &mut World,
    ctx: &mut Ctx<'_>,
    sd_arn: &str,
    hook_id: &str,
    action: api::DeploymentLifecycleHookAction,
) -> Result<(), AwsError> {
    let Some(sd) = world.ecs.service_deployments.get(sd_arn) else {
        return Err(AwsError::client(
            "ServiceDeploymentNotFoundException",
            "The service deployment does not exist.",
        ));
    };
    let Some(run) = sd.blue_green.as_deref() else {
        return Err(crate::ecs::common::invalid_parameter(format!(
            "The service deployment {sd_arn} has no lifecycle hooks: only BLUE_GREEN, LINEAR and CANARY \
             deployments pause at lifecycle hooks."
        )));
    };
    let Some(hook) = run.hooks.iter().find(|h| h.hook_id == hook_id) else {
        return Err(crate::ecs::common::invalid_parameter(format!(
            "The lifecycle hook {hook_id} does not exist in the service deployment {sd_arn}."
        )));
    };
    if !run.active
        || sd.status != api::ServiceDeploymentStatus::InProgress
        || hook.status != api::DeploymentLifecycleHookStatus::AwaitingAction
    {
        return Err(crate::ecs::common::invalid_parameter(format!(
            "The lifecycle hook {hook_id} is not awaiting action (hook status {}, service deployment status {}).",
            hook.status.as_str(),
            sd.status.as_str()
        )));
    }
    if let Some(hook) = hook_mut(world, sd_arn, hook_id) {
        match action {
            api::DeploymentLifecycleHookAction::Continue => {
                hook.status = api::DeploymentLifecycleHookStatus::Succeeded;
            }
            api::DeploymentLifecycleHookAction::Rollback => {
                hook.status = api::DeploymentLifecycleHookStatus::Failed;
                hook.reason = Some("rollback requested with ContinueServiceDeployment".into());
            }
        }
    }
    wake_service(world, ctx, sd_arn);
    Ok(())
}
