//! Which load balancers use which target groups, derived from listener default actions and rule
//! actions, and what happens to targets when a group starts or stops being used.
//!
//! `TargetGroupRecord::load_balancer_arns` is a cache of this relation; every handler that
//! changes listeners, rules or load balancers calls [`refresh`] afterwards. It must not decide
//! health itself: state changes go through `health`.

use std::collections::BTreeSet;

use super::health;
use super::state::Elbv2State;
use crate::engine::Ctx;
use crate::world::World;

/// Every (load balancer ARN, target group ARN) pair some listener or rule forwards along.
fn forwarding_pairs(state: &Elbv2State) -> BTreeSet<(String, String)> {
    let mut pairs = BTreeSet::new();
    for listener in state.listeners.values() {
        for tg in listener.default_action.kind.target_groups() {
            pairs.insert((listener.load_balancer_arn.clone(), tg.to_string()));
        }
    }
    for rule in state.rules.values() {
        let Some(listener) = state.listeners.get(&rule.listener_arn) else {
            continue;
        };
        for tg in rule.action.kind.target_groups() {
            pairs.insert((listener.load_balancer_arn.clone(), tg.to_string()));
        }
    }
    pairs
}

/// Whether any listener or rule forwards to the target group.
pub fn referenced(state: &Elbv2State, tg_arn: &str) -> bool {
    state
        .listeners
        .values()
        .any(|l| l.default_action.kind.target_groups().any(|t| t == tg_arn))
        || state
            .rules
            .values()
            .any(|r| r.action.kind.target_groups().any(|t| t == tg_arn))
}

/// Target groups the load balancer's listeners and rules forward to, in creation order.
pub fn target_groups_of(state: &Elbv2State, lb_arn: &str) -> Vec<String> {
    let mut groups: Vec<(u64, String)> = forwarding_pairs(state)
        .into_iter()
        .filter(|(lb, _)| lb == lb_arn)
        .filter_map(|(_, tg)| state.target_groups.get(&tg).map(|g| (g.seq, tg)))
        .collect();
    groups.sort();
    groups.into_iter().map(|(_, tg)| tg).collect()
}

/// Recomputes every group's load balancers; groups that start or stop being used move their
/// targets (unused ↔ initial) and the routes are marked changed.
pub fn refresh(world: &mut World, ctx: &mut Ctx<'_>) {
    let pairs = forwarding_pairs(&world.elbv2);
    let mut flipped = Vec::new();
    let state = &mut world.elbv2;
    let lb_seq = |arn: &str| state.load_balancers.get(arn).map_or(u64::MAX, |lb| lb.seq);
    let mut updates = Vec::new();
    for (arn, tg) in &state.target_groups {
        let mut lbs: Vec<String> = pairs
            .iter()
            .filter(|(_, t)| t == arn)
            .map(|(lb, _)| lb.clone())
            .collect();
        lbs.sort_by_key(|lb| (lb_seq(lb), lb.clone()));
        if lbs != tg.load_balancer_arns {
            updates.push((arn.clone(), lbs));
        }
    }
    for (arn, lbs) in updates {
        if let Some(tg) = state.target_groups.get_mut(&arn) {
            if tg.load_balancer_arns.is_empty() != lbs.is_empty() {
                flipped.push((arn.clone(), !lbs.is_empty()));
            }
            tg.load_balancer_arns = lbs;
            state.routes_dirty = true;
        }
    }
    for (arn, in_use) in flipped {
        health::group_use_changed(world, ctx, &arn, in_use);
    }
}
