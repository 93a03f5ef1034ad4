//! CodeDeploy blue/green on real containers at 60× speed: a canary of 25% for 10 minutes moves
//! real HTTP answers from v1 to v2 and succeeds; a bad v2 whose containers answer 500s fires the
//! green 5xx alarm from the proxy's own metrics, and traffic returns to v1.

use std::process::Command;
use std::time::{Duration, Instant};

use aws_sdk_codedeploy::types::DeploymentStatus;
use aws_sdk_ecs::types::{
    Compatibility, ContainerDefinition, DeploymentController, DeploymentControllerType, KeyValuePair,
    LaunchType, LoadBalancer, NetworkMode, PortMapping,
};

use crate::codedeploy_deployments::{
    BlueGreen, application_and_group, appspec, deploy, deployment, listener, target_group_checked_every,
    weights,
};
use crate::common::{Env, awsvpc, default_subnet};
use crate::docker_support::{TEST_IMAGE, docker_tests_enabled, pause_ms, start_docker_scaled};
use crate::elbv2_api::load_balancer;
use crate::elbv2_traffic::listener_url;

async fn register(env: &Env, version: &str, error_rate: &str) {
    env.ecs
        .register_task_definition()
        .family("web")
        .network_mode(NetworkMode::Awsvpc)
        .requires_compatibilities(Compatibility::Fargate)
        .cpu("256")
        .memory("512")
        .container_definitions(
            ContainerDefinition::builder()
                .name("web")
                .image(TEST_IMAGE)
                .essential(true)
                .port_mappings(PortMapping::builder().container_port(8080).build())
                .environment(
                    KeyValuePair::builder()
                        .name("ECSIM_VERSION")
                        .value(version)
                        .build(),
                )
                .environment(
                    KeyValuePair::builder()
                        .name("ECSIM_ERROR_RATE")
                        .value(error_rate)
                        .build(),
                )
                .build(),
        )
        .send()
        .await
        .unwrap();
}

/// Four v1 containers of a CODE_DEPLOY service behind blue; v2 registered with `v2_error_rate`.
async fn blue_green_on_docker(env: &Env, v2_error_rate: &str) -> BlueGreen {
    let lb = load_balancer(env, "cd-docker").await;
    // Probes at 60x: every 15 s and 10 s timeouts are 250 ms and 167 ms of real time, which
    // containers answer in even while other tests load the machine (2 s would be 50 ms).
    let blue_tg = target_group_checked_every(env, "web-blue", 15, 10).await;
    let green_tg = target_group_checked_every(env, "web-green", 15, 10).await;
    let prod_listener = listener(env, &lb, 80, &blue_tg).await;
    let test_listener = listener(env, &lb, 8080, &blue_tg).await;
    env.ecs.create_cluster().cluster_name("cd").send().await.unwrap();
    register(env, "v1", "0").await;
    register(env, "v2", v2_error_rate).await;
    env.ecs
        .create_service()
        .cluster("cd")
        .service_name("web")
        .task_definition("web:1")
        .desired_count(4)
        .launch_type(LaunchType::Fargate)
        .deployment_controller(
            DeploymentController::builder()
                .r#type(DeploymentControllerType::CodeDeploy)
                .build()
                .unwrap(),
        )
        .network_configuration(awsvpc(&[default_subnet('a'), default_subnet('b')]))
        .load_balancers(
            LoadBalancer::builder()
                .target_group_arn(&blue_tg)
                .container_name("web")
                .container_port(8080)
                .build(),
        )
        .send()
        .await
        .unwrap();
    let mut steady = false;
    for _ in 0..300 {
        let sets = crate::codedeploy_deployments::task_sets(env).await;
        steady = sets
            .first()
            .is_some_and(|s| s.stability_status() == Some(&aws_sdk_ecs::types::StabilityStatus::SteadyState));
        if steady {
            break;
        }
        pause_ms(200).await;
    }
    assert!(steady, "the original task set never reached STEADY_STATE");
    let dns_name = env
        .elb
        .describe_load_balancers()
        .send()
        .await
        .unwrap()
        .load_balancers()[0]
        .dns_name()
        .unwrap()
        .to_string();
    BlueGreen {
        prod_listener,
        test_listener,
        blue_tg,
        green_tg,
        dns_name,
    }
}

/// Sends `count` GET requests to `url`, up to 10 at a time (one `curl --parallel` off the
/// test's runtime thread); returns the bodies, one line each.
async fn traffic(url: &str, count: usize) -> Vec<String> {
    let urls = format!("{url}?n=[1-{count}]");
    let out = tokio::task::spawn_blocking(move || {
        Command::new("curl")
            .args([
                "-s",
                "--max-time",
                "5",
                "--parallel",
                "--parallel-max",
                "10",
                &urls,
            ])
            .output()
            .expect("curl runs")
    })
    .await
    .unwrap();
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(str::to_string)
        .collect()
}

async fn until_done(env: &Env, id: &str, url: &str, limit_s: u64) -> (DeploymentStatus, Vec<String>) {
    // Real time: these tests run on the live clock against real containers.
    #[allow(clippy::disallowed_methods)]
    let started = Instant::now();
    let mut bodies = Vec::new();
    while started.elapsed() < Duration::from_secs(limit_s) {
        bodies.extend(traffic(url, 50).await);
        let status = deployment(env, id).await.status().cloned().unwrap();
        if !matches!(status, DeploymentStatus::InProgress | DeploymentStatus::Created) {
            return (status, bodies);
        }
    }
    panic!("deployment {id} did not finish in {limit_s} s");
}

#[tokio::test]
async fn a_canary_on_real_containers_moves_answers_to_v2() {
    if !docker_tests_enabled("a_canary_on_real_containers_moves_answers_to_v2") {
        return;
    }
    let (env, _instance) = start_docker_scaled("cd-canary", 60.0).await;
    let bg = blue_green_on_docker(&env, "0").await;
    env.cd
        .create_deployment_config()
        .deployment_config_name("Canary25Percent10Minutes")
        .compute_platform(aws_sdk_codedeploy::types::ComputePlatform::Ecs)
        .traffic_routing_config(
            aws_sdk_codedeploy::types::TrafficRoutingConfig::builder()
                .r#type(aws_sdk_codedeploy::types::TrafficRoutingType::TimeBasedCanary)
                .time_based_canary(
                    aws_sdk_codedeploy::types::TimeBasedCanary::builder()
                        .canary_percentage(25)
                        .canary_interval(10)
                        .build(),
                )
                .build(),
        )
        .send()
        .await
        .unwrap();
    application_and_group(&env, &bg, "Canary25Percent10Minutes", 0, &[], None).await;
    let url = format!("{}/", listener_url(&env, &bg.prod_listener).await);
    let before = traffic(&url, 8).await;
    assert!(before.iter().all(|b| b.contains("version=v1")), "{before:?}");
    // Real time: these tests run on the live clock against real containers.
    #[allow(clippy::disallowed_methods)]
    let started = Instant::now();
    let id = deploy(&env, &appspec("web:2", &[])).await;
    let (status, bodies) = until_done(&env, &id, &url, 120).await;
    assert_eq!(status, DeploymentStatus::Succeeded);
    let took = started.elapsed();
    assert!(
        bodies.iter().any(|b| b.contains("version=v2")),
        "the canary answered"
    );
    let after = traffic(&url, 8).await;
    assert!(after.iter().all(|b| b.contains("version=v2")), "{after:?}");
    assert_eq!(
        weights(&env, &bg.prod_listener).await,
        [(bg.blue_tg.clone(), 0), (bg.green_tg.clone(), 100)]
    );
    // 10 control-plane minutes at 60x are 10 s; installing real containers adds a few.
    assert!(took < Duration::from_secs(90), "took {took:?}");
    eprintln!("docker canary 25%/10 min at 60x: {took:?}");
}

#[tokio::test]
async fn real_500s_from_a_bad_revision_fire_the_alarm_and_roll_back_on_docker() {
    use aws_sdk_cloudwatch::types::{ComparisonOperator, Dimension, Statistic};
    if !docker_tests_enabled("real_500s_from_a_bad_revision_fire_the_alarm_and_roll_back_on_docker") {
        return;
    }
    let (env, _instance) = start_docker_scaled("cd-rollback", 60.0).await;
    let bg = blue_green_on_docker(&env, "0.5").await;
    let lb_arn = env
        .elb
        .describe_load_balancers()
        .send()
        .await
        .unwrap()
        .load_balancers()[0]
        .load_balancer_arn()
        .unwrap()
        .to_string();
    env.cw
        .put_metric_alarm()
        .alarm_name("green-5xx")
        .namespace("AWS/ApplicationELB")
        .metric_name("HTTPCode_Target_5XX_Count")
        .dimensions(
            Dimension::builder()
                .name("TargetGroup")
                .value(bg.green_tg.rsplit_once(':').unwrap().1)
                .build(),
        )
        .dimensions(
            Dimension::builder()
                .name("LoadBalancer")
                .value(lb_arn.split_once(":loadbalancer/").unwrap().1)
                .build(),
        )
        .statistic(Statistic::Sum)
        .period(60)
        .evaluation_periods(1)
        .threshold(0.0)
        .comparison_operator(ComparisonOperator::GreaterThanThreshold)
        .treat_missing_data("notBreaching")
        .send()
        .await
        .unwrap();
    application_and_group(
        &env,
        &bg,
        "CodeDeployDefault.ECSCanary10Percent15Minutes",
        0,
        &["green-5xx"],
        None,
    )
    .await;
    let url = format!("{}/", listener_url(&env, &bg.prod_listener).await);
    let id = deploy(&env, &appspec("web:2", &[])).await;
    let (status, bodies) = until_done(&env, &id, &url, 120).await;
    if status != DeploymentStatus::Stopped {
        let count = |needle: &str| bodies.iter().filter(|b| b.contains(needle)).count();
        let history = env
            .cw
            .describe_alarm_history()
            .alarm_name("green-5xx")
            .send()
            .await
            .unwrap();
        let summaries: Vec<_> = history
            .alarm_history_items()
            .iter()
            .map(|h| {
                (
                    h.timestamp().map(ToString::to_string),
                    h.history_summary().map(str::to_string),
                )
            })
            .collect();
        let target = env
            .cd
            .get_deployment_target()
            .deployment_id(&id)
            .target_id("cd:web")
            .send()
            .await
            .unwrap();
        let events: Vec<_> = target
            .deployment_target()
            .and_then(|t| t.ecs_target())
            .map(|t| {
                t.lifecycle_events()
                    .iter()
                    .map(|e| {
                        (
                            e.lifecycle_event_name().map(str::to_string),
                            e.start_time().map(ToString::to_string),
                        )
                    })
                    .collect()
            })
            .unwrap_or_default();
        panic!(
            "deployment ended {status:?}, not Stopped; the test saw {} answers ({} v2, {} errors); \
             alarm history {summaries:?}; lifecycle {events:?}",
            bodies.len(),
            count("version=v2"),
            count("simulated error"),
        );
    }
    assert!(
        bodies.iter().any(|b| b.contains("simulated error")),
        "green answered 500s through the proxy"
    );
    let info = deployment(&env, &id).await;
    assert_eq!(
        info.error_information().and_then(|e| e.code()),
        Some(&aws_sdk_codedeploy::types::ErrorCode::AlarmActive)
    );
    assert_eq!(
        weights(&env, &bg.prod_listener).await,
        [(bg.blue_tg.clone(), 100), (bg.green_tg.clone(), 0)]
    );
    let after = traffic(&url, 8).await;
    assert!(after.iter().all(|b| b.contains("version=v1")), "{after:?}");
}
