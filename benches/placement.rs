//! Placement throughput of the scheduler: spread(AZ) + binpack(memory) + a memberOf constraint over
//! 6 AZs, at 100, 1,000 and 5,000 container instances. `cargo bench -p ecsim-benches --bench placement`.

use std::collections::BTreeMap;
use std::hint::black_box;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use ecsim_core::Rng;
use ecsim_scheduler::{
    BinpackField, ChosenInstance, ClusterSnapshot, Constraint, InstanceSnapshot, PlacementRequest, Strategy,
    parse, place,
};

const AZS: usize = 6;

fn cluster(instances: usize, cpu: i64, memory: i64) -> ClusterSnapshot {
    let instances = (0..instances)
        .map(|i| {
            let az = format!("us-east-1{}", char::from(b'a' + (i % AZS) as u8));
            let kind = if i % 2 == 0 { "m5.large" } else { "c5.large" };
            let attributes: BTreeMap<String, Option<String>> = [
                ("ecs.availability-zone", az.as_str()),
                ("ecs.instance-type", kind),
                ("ecs.os-type", "linux"),
                ("ecs.cpu-architecture", "x86_64"),
                ("ecs.ami-id", "ami-0123456789"),
            ]
            .into_iter()
            .map(|(k, v)| (k.to_string(), Some(v.to_string())))
            .collect();
            InstanceSnapshot {
                id: format!("{i:032x}"),
                arn: format!("arn:aws:ecs:us-east-1:000000000000:container-instance/default/{i:032x}"),
                ec2_instance_id: format!("i-{i:017x}"),
                availability_zone: az,
                attributes,
                cpu_remaining: cpu,
                memory_remaining: memory - (i as i64 % 7) * 1024,
                running_task_groups: [("service:other".to_string(), (i % 3) as u32)].into(),
                running_tasks: (i % 3) as u32,
                agent_connected: true,
                agent_version: "1.80.0".into(),
                active: true,
                ..InstanceSnapshot::default()
            }
        })
        .collect();
    ClusterSnapshot { instances }
}

fn request(count: u32) -> PlacementRequest {
    PlacementRequest {
        cpu: 256,
        memory: 512,
        host_ports: Vec::new(),
        group: "service:web".into(),
        count,
        constraints: vec![Constraint::MemberOf(
            parse("attribute:ecs.instance-type in [m5.large, m5.xlarge] and attribute:ecs.os-type == linux")
                .expect("valid expression"),
        )],
        strategies: vec![
            Strategy::Spread("attribute:ecs.availability-zone".into()),
            Strategy::Binpack(BinpackField::Memory),
        ],
    }
}

fn throughput(c: &mut Criterion) {
    let mut group = c.benchmark_group("place_1000_tasks");
    for n in [100usize, 1_000, 5_000] {
        let snap = cluster(n, 1 << 20, 1 << 20);
        let req = request(1_000);
        group.throughput(Throughput::Elements(u64::from(req.count)));
        group.bench_with_input(BenchmarkId::from_parameter(n), &n, |b, _| {
            b.iter(|| {
                let p = place(black_box(&req), black_box(&snap), &mut Rng::seeded(1));
                assert_eq!(p.chosen.len(), 1_000);
                p
            });
        });
    }
    group.finish();

    let mut group = c.benchmark_group("place_1_task");
    for n in [100usize, 1_000, 5_000] {
        let snap = cluster(n, 1 << 20, 1 << 20);
        let req = request(1);
        group.throughput(Throughput::Elements(1));
        group.bench_with_input(BenchmarkId::from_parameter(n), &n, |b, _| {
            b.iter(|| place(black_box(&req), black_box(&snap), &mut Rng::seeded(1)));
        });
    }
    group.finish();
}

fn one_million(c: &mut Criterion) {
    // 2,500 of the 5,000 instances pass memberOf; each holds 400 tasks (cpu 102,400, memory 204,800).
    let snap = cluster(5_000, 131_072, 262_144);
    let req = request(1_000_000);
    let p = place(&req, &snap, &mut Rng::seeded(1));
    assert_eq!(p.chosen.len(), 1_000_000);
    eprintln!(
        "1M placement: {} bytes per ChosenInstance, chosen Vec holds {} bytes for {} tasks",
        size_of::<ChosenInstance>(),
        p.chosen.capacity() * size_of::<ChosenInstance>(),
        p.chosen.len()
    );
    let mut group = c.benchmark_group("place_1m_tasks_on_5000");
    group.sample_size(10);
    group.throughput(Throughput::Elements(1_000_000));
    group.bench_function("spread_az_binpack_memory_memberof", |b| {
        b.iter(|| place(black_box(&req), black_box(&snap), &mut Rng::seeded(1)));
    });
    group.finish();
}

criterion_group!(benches, throughput, one_million);
criterion_main!(benches);
