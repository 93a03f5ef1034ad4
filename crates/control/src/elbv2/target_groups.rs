//! Target groups: CreateTargetGroup, DescribeTargetGroups, ModifyTargetGroup and
//! DeleteTargetGroup, with the health-check defaults and ranges AWS documents.
//!
//! Only `instance` and `ip` targets with HTTP, HTTPS (application load balancers) or TCP
//! (network load balancers) are emulated; `lambda` and `alb` targets, other protocols and gRPC
//! are refused with a `ValidationError` that says so. Targets themselves live in `targets`.

use ecsim_api::elbv2 as api;

use super::common::{
    NameKind, R, error, new_id, paginate, target_group_not_found, unsupported, validate_name, validation,
};
use super::state::{HealthCheckPort, HealthCheckSettings, TargetGroupRecord, TargetState, TargetType};
use super::{health, tags};
use crate::engine::Ctx;
use crate::world::World;

/// Target groups an account may have (`DescribeAccountLimits`).
pub const MAX_TARGET_GROUPS: usize = 3000;

pub fn render(tg: &TargetGroupRecord) -> api::TargetGroup {
    let hc = &tg.health_check;
    let http_check = hc.protocol != api::ProtocolEnum::Tcp;
    api::TargetGroup {
        target_group_arn: Some(tg.arn.clone()),
        target_group_name: Some(tg.name.clone()),
        protocol: Some(tg.protocol),
        port: Some(i32::from(tg.port)),
        vpc_id: Some(tg.vpc_id.clone()),
        health_check_protocol: Some(hc.protocol),
        health_check_port: Some(hc.port.render()),
        health_check_enabled: Some(true),
        health_check_interval_seconds: Some(to_i32(hc.interval_s)),
        health_check_timeout_seconds: Some(to_i32(hc.timeout_s)),
        healthy_threshold_count: Some(to_i32(hc.healthy_threshold)),
        unhealthy_threshold_count: Some(to_i32(hc.unhealthy_threshold)),
        health_check_path: if http_check { hc.path.clone() } else { None },
        matcher: if http_check {
            hc.matcher.clone().map(|code| api::Matcher {
                http_code: Some(code),
                grpc_code: None,
            })
        } else {
            None
        },
        load_balancer_arns: Some(tg.load_balancer_arns.clone()),
        target_type: Some(tg.target_type.api()),
        protocol_version: tg.protocol_version.clone(),
        ip_address_type: Some(tg.ip_address_type),
        ..Default::default()
    }
}

fn to_i32(v: u32) -> i32 {
    i32::try_from(v).unwrap_or(i32::MAX)
}

/// Health-check parameters as CreateTargetGroup and ModifyTargetGroup carry them.
#[derive(Debug, Default)]
struct HealthCheckInput {
    protocol: Option<api::ProtocolEnum>,
    port: Option<String>,
    enabled: Option<bool>,
    path: Option<String>,
    interval_s: Option<i32>,
    timeout_s: Option<i32>,
    healthy_threshold: Option<i32>,
    unhealthy_threshold: Option<i32>,
    matcher: Option<api::Matcher>,
}

fn in_range(name: &str, v: i32, min: i32, max: i32) -> R<u32> {
    if (min..=max).contains(&v) {
        Ok(u32::try_from(v).unwrap_or(0))
    } else {
        Err(validation(format!(
            "{name} must be between {min} and {max}, but was {v}"
        )))
    }
}

/// The health-check settings after applying `input` to `current` (or to the defaults of a new
/// group with `protocol`), checked as a whole.
fn health_check_settings(
    protocol: api::ProtocolEnum,
    target_type: TargetType,
    current: Option<&HealthCheckSettings>,
    input: HealthCheckInput,
) -> R<HealthCheckSettings> {
    if input.enabled == Some(false) {
        return Err(validation(format!(
            "Health checks cannot be disabled for target groups with target type '{}'",
            target_type.as_str()
        )));
    }
    let tcp_group = protocol == api::ProtocolEnum::Tcp;
    let hc_protocol = match input.protocol {
        Some(p) => p,
        None => match current {
            Some(c) => c.protocol,
            None if tcp_group => api::ProtocolEnum::Tcp,
            None => api::ProtocolEnum::Http,
        },
    };
    match hc_protocol {
        api::ProtocolEnum::Http | api::ProtocolEnum::Https => {}
        api::ProtocolEnum::Tcp if tcp_group => {}
        api::ProtocolEnum::Tcp => {
            return Err(validation(format!(
                "Health check protocol 'TCP' is not supported for target groups with the '{}' protocol",
                protocol.as_str()
            )));
        }
        other => {
            return Err(unsupported(format!(
                "the health check protocol '{}'",
                other.as_str()
            )));
        }
    }
    let http_check = hc_protocol != api::ProtocolEnum::Tcp;
    let port = match input.port.as_deref() {
        None => current.map_or(HealthCheckPort::TrafficPort, |c| c.port),
        Some("traffic-port") => HealthCheckPort::TrafficPort,
        Some(p) => HealthCheckPort::Port(p.parse::<u16>().ok().filter(|p| *p >= 1).ok_or_else(|| {
            validation(format!(
                "Health check port '{p}' must be 'traffic-port' or a port from 1 to 65535"
            ))
        })?),
    };
    let path = if http_check {
        match input.path {
            Some(p) if !p.starts_with('/') => {
                return Err(validation(format!("Health check path '{p}' must start with '/'")));
            }
            Some(p) if p.len() > 1024 => {
                return Err(validation("Health check path must be at most 1024 characters"));
            }
            Some(p) => Some(p),
            None => Some(current.and_then(|c| c.path.clone()).unwrap_or_else(|| "/".into())),
        }
    } else {
        if input.path.is_some() {
            return Err(validation(
                "A health check path can only be specified for HTTP and HTTPS health checks",
            ));
        }
        None
    };
    let default_timeout = if !tcp_group {
        5
    } else {
        match hc_protocol {
            api::ProtocolEnum::Http => 6,
            _ => 10,
        }
    };
    let interval_s = match input.interval_s {
        Some(v) => in_range("Health check interval", v, 5, 300)?,
        None => current.map_or(30, |c| c.interval_s),
    };
    let timeout_s = match input.timeout_s {
        Some(v) => in_range("Health check timeout", v, 2, 120)?,
        None => current.map_or(default_timeout, |c| c.timeout_s),
    };
    let healthy_threshold = match input.healthy_threshold {
        Some(v) => in_range("Healthy threshold count", v, 2, 10)?,
        None => current.map_or(5, |c| c.healthy_threshold),
    };
    let unhealthy_threshold = match input.unhealthy_threshold {
        Some(v) => in_range("Unhealthy threshold count", v, 2, 10)?,
        None => current.map_or(2, |c| c.unhealthy_threshold),
    };
    if timeout_s >= interval_s {
        return Err(validation(format!(
            "Health check interval '{interval_s}' must be greater than the timeout '{timeout_s}'"
        )));
    }
    let (min_code, max_code) = if tcp_group { (200, 599) } else { (200, 499) };
    let matcher = match input.matcher {
        Some(m) => {
            if m.grpc_code.is_some() {
                return Err(unsupported("gRPC health checks (Matcher.GrpcCode)"));
            }
            if !http_check {
                return Err(validation(
                    "A matcher can only be specified for HTTP and HTTPS health checks",
                ));
            }
            let code = m.http_code.unwrap_or_default();
            if health::parse_matcher(&code, min_code, max_code).is_none() {
                return Err(validation(format!(
                    "Matcher HttpCode '{code}' must be a code, a comma-separated list of codes or a range (e.g. '200-299') from {min_code} to {max_code}"
                )));
            }
            Some(code)
        }
        None if http_check => Some(
            current
                .and_then(|c| c.matcher.clone())
                .unwrap_or_else(|| if tcp_group { "200-399".into() } else { "200".into() }),
        ),
        None => None,
    };
    Ok(HealthCheckSettings {
        protocol: hc_protocol,
        port,
        path,
        interval_s,
        timeout_s,
        healthy_threshold,
        unhealthy_threshold,
        matcher,
    })
}

fn target_type_of(t: Option<api::TargetTypeEnum>) -> R<TargetType> {
    match t.unwrap_or(api::TargetTypeEnum::Instance) {
        api::TargetTypeEnum::Instance => Ok(TargetType::Instance),
        api::TargetTypeEnum::Ip => Ok(TargetType::Ip),
        other => Err(unsupported(format!(
            "target groups with target type '{}'",
            other.as_str()
        ))),
    }
}

pub fn create(
    world: &mut World,
    ctx: &mut Ctx<'_>,
    input: api::CreateTargetGroupInput,
) -> R<api::CreateTargetGroupOutput> {
    validate_name(NameKind::TargetGroup, &input.name)?;
    let target_type = target_type_of(input.target_type)?;
    let protocol = input
        .protocol
        .ok_or_else(|| validation("A protocol must be specified"))?;
    match protocol {
        api::ProtocolEnum::Http | api::ProtocolEnum::Https | api::ProtocolEnum::Tcp => {}
        other => {
            return Err(unsupported(format!(
                "target groups with the '{}' protocol",
                other.as_str()
            )));
        }
    }
    let port = input.port.ok_or_else(|| validation("A port must be specified"))?;
    let port = u16::try_from(port)
        .ok()
        .filter(|p| *p >= 1)
        .ok_or_else(|| validation(format!("Port '{port}' must be from 1 to 65535")))?;
    let vpc_id = input
        .vpc_id
        .ok_or_else(|| validation("A VPC ID must be specified"))?;
    if !world.network.vpcs.contains_key(&vpc_id) {
        return Err(validation(format!("The VPC ID '{vpc_id}' is not found")));
    }
    let protocol_version = match (protocol, input.protocol_version) {
        (api::ProtocolEnum::Tcp, Some(_)) => {
            return Err(validation(
                "A protocol version can only be specified for HTTP and HTTPS target groups",
            ));
        }
        (api::ProtocolEnum::Tcp, None) => None,
        (_, None) => Some("HTTP1".to_string()),
        (_, Some(v)) if v == "HTTP1" || v == "HTTP2" => Some(v),
        (_, Some(v)) if v == "GRPC" => return Err(unsupported("the GRPC protocol version")),
        (_, Some(v)) => {
            return Err(validation(format!(
                "Protocol version '{v}' must be HTTP1, HTTP2 or GRPC"
            )));
        }
    };
    if input.target_control_port.is_some() {
        return Err(unsupported("target control ports (target optimizer)"));
    }
    let health_check = health_check_settings(
        protocol,
        target_type,
        None,
        HealthCheckInput {
            protocol: input.health_check_protocol,
            port: input.health_check_port,
            enabled: input.health_check_enabled,
            path: input.health_check_path,
            interval_s: input.health_check_interval_seconds,
            timeout_s: input.health_check_timeout_seconds,
            healthy_threshold: input.healthy_threshold_count,
            unhealthy_threshold: input.unhealthy_threshold_count,
            matcher: input.matcher,
        },
    )?;
    let ip_address_type = input
        .ip_address_type
        .unwrap_or(api::TargetGroupIpAddressTypeEnum::Ipv4);
    let tags = tags::new_tags(input.tags)?;

    // CreateTargetGroup is idempotent: the same name with the same settings answers the
    // existing group.
    if let Some(existing) = world
        .elbv2
        .target_groups
        .values()
        .find(|tg| tg.name == input.name)
    {
        let same = existing.protocol == protocol
            && existing.port == port
            && existing.vpc_id == vpc_id
            && existing.target_type == target_type
            && existing.protocol_version == protocol_version
            && existing.ip_address_type == ip_address_type
            && existing.health_check == health_check;
        if !same {
            return Err(error(
                "DuplicateTargetGroupName",
                format!(
                    "A target group with the same name '{}' exists, but with different settings",
                    input.name
                ),
            ));
        }
        return Ok(api::CreateTargetGroupOutput {
            target_groups: Some(vec![render(existing)]),
        });
    }
    if world.elbv2.target_groups.len() >= MAX_TARGET_GROUPS {
        return Err(error(
            "TooManyTargetGroups",
            "The maximum number of target groups has been reached",
        ));
    }
    let state = &world.elbv2;
    let id = new_id(ctx.rng, |id| state.target_groups.values().any(|tg| tg.id == id));
    let arn = world.arn(
        "elasticloadbalancing",
        &format!("targetgroup/{}/{id}", input.name),
    );
    let seq = world.elbv2.seq();
    let record = TargetGroupRecord {
        arn: arn.clone(),
        name: input.name,
        id,
        seq,
        protocol,
        protocol_version,
        port,
        vpc_id,
        target_type,
        ip_address_type,
        health_check,
        attributes: Default::default(),
        tags,
        load_balancer_arns: Vec::new(),
        targets: Default::default(),
    };
    let out = render(&record);
    world.elbv2.target_groups.insert(arn, record);
    Ok(api::CreateTargetGroupOutput {
        target_groups: Some(vec![out]),
    })
}

pub fn describe(world: &World, input: api::DescribeTargetGroupsInput) -> R<api::DescribeTargetGroupsOutput> {
    let arns = input.target_group_arns.unwrap_or_default();
    let names = input.names.unwrap_or_default();
    let filters = usize::from(input.load_balancer_arn.is_some())
        + usize::from(!arns.is_empty())
        + usize::from(!names.is_empty());
    if filters > 1 {
        return Err(validation(
            "Only one of LoadBalancerArn, TargetGroupArns and Names can be specified",
        ));
    }
    let mut all: Vec<&TargetGroupRecord> = world.elbv2.target_groups.values().collect();
    all.sort_by_key(|tg| tg.seq);
    let selected: Vec<&TargetGroupRecord> = if let Some(lb) = &input.load_balancer_arn {
        if !world.elbv2.load_balancers.contains_key(lb) {
            return Err(super::common::lb_not_found(lb));
        }
        all.into_iter()
            .filter(|tg| tg.load_balancer_arns.contains(lb))
            .collect()
    } else if !arns.is_empty() {
        if arns.iter().any(|a| !world.elbv2.target_groups.contains_key(a)) {
            return Err(error(
                "TargetGroupNotFound",
                "One or more target groups not found",
            ));
        }
        all.into_iter().filter(|tg| arns.contains(&tg.arn)).collect()
    } else if !names.is_empty() {
        if names.iter().any(|n| !all.iter().any(|tg| tg.name == *n)) {
            return Err(error(
                "TargetGroupNotFound",
                "One or more target groups not found",
            ));
        }
        all.into_iter().filter(|tg| names.contains(&tg.name)).collect()
    } else {
        all
    };
    let (page, next_marker) = paginate(selected, input.marker.as_deref(), input.page_size)?;
    Ok(api::DescribeTargetGroupsOutput {
        target_groups: Some(page.into_iter().map(render).collect()),
        next_marker,
    })
}

pub fn modify(world: &mut World, input: api::ModifyTargetGroupInput) -> R<api::ModifyTargetGroupOutput> {
    let tg = world
        .elbv2
        .target_groups
        .get(&input.target_group_arn)
        .ok_or_else(|| target_group_not_found(&input.target_group_arn))?;
    let settings = health_check_settings(
        tg.protocol,
        tg.target_type,
        Some(&tg.health_check),
        HealthCheckInput {
            protocol: input.health_check_protocol,
            port: input.health_check_port,
            enabled: input.health_check_enabled,
            path: input.health_check_path,
            interval_s: input.health_check_interval_seconds,
            timeout_s: input.health_check_timeout_seconds,
            healthy_threshold: input.healthy_threshold_count,
            unhealthy_threshold: input.unhealthy_threshold_count,
            matcher: input.matcher,
        },
    )?;
    let tg = world
        .elbv2
        .target_groups
        .get_mut(&input.target_group_arn)
        .ok_or_else(|| target_group_not_found(&input.target_group_arn))?;
    tg.health_check = settings;
    Ok(api::ModifyTargetGroupOutput {
        target_groups: Some(vec![render(tg)]),
    })
}

/// Deletes a target group no listener or rule forwards to. Targets still draining out of it
/// are reported drained at once. Deleting one that does not exist succeeds.
pub fn delete(
    world: &mut World,
    ctx: &mut Ctx<'_>,
    input: api::DeleteTargetGroupInput,
) -> R<api::DeleteTargetGroupOutput> {
    let arn = input.target_group_arn;
    if arn.is_empty() {
        return Err(validation("A target group ARN must be specified"));
    }
    let Some(tg) = world.elbv2.target_groups.get(&arn) else {
        return Ok(api::DeleteTargetGroupOutput {});
    };
    if super::usage::referenced(&world.elbv2, &arn) {
        return Err(error(
            "ResourceInUse",
            format!("Target group '{arn}' is currently in use by a listener or a rule"),
        ));
    }
    let draining: Vec<(String, u16)> = tg
        .targets
        .values()
        .filter(|t| t.state == TargetState::Draining)
        .map(|t| (t.id.clone(), t.port))
        .collect();
    world.elbv2.target_groups.remove(&arn);
    world.elbv2.probe_queue.retain(|p| p.key.target_group_arn != arn);
    for (id, port) in draining {
        crate::ecs::load_balancing::target_drained(world, ctx, &arn, &id, port);
    }
    Ok(api::DeleteTargetGroupOutput {})
}
