//! Hand-built SVG for the report: the time axis every chart shares, chart frames with their grid,
//! step and fault markers, step-line paths, band segments and rectangles, as text.
//!
//! It must not know what a series means (the charts module decides that), and must not emit
//! scripts, external references or anything that varies between two renderings of one record.

use std::fmt::Write as _;

use super::escape;
use crate::duration;
use crate::record::Mark;

/// Every chart is this wide and plots between the same two x positions, so stacked charts share
/// their time axis pixel for pixel.
pub const WIDTH_PX: f64 = 900.0;
pub const PLOT_LEFT_PX: f64 = 150.0;
pub const PLOT_RIGHT_PX: f64 = 884.0;
/// Room above the plot for fault labels (two staggered rows).
const TOP_PX: f64 = 26.0;
/// Room below the plot for the tick labels.
const BOTTOM_PX: f64 = 20.0;
const TICK_FONT_PX: f64 = 10.0;

/// Candidate tick spacings: round numbers a reader can add up in their head.
const TICK_STEPS_MS: [u64; 21] = [
    100, 200, 500, 1_000, 2_000, 5_000, 10_000, 15_000, 30_000, 60_000, 120_000, 300_000, 600_000, 900_000,
    1_800_000, 3_600_000, 7_200_000, 10_800_000, 21_600_000, 43_200_000, 86_400_000,
];
const MAX_TICKS: u64 = 10;

/// Series colours (Tableau 10): distinguishable, and readable for the common colour blindnesses.
const PALETTE: [&str; 10] = [
    "#4e79a7", "#f28e2b", "#59a14f", "#b07aa1", "#76b7b2", "#edc948", "#9c755f", "#ff9da7", "#e15759",
    "#bab0ac",
];

/// The colour of the `index`th series, and a dash pattern once the palette has been used up so
/// two series never look the same.
pub fn series_style(index: usize) -> (&'static str, Option<&'static str>) {
    let dash = match index / PALETTE.len() {
        0 => None,
        1 => Some("6 3"),
        _ => Some("2 2"),
    };
    (PALETTE[index % PALETTE.len()], dash)
}

/// A coordinate rounded to a tenth of a pixel, without a trailing `.0`: finer is invisible and
/// only makes the page bigger.
pub fn px(value: f64) -> String {
    // Adding 0 turns -0 into 0, which would otherwise print as "-0".
    let tenths = (value * 10.0).round() + 0.0;
    if tenths % 10.0 == 0.0 {
        format!("{:.0}", tenths / 10.0)
    } else {
        format!("{:.1}", tenths / 10.0)
    }
}

/// Rough width of `text` in a sans-serif font, for deciding whether a label fits.
pub fn text_width_px(text: &str, font_px: f64) -> f64 {
    #[allow(clippy::cast_precision_loss)] // label lengths are tiny
    let chars = text.chars().count() as f64;
    chars * font_px * 0.6
}

/// Shortens `text` to `max_chars` by cutting its middle: names tend to differ at both ends
/// (`service/ecs-svc/123…`, `…-5xx-alarm`).
pub fn shorten(text: &str, max_chars: usize) -> String {
    let count = text.chars().count();
    if count <= max_chars || max_chars < 3 {
        return text.to_string();
    }
    let head = (max_chars - 1) / 2;
    let tail = max_chars - 1 - head;
    let start: String = text.chars().take(head).collect();
    let end: String = text.chars().skip(count - tail).collect();
    format!("{start}…{end}")
}

#[allow(clippy::cast_precision_loss)] // scenario times and counts are far below 2^52
pub fn as_f64(value: u64) -> f64 {
    value as f64
}

/// The shared x axis: scenario time from 0 to `end_ms`.
#[derive(Debug, Clone)]
pub struct Axis {
    end_ms: u64,
    tick_ms: u64,
}

impl Axis {
    pub fn new(end_ms: u64) -> Axis {
        let end_ms = end_ms.max(1);
        let tick_ms = TICK_STEPS_MS
            .iter()
            .copied()
            .find(|step_ms| end_ms / step_ms <= MAX_TICKS)
            .unwrap_or_else(|| end_ms.div_ceil(MAX_TICKS));
        Axis { end_ms, tick_ms }
    }

    pub fn end_ms(&self) -> u64 {
        self.end_ms
    }

    pub fn x_px(&self, at_ms: u64) -> f64 {
        let fraction = as_f64(at_ms.min(self.end_ms)) / as_f64(self.end_ms);
        PLOT_LEFT_PX + fraction * (PLOT_RIGHT_PX - PLOT_LEFT_PX)
    }

    fn ticks_ms(&self) -> impl Iterator<Item = u64> + '_ {
        (0..=self.end_ms / self.tick_ms).map(|i| i * self.tick_ms)
    }

    fn tick_label(&self, at_ms: u64) -> String {
        if at_ms == 0 && self.tick_ms >= 1_000 {
            "0s".to_string()
        } else {
            duration::show(at_ms)
        }
    }
}

/// A fault marker with where its label goes.
#[derive(Debug, Clone)]
struct FaultLabel {
    x_px: f64,
    row: u8,
    /// Labels near the right edge are written leftwards of their line.
    leftwards: bool,
    label: String,
}

/// Step starts and faults, drawn across every chart.
#[derive(Debug, Clone)]
pub struct Marks {
    steps: Vec<(f64, String)>,
    faults: Vec<FaultLabel>,
}

impl Marks {
    pub fn new(axis: &Axis, step_marks: &[Mark], faults: &[Mark]) -> Marks {
        let steps = step_marks
            .iter()
            .map(|m| (axis.x_px(m.at_ms), m.label.clone()))
            .collect();
        let mut sorted: Vec<&Mark> = faults.iter().collect();
        sorted.sort_by_key(|m| m.at_ms);
        // Two label rows, filled greedily: a label goes to the first row where it does not
        // overlap the previous one, else to the row whose last label ends first.
        let mut row_end_px = [f64::MIN; 2];
        let faults = sorted
            .into_iter()
            .map(|m| {
                let x_px = axis.x_px(m.at_ms);
                let width_px = text_width_px(&m.label, TICK_FONT_PX) + 3.0;
                let leftwards = x_px + width_px > WIDTH_PX;
                let (start_px, end_px) = if leftwards {
                    (x_px - width_px, x_px)
                } else {
                    (x_px, x_px + width_px)
                };
                let row = if start_px > row_end_px[0] {
                    0
                } else if start_px > row_end_px[1] || row_end_px[1] < row_end_px[0] {
                    1
                } else {
                    0
                };
                row_end_px[usize::from(row)] = end_px + 4.0;
                FaultLabel {
                    x_px,
                    row,
                    leftwards,
                    label: m.label.clone(),
                }
            })
            .collect();
        Marks { steps, faults }
    }
}

/// The y axis of a value chart.
#[derive(Debug, Clone, Copy)]
pub struct YScale {
    max: u64,
    step: u64,
    suffix: &'static str,
}

impl YScale {
    /// Counts from 0 to at least `max_value`, in round steps, at most about five lines.
    pub fn counts(max_value: u64) -> YScale {
        let max_value = max_value.max(1);
        let mut magnitude = 1_u64;
        let step = loop {
            if let Some(step) = [1, 2, 5]
                .iter()
                .map(|f| f * magnitude)
                .find(|step| max_value.div_ceil(*step) <= 5)
            {
                break step;
            }
            magnitude = magnitude.saturating_mul(10);
        };
        YScale {
            max: max_value.div_ceil(step) * step,
            step,
            suffix: "",
        }
    }

    pub fn percent() -> YScale {
        YScale {
            max: 100,
            step: 25,
            suffix: "%",
        }
    }
}

/// One `<svg>` being drawn; `finish` closes it.
pub struct Chart<'a> {
    pub out: String,
    pub axis: &'a Axis,
    marks: &'a Marks,
    plot_top_px: f64,
    plot_bottom_px: f64,
    y: Option<YScale>,
}

impl<'a> Chart<'a> {
    /// Opens a chart with a plot area `plot_height_px` high: the time grid, the y grid when
    /// there is a scale, and the step markers (behind the data).
    pub fn open(
        id: &str,
        title: &str,
        plot_height_px: f64,
        y: Option<YScale>,
        axis: &'a Axis,
        marks: &'a Marks,
    ) -> Chart<'a> {
        let plot_bottom_px = TOP_PX + plot_height_px;
        let height_px = plot_bottom_px + BOTTOM_PX;
        let mut chart = Chart {
            out: String::new(),
            axis,
            marks,
            plot_top_px: TOP_PX,
            plot_bottom_px,
            y,
        };
        let _ = writeln!(
            chart.out,
            "<svg id=\"{}\" class=\"chart\" xmlns=\"http://www.w3.org/2000/svg\" width=\"{w}\" height=\"{h}\" \
             viewBox=\"0 0 {w} {h}\" role=\"img\" aria-label=\"{}\">",
            escape(id),
            escape(title),
            w = px(WIDTH_PX),
            h = px(height_px),
        );
        chart.time_grid();
        if let Some(scale) = y {
            chart.value_grid(scale);
        }
        chart.step_marks();
        chart
    }

    pub fn plot_top_px(&self) -> f64 {
        self.plot_top_px
    }

    /// The y position of `value` on the chart's scale (the plot's bottom without one).
    pub fn y_px(&self, value: f64) -> f64 {
        let Some(scale) = self.y else {
            return self.plot_bottom_px;
        };
        let fraction = (value / as_f64(scale.max)).clamp(0.0, 1.0);
        self.plot_bottom_px - fraction * (self.plot_bottom_px - self.plot_top_px)
    }

    fn time_grid(&mut self) {
        let axis = self.axis;
        let (top, bottom) = (px(self.plot_top_px), px(self.plot_bottom_px));
        self.out.push_str("<g class=\"grid\">");
        for at_ms in axis.ticks_ms() {
            let x = px(axis.x_px(at_ms));
            let _ = write!(
                self.out,
                "<line x1=\"{x}\" y1=\"{top}\" x2=\"{x}\" y2=\"{bottom}\"/>"
            );
        }
        let _ = write!(
            self.out,
            "<line class=\"base\" x1=\"{}\" y1=\"{bottom}\" x2=\"{}\" y2=\"{bottom}\"/>",
            px(PLOT_LEFT_PX),
            px(PLOT_RIGHT_PX)
        );
        self.out
            .push_str("</g>\n<g class=\"ticks\" text-anchor=\"middle\">");
        let label_y = px(self.plot_bottom_px + 14.0);
        for at_ms in axis.ticks_ms() {
            let _ = write!(
                self.out,
                "<text x=\"{}\" y=\"{label_y}\">{}</text>",
                px(axis.x_px(at_ms)),
                escape(&axis.tick_label(at_ms))
            );
        }
        self.out.push_str("</g>\n");
    }

    fn value_grid(&mut self, scale: YScale) {
        let (left, right) = (px(PLOT_LEFT_PX), px(PLOT_RIGHT_PX));
        self.out.push_str("<g class=\"grid\">");
        let mut labels = String::new();
        let mut value = 0;
        while value <= scale.max {
            let y = self.y_px(as_f64(value));
            let _ = write!(
                self.out,
                "<line x1=\"{left}\" y1=\"{0}\" x2=\"{right}\" y2=\"{0}\"/>",
                px(y)
            );
            let _ = write!(
                labels,
                "<text x=\"{}\" y=\"{}\">{value}{}</text>",
                px(PLOT_LEFT_PX - 6.0),
                px(y + 3.5),
                scale.suffix
            );
            value += scale.step;
        }
        let _ = writeln!(
            self.out,
            "</g>\n<g class=\"ticks\" text-anchor=\"end\">{labels}</g>"
        );
    }

    fn step_marks(&mut self) {
        if self.marks.steps.is_empty() {
            return;
        }
        let (top, bottom) = (px(self.plot_top_px), px(self.plot_bottom_px));
        self.out.push_str("<g class=\"mk-step\">");
        for (x_px, label) in &self.marks.steps {
            let x = px(*x_px);
            let _ = write!(
                self.out,
                "<line x1=\"{x}\" y1=\"{top}\" x2=\"{x}\" y2=\"{bottom}\"><title>{}</title></line>",
                escape(label)
            );
        }
        self.out.push_str("</g>\n");
    }

    fn fault_marks(&mut self) {
        if self.marks.faults.is_empty() {
            return;
        }
        let (top, bottom) = (px(self.plot_top_px - 14.0), px(self.plot_bottom_px));
        self.out.push_str("<g class=\"mk-fault\">");
        for fault in &self.marks.faults {
            let x = px(fault.x_px);
            let label = escape(&fault.label);
            let (text_x, anchor) = if fault.leftwards {
                (px(fault.x_px - 3.0), " text-anchor=\"end\"")
            } else {
                (px(fault.x_px + 3.0), "")
            };
            let text_y = px(11.0 * f64::from(fault.row) + 10.0);
            let _ = write!(
                self.out,
                "<g><title>{label}</title><line x1=\"{x}\" y1=\"{top}\" x2=\"{x}\" y2=\"{bottom}\"/>\
                 <text x=\"{text_x}\" y=\"{text_y}\"{anchor}>{label}</text></g>"
            );
        }
        self.out.push_str("</g>\n");
    }

    /// Draws the fault markers over the data and closes the `<svg>`.
    pub fn finish(mut self) -> String {
        self.fault_marks();
        self.out.push_str("</svg>\n");
        self.out
    }
}

/// The `d` of a step line: `values[i]` holds from `times_ms[i]` until the next sample, the last
/// one until the axis end; `None` leaves a gap. Runs of equal values become one segment.
/// `offset_px` shifts the line vertically so equal series stay visible side by side.
pub fn step_path(chart: &Chart<'_>, times_ms: &[u64], values: &[Option<u64>], offset_px: f64) -> String {
    let mut d = String::new();
    let mut drawing: Option<u64> = None;
    let y = |value: u64| px(chart.y_px(as_f64(value)) + offset_px);
    for (at_ms, value) in times_ms.iter().zip(values) {
        let x = px(chart.axis.x_px(*at_ms));
        match (drawing, *value) {
            (None, None) => {}
            (Some(_), None) => {
                let _ = write!(d, "H{x}");
            }
            (None, Some(v)) => {
                let _ = write!(d, "M{x} {}", y(v));
            }
            (Some(current), Some(v)) if current == v => {}
            (Some(_), Some(v)) => {
                let _ = write!(d, "H{x}V{}", y(v));
            }
        }
        drawing = *value;
    }
    if drawing.is_some() {
        let _ = write!(d, "H{}", px(chart.axis.x_px(chart.axis.end_ms())));
    }
    d
}

/// Runs of one state: `(from_ms, to_ms, state)`, each state holding until the next sample (the
/// last until `end_ms`); `None` samples make no run.
pub fn runs<'s>(times_ms: &[u64], states: &'s [Option<String>], end_ms: u64) -> Vec<(u64, u64, &'s str)> {
    let mut runs: Vec<(u64, u64, &str)> = Vec::new();
    let mut open: Option<(u64, &str)> = None;
    for (at_ms, state) in times_ms.iter().zip(states) {
        let state = state.as_deref();
        if let Some((from_ms, current)) = open {
            if state == Some(current) {
                continue;
            }
            runs.push((from_ms, *at_ms, current));
        }
        open = state.map(|s| (*at_ms, s));
    }
    if let Some((from_ms, current)) = open {
        runs.push((from_ms, end_ms.max(from_ms), current));
    }
    runs
}

/// A rectangle in pixels.
#[derive(Debug, Clone, Copy)]
pub struct Rect {
    pub x_px: f64,
    pub y_px: f64,
    pub width_px: f64,
    pub height_px: f64,
}

impl Rect {
    /// Writes the `<rect>`; `extra` is attribute text the caller built from safe parts, `title`
    /// (escaped here) becomes its hover text.
    pub fn write(&self, out: &mut String, extra: &str, title: Option<&str>) {
        let _ = write!(
            out,
            "<rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\"{extra}",
            px(self.x_px),
            px(self.y_px),
            px(self.width_px),
            px(self.height_px)
        );
        match title {
            Some(title) => {
                let _ = write!(out, "><title>{}</title></rect>", escape(title));
            }
            None => out.push_str("/>"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn coordinates_round_to_a_tenth() {
        assert_eq!(px(12.0), "12");
        assert_eq!(px(12.04), "12");
        assert_eq!(px(12.06), "12.1");
        assert_eq!(px(0.0), "0");
        assert_eq!(px(-3.24), "-3.2");
        assert_eq!(px(-0.01), "0");
    }

    #[test]
    fn ticks_are_round() {
        let labels = |end_ms| {
            let axis = Axis::new(end_ms);
            axis.ticks_ms().map(|t| axis.tick_label(t)).collect::<Vec<_>>()
        };
        assert_eq!(labels(750_000), ["0s", "2m", "4m", "6m", "8m", "10m", "12m"]);
        assert_eq!(
            labels(20_000),
            [
                "0s", "2s", "4s", "6s", "8s", "10s", "12s", "14s", "16s", "18s", "20s"
            ]
        );
        assert_eq!(
            labels(900),
            [
                "0ms", "100ms", "200ms", "300ms", "400ms", "500ms", "600ms", "700ms", "800ms", "900ms"
            ]
        );
        assert_eq!(
            labels(3 * 3_600_000),
            ["0s", "30m", "1h", "1h 30m", "2h", "2h 30m", "3h"]
        );
        assert!(labels(400 * 86_400_000).len() <= 11);
    }

    #[test]
    fn count_scales_are_round() {
        let scale = YScale::counts(0);
        assert_eq!((scale.max, scale.step), (1, 1));
        let scale = YScale::counts(7);
        assert_eq!((scale.max, scale.step), (8, 2));
        let scale = YScale::counts(4);
        assert_eq!((scale.max, scale.step), (4, 1));
        let scale = YScale::counts(1_234);
        assert_eq!((scale.max, scale.step), (1_500, 500));
    }

    #[test]
    fn runs_merge_equal_states_and_skip_gaps() {
        let states = [
            None,
            Some("A".to_string()),
            Some("A".to_string()),
            None,
            Some("B".to_string()),
        ];
        assert_eq!(
            runs(&[0, 10, 20, 30, 40], &states, 100),
            [(10, 30, "A"), (40, 100, "B")]
        );
    }

    #[test]
    fn shortening_keeps_both_ends() {
        assert_eq!(shorten("short", 10), "short");
        assert_eq!(shorten("abcdefghijklmnop", 7), "abc…nop");
    }
}
