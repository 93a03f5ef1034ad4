//! The Application Load Balancer's data-plane model, as plain data and pure functions: the
//! immutable routing snapshot the control plane publishes, rule evaluation in ALB order, weighted
//! and sticky target-group selection, target selection with fail-open, health-check code matchers
//! and per-minute `AWS/ApplicationELB` metric aggregation.
//!
//! No sockets, no clock reads, no OS randomness: the proxy (real sockets) and the simulated
//! traffic generator (virtual clock) both route through this crate, so they route identically.

mod aggregator;
pub mod conditions;
pub mod health;
pub mod matcher;
pub mod metrics;
pub mod router;
pub mod snapshot;
pub mod sticky;
pub mod weights;

#[cfg(test)]
mod test_support;

pub use conditions::{Cidr, parse_cidr, wildcard_match};
pub use health::{ProbeKey, ProbeOutcome, ProbeRequest, ProbeResult};
pub use matcher::CodeMatcher;
pub use metrics::{MinuteAggregator, RequestOutcome, host_count_metrics};
pub use router::{ForwardDecision, RequestView, RouteDecision, route};
pub use snapshot::*;
