//! Registered targets: RegisterTargets, DeregisterTargets and DescribeTargetHealth, and the
//! functions the ECS side uses to register and deregister task targets.
//!
//! A new target starts `initial` (its group is used by a load balancer) or `unused` (it is not);
//! deregistering starts `draining` for the group's `deregistration_delay.timeout_seconds`, then
//! the target is gone and `ecs::load_balancing::target_drained` is told. Health transitions
//! themselves are `health`'s job.

use std::net::IpAddr;

use ecsim_api::elbv2 as api;

use super::common::{R, error, target_group_not_found, validation};
use super::state::{TargetGroupRecord, TargetRecord, TargetState, TargetType};
use super::{Elbv2Timer, health};
use crate::engine::Ctx;
use crate::topology::{Cidr, parse_ipv4};
use crate::world::World;

/// Targets one group may have.
pub const MAX_TARGETS_PER_GROUP: usize = 1000;

fn invalid_target(message: impl Into<String>) -> ecsim_protocol::AwsError {
    error("InvalidTarget", message)
}

/// `i-` and hex digits, as EC2 instance ids are.
fn is_instance_id(id: &str) -> bool {
    id.strip_prefix("i-").is_some_and(|rest| {
        !rest.is_empty() && rest.len() <= 32 && rest.bytes().all(|b| b.is_ascii_hexdigit())
    })
}

/// Checks a target's id against the group's target type (not its registration).
fn check_id(tg: &TargetGroupRecord, id: &str) -> R<()> {
    match tg.target_type {
        TargetType::Instance if !is_instance_id(id) => Err(invalid_target(format!(
            "The following targets are not valid instances: '{id}'"
        ))),
        TargetType::Ip => match id.parse::<IpAddr>() {
            Ok(IpAddr::V4(_)) if tg.ip_address_type == api::TargetGroupIpAddressTypeEnum::Ipv4 => Ok(()),
            Ok(IpAddr::V6(_)) if tg.ip_address_type == api::TargetGroupIpAddressTypeEnum::Ipv6 => Ok(()),
            Ok(_) => Err(invalid_target(format!(
                "The IP address '{id}' does not match the IP address type '{}' of the target group",
                tg.ip_address_type.as_str()
            ))),
            Err(_) => Err(invalid_target(format!("The IP address '{id}' is not valid"))),
        },
        TargetType::Instance => Ok(()),
    }
}

/// The port a target registers on: as given, else the group's port.
fn target_port(tg: &TargetGroupRecord, port: Option<i32>) -> R<u16> {
    match port {
        None => Ok(tg.port),
        Some(p) => u16::try_from(p)
            .ok()
            .filter(|p| *p >= 1)
            .ok_or_else(|| validation(format!("Target port '{p}' must be from 1 to 65535"))),
    }
}

/// Private ranges AWS accepts for IP targets outside the VPC (RFC 1918, RFC 6598), plus
/// loopback, which ecsim accepts so local processes can be targets.
fn private_or_loopback(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            let o = v4.octets();
            v4.is_loopback()
                || o[0] == 10
                || (o[0] == 172 && (16..=31).contains(&o[1]))
                || (o[0] == 192 && o[1] == 168)
                || (o[0] == 100 && (64..=127).contains(&o[1]))
        }
        IpAddr::V6(v6) => v6.is_loopback() || (v6.segments()[0] & 0xfe00) == 0xfc00,
    }
}

/// The zone a target is reached in: an IP target in a subnet of the group's VPC takes the
/// subnet's zone; other IP targets take `all` (the only value AWS allows outside the VPC);
/// instance targets keep the zone the caller knows, if any.
fn target_zone(world: &World, tg: &TargetGroupRecord, id: &str, given: Option<&str>) -> R<Option<String>> {
    if let Some(z) = given
        && z != "all"
        && world.network.zone(z).is_none()
    {
        return Err(validation(format!("Availability Zone '{z}' is not valid")));
    }
    if tg.target_type == TargetType::Instance {
        return Ok(given.map(str::to_string));
    }
    let ip: IpAddr = id
        .parse()
        .map_err(|_| invalid_target(format!("The IP address '{id}' is not valid")))?;
    let in_vpc = parse_ipv4(id).and_then(|addr| {
        let host = Cidr {
            base: addr,
            prefix_len: 32,
        };
        let vpc = world.network.vpcs.get(&tg.vpc_id)?;
        vpc.cidr.contains(host).then(|| {
            world
                .network
                .subnets
                .values()
                .find(|s| s.vpc_id == tg.vpc_id && s.cidr.contains(host))
                .map(|s| s.availability_zone.clone())
        })
    });
    match in_vpc {
        Some(Some(zone)) => Ok(Some(zone)),
        Some(None) => Ok(Some(given.unwrap_or("all").to_string())),
        None if !private_or_loopback(ip) => Err(invalid_target(format!(
            "The IP address '{id}' is not in a valid range: use an address of the target group's VPC, a private (RFC 1918 or RFC 6598) address or a loopback address"
        ))),
        None => match given {
            None | Some("all") => Ok(Some("all".into())),
            Some(_) => Err(validation(format!(
                "The Availability Zone for IP address '{id}' must be 'all' for Application Load Balancer target groups, when not within the VPC"
            ))),
        },
    }
}

/// Registers target (`id`, `port`) in `tg_arn`, as RegisterTargets does: a new target starts
/// `initial` with a health check due now (or `unused` while no load balancer uses the group);
/// a draining target starts over; a registered one is left as it is. `az` is the target's zone
/// when the caller knows it (the ECS side passes the task's zone).
pub fn register_target(
    world: &mut World,
    ctx: &mut Ctx<'_>,
    tg_arn: &str,
    id: &str,
    port: u16,
    az: Option<&str>,
) -> R<()> {
    let tg = world
        .elbv2
        .target_groups
        .get(tg_arn)
        .ok_or_else(|| target_group_not_found(tg_arn))?;
    check_id(tg, id)?;
    if port == 0 {
        return Err(validation("Target port '0' must be from 1 to 65535"));
    }
    let zone = target_zone(world, tg, id, az)?;
    let key = (id.to_string(), port);
    match tg.targets.get(&key).map(|t| t.state) {
        Some(TargetState::Draining) => {
            health::restart(world, ctx, tg_arn, id, port);
            Ok(())
        }
        Some(_) => Ok(()),
        None => {
            if tg.targets.len() >= MAX_TARGETS_PER_GROUP {
                return Err(error(
                    "TooManyTargets",
                    format!("A target group can have at most {MAX_TARGETS_PER_GROUP} targets"),
                ));
            }
            let seq = world.elbv2.seq();
            let Some(tg) = world.elbv2.target_groups.get_mut(tg_arn) else {
                return Ok(());
            };
            tg.targets.insert(
                key,
                TargetRecord {
                    id: id.to_string(),
                    port,
                    availability_zone: zone,
                    seq,
                    state: TargetState::Unused,
                    reason: Some(api::TargetHealthReasonEnum::TargetNotInUse),
                    description: Some(health::NOT_IN_USE.into()),
                    passes: 0,
                    failures: 0,
                    generation: 0,
                    probe_sequence: 0,
                    in_flight: None,
                    drain_until_ms: None,
                },
            );
            if tg.in_use() {
                health::start_probing(world, ctx, tg_arn, id, port);
            }
            Ok(())
        }
    }
}

/// Deregisters target (`id`, `port`) from `tg_arn`. Returns true when the target is draining
/// now (a `target_drained` call follows when the delay ends); false when it was not registered
/// or was removed at once — with a delay of 0, or when no load balancer uses the group — in
/// which case `ecs::load_balancing::target_drained` has already been called.
pub fn deregister_target(world: &mut World, ctx: &mut Ctx<'_>, tg_arn: &str, id: &str, port: u16) -> bool {
    let Some(tg) = world.elbv2.target_groups.get_mut(tg_arn) else {
        return false;
    };
    let delay_ms = tg.deregistration_delay_ms();
    let in_use = tg.in_use();
    let key = (id.to_string(), port);
    let Some(target) = tg.targets.get_mut(&key) else {
        return false;
    };
    if target.state == TargetState::Draining {
        return true;
    }
    if delay_ms == 0 || !in_use || target.state == TargetState::Unused {
        let was_routed = target.state.probed();
        tg.targets.remove(&key);
        world.elbv2.probe_queue.retain(|p| {
            !(p.key.target_group_arn == tg_arn && p.key.target_id == id && p.key.target_port == port)
        });
        if was_routed {
            world.elbv2.routes_dirty = true;
        }
        crate::ecs::load_balancing::target_drained(world, ctx, tg_arn, id, port);
        return false;
    }
    let until = ctx.now_ms + delay_ms;
    target.generation += 1;
    target.state = TargetState::Draining;
    target.reason = Some(api::TargetHealthReasonEnum::TargetDeregistrationInProgress);
    target.description = Some(health::DRAINING.into());
    target.in_flight = None;
    target.drain_until_ms = Some(until);
    let generation = target.generation;
    world.elbv2.probe_queue.retain(|p| {
        !(p.key.target_group_arn == tg_arn && p.key.target_id == id && p.key.target_port == port)
    });
    world.elbv2.routes_dirty = true;
    super::schedule(
        ctx,
        until,
        Elbv2Timer::DrainEnd {
            target_group_arn: tg_arn.to_string(),
            id: id.to_string(),
            port,
            generation,
        },
    );
    crate::ecs::load_balancing::target_health_changed(world, ctx, tg_arn, id, port);
    true
}

/// The end of a draining period: the target goes and the ECS side hears it drained.
pub fn on_drain_end(
    world: &mut World,
    ctx: &mut Ctx<'_>,
    tg_arn: &str,
    id: &str,
    port: u16,
    generation: u64,
) {
    let Some(tg) = world.elbv2.target_groups.get_mut(tg_arn) else {
        return;
    };
    let key = (id.to_string(), port);
    let current = tg
        .targets
        .get(&key)
        .is_some_and(|t| t.state == TargetState::Draining && t.generation == generation);
    if !current {
        return;
    }
    tg.targets.remove(&key);
    crate::ecs::load_balancing::target_drained(world, ctx, tg_arn, id, port);
}

/// A target's state and reason, as DescribeTargetHealth reports them; `None` when the group
/// does not exist or the target is not registered.
pub fn target_state(
    world: &World,
    tg_arn: &str,
    id: &str,
    port: u16,
) -> Option<(TargetState, Option<api::TargetHealthReasonEnum>)> {
    let t = world
        .elbv2
        .target_groups
        .get(tg_arn)?
        .targets
        .get(&(id.to_string(), port))?;
    Some((t.state, t.reason))
}

pub fn register_targets(
    world: &mut World,
    ctx: &mut Ctx<'_>,
    input: api::RegisterTargetsInput,
) -> R<api::RegisterTargetsOutput> {
    let tg = world
        .elbv2
        .target_groups
        .get(&input.target_group_arn)
        .ok_or_else(|| target_group_not_found(&input.target_group_arn))?;
    if input.targets.is_empty() {
        return Err(validation("At least one target must be specified"));
    }
    // Check every target first, so a refused request registers none.
    let mut checked = Vec::new();
    let mut new_targets = 0;
    for t in &input.targets {
        check_id(tg, &t.id)?;
        if tg.target_type == TargetType::Instance && t.availability_zone.is_some() {
            return Err(validation(
                "An Availability Zone cannot be specified for targets of type 'instance'",
            ));
        }
        if t.quic_server_id.is_some() {
            return Err(super::common::unsupported("QUIC server ids"));
        }
        let port = target_port(tg, t.port)?;
        target_zone(world, tg, &t.id, t.availability_zone.as_deref())?;
        if !tg.targets.contains_key(&(t.id.clone(), port)) {
            new_targets += 1;
        }
        checked.push((t.id.clone(), port, t.availability_zone.clone()));
    }
    if tg.targets.len() + new_targets > MAX_TARGETS_PER_GROUP {
        return Err(error(
            "TooManyTargets",
            format!("A target group can have at most {MAX_TARGETS_PER_GROUP} targets"),
        ));
    }
    for (id, port, az) in checked {
        register_target(world, ctx, &input.target_group_arn, &id, port, az.as_deref())?;
    }
    Ok(api::RegisterTargetsOutput {})
}

pub fn deregister_targets(
    world: &mut World,
    ctx: &mut Ctx<'_>,
    input: api::DeregisterTargetsInput,
) -> R<api::DeregisterTargetsOutput> {
    let tg = world
        .elbv2
        .target_groups
        .get(&input.target_group_arn)
        .ok_or_else(|| target_group_not_found(&input.target_group_arn))?;
    if input.targets.is_empty() {
        return Err(validation("At least one target must be specified"));
    }
    let mut checked = Vec::new();
    for t in &input.targets {
        check_id(tg, &t.id)?;
        checked.push((t.id.clone(), target_port(tg, t.port)?));
    }
    for (id, port) in checked {
        deregister_target(world, ctx, &input.target_group_arn, &id, port);
    }
    Ok(api::DeregisterTargetsOutput {})
}

fn describe_target(tg: &TargetGroupRecord, t: &TargetRecord) -> api::TargetHealthDescription {
    api::TargetHealthDescription {
        target: Some(api::TargetDescription {
            id: t.id.clone(),
            port: Some(i32::from(t.port)),
            availability_zone: t.availability_zone.clone(),
            quic_server_id: None,
        }),
        health_check_port: Some(tg.health_check.port.for_target(t.port).to_string()),
        target_health: Some(api::TargetHealth {
            state: Some(t.state.api()),
            reason: t.reason,
            description: t.description.clone(),
        }),
        ..Default::default()
    }
}

fn not_registered(
    tg: &TargetGroupRecord,
    id: &str,
    port: u16,
    az: Option<String>,
) -> api::TargetHealthDescription {
    api::TargetHealthDescription {
        target: Some(api::TargetDescription {
            id: id.to_string(),
            port: Some(i32::from(port)),
            availability_zone: az,
            quic_server_id: None,
        }),
        health_check_port: Some(tg.health_check.port.for_target(port).to_string()),
        target_health: Some(api::TargetHealth {
            state: Some(api::TargetHealthStateEnum::Unused),
            reason: Some(api::TargetHealthReasonEnum::TargetNotRegistered),
            description: Some(health::NOT_REGISTERED.into()),
        }),
        ..Default::default()
    }
}

pub fn describe_target_health(
    world: &World,
    input: api::DescribeTargetHealthInput,
) -> R<api::DescribeTargetHealthOutput> {
    let tg = world
        .elbv2
        .target_groups
        .get(&input.target_group_arn)
        .ok_or_else(|| target_group_not_found(&input.target_group_arn))?;
    let mut registered: Vec<&TargetRecord> = tg.targets.values().collect();
    registered.sort_by_key(|t| t.seq);
    let out = match input.targets.filter(|t| !t.is_empty()) {
        None => registered.iter().map(|t| describe_target(tg, t)).collect(),
        Some(filter) => {
            let mut out = Vec::new();
            for f in filter {
                check_id(tg, &f.id)?;
                let matching: Vec<&&TargetRecord> = registered
                    .iter()
                    .filter(|t| t.id == f.id && f.port.is_none_or(|p| i32::from(t.port) == p))
                    .collect();
                if matching.is_empty() {
                    let port = target_port(tg, f.port)?;
                    out.push(not_registered(tg, &f.id, port, f.availability_zone));
                } else {
                    out.extend(matching.into_iter().map(|t| describe_target(tg, t)));
                }
            }
            out
        }
    };
    Ok(api::DescribeTargetHealthOutput {
        target_health_descriptions: Some(out),
    })
}
