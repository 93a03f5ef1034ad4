//! Traffic shifting on our own load balancers: what CodeDeploy and ECS deployments do to move
//! production and test traffic between target groups. It goes through ModifyRule, so the weights
//! show in DescribeRules / DescribeListeners and the routing snapshot is rebuilt like after any
//! API change. It must not decide anything about deployments.

use ecsim_api::elbv2 as api;

use super::common::{R, rule_not_found};
use super::state::ActionKind;
use crate::engine::Ctx;
use crate::world::World;

/// The default rule ARN of a listener, or `arn` itself when it names a rule.
fn rule_arn_of(world: &World, listener_or_rule_arn: &str) -> String {
    world.elbv2.listeners.get(listener_or_rule_arn).map_or_else(
        || listener_or_rule_arn.to_string(),
        |l| l.default_rule_arn.clone(),
    )
}

/// The forward action's (target group ARN, weight) pairs of a listener's default rule or a rule;
/// `None` when there is no such rule or its action does not forward.
pub fn forward_weights(world: &World, listener_or_rule_arn: &str) -> Option<Vec<(String, i32)>> {
    let action = match world.elbv2.listeners.get(listener_or_rule_arn) {
        Some(l) => &l.default_action,
        None => {
            let rule_arn = rule_arn_of(world, listener_or_rule_arn);
            match world.elbv2.listener_by_default_rule(&rule_arn) {
                Some(l) => &l.default_action,
                None => &world.elbv2.rules.get(&rule_arn)?.action,
            }
        }
    };
    match &action.kind {
        ActionKind::Forward { groups, .. } => Some(groups.clone()),
        _ => None,
    }
}

/// Rewrites the forward action of a listener's default rule (given the listener ARN) or of a rule
/// to split traffic over `weights` (target group ARN, weight 0–999), keeping the action's
/// target-group stickiness.
pub fn set_forward_weights(
    world: &mut World,
    ctx: &mut Ctx<'_>,
    listener_or_rule_arn: &str,
    weights: &[(String, i32)],
) -> R<()> {
    let rule_arn = rule_arn_of(world, listener_or_rule_arn);
    let stickiness = match world.elbv2.listener_by_default_rule(&rule_arn) {
        Some(l) => Some(&l.default_action),
        None => world.elbv2.rules.get(&rule_arn).map(|r| &r.action),
    }
    .ok_or_else(|| rule_not_found(&rule_arn))
    .map(|a| match &a.kind {
        ActionKind::Forward { stickiness, .. } => *stickiness,
        _ => None,
    })?;
    let action = api::Action {
        r#type: api::ActionTypeEnum::Forward,
        forward_config: Some(api::ForwardActionConfig {
            target_groups: Some(
                weights
                    .iter()
                    .map(|(arn, weight)| api::TargetGroupTuple {
                        target_group_arn: Some(arn.clone()),
                        weight: Some(*weight),
                    })
                    .collect(),
            ),
            target_group_stickiness_config: stickiness.map(|s| api::TargetGroupStickinessConfig {
                enabled: Some(s.enabled),
                duration_seconds: s.duration_s,
            }),
        }),
        ..Default::default()
    };
    super::rules::modify(
        world,
        ctx,
        api::ModifyRuleInput {
            rule_arn,
            actions: Some(vec![action]),
            ..Default::default()
        },
    )?;
    Ok(())
}
