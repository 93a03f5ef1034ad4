//! VPCs: DescribeVpcs, CreateVpc, DeleteVpc, DescribeVpcAttribute and ModifyVpcAttribute.
//!
//! IPv4 only: IPv6 blocks, IPAM pools and dedicated tenancy are refused, never faked.

use ecsim_api::ec2 as api;
use ecsim_core::Rng;
use ecsim_protocol::AwsError;

use super::filter::{Filters, Kind, bool_value, dry_run, ids_without_paging, paginate, tag_values};
use super::groups::default_group_for;
use super::{new_id, tags};
use crate::network::{Network, Vpc};
use crate::topology::Cidr;
use crate::world::World;

const VPC_FILTERS: &[&str] = &[
    "vpc-id",
    "is-default",
    "cidr",
    "cidr-block-association.cidr-block",
    "cidr-block-association.association-id",
    "cidr-block-association.state",
    "state",
    "owner-id",
    "instance-tenancy",
    "tag-key",
    "tag-value",
    "tag:",
];

/// The association id of a VPC's primary CIDR block, derived from the VPC id so it is stable.
fn association_id(vpc: &Vpc) -> String {
    format!(
        "vpc-cidr-assoc-{}",
        vpc.id.strip_prefix("vpc-").unwrap_or(&vpc.id)
    )
}

fn field(account: &str, vpc: &Vpc, name: &str) -> Vec<String> {
    if let Some(values) = tag_values(name, &vpc.tags) {
        return values;
    }
    match name {
        "vpc-id" => vec![vpc.id.clone()],
        "is-default" => bool_value(vpc.is_default),
        "cidr" | "cidr-block-association.cidr-block" => vec![vpc.cidr.to_string()],
        "cidr-block-association.association-id" => vec![association_id(vpc)],
        "cidr-block-association.state" => vec!["associated".into()],
        "state" => vec!["available".into()],
        "owner-id" => vec![account.to_string()],
        "instance-tenancy" => vec!["default".into()],
        _ => Vec::new(),
    }
}

fn view(account: &str, vpc: &Vpc) -> api::Vpc {
    api::Vpc {
        owner_id: Some(account.to_string()),
        instance_tenancy: Some(api::Tenancy::Default),
        cidr_block_association_set: Some(vec![api::VpcCidrBlockAssociation {
            association_id: Some(association_id(vpc)),
            cidr_block: Some(vpc.cidr.to_string()),
            cidr_block_state: Some(api::VpcCidrBlockState {
                state: Some(api::VpcCidrBlockStateCode::Associated),
                status_message: None,
            }),
        }]),
        is_default: Some(vpc.is_default),
        tags: tags::to_list(&vpc.tags),
        block_public_access_states: Some(api::BlockPublicAccessStates {
            internet_gateway_block_mode: Some(api::BlockPublicAccessMode::Off),
        }),
        vpc_id: Some(vpc.id.clone()),
        state: Some(api::VpcState::Available),
        cidr_block: Some(vpc.cidr.to_string()),
        ..Default::default()
    }
}

pub(super) fn describe(
    world: &World,
    input: api::DescribeVpcsRequest,
) -> Result<api::DescribeVpcsResult, AwsError> {
    dry_run(input.dry_run)?;
    let filters = Filters::parse(input.filters, VPC_FILTERS)?;
    let ids = input.vpc_ids.unwrap_or_default();
    ids_without_paging(!ids.is_empty(), "vpcIds", input.max_results)?;
    let vpcs = &world.network.vpcs;
    Kind::Vpc.check_all(&ids, |id| vpcs.contains_key(id))?;
    let account = world.account_id.as_str();
    let items = vpcs
        .values()
        .filter(|v| ids.is_empty() || ids.contains(&v.id))
        .filter(|v| filters.matches(|name| field(account, v, name)))
        .map(|v| (v.id.clone(), view(account, v)))
        .collect();
    let (vpcs, next_token) = paginate(items, input.max_results, input.next_token.as_deref())?;
    Ok(api::DescribeVpcsResult {
        next_token,
        vpcs: Some(vpcs),
    })
}

/// `Value (x) for parameter cidrBlock is invalid. This is not a valid CIDR block.`
pub(super) fn parse_cidr(cidr: &str) -> Result<Cidr, AwsError> {
    Cidr::parse(cidr).ok_or_else(|| {
        AwsError::client(
            "InvalidParameterValue",
            format!("Value ({cidr}) for parameter cidrBlock is invalid. This is not a valid CIDR block."),
        )
    })
}

fn unsupported(what: &str) -> AwsError {
    AwsError::client("UnsupportedOperation", format!("ecsim does not simulate {what}"))
}

pub(super) fn create(
    world: &mut World,
    rng: &mut Rng,
    input: api::CreateVpcRequest,
) -> Result<api::CreateVpcResult, AwsError> {
    dry_run(input.dry_run)?;
    if input.amazon_provided_ipv6_cidr_block == Some(true)
        || input.ipv6_cidr_block.is_some()
        || input.ipv6_pool.is_some()
        || input.ipv6_ipam_pool_id.is_some()
    {
        return Err(unsupported("IPv6 CIDR blocks"));
    }
    if input.instance_tenancy.is_some_and(|t| t != api::Tenancy::Default) {
        return Err(unsupported("dedicated tenancy"));
    }
    if input.vpc_encryption_control.is_some() {
        return Err(unsupported("VPC encryption controls"));
    }
    let Some(cidr_text) = input.cidr_block else {
        if let Some(pool) = input.ipv4_ipam_pool_id {
            return Err(AwsError::client(
                "InvalidIpamPoolId.NotFound",
                format!("The ipam pool ID '{pool}' does not exist"),
            ));
        }
        return Err(AwsError::client(
            "MissingParameter",
            "Either 'cidrBlock' or 'ipv4IpamPoolId' should be provided.",
        ));
    };
    let cidr = parse_cidr(&cidr_text)?;
    if !(16..=28).contains(&cidr.prefix_len) {
        return Err(AwsError::client(
            "InvalidVpc.Range",
            format!("The CIDR '{cidr_text}' is invalid."),
        ));
    }
    let tags = tags::from_specs(input.tag_specifications, api::ResourceType::Vpc)?;
    let network = &mut world.network;
    let id = new_id("vpc", rng, |id| network.vpcs.contains_key(id));
    let vpc = Vpc {
        id: id.clone(),
        cidr,
        is_default: false,
        tags,
        enable_dns_support: true,
        enable_dns_hostnames: false,
    };
    let group_id = new_id("sg", rng, |id| network.security_groups.contains_key(id));
    network
        .security_groups
        .insert(group_id.clone(), default_group_for(&group_id, &id));
    let out = view(&world.account_id, &vpc);
    network.vpcs.insert(id, vpc);
    Ok(api::CreateVpcResult { vpc: Some(out) })
}

fn vpc_of<'n>(network: &'n Network, id: &str) -> Result<&'n Vpc, AwsError> {
    Kind::Vpc.check(id)?;
    network.vpcs.get(id).ok_or_else(|| Kind::Vpc.not_found(&[id]))
}

/// Deletes a VPC without subnets or security groups of its own; its `default` group goes with it.
pub(super) fn delete(network: &mut Network, input: api::DeleteVpcRequest) -> Result<(), AwsError> {
    dry_run(input.dry_run)?;
    let id = vpc_of(network, &input.vpc_id)?.id.clone();
    let has_subnets = network.subnets.values().any(|s| s.vpc_id == id);
    let has_groups = network
        .security_groups
        .values()
        .any(|g| g.vpc_id == id && g.name != "default");
    if has_subnets || has_groups {
        return Err(AwsError::client(
            "DependencyViolation",
            format!("The vpc '{id}' has dependencies and cannot be deleted."),
        ));
    }
    network.security_groups.retain(|_, g| g.vpc_id != id);
    network.vpcs.remove(&id);
    Ok(())
}

fn boolean(value: bool) -> Option<api::AttributeBooleanValue> {
    Some(api::AttributeBooleanValue { value: Some(value) })
}

pub(super) fn describe_attribute(
    network: &Network,
    input: api::DescribeVpcAttributeRequest,
) -> Result<api::DescribeVpcAttributeResult, AwsError> {
    dry_run(input.dry_run)?;
    let vpc = vpc_of(network, &input.vpc_id)?;
    let mut out = api::DescribeVpcAttributeResult {
        vpc_id: Some(vpc.id.clone()),
        ..Default::default()
    };
    match input.attribute {
        api::VpcAttributeName::EnableDnsSupport => out.enable_dns_support = boolean(vpc.enable_dns_support),
        api::VpcAttributeName::EnableDnsHostnames => {
            out.enable_dns_hostnames = boolean(vpc.enable_dns_hostnames)
        }
        // Not simulated, so never enabled.
        api::VpcAttributeName::EnableNetworkAddressUsageMetrics => {
            out.enable_network_address_usage_metrics = boolean(false);
        }
    }
    Ok(out)
}

/// Changes one attribute per call, as EC2 requires.
pub(super) fn modify_attribute(
    network: &mut Network,
    input: api::ModifyVpcAttributeRequest,
) -> Result<(), AwsError> {
    let given: Vec<(&str, bool)> = [
        ("enableDnsHostnames", &input.enable_dns_hostnames),
        ("enableDnsSupport", &input.enable_dns_support),
        (
            "enableNetworkAddressUsageMetrics",
            &input.enable_network_address_usage_metrics,
        ),
    ]
    .into_iter()
    .filter_map(|(name, attr)| attr.as_ref().map(|a| (name, a.value)))
    .map(|(name, value)| value.map(|v| (name, v)).ok_or(name))
    .collect::<Result<_, _>>()
    .map_err(|name| {
        AwsError::client(
            "MissingParameter",
            format!("The request must contain the parameter {name}.Value"),
        )
    })?;
    let id = vpc_of(network, &input.vpc_id)?.id.clone();
    let (name, value) = match given.as_slice() {
        [one] => *one,
        [] => {
            return Err(AwsError::client(
                "MissingParameter",
                "The request must contain one of enableDnsHostnames, enableDnsSupport or enableNetworkAddressUsageMetrics",
            ));
        }
        many => {
            let names: Vec<&str> = many.iter().map(|(n, _)| *n).collect();
            return Err(AwsError::client(
                "InvalidParameterCombination",
                format!(
                    "Fields for multiple attribute types specified: {}",
                    names.join(", ")
                ),
            ));
        }
    };
    let Some(vpc) = network.vpcs.get_mut(&id) else {
        return Err(Kind::Vpc.not_found(&[&id]));
    };
    match name {
        "enableDnsHostnames" => vpc.enable_dns_hostnames = value,
        "enableDnsSupport" => vpc.enable_dns_support = value,
        _ if value => return Err(unsupported("network address usage metrics")),
        _ => {}
    }
    Ok(())
}
