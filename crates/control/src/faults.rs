//! Fault injection: fault specs parsed and validated from the emulator API's JSON, the record of
//! each world's faults with their event log, the effects active faults have (read by the routing
//! snapshot builder, the health checker and placement), and applying, ending and cancelling them.
//!
//! Pure like the rest of the control plane: it reads no clock (times come from `Ctx` and the
//! engine), never sleeps and does no IO (a Docker crash is a `RuntimeCommand` the edge carries
//! out). Validation happens before anything changes: a spec that fails it leaves every world as
//! it was. It must not bypass the ECS and ELBv2 paths: a stopped task stops through
//! `lifecycle::request_stop`, a failing target goes unhealthy through the group's thresholds.

use std::collections::VecDeque;

use ecsim_core::Millis;
use ecsim_elb::{Dial, SimulatedTarget, TargetFault};
use serde_json::{Map, Value, json};

use crate::alarms::AlarmState;
use crate::ecs::state::{TaskRecord, TaskStatus};
use crate::engine::Ctx;
use crate::timers::TimerKind;
use crate::world::World;

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

/// When a fault is to happen, as the request said it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum When {
    Now,
    /// Absolute engine time, ms since the epoch.
    At(Millis),
    /// This long after the request.
    After(Millis),
}

/// A syntactically valid request whose resources are not resolved yet.
#[derive(Debug, Clone, PartialEq)]
pub struct ParsedSpec {
    pub account_id: String,
    pub region: String,
    pub when: When,
    pub duration_ms: Option<Millis>,
    request: Request,
}

#[derive(Debug, Clone, PartialEq)]
enum ScopeRef {
    Task { cluster: String, task: String },
    TargetGroup(String),
    TaskDefinition(String),
}

#[derive(Debug, Clone, PartialEq)]
enum Request {
    StopTask {
        cluster: String,
        task: String,
        reason: String,
    },
    CrashTask {
        cluster: String,
        task: String,
        exit_code: Option<i32>,
    },
    FailHealthChecks(ScopeRef),
    Latency(ScopeRef, u64),
    ErrorRate(ScopeRef, f64, u16),
    AzOutage(String),
    AzRecovery(String),
    AlarmState {
        alarm_name: String,
        state: AlarmState,
        reason: String,
    },
}

impl ParsedSpec {
    /// The alarm an `alarmState` fault names (the engine checks it exists in CloudWatch).
    pub fn alarm_name(&self) -> Option<&str> {
        match &self.request {
            Request::AlarmState { alarm_name, .. } => Some(alarm_name),
            _ => None,
        }
    }
}

/// A validated fault, ready to inject into its world.
#[derive(Debug, Clone, PartialEq)]
pub struct FaultSpec {
    pub kind: FaultKind,
    /// Absolute engine time to apply at; `None` applies at once.
    pub apply_at_ms: Option<Millis>,
    pub duration_ms: Option<Millis>,
}

const COMMON_FIELDS: [&str; 6] = [
    "type",
    "accountId",
    "region",
    "at",
    "afterSeconds",
    "durationSeconds",
];
const SCOPE_FIELDS: [&str; 4] = ["cluster", "task", "targetGroupArn", "taskDefinitionArn"];
const TYPES: &str =
    "stopTask, crashTask, failHealthChecks, latency, errorRate, azOutage, azRecovery, alarmState";

/// Reads a fault request. Strict: unknown fields, wrong types and out-of-range values are
/// errors naming the field. `now_ms` is the engine's time, for `at` and `afterSeconds`.
pub fn parse(
    spec: &Value,
    default_account: &str,
    default_region: &str,
    now_ms: Millis,
) -> Result<ParsedSpec, String> {
    let Value::Object(map) = spec else {
        return Err("the body must be a JSON object".into());
    };
    let o = Obj(map);
    let kind = o
        .string("type")?
        .ok_or_else(|| format!("type is required; one of {TYPES}"))?;
    let own: &[&str] = match kind {
        "stopTask" => &["cluster", "task", "reason"],
        "crashTask" => &["cluster", "task", "exitCode"],
        "failHealthChecks" => &SCOPE_FIELDS,
        "latency" => &[
            "cluster",
            "task",
            "targetGroupArn",
            "taskDefinitionArn",
            "latencyMs",
        ],
        "errorRate" => &[
            "cluster",
            "task",
            "targetGroupArn",
            "taskDefinitionArn",
            "errorRatePct",
            "statusCode",
        ],
        "azOutage" | "azRecovery" => &["availabilityZone"],
        "alarmState" => &["alarmName", "state", "reason"],
        other => return Err(format!("unknown fault type '{other}'; one of {TYPES}")),
    };
    if let Some(unknown) = map
        .keys()
        .find(|k| !COMMON_FIELDS.contains(&k.as_str()) && !own.contains(&k.as_str()))
    {
        let mut known: Vec<&str> = COMMON_FIELDS.to_vec();
        known.extend_from_slice(own);
        return Err(format!(
            "unknown field '{unknown}' for a {kind} fault; known fields: {}",
            known.join(", ")
        ));
    }
    let account_id = match o.string("accountId")? {
        Some(a) if ecsim_core::ids::is_account_id(a) => a.to_string(),
        Some(a) => return Err(format!("accountId '{a}' is not a twelve-digit account id")),
        None => default_account.to_string(),
    };
    let region = match o.string("region")? {
        Some(r) if is_region(r) => r.to_string(),
        Some(r) => return Err(format!("region '{r}' is not a region name such as us-east-1")),
        None => default_region.to_string(),
    };
    let when = match (o.integer("at")?, o.number("afterSeconds")?) {
        (Some(_), Some(_)) => return Err("give at most one of at and afterSeconds".into()),
        (Some(at), None) => {
            let at =
                Millis::try_from(at).map_err(|_| "at must be a time in ms since the epoch".to_string())?;
            if at < now_ms {
                return Err(format!(
                    "at ({at}) is in the past: the engine's time is {now_ms} ms since the epoch"
                ));
            }
            When::At(at)
        }
        (None, Some(s)) => When::After(seconds_ms("afterSeconds", s, true)?),
        (None, None) => When::Now,
    };
    let duration_ms = o
        .number("durationSeconds")?
        .map(|s| seconds_ms("durationSeconds", s, false))
        .transpose()?;
    let request = match kind {
        "stopTask" => Request::StopTask {
            cluster: cluster_of(&o)?,
            task: o.required_string("task")?.to_string(),
            reason: match o.string("reason")? {
                Some(r) if r.chars().count() > 1024 => {
                    return Err("reason must be at most 1024 characters".into());
                }
                Some(r) => r.to_string(),
                None => "Task stopped by ecsim fault injection".into(),
            },
        },
        "crashTask" => Request::CrashTask {
            cluster: cluster_of(&o)?,
            task: o.required_string("task")?.to_string(),
            exit_code: o
                .integer("exitCode")?
                .map(|c| {
                    i32::try_from(c)
                        .ok()
                        .filter(|c| (1..=255).contains(c))
                        .ok_or_else(|| {
                            "exitCode must be between 1 and 255 (a crash is a non-zero exit)".to_string()
                        })
                })
                .transpose()?,
        },
        "failHealthChecks" => Request::FailHealthChecks(scope_of(&o)?),
        "latency" => {
            let latency_ms = o.integer("latencyMs")?.ok_or("latencyMs is required")?;
            let latency_ms = u64::try_from(latency_ms)
                .ok()
                .filter(|ms| (1..=MAX_LATENCY_MS).contains(ms))
                .ok_or_else(|| format!("latencyMs must be between 1 and {MAX_LATENCY_MS}"))?;
            Request::Latency(scope_of(&o)?, latency_ms)
        }
        "errorRate" => {
            let pct = o.number("errorRatePct")?.ok_or("errorRatePct is required")?;
            if !(0.0..=100.0).contains(&pct) {
                return Err("errorRatePct must be between 0 and 100".into());
            }
            let status = o.integer("statusCode")?.unwrap_or(500);
            let status = u16::try_from(status)
                .ok()
                .filter(|s| (400..=599).contains(s))
                .ok_or("statusCode must be an HTTP error status between 400 and 599")?;
            Request::ErrorRate(scope_of(&o)?, pct, status)
        }
        "azOutage" => Request::AzOutage(o.required_string("availabilityZone")?.to_string()),
        "azRecovery" => Request::AzRecovery(o.required_string("availabilityZone")?.to_string()),
        _ => {
            let state = match o.required_string("state")? {
                "OK" => AlarmState::Ok,
                "ALARM" => AlarmState::Alarm,
                "INSUFFICIENT_DATA" => AlarmState::InsufficientData,
                other => return Err(format!("state '{other}' must be OK, ALARM or INSUFFICIENT_DATA")),
            };
            Request::AlarmState {
                alarm_name: o.required_string("alarmName")?.to_string(),
                state,
                reason: o
                    .string("reason")?
                    .unwrap_or("Alarm state forced by ecsim fault injection")
                    .to_string(),
            }
        }
    };
    let lasts = matches!(
        request,
        Request::FailHealthChecks(_) | Request::Latency(..) | Request::ErrorRate(..) | Request::AzOutage(_)
    );
    if duration_ms.is_some() && !lasts {
        return Err(format!(
            "durationSeconds applies to failHealthChecks, latency, errorRate and azOutage, not {kind}"
        ));
    }
    Ok(ParsedSpec {
        account_id,
        region,
        when,
        duration_ms,
        request,
    })
}

/// Resolves a parsed request against its world: every resource must exist now (a scheduled
/// fault is checked again when it applies). `external_runtime` says tasks run on Docker.
pub fn resolve(
    parsed: &ParsedSpec,
    world: &World,
    now_ms: Millis,
    external_runtime: bool,
) -> Result<FaultSpec, String> {
    let kind = match &parsed.request {
        Request::StopTask {
            cluster,
            task,
            reason,
        } => {
            let t = live_task(world, cluster, task)?;
            FaultKind::StopTask {
                task_id: t.id.clone(),
                reason: reason.clone(),
            }
        }
        Request::CrashTask {
            cluster,
            task,
            exit_code,
        } => {
            let t = live_task(world, cluster, task)?;
            let on_docker = external_runtime || t.containers.iter().any(|c| c.runtime.is_some());
            if on_docker && exit_code.is_some_and(|c| c != SIGKILL_EXIT_CODE) {
                return Err(format!(
                    "on the Docker runtime crashTask kills the essential container with SIGKILL, so it \
                     exits with {SIGKILL_EXIT_CODE}; leave exitCode out or set it to {SIGKILL_EXIT_CODE}"
                ));
            }
            FaultKind::CrashTask {
                task_id: t.id.clone(),
                exit_code: if on_docker {
                    SIGKILL_EXIT_CODE
                } else {
                    exit_code.unwrap_or(1)
                },
            }
        }
        Request::FailHealthChecks(scope) => FaultKind::FailHealthChecks {
            scope: resolve_scope(world, scope)?,
        },
        Request::Latency(scope, latency_ms) => FaultKind::Latency {
            scope: resolve_scope(world, scope)?,
            latency_ms: *latency_ms,
        },
        Request::ErrorRate(scope, pct, status) => FaultKind::ErrorRate {
            scope: resolve_scope(world, scope)?,
            error_rate_pct: *pct,
            status_code: *status,
        },
        Request::AzOutage(zone) => {
            let zone = zone_name(world, zone)?;
            if let Some(id) = world.faults.zone_down(&zone) {
                return Err(format!("availability zone {zone} is already down ({id})"));
            }
            FaultKind::AzOutage { zone }
        }
        Request::AzRecovery(zone) => FaultKind::AzRecovery {
            zone: zone_name(world, zone)?,
        },
        Request::AlarmState {
            alarm_name,
            state,
            reason,
        } => FaultKind::AlarmState {
            alarm_name: alarm_name.clone(),
            state: *state,
            reason: reason.clone(),
        },
    };
    let apply_at_ms = match parsed.when {
        When::Now => None,
        When::At(at) => Some(at),
        When::After(ms) => Some(now_ms + ms),
    };
    Ok(FaultSpec {
        kind,
        apply_at_ms,
        duration_ms: parsed.duration_ms,
    })
}

struct Obj<'a>(&'a Map<String, Value>);

impl Obj<'_> {
    fn string(&self, name: &str) -> Result<Option<&str>, String> {
        match self.0.get(name) {
            None => Ok(None),
            Some(Value::String(s)) if !s.is_empty() => Ok(Some(s)),
            Some(_) => Err(format!("{name} must be a non-empty string")),
        }
    }

    fn required_string(&self, name: &str) -> Result<&str, String> {
        self.string(name)?.ok_or_else(|| format!("{name} is required"))
    }

    fn number(&self, name: &str) -> Result<Option<f64>, String> {
        match self.0.get(name) {
            None => Ok(None),
            Some(Value::Number(n)) => n
                .as_f64()
                .filter(|f| f.is_finite())
                .map(Some)
                .ok_or_else(|| format!("{name} must be a number")),
            Some(_) => Err(format!("{name} must be a number")),
        }
    }

    fn integer(&self, name: &str) -> Result<Option<i64>, String> {
        match self.0.get(name) {
            None => Ok(None),
            Some(Value::Number(n)) => n
                .as_i64()
                .map(Some)
                .ok_or_else(|| format!("{name} must be an integer")),
            Some(_) => Err(format!("{name} must be an integer")),
        }
    }
}

fn seconds_ms(name: &str, seconds: f64, zero_ok: bool) -> Result<Millis, String> {
    let low_ok = if zero_ok { seconds >= 0.0 } else { seconds > 0.0 };
    if !low_ok || seconds > MAX_SECONDS {
        return Err(format!(
            "{name} must be {} and at most {MAX_SECONDS} seconds",
            if zero_ok { "at least 0" } else { "more than 0" }
        ));
    }
    // Bounded above and non-negative: the conversion cannot truncate meaningfully.
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
    let ms = (seconds * 1000.0).round() as Millis;
    Ok(ms)
}

fn is_region(s: &str) -> bool {
    let parts: Vec<&str> = s.split('-').collect();
    (3..=4).contains(&parts.len())
        && parts
            .last()
            .is_some_and(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()))
        && parts[..parts.len() - 1]
            .iter()
            .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_lowercase()))
}

fn cluster_of(o: &Obj<'_>) -> Result<String, String> {
    Ok(crate::ecs::common::cluster_name(o.string("cluster")?))
}

fn scope_of(o: &Obj<'_>) -> Result<ScopeRef, String> {
    let task = o.string("task")?;
    let tg = o.string("targetGroupArn")?;
    let td = o.string("taskDefinitionArn")?;
    let cluster = o.string("cluster")?;
    match (task, tg, td) {
        (Some(task), None, None) => Ok(ScopeRef::Task {
            cluster: crate::ecs::common::cluster_name(cluster),
            task: task.to_string(),
        }),
        (None, Some(tg), None) if cluster.is_none() => Ok(ScopeRef::TargetGroup(tg.to_string())),
        (None, None, Some(td)) if cluster.is_none() => Ok(ScopeRef::TaskDefinition(td.to_string())),
        (None, None, None) => Err(
            "name what the fault applies to: task (with cluster), targetGroupArn or taskDefinitionArn".into(),
        ),
        _ => Err("give exactly one of task (with cluster), targetGroupArn and taskDefinitionArn".into()),
    }
}

/// A task of `cluster` (name) by ARN or id that has not stopped.
fn live_task<'w>(world: &'w World, cluster: &str, task: &str) -> Result<&'w TaskRecord, String> {
    let Some(c) = world.ecs.clusters.get(cluster) else {
        return Err(format!("cluster {cluster} does not exist"));
    };
    let id = crate::ecs::common::last_segment(task);
    let Some(t) = c.tasks.get(id) else {
        return Err(format!("task {task} does not exist in cluster {cluster}"));
    };
    if t.status == TaskStatus::Stopped || t.desired_status == "STOPPED" {
        return Err(format!(
            "task {id} is {} with desired status {}: it is already stopping",
            t.status.as_str(),
            t.desired_status
        ));
    }
    Ok(t)
}

fn resolve_scope(world: &World, scope: &ScopeRef) -> Result<Scope, String> {
    match scope {
        ScopeRef::Task { cluster, task } => {
            let t = live_task(world, cluster, task)?;
            Ok(Scope::Task {
                task_id: t.id.clone(),
                task_arn: t.arn.clone(),
            })
        }
        ScopeRef::TargetGroup(arn) => {
            if world.elbv2.target_groups.contains_key(arn) {
                Ok(Scope::TargetGroup { arn: arn.clone() })
            } else {
                Err(format!("target group {arn} does not exist"))
            }
        }
        ScopeRef::TaskDefinition(reference) => {
            let family_revision = reference
                .split_once("task-definition/")
                .map_or(reference.as_str(), |(_, fr)| fr);
            let found = family_revision.split_once(':').and_then(|(family, revision)| {
                let revision: i32 = revision.parse().ok()?;
                world
                    .ecs
                    .families
                    .get(family)?
                    .revisions
                    .contains_key(&revision)
                    .then(|| world.arn("ecs", &format!("task-definition/{family}:{revision}")))
            });
            found.map(|arn| Scope::TaskDefinition { arn }).ok_or_else(|| {
                format!("task definition {reference} does not exist (give family:revision or its ARN)")
            })
        }
    }
}

fn zone_name(world: &World, zone: &str) -> Result<String, String> {
    world
        .network
        .zones
        .iter()
        .find(|z| z.name == zone || z.zone_id == zone)
        .map(|z| z.name.clone())
        .ok_or_else(|| {
            let names: Vec<&str> = world.network.zones.iter().map(|z| z.name.as_str()).collect();
            format!(
                "availability zone {zone} does not exist in {}; zones: {}",
                world.region,
                names.join(", ")
            )
        })
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

// === Effects, as the data plane, health checks and placement see them ===

/// Whether `scope` covers a target of group `tg_arn` behind `task`.
fn covers(scope: &Scope, tg_arn: &str, task: Option<&TaskRecord>) -> bool {
    match scope {
        Scope::TargetGroup { arn } => arn == tg_arn,
        Scope::Task { task_id, .. } => task.is_some_and(|t| &t.id == task_id),
        Scope::TaskDefinition { arn } => task.is_some_and(|t| &t.task_definition_arn == arn),
    }
}

/// Why target (`id`, `port`) of group `tg_arn` fails its health checks because of a fault, or
/// `None`: a failHealthChecks fault covers it, or its task (else its registered zone) is in an
/// availability zone that is down.
pub fn health_failure(world: &World, tg_arn: &str, target_type: &str, id: &str, port: u16) -> Option<String> {
    if world.faults.active.is_empty() {
        return None;
    }
    let task = crate::ecs::load_balancing::task_behind_target(world, target_type, id, port);
    for (fault_id, kind) in &world.faults.active {
        match kind {
            FaultKind::FailHealthChecks { scope } if covers(scope, tg_arn, task) => {
                return Some(format!("Health checks failed (fault {fault_id})"));
            }
            FaultKind::AzOutage { zone } if in_zone(world, tg_arn, id, port, task, zone) => {
                return Some(format!("Availability zone {zone} is down (fault {fault_id})"));
            }
            _ => {}
        }
    }
    None
}

fn in_zone(world: &World, tg_arn: &str, id: &str, port: u16, task: Option<&TaskRecord>, zone: &str) -> bool {
    match task {
        Some(t) => t.placement.availability_zone == zone,
        None => world
            .elbv2
            .target_groups
            .get(tg_arn)
            .and_then(|tg| tg.targets.get(&(id.to_string(), port)))
            .and_then(|t| t.availability_zone.as_deref())
            .is_some_and(|z| z == zone),
    }
}

/// The dial the data plane uses for target (`id`, `port`) of group `tg_arn` with the active
/// faults on top of `dial`: an AZ outage refuses it; latency adds up; error rates combine as
/// independent failures (`1 − Π(1 − rᵢ)`) and the latest-applied fault's status wins. Simulated
/// targets carry the result in their behaviour, loopback targets get a [`TargetFault`] the proxy
/// plays in front of them.
pub fn shape_dial(
    world: &World,
    tg_arn: &str,
    target_type: &str,
    id: &str,
    port: u16,
    dial: Dial,
) -> (Dial, Option<TargetFault>) {
    if world.faults.active.is_empty() || matches!(dial, Dial::Refused(_)) {
        return (dial, None);
    }
    let task = crate::ecs::load_balancing::task_behind_target(world, target_type, id, port);
    let mut latency_ms = 0_u64;
    let mut ok_share = 1.0_f64;
    let mut status: Option<u16> = None;
    for (fault_id, kind) in &world.faults.active {
        match kind {
            FaultKind::AzOutage { zone } if in_zone(world, tg_arn, id, port, task, zone) => {
                return (
                    Dial::Refused(format!(
                        "the target is in availability zone {zone}, which is down (fault {fault_id})"
                    )),
                    None,
                );
            }
            FaultKind::Latency { scope, latency_ms: l } if covers(scope, tg_arn, task) => {
                latency_ms = latency_ms.saturating_add(*l);
            }
            FaultKind::ErrorRate {
                scope,
                error_rate_pct,
                status_code,
            } if covers(scope, tg_arn, task) => {
                ok_share *= 1.0 - error_rate_pct / 100.0;
                status = Some(*status_code);
            }
            _ => {}
        }
    }
    if latency_ms == 0 && status.is_none() {
        return (dial, None);
    }
    let fault_rate = (1.0 - ok_share).clamp(0.0, 1.0);
    match dial {
        Dial::Simulated(sim) => {
            let mut shaped = SimulatedTarget::clone(&sim);
            shaped.latency_ms = shaped.latency_ms.saturating_add(latency_ms);
            if let Some(status) = status {
                shaped.error_rate = 1.0 - (1.0 - shaped.error_rate) * (1.0 - fault_rate);
                shaped.error_status = status;
            }
            (Dial::Simulated(std::sync::Arc::new(shaped)), None)
        }
        Dial::Loopback(_) => {
            let fault = TargetFault {
                latency_ms,
                error_rate: fault_rate,
                error_status: status.unwrap_or(500),
                seen: std::sync::atomic::AtomicU64::new(0),
            };
            (dial, Some(fault))
        }
        Dial::Refused(_) => (dial, None),
    }
}

/// The outage fault that keeps new tasks out of `zone`, if any (placement's refusal reason).
pub fn zone_refusal(world: &World, zone: &str) -> Option<String> {
    world
        .faults
        .zone_down(zone)
        .map(|id| format!("availability zone {zone} is down (fault {id})"))
}

/// Availability zones an active outage has taken down.
pub fn zones_down(world: &World) -> Vec<String> {
    world
        .faults
        .active
        .iter()
        .filter_map(|(_, k)| match k {
            FaultKind::AzOutage { zone } => Some(zone.clone()),
            _ => None,
        })
        .collect()
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
