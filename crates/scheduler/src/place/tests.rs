//! Table tests for placement: each filter, each strategy, combinations and failure messages.

use super::*;
use crate::query::parse;
use crate::snapshot::ATTR_AVAILABILITY_ZONE;

fn inst(id: &str, az: &str, cpu: i64, memory: i64) -> InstanceSnapshot {
    InstanceSnapshot {
        id: id.into(),
        arn: format!("arn:aws:ecs:us-east-1:000000000000:container-instance/default/{id}"),
        ec2_instance_id: format!("i-{id}"),
        availability_zone: az.into(),
        attributes: [
            (ATTR_AVAILABILITY_ZONE.to_string(), Some(az.to_string())),
            ("ecs.instance-type".to_string(), Some("m5.large".to_string())),
        ]
        .into(),
        cpu_remaining: cpu,
        memory_remaining: memory,
        agent_connected: true,
        agent_version: "1.80.0".into(),
        active: true,
        ..InstanceSnapshot::default()
    }
}

fn req(count: u32) -> PlacementRequest {
    PlacementRequest {
        cpu: 256,
        memory: 512,
        host_ports: Vec::new(),
        group: "service:web".into(),
        count,
        constraints: Vec::new(),
        strategies: Vec::new(),
    }
}

fn snap(instances: Vec<InstanceSnapshot>) -> ClusterSnapshot {
    ClusterSnapshot { instances }
}

fn indices(p: &Placement) -> Vec<u32> {
    p.chosen.iter().map(|c| c.instance_index).collect()
}

fn run(r: &PlacementRequest, s: &ClusterSnapshot) -> Placement {
    place(r, s, &mut Rng::seeded(1))
}

fn spread_az() -> Strategy {
    Strategy::Spread(format!("attribute:{ATTR_AVAILABILITY_ZONE}"))
}

#[test]
fn each_filter_refuses_with_its_reason() {
    // (name, modify instance 0, modify request, expected reason)
    type Case = (
        &'static str,
        fn(&mut InstanceSnapshot),
        fn(&mut PlacementRequest),
        &'static str,
    );
    let cases: Vec<Case> = vec![
        ("inactive", |i| i.active = false, |_| {}, reason::INACTIVE),
        ("agent", |i| i.agent_connected = false, |_| {}, reason::AGENT),
        ("cpu", |i| i.cpu_remaining = 255, |_| {}, reason::CPU),
        ("memory", |i| i.memory_remaining = 511, |_| {}, reason::MEMORY),
        (
            "ports",
            |i| i.ports_in_use = [80].into(),
            |r| r.host_ports = vec![443, 80],
            reason::PORTS,
        ),
        (
            "distinct",
            |i| i.running_task_groups = [("service:web".to_string(), 1)].into(),
            |r| r.constraints = vec![Constraint::DistinctInstance],
            reason::DISTINCT_INSTANCE,
        ),
        (
            "memberOf",
            |_| {},
            |r| {
                r.constraints = vec![Constraint::MemberOf(
                    parse("attribute:ecs.instance-type == t3.nano").unwrap(),
                )]
            },
            reason::MEMBER_OF,
        ),
    ];
    for (name, modify_instance, modify_request, expected) in cases {
        let mut i = inst("a", "az1", 1024, 1024);
        modify_instance(&mut i);
        let mut r = req(2);
        modify_request(&mut r);
        let p = run(&r, &snap(vec![i]));
        assert!(p.chosen.is_empty(), "{name}");
        assert_eq!(p.failures.len(), 1, "{name}");
        let f = &p.failures[0];
        assert_eq!((f.tasks, f.reason), (2, expected), "{name}");
        assert_eq!(f.closest_instance_index, Some(0), "{name}");
        assert_eq!(f.rejections, BTreeMap::from([(expected, 1)]), "{name}");
    }
}

#[test]
fn exact_fit_is_accepted_and_zero_sized_tasks_always_fit() {
    let p = run(&req(1), &snap(vec![inst("a", "az1", 256, 512)]));
    assert_eq!(indices(&p), [0]);
    let mut r = req(3);
    r.cpu = 0;
    r.memory = 0;
    assert_eq!(indices(&run(&r, &snap(vec![inst("a", "az1", 0, 0)]))), [0, 0, 0]);
}

#[test]
fn resources_are_consumed_by_earlier_picks() {
    // 1024 memory fits two 512 tasks; the third fails on memory.
    let p = run(&req(3), &snap(vec![inst("a", "az1", 4096, 1024)]));
    assert_eq!(indices(&p), [0, 0]);
    assert_eq!(p.failures[0].tasks, 1);
    assert_eq!(p.failures[0].reason, reason::MEMORY);
}

#[test]
fn host_ports_allow_one_task_per_instance() {
    let mut r = req(3);
    r.host_ports = vec![8080];
    let mut b = inst("b", "az1", 4096, 4096);
    b.ports_in_use = [22, 8081].into();
    let p = run(&r, &snap(vec![inst("a", "az1", 4096, 4096), b]));
    assert_eq!(indices(&p), [0, 1]);
    assert_eq!(p.failures[0].reason, reason::PORTS);
    assert_eq!(p.failures[0].rejections, BTreeMap::from([(reason::PORTS, 2)]));
}

#[test]
fn distinct_instance_uses_each_instance_once() {
    let mut r = req(4);
    r.constraints = vec![Constraint::DistinctInstance];
    let mut c = inst("c", "az1", 4096, 4096);
    c.running_task_groups = [("service:other".to_string(), 3)].into();
    let p = run(
        &r,
        &snap(vec![
            inst("a", "az1", 4096, 4096),
            inst("b", "az1", 4096, 4096),
            c,
        ]),
    );
    assert_eq!(indices(&p), [0, 1, 2]);
    assert_eq!(p.failures[0].reason, reason::DISTINCT_INSTANCE);
}

#[test]
fn member_of_filters_instances() {
    let mut r = req(2);
    r.constraints = vec![Constraint::MemberOf(
        parse("attribute:ecs.availability-zone in [az2, az3]").unwrap(),
    )];
    let p = run(
        &r,
        &snap(vec![inst("a", "az1", 4096, 4096), inst("b", "az2", 4096, 4096)]),
    );
    assert_eq!(indices(&p), [1, 1]);
}

#[test]
fn member_of_with_task_group_sees_earlier_picks() {
    // Only instances that do not yet run the group: behaves like distinctInstance.
    let mut r = req(3);
    r.constraints = vec![Constraint::MemberOf(
        parse("not task:group == service:web").unwrap(),
    )];
    let p = run(
        &r,
        &snap(vec![inst("a", "az1", 4096, 4096), inst("b", "az1", 4096, 4096)]),
    );
    assert_eq!(indices(&p), [0, 1]);
    assert_eq!(p.failures[0].reason, reason::MEMBER_OF);
    // runningTasksCount < 2 allows two tasks on a fresh instance.
    let mut r = req(3);
    r.constraints = vec![Constraint::MemberOf(parse("runningTasksCount < 2").unwrap())];
    let p = run(&r, &snap(vec![inst("a", "az1", 4096, 4096)]));
    assert_eq!(indices(&p), [0, 0]);
}

#[test]
fn closest_match_is_the_instance_that_got_furthest() {
    // a fails at AGENT, b at CPU, c at MEMORY (furthest), d at MEMORY too (later index).
    let mut a = inst("a", "az1", 4096, 4096);
    a.agent_connected = false;
    let b = inst("b", "az1", 100, 4096);
    let c = inst("c", "az1", 4096, 100);
    let d = inst("d", "az1", 4096, 100);
    let p = run(&req(1), &snap(vec![a, b, c, d]));
    let f = &p.failures[0];
    assert_eq!(f.reason, reason::MEMORY);
    assert_eq!(f.closest_instance_index, Some(2));
    assert_eq!(f.closest_instance_id.as_deref(), Some("c"));
    assert_eq!(
        f.rejections,
        BTreeMap::from([(reason::AGENT, 1), (reason::CPU, 1), (reason::MEMORY, 2)])
    );
}

#[test]
fn no_instances_and_zero_count() {
    let p = run(&req(2), &snap(Vec::new()));
    assert_eq!(p.failures[0].reason, reason::NO_INSTANCES);
    assert_eq!(p.failures[0].tasks, 2);
    assert_eq!(
        unable_to_place_message("web", &p.failures[0]),
        "(service web) was unable to place a task. Reason: No Container Instances were found in your cluster."
    );
    assert_eq!(
        run(&req(0), &snap(vec![inst("a", "az1", 1, 1)])),
        Placement::default()
    );
}

#[test]
fn no_strategy_takes_instances_in_order() {
    let p = run(
        &req(3),
        &snap(vec![inst("a", "az1", 512, 1024), inst("b", "az1", 4096, 4096)]),
    );
    assert_eq!(indices(&p), [0, 0, 1]);
}

#[test]
fn binpack_table() {
    // (strategy, instances as (cpu, memory), count, expected)
    type Case = (BinpackField, Vec<(i64, i64)>, u32, Vec<u32>);
    let cases: Vec<Case> = vec![
        // least remaining memory first, and keep packing it while it fits
        (
            BinpackField::Memory,
            vec![(4096, 4096), (4096, 1024), (4096, 2048)],
            4,
            vec![1, 1, 2, 2],
        ),
        // ties broken by instance order
        (
            BinpackField::Memory,
            vec![(4096, 1024), (4096, 1024)],
            3,
            vec![0, 0, 1],
        ),
        (
            BinpackField::Cpu,
            vec![(1024, 4096), (512, 4096), (2048, 4096)],
            3,
            vec![1, 1, 0],
        ),
        // an instance that cannot fit is skipped even though it has the least remaining
        (BinpackField::Memory, vec![(4096, 4096), (4096, 256)], 1, vec![0]),
    ];
    for (field, shapes, count, expected) in cases {
        let instances = shapes
            .iter()
            .enumerate()
            .map(|(n, (cpu, mem))| inst(&format!("i{n}"), "az1", *cpu, *mem))
            .collect();
        let mut r = req(count);
        r.strategies = vec![Strategy::Binpack(field)];
        assert_eq!(
            indices(&run(&r, &snap(instances))),
            expected,
            "{field:?} {shapes:?}"
        );
    }
}

#[test]
fn spread_instance_round_robins_and_counts_existing_tasks() {
    let mut b = inst("b", "az1", 4096, 4096);
    b.running_task_groups = [("service:web".to_string(), 2)].into();
    let mut r = req(5);
    r.strategies = vec![Strategy::Spread("instanceId".into())];
    let s = snap(vec![
        inst("a", "az1", 4096, 4096),
        b,
        inst("c", "az1", 4096, 4096),
    ]);
    // counts start (0, 2, 0): a, c, a, c, then all at 2 -> a
    assert_eq!(indices(&run(&r, &s)), [0, 2, 0, 2, 0]);
    r.strategies = vec![Strategy::Spread("host".into())];
    assert_eq!(indices(&run(&r, &s)), [0, 2, 0, 2, 0]);
}

#[test]
fn spread_az_balances_and_ignores_values_without_feasible_instances() {
    // az1: a, b; az2: c; az3: d (too small, so az3 does not count)
    let mut existing = inst("b", "az1", 4096, 4096);
    existing.running_task_groups = [("service:web".to_string(), 1)].into();
    let s = snap(vec![
        inst("a", "az1", 4096, 4096),
        existing,
        inst("c", "az2", 4096, 4096),
        inst("d", "az3", 4096, 100),
    ]);
    let mut r = req(4);
    r.strategies = vec![spread_az()];
    // az counts (1, 0): az2 (c); (1, 1): az1 first in order -> a; (2, 1): c; (2, 2): a
    assert_eq!(indices(&run(&r, &s)), [2, 0, 2, 0]);
}

#[test]
fn spread_az_then_binpack_memory() {
    // az1: a (mem 4096), b (mem 1024); az2: c (mem 2048), d (mem 3072)
    let s = snap(vec![
        inst("a", "az1", 8192, 4096),
        inst("b", "az1", 8192, 1024),
        inst("c", "az2", 8192, 2048),
        inst("d", "az2", 8192, 3072),
    ]);
    let mut r = req(8);
    r.strategies = vec![spread_az(), Strategy::Binpack(BinpackField::Memory)];
    // AZ counts decide first; on an AZ tie binpack compares the best instance of each AZ.
    // 1: tie, b(1024) < c(2048) -> b=512.   2: az2 behind -> c=1536.
    // 3: tie, b(512) < c(1536) -> b=0 (b is now full).   4: az2 behind -> c=1024.
    // 5: tie, a(4096) vs c(1024) -> c=512.   6: az1 behind -> a=3584.
    // 7: tie, a(3584) vs c(512) -> c=0 (full).   8: az1 behind -> a=3072.
    assert_eq!(indices(&run(&r, &s)), [1, 2, 1, 2, 2, 0, 2, 0]);
}

#[test]
fn binpack_memory_then_spread_az_uses_the_generic_path() {
    // binpack first: fullest instance wins regardless of AZ; spread only breaks memory ties.
    let s = snap(vec![
        inst("a", "az1", 8192, 1024),
        inst("b", "az2", 8192, 1024),
        inst("c", "az2", 8192, 4096),
    ]);
    let mut r = req(3);
    r.strategies = vec![Strategy::Binpack(BinpackField::Memory), spread_az()];
    // tie (a, b) at 1024: az counts equal, order -> a (512); a is fullest -> a (0); then b.
    assert_eq!(indices(&run(&r, &s)), [0, 0, 1]);
}

#[test]
fn two_attribute_spreads_then_instance_spread() {
    let mut instances = Vec::new();
    for (n, (az, rack)) in [("az1", "r1"), ("az1", "r2"), ("az2", "r1"), ("az2", "r1")]
        .iter()
        .enumerate()
    {
        let mut i = inst(&format!("i{n}"), az, 8192, 8192);
        i.attributes.insert("rack".into(), Some(rack.to_string()));
        instances.push(i);
    }
    let mut r = req(6);
    r.strategies = vec![
        spread_az(),
        Strategy::Spread("attribute:rack".into()),
        Strategy::Spread("host".into()),
    ];
    // 1: all zero -> i0 (az1,r1). 2: az2 (0) -> i2 (r1=1 same for i2,i3 -> order). 3: az (1,1);
    // racks r1=2, r2=0 -> i1. 4: az (2,1) -> az2, i3 (host count 0 < i2's 1). 5: az (2,2); racks
    // r1=3 r2=1 -> i1. 6: az (3,2) -> az2: i2 and i3 both at 1 -> i2.
    assert_eq!(indices(&run(&r, &snap(instances))), [0, 2, 1, 3, 1, 2]);
}

#[test]
fn instances_without_the_spread_attribute_form_their_own_value() {
    let mut bare = inst("x", "az1", 4096, 4096);
    bare.attributes.clear();
    let mut r = req(3);
    r.strategies = vec![spread_az()];
    let p = run(&r, &snap(vec![inst("a", "az1", 4096, 4096), bare]));
    assert_eq!(indices(&p), [0, 1, 0]);
}

#[test]
fn random_is_seeded_and_only_breaks_ties() {
    let instances: Vec<_> = (0..8)
        .map(|n| inst(&format!("i{n}"), "az1", 8192, 8192))
        .collect();
    let s = snap(instances);
    let mut r = req(20);
    r.strategies = vec![Strategy::Random];
    let a = place(&r, &s, &mut Rng::seeded(7));
    let b = place(&r, &s, &mut Rng::seeded(7));
    assert_eq!(a, b);
    let c = place(&r, &s, &mut Rng::seeded(8));
    assert_ne!(indices(&a), indices(&c));
    let distinct: BTreeSet<u32> = indices(&a).into_iter().collect();
    assert!(
        distinct.len() > 3,
        "random should spread over several instances: {distinct:?}"
    );
    // binpack then random: random only among the fullest instances
    let mut s2 = s.clone();
    s2.instances[3].memory_remaining = 1024;
    s2.instances[5].memory_remaining = 1024;
    r.count = 4;
    r.strategies = vec![Strategy::Binpack(BinpackField::Memory), Strategy::Random];
    for seed in 0..20 {
        let p = place(&r, &s2, &mut Rng::seeded(seed));
        let mut got = indices(&p);
        got.sort_unstable();
        assert_eq!(got, [3, 3, 5, 5], "seed {seed}");
    }
    // random then binpack: strategies after random are ignored, the choice is uniform
    r.strategies = vec![Strategy::Random, Strategy::Binpack(BinpackField::Memory)];
    let picks: BTreeSet<u32> = (0..40)
        .map(|seed| indices(&place(&r, &s2, &mut Rng::seeded(seed)))[0])
        .collect();
    assert!(picks.len() > 2, "{picks:?}");
}

#[test]
fn spread_then_random_stays_balanced() {
    let instances: Vec<_> = (0..9)
        .map(|n| inst(&format!("i{n}"), ["az1", "az2", "az3"][n % 3], 8192, 8192))
        .collect();
    let s = snap(instances);
    let mut r = req(9);
    r.strategies = vec![spread_az(), Strategy::Random];
    let p = place(&r, &s, &mut Rng::seeded(3));
    let mut per_az = [0; 3];
    for i in indices(&p) {
        per_az[i as usize % 3] += 1;
    }
    assert_eq!(per_az, [3, 3, 3]);
}

#[test]
fn messages_follow_aws_wording() {
    let failure = |reason: &'static str| PlacementFailure {
        tasks: 1,
        reason,
        closest_instance_index: Some(0),
        closest_instance_id: Some("abc123".into()),
        closest_instance_arn: Some(
            "arn:aws:ecs:us-east-1:000000000000:container-instance/default/abc123".into(),
        ),
        rejections: BTreeMap::new(),
    };
    let head = "(service web) was unable to place a task because no container instance met all of its \
                requirements. The closest matching (container-instance abc123)";
    let tail = "For more information, see the Troubleshooting section of the Amazon ECS Developer Guide.";
    let cases = [
        (reason::MEMORY, "has insufficient memory available."),
        (reason::CPU, "has insufficient CPU units available."),
        (reason::PORTS, "is already using a port required by your task."),
        (reason::AGENT, "encountered error \"AGENT\"."),
        (reason::MEMBER_OF, "encountered error \"MemberOf\"."),
        (
            reason::DISTINCT_INSTANCE,
            "encountered error \"DistinctInstance\".",
        ),
        (reason::INACTIVE, "encountered error \"INACTIVE\"."),
    ];
    for (code, middle) in cases {
        assert_eq!(
            unable_to_place_message("web", &failure(code)),
            format!("{head} {middle} {tail}")
        );
    }
}

#[test]
fn validate_checks_limits_and_fields() {
    let mut r = req(1);
    r.strategies = vec![Strategy::Spread("attribute:ecs.availability-zone".into())];
    assert_eq!(r.validate(), Ok(()));
    r.strategies = vec![Strategy::Spread("az".into())];
    assert!(r.validate().is_err());
    r.strategies = vec![Strategy::Random; 6];
    assert!(r.validate().is_err());
    r.strategies.clear();
    r.constraints = vec![Constraint::DistinctInstance; 11];
    assert!(r.validate().is_err());
}
