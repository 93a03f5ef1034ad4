//! The one executor every deployment runs on: walks a plan's steps as observations and time allow,
//! and fails it when a monitor trips.

use ecsim_core::Millis;

use super::plan::{Plan, Step};

/// What a gate answers when the executor asks whether it may pass.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GateState {
    Open,
    /// Not yet; ask again at `recheck_at_ms` (or when something else wakes the deployment).
    Waiting {
        recheck_at_ms: Option<Millis>,
    },
    /// The deployment fails here.
    Failed {
        reason: String,
    },
}

/// Where the executor acts: traffic weights on the production route, and the gates of the plan.
/// Rolling plans never call it.
pub trait Router {
    fn set_target_weight(&mut self, target_weight_pct: u32);

    /// Asked every time the executor stands at `Step::Gate { name }`, first at `entered_ms`.
    fn gate(&mut self, _name: &str, _entered_ms: Millis, _now_ms: Millis) -> GateState {
        GateState::Open
    }
}

/// A router for plans without traffic steps or gates.
pub struct NoRouter;

impl Router for NoRouter {
    fn set_target_weight(&mut self, _target_weight_pct: u32) {}
}

/// What the service controller saw this round.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Observation {
    /// The target revision runs its desired count of healthy tasks and nothing older runs.
    pub rolled_out: bool,
    /// Consecutive failed tasks of the target revision (the circuit breaker's count).
    pub failed_tasks: u32,
    /// Watched alarms currently in ALARM.
    pub alarms_in_alarm: Vec<String>,
}

/// What watches a deployment.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Monitors {
    /// Failed-task threshold of the circuit breaker, when enabled.
    pub circuit_breaker_threshold: Option<u32>,
    /// Whether deployment alarms are watched.
    pub alarms: bool,
}

/// Why a deployment failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Trigger {
    CircuitBreaker,
    Alarm,
    Stopped,
    /// A gate failed (a lifecycle hook, a replacement that never became healthy, a ready wait
    /// that ran out).
    Gate,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    InProgress,
    Succeeded,
    Failed { trigger: Trigger, reason: String },
}

/// The result of one advance.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Advance {
    pub outcome: Outcome,
    /// When the executor wants to run again even if nothing else happens.
    pub wake_at_ms: Option<Millis>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Executor {
    plan: Plan,
    step: usize,
    step_started_ms: Millis,
    monitors: Monitors,
    outcome: Outcome,
}

impl Executor {
    pub fn new(plan: Plan, monitors: Monitors, now_ms: Millis) -> Self {
        Self {
            plan,
            step: 0,
            step_started_ms: now_ms,
            monitors,
            outcome: Outcome::InProgress,
        }
    }

    pub fn outcome(&self) -> &Outcome {
        &self.outcome
    }

    pub fn monitors(&self) -> &Monitors {
        &self.monitors
    }

    /// The step being run, if the plan is not finished.
    pub fn current_step(&self) -> Option<&Step> {
        self.plan.steps.get(self.step)
    }

    /// The index of the step being run (the plan's length once finished).
    pub fn step_index(&self) -> usize {
        self.step
    }

    pub fn plan(&self) -> &Plan {
        &self.plan
    }

    /// When the current step began.
    pub fn step_started_ms(&self) -> Millis {
        self.step_started_ms
    }

    /// Fails the deployment from outside (StopServiceDeployment).
    pub fn stop(&mut self, reason: String) {
        if self.outcome == Outcome::InProgress {
            self.outcome = Outcome::Failed {
                trigger: Trigger::Stopped,
                reason,
            };
        }
    }

    /// Runs as many steps as are due at `now_ms`.
    pub fn advance(&mut self, now_ms: Millis, seen: &Observation, router: &mut dyn Router) -> Advance {
        if self.outcome != Outcome::InProgress {
            return Advance {
                outcome: self.outcome.clone(),
                wake_at_ms: None,
            };
        }
        if let Some(threshold) = self.monitors.circuit_breaker_threshold
            && seen.failed_tasks >= threshold
        {
            self.outcome = Outcome::Failed {
                trigger: Trigger::CircuitBreaker,
                reason: format!(
                    "tasks failed to start: {} failed tasks reached the threshold {threshold}",
                    seen.failed_tasks
                ),
            };
            return Advance {
                outcome: self.outcome.clone(),
                wake_at_ms: None,
            };
        }
        if self.monitors.alarms && !seen.alarms_in_alarm.is_empty() {
            self.outcome = Outcome::Failed {
                trigger: Trigger::Alarm,
                reason: format!("alarm(s) in ALARM: {}", seen.alarms_in_alarm.join(", ")),
            };
            return Advance {
                outcome: self.outcome.clone(),
                wake_at_ms: None,
            };
        }
        while let Some(step) = self.plan.steps.get(self.step) {
            match step {
                Step::Roll if !seen.rolled_out => {
                    return Advance {
                        outcome: Outcome::InProgress,
                        wake_at_ms: None,
                    };
                }
                Step::Roll => {}
                Step::Shift { target_weight_pct } => router.set_target_weight(*target_weight_pct),
                Step::Gate { name } => match router.gate(name, self.step_started_ms, now_ms) {
                    GateState::Open => {}
                    GateState::Waiting { recheck_at_ms } => {
                        return Advance {
                            outcome: Outcome::InProgress,
                            wake_at_ms: recheck_at_ms,
                        };
                    }
                    GateState::Failed { reason } => {
                        self.outcome = Outcome::Failed {
                            trigger: Trigger::Gate,
                            reason,
                        };
                        return Advance {
                            outcome: self.outcome.clone(),
                            wake_at_ms: None,
                        };
                    }
                },
                Step::Bake { duration_ms } => {
                    let until = self.step_started_ms + duration_ms;
                    if now_ms < until {
                        return Advance {
                            outcome: Outcome::InProgress,
                            wake_at_ms: Some(until),
                        };
                    }
                }
            }
            self.step += 1;
            self.step_started_ms = now_ms;
        }
        self.outcome = Outcome::Succeeded;
        Advance {
            outcome: Outcome::Succeeded,
            wake_at_ms: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Records every weight the executor sets, with the time it set it.
    struct FakeRouter {
        now_ms: Millis,
        weights: Vec<(Millis, u32)>,
    }

    impl Router for FakeRouter {
        fn set_target_weight(&mut self, target_weight_pct: u32) {
            self.weights.push((self.now_ms, target_weight_pct));
        }
    }

    fn run_to_end(executor: &mut Executor, router: &mut FakeRouter, seen: &Observation) -> Millis {
        let mut now = 0;
        for _ in 0..1000 {
            router.now_ms = now;
            let a = executor.advance(now, seen, router);
            match a.wake_at_ms {
                Some(at) => now = at,
                None => return now,
            }
        }
        panic!("the plan did not finish");
    }

    #[test]
    fn canary_weights_over_time() {
        let mut router = FakeRouter {
            now_ms: 0,
            weights: vec![],
        };
        let mut ex = Executor::new(Plan::canary(25, 10, 0), Monitors::default(), 0);
        let seen = Observation {
            rolled_out: true,
            ..Observation::default()
        };
        let end = run_to_end(&mut ex, &mut router, &seen);
        assert_eq!(router.weights, [(0, 25), (600_000, 100)]);
        assert_eq!(end, 600_000);
        assert_eq!(ex.outcome(), &Outcome::Succeeded);
    }

    #[test]
    fn linear_weights_step_every_interval() {
        let mut router = FakeRouter {
            now_ms: 0,
            weights: vec![],
        };
        let mut ex = Executor::new(Plan::linear(10, 1, 0), Monitors::default(), 0);
        let seen = Observation {
            rolled_out: true,
            ..Observation::default()
        };
        run_to_end(&mut ex, &mut router, &seen);
        let expected: Vec<(Millis, u32)> = (1..=10)
            .map(|i| ((i - 1) * 60_000, u32::try_from(i).unwrap() * 10))
            .collect();
        assert_eq!(router.weights, expected);
    }

    #[test]
    fn nothing_shifts_before_the_target_is_rolled_out() {
        let mut router = FakeRouter {
            now_ms: 0,
            weights: vec![],
        };
        let mut ex = Executor::new(Plan::canary(10, 5, 0), Monitors::default(), 0);
        let a = ex.advance(0, &Observation::default(), &mut router);
        assert_eq!(
            a,
            Advance {
                outcome: Outcome::InProgress,
                wake_at_ms: None
            }
        );
        assert!(router.weights.is_empty());
        ex.advance(
            5,
            &Observation {
                rolled_out: true,
                ..Observation::default()
            },
            &mut router,
        );
        assert_eq!(router.weights, [(0, 10)]);
    }

    #[test]
    fn monitors_fail_the_deployment() {
        let monitors = Monitors {
            circuit_breaker_threshold: Some(3),
            alarms: true,
        };
        let mut ex = Executor::new(Plan::rolling(Some(60_000)), monitors.clone(), 0);
        let a = ex.advance(
            0,
            &Observation {
                failed_tasks: 2,
                ..Observation::default()
            },
            &mut NoRouter,
        );
        assert_eq!(a.outcome, Outcome::InProgress);
        let a = ex.advance(
            1,
            &Observation {
                failed_tasks: 3,
                ..Observation::default()
            },
            &mut NoRouter,
        );
        assert!(matches!(
            a.outcome,
            Outcome::Failed {
                trigger: Trigger::CircuitBreaker,
                ..
            }
        ));

        let mut ex = Executor::new(Plan::rolling(Some(60_000)), monitors, 0);
        let rolled = Observation {
            rolled_out: true,
            ..Observation::default()
        };
        let a = ex.advance(10, &rolled, &mut NoRouter);
        assert_eq!(a.wake_at_ms, Some(60_010), "bakes after the roll");
        let alarm = Observation {
            rolled_out: true,
            alarms_in_alarm: vec!["5xx".into()],
            ..Observation::default()
        };
        let a = ex.advance(30_000, &alarm, &mut NoRouter);
        assert!(matches!(
            a.outcome,
            Outcome::Failed {
                trigger: Trigger::Alarm,
                ..
            }
        ));
    }

    /// A router whose gates open at set times and whose "hook" gate fails.
    struct GateRouter {
        asked: Vec<(String, Millis, Millis)>,
    }

    impl Router for GateRouter {
        fn set_target_weight(&mut self, _target_weight_pct: u32) {}
        fn gate(&mut self, name: &str, entered_ms: Millis, now_ms: Millis) -> GateState {
            self.asked.push((name.to_string(), entered_ms, now_ms));
            match name {
                "ready" if now_ms < entered_ms + 100 => GateState::Waiting {
                    recheck_at_ms: Some(entered_ms + 100),
                },
                "hook" => GateState::Failed {
                    reason: "the hook failed".into(),
                },
                _ => GateState::Open,
            }
        }
    }

    #[test]
    fn gates_hold_until_open_and_can_fail_the_deployment() {
        let plan = Plan {
            steps: vec![Step::gate("install"), Step::gate("ready"), Step::gate("hook")],
        };
        let mut ex = Executor::new(plan, Monitors::default(), 0);
        let mut router = GateRouter { asked: vec![] };
        let a = ex.advance(10, &Observation::default(), &mut router);
        assert_eq!(a.wake_at_ms, Some(110), "the ready gate was entered at 10");
        assert_eq!(ex.current_step(), Some(&Step::gate("ready")));
        let a = ex.advance(110, &Observation::default(), &mut router);
        assert_eq!(
            a.outcome,
            Outcome::Failed {
                trigger: Trigger::Gate,
                reason: "the hook failed".into()
            }
        );
        assert_eq!(
            router.asked,
            [
                ("install".to_string(), 0, 10),
                ("ready".to_string(), 10, 10),
                ("ready".to_string(), 10, 110),
                ("hook".to_string(), 110, 110),
            ]
        );
    }

    #[test]
    fn rolling_without_alarms_succeeds_when_rolled_out() {
        let mut ex = Executor::new(Plan::rolling(None), Monitors::default(), 0);
        let a = ex.advance(
            0,
            &Observation {
                rolled_out: true,
                ..Observation::default()
            },
            &mut NoRouter,
        );
        assert_eq!(a.outcome, Outcome::Succeeded);
        ex.stop("late".into());
        assert_eq!(
            ex.outcome(),
            &Outcome::Succeeded,
            "a finished deployment cannot be stopped"
        );
    }
}
