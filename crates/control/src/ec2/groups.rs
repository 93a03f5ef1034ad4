//! Security groups: DescribeSecurityGroups, CreateSecurityGroup, DeleteSecurityGroup, and the
//! `default` group every VPC owns. Rule changes live in `rules`.

use ecsim_api::ec2 as api;
use ecsim_core::Rng;
use ecsim_protocol::AwsError;

use super::filter::{Filters, Kind, dry_run, ids_without_paging, paginate, tag_values};
use super::rules::to_api;
use super::{new_id, tags};
use crate::network::{IpPermission, Network, SecurityGroup};
use crate::world::World;

/// The group every VPC is born with: members reach each other, everything may leave.
pub(super) fn default_group_for(group_id: &str, vpc_id: &str) -> SecurityGroup {
    SecurityGroup {
        id: group_id.to_string(),
        name: "default".into(),
        description: "default VPC security group".into(),
        vpc_id: vpc_id.to_string(),
        tags: Default::default(),
        ingress: vec![IpPermission {
            ip_protocol: "-1".into(),
            source_groups: vec![group_id.to_string()],
            ..IpPermission::default()
        }],
        egress: vec![allow_all_out()],
    }
}

/// The egress rule EC2 gives every new group.
fn allow_all_out() -> IpPermission {
    IpPermission {
        ip_protocol: "-1".into(),
        cidr_ipv4: vec!["0.0.0.0/0".into()],
        ..IpPermission::default()
    }
}

/// The id of the default VPC, if the account still has one.
pub(super) fn default_vpc_id(network: &Network) -> Option<String> {
    network.vpcs.values().find(|v| v.is_default).map(|v| v.id.clone())
}

/// The group `name` in the default VPC (how EC2 resolves group names).
fn by_name_in_default_vpc(network: &Network, name: &str) -> Result<String, AwsError> {
    let vpc = default_vpc_id(network);
    network
        .security_groups
        .values()
        .find(|g| Some(&g.vpc_id) == vpc.as_ref() && g.name == name)
        .map(|g| g.id.clone())
        .ok_or_else(|| {
            let place = vpc.map(|v| format!(" in default VPC '{v}'")).unwrap_or_default();
            AwsError::client(
                "InvalidGroup.NotFound",
                format!("The security group '{name}' does not exist{place}"),
            )
        })
}

/// Resolves a request's `GroupId` or `GroupName` (default VPC) to a group id.
pub(super) fn resolve(network: &Network, id: Option<&str>, name: Option<&str>) -> Result<String, AwsError> {
    match (id, name) {
        (Some(id), _) => {
            Kind::Group.check(id)?;
            network
                .security_groups
                .get(id)
                .map(|g| g.id.clone())
                .ok_or_else(|| Kind::Group.not_found(&[id]))
        }
        (None, Some(name)) => by_name_in_default_vpc(network, name),
        (None, None) => Err(AwsError::client(
            "MissingParameter",
            "The request must contain the parameter groupName or groupId",
        )),
    }
}

const GROUP_FILTERS: &[&str] = &[
    "group-id",
    "group-name",
    "vpc-id",
    "description",
    "owner-id",
    "ip-permission.cidr",
    "ip-permission.from-port",
    "ip-permission.to-port",
    "ip-permission.protocol",
    "ip-permission.group-id",
    "ip-permission.group-name",
    "ip-permission.ipv6-cidr",
    "ip-permission.user-id",
    "egress.ip-permission.cidr",
    "egress.ip-permission.from-port",
    "egress.ip-permission.to-port",
    "egress.ip-permission.protocol",
    "egress.ip-permission.group-id",
    "egress.ip-permission.group-name",
    "egress.ip-permission.ipv6-cidr",
    "egress.ip-permission.user-id",
    "tag-key",
    "tag-value",
    "tag:",
];

fn rule_values(network: &Network, account: &str, perms: &[IpPermission], what: &str) -> Vec<String> {
    let port = |p: Option<i32>| p.map(|p| p.to_string());
    perms
        .iter()
        .flat_map(|p| -> Vec<String> {
            match what {
                "cidr" => p.cidr_ipv4.clone(),
                "ipv6-cidr" => p.cidr_ipv6.clone(),
                "from-port" => port(p.from_port).into_iter().collect(),
                "to-port" => port(p.to_port).into_iter().collect(),
                "protocol" => vec![p.ip_protocol.clone()],
                "group-id" => p.source_groups.clone(),
                "group-name" => p
                    .source_groups
                    .iter()
                    .filter_map(|g| network.security_groups.get(g).map(|g| g.name.clone()))
                    .collect(),
                "user-id" if !p.source_groups.is_empty() => vec![account.to_string()],
                _ => Vec::new(),
            }
        })
        .collect()
}

fn field(network: &Network, account: &str, group: &SecurityGroup, name: &str) -> Vec<String> {
    if let Some(values) = tag_values(name, &group.tags) {
        return values;
    }
    if let Some(what) = name.strip_prefix("egress.ip-permission.") {
        return rule_values(network, account, &group.egress, what);
    }
    if let Some(what) = name.strip_prefix("ip-permission.") {
        return rule_values(network, account, &group.ingress, what);
    }
    match name {
        "group-id" => vec![group.id.clone()],
        "group-name" => vec![group.name.clone()],
        "vpc-id" => vec![group.vpc_id.clone()],
        "description" => vec![group.description.clone()],
        "owner-id" => vec![account.to_string()],
        _ => Vec::new(),
    }
}

fn arn(world: &World, id: &str) -> String {
    world.arn("ec2", &format!("security-group/{id}"))
}

fn view(world: &World, group: &SecurityGroup) -> api::SecurityGroup {
    let account = world.account_id.as_str();
    api::SecurityGroup {
        group_id: Some(group.id.clone()),
        ip_permissions_egress: Some(group.egress.iter().map(|p| to_api(p, account)).collect()),
        tags: tags::to_list(&group.tags),
        vpc_id: Some(group.vpc_id.clone()),
        security_group_arn: Some(arn(world, &group.id)),
        owner_id: Some(account.to_string()),
        group_name: Some(group.name.clone()),
        description: Some(group.description.clone()),
        ip_permissions: Some(group.ingress.iter().map(|p| to_api(p, account)).collect()),
    }
}

pub(super) fn describe(
    world: &World,
    input: api::DescribeSecurityGroupsRequest,
) -> Result<api::DescribeSecurityGroupsResult, AwsError> {
    dry_run(input.dry_run)?;
    let filters = Filters::parse(input.filters, GROUP_FILTERS)?;
    let ids = input.group_ids.unwrap_or_default();
    let names = input.group_names.unwrap_or_default();
    ids_without_paging(
        !ids.is_empty() || !names.is_empty(),
        "groupIds/groupNames",
        input.max_results,
    )?;
    let network = &world.network;
    Kind::Group.check_all(&ids, |id| network.security_groups.contains_key(id))?;
    let mut selected = ids;
    for name in &names {
        selected.push(by_name_in_default_vpc(network, name)?);
    }
    let everything = selected.is_empty();
    let account = world.account_id.as_str();
    let items = network
        .security_groups
        .values()
        .filter(|g| everything || selected.contains(&g.id))
        .filter(|g| filters.matches(|name| field(network, account, g, name)))
        .map(|g| (g.id.clone(), view(world, g)))
        .collect();
    let (groups, next_token) = paginate(items, input.max_results, input.next_token.as_deref())?;
    Ok(api::DescribeSecurityGroupsResult {
        next_token,
        security_groups: Some(groups),
    })
}

fn invalid(param: &str, value: &str, why: &str) -> AwsError {
    AwsError::client(
        "InvalidParameterValue",
        format!("Value ({value}) for parameter {param} is invalid. {why}"),
    )
}

pub(super) fn create(
    world: &mut World,
    rng: &mut Rng,
    input: api::CreateSecurityGroupRequest,
) -> Result<api::CreateSecurityGroupResult, AwsError> {
    dry_run(input.dry_run)?;
    let name = input.group_name;
    if name.is_empty() {
        return Err(invalid("groupName", &name, "Group name cannot be empty."));
    }
    if name.chars().count() > 255 {
        return Err(invalid(
            "groupName",
            &name,
            "Group names are limited to 255 characters.",
        ));
    }
    if name.starts_with("sg-") {
        return Err(invalid(
            "groupName",
            &name,
            "Group names may not be in the format sg-*.",
        ));
    }
    if name == "default" {
        return Err(AwsError::client(
            "InvalidParameterValue",
            "Cannot use reserved security group name: default",
        ));
    }
    if input.description.chars().count() > 255 {
        return Err(invalid(
            "groupDescription",
            &input.description,
            "Descriptions are limited to 255 characters.",
        ));
    }
    let network = &mut world.network;
    let vpc_id = match input.vpc_id {
        Some(id) => {
            Kind::Vpc.check(&id)?;
            if !network.vpcs.contains_key(&id) {
                return Err(Kind::Vpc.not_found(&[&id]));
            }
            id
        }
        None => default_vpc_id(network)
            .ok_or_else(|| AwsError::client("VPCIdNotSpecified", "No default VPC for this user"))?,
    };
    if network
        .security_groups
        .values()
        .any(|g| g.vpc_id == vpc_id && g.name == name)
    {
        return Err(AwsError::client(
            "InvalidGroup.Duplicate",
            format!("The security group '{name}' already exists for VPC '{vpc_id}'"),
        ));
    }
    let tags = tags::from_specs(input.tag_specifications, api::ResourceType::SecurityGroup)?;
    let id = new_id("sg", rng, |id| network.security_groups.contains_key(id));
    let group = SecurityGroup {
        id: id.clone(),
        name,
        description: input.description,
        vpc_id,
        tags,
        ingress: Vec::new(),
        egress: vec![allow_all_out()],
    };
    let out_tags = tags::to_list(&group.tags);
    network.security_groups.insert(id.clone(), group);
    Ok(api::CreateSecurityGroupResult {
        security_group_arn: Some(arn(world, &id)),
        group_id: Some(id),
        tags: out_tags,
    })
}

/// Deletes a group that is not a VPC's `default` and that no other group's rules reference.
pub(super) fn delete(
    network: &mut Network,
    input: api::DeleteSecurityGroupRequest,
) -> Result<api::DeleteSecurityGroupResult, AwsError> {
    dry_run(input.dry_run)?;
    let id = resolve(network, input.group_id.as_deref(), input.group_name.as_deref())?;
    let Some(group) = network.security_groups.get(&id) else {
        return Err(Kind::Group.not_found(&[&id]));
    };
    if group.name == "default" {
        return Err(AwsError::client(
            "CannotDelete",
            format!("the specified group: \"{id}\" name: \"default\" cannot be deleted by a user"),
        ));
    }
    let referenced = network.security_groups.values().any(|g| {
        g.id != id
            && g.ingress
                .iter()
                .chain(&g.egress)
                .any(|p| p.source_groups.contains(&id))
    });
    if referenced {
        return Err(AwsError::client(
            "DependencyViolation",
            format!("resource {id} has a dependent object"),
        ));
    }
    network.security_groups.remove(&id);
    Ok(api::DeleteSecurityGroupResult {
        r#return: Some(true),
        group_id: Some(id),
    })
}
