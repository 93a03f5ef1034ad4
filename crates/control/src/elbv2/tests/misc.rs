//! Tags, account limits, SSL policies and the coverage of the handler.

use ecsim_api::elbv2 as api;
use ecsim_api::elbv2::Elbv2Api;

use super::{Fixture, code, fixed, path_condition};

fn tag(k: &str, v: &str) -> api::Tag {
    api::Tag {
        key: k.into(),
        value: Some(v.into()),
    }
}

#[test]
fn tags_on_every_resource_type() {
    let mut f = Fixture::new();
    let lb = f
        .try_create_lb(api::CreateLoadBalancerInput {
            name: "tagged".into(),
            subnets: Some(vec![
                crate::network::default_subnet_id("a"),
                crate::network::default_subnet_id("b"),
            ]),
            tags: Some(vec![tag("team", "web")]),
            ..Default::default()
        })
        .unwrap()
        .load_balancer_arn
        .unwrap();
    let tg = f
        .create_tg("tg", api::TargetTypeEnum::Ip)
        .target_group_arn
        .unwrap();
    let listener = f
        .create_listener(&lb, 80, fixed("200"))
        .unwrap()
        .listener_arn
        .unwrap();
    let rule = f
        .create_rule(&listener, 1, vec![path_condition(&["/x"])], fixed("200"))
        .unwrap()
        .rule_arn
        .unwrap();
    let default_rule = f
        .call(|h| {
            h.describe_rules(api::DescribeRulesInput {
                listener_arn: Some(listener.clone()),
                ..Default::default()
            })
        })
        .unwrap()
        .rules
        .unwrap()
        .pop()
        .unwrap()
        .rule_arn
        .unwrap();
    let all = vec![
        lb.clone(),
        tg.clone(),
        listener.clone(),
        rule.clone(),
        default_rule.clone(),
    ];
    f.call(|h| {
        h.add_tags(api::AddTagsInput {
            resource_arns: all.clone(),
            tags: vec![tag("env", "test"), tag("team", "platform")],
        })
    })
    .unwrap();
    f.call(|h| {
        h.remove_tags(api::RemoveTagsInput {
            resource_arns: vec![tg.clone()],
            tag_keys: vec!["team".into(), "absent".into()],
        })
    })
    .unwrap();
    let described = f
        .call(|h| {
            h.describe_tags(api::DescribeTagsInput {
                resource_arns: all.clone(),
            })
        })
        .unwrap()
        .tag_descriptions
        .unwrap();
    let keys: Vec<(String, Vec<(String, String)>)> = described
        .into_iter()
        .map(|d| {
            (
                d.resource_arn.unwrap(),
                d.tags
                    .unwrap()
                    .into_iter()
                    .map(|t| (t.key, t.value.unwrap()))
                    .collect(),
            )
        })
        .collect();
    let env_team = vec![
        ("env".to_string(), "test".to_string()),
        ("team".to_string(), "platform".to_string()),
    ];
    assert_eq!(
        keys,
        vec![
            (lb.clone(), env_team.clone()),
            (tg.clone(), vec![("env".to_string(), "test".to_string())]),
            (listener.clone(), env_team.clone()),
            (rule.clone(), env_team.clone()),
            (default_rule.clone(), env_team),
        ]
    );

    // Limits and errors; a refused call changes nothing.
    let many: Vec<api::Tag> = (0..49).map(|i| tag(&format!("k{i}"), "v")).collect();
    let too_many = f.call(|h| {
        h.add_tags(api::AddTagsInput {
            resource_arns: vec![tg.clone(), lb.clone()],
            tags: many.clone(),
        })
    });
    assert_eq!(code(too_many), "TooManyTags");
    f.call(|h| {
        h.add_tags(api::AddTagsInput {
            resource_arns: vec![tg.clone()],
            tags: many,
        })
    })
    .unwrap();
    assert_eq!(f.world.elbv2.target_groups[&tg].tags.len(), 50);
    assert_eq!(f.world.elbv2.load_balancers[&lb].tags.len(), 2);
    let dup = f.call(|h| {
        h.add_tags(api::AddTagsInput {
            resource_arns: vec![lb.clone()],
            tags: vec![tag("a", "1"), tag("a", "2")],
        })
    });
    assert_eq!(code(dup), "DuplicateTagKeys");
    let reserved = f.call(|h| {
        h.add_tags(api::AddTagsInput {
            resource_arns: vec![lb.clone()],
            tags: vec![tag("aws:x", "1")],
        })
    });
    assert_eq!(code(reserved), "ValidationError");
    for (arn, expected) in [
        (format!("{lb}0"), "LoadBalancerNotFound"),
        (format!("{tg}0"), "TargetGroupNotFound"),
        (format!("{listener}0"), "ListenerNotFound"),
        (format!("{rule}0"), "RuleNotFound"),
        ("not-an-arn".to_string(), "ValidationError"),
    ] {
        let r = f.call(|h| {
            h.describe_tags(api::DescribeTagsInput {
                resource_arns: vec![arn.clone()],
            })
        });
        assert_eq!(code(r), expected, "{arn}");
    }
    let bad_create = f.try_create_tg(api::CreateTargetGroupInput {
        tags: Some(vec![tag("x", "1"), tag("x", "2")]),
        ..super::tg_input("dup-tags", api::TargetTypeEnum::Ip)
    });
    assert_eq!(code(bad_create), "DuplicateTagKeys");
}

#[test]
fn account_limits_and_ssl_policies() {
    let mut f = Fixture::new();
    let limits = f
        .call(|h| h.describe_account_limits(api::DescribeAccountLimitsInput::default()))
        .unwrap()
        .limits
        .unwrap();
    let get = |name: &str| {
        limits
            .iter()
            .find(|l| l.name.as_deref() == Some(name))
            .and_then(|l| l.max.clone())
    };
    assert_eq!(get("application-load-balancers").as_deref(), Some("50"));
    assert_eq!(get("target-groups").as_deref(), Some("3000"));
    assert_eq!(get("targets-per-target-group").as_deref(), Some("1000"));
    assert_eq!(get("condition-values-per-alb-rule").as_deref(), Some("5"));
    let all = f
        .call(|h| h.describe_ssl_policies(api::DescribeSSLPoliciesInput::default()))
        .unwrap()
        .ssl_policies
        .unwrap();
    assert!(all.len() >= 2);
    let one = f
        .call(|h| {
            h.describe_ssl_policies(api::DescribeSSLPoliciesInput {
                names: Some(vec!["ELBSecurityPolicy-TLS13-1-2-2021-06".into()]),
                ..Default::default()
            })
        })
        .unwrap()
        .ssl_policies
        .unwrap();
    assert_eq!(one.len(), 1);
    assert_eq!(
        one[0].ssl_protocols,
        Some(vec!["TLSv1.2".to_string(), "TLSv1.3".to_string()])
    );
    assert_eq!(one[0].ciphers.as_ref().unwrap()[0].priority, Some(1));
    let missing = f.call(|h| {
        h.describe_ssl_policies(api::DescribeSSLPoliciesInput {
            names: Some(vec!["nope".into()]),
            ..Default::default()
        })
    });
    assert_eq!(code(missing), "SSLPolicyNotFound");
}

#[test]
fn implemented_operations() {
    let implemented: Vec<&str> = crate::coverage::rows()
        .into_iter()
        .filter(|(service, _, yes)| *service == api::SERVICE_ID && *yes)
        .map(|(_, op, _)| op)
        .collect();
    let expected = [
        "AddListenerCertificates",
        "AddTags",
        "CreateListener",
        "CreateLoadBalancer",
        "CreateRule",
        "CreateTargetGroup",
        "DeleteListener",
        "DeleteLoadBalancer",
        "DeleteRule",
        "DeleteTargetGroup",
        "DeregisterTargets",
        "DescribeAccountLimits",
        "DescribeListenerAttributes",
        "DescribeListenerCertificates",
        "DescribeListeners",
        "DescribeLoadBalancerAttributes",
        "DescribeLoadBalancers",
        "DescribeRules",
        "DescribeSSLPolicies",
        "DescribeTags",
        "DescribeTargetGroupAttributes",
        "DescribeTargetGroups",
        "DescribeTargetHealth",
        "ModifyListener",
        "ModifyListenerAttributes",
        "ModifyLoadBalancerAttributes",
        "ModifyRule",
        "ModifyTargetGroup",
        "ModifyTargetGroupAttributes",
        "RegisterTargets",
        "RemoveListenerCertificates",
        "RemoveTags",
        "SetIpAddressType",
        "SetRulePriorities",
        "SetSecurityGroups",
        "SetSubnets",
    ];
    assert_eq!(implemented, expected);
    // Default inputs change nothing in a scratch world: the probes are refusals.
    let mut f = Fixture::new();
    for &op in api::Operation::ALL {
        let _ = f.call(|h| api::dispatch(h, op, serde_json::Value::Null));
    }
    assert!(f.world.elbv2.load_balancers.is_empty());
    assert!(f.world.elbv2.target_groups.is_empty());
}
