//! Per-minute `AWS/ApplicationELB` metrics from request outcomes.
//!
//! The data plane [`MinuteAggregator::record`]s each answered request with the time it was
//! answered; once a minute has ended, [`MinuteAggregator::flush_before`] turns it into
//! [`MetricDatum`]s with the metric names, units and dimension sets CloudWatch shows for an ALB.
//! As AWS does, counters are published only when nonzero, while the host-count gauges of
//! [`host_count_metrics`] are published every minute, zeros included. Output order is
//! deterministic: by minute, then metric name, then dimensions.

#[cfg(test)]
use std::collections::BTreeMap;
use std::collections::BTreeSet;

use ecsim_core::{MetricDatum, Millis};

pub use crate::aggregator::MinuteAggregator;
use crate::snapshot::{RouteHealth, RoutingSnapshot};

/// The namespace of Application Load Balancer metrics.
pub const NAMESPACE: &str = "AWS/ApplicationELB";
/// The namespace of Network Load Balancer metrics (host counts of `net/…` load balancers).
pub const NETWORK_NAMESPACE: &str = "AWS/NetworkELB";
/// The aggregation period.
pub const MINUTE_MS: Millis = 60_000;

pub(crate) const LOAD_BALANCER: &str = "LoadBalancer";
pub(crate) const TARGET_GROUP: &str = "TargetGroup";
pub(crate) const AVAILABILITY_ZONE: &str = "AvailabilityZone";
const COUNT: &str = "Count";
#[cfg(test)]
const SECONDS: &str = "Seconds";

/// One answered request, as the metrics see it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RequestOutcome<'a> {
    /// The `LoadBalancer` dimension value: `app/<name>/<id>`.
    pub load_balancer: &'a str,
    /// The `TargetGroup` dimension value (`targetgroup/<name>/<id>`) when a group was chosen.
    pub target_group: Option<&'a str>,
    /// The zone of the target (or load balancer node) that handled the request, when known.
    pub availability_zone: Option<&'a str>,
    /// The status code the client received.
    pub status: u16,
    /// `true` when a target produced the answer; `false` when the load balancer generated it
    /// (no target 503, 502, 504, fixed response, redirect).
    pub from_target: bool,
    /// Time from sending the request to the target until its response headers arrived.
    pub target_response_time_ms: Option<f64>,
    /// A 5xx the load balancer generated (counts as an ELB code even if `from_target` was set).
    pub elb_error: bool,
}

pub(crate) type Dimensions = Vec<(String, String)>;

#[cfg(test)]
#[derive(Debug, Default)]
struct MinuteBucket {
    /// (metric name, dimensions) → count.
    counts: BTreeMap<(&'static str, Dimensions), u64>,
    /// dimensions → (seconds as f64 bits → count); non-negative f64s order like their bits.
    response_times: BTreeMap<Dimensions, BTreeMap<u64, u64>>,
    /// (target group, load balancer) → requests forwarded to the group.
    group_requests: BTreeMap<(String, String), u64>,
}

/// The straightforward aggregation, kept as the oracle the fast [`MinuteAggregator`] is tested
/// against: every request expands into its dimension sets as it is recorded.
#[cfg(test)]
#[derive(Debug, Default)]
pub(crate) struct ReferenceAggregator {
    /// Minute start → bucket.
    buckets: BTreeMap<Millis, MinuteBucket>,
}

pub(crate) fn dims(pairs: &[(&str, &str)]) -> Dimensions {
    pairs
        .iter()
        .map(|&(name, value)| (name.to_string(), value.to_string()))
        .collect()
}

/// The start of the minute `at_ms` falls in.
pub fn minute_start(at_ms: Millis) -> Millis {
    at_ms - at_ms % MINUTE_MS
}

pub(crate) fn status_class_metric(status: u16, from_target: bool) -> Option<&'static str> {
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

pub(crate) fn elb_code_metric(status: u16) -> Option<&'static str> {
    let name = match status {
        500 => "HTTPCode_ELB_500_Count",
        502 => "HTTPCode_ELB_502_Count",
        503 => "HTTPCode_ELB_503_Count",
        504 => "HTTPCode_ELB_504_Count",
        _ => return None,
    };
    Some(name)
}

pub(crate) fn datum(
    metric_name: &str,
    dimensions: Dimensions,
    timestamp_ms: Millis,
    unit: &str,
    values: Vec<(f64, f64)>,
) -> MetricDatum {
    datum_in(NAMESPACE, metric_name, dimensions, timestamp_ms, unit, values)
}

fn datum_in(
    namespace: &str,
    metric_name: &str,
    dimensions: Dimensions,
    timestamp_ms: Millis,
    unit: &str,
    values: Vec<(f64, f64)>,
) -> MetricDatum {
    MetricDatum {
        namespace: namespace.to_string(),
        metric_name: metric_name.to_string(),
        dimensions,
        timestamp_ms,
        unit: unit.to_string(),
        values,
    }
}

fn sort_data(data: &mut [MetricDatum]) {
    data.sort_by(|a, b| {
        (a.timestamp_ms, &a.metric_name, &a.dimensions, &a.namespace).cmp(&(
            b.timestamp_ms,
            &b.metric_name,
            &b.dimensions,
            &b.namespace,
        ))
    });
}

#[cfg(test)]
impl ReferenceAggregator {
    /// Counts `outcome` in the minute `at_ms` falls in.
    pub fn record(&mut self, at_ms: Millis, outcome: &RequestOutcome<'_>) {
        let bucket = self.buckets.entry(minute_start(at_ms)).or_default();
        let lb = outcome.load_balancer;
        let mut lb_sets = vec![dims(&[(LOAD_BALANCER, lb)])];
        let mut group_sets = Vec::new();
        if let Some(az) = outcome.availability_zone {
            lb_sets.push(dims(&[(AVAILABILITY_ZONE, az), (LOAD_BALANCER, lb)]));
        }
        if let Some(tg) = outcome.target_group {
            group_sets.push(dims(&[(TARGET_GROUP, tg), (LOAD_BALANCER, lb)]));
            if let Some(az) = outcome.availability_zone {
                group_sets.push(dims(&[
                    (TARGET_GROUP, tg),
                    (AVAILABILITY_ZONE, az),
                    (LOAD_BALANCER, lb),
                ]));
            }
            *bucket
                .group_requests
                .entry((tg.to_string(), lb.to_string()))
                .or_default() += 1;
        }
        let all_sets = || lb_sets.iter().chain(&group_sets);
        let mut count = |name: &'static str, sets: &mut dyn Iterator<Item = &Dimensions>| {
            for set in sets {
                *bucket.counts.entry((name, set.clone())).or_default() += 1;
            }
        };

        count("RequestCount", &mut all_sets());
        let elb_generated = !outcome.from_target || outcome.elb_error;
        if elb_generated {
            if let Some(name) = status_class_metric(outcome.status, false) {
                count(name, &mut lb_sets.iter());
            }
            if let Some(name) = elb_code_metric(outcome.status) {
                count(name, &mut lb_sets.iter());
            }
        } else if let Some(name) = status_class_metric(outcome.status, true) {
            count(name, &mut all_sets());
        }

        if let Some(ms) = outcome.target_response_time_ms
            && !ms.is_nan()
        {
            // Non-negative, and +0.0 rather than -0.0, so that the bits order like the values.
            let seconds = (ms / 1000.0).max(0.0) + 0.0;
            for set in all_sets() {
                *bucket
                    .response_times
                    .entry(set.clone())
                    .or_default()
                    .entry(seconds.to_bits())
                    .or_default() += 1;
            }
        }
    }

    /// The metric data of every minute that ended at or before `now_ms`, which are forgotten.
    /// `healthy_targets_in_group` gives a `TargetGroup` dimension's healthy target count, the
    /// divisor of `RequestCountPerTarget`.
    pub fn flush_before(
        &mut self,
        now_ms: Millis,
        healthy_targets_in_group: &dyn Fn(&str) -> u32,
    ) -> Vec<MetricDatum> {
        let Some(last_start) = now_ms.checked_sub(MINUTE_MS) else {
            return Vec::new();
        };
        let pending = self.buckets.split_off(&(last_start + 1));
        let ended = std::mem::replace(&mut self.buckets, pending);
        Self::emit(ended, healthy_targets_in_group)
    }

    /// The metric data of every minute recorded so far, ended or not (at shutdown).
    pub fn flush_all(&mut self, healthy_targets_in_group: &dyn Fn(&str) -> u32) -> Vec<MetricDatum> {
        Self::emit(std::mem::take(&mut self.buckets), healthy_targets_in_group)
    }

    fn emit(
        buckets: BTreeMap<Millis, MinuteBucket>,
        healthy_targets_in_group: &dyn Fn(&str) -> u32,
    ) -> Vec<MetricDatum> {
        let mut data = Vec::new();
        for (start, bucket) in buckets {
            for ((name, dimensions), n) in bucket.counts {
                if n > 0 {
                    data.push(datum(name, dimensions, start, COUNT, vec![(n as f64, 1.0)]));
                }
            }
            for (dimensions, distribution) in bucket.response_times {
                let values = distribution
                    .into_iter()
                    .map(|(bits, n)| (f64::from_bits(bits), n as f64))
                    .collect();
                data.push(datum("TargetResponseTime", dimensions, start, SECONDS, values));
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
                    COUNT,
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
                    COUNT,
                    vec![(n as f64 / healthy, 1.0)],
                ));
            }
        }
        sort_data(&mut data);
        data
    }
}

/// `HealthyHostCount` and `UnHealthyHostCount` of every target group, for each load balancer it
/// serves: per `[TargetGroup, LoadBalancer]` and per zone of its targets
/// `[TargetGroup, AvailabilityZone, LoadBalancer]`, zeros included. Every state but `healthy`
/// counts as unhealthy. Groups of network load balancers (`net/…`) report in `AWS/NetworkELB`.
pub fn host_count_metrics(snapshot: &RoutingSnapshot, minute_start_ms: Millis) -> Vec<MetricDatum> {
    let mut data = Vec::new();
    for group in &snapshot.target_groups {
        let tg = group.metric_dimension.as_str();
        let zones: BTreeSet<&str> = group
            .targets
            .iter()
            .map(|t| t.availability_zone.as_str())
            .collect();
        let counts = |zone: Option<&str>| {
            let in_zone = group
                .targets
                .iter()
                .filter(|t| zone.is_none_or(|z| t.availability_zone == z));
            let (healthy, unhealthy) = in_zone.fold((0_u32, 0_u32), |(h, u), t| {
                if t.health == RouteHealth::Healthy {
                    (h + 1, u)
                } else {
                    (h, u + 1)
                }
            });
            (f64::from(healthy), f64::from(unhealthy))
        };
        for lb in &group.load_balancer_dimensions {
            let namespace = if lb.starts_with("net/") {
                NETWORK_NAMESPACE
            } else {
                NAMESPACE
            };
            let mut push = |dimensions: Dimensions, (healthy, unhealthy): (f64, f64)| {
                for (name, value) in [("HealthyHostCount", healthy), ("UnHealthyHostCount", unhealthy)] {
                    data.push(datum_in(
                        namespace,
                        name,
                        dimensions.clone(),
                        minute_start_ms,
                        COUNT,
                        vec![(value, 1.0)],
                    ));
                }
            };
            push(dims(&[(TARGET_GROUP, tg), (LOAD_BALANCER, lb)]), counts(None));
            for &zone in &zones {
                push(
                    dims(&[(TARGET_GROUP, tg), (AVAILABILITY_ZONE, zone), (LOAD_BALANCER, lb)]),
                    counts(Some(zone)),
                );
            }
        }
    }
    sort_data(&mut data);
    data
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::{group, snapshot, target};

    const LB: &str = "app/web/50dc6c495c0c9188";
    const TG: &str = "targetgroup/blue/0123456789abcdef";
    const T0: Millis = 1_700_000_040_000; // a minute boundary

    fn outcome(status: u16, from_target: bool) -> RequestOutcome<'static> {
        RequestOutcome {
            load_balancer: LB,
            target_group: Some(TG),
            availability_zone: Some("us-east-1a"),
            status,
            from_target,
            target_response_time_ms: from_target.then_some(25.0),
            elb_error: !from_target && status >= 500,
        }
    }

    fn find<'a>(data: &'a [MetricDatum], name: &str, dimensions: &[(&str, &str)]) -> Option<&'a MetricDatum> {
        let dimensions = dims(dimensions);
        data.iter()
            .find(|d| d.metric_name == name && d.dimensions == dimensions)
    }

    fn sum(data: &[MetricDatum], name: &str, dimensions: &[(&str, &str)]) -> Option<f64> {
        find(data, name, dimensions).map(MetricDatum::sum)
    }

    fn two_healthy(_: &str) -> u32 {
        2
    }

    #[test]
    fn minute_starts() {
        assert_eq!(minute_start(T0), T0);
        assert_eq!(minute_start(T0 + 59_999), T0);
        assert_eq!(minute_start(T0 + 60_000), T0 + 60_000);
    }

    #[test]
    fn request_counts_and_target_codes_on_all_four_dimension_sets() {
        let mut agg = MinuteAggregator::default();
        for status in [200, 200, 201, 302, 404, 500] {
            agg.record(T0 + 1_000, &outcome(status, true));
        }
        let data = agg.flush_before(T0 + 60_000, &two_healthy);
        assert!(agg.is_empty());
        let sets: [&[(&str, &str)]; 4] = [
            &[("LoadBalancer", LB)],
            &[("AvailabilityZone", "us-east-1a"), ("LoadBalancer", LB)],
            &[("TargetGroup", TG), ("LoadBalancer", LB)],
            &[
                ("TargetGroup", TG),
                ("AvailabilityZone", "us-east-1a"),
                ("LoadBalancer", LB),
            ],
        ];
        for set in sets {
            assert_eq!(sum(&data, "RequestCount", set), Some(6.0), "{set:?}");
            assert_eq!(sum(&data, "HTTPCode_Target_2XX_Count", set), Some(3.0));
            assert_eq!(sum(&data, "HTTPCode_Target_3XX_Count", set), Some(1.0));
            assert_eq!(sum(&data, "HTTPCode_Target_4XX_Count", set), Some(1.0));
            assert_eq!(sum(&data, "HTTPCode_Target_5XX_Count", set), Some(1.0));
            let rt = find(&data, "TargetResponseTime", set).expect("response time");
            assert_eq!(rt.unit, "Seconds");
            assert_eq!(rt.values, vec![(0.025, 6.0)]);
        }
        assert!(
            data.iter()
                .all(|d| d.namespace == NAMESPACE && d.timestamp_ms == T0)
        );
        assert!(data.iter().all(|d| !d.metric_name.starts_with("HTTPCode_ELB")));
        let request_count = find(&data, "RequestCount", &[("LoadBalancer", LB)]).expect("count");
        assert_eq!(
            (request_count.unit.as_str(), request_count.values.clone()),
            ("Count", vec![(6.0, 1.0)])
        );
    }

    #[test]
    fn elb_codes_only_on_load_balancer_sets() {
        let mut agg = MinuteAggregator::default();
        let mut no_target = outcome(503, false);
        no_target.target_group = Some(TG);
        agg.record(T0, &no_target);
        agg.record(T0, &outcome(502, false));
        agg.record(T0, &outcome(504, false));
        let mut redirect = outcome(301, false);
        redirect.target_group = None;
        agg.record(T0, &redirect);
        let mut fixed = outcome(404, false);
        fixed.target_group = None;
        fixed.availability_zone = None;
        agg.record(T0, &fixed);
        let data = agg.flush_all(&two_healthy);
        let lb: &[(&str, &str)] = &[("LoadBalancer", LB)];
        let az_lb: &[(&str, &str)] = &[("AvailabilityZone", "us-east-1a"), ("LoadBalancer", LB)];
        assert_eq!(sum(&data, "HTTPCode_ELB_5XX_Count", lb), Some(3.0));
        assert_eq!(sum(&data, "HTTPCode_ELB_5XX_Count", az_lb), Some(3.0));
        assert_eq!(sum(&data, "HTTPCode_ELB_502_Count", lb), Some(1.0));
        assert_eq!(sum(&data, "HTTPCode_ELB_503_Count", lb), Some(1.0));
        assert_eq!(sum(&data, "HTTPCode_ELB_504_Count", az_lb), Some(1.0));
        assert_eq!(
            sum(&data, "HTTPCode_ELB_500_Count", lb),
            None,
            "zero counts are not published"
        );
        assert_eq!(sum(&data, "HTTPCode_ELB_3XX_Count", lb), Some(1.0));
        assert_eq!(sum(&data, "HTTPCode_ELB_4XX_Count", lb), Some(1.0));
        assert_eq!(
            sum(&data, "HTTPCode_ELB_4XX_Count", az_lb),
            None,
            "that one had no zone"
        );
        assert_eq!(sum(&data, "RequestCount", lb), Some(5.0));
        assert!(
            data.iter()
                .filter(|d| d.metric_name.starts_with("HTTPCode_ELB"))
                .all(|d| d.dimensions.iter().all(|(n, _)| n != "TargetGroup"))
        );
        assert!(data.iter().all(|d| !d.metric_name.starts_with("HTTPCode_Target")));
        assert!(find(&data, "TargetResponseTime", lb).is_none());
    }

    #[test]
    fn an_elb_error_from_a_target_attempt_counts_as_elb() {
        let mut agg = MinuteAggregator::default();
        let mut bad_gateway = outcome(502, true);
        bad_gateway.elb_error = true;
        agg.record(T0, &bad_gateway);
        let data = agg.flush_all(&two_healthy);
        assert_eq!(
            sum(&data, "HTTPCode_ELB_502_Count", &[("LoadBalancer", LB)]),
            Some(1.0)
        );
        assert_eq!(
            sum(&data, "HTTPCode_Target_5XX_Count", &[("LoadBalancer", LB)]),
            None
        );
    }

    #[test]
    fn response_times_are_a_distribution_of_exact_values() {
        let mut agg = MinuteAggregator::default();
        for ms in [120.0, 5.0, 120.0, 0.0, -0.0, 5.0, 120.0] {
            let mut o = outcome(200, true);
            o.target_response_time_ms = Some(ms);
            agg.record(T0 + 10, &o);
        }
        let mut nan = outcome(200, true);
        nan.target_response_time_ms = Some(f64::NAN);
        agg.record(T0 + 10, &nan);
        let data = agg.flush_all(&two_healthy);
        let rt = find(&data, "TargetResponseTime", &[("LoadBalancer", LB)]).expect("rt");
        assert_eq!(rt.values, vec![(0.0, 2.0), (0.005, 2.0), (0.12, 3.0)]);
        assert_eq!(rt.sample_count(), 7.0);
    }

    #[test]
    fn request_count_per_target_divides_by_healthy_targets() {
        let mut agg = MinuteAggregator::default();
        for _ in 0..6 {
            agg.record(T0, &outcome(200, true));
        }
        let mut other_lb = outcome(200, true);
        other_lb.load_balancer = "app/api/aaaaaaaaaaaaaaaa";
        for _ in 0..2 {
            agg.record(T0, &other_lb);
        }
        let mut lonely = outcome(200, true);
        lonely.target_group = Some("targetgroup/green/fedcba9876543210");
        agg.record(T0, &lonely);
        let healthy = |tg: &str| if tg == TG { 4 } else { 0 };
        let data = agg.flush_all(&healthy);
        assert_eq!(
            sum(&data, "RequestCountPerTarget", &[("TargetGroup", TG)]),
            Some(2.0)
        );
        assert_eq!(
            sum(
                &data,
                "RequestCountPerTarget",
                &[("TargetGroup", TG), ("LoadBalancer", LB)]
            ),
            Some(1.5)
        );
        assert_eq!(
            sum(
                &data,
                "RequestCountPerTarget",
                &[("TargetGroup", TG), ("LoadBalancer", "app/api/aaaaaaaaaaaaaaaa")]
            ),
            Some(0.5)
        );
        // No healthy targets: divided by 1.
        assert_eq!(
            sum(
                &data,
                "RequestCountPerTarget",
                &[("TargetGroup", "targetgroup/green/fedcba9876543210")]
            ),
            Some(1.0)
        );
    }

    #[test]
    fn flushing_emits_only_ended_minutes_once() {
        let mut agg = MinuteAggregator::default();
        agg.record(T0 + 59_999, &outcome(200, true));
        agg.record(T0 + 60_000, &outcome(200, true));
        agg.record(T0 + 60_001, &outcome(200, true));
        agg.record(T0 + 125_000, &outcome(200, true));
        assert!(
            agg.flush_before(T0 + 59_999, &two_healthy).is_empty(),
            "the first minute has not ended"
        );
        assert!(agg.flush_before(0, &two_healthy).is_empty());

        let first = agg.flush_before(T0 + 60_000, &two_healthy);
        assert!(first.iter().all(|d| d.timestamp_ms == T0));
        assert_eq!(sum(&first, "RequestCount", &[("LoadBalancer", LB)]), Some(1.0));
        assert!(
            agg.flush_before(T0 + 60_000, &two_healthy).is_empty(),
            "emitted once"
        );

        let second = agg.flush_before(T0 + 180_000, &two_healthy);
        let minutes: BTreeSet<Millis> = second.iter().map(|d| d.timestamp_ms).collect();
        assert_eq!(minutes, BTreeSet::from([T0 + 60_000, T0 + 120_000]));
        let second_minute: Vec<MetricDatum> = second
            .iter()
            .filter(|d| d.timestamp_ms == T0 + 60_000)
            .cloned()
            .collect();
        assert_eq!(
            sum(&second_minute, "RequestCount", &[("LoadBalancer", LB)]),
            Some(2.0)
        );
        assert!(agg.is_empty());
    }

    #[test]
    fn flush_all_includes_the_current_minute() {
        let mut agg = MinuteAggregator::default();
        agg.record(T0 + 5, &outcome(200, true));
        assert!(agg.flush_before(T0 + 10, &two_healthy).is_empty());
        assert!(!agg.flush_all(&two_healthy).is_empty());
        assert!(agg.flush_all(&two_healthy).is_empty());
    }

    #[test]
    fn output_is_sorted_and_deterministic() {
        let run = || {
            let mut agg = MinuteAggregator::default();
            for (i, status) in [200, 503, 404, 200, 302, 500].into_iter().enumerate() {
                let mut o = outcome(status, status < 500 && status != 302);
                o.availability_zone = Some(if i % 2 == 0 { "us-east-1b" } else { "us-east-1a" });
                agg.record(T0 + i as u64 * 70_000, &o);
            }
            agg.flush_all(&two_healthy)
        };
        let data = run();
        assert_eq!(data, run());
        let keys: Vec<_> = data
            .iter()
            .map(|d| (d.timestamp_ms, d.metric_name.clone(), d.dimensions.clone()))
            .collect();
        let mut sorted = keys.clone();
        sorted.sort();
        assert_eq!(keys, sorted);
    }

    #[test]
    fn host_counts_per_group_load_balancer_and_zone() {
        let mut blue = group(
            "blue",
            vec![
                target("10.0.0.1", 80, "us-east-1a", RouteHealth::Healthy),
                target("10.0.0.2", 80, "us-east-1a", RouteHealth::Unhealthy),
                target("10.0.0.3", 80, "us-east-1b", RouteHealth::Initial),
                target("10.0.0.4", 80, "us-east-1b", RouteHealth::Healthy),
                target("10.0.0.5", 80, "us-east-1b", RouteHealth::Healthy),
            ],
        );
        blue.load_balancer_dimensions
            .push("app/api/aaaaaaaaaaaaaaaa".into());
        let empty = group("green", vec![]);
        let s = snapshot(vec![blue, empty], vec![]);
        let data = host_count_metrics(&s, T0);
        let blue_tg = "targetgroup/blue/0123456789abcdef";
        let green_tg = "targetgroup/green/0123456789abcdef";
        assert_eq!(
            sum(
                &data,
                "HealthyHostCount",
                &[("TargetGroup", blue_tg), ("LoadBalancer", LB)]
            ),
            Some(3.0)
        );
        assert_eq!(
            sum(
                &data,
                "UnHealthyHostCount",
                &[("TargetGroup", blue_tg), ("LoadBalancer", LB)]
            ),
            Some(2.0)
        );
        let zone_a: &[(&str, &str)] = &[
            ("TargetGroup", blue_tg),
            ("AvailabilityZone", "us-east-1a"),
            ("LoadBalancer", LB),
        ];
        let zone_b: &[(&str, &str)] = &[
            ("TargetGroup", blue_tg),
            ("AvailabilityZone", "us-east-1b"),
            ("LoadBalancer", LB),
        ];
        assert_eq!(sum(&data, "HealthyHostCount", zone_a), Some(1.0));
        assert_eq!(sum(&data, "UnHealthyHostCount", zone_a), Some(1.0));
        assert_eq!(sum(&data, "HealthyHostCount", zone_b), Some(2.0));
        assert_eq!(sum(&data, "UnHealthyHostCount", zone_b), Some(1.0));
        let api: &[(&str, &str)] = &[
            ("TargetGroup", blue_tg),
            ("LoadBalancer", "app/api/aaaaaaaaaaaaaaaa"),
        ];
        assert_eq!(sum(&data, "HealthyHostCount", api), Some(3.0));
        // Gauges are published at zero too.
        assert_eq!(
            sum(
                &data,
                "HealthyHostCount",
                &[("TargetGroup", green_tg), ("LoadBalancer", LB)]
            ),
            Some(0.0)
        );
        assert_eq!(
            sum(
                &data,
                "UnHealthyHostCount",
                &[("TargetGroup", green_tg), ("LoadBalancer", LB)]
            ),
            Some(0.0)
        );
        assert!(
            data.iter()
                .all(|d| d.timestamp_ms == T0 && d.unit == "Count" && d.namespace == NAMESPACE)
        );
        // blue: 2 load balancers × (1 + 2 zones) × 2 metrics; green: 1 × 1 × 2.
        assert_eq!(data.len(), 12 + 2);
        assert_eq!(data, host_count_metrics(&s, T0));
    }

    #[test]
    fn network_load_balancer_host_counts_use_their_namespace() {
        let mut g = group(
            "tcp",
            vec![target("10.0.0.1", 80, "us-east-1a", RouteHealth::Healthy)],
        );
        g.load_balancer_dimensions = vec!["net/edge/1111111111111111".into()];
        let data = host_count_metrics(&snapshot(vec![g], vec![]), T0);
        assert!(!data.is_empty());
        assert!(data.iter().all(|d| d.namespace == NETWORK_NAMESPACE));
    }
}
