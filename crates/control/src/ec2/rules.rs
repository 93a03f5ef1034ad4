//! Security group rules: Authorize/Revoke Security Group Ingress/Egress.
//!
//! Requests are broken into single rules (protocol, ports, one source) before anything changes, so
//! a bad rule leaves the group as it was. Rule ids and prefix lists are not simulated.

use std::net::Ipv6Addr;

use ecsim_api::ec2 as api;
use ecsim_protocol::AwsError;

use super::filter::{Kind, dry_run};
use super::groups::resolve;
use crate::network::{IpPermission, Network, SecurityGroup};
use crate::topology::Cidr;

/// Inbound or outbound rules.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Direction {
    Ingress,
    Egress,
}

/// The members the four rule operations share.
#[derive(Debug, Default)]
pub(super) struct RuleRequest {
    pub dry_run: Option<bool>,
    pub group_id: Option<String>,
    pub group_name: Option<String>,
    pub ip_permissions: Option<Vec<api::IpPermission>>,
    pub cidr_ip: Option<String>,
    pub ip_protocol: Option<String>,
    pub from_port: Option<i32>,
    pub to_port: Option<i32>,
    pub source_group_name: Option<String>,
    pub rule_ids: Option<Vec<String>>,
}

impl From<api::AuthorizeSecurityGroupIngressRequest> for RuleRequest {
    fn from(r: api::AuthorizeSecurityGroupIngressRequest) -> Self {
        Self {
            dry_run: r.dry_run,
            group_id: r.group_id,
            group_name: r.group_name,
            ip_permissions: r.ip_permissions,
            cidr_ip: r.cidr_ip,
            ip_protocol: r.ip_protocol,
            from_port: r.from_port,
            to_port: r.to_port,
            source_group_name: r.source_security_group_name,
            rule_ids: None,
        }
    }
}

impl From<api::AuthorizeSecurityGroupEgressRequest> for RuleRequest {
    fn from(r: api::AuthorizeSecurityGroupEgressRequest) -> Self {
        Self {
            dry_run: r.dry_run,
            group_id: Some(r.group_id),
            group_name: None,
            ip_permissions: r.ip_permissions,
            cidr_ip: r.cidr_ip,
            ip_protocol: r.ip_protocol,
            from_port: r.from_port,
            to_port: r.to_port,
            source_group_name: r.source_security_group_name,
            rule_ids: None,
        }
    }
}

impl From<api::RevokeSecurityGroupIngressRequest> for RuleRequest {
    fn from(r: api::RevokeSecurityGroupIngressRequest) -> Self {
        Self {
            dry_run: r.dry_run,
            group_id: r.group_id,
            group_name: r.group_name,
            ip_permissions: r.ip_permissions,
            cidr_ip: r.cidr_ip,
            ip_protocol: r.ip_protocol,
            from_port: r.from_port,
            to_port: r.to_port,
            source_group_name: r.source_security_group_name,
            rule_ids: r.security_group_rule_ids,
        }
    }
}

impl From<api::RevokeSecurityGroupEgressRequest> for RuleRequest {
    fn from(r: api::RevokeSecurityGroupEgressRequest) -> Self {
        Self {
            dry_run: r.dry_run,
            group_id: Some(r.group_id),
            group_name: None,
            ip_permissions: r.ip_permissions,
            cidr_ip: r.cidr_ip,
            ip_protocol: r.ip_protocol,
            from_port: r.from_port,
            to_port: r.to_port,
            source_group_name: r.source_security_group_name,
            rule_ids: r.security_group_rule_ids,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Source {
    V4(String),
    V6(String),
    Group(String),
}

impl Source {
    fn key(&self) -> &str {
        match self {
            Source::V4(s) | Source::V6(s) | Source::Group(s) => s,
        }
    }
}

/// One rule: a protocol, a port range and one peer.
#[derive(Debug, Clone)]
struct Rule {
    protocol: String,
    from: Option<i32>,
    to: Option<i32>,
    source: Source,
    description: Option<String>,
}

impl Rule {
    fn same(&self, other: &Rule) -> bool {
        self.protocol == other.protocol
            && self.from == other.from
            && self.to == other.to
            && self.source == other.source
    }

    fn in_permission(&self, p: &IpPermission) -> bool {
        p.ip_protocol == self.protocol
            && p.from_port == self.from
            && p.to_port == self.to
            && match &self.source {
                Source::V4(c) => p.cidr_ipv4.contains(c),
                Source::V6(c) => p.cidr_ipv6.contains(c),
                Source::Group(g) => p.source_groups.contains(g),
            }
    }

    fn describe(&self) -> String {
        let proto = if self.protocol == "-1" {
            "ALL".to_string()
        } else {
            self.protocol.to_ascii_uppercase()
        };
        match (self.from, self.to) {
            (Some(f), Some(t)) => {
                format!(
                    "peer: {}, {proto}, from port: {f}, to port: {t}, ALLOW",
                    self.source.key()
                )
            }
            _ => format!("peer: {}, {proto}, ALLOW", self.source.key()),
        }
    }
}

fn invalid(msg: String) -> AwsError {
    AwsError::client("InvalidParameterValue", msg)
}

/// `tcp`/`6` → `tcp`, `-1`/`all` → `-1`, other numbers 0–255 kept; anything else is refused.
fn protocol(p: &str) -> Result<String, AwsError> {
    let lower = p.to_ascii_lowercase();
    Ok(match lower.as_str() {
        "-1" | "all" => "-1".into(),
        "tcp" | "6" => "tcp".into(),
        "udp" | "17" => "udp".into(),
        "icmp" | "1" => "icmp".into(),
        "icmpv6" | "58" => "icmpv6".into(),
        n => match n.parse::<u8>() {
            Ok(number) => number.to_string(),
            Err(_) => {
                return Err(invalid(format!(
                    "Invalid value '{p}' for IP protocol. Unknown protocol."
                )));
            }
        },
    })
}

/// The ports a rule keeps: TCP/UDP need a range inside 0–65535, ICMP a type and code (−1 = all),
/// every other protocol covers all ports and drops them.
fn ports(protocol: &str, from: Option<i32>, to: Option<i32>) -> Result<(Option<i32>, Option<i32>), AwsError> {
    match protocol {
        "tcp" | "udp" => match (from, to) {
            (Some(f), Some(t)) if (0..=65535).contains(&f) && (0..=65535).contains(&t) && f <= t => {
                Ok((Some(f), Some(t)))
            }
            (Some(f), Some(t)) => Err(invalid(format!("Invalid value '{f}-{t}' for portRange."))),
            _ => Err(invalid(
                "Invalid value 'Must specify both from and to ports with TCP/UDP.' for portRange".into(),
            )),
        },
        "icmp" | "icmpv6" => {
            let (f, t) = (from.unwrap_or(-1), to.unwrap_or(-1));
            if (-1..=255).contains(&f) && (-1..=255).contains(&t) {
                Ok((Some(f), Some(t)))
            } else {
                Err(invalid(format!(
                    "Invalid value '{f}/{t}' for ICMP type and code."
                )))
            }
        }
        _ => Ok((None, None)),
    }
}

fn v4(cidr: &str) -> Result<Source, AwsError> {
    Cidr::parse(cidr)
        .map(|c| Source::V4(c.to_string()))
        .ok_or_else(|| invalid(format!("CIDR block {cidr} is malformed")))
}

fn v6(cidr: &str) -> Result<Source, AwsError> {
    let ok = cidr.split_once('/').is_some_and(|(addr, len)| {
        addr.parse::<Ipv6Addr>().is_ok() && len.parse::<u8>().is_ok_and(|l| l <= 128)
    });
    if ok {
        Ok(Source::V6(cidr.to_ascii_lowercase()))
    } else {
        Err(invalid(format!("CIDR block {cidr} is malformed")))
    }
}

fn description(d: Option<&String>) -> Result<Option<String>, AwsError> {
    match d {
        Some(d) if d.chars().count() > 255 => {
            Err(invalid("Rule descriptions are limited to 255 characters.".into()))
        }
        Some(d) if d.is_empty() => Ok(None),
        other => Ok(other.cloned()),
    }
}

/// A referenced group: by id anywhere in the account, by name inside the target's VPC.
fn peer_group(
    network: &Network,
    target: &SecurityGroup,
    pair: &api::UserIdGroupPair,
) -> Result<Source, AwsError> {
    if let Some(id) = &pair.group_id {
        Kind::Group.check(id)?;
        let Some(peer) = network.security_groups.get(id) else {
            return Err(Kind::Group.not_found(&[id]));
        };
        // Without VPC peering (not simulated) a rule can only name groups of its own VPC.
        if peer.vpc_id != target.vpc_id {
            return Err(AwsError::client(
                "InvalidGroup.NotFound",
                "You have specified two resources that belong to different networks.",
            ));
        }
        return Ok(Source::Group(peer.id.clone()));
    }
    let Some(name) = &pair.group_name else {
        return Err(AwsError::client(
            "MissingParameter",
            "Either the group id or the group name must be given for a referenced security group",
        ));
    };
    network
        .security_groups
        .values()
        .find(|g| g.vpc_id == target.vpc_id && &g.name == name)
        .map(|g| Source::Group(g.id.clone()))
        .ok_or_else(|| {
            AwsError::client(
                "InvalidGroup.NotFound",
                format!(
                    "The security group '{name}' does not exist in VPC '{}'",
                    target.vpc_id
                ),
            )
        })
}

/// Breaks a request into single rules, validating everything.
fn rules(network: &Network, target: &SecurityGroup, req: &RuleRequest) -> Result<Vec<Rule>, AwsError> {
    let legacy = req.cidr_ip.is_some() || req.source_group_name.is_some() || req.ip_protocol.is_some();
    let perms = req.ip_permissions.as_deref().unwrap_or_default();
    if !perms.is_empty() && legacy {
        return Err(AwsError::client(
            "InvalidParameterCombination",
            "The parameter 'ipPermissions' may not be used in combination with 'cidrIp', 'ipProtocol' or 'sourceSecurityGroupName'",
        ));
    }
    let mut out = Vec::new();
    if legacy {
        let source = match (&req.cidr_ip, &req.source_group_name) {
            (Some(cidr), None) => v4(cidr)?,
            (None, Some(name)) => peer_group(
                network,
                target,
                &api::UserIdGroupPair {
                    group_name: Some(name.clone()),
                    ..Default::default()
                },
            )?,
            (Some(_), Some(_)) => {
                return Err(AwsError::client(
                    "InvalidParameterCombination",
                    "The parameter 'cidrIp' may not be used in combination with 'sourceSecurityGroupName'",
                ));
            }
            (None, None) => {
                return Err(AwsError::client(
                    "MissingParameter",
                    "The request must contain the parameter cidrIp",
                ));
            }
        };
        let proto = protocol(req.ip_protocol.as_deref().unwrap_or("-1"))?;
        let (from, to) = ports(&proto, req.from_port, req.to_port)?;
        out.push(Rule {
            protocol: proto,
            from,
            to,
            source,
            description: None,
        });
        return Ok(out);
    }
    if perms.is_empty() {
        return Err(AwsError::client(
            "MissingParameter",
            "The request must contain the parameter ipPermissions",
        ));
    }
    for p in perms {
        let Some(raw) = p.ip_protocol.as_deref() else {
            return Err(AwsError::client(
                "MissingParameter",
                "The request must contain the parameter ipPermissions.ipProtocol",
            ));
        };
        let proto = protocol(raw)?;
        let (from, to) = ports(&proto, p.from_port, p.to_port)?;
        let mut sources = Vec::new();
        for r in p.ip_ranges.as_deref().unwrap_or_default() {
            let cidr = r.cidr_ip.as_deref().unwrap_or_default();
            sources.push((v4(cidr)?, description(r.description.as_ref())?));
        }
        for r in p.ipv6_ranges.as_deref().unwrap_or_default() {
            let cidr = r.cidr_ipv6.as_deref().unwrap_or_default();
            sources.push((v6(cidr)?, description(r.description.as_ref())?));
        }
        for pair in p.user_id_group_pairs.as_deref().unwrap_or_default() {
            sources.push((
                peer_group(network, target, pair)?,
                description(pair.description.as_ref())?,
            ));
        }
        if let Some(pl) = p.prefix_list_ids.as_deref().unwrap_or_default().first() {
            let id = pl.prefix_list_id.as_deref().unwrap_or_default();
            return Err(AwsError::client(
                "InvalidPrefixListId.NotFound",
                format!("The prefix list ID '{id}' does not exist"),
            ));
        }
        if sources.is_empty() {
            return Err(invalid(
                "Each permission needs at least one IPv4 range, IPv6 range or security group".into(),
            ));
        }
        for (source, description) in sources {
            out.push(Rule {
                protocol: proto.clone(),
                from,
                to,
                source,
                description,
            });
        }
    }
    Ok(out)
}

fn permissions(group: &mut SecurityGroup, direction: Direction) -> &mut Vec<IpPermission> {
    match direction {
        Direction::Ingress => &mut group.ingress,
        Direction::Egress => &mut group.egress,
    }
}

fn target(network: &Network, req: &RuleRequest) -> Result<SecurityGroup, AwsError> {
    let id = resolve(network, req.group_id.as_deref(), req.group_name.as_deref())?;
    network
        .security_groups
        .get(&id)
        .cloned()
        .ok_or_else(|| Kind::Group.not_found(&[&id]))
}

/// Adds rules; any rule that already exists (or repeats in the request) refuses the whole call.
pub(super) fn authorize(
    network: &mut Network,
    direction: Direction,
    req: RuleRequest,
) -> Result<(), AwsError> {
    dry_run(req.dry_run)?;
    let mut group = target(network, &req)?;
    let new = rules(network, &group, &req)?;
    let perms = permissions(&mut group, direction);
    for (i, rule) in new.iter().enumerate() {
        if perms.iter().any(|p| rule.in_permission(p)) || new[..i].iter().any(|r| r.same(rule)) {
            return Err(AwsError::client(
                "InvalidPermission.Duplicate",
                format!("the specified rule \"{}\" already exists", rule.describe()),
            ));
        }
    }
    for rule in new {
        let index = match perms
            .iter()
            .position(|p| p.ip_protocol == rule.protocol && p.from_port == rule.from && p.to_port == rule.to)
        {
            Some(i) => i,
            None => {
                perms.push(IpPermission {
                    ip_protocol: rule.protocol.clone(),
                    from_port: rule.from,
                    to_port: rule.to,
                    ..IpPermission::default()
                });
                perms.len() - 1
            }
        };
        let perm = &mut perms[index];
        if let Some(d) = &rule.description {
            perm.descriptions.insert(rule.source.key().to_string(), d.clone());
        }
        match rule.source {
            Source::V4(c) => perm.cidr_ipv4.push(c),
            Source::V6(c) => perm.cidr_ipv6.push(c),
            Source::Group(g) => perm.source_groups.push(g),
        }
    }
    network.security_groups.insert(group.id.clone(), group);
    Ok(())
}

/// Removes rules. Rules that do not exist come back as `UnknownIpPermissions` in the default VPC;
/// elsewhere they fail the call with `InvalidPermission.NotFound` and nothing is removed.
pub(super) fn revoke(
    network: &mut Network,
    direction: Direction,
    req: RuleRequest,
) -> Result<Vec<api::IpPermission>, AwsError> {
    dry_run(req.dry_run)?;
    let mut group = target(network, &req)?;
    if let Some(id) = req.rule_ids.as_deref().unwrap_or_default().first() {
        return Err(AwsError::client(
            "InvalidSecurityGroupRuleId.NotFound",
            format!("The security group rule ID '{id}' does not exist"),
        ));
    }
    let wanted = rules(network, &group, &req)?;
    let in_default_vpc = network.vpcs.get(&group.vpc_id).is_some_and(|v| v.is_default);
    let perms = permissions(&mut group, direction);
    let (known, unknown): (Vec<Rule>, Vec<Rule>) = wanted
        .into_iter()
        .partition(|r| perms.iter().any(|p| r.in_permission(p)));
    if !unknown.is_empty() && !in_default_vpc {
        return Err(AwsError::client(
            "InvalidPermission.NotFound",
            "The specified rule does not exist in this security group.",
        ));
    }
    for rule in &known {
        for perm in perms.iter_mut().filter(|p| rule.in_permission(p)) {
            match &rule.source {
                Source::V4(c) => perm.cidr_ipv4.retain(|x| x != c),
                Source::V6(c) => perm.cidr_ipv6.retain(|x| x != c),
                Source::Group(g) => perm.source_groups.retain(|x| x != g),
            }
            perm.descriptions.remove(rule.source.key());
        }
    }
    perms.retain(|p| !(p.cidr_ipv4.is_empty() && p.cidr_ipv6.is_empty() && p.source_groups.is_empty()));
    network.security_groups.insert(group.id.clone(), group);
    Ok(unknown.iter().map(rule_to_api).collect())
}

fn rule_to_api(rule: &Rule) -> api::IpPermission {
    let mut p = IpPermission {
        ip_protocol: rule.protocol.clone(),
        from_port: rule.from,
        to_port: rule.to,
        ..IpPermission::default()
    };
    match &rule.source {
        Source::V4(c) => p.cidr_ipv4.push(c.clone()),
        Source::V6(c) => p.cidr_ipv6.push(c.clone()),
        Source::Group(g) => p.source_groups.push(g.clone()),
    }
    to_api(&p, "")
}

/// A stored permission in the API's shape; group peers belong to `account`.
pub(super) fn to_api(p: &IpPermission, account: &str) -> api::IpPermission {
    let described = |key: &String| p.descriptions.get(key).cloned();
    api::IpPermission {
        ip_protocol: Some(p.ip_protocol.clone()),
        from_port: p.from_port,
        to_port: p.to_port,
        user_id_group_pairs: Some(
            p.source_groups
                .iter()
                .map(|g| api::UserIdGroupPair {
                    description: described(g),
                    user_id: (!account.is_empty()).then(|| account.to_string()),
                    group_id: Some(g.clone()),
                    ..Default::default()
                })
                .collect(),
        ),
        ip_ranges: Some(
            p.cidr_ipv4
                .iter()
                .map(|c| api::IpRange {
                    description: described(c),
                    cidr_ip: Some(c.clone()),
                })
                .collect(),
        ),
        ipv6_ranges: Some(
            p.cidr_ipv6
                .iter()
                .map(|c| api::Ipv6Range {
                    description: described(c),
                    cidr_ipv6: Some(c.clone()),
                })
                .collect(),
        ),
        prefix_list_ids: Some(Vec::new()),
    }
}
