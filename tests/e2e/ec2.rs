//! The simulated network through aws-sdk-ec2 (EC2 query protocol).

use aws_sdk_ec2::types::{Filter, ResourceType, Tag, TagSpecification};
use ecsim::ClockMode;

use crate::common::{awsvpc, code, fargate_task_definition, start};

fn filter(name: &str, value: &str) -> Filter {
    Filter::builder().name(name).values(value).build()
}

#[tokio::test]
async fn default_topology_is_visible() {
    let env = start(ClockMode::Virtual).await;
    let zones = env.ec2.describe_availability_zones().send().await.unwrap();
    let names: Vec<&str> = zones
        .availability_zones()
        .iter()
        .filter_map(|z| z.zone_name())
        .collect();
    assert_eq!(
        names,
        [
            "us-east-1a",
            "us-east-1b",
            "us-east-1c",
            "us-east-1d",
            "us-east-1e",
            "us-east-1f"
        ]
    );

    let vpcs = env
        .ec2
        .describe_vpcs()
        .filters(filter("is-default", "true"))
        .send()
        .await
        .unwrap();
    assert_eq!(vpcs.vpcs().len(), 1);
    let vpc = &vpcs.vpcs()[0];
    assert_eq!(vpc.vpc_id(), Some("vpc-0ec5100000000000d"));
    assert_eq!(vpc.cidr_block(), Some("172.31.0.0/16"));
    assert_eq!(vpc.is_default(), Some(true));

    let subnets = env
        .ec2
        .describe_subnets()
        .filters(filter("vpc-id", "vpc-0ec5100000000000d"))
        .filters(filter("default-for-az", "true"))
        .send()
        .await
        .unwrap();
    assert_eq!(subnets.subnets().len(), 6);
    let b = subnets
        .subnets()
        .iter()
        .find(|s| s.availability_zone() == Some("us-east-1b"))
        .unwrap();
    assert_eq!(b.subnet_id(), Some("subnet-0ec5100000000000b"));
    assert_eq!(b.cidr_block(), Some("172.31.16.0/20"));

    let one = env
        .ec2
        .describe_subnets()
        .filters(filter("availability-zone", "us-east-1c"))
        .send()
        .await
        .unwrap();
    assert_eq!(one.subnets().len(), 1);

    let groups = env
        .ec2
        .describe_security_groups()
        .filters(filter("group-name", "default"))
        .send()
        .await
        .unwrap();
    assert_eq!(
        groups.security_groups()[0].group_id(),
        Some("sg-0ec5100000000000d")
    );

    let err = env
        .ec2
        .describe_subnets()
        .filters(filter("no-such-filter", "x"))
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&err), "InvalidParameterValue");
    let err = env
        .ec2
        .describe_subnets()
        .subnet_ids("subnet-0000000000000dead")
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&err), "InvalidSubnetID.NotFound");
}

#[tokio::test]
async fn user_networks_are_created_and_used_by_tasks() {
    let env = start(ClockMode::Virtual).await;
    let vpc = env
        .ec2
        .create_vpc()
        .cidr_block("10.20.0.0/16")
        .tag_specifications(
            TagSpecification::builder()
                .resource_type(ResourceType::Vpc)
                .tags(Tag::builder().key("Name").value("app").build())
                .build(),
        )
        .send()
        .await
        .unwrap();
    let vpc_id = vpc.vpc().unwrap().vpc_id().unwrap().to_string();
    let subnet = env
        .ec2
        .create_subnet()
        .vpc_id(&vpc_id)
        .cidr_block("10.20.1.0/24")
        .availability_zone("us-east-1d")
        .send()
        .await
        .unwrap();
    let subnet_id = subnet.subnet().unwrap().subnet_id().unwrap().to_string();
    let err = env
        .ec2
        .create_subnet()
        .vpc_id(&vpc_id)
        .cidr_block("10.20.1.0/25")
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&err), "InvalidSubnet.Conflict");
    let err = env
        .ec2
        .create_subnet()
        .vpc_id(&vpc_id)
        .cidr_block("10.99.0.0/24")
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&err), "InvalidSubnet.Range");
    let tagged = env
        .ec2
        .describe_vpcs()
        .filters(filter("tag:Name", "app"))
        .send()
        .await
        .unwrap();
    assert_eq!(tagged.vpcs().len(), 1);

    // An ECS task in the new subnet gets an address from its CIDR and its AZ.
    env.ecs.create_cluster().cluster_name("n").send().await.unwrap();
    fargate_task_definition(&env.ecs, "web", &[])
        .send()
        .await
        .unwrap();
    let run = env
        .ecs
        .run_task()
        .cluster("n")
        .task_definition("web")
        .launch_type(aws_sdk_ecs::types::LaunchType::Fargate)
        .network_configuration(awsvpc(std::slice::from_ref(&subnet_id)))
        .send()
        .await
        .unwrap();
    let t = &run.tasks()[0];
    assert_eq!(t.availability_zone(), Some("us-east-1d"));
    let ip = t.attachments()[0]
        .details()
        .iter()
        .find(|d| d.name() == Some("privateIPv4Address"))
        .unwrap();
    assert_eq!(ip.value(), Some("10.20.1.4"));

    let err = env
        .ec2
        .delete_subnet()
        .subnet_id(&subnet_id)
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        code(&err),
        "DependencyViolation",
        "a task's address is still in the subnet"
    );
    let err = env.ec2.delete_vpc().vpc_id(&vpc_id).send().await.unwrap_err();
    assert_eq!(code(&err), "DependencyViolation");
}
