//! Simulated client traffic through load balancers, on the engine's clock and without sockets:
//! each tick routes a batch of requests through the same routing snapshot the proxy serves
//! (`ecsim_elb::route`: rules, weights, health, fail-open), answers them from the simulated
//! tasks' behaviour models (error rate, latency) and records `AWS/ApplicationELB` metrics.
//!
//! It never dials anything: targets that are real sockets (Docker tasks, loopback IP targets) are
//! counted as "not simulated" and left to real traffic. Deterministic for a given seed and order
//! of calls; it reads no clock.

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr};

use ecsim_core::{MetricDatum, Millis};
use ecsim_elb::metrics::{MinuteAggregator, RequestOutcome};
use ecsim_elb::{Dial, RequestView, RouteDecision, RoutingSnapshot};

/// Most requests one run may send per second of (virtual) time.
pub const MAX_REQUESTS_PER_SECOND: u32 = 1_000;
/// Longest run, in seconds.
pub const MAX_DURATION_S: u32 = 86_400;
/// Runs kept at most (finished ones are dropped first).
pub const MAX_RUNS: usize = 64;
/// Time between ticks.
pub const TICK_MS: Millis = 1_000;
/// The client address simulated requests come from (TEST-NET-2).
pub const CLIENT_IP: IpAddr = IpAddr::V4(Ipv4Addr::new(198, 51, 100, 10));

/// What traffic to send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrafficSpec {
    /// A load balancer ARN or DNS name.
    pub load_balancer: String,
    /// The listener port (else the port-80 listener, else the lowest).
    pub port: Option<u16>,
    pub requests_per_second: u32,
    pub duration_s: u32,
    pub method: String,
    /// Path, starting with `/`, optionally with `?query`.
    pub path: String,
    /// The Host header (default: the load balancer's DNS name).
    pub host: Option<String>,
    pub headers: Vec<(String, String)>,
}

impl TrafficSpec {
    /// Checks the bounds; the message says what is wrong.
    pub fn validate(&self) -> Result<(), String> {
        if self.load_balancer.is_empty() {
            return Err("loadBalancer is required (an ARN or a DNS name)".into());
        }
        if !(1..=MAX_REQUESTS_PER_SECOND).contains(&self.requests_per_second) {
            return Err(format!(
                "requestsPerSecond must be between 1 and {MAX_REQUESTS_PER_SECOND}"
            ));
        }
        if !(1..=MAX_DURATION_S).contains(&self.duration_s) {
            return Err(format!("durationSeconds must be between 1 and {MAX_DURATION_S}"));
        }
        if !self.path.starts_with('/') {
            return Err("path must start with '/'".into());
        }
        if self.method.is_empty() || !self.method.bytes().all(|b| b.is_ascii_uppercase()) {
            return Err("method must be an upper-case HTTP method such as GET".into());
        }
        Ok(())
    }
}

/// One run and what it has seen so far.
#[derive(Debug, Clone)]
pub struct TrafficRun {
    pub id: String,
    pub spec: TrafficSpec,
    pub started_at_ms: Millis,
    pub ends_at_ms: Millis,
    pub sent: u64,
    /// Answers by status code.
    pub statuses: BTreeMap<u16, u64>,
    /// Requests answered by each simulated task (by task ARN).
    pub by_task: BTreeMap<String, u64>,
    /// Answers by (target group ARN, answering task ARN) and status; either is empty when the
    /// load balancer answered itself (no target group, or no target).
    pub outcomes: BTreeMap<(String, String), BTreeMap<u16, u64>>,
    /// Requests routed to targets that only real traffic reaches.
    pub not_simulated: u64,
    /// Requests that found no load balancer or listener (it was deleted).
    pub unroutable: u64,
    pub stopped: bool,
}

impl TrafficRun {
    pub fn finished(&self, now_ms: Millis) -> bool {
        self.stopped || now_ms >= self.ends_at_ms
    }
}

/// Every run, the per-task error counters and the metric aggregator.
#[derive(Debug, Default)]
pub struct Traffic {
    runs: Vec<TrafficRun>,
    next_id: u64,
    /// Requests each simulated task has answered (its error-rate position), by task ARN.
    answered: BTreeMap<String, u64>,
    aggregator: MinuteAggregator,
    pending_metrics: Vec<MetricDatum>,
}

impl Traffic {
    /// Adds a run starting at `now_ms`; returns its id.
    pub fn start(&mut self, now_ms: Millis, spec: TrafficSpec) -> String {
        self.next_id += 1;
        let id = format!("traffic-{}", self.next_id);
        if self.runs.len() >= MAX_RUNS
            && let Some(i) = self.runs.iter().position(|r| r.finished(now_ms))
        {
            self.runs.remove(i);
        }
        let ends_at_ms = now_ms + Millis::from(spec.duration_s) * 1_000;
        self.runs.push(TrafficRun {
            id: id.clone(),
            spec,
            started_at_ms: now_ms,
            ends_at_ms,
            sent: 0,
            statuses: BTreeMap::new(),
            by_task: BTreeMap::new(),
            outcomes: BTreeMap::new(),
            not_simulated: 0,
            unroutable: 0,
            stopped: false,
        });
        id
    }

    pub fn runs(&self) -> &[TrafficRun] {
        &self.runs
    }

    /// Stops a run; false when there is no such run.
    pub fn stop(&mut self, id: &str) -> bool {
        match self.runs.iter_mut().find(|r| r.id == id) {
            Some(r) => {
                r.stopped = true;
                true
            }
            None => false,
        }
    }

    pub fn run_count(&self) -> usize {
        self.runs.len()
    }

    /// Sends one second's worth of run `id`'s requests at `now_ms`; returns whether the run wants
    /// another tick.
    pub fn tick(&mut self, id: &str, now_ms: Millis, routes: &RoutingSnapshot) -> bool {
        let Some(index) = self.runs.iter().position(|r| r.id == id) else {
            return false;
        };
        if self.runs[index].finished(now_ms) {
            return false;
        }
        let spec = self.runs[index].spec.clone();
        for _ in 0..spec.requests_per_second {
            self.send_one(index, &spec, now_ms, routes);
        }
        let healthy = |group: &str| routes.healthy_targets(group);
        // Once no run will send again, the minute in progress is complete too.
        let any_active = self.runs.iter().any(|r| !r.finished(now_ms + TICK_MS));
        let flushed = if any_active {
            self.aggregator.flush_before(now_ms, &healthy)
        } else {
            self.aggregator.flush_all(&healthy)
        };
        self.pending_metrics.extend(flushed);
        !self.runs[index].finished(now_ms + TICK_MS)
    }

    /// Metrics of every minute that ended, for the metrics sink.
    pub fn take_metrics(&mut self) -> Vec<MetricDatum> {
        std::mem::take(&mut self.pending_metrics)
    }

    fn send_one(&mut self, index: usize, spec: &TrafficSpec, now_ms: Millis, routes: &RoutingSnapshot) {
        let lb = routes
            .load_balancers
            .iter()
            .find(|lb| lb.arn == spec.load_balancer || lb.dns_name.eq_ignore_ascii_case(&spec.load_balancer));
        let Some((lb, listener)) = lb.and_then(|lb| lb.listener_for_port(spec.port).map(|l| (lb, l))) else {
            let run = &mut self.runs[index];
            run.sent += 1;
            run.unroutable += 1;
            return;
        };
        let request = SimulatedRequest {
            spec,
            default_host: &lb.dns_name,
        };
        let (status, outcome_group, zone, from_target, response_ms, task) =
            match ecsim_elb::route(routes, listener, &request) {
                RouteDecision::Fixed(f) => (f.status_code, None, None, false, None, None),
                RouteDecision::Redirect { status_code, .. } => (status_code, None, None, false, None, None),
                RouteDecision::NoTarget { group } => (503, group, None, false, None, None),
                RouteDecision::Forward(d) => {
                    let zone = Some(d.target.availability_zone.clone());
                    match &d.target.dial {
                        Dial::Simulated(sim) => {
                            let n = self.answered.entry(sim.task_arn.clone()).or_insert(0);
                            let error = is_error(*n, sim.error_rate);
                            *n += 1;
                            let status = if error { sim.error_status } else { 200 };
                            #[allow(clippy::cast_precision_loss)] // latencies are far below 2^52 ms
                            let response_ms = sim.latency_ms as f64;
                            (
                                status,
                                Some(d.group),
                                zone,
                                true,
                                Some(response_ms),
                                Some(sim.task_arn.clone()),
                            )
                        }
                        Dial::Refused(_) => (502, Some(d.group), zone, false, None, None),
                        Dial::Loopback(_) => {
                            let run = &mut self.runs[index];
                            run.sent += 1;
                            run.not_simulated += 1;
                            return;
                        }
                    }
                }
            };
        let group_dimension = outcome_group.map(|g| routes.target_groups[g].metric_dimension.as_str());
        self.aggregator.record(
            now_ms,
            &RequestOutcome {
                load_balancer: &lb.metric_dimension,
                target_group: group_dimension,
                availability_zone: zone.as_deref(),
                status,
                from_target,
                target_response_time_ms: response_ms,
                elb_error: !from_target && status >= 500,
            },
        );
        let group_arn = outcome_group.map_or_else(String::new, |g| routes.target_groups[g].arn.clone());
        let run = &mut self.runs[index];
        run.sent += 1;
        *run.statuses.entry(status).or_insert(0) += 1;
        let task_key = task.clone().unwrap_or_default();
        *run.outcomes
            .entry((group_arn, task_key))
            .or_default()
            .entry(status)
            .or_insert(0) += 1;
        if let Some(task) = task {
            *run.by_task.entry(task).or_insert(0) += 1;
        }
    }
}

/// Request `n` (from 0) of a target with error rate `rate` is an error when the running count
/// of errors steps up: exactly `rate` of every window, spread evenly.
fn is_error(n: u64, rate: f64) -> bool {
    #[allow(
        clippy::cast_precision_loss,
        clippy::cast_possible_truncation,
        clippy::cast_sign_loss
    )]
    let errors_after = |k: u64| (k as f64 * rate).floor() as u64;
    errors_after(n + 1) > errors_after(n)
}

struct SimulatedRequest<'a> {
    spec: &'a TrafficSpec,
    default_host: &'a str,
}

impl RequestView for SimulatedRequest<'_> {
    fn method(&self) -> &str {
        &self.spec.method
    }

    fn host(&self) -> Option<&str> {
        Some(self.spec.host.as_deref().unwrap_or(self.default_host))
    }

    fn path(&self) -> &str {
        self.spec.path.split('?').next().unwrap_or("/")
    }

    fn query(&self) -> Option<&str> {
        self.spec.path.split_once('?').map(|(_, q)| q)
    }

    fn header_values<'a>(&'a self, name: &str) -> Box<dyn Iterator<Item = &'a str> + 'a> {
        let name = name.to_ascii_lowercase();
        Box::new(
            self.spec
                .headers
                .iter()
                .filter(move |(k, _)| k.eq_ignore_ascii_case(&name))
                .map(|(_, v)| v.as_str()),
        )
    }

    fn source_ip(&self) -> IpAddr {
        CLIENT_IP
    }

    fn cookie(&self, _name: &str) -> Option<&str> {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_positions_are_exact_and_spread() {
        let errors = (0..1_000).filter(|&n| is_error(n, 0.25)).count();
        assert_eq!(errors, 250);
        assert!(!is_error(0, 0.0));
        assert!((0..10).all(|n| is_error(n, 1.0)));
        // No two errors in a row at 25%.
        assert!(!(0..100).any(|n| is_error(n, 0.25) && is_error(n + 1, 0.25)));
    }

    #[test]
    fn specs_are_validated() {
        let spec = TrafficSpec {
            load_balancer: "web".into(),
            port: None,
            requests_per_second: 10,
            duration_s: 60,
            method: "GET".into(),
            path: "/".into(),
            host: None,
            headers: Vec::new(),
        };
        assert!(spec.validate().is_ok());
        for bad in [
            TrafficSpec {
                requests_per_second: 0,
                ..spec.clone()
            },
            TrafficSpec {
                requests_per_second: MAX_REQUESTS_PER_SECOND + 1,
                ..spec.clone()
            },
            TrafficSpec {
                duration_s: 0,
                ..spec.clone()
            },
            TrafficSpec {
                path: "x".into(),
                ..spec.clone()
            },
            TrafficSpec {
                method: "get".into(),
                ..spec.clone()
            },
            TrafficSpec {
                load_balancer: String::new(),
                ..spec.clone()
            },
        ] {
            assert!(bad.validate().is_err(), "{bad:?}");
        }
    }

    #[test]
    fn a_load_balancer_that_does_not_exist_counts_as_unroutable() {
        let mut traffic = Traffic::default();
        let spec = TrafficSpec {
            load_balancer: "nope".into(),
            port: None,
            requests_per_second: 5,
            duration_s: 2,
            method: "GET".into(),
            path: "/".into(),
            host: None,
            headers: Vec::new(),
        };
        let id = traffic.start(0, spec);
        assert!(traffic.tick(&id, 0, &RoutingSnapshot::default()));
        assert!(!traffic.tick(&id, 1_000, &RoutingSnapshot::default()));
        assert!(!traffic.tick(&id, 2_000, &RoutingSnapshot::default()));
        let run = &traffic.runs()[0];
        assert_eq!((run.sent, run.unroutable), (10, 10));
    }
}
