//! The same seed and the same calls on the virtual clock give byte-identical answers.

use std::time::Duration;

use aws_sdk_ecs::types::LaunchType;
use ecsim::{ClockMode, Emulator};

use crate::common::{Env, awsvpc, default_subnet, fargate_task_definition, start_with};

async fn scenario(seed: u64) -> Vec<u8> {
    let env: Env = start_with(Emulator::builder().seed(seed).clock(ClockMode::Virtual), "test").await;
    env.ecs.create_cluster().cluster_name("det").send().await.unwrap();
    fargate_task_definition(&env.ecs, "web", &[("ECSIM_EXIT_AFTER_SECONDS", "45")])
        .send()
        .await
        .unwrap();
    let subnets: Vec<String> = "abcde".chars().map(default_subnet).collect();
    env.ecs
        .create_service()
        .cluster("det")
        .service_name("web")
        .task_definition("web")
        .desired_count(5)
        .launch_type(LaunchType::Fargate)
        .network_configuration(awsvpc(&subnets))
        .send()
        .await
        .unwrap();
    env.ecs
        .run_task()
        .cluster("det")
        .task_definition("web")
        .count(3)
        .launch_type(LaunchType::Fargate)
        .network_configuration(awsvpc(&subnets))
        .send()
        .await
        .unwrap();
    env.clock().advance(Duration::from_secs(100));
    let mut arns: Vec<String> = env
        .ecs
        .list_tasks()
        .cluster("det")
        .send()
        .await
        .unwrap()
        .task_arns()
        .to_vec();
    arns.extend(
        env.ecs
            .list_tasks()
            .cluster("det")
            .desired_status(aws_sdk_ecs::types::DesiredStatus::Stopped)
            .send()
            .await
            .unwrap()
            .task_arns()
            .to_vec(),
    );
    let body = serde_json::json!({ "cluster": "det", "tasks": arns }).to_string();
    let resp = reqwest::Client::new()
        .post(env.url())
        .header("x-amz-target", "AmazonEC2ContainerServiceV20141113.DescribeTasks")
        .header("content-type", "application/x-amz-json-1.1")
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 200);
    resp.bytes().await.unwrap().to_vec()
}

#[tokio::test]
async fn same_seed_same_bytes() {
    let a = scenario(42).await;
    let b = scenario(42).await;
    assert!(a.len() > 1000, "a substantial answer");
    assert_eq!(String::from_utf8_lossy(&a), String::from_utf8_lossy(&b));
    let c = scenario(43).await;
    assert_ne!(a, c, "another seed gives other identifiers");
}
