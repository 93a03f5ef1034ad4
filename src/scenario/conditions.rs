//! The conditions a `wait` step waits for, checked against the scenario's world: the
//! `ServicesStable` waiter's test, task counts (per status, service, task definition and zone),
//! alarm states, target health, a CodeDeploy deployment's status, an ECS service deployment's
//! status, and any value of any API answer (`that`).
//!
//! The first four are the run-until API's own (`admin_clock_conditions.rs`), so both check the
//! same thing. Checks only read. A condition that can no longer hold fails at once, as AWS
//! waiters fail.

use ecsim_scenario::matcher::Matcher;
use ecsim_scenario::path::Path;
use serde_json::Value;

use super::session::Session;

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

/// Checks one condition (`{"serviceStable": {...}}` and so on), already substituted.
pub(super) fn check(session: &Session, condition: &Value) -> Result<Check, String> {
    let Some((kind, body)) = condition.as_object().and_then(|m| m.iter().next()) else {
        return Err("wait needs one condition".into());
    };
    match kind.as_str() {
        // The run-until API's conditions, on the scenario's own account and region.
        "serviceStable" | "taskCount" | "alarmState" | "targetHealth" => {
            use crate::admin::clock::conditions;
            let parsed = conditions::parse_condition(condition, (&session.account_id, &session.region))
                .map_err(|e| e.message)?;
            Ok(
                match session.with_engine(|engine| conditions::check(&parsed, engine)) {
                    conditions::Check::Met(detail) => Check::Met(detail),
                    conditions::Check::NotYet(detail) => Check::NotYet(detail),
                    conditions::Check::Failed(why) => Check::Failed(why),
                },
            )
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
                .call_now_all_pages(
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
