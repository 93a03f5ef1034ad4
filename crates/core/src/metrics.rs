//! Metric data as ecsim's components emit it (the load balancer data plane, the control plane),
//! and the sink they hand it to. CloudWatch storage implements the sink; until then the emulator
//! keeps the most recent data for `GET /_ecsim/metrics`.

use crate::Millis;

/// One metric at one timestamp, as `PutMetricData` would carry it: `values` holds
/// (value, count) pairs, so a single sample is one pair and a distribution many.
#[derive(Debug, Clone, PartialEq)]
pub struct MetricDatum {
    pub namespace: String,
    pub metric_name: String,
    /// (name, value), in the order AWS lists the dimension set.
    pub dimensions: Vec<(String, String)>,
    /// The start of the period the datum covers.
    pub timestamp_ms: Millis,
    /// A CloudWatch `StandardUnit` name: `Count`, `Seconds`…
    pub unit: String,
    pub values: Vec<(f64, f64)>,
}

impl MetricDatum {
    /// Sum of value × count.
    pub fn sum(&self) -> f64 {
        self.values.iter().map(|(v, c)| v * c).sum()
    }

    /// Number of samples.
    pub fn sample_count(&self) -> f64 {
        self.values.iter().map(|(_, c)| c).sum()
    }
}

/// Where emitted metrics go. Implementations must not block for long: the data plane calls
/// `put` from its request path once a minute per aggregator.
pub trait MetricsSink: Send + Sync + std::fmt::Debug {
    fn put(&self, data: Vec<MetricDatum>);
}
