//! The report's timeline: running tasks per revision and per zone, listener weights, alarm and
//! deployment states, and request outcomes per version, each a chart on the shared time axis,
//! with its legend; plus the table of outcome totals.
//!
//! It decides what each series means (colours, scales, stacking) and leaves the SVG syntax to
//! `svg`; it must not draw a chart whose data is empty, nor emit anything the page could fetch
//! or run.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

use super::escape;
use super::svg::{self, Axis, Chart, Marks, Rect, YScale};
use crate::duration;
use crate::record::{OutcomeCounts, Timeline};

const LINE_PLOT_HEIGHT_PX: f64 = 150.0;
const BAND_ROW_PX: f64 = 20.0;
const BAND_GAP_PX: f64 = 6.0;
const BAND_FONT_PX: f64 = 10.0;
/// Room for a row label left of the plot, in characters.
const ROW_LABEL_CHARS: usize = 24;
/// Answers no target gave: not a version, so never one of the version colours.
const LOAD_BALANCER: &str = crate::record::LOAD_BALANCER_VERSION;
const LOAD_BALANCER_COLOUR: &str = "#555555";
const SERVER_ERROR_COLOUR: &str = "#b00020";

const GREEN: &str = "#3a9a55";
const BLUE: &str = "#3b78c2";
const ORANGE: &str = "#e8892b";
const RED: &str = "#d0453a";
const GREY: &str = "#8e8e8e";

/// Writes every chart the timeline has data for; false when there was none.
pub fn write_timeline(out: &mut String, timeline: &Timeline, end_ms: u64) -> bool {
    let axis = Axis::new(end_ms);
    let marks = Marks::new(&axis, &timeline.step_marks, &timeline.faults);
    let times_ms = &timeline.times_ms;
    let versions = VersionColours::new(timeline);
    let before = out.len();

    if has_data(times_ms, &timeline.running_by_revision) {
        let series = timeline
            .running_by_revision
            .iter()
            .map(|(key, values)| Series {
                key,
                style: versions.style(key),
                values: values.iter().map(|v| Some(u64::from(*v))).collect(),
            })
            .collect();
        line_chart(
            out,
            "chart-revisions",
            "Running tasks per revision",
            &axis,
            &marks,
            times_ms,
            series,
            false,
        );
    }
    if has_data(times_ms, &timeline.running_by_zone) {
        let series = timeline
            .running_by_zone
            .iter()
            .enumerate()
            .map(|(i, (key, values))| Series {
                key,
                style: svg::series_style(i),
                values: values.iter().map(|v| Some(u64::from(*v))).collect(),
            })
            .collect();
        line_chart(
            out,
            "chart-zones",
            "Running tasks per Availability Zone",
            &axis,
            &marks,
            times_ms,
            series,
            false,
        );
    }
    if has_data(times_ms, &timeline.weights) {
        let series = timeline
            .weights
            .iter()
            .enumerate()
            .map(|(i, (key, values))| Series {
                key,
                style: svg::series_style(i),
                values: values.iter().map(|v| v.map(u64::from)).collect(),
            })
            .collect();
        line_chart(
            out,
            "chart-weights",
            "Listener weights",
            &axis,
            &marks,
            times_ms,
            series,
            true,
        );
    }
    if has_data(times_ms, &timeline.alarm_states) {
        band_chart(
            out,
            "chart-alarms",
            "Alarm states",
            &axis,
            &marks,
            times_ms,
            &timeline.alarm_states,
            alarm_colour,
        );
    }
    if has_data(times_ms, &timeline.deployment_states) {
        band_chart(
            out,
            "chart-deployments",
            "Deployment states",
            &axis,
            &marks,
            times_ms,
            &timeline.deployment_states,
            deployment_colour,
        );
    }
    if has_data(times_ms, &timeline.outcomes_by_version) {
        outcomes_chart(
            out,
            &axis,
            &marks,
            times_ms,
            &timeline.outcomes_by_version,
            &versions,
        );
        outcomes_table(out, &timeline.outcomes_by_version, &versions);
    }
    out.len() > before
}

fn has_data<T>(times_ms: &[u64], series: &BTreeMap<String, Vec<T>>) -> bool {
    !times_ms.is_empty() && series.values().any(|values| !values.is_empty())
}

type Style = (&'static str, Option<&'static str>);

/// One colour per task definition across the revisions and the outcomes charts, so a version
/// reads the same in both.
struct VersionColours<'t> {
    keys: Vec<&'t str>,
}

impl<'t> VersionColours<'t> {
    fn new(timeline: &'t Timeline) -> VersionColours<'t> {
        let keys: BTreeSet<&str> = timeline
            .running_by_revision
            .keys()
            .chain(timeline.outcomes_by_version.keys())
            .map(String::as_str)
            .filter(|key| *key != LOAD_BALANCER)
            .collect();
        VersionColours {
            keys: keys.into_iter().collect(),
        }
    }

    fn style(&self, key: &str) -> Style {
        match self.keys.binary_search(&key) {
            Ok(index) => svg::series_style(index),
            Err(_) => (LOAD_BALANCER_COLOUR, None),
        }
    }
}

struct Series<'a> {
    key: &'a str,
    style: Style,
    values: Vec<Option<u64>>,
}

fn figure_open(out: &mut String, id: &str, title: &str) {
    let _ = writeln!(
        out,
        "<figure class=\"chart\" aria-labelledby=\"{id}-title\"><figcaption id=\"{id}-title\">{}</figcaption>",
        escape(title)
    );
}

/// The legend under a chart: `(label, swatch CSS)`.
fn legend<'a>(out: &mut String, entries: impl IntoIterator<Item = (&'a str, String)>) {
    out.push_str("<ul class=\"legend\">");
    for (label, swatch_css) in entries {
        let _ = write!(
            out,
            "<li><i style=\"{}\"></i>{}</li>",
            escape(&swatch_css),
            escape(label)
        );
    }
    out.push_str("</ul>\n");
}

fn line_swatch((colour, dash): Style) -> String {
    match dash {
        None => format!("background:{colour}"),
        Some(_) => format!("border-top:3px dashed {colour};height:0"),
    }
}

#[allow(clippy::too_many_arguments)] // one call per chart; a struct would only rename them
fn line_chart(
    out: &mut String,
    id: &str,
    title: &str,
    axis: &Axis,
    marks: &Marks,
    times_ms: &[u64],
    series: Vec<Series<'_>>,
    weights: bool,
) {
    let max_value = series
        .iter()
        .flat_map(|s| s.values.iter().flatten())
        .copied()
        .max()
        .unwrap_or(0);
    // Forward weights are percentages in practice; any other total (weights are relative, up to
    // 999) gets a count scale rather than lines drawn off the chart.
    let scale = if weights && max_value <= 100 {
        YScale::percent()
    } else {
        YScale::counts(max_value)
    };
    figure_open(out, id, title);
    let mut chart = Chart::open(id, title, LINE_PLOT_HEIGHT_PX, Some(scale), axis, marks);
    // Series that are equal (two revisions at 0 tasks) would hide one another: each is shifted a
    // little, within a few pixels in all.
    let count = series.len();
    let spread_px = (8.0 / svg::as_f64(count as u64)).min(1.5);
    chart.out.push_str("<g class=\"lines\">");
    for (i, s) in series.iter().enumerate() {
        let offset_px = (svg::as_f64(i as u64) - svg::as_f64(count as u64 - 1) / 2.0) * spread_px;
        // A series with no value at all still gets its (empty) path, so every key is findable.
        let d = svg::step_path(&chart, times_ms, &s.values, offset_px);
        let (colour, dash) = s.style;
        let dash = dash.map_or(String::new(), |d| format!(" stroke-dasharray=\"{d}\""));
        let _ = write!(
            chart.out,
            "\n<path data-series=\"{key}\" stroke=\"{colour}\"{dash} d=\"{d}\"><title>{key}</title></path>",
            key = escape(s.key)
        );
    }
    chart.out.push_str("</g>\n");
    out.push_str(&chart.finish());
    legend(out, series.iter().map(|s| (s.key, line_swatch(s.style))));
    out.push_str("</figure>\n");
}

fn alarm_colour(state: &str) -> &'static str {
    match state {
        "OK" => GREEN,
        "ALARM" => RED,
        _ => GREY,
    }
}

/// ECS service deployments (`IN_PROGRESS`, `SUCCESSFUL`, `ROLLBACK_*`), ECS rollout states
/// (`COMPLETED`, `FAILED`) and CodeDeploy (`Created`, `InProgress`, `Succeeded`, `Stopped`) spell
/// their states differently; the colours group them by meaning: done, under way, being undone or
/// stopped, failed, anything else.
fn deployment_colour(state: &str) -> &'static str {
    let state = state.to_ascii_uppercase();
    match state.as_str() {
        "SUCCESSFUL" | "SUCCEEDED" | "COMPLETED" => GREEN,
        "IN_PROGRESS" | "INPROGRESS" | "CREATED" | "READY" | "QUEUED" | "BAKING" | "PENDING" => BLUE,
        "FAILED" | "ROLLBACK_FAILED" => RED,
        "STOPPED" | "STOP_REQUESTED" => ORANGE,
        _ if state.starts_with("ROLLBACK") => ORANGE,
        _ => GREY,
    }
}

#[allow(clippy::too_many_arguments)] // one call per chart; a struct would only rename them
fn band_chart(
    out: &mut String,
    id: &str,
    title: &str,
    axis: &Axis,
    marks: &Marks,
    times_ms: &[u64],
    rows: &BTreeMap<String, Vec<Option<String>>>,
    colour: fn(&str) -> &'static str,
) {
    let row_count = svg::as_f64(rows.len() as u64);
    let plot_height_px = row_count * (BAND_ROW_PX + BAND_GAP_PX) + BAND_GAP_PX;
    figure_open(out, id, title);
    let mut chart = Chart::open(id, title, plot_height_px, None, axis, marks);
    let mut states_seen = BTreeSet::new();
    for (row, (key, states)) in rows.iter().enumerate() {
        let top_px =
            chart.plot_top_px() + BAND_GAP_PX + svg::as_f64(row as u64) * (BAND_ROW_PX + BAND_GAP_PX);
        let key_text = escape(key);
        let _ = write!(
            chart.out,
            "\n<g class=\"band\" data-series=\"{key_text}\"><text class=\"row\" x=\"{}\" y=\"{}\"><title>{key_text}</title>{}</text>",
            svg::px(svg::PLOT_LEFT_PX - 6.0),
            svg::px(top_px + BAND_ROW_PX / 2.0 + 3.5),
            escape(&svg::shorten(key, ROW_LABEL_CHARS))
        );
        let mut labels = String::new();
        for (from_ms, to_ms, state) in svg::runs(times_ms, states, axis.end_ms()) {
            states_seen.insert(state);
            let x_px = axis.x_px(from_ms);
            let width_px = (axis.x_px(to_ms) - x_px).max(1.0);
            let fill = format!(" fill=\"{}\"", colour(state));
            let hover = format!(
                "{key}: {state} from {} to {}",
                duration::show(from_ms),
                duration::show(to_ms)
            );
            Rect {
                x_px,
                y_px: top_px,
                width_px,
                height_px: BAND_ROW_PX,
            }
            .write(&mut chart.out, &fill, Some(&hover));
            if width_px > svg::text_width_px(state, BAND_FONT_PX) + 8.0 {
                let _ = write!(
                    labels,
                    "<text x=\"{}\" y=\"{}\">{}</text>",
                    svg::px(x_px + width_px / 2.0),
                    svg::px(top_px + BAND_ROW_PX / 2.0 + 3.5),
                    escape(state)
                );
            }
        }
        // Labels after the segments, so a later segment never paints over an earlier label.
        if !labels.is_empty() {
            let _ = write!(chart.out, "<g class=\"in-band\">{labels}</g>");
        }
        chart.out.push_str("</g>");
    }
    chart.out.push('\n');
    out.push_str(&chart.finish());
    legend(
        out,
        states_seen
            .into_iter()
            .map(|state| (state, format!("background:{}", colour(state)))),
    );
    out.push_str("</figure>\n");
}

/// Where interval `index` (the one ending at `times_ms[index]`) starts: at the previous sample,
/// and the first at scenario time 0, where the runner starts counting.
fn interval_start_ms(times_ms: &[u64], index: usize) -> u64 {
    match index {
        0 => 0,
        _ => times_ms[index - 1],
    }
}

/// Versions in key order, with the load balancer's own answers last: on top of the stack,
/// where its (error) slices are easy to see.
fn stack_order(versions: &BTreeMap<String, Vec<OutcomeCounts>>) -> Vec<(&str, &[OutcomeCounts])> {
    let (mut ordered, load_balancer): (Vec<_>, Vec<_>) = versions
        .iter()
        .map(|(key, counts)| (key.as_str(), counts.as_slice()))
        .partition(|(key, _)| *key != LOAD_BALANCER);
    ordered.extend(load_balancer);
    ordered
}

fn hatch_id(index: usize) -> String {
    format!("outcomes-hatch-{index}")
}

fn outcomes_chart(
    out: &mut String,
    axis: &Axis,
    marks: &Marks,
    times_ms: &[u64],
    versions: &BTreeMap<String, Vec<OutcomeCounts>>,
    colours: &VersionColours<'_>,
) {
    let id = "chart-outcomes";
    let title = "Request outcomes per version";
    let versions = stack_order(versions);
    let mut stacked = vec![0_u64; times_ms.len()];
    for (_, counts) in &versions {
        for (sum, c) in stacked.iter_mut().zip(*counts) {
            *sum += c.total();
        }
    }
    let scale = YScale::counts(stacked.iter().copied().max().unwrap_or(0));
    figure_open(out, id, title);
    let mut chart = Chart::open(id, title, LINE_PLOT_HEIGHT_PX, Some(scale), axis, marks);

    // One hatch per version: its colour under red stripes, so a 5xx slice still shows whose it is.
    chart.out.push_str("<defs>");
    for (index, (key, _)) in versions.iter().enumerate() {
        let (colour, _) = colours.style(key);
        let _ = write!(
            chart.out,
            "<pattern id=\"{}\" patternUnits=\"userSpaceOnUse\" width=\"5\" height=\"5\" patternTransform=\"rotate(45)\">\
             <rect width=\"5\" height=\"5\" fill=\"{colour}\"/><rect width=\"2.5\" height=\"5\" fill=\"{SERVER_ERROR_COLOUR}\"/></pattern>",
            hatch_id(index)
        );
    }
    chart.out.push_str("</defs>\n");

    let bars: Vec<(f64, f64)> = (0..times_ms.len())
        .map(|i| {
            let from_px = axis.x_px(interval_start_ms(times_ms, i));
            let to_px = axis.x_px(times_ms[i]);
            // A one-pixel gap separates bars wide enough to afford it; narrower ones would turn
            // into stripes.
            let gap_px = if to_px - from_px > 8.0 { 1.0 } else { 0.0 };
            (from_px + gap_px / 2.0, (to_px - from_px - gap_px).max(1.0))
        })
        .collect();
    // Each version's slices of one kind are one path of rectangles: an element per slice would
    // make a long run's page several times bigger.
    let mut base = vec![0_u64; times_ms.len()];
    for (index, (key, counts)) in versions.iter().enumerate() {
        let (colour, _) = colours.style(key);
        let mut slices = [String::new(), String::new(), String::new()];
        for (i, c) in counts.iter().enumerate().take(times_ms.len()) {
            let (x_px, width_px) = bars[i];
            for (d, n) in slices.iter_mut().zip([c.ok, c.client_errors, c.server_errors]) {
                if n == 0 {
                    continue;
                }
                let bottom_px = chart.y_px(svg::as_f64(base[i]));
                base[i] += n;
                let top_px = chart.y_px(svg::as_f64(base[i]));
                let _ = write!(
                    d,
                    "M{} {}h{}V{}H{}z",
                    svg::px(x_px),
                    svg::px(top_px),
                    svg::px(width_px),
                    svg::px(bottom_px),
                    svg::px(x_px)
                );
            }
        }
        let _ = write!(
            chart.out,
            "\n<g data-series=\"{}\" fill=\"{colour}\">",
            escape(key)
        );
        let hatch = format!(" fill=\"url(#{})\"", hatch_id(index));
        for (d, extra) in slices.iter().zip(["", " class=\"c4\"", hatch.as_str()]) {
            if !d.is_empty() {
                let _ = write!(chart.out, "<path{extra} d=\"{d}\"/>");
            }
        }
        chart.out.push_str("</g>");
    }
    // Invisible full-height bars carry each interval's numbers as hover text.
    chart.out.push_str("\n<g class=\"hover\">");
    for (i, at_ms) in times_ms.iter().enumerate() {
        if stacked[i] == 0 {
            continue;
        }
        let mut hover = format!(
            "{} to {}: {} requests",
            duration::show(interval_start_ms(times_ms, i)),
            duration::show(*at_ms),
            stacked[i]
        );
        for (key, counts) in &versions {
            if let Some(c) = counts.get(i).filter(|c| c.total() > 0) {
                let _ = write!(
                    hover,
                    "\n{key}: {} ok, {} 4xx, {} 5xx",
                    c.ok, c.client_errors, c.server_errors
                );
            }
        }
        let (x_px, width_px) = bars[i];
        let top_px = chart.plot_top_px();
        Rect {
            x_px,
            y_px: top_px,
            width_px,
            height_px: chart.y_px(0.0) - top_px,
        }
        .write(&mut chart.out, "", Some(&hover));
    }
    chart.out.push_str("</g>\n");
    out.push_str(&chart.finish());
    let mut entries: Vec<(&str, String)> = versions
        .iter()
        .map(|(key, _)| (*key, format!("background:{}", colours.style(key).0)))
        .collect();
    entries.push(("4xx (lighter)", "background:#999;opacity:.45".to_string()));
    entries.push((
        "5xx (red stripes)",
        format!("background:repeating-linear-gradient(45deg,{SERVER_ERROR_COLOUR} 0 2px,#999 2px 4px)"),
    ));
    legend(out, entries);
    out.push_str("</figure>\n");
}

/// Share of `part` in `whole` as a percentage with one decimal, computed in integers so it
/// prints the same everywhere.
fn share(part: u64, whole: u64) -> String {
    if whole == 0 {
        return "0.0".to_string();
    }
    let tenths = (u128::from(part) * 1_000 + u128::from(whole) / 2) / u128::from(whole);
    format!("{}.{}", tenths / 10, tenths % 10)
}

fn outcomes_table(
    out: &mut String,
    versions: &BTreeMap<String, Vec<OutcomeCounts>>,
    colours: &VersionColours<'_>,
) {
    let totals: Vec<(&str, OutcomeCounts)> = stack_order(versions)
        .into_iter()
        .map(|(key, counts)| {
            let sum = counts.iter().fold(OutcomeCounts::default(), |mut sum, c| {
                sum.ok += c.ok;
                sum.client_errors += c.client_errors;
                sum.server_errors += c.server_errors;
                sum
            });
            (key, sum)
        })
        .collect();
    let all = totals.iter().fold(OutcomeCounts::default(), |mut sum, (_, c)| {
        sum.ok += c.ok;
        sum.client_errors += c.client_errors;
        sum.server_errors += c.server_errors;
        sum
    });
    out.push_str(
        "<table class=\"outcomes\"><thead><tr><th>Version</th><th>Requests</th><th>OK</th><th>4xx</th>\
         <th>5xx</th><th>Share</th></tr></thead><tbody>\n",
    );
    let row = |out: &mut String, label: &str, swatch: Option<&str>, c: &OutcomeCounts| {
        let swatch = swatch.map_or(String::new(), |colour| {
            format!("<i style=\"background:{colour}\"></i>")
        });
        let _ = writeln!(
            out,
            "<tr><td>{swatch}{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}%</td></tr>",
            escape(label),
            c.total(),
            c.ok,
            c.client_errors,
            c.server_errors,
            share(c.total(), all.total())
        );
    };
    for (key, c) in &totals {
        row(out, key, Some(colours.style(key).0), c);
    }
    out.push_str("</tbody><tfoot>");
    row(out, "All", None, &all);
    out.push_str("</tfoot></table>\n");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deployment_states_group_by_meaning() {
        for state in ["SUCCESSFUL", "Succeeded", "COMPLETED", "successful"] {
            assert_eq!(deployment_colour(state), GREEN, "{state}");
        }
        for state in ["IN_PROGRESS", "InProgress", "Created", "Ready"] {
            assert_eq!(deployment_colour(state), BLUE, "{state}");
        }
        for state in ["ROLLBACK_IN_PROGRESS", "ROLLBACK_SUCCESSFUL", "Stopped"] {
            assert_eq!(deployment_colour(state), ORANGE, "{state}");
        }
        for state in ["Failed", "ROLLBACK_FAILED"] {
            assert_eq!(deployment_colour(state), RED, "{state}");
        }
        assert_eq!(deployment_colour("PRIMARY"), GREY);
    }

    #[test]
    fn shares_round_half_up() {
        assert_eq!(share(1, 3), "33.3");
        assert_eq!(share(2, 3), "66.7");
        assert_eq!(share(5, 5), "100.0");
        assert_eq!(share(0, 0), "0.0");
    }

    #[test]
    fn intervals_start_at_the_previous_sample_and_the_first_at_zero() {
        assert_eq!(interval_start_ms(&[10_000, 15_000], 0), 0);
        assert_eq!(interval_start_ms(&[10_000, 15_000], 1), 10_000);
        assert_eq!(interval_start_ms(&[10_000, 15_000, 17_500], 2), 15_000);
    }
}
