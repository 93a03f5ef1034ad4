//! The engine: owns every world, the seeded RNG and the deadline queue; applies API calls and runs
//! controllers when their deadlines pass.
//!
//! It never reads a clock: every entry point takes `now_ms` from its driver (live or simulated).
//! It never does IO: the simulated runtime lives inside it as data.

use std::collections::BTreeMap;

use ecsim_core::{Millis, Rng};
use ecsim_protocol::AwsError;
use ecsim_protocol::route::Caller;
use ecsim_protocol::schema::{OperationSchema, ServiceSchema};
use serde_json::Value;

use crate::alarms::AlarmSource;
use crate::runtime::SimTimings;
use crate::sts::Sessions;
use crate::task_runtime::{RuntimeCommand, RuntimeEvent, RuntimeKind, RuntimePort};
use crate::timers::{TimerKind, Timers};
use crate::topology::TopologyConfig;
use crate::world::World;

/// The per-call context for world `$index`, borrowing the engine's parts field by field (a
/// method could not: the world is borrowed mutably from the same engine at the same time).
macro_rules! ctx {
    ($engine:expr, $index:expr) => {
        Ctx {
            now_ms: $engine.now_ms,
            rng: &mut $engine.rng,
            timers: &mut $engine.timers,
            world_index: $index,
            sim: &$engine.config.sim,
            alarms: alarm_source(&$engine.alarm_override, &$engine.cloudwatch),
            runtime: &mut $engine.runtime,
            functions: &mut $engine.functions,
        }
    };
}

/// How an engine starts.
#[derive(Debug, Clone)]
pub struct EngineConfig {
    /// Account for requests whose access key is not twelve digits.
    pub default_account_id: String,
    /// Region for requests that carry no SigV4 credential scope.
    pub default_region: String,
    pub seed: u64,
    pub topology: TopologyConfig,
    pub sim: SimTimings,
    /// Which backend runs containers.
    pub runtime: RuntimeKind,
}

impl Default for EngineConfig {
    fn default() -> Self {
        Self {
            default_account_id: "000000000000".into(),
            default_region: "us-east-1".into(),
            seed: 0,
            topology: TopologyConfig::default(),
            sim: SimTimings::default(),
            runtime: RuntimeKind::Simulated,
        }
    }
}

/// Per-call inputs every handler gets besides its world.
pub struct Ctx<'a> {
    pub now_ms: Millis,
    pub rng: &'a mut Rng,
    pub timers: &'a mut Timers,
    pub world_index: usize,
    pub sim: &'a SimTimings,
    /// Alarm state for deployment alarms.
    pub alarms: &'a dyn AlarmSource,
    /// Commands for an external task runtime.
    pub runtime: &'a mut RuntimePort,
    /// Local stand-ins for Lambda functions (lifecycle hooks), and their invocations.
    pub functions: &'a mut crate::functions::Functions,
}

/// Credentials handed to a task for its task role.
#[derive(Debug, Clone)]
pub struct TaskRoleCredentials {
    pub role_arn: String,
    pub credentials: ecsim_api::sts::Credentials,
}

/// Who is calling, resolved from the access key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    pub account_id: String,
    pub access_key_id: String,
    /// The assumed-role session behind a key issued by AssumeRole.
    pub session: Option<crate::sts::Session>,
}

pub struct Engine {
    config: EngineConfig,
    worlds: Vec<World>,
    world_index: BTreeMap<(String, String), usize>,
    rng: Rng,
    timers: Timers,
    sessions: Sessions,
    /// A test double that replaces CloudWatch as the source of deployment alarm states.
    alarm_override: Option<std::sync::Arc<dyn AlarmSource>>,
    cloudwatch: crate::cloudwatch::CloudWatch,
    /// Metrics ecsim computed itself since the last `take_metrics` (also stored in CloudWatch).
    emitted: Vec<ecsim_core::MetricDatum>,
    /// Worlds whose per-minute ECS utilization timer is scheduled.
    utilization_armed: std::collections::BTreeSet<usize>,
    runtime: RuntimePort,
    functions: crate::functions::Functions,
    now_ms: Millis,
    routing: crate::elbv2::RoutingPublication,
    traffic: crate::traffic::Traffic,
}

impl Engine {
    pub fn new(config: EngineConfig, now_ms: Millis) -> Self {
        let rng = Rng::seeded(config.seed);
        let runtime = RuntimePort::new(config.runtime);
        Self {
            config,
            worlds: Vec::new(),
            world_index: BTreeMap::new(),
            rng,
            timers: Timers::default(),
            sessions: Sessions::default(),
            alarm_override: None,
            cloudwatch: crate::cloudwatch::CloudWatch::default(),
            emitted: Vec::new(),
            utilization_armed: std::collections::BTreeSet::new(),
            runtime,
            functions: crate::functions::Functions::default(),
            now_ms,
            routing: crate::elbv2::RoutingPublication::default(),
            traffic: crate::traffic::Traffic::default(),
        }
    }

    /// Replaces CloudWatch as the source of deployment alarm states (a test double).
    pub fn set_alarm_source(&mut self, alarms: std::sync::Arc<dyn AlarmSource>) {
        self.alarm_override = Some(alarms);
    }

    /// The state of a CloudWatch alarm in (account, region), as deployment controllers see it.
    pub fn alarm_state(
        &self,
        account_id: &str,
        region: &str,
        alarm_name: &str,
    ) -> Option<crate::alarms::AlarmState> {
        alarm_source(&self.alarm_override, &self.cloudwatch).state(account_id, region, alarm_name)
    }

    /// Sets an alarm's state as SetAlarmState does (the fault API's "force an alarm state"):
    /// it holds until the alarm's next evaluation. Err when no such alarm exists.
    pub fn force_alarm_state(
        &mut self,
        account_id: &str,
        region: &str,
        alarm_name: &str,
        state: crate::alarms::AlarmState,
        reason: &str,
    ) -> Result<(), String> {
        let now_ms = self.now_ms;
        self.cloudwatch
            .force_state(account_id, region, alarm_name, state, reason, now_ms)
    }

    pub fn config(&self) -> &EngineConfig {
        &self.config
    }

    pub fn now_ms(&self) -> Millis {
        self.now_ms
    }

    /// Removes everything created through the APIs; the startup topology comes back with the next
    /// request to each world. The RNG is re-seeded so a reset run replays like a fresh one.
    pub fn reset(&mut self) {
        self.worlds.clear();
        self.world_index.clear();
        self.timers.clear();
        self.sessions = Sessions::default();
        self.rng = Rng::seeded(self.config.seed);
        self.runtime.drain();
        self.runtime.submit(RuntimeCommand::Reset);
        self.routing.invalidate();
        self.traffic = crate::traffic::Traffic::default();
        self.cloudwatch.clear();
        self.emitted.clear();
        self.utilization_armed.clear();
        self.functions.clear_invocations();
    }

    /// Starts a simulated traffic run at the engine's time; returns its id. The first batch goes
    /// out now, then one every second of engine time until the run's duration is over.
    pub fn start_traffic(&mut self, spec: crate::traffic::TrafficSpec) -> Result<String, String> {
        spec.validate()?;
        let routes = self.current_routes();
        let known = routes
            .load_balancers
            .iter()
            .any(|lb| lb.arn == spec.load_balancer || lb.dns_name.eq_ignore_ascii_case(&spec.load_balancer));
        if !known {
            return Err(format!(
                "no load balancer with the ARN or DNS name '{}' has a listener",
                spec.load_balancer
            ));
        }
        let id = self.traffic.start(self.now_ms, spec);
        self.timers
            .schedule(self.now_ms, 0, TimerKind::Traffic { run: id.clone() });
        Ok(id)
    }

    /// Stops a traffic run; false when there is no such run.
    pub fn stop_traffic(&mut self, id: &str) -> bool {
        self.traffic.stop(id)
    }

    /// Every traffic run with its counts so far.
    pub fn traffic_runs(&self) -> &[crate::traffic::TrafficRun] {
        self.traffic.runs()
    }

    /// Metrics ecsim computed itself (simulated traffic) for minutes that ended. They are
    /// already in CloudWatch; this hands them to the emulator's recent-metrics listing.
    pub fn take_metrics(&mut self) -> Vec<ecsim_core::MetricDatum> {
        std::mem::take(&mut self.emitted)
    }

    /// Stores metrics emitted outside the engine (the load balancer data plane) in the
    /// CloudWatch of the (account, region) that owns the resource they describe. Data about
    /// resources no world knows (deleted since) is dropped. Call before advancing the engine, so
    /// evaluations that come due see the data.
    pub fn put_emitted_metrics(&mut self, data: Vec<ecsim_core::MetricDatum>) {
        self.store_emitted(&data);
    }

    fn store_emitted(&mut self, data: &[ecsim_core::MetricDatum]) {
        let mut by_world: BTreeMap<usize, Vec<ecsim_core::MetricDatum>> = BTreeMap::new();
        for datum in data {
            if let Some(index) = self.owner_of(datum) {
                by_world.entry(index).or_default().push(datum.clone());
            }
        }
        for (index, data) in by_world {
            let world = &self.worlds[index];
            self.cloudwatch
                .put_emitted(&world.account_id, &world.region, &data, self.now_ms);
        }
    }

    /// The world a datum belongs to: by its load balancer or target group dimension for
    /// AWS/ApplicationELB, by account and region dimensions otherwise.
    fn owner_of(&self, datum: &ecsim_core::MetricDatum) -> Option<usize> {
        let dimension = |name: &str| {
            datum
                .dimensions
                .iter()
                .find(|(n, _)| n == name)
                .map(|(_, v)| v.as_str())
        };
        if let Some(lb) = dimension("LoadBalancer") {
            return self.worlds.iter().position(|w| {
                w.elbv2
                    .load_balancers
                    .contains_key(&w.arn("elasticloadbalancing", &format!("loadbalancer/{lb}")))
            });
        }
        if let Some(tg) = dimension("TargetGroup") {
            return self.worlds.iter().position(|w| {
                w.elbv2
                    .target_groups
                    .contains_key(&w.arn("elasticloadbalancing", tg))
            });
        }
        None
    }

    /// Reports the minute that just ended for one world, then re-arms while it has work.
    fn report_utilization(&mut self, world_index: usize) {
        let Some(world) = self.worlds.get(world_index) else {
            return;
        };
        let minute_end = self.now_ms - self.now_ms % crate::ecs::utilization::MINUTE_MS;
        let minute_start = minute_end.saturating_sub(crate::ecs::utilization::MINUTE_MS);
        let data = crate::ecs::utilization::minute_metrics(world, minute_start);
        let busy = crate::ecs::utilization::has_workload(world);
        let (account_id, region) = (world.account_id.clone(), world.region.clone());
        if !data.is_empty() {
            self.cloudwatch
                .put_emitted(&account_id, &region, &data, self.now_ms);
            self.emitted.extend(data);
        }
        if busy {
            self.timers.schedule(
                minute_end + crate::ecs::utilization::MINUTE_MS,
                world_index,
                TimerKind::EcsMetrics,
            );
        } else {
            self.utilization_armed.remove(&world_index);
        }
    }

    /// Schedules the per-minute utilization report of a world that has clusters with work.
    fn arm_utilization(&mut self, world_index: usize) {
        if self.utilization_armed.contains(&world_index) {
            return;
        }
        let Some(world) = self.worlds.get(world_index) else {
            return;
        };
        if crate::ecs::utilization::has_workload(world) {
            self.utilization_armed.insert(world_index);
            let minute = crate::ecs::utilization::MINUTE_MS;
            self.timers.schedule(
                self.now_ms - self.now_ms % minute + minute,
                world_index,
                TimerKind::EcsMetrics,
            );
        }
    }

    /// Records what the runtime measured for a task: CPU and memory as percent of its
    /// reservation (Docker stats). Unknown tasks are ignored.
    pub fn observe_utilization(&mut self, world_index: usize, task_id: &str, cpu_pct: f64, memory_pct: f64) {
        let Some(world) = self.worlds.get_mut(world_index) else {
            return;
        };
        for cluster in world.ecs.clusters.values_mut() {
            if let Some(task) = cluster.tasks.values_mut().find(|t| t.id == task_id) {
                task.measured_utilization = Some((cpu_pct, memory_pct));
                return;
            }
        }
    }

    fn traffic_tick(&mut self, run: &str) {
        let routes = self.current_routes();
        let more = self.traffic.tick(run, self.now_ms, &routes);
        let data = self.traffic.take_metrics();
        if !data.is_empty() {
            self.store_emitted(&data);
            self.emitted.extend(data);
        }
        if more {
            let at = self.now_ms + crate::traffic::TICK_MS;
            self.timers
                .schedule(at, 0, TimerKind::Traffic { run: run.to_string() });
        }
    }

    /// Takes the commands queued for the external runtime, in issue order.
    pub fn take_runtime_commands(&mut self) -> Vec<RuntimeCommand> {
        self.runtime.drain()
    }

    /// Applies an event from the external runtime at `now_ms` (after catching controllers up).
    pub fn observe(&mut self, now_ms: Millis, event: RuntimeEvent) {
        self.advance_to(now_ms);
        let world_index = event.key.world;
        let Some(world) = self.worlds.get_mut(world_index) else {
            return;
        };
        let mut ctx = ctx!(self, world_index);
        crate::ecs::lifecycle::on_runtime_event(world, &mut ctx, &event.key.task_id, event.kind);
    }

    /// Registers (or replaces) the local stand-in for Lambda function `name` (a name or an ARN).
    pub fn register_function(&mut self, name: &str, target: crate::functions::FunctionTarget) {
        self.functions.register(name, target);
    }

    /// Forgets a function stand-in. Returns whether it was registered.
    pub fn remove_function(&mut self, name: &str) -> bool {
        self.functions.remove(name)
    }

    /// The registered function stand-ins by name.
    pub fn functions(&self) -> &std::collections::BTreeMap<String, crate::functions::FunctionTarget> {
        self.functions.targets()
    }

    /// Takes the function invocations queued for the edge (hooks to call).
    pub fn take_invocations(&mut self) -> Vec<crate::functions::Invocation> {
        self.functions.take_invocations()
    }

    /// Applies how an invocation ended at `now_ms` (after catching controllers up). An outcome
    /// for an unknown or already completed invocation is ignored.
    pub fn complete_invocation(
        &mut self,
        now_ms: Millis,
        id: u64,
        outcome: crate::functions::InvocationOutcome,
    ) {
        self.advance_to(now_ms);
        let Some(purpose) = self.functions.complete(id) else {
            return;
        };
        match purpose {
            crate::functions::InvocationPurpose::CodeDeployHook {
                world,
                deployment_id,
                execution_id,
            } => self.world_timer(world, |world, ctx| {
                crate::codedeploy::run::on_invocation_outcome(
                    world,
                    ctx,
                    &deployment_id,
                    &execution_id,
                    outcome,
                );
            }),
            crate::functions::InvocationPurpose::EcsHook {
                world,
                service_deployment_arn,
                hook_id,
            } => self.world_timer(world, |world, ctx| {
                crate::ecs::deployments::on_hook_outcome(
                    world,
                    ctx,
                    &service_deployment_arn,
                    &hook_id,
                    outcome,
                );
            }),
        }
    }

    /// Takes the health-check probes queued for the data plane, world by world.
    pub fn take_probe_requests(&mut self) -> Vec<ecsim_elb::ProbeRequest> {
        self.worlds
            .iter_mut()
            .flat_map(crate::elbv2::take_probe_requests)
            .collect()
    }

    /// Applies a probe result from the data plane at `now_ms` (after catching controllers up);
    /// results of stale probes or of targets that are gone are ignored.
    pub fn observe_probe(&mut self, now_ms: Millis, result: ecsim_elb::ProbeResult) {
        self.advance_to(now_ms);
        let world_index = result.key.world;
        let Some(world) = self.worlds.get_mut(world_index) else {
            return;
        };
        let mut ctx = ctx!(self, world_index);
        crate::elbv2::on_probe_result(world, &mut ctx, result);
    }

    /// The worlds and the routing publication state, for `elbv2::snapshot`.
    pub(crate) fn routing_parts(&mut self) -> (&mut [World], &mut crate::elbv2::RoutingPublication) {
        (&mut self.worlds, &mut self.routing)
    }

    /// Every world, for read-only views (the emulator's task listing).
    pub fn worlds(&self) -> &[World] {
        &self.worlds
    }

    /// Temporary credentials for the task role of the task holding `credentials_id`, as the
    /// task credentials endpoint serves them. `None` when no live task holds that id.
    pub fn task_role_credentials(&mut self, credentials_id: &str) -> Option<TaskRoleCredentials> {
        let task_id = credentials_id.split('.').next()?;
        let (role_arn, task_id) = self.worlds.iter().find_map(|w| {
            let t = w.ecs.task(task_id)?;
            (t.credentials_id.as_deref() == Some(credentials_id)
                && t.status < crate::ecs::state::TaskStatus::Stopped)
                .then(|| (t.task_role_arn.clone(), t.id.clone()))
        })?;
        let role_arn = role_arn?;
        let creds = crate::sts::issue_task_role_credentials(
            &mut self.sessions,
            &mut self.rng,
            self.now_ms,
            &role_arn,
            &task_id,
        )?;
        Some(TaskRoleCredentials {
            role_arn,
            credentials: creds,
        })
    }

    /// A request id drawn from the seeded RNG.
    pub fn request_id(&mut self) -> String {
        self.rng.uuid()
    }

    /// The earliest time a controller wants to run.
    pub fn next_deadline(&self) -> Option<Millis> {
        self.timers.next_deadline()
    }

    /// How many controller runs are queued (a runaway controller shows here first).
    pub fn pending_timers(&self) -> usize {
        self.timers.len()
    }

    /// Runs every controller whose deadline is at or before `now_ms`, in deadline order, then sets
    /// the engine's time to `now_ms`. Time never goes backwards.
    pub fn advance_to(&mut self, now_ms: Millis) {
        while let Some(timer) = self.timers.pop_due(now_ms) {
            self.now_ms = self.now_ms.max(timer.at_ms);
            match timer.kind {
                TimerKind::Traffic { run } => self.traffic_tick(&run),
                TimerKind::Alarm(alarm) => self.alarm_timer(timer.world, alarm),
                TimerKind::EcsMetrics => self.report_utilization(timer.world),
                TimerKind::Fault { fault_id, end } => self.fault_timer(timer.world, &fault_id, end),
                TimerKind::TaskStep { task_id } => self.world_timer(timer.world, |world, ctx| {
                    crate::ecs::lifecycle::step_task(world, ctx, &task_id);
                }),
                TimerKind::ServiceCheck { cluster, service } => {
                    self.world_timer(timer.world, |world, ctx| {
                        crate::ecs::service_loop::run(world, ctx, &cluster, &service);
                    })
                }
                TimerKind::Elbv2(elbv2) => self.world_timer(timer.world, |world, ctx| {
                    crate::elbv2::on_timer(world, ctx, elbv2);
                }),
                TimerKind::CodeDeploy { deployment_id } => self.world_timer(timer.world, |world, ctx| {
                    crate::codedeploy::on_timer(world, ctx, &deployment_id);
                }),
            }
        }
        self.now_ms = self.now_ms.max(now_ms);
    }

    /// Runs a world's controller with the per-call context (nothing when the world is gone).
    fn world_timer(&mut self, world_index: usize, run: impl FnOnce(&mut World, &mut Ctx<'_>)) {
        let Some(world) = self.worlds.get_mut(world_index) else {
            return;
        };
        let mut ctx = ctx!(self, world_index);
        run(world, &mut ctx);
    }

    /// A CloudWatch alarm evaluation came due in a world's region.
    fn alarm_timer(&mut self, world_index: usize, alarm: crate::cloudwatch::AlarmTimer) {
        let Some(world) = self.worlds.get(world_index) else {
            return;
        };
        self.cloudwatch.on_timer(
            &world.account_id,
            &world.region,
            world_index,
            alarm,
            self.now_ms,
            &mut self.timers,
        );
    }

    /// Resolves the calling principal: an AssumeRole session key, a twelve-digit access key (its
    /// own account), or the default account.
    pub fn principal(&self, caller: &Caller) -> Principal {
        let access_key_id = caller.access_key_id.clone().unwrap_or_default();
        if let Some(session) = self.sessions.get(&access_key_id) {
            return Principal {
                account_id: session.account_id.clone(),
                access_key_id,
                session: Some(session.clone()),
            };
        }
        let account_id = if ecsim_core::ids::is_account_id(&access_key_id) {
            access_key_id.clone()
        } else {
            self.config.default_account_id.clone()
        };
        Principal {
            account_id,
            access_key_id,
            session: None,
        }
    }

    fn region_of(&self, caller: &Caller) -> String {
        match caller.region.as_deref() {
            Some(r) if is_region_name(r) => r.to_string(),
            _ => self.config.default_region.clone(),
        }
    }

    fn world_for(&mut self, account_id: &str, region: &str) -> usize {
        let key = (account_id.to_string(), region.to_string());
        if let Some(&i) = self.world_index.get(&key) {
            return i;
        }
        self.worlds
            .push(World::new(account_id, region, &self.config.topology));
        let i = self.worlds.len() - 1;
        self.world_index.insert(key, i);
        i
    }

    /// Applies one API call at `now_ms`: catches controllers up to `now_ms`, then runs the handler.
    /// `input` has already been validated against the operation's input shape.
    pub fn handle(
        &mut self,
        now_ms: Millis,
        service: &ServiceSchema,
        operation: &OperationSchema,
        input: Value,
        caller: &Caller,
    ) -> Result<Value, AwsError> {
        self.advance_to(now_ms);
        let principal = self.principal(caller);
        let region = self.region_of(caller);
        let world_index = self.world_for(&principal.account_id, &region);
        let world = &mut self.worlds[world_index];
        let mut ctx = ctx!(self, world_index);
        match service.name {
            "ecs" => {
                let op = operation_of(ecsim_api::ecs::Operation::from_name, service, operation)?;
                let mut handler = crate::ecs::EcsHandler { world, ctx: &mut ctx };
                let result = ecsim_api::ecs::dispatch(&mut handler, op, input);
                self.arm_utilization(world_index);
                result
            }
            "ec2" => {
                let op = operation_of(ecsim_api::ec2::Operation::from_name, service, operation)?;
                let mut handler = crate::ec2::Ec2Handler { world, ctx: &mut ctx };
                ecsim_api::ec2::dispatch(&mut handler, op, input)
            }
            "sts" => {
                let op = operation_of(ecsim_api::sts::Operation::from_name, service, operation)?;
                let mut handler = crate::sts::StsHandler {
                    principal: &principal,
                    sessions: &mut self.sessions,
                    ctx: &mut ctx,
                };
                ecsim_api::sts::dispatch(&mut handler, op, input)
            }
            "elbv2" => {
                let op = operation_of(ecsim_api::elbv2::Operation::from_name, service, operation)?;
                let mut handler = crate::elbv2::Elbv2Handler { world, ctx: &mut ctx };
                ecsim_api::elbv2::dispatch(&mut handler, op, input)
            }
            "codedeploy" => {
                let op = operation_of(ecsim_api::codedeploy::Operation::from_name, service, operation)?;
                let mut handler = crate::codedeploy::CodeDeployHandler { world, ctx: &mut ctx };
                ecsim_api::codedeploy::dispatch(&mut handler, op, input)
            }
            "cloudwatch" => {
                let op = operation_of(ecsim_api::cloudwatch::Operation::from_name, service, operation)?;
                let (account_id, region) = (world.account_id.clone(), world.region.clone());
                let mut handler = crate::cloudwatch::CloudWatchHandler {
                    state: self.cloudwatch.region_mut(&account_id, &region),
                    now_ms: self.now_ms,
                    timers: &mut self.timers,
                    world_index,
                    account_id: &account_id,
                    region: &region,
                };
                ecsim_api::cloudwatch::dispatch(&mut handler, op, input)
            }
            _ => Err(AwsError::not_implemented(service.service_id, operation.name)),
        }
    }

    /// Read access to a world, for tests and the emulator API.
    pub fn world(&self, account_id: &str, region: &str) -> Option<&World> {
        self.world_index
            .get(&(account_id.to_string(), region.to_string()))
            .map(|&i| &self.worlds[i])
    }

    /// A JSON snapshot of every world as its APIs describe it, with the engine's time and seed
    /// (`GET /_ecsim/state`).
    pub fn export_state(&mut self) -> Result<Value, AwsError> {
        let mut worlds = Vec::new();
        for world_index in 0..self.worlds.len() {
            let world = &mut self.worlds[world_index];
            let cloudwatch = self.cloudwatch.region(&world.account_id, &world.region);
            let mut ctx = ctx!(self, world_index);
            worlds.push(crate::export::world_snapshot(world, &mut ctx, cloudwatch)?);
        }
        Ok(serde_json::json!({
            "nowMs": self.now_ms,
            "seed": self.config.seed,
            "worlds": worlds,
        }))
    }

    /// Number of tasks known across all worlds (for the health endpoint).
    pub fn task_count(&self) -> usize {
        self.worlds.iter().map(|w| w.ecs.task_count()).sum()
    }

    /// Injects a fault (the emulator's fault API): validates `spec` as a whole against its world
    /// (nothing changes when it fails: the message says why), then applies it at the engine's
    /// time or schedules it. Returns the fault's view.
    pub fn inject_fault(&mut self, spec: Value) -> Result<Value, String> {
        let parsed = crate::faults::parse(
            &spec,
            &self.config.default_account_id,
            &self.config.default_region,
            self.now_ms,
        )?;
        let external = self.runtime.is_external();
        let key = (parsed.account_id.clone(), parsed.region.clone());
        let resolved = match self.world_index.get(&key) {
            Some(&i) => crate::faults::resolve(&parsed, &self.worlds[i], self.now_ms, external),
            // Nothing was created there yet: validate against the startup topology.
            None => {
                let fresh = World::new(&key.0, &key.1, &self.config.topology);
                crate::faults::resolve(&parsed, &fresh, self.now_ms, external)
            }
        }?;
        if let Some(alarm) = parsed.alarm_name()
            && self.alarm_state(&key.0, &key.1, alarm).is_none()
        {
            return Err(format!(
                "alarm {alarm} does not exist in account {} region {}",
                key.0, key.1
            ));
        }
        let n: u64 = self.worlds.iter().map(|w| w.faults.created).sum::<u64>() + 1;
        let id = format!("fault-{n}");
        let world_index = self.world_for(&key.0, &key.1);
        let world = &mut self.worlds[world_index];
        let mut ctx = ctx!(self, world_index);
        let alarm = crate::faults::inject(world, &mut ctx, &id, resolved, spec);
        self.force_fault_alarm(world_index, alarm);
        Ok(self.fault(&id).unwrap_or(Value::Null))
    }

    /// Every fault of every world, oldest first.
    pub fn faults(&self) -> Value {
        let mut rows: Vec<(Millis, u64, Value)> = Vec::new();
        for world in &self.worlds {
            for r in &world.faults.records {
                let n = r.id.trim_start_matches("fault-").parse().unwrap_or(0);
                rows.push((r.created_at_ms, n, crate::faults::view(world, r)));
            }
        }
        rows.sort_by_key(|(at, n, _)| (*at, *n));
        serde_json::json!({ "faults": rows.into_iter().map(|(_, _, v)| v).collect::<Vec<_>>() })
    }

    /// One fault's view, `None` when no world has it.
    pub fn fault(&self, id: &str) -> Option<Value> {
        self.worlds
            .iter()
            .find_map(|w| w.faults.record(id).map(|r| crate::faults::view(w, r)))
    }

    /// Cancels a scheduled fault or ends an active one now. `Ok(None)` when no fault has that id;
    /// `Err` when it can no longer be cancelled (it happened, ended or failed).
    pub fn cancel_fault(&mut self, id: &str) -> Result<Option<Value>, String> {
        let Some(world) = self.worlds.iter_mut().find(|w| w.faults.record(id).is_some()) else {
            return Ok(None);
        };
        crate::faults::cancel(world, self.now_ms, id)?;
        Ok(self.fault(id))
    }

    /// The fault event log of every world in time order, the last `limit` entries.
    pub fn fault_events(&self, limit: usize) -> Value {
        let mut rows: Vec<(Millis, usize, u64, Value)> = Vec::new();
        for (i, world) in self.worlds.iter().enumerate() {
            for e in &world.faults.events {
                rows.push((e.at_ms, i, e.seq, crate::faults::event_view(world, e)));
            }
        }
        rows.sort_by_key(|(at, i, seq, _)| (*at, *i, *seq));
        let skip = rows.len().saturating_sub(limit);
        serde_json::json!({ "events": rows.into_iter().skip(skip).map(|r| r.3).collect::<Vec<_>>() })
    }

    /// A fault timer fired in world `world_index`.
    fn fault_timer(&mut self, world_index: usize, fault_id: &str, end: bool) {
        let Some(world) = self.worlds.get_mut(world_index) else {
            return;
        };
        let mut ctx = ctx!(self, world_index);
        let alarm = crate::faults::on_timer(world, &mut ctx, fault_id, end);
        self.force_fault_alarm(world_index, alarm);
    }

    /// Forces the alarm an `alarmState` fault names (CloudWatch lives outside the worlds).
    fn force_fault_alarm(&mut self, world_index: usize, request: Option<crate::faults::AlarmRequest>) {
        let Some(request) = request else {
            return;
        };
        let Some(world) = self.worlds.get(world_index) else {
            return;
        };
        let (account_id, region) = (world.account_id.clone(), world.region.clone());
        let result = self.force_alarm_state(
            &account_id,
            &region,
            &request.alarm_name,
            request.state,
            &request.reason,
        );
        crate::faults::alarm_forced(&mut self.worlds[world_index], self.now_ms, &request, result);
    }
}

fn operation_of<O>(
    from_name: fn(&str) -> Option<O>,
    service: &ServiceSchema,
    operation: &OperationSchema,
) -> Result<O, AwsError> {
    from_name(operation.name).ok_or_else(|| AwsError::not_implemented(service.service_id, operation.name))
}

/// `us-east-1`, `eu-central-2`, `us-gov-west-1`…: lowercase words and a trailing number.
pub(crate) fn is_region_name(s: &str) -> bool {
    let parts: Vec<&str> = s.split('-').collect();
    parts.len() >= 3
        && parts.len() <= 4
        && parts
            .last()
            .is_some_and(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()))
        && parts[..parts.len() - 1]
            .iter()
            .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_lowercase()))
}

/// Where deployment controllers read alarm states: the test double when one is set, else CloudWatch.
fn alarm_source<'a>(
    alarm_override: &'a Option<std::sync::Arc<dyn AlarmSource>>,
    cloudwatch: &'a crate::cloudwatch::CloudWatch,
) -> &'a dyn AlarmSource {
    match alarm_override {
        Some(source) => source.as_ref(),
        None => cloudwatch,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn region_names() {
        assert!(is_region_name("us-east-1"));
        assert!(is_region_name("us-gov-west-1"));
        assert!(!is_region_name("useast1"));
        assert!(!is_region_name("us-east-x"));
        assert!(!is_region_name("US-EAST-1"));
    }
}
