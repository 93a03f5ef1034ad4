//! ECS-native BLUE_GREEN, LINEAR and CANARY deployments on the one deployment executor.
//!
//! A new deployment of a service with one of these strategies compiles to
//! [`Plan::ecs_lifecycle`]: a gate per lifecycle stage, the production traffic steps, the bake
//! time and CLEAN_UP. This module is the executor's [`Router`] for it: it rewrites the production
//! (and test) listener rules' forward weights, opens SCALE_UP once the green revision runs its
//! desired count of healthy tasks, scales the blue revision in at CLEAN_UP, and runs the
//! lifecycle hooks of each stage (`hooks`). It also rolls a failed deployment back: production
//! traffic returns to blue and blue becomes the PRIMARY deployment again, so the green tasks
//! drain; nothing new is launched.
//!
//! Which target group is blue: the group the currently running (PRIMARY) deployment registers
//! its tasks in — the service's `targetGroupArn` for the first deployment, and after every
//! successful blue/green deployment the group that deployment's green tasks used (kept in its
//! `DeploymentRecord::load_balancers`). The next deployment's green tasks therefore always go to
//! the *other* group of the pair (`targetGroupArn` / `advancedConfiguration.alternateTargetGroupArn`):
//! roles swap after every success and stay after a rollback. The first deployment of a service has
//! no blue revision, so it rolls out directly into `targetGroupArn` (no stages, no hooks).
//!
//! It must not read a clock or do IO: time is `ctx.now_ms`, hooks are queued invocations.

pub mod config;
pub mod hooks;

use ecsim_api::ecs as api;
use ecsim_core::Millis;

use super::state::{ServiceDeploymentRecord, TaskStatus};
use crate::deploy::plan::stage;
use crate::deploy::{Advance, Executor, GateState, Monitors, Observation, Plan, Router, TrafficStep};
use crate::engine::Ctx;
use crate::world::World;

const MINUTE_MS: Millis = 60_000;

/// One load balancer of the service as a deployment uses it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrafficPair {
    /// Serves production when the deployment starts.
    pub blue_tg: String,
    /// Where the new revision's tasks register.
    pub green_tg: String,
    /// Listener rule ARN (ALB) or listener ARN whose forward weights shift production traffic.
    pub production_rule: String,
    pub test_rule: Option<String>,
}

/// The blue/green state of one service deployment, beside its executor.
#[derive(Debug, Clone)]
pub struct BlueGreenRun {
    pub pairs: Vec<TrafficPair>,
    /// The deployment (and revision) serving production when this one started.
    pub blue_deployment_id: String,
    pub blue_revision_arn: String,
    /// The lifecycle stage of each plan step.
    pub stages: Vec<api::ServiceDeploymentLifecycleStage>,
    /// The stage reached (frozen once the run ends).
    pub stage: api::ServiceDeploymentLifecycleStage,
    /// Production and test traffic the green revision was asked to take, in percent.
    pub production_weight_pct: u32,
    pub test_weight_pct: u32,
    /// SCALE_UP was entered: the controller may start green tasks (before, it holds them at 0).
    pub scale_up_started: bool,
    /// The run drives the deployment; false once it succeeded, failed or rolled back.
    pub active: bool,
    pub hooks: Vec<hooks::HookRun>,
    /// A listener rule could not be rewritten; the next gate fails the deployment with it.
    pub error: Option<String>,
}

/// How the service controller scales a service whose PRIMARY deployment is a blue/green run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scaling {
    /// Start the green revision's tasks (from SCALE_UP on), regardless of `maximumPercent`.
    pub start_target: bool,
    /// Keep the blue revision's tasks running (until CLEAN_UP scales them in).
    pub keep_sources: bool,
    /// The blue deployment, which serves production while the run lasts: until CLEAN_UP the
    /// controller replaces its tasks that stop, as it does any service task.
    pub blue_deployment_id: String,
}

/// The strategy's plan, or `None` for ROLLING.
fn plan_for(config: &api::DeploymentConfiguration) -> Option<Plan> {
    let minutes =
        |m: Option<i32>, default: u64| m.map_or(default, |m| u64::try_from(m).unwrap_or(0)) * MINUTE_MS;
    // BLUE_GREEN requires a bake time; LINEAR and CANARY default to none (emulator decision).
    let bake_ms = minutes(config.bake_time_in_minutes, 0);
    let shifts: Vec<TrafficStep> = match config.strategy? {
        api::DeploymentStrategy::BlueGreen => Plan::blue_green_steps(),
        api::DeploymentStrategy::Linear => Plan::linear_steps(
            config::linear_step_tenths(config).ok()?,
            minutes(
                config
                    .linear_configuration
                    .as_ref()
                    .and_then(|l| l.step_bake_time_in_minutes),
                6,
            ),
        ),
        api::DeploymentStrategy::Canary => Plan::canary_steps(
            config::canary_tenths(config).ok()?,
            minutes(
                config
                    .canary_configuration
                    .as_ref()
                    .and_then(|c| c.canary_bake_time_in_minutes),
                10,
            ),
        ),
        api::DeploymentStrategy::Rolling => return None,
    };
    Some(Plan::ecs_lifecycle(&shifts, bake_ms))
}

/// Turns a new service deployment into a blue/green run when its strategy shifts traffic and a
/// blue revision runs: replaces its rolling plan, points the green deployment's tasks at the
/// green target groups, keeps blue's desired count, and sets production and test traffic to
/// 100% blue. A ROLLING deployment inherits the target groups the running deployment uses.
pub fn prepare(world: &mut World, ctx: &mut Ctx<'_>, record: &mut ServiceDeploymentRecord) {
    let (cluster, service) = (record.cluster_name.clone(), record.service_name.clone());
    let Some(svc) = world.ecs.service(&cluster, &service) else {
        return;
    };
    let (Some(green), Some(blue)) = (svc.deployments.first(), svc.deployments.get(1)) else {
        return;
    };
    let blue_lbs = super::load_balancing::task_load_balancers(svc, Some(&blue.id)).to_vec();
    let Some(plan) = plan_for(&record.deployment_configuration) else {
        // ROLLING after a blue/green deployment: stay in the group production forwards to.
        let inherited = blue.load_balancers.clone();
        if let Some(green) = world
            .ecs
            .service_mut(&cluster, &service)
            .and_then(|s| s.deployments.first_mut())
        {
            green.load_balancers = inherited;
        }
        return;
    };
    let (green_id, blue_id, blue_revision) = (
        green.id.clone(),
        blue.id.clone(),
        blue.service_revision_arn.clone(),
    );
    let mut pairs = Vec::new();
    let mut green_lbs = Vec::new();
    for (lb, blue_lb) in svc.load_balancers.iter().zip(&blue_lbs) {
        let Some(advanced) = &lb.advanced_configuration else {
            continue;
        };
        let primary = lb.target_group_arn.clone().unwrap_or_default();
        let alternate = advanced.alternate_target_group_arn.clone().unwrap_or_default();
        let blue_tg = blue_lb
            .target_group_arn
            .clone()
            .unwrap_or_else(|| primary.clone());
        let green_tg = if blue_tg == primary { alternate } else { primary };
        green_lbs.push(api::LoadBalancer {
            target_group_arn: Some(green_tg.clone()),
            ..lb.clone()
        });
        pairs.push(TrafficPair {
            blue_tg,
            green_tg,
            production_rule: advanced.production_listener_rule.clone().unwrap_or_default(),
            test_rule: advanced.test_listener_rule.clone(),
        });
    }
    let desired = svc.desired_count;
    if let Some(svc) = world.ecs.service_mut(&cluster, &service) {
        for d in &mut svc.deployments {
            if d.id == green_id && !green_lbs.is_empty() {
                d.load_balancers = Some(green_lbs.clone());
            } else if d.id == blue_id {
                // Blue keeps serving at full size until CLEAN_UP.
                d.desired_count = desired;
            }
        }
    }
    let mut error = None;
    for pair in &pairs {
        let split = [(pair.blue_tg.clone(), 100), (pair.green_tg.clone(), 0)];
        for rule in std::iter::once(&pair.production_rule).chain(pair.test_rule.as_ref()) {
            if let Err(e) = crate::elbv2::weights::set_forward_weights(world, ctx, rule, &split) {
                error.get_or_insert(format!(
                    "ECS could not update listener rule {rule}: {}",
                    e.message
                ));
            }
        }
    }
    let stages = plan
        .lifecycle_stages()
        .iter()
        .map(|s| {
            s.parse()
                .unwrap_or(api::ServiceDeploymentLifecycleStage::PreScaleUp)
        })
        .collect();
    let monitors = record.execution.monitors().clone();
    record.execution = Executor::new(plan, monitors, ctx.now_ms);
    record.blue_green = Some(Box::new(BlueGreenRun {
        pairs,
        blue_deployment_id: blue_id,
        blue_revision_arn: blue_revision,
        stages,
        stage: api::ServiceDeploymentLifecycleStage::PreScaleUp,
        production_weight_pct: 0,
        test_weight_pct: 0,
        scale_up_started: false,
        active: true,
        hooks: Vec::new(),
        error,
    }));
}

/// The active blue/green run of the service's PRIMARY deployment.
fn active_run<'w>(world: &'w World, cluster: &str, service: &str) -> Option<&'w BlueGreenRun> {
    let primary = world.ecs.service(cluster, service)?.deployments.first()?;
    let sd = world
        .ecs
        .service_deployments
        .get(&primary.service_deployment_arn)?;
    sd.blue_green.as_deref().filter(|r| r.active)
}

/// How the controller scales the service now, or `None` when no blue/green run is active.
pub fn scaling(world: &World, cluster: &str, service: &str) -> Option<Scaling> {
    active_run(world, cluster, service).map(|run| Scaling {
        start_target: run.scale_up_started,
        keep_sources: run.stage != api::ServiceDeploymentLifecycleStage::CleanUp,
        blue_deployment_id: run.blue_deployment_id.clone(),
    })
}

/// What the router and hooks need of the service deployment while its run is taken out.
pub(crate) struct DeploymentInfo {
    pub arn: String,
    pub cluster: String,
    pub service: String,
    pub service_arn: String,
    pub target_revision_arn: String,
    pub hooks: Vec<api::DeploymentLifecycleHook>,
}

impl DeploymentInfo {
    fn of(sd: &ServiceDeploymentRecord) -> Self {
        Self {
            arn: sd.arn.clone(),
            cluster: sd.cluster_name.clone(),
            service: sd.service_name.clone(),
            service_arn: sd.service_arn.clone(),
            target_revision_arn: sd.target_revision_arn.clone(),
            hooks: sd
                .deployment_configuration
                .lifecycle_hooks
                .clone()
                .unwrap_or_default(),
        }
    }
}

/// The executor's router for a service deployment: listener weights, stage work and hooks.
struct ServiceRouter<'r, 'c> {
    world: &'r mut World,
    ctx: &'r mut Ctx<'c>,
    run: &'r mut BlueGreenRun,
    info: &'r DeploymentInfo,
}

impl ServiceRouter<'_, '_> {
    /// Rewrites `rule` of every pair (production or test) to send `green_pct` to green.
    fn split(&mut self, green_pct: u32, test: bool) {
        let green = i32::try_from(green_pct.min(100)).unwrap_or(100);
        for pair in &self.run.pairs {
            let rule = if test {
                pair.test_rule.as_ref()
            } else {
                Some(&pair.production_rule)
            };
            let Some(rule) = rule else {
                continue;
            };
            let weights = [
                (pair.blue_tg.clone(), 100 - green),
                (pair.green_tg.clone(), green),
            ];
            if let Err(e) = crate::elbv2::weights::set_forward_weights(self.world, self.ctx, rule, &weights) {
                self.run.error.get_or_insert(format!(
                    "ECS could not update listener rule {rule}: {}",
                    e.message
                ));
            }
        }
    }

    /// The green revision runs its desired count of tasks, all healthy in their target groups.
    fn green_ready(&self) -> bool {
        let Some(cl) = self.world.ecs.clusters.get(&self.info.cluster) else {
            return false;
        };
        let Some(svc) = cl.services.get(&self.info.service) else {
            return false;
        };
        let Some(green) = svc.deployments.first() else {
            return false;
        };
        let healthy = cl
            .tasks_of_service(&self.info.service)
            .filter(|t| t.is_live() && t.deployment_id.as_deref() == Some(green.id.as_str()))
            .filter(|t| t.status == TaskStatus::Running && super::load_balancing::targets_healthy(t))
            .count();
        i64::try_from(healthy).unwrap_or(i64::MAX) >= i64::from(svc.desired_count)
    }

    /// CLEAN_UP: scales every revision but green to 0.
    fn clean_up(&mut self) {
        let (cluster, service) = (self.info.cluster.clone(), self.info.service.clone());
        let Some(svc) = self.world.ecs.service_mut(&cluster, &service) else {
            return;
        };
        let Some(green_id) = svc.deployments.first().map(|d| d.id.clone()) else {
            return;
        };
        for d in svc.deployments.iter_mut().skip(1) {
            d.desired_count = 0;
        }
        let Some(cl) = self.world.ecs.clusters.get(&cluster) else {
            return;
        };
        let blue_tasks: Vec<String> = cl
            .tasks_of_service(&service)
            .filter(|t| t.is_live() && t.deployment_id.as_deref() != Some(green_id.as_str()))
            .map(|t| t.id.clone())
            .collect();
        if blue_tasks.is_empty() {
            return;
        }
        for id in &blue_tasks {
            super::lifecycle::request_stop(
                self.world,
                self.ctx,
                id,
                api::TaskStopCode::ServiceSchedulerInitiated,
                format!("Scaling activity initiated by (deployment {green_id})"),
            );
        }
        let list: Vec<String> = blue_tasks.iter().map(|id| format!("(task {id})")).collect();
        let message = format!(
            "(service {service}) has stopped {} running tasks: {}.",
            blue_tasks.len(),
            list.join(" ")
        );
        super::service_loop::event(self.world, self.ctx, &cluster, &service, message);
    }
}

impl Router for ServiceRouter<'_, '_> {
    fn set_target_weight(&mut self, target_weight_pct: u32) {
        self.split(target_weight_pct, false);
        self.run.production_weight_pct = target_weight_pct.min(100);
    }

    fn gate(&mut self, name: &str, _entered_ms: Millis, now_ms: Millis) -> GateState {
        if let Some(reason) = self.run.error.take() {
            return GateState::Failed { reason };
        }
        let stage_name = stage::of_gate(name);
        if let Ok(s) = stage_name.parse() {
            self.run.stage = s;
        }
        match stage_name {
            stage::SCALE_UP => {
                if !self.run.scale_up_started {
                    // The controller starts green tasks on its next run.
                    self.run.scale_up_started = true;
                    let (cluster, service) = (self.info.cluster.clone(), self.info.service.clone());
                    super::service_loop::wake(self.world, self.ctx, &cluster, &service);
                }
                if !self.green_ready() {
                    // Task and target health changes wake the controller, which asks again.
                    return GateState::Waiting { recheck_at_ms: None };
                }
            }
            stage::TEST_TRAFFIC_SHIFT if self.run.test_weight_pct != 100 => {
                self.split(100, true);
                self.run.test_weight_pct = 100;
                if let Some(reason) = self.run.error.take() {
                    return GateState::Failed { reason };
                }
            }
            stage::CLEAN_UP => self.clean_up(),
            _ => {}
        }
        hooks::at_gate(self.ctx, self.run, self.info, name, now_ms)
    }
}

/// Runs the executor of an active blue/green service deployment with its router. `None` when the
/// deployment has no active run (the caller runs it without a router).
pub fn advance(world: &mut World, ctx: &mut Ctx<'_>, sd_arn: &str, seen: &Observation) -> Option<Advance> {
    let sd = world.ecs.service_deployments.get_mut(sd_arn)?;
    if !sd.blue_green.as_ref().is_some_and(|r| r.active) {
        return None;
    }
    // Taken out so the router can change the world the record lives in.
    let mut run = sd.blue_green.take()?;
    let mut executor = sd.execution.clone();
    let info = DeploymentInfo::of(sd);
    let now_ms = ctx.now_ms;
    let advance = {
        let mut router = ServiceRouter {
            world,
            ctx,
            run: &mut run,
            info: &info,
        };
        executor.advance(now_ms, seen, &mut router)
    };
    if let Some(s) = run.stages.get(executor.step_index()) {
        run.stage = *s;
    }
    if let Some(sd) = world.ecs.service_deployments.get_mut(sd_arn) {
        sd.execution = executor;
        sd.blue_green = Some(run);
    }
    Some(advance)
}

/// Ends the run of a deployment that finished (its stage stays as reached).
pub fn finish(world: &mut World, sd_arn: &str) {
    if let Some(run) = world
        .ecs
        .service_deployments
        .get_mut(sd_arn)
        .and_then(|sd| sd.blue_green.as_mut())
    {
        run.active = false;
    }
}

/// Rolls a failed blue/green deployment back: production and test traffic return 100% to blue,
/// blue becomes the PRIMARY deployment again at full size (its tasks never stopped), and the
/// green deployment, now ACTIVE with 0 desired, drains. Returns the service events, or `None`
/// when there is no run or its blue deployment is gone (the caller falls back to a rolling
/// rollback).
pub fn roll_back(world: &mut World, ctx: &mut Ctx<'_>, sd_arn: &str, reason: &str) -> Option<Vec<String>> {
    let sd = world.ecs.service_deployments.get(sd_arn)?;
    let run = sd.blue_green.as_deref().filter(|r| r.active)?.clone();
    let (cluster, service) = (sd.cluster_name.clone(), sd.service_name.clone());
    let svc = world.ecs.service_mut(&cluster, &service)?;
    let blue_index = svc
        .deployments
        .iter()
        .position(|d| d.id == run.blue_deployment_id)?;
    let now = ctx.now_ms;
    let mut blue = svc.deployments.remove(blue_index);
    for d in &mut svc.deployments {
        d.status = "ACTIVE";
        d.desired_count = 0;
    }
    blue.status = "PRIMARY";
    blue.desired_count = svc.desired_count;
    blue.rollout_state = api::DeploymentRolloutState::InProgress;
    blue.rollout_state_reason = format!("ECS deployment {} in progress.", blue.id);
    blue.service_deployment_arn = sd_arn.to_string();
    blue.updated_at_ms = now;
    svc.task_definition_arn = blue.task_definition_arn.clone();
    svc.network_configuration = blue.network_configuration.clone();
    let blue_id = blue.id.clone();
    svc.deployments.insert(0, blue);
    svc.steady_reported = false;
    for pair in &run.pairs {
        let split = [(pair.blue_tg.clone(), 100), (pair.green_tg.clone(), 0)];
        for rule in std::iter::once(&pair.production_rule).chain(pair.test_rule.as_ref()) {
            // A rule deleted meanwhile has no traffic to return; the rollback goes on.
            let _ = crate::elbv2::weights::set_forward_weights(world, ctx, rule, &split);
        }
    }
    let sd = world.ecs.service_deployments.get_mut(sd_arn)?;
    sd.status = api::ServiceDeploymentStatus::RollbackInProgress;
    sd.status_reason = Some(reason.to_string());
    sd.rollback = Some(api::Rollback {
        reason: Some(reason.to_string()),
        started_at: Some(super::common::ts(now)),
        service_revision_arn: Some(run.blue_revision_arn.clone()),
    });
    // The rollback is done when blue runs its desired count and green is gone.
    sd.execution = Executor::new(Plan::rolling(None), Monitors::default(), now);
    if let Some(r) = sd.blue_green.as_mut() {
        r.active = false;
        r.production_weight_pct = 0;
        r.test_weight_pct = 0;
    }
    super::service_loop::wake(world, ctx, &cluster, &service);
    Some(vec![format!(
        "(service {service}) rolling back to deployment {blue_id}."
    )])
}

/// `lifecycleStage` and `lifecycleHookDetails` of a service deployment.
pub fn render_lifecycle(
    sd: &ServiceDeploymentRecord,
) -> (
    Option<api::ServiceDeploymentLifecycleStage>,
    Option<Vec<api::DeploymentLifecycleHookDetail>>,
) {
    match &sd.blue_green {
        Some(run) => (
            Some(run.stage),
            Some(run.hooks.iter().map(hooks::HookRun::detail).collect()),
        ),
        None => (None, None),
    }
}

/// (production, test) traffic weights requested for `revision_arn` by a blue/green deployment.
pub fn requested_weights(sd: &ServiceDeploymentRecord, revision_arn: &str) -> Option<(f64, f64)> {
    let run = sd.blue_green.as_ref()?;
    let (production, test) = (
        f64::from(run.production_weight_pct),
        f64::from(run.test_weight_pct),
    );
    if revision_arn == sd.target_revision_arn {
        Some((production, test))
    } else if revision_arn == run.blue_revision_arn {
        Some((100.0 - production, 100.0 - test))
    } else {
        Some((0.0, 0.0))
    }
}

#[cfg(test)]
mod tests;
