//! ecsim's scenario files: a YAML or JSON file of setup and steps (`call`, `wait`, `advance`,
//! `fault`, `traffic`, `expect`) read with line numbers and checked before anything runs, the
//! `${...}` variables and path expressions steps share, the expectation matchers, and the JUnit
//! and HTML reports of a run.
//!
//! Pure: no sockets, no clock, no files (callers hand in text and write the outputs). The runner
//! that drives an emulator lives in the `ecsim` crate (`ecsim::scenario`).

pub mod check;
pub mod doc;
pub mod duration;
pub mod html;
pub mod junit;
pub mod matcher;
pub mod model;
pub mod path;
pub mod record;
pub mod vars;

pub use model::{Problem, Scenario, ScenarioFile, Setup, Step, StepKind, parse_file};
pub use record::{Outcome, RunRecord, StepRecord, StepStatus, Timeline};
