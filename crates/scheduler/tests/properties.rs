//! Property tests for the placement pipeline: resource safety, constraints, balance, determinism,
//! completeness, and agreement with a naive reference implementation written independently here.

use std::collections::BTreeMap;

use ecsim_core::Rng;
use ecsim_scheduler::query::InstanceView;
use ecsim_scheduler::{
    BinpackField, ClusterSnapshot, Constraint, InstanceSnapshot, Placement, PlacementRequest, Strategy,
    parse, place,
};
use proptest::prelude::*;
use proptest::strategy::Strategy as _;

const AZS: [&str; 3] = ["az1", "az2", "az3"];
const GROUP: &str = "service:web";
const EXPRESSIONS: [&str; 5] = [
    "attribute:ecs.availability-zone in [az1, az2]",
    "attribute:ecs.instance-type =~ m5.*",
    "not task:group == service:web",
    "runningTasksCount < 3",
    "attribute:ecs.instance-type == c5.large or task:group == service:other",
];

fn instance_strategy() -> impl proptest::strategy::Strategy<Value = InstanceSnapshot> {
    (
        (0usize..4, 0usize..2, 0i64..5, 0i64..5),
        (
            proptest::collection::btree_set(prop_oneof![Just(80u16), Just(443), Just(8080)], 0..2),
            0u32..3,
            0u32..2,
        ),
        (prop::bool::weighted(0.9), prop::bool::weighted(0.9)),
    )
        .prop_map(|((az, kind, cpu, mem), (ports, web, other), (active, agent))| {
            let mut attributes = BTreeMap::new();
            if az < 3 {
                attributes.insert("ecs.availability-zone".to_string(), Some(AZS[az].to_string()));
            }
            attributes.insert(
                "ecs.instance-type".to_string(),
                Some(["m5.large", "c5.large"][kind].to_string()),
            );
            let mut groups = BTreeMap::new();
            groups.insert(GROUP.to_string(), web);
            groups.insert("service:other".to_string(), other);
            InstanceSnapshot {
                id: String::new(),
                arn: String::new(),
                ec2_instance_id: "i-1".into(),
                availability_zone: String::new(),
                attributes,
                cpu_remaining: cpu * 256,
                memory_remaining: mem * 512,
                ports_in_use: ports,
                running_task_groups: groups,
                running_tasks: web + other,
                registered_at_ms: 0,
                agent_connected: agent,
                agent_version: "1.80.0".into(),
                active,
            }
        })
}

fn strategy_strategy() -> impl proptest::strategy::Strategy<Value = Strategy> {
    prop_oneof![
        Just(Strategy::Spread("attribute:ecs.availability-zone".into())),
        Just(Strategy::Spread("attribute:ecs.instance-type".into())),
        Just(Strategy::Spread("instanceId".into())),
        Just(Strategy::Binpack(BinpackField::Cpu)),
        Just(Strategy::Binpack(BinpackField::Memory)),
    ]
}

fn request_strategy(random: bool) -> impl proptest::strategy::Strategy<Value = PlacementRequest> {
    (
        (
            0i64..3,
            0i64..3,
            proptest::collection::vec(prop_oneof![Just(80u16), Just(8080)], 0..2),
            0u32..25,
        ),
        (any::<bool>(), proptest::option::of(0usize..EXPRESSIONS.len())),
        proptest::collection::vec(strategy_strategy(), 0..4),
        any::<bool>(),
    )
        .prop_map(
            move |((cpu, mem, mut ports, count), (distinct, member), mut strategies, rand)| {
                ports.dedup();
                let mut constraints = Vec::new();
                if distinct {
                    constraints.push(Constraint::DistinctInstance);
                }
                if let Some(e) = member {
                    constraints.push(Constraint::MemberOf(parse(EXPRESSIONS[e]).unwrap()));
                }
                if random && rand {
                    strategies.push(Strategy::Random);
                }
                PlacementRequest {
                    cpu: cpu * 256,
                    memory: mem * 512,
                    host_ports: ports,
                    group: GROUP.into(),
                    count,
                    constraints,
                    strategies,
                }
            },
        )
}

fn feasible(req: &PlacementRequest, inst: &InstanceSnapshot) -> bool {
    inst.active
        && inst.agent_connected
        && inst.cpu_remaining >= req.cpu
        && inst.memory_remaining >= req.memory
        && !req.host_ports.iter().any(|p| inst.ports_in_use.contains(p))
        && req.constraints.iter().all(|c| match c {
            Constraint::DistinctInstance => inst.running_task_groups.get(GROUP).copied().unwrap_or(0) == 0,
            Constraint::MemberOf(e) => e.matches(inst),
        })
}

fn apply(req: &PlacementRequest, inst: &mut InstanceSnapshot) {
    inst.cpu_remaining -= req.cpu;
    inst.memory_remaining -= req.memory;
    inst.ports_in_use.extend(req.host_ports.iter().copied());
    *inst.running_task_groups.entry(GROUP.to_string()).or_default() += 1;
    inst.running_tasks += 1;
}

/// The obvious O(instances²) implementation, without Random.
fn reference(req: &PlacementRequest, snap: &ClusterSnapshot) -> Vec<u32> {
    let mut state = snap.instances.clone();
    let mut chosen = Vec::new();
    for _ in 0..req.count {
        let mut candidates: Vec<usize> = (0..state.len()).filter(|&i| feasible(req, &state[i])).collect();
        for s in &req.strategies {
            let key = |i: usize| -> i64 {
                let inst = &state[i];
                match s {
                    Strategy::Binpack(BinpackField::Cpu) => inst.cpu_remaining,
                    Strategy::Binpack(BinpackField::Memory) => inst.memory_remaining,
                    Strategy::Spread(f) if f == "instanceId" => {
                        i64::from(inst.running_task_groups.get(GROUP).copied().unwrap_or(0))
                    }
                    Strategy::Spread(f) => {
                        let name = f.strip_prefix("attribute:").unwrap();
                        let value = inst.attribute(name).flatten();
                        state
                            .iter()
                            .filter(|o| o.attribute(name).flatten() == value)
                            .map(|o| i64::from(o.running_task_groups.get(GROUP).copied().unwrap_or(0)))
                            .sum()
                    }
                    Strategy::Random => unreachable!("reference has no random"),
                }
            };
            if let Some(best) = candidates.iter().map(|&i| key(i)).min() {
                candidates.retain(|&i| key(i) == best);
            }
        }
        let Some(&pick) = candidates.first() else { break };
        apply(req, &mut state[pick]);
        chosen.push(pick as u32);
    }
    chosen
}

fn indices(p: &Placement) -> Vec<u32> {
    p.chosen.iter().map(|c| c.instance_index).collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn agrees_with_the_reference(
        instances in proptest::collection::vec(instance_strategy(), 0..10),
        req in request_strategy(false),
    ) {
        let snap = ClusterSnapshot { instances };
        let p = place(&req, &snap, &mut Rng::seeded(0));
        prop_assert_eq!(indices(&p), reference(&req, &snap));
    }

    /// Small requests on larger clusters take the scanning path instead of the class index.
    #[test]
    fn small_requests_agree_with_the_reference(
        instances in proptest::collection::vec(instance_strategy(), 70..100),
        req in request_strategy(false),
    ) {
        let mut req = req;
        req.count %= 3;
        let snap = ClusterSnapshot { instances };
        let p = place(&req, &snap, &mut Rng::seeded(0));
        prop_assert_eq!(indices(&p), reference(&req, &snap));
    }

    #[test]
    fn safe_complete_and_deterministic(
        instances in proptest::collection::vec(instance_strategy(), 0..10),
        req in request_strategy(true),
        seed in any::<u64>(),
    ) {
        let snap = ClusterSnapshot { instances };
        let p = place(&req, &snap, &mut Rng::seeded(seed));
        prop_assert_eq!(&p, &place(&req, &snap, &mut Rng::seeded(seed)));
        prop_assert_eq!(p.chosen.len() as u32 + p.unplaced(), req.count);
        // Replay: every pick passed every filter at the time it was made (so nothing is
        // over-committed on CPU, memory or ports, and distinctInstance holds).
        let mut state = snap.instances.clone();
        for c in &p.chosen {
            let inst = &mut state[c.instance_index as usize];
            prop_assert!(feasible(&req, inst), "pick onto an instance that fails a filter");
            apply(&req, inst);
        }
        for (before, after) in snap.instances.iter().zip(&state) {
            if after.running_tasks > before.running_tasks {
                prop_assert!(after.cpu_remaining >= 0 || req.cpu == 0 || before.cpu_remaining < 0);
                prop_assert!(after.memory_remaining >= 0 || req.memory == 0 || before.memory_remaining < 0);
            }
        }
        // Completeness: a task was left unplaced only when no instance passes every filter.
        if p.unplaced() > 0 {
            prop_assert!(!state.iter().any(|i| feasible(&req, i)));
            prop_assert_eq!(p.failures.len(), 1);
        }
    }

    #[test]
    fn spread_az_is_balanced_with_ample_resources(
        per_az in proptest::collection::vec(1usize..4, 6),
        count in 0u32..200,
        binpack in any::<bool>(),
        seed in any::<u64>(),
    ) {
        let mut instances = Vec::new();
        for (az, n) in per_az.iter().enumerate() {
            for k in 0..*n {
                instances.push(InstanceSnapshot {
                    attributes: [("ecs.availability-zone".to_string(), Some(format!("az{az}")))].into(),
                    cpu_remaining: 1 << 40,
                    memory_remaining: (1i64 << 40) - k as i64,
                    agent_connected: true,
                    active: true,
                    ..InstanceSnapshot::default()
                });
            }
        }
        let mut strategies = vec![Strategy::Spread("attribute:ecs.availability-zone".into())];
        if binpack {
            strategies.push(Strategy::Binpack(BinpackField::Memory));
        }
        strategies.push(Strategy::Random);
        let req = PlacementRequest {
            cpu: 256, memory: 512, host_ports: vec![], group: GROUP.into(), count,
            constraints: vec![], strategies,
        };
        let snap = ClusterSnapshot { instances };
        let p = place(&req, &snap, &mut Rng::seeded(seed));
        prop_assert_eq!(p.chosen.len() as u32, count);
        let mut tally = BTreeMap::new();
        for c in &p.chosen {
            let az = snap.instances[c.instance_index as usize].attributes["ecs.availability-zone"].clone();
            *tally.entry(az).or_insert(0u32) += 1;
        }
        let max = (0..6).map(|az| tally.get(&Some(format!("az{az}"))).copied().unwrap_or(0)).max().unwrap();
        let min = (0..6).map(|az| tally.get(&Some(format!("az{az}"))).copied().unwrap_or(0)).min().unwrap();
        prop_assert!(max - min <= 1, "imbalance {max} - {min}");
    }
}
