//! Fault specs: the emulator API's JSON parsed and validated field by field, then resolved
//! against a world (tasks, target groups, task definitions and zones must exist). Nothing here
//! changes a world: a spec that fails leaves everything as it was.

use ecsim_core::Millis;
use serde_json::{Map, Value};

use super::*;
use crate::ecs::state::{TaskRecord, TaskStatus};
use crate::world::World;

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
        Some(r) if crate::engine::is_region_name(r) => r.to_string(),
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
