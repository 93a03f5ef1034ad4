//! Listener rules: CreateRule, DescribeRules, ModifyRule, DeleteRule and SetRulePriorities.
//!
//! Priorities are 1–50000 and unique per listener (`PriorityInUse`). Every listener has a
//! default rule (priority `default`, `IsDefault` true) whose action is the listener's default
//! action; it cannot be deleted or reprioritised, and only its actions can be modified.
//! Rule transforms (URL and host rewrites) are refused: the data plane does not rewrite.

use std::collections::BTreeMap;

use ecsim_api::elbv2 as api;

use super::common::{
    R, error, listener_not_found, new_id, paginate, rule_not_found, unsupported, validation,
};
use super::state::{ActionRecord, ListenerRecord, LoadBalancerKind, RuleRecord};
use super::{actions, conditions, tags, usage};
use crate::engine::Ctx;
use crate::world::World;

/// Rules (besides default rules) one application load balancer may have.
pub const MAX_RULES_PER_LOAD_BALANCER: usize = 100;

pub fn render(r: &RuleRecord) -> api::Rule {
    api::Rule {
        rule_arn: Some(r.arn.clone()),
        priority: Some(r.priority.to_string()),
        conditions: Some(r.conditions.iter().map(conditions::render).collect()),
        actions: Some(vec![actions::render(&r.action)]),
        is_default: Some(false),
        transforms: None,
    }
}

pub fn render_default(l: &ListenerRecord) -> api::Rule {
    api::Rule {
        rule_arn: Some(l.default_rule_arn.clone()),
        priority: Some("default".into()),
        conditions: Some(Vec::new()),
        actions: Some(vec![actions::render(&l.default_action)]),
        is_default: Some(true),
        transforms: None,
    }
}

fn check_priority(priority: i32) -> R<u32> {
    u32::try_from(priority)
        .ok()
        .filter(|p| (1..=50_000).contains(p))
        .ok_or_else(|| validation(format!("Priority '{priority}' must be from 1 to 50000")))
}

fn priority_in_use(priority: u32) -> ecsim_protocol::AwsError {
    error(
        "PriorityInUse",
        format!("Priority '{priority}' is currently in use"),
    )
}

fn check_transforms(transforms: Option<&Vec<api::RuleTransform>>) -> R<()> {
    if transforms.is_some_and(|t| !t.is_empty()) {
        return Err(unsupported("rule transforms (host header and URL rewrites)"));
    }
    Ok(())
}

/// The action of a rule on `listener`, checked.
fn parse_action(world: &World, listener: &ListenerRecord, actions: Vec<api::Action>) -> R<ActionRecord> {
    let lb = world
        .elbv2
        .load_balancers
        .get(&listener.load_balancer_arn)
        .ok_or_else(|| listener_not_found(&listener.arn))?;
    actions::parse(&world.elbv2, lb, listener.protocol, actions)
}

pub fn create(world: &mut World, ctx: &mut Ctx<'_>, input: api::CreateRuleInput) -> R<api::CreateRuleOutput> {
    let (listener, lb) = world
        .elbv2
        .listener_with_load_balancer(&input.listener_arn)
        .ok_or_else(|| listener_not_found(&input.listener_arn))?;
    if lb.kind != LoadBalancerKind::Application {
        return Err(validation(
            "Rules can only be created on listeners of Application Load Balancers",
        ));
    }
    let priority = check_priority(input.priority)?;
    check_transforms(input.transforms.as_ref())?;
    let conditions = conditions::parse(input.conditions)?;
    let action = parse_action(world, listener, input.actions)?;
    let tags = tags::new_tags(input.tags)?;
    if world
        .elbv2
        .rules_of(&input.listener_arn)
        .any(|r| r.priority == priority)
    {
        return Err(priority_in_use(priority));
    }
    let lb_rules = world
        .elbv2
        .rules
        .values()
        .filter(|r| {
            world
                .elbv2
                .listeners
                .get(&r.listener_arn)
                .is_some_and(|l| l.load_balancer_arn == lb.arn)
        })
        .count();
    if lb_rules >= MAX_RULES_PER_LOAD_BALANCER {
        return Err(error(
            "TooManyRules",
            format!(
                "A load balancer can have at most {MAX_RULES_PER_LOAD_BALANCER} rules besides its default rules"
            ),
        ));
    }
    let prefix = format!(
        "listener-rule/{}/{}/{}/{}",
        lb.kind.segment(),
        lb.name,
        lb.id,
        listener.id
    );
    let state = &world.elbv2;
    let id = new_id(ctx.rng, |id| {
        state.rules.values().any(|r| r.id == id)
            || state.listeners.values().any(|l| l.default_rule_arn.ends_with(id))
    });
    let arn = world.arn("elasticloadbalancing", &format!("{prefix}/{id}"));
    let seq = world.elbv2.seq();
    let record = RuleRecord {
        arn: arn.clone(),
        id,
        seq,
        listener_arn: input.listener_arn,
        priority,
        conditions,
        action,
        tags,
    };
    let out = render(&record);
    world.elbv2.rules.insert(arn, record);
    world.elbv2.routes_dirty = true;
    usage::refresh(world, ctx);
    Ok(api::CreateRuleOutput {
        rules: Some(vec![out]),
    })
}

/// Rules of a listener as DescribeRules lists them: by priority, the default rule last.
fn listener_rules(world: &World, listener: &ListenerRecord) -> Vec<api::Rule> {
    let mut out: Vec<api::Rule> = world.elbv2.rules_of(&listener.arn).map(render).collect();
    out.push(render_default(listener));
    out
}

pub fn describe(world: &World, input: api::DescribeRulesInput) -> R<api::DescribeRulesOutput> {
    let arns = input.rule_arns.unwrap_or_default();
    let rules: Vec<api::Rule> = match (&input.listener_arn, arns.is_empty()) {
        (Some(_), false) => {
            return Err(validation(
                "Rule ARNs and a listener ARN cannot be specified at the same time",
            ));
        }
        (Some(l), true) => {
            let listener = world
                .elbv2
                .listeners
                .get(l)
                .ok_or_else(|| listener_not_found(l))?;
            listener_rules(world, listener)
        }
        (None, false) => {
            let known = |a: &String| {
                world.elbv2.rules.contains_key(a) || world.elbv2.listener_by_default_rule(a).is_some()
            };
            if !arns.iter().all(known) {
                return Err(error("RuleNotFound", "One or more rules not found"));
            }
            let mut listeners: Vec<&ListenerRecord> = world.elbv2.listeners.values().collect();
            listeners.sort_by_key(|l| l.seq);
            listeners
                .into_iter()
                .flat_map(|l| listener_rules(world, l))
                .filter(|r| r.rule_arn.as_ref().is_some_and(|a| arns.contains(a)))
                .collect()
        }
        (None, true) => {
            return Err(validation("You must specify either rule ARNs or a listener ARN"));
        }
    };
    let (page, next_marker) = paginate(rules, input.marker.as_deref(), input.page_size)?;
    Ok(api::DescribeRulesOutput {
        rules: Some(page),
        next_marker,
    })
}

pub fn modify(world: &mut World, ctx: &mut Ctx<'_>, input: api::ModifyRuleInput) -> R<api::ModifyRuleOutput> {
    check_transforms(input.transforms.as_ref())?;
    if let Some(listener) = world.elbv2.listener_by_default_rule(&input.rule_arn) {
        if input.conditions.as_ref().is_some_and(|c| !c.is_empty()) {
            return Err(error(
                "OperationNotPermitted",
                "The conditions of a default rule cannot be modified",
            ));
        }
        let action = match input.actions {
            Some(a) => Some(parse_action(world, listener, a)?),
            None => None,
        };
        let listener_arn = listener.arn.clone();
        let listener = world
            .elbv2
            .listeners
            .get_mut(&listener_arn)
            .ok_or_else(|| rule_not_found(&input.rule_arn))?;
        if let Some(action) = action {
            listener.default_action = action;
        }
        let out = render_default(listener);
        world.elbv2.routes_dirty = true;
        usage::refresh(world, ctx);
        return Ok(api::ModifyRuleOutput {
            rules: Some(vec![out]),
        });
    }
    let rule = world
        .elbv2
        .rules
        .get(&input.rule_arn)
        .ok_or_else(|| rule_not_found(&input.rule_arn))?;
    let listener = world
        .elbv2
        .listeners
        .get(&rule.listener_arn)
        .ok_or_else(|| rule_not_found(&input.rule_arn))?;
    let conditions = match input.conditions {
        Some(c) => Some(conditions::parse(c)?),
        None => None,
    };
    let action = match input.actions {
        Some(a) => Some(parse_action(world, listener, a)?),
        None => None,
    };
    let rule = world
        .elbv2
        .rules
        .get_mut(&input.rule_arn)
        .ok_or_else(|| rule_not_found(&input.rule_arn))?;
    if let Some(c) = conditions {
        rule.conditions = c;
    }
    if let Some(a) = action {
        rule.action = a;
    }
    let out = render(rule);
    world.elbv2.routes_dirty = true;
    usage::refresh(world, ctx);
    Ok(api::ModifyRuleOutput {
        rules: Some(vec![out]),
    })
}

pub fn delete(world: &mut World, ctx: &mut Ctx<'_>, input: api::DeleteRuleInput) -> R<api::DeleteRuleOutput> {
    if world.elbv2.listener_by_default_rule(&input.rule_arn).is_some() {
        return Err(error(
            "OperationNotPermitted",
            format!("Default rule '{}' cannot be deleted", input.rule_arn),
        ));
    }
    if world.elbv2.rules.remove(&input.rule_arn).is_none() {
        return Err(rule_not_found(&input.rule_arn));
    }
    world.elbv2.routes_dirty = true;
    usage::refresh(world, ctx);
    Ok(api::DeleteRuleOutput {})
}

pub fn set_priorities(
    world: &mut World,
    input: api::SetRulePrioritiesInput,
) -> R<api::SetRulePrioritiesOutput> {
    if input.rule_priorities.is_empty() {
        return Err(validation("At least one rule priority must be specified"));
    }
    let mut changes: BTreeMap<String, u32> = BTreeMap::new();
    for pair in &input.rule_priorities {
        let arn = pair
            .rule_arn
            .clone()
            .ok_or_else(|| validation("A rule ARN must be specified for each rule priority"))?;
        if world.elbv2.listener_by_default_rule(&arn).is_some() {
            return Err(error(
                "OperationNotPermitted",
                format!("The priority of default rule '{arn}' cannot be changed"),
            ));
        }
        if !world.elbv2.rules.contains_key(&arn) {
            return Err(rule_not_found(&arn));
        }
        let priority = check_priority(
            pair.priority
                .ok_or_else(|| validation("A priority must be specified for each rule"))?,
        )?;
        if changes.insert(arn.clone(), priority).is_some() {
            return Err(validation(format!("Rule '{arn}' is specified more than once")));
        }
    }
    // The priorities every affected listener would end up with: no two rules may share one.
    let listeners: std::collections::BTreeSet<&String> = changes
        .keys()
        .filter_map(|arn| world.elbv2.rules.get(arn).map(|r| &r.listener_arn))
        .collect();
    for listener in listeners {
        let mut taken: BTreeMap<u32, &str> = BTreeMap::new();
        let mut rules: Vec<&RuleRecord> = world.elbv2.rules_of(listener).collect();
        // Changed rules first, so the error names a priority the caller asked for.
        rules.sort_by_key(|r| !changes.contains_key(&r.arn));
        for r in rules {
            let p = changes.get(&r.arn).copied().unwrap_or(r.priority);
            if taken.insert(p, &r.arn).is_some() {
                return Err(priority_in_use(p));
            }
        }
    }
    let mut out = Vec::new();
    for pair in &input.rule_priorities {
        let Some(arn) = &pair.rule_arn else { continue };
        if let (Some(priority), Some(r)) = (changes.get(arn), world.elbv2.rules.get_mut(arn)) {
            r.priority = *priority;
            out.push(render(r));
        }
    }
    world.elbv2.routes_dirty = true;
    Ok(api::SetRulePrioritiesOutput { rules: Some(out) })
}
