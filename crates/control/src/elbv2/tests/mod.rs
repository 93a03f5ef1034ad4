//! Handler-level tests of the ELBv2 API against a fresh world with the default topology, with
//! the engine's timer loop replayed by hand; plus engine-level tests of probes and snapshots.

mod health;
mod listeners;
mod load_balancers;
mod misc;
mod rules;
mod snapshot;
mod target_groups;

use ecsim_api::elbv2 as api;
use ecsim_api::elbv2::Elbv2Api;
use ecsim_core::{Millis, Rng};
use ecsim_protocol::AwsError;

use super::Elbv2Handler;
use crate::engine::Ctx;
use crate::network::{DEFAULT_VPC_ID, default_subnet_id};
use crate::runtime::SimTimings;
use crate::task_runtime::RuntimePort;
use crate::timers::{TimerKind, Timers};
use crate::topology::TopologyConfig;
use crate::world::World;

pub(super) struct Fixture {
    pub world: World,
    pub rng: Rng,
    pub timers: Timers,
    pub sim: SimTimings,
    pub runtime: RuntimePort,
    pub functions: crate::functions::Functions,
    pub now_ms: Millis,
}

impl Fixture {
    pub fn new() -> Self {
        Self {
            world: World::new("000000000000", "us-east-1", &TopologyConfig::default()),
            rng: Rng::seeded(7),
            timers: Timers::default(),
            sim: SimTimings::default(),
            runtime: RuntimePort::default(),
            functions: crate::functions::Functions::default(),
            now_ms: 1_767_225_600_000,
        }
    }

    /// Runs `f` with a world and context, as the engine does for one call or timer.
    pub fn with<R>(&mut self, f: impl FnOnce(&mut World, &mut Ctx<'_>) -> R) -> R {
        let mut ctx = Ctx {
            now_ms: self.now_ms,
            rng: &mut self.rng,
            timers: &mut self.timers,
            world_index: 0,
            sim: &self.sim,
            alarms: &crate::alarms::NoAlarms,
            runtime: &mut self.runtime,
            functions: &mut self.functions,
        };
        f(&mut self.world, &mut ctx)
    }

    pub fn call<R>(&mut self, f: impl FnOnce(&mut Elbv2Handler<'_, '_>) -> R) -> R {
        self.with(|world, ctx| f(&mut Elbv2Handler { world, ctx }))
    }

    /// Moves time forward by `ms`, firing due ELBv2 timers in order as the engine would.
    pub fn advance(&mut self, ms: Millis) {
        let until = self.now_ms + ms;
        while let Some(timer) = self.timers.pop_due(until) {
            self.now_ms = self.now_ms.max(timer.at_ms);
            if let TimerKind::Elbv2(t) = timer.kind {
                self.with(|world, ctx| super::on_timer(world, ctx, t));
            }
        }
        self.now_ms = until;
    }

    pub fn take_probes(&mut self) -> Vec<ecsim_elb::ProbeRequest> {
        super::take_probe_requests(&mut self.world)
    }

    pub fn probe_result(&mut self, request: &ecsim_elb::ProbeRequest, outcome: ecsim_elb::ProbeOutcome) {
        let result = ecsim_elb::ProbeResult {
            key: request.key.clone(),
            outcome,
        };
        self.with(|world, ctx| super::on_probe_result(world, ctx, result));
    }

    // ------------------------------------------------------------ builders

    pub fn create_lb(&mut self, name: &str) -> api::LoadBalancer {
        self.try_create_lb(api::CreateLoadBalancerInput {
            name: name.into(),
            subnets: Some(vec![default_subnet_id("a"), default_subnet_id("b")]),
            ..Default::default()
        })
        .unwrap()
    }

    pub fn try_create_lb(
        &mut self,
        input: api::CreateLoadBalancerInput,
    ) -> Result<api::LoadBalancer, AwsError> {
        self.call(|h| h.create_load_balancer(input))
            .map(|o| o.load_balancers.unwrap().remove(0))
    }

    pub fn create_tg(&mut self, name: &str, target_type: api::TargetTypeEnum) -> api::TargetGroup {
        self.try_create_tg(tg_input(name, target_type)).unwrap()
    }

    pub fn try_create_tg(
        &mut self,
        input: api::CreateTargetGroupInput,
    ) -> Result<api::TargetGroup, AwsError> {
        self.call(|h| h.create_target_group(input))
            .map(|o| o.target_groups.unwrap().remove(0))
    }

    pub fn create_listener(
        &mut self,
        lb_arn: &str,
        port: i32,
        action: api::Action,
    ) -> Result<api::Listener, AwsError> {
        let input = api::CreateListenerInput {
            load_balancer_arn: lb_arn.into(),
            protocol: Some(api::ProtocolEnum::Http),
            port: Some(port),
            default_actions: vec![action],
            ..Default::default()
        };
        self.call(|h| h.create_listener(input))
            .map(|o| o.listeners.unwrap().remove(0))
    }

    pub fn create_rule(
        &mut self,
        listener_arn: &str,
        priority: i32,
        conditions: Vec<api::RuleCondition>,
        action: api::Action,
    ) -> Result<api::Rule, AwsError> {
        let input = api::CreateRuleInput {
            listener_arn: listener_arn.into(),
            conditions,
            priority,
            actions: vec![action],
            ..Default::default()
        };
        self.call(|h| h.create_rule(input))
            .map(|o| o.rules.unwrap().remove(0))
    }

    pub fn register(&mut self, tg_arn: &str, id: &str, port: Option<i32>) -> Result<(), AwsError> {
        let input = api::RegisterTargetsInput {
            target_group_arn: tg_arn.into(),
            targets: vec![target(id, port)],
        };
        self.call(|h| h.register_targets(input)).map(|_| ())
    }

    pub fn deregister(&mut self, tg_arn: &str, id: &str, port: Option<i32>) -> Result<(), AwsError> {
        let input = api::DeregisterTargetsInput {
            target_group_arn: tg_arn.into(),
            targets: vec![target(id, port)],
        };
        self.call(|h| h.deregister_targets(input)).map(|_| ())
    }

    pub fn health(&mut self, tg_arn: &str) -> Vec<api::TargetHealthDescription> {
        let input = api::DescribeTargetHealthInput {
            target_group_arn: tg_arn.into(),
            ..Default::default()
        };
        self.call(|h| h.describe_target_health(input))
            .unwrap()
            .target_health_descriptions
            .unwrap()
    }

    /// (state, reason, description) of the only target of a group.
    pub fn only_health(
        &mut self,
        tg_arn: &str,
    ) -> (
        api::TargetHealthStateEnum,
        Option<api::TargetHealthReasonEnum>,
        Option<String>,
    ) {
        let all = self.health(tg_arn);
        assert_eq!(all.len(), 1, "{all:?}");
        let h = all[0].target_health.clone().unwrap();
        (h.state.unwrap(), h.reason, h.description)
    }

    pub fn listener_action(&mut self, listener_arn: &str) -> api::Action {
        let input = api::DescribeListenersInput {
            listener_arns: Some(vec![listener_arn.into()]),
            ..Default::default()
        };
        self.call(|h| h.describe_listeners(input))
            .unwrap()
            .listeners
            .unwrap()
            .remove(0)
            .default_actions
            .unwrap()
            .remove(0)
    }
}

pub(super) fn tg_input(name: &str, target_type: api::TargetTypeEnum) -> api::CreateTargetGroupInput {
    api::CreateTargetGroupInput {
        name: name.into(),
        protocol: Some(api::ProtocolEnum::Http),
        port: Some(8080),
        vpc_id: Some(DEFAULT_VPC_ID.into()),
        target_type: Some(target_type),
        ..Default::default()
    }
}

pub(super) fn target(id: &str, port: Option<i32>) -> api::TargetDescription {
    api::TargetDescription {
        id: id.into(),
        port,
        ..Default::default()
    }
}

pub(super) fn forward(tg_arn: &str) -> api::Action {
    api::Action {
        r#type: api::ActionTypeEnum::Forward,
        target_group_arn: Some(tg_arn.into()),
        ..Default::default()
    }
}

pub(super) fn weighted(
    groups: &[(&str, Option<i32>)],
    stickiness: Option<(bool, Option<i32>)>,
) -> api::Action {
    api::Action {
        r#type: api::ActionTypeEnum::Forward,
        forward_config: Some(api::ForwardActionConfig {
            target_groups: Some(
                groups
                    .iter()
                    .map(|(arn, weight)| api::TargetGroupTuple {
                        target_group_arn: Some((*arn).into()),
                        weight: *weight,
                    })
                    .collect(),
            ),
            target_group_stickiness_config: stickiness.map(|(enabled, duration)| {
                api::TargetGroupStickinessConfig {
                    enabled: Some(enabled),
                    duration_seconds: duration,
                }
            }),
        }),
        ..Default::default()
    }
}

pub(super) fn fixed(status: &str) -> api::Action {
    api::Action {
        r#type: api::ActionTypeEnum::FixedResponse,
        fixed_response_config: Some(api::FixedResponseActionConfig {
            status_code: status.into(),
            content_type: Some("text/plain".into()),
            message_body: Some("hello".into()),
        }),
        ..Default::default()
    }
}

pub(super) fn path_condition(values: &[&str]) -> api::RuleCondition {
    api::RuleCondition {
        field: Some("path-pattern".into()),
        values: Some(values.iter().map(|s| (*s).into()).collect()),
        ..Default::default()
    }
}

pub(super) fn host_condition_config(values: &[&str]) -> api::RuleCondition {
    api::RuleCondition {
        field: Some("host-header".into()),
        host_header_config: Some(api::HostHeaderConditionConfig {
            values: Some(values.iter().map(|s| (*s).into()).collect()),
            regex_values: None,
        }),
        ..Default::default()
    }
}

/// The error code of a failed call.
pub(super) fn code<T: std::fmt::Debug>(r: Result<T, AwsError>) -> String {
    r.expect_err("the call should fail").code
}
