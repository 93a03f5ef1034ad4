//! The simulated EC2 network of one world: Availability Zones, VPCs, subnets, security groups,
//! and private IP allocation inside subnet CIDRs.

use std::collections::{BTreeMap, BTreeSet};

use crate::topology::{Cidr, TopologyConfig};

/// Stable identifiers of the default topology (documented in the README).
pub const DEFAULT_VPC_ID: &str = "vpc-0ec5100000000000d";
pub const DEFAULT_SECURITY_GROUP_ID: &str = "sg-0ec5100000000000d";

/// The default subnet of the AZ with `letter` (`subnet-0ec5100000000000a` for `a`).
pub fn default_subnet_id(letter: &str) -> String {
    format!("subnet-0ec5100000000000{letter}")
}

pub type Tags = BTreeMap<String, String>;

/// AWS reserves the first four addresses of every subnet (network, router, DNS, future use).
pub const FIRST_USABLE_HOST: u32 = 4;

#[derive(Debug, Clone, PartialEq)]
pub struct Zone {
    pub name: String,
    pub zone_id: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Vpc {
    pub id: String,
    pub cidr: Cidr,
    pub is_default: bool,
    pub tags: Tags,
    pub enable_dns_support: bool,
    pub enable_dns_hostnames: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Subnet {
    pub id: String,
    pub vpc_id: String,
    pub cidr: Cidr,
    pub availability_zone: String,
    pub availability_zone_id: String,
    pub default_for_az: bool,
    pub map_public_ip_on_launch: bool,
    pub tags: Tags,
    /// Host offsets in use (task ENIs).
    pub used_hosts: BTreeSet<u32>,
    /// No offset below this one is free: allocation starts here (kept at or below the lowest
    /// free offset, so allocation is amortised O(1) instead of a scan from the start).
    pub free_hint: u32,
}

/// One (protocol, port range) of a security group with every source or destination it allows.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct IpPermission {
    pub ip_protocol: String,
    pub from_port: Option<i32>,
    pub to_port: Option<i32>,
    pub cidr_ipv4: Vec<String>,
    pub source_groups: Vec<String>,
    pub cidr_ipv6: Vec<String>,
    /// Rule descriptions, keyed by the CIDR or group id they describe.
    pub descriptions: BTreeMap<String, String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct SecurityGroup {
    pub id: String,
    pub name: String,
    pub description: String,
    pub vpc_id: String,
    pub tags: Tags,
    pub ingress: Vec<IpPermission>,
    pub egress: Vec<IpPermission>,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Network {
    pub zones: Vec<Zone>,
    pub vpcs: BTreeMap<String, Vpc>,
    pub subnets: BTreeMap<String, Subnet>,
    pub security_groups: BTreeMap<String, SecurityGroup>,
}

/// The zone id AWS would show for the `index`-th zone of `region` (`use1-az1`).
fn zone_id(region: &str, index: usize) -> String {
    let mut parts = region.split('-');
    let geo = parts.next().unwrap_or("xx");
    let direction: String = parts.next().unwrap_or("x").chars().take(1).collect();
    let number = parts.next().unwrap_or("1");
    format!("{geo}{direction}{number}-az{}", index + 1)
}

impl Network {
    /// The startup topology of a region. The config must have passed `validate()`.
    pub fn default_for(region: &str, config: &TopologyConfig) -> Self {
        let vpc_cidr = Cidr::parse(&config.default_vpc_cidr).unwrap_or(Cidr {
            base: 0xAC1F_0000,
            prefix_len: 16,
        });
        let mut network = Network::default();
        network.vpcs.insert(
            DEFAULT_VPC_ID.to_string(),
            Vpc {
                id: DEFAULT_VPC_ID.into(),
                cidr: vpc_cidr,
                is_default: true,
                tags: Tags::new(),
                enable_dns_support: true,
                enable_dns_hostnames: true,
            },
        );
        for (i, letter) in config.availability_zone_letters.iter().enumerate() {
            let zone = Zone {
                name: format!("{region}{letter}"),
                zone_id: zone_id(region, i),
            };
            let index = u32::try_from(i).unwrap_or(0);
            let subnet = Subnet {
                id: default_subnet_id(letter),
                vpc_id: DEFAULT_VPC_ID.into(),
                cidr: vpc_cidr.subdivide(config.default_subnet_prefix_length, index),
                availability_zone: zone.name.clone(),
                availability_zone_id: zone.zone_id.clone(),
                default_for_az: true,
                map_public_ip_on_launch: true,
                tags: Tags::new(),
                used_hosts: BTreeSet::new(),
                free_hint: FIRST_USABLE_HOST,
            };
            network.subnets.insert(subnet.id.clone(), subnet);
            network.zones.push(zone);
        }
        network.security_groups.insert(
            DEFAULT_SECURITY_GROUP_ID.into(),
            SecurityGroup {
                id: DEFAULT_SECURITY_GROUP_ID.into(),
                name: "default".into(),
                description: "default VPC security group".into(),
                vpc_id: DEFAULT_VPC_ID.into(),
                tags: Tags::new(),
                ingress: vec![IpPermission {
                    ip_protocol: "-1".into(),
                    from_port: None,
                    to_port: None,
                    cidr_ipv4: vec![],
                    source_groups: vec![DEFAULT_SECURITY_GROUP_ID.into()],
                    ..IpPermission::default()
                }],
                egress: vec![IpPermission {
                    ip_protocol: "-1".into(),
                    from_port: None,
                    to_port: None,
                    cidr_ipv4: vec!["0.0.0.0/0".into()],
                    source_groups: vec![],
                    ..IpPermission::default()
                }],
            },
        );
        network
    }

    pub fn zone(&self, name: &str) -> Option<&Zone> {
        self.zones.iter().find(|z| z.name == name || z.zone_id == name)
    }

    /// Takes the lowest free private address of `subnet_id` (AWS reserves the first four and the
    /// last). `None` when the subnet is unknown or full.
    pub fn allocate_ip(&mut self, subnet_id: &str) -> Option<String> {
        let subnet = self.subnets.get_mut(subnet_id)?;
        let last = u32::try_from(subnet.cidr.size().saturating_sub(1)).ok()?;
        let start = subnet.free_hint.max(FIRST_USABLE_HOST);
        let offset = (start..last).find(|o| !subnet.used_hosts.contains(o))?;
        subnet.used_hosts.insert(offset);
        subnet.free_hint = offset + 1;
        Some(subnet.cidr.host(offset))
    }

    /// Gives an address back to its subnet.
    pub fn release_ip(&mut self, subnet_id: &str, ip: &str) {
        if let (Some(subnet), Some(addr)) = (self.subnets.get_mut(subnet_id), crate::topology::parse_ipv4(ip))
        {
            let offset = addr.wrapping_sub(subnet.cidr.base);
            if subnet.used_hosts.remove(&offset) {
                subnet.free_hint = subnet.free_hint.min(offset);
            }
        }
    }

    /// Free addresses left in a subnet.
    pub fn available_ips(&self, subnet: &Subnet) -> u64 {
        subnet
            .cidr
            .usable_hosts()
            .saturating_sub(subnet.used_hosts.len() as u64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_topology_has_six_zones_and_subnets() {
        let n = Network::default_for("us-east-1", &TopologyConfig::default());
        assert_eq!(n.zones.len(), 6);
        assert_eq!(n.zones[0].name, "us-east-1a");
        assert_eq!(n.zones[0].zone_id, "use1-az1");
        let a = &n.subnets[&default_subnet_id("a")];
        assert_eq!(a.cidr.to_string(), "172.31.0.0/20");
        let f = &n.subnets[&default_subnet_id("f")];
        assert_eq!(f.cidr.to_string(), "172.31.80.0/20");
        assert_eq!(f.availability_zone, "us-east-1f");
    }

    #[test]
    fn ip_allocation_skips_reserved_and_reuses_released() {
        let mut n = Network::default_for("us-east-1", &TopologyConfig::default());
        let id = default_subnet_id("b");
        assert_eq!(n.allocate_ip(&id).as_deref(), Some("172.31.16.4"));
        assert_eq!(n.allocate_ip(&id).as_deref(), Some("172.31.16.5"));
        n.release_ip(&id, "172.31.16.4");
        assert_eq!(n.allocate_ip(&id).as_deref(), Some("172.31.16.4"));
        assert!(n.allocate_ip("subnet-nope").is_none());
    }
}
