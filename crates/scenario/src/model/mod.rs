//! The scenario file format: what `setup` and each step may say, as types (the reading and its
//! problem reports are in `read`).
//!
//! It must not run anything: values that may hold `${...}` stay JSON until the runner substitutes
//! them. The reference page is `docs/scenarios.md`.

use serde_json::Value;

use crate::doc::Pos;
use crate::path::Path;
use crate::vars::Vars;

/// A problem in a scenario file, found before it runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub file: String,
    pub pos: Pos,
    pub message: String,
    pub hint: Option<String>,
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}:{}:{}: {}",
            self.file, self.pos.line, self.pos.col, self.message
        )?;
        if let Some(hint) = &self.hint {
            write!(f, "\n  hint: {hint}")?;
        }
        Ok(())
    }
}

/// Every scenario of one file.
#[derive(Debug, Clone, PartialEq)]
pub struct ScenarioFile {
    pub path: String,
    pub scenarios: Vec<Scenario>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Scenario {
    pub name: String,
    pub line: u32,
    pub description: Option<String>,
    pub setup: Setup,
    pub steps: Vec<Step>,
}

/// Which runtime runs the tasks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum RuntimeName {
    Sim,
    Docker,
}

impl RuntimeName {
    pub fn as_str(self) -> &'static str {
        match self {
            RuntimeName::Sim => "sim",
            RuntimeName::Docker => "docker",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "sim" => Some(RuntimeName::Sim),
            "docker" => Some(RuntimeName::Docker),
            _ => None,
        }
    }
}

/// A local stand-in for a Lambda function that hooks name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FunctionSpec {
    Url(String),
    Command(Vec<String>),
}

/// How containers of an image behave: `ECSIM_*` environment entries they get unless their
/// container definition sets the same name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageModel {
    /// `repository:tag` matches that tag; `repository` matches every tag.
    pub image: String,
    pub env: Vec<(String, String)>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Setup {
    pub region: String,
    pub account_id: String,
    /// Availability Zone letters (`a`, `b`, …).
    pub zone_letters: Vec<String>,
    pub vpc_cidr: Option<String>,
    pub subnet_prefix_length: Option<u8>,
    pub seed: u64,
    /// The runtime when the command line does not choose one.
    pub runtime: RuntimeName,
    /// Runtimes the scenario is meant for; on another one it is skipped.
    pub runtimes: Vec<RuntimeName>,
    /// Speed of the live clock on the Docker runtime (control-plane seconds per real second).
    pub speed: f64,
    pub images: Vec<ImageModel>,
    /// The local image that stands in for every image of `images` on the Docker runtime.
    pub docker_image: String,
    pub functions: Vec<(String, FunctionSpec)>,
    /// Longest scenario time between two timeline samples.
    pub sample_every_ms: u64,
    /// Variables defined up front.
    pub vars: Vars,
}

impl Default for Setup {
    fn default() -> Self {
        Self {
            region: "us-east-1".into(),
            account_id: "000000000000".into(),
            zone_letters: ["a", "b", "c", "d", "e", "f"].map(String::from).to_vec(),
            vpc_cidr: None,
            subnet_prefix_length: None,
            seed: 0,
            runtime: RuntimeName::Sim,
            runtimes: vec![RuntimeName::Sim, RuntimeName::Docker],
            speed: 60.0,
            images: Vec::new(),
            docker_image: "ecsim-testapp:latest".into(),
            functions: Vec::new(),
            sample_every_ms: 5_000,
            vars: Vars::new(),
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Step {
    pub line: u32,
    /// `name:` of the step, for `since:` and the report.
    pub name: Option<String>,
    pub kind: StepKind,
}

#[derive(Debug, Clone, PartialEq)]
pub enum StepKind {
    Call {
        /// ecsim's service name (`ecs`, `elbv2`, `ec2`, `sts`, `cloudwatch`, `codedeploy`).
        service: String,
        operation: String,
        /// The input shape as JSON; strings may hold `${...}`.
        input: Value,
        /// Variables set from the answer.
        capture: Vec<(String, Path)>,
        /// The call must fail with this error code.
        expect_error: Option<String>,
    },
    Wait {
        /// One condition (`serviceStable`, `taskCount`, …) as JSON.
        condition: Value,
        timeout_ms: u64,
    },
    Advance {
        by_ms: u64,
    },
    Fault {
        /// The fault API's body.
        spec: Value,
        /// Variable set to the fault's id.
        capture: Option<String>,
    },
    Traffic(TrafficStep),
    Expect {
        checks: Vec<Expectation>,
    },
}

impl StepKind {
    pub fn name(&self) -> &'static str {
        match self {
            StepKind::Call { .. } => "call",
            StepKind::Wait { .. } => "wait",
            StepKind::Advance { .. } => "advance",
            StepKind::Fault { .. } => "fault",
            StepKind::Traffic(_) => "traffic",
            StepKind::Expect { .. } => "expect",
        }
    }
}

/// Requests sent to a load balancer listener in the background while later steps run.
#[derive(Debug, Clone, PartialEq)]
pub struct TrafficStep {
    /// What `expect: traffic` calls this run (default `traffic-1`, `traffic-2`, …).
    pub run: String,
    /// ARN or DNS name; may hold `${...}`.
    pub load_balancer: Value,
    pub port: Option<u16>,
    pub requests_per_second: u32,
    pub duration_ms: u64,
    pub path: String,
}

/// One assertion of an `expect` step; its matchers are JSON until substituted.
#[derive(Debug, Clone, PartialEq)]
pub struct Expectation {
    pub line: u32,
    pub kind: ExpectKind,
}

#[derive(Debug, Clone, PartialEq)]
pub enum ExpectKind {
    /// A value from an API answer (`call` + `input`) or from `value` (usually `${var}`), at
    /// `path`, checked by matchers.
    That {
        source: ThatSource,
        /// A path expression; may hold `${...}` (substituted before it is parsed).
        path: String,
        matchers: Vec<(String, Value)>,
    },
    /// Recorded traffic: requests, errors, and the share a version or target group got.
    Traffic {
        run: Option<String>,
        version: Option<String>,
        target_group: Option<String>,
        since: Option<String>,
        share_pct: Option<f64>,
        tolerance_pct: f64,
        requests: Vec<(String, Value)>,
        errors: Vec<(String, Value)>,
        /// How many distinct tasks answered.
        tasks: Vec<(String, Value)>,
    },
    /// The CloudWatch alarm history: states an alarm reached (or never reached).
    AlarmHistory {
        alarm_name: Value,
        reached: Option<String>,
        never: Option<String>,
    },
    /// States a deployment went through, in order (CodeDeploy id, or an ECS service's
    /// deployments).
    DeploymentHistory {
        deployment: Option<Value>,
        service: Option<String>,
        states: Vec<String>,
    },
    /// The event log (ECS service events and fault events).
    Events {
        contains: Value,
        count: Vec<(String, Value)>,
    },
    /// RUNNING tasks over every moment so far (every controller step is observed).
    Running {
        /// Only moments from this step's start on.
        since: Option<String>,
        service: Option<String>,
        task_definition: Option<String>,
        zone: Option<String>,
        min: Vec<(String, Value)>,
        max: Vec<(String, Value)>,
        now: Vec<(String, Value)>,
    },
}

#[derive(Debug, Clone, PartialEq)]
pub enum ThatSource {
    Call {
        service: String,
        operation: String,
        input: Value,
    },
    Value(Value),
}

/// Step kinds, for messages and hints.
pub const STEP_KINDS: [&str; 6] = ["call", "wait", "advance", "fault", "traffic", "expect"];

mod read;

pub use read::{Reader, parse_file, suggest};

#[cfg(test)]
mod tests;
