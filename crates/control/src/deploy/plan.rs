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
}
