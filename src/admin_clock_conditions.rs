//! The conditions `POST /_ecsim/clock/run-until` (and a scenario's `wait`) waits for
//! (serviceStable, taskCount, alarmState, targetHealth): parsed strictly from JSON, then checked
//! against the engine without changing it.

use ecsim_control::Engine;
use ecsim_control::ecs::state::TaskStatus;
use ecsim_control::elbv2::state::TargetState;
use serde_json::{Map, Value};

use super::{ApiError, integer, only, required_string, string};

/// How many of something a condition wants.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Count {
    AtLeast(u64),
    Exactly(u64),
}

impl Count {
    fn holds(self, n: u64) -> bool {
        match self {
            Count::AtLeast(k) => n >= k,
            Count::Exactly(k) => n == k,
        }
    }

    fn describe(self) -> String {
        match self {
            Count::AtLeast(k) => format!("at least {k}"),
            Count::Exactly(k) => format!("exactly {k}"),
        }
    }
}

/// A condition `run-until` waits for, validated.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Condition {
    ServiceStable {
        account: String,
        region: String,
        cluster: String,
        service: String,
    },
    TaskCount {
        account: String,
        region: String,
        cluster: String,
        service: Option<String>,
        status: TaskStatus,
        count: Count,
        /// Only tasks in this Availability Zone (name).
        zone: Option<String>,
        /// Only tasks of this task definition: `family:revision`, or a family for all its revisions.
        task_definition: Option<String>,
    },
    AlarmState {
        account: String,
        region: String,
        name: String,
        state: ecsim_control::alarms::AlarmState,
    },
    TargetHealth {
        account: String,
        region: String,
        target_group_arn: String,
        state: TargetState,
        count: Count,
    },
}

/// What a check of a condition found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Check {
    Met(String),
    NotYet(String),
    /// It can no longer become true (the waiter's failure states: the service is missing,
    /// draining or inactive; the target group is gone).
    Failed(String),
}

const CONDITIONS: [&str; 4] = ["serviceStable", "taskCount", "alarmState", "targetHealth"];
const TASK_STATUSES: [TaskStatus; 8] = [
    TaskStatus::Provisioning,
    TaskStatus::Pending,
    TaskStatus::Activating,
    TaskStatus::Running,
    TaskStatus::Deactivating,
    TaskStatus::Stopping,
    TaskStatus::Deprovisioning,
    TaskStatus::Stopped,
];

fn parse_count(map: &Map<String, Value>, what: &str) -> Result<Count, ApiError> {
    match (integer(map, "atLeast", what)?, integer(map, "count", what)?) {
        (Some(n), None) => Ok(Count::AtLeast(n)),
        (None, Some(n)) => Ok(Count::Exactly(n)),
        _ => Err(ApiError::invalid(format!(
            "{what} needs exactly one of atLeast (at least n) or count (exactly n)"
        ))),
    }
}

/// The (account, region) a condition reads: its own `accountId`/`region`, else `fallback`.
fn world_of(
    map: &Map<String, Value>,
    what: &str,
    fallback: (&str, &str),
) -> Result<(String, String), ApiError> {
    let account = string(map, "accountId", what)?.unwrap_or(fallback.0);
    if !ecsim_core::ids::is_account_id(account) {
        return Err(ApiError::invalid(format!(
            "{what}.accountId must be twelve digits"
        )));
    }
    let region = string(map, "region", what)?.unwrap_or(fallback.1);
    Ok((account.to_string(), region.to_string()))
}

pub(crate) fn parse_condition(value: &Value, engine_defaults: (&str, &str)) -> Result<Condition, ApiError> {
    let Value::Object(outer) = value else {
        return Err(ApiError::invalid(format!(
            "condition must be an object with one of: {}",
            CONDITIONS.join(", ")
        )));
    };
    if outer.len() != 1 {
        return Err(ApiError::invalid(format!(
            "condition must have exactly one of: {}",
            CONDITIONS.join(", ")
        )));
    }
    let (kind, body) = outer.iter().next().expect("one entry");
    let what = format!("condition.{kind}");
    let Some(map) = body.as_object() else {
        if CONDITIONS.contains(&kind.as_str()) {
            return Err(ApiError::invalid(format!("{what} must be an object")));
        }
        return Err(unknown_condition(kind));
    };
    match kind.as_str() {
        "serviceStable" => {
            only(map, &["cluster", "service", "accountId", "region"], &what)?;
            let (account, region) = world_of(map, &what, engine_defaults)?;
            Ok(Condition::ServiceStable {
                account,
                region,
                cluster: ecsim_control::ecs::common::cluster_name(Some(required_string(
                    map, "cluster", &what,
                )?)),
                service: ecsim_control::ecs::common::last_segment(required_string(map, "service", &what)?)
                    .to_string(),
            })
        }
        "taskCount" => {
            only(
                map,
                &[
                    "cluster",
                    "service",
                    "lastStatus",
                    "atLeast",
                    "count",
                    "availabilityZone",
                    "taskDefinition",
                    "accountId",
                    "region",
                ],
                &what,
            )?;
            let (account, region) = world_of(map, &what, engine_defaults)?;
            let status_text = required_string(map, "lastStatus", &what)?;
            let status = TASK_STATUSES
                .into_iter()
                .find(|s| s.as_str() == status_text)
                .ok_or_else(|| {
                    let names: Vec<&str> = TASK_STATUSES.iter().map(|s| s.as_str()).collect();
                    ApiError::invalid(format!(
                        "{what}.lastStatus '{status_text}' is not one of {}",
                        names.join(", ")
                    ))
                })?;
            Ok(Condition::TaskCount {
                account,
                region,
                cluster: ecsim_control::ecs::common::cluster_name(Some(required_string(
                    map, "cluster", &what,
                )?)),
                service: string(map, "service", &what)?
                    .map(|s| ecsim_control::ecs::common::last_segment(s).to_string()),
                status,
                count: parse_count(map, &what)?,
                zone: string(map, "availabilityZone", &what)?.map(str::to_string),
                task_definition: string(map, "taskDefinition", &what)?
                    .map(|t| ecsim_control::ecs::common::last_segment(t).to_string()),
            })
        }
        "alarmState" => {
            use ecsim_control::alarms::AlarmState;
            only(map, &["alarmName", "state", "accountId", "region"], &what)?;
            let (account, region) = world_of(map, &what, engine_defaults)?;
            let state = match required_string(map, "state", &what)? {
                "OK" => AlarmState::Ok,
                "ALARM" => AlarmState::Alarm,
                "INSUFFICIENT_DATA" => AlarmState::InsufficientData,
                other => {
                    return Err(ApiError::invalid(format!(
                        "{what}.state '{other}' is not one of OK, ALARM, INSUFFICIENT_DATA"
                    )));
                }
            };
            Ok(Condition::AlarmState {
                account,
                region,
                name: required_string(map, "alarmName", &what)?.to_string(),
                state,
            })
        }
        "targetHealth" => {
            only(
                map,
                &[
                    "targetGroupArn",
                    "state",
                    "atLeast",
                    "count",
                    "accountId",
                    "region",
                ],
                &what,
            )?;
            let arn = required_string(map, "targetGroupArn", &what)?;
            // arn:aws:elasticloadbalancing:<region>:<account>:targetgroup/<name>/<id>
            let fields: Vec<&str> = arn.split(':').collect();
            if fields.len() != 6 || !fields[5].starts_with("targetgroup/") {
                return Err(ApiError::invalid(format!(
                    "{what}.targetGroupArn '{arn}' is not a target group ARN"
                )));
            }
            let (account, region) = world_of(map, &what, (fields[4], fields[3]))?;
            let state = match required_string(map, "state", &what)? {
                "initial" => TargetState::Initial,
                "healthy" => TargetState::Healthy,
                "unhealthy" => TargetState::Unhealthy,
                "draining" => TargetState::Draining,
                "unused" => TargetState::Unused,
                other => {
                    return Err(ApiError::invalid(format!(
                        "{what}.state '{other}' is not one of initial, healthy, unhealthy, draining, unused"
                    )));
                }
            };
            Ok(Condition::TargetHealth {
                account,
                region,
                target_group_arn: arn.to_string(),
                state,
                count: parse_count(map, &what)?,
            })
        }
        other => Err(unknown_condition(other)),
    }
}

fn unknown_condition(kind: &str) -> ApiError {
    ApiError::invalid(format!(
        "unknown condition '{kind}'; known conditions: {}",
        CONDITIONS.join(", ")
    ))
}

/// Checks a condition against the engine (locked by the caller, briefly).
pub(crate) fn check(condition: &Condition, engine: &Engine) -> Check {
    match condition {
        Condition::ServiceStable {
            account,
            region,
            cluster,
            service,
        } => {
            let found = engine.world(account, region).and_then(|w| {
                let c = w.ecs.clusters.get(cluster)?;
                Some((c, c.services.get(service)?))
            });
            let Some((cluster_record, record)) = found else {
                return Check::Failed(format!(
                    "service '{service}' of cluster '{cluster}' does not exist in {account}/{region} (MISSING)"
                ));
            };
            if record.status != "ACTIVE" {
                return Check::Failed(format!("service '{service}' is {}", record.status));
            }
            // The view DescribeServices answers with, and the ServicesStable waiter's test on it.
            let rendered = ecsim_control::ecs::render::render_service(record, cluster_record, false);
            let deployments = rendered.deployments.as_ref().map_or(0, Vec::len);
            let running = rendered.running_count.unwrap_or(0);
            let pending = rendered.pending_count.unwrap_or(0);
            let desired = rendered.desired_count.unwrap_or(0);
            let detail = format!(
                "{deployments} deployment(s), runningCount {running}, pendingCount {pending}, desiredCount {desired}"
            );
            if deployments == 1 && running == desired && pending == 0 {
                Check::Met(detail)
            } else {
                Check::NotYet(detail)
            }
        }
        Condition::TaskCount {
            account,
            region,
            cluster,
            service,
            status,
            count,
            zone,
            task_definition,
        } => {
            // `family:revision` of a task definition ARN, matched exactly or by family.
            let of_definition = |arn: &str| {
                let has = ecsim_control::ecs::common::last_segment(arn);
                task_definition.as_deref().is_none_or(|want| {
                    has == want || has.strip_prefix(want).is_some_and(|rest| rest.starts_with(':'))
                })
            };
            let n = engine
                .world(account, region)
                .and_then(|w| w.ecs.clusters.get(cluster))
                .map_or(0, |c| {
                    c.tasks
                        .values()
                        .filter(|t| t.status == *status)
                        .filter(|t| {
                            service
                                .as_ref()
                                .is_none_or(|s| t.service_name.as_ref() == Some(s))
                        })
                        .filter(|t| zone.as_ref().is_none_or(|z| t.placement.availability_zone == *z))
                        .filter(|t| of_definition(&t.task_definition_arn))
                        .count()
                });
            let n = u64::try_from(n).unwrap_or(u64::MAX);
            let detail = format!("{n} task(s) {} (want {})", status.as_str(), count.describe());
            if count.holds(n) {
                Check::Met(detail)
            } else {
                Check::NotYet(detail)
            }
        }
        Condition::AlarmState {
            account,
            region,
            name,
            state,
        } => {
            let current = engine.alarm_state(account, region, name);
            let detail = match current {
                Some(s) => format!("alarm '{name}' is {}", alarm_state_name(s)),
                None => format!("alarm '{name}' does not exist (yet)"),
            };
            if current == Some(*state) {
                Check::Met(detail)
            } else {
                Check::NotYet(detail)
            }
        }
        Condition::TargetHealth {
            account,
            region,
            target_group_arn,
            state,
            count,
        } => {
            let Some(group) = engine
                .world(account, region)
                .and_then(|w| w.elbv2.target_groups.get(target_group_arn))
            else {
                return Check::Failed(format!("target group '{target_group_arn}' does not exist"));
            };
            let n = group.targets.values().filter(|t| t.state == *state).count();
            let n = u64::try_from(n).unwrap_or(u64::MAX);
            let detail = format!("{n} target(s) {:?} (want {})", state, count.describe()).to_lowercase();
            if count.holds(n) {
                Check::Met(detail)
            } else {
                Check::NotYet(detail)
            }
        }
    }
}

fn alarm_state_name(state: ecsim_control::alarms::AlarmState) -> &'static str {
    use ecsim_control::alarms::AlarmState;
    match state {
        AlarmState::Ok => "OK",
        AlarmState::Alarm => "ALARM",
        AlarmState::InsufficientData => "INSUFFICIENT_DATA",
    }
}
