//! Tests of the HTML report: every chart and series present, escaping, no scripts, size and
//! determinism; and an ignored test that writes an example page for eyeballing.

use std::collections::BTreeMap;

use super::render_html;
use crate::record::{Mark, Outcome, OutcomeCounts, RunRecord, StepRecord, StepStatus, Timeline};

const NASTY: &str = "web <&> \"quoted\" 'single'";
const NASTY_ESCAPED: &str = "web &lt;&amp;&gt; &quot;quoted&quot; &#39;single&#39;";

/// A 12m 30s canary rollout sampled every 5s: v1 replaced by v2 behind weighted target groups,
/// an alarm that fires during an injected fault, and a rollback.
fn canary() -> RunRecord {
    let interval_ms = 5_000;
    let samples = 150_u64;
    let times_ms: Vec<u64> = (1..=samples).map(|i| i * interval_ms).collect();
    let minute = |at_ms: u64| at_ms / 60_000;

    let mut timeline = Timeline {
        times_ms: times_ms.clone(),
        ..Timeline::default()
    };
    timeline.running_by_revision.insert(
        "web:1".into(),
        times_ms
            .iter()
            .map(|t| if minute(*t) < 6 { 4 } else { 2 })
            .collect(),
    );
    timeline.running_by_revision.insert(
        "web:2".into(),
        times_ms
            .iter()
            .map(|t| match minute(*t) {
                0..=1 => 0,
                2..=8 => 2,
                _ => 0,
            })
            .collect(),
    );
    for (zone, base) in [("eu-west-1a", 2), ("eu-west-1b", 2), ("eu-west-1c", 1)] {
        timeline.running_by_zone.insert(
            zone.into(),
            times_ms
                .iter()
                .map(|t| base + u32::from(minute(*t) % 4 == 2))
                .collect(),
        );
    }
    timeline.weights.insert(
        "listener :80 → web-blue".into(),
        times_ms
            .iter()
            .map(|t| match minute(*t) {
                0 => None,
                1..=3 => Some(100),
                4..=8 => Some(80),
                _ => Some(100),
            })
            .collect(),
    );
    timeline.weights.insert(
        "listener :80 → web-green".into(),
        times_ms
            .iter()
            .map(|t| match minute(*t) {
                0..=3 => None,
                4..=8 => Some(20),
                _ => Some(0),
            })
            .collect(),
    );
    timeline.alarm_states.insert(
        NASTY.into(),
        times_ms
            .iter()
            .map(|t| match t / 1_000 {
                0..=29 => None,
                30..=89 => Some("INSUFFICIENT_DATA".into()),
                90..=419 => Some("OK".into()),
                420..=569 => Some("ALARM".into()),
                _ => Some("OK".into()),
            })
            .collect(),
    );
    timeline.alarm_states.insert(
        "web-latency-p99".into(),
        times_ms.iter().map(|_| Some("OK".to_string())).collect(),
    );
    timeline.deployment_states.insert(
        "web/ecs-svc/1234567890123456789".into(),
        times_ms
            .iter()
            .map(|t| match minute(*t) {
                0 => None,
                1..=3 => Some("IN_PROGRESS".into()),
                _ => Some("SUCCESSFUL".into()),
            })
            .collect(),
    );
    timeline.deployment_states.insert(
        "d-ABCDEF123".into(),
        times_ms
            .iter()
            .map(|t| match minute(*t) {
                0..=3 => None,
                4 => Some("Created".into()),
                5..=8 => Some("InProgress".into()),
                9 => Some("ROLLBACK_IN_PROGRESS".into()),
                _ => Some("Stopped".into()),
            })
            .collect(),
    );
    timeline.outcomes_by_version.insert(
        "web:1".into(),
        times_ms
            .iter()
            .map(|t| OutcomeCounts {
                ok: if minute(*t) < 4 { 50 } else { 40 },
                client_errors: u64::from(t % 30_000 == 0),
                server_errors: 0,
            })
            .collect(),
    );
    timeline.outcomes_by_version.insert(
        "web:2".into(),
        times_ms
            .iter()
            .map(|t| match minute(*t) {
                4..=8 => OutcomeCounts {
                    ok: 7,
                    client_errors: 0,
                    server_errors: if (7..=9).contains(&minute(*t)) { 3 } else { 0 },
                },
                _ => OutcomeCounts::default(),
            })
            .collect(),
    );
    timeline.outcomes_by_version.insert(
        "load balancer".into(),
        times_ms
            .iter()
            .map(|t| OutcomeCounts {
                server_errors: u64::from(minute(*t) == 7) * 2,
                ..OutcomeCounts::default()
            })
            .collect(),
    );
    timeline.faults = vec![
        Mark {
            at_ms: 420_000,
            label: "kill 50% of web:2 <tasks>".into(),
        },
        Mark {
            at_ms: 430_000,
            label: "az outage eu-west-1c".into(),
        },
        Mark {
            at_ms: 745_000,
            label: "restore".into(),
        },
    ];

    let labels = [
        ("call", "ecs.CreateService"),
        ("wait", "wait serviceStable web"),
        ("call", "codedeploy.CreateDeployment"),
        ("advance", "advance 3m"),
        ("fault", "fault killTasks web:2 50%"),
        ("expect", "expect alarm web-5xx is ALARM"),
        ("wait", "wait deployment stopped"),
        ("expect", "expect weights web-blue = 100"),
    ];
    let starts_ms = [0, 2_000, 60_000, 240_000, 420_000, 425_000, 570_000, 740_000];
    let mut steps = Vec::new();
    for (index, ((kind, label), started_ms)) in labels.iter().zip(starts_ms).enumerate() {
        let ended_ms = starts_ms.get(index + 1).copied().unwrap_or(750_000);
        steps.push(StepRecord {
            index,
            kind: (*kind).into(),
            line: 20 + 4 * u32::try_from(index).unwrap_or(0),
            label: (*label).into(),
            started_ms,
            ended_ms,
            status: StepStatus::Passed,
            detail: if *kind == "expect" {
                "actual: {\n  \"state\": \"ALARM\", \"reason\": \"<threshold> crossed & more\"\n}".into()
            } else {
                String::new()
            },
        });
        timeline.step_marks.push(Mark {
            at_ms: started_ms,
            label: format!("#{index} {label}"),
        });
    }
    steps[6].status = StepStatus::Failed;
    steps[6].detail = "timed out after 2m 50s; last state: InProgress".into();
    steps[7].status = StepStatus::NotRun;

    RunRecord {
        scenario: format!("canary {NASTY}"),
        file: "scenarios/03-canary.yaml".into(),
        line: 2,
        description: Some("Shift 20% of traffic to v2, break it, and watch CodeDeploy roll back.".into()),
        seed: 42,
        runtime: "sim".into(),
        outcome: Outcome::Failed {
            step: 6,
            message:
                "wait deployment stopped: timed out after 2m 50s\nexpected: Stopped\nactual: <InProgress>"
                    .into(),
        },
        scenario_ms: 750_000,
        wall_ms: 3_420,
        replay_command: "ecsim scenario run scenarios/03-canary.yaml --seed 42 --runtime sim".into(),
        steps,
        timeline,
    }
}

#[test]
fn every_chart_and_series_is_there() {
    let html = render_html(&canary());
    for id in [
        "chart-revisions",
        "chart-zones",
        "chart-weights",
        "chart-alarms",
        "chart-deployments",
        "chart-outcomes",
    ] {
        assert_eq!(html.matches(&format!("<svg id=\"{id}\"")).count(), 1, "{id}");
    }
    for key in [
        "web:1",
        "web:2",
        "eu-west-1a",
        "eu-west-1b",
        "eu-west-1c",
        "listener :80 → web-blue",
        "listener :80 → web-green",
        NASTY_ESCAPED,
        "web-latency-p99",
        "web/ecs-svc/1234567890123456789",
        "d-ABCDEF123",
        "load balancer",
    ] {
        assert!(html.contains(&format!("data-series=\"{key}\"")), "{key}");
    }
    // web:1 and web:2 are drawn in the revisions and the outcomes charts.
    assert_eq!(html.matches("data-series=\"web:2\"").count(), 2);
    for text in [
        "SUCCESSFUL",
        "InProgress",
        "ROLLBACK_IN_PROGRESS",
        "Running tasks per Availability Zone",
    ] {
        assert!(html.contains(text), "{text}");
    }
    // Fault labels and the outcome totals.
    assert!(html.contains("kill 50% of web:2 &lt;tasks&gt;"));
    // 47 intervals of 50 before minute 4, 103 of 40 after, and a 4xx every 30s.
    assert!(html.contains("web:1</td><td>6495</td><td>6470</td><td>25</td><td>0</td>"));
    assert!(html.len() < 150 * 1024, "{} bytes", html.len());
}

#[test]
fn self_contained_and_escaped() {
    let html = render_html(&canary());
    let lower = html.to_ascii_lowercase();
    for banned in [
        "<script",
        "javascript:",
        "https://",
        "src=",
        "href=\"http",
        "@import",
        "url(http",
    ] {
        assert!(!lower.contains(banned), "{banned}");
    }
    // The only URL is the SVG namespace, which nothing fetches.
    assert_eq!(
        lower.matches("http://").count(),
        lower.matches("xmlns=\"http://www.w3.org/2000/svg\"").count()
    );
    // No event handler attributes (`onload=`, `onclick=`, ...).
    for (i, _) in lower.match_indices(" on") {
        let rest = &lower[i + 3..];
        let name_len = rest
            .find(|c: char| !c.is_ascii_alphabetic())
            .unwrap_or(rest.len());
        assert!(!rest[name_len..].starts_with('='), "event handler at {i}");
    }
    assert!(html.contains(&format!(
        "<h1>canary {NASTY_ESCAPED}<span class=\"badge failed\">FAILED</span></h1>"
    )));
    assert!(!html.contains(NASTY), "the raw name leaks somewhere");
    assert!(html.contains("actual: &lt;InProgress&gt;"));
    assert!(html.contains("&lt;threshold&gt; crossed &amp; more"));
    assert!(html.contains("<a href=\"#step-6\">step #6</a>"));
    assert!(
        html.contains("<code>ecsim scenario run scenarios/03-canary.yaml --seed 42 --runtime sim</code>")
    );
    assert!(html.contains("<dd>12m 30s</dd>"));
    assert!(html.contains("<dd>3.4s</dd>"));
    assert!(html.starts_with("<!DOCTYPE html>\n"));
    assert!(html.ends_with("</html>\n"));
}

#[test]
fn ticks_are_round_minutes() {
    let html = render_html(&canary());
    for label in [">0s<", ">2m<", ">4m<", ">6m<", ">8m<", ">10m<", ">12m<"] {
        assert!(html.contains(label), "{label}");
    }
}

#[test]
fn control_characters_never_reach_the_page() {
    let mut record = canary();
    record.scenario = "bell\u{7}and\u{0}nul\r".into();
    let html = render_html(&record);
    assert!(!html.chars().any(|c| c.is_control() && c != '\n' && c != '\t'));
    assert!(html.contains("bell\u{FFFD}and\u{FFFD}nul<"));
}

#[test]
fn empty_timeline_has_no_charts() {
    let mut record = canary();
    record.timeline = Timeline::default();
    record.outcome = Outcome::Skipped {
        reason: "runs on docker only".into(),
    };
    record.steps.clear();
    let html = render_html(&record);
    assert!(!html.contains("<svg"));
    assert!(!html.contains("data-series"));
    assert!(html.contains("No timeline was recorded"));
    assert!(html.contains("No steps ran."));
    assert!(html.contains("SKIPPED"));
    assert!(html.contains("runs on docker only"));
    assert!(html.ends_with("</body>\n</html>\n"));
    assert_eq!(
        html.matches("<section").count(),
        html.matches("</section>").count()
    );

    // Series without samples, or samples without series, draw nothing either.
    record.timeline.running_by_revision.insert("web:1".into(), vec![]);
    record.timeline.faults.push(Mark {
        at_ms: 5,
        label: "x".into(),
    });
    assert!(!render_html(&record).contains("<svg"));
    record.timeline.running_by_revision.clear();
    record.timeline.times_ms = vec![1_000, 2_000];
    assert!(!render_html(&record).contains("<svg"));
}

#[test]
fn only_charts_with_data_are_drawn() {
    let mut record = canary();
    record.timeline.weights.clear();
    record.timeline.outcomes_by_version.clear();
    let html = render_html(&record);
    assert!(!html.contains("chart-weights"));
    assert!(!html.contains("chart-outcomes"));
    assert!(!html.contains("class=\"outcomes\""));
    assert!(html.contains("<svg id=\"chart-alarms\""));
}

#[test]
fn deterministic() {
    assert_eq!(render_html(&canary()), render_html(&canary()));
}

#[test]
fn step_lines_merge_equal_samples() {
    let mut record = canary();
    record.timeline.running_by_revision = BTreeMap::from([("flat".to_string(), vec![3; 150])]);
    let html = render_html(&record);
    let start = html.find("data-series=\"flat\"").expect("the flat series");
    let path = &html[start..start + html[start..].find("</path>").expect("closed")];
    // One move and one horizontal line, whatever the number of samples.
    assert_eq!(path.matches('M').count(), 1, "{path}");
    assert_eq!(path.matches('H').count(), 1, "{path}");
    assert!(!path.contains('V'), "{path}");
}

#[test]
fn weight_gaps_break_the_line() {
    let html = render_html(&canary());
    let start = html
        .find("data-series=\"listener :80 → web-blue\"")
        .expect("the series");
    let path = &html[start..start + html[start..].find("</path>").expect("closed")];
    // Minute 0 is a gap: the line starts later, once.
    assert_eq!(path.matches('M').count(), 1, "{path}");
}

#[test]
fn a_large_run_stays_small() {
    let samples = 200_u64;
    let times_ms: Vec<u64> = (1..=samples).map(|i| i * 3_000).collect();
    let wobble = |i: u64, k: u64| u32::try_from((i / (3 + k) + k) % 7).unwrap_or(0);
    let mut timeline = Timeline {
        times_ms: times_ms.clone(),
        ..Timeline::default()
    };
    for k in 0..12_u64 {
        timeline
            .running_by_revision
            .insert(format!("svc-{k}:1"), (0..samples).map(|i| wobble(i, k)).collect());
        timeline.running_by_zone.insert(
            format!("zone-{k}"),
            (0..samples).map(|i| wobble(i, k + 1)).collect(),
        );
        timeline.weights.insert(
            format!("listener {k}"),
            (0..samples).map(|i| Some(wobble(i, k) * 14)).collect(),
        );
        timeline.alarm_states.insert(
            format!("alarm-{k}"),
            (0..samples)
                .map(|i| Some(if wobble(i, k) > 3 { "ALARM" } else { "OK" }.to_string()))
                .collect(),
        );
        timeline.deployment_states.insert(
            format!("deployment-{k}"),
            (0..samples)
                .map(|i| Some(if i < 100 { "IN_PROGRESS" } else { "SUCCESSFUL" }.to_string()))
                .collect(),
        );
        timeline.outcomes_by_version.insert(
            format!("svc-{k}:1"),
            (0..samples)
                .map(|i| OutcomeCounts {
                    ok: u64::from(wobble(i, k)) * 10,
                    client_errors: i % 3,
                    server_errors: i % 5,
                })
                .collect(),
        );
        timeline.faults.push(Mark {
            at_ms: k * 50_000,
            label: format!("fault {k}"),
        });
        timeline.step_marks.push(Mark {
            at_ms: k * 40_000,
            label: format!("step {k}"),
        });
    }
    let record = RunRecord {
        scenario: "large".into(),
        scenario_ms: samples * 3_000,
        timeline,
        ..RunRecord::default()
    };
    let html = render_html(&record);
    assert!(html.len() < 500 * 1024, "{} bytes", html.len());
    assert_eq!(html.matches("data-series=").count(), 6 * 12);
}

/// `cargo test -p ecsim-scenario -- --ignored write_example_page` writes the canary page to
/// `$ECSIM_REPORT_EXAMPLE` (default: the temp dir's `report-example.html`) to look at.
#[test]
#[ignore = "writes a file for eyeballing"]
fn write_example_page() {
    let path = std::env::var_os("ECSIM_REPORT_EXAMPLE")
        .map_or_else(|| std::env::temp_dir().join("report-example.html"), Into::into);
    std::fs::write(&path, render_html(&canary())).expect("write the example page");
}
