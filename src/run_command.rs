//! `ecsim run`: runs scenario files and writes what CI needs — a progress line per scenario
//! (redrawn in place on a terminal, plain lines otherwise), a summary with the replay command of
//! each failure, JUnit XML and an HTML report per scenario. Exit code 0 when every scenario
//! passes, 1 when any fails, 2 when a file is invalid (nothing runs then).

use std::collections::BTreeMap;
use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{Context, Result};
use ecsim::scenario::{self, FileRun, LoadError, Outcome, Progress, RunOptions, RuntimeName};
use ecsim_scenario::duration::show;
use parking_lot::Mutex;

#[derive(Debug, clap::Args)]
pub struct RunArgs {
    /// Scenario files (.yaml, .yml, .json) or directories holding them.
    #[arg(required = true, value_name = "PATH")]
    paths: Vec<PathBuf>,
    /// Task runtime for every scenario (overrides each file's setup.runtime).
    #[arg(long, value_parser = ["sim", "docker"])]
    runtime: Option<String>,
    /// Seed for every scenario (overrides each file's setup.seed).
    #[arg(long)]
    seed: Option<u64>,
    /// Write JUnit XML here (one test suite per file, one test case per scenario).
    #[arg(long, value_name = "FILE")]
    junit: Option<PathBuf>,
    /// Write an HTML report per scenario, and an index.html, into this directory.
    #[arg(long, value_name = "DIR")]
    report: Option<PathBuf>,
    /// Scenarios run at once (default: the number of cores).
    #[arg(long, value_name = "N")]
    jobs: Option<usize>,
    /// Run only the scenario with this name (repeatable).
    #[arg(long = "scenario", value_name = "NAME")]
    scenarios: Vec<String>,
    /// Log filter for the emulators' own logs (stderr).
    #[arg(long, env = "ECSIM_LOG_LEVEL", default_value = "error")]
    log_level: String,
}

/// Runs the command; returns the process exit code.
pub fn run(args: RunArgs) -> Result<i32> {
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::try_new(&args.log_level).context("--log-level")?)
        .with_target(false)
        .with_writer(std::io::stderr)
        .init();
    let files = match scenario::load(&args.paths) {
        Ok(files) => files,
        Err(LoadError::Invalid(problems)) => {
            for p in &problems {
                eprintln!("{p}");
            }
            eprintln!("{} problem(s) found; nothing ran", problems.len());
            return Ok(2);
        }
        Err(e @ LoadError::Io(_)) => {
            eprintln!("{e}");
            return Ok(2);
        }
    };
    let known: Vec<&str> = files
        .iter()
        .flat_map(|f| f.scenarios.iter().map(|s| s.name.as_str()))
        .collect();
    let unknown: Vec<&String> = args
        .scenarios
        .iter()
        .filter(|n| !known.contains(&n.as_str()))
        .collect();
    if !unknown.is_empty() {
        eprintln!("--scenario names no scenario of these files: {unknown:?} (scenarios: {known:?})");
        return Ok(2);
    }
    let jobs = args
        .jobs
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get))
        .max(1);
    let live = Arc::new(Lines::new(std::io::stderr().is_terminal()));
    let progress_lines = live.clone();
    let options = RunOptions {
        runtime: args.runtime.as_deref().and_then(RuntimeName::parse),
        seed: args.seed,
        jobs,
        only: args.scenarios.clone(),
        progress: Some(Arc::new(move |p: &Progress<'_>| progress_lines.show(p))),
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(jobs.max(2))
        .enable_all()
        .build()
        .context("starting tokio")?;
    #[allow(clippy::disallowed_methods)] // the run's wall time, for the summary only
    let started = std::time::Instant::now();
    let results = runtime.block_on(scenario::run_files(&files, &options));
    let run_wall_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
    live.finish();
    if results.is_empty() {
        eprintln!("no scenario matched");
        return Ok(2);
    }
    summary(&results, run_wall_ms);
    if let Some(path) = &args.junit {
        let files: Vec<(String, Vec<scenario::RunRecord>)> =
            results.iter().map(|f| (f.file.clone(), f.runs.clone())).collect();
        write(path, &scenario::junit::write_junit(&files))?;
    }
    if let Some(dir) = &args.report {
        write_reports(dir, &results)?;
    }
    Ok(if results.iter().all(FileRun::passed) { 0 } else { 1 })
}

fn write(path: &Path, text: &str) -> Result<()> {
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent).with_context(|| format!("creating {}", parent.display()))?;
    }
    std::fs::write(path, text).with_context(|| format!("writing {}", path.display()))
}

/// `scenarios/canary.yaml` + `bad revision` → `canary--bad-revision.html`.
fn report_name(file: &str, scenario: &str) -> String {
    let slug = |s: &str| -> String {
        s.chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() {
                    c.to_ascii_lowercase()
                } else {
                    '-'
                }
            })
            .collect::<String>()
            .split('-')
            .filter(|p| !p.is_empty())
            .collect::<Vec<_>>()
            .join("-")
    };
    let stem = Path::new(file)
        .file_stem()
        .map_or_else(String::new, |s| s.to_string_lossy().into_owned());
    format!("{}--{}.html", slug(&stem), slug(scenario))
}

fn write_reports(dir: &Path, results: &[FileRun]) -> Result<()> {
    let mut index = String::from(
        "<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>ecsim scenarios</title>\
         <style>body{font-family:sans-serif;margin:2em}td,th{padding:.3em .8em;text-align:left}\
         .passed{color:#1a7f37}.failed{color:#cf222e}.skipped{color:#777}</style></head><body>\
         <h1>ecsim scenarios</h1><table><tr><th>File</th><th>Scenario</th><th>Result</th><th>Scenario time</th><th>Wall time</th></tr>",
    );
    let mut used = std::collections::BTreeSet::new();
    for file in results {
        for run in &file.runs {
            // Files with the same stem in different folders would share a name: number the later.
            let base = report_name(&file.file, &run.scenario);
            let mut name = base.clone();
            let mut n = 2;
            while !used.insert(name.clone()) {
                name = format!("{}-{n}.html", base.trim_end_matches(".html"));
                n += 1;
            }
            write(&dir.join(&name), &scenario::html::render_html(run))?;
            let (class, text) = match &run.outcome {
                Outcome::Passed => ("passed", "PASSED"),
                Outcome::Failed { .. } => ("failed", "FAILED"),
                Outcome::Skipped { .. } => ("skipped", "SKIPPED"),
            };
            index.push_str(&format!(
                "<tr><td>{}</td><td><a href=\"{name}\">{}</a></td><td class=\"{class}\">{text}</td><td>{}</td><td>{}</td></tr>",
                escape(&file.file),
                escape(&run.scenario),
                show(run.scenario_ms),
                show(run.wall_ms)
            ));
        }
    }
    index.push_str("</table></body></html>\n");
    write(&dir.join("index.html"), &index)
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// One line per scenario, then the totals: scenario time against the run's wall time (scenarios
/// run in parallel, so it is less than the sum of their own wall times).
fn summary(results: &[FileRun], run_wall_ms: u64) {
    let (mut passed, mut failed, mut skipped) = (0, 0, 0);
    let mut scenario_ms = 0u64;
    let mut wall_ms = 0u64;
    for file in results {
        for run in &file.runs {
            scenario_ms += run.scenario_ms;
            wall_ms += run.wall_ms;
            match &run.outcome {
                Outcome::Passed => {
                    passed += 1;
                    println!(
                        "PASS  {} :: {}  ({} scenario time in {})",
                        file.file,
                        run.scenario,
                        show(run.scenario_ms),
                        show(run.wall_ms)
                    );
                }
                Outcome::Skipped { reason } => {
                    skipped += 1;
                    println!("SKIP  {} :: {}  ({reason})", file.file, run.scenario);
                }
                Outcome::Failed { message, .. } => {
                    failed += 1;
                    println!(
                        "FAIL  {} :: {}  ({} scenario time in {})",
                        file.file,
                        run.scenario,
                        show(run.scenario_ms),
                        show(run.wall_ms)
                    );
                    for line in message.lines() {
                        println!("      {line}");
                    }
                    println!("      seed {}; replay: {}", run.seed, run.replay_command);
                }
            }
        }
    }
    #[allow(clippy::cast_precision_loss)] // totals are far below 2^52
    let speed = scenario_ms as f64 / run_wall_ms.max(1) as f64;
    println!(
        "{passed} passed, {failed} failed, {skipped} skipped; {} of scenario time in {} of wall time \
         ({speed:.0}x; the scenarios' own wall times add up to {})",
        show(scenario_ms),
        show(run_wall_ms),
        show(wall_ms)
    );
}

/// Progress lines: on a terminal one line per running scenario, redrawn in place; otherwise one
/// plain line per step.
struct Lines {
    terminal: bool,
    state: Mutex<(BTreeMap<String, String>, usize)>,
}

impl Lines {
    fn new(terminal: bool) -> Self {
        Self {
            terminal,
            state: Mutex::new((BTreeMap::new(), 0)),
        }
    }

    fn show(&self, p: &Progress<'_>) {
        let key = format!("{} :: {}", p.file, p.scenario);
        let line = match p.outcome {
            Some(Outcome::Passed) => format!("{key}: passed at {}", show(p.scenario_ms)),
            Some(Outcome::Failed { .. }) => format!("{key}: FAILED at {}", show(p.scenario_ms)),
            Some(Outcome::Skipped { .. }) => format!("{key}: skipped"),
            None => format!(
                "{key}: step {}/{} {} (t={})",
                p.step,
                p.steps,
                p.label,
                show(p.scenario_ms)
            ),
        };
        let mut stderr = std::io::stderr().lock();
        if !self.terminal {
            let _ = writeln!(stderr, "{line}");
            return;
        }
        let mut state = self.state.lock();
        state.0.insert(key, line);
        // Move up over the block drawn last time, then redraw every line.
        let drawn = state.1;
        if drawn > 0 {
            let _ = write!(stderr, "\x1b[{drawn}A");
        }
        for text in state.0.values() {
            let _ = writeln!(stderr, "\x1b[2K{text}");
        }
        state.1 = state.0.len();
    }

    fn finish(&self) {
        if self.terminal {
            let _ = writeln!(std::io::stderr());
        }
    }
}
