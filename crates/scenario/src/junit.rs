//! JUnit XML of scenario runs, for CI systems: one `<testsuite>` per scenario file, one
//! `<testcase>` per scenario, with the failure, the skip reason and the step list.
//!
//! It must not read the clock or the files: everything it writes comes from the records, so the
//! same records always give the same bytes.

use std::fmt::Write as _;
use std::path::Path;

use crate::duration;
use crate::record::{Outcome, RunRecord, StepRecord, StepStatus};

/// JUnit XML for the runs of several files: `(file path, its scenarios' records)` in the order
/// they ran.
pub fn write_junit(files: &[(String, Vec<RunRecord>)]) -> String {
    let mut totals = Counts::default();
    let mut suites = String::new();
    for (file, records) in files {
        let counts = Counts::of(records);
        totals.add(&counts);
        suite(&mut suites, file, records, &counts);
    }
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let _ = writeln!(
        out,
        "<testsuites name=\"ecsim scenarios\" tests=\"{}\" failures=\"{}\" errors=\"0\" skipped=\"{}\" time=\"{}\">",
        totals.tests,
        totals.failures,
        totals.skipped,
        seconds(totals.wall_ms)
    );
    out.push_str(&suites);
    out.push_str("</testsuites>\n");
    out
}

#[derive(Debug, Default)]
struct Counts {
    tests: usize,
    failures: usize,
    skipped: usize,
    wall_ms: u64,
}

impl Counts {
    fn of(records: &[RunRecord]) -> Counts {
        let mut counts = Counts::default();
        for record in records {
            counts.tests += 1;
            counts.wall_ms = counts.wall_ms.saturating_add(record.wall_ms);
            match record.outcome {
                Outcome::Passed => {}
                Outcome::Failed { .. } => counts.failures += 1,
                Outcome::Skipped { .. } => counts.skipped += 1,
            }
        }
        counts
    }

    fn add(&mut self, other: &Counts) {
        self.tests += other.tests;
        self.failures += other.failures;
        self.skipped += other.skipped;
        self.wall_ms = self.wall_ms.saturating_add(other.wall_ms);
    }
}

fn suite(out: &mut String, file: &str, records: &[RunRecord], counts: &Counts) {
    let _ = writeln!(
        out,
        "  <testsuite name=\"{}\" tests=\"{}\" failures=\"{}\" errors=\"0\" skipped=\"{}\" time=\"{}\">",
        attr(file),
        counts.tests,
        counts.failures,
        counts.skipped,
        seconds(counts.wall_ms)
    );
    let class = stem(file);
    for record in records {
        case(out, &class, record);
    }
    out.push_str("  </testsuite>\n");
}

fn case(out: &mut String, class: &str, record: &RunRecord) {
    // `file` and `line` are not in the Ant schema, but the common CI annotators (pytest writes
    // them too) use them to point at the scenario; readers that do not know them ignore them.
    let _ = writeln!(
        out,
        "    <testcase name=\"{}\" classname=\"{}\" file=\"{}\" line=\"{}\" time=\"{}\">",
        attr(&record.scenario),
        attr(class),
        attr(&record.file),
        record.line,
        seconds(record.wall_ms)
    );
    match &record.outcome {
        Outcome::Passed => {}
        Outcome::Failed { step, message } => {
            let _ = writeln!(
                out,
                "      <failure message=\"{}\" type=\"ScenarioFailure\">{}</failure>",
                attr(message),
                text(&failure_text(record, *step, message))
            );
        }
        Outcome::Skipped { reason } => {
            let _ = writeln!(out, "      <skipped message=\"{}\"/>", attr(reason));
        }
    }
    let _ = writeln!(
        out,
        "      <system-out>{}</system-out>",
        text(&system_out(record))
    );
    out.push_str("    </testcase>\n");
}

fn failure_text(record: &RunRecord, step: usize, message: &str) -> String {
    let mut body = format!("{message}\n");
    match record.steps.iter().find(|s| s.index == step) {
        Some(failed) => {
            let _ = writeln!(
                body,
                "at step #{}: {} (line {})",
                failed.index, failed.label, failed.line
            );
        }
        None => {
            let _ = writeln!(body, "at step #{step}");
        }
    }
    let _ = write!(body, "replay: {}", record.replay_command);
    body
}

fn system_out(record: &RunRecord) -> String {
    let mut body = format!(
        "scenario {} ({}:{}) seed {} runtime {} scenario time {} wall time {}\n",
        record.scenario,
        record.file,
        record.line,
        record.seed,
        record.runtime,
        duration::show(record.scenario_ms),
        duration::show(record.wall_ms)
    );
    for step in &record.steps {
        step_line(&mut body, step);
    }
    body
}

fn step_line(out: &mut String, step: &StepRecord) {
    let status = match step.status {
        StepStatus::Passed => "passed",
        StepStatus::Failed => "FAILED",
        StepStatus::NotRun => "not run",
    };
    let _ = write!(
        out,
        "#{} {} {} line {} {}",
        step.index, step.kind, step.label, step.line, status
    );
    if !step.detail.is_empty() {
        // Continuation lines are indented so a multi-line detail stays visibly under its step.
        let detail = step.detail.trim_end().replace('\n', "\n    ");
        let _ = write!(out, ": {detail}");
    }
    out.push('\n');
}

/// The file name without directories and extension: CI systems group test cases by class.
fn stem(file: &str) -> String {
    Path::new(file)
        .file_stem()
        .map_or_else(|| file.to_string(), |s| s.to_string_lossy().into_owned())
}

/// Milliseconds as the seconds JUnit's `time` attributes hold.
fn seconds(ms: u64) -> String {
    format!("{}.{:03}", ms / 1_000, ms % 1_000)
}

/// Escapes element text. XML 1.0 forbids most control characters even as references, so they
/// become U+FFFD (a CR is dropped) rather than making the whole report unreadable.
fn text(raw: &str) -> String {
    escape(raw, false)
}

/// Escapes an attribute value; newlines and tabs become references because parsers turn literal
/// ones into spaces.
fn attr(raw: &str) -> String {
    escape(raw, true)
}

fn escape(raw: &str, in_attribute: bool) -> String {
    let mut out = String::with_capacity(raw.len());
    for c in raw.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\n' if in_attribute => out.push_str("&#10;"),
            '\t' if in_attribute => out.push_str("&#9;"),
            '\n' | '\t' => out.push(c),
            // Line ends written CRLF read the same without the CR.
            '\r' => {}
            '\u{FFFE}' | '\u{FFFF}' => out.push('\u{FFFD}'),
            c if c.is_control() && (c < ' ' || c == '\u{7F}') => out.push('\u{FFFD}'),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn step(index: usize, status: StepStatus, detail: &str) -> StepRecord {
        StepRecord {
            index,
            kind: "expect".into(),
            line: 10 + u32::try_from(index).unwrap_or(0),
            label: format!("step {index}"),
            started_ms: 0,
            ended_ms: 1,
            status,
            detail: detail.into(),
        }
    }

    fn record(name: &str, outcome: Outcome) -> RunRecord {
        RunRecord {
            scenario: name.into(),
            file: "scenarios/01-spread.yaml".into(),
            line: 3,
            seed: 7,
            runtime: "sim".into(),
            outcome,
            scenario_ms: 750_000,
            wall_ms: 1_234,
            replay_command: "ecsim scenario run scenarios/01-spread.yaml --seed 7".into(),
            steps: vec![step(0, StepStatus::Passed, "ok"), step(1, StepStatus::Passed, "")],
            ..RunRecord::default()
        }
    }

    fn sample() -> Vec<(String, Vec<RunRecord>)> {
        let mut failed = record(
            "fails",
            Outcome::Failed {
                step: 1,
                message: "expected 3, got 2".into(),
            },
        );
        failed.steps[1].status = StepStatus::Failed;
        failed.steps.push(step(2, StepStatus::NotRun, ""));
        vec![
            (
                "scenarios/01-spread.yaml".into(),
                vec![
                    record("passes", Outcome::Passed),
                    failed,
                    record(
                        "skipped",
                        Outcome::Skipped {
                            reason: "docker only".into(),
                        },
                    ),
                ],
            ),
            ("other.json".into(), vec![record("alone", Outcome::Passed)]),
        ]
    }

    #[test]
    fn structure_and_counts() {
        let xml = write_junit(&sample());
        assert!(xml.starts_with("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites "));
        assert!(xml.ends_with("</testsuites>\n"));
        assert!(xml.contains(
            "<testsuites name=\"ecsim scenarios\" tests=\"4\" failures=\"1\" errors=\"0\" skipped=\"1\" time=\"4.936\">"
        ));
        assert!(xml.contains(
            "<testsuite name=\"scenarios/01-spread.yaml\" tests=\"3\" failures=\"1\" errors=\"0\" skipped=\"1\" time=\"3.702\">"
        ));
        assert!(xml.contains(
            "<testsuite name=\"other.json\" tests=\"1\" failures=\"0\" errors=\"0\" skipped=\"0\" time=\"1.234\">"
        ));
        assert!(xml.contains("<testcase name=\"passes\" classname=\"01-spread\" file=\"scenarios/01-spread.yaml\" line=\"3\" time=\"1.234\">"));
        assert!(xml.contains("<testcase name=\"alone\" classname=\"other\""));
        assert_eq!(xml.matches("<testsuite ").count(), 2);
        assert_eq!(xml.matches("<testcase ").count(), 4);
        assert_eq!(xml.matches("</testcase>").count(), 4);
        assert_eq!(xml.matches("<failure ").count(), 1);
        assert_eq!(xml.matches("<skipped ").count(), 1);
        assert!(xml.contains("<skipped message=\"docker only\"/>"));
    }

    #[test]
    fn failure_names_the_step_and_the_replay() {
        let xml = write_junit(&sample());
        let start = xml.find("<failure ").expect("a failure");
        let end = xml[start..].find("</failure>").expect("closed") + start;
        let failure = &xml[start..end];
        assert!(failure.contains("message=\"expected 3, got 2\""));
        assert!(failure.contains("expected 3, got 2\nat step #1: step 1 (line 11)\n"));
        assert!(failure.contains("replay: ecsim scenario run scenarios/01-spread.yaml --seed 7"));
    }

    #[test]
    fn system_out_lists_every_step() {
        let xml = write_junit(&sample());
        assert!(xml.contains("scenario passes (scenarios/01-spread.yaml:3) seed 7 runtime sim scenario time 12m 30s wall time 1.2s\n"));
        assert!(xml.contains("#0 expect step 0 line 10 passed: ok\n"));
        assert!(xml.contains("#1 expect step 1 line 11 FAILED\n"));
        assert!(xml.contains("#2 expect step 2 line 12 not run\n"));
        assert_eq!(xml.matches("<system-out>").count(), 4);
    }

    #[test]
    fn escapes_markup_quotes_and_control_characters() {
        let mut nasty = record("a<b>&\"c'\u{1}d", Outcome::Passed);
        nasty.outcome = Outcome::Failed {
            step: 9,
            message: "line1\nline2\t<x>\u{0}\u{1b}".into(),
        };
        nasty.steps[0].detail = "<tag attr=\"v\">&amp;</tag>\r\n".into();
        let xml = write_junit(&[("dir/we&ird <name>.yaml".into(), vec![nasty])]);
        assert!(xml.contains("name=\"a&lt;b&gt;&amp;&quot;c&apos;\u{FFFD}d\""));
        assert!(xml.contains("message=\"line1&#10;line2&#9;&lt;x&gt;\u{FFFD}\u{FFFD}\""));
        assert!(xml.contains(">line1\nline2\t&lt;x&gt;\u{FFFD}\u{FFFD}\nat step #9\n"));
        assert!(xml.contains("&lt;tag attr=&quot;v&quot;&gt;&amp;amp;&lt;/tag&gt;\n"));
        assert!(xml.contains("<testsuite name=\"dir/we&amp;ird &lt;name&gt;.yaml\""));
        assert!(xml.contains("classname=\"we&amp;ird &lt;name&gt;\""));
        // Nothing but \n and \t below U+0020 survives.
        assert!(!xml.chars().any(|c| c < ' ' && c != '\n' && c != '\t'));
        // Every `<` opens a tag or the declaration: none leaks from the data.
        for (i, _) in xml.match_indices('<') {
            let next = xml[i + 1..].chars().next().unwrap_or(' ');
            assert!(
                next.is_ascii_alphabetic() || next == '/' || next == '?',
                "stray < at {i}"
            );
        }
    }

    #[test]
    fn deterministic_and_empty() {
        assert_eq!(write_junit(&sample()), write_junit(&sample()));
        let empty = write_junit(&[]);
        assert!(empty.contains("tests=\"0\" failures=\"0\" errors=\"0\" skipped=\"0\" time=\"0.000\""));
        let no_cases = write_junit(&[("x.yaml".into(), vec![])]);
        assert!(no_cases.contains("<testsuite name=\"x.yaml\" tests=\"0\""));
    }
}
