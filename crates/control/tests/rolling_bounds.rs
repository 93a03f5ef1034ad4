//! Property: during a rolling update, `maximumPercent` bounds the live tasks and
//! `minimumHealthyPercent` bounds the RUNNING tasks at every instant, while tasks of the new
//! revision randomly fail before they run; and the update still finishes on the new revision.

use ecsim_control::ecs::state::TaskStatus;
use ecsim_control::{Engine, EngineConfig};
use ecsim_protocol::route::Caller;
use proptest::prelude::*;
use serde_json::{Value, json};

const ACCOUNT: &str = "000000000000";
const REGION: &str = "us-east-1";
const STEP_MS: u64 = 10;

fn call(engine: &mut Engine, now_ms: u64, operation: &str, input: Value) -> Value {
    let schema = &ecsim_api::ecs::SCHEMA;
    let op = schema.operation(operation).expect("operation exists");
    engine
        .handle(now_ms, schema, op, input, &Caller::default())
        .unwrap_or_else(|e| panic!("{operation}: {e}"))
}

fn register(engine: &mut Engine, now_ms: u64, version: &str, start_delay_ms: u64) {
    call(
        engine,
        now_ms,
        "RegisterTaskDefinition",
        json!({
            "family": "web", "networkMode": "awsvpc", "requiresCompatibilities": ["FARGATE"],
            "cpu": "256", "memory": "512",
            "containerDefinitions": [{"name": "web", "image": "web", "environment": [
                {"name": "ECSIM_VERSION", "value": version},
                {"name": "ECSIM_START_DELAY_MS", "value": start_delay_ms.to_string()}]}]
        }),
    );
}

/// (live, running, pending task ids of revision 2, running ids of revision 2) of the service.
fn census(engine: &Engine) -> (usize, usize, Vec<String>, usize) {
    let world = engine.world(ACCOUNT, REGION).expect("world");
    let cluster = &world.ecs.clusters["demo"];
    let (mut live, mut running, mut pending_v2, mut running_v2) = (0, 0, Vec::new(), 0);
    for t in cluster.tasks_of_service("web") {
        if !t.is_live() {
            continue;
        }
        live += 1;
        let v2 = t.task_definition_arn.ends_with(":2");
        if t.status == TaskStatus::Running {
            running += 1;
            running_v2 += usize::from(v2);
        } else if v2 {
            pending_v2.push(t.id.clone());
        }
    }
    (live, running, pending_v2, running_v2)
}

fn stable(engine: &Engine, desired: usize) -> bool {
    let world = engine.world(ACCOUNT, REGION).expect("world");
    let svc = &world.ecs.clusters["demo"].services["web"];
    let (_, running, _, _) = census(engine);
    svc.deployments.len() == 1
        && running == desired
        && svc.deployments[0].rollout_state == ecsim_api::ecs::DeploymentRolloutState::Completed
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    #[test]
    fn bounds_hold_through_failures(
        seed in any::<u64>(),
        desired in 1usize..8,
        (min_pct, max_pct) in prop_oneof![Just((100u32, 200u32)), Just((50, 100)), Just((50, 150)), Just((0, 100)), Just((100, 150))],
        start_delay_ms in 0u64..1500,
        kills in proptest::collection::vec((0u64..20_000, any::<prop::sample::Index>()), 0..12),
    ) {
        let upper = (desired * max_pct as usize / 100).max(1);
        let lower = (desired * min_pct as usize).div_ceil(100);
        // Bounds that allow neither an extra task nor a stopped one cannot roll (AWS rounds the
        // same way: the deployment would never progress), so they are not a case for this property.
        prop_assume!(upper > desired || lower < desired);
        let mut engine = Engine::new(EngineConfig { seed, ..EngineConfig::default() }, 0);
        let mut now = 1_000;
        call(&mut engine, now, "CreateCluster", json!({"clusterName": "demo"}));
        register(&mut engine, now, "v1", 0);
        call(&mut engine, now, "CreateService", json!({
            "cluster": "demo", "serviceName": "web", "taskDefinition": "web:1", "desiredCount": desired,
            "launchType": "FARGATE",
            "networkConfiguration": {"awsvpcConfiguration": {"subnets": ["subnet-0ec5100000000000a", "subnet-0ec5100000000000b", "subnet-0ec5100000000000c"]}},
            "deploymentConfiguration": {"minimumHealthyPercent": min_pct, "maximumPercent": max_pct}
        }));
        while !stable(&engine, desired) {
            now += STEP_MS;
            engine.advance_to(now);
            prop_assert!(now < 120_000, "the first deployment settles");
        }
        register(&mut engine, now, "v2", start_delay_ms);
        call(&mut engine, now, "UpdateService", json!({"cluster": "demo", "service": "web", "taskDefinition": "web:2"}));
        let started = now;
        let mut kills = kills;
        kills.sort_by_key(|k| k.0);
        let mut kills = kills.into_iter().peekable();
        loop {
            now += STEP_MS;
            engine.advance_to(now);
            // Random failures: new-revision tasks that have not started yet are stopped.
            while kills.peek().is_some_and(|k| started + k.0 <= now) {
                let (_, index) = kills.next().expect("peeked");
                let (_, _, pending, _) = census(&engine);
                if !pending.is_empty() {
                    let id = pending[index.index(pending.len())].clone();
                    call(&mut engine, now, "StopTask", json!({"cluster": "demo", "task": id, "reason": "injected failure"}));
                }
            }
            let (live, running, _, running_v2) = census(&engine);
            prop_assert!(live <= upper, "{live} live tasks exceed maximumPercent {max_pct} of {desired} at {now}");
            prop_assert!(running >= lower, "{running} RUNNING tasks fall below minimumHealthyPercent {min_pct} of {desired} at {now}");
            if kills.peek().is_none() && stable(&engine, desired) {
                prop_assert_eq!(running_v2, desired, "ends on the new revision");
                break;
            }
            prop_assert!(now < started + 600_000, "the update finishes");
        }
    }
}
