//! CloudWatch for every (account, region): metric storage, alarms and their evaluation on the
//! engine's clock, and the `CloudWatchApi` handler. Metrics arrive through PutMetricData and from
//! ecsim itself (the load balancer data plane, simulated traffic, ECS utilization).
//!
//! It does no IO and reads no clock: the engine passes `now_ms`, and alarm evaluations run on
//! engine timers. Alarm actions (SNS, Auto Scaling) are recorded, never executed.

pub mod alarms;
mod handler;
pub mod metrics;
pub mod query;

use std::collections::BTreeMap;

use ecsim_cloudwatch::evaluate::StateValue;
use ecsim_core::{MetricDatum, Millis};

pub use handler::CloudWatchHandler;

use crate::alarms::{AlarmSource, AlarmState};
use crate::timers::{TimerKind, Timers};
use alarms::AlarmBook;
use metrics::{MetricStore, Put, SeriesKey};

/// The CloudWatch state of one (account, region).
#[derive(Debug, Clone, Default)]
pub struct CloudWatchState {
    pub metrics: MetricStore,
    pub alarms: AlarmBook,
}

/// Every region's CloudWatch, keyed by (account, region).
#[derive(Debug, Clone, Default)]
pub struct CloudWatch {
    regions: BTreeMap<(String, String), CloudWatchState>,
}

/// An alarm evaluation that came due.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct AlarmTimer {
    pub alarm: String,
    pub generation: u64,
}

impl CloudWatch {
    pub fn region(&self, account_id: &str, region: &str) -> Option<&CloudWatchState> {
        self.regions.get(&(account_id.to_string(), region.to_string()))
    }

    pub fn region_mut(&mut self, account_id: &str, region: &str) -> &mut CloudWatchState {
        self.regions
            .entry((account_id.to_string(), region.to_string()))
            .or_default()
    }

    pub fn clear(&mut self) {
        self.regions.clear();
    }

    /// Runs one due alarm evaluation and schedules the next; composites follow a change.
    pub fn on_timer(
        &mut self,
        account_id: &str,
        region: &str,
        world_index: usize,
        timer: AlarmTimer,
        now_ms: Millis,
        timers: &mut Timers,
    ) {
        let state = self.region_mut(account_id, region);
        let Some(alarm) = state.alarms.alarms.get(&timer.alarm) else {
            return;
        };
        if alarm.generation != timer.generation {
            return;
        }
        let alarms::AlarmKind::Metric(config) = &alarm.kind else {
            return;
        };
        let next = alarms::next_evaluation_ms(now_ms, config.period_ms);
        if state
            .alarms
            .evaluate_metric_alarm(&timer.alarm, &state.metrics, now_ms)
        {
            state.alarms.evaluate_composites(now_ms);
        }
        timers.schedule(next, world_index, TimerKind::Alarm(timer));
    }

    /// Forces an alarm's state (SetAlarmState semantics); composites follow.
    pub fn force_state(
        &mut self,
        account_id: &str,
        region: &str,
        alarm_name: &str,
        state: AlarmState,
        reason: &str,
        now_ms: Millis,
    ) -> Result<(), String> {
        let cw = self.region_mut(account_id, region);
        if !cw.alarms.alarms.contains_key(alarm_name) {
            return Err(format!(
                "no alarm named '{alarm_name}' exists in account {account_id}, region {region}"
            ));
        }
        let state = match state {
            AlarmState::Ok => StateValue::Ok,
            AlarmState::Alarm => StateValue::Alarm,
            AlarmState::InsufficientData => StateValue::InsufficientData,
        };
        if cw
            .alarms
            .set_state(alarm_name, state, reason.to_string(), None, now_ms)
        {
            cw.alarms.evaluate_composites(now_ms);
        }
        Ok(())
    }

    /// Stores data ecsim emitted itself in the region that owns it.
    pub fn put_emitted(&mut self, account_id: &str, region: &str, data: &[MetricDatum], now_ms: Millis) {
        let state = self.region_mut(account_id, region);
        for datum in data {
            let mut samples = ecsim_cloudwatch::stats::Samples::default();
            for &(value, count) in &datum.values {
                samples.add_value(value, count);
            }
            if samples.is_empty() {
                continue;
            }
            state.metrics.put(
                Put {
                    key: SeriesKey::new(&datum.namespace, &datum.metric_name, datum.dimensions.clone()),
                    timestamp_ms: datum.timestamp_ms,
                    high_resolution: false,
                    unit: Some(&datum.unit),
                    samples,
                },
                now_ms,
            );
        }
    }
}

impl AlarmSource for CloudWatch {
    fn state(&self, account_id: &str, region: &str, alarm_name: &str) -> Option<AlarmState> {
        let state = self.region(account_id, region)?;
        state.alarms.alarms.get(alarm_name).map(|a| match a.state {
            StateValue::Ok => AlarmState::Ok,
            StateValue::Alarm => AlarmState::Alarm,
            StateValue::InsufficientData => AlarmState::InsufficientData,
        })
    }
}
