//! Fault injection: the record of each world's faults with their event log, and applying, ending
//! and cancelling them. Parsing and validating specs is in `spec`; what active faults do to the
//! routing snapshot builder, the health checker and placement is in `effects`.
//!
//! Pure like the rest of the control plane: it reads no clock (times come from `Ctx` and the
//! engine), never sleeps and does no IO (a Docker crash is a `RuntimeCommand` the edge carries
//! out). Validation happens before anything changes: a spec that fails it leaves every world as
//! it was. It must not bypass the ECS and ELBv2 paths: a stopped task stops through
//! `lifecycle::request_stop`, a failing target goes unhealthy through the group's thresholds.

use std::collections::VecDeque;

use ecsim_core::Millis;
use serde_json::{Value, json};

use crate::alarms::AlarmState;
use crate::ecs::state::TaskStatus;
use crate::engine::Ctx;
use crate::timers::TimerKind;
use crate::world::World;

mod effects;
mod spec;

pub use effects::{health_failure, shape_dial, zone_refusal, zones_down};
pub use spec::{FaultSpec, ParsedSpec, When, parse, resolve};

/// Events kept per world; the oldest go first.
pub const MAX_EVENTS: usize = 10_000;
/// Fault records kept per world; the oldest finished ones go first.
pub const MAX_FAULTS: usize = 10_000;
/// Longest latency a fault may add.
pub const MAX_LATENCY_MS: u64 = 600_000;
/// Longest `afterSeconds` / `durationSeconds`: a year.
const MAX_SECONDS: f64 = 31_536_000.0;
/// The exit code a SIGKILLed container reports (128 + 9).
pub const SIGKILL_EXIT_CODE: i32 = 137;

/// Which resources a latency, error-rate or health fault applies to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scope {
    /// One task (its targets in every group).
    Task { task_id: String, task_arn: String },
    /// Every target of one target group.
    TargetGroup { arn: String },
    /// Every task of one task definition revision (full ARN).
    TaskDefinition { arn: String },
}

/// What a fault does, with every resource resolved.
#[derive(Debug, Clone, PartialEq)]
pub enum FaultKind {
    StopTask {
        task_id: String,
        reason: String,
    },
    CrashTask {
        task_id: String,
        exit_code: i32,
    },
    FailHealthChecks {
        scope: Scope,
    },
    Latency {
        scope: Scope,
        latency_ms: u64,
    },
    ErrorRate {
        scope: Scope,
        error_rate_pct: f64,
        status_code: u16,
    },
    AzOutage {
        zone: String,
    },
    AzRecovery {
        zone: String,
    },
    AlarmState {
        alarm_name: String,
        state: AlarmState,
        reason: String,
    },
}

impl FaultKind {
    /// The `type` the API names it by.
    pub fn type_name(&self) -> &'static str {
        match self {
            FaultKind::StopTask { .. } => "stopTask",
            FaultKind::CrashTask { .. } => "crashTask",
            FaultKind::FailHealthChecks { .. } => "failHealthChecks",
            FaultKind::Latency { .. } => "latency",
            FaultKind::ErrorRate { .. } => "errorRate",
            FaultKind::AzOutage { .. } => "azOutage",
            FaultKind::AzRecovery { .. } => "azRecovery",
            FaultKind::AlarmState { .. } => "alarmState",
        }
    }

    /// Whether the fault lasts (until its duration ends or it is cancelled) rather than happening
    /// once.
    pub fn lasts(&self) -> bool {
        matches!(
            self,
            FaultKind::FailHealthChecks { .. }
                | FaultKind::Latency { .. }
                | FaultKind::ErrorRate { .. }
                | FaultKind::AzOutage { .. }
        )
    }
}

// === Records and the event log ===

/// Where a fault is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FaultStatus {
    /// Waiting for its time.
    Scheduled,
    /// A lasting fault in effect.
    Active,
    /// A one-off fault that happened.
    Applied,
    /// A lasting fault whose duration ended (or that a recovery ended).
    Ended,
    Cancelled,
    /// It could not happen when its time came (the task had gone, say).
    Failed,
}

impl FaultStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            FaultStatus::Scheduled => "scheduled",
            FaultStatus::Active => "active",
            FaultStatus::Applied => "applied",
            FaultStatus::Ended => "ended",
            FaultStatus::Cancelled => "cancelled",
            FaultStatus::Failed => "failed",
        }
    }

    fn finished(self) -> bool {
        !matches!(self, FaultStatus::Scheduled | FaultStatus::Active)
    }
}

#[derive(Debug, Clone)]
pub struct FaultRecord {
    pub id: String,
    pub kind: FaultKind,
    /// The request as it came, echoed by the API.
    pub request: Value,
    pub status: FaultStatus,
    pub created_at_ms: Millis,
    pub apply_at_ms: Option<Millis>,
    pub duration_ms: Option<Millis>,
    pub applied_at_ms: Option<Millis>,
    pub ends_at_ms: Option<Millis>,
    pub ended_at_ms: Option<Millis>,
    /// What happened last, in words (why it failed, what ended it).
    pub message: Option<String>,
}

/// One line of the event log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FaultEvent {
    /// Order within the world.
    pub seq: u64,
    pub at_ms: Millis,
    pub fault_id: String,
    pub fault_type: &'static str,
    /// `scheduled`, `applied`, `ended`, `cancelled` or `failed`.
    pub event: &'static str,
    pub message: String,
}

/// One world's faults: every record, the active ones, and the event log.
#[derive(Debug, Clone, Default)]
pub struct WorldFaults {
    /// Faults ever created in this world (the engine numbers `fault-<n>` over all worlds).
    pub created: u64,
    pub records: Vec<FaultRecord>,
    /// Lasting faults in effect, in the order they applied.
    pub active: Vec<(String, FaultKind)>,
    pub events: VecDeque<FaultEvent>,
    next_seq: u64,
}

impl WorldFaults {
    pub fn record(&self, id: &str) -> Option<&FaultRecord> {
        self.records.iter().find(|r| r.id == id)
    }

    fn record_mut(&mut self, id: &str) -> Option<&mut FaultRecord> {
        self.records.iter_mut().find(|r| r.id == id)
    }

    /// The outage fault that has `zone` down, if any.
    pub fn zone_down(&self, zone: &str) -> Option<&str> {
        self.active.iter().find_map(|(id, k)| match k {
            FaultKind::AzOutage { zone: z } if z == zone => Some(id.as_str()),
            _ => None,
        })
    }

    fn log(
        &mut self,
        at_ms: Millis,
        id: &str,
        fault_type: &'static str,
        event: &'static str,
        message: String,
    ) {
        self.next_seq += 1;
        if self.events.len() >= MAX_EVENTS {
            self.events.pop_front();
        }
        self.events.push_back(FaultEvent {
            seq: self.next_seq,
            at_ms,
            fault_id: id.to_string(),
            fault_type,
            event,
            message,
        });
    }
}

/// What the engine must do for a fault that CloudWatch owns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AlarmRequest {
    pub fault_id: String,
    pub alarm_name: String,
    pub state: AlarmState,
    pub reason: String,
}

/// Records a validated fault as `id` and applies it now, or schedules it. Returns the alarm to
/// force when an `alarmState` fault applies now.
pub fn inject(
    world: &mut World,
    ctx: &mut Ctx<'_>,
    id: &str,
    spec: FaultSpec,
    request: Value,
) -> Option<AlarmRequest> {
    let faults = &mut world.faults;
    faults.created += 1;
    if faults.records.len() >= MAX_FAULTS
        && let Some(i) = faults.records.iter().position(|r| r.status.finished())
    {
        faults.records.remove(i);
    }
    let fault_type = spec.kind.type_name();
    let scheduled_at = spec.apply_at_ms.filter(|at| *at > ctx.now_ms);
    faults.records.push(FaultRecord {
        id: id.to_string(),
        kind: spec.kind,
        request,
        status: FaultStatus::Scheduled,
        created_at_ms: ctx.now_ms,
        apply_at_ms: spec.apply_at_ms,
        duration_ms: spec.duration_ms,
        applied_at_ms: None,
        ends_at_ms: None,
        ended_at_ms: None,
        message: None,
    });
    if let Some(at) = scheduled_at {
        faults.log(
            ctx.now_ms,
            id,
            fault_type,
            "scheduled",
            format!("applies at {at} ms"),
        );
        ctx.timers.schedule(
            at,
            ctx.world_index,
            TimerKind::Fault {
                fault_id: id.to_string(),
                end: false,
            },
        );
        return None;
    }
    apply(world, ctx, id)
}

/// A fault timer fired: apply a scheduled fault, or end a lasting one whose duration is over.
/// Stale timers (the fault was cancelled or ended since) do nothing.
pub fn on_timer(world: &mut World, ctx: &mut Ctx<'_>, id: &str, end: bool) -> Option<AlarmRequest> {
    let record = world.faults.record(id)?;
    if end {
        if record.status == FaultStatus::Active && record.ends_at_ms.is_some_and(|at| at <= ctx.now_ms) {
            finish(
                world,
                ctx.now_ms,
                id,
                FaultStatus::Ended,
                "its duration is over".into(),
            );
        }
        return None;
    }
    if record.status != FaultStatus::Scheduled {
        return None;
    }
    apply(world, ctx, id)
}

/// Applies a scheduled fault now.
fn apply(world: &mut World, ctx: &mut Ctx<'_>, id: &str) -> Option<AlarmRequest> {
    let record = world.faults.record(id)?;
    let kind = record.kind.clone();
    let duration_ms = record.duration_ms;
    let fault_type = kind.type_name();
    let now = ctx.now_ms;
    let outcome: Result<String, String> = match &kind {
        FaultKind::StopTask { task_id, reason } => match world.ecs.task(task_id) {
            Some(t) if t.desired_status == "RUNNING" => {
                crate::ecs::lifecycle::request_stop(
                    world,
                    ctx,
                    task_id,
                    ecsim_api::ecs::TaskStopCode::UserInitiated,
                    reason.clone(),
                );
                Ok(format!("task {task_id} is stopping: {reason}"))
            }
            Some(_) => Err(format!("task {task_id} was already stopping")),
            None => Err(format!("task {task_id} no longer exists")),
        },
        FaultKind::CrashTask { task_id, exit_code } => {
            crate::ecs::lifecycle::crash_task(world, ctx, task_id, *exit_code)
                .map(|()| format!("the essential container of task {task_id} exited with code {exit_code}"))
        }
        FaultKind::AlarmState {
            alarm_name,
            state,
            reason,
        } => {
            return Some(AlarmRequest {
                fault_id: id.to_string(),
                alarm_name: alarm_name.clone(),
                state: *state,
                reason: reason.clone(),
            });
        }
        FaultKind::AzRecovery { zone } => {
            let outages: Vec<String> = world
                .faults
                .active
                .iter()
                .filter(|(_, k)| matches!(k, FaultKind::AzOutage { zone: z } if z == zone))
                .map(|(id, _)| id.clone())
                .collect();
            for outage in &outages {
                finish(
                    world,
                    now,
                    outage,
                    FaultStatus::Ended,
                    format!("{id} recovered {zone}"),
                );
            }
            Ok(if outages.is_empty() {
                format!("availability zone {zone} was not down")
            } else {
                format!(
                    "availability zone {zone} recovered (ended {})",
                    outages.join(", ")
                )
            })
        }
        FaultKind::FailHealthChecks { .. }
        | FaultKind::Latency { .. }
        | FaultKind::ErrorRate { .. }
        | FaultKind::AzOutage { .. } => {
            // A scheduled fault's resources are checked again: they may have gone since.
            let gone = match &kind {
                FaultKind::FailHealthChecks { scope }
                | FaultKind::Latency { scope, .. }
                | FaultKind::ErrorRate { scope, .. } => scope_gone(world, scope),
                _ => None,
            };
            match gone {
                Some(message) => Err(message),
                None => {
                    world.faults.active.push((id.to_string(), kind.clone()));
                    world.elbv2.routes_dirty = true;
                    Ok(describe(&kind))
                }
            }
        }
    };
    let lasting = kind.lasts();
    let record = world.faults.record_mut(id)?;
    match outcome {
        Ok(message) => {
            record.applied_at_ms = Some(now);
            record.status = if lasting {
                FaultStatus::Active
            } else {
                FaultStatus::Applied
            };
            record.message = Some(message.clone());
            if lasting && let Some(d) = duration_ms {
                record.ends_at_ms = Some(now + d);
                ctx.timers.schedule(
                    now + d,
                    ctx.world_index,
                    TimerKind::Fault {
                        fault_id: id.to_string(),
                        end: true,
                    },
                );
            }
            world.faults.log(now, id, fault_type, "applied", message);
        }
        Err(message) => {
            record.status = FaultStatus::Failed;
            record.message = Some(message.clone());
            world.faults.log(now, id, fault_type, "failed", message);
        }
    }
    None
}

/// Records what forcing an `alarmState` fault's alarm did.
pub fn alarm_forced(world: &mut World, now_ms: Millis, request: &AlarmRequest, result: Result<(), String>) {
    let Some(record) = world.faults.record_mut(&request.fault_id) else {
        return;
    };
    let (status, event, message) = match result {
        Ok(()) => (
            FaultStatus::Applied,
            "applied",
            format!(
                "alarm {} set to {} until its next evaluation",
                request.alarm_name,
                alarm_state_name(request.state)
            ),
        ),
        Err(e) => (FaultStatus::Failed, "failed", e),
    };
    record.status = status;
    record.applied_at_ms = Some(now_ms).filter(|_| status == FaultStatus::Applied);
    record.message = Some(message.clone());
    world
        .faults
        .log(now_ms, &request.fault_id, "alarmState", event, message);
}

/// Cancels a scheduled fault or ends an active one now. Err says why not.
pub fn cancel(world: &mut World, now_ms: Millis, id: &str) -> Result<(), String> {
    let Some(record) = world.faults.record(id) else {
        return Err(format!("no fault with id '{id}'"));
    };
    match record.status {
        FaultStatus::Scheduled | FaultStatus::Active => {
            finish(
                world,
                now_ms,
                id,
                FaultStatus::Cancelled,
                "cancelled through the API".into(),
            );
            Ok(())
        }
        other => Err(format!(
            "fault {id} is {}; only scheduled or active faults can be cancelled",
            other.as_str()
        )),
    }
}

/// Takes a fault out of effect and records why.
fn finish(world: &mut World, now_ms: Millis, id: &str, status: FaultStatus, message: String) {
    let was_active = world.faults.active.iter().any(|(a, _)| a == id);
    world.faults.active.retain(|(a, _)| a != id);
    if was_active {
        // Latency, error rates and refused dials live in the routing snapshot.
        world.elbv2.routes_dirty = true;
    }
    let Some(record) = world.faults.record_mut(id) else {
        return;
    };
    record.status = status;
    record.ended_at_ms = Some(now_ms);
    record.message = Some(message.clone());
    let fault_type = record.kind.type_name();
    let event = if status == FaultStatus::Cancelled {
        "cancelled"
    } else {
        "ended"
    };
    world.faults.log(now_ms, id, fault_type, event, message);
}

fn scope_gone(world: &World, scope: &Scope) -> Option<String> {
    match scope {
        Scope::Task { task_id, .. } => match world.ecs.task(task_id) {
            Some(t) if t.status < TaskStatus::Stopped => None,
            _ => Some(format!("task {task_id} no longer runs")),
        },
        Scope::TargetGroup { arn } => (!world.elbv2.target_groups.contains_key(arn))
            .then(|| format!("target group {arn} no longer exists")),
        Scope::TaskDefinition { .. } => None,
    }
}

fn describe(kind: &FaultKind) -> String {
    let scope_text = |scope: &Scope| match scope {
        Scope::Task { task_arn, .. } => format!("task {task_arn}"),
        Scope::TargetGroup { arn } => format!("target group {arn}"),
        Scope::TaskDefinition { arn } => format!("tasks of {arn}"),
    };
    match kind {
        FaultKind::FailHealthChecks { scope } => format!("health checks of {} fail", scope_text(scope)),
        FaultKind::Latency { scope, latency_ms } => {
            format!("{} answers {latency_ms} ms later", scope_text(scope))
        }
        FaultKind::ErrorRate {
            scope,
            error_rate_pct,
            status_code,
        } => format!(
            "{} answers {status_code} to {error_rate_pct}% of requests",
            scope_text(scope)
        ),
        FaultKind::AzOutage { zone } => format!("availability zone {zone} is down"),
        other => other.type_name().to_string(),
    }
}

fn alarm_state_name(state: AlarmState) -> &'static str {
    match state {
        AlarmState::Ok => "OK",
        AlarmState::Alarm => "ALARM",
        AlarmState::InsufficientData => "INSUFFICIENT_DATA",
    }
}

// === Views ===

/// A fault as the emulator API shows it.
pub fn view(world: &World, record: &FaultRecord) -> Value {
    json!({
        "faultId": record.id,
        "type": record.kind.type_name(),
        "status": record.status.as_str(),
        "accountId": world.account_id,
        "region": world.region,
        "request": record.request,
        "createdAtMs": record.created_at_ms,
        "applyAtMs": record.apply_at_ms,
        "appliedAtMs": record.applied_at_ms,
        "durationSeconds": record.duration_ms.map(|ms| ms as f64 / 1000.0),
        "endsAtMs": record.ends_at_ms,
        "endedAtMs": record.ended_at_ms,
        "message": record.message,
    })
}

/// An event as the emulator API shows it.
pub fn event_view(world: &World, event: &FaultEvent) -> Value {
    json!({
        "atMs": event.at_ms,
        "faultId": event.fault_id,
        "type": event.fault_type,
        "event": event.event,
        "message": event.message,
        "accountId": world.account_id,
        "region": world.region,
    })
}

#[cfg(test)]
mod tests;
