//! Load balancers: CreateLoadBalancer, DescribeLoadBalancers, DeleteLoadBalancer,
//! SetSecurityGroups, SetSubnets, SetIpAddressType, and the provisioning → active timer.
//!
//! Subnets and security groups are checked against the world's simulated network. A load
//! balancer is `provisioning` for [`PROVISIONING_MS`] after it is created, then `active`, so the
//! `load_balancer_available` waiter sees both states. Handlers never open sockets: the proxy
//! learns about load balancers from the routing snapshot.

use ecsim_api::elbv2 as api;
use ecsim_core::Millis;

use super::common::{
    NameKind, R, epoch_seconds, error, lb_not_found, load_balancer_not_found, new_id, paginate, unsupported,
    validate_name, validation,
};
use super::state::{LoadBalancerKind, LoadBalancerRecord, ZoneMapping};
use super::{Elbv2Timer, attributes, tags, usage};
use crate::engine::Ctx;
use crate::world::World;

/// How long a new load balancer stays `provisioning` (virtual time in simulation mode).
pub const PROVISIONING_MS: Millis = 1_000;

/// The Route 53 zone of us-east-1 application load balancers, used for every region.
const ALB_HOSTED_ZONE_ID: &str = "Z35SXDOTRQ7X7K";
/// The Route 53 zone of us-east-1 network load balancers, used for every region.
const NLB_HOSTED_ZONE_ID: &str = "Z26RNL4JYFTOTI";

/// Load balancers of each type an account may have (`DescribeAccountLimits`).
pub const MAX_LOAD_BALANCERS: usize = 50;

pub fn render(lb: &LoadBalancerRecord) -> api::LoadBalancer {
    let security_groups = match lb.kind {
        LoadBalancerKind::Application => Some(lb.security_groups.clone()),
        LoadBalancerKind::Network => (!lb.security_groups.is_empty()).then(|| lb.security_groups.clone()),
    };
    api::LoadBalancer {
        load_balancer_arn: Some(lb.arn.clone()),
        dns_name: Some(lb.dns_name.clone()),
        canonical_hosted_zone_id: Some(
            match lb.kind {
                LoadBalancerKind::Application => ALB_HOSTED_ZONE_ID,
                LoadBalancerKind::Network => NLB_HOSTED_ZONE_ID,
            }
            .into(),
        ),
        created_time: Some(epoch_seconds(lb.created_ms)),
        load_balancer_name: Some(lb.name.clone()),
        scheme: Some(lb.scheme),
        vpc_id: Some(lb.vpc_id.clone()),
        state: Some(api::LoadBalancerState {
            code: Some(lb.state),
            reason: None,
        }),
        r#type: Some(lb.kind.api()),
        availability_zones: Some(render_zones(&lb.zones)),
        security_groups,
        ip_address_type: Some(lb.ip_address_type),
        ..Default::default()
    }
}

fn render_zones(zones: &[ZoneMapping]) -> Vec<api::AvailabilityZone> {
    zones
        .iter()
        .map(|z| api::AvailabilityZone {
            zone_name: Some(z.zone_name.clone()),
            subnet_id: Some(z.subnet_id.clone()),
            load_balancer_addresses: Some(Vec::new()),
            ..Default::default()
        })
        .collect()
}

/// The subnets a load balancer is given, checked: they exist, share one VPC, sit in distinct
/// zones, and (application load balancers) span at least two zones. Returns the VPC and the
/// zone mappings sorted by zone name.
fn resolve_subnets(
    world: &World,
    kind: LoadBalancerKind,
    subnets: Option<Vec<String>>,
    mappings: Option<Vec<api::SubnetMapping>>,
) -> R<(String, Vec<ZoneMapping>)> {
    let ids: Vec<String> = match (subnets, mappings) {
        (Some(s), Some(m)) if !s.is_empty() && !m.is_empty() => {
            return Err(validation(
                "You can specify subnets or subnet mappings, but not both",
            ));
        }
        (Some(s), _) if !s.is_empty() => s,
        (_, Some(m)) if !m.is_empty() => {
            let mut ids = Vec::new();
            for mapping in m {
                if mapping.allocation_id.is_some()
                    || mapping.private_ipv4_address.is_some()
                    || mapping.ipv6_address.is_some()
                    || mapping.source_nat_ipv6_prefix.is_some()
                {
                    return Err(unsupported(
                        "addresses in subnet mappings (AllocationId, PrivateIPv4Address, IPv6Address, SourceNatIpv6Prefix)",
                    ));
                }
                ids.push(mapping.subnet_id.unwrap_or_default());
            }
            ids
        }
        _ => Vec::new(),
    };
    let mut vpc: Option<String> = None;
    let mut zones: Vec<ZoneMapping> = Vec::new();
    for id in ids {
        let subnet = world
            .network
            .subnets
            .get(&id)
            .ok_or_else(|| error("SubnetNotFound", format!("The subnet ID '{id}' is not valid")))?;
        match &vpc {
            Some(v) if *v != subnet.vpc_id => {
                return Err(error(
                    "InvalidConfigurationRequest",
                    format!(
                        "Subnet '{id}' is in VPC '{}', but the other subnets are in VPC '{v}'; all subnets must be in the same VPC",
                        subnet.vpc_id
                    ),
                ));
            }
            _ => vpc = Some(subnet.vpc_id.clone()),
        }
        if zones.iter().any(|z| z.zone_name == subnet.availability_zone) {
            return Err(error(
                "InvalidConfigurationRequest",
                "A load balancer cannot be attached to multiple subnets in the same Availability Zone",
            ));
        }
        zones.push(ZoneMapping {
            zone_name: subnet.availability_zone.clone(),
            subnet_id: subnet.id.clone(),
        });
    }
    match kind {
        LoadBalancerKind::Application if zones.len() < 2 => Err(validation(
            "At least two subnets in two different Availability Zones must be specified",
        )),
        LoadBalancerKind::Network if zones.is_empty() => {
            Err(validation("At least one subnet must be specified"))
        }
        _ => {
            zones.sort_by(|a, b| a.zone_name.cmp(&b.zone_name));
            Ok((vpc.unwrap_or_default(), zones))
        }
    }
}

/// Security groups checked against the VPC; none given means the VPC's `default` group for
/// application load balancers and no group for network load balancers.
fn resolve_security_groups(
    world: &World,
    kind: LoadBalancerKind,
    vpc_id: &str,
    groups: Option<Vec<String>>,
) -> R<Vec<String>> {
    let groups = groups.unwrap_or_default();
    if groups.is_empty() {
        return Ok(match kind {
            LoadBalancerKind::Network => Vec::new(),
            LoadBalancerKind::Application => world
                .network
                .security_groups
                .values()
                .find(|g| g.vpc_id == vpc_id && g.name == "default")
                .map(|g| vec![g.id.clone()])
                .unwrap_or_default(),
        });
    }
    let mut out: Vec<String> = Vec::new();
    for id in groups {
        let group = world.network.security_groups.get(&id).ok_or_else(|| {
            error(
                "InvalidSecurityGroup",
                format!("Security group '{id}' does not exist"),
            )
        })?;
        if group.vpc_id != vpc_id {
            return Err(error(
                "InvalidSecurityGroup",
                format!("Security group '{id}' does not belong to VPC '{vpc_id}'"),
            ));
        }
        if !out.contains(&id) {
            out.push(id);
        }
    }
    Ok(out)
}

fn kind_of(t: Option<api::LoadBalancerTypeEnum>) -> R<LoadBalancerKind> {
    match t.unwrap_or(api::LoadBalancerTypeEnum::Application) {
        api::LoadBalancerTypeEnum::Application => Ok(LoadBalancerKind::Application),
        api::LoadBalancerTypeEnum::Network => Ok(LoadBalancerKind::Network),
        api::LoadBalancerTypeEnum::Gateway => Err(unsupported("Gateway Load Balancers")),
    }
}

fn check_ip_address_type(kind: LoadBalancerKind, t: api::IpAddressType) -> R<()> {
    if kind == LoadBalancerKind::Network && t == api::IpAddressType::DualstackWithoutPublicIpv4 {
        return Err(validation(
            "IP address type 'dualstack-without-public-ipv4' is only available for Application Load Balancers",
        ));
    }
    Ok(())
}

pub fn create(
    world: &mut World,
    ctx: &mut Ctx<'_>,
    input: api::CreateLoadBalancerInput,
) -> R<api::CreateLoadBalancerOutput> {
    validate_name(NameKind::LoadBalancer, &input.name)?;
    let kind = kind_of(input.r#type)?;
    if input.customer_owned_ipv4_pool.is_some() {
        return Err(unsupported("customer-owned IPv4 pools (Outposts)"));
    }
    if input.ipam_pools.is_some() {
        return Err(unsupported("IPAM pools"));
    }
    if input.enable_prefix_for_ipv6_source_nat == Some(api::EnablePrefixForIpv6SourceNatEnum::On) {
        return Err(unsupported("IPv6 prefixes for source NAT"));
    }
    let scheme = input
        .scheme
        .unwrap_or(api::LoadBalancerSchemeEnum::InternetFacing);
    let ip_address_type = input.ip_address_type.unwrap_or(api::IpAddressType::Ipv4);
    check_ip_address_type(kind, ip_address_type)?;
    let (vpc_id, zones) = resolve_subnets(world, kind, input.subnets, input.subnet_mappings)?;
    let groups_given = input.security_groups.as_ref().is_some_and(|g| !g.is_empty());
    let security_groups = resolve_security_groups(world, kind, &vpc_id, input.security_groups)?;
    let tags = tags::new_tags(input.tags)?;

    // CreateLoadBalancer is idempotent: the same name with the same settings answers the
    // existing load balancer.
    if let Some(existing) = world
        .elbv2
        .load_balancers
        .values()
        .find(|lb| lb.name.eq_ignore_ascii_case(&input.name))
    {
        let same = existing.kind == kind
            && existing.scheme == scheme
            && existing.zones == zones
            && existing.ip_address_type == ip_address_type
            && (!groups_given || existing.security_groups == security_groups);
        if !same {
            return Err(error(
                "DuplicateLoadBalancerName",
                format!(
                    "A load balancer with the same name '{}' exists, but with different settings",
                    input.name
                ),
            ));
        }
        return Ok(api::CreateLoadBalancerOutput {
            load_balancers: Some(vec![render(existing)]),
        });
    }
    if world
        .elbv2
        .load_balancers
        .values()
        .filter(|lb| lb.kind == kind)
        .count()
        >= MAX_LOAD_BALANCERS
    {
        return Err(error(
            "TooManyLoadBalancers",
            "The maximum number of load balancers has been reached",
        ));
    }

    let state = &mut world.elbv2;
    let id = new_id(ctx.rng, |id| state.load_balancers.values().any(|lb| lb.id == id));
    let arn = world.arn(
        "elasticloadbalancing",
        &format!("loadbalancer/{}/{}/{id}", kind.segment(), input.name),
    );
    let prefix = if scheme == api::LoadBalancerSchemeEnum::Internal {
        "internal-"
    } else {
        ""
    };
    let dns_name = format!(
        "{prefix}{}-{}.{}.elb.localhost",
        input.name,
        ctx.rng.digits(10),
        world.region
    )
    .to_ascii_lowercase();
    let seq = world.elbv2.seq();
    let record = LoadBalancerRecord {
        arn: arn.clone(),
        name: input.name,
        id,
        seq,
        kind,
        scheme,
        dns_name,
        vpc_id,
        zones,
        security_groups,
        ip_address_type,
        state: api::LoadBalancerStateEnum::Provisioning,
        created_ms: ctx.now_ms,
        attributes: Default::default(),
        tags,
    };
    let out = render(&record);
    world.elbv2.load_balancers.insert(arn.clone(), record);
    world.elbv2.routes_dirty = true;
    super::schedule(
        ctx,
        ctx.now_ms + PROVISIONING_MS,
        Elbv2Timer::LoadBalancerActive { arn },
    );
    Ok(api::CreateLoadBalancerOutput {
        load_balancers: Some(vec![out]),
    })
}

/// A provisioning load balancer becomes active.
pub fn on_active(world: &mut World, arn: &str) {
    if let Some(lb) = world.elbv2.load_balancers.get_mut(arn)
        && lb.state == api::LoadBalancerStateEnum::Provisioning
    {
        lb.state = api::LoadBalancerStateEnum::Active;
    }
}

pub fn describe(
    world: &World,
    input: api::DescribeLoadBalancersInput,
) -> R<api::DescribeLoadBalancersOutput> {
    let arns = input.load_balancer_arns.unwrap_or_default();
    let names = input.names.unwrap_or_default();
    if !arns.is_empty() && !names.is_empty() {
        return Err(validation(
            "Load balancer names and load balancer ARNs cannot be specified at the same time",
        ));
    }
    let mut all: Vec<&LoadBalancerRecord> = world.elbv2.load_balancers.values().collect();
    all.sort_by_key(|lb| lb.seq);
    let selected: Vec<&LoadBalancerRecord> = if !arns.is_empty() {
        let missing: Vec<String> = arns
            .iter()
            .filter(|a| !world.elbv2.load_balancers.contains_key(*a))
            .cloned()
            .collect();
        if !missing.is_empty() {
            return Err(load_balancer_not_found(&missing));
        }
        all.into_iter().filter(|lb| arns.contains(&lb.arn)).collect()
    } else if !names.is_empty() {
        let missing: Vec<String> = names
            .iter()
            .filter(|n| !all.iter().any(|lb| lb.name == **n))
            .cloned()
            .collect();
        if !missing.is_empty() {
            return Err(load_balancer_not_found(&missing));
        }
        all.into_iter().filter(|lb| names.contains(&lb.name)).collect()
    } else {
        all
    };
    let (page, next_marker) = paginate(selected, input.marker.as_deref(), input.page_size)?;
    Ok(api::DescribeLoadBalancersOutput {
        load_balancers: Some(page.into_iter().map(render).collect()),
        next_marker,
    })
}

/// Deletes a load balancer with its listeners and rules; its target groups stay. Deleting one
/// that does not exist succeeds, as in AWS.
pub fn delete(
    world: &mut World,
    ctx: &mut Ctx<'_>,
    input: api::DeleteLoadBalancerInput,
) -> R<api::DeleteLoadBalancerOutput> {
    let arn = input.load_balancer_arn;
    if arn.is_empty() {
        return Err(validation("A load balancer ARN must be specified"));
    }
    let Some(lb) = world.elbv2.load_balancers.get(&arn) else {
        return Ok(api::DeleteLoadBalancerOutput {});
    };
    if attributes::deletion_protected(lb) {
        return Err(error(
            "OperationNotPermitted",
            format!("Load balancer '{arn}' cannot be deleted because deletion protection is enabled"),
        ));
    }
    let listeners: Vec<String> = world
        .elbv2
        .listeners
        .values()
        .filter(|l| l.load_balancer_arn == arn)
        .map(|l| l.arn.clone())
        .collect();
    world
        .elbv2
        .rules
        .retain(|_, r| !listeners.contains(&r.listener_arn));
    for l in &listeners {
        world.elbv2.listeners.remove(l);
    }
    world.elbv2.load_balancers.remove(&arn);
    world.elbv2.routes_dirty = true;
    usage::refresh(world, ctx);
    Ok(api::DeleteLoadBalancerOutput {})
}

fn find<'w>(world: &'w World, arn: &str) -> R<&'w LoadBalancerRecord> {
    world
        .elbv2
        .load_balancers
        .get(arn)
        .ok_or_else(|| lb_not_found(arn))
}

pub fn set_security_groups(
    world: &mut World,
    input: api::SetSecurityGroupsInput,
) -> R<api::SetSecurityGroupsOutput> {
    let lb = find(world, &input.load_balancer_arn)?;
    if lb.kind == LoadBalancerKind::Network && lb.security_groups.is_empty() {
        return Err(error(
            "InvalidConfigurationRequest",
            "You can't associate security groups with a Network Load Balancer that was created without any",
        ));
    }
    if input.security_groups.is_empty() && lb.kind == LoadBalancerKind::Application {
        return Err(validation("At least one security group must be specified"));
    }
    let groups = if input.security_groups.is_empty() {
        Vec::new()
    } else {
        resolve_security_groups(world, lb.kind, &lb.vpc_id, Some(input.security_groups))?
    };
    if let Some(lb) = world.elbv2.load_balancers.get_mut(&input.load_balancer_arn) {
        lb.security_groups = groups.clone();
    }
    Ok(api::SetSecurityGroupsOutput {
        security_group_ids: Some(groups),
        ..Default::default()
    })
}

pub fn set_subnets(world: &mut World, input: api::SetSubnetsInput) -> R<api::SetSubnetsOutput> {
    let lb = find(world, &input.load_balancer_arn)?;
    let (kind, vpc) = (lb.kind, lb.vpc_id.clone());
    if input.enable_prefix_for_ipv6_source_nat == Some(api::EnablePrefixForIpv6SourceNatEnum::On) {
        return Err(unsupported("IPv6 prefixes for source NAT"));
    }
    let (new_vpc, zones) = resolve_subnets(world, kind, input.subnets, input.subnet_mappings)?;
    if new_vpc != vpc {
        return Err(error(
            "InvalidConfigurationRequest",
            format!("The subnets must be in the load balancer's VPC '{vpc}'"),
        ));
    }
    if let Some(t) = input.ip_address_type {
        check_ip_address_type(kind, t)?;
    }
    let lb = world
        .elbv2
        .load_balancers
        .get_mut(&input.load_balancer_arn)
        .ok_or_else(|| lb_not_found(&input.load_balancer_arn))?;
    lb.zones = zones;
    if let Some(t) = input.ip_address_type {
        lb.ip_address_type = t;
    }
    Ok(api::SetSubnetsOutput {
        availability_zones: Some(render_zones(&lb.zones)),
        ip_address_type: Some(lb.ip_address_type),
        ..Default::default()
    })
}

pub fn set_ip_address_type(
    world: &mut World,
    input: api::SetIpAddressTypeInput,
) -> R<api::SetIpAddressTypeOutput> {
    let lb = find(world, &input.load_balancer_arn)?;
    check_ip_address_type(lb.kind, input.ip_address_type)?;
    if let Some(lb) = world.elbv2.load_balancers.get_mut(&input.load_balancer_arn) {
        lb.ip_address_type = input.ip_address_type;
    }
    Ok(api::SetIpAddressTypeOutput {
        ip_address_type: Some(input.ip_address_type),
    })
}
