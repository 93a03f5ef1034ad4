//! Clusters, capacity providers, account settings and tags through aws-sdk-ecs.

use aws_sdk_ecs::types::{ClusterField, ClusterSetting, ClusterSettingName, SettingName, Tag};
use ecsim::ClockMode;

use crate::common::{code, start};

#[tokio::test]
async fn cluster_lifecycle_and_errors() {
    let env = start(ClockMode::Virtual).await;
    let ecs = &env.ecs;
    let created = ecs
        .create_cluster()
        .cluster_name("demo")
        .tags(Tag::builder().key("team").value("web").build())
        .settings(
            ClusterSetting::builder()
                .name(ClusterSettingName::ContainerInsights)
                .value("enabled")
                .build(),
        )
        .send()
        .await
        .unwrap();
    let cluster = created.cluster().unwrap();
    assert_eq!(cluster.cluster_name(), Some("demo"));
    assert_eq!(
        cluster.cluster_arn(),
        Some("arn:aws:ecs:us-east-1:000000000000:cluster/demo")
    );
    assert_eq!(cluster.status(), Some("ACTIVE"));

    // Idempotent create returns the same cluster.
    let again = ecs.create_cluster().cluster_name("demo").send().await.unwrap();
    assert_eq!(again.cluster().unwrap().cluster_arn(), cluster.cluster_arn());

    let described = ecs
        .describe_clusters()
        .clusters("demo")
        .clusters("ghost")
        .include(ClusterField::Tags)
        .include(ClusterField::Settings)
        .send()
        .await
        .unwrap();
    assert_eq!(described.clusters().len(), 1);
    assert_eq!(described.clusters()[0].tags().len(), 1);
    assert_eq!(described.clusters()[0].settings()[0].value(), Some("enabled"));
    assert_eq!(described.failures().len(), 1);
    assert_eq!(described.failures()[0].reason(), Some("MISSING"));
    assert_eq!(
        described.failures()[0].arn(),
        Some("arn:aws:ecs:us-east-1:000000000000:cluster/ghost")
    );

    // Without include, tags are not returned.
    let plain = ecs.describe_clusters().clusters("demo").send().await.unwrap();
    assert!(plain.clusters()[0].tags().is_empty());

    let err = ecs
        .create_cluster()
        .cluster_name("bad name!")
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&err), "InvalidParameterException");

    let err = ecs.delete_cluster().cluster("ghost").send().await.unwrap_err();
    assert_eq!(code(&err), "ClusterNotFoundException");

    let deleted = ecs.delete_cluster().cluster("demo").send().await.unwrap();
    assert_eq!(deleted.cluster().unwrap().status(), Some("INACTIVE"));
    let listed = ecs.list_clusters().send().await.unwrap();
    assert!(listed.cluster_arns().is_empty());
    // Deleted clusters stay describable as INACTIVE.
    let inactive = ecs.describe_clusters().clusters("demo").send().await.unwrap();
    assert_eq!(inactive.clusters()[0].status(), Some("INACTIVE"));
    let err = ecs.list_services().cluster("demo").send().await.unwrap_err();
    assert_eq!(code(&err), "ClusterNotFoundException");
}

#[tokio::test]
async fn list_clusters_paginates() {
    let env = start(ClockMode::Virtual).await;
    for i in 0..7 {
        env.ecs
            .create_cluster()
            .cluster_name(format!("c{i}"))
            .send()
            .await
            .unwrap();
    }
    let first = env.ecs.list_clusters().max_results(3).send().await.unwrap();
    assert_eq!(first.cluster_arns().len(), 3);
    assert!(first.next_token().is_some());
    let all: Vec<String> = env
        .ecs
        .list_clusters()
        .max_results(3)
        .into_paginator()
        .items()
        .send()
        .collect::<Result<Vec<_>, _>>()
        .await
        .unwrap();
    assert_eq!(all.len(), 7);
    let mut sorted = all.clone();
    sorted.sort();
    sorted.dedup();
    assert_eq!(sorted.len(), 7, "no duplicates across pages");
    let err = env.ecs.list_clusters().max_results(0).send().await.unwrap_err();
    assert_eq!(code(&err), "InvalidParameterException");
    let err = env
        .ecs
        .list_clusters()
        .next_token("not-a-token")
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&err), "InvalidParameterException");
}

#[tokio::test]
async fn capacity_providers_account_settings_and_tags() {
    let env = start(ClockMode::Virtual).await;
    let ecs = &env.ecs;
    let providers = ecs.describe_capacity_providers().send().await.unwrap();
    let names: Vec<_> = providers
        .capacity_providers()
        .iter()
        .filter_map(|p| p.name())
        .collect();
    assert!(
        names.contains(&"FARGATE") && names.contains(&"FARGATE_SPOT"),
        "{names:?}"
    );

    let cluster = ecs.create_cluster().cluster_name("cp").send().await.unwrap();
    let arn = cluster.cluster().unwrap().cluster_arn().unwrap().to_string();
    let put = ecs
        .put_cluster_capacity_providers()
        .cluster("cp")
        .capacity_providers("FARGATE")
        .capacity_providers("FARGATE_SPOT")
        .default_capacity_provider_strategy(
            aws_sdk_ecs::types::CapacityProviderStrategyItem::builder()
                .capacity_provider("FARGATE")
                .weight(1)
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(put.cluster().unwrap().capacity_providers().len(), 2);
    let err = ecs
        .put_cluster_capacity_providers()
        .cluster("cp")
        .capacity_providers("NOPE")
        .set_default_capacity_provider_strategy(Some(vec![]))
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&err), "InvalidParameterException");

    ecs.put_account_setting()
        .name(SettingName::ContainerInsights)
        .value("enabled")
        .send()
        .await
        .unwrap();
    let settings = ecs
        .list_account_settings()
        .name(SettingName::ContainerInsights)
        .send()
        .await
        .unwrap();
    assert_eq!(settings.settings()[0].value(), Some("enabled"));

    ecs.tag_resource()
        .resource_arn(&arn)
        .tags(Tag::builder().key("env").value("dev").build())
        .tags(Tag::builder().key("owner").value("me").build())
        .send()
        .await
        .unwrap();
    ecs.untag_resource()
        .resource_arn(&arn)
        .tag_keys("owner")
        .send()
        .await
        .unwrap();
    let tags = ecs
        .list_tags_for_resource()
        .resource_arn(&arn)
        .send()
        .await
        .unwrap();
    assert_eq!(tags.tags().len(), 1);
    assert_eq!(tags.tags()[0].key(), Some("env"));
    let err = ecs
        .list_tags_for_resource()
        .resource_arn("arn:aws:ecs:us-east-1:000000000000:service/cp/nope")
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&err), "ResourceNotFoundException");
}
