//! `GET /_ecsim/state`: the whole world as its APIs describe it, in one JSON document.

use std::time::Duration;

use aws_sdk_cloudwatch::primitives::DateTime;
use aws_sdk_cloudwatch::types::{ComparisonOperator, Dimension, Statistic};
use aws_sdk_ecs::client::Waiters;
use ecsim::ClockMode;
use reqwest::Method;
use serde_json::json;

use crate::common;
use crate::ecs_load_balancing::{admin, lb_and_group, service};

#[tokio::test]
async fn the_state_export_describes_services_tasks_load_balancers_alarms_and_faults() {
    let env = common::start(ClockMode::Virtual).await;
    let (_listener, tg) = lb_and_group(&env, "web", 0).await;
    service(
        &env,
        "web",
        &tg,
        &[
            ("ECSIM_VERSION", "v1"),
            ("ECSIM_CPU_PERCENT", "40"),
            ("ECSIM_MEMORY_PERCENT", "25"),
        ],
        None,
    )
    .await;
    env.ecs
        .wait_until_services_stable()
        .cluster("lb")
        .services("web")
        .wait(Duration::from_secs(900))
        .await
        .expect("stable");
    env.cw
        .put_metric_alarm()
        .alarm_name("cpu")
        .namespace("AWS/ECS")
        .metric_name("CPUUtilization")
        .statistic(Statistic::Average)
        .period(60)
        .evaluation_periods(1)
        .threshold(90.0)
        .comparison_operator(ComparisonOperator::GreaterThanThreshold)
        .send()
        .await
        .unwrap();
    let (status, fault) = admin(
        &env,
        Method::POST,
        "/_ecsim/faults",
        Some(json!({"type": "latency", "targetGroupArn": tg, "latencyMs": 100})),
    )
    .await;
    assert_eq!(status, 201, "{fault}");

    // A minute ends: ECS reports the service's utilization from the behaviour model.
    env.clock().advance(Duration::from_secs(65));
    let now = env.clock().now_ms();
    let stats = env
        .cw
        .get_metric_statistics()
        .namespace("AWS/ECS")
        .metric_name("CPUUtilization")
        .dimensions(Dimension::builder().name("ClusterName").value("lb").build())
        .dimensions(Dimension::builder().name("ServiceName").value("web").build())
        .start_time(DateTime::from_millis((now - 600_000) as i64))
        .end_time(DateTime::from_millis(now as i64))
        .period(60)
        .statistics(Statistic::Average)
        .statistics(Statistic::SampleCount)
        .send()
        .await
        .unwrap();
    let point = &stats.datapoints()[0];
    assert_eq!(point.average(), Some(40.0));
    assert_eq!(point.sample_count(), Some(3.0), "one value per running task");
    let running_count = env
        .cw
        .get_metric_statistics()
        .namespace("ECS/ContainerInsights")
        .metric_name("RunningTaskCount")
        .dimensions(Dimension::builder().name("ServiceName").value("web").build())
        .dimensions(Dimension::builder().name("ClusterName").value("lb").build())
        .start_time(DateTime::from_millis((now - 600_000) as i64))
        .end_time(DateTime::from_millis(now as i64))
        .period(60)
        .statistics(Statistic::Maximum)
        .send()
        .await
        .unwrap();
    assert_eq!(running_count.datapoints()[0].maximum(), Some(3.0));

    let (status, state) = admin(&env, Method::GET, "/_ecsim/state", None).await;
    assert_eq!(status, 200, "{state}");
    assert_eq!(state["seed"], 7);
    assert_eq!(state["nowMs"], env.clock().now_ms());
    let world = &state["worlds"][0];
    assert_eq!(world["accountId"], "000000000000");
    assert_eq!(world["region"], "us-east-1");
    let cluster = &world["ecs"]["clusters"][0];
    assert_eq!(cluster["cluster"]["clusterName"], "lb");
    assert_eq!(cluster["services"][0]["serviceName"], "web");
    assert_eq!(cluster["services"][0]["runningCount"], 3);
    let running = cluster["tasks"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|t| t["lastStatus"] == "RUNNING")
        .count();
    assert_eq!(running, 3);
    assert_eq!(world["ecs"]["taskDefinitions"][0]["family"], "web");
    assert_eq!(world["elbv2"]["loadBalancers"][0]["LoadBalancerName"], "web");
    assert_eq!(world["elbv2"]["listeners"][0]["Port"], 80);
    let health = world["elbv2"]["targetHealth"][&tg].as_array().unwrap();
    assert_eq!(health.len(), 3);
    assert!(
        health.iter().all(|h| h["TargetHealth"]["State"] == "healthy"),
        "{health:?}"
    );
    assert_eq!(world["cloudwatch"]["metricAlarms"][0]["AlarmName"], "cpu");
    assert!(
        world["cloudwatch"]["metricSeries"].as_u64().unwrap() > 0,
        "ECS and ELB metrics are stored: {}",
        world["cloudwatch"]
    );
    assert_eq!(world["faults"][0]["type"], "latency");
    assert_eq!(world["faults"][0]["status"], "active");

    // Reading the state changes nothing: a second read is identical.
    let (_, again) = admin(&env, Method::GET, "/_ecsim/state", None).await;
    assert_eq!(state, again);
}
