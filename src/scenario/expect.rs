//! `expect` steps: each expectation checked against the world (through the APIs), the recorded
//! traffic, the alarm history, the deployment states the runner saw, the event log and the
//! RUNNING counts at every moment. A failure says what was expected and what was there.
//!
//! It only reads.

use std::collections::BTreeMap;

use ecsim_scenario::matcher::{Matcher, short};
use ecsim_scenario::model::{ExpectKind, ThatSource};
use ecsim_scenario::path::Path;
use ecsim_scenario::vars::{Vars, substitute};
use serde_json::{Value, json};

use super::observe::{Recorder, RunningCounts};
use super::session::Session;
use super::traffic::{Counts, TrafficBook};

/// What the runner remembers of a named step's start, for `since:`.
#[derive(Debug, Clone, Default)]
pub(super) struct StepStart {
    pub at_ms: u64,
    pub traffic: Counts,
}

pub(super) struct Context<'a> {
    pub session: &'a Session,
    pub recorder: &'a Recorder,
    pub traffic: &'a TrafficBook,
    pub starts: &'a BTreeMap<String, StepStart>,
    pub vars: &'a Vars,
}

fn apply(
    what: &str,
    matchers: &[(String, Value)],
    actual: Option<&Value>,
    vars: &Vars,
) -> Result<(), String> {
    for (name, arg) in matchers {
        let arg = substitute(arg, vars)?;
        Matcher::from_json(name, &arg)?.check(what, actual)?;
    }
    Ok(())
}

fn text(value: &Value, vars: &Vars) -> Result<String, String> {
    match substitute(value, vars)? {
        Value::String(s) => Ok(s),
        other => Ok(other.to_string()),
    }
}

/// Checks one expectation; Ok holds what was seen.
pub(super) fn check(ctx: &Context<'_>, kind: &ExpectKind) -> Result<String, String> {
    let vars = ctx.vars;
    match kind {
        ExpectKind::That {
            source,
            path,
            matchers,
        } => {
            let path = Path::parse(&text(&json!(path), vars)?)?;
            let (what, root) = match source {
                ThatSource::Call {
                    service,
                    operation,
                    input,
                } => {
                    let input = substitute(input, vars)?;
                    let answer = ctx
                        .session
                        .call_now(service, operation, input)
                        .map_err(|e| format!("{service}.{operation} failed: {}: {}", e.code, e.message))?;
                    (format!("{service}.{operation} {path}"), answer)
                }
                ThatSource::Value(v) => (format!("value {path}"), substitute(v, vars)?),
            };
            let actual = path.lookup(&root);
            apply(what.trim(), matchers, actual.as_ref(), vars)?;
            Ok(format!(
                "{} = {}",
                what.trim(),
                actual.map_or_else(|| "nothing".into(), |v| short(&v))
            ))
        }
        ExpectKind::Traffic {
            run,
            version,
            target_group,
            since,
            share_pct,
            tolerance_pct,
            requests,
            errors,
            tasks,
        } => {
            let version = version.as_ref().map(|v| text(&json!(v), vars)).transpose()?;
            // A name, or an ARN (what captures usually hold).
            let target_group = target_group
                .as_ref()
                .map(|v| text(&json!(v), vars))
                .transpose()?
                .map(|g| {
                    if g.contains(":targetgroup/") {
                        super::traffic::target_group_name(&g)
                    } else {
                        g
                    }
                });
            if let Some(run) = run
                && !ctx.traffic.names().any(|n| n == run)
            {
                return Err(format!(
                    "no traffic run is named '{run}' (runs: {})",
                    ctx.traffic.names().collect::<Vec<_>>().join(", ")
                ));
            }
            let now = ctx.traffic.counts(ctx.session);
            let base = since.as_ref().and_then(|s| ctx.starts.get(s)).map(|s| &s.traffic);
            let (mut all, mut selected, mut selected_errors) = (0u64, 0u64, 0u64);
            let mut by_version: BTreeMap<String, u64> = BTreeMap::new();
            let mut answering_tasks = std::collections::BTreeSet::new();
            for (key, statuses) in &now {
                let (v, g) = (&key.version, &key.target_group);
                if run.as_ref().is_some_and(|want| *want != key.run) {
                    continue;
                }
                for (status, n) in statuses {
                    let before = base
                        .and_then(|b| b.get(key))
                        .and_then(|s| s.get(status))
                        .copied()
                        .unwrap_or(0);
                    let n = n - before.min(*n);
                    all += n;
                    *by_version.entry(v.clone()).or_insert(0) += n;
                    let matches = version.as_ref().is_none_or(|want| want == v)
                        && target_group.as_ref().is_none_or(|want| want == g);
                    if matches {
                        if n > 0 && !key.task.is_empty() {
                            answering_tasks.insert(key.task.clone());
                        }
                        selected += n;
                        if *status >= 500 || *status == 0 {
                            selected_errors += n;
                        }
                    }
                }
            }
            let scope = match (&version, &target_group) {
                (Some(v), Some(g)) => format!("version {v} in {g}"),
                (Some(v), None) => format!("version {v}"),
                (None, Some(g)) => format!("target group {g}"),
                (None, None) => "all versions".to_string(),
            };
            let seen = format!(
                "{selected} of {all} requests to {scope}, {selected_errors} errors, {} tasks answered; by version: {}",
                answering_tasks.len(),
                by_version
                    .iter()
                    .map(|(v, n)| format!("{v} {n}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            );
            apply(
                &format!("requests to {scope}"),
                requests,
                Some(&json!(selected)),
                vars,
            )
            .map_err(|e| format!("{e} ({seen})"))?;
            apply(
                &format!("errors of {scope}"),
                errors,
                Some(&json!(selected_errors)),
                vars,
            )
            .map_err(|e| format!("{e} ({seen})"))?;
            apply(
                &format!("tasks answering for {scope}"),
                tasks,
                Some(&json!(answering_tasks.len())),
                vars,
            )
            .map_err(|e| format!("{e} ({seen})"))?;
            if let Some(share) = share_pct {
                if all == 0 {
                    return Err(format!(
                        "share of {scope}: expected {share}% ± {tolerance_pct}, but no request was recorded"
                    ));
                }
                #[allow(clippy::cast_precision_loss)] // request counts are far below 2^52
                let actual = selected as f64 * 100.0 / all as f64;
                if (actual - share).abs() > *tolerance_pct {
                    return Err(format!(
                        "share of {scope}: expected {share}% ± {tolerance_pct}, got {actual:.1}% ({seen})"
                    ));
                }
            }
            Ok(seen)
        }
        ExpectKind::AlarmHistory {
            alarm_name,
            reached,
            never,
        } => {
            let name = text(alarm_name, vars)?;
            let answer = ctx
                .session
                .call_now_all_pages(
                    "cloudwatch",
                    "DescribeAlarmHistory",
                    json!({ "AlarmName": name, "HistoryItemType": "StateUpdate", "MaxRecords": 100 }),
                )
                .map_err(|e| format!("DescribeAlarmHistory failed: {}: {}", e.code, e.message))?;
            let states: Vec<String> = answer["AlarmHistoryItems"]
                .as_array()
                .into_iter()
                .flatten()
                .rev()
                .filter_map(|i| {
                    let data: Value = serde_json::from_str(i["HistoryData"].as_str()?).ok()?;
                    data["newState"]["stateValue"].as_str().map(str::to_string)
                })
                .collect();
            let seen = format!(
                "alarm '{name}' went to: {}",
                if states.is_empty() {
                    "nothing yet".into()
                } else {
                    states.join(" → ")
                }
            );
            if let Some(state) = reached
                && !states.contains(state)
            {
                return Err(format!(
                    "alarm history: expected '{name}' to reach {state}, but {seen}"
                ));
            }
            if let Some(state) = never
                && states.contains(state)
            {
                return Err(format!(
                    "alarm history: expected '{name}' never to reach {state}, but {seen}"
                ));
            }
            Ok(seen)
        }
        ExpectKind::DeploymentHistory {
            deployment,
            service,
            states,
        } => {
            let candidates: Vec<(&String, &Vec<String>)> = match (deployment, service) {
                (Some(d), _) => {
                    let id = text(d, vars)?;
                    ctx.recorder
                        .deployment_states
                        .iter()
                        .filter(|(k, _)| **k == id)
                        .collect()
                }
                (None, Some(s)) => {
                    let prefix = format!("{s}/");
                    ctx.recorder
                        .deployment_states
                        .iter()
                        .filter(|(k, _)| k.starts_with(&prefix))
                        .collect()
                }
                (None, None) => Vec::new(),
            };
            let in_order = |seen: &[String]| {
                let mut rest = seen.iter();
                states.iter().all(|want| rest.any(|s| s == want))
            };
            let shown = candidates
                .iter()
                .map(|(k, v)| format!("{k}: {}", v.join(" → ")))
                .collect::<Vec<_>>()
                .join("; ");
            if candidates.iter().any(|(_, seen)| in_order(seen)) {
                Ok(shown)
            } else {
                Err(format!(
                    "deployment history: expected {} in that order, saw {}",
                    states.join(" → "),
                    if shown.is_empty() {
                        "no such deployment".into()
                    } else {
                        shown
                    }
                ))
            }
        }
        ExpectKind::Events { contains, count } => {
            let needle = text(contains, vars)?;
            let events = event_log(ctx.session);
            let hits: Vec<&String> = events.iter().filter(|e| e.contains(&needle)).collect();
            let matchers = if count.is_empty() {
                vec![("atLeast".to_string(), json!(1))]
            } else {
                count.clone()
            };
            let seen = format!("{} of {} events contain '{needle}'", hits.len(), events.len());
            apply(
                &format!("events containing '{needle}'"),
                &matchers,
                Some(&json!(hits.len())),
                vars,
            )
            .map_err(|e| {
                let last: Vec<&String> = events.iter().rev().take(5).collect();
                format!("{e}; the latest events: {last:?}")
            })?;
            Ok(seen)
        }
        ExpectKind::Running {
            since,
            service,
            task_definition,
            zone,
            min,
            max,
            now,
        } => {
            let from_ms = since
                .as_ref()
                .and_then(|s| ctx.starts.get(s))
                .map_or(0, |s| s.at_ms);
            let total = |counts: &RunningCounts| -> u64 {
                counts
                    .iter()
                    .filter(|(k, _)| service.as_ref().is_none_or(|s| &k.service == s))
                    .filter(|(k, _)| {
                        task_definition
                            .as_ref()
                            .is_none_or(|t| &k.revision == t || k.revision.starts_with(&format!("{t}:")))
                    })
                    .filter(|(k, _)| zone.as_ref().is_none_or(|z| &k.zone == z))
                    .map(|(_, n)| u64::from(*n))
                    .sum()
            };
            let history = &ctx.recorder.running;
            // The counts in force at `from_ms` (the last change before it) and every change since.
            let first = history.iter().rposition(|(t, _)| *t <= from_ms).unwrap_or(0);
            let values: Vec<(u64, u64)> = history[first..]
                .iter()
                .map(|(t, c)| ((*t).max(from_ms), total(c)))
                .collect();
            let lowest = values.iter().min_by_key(|(_, n)| *n).copied().unwrap_or((0, 0));
            let highest = values.iter().max_by_key(|(_, n)| *n).copied().unwrap_or((0, 0));
            let current = values.last().map_or(0, |(_, n)| *n);
            let seen = format!(
                "lowest {} (at {}), highest {} (at {}), now {current}",
                lowest.1,
                ecsim_scenario::duration::show(lowest.0),
                highest.1,
                ecsim_scenario::duration::show(highest.0)
            );
            let with_seen = |e: String| format!("{e} ({seen})");
            apply("lowest RUNNING count", min, Some(&json!(lowest.1)), vars).map_err(with_seen)?;
            apply("highest RUNNING count", max, Some(&json!(highest.1)), vars).map_err(with_seen)?;
            apply("RUNNING count now", now, Some(&json!(current)), vars).map_err(with_seen)?;
            Ok(seen)
        }
    }
}

/// Service events of every ECS service and the fault event log, oldest first.
pub(super) fn event_log(session: &Session) -> Vec<String> {
    let mut events: Vec<(u64, String)> = session.with_engine(|engine| {
        let mut out = Vec::new();
        if let Some(world) = engine.world(&session.account_id, &session.region) {
            for cluster in world.ecs.clusters.values() {
                for service in cluster.services.values() {
                    for e in &service.events {
                        out.push((e.created_at_ms, e.message.clone()));
                    }
                }
            }
        }
        let faults = engine.fault_events(10_000);
        for e in faults["events"].as_array().into_iter().flatten() {
            out.push((
                e["atMs"].as_u64().unwrap_or(0),
                format!(
                    "{} {}: {}",
                    e["faultId"].as_str().unwrap_or(""),
                    e["event"].as_str().unwrap_or(""),
                    e["message"].as_str().unwrap_or("")
                ),
            ));
        }
        out
    });
    events.sort_by_key(|(at, _)| *at);
    events.into_iter().map(|(_, e)| e).collect()
}
