//! Scenario files: the shipped `scenarios/` suite on the simulated runtime (and on
//! Docker), replay by seed, the report of scenario 7, and `ecsim run`'s
//! exit codes, JUnit and report outputs.

use std::path::{Path, PathBuf};
use std::process::Command;

use ecsim::scenario::{FileRun, Outcome, RunOptions, RunRecord, RuntimeName, load, run_file, run_files};

use crate::docker_support::{docker_tests_enabled, test_image};

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn failures(results: &[FileRun]) -> Vec<String> {
    results
        .iter()
        .flat_map(|f| f.runs.iter())
        .filter_map(|r| match &r.outcome {
            Outcome::Failed { message, .. } => Some(format!(
                "{} :: {}\n{message}\nsteps:\n{}",
                r.file,
                r.scenario,
                r.steps
                    .iter()
                    .map(|s| format!("  {} {:?} {} -> {}", s.index, s.status, s.label, s.detail))
                    .collect::<Vec<_>>()
                    .join("\n")
            )),
            _ => None,
        })
        .collect()
}

/// The one run of a one-scenario file, which must have passed.
fn only_run_passed(run: &FileRun) -> &RunRecord {
    let record = &run.runs[0];
    assert_eq!(
        record.outcome,
        Outcome::Passed,
        "{:?}",
        failures(std::slice::from_ref(run))
    );
    record
}

fn options(runtime: RuntimeName) -> RunOptions {
    RunOptions {
        runtime: Some(runtime),
        jobs: 2,
        ..RunOptions::default()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_shipped_scenarios_pass_on_the_simulated_runtime() {
    let files = load(&[root().join("scenarios")]).expect("the shipped scenarios are valid");
    assert!(files.len() >= 8, "scenarios/ holds {} files", files.len());
    let results = run_files(&files, &options(RuntimeName::Sim)).await;
    let failed = failures(&results);
    assert!(failed.is_empty(), "{}", failed.join("\n\n"));
    let runs: Vec<&RunRecord> = results.iter().flat_map(|f| f.runs.iter()).collect();
    assert!(
        runs.iter().all(|r| r.outcome == Outcome::Passed),
        "every shipped scenario runs on sim"
    );
    for r in &runs {
        eprintln!(
            "{}: {} ms of scenario time in {} ms",
            r.scenario, r.scenario_ms, r.wall_ms
        );
    }
}

/// `deploymentHistory` sees every state a deployment went through, not only those a timeline
/// sample caught: with samples 30 minutes apart, the circuit breaker's ROLLBACK_IN_PROGRESS
/// (held well under a minute) is still in the history scenario 3 expects.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_deployment_history_holds_states_between_samples() {
    let text = std::fs::read_to_string(root().join("scenarios/03-circuit-breaker-rollback.yaml")).unwrap();
    let sparse = text.replacen("setup:\n", "setup:\n  sampleEvery: 30m\n", 1);
    assert_ne!(sparse, text, "the setup block was found");
    let dir = std::env::temp_dir().join(format!("ecsim-sparse-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("sparse.yaml");
    std::fs::write(&file, sparse).unwrap();
    let run = run_file(&file, &options(RuntimeName::Sim)).await.unwrap();
    let _ = std::fs::remove_dir_all(&dir);
    only_run_passed(&run);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_seed_replays_a_run_exactly() {
    let file = root().join("scenarios/07-codedeploy-canary-rollback.yaml");
    let first = run_file(&file, &options(RuntimeName::Sim)).await.unwrap();
    let second = run_file(&file, &options(RuntimeName::Sim)).await.unwrap();
    let strip = |f: &FileRun| -> Vec<RunRecord> {
        f.runs
            .iter()
            .cloned()
            .map(|mut r| {
                r.wall_ms = 0;
                r
            })
            .collect()
    };
    assert_eq!(strip(&first), strip(&second));
    let mut reseeded = options(RuntimeName::Sim);
    reseeded.seed = Some(99);
    let third = run_file(&file, &reseeded).await.unwrap();
    assert_eq!(third.runs[0].seed, 99);
    assert!(
        third.runs[0].replay_command.contains("--seed 99"),
        "{}",
        third.runs[0].replay_command
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_report_of_the_canary_rollback_draws_weights_alarms_and_outcomes() {
    let file = root().join("scenarios/07-codedeploy-canary-rollback.yaml");
    let run = run_file(&file, &options(RuntimeName::Sim)).await.unwrap();
    let record = only_run_passed(&run);
    let t = &record.timeline;
    // The production listener's weights moved to the green group and back.
    let green = t
        .weights
        .iter()
        .find(|(k, _)| k.contains(":80") && k.ends_with("green"))
        .map(|(_, v)| v)
        .expect("a weight series for the production listener's green group");
    assert!(green.contains(&Some(25)), "green reached 25%: {green:?}");
    assert_eq!(
        green.last(),
        Some(&Some(0)),
        "traffic is back on blue at the end: {green:?}"
    );
    let alarm = t.alarm_states.get("green-5xx").expect("the alarm's state series");
    assert!(alarm.contains(&Some("ALARM".to_string())), "{alarm:?}");
    assert!(
        t.outcomes_by_version.len() >= 2,
        "outcomes of both versions: {:?}",
        t.outcomes_by_version.keys()
    );
    let bad = t
        .outcomes_by_version
        .get("web:2")
        .expect("outcomes of the bad revision");
    assert!(
        bad.iter().any(|c| c.server_errors > 0),
        "the bad revision answered errors"
    );
    let html = ecsim::scenario::html::render_html(record);
    for id in [
        "chart-weights",
        "chart-alarms",
        "chart-outcomes",
        "chart-revisions",
        "chart-deployments",
    ] {
        assert!(html.contains(&format!("id=\"{id}\"")), "the report has {id}");
    }
    assert!(
        html.contains("data-series=\"green-5xx\""),
        "the alarm series is drawn"
    );
    assert!(
        html.contains("data-series=\"web:2\""),
        "the bad revision's outcomes are drawn"
    );
    assert!(!html.contains("<script"), "no JavaScript");
}

fn ecsim_run(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_ecsim"))
        .arg("run")
        .args(args)
        .current_dir(root())
        .output()
        .expect("run ecsim");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("ecsim-scenario-test-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[test]
fn ecsim_run_exits_0_1_or_2_and_writes_junit_and_reports() {
    let dir = scratch("cli");
    let passing = dir.join("passing.yaml");
    std::fs::write(
        &passing,
        "name: a cluster\nsteps:\n  - call: ecs.CreateCluster\n    input: {clusterName: c}\n    capture: {arn: cluster.clusterArn}\n  - advance: 1m\n  - expect:\n      that: {value: \"${arn}\", contains: \"cluster/c\"}\n",
    )
    .unwrap();
    let failing = dir.join("failing.yaml");
    std::fs::write(
        &failing,
        "name: a missing service\nsetup: {seed: 5}\nsteps:\n  - call: ecs.CreateCluster\n    input: {clusterName: c}\n  - wait: {serviceStable: {cluster: c, service: nope}}\n    timeout: 1m\n",
    )
    .unwrap();
    let invalid = dir.join("invalid.yaml");
    std::fs::write(&invalid, "steps:\n  - call: ecs.CreateCluster\n  - wiat: 1m\n").unwrap();

    let junit = dir.join("junit.xml");
    let report = dir.join("report");
    let (code, stdout, _) = ecsim_run(&[
        passing.to_str().unwrap(),
        "--junit",
        junit.to_str().unwrap(),
        "--report",
        report.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{stdout}");
    assert!(stdout.contains("1 passed, 0 failed"), "{stdout}");
    let xml = std::fs::read_to_string(&junit).unwrap();
    assert!(xml.contains("<testsuite") && xml.contains("a cluster"), "{xml}");
    assert!(report.join("index.html").exists());
    assert!(report.join("passing--a-cluster.html").exists());

    let (code, stdout, _) = ecsim_run(&[failing.to_str().unwrap(), "--junit", junit.to_str().unwrap()]);
    assert_eq!(code, 1, "{stdout}");
    assert!(
        stdout.contains("service 'nope' of cluster 'c' does not exist"),
        "{stdout}"
    );
    assert!(
        stdout.contains("--seed 5"),
        "the replay command carries the seed: {stdout}"
    );
    let xml = std::fs::read_to_string(&junit).unwrap();
    assert!(xml.contains("<failure"), "{xml}");

    let (code, _, stderr) = ecsim_run(&[passing.to_str().unwrap(), "--scenario", "nope"]);
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("--scenario names no scenario"), "{stderr}");

    let (code, _, stderr) = ecsim_run(&[invalid.to_str().unwrap()]);
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("invalid.yaml:3:"), "the line is named: {stderr}");
    assert!(stderr.contains("did you mean 'wait'?"), "{stderr}");
    let _ = std::fs::remove_dir_all(&dir);
}

/// Every shipped scenario runs unchanged on Docker (at each file's speed).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_shipped_scenarios_pass_on_docker() {
    if !docker_tests_enabled("the_shipped_scenarios_pass_on_docker") {
        return;
    }
    test_image();
    let names = [
        "01-spread-across-zones.yaml",
        "02-rolling-update.yaml",
        "03-circuit-breaker-rollback.yaml",
        "04-az-outage.yaml",
        "05-alarm-rollback.yaml",
        "06-codedeploy-canary.yaml",
        "07-codedeploy-canary-rollback.yaml",
        "08-ecs-native-linear-and-canary.yaml",
    ];
    let paths: Vec<PathBuf> = names.iter().map(|n| root().join("scenarios").join(n)).collect();
    let files = load(&paths).unwrap();
    // One at a time: 40 containers per scenario already load a 2-core machine, and health
    // checks at 60x have a few hundred milliseconds of real time.
    let mut opts = options(RuntimeName::Docker);
    opts.jobs = 1;
    let results = run_files(&files, &opts).await;
    for r in results.iter().flat_map(|f| f.runs.iter()) {
        eprintln!(
            "docker {}: {} ms of scenario time in {} ms",
            r.scenario, r.scenario_ms, r.wall_ms
        );
    }
    let failed = failures(&results);
    assert!(failed.is_empty(), "{}", failed.join("\n\n"));
}
