//! One world per (account, region): every resource created through the APIs, as plain data.
//!
//! A `World` has no locks and no behaviour of its own; handlers and controllers change it, and
//! only the engine owns it.

use crate::ecs::state::EcsState;
use crate::elbv2::Elbv2State;
use crate::network::Network;
use crate::topology::TopologyConfig;

#[derive(Debug, Clone)]
pub struct World {
    pub account_id: String,
    pub region: String,
    pub network: Network,
    pub ecs: EcsState,
    pub elbv2: Elbv2State,
    pub codedeploy: crate::codedeploy::state::CodeDeployState,
    /// Injected faults: their records, event log and the effects of the active ones.
    pub faults: crate::faults::WorldFaults,
}

impl World {
    pub fn new(account_id: &str, region: &str, topology: &TopologyConfig) -> Self {
        Self {
            account_id: account_id.to_string(),
            region: region.to_string(),
            network: Network::default_for(region, topology),
            ecs: EcsState::default(),
            elbv2: Elbv2State::default(),
            codedeploy: crate::codedeploy::state::CodeDeployState::default(),
            faults: crate::faults::WorldFaults::default(),
        }
    }

    /// `arn:aws:<service>:<region>:<account>:<resource>` for this world.
    pub fn arn(&self, service: &str, resource: &str) -> String {
        ecsim_core::ids::arn(service, &self.region, &self.account_id, resource)
    }
}
