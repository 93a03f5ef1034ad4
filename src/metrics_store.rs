//! The most recent metric data emitted by ecsim itself (the load balancer data plane and the
//! control plane), kept in a bounded buffer and listed by `GET /_ecsim/metrics`; and the queue
//! that carries data emitted outside the engine (the proxy) to CloudWatch in the engine. Neither
//! grows past its bound.

use std::collections::VecDeque;

use ecsim_core::{MetricDatum, MetricsSink};
use parking_lot::Mutex;
use serde_json::json;

/// Data kept at most (oldest dropped first).
pub const MAX_KEPT_DATA: usize = 20_000;
/// Data waiting for the engine at most; beyond it new data is dropped with a warning (the
/// driver drains the queue at least once a second, so this only fills if the engine stalls).
pub const MAX_PENDING_DATA: usize = 100_000;

#[derive(Debug, Default)]
pub struct RecentMetrics {
    data: Mutex<VecDeque<MetricDatum>>,
    pending: Mutex<Vec<MetricDatum>>,
}

/// The sink the data plane writes to: data is listed and queued for CloudWatch.
impl MetricsSink for RecentMetrics {
    fn put(&self, data: Vec<MetricDatum>) {
        {
            let mut pending = self.pending.lock();
            let room = MAX_PENDING_DATA.saturating_sub(pending.len());
            if room < data.len() {
                tracing::warn!(
                    dropped = data.len() - room,
                    "metric data is arriving faster than the engine stores it; dropping"
                );
            }
            pending.extend(data.iter().take(room).cloned());
        }
        self.remember(data);
    }
}

impl RecentMetrics {
    /// Lists data that is already in CloudWatch (the engine computed it) without queueing it.
    pub fn remember(&self, data: Vec<MetricDatum>) {
        let mut kept = self.data.lock();
        for datum in data {
            if kept.len() == MAX_KEPT_DATA {
                kept.pop_front();
            }
            kept.push_back(datum);
        }
    }

    /// Takes the data queued for CloudWatch.
    pub fn take_pending(&self) -> Vec<MetricDatum> {
        std::mem::take(&mut *self.pending.lock())
    }

    /// Kept data matching the optional namespace and metric name, oldest first, as JSON.
    pub fn list(&self, namespace: Option<&str>, metric_name: Option<&str>) -> serde_json::Value {
        let kept = self.data.lock();
        let rows: Vec<serde_json::Value> = kept
            .iter()
            .filter(|d| namespace.is_none_or(|n| d.namespace == n))
            .filter(|d| metric_name.is_none_or(|n| d.metric_name == n))
            .map(|d| {
                let dimensions: Vec<serde_json::Value> = d
                    .dimensions
                    .iter()
                    .map(|(name, value)| json!({ "Name": name, "Value": value }))
                    .collect();
                json!({
                    "Namespace": d.namespace,
                    "MetricName": d.metric_name,
                    "Dimensions": dimensions,
                    "TimestampMs": d.timestamp_ms,
                    "Unit": d.unit,
                    "SampleCount": d.sample_count(),
                    "Sum": d.sum(),
                    "Values": d.values.iter().map(|(v, _)| *v).collect::<Vec<f64>>(),
                    "Counts": d.values.iter().map(|(_, c)| *c).collect::<Vec<f64>>(),
                })
            })
            .collect();
        json!({ "metrics": rows })
    }

    pub fn clear(&self) {
        self.data.lock().clear();
        self.pending.lock().clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn datum(name: &str) -> MetricDatum {
        MetricDatum {
            namespace: "AWS/ApplicationELB".into(),
            metric_name: name.into(),
            dimensions: vec![("LoadBalancer".into(), "app/web/0123456789abcdef".into())],
            timestamp_ms: 60_000,
            unit: "Count".into(),
            values: vec![(3.0, 1.0)],
        }
    }

    #[test]
    fn keeps_a_bounded_window_and_filters() {
        let store = RecentMetrics::default();
        store.put((0..MAX_KEPT_DATA + 5).map(|_| datum("RequestCount")).collect());
        store.put(vec![datum("HealthyHostCount")]);
        assert_eq!(store.data.lock().len(), MAX_KEPT_DATA);
        let listed = store.list(Some("AWS/ApplicationELB"), Some("HealthyHostCount"));
        assert_eq!(listed["metrics"].as_array().map(Vec::len), Some(1));
        assert_eq!(listed["metrics"][0]["Sum"], 3.0);
        assert_eq!(
            store.take_pending().len(),
            MAX_KEPT_DATA + 6,
            "everything is queued for CloudWatch"
        );
        assert!(store.take_pending().is_empty());
    }

    #[test]
    fn the_queue_for_cloudwatch_is_bounded_and_skips_engine_data() {
        let store = RecentMetrics::default();
        store.put((0..MAX_PENDING_DATA - 1).map(|_| datum("RequestCount")).collect());
        store.put(vec![datum("A"), datum("B")]);
        let pending = store.take_pending();
        assert_eq!(pending.len(), MAX_PENDING_DATA, "the overflow is dropped");
        assert_eq!(pending.last().map(|d| d.metric_name.as_str()), Some("A"));
        store.remember(vec![datum("RequestCount")]);
        assert!(store.take_pending().is_empty(), "engine data is not queued again");
    }
}
