//! CloudWatch alarms on data ecsim really produced: simulated traffic through a load balancer
//! emits AWS/ApplicationELB metrics, a fault makes the targets answer 5xx, the alarm fires within
//! its periods on the virtual clock, and an ECS rolling deployment watching it rolls back.

use std::time::Duration;

use aws_sdk_cloudwatch::types::{ComparisonOperator, Dimension, StateValue, Statistic};
use aws_sdk_ecs::client::Waiters;
use aws_sdk_ecs::types::{DeploymentAlarms, DeploymentConfiguration, ServiceDeploymentStatus};
use ecsim::ClockMode;
use reqwest::Method;
use serde_json::json;

use crate::common::{self, Env, fargate_task_definition};
use crate::ecs_load_balancing::{admin, lb_and_group, service};

/// `app/<name>/<id>` and `targetgroup/<name>/<id>`: the dimension values ALB metrics carry.
async fn dimensions(env: &Env, tg_arn: &str) -> (String, String, String) {
    let lb = env
        .elb
        .describe_load_balancers()
        .send()
        .await
        .unwrap()
        .load_balancers()[0]
        .clone();
    let lb_arn = lb.load_balancer_arn().unwrap();
    let lb_dimension = lb_arn.split_once(":loadbalancer/").unwrap().1.to_string();
    let tg_dimension = tg_arn.rsplit_once(':').unwrap().1.to_string();
    (lb_dimension, tg_dimension, lb.dns_name().unwrap().to_string())
}

async fn target_5xx_alarm(env: &Env, name: &str, lb: &str, tg: &str) {
    env.cw
        .put_metric_alarm()
        .alarm_name(name)
        .namespace("AWS/ApplicationELB")
        .metric_name("HTTPCode_Target_5XX_Count")
        .dimensions(Dimension::builder().name("TargetGroup").value(tg).build())
        .dimensions(Dimension::builder().name("LoadBalancer").value(lb).build())
        .statistic(Statistic::Sum)
        .period(60)
        .evaluation_periods(2)
        .datapoints_to_alarm(2)
        .threshold(100.0)
        .comparison_operator(ComparisonOperator::GreaterThanThreshold)
        .treat_missing_data("notBreaching")
        .send()
        .await
        .expect("PutMetricAlarm");
}

/// Three v1 tasks behind a load balancer, stable, and the `web-5xx` alarm on their target group:
/// (target group ARN, LoadBalancer dimension, TargetGroup dimension, DNS name).
async fn web_behind_alarm(env: &Env) -> (String, String, String, String) {
    let (_listener, tg) = lb_and_group(env, "web", 0).await;
    service(env, "web", &tg, &[("ECSIM_VERSION", "v1")], None).await;
    env.ecs
        .wait_until_services_stable()
        .cluster("lb")
        .services("web")
        .wait(Duration::from_secs(900))
        .await
        .expect("stable");
    let (lb_dim, tg_dim, dns) = dimensions(env, &tg).await;
    target_5xx_alarm(env, "web-5xx", &lb_dim, &tg_dim).await;
    (tg, lb_dim, tg_dim, dns)
}

async fn state(env: &Env, name: &str) -> StateValue {
    env.cw
        .describe_alarms()
        .alarm_names(name)
        .send()
        .await
        .unwrap()
        .metric_alarms()[0]
        .state_value()
        .cloned()
        .unwrap()
}

#[tokio::test]
async fn injected_5xx_drive_the_target_5xx_metric_and_fire_the_alarm_in_its_periods() {
    let env = common::start(ClockMode::Virtual).await;
    let (tg, lb_dim, tg_dim, dns) = web_behind_alarm(&env).await;
    let (status, started) = admin(
        &env,
        Method::POST,
        "/_ecsim/traffic",
        Some(json!({"loadBalancer": dns, "requestsPerSecond": 50, "durationSeconds": 600})),
    )
    .await;
    assert_eq!(status, 200, "{started}");
    env.clock().advance(Duration::from_secs(180));
    assert_eq!(state(&env, "web-5xx").await, StateValue::Ok, "healthy traffic");

    let (status, fault) = admin(
        &env,
        Method::POST,
        "/_ecsim/faults",
        Some(json!({"type": "errorRate", "targetGroupArn": tg, "errorRatePct": 20})),
    )
    .await;
    assert!(status == 200 || status == 201, "{fault}");
    // The fault starts mid-minute; a full minute later one period breaches, the next makes 2 of 2.
    env.clock().advance(Duration::from_secs(60));
    assert_eq!(
        state(&env, "web-5xx").await,
        StateValue::Ok,
        "one breaching period of two"
    );
    env.clock().advance(Duration::from_secs(120));
    assert_eq!(state(&env, "web-5xx").await, StateValue::Alarm);

    // The alarm judged what the traffic really produced: CloudWatch's sum over the run equals
    // the 500s the run counted.
    let now = env.clock().now_ms();
    let stats = env
        .cw
        .get_metric_statistics()
        .namespace("AWS/ApplicationELB")
        .metric_name("HTTPCode_Target_5XX_Count")
        .dimensions(Dimension::builder().name("TargetGroup").value(&tg_dim).build())
        .dimensions(Dimension::builder().name("LoadBalancer").value(&lb_dim).build())
        .start_time(aws_sdk_cloudwatch::primitives::DateTime::from_millis(
            (now - 3_600_000) as i64,
        ))
        .end_time(aws_sdk_cloudwatch::primitives::DateTime::from_millis(
            (now + 60_000) as i64,
        ))
        .period(3_600)
        .statistics(Statistic::Sum)
        .send()
        .await
        .unwrap();
    let stored: f64 = stats.datapoints().iter().filter_map(|d| d.sum()).sum();
    let (_, listing) = admin(&env, Method::GET, "/_ecsim/traffic", None).await;
    let errors = listing["traffic"][0]["statuses"]["500"].as_f64().unwrap_or(0.0);
    assert!(errors > 0.0, "{listing}");
    assert!(
        stored > 0.0 && stored <= errors,
        "only ended minutes are stored: stored {stored}, sent {errors}"
    );
    let reason = env
        .cw
        .describe_alarms()
        .alarm_names("web-5xx")
        .send()
        .await
        .unwrap()
        .metric_alarms()[0]
        .state_reason()
        .unwrap()
        .to_string();
    assert!(
        reason.starts_with("Threshold Crossed: 2 out of the last 2 datapoints"),
        "{reason}"
    );
}

#[tokio::test]
async fn a_rolling_deployment_watching_the_5xx_alarm_rolls_back_when_it_fires() {
    let env = common::start(ClockMode::Virtual).await;
    let (_, _, _, dns) = web_behind_alarm(&env).await;
    env.ecs
        .update_service()
        .cluster("lb")
        .service("web")
        .deployment_configuration(
            DeploymentConfiguration::builder()
                .alarms(
                    DeploymentAlarms::builder()
                        .alarm_names("web-5xx")
                        .enable(true)
                        .rollback(true)
                        .build()
                        .unwrap(),
                )
                .bake_time_in_minutes(10)
                .build(),
        )
        .send()
        .await
        .unwrap();
    let (status, started) = admin(
        &env,
        Method::POST,
        "/_ecsim/traffic",
        Some(json!({"loadBalancer": dns, "requestsPerSecond": 100, "durationSeconds": 1800})),
    )
    .await;
    assert_eq!(status, 200, "{started}");
    env.clock().advance(Duration::from_secs(120));
    assert_eq!(state(&env, "web-5xx").await, StateValue::Ok);

    // v2 answers half of its requests with 500.
    fargate_task_definition(
        &env.ecs,
        "web",
        &[("ECSIM_VERSION", "v2"), ("ECSIM_ERROR_RATE", "0.5")],
    )
    .send()
    .await
    .unwrap();
    env.ecs
        .update_service()
        .cluster("lb")
        .service("web")
        .task_definition("web:2")
        .send()
        .await
        .unwrap();
    // Roll out, then the alarm fires inside the bake; ECS rolls back to v1 (and, with v2 gone,
    // the alarm returns to OK: only its history shows it fired).
    env.clock().advance(Duration::from_secs(600));
    let history = env
        .cw
        .describe_alarm_history()
        .alarm_name("web-5xx")
        .history_item_type(aws_sdk_cloudwatch::types::HistoryItemType::StateUpdate)
        .scan_by(aws_sdk_cloudwatch::types::ScanBy::TimestampAscending)
        .send()
        .await
        .unwrap();
    let summaries: Vec<&str> = history
        .alarm_history_items()
        .iter()
        .filter_map(|h| h.history_summary())
        .collect();
    assert!(
        summaries.contains(&"Alarm updated from OK to ALARM"),
        "the alarm fired: {summaries:?}"
    );
    env.ecs
        .wait_until_services_stable()
        .cluster("lb")
        .services("web")
        .wait(Duration::from_secs(900))
        .await
        .expect("stable after rollback");
    let s = env
        .ecs
        .describe_services()
        .cluster("lb")
        .services("web")
        .send()
        .await
        .unwrap()
        .services()[0]
        .clone();
    assert!(
        s.task_definition().unwrap().ends_with("web:1"),
        "rolled back: {:?}",
        s.task_definition()
    );
    let history = env
        .ecs
        .list_service_deployments()
        .cluster("lb")
        .service("web")
        .send()
        .await
        .unwrap();
    let arns: Vec<String> = history
        .service_deployments()
        .iter()
        .filter_map(|d| d.service_deployment_arn().map(String::from))
        .collect();
    let described = env
        .ecs
        .describe_service_deployments()
        .set_service_deployment_arns(Some(arns))
        .send()
        .await
        .unwrap();
    let stopped_by_alarm = described
        .service_deployments()
        .iter()
        .find(|d| {
            d.alarms()
                .is_some_and(|a| a.triggered_alarm_names().iter().any(|n| n == "web-5xx"))
        })
        .unwrap_or_else(|| panic!("the deployment records the alarm that stopped it: {described:?}"));
    assert_eq!(
        stopped_by_alarm.status(),
        Some(&ServiceDeploymentStatus::RollbackSuccessful)
    );
}
