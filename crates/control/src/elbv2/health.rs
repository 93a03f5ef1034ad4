//! Target health: when targets are probed, what a probe result means, and the state machine
//! initial → healthy/unhealthy with AWS's thresholds and reason codes.
//!
//! A target is probed at registration (a timer due now) and then every
//! `HealthCheckIntervalSeconds` while it is registered, not draining, and its group is used by
//! a load balancer. Simulated tasks answer at once (`ecs::load_balancing::simulated_probe`);
//! loopback targets are probed by the data plane through `ProbeRequest`s, whose results come
//! back through `Engine::observe_probe`; anything else fails with the reason the dial was
//! refused. This module never performs IO and never reads a clock.
//!
//! Every state change marks the routes changed and calls
//! `ecs::load_balancing::target_health_changed`.

use ecsim_api::elbv2 as api;
use ecsim_core::Millis;
use ecsim_elb::{Dial, ProbeKey, ProbeOutcome, ProbeRequest, ProbeResult};

use super::Elbv2Timer;
use super::state::{InFlightProbe, TargetRecord, TargetState};
use crate::engine::Ctx;
use crate::world::World;

pub const REGISTRATION_IN_PROGRESS: &str = "Target registration is in progress";
pub const INITIAL_HEALTH_CHECKING: &str = "Initial health checks in progress";
pub const NOT_IN_USE: &str = "Target group is not configured to receive traffic from the load balancer";
pub const NOT_REGISTERED: &str = "Target is not registered to the target group";
pub const DRAINING: &str = "Target deregistration is in progress";
pub const TIMED_OUT: &str = "Request timed out";
pub const FAILED: &str = "Health checks failed";

/// Parses a `Matcher.HttpCode`: `200`, `200,202`, `200-299` (and lists of ranges), each code
/// within `min..=max`. `None` when malformed.
pub fn parse_matcher(s: &str, min: u16, max: u16) -> Option<Vec<(u16, u16)>> {
    let in_range = |c: u16| (min..=max).contains(&c);
    let mut out = Vec::new();
    for part in s.split(',') {
        let part = part.trim();
        let (lo, hi) = match part.split_once('-') {
            Some((a, b)) => (a.trim().parse::<u16>().ok()?, b.trim().parse::<u16>().ok()?),
            None => {
                let c = part.parse::<u16>().ok()?;
                (c, c)
            }
        };
        if lo > hi || !in_range(lo) || !in_range(hi) {
            return None;
        }
        out.push((lo, hi));
    }
    (!out.is_empty()).then_some(out)
}

/// Whether `code` is a success for `matcher` (a malformed matcher accepts 200 only).
pub fn matcher_accepts(matcher: &str, code: u16) -> bool {
    parse_matcher(matcher, 100, 599)
        .unwrap_or_else(|| vec![(200, 200)])
        .iter()
        .any(|(lo, hi)| (*lo..=*hi).contains(&code))
}

/// What one health check concluded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    Pass,
    Fail {
        reason: api::TargetHealthReasonEnum,
        description: String,
    },
}

fn fail(reason: api::TargetHealthReasonEnum, description: impl Into<String>) -> Verdict {
    Verdict::Fail {
        reason,
        description: description.into(),
    }
}

/// The verdict on what a probe saw, given the check's protocol and matcher.
pub fn verdict(outcome: &ProbeOutcome, tcp_check: bool, matcher: Option<&str>) -> Verdict {
    match outcome {
        // A TCP check only needs the connection: any answer passes.
        ProbeOutcome::Status(_) if tcp_check => Verdict::Pass,
        ProbeOutcome::Status(code) if matcher_accepts(matcher.unwrap_or("200"), *code) => Verdict::Pass,
        ProbeOutcome::Status(code) => fail(
            api::TargetHealthReasonEnum::TargetResponseCodeMismatch,
            format!("Health checks failed with these codes: [{code}]"),
        ),
        ProbeOutcome::Timeout => fail(api::TargetHealthReasonEnum::TargetTimeout, TIMED_OUT),
        ProbeOutcome::Failed(_) => fail(api::TargetHealthReasonEnum::TargetFailedHealthChecks, FAILED),
    }
}

fn key(id: &str, port: u16) -> (String, u16) {
    (id.to_string(), port)
}

fn drop_queued(world: &mut World, tg_arn: &str, id: &str, port: u16) {
    world.elbv2.probe_queue.retain(|p| {
        !(p.key.target_group_arn == tg_arn && p.key.target_id == id && p.key.target_port == port)
    });
}

/// Sets a target back to `initial` (registration in progress) and schedules a check now.
fn reset_to_initial(
    world: &mut World,
    ctx: &mut Ctx<'_>,
    tg_arn: &str,
    id: &str,
    port: u16,
) -> Option<TargetState> {
    let target = world
        .elbv2
        .target_groups
        .get_mut(tg_arn)?
        .targets
        .get_mut(&key(id, port))?;
    let before = target.state;
    target.state = TargetState::Initial;
    target.reason = Some(api::TargetHealthReasonEnum::ElbRegistrationInProgress);
    target.description = Some(REGISTRATION_IN_PROGRESS.into());
    target.passes = 0;
    target.failures = 0;
    target.in_flight = None;
    target.drain_until_ms = None;
    target.generation += 1;
    let generation = target.generation;
    drop_queued(world, tg_arn, id, port);
    world.elbv2.routes_dirty = true;
    super::schedule(
        ctx,
        ctx.now_ms,
        Elbv2Timer::HealthCheck {
            target_group_arn: tg_arn.to_string(),
            id: id.to_string(),
            port,
            generation,
        },
    );
    Some(before)
}

/// Starts health checks of a newly registered target of a group in use.
pub fn start_probing(world: &mut World, ctx: &mut Ctx<'_>, tg_arn: &str, id: &str, port: u16) {
    reset_to_initial(world, ctx, tg_arn, id, port);
}

/// A draining target registered again: it starts over as `initial` (or `unused` when no load
/// balancer uses its group).
pub fn restart(world: &mut World, ctx: &mut Ctx<'_>, tg_arn: &str, id: &str, port: u16) {
    let in_use = world
        .elbv2
        .target_groups
        .get(tg_arn)
        .is_some_and(|tg| tg.in_use());
    if in_use {
        reset_to_initial(world, ctx, tg_arn, id, port);
    } else if let Some(t) = world
        .elbv2
        .target_groups
        .get_mut(tg_arn)
        .and_then(|tg| tg.targets.get_mut(&key(id, port)))
    {
        set_unused(t);
    }
    crate::ecs::load_balancing::target_health_changed(world, ctx, tg_arn, id, port);
}

fn set_unused(t: &mut TargetRecord) {
    t.state = TargetState::Unused;
    t.reason = Some(api::TargetHealthReasonEnum::TargetNotInUse);
    t.description = Some(NOT_IN_USE.into());
    t.passes = 0;
    t.failures = 0;
    t.in_flight = None;
    t.drain_until_ms = None;
    t.generation += 1;
}

/// A group started (`in_use`) or stopped being forwarded to by any load balancer: its targets
/// start health checks from `initial`, or become `unused` (draining ones keep draining).
pub fn group_use_changed(world: &mut World, ctx: &mut Ctx<'_>, tg_arn: &str, in_use: bool) {
    let Some(tg) = world.elbv2.target_groups.get(tg_arn) else {
        return;
    };
    let mut targets: Vec<&TargetRecord> = tg.targets.values().collect();
    targets.sort_by_key(|t| t.seq);
    let affected: Vec<(String, u16)> = targets
        .into_iter()
        .filter(|t| {
            if in_use {
                t.state == TargetState::Unused
            } else {
                t.state.probed()
            }
        })
        .map(|t| (t.id.clone(), t.port))
        .collect();
    for (id, port) in affected {
        if in_use {
            reset_to_initial(world, ctx, tg_arn, &id, port);
        } else {
            if let Some(t) = world
                .elbv2
                .target_groups
                .get_mut(tg_arn)
                .and_then(|tg| tg.targets.get_mut(&key(&id, port)))
            {
                set_unused(t);
            }
            drop_queued(world, tg_arn, &id, port);
        }
        world.elbv2.routes_dirty = true;
        crate::ecs::load_balancing::target_health_changed(world, ctx, tg_arn, &id, port);
    }
}

/// A health-check timer of a target fired: probe it (or queue a probe for the data plane) and
/// schedule the next check.
pub fn on_check_due(
    world: &mut World,
    ctx: &mut Ctx<'_>,
    tg_arn: &str,
    id: &str,
    port: u16,
    generation: u64,
) {
    let Some(tg) = world.elbv2.target_groups.get(tg_arn) else {
        return;
    };
    let Some(target) = tg.targets.get(&key(id, port)) else {
        return;
    };
    if target.generation != generation || !target.state.probed() || !tg.in_use() {
        return;
    }
    let hc = tg.health_check.clone();
    let target_type = tg.target_type.as_str();
    let interval_ms = Millis::from(hc.interval_s) * 1_000;
    let timeout_ms = Millis::from(hc.timeout_s) * 1_000;
    let now = ctx.now_ms;
    super::schedule(
        ctx,
        now + interval_ms,
        Elbv2Timer::HealthCheck {
            target_group_arn: tg_arn.to_string(),
            id: id.to_string(),
            port,
            generation,
        },
    );
    // A probe whose result never came back is given up after its timeout plus one interval.
    if let Some(f) = target.in_flight
        && now < f.queued_at_ms + timeout_ms + interval_ms
    {
        return;
    }
    let hc_port = hc.port.for_target(port);
    let tcp_check = hc.protocol == api::ProtocolEnum::Tcp;
    // An injected fault (failHealthChecks, an AZ outage) fails the check whatever the target
    // would answer; the thresholds still decide when the state changes.
    if let Some(description) = crate::faults::health_failure(world, tg_arn, target_type, id, port) {
        let v = fail(api::TargetHealthReasonEnum::TargetFailedHealthChecks, description);
        apply(world, ctx, tg_arn, id, port, v);
        return;
    }
    if let Some(outcome) = crate::ecs::load_balancing::simulated_probe(world, target_type, id, hc_port, now) {
        let v = verdict(&outcome, tcp_check, hc.matcher.as_deref());
        apply(world, ctx, tg_arn, id, port, v);
        return;
    }
    match crate::ecs::load_balancing::resolve_dial(world, target_type, id, hc_port) {
        Dial::Loopback(address) => {
            let Some(target) = world
                .elbv2
                .target_groups
                .get_mut(tg_arn)
                .and_then(|tg| tg.targets.get_mut(&key(id, port)))
            else {
                return;
            };
            target.probe_sequence += 1;
            let sequence = target.probe_sequence;
            target.in_flight = Some(InFlightProbe {
                sequence,
                queued_at_ms: now,
            });
            drop_queued(world, tg_arn, id, port);
            world.elbv2.probe_queue.push(ProbeRequest {
                key: ProbeKey {
                    world: ctx.world_index,
                    target_group_arn: tg_arn.to_string(),
                    target_id: id.to_string(),
                    target_port: port,
                    sequence,
                },
                address,
                https: hc.protocol == api::ProtocolEnum::Https,
                path: hc.path.clone().unwrap_or_else(|| "/".into()),
                timeout_ms,
            });
        }
        Dial::Refused(description) => {
            let v = fail(api::TargetHealthReasonEnum::TargetFailedHealthChecks, description);
            apply(world, ctx, tg_arn, id, port, v);
        }
        Dial::Simulated(_) => {
            // A simulated task always answers through `simulated_probe`; one that did not is
            // not listening.
            let v = fail(
                api::TargetHealthReasonEnum::TargetFailedHealthChecks,
                "The simulated target did not answer the health check",
            );
            apply(world, ctx, tg_arn, id, port, v);
        }
    }
}

/// The data plane reports a probe: stale or unknown results are ignored.
pub fn on_probe_result(world: &mut World, ctx: &mut Ctx<'_>, result: ProbeResult) {
    let k = &result.key;
    let Some(tg) = world.elbv2.target_groups.get_mut(&k.target_group_arn) else {
        return;
    };
    let hc = tg.health_check.clone();
    let in_use = tg.in_use();
    let target_type = tg.target_type.as_str();
    let Some(target) = tg.targets.get_mut(&key(&k.target_id, k.target_port)) else {
        return;
    };
    if target.in_flight.map(|f| f.sequence) != Some(k.sequence) {
        return;
    }
    target.in_flight = None;
    if !target.state.probed() || !in_use {
        return;
    }
    // A probe that was in flight when a fault began: the fault wins over what the target said.
    let faulted = crate::faults::health_failure(
        world,
        &k.target_group_arn,
        target_type,
        &k.target_id,
        k.target_port,
    );
    let v = match faulted {
        Some(description) => fail(api::TargetHealthReasonEnum::TargetFailedHealthChecks, description),
        None => verdict(
            &result.outcome,
            hc.protocol == api::ProtocolEnum::Tcp,
            hc.matcher.as_deref(),
        ),
    };
    apply(world, ctx, &k.target_group_arn, &k.target_id, k.target_port, v);
}

/// Applies one check's verdict: counts consecutive passes and failures and moves the state by
/// the group's thresholds.
pub fn apply(world: &mut World, ctx: &mut Ctx<'_>, tg_arn: &str, id: &str, port: u16, verdict: Verdict) {
    let Some(tg) = world.elbv2.target_groups.get_mut(tg_arn) else {
        return;
    };
    let (healthy_threshold, unhealthy_threshold) = (
        tg.health_check.healthy_threshold,
        tg.health_check.unhealthy_threshold,
    );
    let Some(t) = tg.targets.get_mut(&key(id, port)) else {
        return;
    };
    if !t.state.probed() {
        return;
    }
    let before = t.state;
    match verdict {
        Verdict::Pass => {
            t.passes += 1;
            t.failures = 0;
            match t.state {
                TargetState::Initial | TargetState::Unhealthy if t.passes >= healthy_threshold => {
                    t.state = TargetState::Healthy;
                    t.reason = None;
                    t.description = None;
                }
                TargetState::Initial => {
                    t.reason = Some(api::TargetHealthReasonEnum::ElbInitialHealthChecking);
                    t.description = Some(INITIAL_HEALTH_CHECKING.into());
                }
                _ => {}
            }
        }
        Verdict::Fail { reason, description } => {
            t.failures += 1;
            t.passes = 0;
            match t.state {
                TargetState::Initial | TargetState::Healthy if t.failures >= unhealthy_threshold => {
                    t.state = TargetState::Unhealthy;
                    t.reason = Some(reason);
                    t.description = Some(description);
                }
                TargetState::Initial => {
                    t.reason = Some(api::TargetHealthReasonEnum::ElbInitialHealthChecking);
                    t.description = Some(INITIAL_HEALTH_CHECKING.into());
                }
                TargetState::Unhealthy => {
                    t.reason = Some(reason);
                    t.description = Some(description);
                }
                _ => {}
            }
        }
    }
    if t.state != before {
        world.elbv2.routes_dirty = true;
        crate::ecs::load_balancing::target_health_changed(world, ctx, tg_arn, id, port);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matchers() {
        assert_eq!(parse_matcher("200", 200, 499), Some(vec![(200, 200)]));
        assert_eq!(
            parse_matcher("200,202", 200, 499),
            Some(vec![(200, 200), (202, 202)])
        );
        assert_eq!(parse_matcher("200-299", 200, 499), Some(vec![(200, 299)]));
        assert_eq!(
            parse_matcher("200-299,404", 200, 499),
            Some(vec![(200, 299), (404, 404)])
        );
        assert_eq!(parse_matcher("500", 200, 499), None);
        assert_eq!(parse_matcher("299-200", 200, 499), None);
        assert_eq!(parse_matcher("", 200, 499), None);
        assert_eq!(parse_matcher("2xx", 200, 499), None);
        assert!(matcher_accepts("200-299", 204));
        assert!(!matcher_accepts("200,202", 201));
    }

    #[test]
    fn verdicts() {
        assert_eq!(
            verdict(&ProbeOutcome::Status(200), false, Some("200")),
            Verdict::Pass
        );
        assert_eq!(
            verdict(&ProbeOutcome::Status(500), false, Some("200")),
            fail(
                api::TargetHealthReasonEnum::TargetResponseCodeMismatch,
                "Health checks failed with these codes: [500]"
            )
        );
        assert_eq!(verdict(&ProbeOutcome::Status(500), true, None), Verdict::Pass);
        assert_eq!(
            verdict(&ProbeOutcome::Timeout, false, Some("200")),
            fail(api::TargetHealthReasonEnum::TargetTimeout, TIMED_OUT)
        );
        assert_eq!(
            verdict(&ProbeOutcome::Failed("reset".into()), false, Some("200")),
            fail(api::TargetHealthReasonEnum::TargetFailedHealthChecks, FAILED)
        );
    }
}
