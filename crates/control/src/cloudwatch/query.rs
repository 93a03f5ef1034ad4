//! Metric queries: GetMetricStatistics, GetMetricData (metric stats and metric math), and the
//! metric-math source of alarms. Reads the metric store; changes nothing.

use std::collections::{BTreeMap, BTreeSet};

use ecsim_api::cloudwatch as api;
use ecsim_cloudwatch::math::{self, MathContext, Series, Value};
use ecsim_cloudwatch::stats::{self, Statistic};
use ecsim_core::Millis;
use ecsim_protocol::AwsError;

use super::metrics::{MetricStore, SeriesKey};

type R<T> = Result<T, AwsError>;

/// Datapoints one GetMetricStatistics call may return.
pub const MAX_STATISTICS_DATAPOINTS: u64 = 1_440;
/// Queries one GetMetricData call may carry.
pub const MAX_QUERIES: usize = 500;

pub fn invalid(value: impl std::fmt::Display, parameter: &str) -> AwsError {
    AwsError::client(
        "InvalidParameterValueException",
        format!("The value {value} for parameter {parameter} is invalid."),
    )
}

pub fn validation(message: impl Into<String>) -> AwsError {
    AwsError::client("ValidationException", message)
}

pub fn dimensions_of(dimensions: &Option<Vec<api::Dimension>>) -> Vec<(String, String)> {
    dimensions
        .iter()
        .flatten()
        .map(|d| (d.name.clone(), d.value.clone()))
        .collect()
}

/// Period starts are aligned to the period on the epoch, so the same data always lands in the
/// same datapoint whatever start time a caller picks.
fn aligned_start(start_ms: Millis, period_ms: Millis) -> Millis {
    start_ms - start_ms % period_ms
}

pub fn get_metric_statistics(
    store: &MetricStore,
    input: api::GetMetricStatisticsInput,
) -> R<api::GetMetricStatisticsOutput> {
    let simple = input.statistics.clone().unwrap_or_default();
    let extended = input.extended_statistics.clone().unwrap_or_default();
    if simple.is_empty() && extended.is_empty() {
        return Err(AwsError::client(
            "MissingRequiredParameterException",
            "Must specify either Statistics or ExtendedStatistics.",
        ));
    }
    if simple.len() + extended.len() > 10 {
        return Err(AwsError::client(
            "InvalidParameterCombinationException",
            "A maximum of 10 statistics (Statistics and ExtendedStatistics together) may be requested.",
        ));
    }
    let mut percentiles = Vec::new();
    for (i, text) in extended.iter().enumerate() {
        match Statistic::parse(text) {
            Ok(s) if s.is_extended() => percentiles.push((text.clone(), s)),
            _ => return Err(invalid(text, &format!("ExtendedStatistics.member.{}", i + 1))),
        }
    }
    let period_s = i64::from(input.period);
    if !valid_period(period_s) {
        return Err(invalid(input.period, "Period"));
    }
    let period_ms = period_s as Millis * 1_000;
    let start_ms = ecsim_core::clock::epoch_ms(input.start_time);
    let end_ms = ecsim_core::clock::epoch_ms(input.end_time);
    if end_ms <= start_ms {
        return Err(AwsError::client(
            "InvalidParameterValueException",
            "The parameter StartTime must be less than the parameter EndTime.",
        ));
    }
    let start_ms = aligned_start(start_ms, period_ms);
    let requested = (end_ms - start_ms).div_ceil(period_ms);
    if requested > MAX_STATISTICS_DATAPOINTS {
        return Err(AwsError::client(
            "InvalidParameterCombinationException",
            format!(
                "You have requested up to {requested} datapoints, which exceeds the limit of {MAX_STATISTICS_DATAPOINTS}. You may reduce the datapoints requested by increasing Period, or decreasing the time range."
            ),
        ));
    }
    let key = SeriesKey::new(
        &input.namespace,
        &input.metric_name,
        dimensions_of(&input.dimensions),
    );
    let unit = input.unit.map(|u| u.as_str().to_string());
    let periods = store.periods(&key, start_ms, end_ms, period_ms, unit.as_deref());
    let stored_unit = store.unit_of(&key).map(String::from);
    let unit_out = unit
        .or(stored_unit)
        .and_then(|u| u.parse::<api::StandardUnit>().ok())
        .or(Some(api::StandardUnit::None));
    let datapoints = periods
        .iter()
        .filter(|(_, s)| !s.is_empty())
        .map(|(&at, samples)| {
            let get = |s: Statistic| stats::compute(&s, samples);
            let wants = |s: api::Statistic| simple.contains(&s);
            let extended_statistics: BTreeMap<String, f64> = percentiles
                .iter()
                .filter_map(|(name, s)| stats::compute(s, samples).map(|v| (name.clone(), v)))
                .collect();
            api::Datapoint {
                timestamp: Some(at as f64 / 1_000.0),
                sample_count: wants(api::Statistic::SampleCount)
                    .then(|| get(Statistic::SampleCount))
                    .flatten(),
                average: wants(api::Statistic::Average)
                    .then(|| get(Statistic::Average))
                    .flatten(),
                sum: wants(api::Statistic::Sum).then(|| get(Statistic::Sum)).flatten(),
                minimum: wants(api::Statistic::Minimum)
                    .then(|| get(Statistic::Minimum))
                    .flatten(),
                maximum: wants(api::Statistic::Maximum)
                    .then(|| get(Statistic::Maximum))
                    .flatten(),
                unit: unit_out,
                extended_statistics: (!percentiles.is_empty()).then_some(extended_statistics),
            }
        })
        .collect();
    Ok(api::GetMetricStatisticsOutput {
        label: Some(input.metric_name),
        datapoints: Some(datapoints),
    })
}

/// 1, 5, 10, 20, 30 or a multiple of 60 seconds: what CloudWatch accepts as a period.
pub fn valid_period(period_s: i64) -> bool {
    matches!(period_s, 1 | 5 | 10 | 20 | 30) || (period_s >= 60 && period_s % 60 == 0)
}

fn valid_id(id: &str) -> bool {
    let mut chars = id.chars();
    chars.next().is_some_and(|c| c.is_ascii_lowercase())
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
        && id.len() <= 255
}

/// One computed query: its label and result.
struct Computed {
    label: String,
    value: Value,
}

/// Computes every query over `[start_ms, end_ms)`. Metric stats first, then expressions in
/// dependency order. Errors are validation errors naming the query.
fn compute_queries(
    queries: &[api::MetricDataQuery],
    store: &MetricStore,
    start_ms: Millis,
    end_ms: Millis,
    default_period_ms: Option<Millis>,
) -> R<BTreeMap<String, Computed>> {
    let mut seen = BTreeSet::new();
    for (i, q) in queries.iter().enumerate() {
        let field = format!("MetricDataQueries.member.{}", i + 1);
        if !valid_id(&q.id) {
            return Err(validation(format!(
                "The value {} for parameter {field}.Id is invalid: an id starts with a lowercase letter and holds only letters, digits and underscores.",
                q.id
            )));
        }
        if !seen.insert(q.id.as_str()) {
            return Err(validation(format!(
                "The values for parameter id in {field} are not unique."
            )));
        }
        match (&q.metric_stat, &q.expression) {
            (Some(_), Some(_)) | (None, None) => {
                return Err(validation(format!(
                    "Exactly one of MetricStat and Expression must be given in {field}."
                )));
            }
            _ => {}
        }
    }
    let mut computed: BTreeMap<String, Computed> = BTreeMap::new();
    let mut all_metrics = Vec::new();
    let mut smallest_period_ms = default_period_ms;
    for (i, q) in queries.iter().enumerate() {
        let Some(stat) = &q.metric_stat else { continue };
        let field = format!("MetricDataQueries.member.{}.MetricStat", i + 1);
        let statistic =
            Statistic::parse(&stat.stat).map_err(|_| invalid(&stat.stat, &format!("{field}.Stat")))?;
        if !valid_period(i64::from(stat.period)) {
            return Err(invalid(stat.period, &format!("{field}.Period")));
        }
        let period_ms = stat.period as Millis * 1_000;
        smallest_period_ms = Some(smallest_period_ms.map_or(period_ms, |p: Millis| p.min(period_ms)));
        let (Some(namespace), Some(name)) = (&stat.metric.namespace, &stat.metric.metric_name) else {
            return Err(validation(format!(
                "{field}.Metric needs a Namespace and a MetricName."
            )));
        };
        let key = SeriesKey::new(namespace, name, dimensions_of(&stat.metric.dimensions));
        let unit = stat.unit.map(|u| u.as_str().to_string());
        let from = aligned_start(start_ms, period_ms);
        let mut series = Series::default();
        for (at, samples) in store.periods(&key, from, end_ms, period_ms, unit.as_deref()) {
            if let Some(v) = stats::compute(&statistic, &samples) {
                series.timestamps_ms.push(at);
                series.values.push(v);
            }
        }
        let label = q.label.clone().unwrap_or_else(|| name.clone());
        all_metrics.push((q.id.clone(), label.clone(), series.clone()));
        computed.insert(
            q.id.clone(),
            Computed {
                label,
                value: Value::Series(series),
            },
        );
    }
    let mut pending: Vec<(usize, &api::MetricDataQuery, math::Expr)> = Vec::new();
    for (i, q) in queries.iter().enumerate() {
        let Some(expression) = &q.expression else { continue };
        let expr = math::parse(expression).map_err(|e| {
            validation(format!(
                "Error in expression '{}' of MetricDataQueries.member.{}: {e}",
                q.id,
                i + 1
            ))
        })?;
        for id in expr.referenced_ids() {
            if !queries.iter().any(|other| other.id == id) {
                return Err(validation(format!(
                    "Error in expression '{}': Unrecognized metric id {id}",
                    q.id
                )));
            }
        }
        pending.push((i, q, expr));
    }
    let period_s = smallest_period_ms.unwrap_or(60_000) / 1_000;
    while !pending.is_empty() {
        let ready = pending
            .iter()
            .position(|(_, _, e)| e.referenced_ids().iter().all(|id| computed.contains_key(id)));
        let Some(index) = ready else {
            let ids: Vec<&str> = pending.iter().map(|(_, q, _)| q.id.as_str()).collect();
            return Err(validation(format!(
                "Circular dependency between the expressions {}.",
                ids.join(", ")
            )));
        };
        let (i, q, expr) = pending.remove(index);
        let lookup = |id: &str| computed.get(id).map(|c| c.value.clone());
        let period_s = q.period.map_or(period_s, |p| p.max(1) as u64);
        let value = math::evaluate(
            &expr,
            &MathContext {
                series: &lookup,
                all_metrics: &all_metrics,
                period_s,
            },
        )
        .map_err(|e| {
            validation(format!(
                "Error in expression '{}' of MetricDataQueries.member.{}: {e}",
                q.id,
                i + 1
            ))
        })?;
        let label = q.label.clone().unwrap_or_else(|| q.id.clone());
        computed.insert(q.id.clone(), Computed { label, value });
    }
    Ok(computed)
}

/// A scalar result spread over every period of the range, as a graph would draw it.
fn scalar_series(v: f64, start_ms: Millis, end_ms: Millis, period_ms: Millis) -> Series {
    let mut series = Series::default();
    let mut at = aligned_start(start_ms, period_ms);
    while at < end_ms {
        series.timestamps_ms.push(at);
        series.values.push(v);
        at += period_ms;
    }
    series
}

pub fn get_metric_data(store: &MetricStore, input: api::GetMetricDataInput) -> R<api::GetMetricDataOutput> {
    if input.metric_data_queries.is_empty() || input.metric_data_queries.len() > MAX_QUERIES {
        return Err(validation(format!(
            "MetricDataQueries must hold 1 to {MAX_QUERIES} queries."
        )));
    }
    if input.next_token.is_some() {
        return Err(AwsError::client(
            "InvalidNextToken",
            "ecsim returns every datapoint in one page, so no NextToken is valid.",
        ));
    }
    let start_ms = ecsim_core::clock::epoch_ms(input.start_time);
    let end_ms = ecsim_core::clock::epoch_ms(input.end_time);
    if end_ms <= start_ms {
        return Err(validation(
            "The parameter StartTime must be less than the parameter EndTime.",
        ));
    }
    let computed = compute_queries(&input.metric_data_queries, store, start_ms, end_ms, None)?;
    let ascending = input.scan_by == Some(api::ScanBy::TimestampAscending);
    let mut results = Vec::new();
    for q in &input.metric_data_queries {
        if q.return_data == Some(false) {
            continue;
        }
        let Some(c) = computed.get(&q.id) else { continue };
        let period_ms = q
            .metric_stat
            .as_ref()
            .map(|s| s.period as Millis * 1_000)
            .or(q.period.map(|p| p.max(1) as Millis * 1_000))
            .unwrap_or(60_000);
        let labelled: Vec<(String, Series)> = match &c.value {
            Value::Series(s) => vec![(c.label.clone(), s.clone())],
            Value::Scalar(v) => vec![(c.label.clone(), scalar_series(*v, start_ms, end_ms, period_ms))],
            Value::Array(items) => items.clone(),
        };
        for (label, series) in labelled {
            let mut points: Vec<(Millis, f64)> = series
                .timestamps_ms
                .iter()
                .copied()
                .zip(series.values.iter().copied())
                .filter(|(at, v)| *at < end_ms && v.is_finite())
                .collect();
            if !ascending {
                points.reverse();
            }
            results.push(api::MetricDataResult {
                id: Some(q.id.clone()),
                label: Some(label),
                timestamps: Some(points.iter().map(|(at, _)| *at as f64 / 1_000.0).collect()),
                values: Some(points.iter().map(|(_, v)| *v).collect()),
                status_code: Some(api::StatusCode::Complete),
                messages: Some(Vec::new()),
            });
        }
    }
    Ok(api::GetMetricDataOutput {
        metric_data_results: Some(results),
        next_token: None,
        messages: Some(Vec::new()),
    })
}

/// Validates the queries of a metric-math alarm (exactly one returns data) without data.
pub fn validate_alarm_queries(queries: &[api::MetricDataQuery]) -> R<()> {
    let returning = queries.iter().filter(|q| q.return_data != Some(false)).count();
    if returning != 1 {
        return Err(validation(
            "Exactly one element of the metrics list should return data (ReturnData = true).",
        ));
    }
    compute_queries(queries, &MetricStore::default(), 0, 60_000, Some(60_000)).map(|_| ())
}

/// The datapoints of a metric-math alarm over `[start_ms, end_ms)`, by period start.
pub fn alarm_series(
    queries: &[api::MetricDataQuery],
    store: &MetricStore,
    start_ms: Millis,
    end_ms: Millis,
    period_ms: Millis,
) -> Option<Vec<(Millis, f64)>> {
    let computed = compute_queries(queries, store, start_ms, end_ms, Some(period_ms)).ok()?;
    let returning = queries.iter().find(|q| q.return_data != Some(false))?;
    let series = match &computed.get(&returning.id)?.value {
        Value::Series(s) => s.clone(),
        Value::Scalar(v) => scalar_series(*v, start_ms, end_ms, period_ms),
        Value::Array(items) => items.first()?.1.clone(),
    };
    Some(
        series
            .timestamps_ms
            .into_iter()
            .zip(series.values)
            .filter(|(_, v)| v.is_finite())
            .collect(),
    )
}
