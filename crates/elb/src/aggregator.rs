//! The per-minute aggregation of load balancer request outcomes into `AWS/ApplicationELB`
//! metric data, built for the request path: counting allocates nothing after a minute's first
//! request per (load balancer, target group, zone); dimension sets are built at flush time.

use std::collections::{BTreeMap, HashMap};

use ecsim_core::{MetricDatum, Millis};

use crate::metrics::{
    AVAILABILITY_ZONE, Dimensions, LOAD_BALANCER, MINUTE_MS, RequestOutcome, TARGET_GROUP, datum, dims,
    elb_code_metric, minute_start, status_class_metric,
};

/// Collects request outcomes into one-minute buckets. Cheap to count into (the proxy records
/// every request): a request is counted under its (load balancer, target group, zone) without
/// allocating, and the dimension sets are built only when a minute is flushed. The tests check
/// that it produces exactly what the straightforward reference aggregation produces.
#[derive(Debug, Default)]
pub struct MinuteAggregator {
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

/// A minute as `ecsim_elb::MinuteAggregator` keeps it.
#[derive(Default)]
struct Expanded {
    counts: BTreeMap<(&'static str, Dimensions), u64>,
    response_times: BTreeMap<Dimensions, BTreeMap<u64, u64>>,
    group_requests: BTreeMap<(String, String), u64>,
}

impl MinuteAggregator {
    /// Whether nothing is waiting to be flushed.
    pub fn is_empty(&self) -> bool {
        self.buckets.is_empty()
    }

    /// Counts `outcome` in the minute `at_ms` falls in.
    pub fn record(&mut self, at_ms: Millis, outcome: &RequestOutcome<'_>) {
        let minute = minute_start(at_ms);
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

    /// Every minute that ended at or before `now_ms`, as data (removed from the aggregator),
    /// sorted by minute, metric name and dimensions.
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

    /// Every minute, ended or not.
    pub fn flush_all(&mut self, healthy_targets_in_group: &dyn Fn(&str) -> u32) -> Vec<MetricDatum> {
        Self::emit(std::mem::take(&mut self.buckets), healthy_targets_in_group)
    }

    /// The minute's outcomes expanded into AWS's dimension sets.
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
    use crate::metrics::ReferenceAggregator;

    /// The same outcomes give the same data as the reference aggregation.
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
        let mut theirs = ReferenceAggregator::default();
        let mut ours = MinuteAggregator::default();
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
