//! CloudWatch at scale: PutMetricData ingestion (1,000 data per call into 100,000 series), and
//! evaluation rounds of 10,000 metric alarms over those series on the virtual clock: the first
//! round (every alarm leaves INSUFFICIENT_DATA, so every one writes a reason and a history item)
//! and a steady round a minute later (only alarms whose data crossed the threshold transition).

use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use ecsim_api::cloudwatch::{self as api, CloudWatchApi};
use ecsim_control::cloudwatch::{AlarmTimer, CloudWatch, CloudWatchHandler};
use ecsim_control::timers::{TimerKind, Timers};

const SERIES: usize = 100_000;
const ALARMS: usize = 10_000;
const PER_CALL: usize = 1_000;
const START_MS: u64 = 1_767_225_600_000;
const ACCOUNT: &str = "000000000000";
const REGION: &str = "us-east-1";

fn datum(series: usize, value: f64, at_ms: u64) -> api::MetricDatum {
    api::MetricDatum {
        metric_name: "Latency".into(),
        dimensions: Some(vec![api::Dimension {
            name: "Task".into(),
            value: format!("task-{series:06}"),
        }]),
        timestamp: Some(at_ms as f64 / 1_000.0),
        value: Some(value),
        ..Default::default()
    }
}

/// Puts one datum into every series at `at_ms`, 1,000 per call.
fn fill(cw: &mut CloudWatch, timers: &mut Timers, at_ms: u64, round: usize) {
    for chunk in 0..SERIES / PER_CALL {
        let data = (0..PER_CALL)
            .map(|i| datum(chunk * PER_CALL + i, ((i + round) % 100) as f64, at_ms))
            .collect();
        handler(cw, timers, at_ms)
            .put_metric_data(api::PutMetricDataInput {
                namespace: "Bench".into(),
                metric_data: Some(data),
                ..Default::default()
            })
            .expect("PutMetricData");
    }
}

fn handler<'a>(cw: &'a mut CloudWatch, timers: &'a mut Timers, now_ms: u64) -> CloudWatchHandler<'a> {
    CloudWatchHandler {
        state: cw.region_mut(ACCOUNT, REGION),
        now_ms,
        timers,
        world_index: 0,
        account_id: ACCOUNT,
        region: REGION,
    }
}

/// 100,000 series with seven minutes of data and 10,000 alarms on every tenth series, put at
/// minute 5, so their first evaluation is due at 6:05 and the next at 7:05.
fn world() -> (CloudWatch, Timers) {
    let mut cw = CloudWatch::default();
    let mut timers = Timers::default();
    for minute in 0..7 {
        fill(&mut cw, &mut timers, START_MS + minute * 60_000, minute as usize);
    }
    let now = START_MS + 5 * 60_000;
    for a in 0..ALARMS {
        handler(&mut cw, &mut timers, now)
            .put_metric_alarm(api::PutMetricAlarmInput {
                alarm_name: format!("alarm-{a:05}"),
                namespace: Some("Bench".into()),
                metric_name: Some("Latency".into()),
                dimensions: Some(vec![api::Dimension {
                    name: "Task".into(),
                    value: format!("task-{:06}", a * (SERIES / ALARMS)),
                }]),
                statistic: Some(api::Statistic::Average),
                period: Some(60),
                evaluation_periods: Some(3),
                threshold: Some(50.0),
                comparison_operator: Some(api::ComparisonOperator::GreaterThanThreshold),
                ..Default::default()
            })
            .expect("PutMetricAlarm");
    }
    (cw, timers)
}

/// Runs every evaluation due at the next deadline; returns how many ran.
fn round(cw: &mut CloudWatch, timers: &mut Timers) -> usize {
    let due = timers.next_deadline().expect("evaluations are scheduled");
    let mut evaluated = 0;
    while let Some(timer) = timers.pop_due(due) {
        if let TimerKind::Alarm(AlarmTimer { alarm, generation }) = timer.kind {
            cw.on_timer(
                ACCOUNT,
                REGION,
                0,
                AlarmTimer { alarm, generation },
                timer.at_ms,
                timers,
            );
            evaluated += 1;
        }
    }
    evaluated
}

fn ingestion(c: &mut Criterion) {
    let mut group = c.benchmark_group("cloudwatch");
    group.sample_size(10);
    group.throughput(Throughput::Elements(PER_CALL as u64));
    let mut cw = CloudWatch::default();
    let mut timers = Timers::default();
    fill(&mut cw, &mut timers, START_MS, 0);
    let mut n = 0usize;
    group.bench_function("put_metric_data_1000_data_into_100k_series", |b| {
        b.iter(|| {
            n += 1;
            let base = (n * PER_CALL) % SERIES;
            let data = (0..PER_CALL)
                .map(|i| datum(base + i, i as f64, START_MS + 1_000))
                .collect();
            handler(&mut cw, &mut timers, START_MS + 1_000)
                .put_metric_data(api::PutMetricDataInput {
                    namespace: "Bench".into(),
                    metric_data: Some(data),
                    ..Default::default()
                })
                .expect("PutMetricData");
        });
    });
    group.finish();
}

fn evaluation(c: &mut Criterion) {
    let mut group = c.benchmark_group("cloudwatch");
    group.sample_size(10);
    group.throughput(Throughput::Elements(ALARMS as u64));
    let (cw, timers) = world();
    group.bench_function("evaluate_10k_alarms_first_round_all_transition", |b| {
        b.iter_batched(
            || (cw.clone(), timers.clone()),
            |(mut cw, mut timers)| {
                assert_eq!(round(&mut cw, &mut timers), ALARMS);
                (cw, timers)
            },
            BatchSize::PerIteration,
        );
    });
    let (mut steady, mut steady_timers) = (cw.clone(), timers.clone());
    round(&mut steady, &mut steady_timers);
    group.bench_function("evaluate_10k_alarms_steady_round", |b| {
        b.iter_batched(
            || (steady.clone(), steady_timers.clone()),
            |(mut cw, mut timers)| {
                assert_eq!(round(&mut cw, &mut timers), ALARMS);
                (cw, timers)
            },
            BatchSize::PerIteration,
        );
    });
    group.finish();
}

criterion_group!(benches, ingestion, evaluation);
criterion_main!(benches);
