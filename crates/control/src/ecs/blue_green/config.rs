//! Validation of the ECS-native BLUE_GREEN / LINEAR / CANARY configuration on CreateService and
//! UpdateService: bake times, step and canary percentages, lifecycle hooks and the load
//! balancers' `advancedConfiguration` against the world's ELBv2 state. It only reads: it must
//! not change the service, the rules or anything else.

use ecsim_api::ecs as api;
use ecsim_protocol::AwsError;

use crate::ecs::common::invalid_parameter;
use crate::world::World;

/// Longest bake or step bake, in minutes (24 hours).
const MAX_BAKE_MINUTES: i32 = 1440;
/// Lifecycle hook timeout bounds, in minutes.
const HOOK_TIMEOUT_MINUTES: std::ops::RangeInclusive<i32> = 1..=20_160;

/// Whether `strategy` is one the ECS-native traffic-shifting lifecycle runs.
pub fn shifts_traffic(strategy: Option<api::DeploymentStrategy>) -> bool {
    matches!(
        strategy,
        Some(
            api::DeploymentStrategy::BlueGreen
                | api::DeploymentStrategy::Linear
                | api::DeploymentStrategy::Canary
        )
    )
}

fn check_bake(name: &str, minutes: Option<i32>) -> Result<(), AwsError> {
    match minutes {
        Some(m) if !(0..=MAX_BAKE_MINUTES).contains(&m) => Err(invalid_parameter(format!(
            "{name} must be between 0 and {MAX_BAKE_MINUTES} minutes."
        ))),
        _ => Ok(()),
    }
}

/// A percentage in tenths when it is a multiple of 0.1 within `min..=100` (given in tenths).
fn check_tenths(name: &str, pct: f64, min_tenths: u32) -> Result<u32, AwsError> {
    let tenths = pct * 10.0;
    let min = f64::from(min_tenths) / 10.0;
    if !pct.is_finite()
        || (tenths - tenths.round()).abs() > 1e-6
        || tenths.round() < f64::from(min_tenths)
        || tenths.round() > 1000.0
    {
        return Err(invalid_parameter(format!(
            "{name} must be a multiple of 0.1 between {min:.1} and 100.0."
        )));
    }
    // In range and integral, so the conversion is exact.
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
    Ok(tenths.round() as u32)
}

/// `linearConfiguration.stepPercent` in tenths (default 10.0%).
pub fn linear_step_tenths(c: &api::DeploymentConfiguration) -> Result<u32, AwsError> {
    let pct = c
        .linear_configuration
        .as_ref()
        .and_then(|l| l.step_percent)
        .unwrap_or(10.0);
    check_tenths("linearConfiguration.stepPercent", pct, 30)
}

/// `canaryConfiguration.canaryPercent` in tenths (default 5.0%).
pub fn canary_tenths(c: &api::DeploymentConfiguration) -> Result<u32, AwsError> {
    let pct = c
        .canary_configuration
        .as_ref()
        .and_then(|l| l.canary_percent)
        .unwrap_or(5.0);
    check_tenths("canaryConfiguration.canaryPercent", pct, 1)
}

/// `earlySuccessCriteria`: rolling deployments only; when enabled it needs `healthyPercent` (not
/// below `minimumHealthyPercent`) and `sourceServiceRevisionCleanup`.
fn check_early_success(
    c: &api::DeploymentConfiguration,
    strategy: api::DeploymentStrategy,
) -> Result<(), AwsError> {
    let Some(early) = &c.early_success_criteria else {
        return Ok(());
    };
    if strategy != api::DeploymentStrategy::Rolling {
        return Err(invalid_parameter(
            "earlySuccessCriteria can only be specified with the ROLLING deployment strategy.",
        ));
    }
    if !early.enable {
        return Ok(());
    }
    let Some(pct) = early.healthy_percent else {
        return Err(invalid_parameter(
            "earlySuccessCriteria.healthyPercent is required when earlySuccessCriteria is enabled.",
        ));
    };
    if early.source_service_revision_cleanup.is_none() {
        return Err(invalid_parameter(
            "earlySuccessCriteria.sourceServiceRevisionCleanup is required when earlySuccessCriteria is enabled.",
        ));
    }
    let min = c.minimum_healthy_percent.unwrap_or(100);
    if pct < min {
        return Err(invalid_parameter(format!(
            "earlySuccessCriteria.healthyPercent ({pct}) must be greater than or equal to minimumHealthyPercent ({min})."
        )));
    }
    Ok(())
}

/// Checks the strategy settings of a deployment configuration (not its load balancers).
pub fn check_strategy(c: &api::DeploymentConfiguration) -> Result<(), AwsError> {
    let strategy = c.strategy.unwrap_or(api::DeploymentStrategy::Rolling);
    check_bake("bakeTimeInMinutes", c.bake_time_in_minutes)?;
    check_early_success(c, strategy)?;
    if c.linear_configuration.is_some() && strategy != api::DeploymentStrategy::Linear {
        return Err(invalid_parameter(
            "linearConfiguration can only be specified with the LINEAR deployment strategy.",
        ));
    }
    if c.canary_configuration.is_some() && strategy != api::DeploymentStrategy::Canary {
        return Err(invalid_parameter(
            "canaryConfiguration can only be specified with the CANARY deployment strategy.",
        ));
    }
    let hooks = c.lifecycle_hooks.as_deref().unwrap_or_default();
    if !hooks.is_empty() && !shifts_traffic(Some(strategy)) {
        return Err(invalid_parameter(
            "lifecycleHooks can only be specified with the BLUE_GREEN, LINEAR or CANARY deployment strategy.",
        ));
    }
    match strategy {
        api::DeploymentStrategy::BlueGreen if c.bake_time_in_minutes.is_none() => {
            return Err(invalid_parameter(
                "bakeTimeInMinutes must be specified for the BLUE_GREEN deployment strategy.",
            ));
        }
        api::DeploymentStrategy::Linear => {
            linear_step_tenths(c)?;
            check_bake(
                "linearConfiguration.stepBakeTimeInMinutes",
                c.linear_configuration
                    .as_ref()
                    .and_then(|l| l.step_bake_time_in_minutes),
            )?;
        }
        api::DeploymentStrategy::Canary => {
            canary_tenths(c)?;
            check_bake(
                "canaryConfiguration.canaryBakeTimeInMinutes",
                c.canary_configuration
                    .as_ref()
                    .and_then(|l| l.canary_bake_time_in_minutes),
            )?;
        }
        _ => {}
    }
    for hook in hooks {
        check_hook(hook)?;
    }
    Ok(())
}

fn check_hook(hook: &api::DeploymentLifecycleHook) -> Result<(), AwsError> {
    let stages = hook.lifecycle_stages.as_deref().unwrap_or_default();
    if stages.is_empty() {
        return Err(invalid_parameter(
            "lifecycleStages must contain at least one lifecycle stage for each lifecycle hook.",
        ));
    }
    let target_type = hook.target_type.unwrap_or_default();
    match target_type {
        api::DeploymentLifecycleHookTargetType::AwsLambda => {
            if hook.hook_target_arn.as_deref().is_none_or(str::is_empty) {
                return Err(invalid_parameter(
                    "hookTargetArn must be specified for a lifecycle hook with the AWS_LAMBDA target type.",
                ));
            }
        }
        api::DeploymentLifecycleHookTargetType::Pause => {
            if hook.hook_target_arn.is_some() {
                return Err(invalid_parameter(
                    "hookTargetArn is not supported for a lifecycle hook with the PAUSE target type.",
                ));
            }
            if let Some(stage) = stages.iter().find(|s| {
                matches!(
                    s,
                    api::DeploymentLifecycleHookStage::TestTrafficShift
                        | api::DeploymentLifecycleHookStage::ProductionTrafficShift
                )
            }) {
                return Err(invalid_parameter(format!(
                    "A lifecycle hook with the PAUSE target type is not supported at the {} lifecycle stage.",
                    stage.as_str()
                )));
            }
        }
    }
    if let Some(minutes) = hook
        .timeout_configuration
        .as_ref()
        .and_then(|t| t.timeout_in_minutes)
        && !HOOK_TIMEOUT_MINUTES.contains(&minutes)
    {
        return Err(invalid_parameter(
            "timeoutConfiguration.timeoutInMinutes must be between 1 and 20160.",
        ));
    }
    Ok(())
}

/// Checks each load balancer's `advancedConfiguration` for a traffic-shifting strategy: the
/// alternate target group exists, differs from the primary and has its target type; the
/// production (and test) listener rule or listener exists and forwards to one of the two groups.
pub fn check_load_balancers(
    world: &World,
    strategy: Option<api::DeploymentStrategy>,
    load_balancers: &[api::LoadBalancer],
) -> Result<(), AwsError> {
    if !shifts_traffic(strategy) {
        if load_balancers
            .iter()
            .any(|lb| lb.advanced_configuration.is_some())
        {
            return Err(invalid_parameter(
                "advancedConfiguration can only be specified with the BLUE_GREEN, LINEAR or CANARY deployment strategy.",
            ));
        }
        return Ok(());
    }
    for lb in load_balancers {
        let primary = lb.target_group_arn.as_deref().unwrap_or_default();
        let Some(advanced) = &lb.advanced_configuration else {
            return Err(invalid_parameter(format!(
                "advancedConfiguration is required for the load balancer with targetGroupArn {primary} \
                 when the deployment strategy is {}.",
                strategy.map_or("", |s| s.as_str())
            )));
        };
        let Some(alternate) = advanced.alternate_target_group_arn.as_deref() else {
            return Err(invalid_parameter(
                "advancedConfiguration.alternateTargetGroupArn must be specified.",
            ));
        };
        let Some(alt_group) = crate::elbv2::target_group(world, alternate) else {
            return Err(invalid_parameter(format!(
                "The target group with targetGroupArn {alternate} does not exist."
            )));
        };
        if alternate == primary {
            return Err(invalid_parameter(
                "advancedConfiguration.alternateTargetGroupArn must be different from targetGroupArn.",
            ));
        }
        if let Some(primary_group) = crate::elbv2::target_group(world, primary)
            && primary_group.target_type_str() != alt_group.target_type_str()
        {
            return Err(invalid_parameter(format!(
                "The target groups {primary} and {alternate} must have the same target type."
            )));
        }
        if advanced.role_arn.as_deref().is_none_or(str::is_empty) {
            return Err(invalid_parameter(
                "advancedConfiguration.roleArn must be specified.",
            ));
        }
        let Some(production) = advanced.production_listener_rule.as_deref() else {
            return Err(invalid_parameter(
                "advancedConfiguration.productionListenerRule must be specified.",
            ));
        };
        check_rule(world, "productionListenerRule", production, primary, alternate)?;
        if let Some(test) = advanced.test_listener_rule.as_deref() {
            if test == production {
                return Err(invalid_parameter(
                    "advancedConfiguration.testListenerRule must be different from productionListenerRule.",
                ));
            }
            check_rule(world, "testListenerRule", test, primary, alternate)?;
        }
    }
    Ok(())
}

fn check_rule(world: &World, field: &str, arn: &str, primary: &str, alternate: &str) -> Result<(), AwsError> {
    let exists = world.elbv2.rules.contains_key(arn)
        || world.elbv2.listeners.contains_key(arn)
        || world.elbv2.listener_by_default_rule(arn).is_some();
    if !exists {
        return Err(invalid_parameter(format!(
            "The listener rule or listener {arn} in advancedConfiguration.{field} does not exist."
        )));
    }
    let forwards = crate::elbv2::weights::forward_weights(world, arn)
        .is_some_and(|w| w.iter().any(|(tg, _)| tg == primary || tg == alternate));
    if !forwards {
        return Err(invalid_parameter(format!(
            "The listener rule or listener {arn} in advancedConfiguration.{field} must forward to \
             the target group {primary} or {alternate}."
        )));
    }
    Ok(())
}
