//! The fault API (`/_ecsim/faults`) end to end on the virtual clock with simulated tasks behind an
//! ALB: error rates seen by simulated traffic and the 5XX metric, failing health checks, an AZ
//! outage and its recovery, scheduled faults and the event log, stopping and crashing tasks,
//! forced alarm states, and bad input refused without a partial fault.

use std::time::Duration;

use aws_sdk_cloudwatch::types::{ComparisonOperator, StateValue, Statistic};
use aws_sdk_ecs::client::Waiters;
use aws_sdk_ecs::types::{DesiredStatus, TaskStopCode};
use aws_sdk_elasticloadbalancingv2::types::TargetHealthStateEnum;
use ecsim::ClockMode;
use reqwest::Method;
use serde_json::{Value, json};

use crate::common::{self, Env};
use crate::ecs_load_balancing::{admin, lb_and_group, service};

/// A three-task service `name` (one task per AZ a, b, c) behind a fresh ALB, stable and with
/// healthy targets. Returns the target group ARN and the load balancer's DNS name.
async fn stable_service(env: &Env, name: &str, grace_s: Option<i32>) -> (String, String) {
    let (_, tg) = lb_and_group(env, name, 0).await;
    service(env, name, &tg, &[], grace_s).await;
    env.ecs
        .wait_until_services_stable()
        .cluster("lb")
        .services(name)
        .wait(Duration::from_secs(900))
        .await
        .expect("stable");
    env.clock().advance(Duration::from_secs(30));
    let dns = env
        .elb
        .describe_load_balancers()
        .names(name)
        .send()
        .await
        .expect("DescribeLoadBalancers")
        .load_balancers()[0]
        .dns_name()
        .expect("DNS name")
        .to_string();
    (tg, dns)
}

/// (target id, state, description) of every target of `tg`.
async fn target_health(env: &Env, tg: &str) -> Vec<(String, TargetHealthStateEnum, String)> {
    let health = env
        .elb
        .describe_target_health()
        .target_group_arn(tg)
        .send()
        .await
        .expect("DescribeTargetHealth");
    health
        .target_health_descriptions()
        .iter()
        .map(|d| {
            let h = d.target_health().expect("health");
            (
                d.target().and_then(|t| t.id()).unwrap_or_default().to_string(),
                h.state().cloned().expect("a state"),
                h.description().unwrap_or_default().to_string(),
            )
        })
        .collect()
}

async fn tasks(env: &Env, status: DesiredStatus) -> Vec<aws_sdk_ecs::types::Task> {
    let listed = env
        .ecs
        .list_tasks()
        .cluster("lb")
        .desired_status(status)
        .send()
        .await
        .expect("ListTasks");
    if listed.task_arns().is_empty() {
        return Vec::new();
    }
    env.ecs
        .describe_tasks()
        .cluster("lb")
        .set_tasks(Some(listed.task_arns().to_vec()))
        .send()
        .await
        .expect("DescribeTasks")
        .tasks()
        .to_vec()
}

fn private_ip(t: &aws_sdk_ecs::types::Task) -> String {
    t.containers()[0].network_interfaces()[0]
        .private_ipv4_address()
        .expect("an IP")
        .to_string()
}

async fn inject(env: &Env, spec: Value) -> Value {
    let (status, body) = admin(env, Method::POST, "/_ecsim/faults", Some(spec.clone())).await;
    assert_eq!(status, 201, "{spec} → {body}");
    body
}

fn target_group_dimension(tg: &str, name: &str) -> String {
    format!(
        "targetgroup/{name}-tg/{}",
        tg.rsplit('/').next().unwrap_or_default()
    )
}

#[tokio::test]
async fn an_error_rate_on_a_target_group_shows_in_simulated_traffic_and_the_5xx_metric() {
    let env = common::start(ClockMode::Virtual).await;
    let (tg, dns) = stable_service(&env, "flaky", None).await;
    let fault = inject(
        &env,
        json!({"type": "errorRate", "targetGroupArn": tg, "errorRatePct": 100, "statusCode": 503}),
    )
    .await;
    assert_eq!(fault["faultId"], "fault-1");
    assert_eq!(fault["status"], "active");
    let (status, started) = admin(
        &env,
        Method::POST,
        "/_ecsim/traffic",
        Some(json!({"loadBalancer": dns, "requestsPerSecond": 10, "durationSeconds": 10})),
    )
    .await;
    assert_eq!(status, 200, "{started}");
    env.clock().advance(Duration::from_secs(70));
    let (_, listing) = admin(&env, Method::GET, "/_ecsim/traffic", None).await;
    let run = &listing["traffic"][0];
    assert_eq!(run["sent"], 100, "{run}");
    assert_eq!(run["statuses"]["503"], 100, "every answer is the fault's: {run}");

    let (_, metrics) = admin(
        &env,
        Method::GET,
        "/_ecsim/metrics?namespace=AWS/ApplicationELB&metricName=HTTPCode_Target_5XX_Count",
        None,
    )
    .await;
    let dimension = target_group_dimension(&tg, "flaky");
    let target_5xx: f64 = metrics["metrics"]
        .as_array()
        .expect("metrics")
        .iter()
        .filter(|m| {
            m["Dimensions"].as_array().map(Vec::len) == Some(2)
                && m["Dimensions"][0]["Value"] == dimension.as_str()
        })
        .filter_map(|m| m["Sum"].as_f64())
        .sum();
    assert_eq!(target_5xx, 100.0, "{metrics}");

    // Cancelled, the group answers 200 again.
    let (status, ended) = admin(&env, Method::DELETE, "/_ecsim/faults/fault-1", None).await;
    assert_eq!(status, 200, "{ended}");
    assert_eq!(ended["status"], "cancelled");
    let (status, again) = admin(&env, Method::DELETE, "/_ecsim/faults/fault-1", None).await;
    assert_eq!(
        (status, again["error"].as_str()),
        (409, Some("Conflict")),
        "{again}"
    );
    admin(
        &env,
        Method::POST,
        "/_ecsim/traffic",
        Some(json!({"loadBalancer": dns, "requestsPerSecond": 10, "durationSeconds": 5})),
    )
    .await;
    env.clock().advance(Duration::from_secs(10));
    let (_, listing) = admin(&env, Method::GET, "/_ecsim/traffic", None).await;
    assert_eq!(listing["traffic"][1]["statuses"]["200"], 50, "{listing}");
}

#[tokio::test]
async fn failing_health_checks_make_a_target_unhealthy_and_the_service_replaces_its_task() {
    let env = common::start(ClockMode::Virtual).await;
    // A grace period keeps the unhealthy target registered long enough to look at.
    let (tg, _) = stable_service(&env, "sick", Some(120)).await;
    let running = tasks(&env, DesiredStatus::Running).await;
    assert_eq!(running.len(), 3);
    let victim = &running[0];
    let victim_ip = private_ip(victim);
    inject(
        &env,
        json!({"type": "failHealthChecks", "cluster": "lb", "task": victim.task_arn().unwrap()}),
    )
    .await;
    // Two failed checks 5 s apart (the unhealthy threshold).
    env.clock().advance(Duration::from_secs(11));
    let rows = target_health(&env, &tg).await;
    let (_, state, description) = rows.iter().find(|r| r.0 == victim_ip).expect("the target");
    assert_eq!(state, &TargetHealthStateEnum::Unhealthy, "{rows:?}");
    assert!(description.contains("(fault fault-1)"), "{description}");
    assert!(
        rows.iter()
            .filter(|r| r.0 != victim_ip)
            .all(|r| r.1 == TargetHealthStateEnum::Healthy),
        "{rows:?}"
    );
    env.clock().advance(Duration::from_secs(150));
    let stopped = tasks(&env, DesiredStatus::Stopped).await;
    let replaced = stopped
        .iter()
        .find(|t| t.task_arn() == victim.task_arn())
        .expect("the task was replaced");
    assert_eq!(
        replaced.stopped_reason().unwrap_or_default(),
        format!("Task failed ELB health checks in (target-group {tg})")
    );
    assert_eq!(tasks(&env, DesiredStatus::Running).await.len(), 3);
}

#[tokio::test]
async fn an_az_outage_fails_its_targets_keeps_new_tasks_out_and_recovers() {
    let env = common::start(ClockMode::Virtual).await;
    let (tg, _) = stable_service(&env, "zonal", Some(120)).await;
    let running = tasks(&env, DesiredStatus::Running).await;
    let in_a = running
        .iter()
        .find(|t| t.availability_zone() == Some("us-east-1a"))
        .expect("a task in us-east-1a")
        .clone();
    let ip_a = private_ip(&in_a);
    inject(
        &env,
        json!({"type": "azOutage", "availabilityZone": "us-east-1a"}),
    )
    .await;
    env.clock().advance(Duration::from_secs(11));
    let rows = target_health(&env, &tg).await;
    let row = rows.iter().find(|r| r.0 == ip_a).expect("the target in 1a");
    assert_eq!(row.1, TargetHealthStateEnum::Unhealthy, "{rows:?}");
    assert!(row.2.contains("us-east-1a is down"), "{row:?}");
    // The service replaces the unhealthy task after the grace period; the replacement avoids
    // the zone.
    env.clock().advance(Duration::from_secs(150));
    let running = tasks(&env, DesiredStatus::Running).await;
    let described: Vec<_> = running
        .iter()
        .map(|t| (t.availability_zone(), t.last_status(), t.health_status()))
        .collect();
    assert_eq!(
        running.len(),
        3,
        "{described:?} {:?}",
        target_health(&env, &tg).await
    );
    assert!(
        running
            .iter()
            .all(|t| t.availability_zone() != Some("us-east-1a")),
        "{:?}",
        running.iter().map(|t| t.availability_zone()).collect::<Vec<_>>()
    );
    let recovery = inject(
        &env,
        json!({"type": "azRecovery", "availabilityZone": "us-east-1a"}),
    )
    .await;
    assert_eq!(recovery["status"], "applied");
    let (_, outage) = admin(&env, Method::GET, "/_ecsim/faults/fault-1", None).await;
    assert_eq!(outage["status"], "ended", "{outage}");
    env.clock().advance(Duration::from_secs(30));
    assert!(
        target_health(&env, &tg)
            .await
            .iter()
            .all(|r| r.1 == TargetHealthStateEnum::Healthy)
    );
}

#[tokio::test]
async fn a_scheduled_fault_applies_at_its_virtual_time_and_the_log_shows_its_life() {
    let env = common::start(ClockMode::Virtual).await;
    let (tg, _) = stable_service(&env, "later", None).await;
    let now_ms = env.clock().now_ms();
    let fault = inject(
        &env,
        json!({"type": "latency", "targetGroupArn": tg, "latencyMs": 250, "at": now_ms + 10_000, "durationSeconds": 20}),
    )
    .await;
    assert_eq!(fault["status"], "scheduled");
    assert_eq!(fault["applyAtMs"], now_ms + 10_000);
    env.clock().advance(Duration::from_secs(10));
    let (_, active) = admin(&env, Method::GET, "/_ecsim/faults/fault-1", None).await;
    assert_eq!(active["status"], "active", "{active}");
    env.clock().advance(Duration::from_secs(20));
    let (_, ended) = admin(&env, Method::GET, "/_ecsim/faults/fault-1", None).await;
    assert_eq!(ended["status"], "ended", "{ended}");
    let (_, log) = admin(&env, Method::GET, "/_ecsim/faults/events", None).await;
    let lines: Vec<(u64, &str)> = log["events"]
        .as_array()
        .expect("events")
        .iter()
        .map(|e| (e["atMs"].as_u64().unwrap(), e["event"].as_str().unwrap()))
        .collect();
    assert_eq!(
        lines,
        vec![
            (now_ms, "scheduled"),
            (now_ms + 10_000, "applied"),
            (now_ms + 30_000, "ended")
        ],
        "{log}"
    );
}

#[tokio::test]
async fn stop_and_crash_faults_stop_tasks_as_ecs_would_and_the_service_replaces_them() {
    let env = common::start(ClockMode::Virtual).await;
    stable_service(&env, "fragile", None).await;
    let running = tasks(&env, DesiredStatus::Running).await;
    let (crashed, stopped) = (running[0].task_arn().unwrap(), running[1].task_arn().unwrap());
    inject(
        &env,
        json!({"type": "crashTask", "cluster": "lb", "task": crashed, "exitCode": 3}),
    )
    .await;
    inject(
        &env,
        json!({"type": "stopTask", "cluster": "lb", "task": stopped, "reason": "chaos monkey"}),
    )
    .await;
    env.clock().advance(Duration::from_secs(60));
    let gone = tasks(&env, DesiredStatus::Stopped).await;
    let c = gone
        .iter()
        .find(|t| t.task_arn() == Some(crashed))
        .expect("crashed");
    assert_eq!(c.last_status(), Some("STOPPED"));
    assert_eq!(c.stop_code(), Some(&TaskStopCode::EssentialContainerExited));
    assert_eq!(c.containers()[0].exit_code(), Some(3));
    let s = gone
        .iter()
        .find(|t| t.task_arn() == Some(stopped))
        .expect("stopped");
    assert_eq!(s.stop_code(), Some(&TaskStopCode::UserInitiated));
    assert_eq!(s.stopped_reason(), Some("chaos monkey"));
    assert_eq!(
        tasks(&env, DesiredStatus::Running).await.len(),
        3,
        "replacements run"
    );
    // A stopped task cannot be stopped again.
    let (status, refused) = admin(
        &env,
        Method::POST,
        "/_ecsim/faults",
        Some(json!({"type": "stopTask", "cluster": "lb", "task": stopped})),
    )
    .await;
    assert_eq!(status, 400, "{refused}");
}

#[tokio::test]
async fn an_alarm_state_fault_forces_the_alarm() {
    let env = common::start(ClockMode::Virtual).await;
    env.cw
        .put_metric_alarm()
        .alarm_name("latency-high")
        .namespace("App")
        .metric_name("Latency")
        .statistic(Statistic::Average)
        .period(60)
        .evaluation_periods(1)
        .threshold(1.0)
        .comparison_operator(ComparisonOperator::GreaterThanThreshold)
        .send()
        .await
        .expect("PutMetricAlarm");
    let fault = inject(
        &env,
        json!({"type": "alarmState", "alarmName": "latency-high", "state": "ALARM", "reason": "drill"}),
    )
    .await;
    assert_eq!(fault["status"], "applied", "{fault}");
    let alarms = env
        .cw
        .describe_alarms()
        .alarm_names("latency-high")
        .send()
        .await
        .expect("DescribeAlarms");
    let alarm = &alarms.metric_alarms()[0];
    assert_eq!(alarm.state_value(), Some(&StateValue::Alarm));
    assert_eq!(alarm.state_reason(), Some("drill"));
}

#[tokio::test]
async fn bad_fault_requests_are_400_and_change_nothing() {
    let env = common::start(ClockMode::Virtual).await;
    let (tg, _) = stable_service(&env, "strict", None).await;
    let (_, before) = admin(&env, Method::GET, "/_ecsim/faults", None).await;
    for spec in [
        json!({"type": "errorRate", "targetGroupArn": tg, "errorRatePct": 150}),
        json!({"type": "errorRate", "targetGroupArn": tg, "errorRatePct": 10, "bogus": 1}),
        json!({"type": "latency", "targetGroupArn": format!("{tg}-missing"), "latencyMs": 10}),
        json!({"type": "latency", "targetGroupArn": tg, "latencyMs": "10"}),
        json!({"type": "stopTask", "cluster": "lb", "task": "0123456789abcdef"}),
        json!({"type": "azOutage", "availabilityZone": "eu-west-1a"}),
        json!({"type": "alarmState", "alarmName": "none", "state": "ALARM"}),
        json!({"type": "teleport"}),
        json!([1, 2]),
    ] {
        let (status, body) = admin(&env, Method::POST, "/_ecsim/faults", Some(spec.clone())).await;
        assert_eq!(status, 400, "{spec}: {body}");
        assert_eq!(body["error"], "ValidationError", "{body}");
        assert!(body["message"].as_str().is_some_and(|m| !m.is_empty()), "{body}");
    }
    let (_, after) = admin(&env, Method::GET, "/_ecsim/faults", None).await;
    assert_eq!(before, after);
    assert_eq!(after["faults"], json!([]));
    let (status, _) = admin(&env, Method::GET, "/_ecsim/faults/fault-1", None).await;
    assert_eq!(status, 404);
    let (_, log) = admin(&env, Method::GET, "/_ecsim/faults/events", None).await;
    assert_eq!(log["events"], json!([]));
}
