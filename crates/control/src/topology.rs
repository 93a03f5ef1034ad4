//! The simulated network every world starts with: Availability Zones, a default VPC with one
//! default subnet per AZ and a default security group, with stable documented identifiers.
//!
//! Configurable by file (`ecsim serve --config FILE`); pure data, no IO here.

use serde::Deserialize;

/// What a `--config` file may say about the topology. Every field is optional.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct TopologyConfig {
    /// AZ letters per region (`["a", "b", "c"]` gives `<region>a`…`<region>c`). Default `a`..`f`.
    #[serde(default = "default_az_letters")]
    pub availability_zone_letters: Vec<String>,
    /// CIDR of the default VPC. Default `172.31.0.0/16`, as AWS's default VPCs.
    #[serde(default = "default_vpc_cidr")]
    pub default_vpc_cidr: String,
    /// Prefix length of each default subnet, carved in order from the VPC CIDR. Default 20.
    #[serde(default = "default_subnet_prefix")]
    pub default_subnet_prefix_length: u8,
}

fn default_az_letters() -> Vec<String> {
    ["a", "b", "c", "d", "e", "f"]
        .iter()
        .map(|s| (*s).to_string())
        .collect()
}

fn default_vpc_cidr() -> String {
    "172.31.0.0/16".into()
}

fn default_subnet_prefix() -> u8 {
    20
}

impl Default for TopologyConfig {
    fn default() -> Self {
        Self {
            availability_zone_letters: default_az_letters(),
            default_vpc_cidr: default_vpc_cidr(),
            default_subnet_prefix_length: default_subnet_prefix(),
        }
    }
}

/// Errors in a topology configuration.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum TopologyError {
    #[error("invalid CIDR block '{0}'")]
    InvalidCidr(String),
    #[error("at least one and at most 26 availability zones are needed")]
    ZoneCount,
    #[error("availability zone letter '{0}' must be one lowercase letter")]
    ZoneLetter(String),
    #[error("the default VPC {vpc} cannot hold {zones} subnets of prefix /{prefix}")]
    SubnetsDoNotFit { vpc: String, zones: usize, prefix: u8 },
}

impl TopologyConfig {
    pub fn validate(&self) -> Result<(), TopologyError> {
        let n = self.availability_zone_letters.len();
        if n == 0 || n > 26 {
            return Err(TopologyError::ZoneCount);
        }
        for l in &self.availability_zone_letters {
            if l.len() != 1 || !l.bytes().all(|b| b.is_ascii_lowercase()) {
                return Err(TopologyError::ZoneLetter(l.clone()));
            }
        }
        let vpc = Cidr::parse(&self.default_vpc_cidr)
            .ok_or_else(|| TopologyError::InvalidCidr(self.default_vpc_cidr.clone()))?;
        let prefix = self.default_subnet_prefix_length;
        let fits =
            prefix >= vpc.prefix_len && prefix <= 28 && (n as u64) <= 1u64 << (prefix - vpc.prefix_len);
        if !fits {
            return Err(TopologyError::SubnetsDoNotFit {
                vpc: self.default_vpc_cidr.clone(),
                zones: n,
                prefix,
            });
        }
        Ok(())
    }
}

/// An IPv4 CIDR block.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Cidr {
    pub base: u32,
    pub prefix_len: u8,
}

impl Cidr {
    /// Parses `a.b.c.d/n`; the base must be aligned to the prefix, as EC2 requires.
    pub fn parse(s: &str) -> Option<Self> {
        let (addr, len) = s.split_once('/')?;
        let prefix_len: u8 = len.parse().ok()?;
        if prefix_len > 32 {
            return None;
        }
        let base = parse_ipv4(addr)?;
        let cidr = Self { base, prefix_len };
        (cidr.base & cidr.mask() == cidr.base).then_some(cidr)
    }

    pub fn mask(self) -> u32 {
        if self.prefix_len == 0 {
            0
        } else {
            u32::MAX << (32 - self.prefix_len)
        }
    }

    pub fn size(self) -> u64 {
        1u64 << (32 - self.prefix_len)
    }

    pub fn contains(self, other: Cidr) -> bool {
        other.prefix_len >= self.prefix_len && other.base & self.mask() == self.base
    }

    pub fn overlaps(self, other: Cidr) -> bool {
        self.contains(other) || other.contains(self)
    }

    /// The `index`-th block of `prefix_len` inside this one.
    pub fn subdivide(self, prefix_len: u8, index: u32) -> Cidr {
        let step = 1u32 << (32 - prefix_len);
        Cidr {
            base: self.base + step * index,
            prefix_len,
        }
    }

    /// The address at `offset` from the base.
    pub fn host(self, offset: u32) -> String {
        format_ipv4(self.base + offset)
    }

    /// Usable host addresses: AWS reserves the first four and the last address of each subnet.
    pub fn usable_hosts(self) -> u64 {
        self.size().saturating_sub(5)
    }
}

impl std::fmt::Display for Cidr {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", format_ipv4(self.base), self.prefix_len)
    }
}

pub fn parse_ipv4(s: &str) -> Option<u32> {
    let mut out = 0u32;
    let mut parts = 0;
    for p in s.split('.') {
        if p.is_empty() || p.len() > 3 || !p.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        let v: u32 = p.parse().ok()?;
        if v > 255 {
            return None;
        }
        out = (out << 8) | v;
        parts += 1;
    }
    (parts == 4).then_some(out)
}

pub fn format_ipv4(v: u32) -> String {
    format!(
        "{}.{}.{}.{}",
        v >> 24,
        (v >> 16) & 0xff,
        (v >> 8) & 0xff,
        v & 0xff
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cidr_math() {
        let vpc = Cidr::parse("172.31.0.0/16").unwrap();
        assert_eq!(vpc.subdivide(20, 1).to_string(), "172.31.16.0/20");
        assert!(vpc.contains(Cidr::parse("172.31.16.0/20").unwrap()));
        assert!(!vpc.contains(Cidr::parse("10.0.0.0/20").unwrap()));
        assert!(Cidr::parse("172.31.1.0/16").is_none(), "unaligned base");
        assert!(Cidr::parse("300.1.1.1/8").is_none());
        assert_eq!(Cidr::parse("10.0.0.0/24").unwrap().usable_hosts(), 251);
    }

    #[test]
    fn default_config_is_valid_and_bad_ones_are_not() {
        TopologyConfig::default().validate().unwrap();
        let bad = TopologyConfig {
            default_subnet_prefix_length: 17,
            ..TopologyConfig::default()
        };
        assert!(matches!(
            bad.validate(),
            Err(TopologyError::SubnetsDoNotFit { .. })
        ));
        let bad = TopologyConfig {
            availability_zone_letters: vec![],
            ..TopologyConfig::default()
        };
        assert_eq!(bad.validate(), Err(TopologyError::ZoneCount));
    }
}
