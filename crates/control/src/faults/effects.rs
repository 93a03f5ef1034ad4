//! What active faults do, as the data plane, the health checker and placement read them:
//! failing health checks, shaped dials (latency and error rates), zones that are down. Reads a
//! world; changes nothing.

use ecsim_elb::{Dial, SimulatedTarget, TargetFault};

use super::*;
use crate::ecs::state::TaskRecord;
use crate::world::World;

/// Whether `scope` covers a target of group `tg_arn` behind `task`.
fn covers(scope: &Scope, tg_arn: &str, task: Option<&TaskRecord>) -> bool {
    match scope {
        Scope::TargetGroup { arn } => arn == tg_arn,
        Scope::Task { task_id, .. } => task.is_some_and(|t| &t.id == task_id),
        Scope::TaskDefinition { arn } => task.is_some_and(|t| &t.task_definition_arn == arn),
    }
}

/// Why target (`id`, `port`) of group `tg_arn` fails its health checks because of a fault, or
/// `None`: a failHealthChecks fault covers it, or its task (else its registered zone) is in an
/// availability zone that is down.
pub fn health_failure(world: &World, tg_arn: &str, target_type: &str, id: &str, port: u16) -> Option<String> {
    if world.faults.active.is_empty() {
        return None;
    }
    let task = crate::ecs::load_balancing::task_behind_target(world, target_type, id, port);
    for (fault_id, kind) in &world.faults.active {
        match kind {
            FaultKind::FailHealthChecks { scope } if covers(scope, tg_arn, task) => {
                return Some(format!("Health checks failed (fault {fault_id})"));
            }
            FaultKind::AzOutage { zone } if in_zone(world, tg_arn, id, port, task, zone) => {
                return Some(format!("Availability zone {zone} is down (fault {fault_id})"));
            }
            _ => {}
        }
    }
    None
}

fn in_zone(world: &World, tg_arn: &str, id: &str, port: u16, task: Option<&TaskRecord>, zone: &str) -> bool {
    match task {
        Some(t) => t.placement.availability_zone == zone,
        None => world
            .elbv2
            .target_groups
            .get(tg_arn)
            .and_then(|tg| tg.targets.get(&(id.to_string(), port)))
            .and_then(|t| t.availability_zone.as_deref())
            .is_some_and(|z| z == zone),
    }
}

/// The dial the data plane uses for target (`id`, `port`) of group `tg_arn` with the active
/// faults on top of `dial`: an AZ outage refuses it; latency adds up; error rates combine as
/// independent failures (`1 − Π(1 − rᵢ)`) and the latest-applied fault's status wins. Simulated
/// targets carry the result in their behaviour, loopback targets get a [`TargetFault`] the proxy
/// plays in front of them.
pub fn shape_dial(
    world: &World,
    tg_arn: &str,
    target_type: &str,
    id: &str,
    port: u16,
    dial: Dial,
) -> (Dial, Option<TargetFault>) {
    if world.faults.active.is_empty() || matches!(dial, Dial::Refused(_)) {
        return (dial, None);
    }
    let task = crate::ecs::load_balancing::task_behind_target(world, target_type, id, port);
    let mut latency_ms = 0_u64;
    let mut ok_share = 1.0_f64;
    let mut status: Option<u16> = None;
    for (fault_id, kind) in &world.faults.active {
        match kind {
            FaultKind::AzOutage { zone } if in_zone(world, tg_arn, id, port, task, zone) => {
                return (
                    Dial::Refused(format!(
                        "the target is in availability zone {zone}, which is down (fault {fault_id})"
                    )),
                    None,
                );
            }
            FaultKind::Latency { scope, latency_ms: l } if covers(scope, tg_arn, task) => {
                latency_ms = latency_ms.saturating_add(*l);
            }
            FaultKind::ErrorRate {
                scope,
                error_rate_pct,
                status_code,
            } if covers(scope, tg_arn, task) => {
                ok_share *= 1.0 - error_rate_pct / 100.0;
                status = Some(*status_code);
            }
            _ => {}
        }
    }
    if latency_ms == 0 && status.is_none() {
        return (dial, None);
    }
    let fault_rate = (1.0 - ok_share).clamp(0.0, 1.0);
    match dial {
        Dial::Simulated(sim) => {
            let mut shaped = SimulatedTarget::clone(&sim);
            shaped.latency_ms = shaped.latency_ms.saturating_add(latency_ms);
            if let Some(status) = status {
                shaped.error_rate = 1.0 - (1.0 - shaped.error_rate) * (1.0 - fault_rate);
                shaped.error_status = status;
            }
            (Dial::Simulated(std::sync::Arc::new(shaped)), None)
        }
        Dial::Loopback(_) => {
            let fault = TargetFault {
                latency_ms,
                error_rate: fault_rate,
                error_status: status.unwrap_or(500),
                seen: std::sync::atomic::AtomicU64::new(0),
            };
            (dial, Some(fault))
        }
        Dial::Refused(_) => (dial, None),
    }
}

/// The outage fault that keeps new tasks out of `zone`, if any (placement's refusal reason).
pub fn zone_refusal(world: &World, zone: &str) -> Option<String> {
    world
        .faults
        .zone_down(zone)
        .map(|id| format!("availability zone {zone} is down (fault {id})"))
}

/// Availability zones an active outage has taken down.
pub fn zones_down(world: &World) -> Vec<String> {
    world
        .faults
        .active
        .iter()
        .filter_map(|(_, k)| match k {
            FaultKind::AzOutage { zone } => Some(zone.clone()),
            _ => None,
        })
        .collect()
}
