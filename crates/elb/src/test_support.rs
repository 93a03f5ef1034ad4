//! Test-only helpers: a [`RequestView`] built in code and small routing-snapshot builders.

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr};
use std::sync::atomic::{AtomicU32, AtomicU64};

use crate::router::RequestView;
use crate::snapshot::{
    ActionRoutes, Algorithm, Condition, Dial, ForwardRoute, GroupRef, ListenerProtocol, ListenerRoutes,
    LoadBalancerKind, LoadBalancerRoutes, RouteHealth, RoutingSnapshot, RuleRoutes, TargetGroupRoutes,
    TargetProtocol, TargetRoute, WeightedGroup,
};

/// A request for tests: headers by lower-case name, cookies by name.
#[derive(Debug, Clone)]
pub(crate) struct TestRequest {
    pub method: String,
    pub host: Option<String>,
    pub path: String,
    pub query: Option<String>,
    pub headers: BTreeMap<String, Vec<String>>,
    pub source_ip: IpAddr,
    pub cookies: BTreeMap<String, String>,
}

impl TestRequest {
    pub(crate) fn get(host: &str, path_and_query: &str) -> Self {
        let (path, query) = match path_and_query.split_once('?') {
            Some((p, q)) => (p.to_string(), Some(q.to_string())),
            None => (path_and_query.to_string(), None),
        };
        Self {
            method: "GET".into(),
            host: Some(host.into()),
            path,
            query,
            headers: BTreeMap::new(),
            source_ip: IpAddr::V4(Ipv4Addr::new(192, 0, 2, 10)),
            cookies: BTreeMap::new(),
        }
    }

    pub(crate) fn header(mut self, name: &str, value: &str) -> Self {
        self.headers
            .entry(name.to_ascii_lowercase())
            .or_default()
            .push(value.into());
        self
    }

    pub(crate) fn cookie(mut self, name: &str, value: &str) -> Self {
        self.cookies.insert(name.into(), value.into());
        self
    }

    pub(crate) fn method(mut self, method: &str) -> Self {
        self.method = method.into();
        self
    }

    pub(crate) fn with_source_ip(mut self, ip: &str) -> Self {
        self.source_ip = ip.parse().expect("test ip");
        self
    }
}

impl RequestView for TestRequest {
    fn method(&self) -> &str {
        &self.method
    }
    fn host(&self) -> Option<&str> {
        self.host.as_deref()
    }
    fn path(&self) -> &str {
        &self.path
    }
    fn query(&self) -> Option<&str> {
        self.query.as_deref()
    }
    fn header_values<'a>(&'a self, name: &str) -> Box<dyn Iterator<Item = &'a str> + 'a> {
        match self.headers.get(name) {
            Some(values) => Box::new(values.iter().map(String::as_str)),
            None => Box::new(std::iter::empty()),
        }
    }
    fn source_ip(&self) -> IpAddr {
        self.source_ip
    }
    fn cookie(&self, name: &str) -> Option<&str> {
        self.cookies.get(name).map(String::as_str)
    }
}

pub(crate) fn target(id: &str, port: u16, availability_zone: &str, health: RouteHealth) -> TargetRoute {
    TargetRoute {
        id: id.into(),
        port,
        availability_zone: availability_zone.into(),
        health,
        dial: Dial::Refused("test target".into()),
        outstanding: AtomicU32::new(0),
        fault: None,
    }
}

pub(crate) fn group(name: &str, targets: Vec<TargetRoute>) -> TargetGroupRoutes {
    TargetGroupRoutes {
        arn: format!(
            "arn:aws:elasticloadbalancing:us-east-1:000000000000:targetgroup/{name}/0123456789abcdef"
        ),
        metric_dimension: format!("targetgroup/{name}/0123456789abcdef"),
        load_balancer_dimensions: vec!["app/web/50dc6c495c0c9188".into()],
        target_protocol: TargetProtocol::Http,
        algorithm: Algorithm::RoundRobin,
        stickiness: None,
        min_healthy_targets: 1,
        targets,
        next: AtomicU64::new(0),
        seed: 0x5eed,
    }
}

pub(crate) fn forward(groups: &[(GroupRef, u32)], group_stickiness_s: Option<u32>) -> ActionRoutes {
    let groups = groups
        .iter()
        .map(|&(group, weight)| WeightedGroup { group, weight })
        .collect();
    ActionRoutes::Forward(ForwardRoute::new(groups, group_stickiness_s))
}

pub(crate) fn rule(priority: u32, conditions: Vec<Condition>, actions: ActionRoutes) -> RuleRoutes {
    RuleRoutes {
        arn: format!("rule-{priority}"),
        priority,
        conditions,
        actions,
    }
}

pub(crate) fn listener(port: u16, rules: Vec<RuleRoutes>, default_actions: ActionRoutes) -> ListenerRoutes {
    ListenerRoutes {
        arn: format!("listener-{port}"),
        port,
        protocol: ListenerProtocol::Http,
        rules,
        default_actions,
    }
}

/// One application load balancer `web` with `listeners`, forwarding to `groups`.
pub(crate) fn snapshot(groups: Vec<TargetGroupRoutes>, listeners: Vec<ListenerRoutes>) -> RoutingSnapshot {
    RoutingSnapshot {
        version: 1,
        load_balancers: vec![LoadBalancerRoutes {
            arn: "arn:aws:elasticloadbalancing:us-east-1:000000000000:loadbalancer/app/web/50dc6c495c0c9188"
                .into(),
            name: "web".into(),
            dns_name: "web-1234567890.us-east-1.elb.localhost".into(),
            metric_dimension: "app/web/50dc6c495c0c9188".into(),
            kind: LoadBalancerKind::Application,
            idle_timeout_ms: 60_000,
            listeners,
        }],
        target_groups: groups,
    }
}
