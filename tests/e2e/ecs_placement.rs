//! Placement strategies and constraints on EC2 capacity through aws-sdk-ecs.

use aws_sdk_ecs::types::{
    ContainerDefinition, PlacementConstraint, PlacementConstraintType, PlacementStrategy,
    PlacementStrategyType,
};
use ecsim::ClockMode;

use crate::common::{Env, code, register_instance, start};

async fn cluster_of_three(env: &Env) -> Vec<String> {
    env.ecs.create_cluster().cluster_name("p").send().await.unwrap();
    let mut arns = Vec::new();
    for (zone, kind) in [
        ("us-east-1a", "m5.large"),
        ("us-east-1b", "m5.large"),
        ("us-east-1c", "c5.xlarge"),
    ] {
        let attributes = [("ecs.availability-zone", zone), ("ecs.instance-type", kind)];
        arns.push(register_instance(&env.ecs, "p", &attributes).await);
    }
    env.ecs
        .register_task_definition()
        .family("job")
        .container_definitions(
            ContainerDefinition::builder()
                .name("j")
                .image("busybox")
                .memory(512)
                .build(),
        )
        .send()
        .await
        .unwrap();
    arns
}

#[tokio::test]
async fn binpack_member_of_and_distinct_instance() {
    let env = start(ClockMode::Virtual).await;
    let arns = cluster_of_three(&env).await;
    let binpack = PlacementStrategy::builder()
        .r#type(PlacementStrategyType::Binpack)
        .field("memory")
        .build();
    let run = env
        .ecs
        .run_task()
        .cluster("p")
        .task_definition("job")
        .count(3)
        .placement_strategy(binpack)
        .send()
        .await
        .unwrap();
    let on: Vec<&str> = run
        .tasks()
        .iter()
        .filter_map(|t| t.container_instance_arn())
        .collect();
    assert!(
        on.iter().all(|a| *a == on[0]),
        "binpack fills one instance first: {on:?}"
    );

    let member_of = PlacementConstraint::builder()
        .r#type(PlacementConstraintType::MemberOf)
        .expression("attribute:ecs.instance-type =~ c5.* and attribute:ecs.availability-zone in [us-east-1c]")
        .build();
    let run = env
        .ecs
        .run_task()
        .cluster("p")
        .task_definition("job")
        .count(2)
        .placement_constraints(member_of)
        .send()
        .await
        .unwrap();
    assert!(
        run.tasks()
            .iter()
            .all(|t| t.container_instance_arn() == Some(arns[2].as_str()))
    );

    let impossible = PlacementConstraint::builder()
        .r#type(PlacementConstraintType::MemberOf)
        .expression("attribute:ecs.instance-type == p4d.24xlarge")
        .build();
    let run = env
        .ecs
        .run_task()
        .cluster("p")
        .task_definition("job")
        .count(2)
        .placement_constraints(impossible)
        .send()
        .await
        .unwrap();
    assert!(run.tasks().is_empty());
    assert_eq!(run.failures().len(), 2);
    assert_eq!(run.failures()[0].reason(), Some("MemberOf"));

    let distinct = PlacementConstraint::builder()
        .r#type(PlacementConstraintType::DistinctInstance)
        .build();
    let run = env
        .ecs
        .run_task()
        .cluster("p")
        .task_definition("job")
        .group("spread-me")
        .count(4)
        .placement_constraints(distinct)
        .send()
        .await
        .unwrap();
    assert_eq!(run.tasks().len(), 3, "one per instance");
    assert_eq!(run.failures()[0].reason(), Some("DistinctInstance"));

    let bad = PlacementConstraint::builder()
        .r#type(PlacementConstraintType::MemberOf)
        .expression("attribute:x ==")
        .build();
    let err = env
        .ecs
        .run_task()
        .cluster("p")
        .task_definition("job")
        .placement_constraints(bad)
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&err), "InvalidParameterException");
    let bad = PlacementStrategy::builder()
        .r#type(PlacementStrategyType::Spread)
        .field("nonsense")
        .build();
    let err = env
        .ecs
        .run_task()
        .cluster("p")
        .task_definition("job")
        .placement_strategy(bad)
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&err), "InvalidParameterException");
}

#[tokio::test]
async fn services_report_why_they_cannot_place() {
    let env = start(ClockMode::Virtual).await;
    cluster_of_three(&env).await;
    let member_of = PlacementConstraint::builder()
        .r#type(PlacementConstraintType::MemberOf)
        .expression("attribute:ecs.instance-type == g5.xlarge")
        .build();
    env.ecs
        .create_service()
        .cluster("p")
        .service_name("gpu")
        .task_definition("job")
        .desired_count(1)
        .launch_type(aws_sdk_ecs::types::LaunchType::Ec2)
        .placement_constraints(member_of)
        .send()
        .await
        .unwrap();
    env.clock().advance(std::time::Duration::from_secs(5));
    let s = env
        .ecs
        .describe_services()
        .cluster("p")
        .services("gpu")
        .send()
        .await
        .unwrap();
    let events: Vec<&str> = s.services()[0]
        .events()
        .iter()
        .filter_map(|e| e.message())
        .collect();
    let placed = events.iter().find(|m| {
        m.contains("was unable to place a task because no container instance met all of its requirements")
    });
    assert!(placed.is_some_and(|m| m.contains("\"MemberOf\"")), "{events:?}");
    assert_eq!(
        events.iter().filter(|m| m.contains("unable to place")).count(),
        1,
        "reported once, not every check"
    );
}
