//! Subnets: DescribeSubnets, CreateSubnet, DeleteSubnet and ModifySubnetAttribute.
//!
//! Free addresses come from the network model's allocator; this module never allocates them.

use ecsim_api::ec2 as api;
use ecsim_core::Rng;
use ecsim_protocol::AwsError;

use super::filter::{Filters, Kind, bool_value, dry_run, ids_without_paging, paginate, tag_values};
use super::vpcs::parse_cidr;
use super::{new_id, tags};
use crate::network::{Network, Subnet, Zone};
use crate::world::World;

const SUBNET_FILTERS: &[&str] = &[
    "vpc-id",
    "subnet-id",
    "subnet-arn",
    "default-for-az",
    "defaultForAz",
    "availability-zone",
    "availabilityZone",
    "availability-zone-id",
    "cidr-block",
    "cidr",
    "cidrBlock",
    "state",
    "owner-id",
    "map-public-ip-on-launch",
    "available-ip-address-count",
    "ipv6-native",
    "tag-key",
    "tag-value",
    "tag:",
];

fn arn(world: &World, id: &str) -> String {
    world.arn("ec2", &format!("subnet/{id}"))
}

fn available(network: &Network, subnet: &Subnet) -> i32 {
    i32::try_from(network.available_ips(subnet)).unwrap_or(i32::MAX)
}

fn field(world: &World, subnet: &Subnet, name: &str) -> Vec<String> {
    if let Some(values) = tag_values(name, &subnet.tags) {
        return values;
    }
    match name {
        "vpc-id" => vec![subnet.vpc_id.clone()],
        "subnet-id" => vec![subnet.id.clone()],
        "subnet-arn" => vec![arn(world, &subnet.id)],
        "default-for-az" | "defaultForAz" => bool_value(subnet.default_for_az),
        "availability-zone" | "availabilityZone" => vec![subnet.availability_zone.clone()],
        "availability-zone-id" => vec![subnet.availability_zone_id.clone()],
        "cidr-block" | "cidr" | "cidrBlock" => vec![subnet.cidr.to_string()],
        "state" => vec!["available".into()],
        "owner-id" => vec![world.account_id.clone()],
        "map-public-ip-on-launch" => bool_value(subnet.map_public_ip_on_launch),
        "available-ip-address-count" => vec![available(&world.network, subnet).to_string()],
        "ipv6-native" => bool_value(false),
        _ => Vec::new(),
    }
}

fn view(world: &World, subnet: &Subnet) -> api::Subnet {
    api::Subnet {
        availability_zone_id: Some(subnet.availability_zone_id.clone()),
        map_customer_owned_ip_on_launch: Some(false),
        owner_id: Some(world.account_id.clone()),
        assign_ipv6_address_on_creation: Some(false),
        ipv6_cidr_block_association_set: Some(Vec::new()),
        tags: tags::to_list(&subnet.tags),
        subnet_arn: Some(arn(world, &subnet.id)),
        enable_dns64: Some(false),
        ipv6_native: Some(false),
        private_dns_name_options_on_launch: Some(api::PrivateDnsNameOptionsOnLaunch {
            hostname_type: Some(api::HostnameType::IpName),
            enable_resource_name_dns_a_record: Some(false),
            enable_resource_name_dns_aaaa_record: Some(false),
        }),
        block_public_access_states: Some(api::BlockPublicAccessStates {
            internet_gateway_block_mode: Some(api::BlockPublicAccessMode::Off),
        }),
        subnet_id: Some(subnet.id.clone()),
        state: Some(api::SubnetState::Available),
        vpc_id: Some(subnet.vpc_id.clone()),
        cidr_block: Some(subnet.cidr.to_string()),
        available_ip_address_count: Some(available(&world.network, subnet)),
        availability_zone: Some(subnet.availability_zone.clone()),
        default_for_az: Some(subnet.default_for_az),
        map_public_ip_on_launch: Some(subnet.map_public_ip_on_launch),
        ..Default::default()
    }
}

pub(super) fn describe(
    world: &World,
    input: api::DescribeSubnetsRequest,
) -> Result<api::DescribeSubnetsResult, AwsError> {
    dry_run(input.dry_run)?;
    let filters = Filters::parse(input.filters, SUBNET_FILTERS)?;
    let ids = input.subnet_ids.unwrap_or_default();
    ids_without_paging(!ids.is_empty(), "subnetIds", input.max_results)?;
    let subnets = &world.network.subnets;
    Kind::Subnet.check_all(&ids, |id| subnets.contains_key(id))?;
    let items = subnets
        .values()
        .filter(|s| ids.is_empty() || ids.contains(&s.id))
        .filter(|s| filters.matches(|name| field(world, s, name)))
        .map(|s| (s.id.clone(), view(world, s)))
        .collect();
    let (subnets, next_token) = paginate(items, input.max_results, input.next_token.as_deref())?;
    Ok(api::DescribeSubnetsResult {
        next_token,
        subnets: Some(subnets),
    })
}

fn unsupported(what: &str) -> AwsError {
    AwsError::client("UnsupportedOperation", format!("ecsim does not simulate {what}"))
}

/// The zone named by `AvailabilityZone` and/or `AvailabilityZoneId`; the first zone by default.
fn zone<'n>(network: &'n Network, name: Option<&str>, id: Option<&str>) -> Result<&'n Zone, AwsError> {
    let listed = || {
        network
            .zones
            .iter()
            .map(|z| z.name.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    };
    let by_name = name
        .map(|n| {
            network.zones.iter().find(|z| z.name == n).ok_or_else(|| {
                AwsError::client(
                    "InvalidParameterValue",
                    format!(
                        "Value ({n}) for parameter availabilityZone is invalid. Subnets can currently only be created in the following availability zones: {}.",
                        listed()
                    ),
                )
            })
        })
        .transpose()?;
    let by_id = id
        .map(|i| {
            network.zones.iter().find(|z| z.zone_id == i).ok_or_else(|| {
                AwsError::client(
                    "InvalidParameterValue",
                    format!("Value ({i}) for parameter availabilityZoneId is invalid."),
                )
            })
        })
        .transpose()?;
    match (by_name, by_id) {
        (Some(a), Some(b)) if a != b => Err(AwsError::client(
            "InvalidParameterCombination",
            "The parameters availabilityZone and availabilityZoneId name different zones",
        )),
        (Some(z), _) | (None, Some(z)) => Ok(z),
        (None, None) => network
            .zones
            .first()
            .ok_or_else(|| AwsError::server("InternalFailure", "this world has no availability zones")),
    }
}

pub(super) fn create(
    world: &mut World,
    rng: &mut Rng,
    input: api::CreateSubnetRequest,
) -> Result<api::CreateSubnetResult, AwsError> {
    dry_run(input.dry_run)?;
    if input.ipv6_native == Some(true)
        || input.ipv6_cidr_block.is_some()
        || input.ipv6_ipam_pool_id.is_some()
        || input.ipv6_netmask_length.is_some()
    {
        return Err(unsupported("IPv6 subnets"));
    }
    if input.outpost_arn.is_some() {
        return Err(unsupported("Outposts"));
    }
    Kind::Vpc.check(&input.vpc_id)?;
    let network = &world.network;
    let Some(vpc) = network.vpcs.get(&input.vpc_id) else {
        return Err(Kind::Vpc.not_found(&[&input.vpc_id]));
    };
    let Some(cidr_text) = input.cidr_block else {
        if let Some(pool) = input.ipv4_ipam_pool_id {
            return Err(AwsError::client(
                "InvalidIpamPoolId.NotFound",
                format!("The ipam pool ID '{pool}' does not exist"),
            ));
        }
        return Err(AwsError::client(
            "MissingParameter",
            "The request must contain the parameter cidrBlock",
        ));
    };
    let cidr = parse_cidr(&cidr_text)?;
    if !(16..=28).contains(&cidr.prefix_len) || !vpc.cidr.contains(cidr) {
        return Err(AwsError::client(
            "InvalidSubnet.Range",
            format!("The CIDR '{cidr_text}' is invalid."),
        ));
    }
    if network
        .subnets
        .values()
        .any(|s| s.vpc_id == vpc.id && s.cidr.overlaps(cidr))
    {
        return Err(AwsError::client(
            "InvalidSubnet.Conflict",
            format!("The CIDR '{cidr_text}' conflicts with another subnet"),
        ));
    }
    let zone = zone(
        network,
        input.availability_zone.as_deref(),
        input.availability_zone_id.as_deref(),
    )?
    .clone();
    let tags = tags::from_specs(input.tag_specifications, api::ResourceType::Subnet)?;
    let id = new_id("subnet", rng, |id| network.subnets.contains_key(id));
    let subnet = Subnet {
        id: id.clone(),
        vpc_id: vpc.id.clone(),
        cidr,
        availability_zone: zone.name,
        availability_zone_id: zone.zone_id,
        default_for_az: false,
        map_public_ip_on_launch: false,
        tags,
        used_hosts: Default::default(),
        free_hint: crate::network::FIRST_USABLE_HOST,
    };
    world.network.subnets.insert(id.clone(), subnet);
    let out = world.network.subnets.get(&id).map(|s| view(world, s));
    Ok(api::CreateSubnetResult { subnet: out })
}

fn subnet_of<'n>(network: &'n Network, id: &str) -> Result<&'n Subnet, AwsError> {
    Kind::Subnet.check(id)?;
    network
        .subnets
        .get(id)
        .ok_or_else(|| Kind::Subnet.not_found(&[id]))
}

/// Deletes a subnet in which no task holds an address.
pub(super) fn delete(network: &mut Network, input: api::DeleteSubnetRequest) -> Result<(), AwsError> {
    dry_run(input.dry_run)?;
    let subnet = subnet_of(network, &input.subnet_id)?;
    if !subnet.used_hosts.is_empty() {
        return Err(AwsError::client(
            "DependencyViolation",
            format!(
                "The subnet '{}' has dependencies and cannot be deleted.",
                subnet.id
            ),
        ));
    }
    let id = subnet.id.clone();
    network.subnets.remove(&id);
    Ok(())
}

/// Refuses turning on a subnet feature ecsim does not simulate; turning it off is a no-op.
fn stays_off(attr: Option<&api::AttributeBooleanValue>, what: &str) -> Result<(), AwsError> {
    if attr.and_then(|a| a.value) == Some(true) {
        Err(unsupported(what))
    } else {
        Ok(())
    }
}

/// Only `MapPublicIpOnLaunch` changes anything; the IPv6, DNS64, customer-owned IP, resource-name
/// DNS and LNI settings stay at their (off) defaults.
pub(super) fn modify_attribute(
    network: &mut Network,
    input: api::ModifySubnetAttributeRequest,
) -> Result<(), AwsError> {
    let id = subnet_of(network, &input.subnet_id)?.id.clone();
    stays_off(input.assign_ipv6_address_on_creation.as_ref(), "IPv6 addresses")?;
    stays_off(
        input.map_customer_owned_ip_on_launch.as_ref(),
        "customer-owned IP pools",
    )?;
    stays_off(input.enable_dns64.as_ref(), "DNS64")?;
    stays_off(
        input.enable_resource_name_dns_a_record_on_launch.as_ref(),
        "resource-name DNS records",
    )?;
    stays_off(
        input.enable_resource_name_dns_aaaa_record_on_launch.as_ref(),
        "resource-name DNS records",
    )?;
    if input.customer_owned_ipv4_pool.is_some() {
        return Err(unsupported("customer-owned IP pools"));
    }
    if input.private_dns_hostname_type_on_launch == Some(api::HostnameType::ResourceName) {
        return Err(unsupported("resource-name hostnames"));
    }
    if input.enable_lni_at_device_index.is_some() {
        return Err(unsupported("local network interfaces"));
    }
    if let Some(attr) = input.map_public_ip_on_launch {
        let value = attr.value.ok_or_else(|| {
            AwsError::client(
                "MissingParameter",
                "The request must contain the parameter MapPublicIpOnLaunch.Value",
            )
        })?;
        if let Some(subnet) = network.subnets.get_mut(&id) {
            subnet.map_public_ip_on_launch = value;
        }
    }
    Ok(())
}
