//! Custom attributes (PutAttributes, DeleteAttributes, ListAttributes) and cluster query language
//! filters on ListContainerInstances, through aws-sdk-ecs.

use aws_sdk_ecs::types::{
    Attribute, ContainerDefinition, PlacementConstraint, PlacementConstraintType, TargetType,
};
use ecsim::ClockMode;

use crate::common::{Env, code, register_instance, start};

/// Creates `cluster` with `n` default instances (spread over us-east-1a, b, c…); returns their ARNs.
async fn cluster_with_instances(env: &Env, cluster: &str, n: usize) -> Vec<String> {
    env.ecs
        .create_cluster()
        .cluster_name(cluster)
        .send()
        .await
        .unwrap();
    let mut arns = Vec::new();
    for _ in 0..n {
        arns.push(register_instance(&env.ecs, cluster, &[]).await);
    }
    arns
}

fn id_of(arn: &str) -> &str {
    arn.rsplit('/').next().unwrap()
}

fn attribute(name: &str, value: Option<&str>, target: &str) -> Attribute {
    Attribute::builder()
        .name(name)
        .set_value(value.map(String::from))
        .target_type(TargetType::ContainerInstance)
        .target_id(target)
        .build()
        .unwrap()
}

/// Every attribute ListAttributes returns, page by page.
async fn list_all(
    env: &Env,
    cluster: &str,
    name: Option<&str>,
    value: Option<&str>,
    page: i32,
) -> Vec<Attribute> {
    let mut out = Vec::new();
    let mut token: Option<String> = None;
    loop {
        let resp = env
            .ecs
            .list_attributes()
            .cluster(cluster)
            .target_type(TargetType::ContainerInstance)
            .set_attribute_name(name.map(String::from))
            .set_attribute_value(value.map(String::from))
            .max_results(page)
            .set_next_token(token.clone())
            .send()
            .await
            .unwrap();
        out.extend(resp.attributes().iter().cloned());
        token = resp.next_token().map(String::from);
        if token.is_none() {
            return out;
        }
    }
}

#[tokio::test]
async fn put_list_and_delete_round_trip() {
    let env = start(ClockMode::Virtual).await;
    let arns = cluster_with_instances(&env, "attrs", 2).await;
    let put = env
        .ecs
        .put_attributes()
        .cluster("attrs")
        .attributes(attribute("stack", Some("prod"), id_of(&arns[0])))
        .attributes(attribute("team", Some("web"), &arns[1]))
        .attributes(attribute("flag", None, &arns[1]))
        .send()
        .await
        .unwrap();
    assert_eq!(put.attributes().len(), 3);
    assert_eq!(put.attributes()[0].target_id(), Some(id_of(&arns[0])), "as given");

    // Re-putting a name replaces its value.
    env.ecs
        .put_attributes()
        .cluster("attrs")
        .attributes(attribute("stack", Some("prod2"), &arns[0]))
        .send()
        .await
        .unwrap();
    let stack = list_all(&env, "attrs", Some("stack"), None, 100).await;
    assert_eq!(stack.len(), 1);
    assert_eq!(stack[0].value(), Some("prod2"));
    assert_eq!(
        stack[0].target_id(),
        Some(arns[0].as_str()),
        "listed with the ARN"
    );
    assert_eq!(stack[0].target_type(), Some(&TargetType::ContainerInstance));
    assert!(
        list_all(&env, "attrs", Some("stack"), Some("prod"), 100)
            .await
            .is_empty()
    );
    assert_eq!(
        list_all(&env, "attrs", Some("team"), Some("web"), 100)
            .await
            .len(),
        1
    );
    let flag = list_all(&env, "attrs", Some("flag"), None, 100).await;
    assert_eq!((flag.len(), flag[0].value()), (1, None));

    // Built-ins are listed too, ordered by instance ARN then name, and pages add up.
    let zones = list_all(&env, "attrs", Some("ecs.availability-zone"), None, 100).await;
    assert_eq!(zones.len(), 2);
    let all = list_all(&env, "attrs", None, None, 100).await;
    let keys: Vec<(String, String)> = all
        .iter()
        .map(|a| (a.target_id().unwrap().to_string(), a.name().to_string()))
        .collect();
    let mut sorted = keys.clone();
    sorted.sort();
    assert_eq!(keys, sorted);
    assert!(keys.contains(&(arns[1].clone(), "team".to_string())));
    assert_eq!(list_all(&env, "attrs", None, None, 7).await, all);

    // DescribeContainerInstances shows them as well.
    let described = env
        .ecs
        .describe_container_instances()
        .cluster("attrs")
        .container_instances(&arns[1])
        .send()
        .await
        .unwrap();
    let ci = &described.container_instances()[0];
    assert!(
        ci.attributes()
            .iter()
            .any(|a| a.name() == "team" && a.value() == Some("web"))
    );

    let deleted = env
        .ecs
        .delete_attributes()
        .cluster("attrs")
        .attributes(attribute("stack", None, &arns[0]))
        .attributes(attribute("team", None, id_of(&arns[1])))
        .send()
        .await
        .unwrap();
    assert_eq!(deleted.attributes().len(), 2);
    assert!(list_all(&env, "attrs", Some("stack"), None, 100).await.is_empty());
    assert!(list_all(&env, "attrs", Some("team"), None, 100).await.is_empty());
    assert_eq!(list_all(&env, "attrs", Some("flag"), None, 100).await.len(), 1);

    // attributeValue needs attributeName; built-ins can't be overwritten; targets are required.
    let err = env
        .ecs
        .list_attributes()
        .cluster("attrs")
        .target_type(TargetType::ContainerInstance)
        .attribute_value("prod")
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&err), "InvalidParameterException");
    let err = env
        .ecs
        .put_attributes()
        .cluster("attrs")
        .attributes(attribute("ecs.instance-type", Some("p4d.24xlarge"), &arns[0]))
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&err), "InvalidParameterException");
    let err = env
        .ecs
        .put_attributes()
        .cluster("attrs")
        .attributes(Attribute::builder().name("stack").value("prod").build().unwrap())
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&err), "InvalidParameterException");
    let err = env
        .ecs
        .put_attributes()
        .cluster("attrs")
        .attributes(attribute("not valid!", Some("x"), &arns[0]))
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&err), "InvalidParameterException");
    let err = env
        .ecs
        .list_attributes()
        .cluster("nope")
        .target_type(TargetType::ContainerInstance)
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&err), "ClusterNotFoundException");
}

#[tokio::test]
async fn unknown_targets_and_the_attribute_limit() {
    let env = start(ClockMode::Virtual).await;
    let arns = cluster_with_instances(&env, "attrs", 1).await;
    let err = env
        .ecs
        .put_attributes()
        .cluster("attrs")
        .attributes(attribute(
            "stack",
            Some("prod"),
            "0123456789abcdef0123456789abcdef",
        ))
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&err), "TargetNotFoundException");
    assert!(
        err.as_service_error()
            .is_some_and(|e| e.is_target_not_found_exception()),
        "a modelled error: {err:?}"
    );
    let err = env
        .ecs
        .delete_attributes()
        .cluster("attrs")
        .attributes(attribute("stack", None, "0123456789abcdef0123456789abcdef"))
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&err), "TargetNotFoundException");

    let mut ten = env.ecs.put_attributes().cluster("attrs");
    for i in 0..10 {
        ten = ten.attributes(attribute(&format!("custom-{i}"), Some("v"), &arns[0]));
    }
    ten.send().await.unwrap();
    let err = env
        .ecs
        .put_attributes()
        .cluster("attrs")
        .attributes(attribute("custom-10", Some("v"), &arns[0]))
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&err), "AttributeLimitExceededException");
    assert!(
        err.as_service_error()
            .is_some_and(|e| e.is_attribute_limit_exceeded_exception())
    );
    // Replacing an existing one is still fine, and so is adding after a delete.
    env.ecs
        .put_attributes()
        .cluster("attrs")
        .attributes(attribute("custom-9", Some("w"), &arns[0]))
        .send()
        .await
        .unwrap();
    env.ecs
        .delete_attributes()
        .cluster("attrs")
        .attributes(attribute("custom-0", None, &arns[0]))
        .send()
        .await
        .unwrap();
    env.ecs
        .put_attributes()
        .cluster("attrs")
        .attributes(attribute("custom-10", Some("v"), &arns[0]))
        .send()
        .await
        .unwrap();
    let custom = list_all(&env, "attrs", None, None, 100)
        .await
        .into_iter()
        .filter(|a| a.name().starts_with("custom-"))
        .count();
    assert_eq!(custom, 10);
}

#[tokio::test]
async fn custom_attributes_steer_placement() {
    let env = start(ClockMode::Virtual).await;
    let arns = cluster_with_instances(&env, "attrs", 3).await;
    env.ecs
        .register_task_definition()
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
    let prod_only = || {
        PlacementConstraint::builder()
            .r#type(PlacementConstraintType::MemberOf)
            .expression("attribute:stack == prod")
            .build()
    };
    let run = env
        .ecs
        .run_task()
        .cluster("attrs")
        .task_definition("job")
        .placement_constraints(prod_only())
        .send()
        .await
        .unwrap();
    assert!(run.tasks().is_empty());
    assert_eq!(run.failures()[0].reason(), Some("MemberOf"));

    env.ecs
        .put_attributes()
        .cluster("attrs")
        .attributes(attribute("stack", Some("prod"), &arns[1]))
        .attributes(attribute("stack", Some("dev"), &arns[2]))
        .send()
        .await
        .unwrap();
    let run = env
        .ecs
        .run_task()
        .cluster("attrs")
        .task_definition("job")
        .count(3)
        .placement_constraints(prod_only())
        .send()
        .await
        .unwrap();
    assert_eq!(run.tasks().len(), 3);
    assert!(
        run.tasks()
            .iter()
            .all(|t| t.container_instance_arn() == Some(arns[1].as_str())),
        "all on the prod instance"
    );

    // Moving the attribute moves where new tasks go.
    env.ecs
        .delete_attributes()
        .cluster("attrs")
        .attributes(attribute("stack", None, &arns[1]))
        .send()
        .await
        .unwrap();
    env.ecs
        .put_attributes()
        .cluster("attrs")
        .attributes(attribute("stack", Some("prod"), &arns[0]))
        .send()
        .await
        .unwrap();
    let run = env
        .ecs
        .run_task()
        .cluster("attrs")
        .task_definition("job")
        .count(2)
        .placement_constraints(prod_only())
        .send()
        .await
        .unwrap();
    assert_eq!(run.tasks().len(), 2);
    assert!(
        run.tasks()
            .iter()
            .all(|t| t.container_instance_arn() == Some(arns[0].as_str()))
    );
}

#[tokio::test]
async fn list_container_instances_filters() {
    let env = start(ClockMode::Virtual).await;
    let arns = cluster_with_instances(&env, "attrs", 3).await;
    let list = |filter: &'static str| {
        env.ecs
            .list_container_instances()
            .cluster("attrs")
            .filter(filter)
            .send()
    };
    let zone_b = list("attribute:ecs.availability-zone == us-east-1b")
        .await
        .unwrap();
    assert_eq!(zone_b.container_instance_arns(), [arns[1].clone()]);
    let not_b = list("attribute:ecs.availability-zone != us-east-1b")
        .await
        .unwrap();
    let mut got = not_b.container_instance_arns().to_vec();
    got.sort();
    let mut want = vec![arns[0].clone(), arns[2].clone()];
    want.sort();
    assert_eq!(got, want);
    let none = list("attribute:ecs.instance-type == p4d.24xlarge").await.unwrap();
    assert!(none.container_instance_arns().is_empty());

    env.ecs
        .put_attributes()
        .cluster("attrs")
        .attributes(attribute("stack", Some("prod"), &arns[2]))
        .send()
        .await
        .unwrap();
    let prod = list("attribute:stack == prod").await.unwrap();
    assert_eq!(prod.container_instance_arns(), [arns[2].clone()]);
    let exists = list("attribute:stack exists").await.unwrap();
    assert_eq!(exists.container_instance_arns(), [arns[2].clone()]);

    let err = list("attribute:ecs.availability-zone ==").await.unwrap_err();
    assert_eq!(code(&err), "InvalidParameterException");
    let err = list("nonsense ~~ x").await.unwrap_err();
    assert_eq!(code(&err), "InvalidParameterException");
}
