//! Scenario files on the simulated runtime, end to end through `ecsim::scenario` (file read and
//! checked, an in-process emulator started, every step run, the timeline sampled, the emulator
//! shut down): the seed's 40-task canary with its 10-minute bake, and the whole `scenarios/`
//! suite. Targets: under 100 ms for the canary, under 5 s for the suite.

use std::path::PathBuf;

use criterion::{Criterion, criterion_group, criterion_main};
use ecsim::scenario::{Outcome, RunOptions, RuntimeName, load, run_files};

fn scenarios_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../scenarios")
}

fn bench(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("tokio");
    let jobs = std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get);
    let options = RunOptions {
        runtime: Some(RuntimeName::Sim),
        jobs,
        ..RunOptions::default()
    };
    let canary = load(&[scenarios_dir().join("06-codedeploy-canary.yaml")]).expect("a valid file");
    let suite = load(&[scenarios_dir()]).expect("valid files");
    // Each run must pass, or the numbers measure a failure.
    for files in [&canary, &suite] {
        let results = runtime.block_on(run_files(files, &options));
        for run in results.iter().flat_map(|f| f.runs.iter()) {
            assert_eq!(
                run.outcome,
                Outcome::Passed,
                "{}: {:?}",
                run.scenario,
                run.outcome
            );
        }
    }
    let mut group = c.benchmark_group("scenario");
    group.sample_size(10);
    group.bench_function("canary_40_tasks_10_min_bake", |b| {
        b.iter(|| runtime.block_on(run_files(&canary, &options)));
    });
    group.bench_function("whole_suite", |b| {
        b.iter(|| runtime.block_on(run_files(&suite, &options)));
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
