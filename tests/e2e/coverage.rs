//! The committed coverage table is the generated one, and the foundation's operations are built.

#[test]
fn committed_table_is_current() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/docs/coverage.md");
    let committed = std::fs::read_to_string(path).expect("docs/coverage.md exists");
    assert!(
        committed == ecsim_control::coverage::markdown(),
        "docs/coverage.md is stale: run `cargo run -- coverage --write docs/coverage.md`"
    );
}

#[test]
fn foundation_operations_are_implemented() {
    let rows = ecsim_control::coverage::rows();
    let required = [
        (
            "ECS",
            &[
                "CreateCluster",
                "DescribeClusters",
                "ListClusters",
                "UpdateCluster",
                "UpdateClusterSettings",
                "DeleteCluster",
                "PutClusterCapacityProviders",
                "DescribeCapacityProviders",
                "RegisterTaskDefinition",
                "DescribeTaskDefinition",
                "ListTaskDefinitions",
                "ListTaskDefinitionFamilies",
                "DeregisterTaskDefinition",
                "DeleteTaskDefinitions",
                "CreateService",
                "DescribeServices",
                "ListServices",
                "UpdateService",
                "DeleteService",
                "RunTask",
                "StartTask",
                "StopTask",
                "DescribeTasks",
                "ListTasks",
                "RegisterContainerInstance",
                "DeregisterContainerInstance",
                "DescribeContainerInstances",
                "ListContainerInstances",
                "UpdateContainerInstancesState",
                "TagResource",
                "UntagResource",
                "ListTagsForResource",
                "PutAccountSetting",
                "PutAccountSettingDefault",
                "DeleteAccountSetting",
                "ListAccountSettings",
            ][..],
        ),
        (
            "EC2",
            &[
                "DescribeAvailabilityZones",
                "DescribeVpcs",
                "DescribeSubnets",
                "DescribeSecurityGroups",
                "CreateVpc",
                "CreateSubnet",
                "CreateSecurityGroup",
                "DeleteVpc",
                "DeleteSubnet",
                "DeleteSecurityGroup",
                "CreateTags",
                "DeleteTags",
                "DescribeTags",
            ][..],
        ),
        ("STS", &["GetCallerIdentity", "AssumeRole"][..]),
    ];
    for (service, ops) in required {
        for op in ops {
            let row = rows
                .iter()
                .find(|r| r.0 == service && r.1 == *op)
                .unwrap_or_else(|| panic!("{service} {op} is routed"));
            assert!(row.2, "{service} {op} must be implemented");
        }
    }
    assert!(
        rows.iter().any(|r| r.0 == "ECS" && !r.2),
        "unbuilt operations are reported as such"
    );
}
