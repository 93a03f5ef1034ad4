//! Load balancers: create, describe, attributes, subnets, security groups, delete.

use ecsim_api::elbv2 as api;
use ecsim_api::elbv2::Elbv2Api;

use super::{Fixture, code, fixed};
use crate::network::{DEFAULT_SECURITY_GROUP_ID, DEFAULT_VPC_ID, default_subnet_id};

#[test]
fn create_fills_in_defaults_and_becomes_active() {
    let mut f = Fixture::new();
    let lb = f.create_lb("web-alb");
    let arn = lb.load_balancer_arn.clone().unwrap();
    let id = arn.rsplit('/').next().unwrap().to_string();
    assert_eq!(
        arn,
        format!("arn:aws:elasticloadbalancing:us-east-1:000000000000:loadbalancer/app/web-alb/{id}")
    );
    assert_eq!(id.len(), 16);
    assert!(id.bytes().all(|b| b.is_ascii_hexdigit()));
    let dns = lb.dns_name.clone().unwrap();
    assert!(
        dns.starts_with("web-alb-") && dns.ends_with(".us-east-1.elb.localhost"),
        "{dns}"
    );
    let digits = &dns["web-alb-".len()..dns.len() - ".us-east-1.elb.localhost".len()];
    assert_eq!(digits.len(), 10);
    assert!(digits.bytes().all(|b| b.is_ascii_digit()));
    assert_eq!(lb.canonical_hosted_zone_id.as_deref(), Some("Z35SXDOTRQ7X7K"));
    assert_eq!(lb.r#type, Some(api::LoadBalancerTypeEnum::Application));
    assert_eq!(lb.scheme, Some(api::LoadBalancerSchemeEnum::InternetFacing));
    assert_eq!(lb.ip_address_type, Some(api::IpAddressType::Ipv4));
    assert_eq!(lb.vpc_id.as_deref(), Some(DEFAULT_VPC_ID));
    assert_eq!(
        lb.security_groups,
        Some(vec![DEFAULT_SECURITY_GROUP_ID.to_string()])
    );
    let zones: Vec<(String, String)> = lb
        .availability_zones
        .unwrap()
        .into_iter()
        .map(|z| (z.zone_name.unwrap(), z.subnet_id.unwrap()))
        .collect();
    assert_eq!(
        zones,
        vec![
            ("us-east-1a".to_string(), default_subnet_id("a")),
            ("us-east-1b".to_string(), default_subnet_id("b")),
        ]
    );
    assert_eq!(lb.created_time, Some(1_767_225_600.0));
    let state = |f: &mut Fixture| {
        f.call(|h| h.describe_load_balancers(api::DescribeLoadBalancersInput::default()))
            .unwrap()
            .load_balancers
            .unwrap()[0]
            .state
            .clone()
            .unwrap()
            .code
    };
    assert_eq!(state(&mut f), Some(api::LoadBalancerStateEnum::Provisioning));
    f.advance(999);
    assert_eq!(state(&mut f), Some(api::LoadBalancerStateEnum::Provisioning));
    f.advance(1);
    assert_eq!(state(&mut f), Some(api::LoadBalancerStateEnum::Active));
}

#[test]
fn internal_and_network_load_balancers() {
    let mut f = Fixture::new();
    let internal = f
        .try_create_lb(api::CreateLoadBalancerInput {
            name: "Private".into(),
            scheme: Some(api::LoadBalancerSchemeEnum::Internal),
            subnets: Some(vec![default_subnet_id("c"), default_subnet_id("a")]),
            ..Default::default()
        })
        .unwrap();
    assert!(internal.dns_name.unwrap().starts_with("internal-private-"));
    let nlb = f
        .try_create_lb(api::CreateLoadBalancerInput {
            name: "tcp".into(),
            r#type: Some(api::LoadBalancerTypeEnum::Network),
            subnet_mappings: Some(vec![api::SubnetMapping {
                subnet_id: Some(default_subnet_id("a")),
                ..Default::default()
            }]),
            ..Default::default()
        })
        .unwrap();
    assert!(nlb.load_balancer_arn.unwrap().contains(":loadbalancer/net/tcp/"));
    assert_eq!(nlb.security_groups, None);
    assert_eq!(nlb.r#type, Some(api::LoadBalancerTypeEnum::Network));
}

#[test]
fn create_validation() {
    let mut f = Fixture::new();
    let base = |name: &str| api::CreateLoadBalancerInput {
        name: name.into(),
        subnets: Some(vec![default_subnet_id("a"), default_subnet_id("b")]),
        ..Default::default()
    };
    for name in ["", "-web", "web-", "internal-web", "web_alb", &"a".repeat(33)] {
        assert_eq!(code(f.try_create_lb(base(name))), "ValidationError", "{name}");
    }
    let one_zone = api::CreateLoadBalancerInput {
        subnets: Some(vec![default_subnet_id("a")]),
        ..base("one")
    };
    assert_eq!(code(f.try_create_lb(one_zone)), "ValidationError");
    let unknown = api::CreateLoadBalancerInput {
        subnets: Some(vec![default_subnet_id("a"), "subnet-nope".into()]),
        ..base("unknown")
    };
    assert_eq!(code(f.try_create_lb(unknown)), "SubnetNotFound");
    let gateway = api::CreateLoadBalancerInput {
        r#type: Some(api::LoadBalancerTypeEnum::Gateway),
        ..base("gw")
    };
    assert_eq!(code(f.try_create_lb(gateway)), "ValidationError");
    let bad_group = api::CreateLoadBalancerInput {
        security_groups: Some(vec!["sg-nope".into()]),
        ..base("sg")
    };
    assert_eq!(code(f.try_create_lb(bad_group)), "InvalidSecurityGroup");
    assert!(f.world.elbv2.load_balancers.is_empty());

    // Idempotent with the same settings, refused with different ones.
    let first = f.create_lb("web");
    let again = f.create_lb("web");
    assert_eq!(first.load_balancer_arn, again.load_balancer_arn);
    let different = api::CreateLoadBalancerInput {
        subnets: Some(vec![default_subnet_id("a"), default_subnet_id("c")]),
        ..base("web")
    };
    assert_eq!(code(f.try_create_lb(different)), "DuplicateLoadBalancerName");
}

#[test]
fn same_zone_subnets_are_refused() {
    let mut f = Fixture::new();
    let mut second = f.world.network.subnets[&default_subnet_id("a")].clone();
    second.id = "subnet-0second0000000000".into();
    f.world.network.subnets.insert(second.id.clone(), second);
    let input = api::CreateLoadBalancerInput {
        name: "dup".into(),
        subnets: Some(vec![default_subnet_id("a"), "subnet-0second0000000000".into()]),
        ..Default::default()
    };
    assert_eq!(code(f.try_create_lb(input)), "InvalidConfigurationRequest");
}

#[test]
fn describe_by_arn_name_and_pages() {
    let mut f = Fixture::new();
    let arns: Vec<String> = (0..5)
        .map(|i| f.create_lb(&format!("lb-{i}")).load_balancer_arn.unwrap())
        .collect();
    let by_name = f
        .call(|h| {
            h.describe_load_balancers(api::DescribeLoadBalancersInput {
                names: Some(vec!["lb-3".into()]),
                ..Default::default()
            })
        })
        .unwrap();
    assert_eq!(
        by_name.load_balancers.unwrap()[0].load_balancer_arn.as_ref(),
        Some(&arns[3])
    );
    let missing = f.call(|h| {
        h.describe_load_balancers(api::DescribeLoadBalancersInput {
            load_balancer_arns: Some(vec![arns[0].clone(), format!("{}x", arns[0])]),
            ..Default::default()
        })
    });
    assert_eq!(code(missing), "LoadBalancerNotFound");
    let missing_name = f.call(|h| {
        h.describe_load_balancers(api::DescribeLoadBalancersInput {
            names: Some(vec!["ghost".into()]),
            ..Default::default()
        })
    });
    assert_eq!(code(missing_name), "LoadBalancerNotFound");

    let mut seen = Vec::new();
    let mut marker = None;
    loop {
        let page = f
            .call(|h| {
                h.describe_load_balancers(api::DescribeLoadBalancersInput {
                    marker: marker.clone(),
                    page_size: Some(2),
                    ..Default::default()
                })
            })
            .unwrap();
        let lbs = page.load_balancers.unwrap();
        assert!(lbs.len() <= 2);
        seen.extend(lbs.into_iter().map(|lb| lb.load_balancer_arn.unwrap()));
        marker = page.next_marker;
        if marker.is_none() {
            break;
        }
    }
    assert_eq!(seen, arns);
}

#[test]
fn attributes_defaults_modify_and_validation() {
    let mut f = Fixture::new();
    let arn = f.create_lb("attrs").load_balancer_arn.unwrap();
    let describe = |f: &mut Fixture| -> Vec<(String, String)> {
        f.call(|h| {
            h.describe_load_balancer_attributes(api::DescribeLoadBalancerAttributesInput {
                load_balancer_arn: arn.clone(),
            })
        })
        .unwrap()
        .attributes
        .unwrap()
        .into_iter()
        .map(|a| (a.key.unwrap(), a.value.unwrap()))
        .collect()
    };
    let get =
        |attrs: &[(String, String)], k: &str| attrs.iter().find(|(key, _)| key == k).map(|(_, v)| v.clone());
    let attrs = describe(&mut f);
    assert_eq!(get(&attrs, "idle_timeout.timeout_seconds").as_deref(), Some("60"));
    assert_eq!(
        get(&attrs, "deletion_protection.enabled").as_deref(),
        Some("false")
    );
    assert_eq!(get(&attrs, "routing.http2.enabled").as_deref(), Some("true"));
    assert_eq!(get(&attrs, "client_keep_alive.seconds").as_deref(), Some("3600"));
    assert_eq!(
        get(&attrs, "routing.http.desync_mitigation_mode").as_deref(),
        Some("defensive")
    );
    assert_eq!(get(&attrs, "access_logs.s3.enabled").as_deref(), Some("false"));

    let modify = |f: &mut Fixture, pairs: &[(&str, &str)]| {
        let input = api::ModifyLoadBalancerAttributesInput {
            load_balancer_arn: arn.clone(),
            attributes: pairs
                .iter()
                .map(|(k, v)| api::LoadBalancerAttribute {
                    key: Some((*k).into()),
                    value: Some((*v).into()),
                })
                .collect(),
        };
        f.call(|h| h.modify_load_balancer_attributes(input))
    };
    let out = modify(&mut f, &[("idle_timeout.timeout_seconds", "120")]).unwrap();
    assert!(out.attributes.unwrap().iter().any(
        |a| a.key.as_deref() == Some("idle_timeout.timeout_seconds") && a.value.as_deref() == Some("120")
    ));
    assert_eq!(
        code(modify(&mut f, &[("idle_timeout.timeout_seconds", "4001")])),
        "ValidationError"
    );
    assert_eq!(
        code(modify(&mut f, &[("idle_timeout.timeout_seconds", "0")])),
        "ValidationError"
    );
    assert_eq!(
        code(modify(&mut f, &[("nope.enabled", "true")])),
        "ValidationError"
    );
    assert_eq!(
        code(modify(&mut f, &[("routing.http2.enabled", "yes")])),
        "ValidationError"
    );
    assert_eq!(
        code(modify(
            &mut f,
            &[
                ("routing.http2.enabled", "false"),
                ("access_logs.s3.enabled", "true")
            ]
        )),
        "InvalidConfigurationRequest"
    );
    let attrs = describe(&mut f);
    assert_eq!(
        get(&attrs, "idle_timeout.timeout_seconds").as_deref(),
        Some("120")
    );
    assert_eq!(
        get(&attrs, "routing.http2.enabled").as_deref(),
        Some("true"),
        "a refused call changes nothing"
    );

    // Deletion protection blocks DeleteLoadBalancer until it is turned off.
    modify(&mut f, &[("deletion_protection.enabled", "true")]).unwrap();
    let delete = |f: &mut Fixture| {
        f.call(|h| {
            h.delete_load_balancer(api::DeleteLoadBalancerInput {
                load_balancer_arn: arn.clone(),
            })
        })
    };
    assert_eq!(code(delete(&mut f)), "OperationNotPermitted");
    modify(&mut f, &[("deletion_protection.enabled", "false")]).unwrap();
    delete(&mut f).unwrap();
    assert!(f.world.elbv2.load_balancers.is_empty());
    delete(&mut f).unwrap();
}

#[test]
fn delete_removes_listeners_and_rules_but_keeps_target_groups() {
    let mut f = Fixture::new();
    let lb = f.create_lb("gone").load_balancer_arn.unwrap();
    let tg = f
        .create_tg("stays", api::TargetTypeEnum::Ip)
        .target_group_arn
        .unwrap();
    let listener = f
        .create_listener(&lb, 80, super::forward(&tg))
        .unwrap()
        .listener_arn
        .unwrap();
    f.create_rule(&listener, 10, vec![super::path_condition(&["/a"])], fixed("200"))
        .unwrap();
    f.call(|h| {
        h.delete_load_balancer(api::DeleteLoadBalancerInput {
            load_balancer_arn: lb.clone(),
        })
    })
    .unwrap();
    assert!(f.world.elbv2.listeners.is_empty());
    assert!(f.world.elbv2.rules.is_empty());
    let tgs = f
        .call(|h| h.describe_target_groups(api::DescribeTargetGroupsInput::default()))
        .unwrap()
        .target_groups
        .unwrap();
    assert_eq!(tgs.len(), 1);
    assert_eq!(tgs[0].load_balancer_arns, Some(vec![]));
}

#[test]
fn security_groups_subnets_and_ip_address_type() {
    let mut f = Fixture::new();
    let arn = f.create_lb("net").load_balancer_arn.unwrap();
    let out = f
        .call(|h| {
            h.set_subnets(api::SetSubnetsInput {
                load_balancer_arn: arn.clone(),
                subnets: Some(vec![default_subnet_id("b"), default_subnet_id("c")]),
                ..Default::default()
            })
        })
        .unwrap();
    let zones: Vec<String> = out
        .availability_zones
        .unwrap()
        .into_iter()
        .map(|z| z.zone_name.unwrap())
        .collect();
    assert_eq!(zones, vec!["us-east-1b", "us-east-1c"]);
    let one = f.call(|h| {
        h.set_subnets(api::SetSubnetsInput {
            load_balancer_arn: arn.clone(),
            subnets: Some(vec![default_subnet_id("b")]),
            ..Default::default()
        })
    });
    assert_eq!(code(one), "ValidationError");
    let groups = f
        .call(|h| {
            h.set_security_groups(api::SetSecurityGroupsInput {
                load_balancer_arn: arn.clone(),
                security_groups: vec![DEFAULT_SECURITY_GROUP_ID.into()],
                ..Default::default()
            })
        })
        .unwrap();
    assert_eq!(
        groups.security_group_ids,
        Some(vec![DEFAULT_SECURITY_GROUP_ID.to_string()])
    );
    let bad = f.call(|h| {
        h.set_security_groups(api::SetSecurityGroupsInput {
            load_balancer_arn: arn.clone(),
            security_groups: vec!["sg-404".into()],
            ..Default::default()
        })
    });
    assert_eq!(code(bad), "InvalidSecurityGroup");
    let t = f
        .call(|h| {
            h.set_ip_address_type(api::SetIpAddressTypeInput {
                load_balancer_arn: arn.clone(),
                ip_address_type: api::IpAddressType::Dualstack,
            })
        })
        .unwrap();
    assert_eq!(t.ip_address_type, Some(api::IpAddressType::Dualstack));
    let unknown = f.call(|h| {
        h.set_ip_address_type(api::SetIpAddressTypeInput {
            load_balancer_arn: format!("{arn}0"),
            ip_address_type: api::IpAddressType::Ipv4,
        })
    });
    assert_eq!(code(unknown), "LoadBalancerNotFound");
}
