//! Listener and rule actions: checking `DefaultActions` / `Actions` as given, storing them in one
//! canonical form, rendering them back, and turning them into data-plane routes.
//!
//! Exactly one terminal action (forward, redirect or fixed-response) per rule; authentication
//! and JWT validation actions are refused because ecsim cannot emulate identity providers.
//! Weights round-trip exactly as given (1 when omitted).

use ecsim_api::elbv2 as api;
use ecsim_elb::{ActionRoutes, FixedResponse, ForwardRoute, GroupRef, Redirect, WeightedGroup};

use super::common::{R, error, target_group_not_found, unsupported, validation};
use super::state::{
    ActionKind, ActionRecord, Elbv2State, GroupStickiness, LoadBalancerKind, LoadBalancerRecord,
};

/// Target groups one forward action may name.
pub const MAX_GROUPS_PER_ACTION: usize = 5;
/// Distinct target groups one application load balancer may forward to.
pub const MAX_GROUPS_PER_LOAD_BALANCER: usize = 100;

const CONTENT_TYPES: &[&str] = &[
    "text/plain",
    "text/css",
    "text/html",
    "application/javascript",
    "application/json",
];

/// Checks `actions` for a listener with `protocol` on `lb` and returns the terminal action.
pub fn parse(
    state: &Elbv2State,
    lb: &LoadBalancerRecord,
    protocol: api::ProtocolEnum,
    actions: Vec<api::Action>,
) -> R<ActionRecord> {
    if actions.is_empty() {
        return Err(validation("An action must be specified"));
    }
    for a in &actions {
        match a.r#type {
            api::ActionTypeEnum::AuthenticateOidc
            | api::ActionTypeEnum::AuthenticateCognito
            | api::ActionTypeEnum::JwtValidation => {
                return Err(unsupported(format!("'{}' actions", a.r#type.as_str())));
            }
            _ => {}
        }
        if let Some(order) = a.order
            && !(1..=50_000).contains(&order)
        {
            return Err(validation(format!(
                "Action order '{order}' must be from 1 to 50000"
            )));
        }
    }
    if actions.len() > 1 {
        return Err(validation(
            "A rule can have only one forward, redirect or fixed-response action, and it must be the last action",
        ));
    }
    let Some(action) = actions.into_iter().next() else {
        return Err(validation("An action must be specified"));
    };
    let order = action.order.unwrap_or(1);
    let misplaced =
        |name: &str, kind: &str| validation(format!("{name} can only be specified for {kind} actions"));
    let kind = match action.r#type {
        api::ActionTypeEnum::Forward => {
            if action.redirect_config.is_some() {
                return Err(misplaced("RedirectConfig", "redirect"));
            }
            if action.fixed_response_config.is_some() {
                return Err(misplaced("FixedResponseConfig", "fixed-response"));
            }
            parse_forward(
                state,
                lb,
                protocol,
                action.target_group_arn,
                action.forward_config,
            )?
        }
        api::ActionTypeEnum::FixedResponse => {
            if action.target_group_arn.is_some() || action.forward_config.is_some() {
                return Err(misplaced("TargetGroupArn and ForwardConfig", "forward"));
            }
            if action.redirect_config.is_some() {
                return Err(misplaced("RedirectConfig", "redirect"));
            }
            if lb.kind != LoadBalancerKind::Application {
                return Err(error(
                    "InvalidLoadBalancerAction",
                    "fixed-response actions are supported only by Application Load Balancers",
                ));
            }
            parse_fixed(action.fixed_response_config)?
        }
        api::ActionTypeEnum::Redirect => {
            if action.target_group_arn.is_some() || action.forward_config.is_some() {
                return Err(misplaced("TargetGroupArn and ForwardConfig", "forward"));
            }
            if action.fixed_response_config.is_some() {
                return Err(misplaced("FixedResponseConfig", "fixed-response"));
            }
            if lb.kind != LoadBalancerKind::Application {
                return Err(error(
                    "InvalidLoadBalancerAction",
                    "redirect actions are supported only by Application Load Balancers",
                ));
            }
            parse_redirect(protocol, action.redirect_config)?
        }
        other => return Err(unsupported(format!("'{}' actions", other.as_str()))),
    };
    Ok(ActionRecord { order, kind })
}

fn parse_forward(
    state: &Elbv2State,
    lb: &LoadBalancerRecord,
    protocol: api::ProtocolEnum,
    target_group_arn: Option<String>,
    config: Option<api::ForwardActionConfig>,
) -> R<ActionKind> {
    let tuples = config
        .as_ref()
        .and_then(|c| c.target_groups.clone())
        .unwrap_or_default();
    let mut groups: Vec<(String, i32)> = Vec::new();
    for t in &tuples {
        let arn = t
            .target_group_arn
            .clone()
            .ok_or_else(|| validation("A target group ARN must be specified for each target group"))?;
        let weight = t.weight.unwrap_or(1);
        if !(0..=999).contains(&weight) {
            return Err(validation(
                "The weight for each target group must be between 0 and 999, inclusive",
            ));
        }
        if groups.iter().any(|(a, _)| *a == arn) {
            return Err(validation(format!(
                "Target group '{arn}' is specified more than once in the forward action"
            )));
        }
        groups.push((arn, weight));
    }
    match (target_group_arn, groups.is_empty()) {
        (None, true) => return Err(validation("A target group ARN must be specified")),
        (Some(arn), true) => groups.push((arn, 1)),
        (Some(arn), false) => {
            if groups.len() != 1 || groups[0].0 != arn {
                return Err(validation(
                    "When both TargetGroupArn and ForwardConfig are specified, ForwardConfig must name exactly one target group, the same as TargetGroupArn",
                ));
            }
        }
        (None, false) => {}
    }
    let max = match lb.kind {
        LoadBalancerKind::Application => MAX_GROUPS_PER_ACTION,
        LoadBalancerKind::Network => 1,
    };
    if groups.len() > max {
        return Err(validation(format!(
            "A forward action of this load balancer can have at most {max} target groups"
        )));
    }
    let stickiness = match config.and_then(|c| c.target_group_stickiness_config) {
        None => None,
        Some(s) => {
            let enabled = s.enabled.unwrap_or(false);
            if let Some(d) = s.duration_seconds
                && !(1..=604_800).contains(&d)
            {
                return Err(validation(
                    "Target group stickiness duration must be between 1 and 604800 seconds",
                ));
            }
            if enabled && s.duration_seconds.is_none() {
                return Err(validation(
                    "A duration must be specified when target group stickiness is enabled",
                ));
            }
            Some(GroupStickiness {
                enabled,
                duration_s: s.duration_seconds,
            })
        }
    };
    for (arn, _) in &groups {
        let tg = state
            .target_groups
            .get(arn)
            .ok_or_else(|| target_group_not_found(arn))?;
        if tg.vpc_id != lb.vpc_id {
            return Err(error(
                "InvalidConfigurationRequest",
                format!(
                    "Target group '{arn}' is in a different VPC than load balancer '{}'",
                    lb.arn
                ),
            ));
        }
        let compatible = match lb.kind {
            LoadBalancerKind::Application => {
                matches!(tg.protocol, api::ProtocolEnum::Http | api::ProtocolEnum::Https)
            }
            LoadBalancerKind::Network => tg.protocol == api::ProtocolEnum::Tcp,
        };
        if !compatible {
            return Err(error(
                "IncompatibleProtocols",
                format!(
                    "The target group '{arn}' uses the '{}' protocol, which is not compatible with a '{}' listener",
                    tg.protocol.as_str(),
                    protocol.as_str()
                ),
            ));
        }
        if tg.load_balancer_arns.iter().any(|other| *other != lb.arn) {
            return Err(error(
                "TargetGroupAssociationLimit",
                format!(
                    "The following target groups cannot be associated with more than one load balancer: {arn}"
                ),
            ));
        }
    }
    let mut distinct = super::usage::target_groups_of(state, &lb.arn);
    for (arn, _) in &groups {
        if !distinct.contains(arn) {
            distinct.push(arn.clone());
        }
    }
    if distinct.len() > MAX_GROUPS_PER_LOAD_BALANCER {
        return Err(error(
            "TooManyUniqueTargetGroupsPerLoadBalancer",
            format!(
                "You have reached the maximum number of unique target groups that you can associate with a load balancer of type 'application': [{MAX_GROUPS_PER_LOAD_BALANCER}]"
            ),
        ));
    }
    Ok(ActionKind::Forward { groups, stickiness })
}

fn parse_fixed(config: Option<api::FixedResponseActionConfig>) -> R<ActionKind> {
    let config = config.ok_or_else(|| validation("A fixed-response action needs a FixedResponseConfig"))?;
    let code = config.status_code;
    let valid_code = code.len() == 3
        && code.bytes().all(|b| b.is_ascii_digit())
        && matches!(code.as_bytes()[0], b'2' | b'4' | b'5');
    if !valid_code {
        return Err(validation(format!(
            "Fixed-response status code '{code}' must be a 2XX, 4XX or 5XX code"
        )));
    }
    if let Some(ct) = &config.content_type
        && !CONTENT_TYPES.contains(&ct.as_str())
    {
        return Err(validation(format!(
            "Fixed-response content type '{ct}' must be one of {}",
            CONTENT_TYPES.join(", ")
        )));
    }
    if config.message_body.as_ref().is_some_and(|b| b.len() > 1024) {
        return Err(validation(
            "A fixed-response message body can be at most 1024 characters long",
        ));
    }
    Ok(ActionKind::FixedResponse {
        status_code: code,
        content_type: config.content_type,
        message_body: config.message_body,
    })
}

fn parse_redirect(
    listener_protocol: api::ProtocolEnum,
    config: Option<api::RedirectActionConfig>,
) -> R<ActionKind> {
    let config = config.ok_or_else(|| validation("A redirect action needs a RedirectConfig"))?;
    let protocol = config.protocol.unwrap_or_else(|| "#{protocol}".into());
    let port = config.port.unwrap_or_else(|| "#{port}".into());
    let host = config.host.unwrap_or_else(|| "#{host}".into());
    let path = config.path.unwrap_or_else(|| "/#{path}".into());
    let query = config.query.unwrap_or_else(|| "#{query}".into());
    if !matches!(protocol.as_str(), "HTTP" | "HTTPS" | "#{protocol}") {
        return Err(validation(format!(
            "Redirect protocol '{protocol}' must be HTTP, HTTPS or #{{protocol}}"
        )));
    }
    if listener_protocol == api::ProtocolEnum::Https && protocol == "HTTP" {
        return Err(validation("You cannot redirect HTTPS to HTTP"));
    }
    if port != "#{port}" && port.parse::<u16>().ok().filter(|p| *p >= 1).is_none() {
        return Err(validation(format!(
            "Redirect port '{port}' must be #{{port}} or a port from 1 to 65535"
        )));
    }
    if host.is_empty() || host.len() > 128 {
        return Err(validation("Redirect host must be 1 to 128 characters long"));
    }
    if !path.starts_with('/') || path.len() > 128 {
        return Err(validation(
            "Redirect path must start with '/' and be at most 128 characters long",
        ));
    }
    if query.len() > 128 {
        return Err(validation("Redirect query can be at most 128 characters long"));
    }
    if protocol == "#{protocol}" && port == "#{port}" && host == "#{host}" && path == "/#{path}" {
        return Err(error(
            "InvalidLoadBalancerAction",
            "The redirect must change at least one of protocol, port, host or path: it would redirect to itself",
        ));
    }
    Ok(ActionKind::Redirect {
        protocol,
        port,
        host,
        path,
        query,
        status_code: config.status_code,
    })
}

/// The action as `Describe…` answers it. A forward action always carries `ForwardConfig` with
/// every group's weight and the stickiness setting; `TargetGroupArn` too when it names exactly
/// one group.
pub fn render(action: &ActionRecord) -> api::Action {
    let mut out = api::Action {
        order: Some(action.order),
        ..Default::default()
    };
    match &action.kind {
        ActionKind::Forward { groups, stickiness } => {
            out.r#type = api::ActionTypeEnum::Forward;
            if let [(arn, _)] = groups.as_slice() {
                out.target_group_arn = Some(arn.clone());
            }
            let stickiness = stickiness.unwrap_or(GroupStickiness {
                enabled: false,
                duration_s: None,
            });
            out.forward_config = Some(api::ForwardActionConfig {
                target_groups: Some(
                    groups
                        .iter()
                        .map(|(arn, weight)| api::TargetGroupTuple {
                            target_group_arn: Some(arn.clone()),
                            weight: Some(*weight),
                        })
                        .collect(),
                ),
                target_group_stickiness_config: Some(api::TargetGroupStickinessConfig {
                    enabled: Some(stickiness.enabled),
                    duration_seconds: stickiness.duration_s,
                }),
            });
        }
        ActionKind::FixedResponse {
            status_code,
            content_type,
            message_body,
        } => {
            out.r#type = api::ActionTypeEnum::FixedResponse;
            out.fixed_response_config = Some(api::FixedResponseActionConfig {
                message_body: message_body.clone(),
                status_code: status_code.clone(),
                content_type: content_type.clone(),
            });
        }
        ActionKind::Redirect {
            protocol,
            port,
            host,
            path,
            query,
            status_code,
        } => {
            out.r#type = api::ActionTypeEnum::Redirect;
            out.redirect_config = Some(api::RedirectActionConfig {
                protocol: Some(protocol.clone()),
                port: Some(port.clone()),
                host: Some(host.clone()),
                path: Some(path.clone()),
                query: Some(query.clone()),
                status_code: *status_code,
            });
        }
    }
    out
}

/// The action as the data plane routes it; `group_ref` maps a target group ARN to its index in
/// the snapshot.
pub fn to_route(action: &ActionRecord, group_ref: &mut dyn FnMut(&str) -> GroupRef) -> ActionRoutes {
    match &action.kind {
        ActionKind::Forward { groups, stickiness } => {
            let weighted = groups
                .iter()
                .map(|(arn, weight)| WeightedGroup {
                    group: group_ref(arn),
                    weight: u32::try_from(*weight).unwrap_or(0),
                })
                .collect();
            let sticky = stickiness
                .filter(|s| s.enabled)
                .and_then(|s| s.duration_s)
                .and_then(|d| u32::try_from(d).ok());
            ActionRoutes::Forward(ForwardRoute::new(weighted, sticky))
        }
        ActionKind::FixedResponse {
            status_code,
            content_type,
            message_body,
        } => ActionRoutes::FixedResponse(FixedResponse {
            status_code: status_code.parse().unwrap_or(503),
            content_type: content_type.clone(),
            body: message_body.clone(),
        }),
        ActionKind::Redirect {
            protocol,
            port,
            host,
            path,
            query,
            status_code,
        } => ActionRoutes::Redirect(Redirect {
            protocol: protocol.clone(),
            host: host.clone(),
            port: port.clone(),
            path: path.clone(),
            query: query.clone(),
            status_code: match status_code {
                api::RedirectActionStatusCodeEnum::Http301 => 301,
                api::RedirectActionStatusCodeEnum::Http302 => 302,
            },
        }),
    }
}
