//! CloudWatch statistics: parsing statistic names and computing them over one period's samples.
//! Pure arithmetic: no IO, no clock, no storage policy; callers own the samples.
//!
//! Reference: CloudWatch User Guide, "CloudWatch statistics definitions" (Statistics-definitions).
//!
//! Choices where AWS is silent (each also noted on the item it concerns):
//! - Percentiles use the nearest-rank method: `pNN` is the smallest sample value such that at
//!   least NN% of the samples are less than or equal to it. That keeps every percentile an
//!   observed value, inside `[minimum, maximum]`, and makes `p99` "the largest of the remaining
//!   99%", the wording AWS uses when it compares `p99` and `tm99`.
//! - Percentage trims (`TM(a%:b%)` and friends) drop `floor(a% × n)` samples from the bottom and
//!   `floor((100 − b)% × n)` from the top, so `tm90` over 1..=10 drops exactly the 10.
//! - Winsorized means with value bounds clamp outliers to the bound itself.

use std::cmp::Ordering;
use std::fmt::Write as _;

/// Longest statistic text accepted; real names are a few dozen characters at most.
pub const MAX_STATISTIC_LEN: usize = 128;

/// AWS allows "up to 10 decimal places" in trim bounds; percentiles are held to the same limit.
const MAX_DECIMALS: usize = 10;

/// Tolerance when comparing float counts, which are sums of many small counts.
const COUNT_EPSILON: f64 = 1e-9;

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum StatError {
    #[error("statistic is empty")]
    Empty,
    #[error("statistic is {len} characters long, more than the {max} allowed")]
    TooLong { len: usize, max: usize },
    #[error("unknown statistic '{0}'")]
    Unknown(String),
    #[error("invalid number '{number}' in statistic '{text}'")]
    BadNumber { text: String, number: String },
    #[error("percentage {value} in statistic '{text}' is outside 0..=100")]
    PercentOutOfRange { text: String, value: f64 },
    #[error("lower bound must be below the upper bound in statistic '{0}'")]
    BoundsOrder(String),
    #[error("statistic '{0}' mixes a percentage and an absolute value")]
    MixedBounds(String),
}

/// A CloudWatch statistic.
///
/// Percentage bounds are held in percent (0..=100). A missing lower percentage bound is 0 and a
/// missing upper one is 100, so `tm90`, `TM(:90%)` and `TM(0%:90%)` are the same value.
#[derive(Debug, Clone, PartialEq)]
pub enum Statistic {
    SampleCount,
    Sum,
    Average,
    Minimum,
    Maximum,
    /// pNN / pNN.NN
    Percentile(f64),
    /// tmNN, TM(a%:b%)
    TrimmedMean {
        lower_pct: f64,
        upper_pct: f64,
    },
    /// wmNN, WM(a%:b%)
    WinsorizedMean {
        lower_pct: f64,
        upper_pct: f64,
    },
    /// tcNN, TC(a%:b%)
    TrimmedCount {
        lower_pct: f64,
        upper_pct: f64,
    },
    /// tsNN, TS(a%:b%)
    TrimmedSum {
        lower_pct: f64,
        upper_pct: f64,
    },
    /// IQM, the same as TM(25%:75%)
    InterquartileMean,
    /// TM(lower:upper) with absolute values: samples with `lower < value <= upper`.
    TrimmedMeanBetween {
        lower: Option<f64>,
        upper: Option<f64>,
    },
    /// WM(lower:upper) with absolute values: samples outside are clamped to the bound.
    WinsorizedMeanBetween {
        lower: Option<f64>,
        upper: Option<f64>,
    },
    /// TC(lower:upper) with absolute values.
    TrimmedCountBetween {
        lower: Option<f64>,
        upper: Option<f64>,
    },
    /// TS(lower:upper) with absolute values.
    TrimmedSumBetween {
        lower: Option<f64>,
        upper: Option<f64>,
    },
    /// PR(lower:upper): the percentage of samples with `lower < value <= upper`.
    PercentileRank {
        lower: Option<f64>,
        upper: Option<f64>,
    },
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum TrimKind {
    Mean,
    Winsorized,
    Count,
    Sum,
}

impl TrimKind {
    fn short(self) -> &'static str {
        match self {
            TrimKind::Mean => "tm",
            TrimKind::Winsorized => "wm",
            TrimKind::Count => "tc",
            TrimKind::Sum => "ts",
        }
    }

    fn long(self) -> &'static str {
        match self {
            TrimKind::Mean => "TM",
            TrimKind::Winsorized => "WM",
            TrimKind::Count => "TC",
            TrimKind::Sum => "TS",
        }
    }

    fn percent(self, lower_pct: f64, upper_pct: f64) -> Statistic {
        match self {
            TrimKind::Mean => Statistic::TrimmedMean { lower_pct, upper_pct },
            TrimKind::Winsorized => Statistic::WinsorizedMean { lower_pct, upper_pct },
            TrimKind::Count => Statistic::TrimmedCount { lower_pct, upper_pct },
            TrimKind::Sum => Statistic::TrimmedSum { lower_pct, upper_pct },
        }
    }

    fn between(self, lower: Option<f64>, upper: Option<f64>) -> Statistic {
        match self {
            TrimKind::Mean => Statistic::TrimmedMeanBetween { lower, upper },
            TrimKind::Winsorized => Statistic::WinsorizedMeanBetween { lower, upper },
            TrimKind::Count => Statistic::TrimmedCountBetween { lower, upper },
            TrimKind::Sum => Statistic::TrimmedSumBetween { lower, upper },
        }
    }
}

/// One side of a parenthesised bound: nothing, a percentage, or an absolute value.
#[derive(Clone, Copy)]
enum Bound {
    Open,
    Percent(f64),
    Value(f64),
}

impl Statistic {
    /// Parses "Average", "p99", "p99.9", "tm90", "TM(10%:90%)", "TM(150:1000)", "wm95", "tc90",
    /// "ts90", "IQM", "PR(:300)"...
    ///
    /// Case follows the AWS syntax rules: the one-number forms are lowercase (`tm99`, `p99`) and
    /// the parenthesised forms uppercase (`TM(5%:95%)`); other spellings are rejected.
    pub fn parse(text: &str) -> Result<Statistic, StatError> {
        if text.is_empty() {
            return Err(StatError::Empty);
        }
        let len = text.chars().count();
        if len > MAX_STATISTIC_LEN {
            return Err(StatError::TooLong {
                len,
                max: MAX_STATISTIC_LEN,
            });
        }
        match text {
            "SampleCount" => return Ok(Statistic::SampleCount),
            "Sum" => return Ok(Statistic::Sum),
            "Average" => return Ok(Statistic::Average),
            "Minimum" => return Ok(Statistic::Minimum),
            "Maximum" => return Ok(Statistic::Maximum),
            "IQM" => return Ok(Statistic::InterquartileMean),
            _ => {}
        }
        if let Some(rest) = text.strip_prefix('p') {
            let pct = parse_percent(text, rest)?;
            return Ok(Statistic::Percentile(pct));
        }
        for kind in [
            TrimKind::Mean,
            TrimKind::Winsorized,
            TrimKind::Count,
            TrimKind::Sum,
        ] {
            if let Some(rest) = text.strip_prefix(kind.short()) {
                let upper_pct = parse_percent(text, rest)?;
                return Ok(kind.percent(0.0, upper_pct));
            }
            if let Some(inner) = text.strip_prefix(kind.long()).and_then(parenthesised) {
                let (lower, upper) = parse_bounds(text, inner)?;
                return match (lower, upper) {
                    (Bound::Open, Bound::Percent(u)) => Ok(kind.percent(0.0, u)),
                    (Bound::Percent(l), Bound::Open) => Ok(kind.percent(l, 100.0)),
                    (Bound::Percent(l), Bound::Percent(u)) if l < u => Ok(kind.percent(l, u)),
                    (Bound::Percent(_), Bound::Percent(_)) => Err(StatError::BoundsOrder(text.to_string())),
                    (lower, upper) => {
                        let (l, u) = values_of(text, lower, upper)?;
                        Ok(kind.between(l, u))
                    }
                };
            }
        }
        if let Some(inner) = text.strip_prefix("PR").and_then(parenthesised) {
            let (lower, upper) = parse_bounds(text, inner)?;
            let (l, u) = values_of(text, lower, upper)?;
            return Ok(Statistic::PercentileRank { lower: l, upper: u });
        }
        Err(StatError::Unknown(text.to_string()))
    }

    /// The canonical text, which `parse` accepts back (round trip of the value).
    pub fn name(&self) -> String {
        match self {
            Statistic::SampleCount => "SampleCount".to_string(),
            Statistic::Sum => "Sum".to_string(),
            Statistic::Average => "Average".to_string(),
            Statistic::Minimum => "Minimum".to_string(),
            Statistic::Maximum => "Maximum".to_string(),
            Statistic::InterquartileMean => "IQM".to_string(),
            Statistic::Percentile(p) => format!("p{p}"),
            Statistic::TrimmedMean { lower_pct, upper_pct } => {
                percent_name(TrimKind::Mean, *lower_pct, *upper_pct)
            }
            Statistic::WinsorizedMean { lower_pct, upper_pct } => {
                percent_name(TrimKind::Winsorized, *lower_pct, *upper_pct)
            }
            Statistic::TrimmedCount { lower_pct, upper_pct } => {
                percent_name(TrimKind::Count, *lower_pct, *upper_pct)
            }
            Statistic::TrimmedSum { lower_pct, upper_pct } => {
                percent_name(TrimKind::Sum, *lower_pct, *upper_pct)
            }
            Statistic::TrimmedMeanBetween { lower, upper } => between_name("TM", *lower, *upper),
            Statistic::WinsorizedMeanBetween { lower, upper } => between_name("WM", *lower, *upper),
            Statistic::TrimmedCountBetween { lower, upper } => between_name("TC", *lower, *upper),
            Statistic::TrimmedSumBetween { lower, upper } => between_name("TS", *lower, *upper),
            Statistic::PercentileRank { lower, upper } => between_name("PR", *lower, *upper),
        }
    }

    /// True for everything except the five simple statistics (the ones PutMetricAlarm's
    /// `Statistic` member takes; the rest go in `ExtendedStatistic`).
    pub fn is_extended(&self) -> bool {
        !matches!(
            self,
            Statistic::SampleCount
                | Statistic::Sum
                | Statistic::Average
                | Statistic::Minimum
                | Statistic::Maximum
        )
    }
}

fn parenthesised(rest: &str) -> Option<&str> {
    rest.strip_prefix('(')?.strip_suffix(')')
}

fn percent_name(kind: TrimKind, lower_pct: f64, upper_pct: f64) -> String {
    if lower_pct == 0.0 {
        format!("{}{upper_pct}", kind.short())
    } else if upper_pct == 100.0 {
        format!("{}({lower_pct}%:)", kind.long())
    } else {
        format!("{}({lower_pct}%:{upper_pct}%)", kind.long())
    }
}

fn between_name(prefix: &str, lower: Option<f64>, upper: Option<f64>) -> String {
    let mut out = format!("{prefix}(");
    if let Some(l) = lower {
        let _ = write!(out, "{l}");
    }
    out.push(':');
    if let Some(u) = upper {
        let _ = write!(out, "{u}");
    }
    out.push(')');
    out
}

/// A plain decimal: digits, optionally one '.' and at most 10 decimals. No sign, exponent,
/// "inf" or "NaN", which `f64::from_str` would otherwise let through.
fn parse_decimal(number: &str) -> Option<f64> {
    let (int_part, frac_part) = match number.split_once('.') {
        Some((i, f)) => (i, Some(f)),
        None => (number, None),
    };
    if int_part.is_empty() || !int_part.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    if let Some(frac) = frac_part
        && (frac.is_empty() || frac.len() > MAX_DECIMALS || !frac.bytes().all(|b| b.is_ascii_digit()))
    {
        return None;
    }
    number.parse::<f64>().ok().filter(|v| v.is_finite())
}

/// Like `parse_decimal` but allows a leading '-', for absolute bounds.
fn parse_signed_decimal(number: &str) -> Option<f64> {
    match number.strip_prefix('-') {
        Some(rest) => parse_decimal(rest).map(|v| -v),
        None => parse_decimal(number),
    }
}

fn parse_percent(text: &str, number: &str) -> Result<f64, StatError> {
    let value = parse_decimal(number).ok_or_else(|| StatError::BadNumber {
        text: text.to_string(),
        number: number.to_string(),
    })?;
    if value > 100.0 {
        return Err(StatError::PercentOutOfRange {
            text: text.to_string(),
            value,
        });
    }
    Ok(value)
}

fn parse_bound(text: &str, side: &str) -> Result<Bound, StatError> {
    let side = side.trim();
    if side.is_empty() {
        return Ok(Bound::Open);
    }
    if let Some(number) = side.strip_suffix('%') {
        return parse_percent(text, number).map(Bound::Percent);
    }
    parse_signed_decimal(side)
        .map(Bound::Value)
        .ok_or_else(|| StatError::BadNumber {
            text: text.to_string(),
            number: side.to_string(),
        })
}

fn parse_bounds(text: &str, inner: &str) -> Result<(Bound, Bound), StatError> {
    let Some((lower, upper)) = inner.split_once(':') else {
        return Err(StatError::Unknown(text.to_string()));
    };
    let lower = parse_bound(text, lower)?;
    let upper = parse_bound(text, upper)?;
    if matches!((lower, upper), (Bound::Open, Bound::Open)) {
        return Err(StatError::Unknown(text.to_string()));
    }
    Ok((lower, upper))
}

fn values_of(text: &str, lower: Bound, upper: Bound) -> Result<(Option<f64>, Option<f64>), StatError> {
    let side = |b: Bound| match b {
        Bound::Open => Ok(None),
        Bound::Value(v) => Ok(Some(v)),
        Bound::Percent(_) => Err(StatError::MixedBounds(text.to_string())),
    };
    let (l, u) = (side(lower)?, side(upper)?);
    if let (Some(l), Some(u)) = (l, u)
        && l >= u
    {
        return Err(StatError::BoundsOrder(text.to_string()));
    }
    Ok((l, u))
}

/// The samples of one metric series in one period.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Samples {
    pub sample_count: f64,
    pub sum: f64,
    /// Meaningful only when sample_count > 0.
    pub minimum: f64,
    pub maximum: f64,
    /// (value, count) pairs when individual values are known, sorted by value with equal values
    /// merged, so memory grows with distinct values, not with samples. Empty when only
    /// statistic sets were put.
    pub values: Vec<(f64, f64)>,
}

impl Samples {
    /// Adds `count` samples of `value`. Non-finite values and non-positive or non-finite counts
    /// are ignored: PutMetricData rejects them, so they can only come from a caller bug.
    pub fn add_value(&mut self, value: f64, count: f64) {
        if !value.is_finite() || !count.is_finite() || count <= 0.0 {
            return;
        }
        self.note_range(value, value);
        self.sample_count += count;
        self.sum += value * count;
        insert_value(&mut self.values, value, count);
    }

    /// Adds a statistic set. When the set can only be one repeated value (minimum == maximum and
    /// sum == minimum × count) it is kept as individual values, because AWS still computes
    /// percentiles for such sets. Sets with non-finite fields, a non-positive count or
    /// minimum > maximum are ignored.
    pub fn add_statistic_set(&mut self, sample_count: f64, sum: f64, minimum: f64, maximum: f64) {
        let finite = [sample_count, sum, minimum, maximum]
            .iter()
            .all(|v| v.is_finite());
        if !finite || sample_count <= 0.0 || minimum > maximum {
            return;
        }
        let uniform = minimum == maximum && approx_eq(sum, minimum * sample_count);
        if uniform {
            self.add_value(minimum, sample_count);
            return;
        }
        self.note_range(minimum, maximum);
        self.sample_count += sample_count;
        self.sum += sum;
    }

    /// Adds every sample of `other`.
    pub fn merge(&mut self, other: &Samples) {
        if other.is_empty() {
            return;
        }
        self.note_range(other.minimum, other.maximum);
        self.sample_count += other.sample_count;
        self.sum += other.sum;
        for &(value, count) in &other.values {
            if value.is_finite() && count.is_finite() && count > 0.0 {
                insert_value(&mut self.values, value, count);
            }
        }
    }

    pub fn is_empty(&self) -> bool {
        // A NaN count also reads as empty.
        self.sample_count.partial_cmp(&0.0) != Some(Ordering::Greater)
    }

    /// True when `values` accounts for every sample, so value-based statistics are exact.
    pub fn has_all_values(&self) -> bool {
        if self.is_empty() {
            return false;
        }
        let known: f64 = self.values.iter().map(|&(_, c)| c).sum();
        approx_eq(known, self.sample_count)
    }

    fn note_range(&mut self, minimum: f64, maximum: f64) {
        if self.is_empty() {
            self.minimum = minimum;
            self.maximum = maximum;
        } else {
            self.minimum = self.minimum.min(minimum);
            self.maximum = self.maximum.max(maximum);
        }
    }
}

fn approx_eq(a: f64, b: f64) -> bool {
    (a - b).abs() <= COUNT_EPSILON * a.abs().max(b.abs()).max(1.0)
}

fn insert_value(values: &mut Vec<(f64, f64)>, value: f64, count: f64) {
    match values.binary_search_by(|probe| probe.0.total_cmp(&value)) {
        Ok(i) => values[i].1 += count,
        Err(i) => values.insert(i, (value, count)),
    }
}

/// The statistic over `samples`; None when there are no samples, or the statistic needs
/// individual values and only statistic sets are known.
///
/// Value-based statistics are also None when any sample is negative: AWS documents that
/// percentiles, trimmed and winsorized means, trimmed counts and sums and percentile rank are
/// not available for metrics with negative values.
pub fn compute(statistic: &Statistic, samples: &Samples) -> Option<f64> {
    if samples.is_empty() {
        return None;
    }
    let n = samples.sample_count;
    match statistic {
        Statistic::SampleCount => return Some(n),
        Statistic::Sum => return Some(samples.sum),
        Statistic::Average => return Some(samples.sum / n),
        Statistic::Minimum => return Some(samples.minimum),
        Statistic::Maximum => return Some(samples.maximum),
        _ => {}
    }
    if !samples.has_all_values() || samples.minimum < 0.0 {
        return None;
    }
    let values = &samples.values;
    match *statistic {
        Statistic::Percentile(p) => percentile(values, n, p),
        Statistic::InterquartileMean => trimmed_by_rank(values, n, 25.0, 75.0).map(|t| t.mean()),
        Statistic::TrimmedMean { lower_pct, upper_pct } => {
            trimmed_by_rank(values, n, lower_pct, upper_pct).map(|t| t.mean())
        }
        Statistic::TrimmedCount { lower_pct, upper_pct } => {
            trimmed_by_rank(values, n, lower_pct, upper_pct).map(|t| t.count)
        }
        Statistic::TrimmedSum { lower_pct, upper_pct } => {
            trimmed_by_rank(values, n, lower_pct, upper_pct).map(|t| t.sum)
        }
        Statistic::WinsorizedMean { lower_pct, upper_pct } => {
            winsorized_by_rank(values, n, lower_pct, upper_pct)
        }
        Statistic::TrimmedMeanBetween { lower, upper } => {
            let t = trimmed_by_value(values, lower, upper);
            (t.count > 0.0).then(|| t.mean())
        }
        Statistic::TrimmedCountBetween { lower, upper } => Some(trimmed_by_value(values, lower, upper).count),
        Statistic::TrimmedSumBetween { lower, upper } => Some(trimmed_by_value(values, lower, upper).sum),
        Statistic::WinsorizedMeanBetween { lower, upper } => {
            let lo = lower.unwrap_or(f64::NEG_INFINITY);
            let hi = upper.unwrap_or(f64::INFINITY);
            let total: f64 = values.iter().map(|&(v, c)| clamp(v, lo, hi) * c).sum();
            Some(total / n)
        }
        Statistic::PercentileRank { lower, upper } => {
            Some(trimmed_by_value(values, lower, upper).count / n * 100.0)
        }
        Statistic::SampleCount
        | Statistic::Sum
        | Statistic::Average
        | Statistic::Minimum
        | Statistic::Maximum => None,
    }
}

/// Nearest rank: the value of the sample at rank `ceil(p% × n)` (at least rank 1).
fn percentile(values: &[(f64, f64)], n: f64, pct: f64) -> Option<f64> {
    if !(0.0..=100.0).contains(&pct) {
        return None;
    }
    let rank = (pct / 100.0 * n - COUNT_EPSILON).ceil().max(1.0).min(n);
    value_at_rank(values, rank)
}

/// The value of the sample at 1-based `rank` in the sorted multiset.
fn value_at_rank(values: &[(f64, f64)], rank: f64) -> Option<f64> {
    let mut seen = 0.0;
    for &(value, count) in values {
        seen += count;
        if seen + COUNT_EPSILON >= rank {
            return Some(value);
        }
    }
    values.last().map(|&(v, _)| v)
}

struct Trimmed {
    count: f64,
    sum: f64,
}

impl Trimmed {
    fn mean(&self) -> f64 {
        self.sum / self.count
    }
}

/// The sample-rank window `(lo, hi]` kept by a percentage trim, or None when it is empty.
fn rank_window(n: f64, lower_pct: f64, upper_pct: f64) -> Option<(f64, f64)> {
    if !(0.0..=100.0).contains(&lower_pct) || !(0.0..=100.0).contains(&upper_pct) {
        return None;
    }
    let lo = (lower_pct / 100.0 * n + COUNT_EPSILON).floor();
    let hi = n - ((100.0 - upper_pct) / 100.0 * n + COUNT_EPSILON).floor();
    (hi > lo).then_some((lo, hi))
}

fn trimmed_by_rank(values: &[(f64, f64)], n: f64, lower_pct: f64, upper_pct: f64) -> Option<Trimmed> {
    let (lo, hi) = rank_window(n, lower_pct, upper_pct)?;
    let mut start = 0.0;
    let mut kept = Trimmed { count: 0.0, sum: 0.0 };
    for &(value, count) in values {
        let end = start + count;
        let overlap = (end.min(hi) - start.max(lo)).max(0.0);
        kept.count += overlap;
        kept.sum += overlap * value;
        start = end;
    }
    (kept.count > 0.0).then_some(kept)
}

fn winsorized_by_rank(values: &[(f64, f64)], n: f64, lower_pct: f64, upper_pct: f64) -> Option<f64> {
    let (lo, hi) = rank_window(n, lower_pct, upper_pct)?;
    // The edge values are the first and last samples still inside the window.
    let low_edge = value_at_rank(values, lo + 1.0)?;
    let high_edge = value_at_rank(values, hi)?;
    let total: f64 = values
        .iter()
        .map(|&(v, c)| clamp(v, low_edge, high_edge) * c)
        .sum();
    Some(total / n)
}

/// `f64::clamp` panics on NaN or inverted bounds, which a hand-built `Statistic` can carry.
fn clamp(value: f64, lower: f64, upper: f64) -> f64 {
    value.max(lower).min(upper)
}

/// Samples with `lower < value <= upper`; AWS documents the lower bound as exclusive and the
/// upper one as inclusive for value bounds.
fn trimmed_by_value(values: &[(f64, f64)], lower: Option<f64>, upper: Option<f64>) -> Trimmed {
    let mut kept = Trimmed { count: 0.0, sum: 0.0 };
    for &(value, count) in values {
        let above = lower.is_none_or(|l| value.partial_cmp(&l) == Some(Ordering::Greater));
        let below = upper.is_none_or(|u| value <= u);
        if above && below {
            kept.count += count;
            kept.sum += value * count;
        }
    }
    kept
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn one_to_ten() -> Samples {
        let mut s = Samples::default();
        for v in 1..=10 {
            s.add_value(f64::from(v), 1.0);
        }
        s
    }

    fn stat(text: &str) -> Statistic {
        Statistic::parse(text).unwrap()
    }

    #[test]
    fn parses_simple_and_extended_names() {
        assert_eq!(stat("Average"), Statistic::Average);
        assert_eq!(stat("SampleCount"), Statistic::SampleCount);
        assert_eq!(stat("p99"), Statistic::Percentile(99.0));
        assert_eq!(stat("p99.9"), Statistic::Percentile(99.9));
        assert_eq!(
            stat("tm90"),
            Statistic::TrimmedMean {
                lower_pct: 0.0,
                upper_pct: 90.0
            }
        );
        assert_eq!(
            stat("TM(10%:90%)"),
            Statistic::TrimmedMean {
                lower_pct: 10.0,
                upper_pct: 90.0
            }
        );
        assert_eq!(
            stat("TM(:95%)"),
            Statistic::TrimmedMean {
                lower_pct: 0.0,
                upper_pct: 95.0
            }
        );
        assert_eq!(
            stat("TS(80%:)"),
            Statistic::TrimmedSum {
                lower_pct: 80.0,
                upper_pct: 100.0
            }
        );
        assert_eq!(
            stat("wm95"),
            Statistic::WinsorizedMean {
                lower_pct: 0.0,
                upper_pct: 95.0
            }
        );
        assert_eq!(
            stat("tc90"),
            Statistic::TrimmedCount {
                lower_pct: 0.0,
                upper_pct: 90.0
            }
        );
        assert_eq!(
            stat("ts90"),
            Statistic::TrimmedSum {
                lower_pct: 0.0,
                upper_pct: 90.0
            }
        );
        assert_eq!(stat("IQM"), Statistic::InterquartileMean);
        assert_eq!(
            stat("TM(150:1000)"),
            Statistic::TrimmedMeanBetween {
                lower: Some(150.0),
                upper: Some(1000.0)
            }
        );
        assert_eq!(
            stat("TC(:0.5)"),
            Statistic::TrimmedCountBetween {
                lower: None,
                upper: Some(0.5)
            }
        );
        assert_eq!(
            stat("PR(:300)"),
            Statistic::PercentileRank {
                lower: None,
                upper: Some(300.0)
            }
        );
        assert_eq!(
            stat("PR(100:2000)"),
            Statistic::PercentileRank {
                lower: Some(100.0),
                upper: Some(2000.0)
            }
        );
    }

    #[test]
    fn rejects_bad_names() {
        for bad in [
            "",
            "average",
            "P99",
            "p",
            "p101",
            "p-1",
            "pNaN",
            "pinf",
            "p1e2",
            "TM99",
            "tm(10%:90%)",
            "TM(90%:10%)",
            "TM(10%:90)",
            "TM(:)",
            "TM10%:90%)",
            "PR(10%:)",
            "p99.12345678901",
            "TM(5:5)",
        ] {
            assert!(Statistic::parse(bad).is_err(), "{bad} should not parse");
        }
        assert_eq!(
            Statistic::parse(&"p".repeat(200)),
            Err(StatError::TooLong {
                len: 200,
                max: MAX_STATISTIC_LEN
            })
        );
    }

    #[test]
    fn names_round_trip() {
        for text in [
            "Average",
            "p99",
            "p99.9",
            "tm90",
            "TM(10%:90%)",
            "TM(10%:)",
            "wm95",
            "tc90",
            "ts90",
            "IQM",
            "TM(150:1000)",
            "TC(:0.5)",
            "PR(:300)",
            "WM(-5:5)",
        ] {
            let parsed = stat(text);
            assert_eq!(parsed.name(), text);
            assert_eq!(stat(&parsed.name()), parsed);
        }
        assert_eq!(stat("TM(:90%)").name(), "tm90");
        assert_eq!(stat("TM(0%:90%)").name(), "tm90");
    }

    #[test]
    fn extended_is_everything_but_the_simple_five() {
        for simple in ["SampleCount", "Sum", "Average", "Minimum", "Maximum"] {
            assert!(!stat(simple).is_extended());
        }
        for ext in ["p50", "tm90", "IQM", "PR(:1)"] {
            assert!(stat(ext).is_extended());
        }
    }

    #[test]
    fn simple_statistics() {
        let s = one_to_ten();
        assert_eq!(compute(&Statistic::SampleCount, &s), Some(10.0));
        assert_eq!(compute(&Statistic::Sum, &s), Some(55.0));
        assert_eq!(compute(&Statistic::Average, &s), Some(5.5));
        assert_eq!(compute(&Statistic::Minimum, &s), Some(1.0));
        assert_eq!(compute(&Statistic::Maximum, &s), Some(10.0));
        assert_eq!(compute(&Statistic::Average, &Samples::default()), None);
    }

    #[test]
    fn percentiles_use_nearest_rank() {
        let s = one_to_ten();
        // rank ceil(0.5 × 10) = 5 → 5; ceil(9.5) = 10 → 10; ceil(9.0) = 9 → 9.
        assert_eq!(compute(&stat("p50"), &s), Some(5.0));
        assert_eq!(compute(&stat("p95"), &s), Some(10.0));
        assert_eq!(compute(&stat("p90"), &s), Some(9.0));
        assert_eq!(compute(&stat("p0"), &s), Some(1.0));
        assert_eq!(compute(&stat("p100"), &s), Some(10.0));
        assert_eq!(compute(&stat("p10"), &s), Some(1.0));
        assert_eq!(compute(&stat("p10.5"), &s), Some(2.0));
    }

    #[test]
    fn trims_by_percentage() {
        let s = one_to_ten();
        // tm90 drops the 10: mean of 1..=9 = 5.
        assert_eq!(compute(&stat("tm90"), &s), Some(5.0));
        // TM(10%:90%) keeps 2..=9: 44 / 8 = 5.5.
        assert_eq!(compute(&stat("TM(10%:90%)"), &s), Some(5.5));
        assert_eq!(compute(&stat("tc90"), &s), Some(9.0));
        assert_eq!(compute(&stat("ts90"), &s), Some(45.0));
        // IQM = TM(25%:75%): drop floor(2.5) = 2 below and 2 above, keep 3..=8: 33 / 6 = 5.5.
        assert_eq!(compute(&stat("IQM"), &s), Some(5.5));
        // TS(80%:) drops the lowest 8: 9 + 10.
        assert_eq!(compute(&stat("TS(80%:)"), &s), Some(19.0));
    }

    #[test]
    fn winsorizes_by_percentage() {
        let s = one_to_ten();
        // wm90: the 10 becomes 9: (45 + 9) / 10 = 5.4.
        assert_eq!(compute(&stat("wm90"), &s), Some(5.4));
        // WM(10%:90%): 1 → 2 and 10 → 9: (2 + 44 + 9) / 10 = 5.5.
        assert_eq!(compute(&stat("WM(10%:90%)"), &s), Some(5.5));
    }

    #[test]
    fn trims_by_value_with_exclusive_lower_bound() {
        let s = one_to_ten();
        // 3 < v <= 6 → 4, 5, 6.
        assert_eq!(compute(&stat("TC(3:6)"), &s), Some(3.0));
        assert_eq!(compute(&stat("TS(3:6)"), &s), Some(15.0));
        assert_eq!(compute(&stat("TM(3:6)"), &s), Some(5.0));
        assert_eq!(compute(&stat("TM(20:30)"), &s), None);
        assert_eq!(compute(&stat("TC(20:30)"), &s), Some(0.0));
        // Clamp to [3, 6]: 3+3+3+4+5+6+6+6+6+6 = 48.
        assert_eq!(compute(&stat("WM(3:6)"), &s), Some(4.8));
        assert_eq!(compute(&stat("PR(:3)"), &s), Some(30.0));
        assert_eq!(compute(&stat("PR(3:5)"), &s), Some(20.0));
    }

    #[test]
    fn equal_values_are_merged() {
        let mut s = Samples::default();
        for i in 0..1000 {
            s.add_value(f64::from(i % 40), 1.0);
        }
        assert_eq!(s.values.len(), 40);
        assert_eq!(s.sample_count, 1000.0);
        assert!(s.values.windows(2).all(|w| w[0].0 < w[1].0));
    }

    #[test]
    fn statistic_sets_block_value_statistics_unless_uniform() {
        let mut s = Samples::default();
        s.add_statistic_set(4.0, 10.0, 1.0, 4.0);
        assert_eq!(compute(&Statistic::Average, &s), Some(2.5));
        assert_eq!(compute(&stat("p50"), &s), None);
        s.add_value(3.0, 1.0);
        assert_eq!(compute(&stat("p50"), &s), None);

        let mut uniform = Samples::default();
        uniform.add_statistic_set(5.0, 35.0, 7.0, 7.0);
        assert_eq!(compute(&stat("p99"), &uniform), Some(7.0));
        assert_eq!(uniform.values, vec![(7.0, 5.0)]);
    }

    #[test]
    fn negative_values_block_value_statistics() {
        let mut s = Samples::default();
        s.add_value(-1.0, 1.0);
        s.add_value(2.0, 1.0);
        assert_eq!(compute(&Statistic::Sum, &s), Some(1.0));
        assert_eq!(compute(&stat("p50"), &s), None);
    }

    #[test]
    fn merge_combines_everything() {
        let mut a = Samples::default();
        a.add_value(1.0, 2.0);
        let mut b = Samples::default();
        b.add_value(5.0, 1.0);
        b.add_value(1.0, 1.0);
        a.merge(&b);
        assert_eq!(a.sample_count, 4.0);
        assert_eq!(a.sum, 8.0);
        assert_eq!((a.minimum, a.maximum), (1.0, 5.0));
        assert_eq!(a.values, vec![(1.0, 3.0), (5.0, 1.0)]);
        a.merge(&Samples::default());
        assert_eq!(a.sample_count, 4.0);
    }

    #[test]
    fn hostile_inputs_are_ignored() {
        let mut s = Samples::default();
        s.add_value(f64::NAN, 1.0);
        s.add_value(1.0, f64::INFINITY);
        s.add_value(1.0, -3.0);
        s.add_statistic_set(f64::NAN, 1.0, 1.0, 1.0);
        s.add_statistic_set(2.0, 1.0, 5.0, 1.0);
        assert!(s.is_empty());
    }

    #[test]
    fn hand_built_nonsense_statistics_do_not_panic() {
        let s = one_to_ten();
        for st in [
            Statistic::Percentile(f64::NAN),
            Statistic::Percentile(-5.0),
            Statistic::TrimmedMean {
                lower_pct: 90.0,
                upper_pct: 10.0,
            },
            Statistic::WinsorizedMean {
                lower_pct: f64::NAN,
                upper_pct: 200.0,
            },
            Statistic::WinsorizedMeanBetween {
                lower: Some(f64::NAN),
                upper: Some(f64::NAN),
            },
            Statistic::WinsorizedMeanBetween {
                lower: Some(9.0),
                upper: Some(2.0),
            },
            Statistic::TrimmedSumBetween {
                lower: Some(f64::NAN),
                upper: None,
            },
            Statistic::PercentileRank {
                lower: None,
                upper: None,
            },
        ] {
            let _ = compute(&st, &s);
        }
        assert_eq!(
            compute(
                &Statistic::PercentileRank {
                    lower: None,
                    upper: None
                },
                &s
            ),
            Some(100.0)
        );
    }

    proptest! {
        #[test]
        fn parse_never_panics(text in "\\PC{0,40}") {
            let _ = Statistic::parse(&text);
        }

        #[test]
        fn parse_never_panics_on_near_misses(text in "(p|tm|TM|wm|WM|tc|ts|PR)[(]?[-0-9.%:]{0,12}[)]?") {
            if let Ok(s) = Statistic::parse(&text) {
                prop_assert_eq!(Statistic::parse(&s.name()), Ok(s));
            }
        }

        #[test]
        fn percentile_within_min_max(
            values in prop::collection::vec((0.0f64..1e6, 1u32..50), 1..40),
            pct in 0.0f64..=100.0,
        ) {
            let mut s = Samples::default();
            for (v, c) in values {
                s.add_value(v, f64::from(c));
            }
            let p = compute(&Statistic::Percentile(pct), &s).unwrap();
            prop_assert!(p >= s.minimum && p <= s.maximum);
            for st in [
                Statistic::TrimmedMean { lower_pct: 0.0, upper_pct: pct.max(1.0) },
                Statistic::WinsorizedMean { lower_pct: 0.0, upper_pct: pct.max(1.0) },
                Statistic::InterquartileMean,
            ] {
                if let Some(m) = compute(&st, &s) {
                    prop_assert!(m >= s.minimum * (1.0 - 1e-9) && m <= s.maximum * (1.0 + 1e-9));
                }
            }
        }
    }
}
