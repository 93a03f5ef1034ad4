//! Fault validation (every bad input is refused and changes nothing) and the fault lifecycle on
//! the engine's clock: scheduled → applied → ended, cancellation, AZ outage and recovery.

use serde_json::{Value, json};

use crate::engine::{Engine, EngineConfig};

const T0: u64 = 1_767_225_600_000;

fn engine() -> Engine {
    Engine::new(EngineConfig::default(), T0)
}

fn fault_count(e: &Engine) -> usize {
    e.faults()["faults"].as_array().map_or(0, Vec::len)
}

fn events(e: &Engine) -> Vec<(String, String)> {
    e.fault_events(100)["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| {
            (
                v["faultId"].as_str().unwrap().to_string(),
                v["event"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

#[test]
fn bad_inputs_are_refused_and_change_nothing() {
    let mut e = engine();
    let cases: Vec<(Value, &str)> = vec![
        (json!("stopTask"), "JSON object"),
        (json!({}), "type is required"),
        (json!({"type": "explode"}), "unknown fault type"),
        (json!({"type": 3}), "type must be"),
        (
            json!({"type": "stopTask", "task": "abc", "color": "red"}),
            "unknown field 'color'",
        ),
        (json!({"type": "stopTask"}), "task is required"),
        (
            json!({"type": "stopTask", "task": "abc"}),
            "cluster default does not exist",
        ),
        (
            json!({"type": "stopTask", "task": 5}),
            "task must be a non-empty string",
        ),
        (
            json!({"type": "crashTask", "task": "abc", "exitCode": 0}),
            "exitCode",
        ),
        (
            json!({"type": "crashTask", "task": "abc", "exitCode": "1"}),
            "exitCode must be an integer",
        ),
        (
            json!({"type": "latency", "targetGroupArn": "arn:x"}),
            "latencyMs is required",
        ),
        (
            json!({"type": "latency", "latencyMs": 0, "targetGroupArn": "arn:x"}),
            "latencyMs must be between",
        ),
        (
            json!({"type": "latency", "latencyMs": 10}),
            "name what the fault applies to",
        ),
        (
            json!({"type": "latency", "latencyMs": 10, "targetGroupArn": "arn:x", "taskDefinitionArn": "web:1"}),
            "exactly one of",
        ),
        (
            json!({"type": "latency", "latencyMs": 10, "targetGroupArn": "arn:x"}),
            "target group arn:x does not exist",
        ),
        (
            json!({"type": "errorRate", "errorRatePct": 101, "targetGroupArn": "arn:x"}),
            "errorRatePct must be between",
        ),
        (
            json!({"type": "errorRate", "errorRatePct": 50, "statusCode": 200, "targetGroupArn": "arn:x"}),
            "statusCode must be",
        ),
        (
            json!({"type": "errorRate", "errorRatePct": 50, "taskDefinitionArn": "web:1"}),
            "task definition web:1",
        ),
        (
            json!({"type": "failHealthChecks", "targetGroupArn": ""}),
            "non-empty string",
        ),
        (json!({"type": "azOutage"}), "availabilityZone is required"),
        (
            json!({"type": "azOutage", "availabilityZone": "us-east-1z"}),
            "does not exist",
        ),
        (
            json!({"type": "azOutage", "availabilityZone": "us-east-1a", "at": 5}),
            "in the past",
        ),
        (
            json!({"type": "azOutage", "availabilityZone": "us-east-1a", "at": T0 + 5, "afterSeconds": 1}),
            "at most one of at and afterSeconds",
        ),
        (
            json!({"type": "azOutage", "availabilityZone": "us-east-1a", "afterSeconds": -1}),
            "afterSeconds",
        ),
        (
            json!({"type": "azOutage", "availabilityZone": "us-east-1a", "durationSeconds": 0}),
            "durationSeconds",
        ),
        (
            json!({"type": "azRecovery", "availabilityZone": "us-east-1a", "durationSeconds": 5}),
            "durationSeconds applies",
        ),
        (
            json!({"type": "azOutage", "availabilityZone": "us-east-1a", "region": "mars"}),
            "region 'mars'",
        ),
        (
            json!({"type": "azOutage", "availabilityZone": "us-east-1a", "accountId": "12"}),
            "twelve-digit",
        ),
        (
            json!({"type": "alarmState", "alarmName": "a", "state": "RED"}),
            "must be OK, ALARM or INSUFFICIENT_DATA",
        ),
        (
            json!({"type": "alarmState", "alarmName": "nope", "state": "ALARM"}),
            "alarm nope does not exist",
        ),
    ];
    for (spec, expected) in cases {
        let err = e.inject_fault(spec.clone()).expect_err(&spec.to_string());
        assert!(err.contains(expected), "{spec}: {err}");
    }
    assert_eq!(fault_count(&e), 0);
    assert!(events(&e).is_empty());
    assert!(e.worlds().is_empty(), "validation created no world");
    assert_eq!(e.next_deadline(), None, "nothing was scheduled");
}

#[test]
fn an_outage_refuses_placement_until_recovery() {
    let mut e = engine();
    let view = e
        .inject_fault(json!({"type": "azOutage", "availabilityZone": "use1-az1"}))
        .unwrap();
    assert_eq!(view["faultId"], "fault-1");
    assert_eq!(view["status"], "active");
    let world = e.world("000000000000", "us-east-1").unwrap();
    assert_eq!(world.faults.zone_down("us-east-1a"), Some("fault-1"));
    assert!(crate::faults::zone_refusal(world, "us-east-1a").is_some());
    let mut world = world.clone();
    let subnets = vec![
        crate::network::default_subnet_id("a"),
        crate::network::default_subnet_id("b"),
    ];
    let mut load = std::collections::BTreeMap::new();
    for _ in 0..4 {
        let placed = crate::ecs::placement::place_awsvpc(&mut world, &subnets, &mut load).unwrap();
        assert_eq!(placed.availability_zone, "us-east-1b");
    }
    let only_a = vec![crate::network::default_subnet_id("a")];
    let err = crate::ecs::placement::place_awsvpc(&mut world, &only_a, &mut load).unwrap_err();
    assert!(
        err.message
            .contains("availability zone us-east-1a is down (fault fault-1)"),
        "{}",
        err.message
    );

    // A second outage of the same zone is refused; a recovery ends the first.
    assert!(
        e.inject_fault(json!({"type": "azOutage", "availabilityZone": "us-east-1a"}))
            .unwrap_err()
            .contains("already down")
    );
    let recovery = e
        .inject_fault(json!({"type": "azRecovery", "availabilityZone": "us-east-1a"}))
        .unwrap();
    assert_eq!(recovery["faultId"], "fault-2");
    assert_eq!(recovery["status"], "applied");
    assert_eq!(e.fault("fault-1").unwrap()["status"], "ended");
    let world = e.world("000000000000", "us-east-1").unwrap();
    assert_eq!(world.faults.zone_down("us-east-1a"), None);
    assert_eq!(
        events(&e),
        vec![
            ("fault-1".into(), "applied".into()),
            ("fault-1".into(), "ended".into()),
            ("fault-2".into(), "applied".into()),
        ]
    );
}

#[test]
fn a_scheduled_fault_applies_at_its_time_and_ends_after_its_duration() {
    let mut e = engine();
    let view = e
        .inject_fault(json!({"type": "azOutage", "availabilityZone": "us-east-1c", "afterSeconds": 30, "durationSeconds": 60}))
        .unwrap();
    assert_eq!(view["status"], "scheduled");
    assert_eq!(view["applyAtMs"], T0 + 30_000);
    e.advance_to(T0 + 29_999);
    assert_eq!(e.fault("fault-1").unwrap()["status"], "scheduled");
    e.advance_to(T0 + 30_000);
    let applied = e.fault("fault-1").unwrap();
    assert_eq!(applied["status"], "active");
    assert_eq!(applied["endsAtMs"], T0 + 90_000);
    e.advance_to(T0 + 90_000);
    assert_eq!(e.fault("fault-1").unwrap()["status"], "ended");
    let log = e.fault_events(100);
    let at: Vec<(u64, &str)> = log["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| (v["atMs"].as_u64().unwrap(), v["event"].as_str().unwrap()))
        .collect();
    assert_eq!(
        at,
        vec![
            (T0, "scheduled"),
            (T0 + 30_000, "applied"),
            (T0 + 90_000, "ended")
        ]
    );
    assert_eq!(e.fault_events(1)["events"].as_array().unwrap().len(), 1);
}

#[test]
fn cancelling_a_scheduled_fault_keeps_it_from_applying() {
    let mut e = engine();
    e.inject_fault(json!({"type": "azOutage", "availabilityZone": "us-east-1a", "at": T0 + 10_000}))
        .unwrap();
    let cancelled = e.cancel_fault("fault-1").unwrap().unwrap();
    assert_eq!(cancelled["status"], "cancelled");
    e.advance_to(T0 + 20_000);
    assert_eq!(e.fault("fault-1").unwrap()["status"], "cancelled");
    assert!(e.cancel_fault("fault-1").unwrap_err().contains("cancelled"));
    assert_eq!(e.cancel_fault("fault-9").unwrap(), None);
    let world = e.world("000000000000", "us-east-1").unwrap();
    assert_eq!(world.faults.zone_down("us-east-1a"), None);
    // A reset forgets faults and their log.
    e.reset();
    assert_eq!(fault_count(&e), 0);
    assert!(events(&e).is_empty());
}
