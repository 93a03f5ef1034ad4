//! The deadline queue controllers use to ask to run again. Ordered by (time, insertion sequence),
//! so equal deadlines fire in a stable order and a seed replays a run exactly.

use std::cmp::Reverse;
use std::collections::BinaryHeap;

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

    pub fn next_deadline(&self) -> Option<Millis> {
        self.heap.peek().map(|Reverse(t)| t.at_ms)
    }

    /// The earliest timer due at or before `now_ms`.
    pub fn pop_due(&mut self, now_ms: Millis) -> Option<Timer> {
        if self.heap.peek().is_some_and(|Reverse(t)| t.at_ms <= now_ms) {
            self.heap.pop().map(|Reverse(t)| t)
        } else {
            None
        }
    }

    pub fn len(&self) -> usize {
        self.heap.len()
    }

    pub fn is_empty(&self) -> bool {
        self.heap.is_empty()
    }

    pub fn clear(&mut self) {
        self.heap.clear();
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
}
