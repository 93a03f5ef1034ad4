//! The conditions a `wait` step waits for, checked against the scenario's world: the
//! `ServicesStable` waiter's test, task counts (per status, service, task definition and zone),
//! alarm states, target health, a CodeDeploy deployment's status, an ECS service deployment's
//! status, and any value of any API answer (`that`).
//!
//! Checks only read. A condition that can no longer hold fails at once, as AWS waiters fail.

use ecsim_control::alarms::AlarmState;
use ecsim_scenario::matcher::Matcher;
use ecsim_scenario::path::Path;
use serde_json::Value;

use super::session::Session;
use super::traffic::revision_of;

pub(super) enum Check {
    Met(String),
    NotYet(String),
    /// It can no longer hold.
    Failed(String),
}

fn field<'a>(body: &'a Value, name: &str) -> Result<&'a str, String> {
    body.get(name)
        .and_then(Value::as_str)
        .ok_or_else(|| format!("the condition needs '{name}' (a string)"))
}

fn last_segment(s: &str) -> &str {
    s.rsplit('/').next().unwrap_or(s)
}

/// A count wanted: `atLeast: n` or `count: n`.
fn wanted(body: &Value) -> Result<(u64, bool), String> {
    match (
        body.get("atLeast").and_then(Value::as_u64),
        body.get("count").and_then(Value::as_u64),
    ) {
        (Some(n), None) => Ok((n, false)),
        (None, Some(n)) => Ok((n, true)),
        _ => Err("the condition needs exactly one of atLeast or count (a non-negative integer)".into()),
    }
}

fn counted(n: u64, (want, exact): (u64, bool)) -> bool {
    if exact { n == want } else { n >= want }
}

fn describe((want, exact): (u64, bool)) -> String {
    if exact {
        format!("exactly {want}")
    } else {
        format!("at least {want}")
    }
}

/// Checks one condition (`{"serviceStable": {...}}` and so on), already substituted.
pub(super) fn check(session: &Session, condition: &Value) -> Result<Check, String> {
    let Some((kind, body)) = condition.as_object().and_then(|m| m.iter().next()) else {
        return Err("wait needs one condition".into());
    };
    match kind.as_str() {
        "serviceStable" => {
            let (cluster, service) = (field(body, "cluster")?, field(body, "service")?);
            let answer = session
                .call_now(
                    "ecs",
                    "DescribeServices",
                    serde_json::json!({ "cluster": cluster, "services": [service] }),
                )
                .map_err(|e| format!("{}: {}", e.code, e.message))?;
            let Some(s) = answer.get("services").and_then(|s| s.get(0)) else {
                return Ok(Check::Failed(format!(
                    "service '{service}' does not exist (MISSING)"
                )));
            };
            let status = s.get("status").and_then(Value::as_str).unwrap_or_default();
            if status != "ACTIVE" {
                return Ok(Check::Failed(format!("service '{service}' is {status}")));
            }
            let n = |k: &str| s.get(k).and_then(Value::as_u64).unwrap_or(0);
            let deployments = s.get("deployments").and_then(Value::as_array).map_or(0, Vec::len);
            let detail = format!(
                "{deployments} deployment(s), runningCount {}, pendingCount {}, desiredCount {}",
                n("runningCount"),
                n("pendingCount"),
                n("desiredCount")
            );
            Ok(
                if deployments == 1 && n("runningCount") == n("desiredCount") && n("pendingCount") == 0 {
                    Check::Met(detail)
                } else {
                    Check::NotYet(detail)
                },
            )
        }
        "taskCount" => {
            let cluster = last_segment(field(body, "cluster")?).to_string();
            let status = field(body, "lastStatus")?;
            let want = wanted(body)?;
            let service = body.get("service").and_then(Value::as_str).map(last_segment);
            let revision = body
                .get("taskDefinition")
                .and_then(Value::as_str)
                .map(revision_of);
            let zone = body.get("availabilityZone").and_then(Value::as_str);
            let n = session.with_engine(|engine| {
                engine
                    .world(&session.account_id, &session.region)
                    .and_then(|w| w.ecs.clusters.get(&cluster))
                    .map_or(0, |c| {
                        c.tasks
                            .values()
                            .filter(|t| t.status.as_str() == status)
                            .filter(|t| service.is_none_or(|s| t.service_name.as_deref() == Some(s)))
                            .filter(|t| {
                                // `family:revision`, or a family for every revision of it.
                                let has = revision_of(&t.task_definition_arn);
                                revision.as_ref().is_none_or(|r| {
                                    has == *r
                                        || has
                                            .strip_prefix(r.as_str())
                                            .is_some_and(|rest| rest.starts_with(':'))
                                })
                            })
                            .filter(|t| zone.is_none_or(|z| t.placement.availability_zone == z))
                            .count()
                    })
            });
            let n = u64::try_from(n).unwrap_or(u64::MAX);
            let detail = format!("{n} task(s) {status} (want {})", describe(want));
            Ok(if counted(n, want) {
                Check::Met(detail)
            } else {
                Check::NotYet(detail)
            })
        }
        "alarmState" => {
            let name = field(body, "alarmName")?;
            let state = field(body, "state")?;
            let current =
                session.with_engine(|engine| engine.alarm_state(&session.account_id, &session.region, name));
            let shown = match current {
                Some(AlarmState::Ok) => "OK",
                Some(AlarmState::Alarm) => "ALARM",
                Some(AlarmState::InsufficientData) => "INSUFFICIENT_DATA",
                None => "missing",
            };
            let detail = format!("alarm '{name}' is {shown}");
            Ok(if shown == state {
                Check::Met(detail)
            } else {
                Check::NotYet(detail)
            })
        }
        "targetHealth" => {
            let arn = field(body, "targetGroupArn")?;
            let state = field(body, "state")?;
            let want = wanted(body)?;
            let n = session.with_engine(|engine| {
                engine
                    .world(&session.account_id, &session.region)
                    .and_then(|w| w.elbv2.target_groups.get(arn))
                    .map(|g| {
                        g.targets
                            .values()
                            .filter(|t| format!("{:?}", t.state).eq_ignore_ascii_case(state))
                            .count()
                    })
            });
            let Some(n) = n else {
                return Ok(Check::Failed(format!("target group '{arn}' does not exist")));
            };
            let n = u64::try_from(n).unwrap_or(u64::MAX);
            let detail = format!("{n} target(s) {state} (want {})", describe(want));
            Ok(if counted(n, want) {
                Check::Met(detail)
            } else {
                Check::NotYet(detail)
            })
        }
        "deployment" => {
            let id = field(body, "deploymentId")?;
            let want = field(body, "status")?;
            let answer = session
                .call_now(
                    "codedeploy",
                    "GetDeployment",
                    serde_json::json!({ "deploymentId": id }),
                )
                .map_err(|e| format!("{}: {}", e.code, e.message))?;
            let status = answer["deploymentInfo"]["status"]
                .as_str()
                .unwrap_or_default()
                .to_string();
            let detail = format!("deployment {id} is {status}");
            Ok(if status == want {
                Check::Met(detail)
            } else if matches!(status.as_str(), "Succeeded" | "Failed" | "Stopped") {
                Check::Failed(format!("{detail}, and it will not become {want}"))
            } else {
                Check::NotYet(detail)
            })
        }
        "serviceDeployment" => {
            let (cluster, service, want) = (
                field(body, "cluster")?,
                field(body, "service")?,
                field(body, "status")?,
            );
            let answer = session
                .call_now(
                    "ecs",
                    "ListServiceDeployments",
                    serde_json::json!({ "cluster": cluster, "service": service, "maxResults": 100 }),
                )
                .map_err(|e| format!("{}: {}", e.code, e.message))?;
            // The newest deployment: the latest createdAt.
            let newest = answer["serviceDeployments"]
                .as_array()
                .into_iter()
                .flatten()
                .max_by(|a, b| {
                    let at = |v: &Value| v.get("createdAt").and_then(Value::as_f64).unwrap_or(0.0);
                    at(a).total_cmp(&at(b))
                });
            let status = newest.and_then(|d| d["status"].as_str()).unwrap_or("none");
            let detail = format!("the newest deployment of {service} is {status}");
            let terminal = ["SUCCESSFUL", "STOPPED", "ROLLBACK_SUCCESSFUL", "ROLLBACK_FAILED"];
            Ok(if status == want {
                Check::Met(detail)
            } else if terminal.contains(&status) {
                Check::Failed(format!("{detail}, which is final"))
            } else {
                Check::NotYet(detail)
            })
        }
        "that" => {
            let call = field(body, "call")?;
            let (service, operation) = call.split_once('.').ok_or("that.call is service.Operation")?;
            let input = body
                .get("input")
                .cloned()
                .unwrap_or_else(|| serde_json::json!({}));
            let path = Path::parse(body.get("path").and_then(Value::as_str).unwrap_or_default())?;
            let answer = session.call_now(service, operation, input);
            let actual = match &answer {
                Ok(v) => path.lookup(v),
                Err(e) => return Ok(Check::NotYet(format!("{call} failed: {}: {}", e.code, e.message))),
            };
            let mut failures = Vec::new();
            for (name, arg) in body.as_object().into_iter().flatten() {
                if ecsim_scenario::matcher::NAMES.contains(&name.as_str())
                    && let Err(e) =
                        Matcher::from_json(name, arg)?.check(&format!("{call} {path}"), actual.as_ref())
                {
                    failures.push(e);
                }
            }
            Ok(if failures.is_empty() {
                Check::Met(format!(
                    "{call} {path} = {}",
                    actual.map_or_else(|| "nothing".into(), |v| ecsim_scenario::matcher::short(&v))
                ))
            } else {
                Check::NotYet(failures.join("; "))
            })
        }
        other => Err(format!("unknown condition '{other}'")),
    }
}
