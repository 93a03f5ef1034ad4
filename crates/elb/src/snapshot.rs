//! The routing snapshot: everything the data plane needs to route a request, built by the control
//! plane after each change and published whole. Readers never lock the world; a new snapshot
//! replaces the old one for the next request while requests in flight finish on the old one.
//!
//! The only mutable parts are the atomic counters that spread requests (round robin positions,
//! outstanding requests); they never change where the snapshot says traffic may go.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, AtomicU64};

/// Every load balancer of every world, as the data plane sees it.
#[derive(Debug, Default)]
pub struct RoutingSnapshot {
    /// Increases with every publication.
    pub version: u64,
    pub load_balancers: Vec<LoadBalancerRoutes>,
    /// Every target group any listener of any load balancer forwards to, indexed by
    /// [`GroupRef`]. Shared so that a group forwarded to by several listeners keeps one
    /// round-robin position and one outstanding-request count per target.
    pub target_groups: Vec<TargetGroupRoutes>,
}

/// Index of a target group in [`RoutingSnapshot::target_groups`].
pub type GroupRef = usize;

#[derive(Debug)]
pub struct LoadBalancerRoutes {
    pub arn: String,
    pub name: String,
    /// Lower case, as `DescribeLoadBalancers` reports it.
    pub dns_name: String,
    /// The `LoadBalancer` metric dimension: `app/<name>/<id>`.
    pub metric_dimension: String,
    /// `application` or `network`.
    pub kind: LoadBalancerKind,
    /// `idle_timeout.timeout_seconds` (default 60): a target that sends no response for this long
    /// gets a 504.
    pub idle_timeout_ms: u64,
    pub listeners: Vec<ListenerRoutes>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LoadBalancerKind {
    Application,
    Network,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ListenerProtocol {
    Http,
    Https,
    /// Network load balancers: bytes are relayed to the chosen target, no HTTP parsing.
    Tcp,
}

#[derive(Debug)]
pub struct ListenerRoutes {
    pub arn: String,
    /// The port the API reports (`Port` in `CreateListener`); the proxy binds it on 127.0.0.1
    /// when it can, else a free port of its choosing.
    pub port: u16,
    pub protocol: ListenerProtocol,
    /// Non-default rules, sorted by ascending priority.
    pub rules: Vec<RuleRoutes>,
    /// The default rule's actions, evaluated when no other rule matches.
    pub default_actions: ActionRoutes,
}

#[derive(Debug)]
pub struct RuleRoutes {
    pub arn: String,
    pub priority: u32,
    /// Every condition must match (AND); the values inside one condition are alternatives (OR).
    pub conditions: Vec<Condition>,
    pub actions: ActionRoutes,
}

/// A rule condition, with values as the API stores them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Condition {
    /// Patterns with `*` (any run) and `?` (one character), case-insensitive.
    HostHeader(Vec<String>),
    /// Patterns with `*` and `?`, case-sensitive, matched against the path without the query.
    PathPattern(Vec<String>),
    /// Header name (case-insensitive) and value patterns with `*`/`?`, case-insensitive.
    HttpHeader { name: String, values: Vec<String> },
    /// Exact, case-sensitive method names.
    HttpRequestMethod(Vec<String>),
    /// Key/value pairs; a missing key matches any key. Both sides may use `*`/`?`,
    /// case-insensitive, compared after percent-decoding the request's query string.
    QueryString(Vec<QueryPair>),
    /// CIDR blocks (IPv4 or IPv6) matched against the client's address.
    SourceIp(Vec<String>),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueryPair {
    pub key: Option<String>,
    pub value: String,
}

/// The terminal action of a rule (authentication actions are refused by the API, so they never
/// reach the data plane).
#[derive(Debug)]
pub enum ActionRoutes {
    Forward(ForwardRoute),
    FixedResponse(FixedResponse),
    Redirect(Redirect),
}

#[derive(Debug)]
pub struct ForwardRoute {
    /// Target groups with their weights (0–999), in the order the API returned them.
    pub groups: Vec<WeightedGroup>,
    /// Target-group stickiness (`AWSALBTG` cookie) for this many seconds, when enabled.
    pub group_stickiness_s: Option<u32>,
    /// Smooth weighted round-robin order over `groups` (indexes into `groups`), one period of
    /// length `sum(weights)`. Empty when every weight is 0.
    pub schedule: Vec<u16>,
    /// Requests forwarded by this action so far: the position in `schedule`.
    pub next: AtomicU64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WeightedGroup {
    pub group: GroupRef,
    pub weight: u32,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FixedResponse {
    pub status_code: u16,
    pub content_type: Option<String>,
    pub body: Option<String>,
}

/// A redirect as configured: each part may use `#{protocol}`, `#{host}`, `#{port}`, `#{path}`
/// and `#{query}`; the defaults keep the request's own part.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Redirect {
    pub protocol: String,
    pub host: String,
    pub port: String,
    pub path: String,
    pub query: String,
    /// 301 (`HTTP_301`) or 302 (`HTTP_302`).
    pub status_code: u16,
}

#[derive(Debug)]
pub struct TargetGroupRoutes {
    pub arn: String,
    /// The `TargetGroup` metric dimension: `targetgroup/<name>/<id>`.
    pub metric_dimension: String,
    /// `LoadBalancer` dimensions of the load balancers whose listeners forward here.
    pub load_balancer_dimensions: Vec<String>,
    /// HTTP or HTTPS towards the targets.
    pub target_protocol: TargetProtocol,
    pub algorithm: Algorithm,
    pub stickiness: Option<Stickiness>,
    /// Fail-open threshold: with fewer healthy targets than this, every registered target that is
    /// not draining receives traffic (`target_group_health.unhealthy_state_routing.
    /// minimum_healthy_targets.count`, default 1).
    pub min_healthy_targets: u32,
    /// Registered targets that may receive new requests: every state but `draining` and `unused`.
    pub targets: Vec<TargetRoute>,
    /// Round-robin position.
    pub next: AtomicU64,
    /// Seed for `weighted_random` picks (from the engine's seed and the group's ARN).
    pub seed: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TargetProtocol {
    Http,
    Https,
    Tcp,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Algorithm {
    RoundRobin,
    LeastOutstandingRequests,
    WeightedRandom,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Stickiness {
    /// The load balancer's own `AWSALB` cookie.
    LbCookie { duration_s: u32 },
    /// Follows the application's cookie `cookie_name`; ecsim's `AWSALBAPP-0` cookie names the
    /// target.
    AppCookie { cookie_name: String, duration_s: u32 },
}

#[derive(Debug)]
pub struct TargetRoute {
    /// `Target.Id` as registered (an IP address or an instance id).
    pub id: String,
    /// `Target.Port` as registered.
    pub port: u16,
    pub availability_zone: String,
    pub health: RouteHealth,
    pub dial: Dial,
    /// Requests forwarded to this target and not yet answered.
    pub outstanding: AtomicU32,
    /// An injected latency / error-rate fault the data plane applies in front of a loopback
    /// target (simulated targets carry faults inside their [`SimulatedTarget`] instead).
    pub fault: Option<TargetFault>,
}

/// A fault the data plane plays in front of a real (loopback) target: wait `latency_ms`, then
/// answer `error_status` itself for exactly `error_rate` of the requests (spread evenly, counted
/// from this snapshot's publication), forwarding the rest. Those answers count as the target's.
#[derive(Debug)]
pub struct TargetFault {
    pub latency_ms: u64,
    /// Share of requests answered with `error_status`, 0.0–1.0.
    pub error_rate: f64,
    pub error_status: u16,
    /// Requests that met this fault so far: the error-rate position.
    pub seen: AtomicU64,
}

/// The health states in which a target may still receive traffic (`draining` and `unused`
/// targets are left out of the snapshot).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RouteHealth {
    Initial,
    Healthy,
    Unhealthy,
}

/// How the data plane reaches a target.
#[derive(Debug, Clone, PartialEq)]
pub enum Dial {
    /// A socket on loopback: a Docker task's published port or a loopback IP target.
    Loopback(SocketAddr),
    /// A task on the simulated runtime: the answer comes from its behaviour model.
    Simulated(Arc<SimulatedTarget>),
    /// Never dialed (not loopback and not an ecsim task): the request fails as a refused
    /// connection would, and the reason is what DescribeTargetHealth says.
    Refused(String),
}

/// The part of a simulated task's behaviour model that shapes its HTTP answers.
#[derive(Debug, Clone, PartialEq)]
pub struct SimulatedTarget {
    pub task_arn: String,
    /// Share of requests answered with `error_status`, 0.0–1.0.
    pub error_rate: f64,
    pub error_status: u16,
    pub latency_ms: u64,
    /// The task definition revision's `ECSIM_VERSION` (or `family:revision`), echoed in bodies
    /// so a caller can tell blue from green.
    pub version: String,
}

impl ForwardRoute {
    /// A forward action over `groups`, with its weighted schedule computed.
    pub fn new(groups: Vec<WeightedGroup>, group_stickiness_s: Option<u32>) -> Self {
        let weights: Vec<u32> = groups.iter().map(|g| g.weight).collect();
        Self {
            schedule: crate::weights::smooth_schedule(&weights),
            groups,
            group_stickiness_s,
            next: AtomicU64::new(0),
        }
    }
}

impl LoadBalancerRoutes {
    /// The listener a request to the gateway with `Host: <dns name>[:port]` reaches: the one on
    /// `port` when there is one, else the port-80 listener, else the lowest port. (A client that
    /// names the gateway's own port in `Host`, as curl does, gets the default listener.)
    pub fn listener_for_port(&self, port: Option<u16>) -> Option<&ListenerRoutes> {
        port.and_then(|p| self.listeners.iter().find(|l| l.port == p))
            .or_else(|| self.listeners.iter().find(|l| l.port == 80))
            .or_else(|| self.listeners.iter().min_by_key(|l| l.port))
    }
}

impl RoutingSnapshot {
    /// The load balancer whose DNS name is `host` (case-insensitive, without a port).
    pub fn load_balancer_by_dns(&self, host: &str) -> Option<&LoadBalancerRoutes> {
        self.load_balancers
            .iter()
            .find(|lb| lb.dns_name.eq_ignore_ascii_case(host))
    }

    /// Healthy targets of the group whose `TargetGroup` metric dimension is `dimension` (the
    /// divisor of `RequestCountPerTarget`).
    pub fn healthy_targets(&self, dimension: &str) -> u32 {
        let n = self
            .target_groups
            .iter()
            .filter(|g| g.metric_dimension == dimension)
            .flat_map(|g| &g.targets)
            .filter(|t| t.health == RouteHealth::Healthy)
            .count();
        u32::try_from(n).unwrap_or(u32::MAX)
    }

    /// The listener with this ARN and its load balancer.
    pub fn listener(&self, arn: &str) -> Option<(&LoadBalancerRoutes, &ListenerRoutes)> {
        self.load_balancers
            .iter()
            .find_map(|lb| lb.listeners.iter().find(|l| l.arn == arn).map(|l| (lb, l)))
    }
}

/// Carries each weighted forward action's position in its schedule from `old` to `new` when the
/// action is unchanged (same listener or rule, same target groups and weights). The engine
/// rebuilds the snapshot after every routing change — a target turning healthy, say — and
/// restarting each schedule there would bias the split towards the groups scheduled first (a
/// 75/25 split rebuilt every three requests sends nothing to the 25).
pub fn carry_schedule_positions(old: &RoutingSnapshot, new: &RoutingSnapshot) {
    use std::sync::atomic::Ordering;
    let arns = |snapshot: &RoutingSnapshot, route: &ForwardRoute| -> Vec<(String, u32)> {
        route
            .groups
            .iter()
            .map(|g| {
                let arn = snapshot
                    .target_groups
                    .get(g.group)
                    .map_or_else(String::new, |t| t.arn.clone());
                (arn, g.weight)
            })
            .collect()
    };
    let carry = |before: &ActionRoutes, after: &ActionRoutes| {
        if let (ActionRoutes::Forward(b), ActionRoutes::Forward(a)) = (before, after)
            && b.schedule == a.schedule
            && arns(old, b) == arns(new, a)
        {
            a.next.store(b.next.load(Ordering::Relaxed), Ordering::Relaxed);
        }
    };
    for listener in new.load_balancers.iter().flat_map(|lb| lb.listeners.iter()) {
        let Some(previous) = old
            .load_balancers
            .iter()
            .flat_map(|lb| lb.listeners.iter())
            .find(|l| l.arn == listener.arn)
        else {
            continue;
        };
        carry(&previous.default_actions, &listener.default_actions);
        for rule in &listener.rules {
            if let Some(before) = previous.rules.iter().find(|r| r.arn == rule.arn) {
                carry(&before.actions, &rule.actions);
            }
        }
    }
}

#[cfg(test)]
mod carry_tests {
    use std::sync::atomic::Ordering;

    use super::*;
    use crate::test_support::{forward, group, listener, snapshot};

    fn weighted(blue: u32, green: u32) -> RoutingSnapshot {
        snapshot(
            vec![group("blue", vec![]), group("green", vec![])],
            vec![listener(80, vec![], forward(&[(0, blue), (1, green)], None))],
        )
    }

    fn position(s: &RoutingSnapshot) -> u64 {
        match &s.load_balancers[0].listeners[0].default_actions {
            ActionRoutes::Forward(f) => f.next.load(Ordering::Relaxed),
            _ => unreachable!("a forward action"),
        }
    }

    #[test]
    fn an_unchanged_split_keeps_its_place_and_a_changed_one_starts_over() {
        let old = weighted(75, 25);
        if let ActionRoutes::Forward(f) = &old.load_balancers[0].listeners[0].default_actions {
            f.next.store(3, Ordering::Relaxed);
        }
        let same = weighted(75, 25);
        carry_schedule_positions(&old, &same);
        assert_eq!(position(&same), 3);
        let changed = weighted(0, 100);
        carry_schedule_positions(&old, &changed);
        assert_eq!(position(&changed), 0);
    }
}
