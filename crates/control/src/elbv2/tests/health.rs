//! Targets and their health: registration, the state machine, probes, draining.

use ecsim_api::elbv2 as api;
use ecsim_api::elbv2::Elbv2Api;
use ecsim_elb::ProbeOutcome;

use super::{Fixture, code, fixed, forward, target, tg_input};
use crate::elbv2::TargetState;

use api::TargetHealthReasonEnum as Reason;
use api::TargetHealthStateEnum as State;

/// A group of loopback IP targets checked every 5 s with thresholds of 2, behind a listener.
fn served_group(f: &mut Fixture) -> (String, String) {
    let tg = f
        .try_create_tg(api::CreateTargetGroupInput {
            health_check_interval_seconds: Some(5),
            health_check_timeout_seconds: Some(2),
            healthy_threshold_count: Some(2),
            unhealthy_threshold_count: Some(2),
            health_check_path: Some("/health".into()),
            ..tg_input("blue", api::TargetTypeEnum::Ip)
        })
        .unwrap()
        .target_group_arn
        .unwrap();
    let lb = f.create_lb("web").load_balancer_arn.unwrap();
    let listener = f
        .create_listener(&lb, 80, forward(&tg))
        .unwrap()
        .listener_arn
        .unwrap();
    (tg, listener)
}

#[test]
fn registration_validation_and_unused_groups() {
    let mut f = Fixture::new();
    let ip = f
        .create_tg("ips", api::TargetTypeEnum::Ip)
        .target_group_arn
        .unwrap();
    let inst = f
        .create_tg("instances", api::TargetTypeEnum::Instance)
        .target_group_arn
        .unwrap();
    assert_eq!(code(f.register(&ip, "not-an-ip", None)), "InvalidTarget");
    assert_eq!(code(f.register(&ip, "8.8.8.8", None)), "InvalidTarget");
    assert_eq!(code(f.register(&ip, "::1", None)), "InvalidTarget");
    assert_eq!(code(f.register(&inst, "10.0.0.1", None)), "InvalidTarget");
    assert_eq!(
        code(f.register(&format!("{ip}0"), "10.0.0.1", None)),
        "TargetGroupNotFound"
    );
    let with_zone = |id: &str, zone: &str| api::RegisterTargetsInput {
        target_group_arn: ip.clone(),
        targets: vec![api::TargetDescription {
            id: id.into(),
            availability_zone: Some(zone.into()),
            ..Default::default()
        }],
    };
    assert_eq!(
        code(f.call(|h| h.register_targets(with_zone("10.1.2.3", "us-east-1a")))),
        "ValidationError"
    );
    assert_eq!(
        code(f.call(|h| h.register_targets(with_zone("172.31.0.10", "mars-1a")))),
        "ValidationError"
    );
    let instance_zone = api::RegisterTargetsInput {
        target_group_arn: inst.clone(),
        targets: vec![api::TargetDescription {
            id: "i-0123456789abcdef0".into(),
            availability_zone: Some("us-east-1a".into()),
            ..Default::default()
        }],
    };
    assert_eq!(
        code(f.call(|h| h.register_targets(instance_zone))),
        "ValidationError"
    );
    assert!(f.world.elbv2.target_groups[&ip].targets.is_empty());

    // Zones: a subnet's zone inside the VPC, `all` outside it.
    f.register(&ip, "172.31.16.20", None).unwrap();
    f.register(&ip, "127.0.0.1", Some(9000)).unwrap();
    f.call(|h| h.register_targets(with_zone("10.1.2.3", "all")))
        .unwrap();
    f.register(&inst, "i-0123456789abcdef0", None).unwrap();
    let health = f.health(&ip);
    let described: Vec<(String, i32, Option<String>, Option<String>)> = health
        .iter()
        .map(|d| {
            let t = d.target.clone().unwrap();
            (
                t.id,
                t.port.unwrap(),
                t.availability_zone,
                d.health_check_port.clone(),
            )
        })
        .collect();
    assert_eq!(
        described,
        vec![
            (
                "172.31.16.20".into(),
                8080,
                Some("us-east-1b".into()),
                Some("8080".into())
            ),
            ("127.0.0.1".into(), 9000, Some("all".into()), Some("9000".into())),
            ("10.1.2.3".into(), 8080, Some("all".into()), Some("8080".into())),
        ]
    );
    // Nobody forwards to the groups: unused, not probed.
    for d in &health {
        let h = d.target_health.clone().unwrap();
        assert_eq!(h.state, Some(State::Unused));
        assert_eq!(h.reason, Some(Reason::TargetNotInUse));
        assert_eq!(
            h.description.as_deref(),
            Some("Target group is not configured to receive traffic from the load balancer")
        );
    }
    f.advance(60_000);
    assert!(f.take_probes().is_empty());

    // Filters: an unknown target is unused/NotRegistered; a malformed one is InvalidTarget.
    let filtered = f
        .call(|h| {
            h.describe_target_health(api::DescribeTargetHealthInput {
                target_group_arn: ip.clone(),
                targets: Some(vec![target("10.9.9.9", Some(81)), target("127.0.0.1", None)]),
                ..Default::default()
            })
        })
        .unwrap()
        .target_health_descriptions
        .unwrap();
    assert_eq!(filtered.len(), 2);
    let unknown = filtered[0].target_health.clone().unwrap();
    assert_eq!(unknown.state, Some(State::Unused));
    assert_eq!(unknown.reason, Some(Reason::TargetNotRegistered));
    assert_eq!(
        unknown.description.as_deref(),
        Some("Target is not registered to the target group")
    );
    assert_eq!(filtered[1].target.as_ref().unwrap().port, Some(9000));
    let malformed = f.call(|h| {
        h.describe_target_health(api::DescribeTargetHealthInput {
            target_group_arn: ip.clone(),
            targets: Some(vec![target("nope", None)]),
            ..Default::default()
        })
    });
    assert_eq!(code(malformed), "InvalidTarget");

    // Deregistering an unknown target succeeds; an unused target goes at once.
    f.deregister(&ip, "10.4.4.4", None).unwrap();
    f.deregister(&ip, "10.1.2.3", None).unwrap();
    assert_eq!(f.health(&ip).len(), 2);
}

#[test]
fn simulated_state_machine_through_probe_results() {
    let mut f = Fixture::new();
    let (tg, _) = served_group(&mut f);
    f.register(&tg, "127.0.0.1", Some(9000)).unwrap();
    assert_eq!(
        f.only_health(&tg),
        (
            State::Initial,
            Some(Reason::ElbRegistrationInProgress),
            Some("Target registration is in progress".into())
        )
    );
    // The first probe is due at registration.
    f.advance(0);
    let probes = f.take_probes();
    assert_eq!(probes.len(), 1);
    let p = probes[0].clone();
    assert_eq!(p.address, "127.0.0.1:9000".parse().unwrap());
    assert_eq!(p.path, "/health");
    assert_eq!(p.timeout_ms, 2_000);
    assert!(!p.https);
    assert_eq!(p.key.target_group_arn, tg);
    assert_eq!((p.key.target_id.as_str(), p.key.target_port), ("127.0.0.1", 9000));

    // While the probe is in flight, no other is queued.
    f.advance(5_000);
    assert!(f.take_probes().is_empty());

    f.probe_result(&p, ProbeOutcome::Status(200));
    assert_eq!(
        f.only_health(&tg),
        (
            State::Initial,
            Some(Reason::ElbInitialHealthChecking),
            Some("Initial health checks in progress".into())
        )
    );
    // A second result of the same probe is stale.
    f.probe_result(&p, ProbeOutcome::Status(200));
    assert_eq!(f.only_health(&tg).0, State::Initial);

    let next = |f: &mut Fixture, outcome: ProbeOutcome| {
        f.advance(5_000);
        let probes = f.take_probes();
        assert_eq!(probes.len(), 1, "one probe per interval");
        assert!(probes[0].key.sequence > p.key.sequence);
        f.probe_result(&probes[0], outcome);
    };
    next(&mut f, ProbeOutcome::Status(200));
    assert_eq!(f.only_health(&tg), (State::Healthy, None, None));
    next(&mut f, ProbeOutcome::Status(500));
    assert_eq!(
        f.only_health(&tg).0,
        State::Healthy,
        "one failure is below the threshold"
    );
    next(&mut f, ProbeOutcome::Status(500));
    assert_eq!(
        f.only_health(&tg),
        (
            State::Unhealthy,
            Some(Reason::TargetResponseCodeMismatch),
            Some("Health checks failed with these codes: [500]".into())
        )
    );
    next(&mut f, ProbeOutcome::Timeout);
    assert_eq!(
        f.only_health(&tg),
        (
            State::Unhealthy,
            Some(Reason::TargetTimeout),
            Some("Request timed out".into())
        )
    );
    next(&mut f, ProbeOutcome::Failed("connection refused".into()));
    assert_eq!(
        f.only_health(&tg),
        (
            State::Unhealthy,
            Some(Reason::TargetFailedHealthChecks),
            Some("Health checks failed".into())
        )
    );
    next(&mut f, ProbeOutcome::Status(200));
    assert_eq!(f.only_health(&tg).0, State::Unhealthy);
    next(&mut f, ProbeOutcome::Status(200));
    assert_eq!(f.only_health(&tg), (State::Healthy, None, None));
    assert_eq!(
        crate::elbv2::target_state(&f.world, &tg, "127.0.0.1", 9000),
        Some((TargetState::Healthy, None))
    );
}

#[test]
fn initial_goes_unhealthy_after_failures_and_matcher_is_used() {
    let mut f = Fixture::new();
    let (tg, _) = served_group(&mut f);
    f.call(|h| {
        h.modify_target_group(api::ModifyTargetGroupInput {
            target_group_arn: tg.clone(),
            matcher: Some(api::Matcher {
                http_code: Some("200-299,404".into()),
                grpc_code: None,
            }),
            ..Default::default()
        })
    })
    .unwrap();
    f.register(&tg, "127.0.0.2", Some(9000)).unwrap();
    let step = |f: &mut Fixture, outcome: ProbeOutcome| {
        let probes = f.take_probes();
        assert_eq!(probes.len(), 1);
        f.probe_result(&probes[0], outcome);
        f.advance(5_000);
    };
    f.advance(0);
    step(&mut f, ProbeOutcome::Status(503));
    assert_eq!(f.only_health(&tg).1, Some(Reason::ElbInitialHealthChecking));
    step(&mut f, ProbeOutcome::Status(503));
    assert_eq!(
        f.only_health(&tg),
        (
            State::Unhealthy,
            Some(Reason::TargetResponseCodeMismatch),
            Some("Health checks failed with these codes: [503]".into())
        )
    );
    step(&mut f, ProbeOutcome::Status(404));
    step(&mut f, ProbeOutcome::Status(204));
    assert_eq!(f.only_health(&tg).0, State::Healthy);
}

#[test]
fn refused_targets_fail_with_the_dial_description() {
    let mut f = Fixture::new();
    let (tg, _) = served_group(&mut f);
    f.register(&tg, "10.0.0.7", None).unwrap();
    f.advance(0);
    assert!(
        f.take_probes().is_empty(),
        "non-loopback addresses are never probed"
    );
    f.advance(5_000);
    let (state, reason, description) = f.only_health(&tg);
    assert_eq!(
        (state, reason),
        (State::Unhealthy, Some(Reason::TargetFailedHealthChecks))
    );
    match crate::ecs::load_balancing::resolve_dial(&f.world, "ip", "10.0.0.7", 8080) {
        ecsim_elb::Dial::Refused(why) => assert_eq!(description, Some(why)),
        other => panic!("10.0.0.7 should be refused, not {other:?}"),
    }
}

#[test]
fn lost_probes_are_queued_again() {
    let mut f = Fixture::new();
    let (tg, _) = served_group(&mut f);
    f.register(&tg, "127.0.0.1", Some(9000)).unwrap();
    f.advance(0);
    let first = f.take_probes().remove(0);
    // Its timeout (2 s) plus one interval (5 s) later, the check is queued again.
    f.advance(5_000);
    assert!(f.take_probes().is_empty());
    f.advance(5_000);
    let second = f.take_probes();
    assert_eq!(second.len(), 1);
    assert!(second[0].key.sequence > first.key.sequence);
    f.probe_result(&first, ProbeOutcome::Status(200));
    assert_eq!(
        f.only_health(&tg).1,
        Some(Reason::ElbRegistrationInProgress),
        "stale"
    );
    // Untaken probes are replaced, not piled up.
    f.advance(30_000);
    assert_eq!(f.take_probes().len(), 1);
}

#[test]
fn draining_waits_for_the_delay_and_reregistration_starts_over() {
    let mut f = Fixture::new();
    let (tg, _) = served_group(&mut f);
    f.call(|h| {
        h.modify_target_group_attributes(api::ModifyTargetGroupAttributesInput {
            target_group_arn: tg.clone(),
            attributes: vec![api::TargetGroupAttribute {
                key: Some("deregistration_delay.timeout_seconds".into()),
                value: Some("30".into()),
            }],
        })
    })
    .unwrap();
    f.register(&tg, "127.0.0.1", Some(9000)).unwrap();
    f.advance(0);
    f.take_probes();
    f.deregister(&tg, "127.0.0.1", Some(9000)).unwrap();
    assert_eq!(
        f.only_health(&tg),
        (
            State::Draining,
            Some(Reason::TargetDeregistrationInProgress),
            Some("Target deregistration is in progress".into())
        )
    );
    // Deregistering again changes nothing; no probes while draining.
    f.deregister(&tg, "127.0.0.1", Some(9000)).unwrap();
    f.advance(29_999);
    assert!(f.take_probes().is_empty());
    assert_eq!(f.only_health(&tg).0, State::Draining);
    f.advance(1);
    assert!(f.health(&tg).is_empty());

    // Registering a draining target makes it initial again; the old drain timer is stale.
    f.register(&tg, "127.0.0.1", Some(9000)).unwrap();
    f.advance(0);
    f.take_probes();
    f.deregister(&tg, "127.0.0.1", Some(9000)).unwrap();
    f.advance(10_000);
    f.register(&tg, "127.0.0.1", Some(9000)).unwrap();
    assert_eq!(f.only_health(&tg).1, Some(Reason::ElbRegistrationInProgress));
    f.advance(25_000);
    assert_eq!(
        f.health(&tg).len(),
        1,
        "the cancelled drain does not remove the target"
    );
    assert_eq!(f.only_health(&tg).0, State::Initial);

    // A delay of 0 removes at once.
    f.call(|h| {
        h.modify_target_group_attributes(api::ModifyTargetGroupAttributesInput {
            target_group_arn: tg.clone(),
            attributes: vec![api::TargetGroupAttribute {
                key: Some("deregistration_delay.timeout_seconds".into()),
                value: Some("0".into()),
            }],
        })
    })
    .unwrap();
    assert!(!f.with(|w, ctx| crate::elbv2::deregister_target(w, ctx, &tg, "127.0.0.1", 9000)));
    assert!(f.health(&tg).is_empty());
}

#[test]
fn targets_follow_their_group_in_and_out_of_use() {
    let mut f = Fixture::new();
    let tg = f
        .create_tg("g", api::TargetTypeEnum::Ip)
        .target_group_arn
        .unwrap();
    f.register(&tg, "127.0.0.1", None).unwrap();
    assert_eq!(f.only_health(&tg).0, State::Unused);
    let lb = f.create_lb("web").load_balancer_arn.unwrap();
    let listener = f
        .create_listener(&lb, 80, forward(&tg))
        .unwrap()
        .listener_arn
        .unwrap();
    assert_eq!(f.only_health(&tg).1, Some(Reason::ElbRegistrationInProgress));
    f.advance(0);
    assert_eq!(f.take_probes().len(), 1);
    f.call(|h| {
        h.modify_listener(api::ModifyListenerInput {
            listener_arn: listener.clone(),
            default_actions: Some(vec![fixed("200")]),
            ..Default::default()
        })
    })
    .unwrap();
    assert_eq!(f.only_health(&tg).1, Some(Reason::TargetNotInUse));
    assert!(f.take_probes().is_empty());
    f.advance(120_000);
    assert!(f.take_probes().is_empty(), "unused targets are not probed");
    f.create_rule(&listener, 1, vec![super::path_condition(&["/x"])], forward(&tg))
        .unwrap();
    assert_eq!(f.only_health(&tg).0, State::Initial);
    f.call(|h| {
        h.delete_load_balancer(api::DeleteLoadBalancerInput {
            load_balancer_arn: lb.clone(),
        })
    })
    .unwrap();
    assert_eq!(f.only_health(&tg).0, State::Unused);
}

#[test]
fn ecs_entry_points() {
    let mut f = Fixture::new();
    let (tg, _) = served_group(&mut f);
    let group = crate::elbv2::target_group(&f.world, &tg).unwrap();
    assert_eq!(group.target_type_str(), "ip");
    assert_eq!(group.port, 8080);
    assert_eq!(group.deregistration_delay_ms(), 300_000);
    assert_eq!(group.health_check.interval_s, 5);
    assert!(group.in_use());
    let lb = group.load_balancer_arns[0].clone();
    assert_eq!(
        crate::elbv2::target_groups_of_load_balancer(&f.world, &lb),
        vec![tg.clone()]
    );

    f.with(|w, ctx| crate::elbv2::register_target(w, ctx, &tg, "172.31.0.9", 8080, Some("us-east-1a")))
        .unwrap();
    assert_eq!(
        crate::elbv2::target_state(&f.world, &tg, "172.31.0.9", 8080),
        Some((TargetState::Initial, Some(Reason::ElbRegistrationInProgress)))
    );
    assert_eq!(
        crate::elbv2::target_state(&f.world, &tg, "172.31.0.9", 8081),
        None
    );
    let err = f.with(|w, ctx| crate::elbv2::register_target(w, ctx, &tg, "i-0abc", 8080, None));
    assert_eq!(err.unwrap_err().code, "InvalidTarget");
    assert!(f.with(|w, ctx| crate::elbv2::deregister_target(w, ctx, &tg, "172.31.0.9", 8080)));
    assert!(!f.with(|w, ctx| crate::elbv2::deregister_target(w, ctx, &tg, "172.31.0.99", 8080)));
    assert_eq!(
        crate::elbv2::target_state(&f.world, &tg, "172.31.0.9", 8080).map(|s| s.0),
        Some(TargetState::Draining)
    );
    f.advance(300_000);
    assert_eq!(
        crate::elbv2::target_state(&f.world, &tg, "172.31.0.9", 8080),
        None
    );
}
