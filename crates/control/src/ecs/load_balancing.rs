//! ECS services behind load balancers: how the data plane reaches a task target, what a
//! simulated task answers to a health check, and how target health and draining feed back into
//! the service controller.
//!
//! The ELBv2 module owns targets and their health states; this module only translates between
//! targets and tasks. It does no IO.

use ecsim_core::Millis;
use ecsim_elb::{Dial, ProbeOutcome};

use crate::engine::Ctx;
use crate::world::World;

/// How the data plane reaches target (`id`, `port`) of a target group whose `TargetType` is
/// `target_type` (`ip` or `instance`): an ecsim task's published loopback port or its simulated
/// behaviour, a loopback IP target as is, anything else refused with a description.
pub fn resolve_dial(world: &World, target_type: &str, id: &str, port: u16) -> Dial {
    let _ = (world, target_type, id, port);
    Dial::Refused("not resolved yet".into())
}

/// The answer a simulated task target gives a health check on `port`, or `None` when the target
/// is not a task on the simulated runtime (then the data plane probes it, or it is refused).
pub fn simulated_probe(
    world: &World,
    target_type: &str,
    id: &str,
    port: u16,
    now_ms: Millis,
) -> Option<ProbeOutcome> {
    let _ = (world, target_type, id, port, now_ms);
    None
}

/// The health state of target (`id`, `port`) in `target_group_arn` changed.
pub fn target_health_changed(world: &mut World, ctx: &mut Ctx<'_>, target_group_arn: &str, id: &str, port: u16) {
    let _ = (world, ctx, target_group_arn, id, port);
}

/// Target (`id`, `port`) finished draining out of `target_group_arn` and is no longer registered.
pub fn target_drained(world: &mut World, ctx: &mut Ctx<'_>, target_group_arn: &str, id: &str, port: u16) {
    let _ = (world, ctx, target_group_arn, id, port);
}
