//! Per-minute `AWS/ApplicationELB` metrics of the requests the data plane answers: each outcome
//! is counted (behind a mutex held for one count, without allocating) into an aggregator that
//! produces what [`ecsim_elb::MinuteAggregator`] would at the
//! clock's time, and a background task hands every ended minute to the [`ecsim_core::MetricsSink`]
//! about once a second; shutdown flushes the rest.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Weak};
use std::time::Duration;

use ecsim_core::{MetricDatum, Millis};
use ecsim_elb::{RequestOutcome, RouteHealth, RoutingSnapshot};
use parking_lot::Mutex;

use crate::Inner;

/// How often ended minutes are looked for.
const FLUSH_EVERY: Duration = Duration::from_secs(1);

/// One answered request, before its load balancer is known to the metrics.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Outcome<'a> {
    status: u16,
    target_group: Option<&'a str>,
    availability_zone: Option<&'a str>,
    from_target: bool,
    target_response_time_ms: Option<f64>,
    elb_error: bool,
}

impl<'a> Outcome<'a> {
    /// The load balancer answered as configured (fixed response, redirect).
    pub(crate) fn own(status: u16, target_group: Option<&'a str>) -> Self {
        Self {
            status,
            target_group,
            availability_zone: None,
            from_target: false,
            target_response_time_ms: None,
            elb_error: false,
        }
    }

    /// The load balancer answered with an error of its own (502, 503, 504).
    pub(crate) fn elb_error(
        status: u16,
        target_group: Option<&'a str>,
        availability_zone: Option<&'a str>,
    ) -> Self {
        Self {
            status,
            target_group,
            availability_zone,
            from_target: false,
            target_response_time_ms: None,
            elb_error: true,
        }
    }

    /// A target answered, its head arriving after `response_time_ms`.
    pub(crate) fn target(
        status: u16,
        target_group: Option<&'a str>,
        availability_zone: Option<&'a str>,
        response_time_ms: f64,
    ) -> Self {
        Self {
            status,
            target_group,
            availability_zone,
            from_target: true,
            target_response_time_ms: Some(response_time_ms),
            elb_error: false,
        }
    }
}

/// The aggregator of every load balancer's request outcomes.
#[derive(Debug, Default)]
pub(crate) struct Recorder {
    aggregator: Mutex<Aggregator>,
    /// Start of the last minute whose HealthyHostCount/UnHealthyHostCount went out.
    host_counts_minute: Mutex<Option<Millis>>,
}

impl Recorder {
    pub(crate) fn record(&self, at_ms: Millis, load_balancer: &str, outcome: &Outcome<'_>) {
        let outcome = RequestOutcome {
            load_balancer,
            target_group: outcome.target_group,
            availability_zone: outcome.availability_zone,
            status: outcome.status,
            from_target: outcome.from_target,
            target_response_time_ms: outcome.target_response_time_ms,
            elb_error: outcome.elb_error,
        };
        self.aggregator.lock().record(at_ms, &outcome);
    }

    /// Hands every ended minute to the sink, and once per minute the host counts of every
    /// target group as the current snapshot sees them (gauges, stamped with the minute that just
    /// ended; when virtual time jumps several minutes at once, only the last one is reported).
    fn flush_ended(&self, inner: &Inner) {
        let snapshot = inner.snapshot.load_full();
        let now_ms = inner.config.clock.now_ms();
        let mut data = self
            .aggregator
            .lock()
            .flush_before(now_ms, &|group| healthy_targets(&snapshot, group));
        let ended_minute =
            ecsim_elb::metrics::minute_start(now_ms).checked_sub(ecsim_elb::metrics::MINUTE_MS);
        if let Some(minute) = ended_minute {
            let mut last = self.host_counts_minute.lock();
            if last.is_none_or(|m| m < minute) {
                *last = Some(minute);
                data.extend(ecsim_elb::host_count_metrics(&snapshot, minute));
            }
        }
        if !data.is_empty() {
            inner.config.metrics.put(data);
        }
    }

    /// Hands every minute, ended or not, to the sink.
    pub(crate) fn flush_all(&self, inner: &Inner) {
        let snapshot = inner.snapshot.load_full();
        let data = self
            .aggregator
            .lock()
            .flush_all(&|group| healthy_targets(&snapshot, group));
        if !data.is_empty() {
            inner.config.metrics.put(data);
        }
    }
}

/// Healthy targets of the group whose `TargetGroup` dimension is `group`.
fn healthy_targets(snapshot: &RoutingSnapshot, group: &str) -> u32 {
    let healthy = snapshot
        .target_groups
        .iter()
        .filter(|g| g.metric_dimension == group)
        .flat_map(|g| &g.targets)
        .filter(|t| t.health == RouteHealth::Healthy)
        .count();
    u32::try_from(healthy).unwrap_or(u32::MAX)
}

/// Flushes ended minutes about once a second until shutdown (or until the data plane is gone).
pub(crate) fn spawn_flusher(inner: &Arc<Inner>) {
    let weak: Weak<Inner> = Arc::downgrade(inner);
    let mut stopping = inner.stopping.subscribe();
    inner.runtime.spawn(async move {
        let mut ticks = tokio::time::interval(FLUSH_EVERY);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = ticks.tick() => {}
                _ = stopping.wait_for(|stopping| *stopping) => return,
            }
            let Some(inner) = weak.upgrade() else {
                return;
            };
            inner.metrics.flush_ended(&inner);
            inner.pool.sweep();
        }
    });
}

/// The per-minute aggregation of [`ecsim_elb::MinuteAggregator`], with the same output, but
/// cheap to count into: a request is counted under its (load balancer, target group, zone) with
/// no allocation, and the dimension sets are only built when a minute is flushed. The tests check
/// that both produce the same data from the same outcomes.
#[derive(Debug, Default)]
struct Aggregator {
    /// Minute start → load balancer → outcomes.
    buckets: BTreeMap<Millis, HashMap<Box<str>, Vec<Counted>>>,
}

/// The outcomes of one load balancer's requests with one target group and zone.
#[derive(Debug)]
struct Counted {
    target_group: Option<Box<str>>,
    availability_zone: Option<Box<str>>,
    /// (status, from_target, elb_error) → requests.
    statuses: Vec<((u16, bool, bool), u64)>,
    /// Target response times in seconds, as f64 bits.
    response_times: Vec<u64>,
}

type Dimensions = Vec<(String, String)>;

/// A minute as `ecsim_elb::MinuteAggregator` keeps it.
#[derive(Default)]
struct Expanded {
    counts: BTreeMap<(&'static str, Dimensions), u64>,
    response_times: BTreeMap<Dimensions, BTreeMap<u64, u64>>,
    group_requests: BTreeMap<(String, String), u64>,
}

const LOAD_BALANCER: &str = "LoadBalancer";
const TARGET_GROUP: &str = "TargetGroup";
const AVAILABILITY_ZONE: &str = "AvailabilityZone";

fn dims(pairs: &[(&str, &str)]) -> Dimensions {
    pairs
        .iter()
        .map(|&(name, value)| (name.to_owned(), value.to_owned()))
        .collect()
}

fn status_class_metric(status: u16, from_target: bool) -> Option<&'static str> {
    let name = match (status / 100, from_target) {
        (2, true) => "HTTPCode_Target_2XX_Count",
        (3, true) => "HTTPCode_Target_3XX_Count",
        (4, true) => "HTTPCode_Target_4XX_Count",
        (5, true) => "HTTPCode_Target_5XX_Count",
        (3, false) => "HTTPCode_ELB_3XX_Count",
        (4, false) => "HTTPCode_ELB_4XX_Count",
        (5, false) => "HTTPCode_ELB_5XX_Count",
        _ => return None,
    };
    Some(name)
}

fn elb_code_metric(status: u16) -> Option<&'static str> {
    let name = match status {
        500 => "HTTPCode_ELB_500_Count",
        502 => "HTTPCode_ELB_502_Count",
        503 => "HTTPCode_ELB_503_Count",
        504 => "HTTPCode_ELB_504_Count",
        _ => return None,
    };
    Some(name)
}

fn datum(
    metric_name: &str,
    dimensions: Dimensions,
    timestamp_ms: Millis,
    unit: &str,
    values: Vec<(f64, f64)>,
) -> MetricDatum {
    MetricDatum {
        namespace: ecsim_elb::metrics::NAMESPACE.to_owned(),
        metric_name: metric_name.to_owned(),
        dimensions,
        timestamp_ms,
        unit: unit.to_owned(),
        values,
    }
}

impl Aggregator {
    fn record(&mut self, at_ms: Millis, outcome: &RequestOutcome<'_>) {
        let minute = ecsim_elb::metrics::minute_start(at_ms);
        let bucket = self.buckets.entry(minute).or_default();
        let list = match bucket.get_mut(outcome.load_balancer) {
            Some(list) => list,
            None => bucket.entry(Box::from(outcome.load_balancer)).or_default(),
        };
        let position = list.iter().position(|c| {
            c.target_group.as_deref() == outcome.target_group
                && c.availability_zone.as_deref() == outcome.availability_zone
        });
        let counted = match position {
            Some(i) => &mut list[i],
            None => {
                list.push(Counted {
                    target_group: outcome.target_group.map(Box::from),
                    availability_zone: outcome.availability_zone.map(Box::from),
                    statuses: Vec::new(),
                    response_times: Vec::new(),
                });
                let last = list.len() - 1;
                &mut list[last]
            }
        };
        let key = (outcome.status, outcome.from_target, outcome.elb_error);
        match counted.statuses.iter_mut().find(|(k, _)| *k == key) {
            Some((_, n)) => *n += 1,
            None => counted.statuses.push((key, 1)),
        }
        if let Some(ms) = outcome.target_response_time_ms
            && !ms.is_nan()
        {
            // Non-negative, and +0.0 rather than -0.0, so that the bits order like the values.
            let seconds = (ms / 1000.0).max(0.0) + 0.0;
            counted.response_times.push(seconds.to_bits());
        }
    }

    /// Like `MinuteAggregator::flush_before`.
    fn flush_before(
        &mut self,
        now_ms: Millis,
        healthy_targets_in_group: &dyn Fn(&str) -> u32,
    ) -> Vec<MetricDatum> {
        let Some(last_start) = now_ms.checked_sub(ecsim_elb::metrics::MINUTE_MS) else {
            return Vec::new();
        };
        let pending = self.buckets.split_off(&(last_start + 1));
        let ended = std::mem::replace(&mut self.buckets, pending);
        Self::emit(ended, healthy_targets_in_group)
    }

    /// Like `MinuteAggregator::flush_all`.
    fn flush_all(&mut self, healthy_targets_in_group: &dyn Fn(&str) -> u32) -> Vec<MetricDatum> {
        Self::emit(std::mem::take(&mut self.buckets), healthy_targets_in_group)
    }

    /// What `MinuteAggregator::record` would have made of the minute's outcomes.
    fn expand(lbs: HashMap<Box<str>, Vec<Counted>>) -> Expanded {
        let mut out = Expanded::default();
        for (lb, list) in lbs {
            let lb = &*lb;
            for counted in list {
                let tg = counted.target_group.as_deref();
                let az = counted.availability_zone.as_deref();
                let mut lb_sets = vec![dims(&[(LOAD_BALANCER, lb)])];
                let mut group_sets = Vec::new();
                if let Some(az) = az {
                    lb_sets.push(dims(&[(AVAILABILITY_ZONE, az), (LOAD_BALANCER, lb)]));
                }
                if let Some(tg) = tg {
                    group_sets.push(dims(&[(TARGET_GROUP, tg), (LOAD_BALANCER, lb)]));
                    if let Some(az) = az {
                        group_sets.push(dims(&[
                            (TARGET_GROUP, tg),
                            (AVAILABILITY_ZONE, az),
                            (LOAD_BALANCER, lb),
                        ]));
                    }
                }
                let mut count = |name: &'static str, sets: &[&Vec<Dimensions>], n: u64| {
                    for set in sets.iter().flat_map(|s| s.iter()) {
                        *out.counts.entry((name, set.clone())).or_default() += n;
                    }
                };
                for &((status, from_target, elb_error), n) in &counted.statuses {
                    count("RequestCount", &[&lb_sets, &group_sets], n);
                    if !from_target || elb_error {
                        if let Some(name) = status_class_metric(status, false) {
                            count(name, &[&lb_sets], n);
                        }
                        if let Some(name) = elb_code_metric(status) {
                            count(name, &[&lb_sets], n);
                        }
                    } else if let Some(name) = status_class_metric(status, true) {
                        count(name, &[&lb_sets, &group_sets], n);
                    }
                    if let Some(tg) = tg {
                        *out.group_requests
                            .entry((tg.to_owned(), lb.to_owned()))
                            .or_default() += n;
                    }
                }
                if !counted.response_times.is_empty() {
                    for set in lb_sets.iter().chain(&group_sets) {
                        let distribution = out.response_times.entry(set.clone()).or_default();
                        for &bits in &counted.response_times {
                            *distribution.entry(bits).or_default() += 1;
                        }
                    }
                }
            }
        }
        out
    }

    fn emit(
        buckets: BTreeMap<Millis, HashMap<Box<str>, Vec<Counted>>>,
        healthy_targets_in_group: &dyn Fn(&str) -> u32,
    ) -> Vec<MetricDatum> {
        let mut data = Vec::new();
        for (start, lbs) in buckets {
            let bucket = Self::expand(lbs);
            for ((name, dimensions), n) in bucket.counts {
                if n > 0 {
                    data.push(datum(name, dimensions, start, "Count", vec![(n as f64, 1.0)]));
                }
            }
            for (dimensions, distribution) in bucket.response_times {
                let values = distribution
                    .into_iter()
                    .map(|(bits, n)| (f64::from_bits(bits), n as f64))
                    .collect();
                data.push(datum("TargetResponseTime", dimensions, start, "Seconds", values));
            }
            let mut per_group: BTreeMap<&str, u64> = BTreeMap::new();
            for ((tg, lb), &n) in &bucket.group_requests {
                *per_group.entry(tg).or_default() += n;
                let healthy = f64::from(healthy_targets_in_group(tg).max(1));
                let set = dims(&[(TARGET_GROUP, tg), (LOAD_BALANCER, lb)]);
                data.push(datum(
                    "RequestCountPerTarget",
                    set,
                    start,
                    "Count",
                    vec![(n as f64 / healthy, 1.0)],
                ));
            }
            for (tg, n) in per_group {
                let healthy = f64::from(healthy_targets_in_group(tg).max(1));
                let set = dims(&[(TARGET_GROUP, tg)]);
                data.push(datum(
                    "RequestCountPerTarget",
                    set,
                    start,
                    "Count",
                    vec![(n as f64 / healthy, 1.0)],
                ));
            }
        }
        data.sort_by(|a, b| {
            (a.timestamp_ms, &a.metric_name, &a.dimensions, &a.namespace).cmp(&(
                b.timestamp_ms,
                &b.metric_name,
                &b.dimensions,
                &b.namespace,
            ))
        });
        data
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ecsim_elb::MinuteAggregator;

    /// The same outcomes give the same data as `ecsim_elb::MinuteAggregator`.
    #[test]
    fn aggregates_exactly_like_the_minute_aggregator() {
        let lbs = ["app/web/0123", "app/api/4567", "net/tcp/89ab"];
        let groups = [None, Some("targetgroup/a/01"), Some("targetgroup/b/02")];
        let zones = [None, Some("us-east-1a"), Some("us-east-1b")];
        let statuses = [200, 201, 302, 404, 500, 502, 503, 504, 101];
        let times = [
            None,
            Some(0.0),
            Some(-0.0),
            Some(-3.0),
            Some(2.5),
            Some(25.0),
            Some(f64::NAN),
            Some(1234.5),
        ];
        let mut state = 7_u64;
        let mut draw = |n: usize| {
            state = state.wrapping_add(1);
            let mut z = state.wrapping_mul(0x9E37_79B9_7F4A_7C15);
            z = (z ^ (z >> 31)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            usize::try_from((z ^ (z >> 29)) % n as u64).unwrap_or(0)
        };
        let healthy = |group: &str| u32::try_from(group.len() % 3).unwrap_or(0);
        let mut theirs = MinuteAggregator::default();
        let mut ours = Aggregator::default();
        let t0: Millis = 1_700_000_040_000;
        for step in 0..4_000_u64 {
            let outcome = RequestOutcome {
                load_balancer: lbs[draw(lbs.len())],
                target_group: groups[draw(groups.len())],
                availability_zone: zones[draw(zones.len())],
                status: statuses[draw(statuses.len())],
                from_target: draw(2) == 0,
                target_response_time_ms: times[draw(times.len())],
                elb_error: draw(3) == 0,
            };
            let at = t0 + step * 50 + u64::try_from(draw(1_000)).unwrap_or(0);
            theirs.record(at, &outcome);
            ours.record(at, &outcome);
            if step % 1_000 == 999 {
                let now = at + u64::try_from(draw(30_000)).unwrap_or(0);
                assert_eq!(
                    ours.flush_before(now, &healthy),
                    theirs.flush_before(now, &healthy)
                );
            }
        }
        assert_eq!(ours.flush_before(10, &healthy), theirs.flush_before(10, &healthy));
        let (a, b) = (ours.flush_all(&healthy), theirs.flush_all(&healthy));
        assert!(!a.is_empty());
        assert_eq!(a, b);
        assert!(ours.buckets.is_empty());
    }
}
