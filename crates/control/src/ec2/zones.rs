//! DescribeAvailabilityZones, DescribeRegions and DescribeAccountAttributes: read-only views of
//! the world's zones, the region list and the account's default VPC.

use ecsim_api::ec2 as api;
use ecsim_protocol::AwsError;

use super::filter::{Filters, dry_run};
use crate::world::World;

/// The commercial regions enabled by default in every AWS account (no opt-in needed).
const REGIONS: &[&str] = &[
    "ap-northeast-1",
    "ap-northeast-2",
    "ap-northeast-3",
    "ap-south-1",
    "ap-southeast-1",
    "ap-southeast-2",
    "ca-central-1",
    "eu-central-1",
    "eu-north-1",
    "eu-west-1",
    "eu-west-2",
    "eu-west-3",
    "sa-east-1",
    "us-east-1",
    "us-east-2",
    "us-west-1",
    "us-west-2",
];

const ZONE_FILTERS: &[&str] = &[
    "zone-name",
    "zone-id",
    "region-name",
    "state",
    "zone-type",
    "group-name",
    "opt-in-status",
    "network-border-group",
];

pub(super) fn describe_zones(
    world: &World,
    input: api::DescribeAvailabilityZonesRequest,
) -> Result<api::DescribeAvailabilityZonesResult, AwsError> {
    dry_run(input.dry_run)?;
    let filters = Filters::parse(input.filters, ZONE_FILTERS)?;
    let zones = &world.network.zones;
    let names = input.zone_names.unwrap_or_default();
    let ids = input.zone_ids.unwrap_or_default();
    if let Some(bad) = names.iter().find(|n| !zones.iter().any(|z| &z.name == *n)) {
        return Err(AwsError::client(
            "InvalidParameterValue",
            format!("Invalid availability zone: [{bad}]"),
        ));
    }
    if let Some(bad) = ids.iter().find(|i| !zones.iter().any(|z| &z.zone_id == *i)) {
        return Err(AwsError::client(
            "InvalidParameterValue",
            format!("Invalid availability zone ID: [{bad}]"),
        ));
    }
    let region = world.region.as_str();
    let group = format!("{region}-zg-1");
    let out = zones
        .iter()
        .filter(|z| {
            (names.is_empty() && ids.is_empty()) || names.contains(&z.name) || ids.contains(&z.zone_id)
        })
        .filter(|z| {
            filters.matches(|name| match name {
                "zone-name" => vec![z.name.clone()],
                "zone-id" => vec![z.zone_id.clone()],
                "region-name" | "network-border-group" => vec![region.to_string()],
                "state" => vec!["available".into()],
                "zone-type" => vec!["availability-zone".into()],
                "group-name" => vec![group.clone()],
                "opt-in-status" => vec!["opt-in-not-required".into()],
                _ => Vec::new(),
            })
        })
        .map(|z| api::AvailabilityZone {
            opt_in_status: Some(api::AvailabilityZoneOptInStatus::OptInNotRequired),
            messages: Some(Vec::new()),
            region_name: Some(region.to_string()),
            zone_name: Some(z.name.clone()),
            zone_id: Some(z.zone_id.clone()),
            group_name: Some(group.clone()),
            network_border_group: Some(region.to_string()),
            zone_type: Some("availability-zone".into()),
            state: Some(api::AvailabilityZoneState::Available),
            ..Default::default()
        })
        .collect();
    Ok(api::DescribeAvailabilityZonesResult {
        availability_zones: Some(out),
    })
}

pub(super) fn describe_regions(
    world: &World,
    input: api::DescribeRegionsRequest,
) -> Result<api::DescribeRegionsResult, AwsError> {
    dry_run(input.dry_run)?;
    let filters = Filters::parse(input.filters, &["region-name", "endpoint", "opt-in-status"])?;
    let mut all: Vec<&str> = REGIONS.to_vec();
    if !all.contains(&world.region.as_str()) {
        all.push(&world.region);
        all.sort_unstable();
    }
    let names = input.region_names.unwrap_or_default();
    if let Some(bad) = names.iter().find(|n| !all.contains(&n.as_str())) {
        return Err(AwsError::client(
            "InvalidParameterValue",
            format!("Invalid region: {bad}"),
        ));
    }
    let endpoint = |r: &str| format!("ec2.{r}.amazonaws.com");
    let regions = all
        .into_iter()
        .filter(|r| names.is_empty() || names.iter().any(|n| n == r))
        .filter(|r| {
            filters.matches(|name| match name {
                "region-name" => vec![(*r).to_string()],
                "endpoint" => vec![endpoint(r)],
                "opt-in-status" => vec!["opt-in-not-required".into()],
                _ => Vec::new(),
            })
        })
        .map(|r| api::Region {
            opt_in_status: Some("opt-in-not-required".into()),
            region_name: Some(r.to_string()),
            endpoint: Some(endpoint(r)),
            ..Default::default()
        })
        .collect();
    Ok(api::DescribeRegionsResult {
        regions: Some(regions),
    })
}

pub(super) fn describe_account_attributes(
    world: &World,
    input: api::DescribeAccountAttributesRequest,
) -> Result<api::DescribeAccountAttributesResult, AwsError> {
    dry_run(input.dry_run)?;
    let wanted = input.attribute_names.unwrap_or_default();
    let default_vpc = world
        .network
        .vpcs
        .values()
        .find(|v| v.is_default)
        .map_or_else(|| "none".to_string(), |v| v.id.clone());
    let all = [
        (api::AccountAttributeName::SupportedPlatforms, "VPC".to_string()),
        (api::AccountAttributeName::DefaultVpc, default_vpc),
    ];
    let attributes = all
        .into_iter()
        .filter(|(name, _)| wanted.is_empty() || wanted.contains(name))
        .map(|(name, value)| api::AccountAttribute {
            attribute_name: Some(name.as_str().to_string()),
            attribute_values: Some(vec![api::AccountAttributeValue {
                attribute_value: Some(value),
            }]),
        })
        .collect();
    Ok(api::DescribeAccountAttributesResult {
        account_attributes: Some(attributes),
    })
}
