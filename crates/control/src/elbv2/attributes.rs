//! Load balancer, target group and listener attributes: the documented keys with their
//! defaults, value validation, and the Describe/Modify…Attributes handlers.
//!
//! Records store only the attributes set explicitly; describes fill in the defaults, so a
//! default never needs migrating. Unknown keys are refused (`ValidationError`), never stored.
//! Attributes ecsim does not act on (access logs, WAF, desync mitigation…) are validated and
//! stored so they round-trip; the module doc of `elbv2` lists which ones have behaviour.

use std::collections::BTreeMap;

use ecsim_api::elbv2 as api;

use super::common::{
    R, error, int_in, is_bool, lb_not_found, listener_not_found, target_group_not_found, validation,
};
use super::state::{ListenerRecord, LoadBalancerKind, LoadBalancerRecord, TargetGroupRecord, TargetType};
use crate::world::World;

/// The values an attribute accepts.
#[derive(Debug, Clone, Copy)]
enum ValueKind {
    Bool,
    Int(i64, i64),
    /// `0` (off) or an integer in range.
    ZeroOrInt(i64, i64),
    /// `off` or an integer in range.
    OffOrInt(i64, i64),
    OneOf(&'static [&'static str]),
    /// Free text up to 1024 characters.
    Text,
}

struct Spec {
    key: &'static str,
    default: String,
    kind: ValueKind,
}

fn spec(key: &'static str, default: &str, kind: ValueKind) -> Spec {
    Spec {
        key,
        default: default.to_string(),
        kind,
    }
}

fn value_ok(kind: ValueKind, value: &str) -> bool {
    match kind {
        ValueKind::Bool => is_bool(value),
        ValueKind::Int(min, max) => int_in(value, min, max).is_some(),
        ValueKind::ZeroOrInt(min, max) => value.trim() == "0" || int_in(value, min, max).is_some(),
        ValueKind::OffOrInt(min, max) => value == "off" || int_in(value, min, max).is_some(),
        ValueKind::OneOf(values) => values.contains(&value),
        ValueKind::Text => value.len() <= 1024,
    }
}

fn describe_kind(kind: ValueKind) -> String {
    match kind {
        ValueKind::Bool => "true or false".into(),
        ValueKind::Int(min, max) => format!("an integer from {min} to {max}"),
        ValueKind::ZeroOrInt(min, max) => format!("0 or an integer from {min} to {max}"),
        ValueKind::OffOrInt(min, max) => format!("off or an integer from {min} to {max}"),
        ValueKind::OneOf(values) => format!("one of {}", values.join(", ")),
        ValueKind::Text => "at most 1024 characters".into(),
    }
}

/// The explicit attributes after applying `changes` (validated key by key); the caller checks
/// combinations on the merged result.
fn apply(
    what: &str,
    specs: &[Spec],
    current: &BTreeMap<String, String>,
    changes: impl IntoIterator<Item = (Option<String>, Option<String>)>,
) -> R<BTreeMap<String, String>> {
    let mut next = current.clone();
    let mut seen = std::collections::BTreeSet::new();
    for (key, value) in changes {
        let key = key.unwrap_or_default();
        let Some(spec) = specs.iter().find(|s| s.key == key) else {
            return Err(validation(format!(
                "{what} attribute key '{key}' is not recognized"
            )));
        };
        if !seen.insert(key.clone()) {
            return Err(validation(format!(
                "{what} attribute key '{key}' is specified more than once"
            )));
        }
        let value = value.unwrap_or_default();
        if !value_ok(spec.kind, &value) {
            return Err(validation(format!(
                "{what} attribute '{key}' cannot be '{value}': it must be {}",
                describe_kind(spec.kind)
            )));
        }
        next.insert(key, value);
    }
    Ok(next)
}

/// Every applicable attribute with its current value, sorted by key.
fn render(specs: &[Spec], explicit: &BTreeMap<String, String>) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = specs
        .iter()
        .map(|s| {
            let value = explicit.get(s.key).cloned().unwrap_or_else(|| s.default.clone());
            (s.key.to_string(), value)
        })
        .collect();
    out.sort();
    out
}

fn get<'m>(merged: &'m [(String, String)], key: &str) -> &'m str {
    merged
        .iter()
        .find(|(k, _)| k == key)
        .map_or("", |(_, v)| v.as_str())
}

// ---------------------------------------------------------------- load balancers

fn load_balancer_specs(lb: &LoadBalancerRecord) -> Vec<Spec> {
    use ValueKind::*;
    let deny_igw = if lb.scheme == api::LoadBalancerSchemeEnum::Internal {
        "true"
    } else {
        "false"
    };
    let mut specs = vec![
        spec("access_logs.s3.enabled", "false", Bool),
        spec("access_logs.s3.bucket", "", Text),
        spec("access_logs.s3.prefix", "", Text),
        spec("deletion_protection.enabled", "false", Bool),
        spec("ipv6.deny_all_igw_traffic", deny_igw, Bool),
        spec("zonal_shift.config.enabled", "false", Bool),
    ];
    match lb.kind {
        LoadBalancerKind::Application => specs.extend([
            spec("client_keep_alive.seconds", "3600", Int(60, 604_800)),
            spec("connection_logs.s3.enabled", "false", Bool),
            spec("connection_logs.s3.bucket", "", Text),
            spec("connection_logs.s3.prefix", "", Text),
            spec("health_check_logs.s3.enabled", "false", Bool),
            spec("health_check_logs.s3.bucket", "", Text),
            spec("health_check_logs.s3.prefix", "", Text),
            spec("idle_timeout.timeout_seconds", "60", Int(1, 4000)),
            // Always on for application load balancers, and cannot be turned off.
            spec("load_balancing.cross_zone.enabled", "true", OneOf(&["true"])),
            spec(
                "routing.http.desync_mitigation_mode",
                "defensive",
                OneOf(&["monitor", "defensive", "strictest"]),
            ),
            spec("routing.http.drop_invalid_header_fields.enabled", "false", Bool),
            spec("routing.http.preserve_host_header.enabled", "false", Bool),
            spec(
                "routing.http.x_amzn_tls_version_and_cipher_suite.enabled",
                "false",
                Bool,
            ),
            spec("routing.http.x_amzn_tls_kx.enabled", "false", Bool),
            spec("routing.http.xff_client_port.enabled", "false", Bool),
            spec(
                "routing.http.xff_header_processing.mode",
                "append",
                OneOf(&["append", "preserve", "remove"]),
            ),
            spec("routing.http2.enabled", "true", Bool),
            spec("waf.fail_open.enabled", "false", Bool),
        ]),
        LoadBalancerKind::Network => specs.extend([
            spec(
                "dns_record.client_routing_policy",
                "any_availability_zone",
                OneOf(&[
                    "availability_zone_affinity",
                    "partial_availability_zone_affinity",
                    "any_availability_zone",
                ]),
            ),
            spec("load_balancing.cross_zone.enabled", "false", Bool),
            spec("secondary_ips.auto_assigned.per_subnet", "0", Int(0, 7)),
        ]),
    }
    specs
}

/// Every attribute of a load balancer with its current value.
pub fn load_balancer_attributes(lb: &LoadBalancerRecord) -> Vec<(String, String)> {
    render(&load_balancer_specs(lb), &lb.attributes)
}

/// `idle_timeout.timeout_seconds` in milliseconds (NLBs: the 350 s TCP idle timeout).
pub fn idle_timeout_ms(lb: &LoadBalancerRecord) -> u64 {
    match lb.kind {
        LoadBalancerKind::Application => load_balancer_attributes(lb)
            .iter()
            .find(|(k, _)| k == "idle_timeout.timeout_seconds")
            .and_then(|(_, v)| v.parse::<u64>().ok())
            .unwrap_or(60)
            .saturating_mul(1_000),
        LoadBalancerKind::Network => 350_000,
    }
}

pub fn deletion_protected(lb: &LoadBalancerRecord) -> bool {
    lb.attributes
        .get("deletion_protection.enabled")
        .map(String::as_str)
        == Some("true")
}

fn check_logs(merged: &[(String, String)], prefix: &str) -> R<()> {
    if get(merged, &format!("{prefix}.enabled")) == "true"
        && get(merged, &format!("{prefix}.bucket")).is_empty()
    {
        return Err(error(
            "InvalidConfigurationRequest",
            format!("The value of '{prefix}.bucket' cannot be empty when '{prefix}.enabled' is true"),
        ));
    }
    Ok(())
}

fn lb_attrs(list: Vec<(String, String)>) -> Vec<api::LoadBalancerAttribute> {
    list.into_iter()
        .map(|(k, v)| api::LoadBalancerAttribute {
            key: Some(k),
            value: Some(v),
        })
        .collect()
}

pub fn describe_load_balancer_attributes(
    world: &World,
    input: api::DescribeLoadBalancerAttributesInput,
) -> R<api::DescribeLoadBalancerAttributesOutput> {
    let lb = world
        .elbv2
        .load_balancers
        .get(&input.load_balancer_arn)
        .ok_or_else(|| lb_not_found(&input.load_balancer_arn))?;
    Ok(api::DescribeLoadBalancerAttributesOutput {
        attributes: Some(lb_attrs(load_balancer_attributes(lb))),
    })
}

pub fn modify_load_balancer_attributes(
    world: &mut World,
    input: api::ModifyLoadBalancerAttributesInput,
) -> R<api::ModifyLoadBalancerAttributesOutput> {
    let lb = world
        .elbv2
        .load_balancers
        .get(&input.load_balancer_arn)
        .ok_or_else(|| lb_not_found(&input.load_balancer_arn))?;
    let specs = load_balancer_specs(lb);
    let next = apply(
        "Load balancer",
        &specs,
        &lb.attributes,
        input.attributes.into_iter().map(|a| (a.key, a.value)),
    )?;
    let merged = render(&specs, &next);
    for prefix in ["access_logs.s3", "connection_logs.s3", "health_check_logs.s3"] {
        check_logs(&merged, prefix)?;
    }
    if let Some(lb) = world.elbv2.load_balancers.get_mut(&input.load_balancer_arn) {
        lb.attributes = next;
    }
    world.elbv2.routes_dirty = true;
    Ok(api::ModifyLoadBalancerAttributesOutput {
        attributes: Some(lb_attrs(merged)),
    })
}

// ---------------------------------------------------------------- target groups

const MIN_HEALTHY_COUNT: &str = "target_group_health.unhealthy_state_routing.minimum_healthy_targets.count";

fn target_group_specs(tg: &TargetGroupRecord) -> Vec<Spec> {
    use ValueKind::*;
    let mut specs = vec![
        spec("deregistration_delay.timeout_seconds", "300", Int(0, 3600)),
        spec("stickiness.enabled", "false", Bool),
        spec(
            "load_balancing.cross_zone.enabled",
            "use_load_balancer_configuration",
            OneOf(&["true", "false", "use_load_balancer_configuration"]),
        ),
        spec(
            "target_group_health.dns_failover.minimum_healthy_targets.count",
            "1",
            OffOrInt(1, 1_000_000),
        ),
        spec(
            "target_group_health.dns_failover.minimum_healthy_targets.percentage",
            "off",
            OffOrInt(1, 100),
        ),
        spec(MIN_HEALTHY_COUNT, "1", Int(1, 1_000_000)),
        spec(
            "target_group_health.unhealthy_state_routing.minimum_healthy_targets.percentage",
            "off",
            OffOrInt(1, 100),
        ),
    ];
    if tg.protocol == api::ProtocolEnum::Tcp {
        let preserve_ip = if tg.target_type == TargetType::Ip {
            "false"
        } else {
            "true"
        };
        specs.extend([
            spec("stickiness.type", "source_ip", OneOf(&["source_ip"])),
            spec(
                "deregistration_delay.connection_termination.enabled",
                "false",
                Bool,
            ),
            spec("preserve_client_ip.enabled", preserve_ip, Bool),
            spec("proxy_protocol_v2.enabled", "false", Bool),
            spec(
                "target_health_state.unhealthy.connection_termination.enabled",
                "true",
                Bool,
            ),
            spec(
                "target_health_state.unhealthy.draining_interval_seconds",
                "0",
                Int(0, 360_000),
            ),
        ]);
    } else {
        specs.extend([
            spec(
                "stickiness.type",
                "lb_cookie",
                OneOf(&["lb_cookie", "app_cookie"]),
            ),
            spec("stickiness.lb_cookie.duration_seconds", "86400", Int(1, 604_800)),
            spec("stickiness.app_cookie.cookie_name", "", Text),
            spec("stickiness.app_cookie.duration_seconds", "86400", Int(1, 604_800)),
            spec("slow_start.duration_seconds", "0", ZeroOrInt(30, 900)),
            spec(
                "load_balancing.algorithm.type",
                "round_robin",
                OneOf(&["round_robin", "least_outstanding_requests", "weighted_random"]),
            ),
            spec(
                "load_balancing.algorithm.anomaly_mitigation",
                "off",
                OneOf(&["on", "off"]),
            ),
        ]);
        if tg.protocol_version.as_deref() == Some("HTTP2") {
            specs.extend([
                spec(
                    "waf.http2.traffic_inspection_behavior",
                    "inspect_immediately",
                    OneOf(&["inspect_immediately", "inspect_after_sufficient_data"]),
                ),
                spec("routing.http2.rst_stream_error_forwarding.enabled", "false", Bool),
            ]);
        }
    }
    specs
}

/// Every attribute of a target group with its current value.
pub fn target_group_attributes(tg: &TargetGroupRecord) -> Vec<(String, String)> {
    render(&target_group_specs(tg), &tg.attributes)
}

/// `target_group_health.unhealthy_state_routing.minimum_healthy_targets.count`.
pub fn min_healthy_targets(tg: &TargetGroupRecord) -> u32 {
    tg.attributes
        .get(MIN_HEALTHY_COUNT)
        .and_then(|v| v.parse::<u32>().ok())
        .unwrap_or(1)
}

fn check_target_group(merged: &[(String, String)]) -> R<()> {
    let cookie = get(merged, "stickiness.app_cookie.cookie_name");
    for reserved in ["AWSALB", "AWSALBAPP", "AWSALBTG"] {
        if cookie.starts_with(reserved) {
            return Err(validation(format!(
                "Application cookie name '{cookie}' cannot start with '{reserved}': the prefix is reserved for the load balancer"
            )));
        }
    }
    if get(merged, "stickiness.enabled") == "true"
        && get(merged, "stickiness.type") == "app_cookie"
        && cookie.is_empty()
    {
        return Err(validation(
            "An application cookie name ('stickiness.app_cookie.cookie_name') is required for app_cookie stickiness",
        ));
    }
    let algorithm = get(merged, "load_balancing.algorithm.type");
    if get(merged, "load_balancing.algorithm.anomaly_mitigation") == "on" && algorithm != "weighted_random" {
        return Err(error(
            "InvalidConfigurationRequest",
            "Anomaly mitigation is only available with the weighted_random load balancing algorithm",
        ));
    }
    let slow_start = get(merged, "slow_start.duration_seconds");
    if !slow_start.is_empty() && slow_start != "0" && algorithm == "weighted_random" {
        return Err(error(
            "InvalidConfigurationRequest",
            "Slow start mode cannot be used with the weighted_random load balancing algorithm",
        ));
    }
    Ok(())
}

fn tg_attrs(list: Vec<(String, String)>) -> Vec<api::TargetGroupAttribute> {
    list.into_iter()
        .map(|(k, v)| api::TargetGroupAttribute {
            key: Some(k),
            value: Some(v),
        })
        .collect()
}

pub fn describe_target_group_attributes(
    world: &World,
    input: api::DescribeTargetGroupAttributesInput,
) -> R<api::DescribeTargetGroupAttributesOutput> {
    let tg = world
        .elbv2
        .target_groups
        .get(&input.target_group_arn)
        .ok_or_else(|| target_group_not_found(&input.target_group_arn))?;
    Ok(api::DescribeTargetGroupAttributesOutput {
        attributes: Some(tg_attrs(target_group_attributes(tg))),
    })
}

pub fn modify_target_group_attributes(
    world: &mut World,
    input: api::ModifyTargetGroupAttributesInput,
) -> R<api::ModifyTargetGroupAttributesOutput> {
    let tg = world
        .elbv2
        .target_groups
        .get(&input.target_group_arn)
        .ok_or_else(|| target_group_not_found(&input.target_group_arn))?;
    let specs = target_group_specs(tg);
    let next = apply(
        "Target group",
        &specs,
        &tg.attributes,
        input.attributes.into_iter().map(|a| (a.key, a.value)),
    )?;
    let merged = render(&specs, &next);
    check_target_group(&merged)?;
    if let Some(tg) = world.elbv2.target_groups.get_mut(&input.target_group_arn) {
        tg.attributes = next;
    }
    world.elbv2.routes_dirty = true;
    Ok(api::ModifyTargetGroupAttributesOutput {
        attributes: Some(tg_attrs(merged)),
    })
}

// ---------------------------------------------------------------- listeners

fn listener_specs(listener: &ListenerRecord) -> Vec<Spec> {
    use ValueKind::*;
    if listener.protocol == api::ProtocolEnum::Tcp {
        return vec![spec("tcp.idle_timeout.seconds", "350", Int(60, 6000))];
    }
    let mut specs = vec![spec("routing.http.response.server.enabled", "true", Bool)];
    for (key, default) in [
        (
            "routing.http.request.x_amzn_mtls_clientcert_serial_number.header_name",
            "X-Amzn-Mtls-Clientcert-Serial-Number",
        ),
        (
            "routing.http.request.x_amzn_mtls_clientcert_issuer.header_name",
            "X-Amzn-Mtls-Clientcert-Issuer",
        ),
        (
            "routing.http.request.x_amzn_mtls_clientcert_subject.header_name",
            "X-Amzn-Mtls-Clientcert-Subject",
        ),
        (
            "routing.http.request.x_amzn_mtls_clientcert_validity.header_name",
            "X-Amzn-Mtls-Clientcert-Validity",
        ),
        (
            "routing.http.request.x_amzn_mtls_clientcert_leaf.header_name",
            "X-Amzn-Mtls-Clientcert-Leaf",
        ),
        (
            "routing.http.request.x_amzn_mtls_clientcert.header_name",
            "X-Amzn-Mtls-Clientcert",
        ),
        (
            "routing.http.request.x_amzn_tls_version.header_name",
            "X-Amzn-Tls-Version",
        ),
        (
            "routing.http.request.x_amzn_tls_cipher_suite.header_name",
            "X-Amzn-Tls-Cipher-Suite",
        ),
    ] {
        specs.push(spec(key, default, Text));
    }
    for key in [
        "routing.http.response.strict_transport_security.header_value",
        "routing.http.response.access_control_allow_origin.header_value",
        "routing.http.response.access_control_allow_methods.header_value",
        "routing.http.response.access_control_allow_headers.header_value",
        "routing.http.response.access_control_allow_credentials.header_value",
        "routing.http.response.access_control_expose_headers.header_value",
        "routing.http.response.access_control_max_age.header_value",
        "routing.http.response.content_security_policy.header_value",
        "routing.http.response.x_content_type_options.header_value",
        "routing.http.response.x_frame_options.header_value",
    ] {
        specs.push(spec(key, "", Text));
    }
    specs
}

fn listener_attrs(list: Vec<(String, String)>) -> Vec<api::ListenerAttribute> {
    list.into_iter()
        .map(|(k, v)| api::ListenerAttribute {
            key: Some(k),
            value: Some(v),
        })
        .collect()
}

pub fn describe_listener_attributes(
    world: &World,
    input: api::DescribeListenerAttributesInput,
) -> R<api::DescribeListenerAttributesOutput> {
    let listener = world
        .elbv2
        .listeners
        .get(&input.listener_arn)
        .ok_or_else(|| listener_not_found(&input.listener_arn))?;
    Ok(api::DescribeListenerAttributesOutput {
        attributes: Some(listener_attrs(render(
            &listener_specs(listener),
            &listener.attributes,
        ))),
    })
}

pub fn modify_listener_attributes(
    world: &mut World,
    input: api::ModifyListenerAttributesInput,
) -> R<api::ModifyListenerAttributesOutput> {
    let listener = world
        .elbv2
        .listeners
        .get(&input.listener_arn)
        .ok_or_else(|| listener_not_found(&input.listener_arn))?;
    let specs = listener_specs(listener);
    let next = apply(
        "Listener",
        &specs,
        &listener.attributes,
        input.attributes.into_iter().map(|a| (a.key, a.value)),
    )?;
    let merged = render(&specs, &next);
    if let Some(listener) = world.elbv2.listeners.get_mut(&input.listener_arn) {
        listener.attributes = next;
    }
    Ok(api::ModifyListenerAttributesOutput {
        attributes: Some(listener_attrs(merged)),
    })
}

/// Attributes of a listener whose protocol changed: keys of the old protocol family go.
pub fn retain_listener_attributes(listener: &mut ListenerRecord) {
    let specs = listener_specs(listener);
    listener
        .attributes
        .retain(|k, _| specs.iter().any(|s| s.key == k.as_str()));
}
