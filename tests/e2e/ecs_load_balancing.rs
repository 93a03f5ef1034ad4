//! ECS services behind target groups on the simulated runtime: tasks register when they run,
//! count as healthy only once their targets are, deregister and drain before they stop, and are
//! replaced when they fail ELB health checks after the grace period. Simulated tasks answer real
//! HTTP through the listener from their behaviour model.

use std::collections::BTreeSet;
use std::time::Duration;

use aws_sdk_ecs::client::Waiters;
use aws_sdk_ecs::types::{DesiredStatus, LoadBalancer};
use aws_sdk_elasticloadbalancingv2::types::{
    ProtocolEnum, TargetGroupAttribute, TargetHealthStateEnum, TargetTypeEnum,
};
use ecsim::ClockMode;

use crate::common::{self, Env, awsvpc, code, default_subnet, fargate_task_definition};
use crate::elbv2_api::{forward_weighted, load_balancer};
use crate::elbv2_traffic::listener_url;

/// A load balancer with a port-80 listener forwarding to a fresh `ip` target group that checks
/// every 5 s with thresholds of 2 and drains for `drain_s`.
pub(crate) async fn lb_and_group(env: &Env, name: &str, drain_s: u32) -> (String, String) {
    let lb = load_balancer(env, name).await;
    let created = env
        .elb
        .create_target_group()
        .name(format!("{name}-tg"))
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
        .expect("CreateTargetGroup");
    let tg = created.target_groups()[0]
        .target_group_arn()
        .expect("ARN")
        .to_string();
    env.elb
        .modify_target_group_attributes()
        .target_group_arn(&tg)
        .attributes(
            TargetGroupAttribute::builder()
                .key("deregistration_delay.timeout_seconds")
                .value(drain_s.to_string())
                .build(),
        )
        .send()
        .await
        .expect("ModifyTargetGroupAttributes");
    let listener = env
        .elb
        .create_listener()
        .load_balancer_arn(&lb)
        .protocol(ProtocolEnum::Http)
        .port(80)
        .default_actions(forward_weighted(&[(&tg, 1)]))
        .send()
        .await
        .expect("CreateListener");
    (
        listener.listeners()[0].listener_arn().expect("ARN").to_string(),
        tg,
    )
}

pub(crate) async fn service(
    env: &Env,
    name: &str,
    tg: &str,
    env_vars: &[(&str, &str)],
    grace_s: Option<i32>,
) {
    env.ecs
        .create_cluster()
        .cluster_name("lb")
        .send()
        .await
        .expect("CreateCluster");
    fargate_task_definition(&env.ecs, name, env_vars)
        .send()
        .await
        .expect("RegisterTaskDefinition");
    let mut request = env
        .ecs
        .create_service()
        .cluster("lb")
        .service_name(name)
        .task_definition(name)
        .desired_count(3)
        .launch_type(aws_sdk_ecs::types::LaunchType::Fargate)
        .network_configuration(awsvpc(&[
            default_subnet('a'),
            default_subnet('b'),
            default_subnet('c'),
        ]))
        .load_balancers(
            LoadBalancer::builder()
                .target_group_arn(tg)
                .container_name("web")
                .container_port(8080)
                .build(),
        );
    if let Some(g) = grace_s {
        request = request.health_check_grace_period_seconds(g);
    }
    request.send().await.expect("CreateService");
}

async fn target_rows(env: &Env, tg: &str) -> Vec<(String, TargetHealthStateEnum)> {
    let health = env
        .elb
        .describe_target_health()
        .target_group_arn(tg)
        .send()
        .await
        .expect("DescribeTargetHealth");
    let mut rows: Vec<_> = health
        .target_health_descriptions()
        .iter()
        .map(|d| {
            (
                d.target().and_then(|t| t.id()).unwrap_or_default().to_string(),
                d.target_health()
                    .and_then(|h| h.state())
                    .cloned()
                    .expect("a state"),
            )
        })
        .collect();
    rows.sort_by(|a, b| a.0.cmp(&b.0));
    rows
}

async fn task_ips(env: &Env, service: &str) -> BTreeSet<String> {
    let listed = env
        .ecs
        .list_tasks()
        .cluster("lb")
        .service_name(service)
        .send()
        .await
        .expect("ListTasks");
    let described = env
        .ecs
        .describe_tasks()
        .cluster("lb")
        .set_tasks(Some(listed.task_arns().to_vec()))
        .send()
        .await
        .expect("DescribeTasks");
    described
        .tasks()
        .iter()
        .flat_map(|t| t.containers())
        .flat_map(|c| c.network_interfaces())
        .filter_map(|n| n.private_ipv4_address().map(str::to_string))
        .collect()
}

async fn events(env: &Env, service: &str) -> Vec<String> {
    let described = env
        .ecs
        .describe_services()
        .cluster("lb")
        .services(service)
        .send()
        .await
        .expect("DescribeServices");
    described.services()[0]
        .events()
        .iter()
        .filter_map(|e| e.message().map(str::to_string))
        .collect()
}

#[tokio::test]
async fn service_tasks_register_serve_traffic_and_drain_before_they_stop() {
    let env = common::start(ClockMode::Virtual).await;
    let (listener, tg) = lb_and_group(&env, "web", 20).await;
    service(&env, "web", &tg, &[("ECSIM_VERSION", "v1")], None).await;
    env.ecs
        .wait_until_services_stable()
        .cluster("lb")
        .services("web")
        .wait(Duration::from_secs(900))
        .await
        .expect("the service becomes stable once its targets are healthy");
    let rows = target_rows(&env, &tg).await;
    assert_eq!(rows.len(), 3);
    assert!(
        rows.iter().all(|r| r.1 == TargetHealthStateEnum::Healthy),
        "{rows:?}"
    );
    let ips: BTreeSet<String> = rows.iter().map(|r| r.0.clone()).collect();
    assert_eq!(ips, task_ips(&env, "web").await);
    let messages = events(&env, "web").await;
    assert_eq!(
        messages
            .iter()
            .filter(|m| m.contains("registered 1 targets in (target-group"))
            .count(),
        3,
        "{messages:?}"
    );
    let described = env
        .ecs
        .describe_services()
        .cluster("lb")
        .services("web")
        .send()
        .await
        .expect("DescribeServices");
    assert_eq!(
        described.services()[0].load_balancers()[0].target_group_arn(),
        Some(tg.as_str())
    );

    // Simulated tasks answer through the real listener socket.
    let url = listener_url(&env, &listener).await;
    let mut answered_by = BTreeSet::new();
    for _ in 0..12 {
        let response = reqwest::get(format!("{url}/hello")).await.expect("an answer");
        assert_eq!(response.status().as_u16(), 200);
        let body: serde_json::Value =
            serde_json::from_str(&response.text().await.expect("a body")).expect("JSON");
        assert_eq!(body["version"], "v1");
        answered_by.insert(body["task"].as_str().unwrap_or_default().to_string());
    }
    assert_eq!(answered_by.len(), 3);

    // StopTask: the target drains first, the task waits in DEACTIVATING, then stops.
    let victim = answered_by.iter().next().expect("a task").clone();
    env.ecs
        .stop_task()
        .cluster("lb")
        .task(&victim)
        .send()
        .await
        .expect("StopTask");
    let task = env
        .ecs
        .describe_tasks()
        .cluster("lb")
        .tasks(&victim)
        .send()
        .await
        .expect("DescribeTasks");
    assert_eq!(task.tasks()[0].last_status(), Some("DEACTIVATING"));
    let draining = target_rows(&env, &tg).await;
    assert_eq!(
        draining
            .iter()
            .filter(|r| r.1 == TargetHealthStateEnum::Draining)
            .count(),
        1,
        "{draining:?}"
    );
    env.clock().advance(Duration::from_secs(10));
    let task = env
        .ecs
        .describe_tasks()
        .cluster("lb")
        .tasks(&victim)
        .send()
        .await
        .expect("DescribeTasks");
    assert_eq!(
        task.tasks()[0].last_status(),
        Some("DEACTIVATING"),
        "still draining at 10 of 20 s"
    );
    env.clock().advance(Duration::from_secs(15));
    let task = env
        .ecs
        .describe_tasks()
        .cluster("lb")
        .tasks(&victim)
        .send()
        .await
        .expect("DescribeTasks");
    assert_eq!(task.tasks()[0].last_status(), Some("STOPPED"));
    let messages = events(&env, "web").await;
    assert!(
        messages
            .iter()
            .any(|m| m.contains("deregistered 1 targets in (target-group")),
        "{messages:?}"
    );
    env.ecs
        .wait_until_services_stable()
        .cluster("lb")
        .services("web")
        .wait(Duration::from_secs(900))
        .await
        .expect("a replacement registers and becomes healthy");
    assert_eq!(target_rows(&env, &tg).await.len(), 3);
}

#[tokio::test]
async fn tasks_failing_elb_health_checks_are_replaced_after_the_grace_period() {
    let env = common::start(ClockMode::Virtual).await;
    let (_, tg) = lb_and_group(&env, "sick", 0).await;
    service(
        &env,
        "sick",
        &tg,
        &[("ECSIM_UNHEALTHY_AFTER_SECONDS", "60")],
        Some(120),
    )
    .await;
    // Before the grace period ends, failing checks are ignored.
    env.clock().advance(Duration::from_secs(100));
    let stopped = env
        .ecs
        .list_tasks()
        .cluster("lb")
        .desired_status(DesiredStatus::Stopped)
        .send()
        .await
        .expect("ListTasks");
    assert!(stopped.task_arns().is_empty(), "{:?}", stopped.task_arns());
    let rows = target_rows(&env, &tg).await;
    assert!(
        rows.iter().all(|r| r.1 == TargetHealthStateEnum::Unhealthy),
        "{rows:?}"
    );
    env.clock().advance(Duration::from_secs(30));
    let stopped = env
        .ecs
        .list_tasks()
        .cluster("lb")
        .desired_status(DesiredStatus::Stopped)
        .send()
        .await
        .expect("ListTasks");
    assert_eq!(stopped.task_arns().len(), 3);
    let described = env
        .ecs
        .describe_tasks()
        .cluster("lb")
        .set_tasks(Some(stopped.task_arns().to_vec()))
        .send()
        .await
        .expect("DescribeTasks");
    for t in described.tasks() {
        assert_eq!(
            t.stopped_reason().unwrap_or_default(),
            format!("Task failed ELB health checks in (target-group {tg})")
        );
    }
    let messages = events(&env, "sick").await;
    assert!(
        messages.iter().any(|m| m.contains("failed ELB health checks")),
        "{messages:?}"
    );
}

#[tokio::test]
async fn create_service_checks_its_load_balancers() {
    let env = common::start(ClockMode::Virtual).await;
    env.ecs
        .create_cluster()
        .cluster_name("lb")
        .send()
        .await
        .expect("CreateCluster");
    fargate_task_definition(&env.ecs, "app", &[])
        .send()
        .await
        .expect("RegisterTaskDefinition");
    let orphan = crate::elbv2_api::target_group(&env, "orphan", TargetTypeEnum::Ip).await;
    let (_, ip_tg) = lb_and_group(&env, "good", 0).await;
    let instance_tg = crate::elbv2_api::target_group(&env, "by-instance", TargetTypeEnum::Instance).await;
    let lb = load_balancer(&env, "inst").await;
    env.elb
        .create_listener()
        .load_balancer_arn(&lb)
        .protocol(ProtocolEnum::Http)
        .port(80)
        .default_actions(forward_weighted(&[(&instance_tg, 1)]))
        .send()
        .await
        .expect("CreateListener");
    let missing = orphan.replace("orphan", "absent");
    for (tg, port, needle) in [
        (missing.as_str(), 8080, "does not exist"),
        (orphan.as_str(), 8080, "does not have an associated load balancer"),
        (
            instance_tg.as_str(),
            8080,
            "incompatible with the awsvpc network mode",
        ),
        (ip_tg.as_str(), 9999, "did not have a container port 9999"),
    ] {
        let refused = env
            .ecs
            .create_service()
            .cluster("lb")
            .service_name("app")
            .task_definition("app")
            .desired_count(1)
            .launch_type(aws_sdk_ecs::types::LaunchType::Fargate)
            .network_configuration(awsvpc(&[default_subnet('a')]))
            .load_balancers(
                LoadBalancer::builder()
                    .target_group_arn(tg)
                    .container_name("web")
                    .container_port(port)
                    .build(),
            )
            .send()
            .await
            .expect_err("refused");
        assert_eq!(code(&refused), "InvalidParameterException");
        let message = refused.into_service_error().to_string();
        assert!(message.contains(needle), "{message}");
    }
}

pub(crate) async fn admin(
    env: &Env,
    method: reqwest::Method,
    path: &str,
    body: Option<serde_json::Value>,
) -> (u16, serde_json::Value) {
    let mut request = reqwest::Client::new().request(method, format!("{}{path}", env.url()));
    if let Some(body) = body {
        request = request
            .header("content-type", "application/json")
            .body(body.to_string());
    }
    let response = request.send().await.expect("the emulator API answers");
    let status = response.status().as_u16();
    let text = response.text().await.expect("a body");
    (status, serde_json::from_str(&text).expect("JSON"))
}

/// Two services behind one listener split 75/25: simulated traffic follows the weights, the
/// green tasks' error rate shows up in the answers and in the 5XX metric of the green group.
#[tokio::test]
async fn simulated_traffic_follows_weights_and_behaviour_on_the_virtual_clock() {
    let env = common::start(ClockMode::Virtual).await;
    let (listener, blue) = lb_and_group(&env, "blue", 0).await;
    let green_tg = env
        .elb
        .create_target_group()
        .name("green-tg")
        .protocol(ProtocolEnum::Http)
        .port(8080)
        .vpc_id("vpc-0ec5100000000000d")
        .target_type(TargetTypeEnum::Ip)
        .health_check_interval_seconds(5)
        .health_check_timeout_seconds(2)
        .healthy_threshold_count(2)
        .send()
        .await
        .expect("CreateTargetGroup");
    let green = green_tg.target_groups()[0]
        .target_group_arn()
        .expect("ARN")
        .to_string();
    env.elb
        .modify_listener()
        .listener_arn(&listener)
        .default_actions(forward_weighted(&[(&blue, 75), (&green, 25)]))
        .send()
        .await
        .expect("ModifyListener");
    service(&env, "blue", &blue, &[("ECSIM_VERSION", "v1")], None).await;
    fargate_task_definition(
        &env.ecs,
        "green",
        &[("ECSIM_VERSION", "v2"), ("ECSIM_ERROR_RATE", "0.1")],
    )
    .send()
    .await
    .expect("RegisterTaskDefinition");
    env.ecs
        .create_service()
        .cluster("lb")
        .service_name("green")
        .task_definition("green")
        .desired_count(1)
        .launch_type(aws_sdk_ecs::types::LaunchType::Fargate)
        .network_configuration(awsvpc(&[default_subnet('a')]))
        .load_balancers(
            LoadBalancer::builder()
                .target_group_arn(&green)
                .container_name("web")
                .container_port(8080)
                .build(),
        )
        .send()
        .await
        .expect("CreateService");
    env.ecs
        .wait_until_services_stable()
        .cluster("lb")
        .services("blue")
        .services("green")
        .wait(Duration::from_secs(900))
        .await
        .expect("stable");
    env.clock().advance(Duration::from_secs(30));
    let lb_dns = env
        .elb
        .describe_load_balancers()
        .names("blue")
        .send()
        .await
        .expect("DescribeLoadBalancers")
        .load_balancers()[0]
        .dns_name()
        .expect("DNS name")
        .to_string();
    let (status, refused) = admin(
        &env,
        reqwest::Method::POST,
        "/_ecsim/traffic",
        Some(serde_json::json!({"loadBalancer": lb_dns, "requestsPerSecond": 0})),
    )
    .await;
    assert_eq!(status, 400, "{refused}");
    let (status, started) = admin(
        &env,
        reqwest::Method::POST,
        "/_ecsim/traffic",
        Some(serde_json::json!({"loadBalancer": lb_dns, "requestsPerSecond": 100, "durationSeconds": 60})),
    )
    .await;
    assert_eq!(status, 200, "{started}");
    env.clock().advance(Duration::from_secs(120));
    let (_, listing) = admin(&env, reqwest::Method::GET, "/_ecsim/traffic", None).await;
    let run = &listing["traffic"][0];
    assert_eq!(run["sent"], 6_000, "{run}");
    assert_eq!(run["finished"], true);
    let by_task = run["byTask"].as_object().expect("per task");
    assert_eq!(by_task.len(), 4, "three blue tasks and one green: {run}");
    let counts: Vec<u64> = by_task.values().filter_map(|v| v.as_u64()).collect();
    assert!(counts.contains(&1_500), "the green task answers a quarter: {run}");
    assert_eq!(run["statuses"]["500"], 150, "10% of green's answers fail: {run}");
    assert_eq!(run["statuses"]["200"], 5_850, "{run}");

    let (_, metrics) = admin(
        &env,
        reqwest::Method::GET,
        "/_ecsim/metrics?namespace=AWS/ApplicationELB&metricName=HTTPCode_Target_5XX_Count",
        None,
    )
    .await;
    let green_dimension = format!(
        "targetgroup/green-tg/{}",
        green.rsplit('/').next().unwrap_or_default()
    );
    let green_5xx: f64 = metrics["metrics"]
        .as_array()
        .expect("metrics")
        .iter()
        .filter(|m| {
            let dims = m["Dimensions"].as_array().map(Vec::len).unwrap_or(0);
            dims == 2 && m["Dimensions"][0]["Value"] == green_dimension.as_str()
        })
        .filter_map(|m| m["Sum"].as_f64())
        .sum();
    assert_eq!(green_5xx, 150.0, "{metrics}");
}
