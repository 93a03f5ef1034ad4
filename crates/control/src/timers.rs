//! The deadline queue controllers use to ask to run again. Ordered by (time, insertion sequence),
//! so equal deadlines fire in a stable order and a seed replays a run exactly.

use std::cmp::Reverse;
use std::collections::{BTreeMap, BTreeSet, BinaryHeap};

use ecsim_core::Millis;

/// What to do when a deadline passes.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum TimerKind {
    /// Move a task one step along its lifecycle (the task decides whether the step is still due).
    TaskStep { task_id: String },
    /// Run the service controller of one service.
    ServiceCheck { cluster: String, service: String },
    /// An ELBv2 deadline: load balancer activation, a target's health check, the end of draining.
    Elbv2(crate::elbv2::Elbv2Timer),
    /// One second of a simulated traffic run (not tied to a world: it routes through all).
    Traffic { run: String },
    /// A CloudWatch metric alarm's evaluation.
    Alarm(crate::cloudwatch::AlarmTimer),
    /// The end of a minute: report the world's ECS utilization for it.
    EcsMetrics,
    /// Run a CodeDeploy deployment's controller.
    CodeDeploy { deployment_id: String },
    /// A scheduled fault applies (`end: false`) or a lasting fault's duration ends (`end: true`).
    Fault { fault_id: String, end: bool },
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Timer {
    pub at_ms: Millis,
    pub seq: u64,
    pub world: usize,
    pub kind: TimerKind,
}

/// A bounded-by-use min-heap of timers; stale timers are skipped by their consumers.
#[derive(Debug, Default, Clone)]
pub struct Timers {
    heap: BinaryHeap<Reverse<Timer>>,
    next_seq: u64,
    /// The pending deadlines of each (world, kind) scheduled with `schedule_once`.
    pending_once: BTreeMap<(usize, TimerKind), BTreeSet<Millis>>,
}

impl Timers {
    pub fn schedule(&mut self, at_ms: Millis, world: usize, kind: TimerKind) {
        let seq = self.next_seq;
        self.next_seq += 1;
        self.heap.push(Reverse(Timer {
            at_ms,
            seq,
            world,
            kind,
        }));
    }

    /// Schedules a controller run unless one of the same world and kind is already pending at or
    /// before `at_ms`. Controllers that re-arm on every run must use this: with `schedule`, each
    /// run adds timers that run again and add more, so a controller asking for two wakes per run
    /// (a recheck and an alarm poll) doubles its timers every recheck.
    pub fn schedule_once(&mut self, at_ms: Millis, world: usize, kind: TimerKind) {
        let pending = self.pending_once.entry((world, kind.clone())).or_default();
        if pending.first().is_some_and(|&earliest_ms| earliest_ms <= at_ms) {
            return;
        }
        pending.insert(at_ms);
        self.schedule(at_ms, world, kind);
    }

    pub fn next_deadline(&self) -> Option<Millis> {
        self.heap.peek().map(|Reverse(t)| t.at_ms)
    }

    /// The earliest timer due at or before `now_ms`.
    pub fn pop_due(&mut self, now_ms: Millis) -> Option<Timer> {
        if self.heap.peek().is_none_or(|Reverse(t)| t.at_ms > now_ms) {
            return None;
        }
        let timer = self.heap.pop().map(|Reverse(t)| t)?;
        if !self.pending_once.is_empty() {
            let key = (timer.world, timer.kind.clone());
            if let Some(pending) = self.pending_once.get_mut(&key)
                && pending.remove(&timer.at_ms)
                && pending.is_empty()
            {
                self.pending_once.remove(&key);
            }
        }
        Some(timer)
    }

    pub fn len(&self) -> usize {
        self.heap.len()
    }

    pub fn is_empty(&self) -> bool {
        self.heap.is_empty()
    }

    pub fn clear(&mut self) {
        self.heap.clear();
        self.pending_once.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn equal_deadlines_fire_in_insertion_order() {
        let mut t = Timers::default();
        t.schedule(10, 0, TimerKind::TaskStep { task_id: "b".into() });
        t.schedule(5, 0, TimerKind::TaskStep { task_id: "z".into() });
        t.schedule(10, 0, TimerKind::TaskStep { task_id: "a".into() });
        assert_eq!(t.next_deadline(), Some(5));
        assert!(t.pop_due(4).is_none());
        let order: Vec<_> = std::iter::from_fn(|| t.pop_due(10)).map(|x| x.kind).collect();
        assert_eq!(
            order,
            vec![
                TimerKind::TaskStep { task_id: "z".into() },
                TimerKind::TaskStep { task_id: "b".into() },
                TimerKind::TaskStep { task_id: "a".into() },
            ]
        );
    }

    fn check(service: &str) -> TimerKind {
        TimerKind::ServiceCheck {
            cluster: "c".into(),
            service: service.into(),
        }
    }

    #[test]
    fn schedule_once_keeps_one_pending_run_per_world_and_kind() {
        let mut t = Timers::default();
        t.schedule_once(1_000, 0, check("a"));
        t.schedule_once(10_000, 0, check("a")); // later than the pending run: dropped
        t.schedule_once(1_000, 0, check("a"));
        t.schedule_once(500, 0, check("a")); // earlier: scheduled too
        t.schedule_once(1_000, 1, check("a")); // another world
        t.schedule_once(1_000, 0, check("b")); // another service
        assert_eq!(t.len(), 4);
        assert_eq!(t.pop_due(500).map(|x| x.at_ms), Some(500));
        // The run at 500 re-arms for 10 000; the run already pending at 1 000 covers it.
        t.schedule_once(10_000, 0, check("a"));
        assert_eq!(t.len(), 3);
        let fired: Vec<_> = std::iter::from_fn(|| t.pop_due(1_000))
            .map(|x| (x.world, x.kind))
            .collect();
        assert_eq!(fired, vec![(0, check("a")), (1, check("a")), (0, check("b"))]);
        // Nothing pending: the next re-arm schedules again.
        t.schedule_once(10_000, 0, check("a"));
        assert_eq!(t.len(), 1);
    }

    /// A controller that asks for a recheck in 1 s and an alarm poll in 10 s on every run keeps a
    /// bounded queue (it used to double it every second).
    #[test]
    fn a_controller_rearming_twice_per_run_stays_bounded() {
        let mut t = Timers::default();
        t.schedule_once(0, 0, check("a"));
        for now in (0..600_000).step_by(1_000) {
            while let Some(timer) = t.pop_due(now) {
                t.schedule_once(timer.at_ms + 1_000, 0, check("a"));
                t.schedule_once(timer.at_ms + 10_000, 0, check("a"));
            }
            assert!(t.len() <= 2, "{} timers at {now}", t.len());
        }
    }
}
