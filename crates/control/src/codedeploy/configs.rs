//! CodeDeploy deployment configurations: every predefined one AWS ships, validation and rendering
//! of a custom `trafficRoutingConfig`, and how an ECS config's production traffic shift compiles
//! to the deployment executor's steps.
//!
//! Pure data and functions: no state, no IO, no clock. Storing custom configs is the handlers' job.

use ecsim_api::codedeploy::{
    ComputePlatform, MinimumHealthyHostsType, TimeBasedCanary, TimeBasedLinear, TrafficRoutingConfig,
    TrafficRoutingType,
};
use ecsim_core::Millis;

use crate::deploy::Step;

const MINUTE_MS: Millis = 60_000;

/// How production traffic moves for one ECS (or Lambda) deployment config.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TrafficRouting {
    /// Everything at once.
    AllAtOnce,
    /// `percentage` first, the rest `interval_minutes` later.
    Canary { percentage: u32, interval_minutes: u32 },
    /// `percentage` more every `interval_minutes` until everything has moved.
    Linear { percentage: u32, interval_minutes: u32 },
}

/// A deployment configuration AWS predefines in every account and region.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PredefinedConfig {
    /// `CodeDeployDefault.…`, spelled exactly as AWS does.
    pub name: &'static str,
    pub compute_platform: ComputePlatform,
    /// Lambda and ECS configs only.
    pub routing: Option<TrafficRouting>,
    /// Server configs only.
    pub minimum_healthy_hosts: Option<(MinimumHealthyHostsType, i32)>,
}

const fn server(name: &'static str, kind: MinimumHealthyHostsType, value: i32) -> PredefinedConfig {
    PredefinedConfig {
        name,
        compute_platform: ComputePlatform::Server,
        routing: None,
        minimum_healthy_hosts: Some((kind, value)),
    }
}

const fn routed(
    name: &'static str,
    compute_platform: ComputePlatform,
    routing: TrafficRouting,
) -> PredefinedConfig {
    PredefinedConfig {
        name,
        compute_platform,
        routing: Some(routing),
        minimum_healthy_hosts: None,
    }
}

const fn canary(percentage: u32, interval_minutes: u32) -> TrafficRouting {
    TrafficRouting::Canary {
        percentage,
        interval_minutes,
    }
}

const fn linear(percentage: u32, interval_minutes: u32) -> TrafficRouting {
    TrafficRouting::Linear {
        percentage,
        interval_minutes,
    }
}

/// Every predefined deployment configuration, Server, then Lambda, then ECS. Mind the spellings:
/// the ECS linear ones say `Every1Minutes` where the Lambda one says `Every1Minute`.
pub const PREDEFINED: &[PredefinedConfig] = &[
    // AWS's GetDeploymentConfig renders OneAtATime as MOST_CONCURRENCY 1, a type the model's enum
    // lacks (and CreateDeploymentConfig refuses); HOST_COUNT 1 is the nearest it can say.
    server(
        "CodeDeployDefault.OneAtATime",
        MinimumHealthyHostsType::HostCount,
        1,
    ),
    server(
        "CodeDeployDefault.HalfAtATime",
        MinimumHealthyHostsType::FleetPercent,
        50,
    ),
    server(
        "CodeDeployDefault.AllAtOnce",
        MinimumHealthyHostsType::HostCount,
        0,
    ),
    routed(
        "CodeDeployDefault.LambdaAllAtOnce",
        ComputePlatform::Lambda,
        TrafficRouting::AllAtOnce,
    ),
    routed(
        "CodeDeployDefault.LambdaCanary10Percent5Minutes",
        ComputePlatform::Lambda,
        canary(10, 5),
    ),
    routed(
        "CodeDeployDefault.LambdaCanary10Percent10Minutes",
        ComputePlatform::Lambda,
        canary(10, 10),
    ),
    routed(
        "CodeDeployDefault.LambdaCanary10Percent15Minutes",
        ComputePlatform::Lambda,
        canary(10, 15),
    ),
    routed(
        "CodeDeployDefault.LambdaCanary10Percent30Minutes",
        ComputePlatform::Lambda,
        canary(10, 30),
    ),
    routed(
        "CodeDeployDefault.LambdaLinear10PercentEvery1Minute",
        ComputePlatform::Lambda,
        linear(10, 1),
    ),
    routed(
        "CodeDeployDefault.LambdaLinear10PercentEvery2Minutes",
        ComputePlatform::Lambda,
        linear(10, 2),
    ),
    routed(
        "CodeDeployDefault.LambdaLinear10PercentEvery3Minutes",
        ComputePlatform::Lambda,
        linear(10, 3),
    ),
    routed(
        "CodeDeployDefault.LambdaLinear10PercentEvery10Minutes",
        ComputePlatform::Lambda,
        linear(10, 10),
    ),
    routed(
        "CodeDeployDefault.ECSAllAtOnce",
        ComputePlatform::Ecs,
        TrafficRouting::AllAtOnce,
    ),
    routed(
        "CodeDeployDefault.ECSLinear10PercentEvery1Minutes",
        ComputePlatform::Ecs,
        linear(10, 1),
    ),
    routed(
        "CodeDeployDefault.ECSLinear10PercentEvery3Minutes",
        ComputePlatform::Ecs,
        linear(10, 3),
    ),
    routed(
        "CodeDeployDefault.ECSCanary10Percent5Minutes",
        ComputePlatform::Ecs,
        canary(10, 5),
    ),
    routed(
        "CodeDeployDefault.ECSCanary10Percent15Minutes",
        ComputePlatform::Ecs,
        canary(10, 15),
    ),
];

/// The predefined config called `name` (case-sensitive, as AWS names are).
pub fn predefined(name: &str) -> Option<&'static PredefinedConfig> {
    PREDEFINED.iter().find(|config| config.name == name)
}

/// Validates a `trafficRoutingConfig` from CreateDeploymentConfig. The type is required and takes
/// exactly its own block (AllAtOnce takes none); percentages are 1–99 (0 would shift nothing, 100
/// would leave nothing for the next increment) and intervals at least one minute.
pub fn routing_from_api(config: &TrafficRoutingConfig) -> Result<TrafficRouting, String> {
    let kind = config.r#type.ok_or_else(|| {
        "trafficRoutingConfig.type is required: TimeBasedCanary, TimeBasedLinear or AllAtOnce.".to_string()
    })?;
    match kind {
        TrafficRoutingType::AllAtOnce => {
            if config.time_based_canary.is_some() || config.time_based_linear.is_some() {
                return Err(
                    "trafficRoutingConfig of type AllAtOnce takes neither timeBasedCanary nor timeBasedLinear."
                        .to_string(),
                );
            }
            Ok(TrafficRouting::AllAtOnce)
        }
        TrafficRoutingType::TimeBasedCanary => {
            if config.time_based_linear.is_some() {
                return Err(
                    "trafficRoutingConfig of type TimeBasedCanary takes timeBasedCanary, not timeBasedLinear."
                        .to_string(),
                );
            }
            let block = config.time_based_canary.as_ref().ok_or_else(|| {
                "trafficRoutingConfig of type TimeBasedCanary requires timeBasedCanary.".to_string()
            })?;
            Ok(TrafficRouting::Canary {
                percentage: percentage(block.canary_percentage, "timeBasedCanary.canaryPercentage")?,
                interval_minutes: interval_minutes(block.canary_interval, "timeBasedCanary.canaryInterval")?,
            })
        }
        TrafficRoutingType::TimeBasedLinear => {
            if config.time_based_canary.is_some() {
                return Err(
                    "trafficRoutingConfig of type TimeBasedLinear takes timeBasedLinear, not timeBasedCanary."
                        .to_string(),
                );
            }
            let block = config.time_based_linear.as_ref().ok_or_else(|| {
                "trafficRoutingConfig of type TimeBasedLinear requires timeBasedLinear.".to_string()
            })?;
            Ok(TrafficRouting::Linear {
                percentage: percentage(block.linear_percentage, "timeBasedLinear.linearPercentage")?,
                interval_minutes: interval_minutes(block.linear_interval, "timeBasedLinear.linearInterval")?,
            })
        }
    }
}

fn percentage(value: Option<i32>, field: &str) -> Result<u32, String> {
    let value = value.ok_or_else(|| format!("trafficRoutingConfig.{field} is required."))?;
    u32::try_from(value)
        .ok()
        .filter(|pct| (1..=99).contains(pct))
        .ok_or_else(|| format!("trafficRoutingConfig.{field} must be between 1 and 99, not {value}."))
}

fn interval_minutes(value: Option<i32>, field: &str) -> Result<u32, String> {
    let value = value.ok_or_else(|| format!("trafficRoutingConfig.{field} is required."))?;
    u32::try_from(value)
        .ok()
        .filter(|minutes| *minutes >= 1)
        .ok_or_else(|| format!("trafficRoutingConfig.{field} must be at least 1 minute, not {value}."))
}

/// The `trafficRoutingConfig` GetDeploymentConfig renders: the type, plus its block for canary
/// and linear (AllAtOnce renders the type alone).
pub fn routing_to_api(r: TrafficRouting) -> TrafficRoutingConfig {
    // Validated values are ≤ 99 and a u32 of minutes; saturate rather than wrap anything bigger.
    let wire = |n: u32| Some(i32::try_from(n).unwrap_or(i32::MAX));
    match r {
        TrafficRouting::AllAtOnce => TrafficRoutingConfig {
            r#type: Some(TrafficRoutingType::AllAtOnce),
            time_based_canary: None,
            time_based_linear: None,
        },
        TrafficRouting::Canary {
            percentage,
            interval_minutes,
        } => TrafficRoutingConfig {
            r#type: Some(TrafficRoutingType::TimeBasedCanary),
            time_based_canary: Some(TimeBasedCanary {
                canary_percentage: wire(percentage),
                canary_interval: wire(interval_minutes),
            }),
            time_based_linear: None,
        },
        TrafficRouting::Linear {
            percentage,
            interval_minutes,
        } => TrafficRoutingConfig {
            r#type: Some(TrafficRoutingType::TimeBasedLinear),
            time_based_canary: None,
            time_based_linear: Some(TimeBasedLinear {
                linear_percentage: wire(percentage),
                linear_interval: wire(interval_minutes),
            }),
        },
    }
}

/// The production traffic steps of the AllowTraffic lifecycle event, as the deployment executor's
/// plan steps: the replacement's weight after each shift, with a bake between shifts and none
/// after the last (what follows AllowTraffic is the hooks' and the termination wait's business).
pub fn traffic_steps(r: TrafficRouting) -> Vec<Step> {
    let shift = |target_weight_pct: u32| Step::Shift { target_weight_pct };
    let bake = |interval_minutes: u32| Step::Bake {
        duration_ms: Millis::from(interval_minutes) * MINUTE_MS,
    };
    match r {
        TrafficRouting::AllAtOnce => vec![shift(100)],
        TrafficRouting::Canary {
            percentage,
            interval_minutes,
        } => vec![shift(percentage.min(100)), bake(interval_minutes), shift(100)],
        TrafficRouting::Linear {
            percentage,
            interval_minutes,
        } => {
            // A 0% increment would never reach 100; validated configs start at 1.
            let increment_pct = percentage.clamp(1, 100);
            let mut steps = Vec::new();
            let mut weight_pct = 0;
            while weight_pct < 100 {
                weight_pct = (weight_pct + increment_pct).min(100);
                steps.push(shift(weight_pct));
                if weight_pct < 100 {
                    steps.push(bake(interval_minutes));
                }
            }
            steps
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shift(target_weight_pct: u32) -> Step {
        Step::Shift { target_weight_pct }
    }

    fn bake_minutes(minutes: u64) -> Step {
        Step::Bake {
            duration_ms: minutes * MINUTE_MS,
        }
    }

    fn steps_of(name: &str) -> Vec<Step> {
        let config = predefined(name).unwrap_or_else(|| panic!("{name} is predefined"));
        traffic_steps(config.routing.unwrap_or_else(|| panic!("{name} routes traffic")))
    }

    /// Shift 10, 20, …, 100 with a bake of `minutes` between shifts.
    fn ten_percent_linear(minutes: u64) -> Vec<Step> {
        let mut steps = Vec::new();
        for pct in (10..=100).step_by(10) {
            steps.push(shift(pct));
            if pct < 100 {
                steps.push(bake_minutes(minutes));
            }
        }
        steps
    }

    #[test]
    fn ecs_all_at_once_shifts_everything() {
        assert_eq!(steps_of("CodeDeployDefault.ECSAllAtOnce"), vec![shift(100)]);
    }

    #[test]
    fn ecs_canaries_shift_ten_then_the_rest() {
        assert_eq!(
            steps_of("CodeDeployDefault.ECSCanary10Percent5Minutes"),
            vec![shift(10), bake_minutes(5), shift(100)]
        );
        assert_eq!(
            steps_of("CodeDeployDefault.ECSCanary10Percent15Minutes"),
            vec![shift(10), bake_minutes(15), shift(100)]
        );
    }

    #[test]
    fn ecs_linears_shift_ten_more_each_interval() {
        let one = steps_of("CodeDeployDefault.ECSLinear10PercentEvery1Minutes");
        assert_eq!(one, ten_percent_linear(1));
        assert_eq!(one.len(), 19, "10 shifts and 9 bakes");
        assert_eq!(
            steps_of("CodeDeployDefault.ECSLinear10PercentEvery3Minutes"),
            ten_percent_linear(3)
        );
    }

    #[test]
    fn linear_clamps_the_last_shift_to_100() {
        let r = TrafficRouting::Linear {
            percentage: 30,
            interval_minutes: 2,
        };
        assert_eq!(
            traffic_steps(r),
            vec![
                shift(30),
                bake_minutes(2),
                shift(60),
                bake_minutes(2),
                shift(90),
                bake_minutes(2),
                shift(100),
            ]
        );
        let zero = TrafficRouting::Linear {
            percentage: 0,
            interval_minutes: 1,
        };
        assert_eq!(traffic_steps(zero).len(), 199, "a 0% increment is treated as 1%");
    }

    #[test]
    fn predefined_names_are_unique_and_complete() {
        assert_eq!(PREDEFINED.len(), 17);
        for (i, config) in PREDEFINED.iter().enumerate() {
            assert!(config.name.starts_with("CodeDeployDefault."), "{}", config.name);
            assert!(
                PREDEFINED[i + 1..].iter().all(|other| other.name != config.name),
                "{} twice",
                config.name
            );
            // Server configs gate on healthy hosts; the others route traffic.
            let is_server = config.compute_platform == ComputePlatform::Server;
            assert_eq!(config.routing.is_none(), is_server, "{}", config.name);
            assert_eq!(
                config.minimum_healthy_hosts.is_some(),
                is_server,
                "{}",
                config.name
            );
        }
        let ecs: Vec<&str> = PREDEFINED
            .iter()
            .filter(|c| c.compute_platform == ComputePlatform::Ecs)
            .map(|c| c.name)
            .collect();
        assert_eq!(ecs.len(), 5);
        assert!(predefined("CodeDeployDefault.ECSLinear10PercentEvery1Minute").is_none());
        assert!(predefined("CodeDeployDefault.LambdaLinear10PercentEvery1Minute").is_some());
        assert!(predefined("codedeploydefault.ecsallatonce").is_none());
        assert_eq!(
            predefined("CodeDeployDefault.HalfAtATime").and_then(|c| c.minimum_healthy_hosts),
            Some((MinimumHealthyHostsType::FleetPercent, 50))
        );
    }

    #[test]
    fn api_rendering_round_trips() {
        for config in PREDEFINED {
            if let Some(routing) = config.routing {
                assert_eq!(
                    routing_from_api(&routing_to_api(routing)),
                    Ok(routing),
                    "{}",
                    config.name
                );
            }
        }
        let all_at_once = routing_to_api(TrafficRouting::AllAtOnce);
        assert_eq!(all_at_once.r#type, Some(TrafficRoutingType::AllAtOnce));
        assert!(all_at_once.time_based_canary.is_none() && all_at_once.time_based_linear.is_none());
    }

    fn canary_config(percentage: Option<i32>, interval: Option<i32>) -> TrafficRoutingConfig {
        TrafficRoutingConfig {
            r#type: Some(TrafficRoutingType::TimeBasedCanary),
            time_based_canary: Some(TimeBasedCanary {
                canary_percentage: percentage,
                canary_interval: interval,
            }),
            time_based_linear: None,
        }
    }

    fn linear_config(percentage: Option<i32>, interval: Option<i32>) -> TrafficRoutingConfig {
        TrafficRoutingConfig {
            r#type: Some(TrafficRoutingType::TimeBasedLinear),
            time_based_canary: None,
            time_based_linear: Some(TimeBasedLinear {
                linear_percentage: percentage,
                linear_interval: interval,
            }),
        }
    }

    fn err_of(config: &TrafficRoutingConfig) -> String {
        match routing_from_api(config) {
            Ok(r) => panic!("expected an error, got {r:?}"),
            Err(e) => e,
        }
    }

    #[test]
    fn custom_routing_is_validated() {
        assert_eq!(
            routing_from_api(&canary_config(Some(1), Some(1))),
            Ok(TrafficRouting::Canary {
                percentage: 1,
                interval_minutes: 1
            })
        );
        assert_eq!(
            routing_from_api(&linear_config(Some(99), Some(2880))),
            Ok(TrafficRouting::Linear {
                percentage: 99,
                interval_minutes: 2880
            })
        );

        let e = err_of(&TrafficRoutingConfig::default());
        assert!(e.contains("type is required"), "{e}");

        for bad in [0, 100, -5] {
            let e = err_of(&canary_config(Some(bad), Some(5)));
            assert!(
                e.contains("timeBasedCanary.canaryPercentage must be between 1 and 99"),
                "{e}"
            );
            let e = err_of(&linear_config(Some(bad), Some(5)));
            assert!(
                e.contains("timeBasedLinear.linearPercentage must be between 1 and 99"),
                "{e}"
            );
        }
        for bad in [0, -1] {
            let e = err_of(&canary_config(Some(10), Some(bad)));
            assert!(
                e.contains("timeBasedCanary.canaryInterval must be at least 1 minute"),
                "{e}"
            );
            let e = err_of(&linear_config(Some(10), Some(bad)));
            assert!(
                e.contains("timeBasedLinear.linearInterval must be at least 1 minute"),
                "{e}"
            );
        }
        let e = err_of(&canary_config(None, Some(5)));
        assert!(e.contains("canaryPercentage is required"), "{e}");
        let e = err_of(&linear_config(Some(10), None));
        assert!(e.contains("linearInterval is required"), "{e}");
    }

    #[test]
    fn each_type_takes_only_its_own_block() {
        let missing = TrafficRoutingConfig {
            r#type: Some(TrafficRoutingType::TimeBasedCanary),
            ..Default::default()
        };
        assert!(err_of(&missing).contains("requires timeBasedCanary"));
        let missing = TrafficRoutingConfig {
            r#type: Some(TrafficRoutingType::TimeBasedLinear),
            ..Default::default()
        };
        assert!(err_of(&missing).contains("requires timeBasedLinear"));

        let mut both = canary_config(Some(10), Some(5));
        both.time_based_linear = Some(TimeBasedLinear::default());
        assert!(err_of(&both).contains("not timeBasedLinear"));
        let mut both = linear_config(Some(10), Some(5));
        both.time_based_canary = Some(TimeBasedCanary::default());
        assert!(err_of(&both).contains("not timeBasedCanary"));

        let mut all_at_once = canary_config(Some(10), Some(5));
        all_at_once.r#type = Some(TrafficRoutingType::AllAtOnce);
        assert!(err_of(&all_at_once).contains("takes neither"));
        let plain = TrafficRoutingConfig {
            r#type: Some(TrafficRoutingType::AllAtOnce),
            ..Default::default()
        };
        assert_eq!(routing_from_api(&plain), Ok(TrafficRouting::AllAtOnce));
    }
}
