//! The remaining ECS operations through aws-sdk-ecs: cluster updates, StartTask on chosen
//! instances, deregistering instances, account setting defaults and deletion.

use std::time::Duration;

use aws_sdk_ecs::types::{
    Attribute, ClusterConfiguration, ClusterField, ClusterSetting, ClusterSettingName, ContainerDefinition,
    ExecuteCommandConfiguration, ExecuteCommandLogging, SettingName, TaskStopCode,
};
use ecsim::ClockMode;

use crate::common::{code, start};

#[tokio::test]
async fn update_cluster_and_settings() {
    let env = start(ClockMode::Virtual).await;
    let ecs = &env.ecs;
    ecs.create_cluster().cluster_name("u").send().await.unwrap();
    let updated = ecs
        .update_cluster_settings()
        .cluster("u")
        .settings(
            ClusterSetting::builder()
                .name(ClusterSettingName::ContainerInsights)
                .value("enhanced")
                .build(),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(updated.cluster().unwrap().settings()[0].value(), Some("enhanced"));
    let config = ClusterConfiguration::builder()
        .execute_command_configuration(
            ExecuteCommandConfiguration::builder()
                .logging(ExecuteCommandLogging::Default)
                .build(),
        )
        .build();
    ecs.update_cluster()
        .cluster("u")
        .configuration(config.clone())
        .send()
        .await
        .unwrap();
    let described = ecs
        .describe_clusters()
        .clusters("u")
        .include(ClusterField::Configurations)
        .send()
        .await
        .unwrap();
    assert_eq!(described.clusters()[0].configuration(), Some(&config));
    let err = ecs
        .update_cluster_settings()
        .cluster("u")
        .settings(
            ClusterSetting::builder()
                .name(ClusterSettingName::ContainerInsights)
                .value("maybe")
                .build(),
        )
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&err), "InvalidParameterException");
    let err = ecs.update_cluster().cluster("ghost").send().await.unwrap_err();
    assert_eq!(code(&err), "ClusterNotFoundException");
}

#[tokio::test]
async fn start_task_on_chosen_instances_and_deregister() {
    let env = start(ClockMode::Virtual).await;
    let ecs = &env.ecs;
    ecs.create_cluster().cluster_name("ec2").send().await.unwrap();
    let ci = ecs
        .register_container_instance()
        .cluster("ec2")
        .attributes(
            Attribute::builder()
                .name("ecs.availability-zone")
                .value("us-east-1c")
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
    let ci = ci.container_instance().unwrap();
    let ci_arn = ci.container_instance_arn().unwrap().to_string();
    assert!(ci.ec2_instance_id().unwrap().starts_with("i-"));
    assert_eq!(ci.status(), Some("ACTIVE"));
    ecs.register_task_definition()
        .family("job")
        .container_definitions(
            ContainerDefinition::builder()
                .name("j")
                .image("busybox")
                .memory(256)
                .build(),
        )
        .send()
        .await
        .unwrap();
    let started = ecs
        .start_task()
        .cluster("ec2")
        .task_definition("job")
        .container_instances(&ci_arn)
        .container_instances("0123456789abcdef0123456789abcdef")
        .send()
        .await
        .unwrap();
    assert_eq!(started.tasks().len(), 1);
    assert_eq!(started.tasks()[0].container_instance_arn(), Some(ci_arn.as_str()));
    assert_eq!(started.tasks()[0].availability_zone(), Some("us-east-1c"));
    assert_eq!(started.failures()[0].reason(), Some("MISSING"));
    let task_arn = started.tasks()[0].task_arn().unwrap().to_string();
    env.clock().advance(Duration::from_secs(5));

    let err = ecs
        .deregister_container_instance()
        .cluster("ec2")
        .container_instance(&ci_arn)
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&err), "InvalidParameterException", "it still runs a task");
    let gone = ecs
        .deregister_container_instance()
        .cluster("ec2")
        .container_instance(&ci_arn)
        .force(true)
        .send()
        .await
        .unwrap();
    assert_eq!(gone.container_instance().unwrap().status(), Some("INACTIVE"));
    let t = ecs
        .describe_tasks()
        .cluster("ec2")
        .tasks(&task_arn)
        .send()
        .await
        .unwrap();
    assert_eq!(t.tasks()[0].desired_status(), Some("STOPPED"));
    assert_eq!(t.tasks()[0].stop_code(), Some(&TaskStopCode::TerminationNotice));
    let listed = ecs
        .list_container_instances()
        .cluster("ec2")
        .send()
        .await
        .unwrap();
    assert!(listed.container_instance_arns().is_empty());
}

#[tokio::test]
async fn account_setting_defaults_and_deletion() {
    let env = start(ClockMode::Virtual).await;
    let ecs = &env.ecs;
    let effective = ecs
        .list_account_settings()
        .name(SettingName::AwsvpcTrunking)
        .effective_settings(true)
        .send()
        .await
        .unwrap();
    assert_eq!(effective.settings()[0].value(), Some("disabled"));
    ecs.put_account_setting_default()
        .name(SettingName::AwsvpcTrunking)
        .value("enabled")
        .send()
        .await
        .unwrap();
    let effective = ecs
        .list_account_settings()
        .name(SettingName::AwsvpcTrunking)
        .effective_settings(true)
        .send()
        .await
        .unwrap();
    assert_eq!(effective.settings()[0].value(), Some("enabled"));
    ecs.put_account_setting()
        .name(SettingName::ContainerInsights)
        .value("enhanced")
        .send()
        .await
        .unwrap();
    ecs.delete_account_setting()
        .name(SettingName::ContainerInsights)
        .send()
        .await
        .unwrap();
    let own = ecs
        .list_account_settings()
        .name(SettingName::ContainerInsights)
        .send()
        .await
        .unwrap();
    assert!(own.settings().is_empty(), "{:?}", own.settings());
    let err = ecs
        .put_account_setting()
        .name(SettingName::AwsvpcTrunking)
        .value("sometimes")
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&err), "InvalidParameterException");
}
