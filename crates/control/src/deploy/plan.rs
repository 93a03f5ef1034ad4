//! Deployment plans: the steps a strategy compiles to.

use ecsim_core::Millis;

/// One step of a deployment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// Roll the target revision out to the desired count within `minimumHealthyPercent` and
    /// `maximumPercent`, draining older revisions. Done when the target runs its desired count
    /// and nothing older does.
    Roll,
    /// Route `target_weight_pct` of production traffic to the target revision.
    Shift { target_weight_pct: u32 },
    /// Hold while the monitors (circuit breaker, alarms) keep watching.
    Bake { duration_ms: Millis },
    /// Wait at a named gate until the router opens it: a lifecycle event or hook, a ready wait,
    /// a task set that must become stable. The router may also fail the deployment there.
    Gate { name: String },
}

impl Step {
    /// A gate step.
    pub fn gate(name: impl Into<String>) -> Self {
        Step::Gate { name: name.into() }
    }
}

/// The ordered steps of one deployment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    pub steps: Vec<Step>,
}

const MINUTE_MS: Millis = 60_000;

impl Plan {
    /// ECS rolling update: roll, then (with deployment alarms) bake while the alarms are watched.
    pub fn rolling(alarm_bake_ms: Option<Millis>) -> Self {
        let mut steps = vec![Step::Roll];
        if let Some(duration_ms) = alarm_bake_ms {
            steps.push(Step::Bake { duration_ms });
        }
        Plan { steps }
    }

    /// Scale the target up, shift `canary_pct`, bake, shift the rest, bake (`bake_minutes`).
    pub fn canary(canary_pct: u32, canary_bake_minutes: u64, bake_minutes: u64) -> Self {
        Plan {
            steps: vec![
                Step::Roll,
                Step::Shift {
                    target_weight_pct: canary_pct,
                },
                Step::Bake {
                    duration_ms: canary_bake_minutes * MINUTE_MS,
                },
                Step::Shift {
                    target_weight_pct: 100,
                },
                Step::Bake {
                    duration_ms: bake_minutes * MINUTE_MS,
                },
            ],
        }
    }

    /// Scale the target up, then shift `step_pct` more every `step_bake_minutes` until 100%
    /// (no bake after the step that reaches 100%), then bake (`bake_minutes`).
    pub fn linear(step_pct: u32, step_bake_minutes: u64, bake_minutes: u64) -> Self {
        let step_pct = step_pct.clamp(1, 100);
        let mut steps = vec![Step::Roll];
        let mut weight = 0;
        while weight < 100 {
            weight = (weight + step_pct).min(100);
            steps.push(Step::Shift {
                target_weight_pct: weight,
            });
            if weight < 100 {
                steps.push(Step::Bake {
                    duration_ms: step_bake_minutes * MINUTE_MS,
                });
            }
        }
        steps.push(Step::Bake {
            duration_ms: bake_minutes * MINUTE_MS,
        });
        Plan { steps }
    }

    /// Scale the target up, shift everything at once, then bake.
    pub fn all_at_once(bake_minutes: u64) -> Self {
        Plan {
            steps: vec![
                Step::Roll,
                Step::Shift {
                    target_weight_pct: 100,
                },
                Step::Bake {
                    duration_ms: bake_minutes * MINUTE_MS,
                },
            ],
        }
    }
}

/// One production traffic step of a shifting strategy: the weight the target reaches, and how long
/// that weight holds before the next step (the step bake; none after the step reaching 100%).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TrafficStep {
    pub target_weight_pct: u32,
    pub hold_ms: Millis,
}

/// The whole percent a fractional step percentage (in tenths) routes to the target. Listener
/// weights are integers, so fractions round up: a 0.1% canary still receives traffic
/// (emulator decision, documented in the README).
fn pct_of_tenths(tenths: u32) -> u32 {
    tenths.div_ceil(10).min(100)
}

/// The ECS lifecycle stage names the gates of [`Plan::ecs_lifecycle`] carry; a repeated gate is
/// named `STAGE#n` (n = the shift step) so every gate has a name of its own.
pub mod stage {
    pub const PRE_SCALE_UP: &str = "PRE_SCALE_UP";
    pub const SCALE_UP: &str = "SCALE_UP";
    pub const POST_SCALE_UP: &str = "POST_SCALE_UP";
    pub const TEST_TRAFFIC_SHIFT: &str = "TEST_TRAFFIC_SHIFT";
    pub const POST_TEST_TRAFFIC_SHIFT: &str = "POST_TEST_TRAFFIC_SHIFT";
    pub const PRE_PRODUCTION_TRAFFIC_SHIFT: &str = "PRE_PRODUCTION_TRAFFIC_SHIFT";
    pub const PRODUCTION_TRAFFIC_SHIFT: &str = "PRODUCTION_TRAFFIC_SHIFT";
    pub const POST_PRODUCTION_TRAFFIC_SHIFT: &str = "POST_PRODUCTION_TRAFFIC_SHIFT";
    pub const BAKE_TIME: &str = "BAKE_TIME";
    pub const CLEAN_UP: &str = "CLEAN_UP";

    /// The stage a gate name stands for (`PRE_PRODUCTION_TRAFFIC_SHIFT#2` -> the stage).
    pub fn of_gate(name: &str) -> &str {
        name.split_once('#').map_or(name, |(stage, _)| stage)
    }
}

impl Plan {
    /// ECS BLUE_GREEN: all production traffic in one step.
    pub fn blue_green_steps() -> Vec<TrafficStep> {
        vec![TrafficStep {
            target_weight_pct: 100,
            hold_ms: 0,
        }]
    }

    /// ECS CANARY: `canary_tenths` (tenths of a percent), held for `canary_bake_ms`, then the rest.
    pub fn canary_steps(canary_tenths: u32, canary_bake_ms: Millis) -> Vec<TrafficStep> {
        let canary = pct_of_tenths(canary_tenths);
        if canary >= 100 {
            return Self::blue_green_steps();
        }
        vec![
            TrafficStep {
                target_weight_pct: canary,
                hold_ms: canary_bake_ms,
            },
            TrafficStep {
                target_weight_pct: 100,
                hold_ms: 0,
            },
        ]
    }

    /// ECS LINEAR: `step_tenths` more (tenths of a percent) every `step_bake_ms` until 100%, with
    /// no hold after the step that reaches 100%. Steps accumulate in tenths, so 3.3% steps reach
    /// 9.9% after three steps (routed as 10%), not 12%.
    pub fn linear_steps(step_tenths: u32, step_bake_ms: Millis) -> Vec<TrafficStep> {
        let step_tenths = step_tenths.clamp(1, 1000);
        let mut steps = Vec::new();
        let mut tenths = 0;
        while tenths < 1000 {
            tenths = (tenths + step_tenths).min(1000);
            steps.push(TrafficStep {
                target_weight_pct: pct_of_tenths(tenths),
                hold_ms: if tenths < 1000 { step_bake_ms } else { 0 },
            });
        }
        steps
    }

    /// The ECS-native lifecycle (BLUE_GREEN, LINEAR, CANARY) as one plan: a gate per lifecycle
    /// stage (where hooks run and the router scales, shifts test traffic and cleans up), a
    /// PRE_PRODUCTION_TRAFFIC_SHIFT gate before every production shift, a PRODUCTION_TRAFFIC_SHIFT
    /// gate after it (its hooks see the new weight), the step's hold, then the bake time after the
    /// last shift, then CLEAN_UP.
    pub fn ecs_lifecycle(shifts: &[TrafficStep], bake_ms: Millis) -> Self {
        let mut steps = vec![
            Step::gate(stage::PRE_SCALE_UP),
            Step::gate(stage::SCALE_UP),
            Step::gate(stage::POST_SCALE_UP),
            Step::gate(stage::TEST_TRAFFIC_SHIFT),
            Step::gate(stage::POST_TEST_TRAFFIC_SHIFT),
        ];
        for (i, shift) in shifts.iter().enumerate() {
            steps.push(Step::gate(format!("{}#{i}", stage::PRE_PRODUCTION_TRAFFIC_SHIFT)));
            steps.push(Step::Shift {
                target_weight_pct: shift.target_weight_pct,
            });
            steps.push(Step::gate(format!("{}#{i}", stage::PRODUCTION_TRAFFIC_SHIFT)));
            if shift.hold_ms > 0 {
                steps.push(Step::Bake {
                    duration_ms: shift.hold_ms,
                });
            }
        }
        steps.push(Step::gate(stage::POST_PRODUCTION_TRAFFIC_SHIFT));
        steps.push(Step::Bake { duration_ms: bake_ms });
        steps.push(Step::gate(stage::CLEAN_UP));
        Plan { steps }
    }

    /// The lifecycle stage each step of an [`Plan::ecs_lifecycle`] plan belongs to: a gate's own
    /// stage; shifts and step holds are PRODUCTION_TRAFFIC_SHIFT; the bake after
    /// POST_PRODUCTION_TRAFFIC_SHIFT is BAKE_TIME.
    pub fn lifecycle_stages(&self) -> Vec<&str> {
        let mut after_production = false;
        self.steps
            .iter()
            .map(|step| match step {
                Step::Gate { name } => {
                    let s = stage::of_gate(name);
                    after_production |= s == stage::POST_PRODUCTION_TRAFFIC_SHIFT;
                    s
                }
                Step::Bake { .. } if after_production => stage::BAKE_TIME,
                Step::Shift { .. } | Step::Bake { .. } => stage::PRODUCTION_TRAFFIC_SHIFT,
                Step::Roll => stage::SCALE_UP,
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn linear_steps_reach_100_without_a_bake_after_the_last_shift() {
        let plan = Plan::linear(25, 2, 5);
        let shifts: Vec<u32> = plan
            .steps
            .iter()
            .filter_map(|s| match s {
                Step::Shift { target_weight_pct } => Some(*target_weight_pct),
                _ => None,
            })
            .collect();
        assert_eq!(shifts, [25, 50, 75, 100]);
        assert_eq!(
            plan.steps.last(),
            Some(&Step::Bake {
                duration_ms: 5 * MINUTE_MS
            })
        );
        let before_last = &plan.steps[plan.steps.len() - 2];
        assert_eq!(
            before_last,
            &Step::Shift {
                target_weight_pct: 100
            }
        );
    }

    #[test]
    fn rolling_bakes_only_with_alarms() {
        assert_eq!(Plan::rolling(None).steps, [Step::Roll]);
        assert_eq!(
            Plan::rolling(Some(1000)).steps,
            [Step::Roll, Step::Bake { duration_ms: 1000 }]
        );
    }

    #[test]
    fn ecs_steps_round_fractions_up_and_accumulate_in_tenths() {
        let weights =
            |steps: Vec<TrafficStep>| -> Vec<u32> { steps.iter().map(|s| s.target_weight_pct).collect() };
        assert_eq!(
            weights(Plan::canary_steps(1, 60_000)),
            [1, 100],
            "a 0.1% canary still gets traffic"
        );
        assert_eq!(weights(Plan::canary_steps(1000, 60_000)), [100]);
        let linear = Plan::linear_steps(33, 1_000);
        assert_eq!(linear.len(), 31);
        assert_eq!(&weights(linear.clone())[..3], [4, 7, 10]);
        assert_eq!(
            linear.last().map(|s| (s.target_weight_pct, s.hold_ms)),
            Some((100, 0))
        );
        assert!(linear[..30].iter().all(|s| s.hold_ms == 1_000));
    }

    #[test]
    fn the_ecs_lifecycle_has_a_gate_per_stage_and_labels_every_step() {
        let plan = Plan::ecs_lifecycle(&Plan::canary_steps(100, 5_000), 7_000);
        let stages = plan.lifecycle_stages();
        assert_eq!(
            stages,
            [
                "PRE_SCALE_UP",
                "SCALE_UP",
                "POST_SCALE_UP",
                "TEST_TRAFFIC_SHIFT",
                "POST_TEST_TRAFFIC_SHIFT",
                "PRE_PRODUCTION_TRAFFIC_SHIFT",
                "PRODUCTION_TRAFFIC_SHIFT",
                "PRODUCTION_TRAFFIC_SHIFT",
                "PRODUCTION_TRAFFIC_SHIFT",
                "PRE_PRODUCTION_TRAFFIC_SHIFT",
                "PRODUCTION_TRAFFIC_SHIFT",
                "PRODUCTION_TRAFFIC_SHIFT",
                "POST_PRODUCTION_TRAFFIC_SHIFT",
                "BAKE_TIME",
                "CLEAN_UP",
            ]
        );
        assert_eq!(plan.steps[5], Step::gate("PRE_PRODUCTION_TRAFFIC_SHIFT#0"));
        assert_eq!(plan.steps[8], Step::Bake { duration_ms: 5_000 });
        assert_eq!(plan.steps[13], Step::Bake { duration_ms: 7_000 });
    }
}
