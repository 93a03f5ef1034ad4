//! Alarms of one (account, region): their configuration as put, their state, and the history of
//! every change. Evaluation turns metric data into states through `ecsim_cloudwatch::evaluate`.
//!
//! No protocol and no timers here: the handler validates and schedules, the engine calls
//! [`AlarmBook::evaluate_metric_alarm`] when an evaluation is due.

use std::collections::{BTreeMap, VecDeque};

use ecsim_api::cloudwatch as api;
use ecsim_cloudwatch::composite::Rule;
use ecsim_cloudwatch::evaluate::{ComparisonOperator, Evaluation, StateValue, TreatMissingData, evaluate};
use ecsim_cloudwatch::stats::Statistic;
use ecsim_core::Millis;
use serde_json::json;

use super::metrics::{MetricStore, SeriesKey};
use super::query;

/// History items kept per (account, region), oldest dropped first.
pub const MAX_HISTORY_ITEMS: usize = 10_000;

/// Evaluation looks at periods that ended this long ago, so data a minute-aggregating emitter
/// (the load balancer) flushes at a period's end is in before the period is judged.
pub const EVALUATION_DELAY_MS: Millis = 5_000;

#[derive(Debug, Clone)]
pub struct Alarm {
    pub name: String,
    pub arn: String,
    pub kind: AlarmKind,
    pub state: StateValue,
    pub state_reason: String,
    pub state_reason_data: Option<String>,
    pub state_updated_ms: Millis,
    pub state_transitioned_ms: Millis,
    pub config_updated_ms: Millis,
    pub actions_enabled: bool,
    pub tags: Vec<(String, String)>,
    /// Bumped by every PutMetricAlarm, so evaluation timers of an older configuration are ignored.
    pub generation: u64,
}

#[derive(Debug, Clone)]
pub enum AlarmKind {
    Metric(Box<MetricAlarmConfig>),
    Composite(Box<CompositeAlarmConfig>),
}

#[derive(Debug, Clone)]
pub struct MetricAlarmConfig {
    /// The request as put, echoed by DescribeAlarms.
    pub input: api::PutMetricAlarmInput,
    pub period_ms: Millis,
    pub evaluation_periods: usize,
    pub datapoints_to_alarm: usize,
    pub threshold: f64,
    pub comparison: ComparisonOperator,
    pub treat_missing: TreatMissingData,
    pub source: MetricSource,
}

#[derive(Debug, Clone)]
pub enum MetricSource {
    Single {
        key: SeriesKey,
        statistic: Statistic,
        unit: Option<String>,
    },
    /// Metric math: the query whose `ReturnData` is true gives the datapoints.
    Math { queries: Vec<api::MetricDataQuery> },
}

#[derive(Debug, Clone)]
pub struct CompositeAlarmConfig {
    pub input: api::PutCompositeAlarmInput,
    pub rule: Rule,
}

#[derive(Debug, Clone)]
pub struct HistoryItem {
    pub alarm_name: String,
    pub alarm_type: api::AlarmType,
    pub timestamp_ms: Millis,
    pub item_type: api::HistoryItemType,
    pub summary: String,
    pub data: String,
}

#[derive(Debug, Clone, Default)]
pub struct AlarmBook {
    pub alarms: BTreeMap<String, Alarm>,
    pub history: VecDeque<HistoryItem>,
    /// Names of the composite alarms, so a metric alarm's change re-evaluates only those.
    pub composites: std::collections::BTreeSet<String>,
}

impl Alarm {
    pub fn alarm_type(&self) -> api::AlarmType {
        match self.kind {
            AlarmKind::Metric(_) => api::AlarmType::MetricAlarm,
            AlarmKind::Composite(_) => api::AlarmType::CompositeAlarm,
        }
    }

    /// Every action ARN of the alarm, for ActionPrefix.
    pub fn actions(&self) -> Vec<&str> {
        let lists: [&Option<Vec<String>>; 3] = match &self.kind {
            AlarmKind::Metric(c) => [
                &c.input.alarm_actions,
                &c.input.ok_actions,
                &c.input.insufficient_data_actions,
            ],
            AlarmKind::Composite(c) => [
                &c.input.alarm_actions,
                &c.input.ok_actions,
                &c.input.insufficient_data_actions,
            ],
        };
        lists
            .into_iter()
            .flatten()
            .flatten()
            .map(String::as_str)
            .collect()
    }
}

impl AlarmBook {
    pub fn record(&mut self, item: HistoryItem) {
        if self.history.len() == MAX_HISTORY_ITEMS {
            self.history.pop_front();
        }
        self.history.push_back(item);
    }

    /// Moves an alarm to `state` with a reason; records a StateUpdate history item when the
    /// state changes. Returns whether it changed.
    pub fn set_state(
        &mut self,
        name: &str,
        state: StateValue,
        reason: String,
        reason_data: Option<String>,
        now_ms: Millis,
    ) -> bool {
        let parsed = reason_data
            .as_deref()
            .and_then(|d| serde_json::from_str::<serde_json::Value>(d).ok());
        self.transition(name, state, reason, reason_data, parsed, now_ms)
    }

    /// `set_state` with the reason data already parsed (evaluations build it as JSON, so they
    /// need not parse their own text back).
    fn transition(
        &mut self,
        name: &str,
        state: StateValue,
        reason: String,
        reason_data: Option<String>,
        parsed_reason_data: Option<serde_json::Value>,
        now_ms: Millis,
    ) -> bool {
        let Some(alarm) = self.alarms.get_mut(name) else {
            return false;
        };
        if alarm.state == state {
            return false;
        }
        let old_state = alarm.state;
        let old_reason = std::mem::replace(&mut alarm.state_reason, reason.clone());
        alarm.state = state;
        alarm.state_reason_data = reason_data;
        alarm.state_updated_ms = now_ms;
        alarm.state_transitioned_ms = now_ms;
        let mut new_state = json!({ "stateValue": state.as_str(), "stateReason": reason });
        if let Some(data) = parsed_reason_data {
            new_state["stateReasonData"] = data;
        }
        let data = json!({
            "version": "1.0",
            "oldState": { "stateValue": old_state.as_str(), "stateReason": old_reason },
            "newState": new_state,
        });
        let item = HistoryItem {
            alarm_name: name.to_string(),
            alarm_type: alarm.alarm_type(),
            timestamp_ms: now_ms,
            item_type: api::HistoryItemType::StateUpdate,
            summary: format!("Alarm updated from {} to {}", old_state.as_str(), state.as_str()),
            data: data.to_string(),
        };
        self.record(item);
        true
    }

    /// Evaluates one metric alarm at `now_ms` over the periods that ended [`EVALUATION_DELAY_MS`]
    /// before. Returns whether its state changed.
    pub fn evaluate_metric_alarm(&mut self, name: &str, metrics: &MetricStore, now_ms: Millis) -> bool {
        let Some(alarm) = self.alarms.get(name) else {
            return false;
        };
        let AlarmKind::Metric(config) = &alarm.kind else {
            return false;
        };
        let end_ms = evaluation_end_ms(now_ms, config.period_ms);
        let n = config.evaluation_periods;
        let start_ms = end_ms.saturating_sub(config.period_ms * n as u64);
        let datapoints = datapoints(config, metrics, start_ms, end_ms);
        let values: Vec<Option<f64>> = datapoints.iter().map(|(_, v)| *v).collect();
        let outcome = evaluate(&Evaluation {
            datapoints: &values,
            threshold: config.threshold,
            comparison: config.comparison,
            datapoints_to_alarm: config.datapoints_to_alarm,
            treat_missing: config.treat_missing,
            current: alarm.state,
        });
        if outcome.state == alarm.state {
            return false;
        }
        let reason = state_reason(config, &datapoints, outcome.state, outcome.breaching);
        let reason_data = reason_data(config, &datapoints, now_ms, start_ms);
        let reason_data_text = reason_data.to_string();
        self.transition(
            name,
            outcome.state,
            reason,
            Some(reason_data_text),
            Some(reason_data),
            now_ms,
        )
    }

    /// Re-evaluates every composite alarm until nothing changes (composites may reference
    /// composites; the loop is bounded by the number of composites).
    pub fn evaluate_composites(&mut self, now_ms: Millis) {
        if self.composites.is_empty() {
            return;
        }
        let composites: Vec<String> = self.composites.iter().cloned().collect();
        for _ in 0..=composites.len() {
            let mut changed = false;
            for name in &composites {
                let Some(AlarmKind::Composite(config)) = self.alarms.get(name).map(|a| &a.kind) else {
                    continue;
                };
                let lookup = |reference: &str| self.state_of(reference);
                let holds = config.rule.holds(&lookup);
                let (state, reason) = if holds {
                    (StateValue::Alarm, "The alarm rule evaluated to TRUE.")
                } else {
                    (StateValue::Ok, "The alarm rule evaluated to FALSE.")
                };
                changed |= self.set_state(name, state, reason.to_string(), None, now_ms);
            }
            if !changed {
                break;
            }
        }
    }

    /// The state of an alarm referenced by name or by ARN.
    pub fn state_of(&self, reference: &str) -> Option<StateValue> {
        let name = reference
            .strip_prefix("arn:")
            .and_then(|_| reference.split_once(":alarm:").map(|(_, n)| n))
            .unwrap_or(reference);
        self.alarms.get(name).map(|a| a.state)
    }
}

/// The end (exclusive) of the last period an evaluation at `now_ms` judges.
pub fn evaluation_end_ms(now_ms: Millis, period_ms: Millis) -> Millis {
    let settled = now_ms.saturating_sub(EVALUATION_DELAY_MS);
    settled - settled % period_ms
}

/// When the evaluation after `now_ms` is due: the next period end plus the delay.
pub fn next_evaluation_ms(now_ms: Millis, period_ms: Millis) -> Millis {
    evaluation_end_ms(now_ms, period_ms) + period_ms + EVALUATION_DELAY_MS
}

/// (period start, value) for each of the alarm's evaluation periods, oldest first.
fn datapoints(
    config: &MetricAlarmConfig,
    metrics: &MetricStore,
    start_ms: Millis,
    end_ms: Millis,
) -> Vec<(Millis, Option<f64>)> {
    let period = config.period_ms;
    let values: BTreeMap<Millis, f64> = match &config.source {
        MetricSource::Single { key, statistic, unit } => metrics
            .periods(key, start_ms, end_ms, period, unit.as_deref())
            .into_iter()
            .filter_map(|(at, samples)| {
                ecsim_cloudwatch::stats::compute(statistic, &samples).map(|v| (at, v))
            })
            .collect(),
        MetricSource::Math { queries } => query::alarm_series(queries, metrics, start_ms, end_ms, period)
            .map(|series| series.into_iter().collect())
            .unwrap_or_default(),
    };
    (0..config.evaluation_periods)
        .map(|k| {
            let at = start_ms + k as u64 * period;
            (at, values.get(&at).copied())
        })
        .collect()
}

fn stat_name(config: &MetricAlarmConfig) -> String {
    match &config.source {
        MetricSource::Single { statistic, .. } => statistic.name(),
        MetricSource::Math { .. } => "Expression".to_string(),
    }
}

/// `01/01/26 00:01:00`, the form CloudWatch writes datapoint times in state reasons.
fn reason_time(at_ms: Millis) -> String {
    let iso = ecsim_protocol::time::format_iso8601(ecsim_core::clock::epoch_seconds(at_ms));
    // 2026-01-01T00:01:00.000Z
    format!("{}/{}/{} {}", &iso[8..10], &iso[5..7], &iso[2..4], &iso[11..19])
}

fn iso_with_offset(at_ms: Millis) -> String {
    let iso = ecsim_protocol::time::format_iso8601(ecsim_core::clock::epoch_seconds(at_ms));
    format!("{}+0000", iso.trim_end_matches('Z'))
}

fn number(v: f64) -> String {
    format!("{v:?}")
}

fn state_reason(
    config: &MetricAlarmConfig,
    datapoints: &[(Millis, Option<f64>)],
    state: StateValue,
    breaching: usize,
) -> String {
    let present: Vec<String> = datapoints
        .iter()
        .rev()
        .filter_map(|(at, v)| v.map(|v| format!("{} ({})", number(v), reason_time(*at))))
        .collect();
    let n = datapoints.len();
    let phrase = config.comparison.phrase();
    match state {
        StateValue::InsufficientData => {
            let missing = datapoints.iter().filter(|(_, v)| v.is_none()).count();
            format!(
                "Insufficient Data: {missing} datapoint{} {} unknown.",
                if missing == 1 { "" } else { "s" },
                if missing == 1 { "was" } else { "were" }
            )
        }
        StateValue::Alarm => format!(
            "Threshold Crossed: {breaching} out of the last {n} datapoints [{}] {} {phrase} the threshold ({}) (minimum {} datapoint{} for OK -> ALARM transition).",
            present.join(", "),
            if breaching == 1 { "was" } else { "were" },
            number(config.threshold),
            config.datapoints_to_alarm,
            if config.datapoints_to_alarm == 1 { "" } else { "s" },
        ),
        StateValue::Ok => format!(
            "Threshold Crossed: {} datapoint{} [{}] {} not {phrase} the threshold ({}).",
            present.len(),
            if present.len() == 1 { "" } else { "s" },
            present.join(", "),
            if present.len() == 1 { "was" } else { "were" },
            number(config.threshold),
        ),
    }
}

fn reason_data(
    config: &MetricAlarmConfig,
    datapoints: &[(Millis, Option<f64>)],
    now_ms: Millis,
    start_ms: Millis,
) -> serde_json::Value {
    let recent: Vec<f64> = datapoints.iter().filter_map(|(_, v)| *v).collect();
    let evaluated: Vec<serde_json::Value> = datapoints
        .iter()
        .rev()
        .filter_map(|(at, v)| v.map(|v| json!({ "timestamp": iso_with_offset(*at), "value": v })))
        .collect();
    json!({
        "version": "1.0",
        "queryDate": iso_with_offset(now_ms),
        "startDate": iso_with_offset(start_ms),
        "statistic": stat_name(config),
        "period": config.period_ms / 1_000,
        "recentDatapoints": recent,
        "threshold": config.threshold,
        "evaluatedDatapoints": evaluated,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn evaluation_windows_end_on_period_boundaries_after_the_delay() {
        // At 00:01:05 a 60 s alarm judges [.., 00:01:00).
        assert_eq!(evaluation_end_ms(65_000, 60_000), 60_000);
        assert_eq!(evaluation_end_ms(64_999, 60_000), 0);
        assert_eq!(next_evaluation_ms(65_000, 60_000), 125_000);
        assert_eq!(next_evaluation_ms(0, 10_000), 15_000);
    }

    fn book_with_alarm(treat_missing: TreatMissingData, n: usize, m: usize) -> AlarmBook {
        let mut book = AlarmBook::default();
        let config = MetricAlarmConfig {
            input: api::PutMetricAlarmInput::default(),
            period_ms: 60_000,
            evaluation_periods: n,
            datapoints_to_alarm: m,
            threshold: 5.0,
            comparison: ComparisonOperator::GreaterThanThreshold,
            treat_missing,
            source: MetricSource::Single {
                key: SeriesKey::new("App", "Errors", vec![]),
                statistic: Statistic::Sum,
                unit: None,
            },
        };
        book.alarms.insert(
            "a".into(),
            Alarm {
                name: "a".into(),
                arn: "arn:aws:cloudwatch:us-east-1:000000000000:alarm:a".into(),
                kind: AlarmKind::Metric(Box::new(config)),
                state: StateValue::InsufficientData,
                state_reason: "Unchecked: Initial alarm creation".into(),
                state_reason_data: None,
                state_updated_ms: 0,
                state_transitioned_ms: 0,
                config_updated_ms: 0,
                actions_enabled: true,
                tags: Vec::new(),
                generation: 1,
            },
        );
        book
    }

    proptest::proptest! {
        /// Whatever the data, every transition is recorded, the history chains (each item's old
        /// state is the previous item's new state) and ends in the alarm's state, and an
        /// evaluation that changes nothing records nothing.
        #[test]
        fn history_chains_every_transition(
            minutes in proptest::collection::vec(proptest::option::of(0.0f64..10.0), 1..40),
            treat in 0usize..4,
            n in 1usize..5,
            m_seed in 0usize..5,
        ) {
            let treat_missing = [
                TreatMissingData::Missing,
                TreatMissingData::NotBreaching,
                TreatMissingData::Breaching,
                TreatMissingData::Ignore,
            ][treat];
            let m = 1 + m_seed % n;
            let mut book = book_with_alarm(treat_missing, n, m);
            let mut store = MetricStore::default();
            let key = SeriesKey::new("App", "Errors", vec![]);
            let mut transitions = 0;
            for (i, value) in minutes.iter().enumerate() {
                let minute_ms = (i as u64 + 10) * 60_000;
                if let Some(v) = value {
                    let mut samples = ecsim_cloudwatch::stats::Samples::default();
                    samples.add_value(*v, 1.0);
                    store.put(
                        super::super::metrics::Put {
                            key: key.clone(),
                            timestamp_ms: minute_ms,
                            high_resolution: false,
                            unit: None,
                            samples,
                        },
                        minute_ms,
                    );
                }
                let before = book.history.len();
                let changed = book.evaluate_metric_alarm("a", &store, minute_ms + 60_000 + EVALUATION_DELAY_MS);
                proptest::prop_assert_eq!(book.history.len() - before, usize::from(changed));
                transitions += usize::from(changed);
            }
            proptest::prop_assert_eq!(book.history.len(), transitions);
            let mut previous = "INSUFFICIENT_DATA".to_string();
            for item in &book.history {
                let data: serde_json::Value = serde_json::from_str(&item.data).unwrap();
                proptest::prop_assert_eq!(data["oldState"]["stateValue"].as_str(), Some(previous.as_str()));
                proptest::prop_assert_ne!(data["newState"]["stateValue"].as_str(), Some(previous.as_str()));
                previous = data["newState"]["stateValue"].as_str().unwrap_or_default().to_string();
            }
            proptest::prop_assert_eq!(previous.as_str(), book.alarms["a"].state.as_str());
        }
    }

    #[test]
    fn reason_times_use_cloudwatch_form() {
        // 2026-01-01T00:01:00Z
        assert_eq!(reason_time(1_767_225_660_000), "01/01/26 00:01:00");
    }
}
