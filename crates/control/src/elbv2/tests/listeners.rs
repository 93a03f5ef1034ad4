//! Listeners: create, duplicates, HTTPS, actions, weights, modify, certificates, attributes.

use ecsim_api::elbv2 as api;
use ecsim_api::elbv2::Elbv2Api;

use super::{Fixture, code, fixed, forward, weighted};

fn https_input(lb: &str, port: i32, action: api::Action) -> api::CreateListenerInput {
    api::CreateListenerInput {
        load_balancer_arn: lb.into(),
        protocol: Some(api::ProtocolEnum::Https),
        port: Some(port),
        certificates: Some(vec![api::Certificate {
            certificate_arn: Some("arn:aws:acm:us-east-1:000000000000:certificate/abc".into()),
            is_default: None,
        }]),
        default_actions: vec![action],
        ..Default::default()
    }
}

#[test]
fn create_describe_and_duplicates() {
    let mut f = Fixture::new();
    let lb = f.create_lb("web").load_balancer_arn.unwrap();
    let lb_id = lb.rsplit('/').next().unwrap().to_string();
    let tg = f
        .create_tg("blue", api::TargetTypeEnum::Ip)
        .target_group_arn
        .unwrap();
    let listener = f.create_listener(&lb, 8080, forward(&tg)).unwrap();
    let arn = listener.listener_arn.clone().unwrap();
    assert!(arn.starts_with(&format!(
        "arn:aws:elasticloadbalancing:us-east-1:000000000000:listener/app/web/{lb_id}/"
    )));
    assert_eq!(listener.port, Some(8080));
    assert_eq!(listener.protocol, Some(api::ProtocolEnum::Http));
    assert_eq!(listener.load_balancer_arn.as_deref(), Some(lb.as_str()));
    let action = listener.default_actions.unwrap().remove(0);
    assert_eq!(action.r#type, api::ActionTypeEnum::Forward);
    assert_eq!(action.target_group_arn.as_deref(), Some(tg.as_str()));
    assert_eq!(action.order, Some(1));
    let config = action.forward_config.unwrap();
    assert_eq!(
        config.target_groups,
        Some(vec![api::TargetGroupTuple {
            target_group_arn: Some(tg.clone()),
            weight: Some(1),
        }])
    );
    assert_eq!(
        config.target_group_stickiness_config,
        Some(api::TargetGroupStickinessConfig {
            enabled: Some(false),
            duration_seconds: None,
        })
    );

    // Same settings: the same listener; other settings on the same port: DuplicateListener.
    let again = f.create_listener(&lb, 8080, forward(&tg)).unwrap();
    assert_eq!(again.listener_arn.as_deref(), Some(arn.as_str()));
    assert_eq!(
        code(f.create_listener(&lb, 8080, fixed("404"))),
        "DuplicateListener"
    );
    f.create_listener(&lb, 80, fixed("404")).unwrap();

    let by_lb = f
        .call(|h| {
            h.describe_listeners(api::DescribeListenersInput {
                load_balancer_arn: Some(lb.clone()),
                ..Default::default()
            })
        })
        .unwrap()
        .listeners
        .unwrap();
    let ports: Vec<i32> = by_lb.iter().map(|l| l.port.unwrap()).collect();
    assert_eq!(ports, vec![80, 8080]);
    let neither = f.call(|h| h.describe_listeners(api::DescribeListenersInput::default()));
    assert_eq!(code(neither), "ValidationError");
    let unknown = f.call(|h| {
        h.describe_listeners(api::DescribeListenersInput {
            listener_arns: Some(vec![format!("{arn}0")]),
            ..Default::default()
        })
    });
    assert_eq!(code(unknown), "ListenerNotFound");
    let unknown_lb = f.call(|h| {
        h.describe_listeners(api::DescribeListenersInput {
            load_balancer_arn: Some(format!("{lb}0")),
            ..Default::default()
        })
    });
    assert_eq!(code(unknown_lb), "LoadBalancerNotFound");
    assert_eq!(
        code(f.create_listener(&format!("{lb}0"), 81, fixed("200"))),
        "LoadBalancerNotFound"
    );
}

#[test]
fn action_validation() {
    let mut f = Fixture::new();
    let lb = f.create_lb("web").load_balancer_arn.unwrap();
    let a = f
        .create_tg("a", api::TargetTypeEnum::Ip)
        .target_group_arn
        .unwrap();
    let b = f
        .create_tg("b", api::TargetTypeEnum::Ip)
        .target_group_arn
        .unwrap();
    let ghost = "arn:aws:elasticloadbalancing:us-east-1:000000000000:targetgroup/ghost/0123456789abcdef";
    let cases: Vec<(api::Action, &str)> = vec![
        (forward(ghost), "TargetGroupNotFound"),
        (
            api::Action {
                r#type: api::ActionTypeEnum::Forward,
                ..Default::default()
            },
            "ValidationError",
        ),
        (weighted(&[(&a, Some(1000))], None), "ValidationError"),
        (weighted(&[(&a, Some(-1))], None), "ValidationError"),
        (weighted(&[(&a, Some(1)), (&a, Some(2))], None), "ValidationError"),
        (weighted(&[(&a, Some(1))], Some((true, None))), "ValidationError"),
        (
            weighted(&[(&a, Some(1))], Some((true, Some(604_801)))),
            "ValidationError",
        ),
        (
            api::Action {
                target_group_arn: Some(b.clone()),
                ..weighted(&[(&a, Some(1))], None)
            },
            "ValidationError",
        ),
        (
            api::Action {
                r#type: api::ActionTypeEnum::AuthenticateOidc,
                order: Some(1),
                ..Default::default()
            },
            "ValidationError",
        ),
        (
            api::Action {
                r#type: api::ActionTypeEnum::JwtValidation,
                ..Default::default()
            },
            "ValidationError",
        ),
        (fixed("302"), "ValidationError"),
        (
            api::Action {
                fixed_response_config: Some(api::FixedResponseActionConfig {
                    status_code: "200".into(),
                    content_type: Some("image/png".into()),
                    message_body: None,
                }),
                ..fixed("200")
            },
            "ValidationError",
        ),
        (
            api::Action {
                fixed_response_config: Some(api::FixedResponseActionConfig {
                    status_code: "200".into(),
                    content_type: None,
                    message_body: Some("x".repeat(1025)),
                }),
                ..fixed("200")
            },
            "ValidationError",
        ),
        (
            api::Action {
                r#type: api::ActionTypeEnum::Redirect,
                redirect_config: Some(api::RedirectActionConfig {
                    status_code: api::RedirectActionStatusCodeEnum::Http301,
                    ..Default::default()
                }),
                ..Default::default()
            },
            "InvalidLoadBalancerAction",
        ),
        (
            api::Action {
                r#type: api::ActionTypeEnum::Redirect,
                redirect_config: Some(api::RedirectActionConfig {
                    port: Some("0".into()),
                    status_code: api::RedirectActionStatusCodeEnum::Http301,
                    ..Default::default()
                }),
                ..Default::default()
            },
            "ValidationError",
        ),
    ];
    for (action, expected) in cases {
        let shown = format!("{action:?}");
        assert_eq!(code(f.create_listener(&lb, 80, action)), expected, "{shown}");
    }
    let two = api::CreateListenerInput {
        load_balancer_arn: lb.clone(),
        protocol: Some(api::ProtocolEnum::Http),
        port: Some(80),
        default_actions: vec![fixed("200"), forward(&a)],
        ..Default::default()
    };
    assert_eq!(code(f.call(|h| h.create_listener(two))), "ValidationError");
    let none = api::CreateListenerInput {
        load_balancer_arn: lb.clone(),
        protocol: Some(api::ProtocolEnum::Http),
        port: Some(80),
        ..Default::default()
    };
    assert_eq!(code(f.call(|h| h.create_listener(none))), "ValidationError");
    let tcp_on_alb = api::CreateListenerInput {
        load_balancer_arn: lb.clone(),
        protocol: Some(api::ProtocolEnum::Tcp),
        port: Some(80),
        default_actions: vec![forward(&a)],
        ..Default::default()
    };
    assert_eq!(
        code(f.call(|h| h.create_listener(tcp_on_alb))),
        "UnsupportedProtocol"
    );
    assert!(f.world.elbv2.listeners.is_empty());
    assert!(f.world.elbv2.target_groups[&a].load_balancer_arns.is_empty());

    // Both forms naming the same single group are accepted.
    let both = api::Action {
        target_group_arn: Some(a.clone()),
        ..weighted(&[(&a, Some(3))], None)
    };
    f.create_listener(&lb, 80, both).unwrap();

    // A group serves one load balancer.
    let other = f.create_lb("other").load_balancer_arn.unwrap();
    assert_eq!(
        code(f.create_listener(&other, 80, forward(&a))),
        "TargetGroupAssociationLimit"
    );
}

#[test]
fn redirect_and_fixed_response_round_trip() {
    let mut f = Fixture::new();
    let lb = f.create_lb("web").load_balancer_arn.unwrap();
    let redirect = api::Action {
        r#type: api::ActionTypeEnum::Redirect,
        redirect_config: Some(api::RedirectActionConfig {
            protocol: Some("HTTPS".into()),
            port: Some("443".into()),
            status_code: api::RedirectActionStatusCodeEnum::Http301,
            ..Default::default()
        }),
        ..Default::default()
    };
    let l = f
        .create_listener(&lb, 80, redirect)
        .unwrap()
        .listener_arn
        .unwrap();
    let got = f.listener_action(&l);
    assert_eq!(got.r#type, api::ActionTypeEnum::Redirect);
    assert_eq!(
        got.redirect_config,
        Some(api::RedirectActionConfig {
            protocol: Some("HTTPS".into()),
            port: Some("443".into()),
            host: Some("#{host}".into()),
            path: Some("/#{path}".into()),
            query: Some("#{query}".into()),
            status_code: api::RedirectActionStatusCodeEnum::Http301,
        })
    );
    assert_eq!(got.forward_config, None);
    let l2 = f
        .create_listener(&lb, 81, fixed("503"))
        .unwrap()
        .listener_arn
        .unwrap();
    let got = f.listener_action(&l2);
    assert_eq!(
        got.fixed_response_config,
        Some(api::FixedResponseActionConfig {
            status_code: "503".into(),
            content_type: Some("text/plain".into()),
            message_body: Some("hello".into()),
        })
    );
}

#[test]
fn modify_listener_replaces_actions_and_weights_round_trip() {
    let mut f = Fixture::new();
    let lb = f.create_lb("web").load_balancer_arn.unwrap();
    let blue = f
        .create_tg("blue", api::TargetTypeEnum::Ip)
        .target_group_arn
        .unwrap();
    let green = f
        .create_tg("green", api::TargetTypeEnum::Ip)
        .target_group_arn
        .unwrap();
    let l = f
        .create_listener(&lb, 80, forward(&blue))
        .unwrap()
        .listener_arn
        .unwrap();
    for (w_blue, w_green) in [(90, 10), (1, 999), (0, 0), (37, 0), (0, 100)] {
        let action = weighted(
            &[(&blue, Some(w_blue)), (&green, Some(w_green))],
            Some((true, Some(300))),
        );
        let out = f
            .call(|h| {
                h.modify_listener(api::ModifyListenerInput {
                    listener_arn: l.clone(),
                    default_actions: Some(vec![action]),
                    ..Default::default()
                })
            })
            .unwrap();
        let returned = out
            .listeners
            .unwrap()
            .remove(0)
            .default_actions
            .unwrap()
            .remove(0);
        let described = f.listener_action(&l);
        assert_eq!(returned, described);
        assert_eq!(described.target_group_arn, None);
        let config = described.forward_config.unwrap();
        assert_eq!(
            config.target_groups,
            Some(vec![
                api::TargetGroupTuple {
                    target_group_arn: Some(blue.clone()),
                    weight: Some(w_blue),
                },
                api::TargetGroupTuple {
                    target_group_arn: Some(green.clone()),
                    weight: Some(w_green),
                },
            ])
        );
        assert_eq!(
            config.target_group_stickiness_config,
            Some(api::TargetGroupStickinessConfig {
                enabled: Some(true),
                duration_seconds: Some(300),
            })
        );
    }
    // A weight left out is 1.
    let action = weighted(&[(&blue, None), (&green, Some(5))], None);
    f.call(|h| {
        h.modify_listener(api::ModifyListenerInput {
            listener_arn: l.clone(),
            default_actions: Some(vec![action]),
            ..Default::default()
        })
    })
    .unwrap();
    let tuples = f
        .listener_action(&l)
        .forward_config
        .unwrap()
        .target_groups
        .unwrap();
    assert_eq!(tuples[0].weight, Some(1));
    assert_eq!(tuples[1].weight, Some(5));
    assert_eq!(
        f.world.elbv2.target_groups[&green].load_balancer_arns,
        vec![lb.clone()]
    );

    // Back to blue only: green is no longer used; an invalid modify changes nothing.
    f.call(|h| {
        h.modify_listener(api::ModifyListenerInput {
            listener_arn: l.clone(),
            default_actions: Some(vec![forward(&blue)]),
            ..Default::default()
        })
    })
    .unwrap();
    assert!(f.world.elbv2.target_groups[&green].load_balancer_arns.is_empty());
    let bad = f.call(|h| {
        h.modify_listener(api::ModifyListenerInput {
            listener_arn: l.clone(),
            default_actions: Some(vec![weighted(&[(&green, Some(1000))], None)]),
            ..Default::default()
        })
    });
    assert_eq!(code(bad), "ValidationError");
    assert_eq!(
        f.listener_action(&l).target_group_arn.as_deref(),
        Some(blue.as_str())
    );

    // Port changes: echoed, and a port taken by another listener is a duplicate.
    f.create_listener(&lb, 81, fixed("200")).unwrap();
    let taken = f.call(|h| {
        h.modify_listener(api::ModifyListenerInput {
            listener_arn: l.clone(),
            port: Some(81),
            ..Default::default()
        })
    });
    assert_eq!(code(taken), "DuplicateListener");
    let moved = f
        .call(|h| {
            h.modify_listener(api::ModifyListenerInput {
                listener_arn: l.clone(),
                port: Some(8081),
                ..Default::default()
            })
        })
        .unwrap();
    assert_eq!(moved.listeners.unwrap()[0].port, Some(8081));
    let gone = f.call(|h| {
        h.modify_listener(api::ModifyListenerInput {
            listener_arn: format!("{l}0"),
            ..Default::default()
        })
    });
    assert_eq!(code(gone), "ListenerNotFound");
}

#[test]
fn https_listeners_and_certificates() {
    let mut f = Fixture::new();
    let lb = f.create_lb("tls").load_balancer_arn.unwrap();
    let no_cert = api::CreateListenerInput {
        certificates: None,
        ..https_input(&lb, 443, fixed("200"))
    };
    assert_eq!(code(f.call(|h| h.create_listener(no_cert))), "ValidationError");
    let bad_policy = api::CreateListenerInput {
        ssl_policy: Some("ELBSecurityPolicy-Nope".into()),
        ..https_input(&lb, 443, fixed("200"))
    };
    assert_eq!(
        code(f.call(|h| h.create_listener(bad_policy))),
        "SSLPolicyNotFound"
    );
    let l = f
        .call(|h| h.create_listener(https_input(&lb, 443, fixed("200"))))
        .unwrap()
        .listeners
        .unwrap()
        .remove(0);
    assert_eq!(l.ssl_policy.as_deref(), Some("ELBSecurityPolicy-2016-08"));
    assert_eq!(l.protocol, Some(api::ProtocolEnum::Https));
    let arn = l.listener_arn.unwrap();
    let add = f
        .call(|h| {
            h.add_listener_certificates(api::AddListenerCertificatesInput {
                listener_arn: arn.clone(),
                certificates: vec![api::Certificate {
                    certificate_arn: Some("arn:aws:acm:us-east-1:000000000000:certificate/extra".into()),
                    is_default: None,
                }],
            })
        })
        .unwrap();
    assert_eq!(add.certificates.unwrap().len(), 1);
    let certs = f
        .call(|h| {
            h.describe_listener_certificates(api::DescribeListenerCertificatesInput {
                listener_arn: arn.clone(),
                ..Default::default()
            })
        })
        .unwrap()
        .certificates
        .unwrap();
    assert_eq!(certs.len(), 2);
    assert_eq!(certs[0].is_default, Some(true));
    assert_eq!(certs[1].is_default, Some(false));
    let remove_default = f.call(|h| {
        h.remove_listener_certificates(api::RemoveListenerCertificatesInput {
            listener_arn: arn.clone(),
            certificates: vec![api::Certificate {
                certificate_arn: Some("arn:aws:acm:us-east-1:000000000000:certificate/abc".into()),
                is_default: None,
            }],
        })
    });
    assert_eq!(code(remove_default), "OperationNotPermitted");
    f.call(|h| {
        h.remove_listener_certificates(api::RemoveListenerCertificatesInput {
            listener_arn: arn.clone(),
            certificates: vec![api::Certificate {
                certificate_arn: Some("arn:aws:acm:us-east-1:000000000000:certificate/extra".into()),
                is_default: None,
            }],
        })
    })
    .unwrap();

    // HTTPS → HTTP drops the certificate and the policy.
    let http = f
        .call(|h| {
            h.modify_listener(api::ModifyListenerInput {
                listener_arn: arn.clone(),
                protocol: Some(api::ProtocolEnum::Http),
                ..Default::default()
            })
        })
        .unwrap()
        .listeners
        .unwrap()
        .remove(0);
    assert_eq!(http.certificates, None);
    assert_eq!(http.ssl_policy, None);
    let back = f.call(|h| {
        h.modify_listener(api::ModifyListenerInput {
            listener_arn: arn.clone(),
            protocol: Some(api::ProtocolEnum::Https),
            ..Default::default()
        })
    });
    assert_eq!(code(back), "ValidationError");
}

#[test]
fn listener_attributes() {
    let mut f = Fixture::new();
    let lb = f.create_lb("web").load_balancer_arn.unwrap();
    let l = f
        .create_listener(&lb, 80, fixed("200"))
        .unwrap()
        .listener_arn
        .unwrap();
    let attrs = f
        .call(|h| {
            h.describe_listener_attributes(api::DescribeListenerAttributesInput {
                listener_arn: l.clone(),
            })
        })
        .unwrap()
        .attributes
        .unwrap();
    assert!(attrs.iter().any(
        |a| a.key.as_deref() == Some("routing.http.response.server.enabled")
            && a.value.as_deref() == Some("true")
    ));
    let modify = |f: &mut Fixture, k: &str, v: &str| {
        f.call(|h| {
            h.modify_listener_attributes(api::ModifyListenerAttributesInput {
                listener_arn: l.clone(),
                attributes: vec![api::ListenerAttribute {
                    key: Some(k.into()),
                    value: Some(v.into()),
                }],
            })
        })
    };
    let out = modify(&mut f, "routing.http.response.server.enabled", "false").unwrap();
    assert!(
        out.attributes
            .unwrap()
            .iter()
            .any(|a| a.value.as_deref() == Some("false"))
    );
    assert_eq!(
        code(modify(&mut f, "tcp.idle_timeout.seconds", "100")),
        "ValidationError"
    );
    assert_eq!(
        code(modify(&mut f, "routing.http.response.server.enabled", "maybe")),
        "ValidationError"
    );
}
