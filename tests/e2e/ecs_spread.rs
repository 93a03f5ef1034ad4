//! The service controller's spread: 40 Fargate tasks over 5 AZs, and EC2 capacity draining out of
//! an AZ and coming back (availabilityZoneRebalancing).

use std::collections::BTreeMap;
use std::time::Duration;

use aws_sdk_ecs::client::Waiters;
use aws_sdk_ecs::types::{ContainerDefinition, ContainerInstanceStatus, LaunchType};
use ecsim::ClockMode;

use crate::common::{Env, awsvpc, default_subnet, fargate_task_definition, register_instance, start};

async fn tasks_per_zone(env: &Env) -> BTreeMap<String, usize> {
    let arns: Vec<String> = env
        .ecs
        .list_tasks()
        .cluster("demo")
        .service_name("web")
        .into_paginator()
        .items()
        .send()
        .collect::<Result<Vec<_>, _>>()
        .await
        .unwrap();
    let mut per_zone = BTreeMap::new();
    for chunk in arns.chunks(100) {
        let described = env
            .ecs
            .describe_tasks()
            .cluster("demo")
            .set_tasks(Some(chunk.to_vec()))
            .send()
            .await
            .unwrap();
        for t in described.tasks() {
            *per_zone
                .entry(t.availability_zone().unwrap().to_string())
                .or_insert(0) += 1;
        }
    }
    per_zone
}

async fn wait_stable(env: &Env) {
    env.ecs
        .wait_until_services_stable()
        .cluster("demo")
        .services("web")
        .wait(Duration::from_secs(3600))
        .await
        .unwrap();
}

#[tokio::test]
async fn forty_fargate_tasks_over_five_azs_are_eight_per_az() {
    let env = start(ClockMode::Virtual).await;
    env.ecs
        .create_cluster()
        .cluster_name("demo")
        .send()
        .await
        .unwrap();
    fargate_task_definition(&env.ecs, "web", &[])
        .send()
        .await
        .unwrap();
    let subnets: Vec<String> = "abcde".chars().map(default_subnet).collect();
    env.ecs
        .create_service()
        .cluster("demo")
        .service_name("web")
        .task_definition("web")
        .desired_count(40)
        .launch_type(LaunchType::Fargate)
        .network_configuration(awsvpc(&subnets))
        .send()
        .await
        .unwrap();
    wait_stable(&env).await;
    let per_zone = tasks_per_zone(&env).await;
    assert_eq!(
        per_zone.values().copied().collect::<Vec<_>>(),
        [8, 8, 8, 8, 8],
        "{per_zone:?}"
    );

    // Stopped tasks are replaced, and the spread holds.
    let some: Vec<String> = env
        .ecs
        .list_tasks()
        .cluster("demo")
        .max_results(5)
        .send()
        .await
        .unwrap()
        .task_arns()
        .to_vec();
    for arn in &some {
        env.ecs
            .stop_task()
            .cluster("demo")
            .task(arn)
            .send()
            .await
            .unwrap();
    }
    env.clock().advance(Duration::from_secs(2));
    wait_stable(&env).await;
    let per_zone = tasks_per_zone(&env).await;
    assert_eq!(per_zone.values().sum::<usize>(), 40);
    assert!(per_zone.values().all(|n| (7..=9).contains(n)), "{per_zone:?}");
}

#[tokio::test]
async fn draining_an_az_moves_its_tasks_and_reactivation_rebalances() {
    let env = start(ClockMode::Virtual).await;
    env.ecs
        .create_cluster()
        .cluster_name("demo")
        .send()
        .await
        .unwrap();
    let mut instance_of_zone = BTreeMap::new();
    for z in ['a', 'b', 'c', 'd', 'e'] {
        let zone = format!("us-east-1{z}");
        let arn = register_instance(&env.ecs, "demo", &[("ecs.availability-zone", &zone)]).await;
        instance_of_zone.insert(zone, arn);
    }
    env.ecs
        .register_task_definition()
        .family("web")
        .container_definitions(
            ContainerDefinition::builder()
                .name("web")
                .image("web:1")
                .memory(256)
                .build(),
        )
        .send()
        .await
        .unwrap();
    env.ecs
        .create_service()
        .cluster("demo")
        .service_name("web")
        .task_definition("web")
        .desired_count(10)
        .launch_type(LaunchType::Ec2)
        .send()
        .await
        .unwrap();
    wait_stable(&env).await;
    assert_eq!(
        tasks_per_zone(&env).await.values().copied().collect::<Vec<_>>(),
        [2, 2, 2, 2, 2]
    );

    let e = instance_of_zone["us-east-1e"].clone();
    env.ecs
        .update_container_instances_state()
        .cluster("demo")
        .container_instances(&e)
        .status(ContainerInstanceStatus::Draining)
        .send()
        .await
        .unwrap();
    for _ in 0..20 {
        env.clock().advance(Duration::from_millis(250));
        let s = env
            .ecs
            .describe_services()
            .cluster("demo")
            .services("web")
            .send()
            .await
            .unwrap();
        assert!(
            s.services()[0].running_count() >= 10,
            "minimumHealthyPercent 100 holds while draining"
        );
    }
    env.clock().advance(Duration::from_secs(10));
    wait_stable(&env).await;
    let per_zone = tasks_per_zone(&env).await;
    assert!(!per_zone.contains_key("us-east-1e"), "{per_zone:?}");
    assert_eq!(per_zone.values().sum::<usize>(), 10);
    assert!(per_zone.values().all(|n| (2..=3).contains(n)), "{per_zone:?}");

    env.ecs
        .update_container_instances_state()
        .cluster("demo")
        .container_instances(&e)
        .status(ContainerInstanceStatus::Active)
        .send()
        .await
        .unwrap();
    env.clock().advance(Duration::from_secs(60));
    wait_stable(&env).await;
    assert_eq!(
        tasks_per_zone(&env).await.values().copied().collect::<Vec<_>>(),
        [2, 2, 2, 2, 2],
        "rebalanced"
    );
    let s = env
        .ecs
        .describe_services()
        .cluster("demo")
        .services("web")
        .send()
        .await
        .unwrap();
    let events: Vec<&str> = s.services()[0]
        .events()
        .iter()
        .filter_map(|e| e.message())
        .collect();
    assert!(events.iter().any(|m| m.contains("rebalancing")), "{events:?}");
}
