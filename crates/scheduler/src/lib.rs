//! ecsim's ECS task placement pipeline: the cluster query language ([`query`]), the placement
//! inputs ([`snapshot`]) and the filter-then-rank pipeline ([`place`]).
//!
//! Everything here is a pure function of its inputs: no IO, no clock, no threads, no OS
//! randomness (randomness only from the [`ecsim_core::Rng`] passed in). It must not depend on the
//! API, protocol or control crates; they call into it with snapshots.

pub mod place;
pub mod query;
pub mod snapshot;

pub use place::{ChosenInstance, Placement, PlacementFailure, place, reason, unable_to_place_message};
pub use query::{Expr, InstanceView, QueryError, parse};
pub use snapshot::{
    BinpackField, ClusterSnapshot, Constraint, InstanceSnapshot, PlacementRequest, RequestError, SpreadField,
    Strategy,
};
