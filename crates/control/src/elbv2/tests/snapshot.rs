//! Routing snapshots, built from handler state and published by the engine; probes through the
//! engine.

use ecsim_api::elbv2 as api;
use ecsim_api::elbv2::Elbv2Api;
use ecsim_elb::{
    ActionRoutes, Algorithm, Condition, Dial, ListenerProtocol, LoadBalancerKind, ProbeOutcome, RouteHealth,
    Stickiness, TargetProtocol,
};
use ecsim_protocol::route::Caller;
use serde_json::{Value, json};

use super::{Fixture, fixed, forward, host_condition_config, path_condition, weighted};
use crate::elbv2::common::fnv1a;
use crate::elbv2::snapshot::build;
use crate::engine::{Engine, EngineConfig};
use crate::network::default_subnet_id;

#[test]
fn snapshot_of_fixed_and_redirect_routes() {
    let mut f = Fixture::new();
    let lb = f.create_lb("web");
    let lb_arn = lb.load_balancer_arn.clone().unwrap();
    let lb_id = lb_arn.rsplit('/').next().unwrap().to_string();
    let l80 = f
        .create_listener(&lb_arn, 80, fixed("404"))
        .unwrap()
        .listener_arn
        .unwrap();
    let redirect = api::Action {
        r#type: api::ActionTypeEnum::Redirect,
        redirect_config: Some(api::RedirectActionConfig {
            protocol: Some("HTTPS".into()),
            port: Some("443".into()),
            status_code: api::RedirectActionStatusCodeEnum::Http302,
            ..Default::default()
        }),
        ..Default::default()
    };
    f.create_listener(&lb_arn, 8080, redirect).unwrap();
    f.create_rule(&l80, 20, vec![path_condition(&["/b*"])], fixed("200"))
        .unwrap();
    f.create_rule(
        &l80,
        10,
        vec![host_condition_config(&["a.example.com"]), path_condition(&["/a"])],
        fixed("201"),
    )
    .unwrap();
    f.call(|h| {
        h.modify_load_balancer_attributes(api::ModifyLoadBalancerAttributesInput {
            load_balancer_arn: lb_arn.clone(),
            attributes: vec![api::LoadBalancerAttribute {
                key: Some("idle_timeout.timeout_seconds".into()),
                value: Some("120".into()),
            }],
        })
    })
    .unwrap();

    let snap = build(std::slice::from_ref(&f.world), 42, 9);
    assert_eq!(snap.version, 9);
    assert!(snap.target_groups.is_empty());
    let routes = &snap.load_balancers[0];
    assert_eq!(routes.arn, lb_arn);
    assert_eq!(routes.name, "web");
    assert_eq!(routes.dns_name, lb.dns_name.unwrap());
    assert_eq!(routes.metric_dimension, format!("app/web/{lb_id}"));
    assert_eq!(routes.kind, LoadBalancerKind::Application);
    assert_eq!(routes.idle_timeout_ms, 120_000);
    let ports: Vec<u16> = routes.listeners.iter().map(|l| l.port).collect();
    assert_eq!(ports, vec![80, 8080]);
    let http = &routes.listeners[0];
    assert_eq!(http.protocol, ListenerProtocol::Http);
    let priorities: Vec<u32> = http.rules.iter().map(|r| r.priority).collect();
    assert_eq!(priorities, vec![10, 20]);
    assert_eq!(
        http.rules[0].conditions,
        vec![
            Condition::HostHeader(vec!["a.example.com".into()]),
            Condition::PathPattern(vec!["/a".into()])
        ]
    );
    match &http.rules[0].actions {
        ActionRoutes::FixedResponse(r) => {
            assert_eq!(r.status_code, 201);
            assert_eq!(r.content_type.as_deref(), Some("text/plain"));
            assert_eq!(r.body.as_deref(), Some("hello"));
        }
        other => panic!("{other:?}"),
    }
    assert!(matches!(&http.default_actions, ActionRoutes::FixedResponse(r) if r.status_code == 404));
    match &routes.listeners[1].default_actions {
        ActionRoutes::Redirect(r) => {
            assert_eq!(
                (
                    r.protocol.as_str(),
                    r.port.as_str(),
                    r.host.as_str(),
                    r.path.as_str(),
                    r.query.as_str()
                ),
                ("HTTPS", "443", "#{host}", "/#{path}", "#{query}")
            );
            assert_eq!(r.status_code, 302);
        }
        other => panic!("{other:?}"),
    }
    assert!(
        snap.load_balancer_by_dns(&routes.dns_name.to_uppercase())
            .is_some()
    );
}

#[test]
fn snapshot_of_forward_routes_and_target_groups() {
    let mut f = Fixture::new();
    let lb_arn = f.create_lb("web").load_balancer_arn.unwrap();
    let lb_id = lb_arn.rsplit('/').next().unwrap().to_string();
    let blue = f
        .create_tg("blue", api::TargetTypeEnum::Ip)
        .target_group_arn
        .unwrap();
    let green = f
        .create_tg("green", api::TargetTypeEnum::Ip)
        .target_group_arn
        .unwrap();
    let l = f
        .create_listener(
            &lb_arn,
            80,
            weighted(&[(&blue, Some(90)), (&green, Some(10))], Some((true, Some(300)))),
        )
        .unwrap()
        .listener_arn
        .unwrap();
    f.create_rule(&l, 1, vec![path_condition(&["/blue"])], forward(&blue))
        .unwrap();
    f.call(|h| {
        h.modify_target_group_attributes(api::ModifyTargetGroupAttributesInput {
            target_group_arn: blue.clone(),
            attributes: vec![
                api::TargetGroupAttribute {
                    key: Some("stickiness.enabled".into()),
                    value: Some("true".into()),
                },
                api::TargetGroupAttribute {
                    key: Some("stickiness.lb_cookie.duration_seconds".into()),
                    value: Some("600".into()),
                },
                api::TargetGroupAttribute {
                    key: Some("load_balancing.algorithm.type".into()),
                    value: Some("least_outstanding_requests".into()),
                },
                api::TargetGroupAttribute {
                    key: Some(
                        "target_group_health.unhealthy_state_routing.minimum_healthy_targets.count".into(),
                    ),
                    value: Some("2".into()),
                },
            ],
        })
    })
    .unwrap();
    f.register(&blue, "127.0.0.1", Some(9001)).unwrap();
    f.register(&blue, "127.0.0.1", Some(9002)).unwrap();
    f.register(&blue, "172.31.16.5", None).unwrap();
    f.deregister(&blue, "127.0.0.1", Some(9002)).unwrap();

    let snap = build(std::slice::from_ref(&f.world), 42, 1);
    assert_eq!(snap.target_groups.len(), 2, "groups are shared between actions");
    let listener = &snap.load_balancers[0].listeners[0];
    let (default_groups, sticky) = match &listener.default_actions {
        ActionRoutes::Forward(fw) => (fw.groups.clone(), fw.group_stickiness_s),
        other => panic!("{other:?}"),
    };
    assert_eq!(sticky, Some(300));
    let weights: Vec<(String, u32)> = default_groups
        .iter()
        .map(|g| (snap.target_groups[g.group].arn.clone(), g.weight))
        .collect();
    assert_eq!(weights, vec![(blue.clone(), 90), (green.clone(), 10)]);
    match &listener.rules[0].actions {
        ActionRoutes::Forward(fw) => {
            assert_eq!(fw.groups.len(), 1);
            assert_eq!(fw.groups[0].group, default_groups[0].group);
            assert_eq!(fw.group_stickiness_s, None);
        }
        other => panic!("{other:?}"),
    }
    let b = &snap.target_groups[default_groups[0].group];
    assert_eq!(
        b.metric_dimension,
        format!("targetgroup/blue/{}", blue.rsplit('/').next().unwrap())
    );
    assert_eq!(b.load_balancer_dimensions, vec![format!("app/web/{lb_id}")]);
    assert_eq!(b.target_protocol, TargetProtocol::Http);
    assert_eq!(b.algorithm, Algorithm::LeastOutstandingRequests);
    assert_eq!(b.stickiness, Some(Stickiness::LbCookie { duration_s: 600 }));
    assert_eq!(b.min_healthy_targets, 2);
    assert_eq!(b.seed, 42 ^ fnv1a(&blue));
    let targets: Vec<(String, u16, String, RouteHealth)> = b
        .targets
        .iter()
        .map(|t| (t.id.clone(), t.port, t.availability_zone.clone(), t.health))
        .collect();
    assert_eq!(
        targets,
        vec![
            ("127.0.0.1".into(), 9001, "all".into(), RouteHealth::Initial),
            (
                "172.31.16.5".into(),
                8080,
                "us-east-1b".into(),
                RouteHealth::Initial
            ),
        ],
        "draining targets are left out"
    );
    assert_eq!(
        b.targets[0].dial,
        Dial::Loopback("127.0.0.1:9001".parse().unwrap())
    );
    let g = &snap.target_groups[default_groups[1].group];
    assert_eq!(g.stickiness, None);
    assert_eq!(g.algorithm, Algorithm::RoundRobin);
    assert_eq!(g.min_healthy_targets, 1);
    assert!(g.targets.is_empty());
}

// ---------------------------------------------------------------- through the engine

struct Driver {
    engine: Engine,
    now: u64,
}

impl Driver {
    fn new() -> Self {
        let now = 1_767_225_600_000;
        Self {
            engine: Engine::new(
                EngineConfig {
                    seed: 5,
                    ..EngineConfig::default()
                },
                now,
            ),
            now,
        }
    }

    fn call(&mut self, op: &str, input: Value) -> Result<Value, ecsim_protocol::AwsError> {
        let schema = &ecsim_api::elbv2::SCHEMA;
        let operation = schema.operation(op).expect("a modelled operation");
        self.engine
            .handle(self.now, schema, operation, input, &Caller::default())
    }

    fn ok(&mut self, op: &str, input: Value) -> Value {
        self.call(op, input).unwrap_or_else(|e| panic!("{op}: {e}"))
    }

    fn advance(&mut self, ms: u64) {
        self.now += ms;
        self.engine.advance_to(self.now);
    }
}

#[test]
fn engine_publishes_snapshots_only_after_changes() {
    let mut d = Driver::new();
    let initial = d
        .engine
        .take_routing_snapshot()
        .expect("the first call hands out the empty routes");
    assert!(initial.load_balancers.is_empty());
    assert!(d.engine.take_routing_snapshot().is_none());
    d.ok(
        "CreateTargetGroup",
        json!({"Name": "tg", "Protocol": "HTTP", "Port": 80, "VpcId": crate::network::DEFAULT_VPC_ID}),
    );
    assert!(
        d.engine.take_routing_snapshot().is_none(),
        "an unused group routes nothing"
    );
    let lb = d.ok(
        "CreateLoadBalancer",
        json!({"Name": "web", "Subnets": [default_subnet_id("a"), default_subnet_id("b")]}),
    );
    let lb_arn = lb["LoadBalancers"][0]["LoadBalancerArn"]
        .as_str()
        .unwrap()
        .to_string();
    let first = d.engine.take_routing_snapshot().expect("a new load balancer");
    assert_eq!(first.version, initial.version + 1);
    assert_eq!(first.load_balancers.len(), 1);
    assert!(d.engine.take_routing_snapshot().is_none());
    d.ok(
        "CreateListener",
        json!({"LoadBalancerArn": lb_arn, "Protocol": "HTTP", "Port": 80,
               "DefaultActions": [{"Type": "fixed-response", "FixedResponseConfig": {"StatusCode": "200"}}]}),
    );
    let second = d.engine.take_routing_snapshot().expect("a new listener");
    assert_eq!(second.version, initial.version + 2);
    assert_eq!(second.load_balancers[0].listeners.len(), 1);
    // Activation changes no route.
    d.advance(2_000);
    assert!(d.engine.take_routing_snapshot().is_none());
    crate::elbv2::mark_routes_changed(&mut d.engine.routing_parts().0[0]);
    assert_eq!(
        d.engine.take_routing_snapshot().map(|s| s.version),
        Some(initial.version + 3)
    );
    d.engine.reset();
    let after_reset = d
        .engine
        .take_routing_snapshot()
        .expect("a reset empties the routes");
    assert!(after_reset.load_balancers.is_empty());
    assert_eq!(after_reset.version, initial.version + 4);
}

#[test]
fn engine_probes_and_load_balancer_activation() {
    let mut d = Driver::new();
    let tg = d.ok(
        "CreateTargetGroup",
        json!({"Name": "tg", "Protocol": "HTTP", "Port": 9000, "VpcId": crate::network::DEFAULT_VPC_ID,
               "TargetType": "ip", "HealthCheckIntervalSeconds": 5, "HealthCheckTimeoutSeconds": 2,
               "HealthyThresholdCount": 2}),
    )["TargetGroups"][0]["TargetGroupArn"]
        .as_str()
        .unwrap()
        .to_string();
    let lb = d.ok(
        "CreateLoadBalancer",
        json!({"Name": "web", "Subnets": [default_subnet_id("a"), default_subnet_id("b")]}),
    )["LoadBalancers"][0]["LoadBalancerArn"]
        .as_str()
        .unwrap()
        .to_string();
    let state = |d: &mut Driver| {
        d.ok("DescribeLoadBalancers", json!({"LoadBalancerArns": [lb]}))["LoadBalancers"][0]["State"]["Code"]
            .as_str()
            .unwrap()
            .to_string()
    };
    assert_eq!(state(&mut d), "provisioning");
    d.advance(1_000);
    assert_eq!(state(&mut d), "active");

    d.ok(
        "CreateListener",
        json!({"LoadBalancerArn": lb, "Protocol": "HTTP", "Port": 80,
               "DefaultActions": [{"Type": "forward", "TargetGroupArn": tg}]}),
    );
    d.ok(
        "RegisterTargets",
        json!({"TargetGroupArn": tg, "Targets": [{"Id": "127.0.0.1"}]}),
    );
    let health = |d: &mut Driver| {
        d.ok("DescribeTargetHealth", json!({"TargetGroupArn": tg}))["TargetHealthDescriptions"][0]["TargetHealth"]
            .clone()
    };
    assert_eq!(health(&mut d)["State"], "initial");
    d.advance(0);
    let probes = d.engine.take_probe_requests();
    assert_eq!(probes.len(), 1);
    assert_eq!(probes[0].key.world, 0);
    d.engine.observe_probe(
        d.now + 10,
        ecsim_elb::ProbeResult {
            key: probes[0].key.clone(),
            outcome: ProbeOutcome::Status(200),
        },
    );
    assert_eq!(health(&mut d)["Reason"], "Elb.InitialHealthChecking");
    d.advance(5_000);
    let probes = d.engine.take_probe_requests();
    assert_eq!(probes.len(), 1);
    let mut stale = probes[0].key.clone();
    stale.sequence -= 1;
    d.engine.observe_probe(
        d.now,
        ecsim_elb::ProbeResult {
            key: stale,
            outcome: ProbeOutcome::Status(200),
        },
    );
    assert_eq!(health(&mut d)["State"], "initial", "a stale result is ignored");
    d.engine.observe_probe(
        d.now,
        ecsim_elb::ProbeResult {
            key: probes[0].key.clone(),
            outcome: ProbeOutcome::Status(200),
        },
    );
    let h = health(&mut d);
    assert_eq!(h["State"], "healthy");
    assert!(h.get("Reason").is_none());
    // Results for unknown worlds or groups are ignored.
    let mut unknown = probes[0].key.clone();
    unknown.world = 7;
    d.engine.observe_probe(
        d.now,
        ecsim_elb::ProbeResult {
            key: unknown,
            outcome: ProbeOutcome::Timeout,
        },
    );
    assert_eq!(health(&mut d)["State"], "healthy");
}
