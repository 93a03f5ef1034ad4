//! Health-check probes as the control plane asks for them and as the data plane reports them.
//! The control plane decides when to probe and what a result means (thresholds, states, reason
//! codes); the proxy only performs the request.

use std::net::SocketAddr;

/// Identifies one probe so its result finds its target again.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ProbeKey {
    pub world: usize,
    pub target_group_arn: String,
    pub target_id: String,
    pub target_port: u16,
    /// Increases per probe of a target, so a late result of an older probe can be told apart.
    pub sequence: u64,
}

/// One health-check request for the data plane to make (only ever to a loopback address).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProbeRequest {
    pub key: ProbeKey,
    pub address: SocketAddr,
    /// HTTPS probes skip certificate verification, as ALB does.
    pub https: bool,
    /// Path and query, starting with `/`.
    pub path: String,
    pub timeout_ms: u64,
}

/// What a probe saw.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProbeOutcome {
    /// The target answered with this status code.
    Status(u16),
    /// No complete answer within the timeout.
    Timeout,
    /// Connection refused, reset or closed early; the text says which.
    Failed(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProbeResult {
    pub key: ProbeKey,
    pub outcome: ProbeOutcome,
}
