//! Target groups: defaults, validation, describe filters, modify, attributes, delete.

use ecsim_api::elbv2 as api;
use ecsim_api::elbv2::Elbv2Api;

use super::{Fixture, code, forward, tg_input};
use crate::network::{DEFAULT_VPC_ID, Tags, Vpc};
use crate::topology::Cidr;

#[test]
fn create_fills_in_health_check_defaults() {
    let mut f = Fixture::new();
    let tg = f.create_tg("blue", api::TargetTypeEnum::Instance);
    let arn = tg.target_group_arn.clone().unwrap();
    assert!(arn.starts_with("arn:aws:elasticloadbalancing:us-east-1:000000000000:targetgroup/blue/"));
    assert_eq!(arn.rsplit('/').next().unwrap().len(), 16);
    assert_eq!(tg.protocol, Some(api::ProtocolEnum::Http));
    assert_eq!(tg.port, Some(8080));
    assert_eq!(tg.vpc_id.as_deref(), Some(DEFAULT_VPC_ID));
    assert_eq!(tg.target_type, Some(api::TargetTypeEnum::Instance));
    assert_eq!(tg.protocol_version.as_deref(), Some("HTTP1"));
    assert_eq!(tg.health_check_protocol, Some(api::ProtocolEnum::Http));
    assert_eq!(tg.health_check_port.as_deref(), Some("traffic-port"));
    assert_eq!(tg.health_check_path.as_deref(), Some("/"));
    assert_eq!(tg.health_check_enabled, Some(true));
    assert_eq!(tg.health_check_interval_seconds, Some(30));
    assert_eq!(tg.health_check_timeout_seconds, Some(5));
    assert_eq!(tg.healthy_threshold_count, Some(5));
    assert_eq!(tg.unhealthy_threshold_count, Some(2));
    assert_eq!(tg.matcher.and_then(|m| m.http_code).as_deref(), Some("200"));
    assert_eq!(tg.load_balancer_arns, Some(vec![]));
    assert_eq!(tg.ip_address_type, Some(api::TargetGroupIpAddressTypeEnum::Ipv4));

    // No target type means instance.
    let plain = f
        .try_create_tg(api::CreateTargetGroupInput {
            target_type: None,
            ..tg_input("plain", api::TargetTypeEnum::Ip)
        })
        .unwrap();
    assert_eq!(plain.target_type, Some(api::TargetTypeEnum::Instance));

    let tcp = f
        .try_create_tg(api::CreateTargetGroupInput {
            protocol: Some(api::ProtocolEnum::Tcp),
            ..tg_input("tcp", api::TargetTypeEnum::Ip)
        })
        .unwrap();
    assert_eq!(tcp.health_check_protocol, Some(api::ProtocolEnum::Tcp));
    assert_eq!(tcp.health_check_timeout_seconds, Some(10));
    assert_eq!(tcp.health_check_path, None);
    assert_eq!(tcp.matcher, None);
    assert_eq!(tcp.protocol_version, None);
}

#[test]
fn create_validation() {
    let mut f = Fixture::new();
    let ip = || tg_input("g", api::TargetTypeEnum::Ip);
    let cases: Vec<(api::CreateTargetGroupInput, &str)> = vec![
        (
            api::CreateTargetGroupInput {
                name: "-g".into(),
                ..ip()
            },
            "ValidationError",
        ),
        (
            api::CreateTargetGroupInput {
                name: "g_1".into(),
                ..ip()
            },
            "ValidationError",
        ),
        (
            api::CreateTargetGroupInput {
                target_type: Some(api::TargetTypeEnum::Lambda),
                ..ip()
            },
            "ValidationError",
        ),
        (
            api::CreateTargetGroupInput {
                target_type: Some(api::TargetTypeEnum::Alb),
                ..ip()
            },
            "ValidationError",
        ),
        (
            api::CreateTargetGroupInput {
                protocol: None,
                ..ip()
            },
            "ValidationError",
        ),
        (
            api::CreateTargetGroupInput { port: None, ..ip() },
            "ValidationError",
        ),
        (
            api::CreateTargetGroupInput { vpc_id: None, ..ip() },
            "ValidationError",
        ),
        (
            api::CreateTargetGroupInput {
                vpc_id: Some("vpc-404".into()),
                ..ip()
            },
            "ValidationError",
        ),
        (
            api::CreateTargetGroupInput {
                health_check_interval_seconds: Some(10),
                health_check_timeout_seconds: Some(10),
                ..ip()
            },
            "ValidationError",
        ),
        (
            api::CreateTargetGroupInput {
                health_check_interval_seconds: Some(4),
                ..ip()
            },
            "ValidationError",
        ),
        (
            api::CreateTargetGroupInput {
                healthy_threshold_count: Some(11),
                ..ip()
            },
            "ValidationError",
        ),
        (
            api::CreateTargetGroupInput {
                health_check_enabled: Some(false),
                ..ip()
            },
            "ValidationError",
        ),
        (
            api::CreateTargetGroupInput {
                health_check_protocol: Some(api::ProtocolEnum::Tcp),
                ..ip()
            },
            "ValidationError",
        ),
        (
            api::CreateTargetGroupInput {
                health_check_path: Some("health".into()),
                ..ip()
            },
            "ValidationError",
        ),
        (
            api::CreateTargetGroupInput {
                health_check_port: Some("70000".into()),
                ..ip()
            },
            "ValidationError",
        ),
        (
            api::CreateTargetGroupInput {
                matcher: Some(api::Matcher {
                    http_code: Some("500".into()),
                    grpc_code: None,
                }),
                ..ip()
            },
            "ValidationError",
        ),
        (
            api::CreateTargetGroupInput {
                protocol_version: Some("GRPC".into()),
                ..ip()
            },
            "ValidationError",
        ),
        (
            api::CreateTargetGroupInput {
                protocol: Some(api::ProtocolEnum::Udp),
                ..ip()
            },
            "ValidationError",
        ),
    ];
    for (input, expected) in cases {
        let shown = format!("{input:?}");
        assert_eq!(code(f.try_create_tg(input)), expected, "{shown}");
    }
    assert!(f.world.elbv2.target_groups.is_empty());

    let ok = f
        .try_create_tg(api::CreateTargetGroupInput {
            health_check_interval_seconds: Some(10),
            health_check_timeout_seconds: Some(3),
            healthy_threshold_count: Some(2),
            health_check_path: Some("/health".into()),
            health_check_port: Some("9000".into()),
            matcher: Some(api::Matcher {
                http_code: Some("200-299".into()),
                grpc_code: None,
            }),
            ..ip()
        })
        .unwrap();
    assert_eq!(ok.health_check_port.as_deref(), Some("9000"));
    assert_eq!(ok.matcher.unwrap().http_code.as_deref(), Some("200-299"));

    // Idempotent with the same settings; different settings are a duplicate name.
    let again = f
        .try_create_tg(api::CreateTargetGroupInput {
            health_check_interval_seconds: Some(10),
            health_check_timeout_seconds: Some(3),
            healthy_threshold_count: Some(2),
            health_check_path: Some("/health".into()),
            health_check_port: Some("9000".into()),
            matcher: Some(api::Matcher {
                http_code: Some("200-299".into()),
                grpc_code: None,
            }),
            ..ip()
        })
        .unwrap();
    assert_eq!(again.target_group_arn, ok.target_group_arn);
    let other_port = api::CreateTargetGroupInput {
        port: Some(81),
        ..ip()
    };
    assert_eq!(code(f.try_create_tg(other_port)), "DuplicateTargetGroupName");
}

#[test]
fn describe_filters_modify_and_delete() {
    let mut f = Fixture::new();
    let a = f
        .create_tg("a", api::TargetTypeEnum::Ip)
        .target_group_arn
        .unwrap();
    let b = f
        .create_tg("b", api::TargetTypeEnum::Ip)
        .target_group_arn
        .unwrap();
    let lb = f.create_lb("front").load_balancer_arn.unwrap();
    let listener = f
        .create_listener(&lb, 80, forward(&b))
        .unwrap()
        .listener_arn
        .unwrap();

    let describe = |f: &mut Fixture, input: api::DescribeTargetGroupsInput| {
        f.call(|h| h.describe_target_groups(input)).map(|o| {
            o.target_groups
                .unwrap()
                .into_iter()
                .map(|t| t.target_group_arn.unwrap())
                .collect::<Vec<_>>()
        })
    };
    assert_eq!(
        describe(&mut f, Default::default()).unwrap(),
        vec![a.clone(), b.clone()]
    );
    assert_eq!(
        describe(
            &mut f,
            api::DescribeTargetGroupsInput {
                load_balancer_arn: Some(lb.clone()),
                ..Default::default()
            }
        )
        .unwrap(),
        vec![b.clone()]
    );
    assert_eq!(
        describe(
            &mut f,
            api::DescribeTargetGroupsInput {
                names: Some(vec!["a".into()]),
                ..Default::default()
            }
        )
        .unwrap(),
        vec![a.clone()]
    );
    let missing = describe(
        &mut f,
        api::DescribeTargetGroupsInput {
            target_group_arns: Some(vec![format!("{a}0")]),
            ..Default::default()
        },
    );
    assert_eq!(code(missing), "TargetGroupNotFound");
    let b_lbs = f.world.elbv2.target_groups[&b].load_balancer_arns.clone();
    assert_eq!(b_lbs, vec![lb.clone()]);

    let modified = f
        .call(|h| {
            h.modify_target_group(api::ModifyTargetGroupInput {
                target_group_arn: a.clone(),
                health_check_path: Some("/ready".into()),
                health_check_interval_seconds: Some(6),
                health_check_timeout_seconds: Some(5),
                unhealthy_threshold_count: Some(3),
                matcher: Some(api::Matcher {
                    http_code: Some("200,202".into()),
                    grpc_code: None,
                }),
                ..Default::default()
            })
        })
        .unwrap()
        .target_groups
        .unwrap()
        .remove(0);
    assert_eq!(modified.health_check_path.as_deref(), Some("/ready"));
    assert_eq!(modified.health_check_interval_seconds, Some(6));
    assert_eq!(modified.unhealthy_threshold_count, Some(3));
    assert_eq!(modified.healthy_threshold_count, Some(5));
    assert_eq!(modified.matcher.unwrap().http_code.as_deref(), Some("200,202"));
    let bad = f.call(|h| {
        h.modify_target_group(api::ModifyTargetGroupInput {
            target_group_arn: a.clone(),
            health_check_timeout_seconds: Some(6),
            ..Default::default()
        })
    });
    assert_eq!(code(bad), "ValidationError");

    let delete = |f: &mut Fixture, arn: &str| {
        f.call(|h| {
            h.delete_target_group(api::DeleteTargetGroupInput {
                target_group_arn: arn.into(),
            })
        })
    };
    assert_eq!(code(delete(&mut f, &b)), "ResourceInUse");
    delete(&mut f, &a).unwrap();
    delete(&mut f, &a).unwrap();
    f.call(|h| {
        h.delete_listener(api::DeleteListenerInput {
            listener_arn: listener.clone(),
        })
    })
    .unwrap();
    assert!(f.world.elbv2.target_groups[&b].load_balancer_arns.is_empty());
    delete(&mut f, &b).unwrap();
    assert!(f.world.elbv2.target_groups.is_empty());
}

#[test]
fn attributes_defaults_and_validation() {
    let mut f = Fixture::new();
    let arn = f
        .create_tg("attrs", api::TargetTypeEnum::Ip)
        .target_group_arn
        .unwrap();
    let describe = |f: &mut Fixture| -> Vec<(String, String)> {
        f.call(|h| {
            h.describe_target_group_attributes(api::DescribeTargetGroupAttributesInput {
                target_group_arn: arn.clone(),
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
    for (k, v) in [
        ("deregistration_delay.timeout_seconds", "300"),
        ("stickiness.enabled", "false"),
        ("stickiness.type", "lb_cookie"),
        ("stickiness.lb_cookie.duration_seconds", "86400"),
        ("stickiness.app_cookie.duration_seconds", "86400"),
        ("stickiness.app_cookie.cookie_name", ""),
        ("load_balancing.algorithm.type", "round_robin"),
        ("load_balancing.algorithm.anomaly_mitigation", "off"),
        ("slow_start.duration_seconds", "0"),
        (
            "load_balancing.cross_zone.enabled",
            "use_load_balancer_configuration",
        ),
        (
            "target_group_health.unhealthy_state_routing.minimum_healthy_targets.count",
            "1",
        ),
        (
            "target_group_health.unhealthy_state_routing.minimum_healthy_targets.percentage",
            "off",
        ),
        (
            "target_group_health.dns_failover.minimum_healthy_targets.count",
            "1",
        ),
        (
            "target_group_health.dns_failover.minimum_healthy_targets.percentage",
            "off",
        ),
    ] {
        assert_eq!(get(&attrs, k).as_deref(), Some(v), "{k}");
    }
    let modify = |f: &mut Fixture, pairs: &[(&str, &str)]| {
        let input = api::ModifyTargetGroupAttributesInput {
            target_group_arn: arn.clone(),
            attributes: pairs
                .iter()
                .map(|(k, v)| api::TargetGroupAttribute {
                    key: Some((*k).into()),
                    value: Some((*v).into()),
                })
                .collect(),
        };
        f.call(|h| h.modify_target_group_attributes(input))
    };
    modify(
        &mut f,
        &[
            ("deregistration_delay.timeout_seconds", "0"),
            ("stickiness.enabled", "true"),
            ("stickiness.type", "app_cookie"),
            ("stickiness.app_cookie.cookie_name", "SESSION"),
            ("load_balancing.algorithm.type", "least_outstanding_requests"),
            ("slow_start.duration_seconds", "30"),
        ],
    )
    .unwrap();
    let attrs = describe(&mut f);
    assert_eq!(
        get(&attrs, "deregistration_delay.timeout_seconds").as_deref(),
        Some("0")
    );
    assert_eq!(
        get(&attrs, "stickiness.app_cookie.cookie_name").as_deref(),
        Some("SESSION")
    );
    for bad in [
        &[("deregistration_delay.timeout_seconds", "3601")][..],
        &[("deregistration_delay.timeout_seconds", "-1")],
        &[("stickiness.lb_cookie.duration_seconds", "0")],
        &[("stickiness.type", "source_ip")],
        &[("load_balancing.algorithm.type", "random")],
        &[("slow_start.duration_seconds", "10")],
        &[("stickiness.app_cookie.cookie_name", "AWSALBAPP-1")],
        &[("stickiness.app_cookie.cookie_name", "")],
        &[("no.such.key", "1")],
        &[(
            "target_group_health.unhealthy_state_routing.minimum_healthy_targets.count",
            "0",
        )],
    ] {
        assert_eq!(code(modify(&mut f, bad)), "ValidationError", "{bad:?}");
    }
    assert_eq!(
        code(modify(
            &mut f,
            &[("load_balancing.algorithm.anomaly_mitigation", "on")]
        )),
        "InvalidConfigurationRequest"
    );
    let unknown = f.call(|h| {
        h.describe_target_group_attributes(api::DescribeTargetGroupAttributesInput {
            target_group_arn:
                "arn:aws:elasticloadbalancing:us-east-1:000000000000:targetgroup/x/0000000000000000".into(),
        })
    });
    assert_eq!(code(unknown), "TargetGroupNotFound");
    assert_eq!(f.world.elbv2.target_groups[&arn].deregistration_delay_ms(), 0);
}

#[test]
fn forwarding_to_a_group_of_another_vpc_is_refused() {
    let mut f = Fixture::new();
    f.world.network.vpcs.insert(
        "vpc-0other".into(),
        Vpc {
            id: "vpc-0other".into(),
            cidr: Cidr::parse("10.9.0.0/16").unwrap(),
            is_default: false,
            tags: Tags::new(),
            enable_dns_support: true,
            enable_dns_hostnames: false,
        },
    );
    let other = f
        .try_create_tg(api::CreateTargetGroupInput {
            vpc_id: Some("vpc-0other".into()),
            ..tg_input("other", api::TargetTypeEnum::Ip)
        })
        .unwrap()
        .target_group_arn
        .unwrap();
    let lb = f.create_lb("front").load_balancer_arn.unwrap();
    assert_eq!(
        code(f.create_listener(&lb, 80, forward(&other))),
        "InvalidConfigurationRequest"
    );
    let tcp = f
        .try_create_tg(api::CreateTargetGroupInput {
            protocol: Some(api::ProtocolEnum::Tcp),
            ..tg_input("tcp", api::TargetTypeEnum::Ip)
        })
        .unwrap()
        .target_group_arn
        .unwrap();
    assert_eq!(
        code(f.create_listener(&lb, 80, forward(&tcp))),
        "IncompatibleProtocols"
    );
    assert!(f.world.elbv2.listeners.is_empty());
}
