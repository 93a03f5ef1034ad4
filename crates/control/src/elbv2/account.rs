//! Account-wide, read-only answers: DescribeAccountLimits (the quotas ecsim enforces, with
//! AWS's default values and names) and DescribeSSLPolicies (a few real policies; HTTPS
//! listeners must name one of them).
//!
//! No world state is read or changed here.

use ecsim_api::elbv2 as api;

use super::common::{R, error, paginate};

/// The policy an HTTPS listener gets when it names none.
pub const DEFAULT_SSL_POLICY: &str = "ELBSecurityPolicy-2016-08";

const TLS12_ECDHE: &[&str] = &[
    "ECDHE-ECDSA-AES128-GCM-SHA256",
    "ECDHE-RSA-AES128-GCM-SHA256",
    "ECDHE-ECDSA-AES128-SHA256",
    "ECDHE-RSA-AES128-SHA256",
    "ECDHE-ECDSA-AES256-GCM-SHA384",
    "ECDHE-RSA-AES256-GCM-SHA384",
    "ECDHE-ECDSA-AES256-SHA384",
    "ECDHE-RSA-AES256-SHA384",
];

const TLS13: &[&str] = &[
    "TLS_AES_128_GCM_SHA256",
    "TLS_AES_256_GCM_SHA384",
    "TLS_CHACHA20_POLY1305_SHA256",
];

struct Policy {
    name: &'static str,
    protocols: &'static [&'static str],
    ciphers: Vec<&'static str>,
}

fn policies() -> Vec<Policy> {
    vec![
        Policy {
            name: "ELBSecurityPolicy-2016-08",
            protocols: &["TLSv1", "TLSv1.1", "TLSv1.2"],
            ciphers: [
                "ECDHE-ECDSA-AES128-GCM-SHA256",
                "ECDHE-RSA-AES128-GCM-SHA256",
                "ECDHE-ECDSA-AES128-SHA256",
                "ECDHE-RSA-AES128-SHA256",
                "ECDHE-ECDSA-AES128-SHA",
                "ECDHE-RSA-AES128-SHA",
                "ECDHE-ECDSA-AES256-GCM-SHA384",
                "ECDHE-RSA-AES256-GCM-SHA384",
                "ECDHE-ECDSA-AES256-SHA384",
                "ECDHE-RSA-AES256-SHA384",
                "ECDHE-RSA-AES256-SHA",
                "ECDHE-ECDSA-AES256-SHA",
                "AES128-GCM-SHA256",
                "AES128-SHA256",
                "AES128-SHA",
                "AES256-GCM-SHA384",
                "AES256-SHA256",
                "AES256-SHA",
            ]
            .to_vec(),
        },
        Policy {
            name: "ELBSecurityPolicy-TLS-1-2-2017-01",
            protocols: &["TLSv1.2"],
            ciphers: TLS12_ECDHE
                .iter()
                .copied()
                .chain([
                    "AES128-GCM-SHA256",
                    "AES128-SHA256",
                    "AES256-GCM-SHA384",
                    "AES256-SHA256",
                ])
                .collect(),
        },
        Policy {
            name: "ELBSecurityPolicy-TLS13-1-2-2021-06",
            protocols: &["TLSv1.2", "TLSv1.3"],
            ciphers: TLS13.iter().chain(TLS12_ECDHE).copied().collect(),
        },
        Policy {
            name: "ELBSecurityPolicy-TLS13-1-2-Res-2021-06",
            protocols: &["TLSv1.2", "TLSv1.3"],
            ciphers: TLS13
                .iter()
                .copied()
                .chain([
                    "ECDHE-ECDSA-AES128-GCM-SHA256",
                    "ECDHE-RSA-AES128-GCM-SHA256",
                    "ECDHE-ECDSA-AES256-GCM-SHA384",
                    "ECDHE-RSA-AES256-GCM-SHA384",
                ])
                .collect(),
        },
    ]
}

pub fn ssl_policy_exists(name: &str) -> bool {
    policies().iter().any(|p| p.name == name)
}

fn render(p: &Policy) -> api::SslPolicy {
    api::SslPolicy {
        ssl_protocols: Some(p.protocols.iter().map(|s| s.to_string()).collect()),
        ciphers: Some(
            p.ciphers
                .iter()
                .zip(1..)
                .map(|(c, priority)| api::Cipher {
                    name: Some(c.to_string()),
                    priority: Some(priority),
                })
                .collect(),
        ),
        name: Some(p.name.to_string()),
        supported_load_balancer_types: Some(vec!["application".into(), "network".into()]),
    }
}

pub fn describe_ssl_policies(input: api::DescribeSSLPoliciesInput) -> R<api::DescribeSSLPoliciesOutput> {
    if input.load_balancer_type == Some(api::LoadBalancerTypeEnum::Gateway) {
        return Ok(api::DescribeSSLPoliciesOutput {
            ssl_policies: Some(Vec::new()),
            next_marker: None,
        });
    }
    let all = policies();
    let names = input.names.unwrap_or_default();
    if let Some(missing) = names.iter().find(|n| !all.iter().any(|p| p.name == n.as_str())) {
        return Err(error(
            "SSLPolicyNotFound",
            format!("SSL policy '{missing}' not found"),
        ));
    }
    let selected: Vec<api::SslPolicy> = all
        .iter()
        .filter(|p| names.is_empty() || names.iter().any(|n| n == p.name))
        .map(render)
        .collect();
    let (page, next_marker) = paginate(selected, input.marker.as_deref(), input.page_size)?;
    Ok(api::DescribeSSLPoliciesOutput {
        ssl_policies: Some(page),
        next_marker,
    })
}

pub fn describe_account_limits(
    input: api::DescribeAccountLimitsInput,
) -> R<api::DescribeAccountLimitsOutput> {
    let limits: Vec<api::Limit> = [
        (
            "application-load-balancers",
            super::load_balancers::MAX_LOAD_BALANCERS,
        ),
        (
            "network-load-balancers",
            super::load_balancers::MAX_LOAD_BALANCERS,
        ),
        ("target-groups", super::target_groups::MAX_TARGET_GROUPS),
        ("targets-per-target-group", super::targets::MAX_TARGETS_PER_GROUP),
        (
            "listeners-per-application-load-balancer",
            super::listeners::MAX_LISTENERS,
        ),
        (
            "listeners-per-network-load-balancer",
            super::listeners::MAX_LISTENERS,
        ),
        (
            "rules-per-application-load-balancer",
            super::rules::MAX_RULES_PER_LOAD_BALANCER,
        ),
        (
            "target-groups-per-application-load-balancer",
            super::actions::MAX_GROUPS_PER_LOAD_BALANCER,
        ),
        (
            "target-groups-per-action-on-application-load-balancer",
            super::actions::MAX_GROUPS_PER_ACTION,
        ),
        ("target-groups-per-action-on-network-load-balancer", 1),
        (
            "condition-values-per-alb-rule",
            super::conditions::MAX_VALUES_PER_RULE,
        ),
        (
            "condition-wildcards-per-alb-rule",
            super::conditions::MAX_WILDCARDS_PER_RULE,
        ),
        (
            "certificates-per-application-load-balancer",
            super::listeners::MAX_CERTIFICATES,
        ),
    ]
    .into_iter()
    .map(|(name, max)| api::Limit {
        name: Some(name.to_string()),
        max: Some(max.to_string()),
    })
    .collect();
    let (page, next_marker) = paginate(limits, input.marker.as_deref(), input.page_size)?;
    Ok(api::DescribeAccountLimitsOutput {
        limits: Some(page),
        next_marker,
    })
}
