//! The Elastic Load Balancing v2 control plane: load balancers, target groups, listeners,
//! rules, registered targets and their health, on a world's simulated network.
//!
//! Handlers validate, then change `World::elbv2`; the routing snapshot the proxy reads is built
//! from that state by `snapshot`, and health checks run on the engine's timers (`health`).
//! Nothing here opens sockets, sleeps, reads a clock or draws OS randomness; operations ecsim
//! does not emulate (trust stores, capacity reservations, IPAM pools, resource policies) keep the
//! generated `NotImplemented` answer, and features it cannot emulate inside an implemented
//! operation (authentication actions, gateway load balancers, lambda targets, regex conditions,
//! transforms, mutual TLS, TLS/UDP listeners) are refused with a `ValidationError` that says so.
//!
//! Decisions where AWS is silent or where ecsim differs on purpose:
//! - A new load balancer is `provisioning` for 1 s (virtual time in simulation), then
//!   `active`; it is in the routing snapshot from the start.
//! - DNS names are `<name>-<10 digits>.<region>.elb.localhost` (`internal-` first for internal
//!   load balancers), which resolve to 127.0.0.1; `CanonicalHostedZoneId` is the us-east-1 zone
//!   of the load balancer type in every region.
//! - A target group serves one load balancer (`TargetGroupAssociationLimit` otherwise), as the
//!   ALB quota "load balancers per target group: 1" says.
//! - Health-check timeout defaults: 5 s for HTTP/HTTPS groups (ALB user guide); TCP groups 10 s
//!   (6 s with an HTTP check). The matcher defaults to `200` (`200-399` for TCP groups).
//! - The first health check runs at registration; `Elb.RegistrationInProgress` turns into
//!   `Elb.InitialHealthChecking` with the first result. A TCP check passes on any answer.
//! - A data-plane probe whose result never arrives is given up after its timeout plus one
//!   interval and a new one is queued; it does not count as a failure.
//! - IP targets outside the VPC (private ranges and loopback) default to zone `all`.
//! - Deregistering a target of a group no load balancer uses removes it at once.
//! - Forward actions: a weight left out is 1; describes always return `ForwardConfig` (with
//!   `TargetGroupStickinessConfig.Enabled` false when not given) and `TargetGroupArn` when the
//!   action names exactly one group; `Order` is 1 when left out.
//! - Markers are opaque offsets into the creation-ordered list.

mod account;
mod actions;
mod attributes;
mod common;
mod conditions;
mod health;
mod listeners;
mod load_balancers;
mod rules;
pub mod snapshot;
pub mod state;
mod tags;
mod target_groups;
pub(crate) mod targets;
mod usage;
pub mod weights;

#[cfg(test)]
mod tests;

use ecsim_api::elbv2::{self as api, Elbv2Api};
use ecsim_core::Millis;
use ecsim_protocol::AwsError;

use crate::engine::Ctx;
use crate::timers::TimerKind;
use crate::world::World;
use common::R;

pub use snapshot::{RoutingPublication, mark_routes_changed};
pub use state::{
    Elbv2State, HealthCheckPort, HealthCheckSettings, TargetGroupRecord, TargetRecord, TargetState,
    TargetType,
};
pub use targets::{deregister_target, register_target, target_state};

/// The ELBv2 handler for one call against one world.
pub struct Elbv2Handler<'a, 'b> {
    pub world: &'a mut World,
    pub ctx: &'a mut Ctx<'b>,
}

/// ELBv2 deadlines on the engine's timer queue.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum Elbv2Timer {
    /// A provisioning load balancer becomes active.
    LoadBalancerActive { arn: String },
    /// A target's next health check (stale when `generation` no longer matches).
    HealthCheck {
        target_group_arn: String,
        id: String,
        port: u16,
        generation: u64,
    },
    /// A draining target's deregistration delay ends.
    DrainEnd {
        target_group_arn: String,
        id: String,
        port: u16,
        generation: u64,
    },
}

fn schedule(ctx: &mut Ctx<'_>, at_ms: Millis, timer: Elbv2Timer) {
    ctx.timers
        .schedule(at_ms, ctx.world_index, TimerKind::Elbv2(timer));
}

/// Runs an ELBv2 timer that came due.
pub fn on_timer(world: &mut World, ctx: &mut Ctx<'_>, timer: Elbv2Timer) {
    match timer {
        Elbv2Timer::LoadBalancerActive { arn } => load_balancers::on_active(world, &arn),
        Elbv2Timer::HealthCheck {
            target_group_arn,
            id,
            port,
            generation,
        } => health::on_check_due(world, ctx, &target_group_arn, &id, port, generation),
        Elbv2Timer::DrainEnd {
            target_group_arn,
            id,
            port,
            generation,
        } => targets::on_drain_end(world, ctx, &target_group_arn, &id, port, generation),
    }
}

/// Applies a probe result from the data plane (stale and unknown results are ignored).
pub fn on_probe_result(world: &mut World, ctx: &mut Ctx<'_>, result: ecsim_elb::ProbeResult) {
    health::on_probe_result(world, ctx, result);
}

/// Takes the probes queued for the data plane.
pub fn take_probe_requests(world: &mut World) -> Vec<ecsim_elb::ProbeRequest> {
    std::mem::take(&mut world.elbv2.probe_queue)
}

/// A target group of this world: target type, port, protocol, health-check settings,
/// attributes (`deregistration_delay_ms()`) and the load balancers that use it
/// (`load_balancer_arns`).
pub fn target_group<'w>(world: &'w World, arn: &str) -> Option<&'w TargetGroupRecord> {
    world.elbv2.target_groups.get(arn)
}

/// Target groups the listeners and rules of a load balancer forward to, in creation order.
pub fn target_groups_of_load_balancer(world: &World, lb_arn: &str) -> Vec<String> {
    usage::target_groups_of(&world.elbv2, lb_arn)
}

impl Elbv2Api for Elbv2Handler<'_, '_> {
    // load balancers
    fn create_load_balancer(
        &mut self,
        input: api::CreateLoadBalancerInput,
    ) -> R<api::CreateLoadBalancerOutput> {
        load_balancers::create(self.world, self.ctx, input)
    }
    fn describe_load_balancers(
        &mut self,
        input: api::DescribeLoadBalancersInput,
    ) -> R<api::DescribeLoadBalancersOutput> {
        load_balancers::describe(self.world, input)
    }
    fn delete_load_balancer(
        &mut self,
        input: api::DeleteLoadBalancerInput,
    ) -> R<api::DeleteLoadBalancerOutput> {
        load_balancers::delete(self.world, self.ctx, input)
    }
    fn set_security_groups(&mut self, input: api::SetSecurityGroupsInput) -> R<api::SetSecurityGroupsOutput> {
        load_balancers::set_security_groups(self.world, input)
    }
    fn set_subnets(&mut self, input: api::SetSubnetsInput) -> R<api::SetSubnetsOutput> {
        load_balancers::set_subnets(self.world, input)
    }
    fn set_ip_address_type(&mut self, input: api::SetIpAddressTypeInput) -> R<api::SetIpAddressTypeOutput> {
        load_balancers::set_ip_address_type(self.world, input)
    }
    fn describe_load_balancer_attributes(
        &mut self,
        input: api::DescribeLoadBalancerAttributesInput,
    ) -> R<api::DescribeLoadBalancerAttributesOutput> {
        attributes::describe_load_balancer_attributes(self.world, input)
    }
    fn modify_load_balancer_attributes(
        &mut self,
        input: api::ModifyLoadBalancerAttributesInput,
    ) -> R<api::ModifyLoadBalancerAttributesOutput> {
        attributes::modify_load_balancer_attributes(self.world, input)
    }

    // target groups
    fn create_target_group(&mut self, input: api::CreateTargetGroupInput) -> R<api::CreateTargetGroupOutput> {
        target_groups::create(self.world, self.ctx, input)
    }
    fn describe_target_groups(
        &mut self,
        input: api::DescribeTargetGroupsInput,
    ) -> R<api::DescribeTargetGroupsOutput> {
        target_groups::describe(self.world, input)
    }
    fn modify_target_group(&mut self, input: api::ModifyTargetGroupInput) -> R<api::ModifyTargetGroupOutput> {
        target_groups::modify(self.world, input)
    }
    fn delete_target_group(&mut self, input: api::DeleteTargetGroupInput) -> R<api::DeleteTargetGroupOutput> {
        target_groups::delete(self.world, self.ctx, input)
    }
    fn describe_target_group_attributes(
        &mut self,
        input: api::DescribeTargetGroupAttributesInput,
    ) -> R<api::DescribeTargetGroupAttributesOutput> {
        attributes::describe_target_group_attributes(self.world, input)
    }
    fn modify_target_group_attributes(
        &mut self,
        input: api::ModifyTargetGroupAttributesInput,
    ) -> R<api::ModifyTargetGroupAttributesOutput> {
        attributes::modify_target_group_attributes(self.world, input)
    }

    // targets
    fn register_targets(&mut self, input: api::RegisterTargetsInput) -> R<api::RegisterTargetsOutput> {
        targets::register_targets(self.world, self.ctx, input)
    }
    fn deregister_targets(&mut self, input: api::DeregisterTargetsInput) -> R<api::DeregisterTargetsOutput> {
        targets::deregister_targets(self.world, self.ctx, input)
    }
    fn describe_target_health(
        &mut self,
        input: api::DescribeTargetHealthInput,
    ) -> R<api::DescribeTargetHealthOutput> {
        targets::describe_target_health(self.world, input)
    }

    // listeners
    fn create_listener(&mut self, input: api::CreateListenerInput) -> R<api::CreateListenerOutput> {
        listeners::create(self.world, self.ctx, input)
    }
    fn describe_listeners(&mut self, input: api::DescribeListenersInput) -> R<api::DescribeListenersOutput> {
        listeners::describe(self.world, input)
    }
    fn modify_listener(&mut self, input: api::ModifyListenerInput) -> R<api::ModifyListenerOutput> {
        listeners::modify(self.world, self.ctx, input)
    }
    fn delete_listener(&mut self, input: api::DeleteListenerInput) -> R<api::DeleteListenerOutput> {
        listeners::delete(self.world, self.ctx, input)
    }
    fn describe_listener_attributes(
        &mut self,
        input: api::DescribeListenerAttributesInput,
    ) -> R<api::DescribeListenerAttributesOutput> {
        attributes::describe_listener_attributes(self.world, input)
    }
    fn modify_listener_attributes(
        &mut self,
        input: api::ModifyListenerAttributesInput,
    ) -> R<api::ModifyListenerAttributesOutput> {
        attributes::modify_listener_attributes(self.world, input)
    }
    fn describe_listener_certificates(
        &mut self,
        input: api::DescribeListenerCertificatesInput,
    ) -> R<api::DescribeListenerCertificatesOutput> {
        listeners::describe_certificates(self.world, input)
    }
    fn add_listener_certificates(
        &mut self,
        input: api::AddListenerCertificatesInput,
    ) -> R<api::AddListenerCertificatesOutput> {
        listeners::add_certificates(self.world, input)
    }
    fn remove_listener_certificates(
        &mut self,
        input: api::RemoveListenerCertificatesInput,
    ) -> R<api::RemoveListenerCertificatesOutput> {
        listeners::remove_certificates(self.world, input)
    }

    // rules
    fn create_rule(&mut self, input: api::CreateRuleInput) -> R<api::CreateRuleOutput> {
        rules::create(self.world, self.ctx, input)
    }
    fn describe_rules(&mut self, input: api::DescribeRulesInput) -> R<api::DescribeRulesOutput> {
        rules::describe(self.world, input)
    }
    fn modify_rule(&mut self, input: api::ModifyRuleInput) -> R<api::ModifyRuleOutput> {
        rules::modify(self.world, self.ctx, input)
    }
    fn delete_rule(&mut self, input: api::DeleteRuleInput) -> R<api::DeleteRuleOutput> {
        rules::delete(self.world, self.ctx, input)
    }
    fn set_rule_priorities(&mut self, input: api::SetRulePrioritiesInput) -> R<api::SetRulePrioritiesOutput> {
        rules::set_priorities(self.world, input)
    }

    // tags
    fn add_tags(&mut self, input: api::AddTagsInput) -> R<api::AddTagsOutput> {
        tags::add_tags(self.world, input)
    }
    fn remove_tags(&mut self, input: api::RemoveTagsInput) -> R<api::RemoveTagsOutput> {
        tags::remove_tags(self.world, input)
    }
    fn describe_tags(&mut self, input: api::DescribeTagsInput) -> R<api::DescribeTagsOutput> {
        tags::describe_tags(self.world, input)
    }

    // account
    fn describe_account_limits(
        &mut self,
        input: api::DescribeAccountLimitsInput,
    ) -> Result<api::DescribeAccountLimitsOutput, AwsError> {
        account::describe_account_limits(input)
    }
    fn describe_ssl_policies(
        &mut self,
        input: api::DescribeSSLPoliciesInput,
    ) -> R<api::DescribeSSLPoliciesOutput> {
        account::describe_ssl_policies(input)
    }
}
