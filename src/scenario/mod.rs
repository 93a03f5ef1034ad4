//! The scenario runner: reads scenario files (checked before anything runs), runs each scenario
//! in its own in-process emulator — on the virtual clock with simulated tasks, or on the sped-up
//! system clock with Docker containers — several at once, and returns what each run recorded
//! for the JUnit and HTML reports. `ecsim run` is this module behind a command line; tests call
//! [`run_file`].
//!
//! The file format, the checks and the reports are `ecsim_scenario`'s; this module only drives
//! emulators.

mod conditions;
mod exec;
mod expect;
mod observe;
mod session;
mod traffic;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};

pub use ecsim_scenario::model::{Problem, RuntimeName, Scenario, ScenarioFile, StepKind};
pub use ecsim_scenario::record::{Outcome, RunRecord};
pub use ecsim_scenario::{html, junit};

/// Where a run is, for a progress line.
pub struct Progress<'a> {
    pub file: &'a str,
    pub scenario: &'a str,
    /// 1-based step number.
    pub step: usize,
    pub steps: usize,
    pub label: &'a str,
    pub scenario_ms: u64,
    /// Set once the scenario has ended.
    pub outcome: Option<&'a Outcome>,
}

/// Called from the tasks that run scenarios (so from several threads).
pub type ProgressFn = Arc<dyn Fn(&Progress<'_>) + Send + Sync>;

/// How scenarios run.
#[derive(Clone, Default)]
pub struct RunOptions {
    /// Overrides each scenario's `setup.runtime`.
    pub runtime: Option<RuntimeName>,
    /// Overrides each scenario's `setup.seed`.
    pub seed: Option<u64>,
    /// Scenarios running at once (at least 1).
    pub jobs: usize,
    /// Runs only the scenarios with these names (all when empty).
    pub only: Vec<String>,
    pub progress: Option<ProgressFn>,
}

/// Why files could not be run.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error("{0}")]
    Io(String),
    #[error("{}", .0.iter().map(ToString::to_string).collect::<Vec<_>>().join("\n"))]
    Invalid(Vec<Problem>),
}

/// One file's runs, in the file's order.
#[derive(Debug, Clone)]
pub struct FileRun {
    pub file: String,
    pub runs: Vec<RunRecord>,
}

impl FileRun {
    pub fn passed(&self) -> bool {
        self.runs
            .iter()
            .all(|r| !matches!(r.outcome, Outcome::Failed { .. }))
    }
}

fn is_scenario_file(path: &Path) -> bool {
    matches!(
        path.extension().and_then(|e| e.to_str()),
        Some("yaml" | "yml" | "json")
    )
}

/// The scenario files named: files as given, directories searched recursively for `.yaml`,
/// `.yml` and `.json` (in name order).
pub fn find_files(paths: &[PathBuf]) -> Result<Vec<PathBuf>, LoadError> {
    let mut out = Vec::new();
    for path in paths {
        if path.is_dir() {
            let mut found = Vec::new();
            let mut stack = vec![path.clone()];
            while let Some(dir) = stack.pop() {
                let entries = std::fs::read_dir(&dir)
                    .map_err(|e| LoadError::Io(format!("cannot read {}: {e}", dir.display())))?;
                for entry in entries {
                    let p = entry
                        .map_err(|e| LoadError::Io(format!("cannot read {}: {e}", dir.display())))?
                        .path();
                    if p.is_dir() {
                        stack.push(p);
                    } else if is_scenario_file(&p) {
                        found.push(p);
                    }
                }
            }
            found.sort();
            out.extend(found);
        } else if path.exists() {
            out.push(path.clone());
        } else {
            return Err(LoadError::Io(format!(
                "{}: no such file or directory",
                path.display()
            )));
        }
    }
    Ok(out)
}

/// Reads and checks files. Every problem of every file is reported, none runs.
pub fn load(paths: &[PathBuf]) -> Result<Vec<ScenarioFile>, LoadError> {
    let mut files = Vec::new();
    let mut problems = Vec::new();
    for path in find_files(paths)? {
        let shown = path.display().to_string();
        let text =
            std::fs::read_to_string(&path).map_err(|e| LoadError::Io(format!("cannot read {shown}: {e}")))?;
        match parse(&shown, &text) {
            Ok(file) => files.push(file),
            Err(mut p) => problems.append(&mut p),
        }
    }
    if problems.is_empty() {
        Ok(files)
    } else {
        Err(LoadError::Invalid(problems))
    }
}

/// Reads and checks one file's text: the format, and that every operation called is one ecsim
/// has built (a call to one that is not must expect its error).
pub fn parse(path: &str, text: &str) -> Result<ScenarioFile, Vec<Problem>> {
    let file = ecsim_scenario::parse_file(path, text)?;
    let rows = ecsim_control::coverage::rows();
    let mut problems = Vec::new();
    for scenario in &file.scenarios {
        for step in &scenario.steps {
            if let StepKind::Call {
                service,
                operation,
                expect_error: None,
                ..
            } = &step.kind
                && rows
                    .iter()
                    .any(|(s, o, built)| s == service && o == operation && !built)
            {
                problems.push(Problem {
                    file: path.to_string(),
                    pos: ecsim_scenario::doc::Pos {
                        line: step.line,
                        col: 1,
                    },
                    message: format!(
                        "{service}.{operation} is not built in ecsim yet (it answers NotImplemented)"
                    ),
                    hint: Some("docs/coverage.md lists the operations ecsim serves".into()),
                });
            }
        }
    }
    if problems.is_empty() {
        Ok(file)
    } else {
        Err(problems)
    }
}

/// A Docker instance name no other run uses.
fn instance_name(scenario: &str) -> String {
    static COUNTER: AtomicU32 = AtomicU32::new(0);
    let slug: String = scenario
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '-'
            }
        })
        .take(24)
        .collect();
    format!(
        "scn{}-{}-{slug}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::SeqCst)
    )
}

/// Removes every container and network labelled with `instance` (the emulator removes its own
/// on shutdown; this also covers a run that crashed before it could).
async fn remove_docker_instance(instance: &str) {
    match ecsim_docker::connect(None).await {
        Ok(docker) => ecsim_docker::remove_instance(&docker, instance).await,
        Err(e) => tracing::warn!(instance, error = %e, "cannot reach Docker to clean up after a scenario"),
    }
}

/// Runs every scenario of `files`, `options.jobs` at a time, each in its own emulator. Results
/// come back in file and scenario order.
pub async fn run_files(files: &[ScenarioFile], options: &RunOptions) -> Vec<FileRun> {
    let slots = Arc::new(tokio::sync::Semaphore::new(options.jobs.max(1)));
    let mut handles = Vec::new();
    for (f, file) in files.iter().enumerate() {
        for scenario in &file.scenarios {
            if !options.only.is_empty() && !options.only.contains(&scenario.name) {
                continue;
            }
            let (path, scenario, options, slots) = (
                file.path.clone(),
                scenario.clone(),
                options.clone(),
                slots.clone(),
            );
            handles.push((
                f,
                tokio::spawn(async move {
                    let _slot = slots.acquire_owned().await;
                    let instance = instance_name(&scenario.name);
                    let docker = options.runtime.unwrap_or(scenario.setup.runtime) == RuntimeName::Docker;
                    let run = tokio::spawn({
                        let (path, scenario, options, instance) =
                            (path.clone(), scenario.clone(), options.clone(), instance.clone());
                        async move { exec::run_scenario(&path, &scenario, &options, &instance).await }
                    });
                    let record = run.await.unwrap_or_else(|e| RunRecord {
                        scenario: scenario.name.clone(),
                        file: path.clone(),
                        line: scenario.line,
                        outcome: Outcome::Failed {
                            step: 0,
                            message: format!("the runner crashed: {e}"),
                        },
                        ..RunRecord::default()
                    });
                    if docker {
                        // Pass, fail or crash: nothing of this scenario stays behind.
                        remove_docker_instance(&instance).await;
                    }
                    record
                }),
            ));
        }
    }
    let mut out: Vec<FileRun> = files
        .iter()
        .map(|f| FileRun {
            file: f.path.clone(),
            runs: Vec::new(),
        })
        .collect();
    for (f, handle) in handles {
        let record = handle.await.unwrap_or_else(|e| RunRecord {
            outcome: Outcome::Failed {
                step: 0,
                message: format!("the runner crashed: {e}"),
            },
            ..RunRecord::default()
        });
        out[f].runs.push(record);
    }
    out.retain(|f| !f.runs.is_empty());
    out
}

/// Reads, checks and runs one file: the library form of `ecsim run FILE`.
pub async fn run_file(path: impl AsRef<Path>, options: &RunOptions) -> Result<FileRun, LoadError> {
    let files = load(&[path.as_ref().to_path_buf()])?;
    let mut runs = run_files(&files, options).await;
    Ok(runs.pop().unwrap_or(FileRun {
        file: path.as_ref().display().to_string(),
        runs: Vec::new(),
    }))
}
