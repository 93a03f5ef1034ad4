//! The address pool Docker networks are carved from: fixed-size blocks of a configurable range,
//! skipping every block that overlaps a network the daemon already has.
//!
//! Pure arithmetic; the runtime asks the daemon which ranges are taken. Docker's own default
//! pools are never used (they run out after a few dozen networks), and the simulated VPC CIDRs
//! are never used either: two VPCs with the same CIDR still get different Docker ranges.

use std::net::Ipv4Addr;
use std::str::FromStr;

/// An IPv4 block `address/prefix`, normalised to its network address.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Block {
    pub base: u32,
    pub prefix: u8,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PoolError {
    #[error("'{0}' is not an IPv4 CIDR block such as 10.200.0.0/14")]
    BadCidr(String),
    #[error("network prefix /{network} must be between the pool's /{pool} and /28")]
    BadPrefix { pool: u8, network: u8 },
    #[error("the Docker network pool {0} has no free block left")]
    Exhausted(String),
}

impl Block {
    fn mask(prefix: u8) -> u32 {
        if prefix == 0 { 0 } else { u32::MAX << (32 - prefix) }
    }

    pub fn size(&self) -> u64 {
        1u64 << (32 - self.prefix)
    }

    fn last(&self) -> u32 {
        self.base | !Self::mask(self.prefix)
    }

    pub fn overlaps(&self, other: &Block) -> bool {
        self.base <= other.last() && other.base <= self.last()
    }

    /// The first usable address, which Docker makes the bridge gateway.
    pub fn gateway(&self) -> Ipv4Addr {
        Ipv4Addr::from(self.base + 1)
    }
}

impl FromStr for Block {
    type Err = PoolError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || PoolError::BadCidr(s.to_string());
        let (addr, prefix) = s.split_once('/').ok_or_else(bad)?;
        let addr: Ipv4Addr = addr.parse().map_err(|_| bad())?;
        let prefix: u8 = prefix.parse().map_err(|_| bad())?;
        if prefix > 32 {
            return Err(bad());
        }
        Ok(Block {
            base: u32::from(addr) & Block::mask(prefix),
            prefix,
        })
    }
}

impl std::fmt::Display for Block {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", Ipv4Addr::from(self.base), self.prefix)
    }
}

/// A range split into equal blocks, one per Docker network.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pool {
    pub range: Block,
    pub network_prefix: u8,
}

/// ecsim's default pool: 256 networks of 1,022 addresses each, away from Docker's defaults
/// (172.17.0.0/16–172.31.0.0/16, 192.168.0.0/16).
pub const DEFAULT_POOL: &str = "10.200.0.0/14";
pub const DEFAULT_NETWORK_PREFIX: u8 = 22;

impl Default for Pool {
    fn default() -> Self {
        Pool::new(DEFAULT_POOL, DEFAULT_NETWORK_PREFIX).expect("the default pool is valid")
    }
}

impl Pool {
    pub fn new(range: &str, network_prefix: u8) -> Result<Self, PoolError> {
        let range: Block = range.parse()?;
        if network_prefix < range.prefix || network_prefix > 28 {
            return Err(PoolError::BadPrefix {
                pool: range.prefix,
                network: network_prefix,
            });
        }
        Ok(Pool {
            range,
            network_prefix,
        })
    }

    /// The first block of the pool that overlaps none of `taken`.
    pub fn next_free(&self, taken: &[Block]) -> Result<Block, PoolError> {
        let step = 1u64 << (32 - self.network_prefix);
        let count = self.range.size() / step;
        (0..count)
            .map(|i| Block {
                // Within a u32 range by construction: base + i * step <= last address.
                base: self.range.base + u32::try_from(i * step).unwrap_or(u32::MAX),
                prefix: self.network_prefix,
            })
            .find(|b| !taken.iter().any(|t| t.overlaps(b)))
            .ok_or_else(|| PoolError::Exhausted(self.range.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_normalises() {
        let b: Block = "10.200.3.7/22".parse().unwrap();
        assert_eq!(b.to_string(), "10.200.0.0/22");
        assert_eq!(b.gateway(), Ipv4Addr::new(10, 200, 0, 1));
        assert!("10.0.0.0".parse::<Block>().is_err());
        assert!("10.0.0.0/33".parse::<Block>().is_err());
    }

    #[test]
    fn skips_taken_and_overlapping_blocks() {
        let pool = Pool::new("10.200.0.0/20", 22).unwrap();
        let first = pool.next_free(&[]).unwrap();
        assert_eq!(first.to_string(), "10.200.0.0/22");
        // A foreign /24 inside the second block makes the second block unusable too.
        let taken = vec![first, "10.200.5.0/24".parse().unwrap()];
        assert_eq!(pool.next_free(&taken).unwrap().to_string(), "10.200.8.0/22");
        // A foreign network covering the whole pool exhausts it.
        let all: Block = "10.0.0.0/8".parse().unwrap();
        assert_eq!(
            pool.next_free(&[all]),
            Err(PoolError::Exhausted("10.200.0.0/20".into()))
        );
    }

    #[test]
    fn rejects_prefixes_outside_the_pool() {
        assert!(Pool::new("10.200.0.0/14", 12).is_err());
        assert!(Pool::new("10.200.0.0/14", 30).is_err());
        assert_eq!(
            Pool::default().next_free(&[]).unwrap().to_string(),
            "10.200.0.0/22"
        );
    }
}
