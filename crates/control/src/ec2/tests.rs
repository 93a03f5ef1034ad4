//! Handler-level tests of the EC2 API against a fresh world with the default topology.

use ecsim_api::ec2 as api;
use ecsim_api::ec2::Ec2Api;
use ecsim_core::Rng;

use super::Ec2Handler;
use crate::engine::Ctx;
use crate::network::{DEFAULT_SECURITY_GROUP_ID, DEFAULT_VPC_ID, default_subnet_id};
use crate::runtime::SimTimings;
use crate::timers::Timers;
use crate::topology::TopologyConfig;
use crate::world::World;

struct Fixture {
    world: World,
    rng: Rng,
    timers: Timers,
    sim: SimTimings,
}

impl Fixture {
    fn new() -> Self {
        Self {
            world: World::new("000000000000", "us-east-1", &TopologyConfig::default()),
            rng: Rng::seeded(42),
            timers: Timers::default(),
            sim: SimTimings::default(),
        }
    }

    fn call<R>(&mut self, f: impl FnOnce(&mut Ec2Handler<'_, '_>) -> R) -> R {
        let mut ctx = Ctx {
            now_ms: 0,
            rng: &mut self.rng,
            timers: &mut self.timers,
            world_index: 0,
            sim: &self.sim,
            alarms: &crate::alarms::NoAlarms,
            runtime: &mut crate::task_runtime::RuntimePort::default(),
            functions: &mut crate::functions::Functions::default(),
        };
        let mut handler = Ec2Handler {
            world: &mut self.world,
            ctx: &mut ctx,
        };
        f(&mut handler)
    }

    fn vpcs(&mut self, filters: Vec<api::Filter>) -> Vec<api::Vpc> {
        let req = api::DescribeVpcsRequest {
            filters: Some(filters),
            ..Default::default()
        };
        self.call(|h| h.describe_vpcs(req)).unwrap().vpcs.unwrap()
    }

    fn subnets(&mut self, filters: Vec<api::Filter>) -> Vec<api::Subnet> {
        let req = api::DescribeSubnetsRequest {
            filters: Some(filters),
            ..Default::default()
        };
        self.call(|h| h.describe_subnets(req)).unwrap().subnets.unwrap()
    }

    fn groups(&mut self, filters: Vec<api::Filter>) -> Vec<api::SecurityGroup> {
        let req = api::DescribeSecurityGroupsRequest {
            filters: Some(filters),
            ..Default::default()
        };
        self.call(|h| h.describe_security_groups(req))
            .unwrap()
            .security_groups
            .unwrap()
    }

    fn create_vpc(&mut self, cidr: &str) -> String {
        let req = api::CreateVpcRequest {
            cidr_block: Some(cidr.into()),
            ..Default::default()
        };
        self.call(|h| h.create_vpc(req))
            .unwrap()
            .vpc
            .unwrap()
            .vpc_id
            .unwrap()
    }

    fn create_subnet(&mut self, vpc: &str, cidr: &str) -> Result<api::Subnet, ecsim_protocol::AwsError> {
        let req = api::CreateSubnetRequest {
            vpc_id: vpc.into(),
            cidr_block: Some(cidr.into()),
            ..Default::default()
        };
        self.call(|h| h.create_subnet(req)).map(|r| r.subnet.unwrap())
    }

    fn create_group(&mut self, name: &str, vpc: Option<&str>) -> Result<String, ecsim_protocol::AwsError> {
        let req = api::CreateSecurityGroupRequest {
            group_name: name.into(),
            description: format!("{name} group"),
            vpc_id: vpc.map(String::from),
            ..Default::default()
        };
        self.call(|h| h.create_security_group(req))
            .map(|r| r.group_id.unwrap())
    }

    fn group(&mut self, id: &str) -> api::SecurityGroup {
        let req = api::DescribeSecurityGroupsRequest {
            group_ids: Some(vec![id.into()]),
            ..Default::default()
        };
        self.call(|h| h.describe_security_groups(req))
            .unwrap()
            .security_groups
            .unwrap()
            .remove(0)
    }
}

fn filter(name: &str, values: &[&str]) -> api::Filter {
    api::Filter {
        name: Some(name.into()),
        values: Some(values.iter().map(|v| (*v).to_string()).collect()),
    }
}

fn tag_spec(rt: api::ResourceType, key: &str, value: &str) -> Option<Vec<api::TagSpecification>> {
    Some(vec![api::TagSpecification {
        resource_type: Some(rt),
        tags: Some(vec![api::Tag {
            key: Some(key.into()),
            value: Some(value.into()),
        }]),
    }])
}

fn tcp_from(port: i32, cidr: &str) -> api::IpPermission {
    api::IpPermission {
        ip_protocol: Some("tcp".into()),
        from_port: Some(port),
        to_port: Some(port),
        ip_ranges: Some(vec![api::IpRange {
            cidr_ip: Some(cidr.into()),
            description: Some("web".into()),
        }]),
        ..Default::default()
    }
}

#[test]
fn default_topology_is_visible() {
    let mut fx = Fixture::new();
    let vpcs = fx.vpcs(vec![filter("is-default", &["true"])]);
    assert_eq!(vpcs.len(), 1);
    let vpc = &vpcs[0];
    assert_eq!(vpc.vpc_id.as_deref(), Some(DEFAULT_VPC_ID));
    assert_eq!(vpc.cidr_block.as_deref(), Some("172.31.0.0/16"));
    assert_eq!(vpc.owner_id.as_deref(), Some("000000000000"));
    assert_eq!(vpc.state, Some(api::VpcState::Available));

    let subnets = fx.subnets(vec![filter("default-for-az", &["true"])]);
    assert_eq!(subnets.len(), 6);
    let a = subnets
        .iter()
        .find(|s| s.subnet_id.as_deref() == Some(default_subnet_id("a").as_str()))
        .unwrap();
    assert_eq!(a.availability_zone.as_deref(), Some("us-east-1a"));
    assert_eq!(a.availability_zone_id.as_deref(), Some("use1-az1"));
    assert_eq!(a.cidr_block.as_deref(), Some("172.31.0.0/20"));
    assert_eq!(a.available_ip_address_count, Some(4091));
    assert_eq!(
        a.subnet_arn.as_deref(),
        Some(
            format!(
                "arn:aws:ec2:us-east-1:000000000000:subnet/{}",
                default_subnet_id("a")
            )
            .as_str()
        )
    );

    let groups = fx.groups(vec![filter("group-name", &["default"])]);
    assert_eq!(groups.len(), 1);
    assert_eq!(groups[0].group_id.as_deref(), Some(DEFAULT_SECURITY_GROUP_ID));
    assert_eq!(groups[0].vpc_id.as_deref(), Some(DEFAULT_VPC_ID));
    let egress = &groups[0].ip_permissions_egress.as_ref().unwrap()[0];
    assert_eq!(egress.ip_protocol.as_deref(), Some("-1"));
    assert_eq!(
        egress.ip_ranges.as_ref().unwrap()[0].cidr_ip.as_deref(),
        Some("0.0.0.0/0")
    );
}

#[test]
fn filters_combine_and_accept_wildcards() {
    let mut fx = Fixture::new();
    let two = fx.subnets(vec![
        filter("availability-zone", &["us-east-1a", "us-east-1b"]),
        filter("vpc-id", &[DEFAULT_VPC_ID]),
        filter("default-for-az", &["true"]),
    ]);
    assert_eq!(two.len(), 2, "values OR, filters AND");
    assert!(
        fx.subnets(vec![
            filter("availability-zone", &["us-east-1a"]),
            filter("state", &["pending"])
        ])
        .is_empty()
    );
    assert_eq!(
        fx.subnets(vec![filter("availability-zone", &["us-east-1?"])])
            .len(),
        6
    );
    assert_eq!(
        fx.subnets(vec![filter("cidr-block", &["172.31.1*"])]).len(),
        1,
        "only 172.31.16.0/20"
    );
    assert_eq!(
        fx.subnets(vec![filter("availability-zone-id", &["use1-az*"])])
            .len(),
        6
    );
    assert_eq!(
        fx.vpcs(vec![
            filter("cidr", &["172.31.*"]),
            filter("owner-id", &["000000000000"])
        ])
        .len(),
        1
    );
    assert!(fx.vpcs(vec![filter("is-default", &["false"])]).is_empty());

    let err = fx
        .call(|h| {
            h.describe_subnets(api::DescribeSubnetsRequest {
                filters: Some(vec![filter("foo", &["x"])]),
                ..Default::default()
            })
        })
        .unwrap_err();
    assert_eq!(
        (err.code.as_str(), err.message.as_str()),
        ("InvalidParameterValue", "The filter 'foo' is invalid")
    );
}

#[test]
fn unknown_and_malformed_ids_are_refused() {
    let mut fx = Fixture::new();
    let req = api::DescribeVpcsRequest {
        vpc_ids: Some(vec!["vpc-0123456789abcdef0".into()]),
        ..Default::default()
    };
    let err = fx.call(|h| h.describe_vpcs(req)).unwrap_err();
    assert_eq!(err.code, "InvalidVpcID.NotFound");
    assert_eq!(err.message, "The vpc ID 'vpc-0123456789abcdef0' does not exist");
    let req = api::DescribeSubnetsRequest {
        subnet_ids: Some(vec!["subnet-12345678".into()]),
        ..Default::default()
    };
    let err = fx.call(|h| h.describe_subnets(req)).unwrap_err();
    assert_eq!(err.code, "InvalidSubnetID.NotFound");
    assert_eq!(err.message, "The subnet ID 'subnet-12345678' does not exist");
    let req = api::DescribeSecurityGroupsRequest {
        group_ids: Some(vec!["sg-12345678".into()]),
        ..Default::default()
    };
    assert_eq!(
        fx.call(|h| h.describe_security_groups(req)).unwrap_err().code,
        "InvalidGroup.NotFound"
    );
    let req = api::DescribeSecurityGroupsRequest {
        group_names: Some(vec!["nope".into()]),
        ..Default::default()
    };
    assert_eq!(
        fx.call(|h| h.describe_security_groups(req)).unwrap_err().code,
        "InvalidGroup.NotFound"
    );
    let req = api::DescribeVpcsRequest {
        vpc_ids: Some(vec!["subnet-1".into()]),
        ..Default::default()
    };
    assert_eq!(
        fx.call(|h| h.describe_vpcs(req)).unwrap_err().code,
        "InvalidVpcID.Malformed"
    );
    let req = api::DescribeSecurityGroupsRequest {
        group_ids: Some(vec!["default".into()]),
        ..Default::default()
    };
    assert_eq!(
        fx.call(|h| h.describe_security_groups(req)).unwrap_err().code,
        "InvalidGroupId.Malformed"
    );
    let req = api::DescribeVpcsRequest {
        vpc_ids: Some(vec![DEFAULT_VPC_ID.into()]),
        ..Default::default()
    };
    assert_eq!(fx.call(|h| h.describe_vpcs(req)).unwrap().vpcs.unwrap().len(), 1);
}

#[test]
fn create_and_delete_a_vpc() {
    let mut fx = Fixture::new();
    let req = api::CreateVpcRequest {
        cidr_block: Some("10.0.0.0/16".into()),
        tag_specifications: tag_spec(api::ResourceType::Vpc, "Name", "app"),
        ..Default::default()
    };
    let vpc = fx.call(|h| h.create_vpc(req)).unwrap().vpc.unwrap();
    let id = vpc.vpc_id.clone().unwrap();
    assert_eq!(id.len(), "vpc-".len() + 17);
    assert!(
        id[4..]
            .bytes()
            .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
    );
    assert_eq!(vpc.is_default, Some(false));
    assert_eq!(vpc.tags.unwrap()[0].value.as_deref(), Some("app"));
    assert_eq!(fx.vpcs(vec![filter("tag:Name", &["app"])]).len(), 1);
    assert_eq!(fx.vpcs(vec![filter("tag-key", &["Name"])]).len(), 1);
    assert_eq!(fx.vpcs(vec![]).len(), 2);

    // Its own default security group.
    let own = fx.groups(vec![filter("vpc-id", &[&id]), filter("group-name", &["default"])]);
    assert_eq!(own.len(), 1);
    let own_id = own[0].group_id.clone().unwrap();
    assert_ne!(own_id, DEFAULT_SECURITY_GROUP_ID);
    let ingress = &own[0].ip_permissions.as_ref().unwrap()[0];
    assert_eq!(
        ingress.user_id_group_pairs.as_ref().unwrap()[0]
            .group_id
            .as_deref(),
        Some(own_id.as_str())
    );

    for (cidr, code) in [
        ("10.0.0.0/8", "InvalidVpc.Range"),
        ("10.0.0.0/29", "InvalidVpc.Range"),
        ("10.0.0.1/16", "InvalidParameterValue"),
        ("banana", "InvalidParameterValue"),
    ] {
        let req = api::CreateVpcRequest {
            cidr_block: Some(cidr.into()),
            ..Default::default()
        };
        assert_eq!(fx.call(|h| h.create_vpc(req)).unwrap_err().code, code, "{cidr}");
    }
    assert_eq!(
        fx.call(|h| h.create_vpc(Default::default())).unwrap_err().code,
        "MissingParameter"
    );
    let wrong_tags = api::CreateVpcRequest {
        cidr_block: Some("10.1.0.0/16".into()),
        tag_specifications: tag_spec(api::ResourceType::Subnet, "a", "b"),
        ..Default::default()
    };
    assert_eq!(
        fx.call(|h| h.create_vpc(wrong_tags)).unwrap_err().code,
        "InvalidParameterValue"
    );
    assert_eq!(fx.vpcs(vec![]).len(), 2, "failed creates change nothing");

    // Dependencies block deletion: a subnet, then a non-default group.
    let subnet = fx.create_subnet(&id, "10.0.1.0/24").unwrap().subnet_id.unwrap();
    let delete = |id: &str| api::DeleteVpcRequest {
        vpc_id: id.into(),
        ..Default::default()
    };
    let err = fx.call(|h| h.delete_vpc(delete(&id))).unwrap_err();
    assert_eq!(err.code, "DependencyViolation");
    fx.call(|h| {
        h.delete_subnet(api::DeleteSubnetRequest {
            subnet_id: subnet.clone(),
            ..Default::default()
        })
    })
    .unwrap();
    let group = fx.create_group("web", Some(&id)).unwrap();
    assert_eq!(
        fx.call(|h| h.delete_vpc(delete(&id))).unwrap_err().code,
        "DependencyViolation"
    );
    fx.call(|h| {
        h.delete_security_group(api::DeleteSecurityGroupRequest {
            group_id: Some(group),
            ..Default::default()
        })
    })
    .unwrap();
    fx.call(|h| h.delete_vpc(delete(&id))).unwrap();
    assert_eq!(fx.vpcs(vec![]).len(), 1);
    assert!(
        !fx.world.network.security_groups.contains_key(&own_id),
        "the VPC's default group went with it"
    );
    assert_eq!(
        fx.call(|h| h.delete_vpc(delete(&id))).unwrap_err().code,
        "InvalidVpcID.NotFound"
    );
    assert_eq!(
        fx.call(|h| h.delete_vpc(delete(DEFAULT_VPC_ID)))
            .unwrap_err()
            .code,
        "DependencyViolation"
    );
}

#[test]
fn create_and_delete_subnets() {
    let mut fx = Fixture::new();
    let vpc = fx.create_vpc("10.0.0.0/16");
    let s = fx.create_subnet(&vpc, "10.0.0.0/24").unwrap();
    assert_eq!(
        s.availability_zone.as_deref(),
        Some("us-east-1a"),
        "first zone by default"
    );
    assert_eq!(s.available_ip_address_count, Some(251));
    assert_eq!(s.default_for_az, Some(false));
    assert_eq!(s.map_public_ip_on_launch, Some(false));
    let id = s.subnet_id.unwrap();
    assert!(id.starts_with("subnet-") && id.len() == "subnet-".len() + 17);

    assert_eq!(
        fx.create_subnet(&vpc, "10.1.0.0/24").unwrap_err().code,
        "InvalidSubnet.Range"
    );
    assert_eq!(
        fx.create_subnet(&vpc, "10.0.0.0/29").unwrap_err().code,
        "InvalidSubnet.Range"
    );
    assert_eq!(
        fx.create_subnet(&vpc, "10.0.0.128/25").unwrap_err().code,
        "InvalidSubnet.Conflict"
    );
    assert_eq!(
        fx.create_subnet(&vpc, "10.0.0.0/16").unwrap_err().code,
        "InvalidSubnet.Conflict"
    );
    assert_eq!(
        fx.create_subnet(&vpc, "10.0.0.5/24").unwrap_err().code,
        "InvalidParameterValue"
    );
    assert_eq!(
        fx.create_subnet("vpc-0000000000000000f", "10.0.1.0/24")
            .unwrap_err()
            .code,
        "InvalidVpcID.NotFound"
    );
    // The default VPC's subnets do not conflict with another VPC's.
    let other = fx.create_vpc("172.31.0.0/16");
    fx.create_subnet(&other, "172.31.0.0/20").unwrap();

    let in_zone = |az: Option<&str>, az_id: Option<&str>, cidr: &str| api::CreateSubnetRequest {
        vpc_id: vpc.clone(),
        cidr_block: Some(cidr.into()),
        availability_zone: az.map(String::from),
        availability_zone_id: az_id.map(String::from),
        tag_specifications: tag_spec(api::ResourceType::Subnet, "tier", "private"),
        ..Default::default()
    };
    let c = fx
        .call(|h| h.create_subnet(in_zone(Some("us-east-1c"), None, "10.0.1.0/24")))
        .unwrap()
        .subnet
        .unwrap();
    assert_eq!(c.availability_zone_id.as_deref(), Some("use1-az3"));
    let d = fx
        .call(|h| h.create_subnet(in_zone(None, Some("use1-az4"), "10.0.2.0/24")))
        .unwrap()
        .subnet
        .unwrap();
    assert_eq!(d.availability_zone.as_deref(), Some("us-east-1d"));
    let err = fx
        .call(|h| h.create_subnet(in_zone(Some("us-east-1z"), None, "10.0.3.0/24")))
        .unwrap_err();
    assert_eq!(err.code, "InvalidParameterValue");
    let err = fx
        .call(|h| h.create_subnet(in_zone(Some("us-east-1a"), Some("use1-az2"), "10.0.3.0/24")))
        .unwrap_err();
    assert_eq!(err.code, "InvalidParameterCombination");
    assert_eq!(
        fx.subnets(vec![filter("tag:tier", &["private"]), filter("vpc-id", &[&vpc])])
            .len(),
        2
    );

    // A subnet with a task address in use cannot go.
    let c_id = c.subnet_id.unwrap();
    let ip = fx.world.network.allocate_ip(&c_id).unwrap();
    let delete = |id: &str| api::DeleteSubnetRequest {
        subnet_id: id.into(),
        ..Default::default()
    };
    assert_eq!(
        fx.call(|h| h.delete_subnet(delete(&c_id))).unwrap_err().code,
        "DependencyViolation"
    );
    assert_eq!(
        fx.subnets(vec![filter("subnet-id", &[&c_id])])[0].available_ip_address_count,
        Some(250)
    );
    fx.world.network.release_ip(&c_id, &ip);
    fx.call(|h| h.delete_subnet(delete(&c_id))).unwrap();
    assert_eq!(
        fx.call(|h| h.delete_subnet(delete(&c_id))).unwrap_err().code,
        "InvalidSubnetID.NotFound"
    );
    assert_eq!(
        fx.call(|h| h.delete_subnet(delete("sg-1"))).unwrap_err().code,
        "InvalidSubnetID.Malformed"
    );
}

#[test]
fn security_groups_are_unique_per_vpc_and_default_stays() {
    let mut fx = Fixture::new();
    let web = fx.create_group("web", None).unwrap();
    assert!(web.starts_with("sg-") && web.len() == 3 + 17);
    assert_eq!(
        fx.group(&web).vpc_id.as_deref(),
        Some(DEFAULT_VPC_ID),
        "default VPC when none is given"
    );
    let err = fx.create_group("web", None).unwrap_err();
    assert_eq!(err.code, "InvalidGroup.Duplicate");
    let vpc = fx.create_vpc("10.0.0.0/16");
    fx.create_group("web", Some(&vpc)).unwrap();
    assert_eq!(
        fx.create_group("default", None).unwrap_err().code,
        "InvalidParameterValue"
    );
    assert_eq!(
        fx.create_group("sg-like", None).unwrap_err().code,
        "InvalidParameterValue"
    );
    assert_eq!(
        fx.create_group("x", Some("vpc-00000000")).unwrap_err().code,
        "InvalidVpcID.NotFound"
    );

    assert_eq!(fx.groups(vec![filter("group-name", &["web"])]).len(), 2);
    assert_eq!(
        fx.groups(vec![filter("group-name", &["web"]), filter("vpc-id", &[&vpc])])
            .len(),
        1
    );
    assert_eq!(fx.groups(vec![filter("description", &["web*"])]).len(), 2);
    let by_name = api::DescribeSecurityGroupsRequest {
        group_names: Some(vec!["web".into()]),
        ..Default::default()
    };
    let found = fx
        .call(|h| h.describe_security_groups(by_name))
        .unwrap()
        .security_groups
        .unwrap();
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].group_id.as_deref(), Some(web.as_str()));
    assert_eq!(
        found[0].security_group_arn.as_deref(),
        Some(format!("arn:aws:ec2:us-east-1:000000000000:security-group/{web}").as_str())
    );

    let delete_id = |id: &str| api::DeleteSecurityGroupRequest {
        group_id: Some(id.into()),
        ..Default::default()
    };
    let err = fx
        .call(|h| h.delete_security_group(delete_id(DEFAULT_SECURITY_GROUP_ID)))
        .unwrap_err();
    assert_eq!(err.code, "CannotDelete");
    let by_name = api::DeleteSecurityGroupRequest {
        group_name: Some("web".into()),
        ..Default::default()
    };
    let out = fx.call(|h| h.delete_security_group(by_name)).unwrap();
    assert_eq!(
        (out.r#return, out.group_id.as_deref()),
        (Some(true), Some(web.as_str()))
    );
    assert_eq!(
        fx.call(|h| h.delete_security_group(delete_id(&web)))
            .unwrap_err()
            .code,
        "InvalidGroup.NotFound"
    );
    let neither = fx
        .call(|h| h.delete_security_group(Default::default()))
        .unwrap_err();
    assert_eq!(neither.code, "MissingParameter");
}

#[test]
fn rules_are_authorized_and_revoked() {
    let mut fx = Fixture::new();
    let vpc = fx.create_vpc("10.0.0.0/16");
    let web = fx.create_group("web", Some(&vpc)).unwrap();
    let lb = fx.create_group("lb", Some(&vpc)).unwrap();
    let ingress = |perms: Vec<api::IpPermission>| api::AuthorizeSecurityGroupIngressRequest {
        group_id: Some(web.clone()),
        ip_permissions: Some(perms),
        ..Default::default()
    };
    let from_lb = api::IpPermission {
        ip_protocol: Some("6".into()),
        from_port: Some(8080),
        to_port: Some(8080),
        user_id_group_pairs: Some(vec![api::UserIdGroupPair {
            group_id: Some(lb.clone()),
            ..Default::default()
        }]),
        ..Default::default()
    };
    let out = fx
        .call(|h| h.authorize_security_group_ingress(ingress(vec![tcp_from(80, "0.0.0.0/0"), from_lb])))
        .unwrap();
    assert_eq!(out.r#return, Some(true));
    let err = fx
        .call(|h| h.authorize_security_group_ingress(ingress(vec![tcp_from(80, "0.0.0.0/0")])))
        .unwrap_err();
    assert_eq!(err.code, "InvalidPermission.Duplicate");
    // Another range on the same port joins the same permission.
    fx.call(|h| h.authorize_security_group_ingress(ingress(vec![tcp_from(80, "10.0.0.0/8")])))
        .unwrap();

    let group = fx.group(&web);
    let perms = group.ip_permissions.unwrap();
    assert_eq!(perms.len(), 2);
    let http = perms.iter().find(|p| p.from_port == Some(80)).unwrap();
    assert_eq!(http.ip_protocol.as_deref(), Some("tcp"));
    let ranges = http.ip_ranges.as_ref().unwrap();
    assert_eq!(ranges.len(), 2);
    assert_eq!(ranges[0].description.as_deref(), Some("web"));
    let app = perms.iter().find(|p| p.from_port == Some(8080)).unwrap();
    let pair = &app.user_id_group_pairs.as_ref().unwrap()[0];
    assert_eq!(
        (pair.group_id.as_deref(), pair.user_id.as_deref()),
        (Some(lb.as_str()), Some("000000000000"))
    );
    assert_eq!(
        fx.groups(vec![filter("ip-permission.from-port", &["8080"])])
            .len(),
        1
    );
    assert_eq!(fx.groups(vec![filter("ip-permission.group-id", &[&lb])]).len(), 1);

    // Bad rules change nothing.
    for bad in [
        api::IpPermission {
            ip_protocol: Some("tcp".into()),
            ..tcp_from(0, "1.2.3.4/32")
        },
        api::IpPermission {
            from_port: None,
            ..tcp_from(22, "1.2.3.4/32")
        },
        tcp_from(22, "1.2.3.4/33"),
        api::IpPermission {
            ip_protocol: Some("bogus".into()),
            ..tcp_from(22, "1.2.3.4/32")
        },
        api::IpPermission {
            ip_ranges: None,
            ..tcp_from(22, "1.2.3.4/32")
        },
    ] {
        let before = fx.world.network.security_groups[&web].clone();
        let res =
            fx.call(|h| h.authorize_security_group_ingress(ingress(vec![tcp_from(22, "1.2.3.4/32"), bad])));
        if res.is_ok() {
            // tcp port 0 is a valid range; undo it for the next case.
            fx.world.network.security_groups.insert(web.clone(), before);
            continue;
        }
        assert_eq!(fx.world.network.security_groups[&web], before);
    }

    // Groups of another VPC cannot be named without peering.
    let cross = api::IpPermission {
        ip_protocol: Some("-1".into()),
        user_id_group_pairs: Some(vec![api::UserIdGroupPair {
            group_id: Some(DEFAULT_SECURITY_GROUP_ID.into()),
            ..Default::default()
        }]),
        ..Default::default()
    };
    let err = fx
        .call(|h| h.authorize_security_group_ingress(ingress(vec![cross])))
        .unwrap_err();
    assert_eq!(err.code, "InvalidGroup.NotFound");

    // lb is referenced by web's rules.
    let del = api::DeleteSecurityGroupRequest {
        group_id: Some(lb.clone()),
        ..Default::default()
    };
    assert_eq!(
        fx.call(|h| h.delete_security_group(del)).unwrap_err().code,
        "DependencyViolation"
    );

    // Outside the default VPC an unknown rule fails the revoke.
    let revoke = |perms: Vec<api::IpPermission>| api::RevokeSecurityGroupIngressRequest {
        group_id: Some(web.clone()),
        ip_permissions: Some(perms),
        ..Default::default()
    };
    let err = fx
        .call(|h| {
            h.revoke_security_group_ingress(revoke(vec![
                tcp_from(80, "0.0.0.0/0"),
                tcp_from(443, "0.0.0.0/0"),
            ]))
        })
        .unwrap_err();
    assert_eq!(err.code, "InvalidPermission.NotFound");
    let out = fx
        .call(|h| h.revoke_security_group_ingress(revoke(vec![tcp_from(80, "0.0.0.0/0")])))
        .unwrap();
    assert_eq!((out.r#return, out.unknown_ip_permissions), (Some(true), None));
    let http = fx
        .group(&web)
        .ip_permissions
        .unwrap()
        .into_iter()
        .find(|p| p.from_port == Some(80))
        .unwrap();
    assert_eq!(http.ip_ranges.unwrap().len(), 1);

    // In the default VPC unknown rules come back instead.
    let dflt = fx.create_group("dflt", None).unwrap();
    let legacy = api::AuthorizeSecurityGroupIngressRequest {
        group_name: Some("dflt".into()),
        ip_protocol: Some("tcp".into()),
        from_port: Some(22),
        to_port: Some(22),
        cidr_ip: Some("192.168.0.0/16".into()),
        ..Default::default()
    };
    fx.call(|h| h.authorize_security_group_ingress(legacy)).unwrap();
    let revoke_dflt = api::RevokeSecurityGroupIngressRequest {
        group_id: Some(dflt.clone()),
        ip_permissions: Some(vec![
            tcp_from(22, "192.168.0.0/16"),
            tcp_from(23, "192.168.0.0/16"),
        ]),
        ..Default::default()
    };
    let out = fx.call(|h| h.revoke_security_group_ingress(revoke_dflt)).unwrap();
    let unknown = out.unknown_ip_permissions.unwrap();
    assert_eq!(unknown.len(), 1);
    assert_eq!(unknown[0].from_port, Some(23));
    assert!(fx.group(&dflt).ip_permissions.unwrap().is_empty());

    // Egress: the allow-all rule can be revoked and put back.
    let all_out = api::IpPermission {
        ip_protocol: Some("-1".into()),
        ip_ranges: Some(vec![api::IpRange {
            cidr_ip: Some("0.0.0.0/0".into()),
            description: None,
        }]),
        ..Default::default()
    };
    let revoke_out = api::RevokeSecurityGroupEgressRequest {
        group_id: web.clone(),
        ip_permissions: Some(vec![all_out.clone()]),
        ..Default::default()
    };
    fx.call(|h| h.revoke_security_group_egress(revoke_out)).unwrap();
    assert!(fx.group(&web).ip_permissions_egress.unwrap().is_empty());
    let grant_out = api::AuthorizeSecurityGroupEgressRequest {
        group_id: web.clone(),
        ip_permissions: Some(vec![all_out]),
        ..Default::default()
    };
    assert_eq!(
        fx.call(|h| h.authorize_security_group_egress(grant_out))
            .unwrap()
            .r#return,
        Some(true)
    );
    assert_eq!(fx.group(&web).ip_permissions_egress.unwrap().len(), 1);
}

#[test]
fn tags_on_vpcs_subnets_and_groups() {
    let mut fx = Fixture::new();
    let subnet = default_subnet_id("b");
    let tag = |k: &str, v: &str| api::Tag {
        key: Some(k.into()),
        value: Some(v.into()),
    };
    let create = api::CreateTagsRequest {
        resources: vec![
            DEFAULT_VPC_ID.into(),
            subnet.clone(),
            DEFAULT_SECURITY_GROUP_ID.into(),
        ],
        tags: vec![tag("env", "dev"), tag("team", "core")],
        ..Default::default()
    };
    fx.call(|h| h.create_tags(create)).unwrap();
    assert_eq!(fx.subnets(vec![filter("tag:env", &["dev"])]).len(), 1);
    assert_eq!(fx.groups(vec![filter("tag:team", &["co*"])]).len(), 1);

    let describe = |filters: Vec<api::Filter>| api::DescribeTagsRequest {
        filters: Some(filters),
        ..Default::default()
    };
    let all = fx
        .call(|h| h.describe_tags(describe(vec![])))
        .unwrap()
        .tags
        .unwrap();
    assert_eq!(all.len(), 6);
    let subnets = fx
        .call(|h| h.describe_tags(describe(vec![filter("resource-type", &["subnet"])])))
        .unwrap();
    let subnets = subnets.tags.unwrap();
    assert_eq!(subnets.len(), 2);
    assert_eq!(subnets[0].resource_id.as_deref(), Some(subnet.as_str()));
    assert_eq!(subnets[0].resource_type, Some(api::ResourceType::Subnet));
    let teams = fx.call(|h| {
        h.describe_tags(describe(vec![
            filter("key", &["team"]),
            filter("value", &["core"]),
        ]))
    });
    assert_eq!(teams.unwrap().tags.unwrap().len(), 3);
    let err = fx
        .call(|h| h.describe_tags(describe(vec![filter("resource", &["x"])])))
        .unwrap_err();
    assert_eq!(err.code, "InvalidParameterValue");
    let paged = api::DescribeTagsRequest {
        max_results: Some(5),
        ..Default::default()
    };
    let page = fx.call(|h| h.describe_tags(paged)).unwrap();
    assert_eq!(page.tags.unwrap().len(), 5);
    let rest = api::DescribeTagsRequest {
        max_results: Some(5),
        next_token: page.next_token,
        ..Default::default()
    };
    let rest = fx.call(|h| h.describe_tags(rest)).unwrap();
    assert_eq!((rest.tags.unwrap().len(), rest.next_token), (1, None));

    // Unknown resources fail the whole call.
    for (id, code) in [
        ("vpc-0000000000000000a", "InvalidVpcID.NotFound"),
        ("subnet-0000000000000000a", "InvalidSubnetID.NotFound"),
        ("sg-0000000000000000a", "InvalidGroup.NotFound"),
        ("i-0000000000000000a", "InvalidID"),
    ] {
        let req = api::CreateTagsRequest {
            resources: vec![DEFAULT_VPC_ID.into(), id.into()],
            tags: vec![tag("new", "x")],
            ..Default::default()
        };
        assert_eq!(fx.call(|h| h.create_tags(req)).unwrap_err().code, code);
    }
    assert!(!fx.world.network.vpcs[DEFAULT_VPC_ID].tags.contains_key("new"));
    let reserved = api::CreateTagsRequest {
        resources: vec![DEFAULT_VPC_ID.into()],
        tags: vec![tag("aws:x", "y")],
        ..Default::default()
    };
    assert_eq!(
        fx.call(|h| h.create_tags(reserved)).unwrap_err().code,
        "InvalidParameterValue"
    );

    // Delete: a value must match, a bare key always goes, no tags at all clears.
    let delete = |resource: &str, tags: Option<Vec<api::Tag>>| api::DeleteTagsRequest {
        resources: vec![resource.into()],
        tags,
        ..Default::default()
    };
    fx.call(|h| h.delete_tags(delete(DEFAULT_VPC_ID, Some(vec![tag("env", "prod")]))))
        .unwrap();
    assert!(fx.world.network.vpcs[DEFAULT_VPC_ID].tags.contains_key("env"));
    let bare = api::Tag {
        key: Some("env".into()),
        value: None,
    };
    fx.call(|h| h.delete_tags(delete(DEFAULT_VPC_ID, Some(vec![bare]))))
        .unwrap();
    assert!(!fx.world.network.vpcs[DEFAULT_VPC_ID].tags.contains_key("env"));
    fx.call(|h| h.delete_tags(delete(&subnet, None))).unwrap();
    assert!(fx.world.network.subnets[&subnet].tags.is_empty());
}

#[test]
fn describe_calls_page_through_results() {
    let mut fx = Fixture::new();
    let page = |token: Option<String>| api::DescribeSubnetsRequest {
        max_results: Some(5),
        next_token: token,
        ..Default::default()
    };
    let first = fx.call(|h| h.describe_subnets(page(None))).unwrap();
    assert_eq!(first.subnets.unwrap().len(), 5);
    let second = fx.call(|h| h.describe_subnets(page(first.next_token))).unwrap();
    assert_eq!(second.subnets.unwrap().len(), 1);
    assert!(second.next_token.is_none());
    let mixed = api::DescribeSubnetsRequest {
        subnet_ids: Some(vec![default_subnet_id("a")]),
        max_results: Some(5),
        ..Default::default()
    };
    assert_eq!(
        fx.call(|h| h.describe_subnets(mixed)).unwrap_err().code,
        "InvalidParameterCombination"
    );
    let bad = api::DescribeVpcsRequest {
        next_token: Some("not-a-token".into()),
        ..Default::default()
    };
    assert_eq!(
        fx.call(|h| h.describe_vpcs(bad)).unwrap_err().code,
        "InvalidPaginationToken"
    );
}

#[test]
fn zones_regions_and_account_attributes() {
    let mut fx = Fixture::new();
    let zones = |req: api::DescribeAvailabilityZonesRequest, fx: &mut Fixture| {
        fx.call(|h| h.describe_availability_zones(req))
            .map(|r| r.availability_zones.unwrap())
    };
    let all = zones(Default::default(), &mut fx).unwrap();
    assert_eq!(all.len(), 6);
    assert_eq!(all[0].zone_name.as_deref(), Some("us-east-1a"));
    assert_eq!(all[0].zone_id.as_deref(), Some("use1-az1"));
    assert_eq!(all[0].state, Some(api::AvailabilityZoneState::Available));
    assert_eq!(all[0].region_name.as_deref(), Some("us-east-1"));
    let req = api::DescribeAvailabilityZonesRequest {
        filters: Some(vec![
            filter("zone-name", &["us-east-1a", "us-east-1f"]),
            filter("state", &["available"]),
        ]),
        ..Default::default()
    };
    assert_eq!(zones(req, &mut fx).unwrap().len(), 2);
    let req = api::DescribeAvailabilityZonesRequest {
        zone_ids: Some(vec!["use1-az2".into()]),
        ..Default::default()
    };
    assert_eq!(
        zones(req, &mut fx).unwrap()[0].zone_name.as_deref(),
        Some("us-east-1b")
    );
    let req = api::DescribeAvailabilityZonesRequest {
        zone_names: Some(vec!["us-east-1z".into()]),
        ..Default::default()
    };
    assert_eq!(zones(req, &mut fx).unwrap_err().code, "InvalidParameterValue");
    let req = api::DescribeAvailabilityZonesRequest {
        filters: Some(vec![filter("region-name", &["eu-west-1"])]),
        ..Default::default()
    };
    assert!(zones(req, &mut fx).unwrap().is_empty());

    let regions = fx
        .call(|h| h.describe_regions(Default::default()))
        .unwrap()
        .regions
        .unwrap();
    assert!(
        regions
            .iter()
            .any(|r| r.region_name.as_deref() == Some("us-east-1"))
    );
    assert!(regions.len() >= 17);
    let req = api::DescribeRegionsRequest {
        filters: Some(vec![filter("region-name", &["eu-*"])]),
        ..Default::default()
    };
    let eu = fx.call(|h| h.describe_regions(req)).unwrap().regions.unwrap();
    assert!(
        !eu.is_empty()
            && eu
                .iter()
                .all(|r| r.region_name.as_deref().unwrap().starts_with("eu-"))
    );

    let attrs = fx
        .call(|h| h.describe_account_attributes(Default::default()))
        .unwrap()
        .account_attributes
        .unwrap();
    let value = |name: &str| {
        attrs
            .iter()
            .find(|a| a.attribute_name.as_deref() == Some(name))
            .unwrap()
            .attribute_values
            .as_ref()
            .unwrap()[0]
            .attribute_value
            .clone()
    };
    assert_eq!(value("supported-platforms").as_deref(), Some("VPC"));
    assert_eq!(value("default-vpc").as_deref(), Some(DEFAULT_VPC_ID));
}

#[test]
fn vpc_and_subnet_attributes() {
    let mut fx = Fixture::new();
    let vpc = fx.create_vpc("10.0.0.0/16");
    let describe = |attribute: api::VpcAttributeName| api::DescribeVpcAttributeRequest {
        attribute,
        vpc_id: vpc.clone(),
        ..Default::default()
    };
    let value = |v: Option<api::AttributeBooleanValue>| v.and_then(|a| a.value);
    let out = fx
        .call(|h| h.describe_vpc_attribute(describe(api::VpcAttributeName::EnableDnsSupport)))
        .unwrap();
    assert_eq!(value(out.enable_dns_support), Some(true));
    let out = fx
        .call(|h| h.describe_vpc_attribute(describe(api::VpcAttributeName::EnableDnsHostnames)))
        .unwrap();
    assert_eq!(value(out.enable_dns_hostnames), Some(false));
    let on = || Some(api::AttributeBooleanValue { value: Some(true) });
    let modify = api::ModifyVpcAttributeRequest {
        vpc_id: vpc.clone(),
        enable_dns_hostnames: on(),
        ..Default::default()
    };
    fx.call(|h| h.modify_vpc_attribute(modify)).unwrap();
    let out = fx
        .call(|h| h.describe_vpc_attribute(describe(api::VpcAttributeName::EnableDnsHostnames)))
        .unwrap();
    assert_eq!(value(out.enable_dns_hostnames), Some(true));
    let both = api::ModifyVpcAttributeRequest {
        vpc_id: vpc.clone(),
        enable_dns_hostnames: on(),
        enable_dns_support: on(),
        ..Default::default()
    };
    assert_eq!(
        fx.call(|h| h.modify_vpc_attribute(both)).unwrap_err().code,
        "InvalidParameterCombination"
    );

    let subnet = default_subnet_id("c");
    let modify = api::ModifySubnetAttributeRequest {
        subnet_id: subnet.clone(),
        map_public_ip_on_launch: Some(api::AttributeBooleanValue { value: Some(false) }),
        ..Default::default()
    };
    fx.call(|h| h.modify_subnet_attribute(modify)).unwrap();
    assert_eq!(
        fx.subnets(vec![filter("map-public-ip-on-launch", &["false"])])
            .len(),
        1
    );
    let ipv6 = api::ModifySubnetAttributeRequest {
        subnet_id: subnet,
        assign_ipv6_address_on_creation: on(),
        ..Default::default()
    };
    assert_eq!(
        fx.call(|h| h.modify_subnet_attribute(ipv6)).unwrap_err().code,
        "UnsupportedOperation"
    );
}

#[test]
fn dry_run_answers_without_changing_anything() {
    let mut fx = Fixture::new();
    let req = api::CreateVpcRequest {
        cidr_block: Some("10.0.0.0/16".into()),
        dry_run: Some(true),
        ..Default::default()
    };
    let err = fx.call(|h| h.create_vpc(req)).unwrap_err();
    assert_eq!((err.code.as_str(), err.status), ("DryRunOperation", 412));
    assert_eq!(fx.vpcs(vec![]).len(), 1);
}

#[test]
fn ids_replay_from_the_seed() {
    let ids = || {
        let mut fx = Fixture::new();
        let vpc = fx.create_vpc("10.0.0.0/16");
        let subnet = fx.create_subnet(&vpc, "10.0.0.0/24").unwrap().subnet_id.unwrap();
        (vpc, subnet)
    };
    assert_eq!(ids(), ids());
}
