//! An ECS service of real containers behind an ecsim load balancer: `curl` to the listener gets
//! answers from all three tasks, and stopping a task deregisters (drains) it before its container
//! stops.

use std::collections::BTreeSet;
use std::process::Command;

use aws_sdk_ecs::types::{
    Compatibility, ContainerDefinition, LaunchType, LoadBalancer, NetworkMode, PortMapping, Task,
};
use aws_sdk_elasticloadbalancingv2::types::{
    ProtocolEnum, TargetGroupAttribute, TargetHealthStateEnum, TargetTypeEnum,
};

use crate::common::{Env, awsvpc, default_subnet};
use crate::docker_support::{TEST_IMAGE, docker_tests_enabled, instance_containers, pause_ms, start_docker};
use crate::elbv2_api::{forward_weighted, load_balancer};
use crate::elbv2_traffic::listener_url;

/// Polls every 200 ms of real time, for at most `limit_s` seconds, until `probe` holds.
async fn until<T>(limit_s: u64, what: &str, mut probe: impl AsyncFnMut() -> Option<T>) -> T {
    for _ in 0..limit_s * 5 {
        if let Some(v) = probe().await {
            return v;
        }
        pause_ms(200).await;
    }
    panic!("timed out after {limit_s} s waiting for {what}");
}

async fn target_states(env: &Env, tg: &str) -> Vec<(String, TargetHealthStateEnum)> {
    env.elb
        .describe_target_health()
        .target_group_arn(tg)
        .send()
        .await
        .expect("DescribeTargetHealth")
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
        .collect()
}

async fn describe_task(env: &Env, arn: &str) -> Task {
    env.ecs
        .describe_tasks()
        .cluster("c")
        .tasks(arn)
        .send()
        .await
        .expect("DescribeTasks")
        .tasks()[0]
        .clone()
}

/// `curl -s <url>`, off the test's runtime thread (the emulator serves on that thread).
async fn curl(url: &str) -> String {
    let url = url.to_string();
    let out = tokio::task::spawn_blocking(move || {
        Command::new("curl")
            .args(["-s", "--max-time", "5", &url])
            .output()
            .expect("curl runs")
    })
    .await
    .expect("curl task");
    assert!(out.status.success(), "curl failed: {out:?}");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[tokio::test]
async fn a_service_of_three_containers_serves_through_its_listener_and_drains_on_stop() {
    if !docker_tests_enabled("a_service_of_three_containers_serves_through_its_listener") {
        return;
    }
    let (env, instance) = start_docker("lb-service").await;
    env.ecs
        .create_cluster()
        .cluster_name("c")
        .send()
        .await
        .expect("CreateCluster");
    let lb = load_balancer(&env, "docker-web").await;
    let created = env
        .elb
        .create_target_group()
        .name("docker-web")
        .protocol(ProtocolEnum::Http)
        .port(8080)
        .vpc_id("vpc-0ec5100000000000d")
        .target_type(TargetTypeEnum::Ip)
        .health_check_path("/health")
        .health_check_interval_seconds(5)
        .health_check_timeout_seconds(2)
        .healthy_threshold_count(2)
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
                .value("5")
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
    let listener_arn = listener.listeners()[0].listener_arn().expect("ARN").to_string();
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
                .build(),
        )
        .send()
        .await
        .expect("RegisterTaskDefinition");
    env.ecs
        .create_service()
        .cluster("c")
        .service_name("web")
        .task_definition("web")
        .desired_count(3)
        .launch_type(LaunchType::Fargate)
        .network_configuration(awsvpc(&[
            default_subnet('a'),
            default_subnet('b'),
            default_subnet('c'),
        ]))
        .load_balancers(
            LoadBalancer::builder()
                .target_group_arn(&tg)
                .container_name("web")
                .container_port(8080)
                .build(),
        )
        .send()
        .await
        .expect("CreateService");
    until(90, "three healthy targets", async || {
        let states = target_states(&env, &tg).await;
        (states.len() == 3 && states.iter().all(|s| s.1 == TargetHealthStateEnum::Healthy)).then_some(())
    })
    .await;

    let url = listener_url(&env, &listener_arn).await;
    let mut hosts = BTreeSet::new();
    for _ in 0..12 {
        let body = curl(&format!("{url}/")).await;
        assert!(body.starts_with("ecsim-testapp"), "{body}");
        let host = body.split("host=").nth(1).unwrap_or_default().trim().to_string();
        hosts.insert(host);
    }
    assert_eq!(hosts.len(), 3, "answers from every task: {hosts:?}");

    // An errorRate fault on the group: the proxy answers half of each target's requests with
    // the fault's 503 in the target's place, and forwards the rest to the real containers.
    let client = reqwest::Client::new();
    let fault_text = client
        .post(format!("{}/_ecsim/faults", env.url()))
        .header("content-type", "application/json")
        .body(serde_json::json!({"type": "errorRate", "targetGroupArn": tg, "errorRatePct": 50, "statusCode": 503}).to_string())
        .send()
        .await
        .expect("POST /_ecsim/faults")
        .text()
        .await
        .expect("a body");
    let fault: serde_json::Value = serde_json::from_str(&fault_text).expect("JSON");
    let fault_id = fault["faultId"].as_str().expect("a fault id").to_string();
    let mut faulted = 0;
    for _ in 0..12 {
        let body = curl(&format!("{url}/")).await;
        if body.contains("\"fault\":\"errorRate\"") {
            faulted += 1;
        } else {
            assert!(body.starts_with("ecsim-testapp"), "{body}");
        }
    }
    assert_eq!(faulted, 6, "exactly half of the requests");
    let ended = client
        .delete(format!("{}/_ecsim/faults/{fault_id}", env.url()))
        .send()
        .await
        .expect("DELETE /_ecsim/faults/{id}");
    assert_eq!(ended.status().as_u16(), 200);
    for _ in 0..6 {
        assert!(
            curl(&format!("{url}/")).await.starts_with("ecsim-testapp"),
            "the fault is over"
        );
    }

    // Stopping one task deregisters it first: its container still runs while the target drains.
    let tasks = env
        .ecs
        .list_tasks()
        .cluster("c")
        .service_name("web")
        .send()
        .await
        .expect("ListTasks");
    let victim = tasks.task_arns()[0].clone();
    let victim_ip = describe_task(&env, &victim).await.containers()[0].network_interfaces()[0]
        .private_ipv4_address()
        .expect("an address")
        .to_string();
    env.ecs
        .stop_task()
        .cluster("c")
        .task(&victim)
        .send()
        .await
        .expect("StopTask");
    assert_eq!(
        describe_task(&env, &victim).await.last_status(),
        Some("DEACTIVATING")
    );
    let states = target_states(&env, &tg).await;
    assert!(
        states.contains(&(victim_ip.clone(), TargetHealthStateEnum::Draining)),
        "{states:?}"
    );
    assert_eq!(
        instance_containers(&instance).len(),
        3,
        "the container runs while it drains"
    );
    for _ in 0..6 {
        assert!(curl(&format!("{url}/")).await.starts_with("ecsim-testapp"));
    }
    until(30, "the stopped task", async || {
        (describe_task(&env, &victim).await.last_status() == Some("STOPPED")).then_some(())
    })
    .await;
    until(60, "a healthy replacement", async || {
        let states = target_states(&env, &tg).await;
        let healthy = states
            .iter()
            .filter(|s| s.1 == TargetHealthStateEnum::Healthy)
            .count();
        (healthy == 3 && states.len() == 3).then_some(())
    })
    .await;
    env.emulator.shutdown().await;
}
