//! The HTML report of one scenario run: a single self-contained page (inline CSS and SVG) with
//! the outcome, how to replay it, the timeline charts and the steps table.
//!
//! It must not emit JavaScript or anything fetched from elsewhere, nor read the clock or files:
//! the same record always renders to the same bytes.

mod charts;
mod svg;

#[cfg(test)]
mod tests;

use std::fmt::Write as _;

use crate::duration;
use crate::record::{Outcome, RunRecord, StepRecord, StepStatus};

/// The report page for one run.
pub fn render_html(record: &RunRecord) -> String {
    let (badge_class, badge_text) = badge(&record.outcome);
    let mut out = String::with_capacity(64 * 1024);
    let _ = write!(
        out,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'\">\n\
         <title>{} · {badge_text} · ecsim scenario report</title>\n<style>{CSS}</style>\n</head>\n<body>\n",
        escape(&record.scenario)
    );
    header(&mut out, record, badge_class, badge_text);

    out.push_str("<section id=\"timeline\">\n<h2>Timeline</h2>\n");
    let mut charts = String::new();
    if charts::write_timeline(&mut charts, &record.timeline, timeline_end_ms(record)) {
        out.push_str(
            "<p class=\"note\">Scenario time on the x axis. Grey dashed lines: step starts; red dashed \
             lines: injected faults. Hover over lines, bands and bars for details.</p>\n",
        );
        out.push_str(&charts);
    } else {
        out.push_str("<p class=\"note\">No timeline was recorded for this run.</p>\n");
    }
    out.push_str("</section>\n");

    steps_table(&mut out, &record.steps);
    out.push_str("</body>\n</html>\n");
    out
}

fn badge(outcome: &Outcome) -> (&'static str, &'static str) {
    match outcome {
        Outcome::Passed => ("passed", "PASSED"),
        Outcome::Failed { .. } => ("failed", "FAILED"),
        Outcome::Skipped { .. } => ("skipped", "SKIPPED"),
    }
}

/// The charts end where the last thing recorded happened, at least at the scenario's end.
fn timeline_end_ms(record: &RunRecord) -> u64 {
    let timeline = &record.timeline;
    let last_sample_ms = timeline.times_ms.last().copied().unwrap_or(0);
    let last_mark_ms = timeline
        .faults
        .iter()
        .chain(&timeline.step_marks)
        .map(|m| m.at_ms)
        .max()
        .unwrap_or(0);
    record.scenario_ms.max(last_sample_ms).max(last_mark_ms)
}

fn header(out: &mut String, record: &RunRecord, badge_class: &str, badge_text: &str) {
    let _ = writeln!(
        out,
        "<header>\n<h1>{}<span class=\"badge {badge_class}\">{badge_text}</span></h1>\n\
         <p class=\"where\">{}:{}</p>",
        escape(&record.scenario),
        escape(&record.file),
        record.line
    );
    if let Some(description) = record.description.as_deref().filter(|d| !d.trim().is_empty()) {
        let _ = writeln!(out, "<p class=\"desc\">{}</p>", escape(description));
    }
    let _ = writeln!(
        out,
        "<dl class=\"facts\"><dt>Seed</dt><dd>{}</dd><dt>Runtime</dt><dd>{}</dd>\
         <dt>Scenario time</dt><dd>{}</dd><dt>Wall time</dt><dd>{}</dd><dt>Steps</dt><dd>{}</dd></dl>",
        record.seed,
        escape(&record.runtime),
        duration::show(record.scenario_ms),
        duration::show(record.wall_ms),
        step_summary(&record.steps)
    );
    match &record.outcome {
        Outcome::Passed => {}
        Outcome::Failed { step, message } => {
            out.push_str("<div class=\"failure\"><p><strong>Failed");
            match record.steps.iter().find(|s| s.index == *step) {
                Some(failed) => {
                    let _ = write!(
                        out,
                        " at <a href=\"#step-{index}\">step #{index}</a></strong>: {} (line {})",
                        escape(&failed.label),
                        failed.line,
                        index = failed.index,
                    );
                }
                None => {
                    let _ = write!(out, " at step #{step}</strong>");
                }
            }
            let _ = writeln!(out, "</p>\n<pre>{}</pre></div>", escape(message));
        }
        Outcome::Skipped { reason } => {
            let _ = writeln!(
                out,
                "<div class=\"skipped-note\"><strong>Skipped:</strong> {}</div>",
                escape(reason)
            );
        }
    }
    let _ = writeln!(
        out,
        "<p class=\"label\">Replay</p>\n<pre class=\"replay\"><code>{}</code></pre>\n</header>",
        escape(&record.replay_command)
    );
}

fn step_summary(steps: &[StepRecord]) -> String {
    let count = |status| steps.iter().filter(|s| s.status == status).count();
    let mut parts = vec![format!("{} passed", count(StepStatus::Passed))];
    for (status, name) in [(StepStatus::Failed, "failed"), (StepStatus::NotRun, "not run")] {
        let n = count(status);
        if n > 0 {
            parts.push(format!("{n} {name}"));
        }
    }
    format!("{} ({})", steps.len(), parts.join(", "))
}

fn steps_table(out: &mut String, steps: &[StepRecord]) {
    out.push_str("<section id=\"steps\">\n<h2>Steps</h2>\n");
    if steps.is_empty() {
        out.push_str("<p class=\"note\">No steps ran.</p>\n</section>\n");
        return;
    }
    out.push_str(
        "<table class=\"steps\"><thead><tr><th>#</th><th>Kind</th><th>Line</th><th>Label</th>\
         <th>Started</th><th>Duration</th><th>Status</th><th>Detail</th></tr></thead><tbody>\n",
    );
    for step in steps {
        let (class, status) = match step.status {
            StepStatus::Passed => ("st-passed", "passed"),
            StepStatus::Failed => ("st-failed", "FAILED"),
            StepStatus::NotRun => ("st-notrun", "not run"),
        };
        let detail = if step.detail.is_empty() {
            String::new()
        } else {
            format!("<div class=\"detail\">{}</div>", escape(&step.detail))
        };
        let _ = writeln!(
            out,
            "<tr id=\"step-{}\" class=\"{class}\"><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td>\
             <td>{}</td><td class=\"status\">{status}</td><td>{detail}</td></tr>",
            step.index,
            step.index,
            escape(&step.kind),
            step.line,
            escape(&step.label),
            show_at(step.started_ms),
            duration::show(step.ended_ms.saturating_sub(step.started_ms)),
        );
    }
    out.push_str("</tbody></table>\n</section>\n");
}

/// A point in scenario time; the start reads `0s` like the chart axes, not `0ms`.
fn show_at(at_ms: u64) -> String {
    if at_ms == 0 {
        "0s".to_string()
    } else {
        duration::show(at_ms)
    }
}

/// Escapes text for HTML element content and quoted attribute values alike. Control characters
/// other than newline and tab (invalid in HTML) become U+FFFD so nothing silently disappears;
/// a CR is dropped.
fn escape(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len());
    for c in raw.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            '\n' | '\t' => out.push(c),
            // Line ends written CRLF read the same without the CR.
            '\r' => {}
            c if c.is_control() => out.push('\u{FFFD}'),
            c => out.push(c),
        }
    }
    out
}

const CSS: &str = "\
body{font:14px/1.45 system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;margin:0 auto;padding:16px 24px;\
max-width:1100px;color:#222;background:#fff}
h1{font-size:22px;margin:0 0 2px}
h2{font-size:17px;margin:28px 0 8px;border-bottom:1px solid #ddd;padding-bottom:4px}
a{color:#2a62a8}
.badge{display:inline-block;font-size:12px;font-weight:700;padding:2px 9px;border-radius:10px;color:#fff;\
vertical-align:middle;margin-left:10px;letter-spacing:.04em}
.badge.passed{background:#3a9a55}.badge.failed{background:#d0453a}.badge.skipped{background:#8e8e8e}
.where{color:#555;font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;margin:0 0 6px}
.desc{margin:6px 0;max-width:80ch}
.note,.label{color:#666;margin:4px 0}
dl.facts{display:grid;grid-template-columns:max-content 1fr;gap:2px 14px;margin:10px 0}
dl.facts dt{color:#666}dl.facts dd{margin:0}
.failure{border-left:4px solid #d0453a;background:#fdf0ef;padding:6px 12px;margin:10px 0}
.failure p{margin:0 0 4px}
.skipped-note{border-left:4px solid #8e8e8e;background:#f3f3f3;padding:6px 12px;margin:10px 0}
pre{white-space:pre-wrap;word-break:break-word;margin:0;font:12.5px/1.4 ui-monospace,SFMono-Regular,Menlo,Consolas,monospace}
pre.replay{background:#f4f4f4;padding:8px 10px;border-radius:4px}
figure.chart{margin:12px 0 20px}
figcaption{font-weight:600}
svg.chart{display:block;font:10px system-ui,sans-serif;overflow:visible}
svg .grid line{stroke:#ececec}
svg .grid line.base{stroke:#999}
svg .ticks{fill:#666}
svg .lines path{fill:none;stroke-width:2;stroke-linejoin:round}
svg .mk-step line{stroke:#b0b0b0;stroke-dasharray:2 3}
svg .mk-fault line{stroke:#d0021b;stroke-width:1.2;stroke-dasharray:5 3}
svg .mk-fault text{fill:#d0021b;font-weight:600}
svg text.row{text-anchor:end;fill:#333;font-size:11px}
svg .band rect{stroke:#fff;stroke-width:1}
svg .in-band text{text-anchor:middle;fill:#fff;pointer-events:none}
svg .c4{fill-opacity:.45}
svg .hover rect{fill:transparent}
ul.legend{list-style:none;padding:0;margin:2px 0 0 150px;display:flex;flex-wrap:wrap;gap:2px 16px;font-size:12px}
ul.legend i,table.outcomes i{display:inline-block;width:14px;height:10px;margin-right:5px;vertical-align:middle;\
border-radius:2px}
table{border-collapse:collapse;font-size:13px}
th,td{border-bottom:1px solid #e4e4e4;padding:4px 8px;text-align:left;vertical-align:top}
th{background:#f6f6f6}
table.outcomes{margin-left:150px}
table.outcomes td:not(:first-child),table.outcomes th:not(:first-child){text-align:right}
table.outcomes tfoot td{font-weight:600}
table.steps td:nth-child(-n+3),table.steps td:nth-child(5),table.steps td:nth-child(6){white-space:nowrap}
tr.st-failed td{background:#fdf0ef}tr.st-failed td.status{color:#c0392b;font-weight:700}
tr.st-notrun td{color:#999}
.detail{white-space:pre-wrap;word-break:break-word;font:12px/1.35 ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;\
max-height:16em;overflow:auto}
";
