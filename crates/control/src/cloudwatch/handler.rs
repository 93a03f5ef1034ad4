//! The `CloudWatchApi` implementation for one (account, region): validation with CloudWatch's
//! error codes, then changes to the metric store and the alarm book. Alarm evaluations are
//! scheduled on engine timers; nothing here evaluates on a clock of its own.

use ecsim_api::cloudwatch::{self as api, CloudWatchApi};
use ecsim_cloudwatch::composite;
use ecsim_cloudwatch::evaluate::{ComparisonOperator, StateValue, TreatMissingData};
use ecsim_cloudwatch::stats::{Samples, Statistic};
use ecsim_core::Millis;
use ecsim_protocol::AwsError;

use super::alarms::{
    Alarm, AlarmKind, CompositeAlarmConfig, HistoryItem, MetricAlarmConfig, MetricSource, next_evaluation_ms,
};
use super::metrics::{Put, SeriesKey};
use super::query::{self, dimensions_of, invalid, validation};
use super::{AlarmTimer, CloudWatchState};
use crate::timers::{TimerKind, Timers};

type R<T> = Result<T, AwsError>;

/// Values one datum's `Values` array may hold.
const MAX_VALUES_PER_DATUM: usize = 150;
/// Data one PutMetricData call may carry.
const MAX_DATA_PER_PUT: usize = 1_000;
/// Alarms one DescribeAlarms page returns unless MaxRecords says otherwise.
const DEFAULT_MAX_RECORDS: usize = 50;
/// How far back (two weeks) and ahead (two hours) of now a datum's timestamp may be.
const MAX_DATUM_AGE_MS: Millis = 14 * 24 * 3_600_000;
const MAX_DATUM_LEAD_MS: Millis = 2 * 3_600_000;
/// Metrics one ListMetrics page returns.
const LIST_METRICS_PAGE: usize = 500;

pub struct CloudWatchHandler<'a> {
    pub state: &'a mut CloudWatchState,
    pub now_ms: Millis,
    pub timers: &'a mut Timers,
    pub world_index: usize,
    pub account_id: &'a str,
    pub region: &'a str,
}

fn not_found(name: &str) -> AwsError {
    AwsError::client("ResourceNotFound", format!("Alarm {name} does not exist"))
}

fn encode_token(text: &str) -> String {
    text.bytes().map(|b| format!("{b:02x}")).collect()
}

fn decode_token(token: &str) -> R<String> {
    let bad = || AwsError::client("InvalidNextToken", "The NextToken is invalid.");
    if !token.len().is_multiple_of(2) || token.is_empty() {
        return Err(bad());
    }
    let bytes: Result<Vec<u8>, _> = (0..token.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(token.get(i..i + 2).unwrap_or("zz"), 16))
        .collect();
    String::from_utf8(bytes.map_err(|_| bad())?).map_err(|_| bad())
}

fn finite(value: f64, parameter: &str) -> R<()> {
    if value.is_finite() {
        Ok(())
    } else {
        Err(invalid(value, parameter))
    }
}

fn tags_of(tags: &Option<Vec<api::Tag>>) -> R<Vec<(String, String)>> {
    let mut out: Vec<(String, String)> = Vec::new();
    for tag in tags.iter().flatten() {
        if tag.key.is_empty() || tag.key.len() > 128 || tag.value.len() > 256 {
            return Err(invalid(&tag.key, "Tags.Key"));
        }
        out.retain(|(k, _)| *k != tag.key);
        out.push((tag.key.clone(), tag.value.clone()));
    }
    Ok(out)
}

impl CloudWatchHandler<'_> {
    fn alarm_arn(&self, name: &str) -> String {
        ecsim_core::ids::arn(
            "cloudwatch",
            self.region,
            self.account_id,
            &format!("alarm:{name}"),
        )
    }

    fn schedule(&mut self, name: &str, generation: u64, period_ms: Millis) {
        self.timers.schedule(
            next_evaluation_ms(self.now_ms, period_ms),
            self.world_index,
            TimerKind::Alarm(AlarmTimer {
                alarm: name.to_string(),
                generation,
            }),
        );
    }

    fn record_configuration(&mut self, name: &str, alarm_type: api::AlarmType, created: bool, data: String) {
        let summary = if created {
            format!("Alarm \"{name}\" created")
        } else {
            format!("Alarm \"{name}\" updated")
        };
        self.state.alarms.record(HistoryItem {
            alarm_name: name.to_string(),
            alarm_type,
            timestamp_ms: self.now_ms,
            item_type: api::HistoryItemType::ConfigurationUpdate,
            summary,
            data,
        });
    }

    /// Creates or replaces an alarm, keeping the state (and tags) of an existing one as
    /// CloudWatch does.
    fn upsert(
        &mut self,
        name: &str,
        kind: AlarmKind,
        actions_enabled: bool,
        tags: Vec<(String, String)>,
    ) -> u64 {
        let arn = self.alarm_arn(name);
        let now = self.now_ms;
        let created = !self.state.alarms.alarms.contains_key(name);
        let alarm_type = match kind {
            AlarmKind::Metric(_) => api::AlarmType::MetricAlarm,
            AlarmKind::Composite(_) => api::AlarmType::CompositeAlarm,
        };
        let alarm = self
            .state
            .alarms
            .alarms
            .entry(name.to_string())
            .or_insert_with(|| Alarm {
                name: name.to_string(),
                arn,
                kind: kind.clone(),
                state: StateValue::InsufficientData,
                state_reason: "Unchecked: Initial alarm creation".into(),
                state_reason_data: None,
                state_updated_ms: now,
                state_transitioned_ms: now,
                config_updated_ms: now,
                actions_enabled,
                tags: Vec::new(),
                generation: 0,
            });
        alarm.kind = kind;
        alarm.actions_enabled = actions_enabled;
        alarm.config_updated_ms = now;
        alarm.generation += 1;
        for (k, v) in tags {
            alarm.tags.retain(|(key, _)| *key != k);
            alarm.tags.push((k, v));
        }
        let generation = alarm.generation;
        let data = serde_json::json!({
            "version": "1.0",
            "type": if created { "Create" } else { "Update" },
        })
        .to_string();
        self.record_configuration(name, alarm_type, created, data);
        generation
    }

    fn metric_alarm_config(&self, input: &api::PutMetricAlarmInput) -> R<MetricAlarmConfig> {
        let comparison = input
            .comparison_operator
            .ok_or_else(|| validation("ComparisonOperator is required."))?;
        let comparison = ComparisonOperator::parse(comparison.as_str())
            .ok_or_else(|| invalid(comparison.as_str(), "ComparisonOperator"))?;
        if !comparison.is_static() {
            return Err(validation(
                "ecsim evaluates static thresholds only: anomaly detection bands (ThresholdMetricId) are not supported.",
            ));
        }
        if input.threshold_metric_id.is_some() {
            return Err(validation(
                "ecsim evaluates static thresholds only: ThresholdMetricId is not supported.",
            ));
        }
        if input.evaluation_criteria.is_some() || input.evaluation_window.is_some() {
            return Err(validation(
                "ecsim does not support EvaluationCriteria or EvaluationWindow (PromQL alarms).",
            ));
        }
        let threshold = input
            .threshold
            .ok_or_else(|| validation("Threshold is required for a static-threshold alarm."))?;
        finite(threshold, "Threshold")?;
        let evaluation_periods = input
            .evaluation_periods
            .ok_or_else(|| validation("EvaluationPeriods is required."))?;
        if evaluation_periods < 1 {
            return Err(invalid(evaluation_periods, "EvaluationPeriods"));
        }
        let datapoints_to_alarm = input.datapoints_to_alarm.unwrap_or(evaluation_periods);
        if datapoints_to_alarm < 1 || datapoints_to_alarm > evaluation_periods {
            return Err(validation(format!(
                "DatapointsToAlarm ({datapoints_to_alarm}) must be between 1 and EvaluationPeriods ({evaluation_periods})."
            )));
        }
        let treat_missing = match input.treat_missing_data.as_deref() {
            None => TreatMissingData::Missing,
            Some(text) => TreatMissingData::parse(text).ok_or_else(|| invalid(text, "TreatMissingData"))?,
        };
        if let Some(text) = input.evaluate_low_sample_count_percentile.as_deref()
            && text != "evaluate"
            && text != "ignore"
        {
            return Err(invalid(text, "EvaluateLowSampleCountPercentile"));
        }
        let (source, period_s) = match &input.metrics {
            Some(queries) => {
                if input.metric_name.is_some()
                    || input.namespace.is_some()
                    || input.statistic.is_some()
                    || input.extended_statistic.is_some()
                    || input.dimensions.is_some()
                    || input.period.is_some()
                {
                    return Err(validation(
                        "With Metrics, the parameters MetricName, Namespace, Statistic, ExtendedStatistic, Dimensions and Period must not be given.",
                    ));
                }
                query::validate_alarm_queries(queries)?;
                let returning = queries.iter().find(|q| q.return_data != Some(false));
                let period = returning
                    .and_then(|q| q.metric_stat.as_ref().map(|s| s.period).or(q.period))
                    .or_else(|| {
                        queries
                            .iter()
                            .find_map(|q| q.metric_stat.as_ref().map(|s| s.period))
                    })
                    .ok_or_else(|| {
                        validation("The metric math alarm needs a Period on its expression or a MetricStat.")
                    })?;
                (
                    MetricSource::Math {
                        queries: queries.clone(),
                    },
                    period,
                )
            }
            None => {
                let namespace = input
                    .namespace
                    .as_deref()
                    .ok_or_else(|| validation("Namespace is required unless Metrics is given."))?;
                let metric_name = input
                    .metric_name
                    .as_deref()
                    .ok_or_else(|| validation("MetricName is required unless Metrics is given."))?;
                let statistic = match (&input.statistic, &input.extended_statistic) {
                    (Some(s), None) => {
                        Statistic::parse(s.as_str()).map_err(|_| invalid(s.as_str(), "Statistic"))?
                    }
                    (None, Some(text)) => match Statistic::parse(text) {
                        Ok(s) if s.is_extended() => s,
                        _ => return Err(invalid(text, "ExtendedStatistic")),
                    },
                    _ => {
                        return Err(validation(
                            "Exactly one of Statistic and ExtendedStatistic must be given.",
                        ));
                    }
                };
                let period = input
                    .period
                    .ok_or_else(|| validation("Period is required unless Metrics is given."))?;
                let dimensions = dimensions_of(&input.dimensions);
                if dimensions.len() > 30 {
                    return Err(validation("An alarm takes at most 30 dimensions."));
                }
                (
                    MetricSource::Single {
                        key: SeriesKey::new(namespace, metric_name, dimensions),
                        statistic,
                        unit: input.unit.map(|u| u.as_str().to_string()),
                    },
                    period,
                )
            }
        };
        if !(matches!(period_s, 10 | 20 | 30) || (period_s >= 60 && period_s % 60 == 0)) {
            return Err(invalid(period_s, "Period"));
        }
        let period_ms = period_s as Millis * 1_000;
        if period_ms * evaluation_periods as Millis > 7 * 24 * 3_600_000 {
            return Err(validation(
                "The evaluation period (Period times EvaluationPeriods) must not exceed 7 days.",
            ));
        }
        for (list, field) in [
            (&input.alarm_actions, "AlarmActions"),
            (&input.ok_actions, "OKActions"),
            (&input.insufficient_data_actions, "InsufficientDataActions"),
        ] {
            if list.as_ref().is_some_and(|l| l.len() > 5) {
                return Err(validation(format!("{field} takes at most 5 actions.")));
            }
        }
        Ok(MetricAlarmConfig {
            input: input.clone(),
            period_ms,
            evaluation_periods: evaluation_periods as usize,
            datapoints_to_alarm: datapoints_to_alarm as usize,
            threshold,
            comparison,
            treat_missing,
            source,
        })
    }

    fn render_metric(alarm: &Alarm, config: &MetricAlarmConfig) -> api::MetricAlarm {
        let i = &config.input;
        api::MetricAlarm {
            alarm_name: Some(alarm.name.clone()),
            alarm_arn: Some(alarm.arn.clone()),
            alarm_description: i.alarm_description.clone(),
            alarm_configuration_updated_timestamp: Some(ecsim_core::clock::epoch_seconds(
                alarm.config_updated_ms,
            )),
            actions_enabled: Some(alarm.actions_enabled),
            ok_actions: Some(i.ok_actions.clone().unwrap_or_default()),
            alarm_actions: Some(i.alarm_actions.clone().unwrap_or_default()),
            insufficient_data_actions: Some(i.insufficient_data_actions.clone().unwrap_or_default()),
            state_value: Some(api_state(alarm.state)),
            state_reason: Some(alarm.state_reason.clone()),
            state_reason_data: alarm.state_reason_data.clone(),
            state_updated_timestamp: Some(ecsim_core::clock::epoch_seconds(alarm.state_updated_ms)),
            metric_name: i.metric_name.clone(),
            namespace: i.namespace.clone(),
            statistic: i.statistic,
            extended_statistic: i.extended_statistic.clone(),
            dimensions: i
                .metrics
                .is_none()
                .then(|| i.dimensions.clone().unwrap_or_default()),
            period: i.period,
            unit: i.unit,
            evaluation_periods: i.evaluation_periods,
            datapoints_to_alarm: Some(config.datapoints_to_alarm as i32),
            threshold: i.threshold,
            comparison_operator: i.comparison_operator,
            treat_missing_data: Some(config.treat_missing.as_str().to_string()),
            evaluate_low_sample_count_percentile: i.evaluate_low_sample_count_percentile.clone(),
            metrics: i.metrics.clone(),
            threshold_metric_id: None,
            evaluation_state: None,
            state_transitioned_timestamp: Some(ecsim_core::clock::epoch_seconds(alarm.state_transitioned_ms)),
            evaluation_window: None,
            warm_up_configuration: None,
            evaluation_criteria: None,
            evaluation_interval: None,
            action_configuration: i.action_configuration.clone(),
        }
    }

    fn render_composite(alarm: &Alarm, config: &CompositeAlarmConfig) -> api::CompositeAlarm {
        let i = &config.input;
        api::CompositeAlarm {
            actions_enabled: Some(alarm.actions_enabled),
            alarm_actions: Some(i.alarm_actions.clone().unwrap_or_default()),
            alarm_arn: Some(alarm.arn.clone()),
            alarm_configuration_updated_timestamp: Some(ecsim_core::clock::epoch_seconds(
                alarm.config_updated_ms,
            )),
            alarm_description: i.alarm_description.clone(),
            alarm_name: Some(alarm.name.clone()),
            alarm_rule: Some(i.alarm_rule.clone()),
            insufficient_data_actions: Some(i.insufficient_data_actions.clone().unwrap_or_default()),
            ok_actions: Some(i.ok_actions.clone().unwrap_or_default()),
            state_reason: Some(alarm.state_reason.clone()),
            state_reason_data: alarm.state_reason_data.clone(),
            state_updated_timestamp: Some(ecsim_core::clock::epoch_seconds(alarm.state_updated_ms)),
            state_value: Some(api_state(alarm.state)),
            state_transitioned_timestamp: Some(ecsim_core::clock::epoch_seconds(alarm.state_transitioned_ms)),
            actions_suppressed_by: None,
            actions_suppressed_reason: None,
            actions_suppressor: i.actions_suppressor.clone(),
            actions_suppressor_wait_period: i.actions_suppressor_wait_period,
            actions_suppressor_extension_period: i.actions_suppressor_extension_period,
            action_configuration: i.action_configuration.clone(),
        }
    }

    fn alarm_by_arn(&self, arn: &str) -> R<String> {
        let name = arn
            .split_once(":alarm:")
            .map(|(_, n)| n)
            .filter(|_| arn.starts_with("arn:"))
            .ok_or_else(|| invalid(arn, "ResourceARN"))?;
        if self.alarm_arn(name) != arn || !self.state.alarms.alarms.contains_key(name) {
            return Err(AwsError::client(
                "ResourceNotFoundException",
                format!("The resource {arn} does not exist."),
            ));
        }
        Ok(name.to_string())
    }
}

fn api_state(state: StateValue) -> api::StateValue {
    match state {
        StateValue::Ok => api::StateValue::Ok,
        StateValue::Alarm => api::StateValue::Alarm,
        StateValue::InsufficientData => api::StateValue::InsufficientData,
    }
}

fn our_state(state: api::StateValue) -> StateValue {
    match state {
        api::StateValue::Ok => StateValue::Ok,
        api::StateValue::Alarm => StateValue::Alarm,
        api::StateValue::InsufficientData => StateValue::InsufficientData,
    }
}

impl CloudWatchApi for CloudWatchHandler<'_> {
    fn put_metric_data(&mut self, input: api::PutMetricDataInput) -> R<()> {
        if input.namespace.starts_with("AWS/") {
            return Err(invalid(&input.namespace, "Namespace"));
        }
        let data = input.metric_data.unwrap_or_default();
        if data.is_empty() {
            if input.entity_metric_data.is_some_and(|e| !e.is_empty()) {
                return Err(validation(
                    "ecsim does not accept EntityMetricData; put MetricData instead.",
                ));
            }
            return Err(AwsError::client(
                "MissingRequiredParameterException",
                "The parameter MetricData is required.",
            ));
        }
        if data.len() > MAX_DATA_PER_PUT {
            return Err(invalid(data.len(), "MetricData"));
        }
        // Validate everything first: a bad datum stores nothing.
        let mut puts = Vec::with_capacity(data.len());
        for (i, d) in data.iter().enumerate() {
            let field = format!("MetricData.member.{}", i + 1);
            if d.metric_name.is_empty() || d.metric_name.len() > 255 {
                return Err(invalid(&d.metric_name, &format!("{field}.MetricName")));
            }
            let dimensions = dimensions_of(&d.dimensions);
            if dimensions.len() > 30 {
                return Err(invalid(dimensions.len(), &format!("{field}.Dimensions")));
            }
            for (j, (name, value)) in dimensions.iter().enumerate() {
                if name.is_empty() || value.is_empty() {
                    return Err(invalid(
                        format!("{name}={value}"),
                        &format!("{field}.Dimensions.member.{}", j + 1),
                    ));
                }
            }
            let timestamp_ms = match d.timestamp {
                Some(t) if t.is_finite() && t >= 0.0 => ecsim_core::clock::epoch_ms(t),
                Some(t) => return Err(invalid(t, &format!("{field}.Timestamp"))),
                None => self.now_ms,
            };
            if timestamp_ms + MAX_DATUM_AGE_MS < self.now_ms || timestamp_ms > self.now_ms + MAX_DATUM_LEAD_MS
            {
                return Err(invalid(
                    ecsim_protocol::time::format_iso8601(ecsim_core::clock::epoch_seconds(timestamp_ms)),
                    &format!("{field}.Timestamp"),
                ));
            }
            let high_resolution = match d.storage_resolution {
                None | Some(60) => false,
                Some(1) => true,
                Some(other) => return Err(invalid(other, &format!("{field}.StorageResolution"))),
            };
            let mut samples = Samples::default();
            match (&d.value, &d.statistic_values, &d.values) {
                (Some(v), None, None) => {
                    finite(*v, &format!("{field}.Value"))?;
                    samples.add_value(*v, 1.0);
                }
                (None, Some(set), None) => {
                    for (v, name) in [
                        (set.sample_count, "SampleCount"),
                        (set.sum, "Sum"),
                        (set.minimum, "Minimum"),
                        (set.maximum, "Maximum"),
                    ] {
                        finite(v, &format!("{field}.StatisticValues.{name}"))?;
                    }
                    if set.sample_count <= 0.0 || set.minimum > set.maximum {
                        return Err(invalid(set.sample_count, &format!("{field}.StatisticValues")));
                    }
                    samples.add_statistic_set(set.sample_count, set.sum, set.minimum, set.maximum);
                }
                (None, None, Some(values)) => {
                    if values.is_empty() || values.len() > MAX_VALUES_PER_DATUM {
                        return Err(invalid(values.len(), &format!("{field}.Values")));
                    }
                    let counts = d.counts.clone().unwrap_or_else(|| vec![1.0; values.len()]);
                    if counts.len() != values.len() {
                        return Err(AwsError::client(
                            "InvalidParameterCombinationException",
                            format!(
                                "The parameters {field}.Values and {field}.Counts must be of the same size."
                            ),
                        ));
                    }
                    for (k, (&v, &c)) in values.iter().zip(&counts).enumerate() {
                        finite(v, &format!("{field}.Values.member.{}", k + 1))?;
                        if !c.is_finite() || c < 0.0 {
                            return Err(invalid(c, &format!("{field}.Counts.member.{}", k + 1)));
                        }
                        if c > 0.0 {
                            samples.add_value(v, c);
                        }
                    }
                }
                (None, None, None) => {
                    return Err(AwsError::client(
                        "MissingRequiredParameterException",
                        format!(
                            "The parameter {field}.Value, {field}.StatisticValues or {field}.Values is required."
                        ),
                    ));
                }
                _ => {
                    return Err(AwsError::client(
                        "InvalidParameterCombinationException",
                        format!(
                            "The parameters {field}.Value, {field}.StatisticValues and {field}.Values are mutually exclusive."
                        ),
                    ));
                }
            }
            puts.push((
                SeriesKey::new(&input.namespace, &d.metric_name, dimensions),
                timestamp_ms,
                high_resolution,
                d.unit.map(|u| u.as_str()),
                samples,
            ));
        }
        for (key, timestamp_ms, high_resolution, unit, samples) in puts {
            let stored = self.state.metrics.put(
                Put {
                    key,
                    timestamp_ms,
                    high_resolution,
                    unit,
                    samples,
                },
                self.now_ms,
            );
            if !stored {
                return Err(AwsError::client(
                    "LimitExceededFault",
                    "ecsim keeps at most a million metric series per account and region.",
                ));
            }
        }
        Ok(())
    }

    fn get_metric_statistics(
        &mut self,
        input: api::GetMetricStatisticsInput,
    ) -> R<api::GetMetricStatisticsOutput> {
        query::get_metric_statistics(&self.state.metrics, input)
    }

    fn get_metric_data(&mut self, input: api::GetMetricDataInput) -> R<api::GetMetricDataOutput> {
        query::get_metric_data(&self.state.metrics, input)
    }

    fn list_metrics(&mut self, input: api::ListMetricsInput) -> R<api::ListMetricsOutput> {
        let after = match input.next_token.as_deref() {
            Some(token) => {
                let text = decode_token(token)?;
                let key: (String, String, Vec<(String, String)>) = serde_json::from_str(&text)
                    .map_err(|_| AwsError::client("InvalidNextToken", "The NextToken is invalid."))?;
                Some(SeriesKey {
                    namespace: key.0,
                    metric_name: key.1,
                    dimensions: key.2,
                })
            }
            None => None,
        };
        let filters = input.dimensions.clone().unwrap_or_default();
        let recent_since = input
            .recently_active
            .map(|_| self.now_ms.saturating_sub(3 * 3_600_000));
        let mut metrics = Vec::new();
        let mut last = None;
        let mut more = false;
        for (key, series) in self.state.metrics.iter_after(after.as_ref()) {
            let matches = input.namespace.as_ref().is_none_or(|n| *n == key.namespace)
                && input.metric_name.as_ref().is_none_or(|n| *n == key.metric_name)
                && filters.iter().all(|f| {
                    key.dimensions
                        .iter()
                        .any(|(name, value)| *name == f.name && f.value.as_ref().is_none_or(|v| v == value))
                })
                && recent_since.is_none_or(|since| series.last_put_ms >= since);
            if !matches {
                continue;
            }
            if metrics.len() == LIST_METRICS_PAGE {
                more = true;
                break;
            }
            metrics.push(api::Metric {
                namespace: Some(key.namespace.clone()),
                metric_name: Some(key.metric_name.clone()),
                dimensions: Some(
                    key.dimensions
                        .iter()
                        .map(|(name, value)| api::Dimension {
                            name: name.clone(),
                            value: value.clone(),
                        })
                        .collect(),
                ),
            });
            last = Some(key.clone());
        }
        let next_token = match (more, last) {
            (true, Some(key)) => Some(encode_token(
                &serde_json::json!([key.namespace, key.metric_name, key.dimensions]).to_string(),
            )),
            _ => None,
        };
        Ok(api::ListMetricsOutput {
            metrics: Some(metrics),
            next_token,
            owning_accounts: None,
        })
    }

    fn put_metric_alarm(&mut self, input: api::PutMetricAlarmInput) -> R<()> {
        if input.alarm_name.is_empty() || input.alarm_name.len() > 255 {
            return Err(invalid(&input.alarm_name, "AlarmName"));
        }
        if matches!(
            self.state.alarms.alarms.get(&input.alarm_name).map(|a| &a.kind),
            Some(AlarmKind::Composite(_))
        ) {
            return Err(validation(format!(
                "The alarm {} is a composite alarm: PutMetricAlarm cannot replace it.",
                input.alarm_name
            )));
        }
        let tags = tags_of(&input.tags)?;
        let config = self.metric_alarm_config(&input)?;
        let period_ms = config.period_ms;
        let name = input.alarm_name.clone();
        let generation = self.upsert(
            &name,
            AlarmKind::Metric(Box::new(config)),
            input.actions_enabled.unwrap_or(true),
            tags,
        );
        self.schedule(&name, generation, period_ms);
        Ok(())
    }

    fn put_composite_alarm(&mut self, input: api::PutCompositeAlarmInput) -> R<()> {
        if input.alarm_name.is_empty() || input.alarm_name.len() > 255 {
            return Err(invalid(&input.alarm_name, "AlarmName"));
        }
        if input.alarm_rule.len() > 10_240 {
            return Err(validation("AlarmRule must be at most 10240 characters long."));
        }
        if matches!(
            self.state.alarms.alarms.get(&input.alarm_name).map(|a| &a.kind),
            Some(AlarmKind::Metric(_))
        ) {
            return Err(validation(format!(
                "The alarm {} is a metric alarm: PutCompositeAlarm cannot replace it.",
                input.alarm_name
            )));
        }
        let rule = composite::parse(&input.alarm_rule)
            .map_err(|e| validation(format!("Error in AlarmRule: {e}")))?;
        let missing: Vec<&str> = rule
            .alarm_names()
            .into_iter()
            .filter(|r| self.state.alarms.state_of(r).is_none())
            .collect();
        if !missing.is_empty() {
            return Err(validation(format!(
                "Could not save the composite alarm as alarms [{}] in the alarm rule do not exist",
                missing.join(", ")
            )));
        }
        if rule_reaches(&self.state.alarms, &rule, &input.alarm_name, 0) {
            return Err(validation(format!(
                "The alarm rule of {} creates a cycle: an alarm cannot depend on itself.",
                input.alarm_name
            )));
        }
        let tags = tags_of(&input.tags)?;
        let name = input.alarm_name.clone();
        let actions_enabled = input.actions_enabled.unwrap_or(true);
        self.upsert(
            &name,
            AlarmKind::Composite(Box::new(CompositeAlarmConfig { input, rule })),
            actions_enabled,
            tags,
        );
        self.state.alarms.composites.insert(name.clone());
        self.state.alarms.evaluate_composites(self.now_ms);
        Ok(())
    }

    fn describe_alarms(&mut self, input: api::DescribeAlarmsInput) -> R<api::DescribeAlarmsOutput> {
        let max = match input.max_records {
            None => DEFAULT_MAX_RECORDS,
            Some(n) if (1..=100).contains(&n) => n as usize,
            Some(n) => return Err(invalid(n, "MaxRecords")),
        };
        if input.alarm_names.as_ref().is_some_and(|n| n.len() > 100) {
            return Err(validation("AlarmNames takes at most 100 names."));
        }
        let relational = input.children_of_alarm_name.is_some() || input.parents_of_alarm_name.is_some();
        if relational
            && (input.alarm_names.is_some()
                || input.alarm_name_prefix.is_some()
                || input.state_value.is_some()
                || input.action_prefix.is_some())
        {
            return Err(AwsError::client(
                "InvalidParameterCombinationException",
                "With ChildrenOfAlarmName or ParentsOfAlarmName, only MaxRecords and NextToken may be given.",
            ));
        }
        if input.alarm_names.is_some() && input.alarm_name_prefix.is_some() {
            return Err(AwsError::client(
                "InvalidParameterCombinationException",
                "AlarmNames and AlarmNamePrefix cannot be given together.",
            ));
        }
        let after = input.next_token.as_deref().map(decode_token).transpose()?;
        let types = input.alarm_types.clone().unwrap_or_default();
        let want_metric = if relational {
            true
        } else {
            types.is_empty() || types.contains(&api::AlarmType::MetricAlarm)
        };
        let want_composite = relational || types.contains(&api::AlarmType::CompositeAlarm);
        let book = &self.state.alarms;
        let children: Option<Vec<String>> = match &input.children_of_alarm_name {
            Some(parent) => match book.alarms.get(parent).map(|a| &a.kind) {
                Some(AlarmKind::Composite(c)) => Some(
                    c.rule
                        .alarm_names()
                        .into_iter()
                        .map(|r| r.rsplit(":alarm:").next().unwrap_or(r).to_string())
                        .collect(),
                ),
                _ => Some(Vec::new()),
            },
            None => None,
        };
        let mut metric_alarms = Vec::new();
        let mut composite_alarms = Vec::new();
        let mut next_token = None;
        let mut count = 0;
        let mut last_name = None;
        let range = match &after {
            Some(name) => book.alarms.range::<String, _>((
                std::ops::Bound::Excluded(name.clone()),
                std::ops::Bound::Unbounded,
            )),
            None => book.alarms.range::<String, _>(..),
        };
        for (name, alarm) in range {
            let keep = input.alarm_names.as_ref().is_none_or(|names| names.contains(name))
                && input.alarm_name_prefix.as_ref().is_none_or(|p| name.starts_with(p.as_str()))
                && input.state_value.is_none_or(|s| our_state(s) == alarm.state)
                && input
                    .action_prefix
                    .as_ref()
                    .is_none_or(|p| alarm.actions().iter().any(|a| a.starts_with(p.as_str())))
                && children.as_ref().is_none_or(|c| c.contains(name))
                && input.parents_of_alarm_name.as_ref().is_none_or(|child| {
                    matches!(&alarm.kind, AlarmKind::Composite(c)
                        if c.rule.alarm_names().iter().any(|r| r.rsplit(":alarm:").next() == Some(child.as_str())))
                });
            if !keep {
                continue;
            }
            let wanted = match &alarm.kind {
                AlarmKind::Metric(_) => want_metric,
                AlarmKind::Composite(_) => want_composite,
            };
            if !wanted {
                continue;
            }
            if count == max {
                next_token = last_name.map(|n: &String| encode_token(n));
                break;
            }
            count += 1;
            last_name = Some(name);
            match &alarm.kind {
                AlarmKind::Metric(c) => metric_alarms.push(Self::render_metric(alarm, c)),
                AlarmKind::Composite(c) => composite_alarms.push(Self::render_composite(alarm, c)),
            }
        }
        Ok(api::DescribeAlarmsOutput {
            composite_alarms: Some(composite_alarms),
            metric_alarms: Some(metric_alarms),
            log_alarms: None,
            next_token,
        })
    }

    fn describe_alarms_for_metric(
        &mut self,
        input: api::DescribeAlarmsForMetricInput,
    ) -> R<api::DescribeAlarmsForMetricOutput> {
        let wanted_dimensions = {
            let mut d = dimensions_of(&input.dimensions);
            d.sort();
            d
        };
        let alarms = self
            .state
            .alarms
            .alarms
            .values()
            .filter_map(|alarm| match &alarm.kind {
                AlarmKind::Metric(c) => Some((alarm, c)),
                AlarmKind::Composite(_) => None,
            })
            .filter(|(_, c)| {
                let i = &c.input;
                let MetricSource::Single { key, .. } = &c.source else {
                    return false;
                };
                key.namespace == input.namespace
                    && key.metric_name == input.metric_name
                    && (input.dimensions.is_none() || key.dimensions == wanted_dimensions)
                    && input.statistic.is_none_or(|s| i.statistic == Some(s))
                    && input
                        .extended_statistic
                        .as_ref()
                        .is_none_or(|s| i.extended_statistic.as_ref() == Some(s))
                    && input.period.is_none_or(|p| i.period == Some(p))
                    && input.unit.is_none_or(|u| i.unit == Some(u))
            })
            .map(|(alarm, c)| Self::render_metric(alarm, c))
            .collect();
        Ok(api::DescribeAlarmsForMetricOutput {
            metric_alarms: Some(alarms),
        })
    }

    fn describe_alarm_history(
        &mut self,
        input: api::DescribeAlarmHistoryInput,
    ) -> R<api::DescribeAlarmHistoryOutput> {
        let max = match input.max_records {
            None => 100,
            Some(n) if (1..=100).contains(&n) => n as usize,
            Some(n) => return Err(invalid(n, "MaxRecords")),
        };
        let skip = match input.next_token.as_deref() {
            Some(token) => decode_token(token)?
                .parse::<usize>()
                .map_err(|_| AwsError::client("InvalidNextToken", "The NextToken is invalid."))?,
            None => 0,
        };
        let types = input.alarm_types.clone().unwrap_or_default();
        let start_ms = input.start_date.map(ecsim_core::clock::epoch_ms);
        let end_ms = input.end_date.map(ecsim_core::clock::epoch_ms);
        let matching: Vec<&HistoryItem> = {
            let filter = |item: &&HistoryItem| {
                input.alarm_name.as_ref().is_none_or(|n| *n == item.alarm_name)
                    && (types.is_empty() || types.contains(&item.alarm_type))
                    && input.history_item_type.is_none_or(|t| t == item.item_type)
                    && start_ms.is_none_or(|s| item.timestamp_ms >= s)
                    && end_ms.is_none_or(|e| item.timestamp_ms <= e)
            };
            if input.scan_by == Some(api::ScanBy::TimestampAscending) {
                self.state.alarms.history.iter().filter(filter).collect()
            } else {
                self.state.alarms.history.iter().rev().filter(filter).collect()
            }
        };
        let page: Vec<api::AlarmHistoryItem> = matching
            .iter()
            .skip(skip)
            .take(max)
            .map(|item| api::AlarmHistoryItem {
                alarm_name: Some(item.alarm_name.clone()),
                alarm_contributor_id: None,
                alarm_type: Some(item.alarm_type),
                timestamp: Some(ecsim_core::clock::epoch_seconds(item.timestamp_ms)),
                history_item_type: Some(item.item_type),
                history_summary: Some(item.summary.clone()),
                history_data: Some(item.data.clone()),
                alarm_contributor_attributes: None,
            })
            .collect();
        let next_token =
            (skip + page.len() < matching.len()).then(|| encode_token(&(skip + page.len()).to_string()));
        Ok(api::DescribeAlarmHistoryOutput {
            alarm_history_items: Some(page),
            next_token,
        })
    }

    fn set_alarm_state(&mut self, input: api::SetAlarmStateInput) -> R<()> {
        if !self.state.alarms.alarms.contains_key(&input.alarm_name) {
            return Err(not_found(&input.alarm_name));
        }
        if let Some(data) = &input.state_reason_data
            && serde_json::from_str::<serde_json::Value>(data).is_err()
        {
            return Err(AwsError::client(
                "InvalidFormatFault",
                "StateReasonData is not valid JSON.",
            ));
        }
        if input.state_reason.len() > 1023 {
            return Err(invalid("StateReason", "StateReason"));
        }
        let changed = self.state.alarms.set_state(
            &input.alarm_name,
            our_state(input.state_value),
            input.state_reason,
            input.state_reason_data,
            self.now_ms,
        );
        if changed {
            self.state.alarms.evaluate_composites(self.now_ms);
        }
        Ok(())
    }

    fn enable_alarm_actions(&mut self, input: api::EnableAlarmActionsInput) -> R<()> {
        set_actions_enabled(self, &input.alarm_names, true)
    }

    fn disable_alarm_actions(&mut self, input: api::DisableAlarmActionsInput) -> R<()> {
        set_actions_enabled(self, &input.alarm_names, false)
    }

    fn delete_alarms(&mut self, input: api::DeleteAlarmsInput) -> R<()> {
        if let Some(missing) = input
            .alarm_names
            .iter()
            .find(|n| !self.state.alarms.alarms.contains_key(n.as_str()))
        {
            return Err(not_found(missing));
        }
        for name in &input.alarm_names {
            let parent = self.state.alarms.alarms.values().find(|a| {
                !input.alarm_names.contains(&a.name)
                    && matches!(&a.kind, AlarmKind::Composite(c)
                        if c.rule.alarm_names().iter().any(|r| r.rsplit(":alarm:").next() == Some(name.as_str())))
            });
            if let Some(parent) = parent {
                return Err(AwsError::client(
                    "ResourceConflict",
                    format!(
                        "The alarm {name} is referenced by the composite alarm {}; delete or change that first.",
                        parent.name
                    ),
                ));
            }
        }
        for name in &input.alarm_names {
            self.state.alarms.composites.remove(name);
            if let Some(alarm) = self.state.alarms.alarms.remove(name) {
                let data = serde_json::json!({ "version": "1.0", "type": "Delete" }).to_string();
                self.record_configuration_deleted(&alarm, data);
            }
        }
        self.state.alarms.evaluate_composites(self.now_ms);
        Ok(())
    }

    fn tag_resource(&mut self, input: api::TagResourceInput) -> R<api::TagResourceOutput> {
        let name = self.alarm_by_arn(&input.resource_arn)?;
        let tags = tags_of(&Some(input.tags))?;
        if let Some(alarm) = self.state.alarms.alarms.get_mut(&name) {
            for (k, v) in tags {
                alarm.tags.retain(|(key, _)| *key != k);
                alarm.tags.push((k, v));
            }
            if alarm.tags.len() > 50 {
                return Err(validation("An alarm takes at most 50 tags."));
            }
        }
        Ok(api::TagResourceOutput {})
    }

    fn untag_resource(&mut self, input: api::UntagResourceInput) -> R<api::UntagResourceOutput> {
        let name = self.alarm_by_arn(&input.resource_arn)?;
        if let Some(alarm) = self.state.alarms.alarms.get_mut(&name) {
            alarm.tags.retain(|(k, _)| !input.tag_keys.contains(k));
        }
        Ok(api::UntagResourceOutput {})
    }

    fn list_tags_for_resource(
        &mut self,
        input: api::ListTagsForResourceInput,
    ) -> R<api::ListTagsForResourceOutput> {
        let name = self.alarm_by_arn(&input.resource_arn)?;
        let tags = self.state.alarms.alarms[&name]
            .tags
            .iter()
            .map(|(key, value)| api::Tag {
                key: key.clone(),
                value: value.clone(),
            })
            .collect();
        Ok(api::ListTagsForResourceOutput { tags: Some(tags) })
    }
}

impl CloudWatchHandler<'_> {
    fn record_configuration_deleted(&mut self, alarm: &Alarm, data: String) {
        self.state.alarms.record(HistoryItem {
            alarm_name: alarm.name.clone(),
            alarm_type: alarm.alarm_type(),
            timestamp_ms: self.now_ms,
            item_type: api::HistoryItemType::ConfigurationUpdate,
            summary: format!("Alarm \"{}\" deleted", alarm.name),
            data,
        });
    }
}

fn set_actions_enabled(handler: &mut CloudWatchHandler<'_>, names: &[String], enabled: bool) -> R<()> {
    if names.len() > 100 {
        return Err(validation("AlarmNames takes at most 100 names."));
    }
    for name in names {
        if let Some(alarm) = handler.state.alarms.alarms.get_mut(name) {
            alarm.actions_enabled = enabled;
        }
    }
    Ok(())
}

/// Whether `rule` reaches the alarm `target` through composite alarms (a cycle when `target`
/// is the alarm being put). Depth-bounded like the rule parser.
fn rule_reaches(book: &super::alarms::AlarmBook, rule: &composite::Rule, target: &str, depth: usize) -> bool {
    if depth > 64 {
        return true;
    }
    rule.alarm_names().into_iter().any(|reference| {
        let name = reference.rsplit(":alarm:").next().unwrap_or(reference);
        name == target
            || matches!(book.alarms.get(name).map(|a| &a.kind),
                Some(AlarmKind::Composite(c)) if rule_reaches(book, &c.rule, target, depth + 1))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with_handler<T>(state: &mut CloudWatchState, f: impl FnOnce(&mut CloudWatchHandler<'_>) -> T) -> T {
        let mut timers = Timers::default();
        let mut handler = CloudWatchHandler {
            state,
            now_ms: 1_767_225_600_000,
            timers: &mut timers,
            world_index: 0,
            account_id: "000000000000",
            region: "us-east-1",
        };
        f(&mut handler)
    }

    fn metric_alarm(name: &str) -> api::PutMetricAlarmInput {
        api::PutMetricAlarmInput {
            alarm_name: name.into(),
            namespace: Some("App".into()),
            metric_name: Some("Errors".into()),
            statistic: Some(api::Statistic::Sum),
            period: Some(60),
            evaluation_periods: Some(1),
            threshold: Some(1.0),
            comparison_operator: Some(api::ComparisonOperator::GreaterThanThreshold),
            ..Default::default()
        }
    }

    fn composite(name: &str, rule: &str) -> api::PutCompositeAlarmInput {
        api::PutCompositeAlarmInput {
            alarm_name: name.into(),
            alarm_rule: rule.into(),
            ..Default::default()
        }
    }

    #[test]
    fn composite_cycles_are_refused_and_change_nothing() {
        let mut state = CloudWatchState::default();
        with_handler(&mut state, |h| {
            h.put_metric_alarm(metric_alarm("m")).unwrap();
            h.put_composite_alarm(composite("a", "ALARM(m)")).unwrap();
            h.put_composite_alarm(composite("b", "ALARM(a)")).unwrap();
            let err = h.put_composite_alarm(composite("a", "ALARM(b)")).unwrap_err();
            assert_eq!(err.code, "ValidationException");
            assert!(err.message.contains("cycle"), "{}", err.message);
            let err = h.put_composite_alarm(composite("c", "ALARM(c)")).unwrap_err();
            assert!(err.message.contains("do not exist"), "{}", err.message);
        });
        let AlarmKind::Composite(a) = &state.alarms.alarms["a"].kind else {
            panic!("a stays a composite");
        };
        assert_eq!(
            a.input.alarm_rule, "ALARM(m)",
            "the refused update changed nothing"
        );
        assert_eq!(state.alarms.composites.len(), 2);
    }

    #[test]
    fn a_refused_put_metric_data_stores_nothing() {
        let mut state = CloudWatchState::default();
        let good = api::MetricDatum {
            metric_name: "Good".into(),
            value: Some(1.0),
            ..Default::default()
        };
        let bad = api::MetricDatum {
            metric_name: "Bad".into(),
            values: Some(vec![1.0, 2.0]),
            counts: Some(vec![1.0]),
            ..Default::default()
        };
        let err = with_handler(&mut state, |h| {
            h.put_metric_data(api::PutMetricDataInput {
                namespace: "App".into(),
                metric_data: Some(vec![good, bad]),
                ..Default::default()
            })
            .unwrap_err()
        });
        assert_eq!(err.code, "InvalidParameterCombinationException");
        assert_eq!(state.metrics.series_count(), 0);
    }

    #[test]
    fn replacing_an_alarm_keeps_its_state_and_makes_old_timers_stale() {
        let mut state = CloudWatchState::default();
        with_handler(&mut state, |h| {
            h.put_metric_alarm(metric_alarm("m")).unwrap();
            h.set_alarm_state(api::SetAlarmStateInput {
                alarm_name: "m".into(),
                state_value: api::StateValue::Alarm,
                state_reason: "drill".into(),
                state_reason_data: None,
            })
            .unwrap();
            h.put_metric_alarm(metric_alarm("m")).unwrap();
        });
        let alarm = &state.alarms.alarms["m"];
        assert_eq!(alarm.state, StateValue::Alarm);
        assert_eq!(alarm.generation, 2);
        let summaries: Vec<&str> = state.alarms.history.iter().map(|h| h.summary.as_str()).collect();
        assert_eq!(
            summaries,
            [
                "Alarm \"m\" created",
                "Alarm updated from INSUFFICIENT_DATA to ALARM",
                "Alarm \"m\" updated"
            ]
        );
    }

    #[test]
    fn tokens_round_trip_and_garbage_is_refused() {
        assert_eq!(decode_token(&encode_token("web-5xx")).unwrap(), "web-5xx");
        assert!(decode_token("zz").is_err());
        assert!(decode_token("abc").is_err());
        assert!(decode_token("").is_err());
    }
}
