//! Metric storage for one (account, region): series keyed by namespace, name and dimension set,
//! each a bounded run of time buckets holding the samples put into them.
//!
//! It answers "the samples of this series in [start, end) grouped by period"; it knows nothing
//! about alarms, protocols or where data came from.

use std::collections::BTreeMap;

use ecsim_cloudwatch::stats::Samples;
use ecsim_core::Millis;

/// Buckets kept per series (oldest dropped first): three days of one-minute data.
pub const MAX_BUCKETS_PER_SERIES: usize = 4_320;
/// Series kept per (account, region); PutMetricData for a new series beyond this is refused.
pub const MAX_SERIES: usize = 1_000_000;

/// What identifies a metric: dimensions sorted by name (CloudWatch treats the set, not the order).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct SeriesKey {
    pub namespace: String,
    pub metric_name: String,
    pub dimensions: Vec<(String, String)>,
}

impl SeriesKey {
    pub fn new(namespace: &str, metric_name: &str, mut dimensions: Vec<(String, String)>) -> Self {
        dimensions.sort();
        Self {
            namespace: namespace.to_string(),
            metric_name: metric_name.to_string(),
            dimensions,
        }
    }
}

#[derive(Debug, Clone, Default)]
pub struct Series {
    /// The unit of the latest datum (CloudWatch keeps data per unit; ecsim keeps one per series).
    pub unit: Option<String>,
    /// Bucket start → samples. One-second buckets for high-resolution data, one-minute otherwise.
    buckets: BTreeMap<Millis, Samples>,
    /// When data was last put, for ListMetrics' RecentlyActive.
    pub last_put_ms: Millis,
}

#[derive(Debug, Clone, Default)]
pub struct MetricStore {
    series: BTreeMap<SeriesKey, Series>,
}

/// One sample set to store.
pub struct Put<'a> {
    pub key: SeriesKey,
    pub timestamp_ms: Millis,
    pub high_resolution: bool,
    pub unit: Option<&'a str>,
    pub samples: Samples,
}

impl MetricStore {
    pub fn series_count(&self) -> usize {
        self.series.len()
    }

    /// The unit a series was last put with.
    pub fn unit_of(&self, key: &SeriesKey) -> Option<&str> {
        self.series.get(key).and_then(|s| s.unit.as_deref())
    }

    /// Adds samples at their timestamp. False when the store is full and the series is new.
    pub fn put(&mut self, put: Put<'_>, now_ms: Millis) -> bool {
        if !self.series.contains_key(&put.key) && self.series.len() >= MAX_SERIES {
            return false;
        }
        let series = self.series.entry(put.key).or_default();
        let bucket_ms = if put.high_resolution { 1_000 } else { 60_000 };
        let start = put.timestamp_ms - put.timestamp_ms % bucket_ms;
        series.buckets.entry(start).or_default().merge(&put.samples);
        if let Some(unit) = put.unit {
            series.unit = Some(unit.to_string());
        }
        series.last_put_ms = series.last_put_ms.max(now_ms);
        while series.buckets.len() > MAX_BUCKETS_PER_SERIES {
            series.buckets.pop_first();
        }
        true
    }

    /// The samples of `key` in `[start_ms, end_ms)`, one entry per period that has data, keyed by
    /// the period's start (`start_ms + k × period_ms`). `unit` filters: a series stored with
    /// another unit has no data for that unit.
    pub fn periods(
        &self,
        key: &SeriesKey,
        start_ms: Millis,
        end_ms: Millis,
        period_ms: Millis,
        unit: Option<&str>,
    ) -> BTreeMap<Millis, Samples> {
        let mut out = BTreeMap::new();
        let Some(series) = self.series.get(key) else {
            return out;
        };
        if period_ms == 0 || end_ms <= start_ms {
            return out;
        }
        if let (Some(wanted), Some(stored)) = (unit, series.unit.as_deref())
            && wanted != stored
        {
            return out;
        }
        for (&at, samples) in series.buckets.range(start_ms..end_ms) {
            let period_start = start_ms + (at - start_ms) / period_ms * period_ms;
            out.entry(period_start)
                .or_insert_with(Samples::default)
                .merge(samples);
        }
        out
    }

    /// Series after `after` (exclusive) in key order, for pagination.
    pub fn iter_after<'a>(
        &'a self,
        after: Option<&SeriesKey>,
    ) -> Box<dyn Iterator<Item = (&'a SeriesKey, &'a Series)> + 'a> {
        match after {
            Some(key) => Box::new(
                self.series
                    .range((std::ops::Bound::Excluded(key.clone()), std::ops::Bound::Unbounded)),
            ),
            None => Box::new(self.series.iter()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one(v: f64) -> Samples {
        let mut s = Samples::default();
        s.add_value(v, 1.0);
        s
    }

    fn put(store: &mut MetricStore, key: &SeriesKey, at: Millis, v: f64, high: bool) {
        store.put(
            Put {
                key: key.clone(),
                timestamp_ms: at,
                high_resolution: high,
                unit: Some("Count"),
                samples: one(v),
            },
            at,
        );
    }

    #[test]
    fn dimension_order_does_not_matter() {
        let a = SeriesKey::new("N", "M", vec![("B".into(), "1".into()), ("A".into(), "2".into())]);
        let b = SeriesKey::new("N", "M", vec![("A".into(), "2".into()), ("B".into(), "1".into())]);
        assert_eq!(a, b);
    }

    #[test]
    fn groups_buckets_into_periods_from_the_start() {
        let key = SeriesKey::new("N", "M", vec![]);
        let mut store = MetricStore::default();
        for s in 0..30u64 {
            put(&mut store, &key, 1_000_000 + s * 1_000, 1.0, true);
        }
        let periods = store.periods(&key, 1_000_000, 1_030_000, 10_000, None);
        assert_eq!(periods.len(), 3);
        assert_eq!(periods[&1_000_000].sample_count, 10.0);
        assert_eq!(periods[&1_020_000].sum, 10.0);
        assert!(
            store
                .periods(&key, 1_000_000, 1_030_000, 10_000, Some("Seconds"))
                .is_empty()
        );
    }

    #[test]
    fn standard_resolution_lands_on_the_minute() {
        let key = SeriesKey::new("N", "M", vec![]);
        let mut store = MetricStore::default();
        put(&mut store, &key, 120_000 + 45_000, 2.0, false);
        let periods = store.periods(&key, 120_000, 180_000, 60_000, None);
        assert_eq!(periods[&120_000].sum, 2.0);
    }

    #[test]
    fn keeps_a_bounded_number_of_buckets() {
        let key = SeriesKey::new("N", "M", vec![]);
        let mut store = MetricStore::default();
        for m in 0..(MAX_BUCKETS_PER_SERIES as u64 + 10) {
            put(&mut store, &key, m * 60_000, 1.0, false);
        }
        let all = store.periods(&key, 0, u64::MAX / 2, 60_000, None);
        assert_eq!(all.len(), MAX_BUCKETS_PER_SERIES);
        assert!(!all.contains_key(&0));
    }
}
