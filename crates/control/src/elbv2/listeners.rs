//! Listeners: CreateListener, DescribeListeners, ModifyListener, DeleteListener and the
//! listener certificate list (Describe/Add/RemoveListenerCertificates).
//!
//! Application load balancers take HTTP and HTTPS listeners, network load balancers TCP.
//! HTTPS listeners accept any certificate ARN without checking it (ecsim has no ACM); the proxy
//! terminates TLS with its own certificate. `Port` is stored and echoed as given; where the
//! proxy really listens is the proxy's business. ModifyListener replaces the default action
//! wholesale, which is how traffic is shifted between target groups.

use ecsim_api::elbv2 as api;

use super::account::{DEFAULT_SSL_POLICY, ssl_policy_exists};
use super::common::{R, error, lb_not_found, listener_not_found, new_id, paginate, unsupported, validation};
use super::state::{ListenerRecord, LoadBalancerKind, LoadBalancerRecord};
use super::{actions, attributes, tags, usage};
use crate::engine::Ctx;
use crate::world::World;

/// Listeners one load balancer may have.
pub const MAX_LISTENERS: usize = 50;
/// Certificates (besides the default one) one HTTPS listener may have.
pub const MAX_CERTIFICATES: usize = 25;

pub fn render(l: &ListenerRecord) -> api::Listener {
    api::Listener {
        listener_arn: Some(l.arn.clone()),
        load_balancer_arn: Some(l.load_balancer_arn.clone()),
        port: Some(i32::from(l.port)),
        protocol: Some(l.protocol),
        certificates: l.default_certificate.as_ref().map(|c| {
            vec![api::Certificate {
                certificate_arn: Some(c.clone()),
                is_default: None,
            }]
        }),
        ssl_policy: l.ssl_policy.clone(),
        default_actions: Some(vec![actions::render(&l.default_action)]),
        ..Default::default()
    }
}

/// Checks a listener protocol against the load balancer's type.
fn check_protocol(lb: &LoadBalancerRecord, protocol: api::ProtocolEnum) -> R<()> {
    let ok = match lb.kind {
        LoadBalancerKind::Application => {
            matches!(protocol, api::ProtocolEnum::Http | api::ProtocolEnum::Https)
        }
        LoadBalancerKind::Network => match protocol {
            api::ProtocolEnum::Tcp => true,
            api::ProtocolEnum::Tls
            | api::ProtocolEnum::Udp
            | api::ProtocolEnum::TcpUdp
            | api::ProtocolEnum::Quic
            | api::ProtocolEnum::TcpQuic => {
                return Err(unsupported(format!("'{}' listeners", protocol.as_str())));
            }
            _ => false,
        },
    };
    if ok {
        Ok(())
    } else {
        Err(error(
            "UnsupportedProtocol",
            format!(
                "Protocol '{}' is not supported by load balancers of type '{}'",
                protocol.as_str(),
                lb.kind.api().as_str()
            ),
        ))
    }
}

/// The default certificate from a `Certificates` list (HTTPS listeners need exactly one).
fn default_certificate(certificates: Option<Vec<api::Certificate>>) -> R<Option<String>> {
    let certificates = certificates.unwrap_or_default();
    match certificates.as_slice() {
        [] => Ok(None),
        [c] => match &c.certificate_arn {
            Some(arn) if !arn.is_empty() => Ok(Some(arn.clone())),
            _ => Err(validation("A certificate ARN must be specified")),
        },
        _ => Err(validation("You must provide exactly one default certificate")),
    }
}

fn check_port(port: Option<i32>) -> R<u16> {
    let port = port.ok_or_else(|| validation("A listener port must be specified"))?;
    u16::try_from(port)
        .ok()
        .filter(|p| *p >= 1)
        .ok_or_else(|| validation(format!("Listener port '{port}' must be from 1 to 65535")))
}

fn check_mutual_authentication(m: Option<&api::MutualAuthenticationAttributes>) -> R<()> {
    match m.and_then(|m| m.mode.as_deref()) {
        None | Some("off") => Ok(()),
        Some(_) => Err(unsupported("mutual TLS authentication")),
    }
}

pub fn create(
    world: &mut World,
    ctx: &mut Ctx<'_>,
    input: api::CreateListenerInput,
) -> R<api::CreateListenerOutput> {
    let lb = world
        .elbv2
        .load_balancers
        .get(&input.load_balancer_arn)
        .ok_or_else(|| lb_not_found(&input.load_balancer_arn))?;
    let protocol = input
        .protocol
        .ok_or_else(|| validation("A listener protocol must be specified"))?;
    check_protocol(lb, protocol)?;
    let port = check_port(input.port)?;
    let https = protocol == api::ProtocolEnum::Https;
    let certificate = default_certificate(input.certificates)?;
    let ssl_policy = if https {
        if certificate.is_none() {
            return Err(validation("A certificate must be specified for HTTPS listeners"));
        }
        let policy = input.ssl_policy.unwrap_or_else(|| DEFAULT_SSL_POLICY.to_string());
        if !ssl_policy_exists(&policy) {
            return Err(error(
                "SSLPolicyNotFound",
                format!("SSL policy '{policy}' not found"),
            ));
        }
        Some(policy)
    } else {
        if certificate.is_some() {
            return Err(validation(
                "Certificates can only be specified for HTTPS listeners",
            ));
        }
        if input.ssl_policy.is_some() {
            return Err(validation(
                "An SSL policy can only be specified for HTTPS listeners",
            ));
        }
        None
    };
    if input.alpn_policy.as_ref().is_some_and(|a| !a.is_empty()) {
        return Err(validation(
            "An ALPN policy can only be specified for TLS listeners",
        ));
    }
    check_mutual_authentication(input.mutual_authentication.as_ref())?;
    let action = actions::parse(&world.elbv2, lb, protocol, input.default_actions)?;
    let tags = tags::new_tags(input.tags)?;

    let siblings: Vec<&ListenerRecord> = world.elbv2.listeners_of(&lb.arn).collect();
    if let Some(existing) = siblings.iter().find(|l| l.port == port) {
        // CreateListener is idempotent: the same settings answer the existing listener.
        let same = existing.protocol == protocol
            && existing.default_action == action
            && existing.default_certificate == certificate
            && existing.ssl_policy == ssl_policy;
        if same {
            return Ok(api::CreateListenerOutput {
                listeners: Some(vec![render(existing)]),
            });
        }
        return Err(error(
            "DuplicateListener",
            format!(
                "A listener already exists on this port for this load balancer '{}'",
                lb.arn
            ),
        ));
    }
    if siblings.len() >= MAX_LISTENERS {
        return Err(error(
            "TooManyListeners",
            format!("A load balancer can have at most {MAX_LISTENERS} listeners"),
        ));
    }
    let (segment, lb_name, lb_id, lb_arn) =
        (lb.kind.segment(), lb.name.clone(), lb.id.clone(), lb.arn.clone());
    let state = &world.elbv2;
    let id = new_id(ctx.rng, |id| state.listeners.values().any(|l| l.id == id));
    let rule_id = new_id(ctx.rng, |id| state.rules.values().any(|r| r.id == id));
    let arn = world.arn(
        "elasticloadbalancing",
        &format!("listener/{segment}/{lb_name}/{lb_id}/{id}"),
    );
    let default_rule_arn = world.arn(
        "elasticloadbalancing",
        &format!("listener-rule/{segment}/{lb_name}/{lb_id}/{id}/{rule_id}"),
    );
    let seq = world.elbv2.seq();
    let record = ListenerRecord {
        arn: arn.clone(),
        id,
        seq,
        load_balancer_arn: lb_arn,
        port,
        protocol,
        ssl_policy,
        default_certificate: certificate,
        extra_certificates: Vec::new(),
        default_action: action,
        default_rule_arn,
        default_rule_tags: Default::default(),
        attributes: Default::default(),
        tags,
    };
    let out = render(&record);
    world.elbv2.listeners.insert(arn, record);
    world.elbv2.routes_dirty = true;
    usage::refresh(world, ctx);
    Ok(api::CreateListenerOutput {
        listeners: Some(vec![out]),
    })
}

pub fn describe(world: &World, input: api::DescribeListenersInput) -> R<api::DescribeListenersOutput> {
    let arns = input.listener_arns.unwrap_or_default();
    let selected: Vec<&ListenerRecord> = match (&input.load_balancer_arn, arns.is_empty()) {
        (Some(_), false) => {
            return Err(validation(
                "Listener ARNs and a load balancer ARN cannot be specified at the same time",
            ));
        }
        (Some(lb), true) => {
            if !world.elbv2.load_balancers.contains_key(lb) {
                return Err(lb_not_found(lb));
            }
            world.elbv2.listeners_of(lb).collect()
        }
        (None, false) => {
            if arns.iter().any(|a| !world.elbv2.listeners.contains_key(a)) {
                return Err(error("ListenerNotFound", "One or more listeners not found"));
            }
            let mut ls: Vec<&ListenerRecord> = world
                .elbv2
                .listeners
                .values()
                .filter(|l| arns.contains(&l.arn))
                .collect();
            ls.sort_by_key(|l| l.seq);
            ls
        }
        (None, true) => {
            return Err(validation(
                "You must specify either listener ARNs or a load balancer ARN",
            ));
        }
    };
    let (page, next_marker) = paginate(selected, input.marker.as_deref(), input.page_size)?;
    Ok(api::DescribeListenersOutput {
        listeners: Some(page.into_iter().map(render).collect()),
        next_marker,
    })
}

pub fn modify(
    world: &mut World,
    ctx: &mut Ctx<'_>,
    input: api::ModifyListenerInput,
) -> R<api::ModifyListenerOutput> {
    let (listener, lb) = world
        .elbv2
        .listener_with_load_balancer(&input.listener_arn)
        .ok_or_else(|| listener_not_found(&input.listener_arn))?;
    let protocol = input.protocol.unwrap_or(listener.protocol);
    check_protocol(lb, protocol)?;
    let port = match input.port {
        Some(p) => check_port(Some(p))?,
        None => listener.port,
    };
    if port != listener.port
        && world
            .elbv2
            .listeners_of(&lb.arn)
            .any(|l| l.port == port && l.arn != listener.arn)
    {
        return Err(error(
            "DuplicateListener",
            format!(
                "A listener already exists on this port for this load balancer '{}'",
                lb.arn
            ),
        ));
    }
    let new_certificate = default_certificate(input.certificates)?;
    let (certificate, ssl_policy, extra_certificates) = if protocol == api::ProtocolEnum::Https {
        let certificate = new_certificate.or_else(|| listener.default_certificate.clone());
        if certificate.is_none() {
            return Err(validation("A certificate must be specified for HTTPS listeners"));
        }
        let policy = input
            .ssl_policy
            .or_else(|| listener.ssl_policy.clone())
            .unwrap_or_else(|| DEFAULT_SSL_POLICY.to_string());
        if !ssl_policy_exists(&policy) {
            return Err(error(
                "SSLPolicyNotFound",
                format!("SSL policy '{policy}' not found"),
            ));
        }
        (certificate, Some(policy), listener.extra_certificates.clone())
    } else {
        if new_certificate.is_some() {
            return Err(validation(
                "Certificates can only be specified for HTTPS listeners",
            ));
        }
        if input.ssl_policy.is_some() {
            return Err(validation(
                "An SSL policy can only be specified for HTTPS listeners",
            ));
        }
        (None, None, Vec::new())
    };
    if input.alpn_policy.as_ref().is_some_and(|a| !a.is_empty()) {
        return Err(validation(
            "An ALPN policy can only be specified for TLS listeners",
        ));
    }
    check_mutual_authentication(input.mutual_authentication.as_ref())?;
    let action = match input.default_actions {
        Some(a) => actions::parse(&world.elbv2, lb, protocol, a)?,
        None => listener.default_action.clone(),
    };
    let listener = world
        .elbv2
        .listeners
        .get_mut(&input.listener_arn)
        .ok_or_else(|| listener_not_found(&input.listener_arn))?;
    let protocol_changed = listener.protocol != protocol;
    listener.port = port;
    listener.protocol = protocol;
    listener.default_certificate = certificate;
    listener.ssl_policy = ssl_policy;
    listener.extra_certificates = extra_certificates;
    listener.default_action = action;
    if protocol_changed {
        attributes::retain_listener_attributes(listener);
    }
    let out = render(listener);
    world.elbv2.routes_dirty = true;
    usage::refresh(world, ctx);
    Ok(api::ModifyListenerOutput {
        listeners: Some(vec![out]),
    })
}

pub fn delete(
    world: &mut World,
    ctx: &mut Ctx<'_>,
    input: api::DeleteListenerInput,
) -> R<api::DeleteListenerOutput> {
    if world.elbv2.listeners.remove(&input.listener_arn).is_none() {
        return Err(listener_not_found(&input.listener_arn));
    }
    world
        .elbv2
        .rules
        .retain(|_, r| r.listener_arn != input.listener_arn);
    world.elbv2.routes_dirty = true;
    usage::refresh(world, ctx);
    Ok(api::DeleteListenerOutput {})
}

fn certificates_of(l: &ListenerRecord) -> Vec<api::Certificate> {
    let default = l.default_certificate.iter().map(|c| api::Certificate {
        certificate_arn: Some(c.clone()),
        is_default: Some(true),
    });
    let extra = l.extra_certificates.iter().map(|c| api::Certificate {
        certificate_arn: Some(c.clone()),
        is_default: Some(false),
    });
    default.chain(extra).collect()
}

pub fn describe_certificates(
    world: &World,
    input: api::DescribeListenerCertificatesInput,
) -> R<api::DescribeListenerCertificatesOutput> {
    let l = world
        .elbv2
        .listeners
        .get(&input.listener_arn)
        .ok_or_else(|| listener_not_found(&input.listener_arn))?;
    let (page, next_marker) = paginate(certificates_of(l), input.marker.as_deref(), input.page_size)?;
    Ok(api::DescribeListenerCertificatesOutput {
        certificates: Some(page),
        next_marker,
    })
}

pub fn add_certificates(
    world: &mut World,
    input: api::AddListenerCertificatesInput,
) -> R<api::AddListenerCertificatesOutput> {
    let l = world
        .elbv2
        .listeners
        .get(&input.listener_arn)
        .ok_or_else(|| listener_not_found(&input.listener_arn))?;
    if l.protocol != api::ProtocolEnum::Https {
        return Err(validation("Certificates can only be added to HTTPS listeners"));
    }
    if input.certificates.is_empty() {
        return Err(validation("At least one certificate must be specified"));
    }
    let mut extra = l.extra_certificates.clone();
    for c in &input.certificates {
        if c.is_default == Some(true) {
            return Err(validation(
                "The default certificate cannot be added to the certificate list; use ModifyListener to change it",
            ));
        }
        let arn = c
            .certificate_arn
            .clone()
            .filter(|a| !a.is_empty())
            .ok_or_else(|| validation("A certificate ARN must be specified"))?;
        if !extra.contains(&arn) {
            extra.push(arn);
        }
    }
    if extra.len() > MAX_CERTIFICATES {
        return Err(error(
            "TooManyCertificates",
            format!(
                "A listener can have at most {MAX_CERTIFICATES} certificates besides its default certificate"
            ),
        ));
    }
    let l = world
        .elbv2
        .listeners
        .get_mut(&input.listener_arn)
        .ok_or_else(|| listener_not_found(&input.listener_arn))?;
    l.extra_certificates = extra;
    Ok(api::AddListenerCertificatesOutput {
        certificates: Some(
            l.extra_certificates
                .iter()
                .map(|c| api::Certificate {
                    certificate_arn: Some(c.clone()),
                    is_default: Some(false),
                })
                .collect(),
        ),
    })
}

pub fn remove_certificates(
    world: &mut World,
    input: api::RemoveListenerCertificatesInput,
) -> R<api::RemoveListenerCertificatesOutput> {
    let l = world
        .elbv2
        .listeners
        .get_mut(&input.listener_arn)
        .ok_or_else(|| listener_not_found(&input.listener_arn))?;
    if input.certificates.is_empty() {
        return Err(validation("At least one certificate must be specified"));
    }
    let arns: Vec<String> = input
        .certificates
        .iter()
        .filter_map(|c| c.certificate_arn.clone())
        .collect();
    if l.default_certificate.as_ref().is_some_and(|d| arns.contains(d))
        || input.certificates.iter().any(|c| c.is_default == Some(true))
    {
        return Err(error(
            "OperationNotPermitted",
            "The default certificate cannot be removed from a listener",
        ));
    }
    l.extra_certificates.retain(|c| !arns.contains(c));
    Ok(api::RemoveListenerCertificatesOutput {})
}
