//! The routing snapshot: every load balancer of every world, its listeners, rules and the
//! target groups they forward to, built from ELBv2 state for the data plane.
//!
//! A snapshot is rebuilt only when something that affects routing changed since the last one
//! (handlers, health transitions, registration and draining set `routes_dirty`; the ECS side
//! calls [`mark_routes_changed`] when a task's reachability changes; an engine reset forces
//! one). Building reads the world and never changes it besides clearing the dirty flags; it
//! does no IO.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, AtomicU64};

use ecsim_api::elbv2 as api;
use ecsim_elb::{
    Algorithm, GroupRef, ListenerProtocol, ListenerRoutes, LoadBalancerKind as RouteKind, LoadBalancerRoutes,
    RouteHealth, RoutingSnapshot, RuleRoutes, Stickiness, TargetGroupRoutes, TargetProtocol, TargetRoute,
};

use super::actions;
use super::attributes;
use super::common::fnv1a;
use super::state::{LoadBalancerKind, LoadBalancerRecord, TargetGroupRecord, TargetState};
use crate::engine::Engine;
use crate::world::World;

/// What the engine remembers between publications.
#[derive(Debug, Default)]
pub struct RoutingPublication {
    /// Version of the last snapshot handed out.
    pub version: u64,
    /// Publish on the next call even if no world is dirty (after a reset).
    pub force: bool,
    /// The last snapshot built.
    pub latest: Option<Arc<RoutingSnapshot>>,
    /// Whether `latest` has not been handed to the data plane yet.
    pub unpublished: bool,
}

impl RoutingPublication {
    /// The next call publishes a snapshot whatever the worlds say.
    pub fn invalidate(&mut self) {
        self.force = true;
    }
}

/// Something that changes where traffic may go changed in this world (for the ECS side: a
/// task's published port or simulated behaviour changed).
pub fn mark_routes_changed(world: &mut World) {
    world.elbv2.routes_dirty = true;
}

impl Engine {
    /// A freshly built routing snapshot when anything that affects routing changed since the
    /// last call, `None` otherwise.
    pub fn take_routing_snapshot(&mut self) -> Option<Arc<RoutingSnapshot>> {
        let latest = self.current_routes();
        let (_, publication) = self.routing_parts();
        std::mem::take(&mut publication.unpublished).then_some(latest)
    }

    /// The routing snapshot as of now, rebuilt when something changed since the last one (the
    /// simulated traffic routes through it; the next `take_routing_snapshot` hands it out).
    pub(crate) fn current_routes(&mut self) -> Arc<RoutingSnapshot> {
        let seed = self.config().seed;
        let (worlds, publication) = self.routing_parts();
        let stale = publication.force || worlds.iter().any(|w| w.elbv2.routes_dirty);
        if let Some(latest) = publication.latest.as_ref().filter(|_| !stale) {
            return latest.clone();
        }
        publication.force = false;
        publication.version += 1;
        for w in worlds.iter_mut() {
            w.elbv2.routes_dirty = false;
        }
        let built = Arc::new(build(worlds, seed, publication.version));
        // Simulated traffic and the proxy share the snapshot: an unchanged weighted split keeps
        // its place rather than starting its schedule over at every routing change.
        if let Some(previous) = &publication.latest {
            ecsim_elb::carry_schedule_positions(previous, &built);
        }
        publication.latest = Some(built.clone());
        publication.unpublished = true;
        built
    }
}

/// The snapshot of `worlds` (in world order, load balancers in creation order, listeners by
/// port, rules by priority). `seed` is the engine's seed; each group's `weighted_random` seed
/// derives from it and the group's ARN.
pub fn build(worlds: &[World], seed: u64, version: u64) -> RoutingSnapshot {
    let mut groups = Groups {
        seed,
        routes: Vec::new(),
        index: BTreeMap::new(),
    };
    let mut load_balancers = Vec::new();
    for world in worlds {
        let state = &world.elbv2;
        let mut lbs: Vec<&LoadBalancerRecord> = state.load_balancers.values().collect();
        lbs.sort_by_key(|lb| lb.seq);
        for lb in lbs {
            let mut listeners = Vec::new();
            for l in state.listeners_of(&lb.arn) {
                let mut group_ref = |arn: &str| groups.group_ref(world, arn);
                let rules = state
                    .rules_of(&l.arn)
                    .map(|r| RuleRoutes {
                        arn: r.arn.clone(),
                        priority: r.priority,
                        conditions: r.conditions.clone(),
                        actions: actions::to_route(&r.action, &mut group_ref),
                    })
                    .collect();
                let default_actions = actions::to_route(&l.default_action, &mut group_ref);
                listeners.push(ListenerRoutes {
                    arn: l.arn.clone(),
                    port: l.port,
                    protocol: match l.protocol {
                        api::ProtocolEnum::Https => ListenerProtocol::Https,
                        api::ProtocolEnum::Tcp => ListenerProtocol::Tcp,
                        _ => ListenerProtocol::Http,
                    },
                    rules,
                    default_actions,
                });
            }
            load_balancers.push(LoadBalancerRoutes {
                arn: lb.arn.clone(),
                name: lb.name.clone(),
                dns_name: lb.dns_name.clone(),
                metric_dimension: lb.metric_dimension(),
                kind: match lb.kind {
                    LoadBalancerKind::Application => RouteKind::Application,
                    LoadBalancerKind::Network => RouteKind::Network,
                },
                idle_timeout_ms: attributes::idle_timeout_ms(lb),
                listeners,
            });
        }
    }
    RoutingSnapshot {
        version,
        load_balancers,
        target_groups: groups.routes,
    }
}

/// The target groups of a snapshot under construction, deduplicated by ARN.
struct Groups {
    seed: u64,
    routes: Vec<TargetGroupRoutes>,
    index: BTreeMap<String, GroupRef>,
}

impl Groups {
    fn group_ref(&mut self, world: &World, arn: &str) -> GroupRef {
        if let Some(&i) = self.index.get(arn) {
            return i;
        }
        let route = match world.elbv2.target_groups.get(arn) {
            Some(tg) => group_routes(world, tg, self.seed),
            // Cannot happen (a group in use cannot be deleted); route to nothing rather than panic.
            None => TargetGroupRoutes {
                arn: arn.to_string(),
                metric_dimension: String::new(),
                load_balancer_dimensions: Vec::new(),
                target_protocol: TargetProtocol::Http,
                algorithm: Algorithm::RoundRobin,
                stickiness: None,
                min_healthy_targets: 1,
                targets: Vec::new(),
                next: AtomicU64::new(0),
                seed: self.seed ^ fnv1a(arn),
            },
        };
        self.routes.push(route);
        let i = self.routes.len() - 1;
        self.index.insert(arn.to_string(), i);
        i
    }
}

fn group_routes(world: &World, tg: &TargetGroupRecord, seed: u64) -> TargetGroupRoutes {
    let attrs = attributes::target_group_attributes(tg);
    let attr = |key: &str| {
        attrs
            .iter()
            .find(|(k, _)| k == key)
            .map_or("", |(_, v)| v.as_str())
    };
    let seconds = |key: &str, default: u32| attr(key).parse::<u32>().unwrap_or(default);
    let stickiness = if attr("stickiness.enabled") == "true" {
        match attr("stickiness.type") {
            "lb_cookie" => Some(Stickiness::LbCookie {
                duration_s: seconds("stickiness.lb_cookie.duration_seconds", 86_400),
            }),
            "app_cookie" => Some(Stickiness::AppCookie {
                cookie_name: attr("stickiness.app_cookie.cookie_name").to_string(),
                duration_s: seconds("stickiness.app_cookie.duration_seconds", 86_400),
            }),
            _ => None,
        }
    } else {
        None
    };
    let algorithm = match attr("load_balancing.algorithm.type") {
        "least_outstanding_requests" => Algorithm::LeastOutstandingRequests,
        "weighted_random" => Algorithm::WeightedRandom,
        _ => Algorithm::RoundRobin,
    };
    let load_balancer_dimensions = tg
        .load_balancer_arns
        .iter()
        .filter_map(|arn| world.elbv2.load_balancers.get(arn))
        .map(LoadBalancerRecord::metric_dimension)
        .collect();
    let mut targets: Vec<_> = tg
        .targets
        .values()
        .filter_map(|t| {
            let health = match t.state {
                TargetState::Initial => RouteHealth::Initial,
                TargetState::Healthy => RouteHealth::Healthy,
                TargetState::Unhealthy => RouteHealth::Unhealthy,
                TargetState::Draining | TargetState::Unused => return None,
            };
            Some((t.seq, t, health))
        })
        .collect();
    targets.sort_by_key(|(seq, _, _)| *seq);
    let targets = targets
        .into_iter()
        .map(|(_, t, health)| {
            let target_type = tg.target_type.as_str();
            let dial = crate::ecs::load_balancing::resolve_dial(world, target_type, &t.id, t.port);
            // Injected faults (latency, error rates, AZ outages) shape what the data plane does.
            let (dial, fault) = crate::faults::shape_dial(world, &tg.arn, target_type, &t.id, t.port, dial);
            TargetRoute {
                id: t.id.clone(),
                port: t.port,
                availability_zone: t.availability_zone.clone().unwrap_or_else(|| "all".into()),
                health,
                dial,
                outstanding: AtomicU32::new(0),
                fault,
            }
        })
        .collect();
    TargetGroupRoutes {
        arn: tg.arn.clone(),
        metric_dimension: tg.metric_dimension(),
        load_balancer_dimensions,
        target_protocol: match tg.protocol {
            api::ProtocolEnum::Https => TargetProtocol::Https,
            api::ProtocolEnum::Tcp => TargetProtocol::Tcp,
            _ => TargetProtocol::Http,
        },
        algorithm,
        stickiness,
        min_healthy_targets: attributes::min_healthy_targets(tg),
        targets,
        next: AtomicU64::new(0),
        seed: seed ^ fnv1a(&tg.arn),
    }
}
