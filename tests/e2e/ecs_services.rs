//! Services through aws-sdk-ecs: desired count, AZ spread, rolling updates, events, waiters,
//! deletion and errors.

use std::time::Duration;

use aws_sdk_ecs::client::Waiters;
use aws_sdk_ecs::types::{DeploymentRolloutState, LaunchType};
use ecsim::ClockMode;

use crate::common::{awsvpc, code, default_subnet, fargate_task_definition, start};

async fn setup(env: &crate::common::Env, zones: &str, desired: i32) {
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
    let subnets: Vec<String> = zones.chars().map(default_subnet).collect();
    env.ecs
        .create_service()
        .cluster("demo")
        .service_name("web")
        .task_definition("web:1")
        .desired_count(desired)
        .launch_type(LaunchType::Fargate)
        .network_configuration(awsvpc(&subnets))
        .send()
        .await
        .unwrap();
}

async fn service(env: &crate::common::Env) -> aws_sdk_ecs::types::Service {
    let out = env
        .ecs
        .describe_services()
        .cluster("demo")
        .services("web")
        .send()
        .await
        .unwrap();
    out.services()[0].clone()
}

#[tokio::test]
async fn service_reaches_steady_state_spread_over_azs() {
    let env = start(ClockMode::Virtual).await;
    setup(&env, "abc", 6).await;
    let svc = service(&env).await;
    assert_eq!(svc.status(), Some("ACTIVE"));
    assert_eq!(svc.deployments().len(), 1);
    let d = &svc.deployments()[0];
    assert_eq!(d.status(), Some("PRIMARY"));
    assert_eq!(
        d.rollout_state(),
        Some(&DeploymentRolloutState::InProgress),
        "{svc:#?}"
    );
    assert!(d.id().unwrap().starts_with("ecs-svc/"));
    assert_eq!(
        svc.deployment_configuration().unwrap().maximum_percent(),
        Some(200)
    );
    assert_eq!(
        svc.deployment_configuration().unwrap().minimum_healthy_percent(),
        Some(100)
    );

    env.ecs
        .wait_until_services_stable()
        .cluster("demo")
        .services("web")
        .wait(Duration::from_secs(600))
        .await
        .unwrap();
    let svc = service(&env).await;
    assert_eq!(svc.running_count(), 6);
    assert_eq!(
        svc.deployments()[0].rollout_state(),
        Some(&DeploymentRolloutState::Completed)
    );
    let messages: Vec<&str> = svc.events().iter().filter_map(|e| e.message()).collect();
    assert!(
        messages[0] == "(service web) has reached a steady state.",
        "{messages:?}"
    );
    assert!(
        messages
            .iter()
            .any(|m| m.starts_with("(service web) has started 6 tasks:")),
        "{messages:?}"
    );
    assert!(
        messages.iter().any(|m| m.ends_with("deployment completed.")),
        "{messages:?}"
    );

    let tasks = env
        .ecs
        .list_tasks()
        .cluster("demo")
        .service_name("web")
        .send()
        .await
        .unwrap();
    let described = env
        .ecs
        .describe_tasks()
        .cluster("demo")
        .set_tasks(Some(tasks.task_arns().to_vec()))
        .send()
        .await
        .unwrap();
    let mut per_zone = std::collections::BTreeMap::new();
    for t in described.tasks() {
        *per_zone
            .entry(t.availability_zone().unwrap().to_string())
            .or_insert(0) += 1;
        assert_eq!(t.group(), Some("service:web"));
        assert_eq!(t.started_by(), svc.deployments()[0].id());
    }
    assert_eq!(per_zone.values().copied().collect::<Vec<_>>(), [2, 2, 2]);

    // A stopped task is replaced.
    env.ecs
        .stop_task()
        .cluster("demo")
        .task(&tasks.task_arns()[0])
        .send()
        .await
        .unwrap();
    env.clock().advance(Duration::from_secs(5));
    env.ecs
        .wait_until_services_stable()
        .cluster("demo")
        .services("web")
        .wait(Duration::from_secs(600))
        .await
        .unwrap();
    let again = env
        .ecs
        .list_tasks()
        .cluster("demo")
        .service_name("web")
        .send()
        .await
        .unwrap();
    assert_eq!(again.task_arns().len(), 6);
    assert!(!again.task_arns().contains(&tasks.task_arns()[0]));
}

#[tokio::test]
async fn rolling_update_replaces_every_task() {
    let env = start(ClockMode::Virtual).await;
    setup(&env, "ab", 4).await;
    env.ecs
        .wait_until_services_stable()
        .cluster("demo")
        .services("web")
        .wait(Duration::from_secs(600))
        .await
        .unwrap();
    fargate_task_definition(&env.ecs, "web", &[("ECSIM_VERSION", "v2")])
        .send()
        .await
        .unwrap();
    let updated = env
        .ecs
        .update_service()
        .cluster("demo")
        .service("web")
        .task_definition("web:2")
        .send()
        .await
        .unwrap();
    let svc = updated.service().unwrap();
    // The new PRIMARY deployment is visible in the response itself.
    assert_eq!(svc.deployments().len(), 2);
    assert_eq!(svc.deployments()[0].status(), Some("PRIMARY"));
    assert!(svc.deployments()[0].task_definition().unwrap().ends_with("web:2"));
    assert_eq!(svc.deployments()[1].status(), Some("ACTIVE"));
    let new_id = svc.deployments()[0].id().unwrap().to_string();

    // Minimum healthy 100%: RUNNING tasks never drop below 4 while the update rolls.
    for _ in 0..40 {
        env.clock().advance(Duration::from_millis(250));
        let s = service(&env).await;
        assert!(
            s.running_count() >= 4,
            "running {} during rollout",
            s.running_count()
        );
        assert!(
            s.running_count() + s.pending_count() <= 8,
            "maximumPercent 200 holds"
        );
    }
    env.ecs
        .wait_until_services_stable()
        .cluster("demo")
        .services("web")
        .wait(Duration::from_secs(600))
        .await
        .unwrap();
    let s = service(&env).await;
    assert_eq!(s.deployments().len(), 1);
    assert_eq!(s.deployments()[0].id(), Some(new_id.as_str()));
    assert!(s.task_definition().unwrap().ends_with("web:2"));
    let tasks = env
        .ecs
        .list_tasks()
        .cluster("demo")
        .service_name("web")
        .send()
        .await
        .unwrap();
    let described = env
        .ecs
        .describe_tasks()
        .cluster("demo")
        .set_tasks(Some(tasks.task_arns().to_vec()))
        .send()
        .await
        .unwrap();
    assert_eq!(described.tasks().len(), 4);
    assert!(
        described
            .tasks()
            .iter()
            .all(|t| t.task_definition_arn().unwrap().ends_with("web:2"))
    );

    // Scaling changes the count without a new deployment.
    let scaled = env
        .ecs
        .update_service()
        .cluster("demo")
        .service("web")
        .desired_count(2)
        .send()
        .await
        .unwrap();
    assert_eq!(scaled.service().unwrap().deployments().len(), 1);
    env.ecs
        .wait_until_services_stable()
        .cluster("demo")
        .services("web")
        .wait(Duration::from_secs(600))
        .await
        .unwrap();
    assert_eq!(service(&env).await.running_count(), 2);
}

#[tokio::test]
async fn delete_service_drains_then_goes_inactive() {
    let env = start(ClockMode::Virtual).await;
    setup(&env, "a", 2).await;
    env.ecs
        .wait_until_services_stable()
        .cluster("demo")
        .services("web")
        .wait(Duration::from_secs(600))
        .await
        .unwrap();
    let err = env
        .ecs
        .delete_service()
        .cluster("demo")
        .service("web")
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        code(&err),
        "InvalidParameterException",
        "scaled above 0 without force"
    );
    let deleted = env
        .ecs
        .delete_service()
        .cluster("demo")
        .service("web")
        .force(true)
        .send()
        .await
        .unwrap();
    assert_eq!(deleted.service().unwrap().status(), Some("DRAINING"));
    let err = env
        .ecs
        .update_service()
        .cluster("demo")
        .service("web")
        .desired_count(3)
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&err), "ServiceNotActiveException");
    env.ecs
        .wait_until_services_inactive()
        .cluster("demo")
        .services("web")
        .wait(Duration::from_secs(600))
        .await
        .unwrap();
    let tasks = env.ecs.list_tasks().cluster("demo").send().await.unwrap();
    assert!(tasks.task_arns().is_empty());
    let listed = env.ecs.list_services().cluster("demo").send().await.unwrap();
    assert!(listed.service_arns().is_empty());
    // The name can be used again once the old service is INACTIVE.
    setup_again(&env).await;
}

async fn setup_again(env: &crate::common::Env) {
    env.ecs
        .create_service()
        .cluster("demo")
        .service_name("web")
        .task_definition("web")
        .desired_count(1)
        .launch_type(LaunchType::Fargate)
        .network_configuration(awsvpc(&[default_subnet('a')]))
        .send()
        .await
        .unwrap();
}

#[tokio::test]
async fn service_errors_and_listing() {
    let env = start(ClockMode::Virtual).await;
    setup(&env, "a", 0).await;
    let ecs = &env.ecs;
    let err = ecs
        .create_service()
        .cluster("demo")
        .service_name("web")
        .task_definition("web:1")
        .desired_count(1)
        .launch_type(LaunchType::Fargate)
        .network_configuration(awsvpc(&[default_subnet('a')]))
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&err), "InvalidParameterException", "duplicate service");
    let err = ecs
        .create_service()
        .cluster("ghost")
        .service_name("x")
        .task_definition("web")
        .desired_count(1)
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&err), "ClusterNotFoundException");
    let err = ecs
        .create_service()
        .cluster("demo")
        .service_name("x")
        .task_definition("web:42")
        .desired_count(1)
        .launch_type(LaunchType::Fargate)
        .network_configuration(awsvpc(&[default_subnet('a')]))
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&err), "InvalidParameterException", "bad revision");
    let err = ecs
        .update_service()
        .cluster("demo")
        .service("ghost")
        .desired_count(1)
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&err), "ServiceNotFoundException");
    let err = ecs
        .delete_service()
        .cluster("demo")
        .service("ghost")
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&err), "ServiceNotFoundException");
    let described = ecs
        .describe_services()
        .cluster("demo")
        .services("web")
        .services("ghost")
        .send()
        .await
        .unwrap();
    assert_eq!(described.services().len(), 1);
    assert_eq!(described.failures()[0].reason(), Some("MISSING"));
    assert_eq!(
        described.failures()[0].arn(),
        Some("arn:aws:ecs:us-east-1:000000000000:service/demo/ghost")
    );
    let err = ecs
        .wait_until_services_stable()
        .cluster("demo")
        .services("ghost")
        .wait(Duration::from_secs(60))
        .await
        .unwrap_err();
    assert!(matches!(
        err,
        aws_sdk_ecs::waiters::services_stable::WaitUntilServicesStableError::FailureState(_)
    ));

    for i in 0..12 {
        ecs.create_service()
            .cluster("demo")
            .service_name(format!("svc{i:02}"))
            .task_definition("web")
            .desired_count(0)
            .launch_type(LaunchType::Fargate)
            .network_configuration(awsvpc(&[default_subnet('a')]))
            .send()
            .await
            .unwrap();
    }
    let first = ecs.list_services().cluster("demo").send().await.unwrap();
    assert_eq!(first.service_arns().len(), 10, "default page size is 10");
    let all: Vec<String> = ecs
        .list_services()
        .cluster("demo")
        .into_paginator()
        .items()
        .send()
        .collect::<Result<Vec<_>, _>>()
        .await
        .unwrap();
    assert_eq!(all.len(), 13);
}
