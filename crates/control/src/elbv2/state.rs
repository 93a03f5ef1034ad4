//! ELBv2 resources of one world as plain data: load balancers, target groups with their
//! registered targets, listeners and rules.
//!
//! Records hold what the API stored, normalised (defaults filled in, actions and conditions in
//! one canonical form), so every describe renders the same thing. Nothing here has behaviour
//! beyond small lookups; it must not schedule timers or call the ECS side.

use std::collections::BTreeMap;

use ecsim_api::elbv2 as api;
use ecsim_core::Millis;
use ecsim_elb::{Condition, ProbeRequest};

/// Tags of one resource, by key.
pub type Tags = BTreeMap<String, String>;

/// Every ELBv2 resource of one world.
#[derive(Debug, Clone, Default)]
pub struct Elbv2State {
    /// Load balancers by ARN.
    pub load_balancers: BTreeMap<String, LoadBalancerRecord>,
    /// Target groups by ARN.
    pub target_groups: BTreeMap<String, TargetGroupRecord>,
    /// Listeners by ARN.
    pub listeners: BTreeMap<String, ListenerRecord>,
    /// Non-default rules by ARN (a listener's default rule lives in its [`ListenerRecord`]).
    pub rules: BTreeMap<String, RuleRecord>,
    /// Creation counter: describes list resources in creation order.
    pub next_seq: u64,
    /// Something that changes routing happened since the last routing snapshot.
    pub routes_dirty: bool,
    /// Health-check probes waiting for the data plane, oldest first.
    pub probe_queue: Vec<ProbeRequest>,
}

impl Elbv2State {
    /// The next creation sequence number.
    pub fn seq(&mut self) -> u64 {
        self.next_seq += 1;
        self.next_seq
    }

    /// A listener and the load balancer it belongs to.
    pub fn listener_with_load_balancer(
        &self,
        listener_arn: &str,
    ) -> Option<(&ListenerRecord, &LoadBalancerRecord)> {
        let listener = self.listeners.get(listener_arn)?;
        Some((listener, self.load_balancers.get(&listener.load_balancer_arn)?))
    }

    /// The load balancer a listener belongs to.
    pub fn listener_load_balancer(&self, listener_arn: &str) -> Option<&LoadBalancerRecord> {
        self.listeners
            .get(listener_arn)
            .and_then(|l| self.load_balancers.get(&l.load_balancer_arn))
    }

    /// Listeners of a load balancer, by port.
    pub fn listeners_of<'s>(&'s self, lb_arn: &'s str) -> impl Iterator<Item = &'s ListenerRecord> + 's {
        let mut listeners: Vec<&ListenerRecord> = self
            .listeners
            .values()
            .filter(|l| l.load_balancer_arn == lb_arn)
            .collect();
        listeners.sort_by_key(|l| (l.port, l.seq));
        listeners.into_iter()
    }

    /// Non-default rules of a listener, by priority.
    pub fn rules_of<'s>(&'s self, listener_arn: &'s str) -> impl Iterator<Item = &'s RuleRecord> + 's {
        let mut rules: Vec<&RuleRecord> = self
            .rules
            .values()
            .filter(|r| r.listener_arn == listener_arn)
            .collect();
        rules.sort_by_key(|r| r.priority);
        rules.into_iter()
    }

    /// The listener whose default rule has this ARN.
    pub fn listener_by_default_rule(&self, rule_arn: &str) -> Option<&ListenerRecord> {
        self.listeners.values().find(|l| l.default_rule_arn == rule_arn)
    }
}

/// `application` or `network`; gateway load balancers are refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LoadBalancerKind {
    Application,
    Network,
}

impl LoadBalancerKind {
    /// The ARN and metric-dimension segment: `app` or `net`.
    pub fn segment(self) -> &'static str {
        match self {
            Self::Application => "app",
            Self::Network => "net",
        }
    }

    pub fn api(self) -> api::LoadBalancerTypeEnum {
        match self {
            Self::Application => api::LoadBalancerTypeEnum::Application,
            Self::Network => api::LoadBalancerTypeEnum::Network,
        }
    }
}

/// One enabled Availability Zone of a load balancer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ZoneMapping {
    pub zone_name: String,
    pub subnet_id: String,
}

#[derive(Debug, Clone)]
pub struct LoadBalancerRecord {
    pub arn: String,
    pub name: String,
    /// The 16 hex digits ending the ARN.
    pub id: String,
    pub seq: u64,
    pub kind: LoadBalancerKind,
    pub scheme: api::LoadBalancerSchemeEnum,
    /// Lower case.
    pub dns_name: String,
    pub vpc_id: String,
    /// One subnet per zone, sorted by zone name.
    pub zones: Vec<ZoneMapping>,
    pub security_groups: Vec<String>,
    pub ip_address_type: api::IpAddressType,
    pub state: api::LoadBalancerStateEnum,
    pub created_ms: Millis,
    /// Attributes set explicitly (defaults are filled in on describe).
    pub attributes: BTreeMap<String, String>,
    pub tags: Tags,
}

impl LoadBalancerRecord {
    /// The `LoadBalancer` metric dimension: `app/<name>/<id>` (`net/…` for NLBs).
    pub fn metric_dimension(&self) -> String {
        format!("{}/{}/{}", self.kind.segment(), self.name, self.id)
    }
}

/// `instance` or `ip` (`lambda` and `alb` targets are refused).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TargetType {
    Instance,
    Ip,
}

impl TargetType {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Instance => "instance",
            Self::Ip => "ip",
        }
    }

    pub fn api(self) -> api::TargetTypeEnum {
        match self {
            Self::Instance => api::TargetTypeEnum::Instance,
            Self::Ip => api::TargetTypeEnum::Ip,
        }
    }
}

/// Where health checks connect: each target's own port, or one fixed port.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HealthCheckPort {
    TrafficPort,
    Port(u16),
}

impl HealthCheckPort {
    pub fn render(self) -> String {
        match self {
            Self::TrafficPort => "traffic-port".into(),
            Self::Port(p) => p.to_string(),
        }
    }

    /// The port probes of a target on `target_port` connect to.
    pub fn for_target(self, target_port: u16) -> u16 {
        match self {
            Self::TrafficPort => target_port,
            Self::Port(p) => p,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HealthCheckSettings {
    /// HTTP, HTTPS or TCP.
    pub protocol: api::ProtocolEnum,
    pub port: HealthCheckPort,
    /// HTTP(S) checks only.
    pub path: Option<String>,
    pub interval_s: u32,
    pub timeout_s: u32,
    pub healthy_threshold: u32,
    pub unhealthy_threshold: u32,
    /// `Matcher.HttpCode` (HTTP(S) checks only): `200`, `200,202`, `200-299`.
    pub matcher: Option<String>,
}

#[derive(Debug, Clone)]
pub struct TargetGroupRecord {
    pub arn: String,
    pub name: String,
    pub id: String,
    pub seq: u64,
    /// HTTP or HTTPS (application load balancers), TCP (network load balancers).
    pub protocol: api::ProtocolEnum,
    /// `HTTP1` (default) or `HTTP2` for HTTP(S) groups; none for TCP.
    pub protocol_version: Option<String>,
    pub port: u16,
    pub vpc_id: String,
    pub target_type: TargetType,
    pub ip_address_type: api::TargetGroupIpAddressTypeEnum,
    pub health_check: HealthCheckSettings,
    /// Attributes set explicitly (defaults are filled in on describe).
    pub attributes: BTreeMap<String, String>,
    pub tags: Tags,
    /// Load balancers with a listener or rule forwarding here, in creation order. Kept up to
    /// date by `usage::refresh` after every change to listeners, rules or load balancers.
    pub load_balancer_arns: Vec<String>,
    /// Registered targets (draining ones included) by (id, port).
    pub targets: BTreeMap<(String, u16), TargetRecord>,
}

impl TargetGroupRecord {
    /// Whether any load balancer forwards here: targets are probed and routed only then.
    pub fn in_use(&self) -> bool {
        !self.load_balancer_arns.is_empty()
    }

    /// The `TargetGroup` metric dimension: `targetgroup/<name>/<id>`.
    pub fn metric_dimension(&self) -> String {
        format!("targetgroup/{}/{}", self.name, self.id)
    }

    /// An attribute's current value (set, else its default).
    pub fn attribute(&self, key: &str) -> Option<String> {
        super::attributes::target_group_attributes(self)
            .into_iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v)
    }

    /// `deregistration_delay.timeout_seconds` in milliseconds.
    pub fn deregistration_delay_ms(&self) -> Millis {
        self.attribute("deregistration_delay.timeout_seconds")
            .and_then(|v| v.parse::<Millis>().ok())
            .unwrap_or(300)
            * 1_000
    }

    pub fn target_type_str(&self) -> &'static str {
        self.target_type.as_str()
    }
}

/// A target's health state, as `DescribeTargetHealth` names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum TargetState {
    Initial,
    Healthy,
    Unhealthy,
    Draining,
    Unused,
}

impl TargetState {
    pub fn api(self) -> api::TargetHealthStateEnum {
        match self {
            Self::Initial => api::TargetHealthStateEnum::Initial,
            Self::Healthy => api::TargetHealthStateEnum::Healthy,
            Self::Unhealthy => api::TargetHealthStateEnum::Unhealthy,
            Self::Draining => api::TargetHealthStateEnum::Draining,
            Self::Unused => api::TargetHealthStateEnum::Unused,
        }
    }

    /// Whether the target is health-checked in this state.
    pub fn probed(self) -> bool {
        matches!(self, Self::Initial | Self::Healthy | Self::Unhealthy)
    }
}

/// A probe handed to the data plane whose result has not come back yet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InFlightProbe {
    pub sequence: u64,
    pub queued_at_ms: Millis,
}

#[derive(Debug, Clone)]
pub struct TargetRecord {
    pub id: String,
    pub port: u16,
    /// A zone name or `all`; `None` for instance targets whose zone nobody told us.
    pub availability_zone: Option<String>,
    /// Registration order within the group.
    pub seq: u64,
    pub state: TargetState,
    pub reason: Option<api::TargetHealthReasonEnum>,
    pub description: Option<String>,
    /// Consecutive passed / failed checks.
    pub passes: u32,
    pub failures: u32,
    /// Bumped when probing (re)starts or draining begins; timers of older generations are stale.
    pub generation: u64,
    /// Sequence of the last probe queued for the data plane.
    pub probe_sequence: u64,
    pub in_flight: Option<InFlightProbe>,
    /// When draining ends.
    pub drain_until_ms: Option<Millis>,
}

/// The terminal action of a listener's default rule or of a rule (authentication actions are
/// refused, so there is exactly one).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActionRecord {
    /// `Order` as given (1 when omitted).
    pub order: i32,
    pub kind: ActionKind,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ActionKind {
    Forward {
        /// (target group ARN, weight 0–999) in the order given.
        groups: Vec<(String, i32)>,
        /// `TargetGroupStickinessConfig` as given.
        stickiness: Option<GroupStickiness>,
    },
    FixedResponse {
        status_code: String,
        content_type: Option<String>,
        message_body: Option<String>,
    },
    Redirect {
        protocol: String,
        port: String,
        host: String,
        path: String,
        query: String,
        status_code: api::RedirectActionStatusCodeEnum,
    },
}

impl ActionKind {
    /// Target groups this action forwards to.
    pub fn target_groups(&self) -> impl Iterator<Item = &str> {
        let groups: &[(String, i32)] = match self {
            Self::Forward { groups, .. } => groups,
            _ => &[],
        };
        groups.iter().map(|(arn, _)| arn.as_str())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GroupStickiness {
    pub enabled: bool,
    pub duration_s: Option<i32>,
}

#[derive(Debug, Clone)]
pub struct ListenerRecord {
    pub arn: String,
    pub id: String,
    pub seq: u64,
    pub load_balancer_arn: String,
    /// As given in `CreateListener`.
    pub port: u16,
    /// HTTP or HTTPS (application), TCP (network).
    pub protocol: api::ProtocolEnum,
    pub ssl_policy: Option<String>,
    /// The default certificate (HTTPS).
    pub default_certificate: Option<String>,
    /// Further certificates added with `AddListenerCertificates`.
    pub extra_certificates: Vec<String>,
    pub default_action: ActionRecord,
    pub default_rule_arn: String,
    pub default_rule_tags: Tags,
    pub attributes: BTreeMap<String, String>,
    pub tags: Tags,
}

#[derive(Debug, Clone)]
pub struct RuleRecord {
    pub arn: String,
    pub id: String,
    pub seq: u64,
    pub listener_arn: String,
    /// 1–50000, unique per listener.
    pub priority: u32,
    pub conditions: Vec<Condition>,
    pub action: ActionRecord,
    pub tags: Tags,
}
