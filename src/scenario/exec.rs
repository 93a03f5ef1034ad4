//! Runs one scenario's steps in order on its own session, recording each step, the timeline and
//! the outcome. The first failing step ends the run; the steps after it are recorded as not run.
//! The session is shut down (containers removed on Docker) however the run ends.

use std::collections::BTreeMap;

use ecsim_scenario::duration::show;
use ecsim_scenario::matcher::short;
use ecsim_scenario::model::{Scenario, Step, StepKind};
use ecsim_scenario::record::{Mark, Outcome, RunRecord, StepRecord, StepStatus};
use ecsim_scenario::vars::{Vars, substitute};
use serde_json::{Value, json};

use super::conditions::{Check, check};
use super::expect::{Context, StepStart};
use super::observe::Recorder;
use super::session::Session;
use super::traffic::TrafficBook;
use super::{Progress, RunOptions};

/// Longest scenario time between two checks of a wait's condition on the virtual clock.
const CHECK_EVERY_MS: u64 = 1_000;
/// Real time between two checks of a wait's condition on the live clock.
const LIVE_CHECK_REAL_MS: f64 = 50.0;

/// Scenario milliseconds that pass in `LIVE_CHECK_REAL_MS` at `scale`.
fn live_check_ms(scale: f64) -> u64 {
    // Bounded: scales are at most 10,000.
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
    let ms = (LIVE_CHECK_REAL_MS * scale).round() as u64;
    ms.max(1)
}

struct Run {
    session: Session,
    vars: Vars,
    recorder: Recorder,
    traffic: TrafficBook,
    starts: BTreeMap<String, StepStart>,
}

fn label(step: &Step) -> String {
    match &step.kind {
        StepKind::Call {
            service, operation, ..
        } => format!("{service}.{operation}"),
        StepKind::Wait {
            condition,
            timeout_ms,
        } => {
            let kind = condition
                .as_object()
                .and_then(|m| m.keys().next().cloned())
                .unwrap_or_default();
            format!("wait {kind} (timeout {})", show(*timeout_ms))
        }
        StepKind::Advance { by_ms } => format!("advance {}", show(*by_ms)),
        StepKind::Fault { spec, .. } => format!("fault {}", spec["type"].as_str().unwrap_or_default()),
        StepKind::Traffic(t) => format!(
            "traffic {} rps for {}",
            t.requests_per_second,
            show(t.duration_ms)
        ),
        StepKind::Expect { checks } => format!(
            "expect ({} check{})",
            checks.len(),
            if checks.len() == 1 { "" } else { "s" }
        ),
    }
}

/// `text` as one shell word (single-quoted unless it is plain).
fn shell_quote(text: &str) -> String {
    let plain = !text.is_empty()
        && text
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '/' | '.' | '-' | '_' | ':' | '='));
    if plain {
        text.to_string()
    } else {
        format!("'{}'", text.replace('\'', "'\\''"))
    }
}

pub(super) async fn run_scenario(
    file: &str,
    scenario: &Scenario,
    options: &RunOptions,
    instance: &str,
) -> RunRecord {
    #[allow(clippy::disallowed_methods)] // wall time of the run, for the report only
    let wall_start = std::time::Instant::now();
    let runtime = options.runtime.unwrap_or(scenario.setup.runtime);
    let seed = options.seed.unwrap_or(scenario.setup.seed);
    let mut record = RunRecord {
        scenario: scenario.name.clone(),
        file: file.to_string(),
        line: scenario.line,
        description: scenario.description.clone(),
        seed,
        runtime: runtime.as_str().to_string(),
        replay_command: format!(
            "ecsim run {} --scenario {} --runtime {} --seed {seed}",
            shell_quote(file),
            shell_quote(&scenario.name),
            runtime.as_str()
        ),
        ..RunRecord::default()
    };
    record.steps = scenario
        .steps
        .iter()
        .enumerate()
        .map(|(index, step)| StepRecord {
            index: index + 1,
            kind: step.kind.name().to_string(),
            line: step.line,
            label: step
                .name
                .clone()
                .map_or_else(|| label(step), |n| format!("{n}: {}", label(step))),
            status: StepStatus::NotRun,
            ..StepRecord::default()
        })
        .collect();
    if !scenario.setup.runtimes.contains(&runtime) {
        record.outcome = Outcome::Skipped {
            reason: format!(
                "runs on {} only (setup.runtimes)",
                scenario
                    .setup
                    .runtimes
                    .iter()
                    .map(|r| r.as_str())
                    .collect::<Vec<_>>()
                    .join(" and ")
            ),
        };
        if let Some(p) = &options.progress {
            p(&Progress {
                file,
                scenario: &scenario.name,
                step: 0,
                steps: scenario.steps.len(),
                label: "",
                scenario_ms: 0,
                outcome: Some(&record.outcome),
            });
        }
        return record;
    }
    let session = match Session::start(scenario, runtime, seed, instance).await {
        Ok(s) => s,
        Err(message) => {
            record.outcome = Outcome::Failed { step: 0, message };
            return record;
        }
    };
    let mut vars = scenario.setup.vars.clone();
    vars.insert("scenario".into(), json!(scenario.name));
    vars.insert("runtime".into(), json!(runtime.as_str()));
    vars.insert("seed".into(), json!(seed));
    vars.insert("region".into(), json!(scenario.setup.region));
    vars.insert("accountId".into(), json!(scenario.setup.account_id));
    let mut run = Run {
        session,
        vars,
        recorder: Recorder::new(scenario.setup.sample_every_ms),
        traffic: TrafficBook::default(),
        starts: BTreeMap::new(),
    };
    run.recorder.observe(&run.session);
    run.recorder.sample(&run.session, &run.traffic);
    for (index, step) in scenario.steps.iter().enumerate() {
        let started_ms = run.session.now_ms();
        if let Some(p) = &options.progress {
            p(&Progress {
                file,
                scenario: &scenario.name,
                step: index + 1,
                steps: scenario.steps.len(),
                label: &record.steps[index].label,
                scenario_ms: started_ms,
                outcome: None,
            });
        }
        run.recorder.timeline.step_marks.push(Mark {
            at_ms: started_ms,
            label: format!("{} {}", index + 1, record.steps[index].label),
        });
        if let Some(name) = &step.name {
            let traffic = run.traffic.counts(&run.session);
            run.starts.insert(
                name.clone(),
                StepStart {
                    at_ms: started_ms,
                    traffic,
                },
            );
        }
        let result = run.step(step).await;
        // Counts and deployment states at every step's end (so before every `expect`), and a
        // sample when one is due.
        run.recorder.observe(&run.session);
        if run.recorder.sample_due(&run.session) {
            run.recorder.sample(&run.session, &run.traffic);
        }
        let slot = &mut record.steps[index];
        slot.started_ms = started_ms;
        slot.ended_ms = run.session.now_ms();
        match result {
            Ok(detail) => {
                slot.status = StepStatus::Passed;
                slot.detail = detail;
            }
            Err(message) => {
                slot.status = StepStatus::Failed;
                slot.detail.clone_from(&message);
                record.outcome = Outcome::Failed {
                    step: index + 1,
                    message: format!(
                        "step {} (line {}, {}): {message}",
                        index + 1,
                        step.line,
                        slot.label
                    ),
                };
                break;
            }
        }
    }
    run.recorder.sample(&run.session, &run.traffic);
    run.traffic.stop();
    record.scenario_ms = run.session.now_ms();
    record.timeline = std::mem::take(&mut run.recorder.timeline);
    run.session.shutdown().await;
    record.wall_ms = u64::try_from(wall_start.elapsed().as_millis()).unwrap_or(u64::MAX);
    if let Some(p) = &options.progress {
        p(&Progress {
            file,
            scenario: &scenario.name,
            step: scenario.steps.len(),
            steps: scenario.steps.len(),
            label: "",
            scenario_ms: record.scenario_ms,
            outcome: Some(&record.outcome),
        });
    }
    record
}

impl Run {
    /// Moves time to `until_ms`, observing every step and sampling the timeline.
    async fn pass_time(&mut self, until_ms: u64) {
        let recorder = &mut self.recorder;
        let traffic = &self.traffic;
        self.session
            .run_until(until_ms, |session| {
                recorder.observe(session);
                if recorder.sample_due(session) {
                    recorder.sample(session, traffic);
                }
                false
            })
            .await;
    }

    async fn step(&mut self, step: &Step) -> Result<String, String> {
        match &step.kind {
            StepKind::Call {
                service,
                operation,
                input,
                capture,
                expect_error,
            } => {
                let input = substitute(input, &self.vars)?;
                let result = self.session.call(service, operation, input).await;
                match (result, expect_error) {
                    (Ok(answer), None) => {
                        for (name, path) in capture {
                            let value = path.lookup(&answer).ok_or_else(|| {
                                format!(
                                    "capture '{name}': the answer has nothing at '{path}'; the answer: {}",
                                    short(&answer)
                                )
                            })?;
                            self.vars.insert(name.clone(), value);
                        }
                        Ok(short(&answer))
                    }
                    (Ok(answer), Some(code)) => Err(format!(
                        "{service}.{operation}: expected the error {code}, but it succeeded: {}",
                        short(&answer)
                    )),
                    (Err(e), Some(code)) if e.code == *code => Ok(format!("{}: {}", e.code, e.message)),
                    (Err(e), Some(code)) => Err(format!(
                        "{service}.{operation}: expected the error {code}, got {}: {}",
                        e.code, e.message
                    )),
                    (Err(e), None) => Err(format!("{service}.{operation} failed: {}: {}", e.code, e.message)),
                }
            }
            StepKind::Wait {
                condition,
                timeout_ms,
            } => {
                let condition = substitute(condition, &self.vars)?;
                let deadline_ms = self.session.now_ms() + timeout_ms;
                let started_ms = self.session.now_ms();
                loop {
                    match check(&self.session, &condition)? {
                        Check::Met(detail) => {
                            return Ok(format!(
                                "{detail} (after {})",
                                show(self.session.now_ms() - started_ms)
                            ));
                        }
                        Check::Failed(why) => return Err(format!("the condition can no longer hold: {why}")),
                        Check::NotYet(detail) => {
                            let now = self.session.now_ms();
                            if now >= deadline_ms {
                                return Err(format!("timed out after {}: {detail}", show(*timeout_ms)));
                            }
                            // Live: about every LIVE_CHECK_REAL_MS of real time, whatever the speed.
                            let step_ms = if self.session.is_live() {
                                live_check_ms(self.session.time_scale())
                            } else {
                                CHECK_EVERY_MS
                            };
                            self.pass_time((now + step_ms).min(deadline_ms)).await;
                        }
                    }
                }
            }
            StepKind::Advance { by_ms } => {
                let until = self.session.now_ms() + by_ms;
                self.pass_time(until).await;
                Ok(format!("now at {}", show(self.session.now_ms())))
            }
            StepKind::Fault { spec, capture } => {
                let spec = substitute(spec, &self.vars)?;
                let view = self
                    .session
                    .with_engine_mut(|engine| engine.inject_fault(spec))
                    .await?;
                if let Some(name) = capture {
                    self.vars.insert(name.clone(), view["faultId"].clone());
                }
                Ok(view["message"].as_str().unwrap_or_default().to_string())
            }
            StepKind::Traffic(t) => {
                let load_balancer = match substitute(&t.load_balancer, &self.vars)? {
                    Value::String(s) => s,
                    other => {
                        return Err(format!(
                            "traffic.loadBalancer must be an ARN or a DNS name, not {other}"
                        ));
                    }
                };
                let name = if t.run.is_empty() {
                    // The first free `traffic-N`: the file may have named a run that way itself.
                    (1..)
                        .map(|n| format!("traffic-{n}"))
                        .find(|candidate| !self.traffic.names().any(|used| used == candidate))
                        .unwrap_or_default()
                } else {
                    t.run.clone()
                };
                self.traffic
                    .start(&self.session, name.clone(), load_balancer, t)
                    .await?;
                Ok(format!("{name} started"))
            }
            StepKind::Expect { checks } => {
                let ctx = Context {
                    session: &self.session,
                    recorder: &self.recorder,
                    traffic: &self.traffic,
                    starts: &self.starts,
                    vars: &self.vars,
                };
                let mut seen = Vec::new();
                let mut failures = Vec::new();
                for c in checks {
                    match super::expect::check(&ctx, &c.kind) {
                        Ok(detail) => seen.push(format!("line {}: {detail}", c.line)),
                        Err(e) => failures.push(format!("line {}: {e}", c.line)),
                    }
                }
                if failures.is_empty() {
                    Ok(seen.join("\n"))
                } else {
                    Err(failures.join("\n"))
                }
            }
        }
    }
}
