//! ECS-native BLUE_GREEN, LINEAR and CANARY deployments through the SDK on the virtual clock:
//! production weights on the listener rule at the exact step times, blue kept until the bake
//! ends, lifecycle stages, PAUSE hooks resolved by ContinueServiceDeployment, rollbacks by alarm,
//! circuit breaker, hook and StopServiceDeployment, and validation of the configuration.
//!
//! A PAUSE hook at POST_TEST_TRAFFIC_SHIFT pins the moment the first production shift happens:
//! it happens when ContinueServiceDeployment is called, so every later step time is exact.

use std::time::Duration;

use aws_sdk_cloudwatch::types::{ComparisonOperator, Dimension, Statistic};
use aws_sdk_ecs::client::Waiters;
use aws_sdk_ecs::types::{
    AdvancedConfiguration, CanaryConfiguration, DeploymentAlarms, DeploymentCircuitBreaker,
    DeploymentConfiguration, DeploymentLifecycleHook, DeploymentLifecycleHookAction,
    DeploymentLifecycleHookStage, DeploymentLifecycleHookStatus, DeploymentLifecycleHookTargetType,
    DeploymentStrategy, LinearConfiguration, LoadBalancer, ServiceDeployment,
    ServiceDeploymentLifecycleStage, ServiceDeploymentRollbackMonitorsStatus, ServiceDeploymentStatus,
    StopServiceDeploymentStopType,
};
use aws_sdk_elasticloadbalancingv2::types::{ProtocolEnum, TargetGroupAttribute, TargetTypeEnum};
use ecsim::ClockMode;
use reqwest::Method;
use serde_json::json;

use crate::common::{self, Env, awsvpc, code, default_subnet, fargate_task_definition};
use crate::ecs_load_balancing::{admin, lb_and_group};
use crate::elbv2_api::forward_weighted;

const ROLE: &str = "arn:aws:iam::000000000000:role/ecsInfrastructureRoleForLoadBalancers";

/// The load balancer side of a blue/green service.
struct Lb {
    blue_tg: String,
    green_tg: String,
    production_rule: String,
    test_rule: String,
    dns: String,
}

/// A load balancer whose port-80 listener forwards to `web-tg` (blue) and whose port-8080 test
/// listener forwards to it too, plus `web-green` (green); groups check every 5 s, drain at once.
async fn load_balancer(env: &Env) -> Lb {
    let (listener, blue_tg) = lb_and_group(env, "web", 0).await;
    let green_tg = env
        .elb
        .create_target_group()
        .name("web-green")
        .protocol(ProtocolEnum::Http)
        .port(8080)
        .vpc_id("vpc-0ec5100000000000d")
        .target_type(TargetTypeEnum::Ip)
        .health_check_interval_seconds(5)
        .health_check_timeout_seconds(2)
        .healthy_threshold_count(2)
        .unhealthy_threshold_count(2)
        .send()
        .await
        .expect("CreateTargetGroup")
        .target_groups()[0]
        .target_group_arn()
        .unwrap()
        .to_string();
    env.elb
        .modify_target_group_attributes()
        .target_group_arn(&green_tg)
        .attributes(
            TargetGroupAttribute::builder()
                .key("deregistration_delay.timeout_seconds")
                .value("0")
                .build(),
        )
        .send()
        .await
        .expect("ModifyTargetGroupAttributes");
    let described = env.elb.describe_load_balancers().send().await.unwrap();
    let lb = described.load_balancers()[0].clone();
    let test_listener = env
        .elb
        .create_listener()
        .load_balancer_arn(lb.load_balancer_arn().unwrap())
        .protocol(ProtocolEnum::Http)
        .port(8080)
        .default_actions(forward_weighted(&[(&blue_tg, 1)]))
        .send()
        .await
        .expect("CreateListener")
        .listeners()[0]
        .listener_arn()
        .unwrap()
        .to_string();
    Lb {
        production_rule: default_rule(env, &listener).await,
        test_rule: default_rule(env, &test_listener).await,
        blue_tg,
        green_tg,
        dns: lb.dns_name().unwrap().to_string(),
    }
}

async fn default_rule(env: &Env, listener: &str) -> String {
    env.elb
        .describe_rules()
        .listener_arn(listener)
        .send()
        .await
        .expect("DescribeRules")
        .rules()[0]
        .rule_arn()
        .unwrap()
        .to_string()
}

/// (target group, weight) of a rule's forward action, as DescribeRules shows them.
async fn weights(env: &Env, rule: &str) -> Vec<(String, i32)> {
    let rules = env
        .elb
        .describe_rules()
        .rule_arns(rule)
        .send()
        .await
        .expect("DescribeRules");
    rules.rules()[0].actions()[0]
        .forward_config()
        .expect("a forward action")
        .target_groups()
        .iter()
        .map(|t| (t.target_group_arn().unwrap().to_string(), t.weight().unwrap()))
        .collect()
}

/// [(blue, 100 - green_pct), (green, green_pct)].
fn split(lb: &Lb, green_pct: i32) -> Vec<(String, i32)> {
    vec![
        (lb.blue_tg.clone(), 100 - green_pct),
        (lb.green_tg.clone(), green_pct),
    ]
}

fn pause_at(stage: DeploymentLifecycleHookStage) -> DeploymentLifecycleHook {
    DeploymentLifecycleHook::builder()
        .target_type(DeploymentLifecycleHookTargetType::Pause)
        .lifecycle_stages(stage)
        .build()
}

fn config(
    strategy: DeploymentStrategy,
    bake_min: i32,
) -> aws_sdk_ecs::types::builders::DeploymentConfigurationBuilder {
    DeploymentConfiguration::builder()
        .strategy(strategy)
        .bake_time_in_minutes(bake_min)
}

/// The `web` service (3 tasks of `web:1`, v1) behind `lb` with `configuration`, stable.
async fn service(env: &Env, lb: &Lb, configuration: DeploymentConfiguration) {
    env.ecs.create_cluster().cluster_name("lb").send().await.unwrap();
    fargate_task_definition(&env.ecs, "web", &[("ECSIM_VERSION", "v1")])
        .send()
        .await
        .unwrap();
    env.ecs
        .create_service()
        .cluster("lb")
        .service_name("web")
        .task_definition("web")
        .desired_count(3)
        .launch_type(aws_sdk_ecs::types::LaunchType::Fargate)
        .network_configuration(awsvpc(&[
            default_subnet('a'),
            default_subnet('b'),
            default_subnet('c'),
        ]))
        .load_balancers(
            LoadBalancer::builder()
                .target_group_arn(&lb.blue_tg)
                .container_name("web")
                .container_port(8080)
                .advanced_configuration(
                    AdvancedConfiguration::builder()
                        .alternate_target_group_arn(&lb.green_tg)
                        .production_listener_rule(&lb.production_rule)
                        .test_listener_rule(&lb.test_rule)
                        .role_arn(ROLE)
                        .build(),
                )
                .build(),
        )
        .deployment_configuration(configuration)
        .send()
        .await
        .expect("CreateService");
    wait_stable(env).await;
    // With deployment alarms the first (rolling) deployment bakes before it completes; a
    // deployment started before then would have no completed revision to roll back to.
    until(env, 3600, &mut Vec::new(), |d| {
        d.status() == Some(&ServiceDeploymentStatus::Successful)
    })
    .await;
}

async fn wait_stable(env: &Env) {
    env.ecs
        .wait_until_services_stable()
        .cluster("lb")
        .services("web")
        .wait(Duration::from_secs(1800))
        .await
        .expect("stable");
}

/// Registers `web:2` with `vars` and deploys it.
async fn deploy_v2(env: &Env, vars: &[(&str, &str)]) {
    common::deploy_web_revision(&env.ecs, "lb", "web", "web:2", vars).await;
}

/// The newest service deployment.
async fn latest(env: &Env) -> ServiceDeployment {
    let listed = env
        .ecs
        .list_service_deployments()
        .cluster("lb")
        .service("web")
        .send()
        .await
        .unwrap();
    let arn = listed.service_deployments()[0]
        .service_deployment_arn()
        .unwrap()
        .to_string();
    env.ecs
        .describe_service_deployments()
        .service_deployment_arns(arn)
        .send()
        .await
        .unwrap()
        .service_deployments()[0]
        .clone()
}

fn stage(d: &ServiceDeployment) -> ServiceDeploymentLifecycleStage {
    d.lifecycle_stage().cloned().expect("a lifecycle stage")
}

/// Advances second by second (at most `limit_s`) until `done` holds for the newest deployment;
/// collects the distinct lifecycle stages seen on the way.
async fn until(
    env: &Env,
    limit_s: u32,
    stages: &mut Vec<ServiceDeploymentLifecycleStage>,
    done: impl Fn(&ServiceDeployment) -> bool,
) -> ServiceDeployment {
    for _ in 0..limit_s {
        let d = latest(env).await;
        if let Some(s) = d.lifecycle_stage()
            && stages.last() != Some(s)
        {
            stages.push(s.clone());
        }
        if done(&d) {
            return d;
        }
        env.clock().advance(Duration::from_secs(1));
    }
    panic!("not done after {limit_s} s: {:?}", latest(env).await);
}

fn awaiting(d: &ServiceDeployment) -> bool {
    d.lifecycle_hook_details()
        .iter()
        .any(|h| h.status() == Some(&DeploymentLifecycleHookStatus::AwaitingAction))
}

/// Continues the hook awaiting action; returns the virtual time it was continued at.
async fn continue_paused(env: &Env, d: &ServiceDeployment, action: DeploymentLifecycleHookAction) -> u64 {
    let hook = d
        .lifecycle_hook_details()
        .iter()
        .find(|h| h.status() == Some(&DeploymentLifecycleHookStatus::AwaitingAction))
        .expect("a hook awaiting action");
    env.ecs
        .continue_service_deployment()
        .service_deployment_arn(d.service_deployment_arn().unwrap())
        .hook_id(hook.hook_id().unwrap())
        .action(action)
        .send()
        .await
        .expect("ContinueServiceDeployment");
    env.clock().now_ms()
}

/// Live (desired RUNNING) tasks of the service per task definition revision suffix.
async fn live_tasks(env: &Env, revision: &str) -> usize {
    common::live_task_arns(&env.ecs, "lb", "web", revision)
        .await
        .len()
}

/// Moves the virtual clock to `at_ms` exactly.
fn advance_to(env: &Env, at_ms: u64) {
    let now = env.clock().now_ms();
    assert!(at_ms >= now, "{at_ms} is in the past ({now})");
    env.clock().advance(Duration::from_millis(at_ms - now));
}

#[tokio::test]
async fn blue_green_shifts_all_traffic_at_once_and_keeps_blue_until_the_bake_ends() {
    let env = common::start(ClockMode::Virtual).await;
    let lb = load_balancer(&env).await;
    let configuration = config(DeploymentStrategy::BlueGreen, 5)
        .lifecycle_hooks(pause_at(DeploymentLifecycleHookStage::PostTestTrafficShift))
        .build();
    service(&env, &lb, configuration).await;
    assert_eq!(
        weights(&env, &lb.production_rule).await,
        [(lb.blue_tg.clone(), 1)],
        "untouched by the first deployment"
    );

    deploy_v2(&env, &[("ECSIM_VERSION", "v2")]).await;
    assert_eq!(weights(&env, &lb.production_rule).await, split(&lb, 0));
    let mut stages = Vec::new();
    let paused = until(&env, 600, &mut stages, awaiting).await;
    assert_eq!(
        stage(&paused),
        ServiceDeploymentLifecycleStage::PostTestTrafficShift
    );
    assert_eq!(
        weights(&env, &lb.test_rule).await,
        split(&lb, 100),
        "test traffic is on green"
    );
    assert_eq!(
        weights(&env, &lb.production_rule).await,
        split(&lb, 0),
        "production is still on blue"
    );
    let target = paused.target_service_revision().unwrap();
    assert_eq!(target.running_task_count(), 3, "green scaled to 100% beside blue");
    assert_eq!(target.requested_test_traffic_weight(), Some(100.0));
    assert_eq!(target.requested_production_traffic_weight(), Some(0.0));
    assert_eq!(paused.source_service_revisions()[0].running_task_count(), 3);
    assert_eq!(live_tasks(&env, "web:1").await, 3);

    let shifted_at = continue_paused(&env, &paused, DeploymentLifecycleHookAction::Continue).await;
    assert_eq!(
        weights(&env, &lb.production_rule).await,
        split(&lb, 100),
        "all at once, at once"
    );
    let baking = latest(&env).await;
    assert_eq!(stage(&baking), ServiceDeploymentLifecycleStage::BakeTime);
    assert_eq!(
        baking
            .target_service_revision()
            .unwrap()
            .requested_production_traffic_weight(),
        Some(100.0)
    );
    assert_eq!(
        baking.source_service_revisions()[0].requested_production_traffic_weight(),
        Some(0.0)
    );
    stages.push(stage(&baking));

    advance_to(&env, shifted_at + 5 * 60_000 - 1);
    assert_eq!(
        live_tasks(&env, "web:1").await,
        3,
        "blue runs through the whole bake"
    );
    assert_eq!(
        latest(&env).await.status(),
        Some(&ServiceDeploymentStatus::InProgress)
    );
    advance_to(&env, shifted_at + 5 * 60_000);
    assert_eq!(
        live_tasks(&env, "web:1").await,
        0,
        "CLEAN_UP scales blue in when the bake ends"
    );
    let done = latest(&env).await;
    assert_eq!(done.status(), Some(&ServiceDeploymentStatus::Successful));
    stages.push(stage(&done));
    assert_eq!(
        stages,
        [
            ServiceDeploymentLifecycleStage::ScaleUp,
            ServiceDeploymentLifecycleStage::PostTestTrafficShift,
            ServiceDeploymentLifecycleStage::BakeTime,
            ServiceDeploymentLifecycleStage::CleanUp,
        ]
    );
    assert_eq!(
        done.lifecycle_hook_details()[0].status(),
        Some(&DeploymentLifecycleHookStatus::Succeeded)
    );
    wait_stable(&env).await;
    assert_eq!(live_tasks(&env, "web:2").await, 3);

    // The next deployment goes the other way: green (web-green) is production now, so the new
    // revision registers in web-tg.
    fargate_task_definition(&env.ecs, "web", &[("ECSIM_VERSION", "v3")])
        .send()
        .await
        .unwrap();
    env.ecs
        .update_service()
        .cluster("lb")
        .service("web")
        .task_definition("web:3")
        .send()
        .await
        .unwrap();
    assert_eq!(
        weights(&env, &lb.production_rule).await,
        [(lb.green_tg.clone(), 100), (lb.blue_tg.clone(), 0)]
    );
    let paused = until(&env, 600, &mut Vec::new(), awaiting).await;
    continue_paused(&env, &paused, DeploymentLifecycleHookAction::Continue).await;
    assert_eq!(
        weights(&env, &lb.production_rule).await,
        [(lb.green_tg.clone(), 0), (lb.blue_tg.clone(), 100)]
    );
    env.clock().advance(Duration::from_secs(5 * 60));
    assert_eq!(
        latest(&env).await.status(),
        Some(&ServiceDeploymentStatus::Successful)
    );
}

#[tokio::test]
async fn linear_steps_shift_weight_at_each_step_time_exactly() {
    let env = common::start(ClockMode::Virtual).await;
    let lb = load_balancer(&env).await;
    let configuration = config(DeploymentStrategy::Linear, 2)
        .linear_configuration(
            LinearConfiguration::builder()
                .step_percent(25.0)
                .step_bake_time_in_minutes(3)
                .build(),
        )
        .lifecycle_hooks(pause_at(DeploymentLifecycleHookStage::PostTestTrafficShift))
        .build();
    service(&env, &lb, configuration).await;
    deploy_v2(&env, &[("ECSIM_VERSION", "v2")]).await;
    let paused = until(&env, 600, &mut Vec::new(), awaiting).await;
    let t0 = continue_paused(&env, &paused, DeploymentLifecycleHookAction::Continue).await;
    for (step, green) in [25, 50, 75, 100].into_iter().enumerate() {
        let at = t0 + u64::try_from(step).unwrap() * 3 * 60_000;
        if step > 0 {
            advance_to(&env, at - 1);
            assert_eq!(
                weights(&env, &lb.production_rule).await,
                split(&lb, green - 25),
                "just before step {step}"
            );
        }
        advance_to(&env, at);
        assert_eq!(
            weights(&env, &lb.production_rule).await,
            split(&lb, green),
            "at step {step}"
        );
        let d = latest(&env).await;
        assert_eq!(
            d.target_service_revision()
                .unwrap()
                .requested_production_traffic_weight(),
            Some(f64::from(green))
        );
        let expected_stage = if green < 100 {
            ServiceDeploymentLifecycleStage::ProductionTrafficShift
        } else {
            ServiceDeploymentLifecycleStage::BakeTime
        };
        assert_eq!(stage(&d), expected_stage, "no step bake after 100%");
    }
    // The bake starts at the last step (t0 + 9 min) and lasts 2 minutes.
    advance_to(&env, t0 + 11 * 60_000 - 1);
    assert_eq!(live_tasks(&env, "web:1").await, 3);
    advance_to(&env, t0 + 11 * 60_000);
    assert_eq!(live_tasks(&env, "web:1").await, 0);
    assert_eq!(
        latest(&env).await.status(),
        Some(&ServiceDeploymentStatus::Successful)
    );
}

#[tokio::test]
async fn canary_shifts_its_percent_then_the_rest() {
    let env = common::start(ClockMode::Virtual).await;
    let lb = load_balancer(&env).await;
    let configuration = config(DeploymentStrategy::Canary, 1)
        .canary_configuration(
            CanaryConfiguration::builder()
                .canary_percent(20.0)
                .canary_bake_time_in_minutes(4)
                .build(),
        )
        .lifecycle_hooks(pause_at(DeploymentLifecycleHookStage::PostTestTrafficShift))
        .build();
    service(&env, &lb, configuration).await;
    deploy_v2(&env, &[("ECSIM_VERSION", "v2")]).await;
    let paused = until(&env, 600, &mut Vec::new(), awaiting).await;
    let t0 = continue_paused(&env, &paused, DeploymentLifecycleHookAction::Continue).await;
    assert_eq!(weights(&env, &lb.production_rule).await, split(&lb, 20));
    advance_to(&env, t0 + 4 * 60_000 - 1);
    assert_eq!(weights(&env, &lb.production_rule).await, split(&lb, 20));
    advance_to(&env, t0 + 4 * 60_000);
    assert_eq!(weights(&env, &lb.production_rule).await, split(&lb, 100));
    advance_to(&env, t0 + 5 * 60_000);
    let done = latest(&env).await;
    assert_eq!(done.status(), Some(&ServiceDeploymentStatus::Successful));
    assert_eq!(live_tasks(&env, "web:1").await, 0);
}

/// Healthy targets of `tg_arn`.
async fn healthy_targets(env: &Env, tg_arn: &str) -> usize {
    env.elb
        .describe_target_health()
        .target_group_arn(tg_arn)
        .send()
        .await
        .unwrap()
        .target_health_descriptions()
        .iter()
        .filter(|d| {
            d.target_health().and_then(|h| h.state())
                == Some(&aws_sdk_elasticloadbalancingv2::types::TargetHealthStateEnum::Healthy)
        })
        .count()
}

#[tokio::test]
async fn a_blue_task_that_stops_mid_canary_is_replaced_in_the_blue_target_group() {
    let env = common::start(ClockMode::Virtual).await;
    let lb = load_balancer(&env).await;
    let configuration = config(DeploymentStrategy::Canary, 5)
        .canary_configuration(
            CanaryConfiguration::builder()
                .canary_percent(20.0)
                .canary_bake_time_in_minutes(10)
                .build(),
        )
        .build();
    service(&env, &lb, configuration).await;
    deploy_v2(&env, &[("ECSIM_VERSION", "v2")]).await;
    until(&env, 600, &mut Vec::new(), |d| {
        d.lifecycle_stage() == Some(&ServiceDeploymentLifecycleStage::ProductionTrafficShift)
    })
    .await;
    assert_eq!(weights(&env, &lb.production_rule).await, split(&lb, 20));
    assert_eq!(healthy_targets(&env, &lb.blue_tg).await, 3);

    // Blue still serves 80% of production: ECS replaces a blue task that stops.
    let blue_task = common::live_task_arns(&env.ecs, "lb", "web", "web:1").await[0].clone();
    env.ecs
        .stop_task()
        .cluster("lb")
        .task(&blue_task)
        .reason("a blue task dies")
        .send()
        .await
        .expect("StopTask");
    env.clock().advance(Duration::from_secs(60));
    let d = latest(&env).await;
    assert_eq!(d.status(), Some(&ServiceDeploymentStatus::InProgress), "{d:?}");
    assert_eq!(live_tasks(&env, "web:1").await, 3, "blue is back to its count");
    assert_eq!(
        healthy_targets(&env, &lb.blue_tg).await,
        3,
        "the replacement serves blue"
    );
    assert_eq!(weights(&env, &lb.production_rule).await, split(&lb, 20));

    let done = until(&env, 1800, &mut Vec::new(), |d| {
        d.status() == Some(&ServiceDeploymentStatus::Successful)
    })
    .await;
    assert_eq!(done.status(), Some(&ServiceDeploymentStatus::Successful));
    assert_eq!(live_tasks(&env, "web:1").await, 0, "CLEAN_UP scales blue in");
    assert_eq!(live_tasks(&env, "web:2").await, 3);
}

async fn green_5xx_alarm(env: &Env, lb: &Lb) {
    let described = env.elb.describe_load_balancers().send().await.unwrap();
    let lb_arn = described.load_balancers()[0]
        .load_balancer_arn()
        .unwrap()
        .to_string();
    let lb_dimension = lb_arn.split_once(":loadbalancer/").unwrap().1.to_string();
    let tg_dimension = lb.green_tg.rsplit_once(':').unwrap().1.to_string();
    env.cw
        .put_metric_alarm()
        .alarm_name("green-5xx")
        .namespace("AWS/ApplicationELB")
        .metric_name("HTTPCode_Target_5XX_Count")
        .dimensions(
            Dimension::builder()
                .name("TargetGroup")
                .value(tg_dimension)
                .build(),
        )
        .dimensions(
            Dimension::builder()
                .name("LoadBalancer")
                .value(lb_dimension)
                .build(),
        )
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

#[tokio::test]
async fn an_alarm_during_the_canary_rolls_traffic_back_to_blue() {
    let env = common::start(ClockMode::Virtual).await;
    let lb = load_balancer(&env).await;
    green_5xx_alarm(&env, &lb).await;
    let configuration = config(DeploymentStrategy::Canary, 10)
        .canary_configuration(
            CanaryConfiguration::builder()
                .canary_percent(20.0)
                .canary_bake_time_in_minutes(15)
                .build(),
        )
        .alarms(
            DeploymentAlarms::builder()
                .alarm_names("green-5xx")
                .enable(true)
                .rollback(true)
                .build()
                .unwrap(),
        )
        .build();
    service(&env, &lb, configuration).await;
    let (status, started) = admin(
        &env,
        Method::POST,
        "/_ecsim/traffic",
        Some(json!({"loadBalancer": lb.dns, "requestsPerSecond": 100, "durationSeconds": 3600})),
    )
    .await;
    assert_eq!(status, 200, "{started}");
    // v2 answers half of its requests with 500.
    deploy_v2(&env, &[("ECSIM_VERSION", "v2"), ("ECSIM_ERROR_RATE", "0.5")]).await;
    let mut canary_seen = false;
    let mut rolled_back = None;
    for _ in 0..120 {
        env.clock().advance(Duration::from_secs(10));
        let w = weights(&env, &lb.production_rule).await;
        canary_seen |= w == split(&lb, 20);
        assert_ne!(
            w,
            split(&lb, 100),
            "the rest never shifts: the alarm fires inside the canary bake"
        );
        let d = latest(&env).await;
        if d.status() == Some(&ServiceDeploymentStatus::RollbackSuccessful) {
            rolled_back = Some(d);
            break;
        }
    }
    assert!(canary_seen, "20% went to green first");
    let d = rolled_back.expect("rolled back");
    assert_eq!(
        weights(&env, &lb.production_rule).await,
        split(&lb, 0),
        "production back 100% on blue"
    );
    let alarms = d.alarms().unwrap();
    assert_eq!(
        alarms.status(),
        Some(&ServiceDeploymentRollbackMonitorsStatus::Triggered)
    );
    assert_eq!(alarms.triggered_alarm_names(), ["green-5xx"]);
    assert_eq!(
        stage(&d),
        ServiceDeploymentLifecycleStage::ProductionTrafficShift,
        "failed mid-canary"
    );
    assert!(
        d.rollback()
            .unwrap()
            .service_revision_arn()
            .is_some_and(|arn| { d.source_service_revisions().iter().any(|s| s.arn() == Some(arn)) }),
        "rolled back to the blue revision"
    );
    wait_stable(&env).await;
    assert_eq!(live_tasks(&env, "web:1").await, 3);
    assert_eq!(live_tasks(&env, "web:2").await, 0);
    let svc = env
        .ecs
        .describe_services()
        .cluster("lb")
        .services("web")
        .send()
        .await
        .unwrap();
    assert!(svc.services()[0].task_definition().unwrap().ends_with("web:1"));
}

#[tokio::test]
async fn the_circuit_breaker_rolls_a_blue_green_deployment_back() {
    let env = common::start(ClockMode::Virtual).await;
    let lb = load_balancer(&env).await;
    let configuration = config(DeploymentStrategy::BlueGreen, 5)
        .deployment_circuit_breaker(
            DeploymentCircuitBreaker::builder()
                .enable(true)
                .rollback(true)
                .build(),
        )
        .build();
    service(&env, &lb, configuration).await;
    deploy_v2(
        &env,
        &[("ECSIM_START_FAILURE", "CannotStartContainerError: boom")],
    )
    .await;
    let d = until(&env, 900, &mut Vec::new(), |d| {
        d.status() == Some(&ServiceDeploymentStatus::RollbackSuccessful)
    })
    .await;
    let breaker = d.deployment_circuit_breaker().unwrap();
    assert_eq!(
        breaker.status(),
        Some(&ServiceDeploymentRollbackMonitorsStatus::Triggered)
    );
    assert_eq!(breaker.failure_count(), 3);
    assert_eq!(stage(&d), ServiceDeploymentLifecycleStage::ScaleUp);
    assert_eq!(weights(&env, &lb.production_rule).await, split(&lb, 0));
    wait_stable(&env).await;
    assert_eq!(live_tasks(&env, "web:1").await, 3, "blue never stopped");
}

#[tokio::test]
async fn pause_hooks_continue_or_roll_back_with_continue_service_deployment() {
    let env = common::start(ClockMode::Virtual).await;
    let lb = load_balancer(&env).await;
    let configuration = config(DeploymentStrategy::BlueGreen, 0)
        .lifecycle_hooks(pause_at(DeploymentLifecycleHookStage::PreScaleUp))
        .lifecycle_hooks(pause_at(DeploymentLifecycleHookStage::PostScaleUp))
        .build();
    service(&env, &lb, configuration).await;
    deploy_v2(&env, &[("ECSIM_VERSION", "v2")]).await;

    let first = until(&env, 60, &mut Vec::new(), awaiting).await;
    assert_eq!(stage(&first), ServiceDeploymentLifecycleStage::PreScaleUp);
    let hook = first.lifecycle_hook_details()[0].clone();
    assert_eq!(
        hook.target_type(),
        Some(&DeploymentLifecycleHookTargetType::Pause)
    );
    assert_eq!(
        hook.timeout_action(),
        Some(&DeploymentLifecycleHookAction::Rollback)
    );
    assert!(hook.expires_at().is_some());
    env.clock().advance(Duration::from_secs(60));
    assert_eq!(live_tasks(&env, "web:2").await, 0, "paused before scale-up");

    let arn = first.service_deployment_arn().unwrap().to_string();
    let refused = env
        .ecs
        .continue_service_deployment()
        .service_deployment_arn(&arn)
        .hook_id("no-such-hook")
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&refused), "InvalidParameterException");
    let refused = env
        .ecs
        .continue_service_deployment()
        .service_deployment_arn(arn.replace("service-deployment/lb", "service-deployment/nope"))
        .hook_id(hook.hook_id().unwrap())
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&refused), "ServiceDeploymentNotFoundException");

    // CONTINUE (the default action) lets it scale up, then it pauses again after scale-up.
    env.ecs
        .continue_service_deployment()
        .service_deployment_arn(&arn)
        .hook_id(hook.hook_id().unwrap())
        .send()
        .await
        .expect("ContinueServiceDeployment");
    let again = env
        .ecs
        .continue_service_deployment()
        .service_deployment_arn(&arn)
        .hook_id(hook.hook_id().unwrap())
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        code(&again),
        "InvalidParameterException",
        "a hook is resolved once"
    );
    let second = until(&env, 600, &mut Vec::new(), |d| {
        stage(d) == ServiceDeploymentLifecycleStage::PostScaleUp && awaiting(d)
    })
    .await;
    assert_eq!(live_tasks(&env, "web:2").await, 3);

    // ROLLBACK: green drains, production never left blue.
    continue_paused(&env, &second, DeploymentLifecycleHookAction::Rollback).await;
    let d = until(&env, 600, &mut Vec::new(), |d| {
        d.status() == Some(&ServiceDeploymentStatus::RollbackSuccessful)
    })
    .await;
    assert!(
        d.status_reason().unwrap().contains("ContinueServiceDeployment"),
        "{d:?}"
    );
    let statuses: Vec<_> = d
        .lifecycle_hook_details()
        .iter()
        .filter_map(|h| h.status().cloned())
        .collect();
    assert_eq!(
        statuses,
        [
            DeploymentLifecycleHookStatus::Succeeded,
            DeploymentLifecycleHookStatus::Failed
        ]
    );
    assert_eq!(weights(&env, &lb.production_rule).await, split(&lb, 0));
    wait_stable(&env).await;
    assert_eq!(live_tasks(&env, "web:2").await, 0);
    assert_eq!(live_tasks(&env, "web:1").await, 3);
}

#[tokio::test]
async fn a_lambda_hook_without_a_stand_in_fails_and_rolls_back() {
    let env = common::start(ClockMode::Virtual).await;
    let lb = load_balancer(&env).await;
    let configuration = config(DeploymentStrategy::BlueGreen, 0)
        .lifecycle_hooks(
            DeploymentLifecycleHook::builder()
                .hook_target_arn("arn:aws:lambda:us-east-1:000000000000:function:smoke-test")
                .role_arn(ROLE)
                .lifecycle_stages(DeploymentLifecycleHookStage::PreScaleUp)
                .build(),
        )
        .build();
    service(&env, &lb, configuration).await;
    deploy_v2(&env, &[("ECSIM_VERSION", "v2")]).await;
    let d = until(&env, 300, &mut Vec::new(), |d| {
        d.status() == Some(&ServiceDeploymentStatus::RollbackSuccessful)
    })
    .await;
    let reason = d.status_reason().unwrap();
    assert!(
        reason.contains("Function not found") && reason.contains("smoke-test"),
        "{reason}"
    );
    assert_eq!(
        d.lifecycle_hook_details()[0].status(),
        Some(&DeploymentLifecycleHookStatus::Failed)
    );
    assert_eq!(d.target_service_revision().unwrap().running_task_count(), 0);
    assert_eq!(live_tasks(&env, "web:2").await, 0, "green never scaled up");
    assert_eq!(weights(&env, &lb.production_rule).await, split(&lb, 0));
}

#[tokio::test]
async fn stop_service_deployment_rolls_a_linear_deployment_back_mid_way() {
    let env = common::start(ClockMode::Virtual).await;
    let lb = load_balancer(&env).await;
    let configuration = config(DeploymentStrategy::Linear, 1)
        .linear_configuration(
            LinearConfiguration::builder()
                .step_percent(10.0)
                .step_bake_time_in_minutes(1)
                .build(),
        )
        .build();
    service(&env, &lb, configuration).await;
    deploy_v2(&env, &[("ECSIM_VERSION", "v2")]).await;
    let d = until(&env, 900, &mut Vec::new(), |d| {
        d.target_service_revision()
            .and_then(|t| t.requested_production_traffic_weight())
            .is_some_and(|w| w >= 30.0)
    })
    .await;
    env.ecs
        .stop_service_deployment()
        .service_deployment_arn(d.service_deployment_arn().unwrap())
        .stop_type(StopServiceDeploymentStopType::Rollback)
        .send()
        .await
        .expect("StopServiceDeployment");
    let d = until(&env, 600, &mut Vec::new(), |d| {
        d.status() == Some(&ServiceDeploymentStatus::RollbackSuccessful)
    })
    .await;
    assert_eq!(weights(&env, &lb.production_rule).await, split(&lb, 0));
    assert_eq!(
        d.target_service_revision()
            .unwrap()
            .requested_production_traffic_weight(),
        Some(0.0)
    );
    wait_stable(&env).await;
    assert_eq!(live_tasks(&env, "web:1").await, 3);
}

#[tokio::test]
async fn strategy_settings_and_advanced_configuration_are_validated() {
    let env = common::start(ClockMode::Virtual).await;
    let lb = load_balancer(&env).await;
    env.ecs.create_cluster().cluster_name("lb").send().await.unwrap();
    fargate_task_definition(&env.ecs, "web", &[])
        .send()
        .await
        .unwrap();
    let advanced = |alternate: &str, rule: &str| {
        AdvancedConfiguration::builder()
            .alternate_target_group_arn(alternate)
            .production_listener_rule(rule)
            .role_arn(ROLE)
            .build()
    };
    let good = advanced(&lb.green_tg, &lb.production_rule);
    let cases: Vec<(DeploymentConfiguration, Option<AdvancedConfiguration>, &str)> = vec![
        (
            DeploymentConfiguration::builder()
                .strategy(DeploymentStrategy::BlueGreen)
                .build(),
            Some(good.clone()),
            "bakeTimeInMinutes must be specified",
        ),
        (
            config(DeploymentStrategy::BlueGreen, 1441).build(),
            Some(good.clone()),
            "bakeTimeInMinutes",
        ),
        (
            config(DeploymentStrategy::Linear, 0)
                .linear_configuration(LinearConfiguration::builder().step_percent(2.0).build())
                .build(),
            Some(good.clone()),
            "stepPercent",
        ),
        (
            config(DeploymentStrategy::Canary, 0)
                .canary_configuration(CanaryConfiguration::builder().canary_percent(5.05).build())
                .build(),
            Some(good.clone()),
            "canaryPercent must be a multiple of 0.1",
        ),
        (
            config(DeploymentStrategy::Canary, 0)
                .canary_configuration(
                    CanaryConfiguration::builder()
                        .canary_bake_time_in_minutes(-1)
                        .build(),
                )
                .build(),
            Some(good.clone()),
            "canaryBakeTimeInMinutes",
        ),
        (
            config(DeploymentStrategy::BlueGreen, 0)
                .lifecycle_hooks(pause_at(DeploymentLifecycleHookStage::ProductionTrafficShift))
                .build(),
            Some(good.clone()),
            "PAUSE target type is not supported at the PRODUCTION_TRAFFIC_SHIFT",
        ),
        (
            config(DeploymentStrategy::BlueGreen, 0)
                .lifecycle_hooks(
                    DeploymentLifecycleHook::builder()
                        .lifecycle_stages(DeploymentLifecycleHookStage::PreScaleUp)
                        .build(),
                )
                .build(),
            Some(good.clone()),
            "hookTargetArn must be specified",
        ),
        (
            config(DeploymentStrategy::BlueGreen, 0).build(),
            None,
            "advancedConfiguration is required",
        ),
        (
            config(DeploymentStrategy::BlueGreen, 0).build(),
            Some(advanced(&lb.blue_tg, &lb.production_rule)),
            "must be different",
        ),
        (
            config(DeploymentStrategy::BlueGreen, 0).build(),
            Some(advanced(
                &lb.green_tg.replace("web-green", "nope"),
                &lb.production_rule,
            )),
            "does not exist",
        ),
        (
            config(DeploymentStrategy::BlueGreen, 0).build(),
            Some(advanced(&lb.green_tg, &format!("{}0", lb.production_rule))),
            "does not exist",
        ),
        (
            DeploymentConfiguration::builder()
                .strategy(DeploymentStrategy::Rolling)
                .build(),
            Some(good.clone()),
            "advancedConfiguration can only be specified",
        ),
    ];
    for (configuration, advanced, needle) in cases {
        let mut balancer = LoadBalancer::builder()
            .target_group_arn(&lb.blue_tg)
            .container_name("web")
            .container_port(8080);
        if let Some(a) = advanced {
            balancer = balancer.advanced_configuration(a);
        }
        let refused = env
            .ecs
            .create_service()
            .cluster("lb")
            .service_name("web")
            .task_definition("web")
            .desired_count(1)
            .launch_type(aws_sdk_ecs::types::LaunchType::Fargate)
            .network_configuration(awsvpc(&[default_subnet('a')]))
            .load_balancers(balancer.build())
            .deployment_configuration(configuration.clone())
            .send()
            .await
            .expect_err(needle);
        assert_eq!(code(&refused), "InvalidParameterException", "{needle}");
        let message = refused.into_service_error().to_string();
        assert!(message.contains(needle), "{needle}: {message}");
    }
    let listed = env.ecs.list_services().cluster("lb").send().await.unwrap();
    assert!(listed.service_arns().is_empty(), "nothing was created");
}
