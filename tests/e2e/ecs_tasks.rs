//! RunTask, StopTask, DescribeTasks, ListTasks and the simulated lifecycle through aws-sdk-ecs.

use std::time::Duration;

use aws_sdk_ecs::client::Waiters;
use aws_sdk_ecs::types::{
    ContainerOverride, DesiredStatus, KeyValuePair, LaunchType, TaskOverride, TaskStopCode,
};
use ecsim::ClockMode;

use crate::common::{awsvpc, code, default_subnet, fargate_task_definition, register_instance, start};

async fn cluster_and_family(env: &crate::common::Env, env_vars: &[(&str, &str)]) {
    env.ecs
        .create_cluster()
        .cluster_name("demo")
        .send()
        .await
        .unwrap();
    fargate_task_definition(&env.ecs, "web", env_vars)
        .send()
        .await
        .unwrap();
}

#[tokio::test]
async fn run_task_walks_the_lifecycle_and_spreads_over_azs() {
    let env = start(ClockMode::Virtual).await;
    cluster_and_family(&env, &[]).await;
    let subnets: Vec<String> = "abc".chars().map(default_subnet).collect();
    let run = env
        .ecs
        .run_task()
        .cluster("demo")
        .task_definition("web")
        .count(6)
        .launch_type(LaunchType::Fargate)
        .network_configuration(awsvpc(&subnets))
        .started_by("tests")
        .send()
        .await
        .unwrap();
    assert!(run.failures().is_empty());
    let tasks = run.tasks();
    assert_eq!(tasks.len(), 6);
    for t in tasks {
        assert_eq!(t.last_status(), Some("PROVISIONING"));
        assert_eq!(t.desired_status(), Some("RUNNING"));
        assert_eq!(t.group(), Some("family:web"));
        assert_eq!(t.launch_type(), Some(&LaunchType::Fargate));
        assert_eq!(t.started_by(), Some("tests"));
    }
    let mut zones: Vec<&str> = tasks.iter().filter_map(|t| t.availability_zone()).collect();
    zones.sort();
    assert_eq!(
        zones,
        [
            "us-east-1a",
            "us-east-1a",
            "us-east-1b",
            "us-east-1b",
            "us-east-1c",
            "us-east-1c"
        ]
    );
    let arns: Vec<String> = tasks
        .iter()
        .filter_map(|t| t.task_arn().map(String::from))
        .collect();

    env.ecs
        .wait_until_tasks_running()
        .cluster("demo")
        .set_tasks(Some(arns.clone()))
        .wait(Duration::from_secs(120))
        .await
        .unwrap();
    let described = env
        .ecs
        .describe_tasks()
        .cluster("demo")
        .set_tasks(Some(arns.clone()))
        .send()
        .await
        .unwrap();
    for t in described.tasks() {
        assert_eq!(t.last_status(), Some("RUNNING"));
        assert!(t.started_at().is_some() && t.pull_started_at().is_some() && t.pull_stopped_at().is_some());
        let eni = &t.attachments()[0];
        assert_eq!(eni.r#type(), Some("ElasticNetworkInterface"));
        let ip = eni
            .details()
            .iter()
            .find(|d| d.name() == Some("privateIPv4Address"))
            .and_then(|d| d.value())
            .unwrap();
        let subnet = eni
            .details()
            .iter()
            .find(|d| d.name() == Some("subnetId"))
            .and_then(|d| d.value())
            .unwrap();
        assert!(ip.starts_with("172.31."), "{ip}");
        assert!(subnet.starts_with("subnet-0ec5100000000000"), "{subnet}");
        let third: u32 = ip.split('.').nth(2).unwrap().parse().unwrap();
        let expected_block = match t.availability_zone().unwrap() {
            "us-east-1a" => 0..16,
            "us-east-1b" => 16..32,
            _ => 32..48,
        };
        assert!(expected_block.contains(&third), "{ip} lies in its subnet's CIDR");
        assert_eq!(t.containers()[0].last_status(), Some("RUNNING"));
    }

    // StopTask: desired STOPPED at once, then the walk to STOPPED.
    let stopped = env
        .ecs
        .stop_task()
        .cluster("demo")
        .task(&arns[0])
        .reason("done here")
        .send()
        .await
        .unwrap();
    let t = stopped.task().unwrap();
    assert_eq!(t.desired_status(), Some("STOPPED"));
    assert_eq!(t.stop_code(), Some(&TaskStopCode::UserInitiated));
    assert_eq!(t.stopped_reason(), Some("done here"));
    env.ecs
        .wait_until_tasks_stopped()
        .cluster("demo")
        .tasks(&arns[0])
        .wait(Duration::from_secs(120))
        .await
        .unwrap();
    let after = env
        .ecs
        .describe_tasks()
        .cluster("demo")
        .tasks(&arns[0])
        .send()
        .await
        .unwrap();
    let t = &after.tasks()[0];
    assert_eq!(t.last_status(), Some("STOPPED"));
    assert!(t.stopped_at().is_some() && t.execution_stopped_at().is_some() && t.stopping_at().is_some());
    assert_eq!(t.containers()[0].exit_code(), Some(0));

    let running = env.ecs.list_tasks().cluster("demo").send().await.unwrap();
    assert_eq!(running.task_arns().len(), 5);
    let stopped = env
        .ecs
        .list_tasks()
        .cluster("demo")
        .desired_status(DesiredStatus::Stopped)
        .send()
        .await
        .unwrap();
    assert_eq!(stopped.task_arns(), [arns[0].clone()]);
    let by_family = env
        .ecs
        .list_tasks()
        .cluster("demo")
        .family("web")
        .max_results(2)
        .into_paginator()
        .items()
        .send();
    let all: Vec<String> = by_family.collect::<Result<Vec<_>, _>>().await.unwrap();
    assert_eq!(all.len(), 5);
    let none = env
        .ecs
        .list_tasks()
        .cluster("demo")
        .family("other")
        .send()
        .await
        .unwrap();
    assert!(none.task_arns().is_empty());
}

#[tokio::test]
async fn behaviour_variables_make_tasks_crash_or_fail() {
    let env = start(ClockMode::Virtual).await;
    cluster_and_family(&env, &[]).await;
    let subnets = vec![default_subnet('a')];
    let crash = TaskOverride::builder()
        .container_overrides(
            ContainerOverride::builder()
                .name("web")
                .environment(
                    KeyValuePair::builder()
                        .name("ECSIM_EXIT_AFTER_SECONDS")
                        .value("30")
                        .build(),
                )
                .environment(KeyValuePair::builder().name("ECSIM_EXIT_CODE").value("3").build())
                .build(),
        )
        .build();
    let run = env
        .ecs
        .run_task()
        .cluster("demo")
        .task_definition("web:1")
        .launch_type(LaunchType::Fargate)
        .network_configuration(awsvpc(&subnets))
        .overrides(crash)
        .send()
        .await
        .unwrap();
    let arn = run.tasks()[0].task_arn().unwrap().to_string();
    env.clock().advance(Duration::from_secs(10));
    let t = env
        .ecs
        .describe_tasks()
        .cluster("demo")
        .tasks(&arn)
        .send()
        .await
        .unwrap();
    assert_eq!(t.tasks()[0].last_status(), Some("RUNNING"));
    env.clock().advance(Duration::from_secs(30));
    let t = env
        .ecs
        .describe_tasks()
        .cluster("demo")
        .tasks(&arn)
        .send()
        .await
        .unwrap();
    let t = &t.tasks()[0];
    assert_eq!(t.last_status(), Some("STOPPED"));
    assert_eq!(t.stop_code(), Some(&TaskStopCode::EssentialContainerExited));
    assert_eq!(t.stopped_reason(), Some("Essential container in task exited"));
    assert_eq!(t.containers()[0].exit_code(), Some(3));

    // An image marked unpullable fails the way ECS does.
    let reg = env
        .ecs
        .register_task_definition()
        .family("broken")
        .network_mode(aws_sdk_ecs::types::NetworkMode::Awsvpc)
        .requires_compatibilities(aws_sdk_ecs::types::Compatibility::Fargate)
        .cpu("256")
        .memory("512")
        .container_definitions(
            aws_sdk_ecs::types::ContainerDefinition::builder()
                .name("x")
                .image("unpullable.invalid/x:1")
                .build(),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(reg.task_definition().unwrap().revision(), 1);
    let run = env
        .ecs
        .run_task()
        .cluster("demo")
        .task_definition("broken")
        .launch_type(LaunchType::Fargate)
        .network_configuration(awsvpc(&subnets))
        .send()
        .await
        .unwrap();
    let arn = run.tasks()[0].task_arn().unwrap().to_string();
    let err = env
        .ecs
        .wait_until_tasks_running()
        .cluster("demo")
        .tasks(&arn)
        .wait(Duration::from_secs(300))
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            aws_sdk_ecs::waiters::tasks_running::WaitUntilTasksRunningError::FailureState(_)
        ),
        "{err:?}"
    );
    let t = env
        .ecs
        .describe_tasks()
        .cluster("demo")
        .tasks(&arn)
        .send()
        .await
        .unwrap();
    let t = &t.tasks()[0];
    assert_eq!(t.stop_code(), Some(&TaskStopCode::TaskFailedToStart));
    assert!(
        t.stopped_reason()
            .unwrap()
            .starts_with("CannotPullContainerError"),
        "{:?}",
        t.stopped_reason()
    );
}

#[tokio::test]
async fn task_errors() {
    let env = start(ClockMode::Virtual).await;
    cluster_and_family(&env, &[]).await;
    let ecs = &env.ecs;
    let subnets = vec![default_subnet('a')];
    let err = ecs
        .run_task()
        .cluster("ghost")
        .task_definition("web")
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&err), "ClusterNotFoundException");
    let err = ecs
        .run_task()
        .cluster("demo")
        .task_definition("web:7")
        .launch_type(LaunchType::Fargate)
        .network_configuration(awsvpc(&subnets))
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&err), "ClientException", "unknown revision");
    let err = ecs
        .run_task()
        .cluster("demo")
        .task_definition("web")
        .count(11)
        .launch_type(LaunchType::Fargate)
        .network_configuration(awsvpc(&subnets))
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&err), "InvalidParameterException");
    let err = ecs
        .run_task()
        .cluster("demo")
        .task_definition("web")
        .launch_type(LaunchType::Fargate)
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        code(&err),
        "InvalidParameterException",
        "awsvpc needs a network configuration"
    );
    let err = ecs
        .run_task()
        .cluster("demo")
        .task_definition("web")
        .launch_type(LaunchType::Fargate)
        .network_configuration(awsvpc(&["subnet-0000000000000dead".to_string()]))
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&err), "InvalidParameterException", "unknown subnet");
    let err = ecs
        .run_task()
        .cluster("demo")
        .task_definition("web")
        .launch_type(LaunchType::Ec2)
        .network_configuration(awsvpc(&subnets))
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&err), "InvalidParameterException", "no container instances");
    let err = ecs
        .stop_task()
        .cluster("demo")
        .task("0123456789abcdef0123456789abcdef")
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&err), "InvalidParameterException");
    let missing = ecs
        .describe_tasks()
        .cluster("demo")
        .tasks("0123456789abcdef0123456789abcdef")
        .send()
        .await
        .unwrap();
    assert_eq!(missing.failures()[0].reason(), Some("MISSING"));
}

#[tokio::test]
async fn ec2_capacity_from_registered_container_instances() {
    use aws_sdk_ecs::types::ContainerInstanceStatus;
    let env = start(ClockMode::Virtual).await;
    let ecs = &env.ecs;
    ecs.create_cluster().cluster_name("ec2").send().await.unwrap();
    for zone in ["us-east-1a", "us-east-1b"] {
        register_instance(ecs, "ec2", &[("ecs.availability-zone", zone)]).await;
    }
    let listed = ecs
        .list_container_instances()
        .cluster("ec2")
        .send()
        .await
        .unwrap();
    assert_eq!(listed.container_instance_arns().len(), 2);
    ecs.register_task_definition()
        .family("batch")
        .container_definitions(
            aws_sdk_ecs::types::ContainerDefinition::builder()
                .name("b")
                .image("busybox")
                .memory(1024)
                .cpu(512)
                .build(),
        )
        .send()
        .await
        .unwrap();
    let run = ecs
        .run_task()
        .cluster("ec2")
        .task_definition("batch")
        .count(4)
        .send()
        .await
        .unwrap();
    assert_eq!(run.tasks().len(), 4);
    let mut zones: Vec<&str> = run.tasks().iter().filter_map(|t| t.availability_zone()).collect();
    zones.sort();
    assert_eq!(zones, ["us-east-1a", "us-east-1a", "us-east-1b", "us-east-1b"]);
    assert!(run.tasks().iter().all(|t| t.container_instance_arn().is_some()));
    // 3904 MiB per instance: a fifth 1024 MiB task still fits on neither? 2 x 1024 used each, so yes
    // one more fits per instance; then memory runs out and RunTask reports the reason.
    let more = ecs
        .run_task()
        .cluster("ec2")
        .task_definition("batch")
        .count(4)
        .send()
        .await
        .unwrap();
    assert_eq!(more.tasks().len(), 2);
    assert_eq!(more.failures().len(), 2);
    assert_eq!(more.failures()[0].reason(), Some("RESOURCE:MEMORY"));
    let ci = ecs
        .describe_container_instances()
        .cluster("ec2")
        .container_instances(listed.container_instance_arns()[0].clone())
        .send()
        .await
        .unwrap();
    let remaining = ci.container_instances()[0]
        .remaining_resources()
        .iter()
        .find(|r| r.name() == Some("MEMORY"))
        .unwrap();
    assert_eq!(remaining.integer_value(), 3904 - 3 * 1024);
    let drained = ecs
        .update_container_instances_state()
        .cluster("ec2")
        .container_instances(listed.container_instance_arns()[0].clone())
        .status(ContainerInstanceStatus::Draining)
        .send()
        .await
        .unwrap();
    assert_eq!(drained.container_instances()[0].status(), Some("DRAINING"));
}
