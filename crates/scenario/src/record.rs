//! What a scenario run recorded: its steps and their outcomes, and the timeline the report draws
//! (running tasks per revision and per AZ, listener weights, alarm and deployment states,
//! injected faults, request outcomes per version).
//!
//! Pure data, filled by the runner and read by the JUnit and HTML writers. Times are
//! milliseconds of scenario time since the scenario started.

use std::collections::BTreeMap;

/// One scenario's run, as the reports show it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RunRecord {
    /// The scenario's name.
    pub scenario: String,
    /// The file it came from, as given on the command line.
    pub file: String,
    /// The scenario's line in its file.
    pub line: u32,
    pub description: Option<String>,
    pub seed: u64,
    /// `sim` or `docker`.
    pub runtime: String,
    pub outcome: Outcome,
    /// Scenario (control-plane) time the run covered.
    pub scenario_ms: u64,
    /// Real time it took.
    pub wall_ms: u64,
    /// The command that replays this run exactly (simulated runtime) or runs it again.
    pub replay_command: String,
    pub steps: Vec<StepRecord>,
    pub timeline: Timeline,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum Outcome {
    #[default]
    Passed,
    /// The first failing step (1-based; 0 when the run failed before its first step) and its
    /// message (an expectation's expected and actual, a call's error, a wait's timeout).
    Failed { step: usize, message: String },
    /// The scenario does not run on this runtime (`setup.runtimes`).
    Skipped { reason: String },
}

impl Outcome {
    pub fn passed(&self) -> bool {
        matches!(self, Outcome::Passed)
    }
}

/// One step as it ran.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StepRecord {
    /// 1-based position in the scenario's steps.
    pub index: usize,
    /// `call`, `wait`, `advance`, `fault`, `traffic` or `expect`.
    pub kind: String,
    /// The step's line in its file.
    pub line: u32,
    /// A one-line description (`ecs.CreateService`, `wait serviceStable web`, …).
    pub label: String,
    pub started_ms: u64,
    pub ended_ms: u64,
    pub status: StepStatus,
    /// What the step saw (a wait's last check, an expectation's actual value), or why it failed.
    pub detail: String,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum StepStatus {
    #[default]
    Passed,
    Failed,
    /// Not run because an earlier step failed.
    NotRun,
}

/// Series sampled over the run. Every series in a map has one entry per `times_ms` entry.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Timeline {
    /// Sample times, ascending.
    pub times_ms: Vec<u64>,
    /// RUNNING tasks per task definition (`family:revision`).
    pub running_by_revision: BTreeMap<String, Vec<u32>>,
    /// RUNNING tasks per Availability Zone.
    pub running_by_zone: BTreeMap<String, Vec<u32>>,
    /// Forward weight per (listener or rule, target group name), keyed `"<listener label> → <target
    /// group name>"`; `None` while the target group is not in that forward action.
    pub weights: BTreeMap<String, Vec<Option<u32>>>,
    /// State per alarm name (`OK`, `ALARM`, `INSUFFICIENT_DATA`); `None` while it does not exist.
    pub alarm_states: BTreeMap<String, Vec<Option<String>>>,
    /// State per deployment (ECS service deployments by `service/id`, CodeDeploy deployments by
    /// id): `IN_PROGRESS`, `SUCCESSFUL`, `Succeeded`, `Stopped`, …; `None` before it exists.
    pub deployment_states: BTreeMap<String, Vec<Option<String>>>,
    /// Answers per version (`family:revision` of the task that answered, or `load balancer` for
    /// answers no target gave) in the interval ending at each sample time; the first interval
    /// starts at scenario time 0.
    pub outcomes_by_version: BTreeMap<String, Vec<OutcomeCounts>>,
    /// Faults as they happened.
    pub faults: Vec<Mark>,
    /// Where each step started (for the report's step markers).
    pub step_marks: Vec<Mark>,
}

/// The version answers no target gave are counted under (the load balancer answered itself).
pub const LOAD_BALANCER_VERSION: &str = "load balancer";

/// Answers counted in one interval.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct OutcomeCounts {
    /// 2xx and 3xx.
    pub ok: u64,
    /// 4xx.
    pub client_errors: u64,
    /// 5xx, the load balancer's own 502/503/504 included, and requests with no answer.
    pub server_errors: u64,
}

impl OutcomeCounts {
    pub fn total(&self) -> u64 {
        self.ok + self.client_errors + self.server_errors
    }

    pub fn add_status(&mut self, status: u16, n: u64) {
        match status {
            200..=399 => self.ok += n,
            400..=499 => self.client_errors += n,
            _ => self.server_errors += n,
        }
    }
}

/// A point on the time axis with a label.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Mark {
    pub at_ms: u64,
    pub label: String,
}
