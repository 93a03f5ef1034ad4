//! Task definitions through aws-sdk-ecs: registration round trips, revisions, lookups, listing.

use aws_sdk_ecs::types::{
    ContainerDefinition, HealthCheck, KeyValuePair, LogConfiguration, LogDriver, PortMapping, SortOrder,
    TaskDefinitionFamilyStatus, TaskDefinitionField, TaskDefinitionStatus, Ulimit, UlimitName,
};
use ecsim::ClockMode;

use crate::common::{code, fargate_task_definition, start};

#[tokio::test]
async fn register_round_trips_container_definitions() {
    let env = start(ClockMode::Virtual).await;
    let container = ContainerDefinition::builder()
        .name("app")
        .image("app:1")
        .cpu(128)
        .memory(256)
        .memory_reservation(128)
        .essential(true)
        .entry_point("/bin/app")
        .command("--serve")
        .working_directory("/srv")
        .user("1000")
        .environment(KeyValuePair::builder().name("MODE").value("prod").build())
        .port_mappings(PortMapping::builder().container_port(8080).host_port(0).build())
        .health_check(
            HealthCheck::builder()
                .command("CMD-SHELL")
                .command("true")
                .interval(10)
                .retries(2)
                .build()
                .unwrap(),
        )
        .ulimits(
            Ulimit::builder()
                .name(UlimitName::Nofile)
                .soft_limit(1024)
                .hard_limit(2048)
                .build()
                .unwrap(),
        )
        .docker_labels("team", "web")
        .readonly_root_filesystem(true)
        .stop_timeout(5)
        .log_configuration(
            LogConfiguration::builder()
                .log_driver(LogDriver::Awslogs)
                .options("awslogs-group", "/ecs/app")
                .build()
                .unwrap(),
        )
        .build();
    let registered = env
        .ecs
        .register_task_definition()
        .family("app")
        .container_definitions(container.clone())
        .tags(aws_sdk_ecs::types::Tag::builder().key("k").value("v").build())
        .send()
        .await
        .unwrap();
    let td = registered.task_definition().unwrap();
    assert_eq!(td.revision(), 1);
    assert_eq!(
        td.task_definition_arn(),
        Some("arn:aws:ecs:us-east-1:000000000000:task-definition/app:1")
    );
    assert_eq!(td.status(), Some(&TaskDefinitionStatus::Active));
    let back = &td.container_definitions()[0];
    assert_eq!(back.name(), container.name());
    assert_eq!(back.entry_point(), container.entry_point());
    assert_eq!(back.command(), container.command());
    assert_eq!(back.environment(), container.environment());
    assert_eq!(back.health_check(), container.health_check());
    assert_eq!(back.ulimits(), container.ulimits());
    assert_eq!(back.docker_labels(), container.docker_labels());
    assert_eq!(back.log_configuration(), container.log_configuration());
    assert_eq!(back.stop_timeout(), Some(5));
    assert_eq!(back.readonly_root_filesystem(), Some(true));
    assert_eq!(back.memory_reservation(), Some(128));

    let described = env
        .ecs
        .describe_task_definition()
        .task_definition("app")
        .include(TaskDefinitionField::Tags)
        .send()
        .await
        .unwrap();
    assert_eq!(
        described.task_definition().unwrap().container_definitions(),
        td.container_definitions()
    );
    assert_eq!(described.tags().len(), 1);
}

#[tokio::test]
async fn revisions_lookups_deregister_and_delete() {
    let env = start(ClockMode::Virtual).await;
    let ecs = &env.ecs;
    for _ in 0..3 {
        fargate_task_definition(ecs, "web", &[]).send().await.unwrap();
    }
    fargate_task_definition(ecs, "worker", &[]).send().await.unwrap();
    let latest = ecs
        .describe_task_definition()
        .task_definition("web")
        .send()
        .await
        .unwrap();
    assert_eq!(latest.task_definition().unwrap().revision(), 3);
    let by_rev = ecs
        .describe_task_definition()
        .task_definition("web:2")
        .send()
        .await
        .unwrap();
    assert_eq!(by_rev.task_definition().unwrap().revision(), 2);
    let by_arn = ecs
        .describe_task_definition()
        .task_definition("arn:aws:ecs:us-east-1:000000000000:task-definition/web:1")
        .send()
        .await
        .unwrap();
    assert_eq!(by_arn.task_definition().unwrap().revision(), 1);
    let err = ecs
        .describe_task_definition()
        .task_definition("web:9")
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&err), "ClientException");

    let dereg = ecs
        .deregister_task_definition()
        .task_definition("web:3")
        .send()
        .await
        .unwrap();
    assert_eq!(
        dereg.task_definition().unwrap().status(),
        Some(&TaskDefinitionStatus::Inactive)
    );
    let latest = ecs
        .describe_task_definition()
        .task_definition("web")
        .send()
        .await
        .unwrap();
    assert_eq!(
        latest.task_definition().unwrap().revision(),
        2,
        "family resolves to the latest ACTIVE"
    );

    let active = ecs
        .list_task_definitions()
        .family_prefix("web")
        .send()
        .await
        .unwrap();
    assert_eq!(active.task_definition_arns().len(), 2);
    let desc = ecs
        .list_task_definitions()
        .sort(SortOrder::Desc)
        .send()
        .await
        .unwrap();
    assert!(desc.task_definition_arns()[0].ends_with("worker:1"));
    let paged: Vec<String> = ecs
        .list_task_definitions()
        .max_results(1)
        .into_paginator()
        .items()
        .send()
        .collect::<Result<Vec<_>, _>>()
        .await
        .unwrap();
    assert_eq!(paged.len(), 3);
    let families = ecs
        .list_task_definition_families()
        .status(TaskDefinitionFamilyStatus::Active)
        .send()
        .await
        .unwrap();
    assert_eq!(families.families(), ["web", "worker"]);

    let deleted = ecs
        .delete_task_definitions()
        .task_definitions("web:3")
        .task_definitions("web:2")
        .send()
        .await
        .unwrap();
    assert_eq!(deleted.task_definitions().len(), 1);
    assert_eq!(
        deleted.task_definitions()[0].status(),
        Some(&TaskDefinitionStatus::DeleteInProgress)
    );
    assert_eq!(deleted.failures().len(), 1, "web:2 is still ACTIVE");

    // Revisions are never reused.
    let next = fargate_task_definition(ecs, "web", &[]).send().await.unwrap();
    assert_eq!(next.task_definition().unwrap().revision(), 4);
}

#[tokio::test]
async fn registration_errors() {
    let env = start(ClockMode::Virtual).await;
    let ecs = &env.ecs;
    let err = ecs
        .register_task_definition()
        .family("bad")
        .container_definitions(ContainerDefinition::builder().name("c").memory(128).build())
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&err), "ClientException", "a container without an image");
    let err = fargate_task_definition(ecs, "bad", &[])
        .cpu("300")
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&err), "ClientException", "invalid Fargate cpu");
    let err = fargate_task_definition(ecs, "bad", &[("ECSIM_ERROR_RATE", "7")])
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&err), "ClientException", "a bad behaviour variable");
}
