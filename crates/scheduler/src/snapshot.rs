//! The placement inputs: an immutable [`ClusterSnapshot`] and a [`PlacementRequest`].
//!
//! Plain data only. The caller builds these from its world state; this module must not reach
//! into any store, read a clock or hold references to live state.

use std::collections::{BTreeMap, BTreeSet};

use crate::query::{Expr, InstanceView};

/// The built-in attribute carrying the instance's availability zone.
pub const ATTR_AVAILABILITY_ZONE: &str = "ecs.availability-zone";
pub const ATTR_INSTANCE_TYPE: &str = "ecs.instance-type";
pub const ATTR_AMI_ID: &str = "ecs.ami-id";
pub const ATTR_OS_TYPE: &str = "ecs.os-type";
pub const ATTR_CPU_ARCHITECTURE: &str = "ecs.cpu-architecture";

/// AWS's limits on one request.
pub const MAX_STRATEGIES: usize = 5;
pub const MAX_CONSTRAINTS: usize = 10;

/// Every container instance of one cluster, in a stable order (the final tie-breaker).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ClusterSnapshot {
    pub instances: Vec<InstanceSnapshot>,
}

/// One container instance as placement sees it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct InstanceSnapshot {
    /// The container instance id.
    pub id: String,
    pub arn: String,
    pub ec2_instance_id: String,
    pub availability_zone: String,
    /// Attributes, including the built-ins (`ecs.availability-zone`, `ecs.instance-type`, ...);
    /// `None` for attributes that exist without a value.
    pub attributes: BTreeMap<String, Option<String>>,
    /// CPU units still unreserved.
    pub cpu_remaining: i64,
    /// Memory still unreserved, in MiB.
    pub memory_remaining: i64,
    /// TCP host ports already bound.
    pub ports_in_use: BTreeSet<u16>,
    /// Running (or pending) task count per task group.
    pub running_task_groups: BTreeMap<String, u32>,
    pub running_tasks: u32,
    pub registered_at_ms: u64,
    pub agent_connected: bool,
    pub agent_version: String,
    /// `false` for DRAINING / INACTIVE instances.
    pub active: bool,
}

impl InstanceView for InstanceSnapshot {
    fn attribute(&self, name: &str) -> Option<Option<&str>> {
        self.attributes.get(name).map(Option::as_deref)
    }
    fn ec2_instance_id(&self) -> &str {
        &self.ec2_instance_id
    }
    fn agent_connected(&self) -> bool {
        self.agent_connected
    }
    fn agent_version(&self) -> &str {
        &self.agent_version
    }
    fn registered_at_ms(&self) -> u64 {
        self.registered_at_ms
    }
    fn running_tasks_count(&self) -> u32 {
        self.running_tasks
    }
    fn any_task_group(&self, pred: &mut dyn FnMut(&str) -> bool) -> bool {
        self.running_task_groups.iter().any(|(g, n)| *n > 0 && pred(g))
    }
}

/// A binding placement constraint.
#[derive(Debug, Clone, PartialEq)]
pub enum Constraint {
    /// Each task of the group on a different instance.
    DistinctInstance,
    /// Only instances matching the (precompiled) cluster query expression.
    MemberOf(Expr),
}

/// The resource a binpack strategy packs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BinpackField {
    Cpu,
    Memory,
}

/// A placement strategy; strategies apply in order, each breaking the ties of the one before.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Strategy {
    /// `instanceId` (alias `host`) or `attribute:<name>`.
    Spread(String),
    Binpack(BinpackField),
    Random,
}

/// What a spread strategy balances over.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SpreadField<'a> {
    Instance,
    Attribute(&'a str),
}

/// An invalid request (for an `InvalidParameterException`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RequestError {
    #[error("Invalid placement strategy field '{0}': expected instanceId, host or attribute:<name>")]
    SpreadField(String),
    #[error("At most {MAX_STRATEGIES} placement strategies are allowed, got {0}")]
    TooManyStrategies(usize),
    #[error("At most {MAX_CONSTRAINTS} placement constraints are allowed, got {0}")]
    TooManyConstraints(usize),
}

/// Reads a spread `field`.
pub fn spread_field(field: &str) -> Result<SpreadField<'_>, RequestError> {
    match field {
        "instanceId" | "host" => Ok(SpreadField::Instance),
        f => match f.strip_prefix("attribute:") {
            Some(name) if !name.is_empty() => Ok(SpreadField::Attribute(name)),
            _ => Err(RequestError::SpreadField(field.to_string())),
        },
    }
}

/// What to place: `count` identical tasks of one group.
#[derive(Debug, Clone, PartialEq)]
pub struct PlacementRequest {
    /// CPU units per task.
    pub cpu: i64,
    /// Memory per task, in MiB.
    pub memory: i64,
    /// TCP host ports each task binds.
    pub host_ports: Vec<u16>,
    /// The task group (`service:<name>` or `family:<name>` by default).
    pub group: String,
    pub count: u32,
    pub constraints: Vec<Constraint>,
    pub strategies: Vec<Strategy>,
}

impl PlacementRequest {
    /// Checks the limits and spread fields. [`crate::place::place`] does not require it: an
    /// unreadable spread field is treated as an attribute name there.
    pub fn validate(&self) -> Result<(), RequestError> {
        if self.strategies.len() > MAX_STRATEGIES {
            return Err(RequestError::TooManyStrategies(self.strategies.len()));
        }
        if self.constraints.len() > MAX_CONSTRAINTS {
            return Err(RequestError::TooManyConstraints(self.constraints.len()));
        }
        for s in &self.strategies {
            if let Strategy::Spread(f) = s {
                spread_field(f)?;
            }
        }
        Ok(())
    }
}
