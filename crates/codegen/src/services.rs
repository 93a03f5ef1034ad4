//! The fixed table of services ecsim generates: model directory, Rust names and operation allow-lists.

/// One service to generate.
pub struct ServiceSpec {
    /// Directory under the models root holding `service-2.json`.
    pub model_dir: &'static str,
    /// Rust module name in `ecsim-api`, also `ServiceSchema::name`.
    pub module: &'static str,
    /// Name of the generated handler trait.
    pub trait_name: &'static str,
    /// Suffix of the Smithy namespace (`com.amazonaws.<suffix>`).
    pub smithy_namespace: &'static str,
    /// Operations to generate; `None` means all of them.
    pub operations: Option<&'static [&'static str]>,
}

/// The EC2 operations ecsim serves (the model has hundreds more).
const EC2_OPERATIONS: &[&str] = &[
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

/// Every generated service, in the order of `ecsim_api::SERVICES`.
pub const SERVICES: &[ServiceSpec] = &[
    ServiceSpec {
        model_dir: "ecs",
        module: "ecs",
        trait_name: "EcsApi",
        smithy_namespace: "ecs",
        operations: None,
    },
    ServiceSpec {
        model_dir: "elbv2",
        module: "elbv2",
        trait_name: "Elbv2Api",
        smithy_namespace: "elasticloadbalancingv2",
        operations: None,
    },
    ServiceSpec {
        model_dir: "codedeploy",
        module: "codedeploy",
        trait_name: "CodeDeployApi",
        smithy_namespace: "codedeploy",
        operations: None,
    },
    ServiceSpec {
        model_dir: "cloudwatch",
        module: "cloudwatch",
        trait_name: "CloudWatchApi",
        smithy_namespace: "cloudwatch",
        operations: None,
    },
    ServiceSpec {
        model_dir: "sts",
        module: "sts",
        trait_name: "StsApi",
        smithy_namespace: "sts",
        operations: None,
    },
    ServiceSpec {
        model_dir: "ec2",
        module: "ec2",
        trait_name: "Ec2Api",
        smithy_namespace: "ec2",
        operations: Some(EC2_OPERATIONS),
    },
];
