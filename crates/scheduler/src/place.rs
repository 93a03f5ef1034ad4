//! The placement pipeline: filter instances, rank the survivors by the strategies in order, pick.
//!
//! Pure: a function of the request, an immutable snapshot and a seeded RNG. It never reads a
//! clock or OS randomness and never mutates the snapshot; it keeps a compact working copy of the
//! per-instance state that placing changes (CPU, memory, ports, group counts) so later picks of
//! one request see the earlier ones.
//!
//! Cost model: one O(instances) pass per request (filters, memberOf evaluation, spread value
//! interning); afterwards only the picked instance changes, so each pick re-checks just that
//! instance. When every attribute spread comes before the per-instance strategies (the common
//! `spread(AZ)` + `binpack` shape) instances are grouped into classes by their spread values and
//! each class keeps its instances ordered in a `BTreeSet`, so a pick costs O(classes + log n).
//! Other shapes fall back to a linear scan of the feasible instances per pick.

use std::cmp::Ordering;
use std::collections::{BTreeMap, BTreeSet};

use ecsim_core::Rng;

use crate::query::{Expr, InstanceView};
use crate::snapshot::{
    BinpackField, ClusterSnapshot, Constraint, InstanceSnapshot, PlacementRequest, SpreadField, Strategy,
    spread_field,
};

/// AWS failure reason codes (`failures[].reason`, service events).
pub mod reason {
    /// The instance is not ACTIVE (draining or deregistered).
    pub const INACTIVE: &str = "INACTIVE";
    /// The instance's agent is disconnected.
    pub const AGENT: &str = "AGENT";
    pub const CPU: &str = "RESOURCE:CPU";
    pub const MEMORY: &str = "RESOURCE:MEMORY";
    pub const PORTS: &str = "RESOURCE:PORTS";
    pub const DISTINCT_INSTANCE: &str = "DistinctInstance";
    pub const MEMBER_OF: &str = "MemberOf";
    /// The cluster has no container instances at all.
    pub const NO_INSTANCES: &str = "MISSING";
}

/// Filter stages in pipeline order; a later stage is a "closer" match.
const STAGES: [&str; 7] = [
    reason::INACTIVE,
    reason::AGENT,
    reason::CPU,
    reason::MEMORY,
    reason::PORTS,
    reason::DISTINCT_INSTANCE,
    reason::MEMBER_OF,
];

/// One placed task: the index into [`ClusterSnapshot::instances`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChosenInstance {
    pub instance_index: u32,
}

/// Why `tasks` tasks could not be placed.
///
/// Once one task cannot be placed nothing changes for the rest of the request, so all remaining
/// tasks share one failure record (`tasks` says how many it covers).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlacementFailure {
    /// How many tasks this failure covers.
    pub tasks: u32,
    /// The reason code of the closest matching instance (the one that got furthest through the
    /// filters; ties go to the earlier instance).
    pub reason: &'static str,
    pub closest_instance_index: Option<u32>,
    pub closest_instance_id: Option<String>,
    pub closest_instance_arn: Option<String>,
    /// How many instances each filter refused (every instance counted once, at its first failing
    /// filter).
    pub rejections: BTreeMap<&'static str, u32>,
}

/// The outcome: `chosen[k]` is where the k-th task goes.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Placement {
    pub chosen: Vec<ChosenInstance>,
    pub failures: Vec<PlacementFailure>,
}

impl Placement {
    /// Tasks that could not be placed.
    pub fn unplaced(&self) -> u32 {
        self.failures.iter().map(|f| f.tasks).sum()
    }
}

/// The service event AWS writes when a task cannot be placed.
pub fn unable_to_place_message(service: &str, failure: &PlacementFailure) -> String {
    const PREFIX: &str =
        "was unable to place a task because no container instance met all of its requirements.";
    const SUFFIX: &str =
        "For more information, see the Troubleshooting section of the Amazon ECS Developer Guide.";
    let Some(id) = failure.closest_instance_id.as_deref() else {
        return format!(
            "(service {service}) was unable to place a task. Reason: No Container Instances were found in your cluster."
        );
    };
    let detail = match failure.reason {
        reason::CPU => {
            format!("The closest matching (container-instance {id}) has insufficient CPU units available.")
        }
        reason::MEMORY => {
            format!("The closest matching (container-instance {id}) has insufficient memory available.")
        }
        reason::PORTS => {
            format!(
                "The closest matching (container-instance {id}) is already using a port required by your task."
            )
        }
        other => format!("The closest matching (container-instance {id}) encountered error \"{other}\"."),
    };
    format!("(service {service}) {PREFIX} {detail} {SUFFIX}")
}

/// Places `request.count` tasks onto `snapshot`; see the module docs.
pub fn place(request: &PlacementRequest, snapshot: &ClusterSnapshot, rng: &mut Rng) -> Placement {
    let mut out = Placement {
        chosen: Vec::with_capacity(request.count.min(1 << 20) as usize),
        failures: Vec::new(),
    };
    if request.count == 0 {
        return out;
    }
    if snapshot.instances.is_empty() {
        out.failures.push(PlacementFailure {
            tasks: request.count,
            reason: reason::NO_INSTANCES,
            closest_instance_index: None,
            closest_instance_id: None,
            closest_instance_arn: None,
            rejections: BTreeMap::new(),
        });
        return out;
    }
    let mut work = Work::new(request, snapshot);
    for placed in 0..request.count {
        match work.pick(rng) {
            Some(i) => {
                work.commit(i);
                out.chosen.push(ChosenInstance { instance_index: i });
            }
            None => {
                out.failures.push(work.failure(request.count - placed));
                break;
            }
        }
    }
    out
}

/// A per-instance ranking component; lower is better for all of them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// Group tasks on instances sharing this instance's value of spread slot `s`.
    SpreadAttr(usize),
    /// Group tasks on this instance.
    SpreadInstance,
    BinpackCpu,
    BinpackMemory,
}

/// A request scans instead of indexing when `count * SCAN_FACTOR < feasible instances`.
const SCAN_FACTOR: usize = 32;

/// Interns attribute values: a linear search while there are few distinct values (the common
/// case: availability zones, instance types), an ordered map beyond that.
#[derive(Default)]
struct Interner<'a> {
    values: Vec<Option<&'a str>>,
    index: BTreeMap<Option<&'a str>, u32>,
}

impl<'a> Interner<'a> {
    const LINEAR: usize = 16;

    fn id(&mut self, v: Option<&'a str>) -> u32 {
        if self.values.len() <= Self::LINEAR {
            if let Some(pos) = self.values.iter().position(|x| *x == v) {
                return pos as u32;
            }
        } else if let Some(&id) = self.index.get(&v) {
            return id;
        }
        let id = self.values.len() as u32;
        self.values.push(v);
        if self.values.len() > Self::LINEAR {
            if self.index.is_empty() {
                self.index = self
                    .values
                    .iter()
                    .enumerate()
                    .map(|(i, x)| (*x, i as u32))
                    .collect();
            } else {
                self.index.insert(v, id);
            }
        }
        id
    }
}

/// Per-instance keys kept in the class sets (at most this many per-instance strategies).
const INNER: usize = 4;
type Key = [i64; INNER];

fn tied_range(set: &BTreeSet<(Key, u32)>, key: Key) -> impl Iterator<Item = &(Key, u32)> + '_ {
    set.range((key, 0)..=(key, u32::MAX))
}

/// Instances grouped by their tuple of spread values, each group ordered by its per-instance key.
struct Classes {
    /// Number of attribute-spread slots (they form the strategy prefix).
    slots: usize,
    inner: Vec<Kind>,
    class_of: Vec<u32>,
    /// `values[c * slots + s]`: the value id of class `c` in slot `s`.
    values: Vec<u32>,
    sets: Vec<BTreeSet<(Key, u32)>>,
}

enum Mode {
    Fast(Classes),
    /// Feasible instances in index order and a scratch buffer for random ties.
    Scan {
        alive: Vec<u32>,
        ties: Vec<u32>,
    },
}

struct Work<'a> {
    req: &'a PlacementRequest,
    instances: &'a [InstanceSnapshot],
    distinct: bool,
    member_of: Vec<(&'a Expr, bool)>,
    cpu: Vec<i64>,
    memory: Vec<i64>,
    group_count: Vec<u32>,
    added: Vec<u32>,
    ports_taken: Vec<bool>,
    kinds: Vec<Kind>,
    random: bool,
    /// `value_ids[s][i]`, `counts[s][value]` per attribute-spread slot.
    value_ids: Vec<Vec<u32>>,
    counts: Vec<Vec<i64>>,
    rejections: [u32; STAGES.len()],
    closest: Option<(usize, u32)>,
    mode: Mode,
}

/// An instance as the query language sees it mid-request: the snapshot plus this request's tasks.
struct Overlay<'a> {
    inst: &'a InstanceSnapshot,
    group: &'a str,
    added: u32,
}

impl InstanceView for Overlay<'_> {
    fn attribute(&self, name: &str) -> Option<Option<&str>> {
        self.inst.attribute(name)
    }
    fn ec2_instance_id(&self) -> &str {
        &self.inst.ec2_instance_id
    }
    fn agent_connected(&self) -> bool {
        self.inst.agent_connected
    }
    fn agent_version(&self) -> &str {
        &self.inst.agent_version
    }
    fn registered_at_ms(&self) -> u64 {
        self.inst.registered_at_ms
    }
    fn running_tasks_count(&self) -> u32 {
        self.inst.running_tasks.saturating_add(self.added)
    }
    fn any_task_group(&self, pred: &mut dyn FnMut(&str) -> bool) -> bool {
        let mut seen = false;
        let hit = self.inst.running_task_groups.iter().any(|(g, n)| {
            let mine = g == self.group;
            seen |= mine;
            let n = if mine { n.saturating_add(self.added) } else { *n };
            n > 0 && pred(g)
        });
        hit || (!seen && self.added > 0 && pred(self.group))
    }
}

impl<'a> Work<'a> {
    fn new(req: &'a PlacementRequest, snap: &'a ClusterSnapshot) -> Self {
        let instances = &snap.instances[..];
        let n = instances.len();
        let mut kinds = Vec::new();
        let mut random = false;
        let mut slot_names: Vec<&str> = Vec::new();
        for s in &req.strategies {
            match s {
                Strategy::Random => {
                    random = true;
                    break;
                }
                Strategy::Binpack(BinpackField::Cpu) => kinds.push(Kind::BinpackCpu),
                Strategy::Binpack(BinpackField::Memory) => kinds.push(Kind::BinpackMemory),
                Strategy::Spread(field) => match spread_field(field) {
                    Ok(SpreadField::Instance) => kinds.push(Kind::SpreadInstance),
                    Ok(SpreadField::Attribute(name)) => {
                        kinds.push(Kind::SpreadAttr(slot_names.len()));
                        slot_names.push(name);
                    }
                    Err(_) => {
                        kinds.push(Kind::SpreadAttr(slot_names.len()));
                        slot_names.push(field);
                    }
                },
            }
        }
        let group_count: Vec<u32> = instances
            .iter()
            .map(|i| i.running_task_groups.get(&req.group).copied().unwrap_or(0))
            .collect();
        // Intern each spread slot's values (absent attributes share one value) and count the
        // group's existing tasks per value.
        let mut value_ids = Vec::with_capacity(slot_names.len());
        let mut counts = Vec::with_capacity(slot_names.len());
        for name in &slot_names {
            let mut interner = Interner::default();
            let mut slot_counts: Vec<i64> = Vec::new();
            let per_instance: Vec<u32> = instances
                .iter()
                .zip(&group_count)
                .map(|(inst, &g)| {
                    let id = interner.id(inst.attribute(name).flatten());
                    if id as usize == slot_counts.len() {
                        slot_counts.push(0);
                    }
                    slot_counts[id as usize] += i64::from(g);
                    id
                })
                .collect();
            value_ids.push(per_instance);
            counts.push(slot_counts);
        }
        let mut work = Work {
            req,
            instances,
            distinct: req
                .constraints
                .iter()
                .any(|c| matches!(c, Constraint::DistinctInstance)),
            member_of: req
                .constraints
                .iter()
                .filter_map(|c| match c {
                    Constraint::MemberOf(e) => Some((e, e.depends_on_tasks())),
                    Constraint::DistinctInstance => None,
                })
                .collect(),
            cpu: instances.iter().map(|i| i.cpu_remaining).collect(),
            memory: instances.iter().map(|i| i.memory_remaining).collect(),
            group_count,
            added: vec![0; n],
            ports_taken: vec![false; n],
            kinds,
            random,
            value_ids,
            counts,
            rejections: [0; STAGES.len()],
            closest: None,
            mode: Mode::Scan {
                alive: Vec::new(),
                ties: Vec::new(),
            },
        };
        let feasible: Vec<bool> = (0..n as u32)
            .map(|i| match work.check(i, true) {
                Some(stage) => {
                    work.reject(i, stage);
                    false
                }
                None => true,
            })
            .collect();
        work.mode = work.build_mode(&feasible);
        work
    }

    fn build_mode(&self, feasible: &[bool]) -> Mode {
        let slots = self
            .kinds
            .iter()
            .take_while(|k| matches!(k, Kind::SpreadAttr(_)))
            .count();
        let inner: Vec<Kind> = self.kinds[slots..].to_vec();
        let fast_shape = inner.len() <= INNER && !inner.iter().any(|k| matches!(k, Kind::SpreadAttr(_)));
        // Building the class index costs far more per instance than one scan step, so small
        // requests on large clusters scan instead.
        let feasible_count = feasible.iter().filter(|f| **f).count();
        let small = (self.req.count as usize).saturating_mul(SCAN_FACTOR) < feasible_count;
        if !fast_shape || small {
            let alive = (0..feasible.len() as u32)
                .filter(|&i| feasible[i as usize])
                .collect();
            return Mode::Scan {
                alive,
                ties: Vec::new(),
            };
        }
        let n = feasible.len();
        let mut class_ids: BTreeMap<Vec<u32>, u32> = BTreeMap::new();
        let mut values = Vec::new();
        let mut class_of = Vec::with_capacity(n);
        let mut buf = Vec::with_capacity(slots);
        let mut members: Vec<Vec<(Key, u32)>> = Vec::new();
        let mut classes = Classes {
            slots,
            inner,
            class_of: Vec::new(),
            values: Vec::new(),
            sets: Vec::new(),
        };
        for i in 0..n {
            buf.clear();
            buf.extend(self.value_ids.iter().map(|ids| ids[i]));
            let known = if slots == 1 {
                // One attribute spread: the class is the value id itself.
                let v = buf[0];
                ((v as usize) < members.len()).then_some(v)
            } else {
                class_ids.get(&buf[..]).copied()
            };
            let c = match known {
                Some(c) => c,
                None => {
                    let c = members.len() as u32;
                    if slots != 1 {
                        class_ids.insert(buf.clone(), c);
                    }
                    values.extend_from_slice(&buf);
                    members.push(Vec::new());
                    c
                }
            };
            class_of.push(c);
            if feasible[i] {
                members[c as usize].push((self.key(&classes, i as u32), i as u32));
            }
        }
        classes.class_of = class_of;
        classes.values = values;
        classes.sets = members
            .into_iter()
            .map(|mut m| {
                m.sort_unstable();
                m.into_iter().collect()
            })
            .collect();
        Mode::Fast(classes)
    }

    fn component(&self, kind: Kind, i: usize) -> i64 {
        match kind {
            Kind::SpreadAttr(s) => self.counts[s][self.value_ids[s][i] as usize],
            Kind::SpreadInstance => i64::from(self.group_count[i]),
            Kind::BinpackCpu => self.cpu[i],
            Kind::BinpackMemory => self.memory[i],
        }
    }

    fn key(&self, classes: &Classes, i: u32) -> Key {
        let mut key = [0; INNER];
        for (slot, kind) in key.iter_mut().zip(&classes.inner) {
            *slot = self.component(*kind, i as usize);
        }
        key
    }

    /// The first filter stage instance `i` fails, if any. `initial` evaluates every memberOf
    /// expression; later checks only re-evaluate those that depend on placed tasks.
    fn check(&self, i: u32, initial: bool) -> Option<usize> {
        let iu = i as usize;
        let inst = &self.instances[iu];
        let req = self.req;
        if !inst.active {
            return Some(0);
        }
        if !inst.agent_connected {
            return Some(1);
        }
        if self.cpu[iu] < req.cpu {
            return Some(2);
        }
        if self.memory[iu] < req.memory {
            return Some(3);
        }
        if !req.host_ports.is_empty()
            && (self.ports_taken[iu] || req.host_ports.iter().any(|p| inst.ports_in_use.contains(p)))
        {
            return Some(4);
        }
        if self.distinct && self.group_count[iu] > 0 {
            return Some(5);
        }
        let view = Overlay {
            inst,
            group: &req.group,
            added: self.added[iu],
        };
        for (expr, dynamic) in &self.member_of {
            if (initial || *dynamic) && !expr.matches(&view) {
                return Some(6);
            }
        }
        None
    }

    fn reject(&mut self, i: u32, stage: usize) {
        self.rejections[stage] += 1;
        let closer = match self.closest {
            None => true,
            Some((s, j)) => stage > s || (stage == s && i < j),
        };
        if closer {
            self.closest = Some((stage, i));
        }
    }

    fn failure(&self, tasks: u32) -> PlacementFailure {
        let (stage, index) = self.closest.expect("every instance was rejected by some filter");
        let inst = &self.instances[index as usize];
        PlacementFailure {
            tasks,
            reason: STAGES[stage],
            closest_instance_index: Some(index),
            closest_instance_id: Some(inst.id.clone()),
            closest_instance_arn: Some(inst.arn.clone()),
            rejections: STAGES
                .iter()
                .zip(self.rejections)
                .filter(|(_, n)| *n > 0)
                .map(|(r, n)| (*r, n))
                .collect(),
        }
    }

    fn spread_cmp(&self, classes: &Classes, a: usize, b: usize) -> Ordering {
        let s = classes.slots;
        for slot in 0..s {
            let va = classes.values[a * s + slot] as usize;
            let vb = classes.values[b * s + slot] as usize;
            let ord = self.counts[slot][va].cmp(&self.counts[slot][vb]);
            if ord != Ordering::Equal {
                return ord;
            }
        }
        Ordering::Equal
    }

    fn scan_cmp(&self, a: u32, b: u32) -> Ordering {
        for &kind in &self.kinds {
            let ord = self
                .component(kind, a as usize)
                .cmp(&self.component(kind, b as usize));
            if ord != Ordering::Equal {
                return ord;
            }
        }
        Ordering::Equal
    }

    /// The best feasible instance, or `None` if no instance passes every filter.
    fn pick(&mut self, rng: &mut Rng) -> Option<u32> {
        match &self.mode {
            Mode::Fast(classes) => self.pick_fast(classes, rng),
            Mode::Scan { alive, .. } => {
                let mut best = *alive.first()?;
                for &i in &alive[1..] {
                    if self.scan_cmp(i, best) == Ordering::Less {
                        best = i;
                    }
                }
                if !self.random {
                    return Some(best);
                }
                let Mode::Scan { alive, mut ties } = std::mem::replace(
                    &mut self.mode,
                    Mode::Scan {
                        alive: Vec::new(),
                        ties: Vec::new(),
                    },
                ) else {
                    unreachable!("matched Scan above")
                };
                ties.clear();
                ties.extend(
                    alive
                        .iter()
                        .copied()
                        .filter(|&i| self.scan_cmp(i, best) == Ordering::Equal),
                );
                let chosen = ties[rng.below(ties.len() as u64) as usize];
                self.mode = Mode::Scan { alive, ties };
                Some(chosen)
            }
        }
    }

    fn pick_fast(&self, classes: &Classes, rng: &mut Rng) -> Option<u32> {
        let mut best: Option<(usize, (Key, u32))> = None;
        for (c, set) in classes.sets.iter().enumerate() {
            let Some(&first) = set.first() else { continue };
            let better = match best {
                None => true,
                Some((b, bfirst)) => {
                    let ord = self.spread_cmp(classes, c, b).then_with(|| {
                        if self.random {
                            first.0.cmp(&bfirst.0)
                        } else {
                            first.cmp(&bfirst)
                        }
                    });
                    ord == Ordering::Less
                }
            };
            if better {
                best = Some((c, first));
            }
        }
        let (b, (key, index)) = best?;
        if !self.random {
            return Some(index);
        }
        // Uniform among every instance tied on all strategies, in (class, index) order.
        let tied_classes = || {
            classes.sets.iter().enumerate().filter(move |(c, set)| {
                set.first().is_some_and(|f| f.0 == key) && self.spread_cmp(classes, *c, b) == Ordering::Equal
            })
        };
        let total: usize = tied_classes().map(|(_, set)| tied_range(set, key).count()).sum();
        let mut k = rng.below(total as u64) as usize;
        for (_, set) in tied_classes() {
            let n = tied_range(set, key).count();
            if k < n {
                return tied_range(set, key).nth(k).map(|e| e.1);
            }
            k -= n;
        }
        unreachable!("k < total")
    }

    /// Records one task on instance `i` and re-checks it.
    fn commit(&mut self, i: u32) {
        let iu = i as usize;
        let old_key = match &self.mode {
            Mode::Fast(classes) => Some(self.key(classes, i)),
            Mode::Scan { .. } => None,
        };
        self.cpu[iu] -= self.req.cpu;
        self.memory[iu] -= self.req.memory;
        if !self.req.host_ports.is_empty() {
            self.ports_taken[iu] = true;
        }
        self.group_count[iu] += 1;
        self.added[iu] += 1;
        for (ids, counts) in self.value_ids.iter().zip(self.counts.iter_mut()) {
            counts[ids[iu] as usize] += 1;
        }
        let verdict = self.check(i, false);
        if let Some(stage) = verdict {
            self.reject(i, stage);
        }
        let mut mode = std::mem::replace(
            &mut self.mode,
            Mode::Scan {
                alive: Vec::new(),
                ties: Vec::new(),
            },
        );
        match &mut mode {
            Mode::Fast(classes) => {
                let c = classes.class_of[iu] as usize;
                let old_key = old_key.expect("computed for Fast");
                classes.sets[c].remove(&(old_key, i));
                if verdict.is_none() {
                    let new_key = self.key(classes, i);
                    classes.sets[c].insert((new_key, i));
                }
            }
            Mode::Scan { alive, .. } => {
                if verdict.is_some()
                    && let Ok(pos) = alive.binary_search(&i)
                {
                    alive.remove(pos);
                }
            }
        }
        self.mode = mode;
    }
}

#[cfg(test)]
mod tests;
