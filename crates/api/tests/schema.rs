//! Spot checks of the generated schemas and types (hand-written; not generated).

use ecsim_api::{SERVICES, cloudwatch, ec2, ecs, elbv2};
use ecsim_protocol::schema::{Protocol, ShapeKind};
use serde_json::json;

#[test]
fn ecs_create_cluster_has_its_input_shape() {
    let op = ecs::SCHEMA.operation("CreateCluster").expect("CreateCluster");
    let input = op.input.expect("input");
    assert_eq!(ecs::SCHEMA.shape(input).name, "CreateClusterRequest");
    assert_eq!(
        ecs::SCHEMA.shape(op.output.expect("output")).name,
        "CreateClusterResponse"
    );
    assert!(ecs::SCHEMA.speaks(Protocol::Json));
    assert_eq!(
        ecs::SCHEMA.target_prefix,
        Some("AmazonEC2ContainerServiceV20141113")
    );
    assert_eq!(ecs::SCHEMA.smithy_namespace, "com.amazonaws.ecs");
}

#[test]
fn elbv2_error_codes_come_from_the_model() {
    let r = elbv2::SCHEMA
        .shape_by_name("LoadBalancerNotFoundException")
        .expect("shape");
    let err = elbv2::SCHEMA.shape(r).error.expect("error info");
    assert_eq!(err.code, "LoadBalancerNotFound");
    assert_eq!(err.http_status, 400);
    assert!(err.sender_fault);
    let op = elbv2::SCHEMA.operation("DescribeLoadBalancers").expect("op");
    assert_eq!(op.result_wrapper, Some("DescribeLoadBalancersResult"));
    assert!(op.errors.contains(&r));
}

#[test]
fn cloudwatch_resource_not_found_is_404() {
    let r = cloudwatch::SCHEMA
        .shape_by_name("ResourceNotFound")
        .expect("shape");
    let err = cloudwatch::SCHEMA.shape(r).error.expect("error info");
    assert_eq!(err.http_status, 404);
    assert_eq!(err.code, "ResourceNotFound");
    assert!(cloudwatch::SCHEMA.aws_query_compatible);
    assert_eq!(
        cloudwatch::SCHEMA.protocols,
        [Protocol::RpcV2Cbor, Protocol::Json, Protocol::Query]
    );
}

#[test]
fn shapes_and_operations_are_sorted_and_refs_in_range() {
    for schema in SERVICES {
        assert!(
            schema.operations.windows(2).all(|w| w[0].name < w[1].name),
            "{} operations",
            schema.name
        );
        assert!(
            schema.shapes.windows(2).all(|w| w[0].name < w[1].name),
            "{} shapes",
            schema.name
        );
        let in_range = |r: u16| usize::from(r) < schema.shapes.len();
        for shape in schema.shapes {
            match &shape.kind {
                ShapeKind::Structure { members, .. } => assert!(members.iter().all(|m| in_range(m.target))),
                ShapeKind::List { member, .. } => assert!(in_range(*member)),
                ShapeKind::Map { key, value, .. } => assert!(in_range(*key) && in_range(*value)),
                _ => {}
            }
        }
        for op in schema.operations {
            assert!(
                op.input
                    .into_iter()
                    .chain(op.output)
                    .chain(op.errors.iter().copied())
                    .all(in_range)
            );
        }
    }
}

#[test]
fn ecs_create_service_round_trips() {
    let input = json!({
        "cluster": "default",
        "serviceName": "web",
        "taskDefinition": "web:3",
        "desiredCount": 2,
        "launchType": "FARGATE",
        "networkConfiguration": {
            "awsvpcConfiguration": {"subnets": ["subnet-1"], "assignPublicIp": "ENABLED"}
        },
        "loadBalancers": [{"targetGroupArn": "arn:tg", "containerName": "web", "containerPort": 80}],
        "tags": [{"key": "team", "value": "a"}]
    });
    let req: ecs::CreateServiceRequest = serde_json::from_value(input.clone()).expect("deserialise");
    assert_eq!(req.service_name, "web");
    assert_eq!(req.desired_count, Some(2));
    assert_eq!(req.launch_type, Some(ecs::LaunchType::Fargate));
    let vpc = req
        .network_configuration
        .as_ref()
        .and_then(|n| n.awsvpc_configuration.as_ref())
        .expect("vpc");
    assert_eq!(vpc.subnets, ["subnet-1"]);
    assert_eq!(vpc.assign_public_ip, Some(ecs::AssignPublicIp::Enabled));
    assert_eq!(serde_json::to_value(&req).expect("serialise"), input);
}

#[test]
fn enums_convert_both_ways() {
    assert_eq!(ecs::LaunchType::Fargate.as_str(), "FARGATE");
    assert_eq!("EC2".parse::<ecs::LaunchType>(), Ok(ecs::LaunchType::Ec2));
    assert_eq!("nope".parse::<ecs::LaunchType>(), Err(()));
    assert_eq!(ecs::DesiredStatus::Running.to_string(), "RUNNING");
    assert!(ecs::LaunchType::VALUES.contains(&"EXTERNAL"));
}

#[test]
fn operation_enum_matches_the_schema() {
    assert_eq!(
        ecs::Operation::from_name("RunTask"),
        Some(ecs::Operation::RunTask)
    );
    assert_eq!(ecs::Operation::RunTask.name(), "RunTask");
    assert_eq!(ecs::Operation::from_name("runTask"), None);
    let names: Vec<&str> = ecs::Operation::ALL.iter().map(|op| op.name()).collect();
    let schema: Vec<&str> = ecs::SCHEMA.operations.iter().map(|op| op.name).collect();
    assert_eq!(names, schema);
    assert_eq!(names.len(), 88);
}

#[test]
fn ec2_has_exactly_the_allow_listed_operations() {
    let mut expected = [
        "DescribeAvailabilityZones",
        "DescribeRegions",
        "DescribeAccountAttributes",
        "DescribeVpcs",
        "CreateVpc",
        "DeleteVpc",
        "DescribeSubnets",
        "CreateSubnet",
        "DeleteSubnet",
        "DescribeSecurityGroups",
        "CreateSecurityGroup",
        "DeleteSecurityGroup",
        "AuthorizeSecurityGroupIngress",
        "AuthorizeSecurityGroupEgress",
        "RevokeSecurityGroupIngress",
        "RevokeSecurityGroupEgress",
        "CreateTags",
        "DeleteTags",
        "DescribeTags",
        "DescribeNetworkInterfaces",
        "DescribeRouteTables",
        "DescribeInternetGateways",
        "ModifySubnetAttribute",
        "DescribeVpcAttribute",
        "ModifyVpcAttribute",
    ];
    expected.sort_unstable();
    let actual: Vec<&str> = ec2::SCHEMA.operations.iter().map(|op| op.name).collect();
    assert_eq!(actual, expected);
    assert!(ec2::SCHEMA.shape_by_name("RunInstancesRequest").is_none());
}

/// A handler that implements one operation, to exercise `dispatch` and `probe_implemented`.
struct OneCluster;

impl ecs::EcsApi for OneCluster {
    fn create_cluster(
        &mut self,
        input: ecs::CreateClusterRequest,
    ) -> Result<ecs::CreateClusterResponse, ecsim_protocol::AwsError> {
        Ok(ecs::CreateClusterResponse {
            cluster: Some(ecs::Cluster {
                cluster_name: input.cluster_name.or(Some("default".into())),
                status: Some("ACTIVE".into()),
                ..Default::default()
            }),
        })
    }
}

#[test]
fn dispatch_and_probe() {
    let mut api = OneCluster;
    let out = ecs::dispatch(
        &mut api,
        ecs::Operation::CreateCluster,
        json!({"clusterName": "c1"}),
    )
    .expect("ok");
    assert_eq!(out, json!({"cluster": {"clusterName": "c1", "status": "ACTIVE"}}));
    let out = ecs::dispatch(&mut api, ecs::Operation::CreateCluster, serde_json::Value::Null).expect("ok");
    assert_eq!(out["cluster"]["clusterName"], "default");

    let err = ecs::dispatch(&mut api, ecs::Operation::CreateCluster, json!({"clusterName": 5})).unwrap_err();
    assert_eq!(err.code, "SerializationException");
    assert_eq!(err.status, 400);

    let err = ecs::dispatch(&mut api, ecs::Operation::RunTask, json!({"taskDefinition": "t"})).unwrap_err();
    assert!(err.is_not_implemented());
    assert_eq!(err.status, 501);

    assert!(ecs::probe_implemented(&mut api, ecs::Operation::CreateCluster));
    assert!(!ecs::probe_implemented(&mut api, ecs::Operation::RunTask));
}
