//! CodeDeploy deployment configurations: CreateDeploymentConfig, GetDeploymentConfig,
//! ListDeploymentConfigs and DeleteDeploymentConfig over the predefined configs
//! (`configs::PREDEFINED`) and the account's custom ones, and `resolve` for the deployment code.
//!
//! Predefined configs are never stored, changed or deleted; custom ones are plain records in
//! `world.codedeploy.configs`. Nothing here runs a deployment.

use ecsim_api::codedeploy as api;
use ecsim_core::Millis;
use ecsim_protocol::AwsError;

use super::CodeDeployHandler;
use super::applications::check_resource_name;
use super::common::{config_does_not_exist, error, paginate, ts};
use super::configs::{self, PredefinedConfig, TrafficRouting};
use super::state::ConfigRecord;
use crate::world::World;

type R<T> = Result<T, AwsError>;

/// Prefix reserved for AWS's predefined configs.
const PREDEFINED_PREFIX: &str = "CodeDeployDefault.";
/// AWS quota: custom deployment configurations per account and region.
const MAX_CUSTOM_CONFIGS: usize = 50;
/// ListDeploymentConfigs page size.
const PAGE_SIZE: usize = 100;
/// createTime of every predefined config: 2014-10-06T00:00:00Z, the date of the CodeDeploy API
/// version. AWS shows the date each was introduced; one fixed date before anything a user can
/// create keeps the answer deterministic and still sorts predefined configs first.
const PREDEFINED_CREATED_AT_MS: Millis = 1_412_553_600_000;

/// What a deployment config name stands for, predefined or custom: its compute platform and, for
/// ECS and Lambda configs, how traffic moves. `None` when no config has that name.
pub fn resolve(world: &World, name: &str) -> Option<(api::ComputePlatform, Option<TrafficRouting>)> {
    if let Some(config) = configs::predefined(name) {
        return Some((config.compute_platform, config.routing));
    }
    world
        .codedeploy
        .configs
        .get(name)
        .map(|config| (config.compute_platform, config.routing))
}

/// A stable, UUID-shaped id for a predefined config, derived from its name (AWS gives each
/// predefined config one fixed id; ecsim cannot know AWS's, so it derives its own): two FNV-1a
/// 64-bit hashes of the name with different offsets, formatted as a version-5-style UUID.
pub fn predefined_id(name: &str) -> String {
    const FNV_PRIME: u64 = 0x0000_0100_0000_01b3;
    let fnv = |offset: u64| {
        name.bytes().fold(offset, |hash, byte| {
            (hash ^ u64::from(byte)).wrapping_mul(FNV_PRIME)
        })
    };
    let high = fnv(0xcbf2_9ce4_8422_2325);
    let low = fnv(0x6c62_272e_07bb_0142);
    // Version nibble 5 and the RFC 4122 variant bits, so it reads as a name-based UUID.
    let high = (high & 0xffff_ffff_ffff_0fff) | 0x0000_0000_0000_5000;
    let low = (low & 0x3fff_ffff_ffff_ffff) | 0x8000_0000_0000_0000;
    format!(
        "{:08x}-{:04x}-{:04x}-{:04x}-{:012x}",
        high >> 32,
        (high >> 16) & 0xffff,
        high & 0xffff,
        low >> 48,
        low & 0xffff_ffff_ffff
    )
}

fn render_predefined(config: &PredefinedConfig) -> api::DeploymentConfigInfo {
    api::DeploymentConfigInfo {
        deployment_config_id: Some(predefined_id(config.name)),
        deployment_config_name: Some(config.name.to_string()),
        minimum_healthy_hosts: config
            .minimum_healthy_hosts
            .map(|(kind, value)| api::MinimumHealthyHosts {
                r#type: Some(kind),
                value: Some(value),
            }),
        create_time: Some(ts(PREDEFINED_CREATED_AT_MS)),
        compute_platform: Some(config.compute_platform),
        traffic_routing_config: config.routing.map(configs::routing_to_api),
        zonal_config: None,
    }
}

fn render_custom(config: &ConfigRecord) -> api::DeploymentConfigInfo {
    api::DeploymentConfigInfo {
        deployment_config_id: Some(config.id.clone()),
        deployment_config_name: Some(config.name.clone()),
        minimum_healthy_hosts: config.minimum_healthy_hosts.clone(),
        create_time: Some(ts(config.created_at_ms)),
        compute_platform: Some(config.compute_platform),
        traffic_routing_config: config.routing.map(configs::routing_to_api),
        zonal_config: config.zonal_config.clone(),
    }
}

fn config_name_of(name: &str) -> R<&str> {
    if name.is_empty() {
        return Err(error(
            "DeploymentConfigNameRequiredException",
            "The deployment configuration name was not specified.",
        ));
    }
    check_resource_name("DeploymentConfig", name)?;
    Ok(name)
}

fn invalid_min_healthy(message: impl Into<String>) -> AwsError {
    error("InvalidMinimumHealthyHostValueException", message)
}

/// A Server config's `minimumHealthyHosts`: both members, a host count of at least 0 or a fleet
/// percentage of 0–99 (100% healthy would leave no instance to deploy to).
fn check_minimum_healthy_hosts(hosts: &api::MinimumHealthyHosts) -> R<()> {
    let (Some(kind), Some(value)) = (hosts.r#type, hosts.value) else {
        return Err(invalid_min_healthy(
            "minimumHealthyHosts needs both a type (HOST_COUNT or FLEET_PERCENT) and a value.",
        ));
    };
    let valid = match kind {
        api::MinimumHealthyHostsType::HostCount => value >= 0,
        api::MinimumHealthyHostsType::FleetPercent => (0..=99).contains(&value),
    };
    if !valid {
        return Err(invalid_min_healthy(format!(
            "minimumHealthyHosts value {value} is out of range for {}: HOST_COUNT takes 0 or more, \
             FLEET_PERCENT 0 to 99.",
            kind.as_str()
        )));
    }
    Ok(())
}

fn invalid_zonal(message: impl Into<String>) -> AwsError {
    error("InvalidZonalDeploymentConfigurationException", message)
}

/// A Server config's `zonalConfig`: durations of 0 seconds or more, and a per-zone minimum with
/// both members in the same ranges as `minimumHealthyHosts`.
fn check_zonal(zonal: &api::ZonalConfig) -> R<()> {
    for (field, seconds) in [
        (
            "firstZoneMonitorDurationInSeconds",
            zonal.first_zone_monitor_duration_in_seconds,
        ),
        ("monitorDurationInSeconds", zonal.monitor_duration_in_seconds),
    ] {
        if seconds.is_some_and(|s| s < 0) {
            return Err(invalid_zonal(format!("zonalConfig.{field} must be 0 or more.")));
        }
    }
    if let Some(per_zone) = &zonal.minimum_healthy_hosts_per_zone {
        let (Some(kind), Some(value)) = (per_zone.r#type, per_zone.value) else {
            return Err(invalid_zonal(
                "zonalConfig.minimumHealthyHostsPerZone needs both a type and a value.",
            ));
        };
        let valid = match kind {
            api::MinimumHealthyHostsPerZoneType::HostCount => value >= 0,
            api::MinimumHealthyHostsPerZoneType::FleetPercent => (0..=99).contains(&value),
        };
        if !valid {
            return Err(invalid_zonal(format!(
                "zonalConfig.minimumHealthyHostsPerZone value {value} is out of range for {}.",
                kind.as_str()
            )));
        }
    }
    Ok(())
}

/// Creates a custom config. Server configs take `minimumHealthyHosts` (and optionally
/// `zonalConfig`); ECS and Lambda configs take `trafficRoutingConfig` and nothing else.
pub fn create_deployment_config(
    h: &mut CodeDeployHandler<'_, '_>,
    input: api::CreateDeploymentConfigInput,
) -> R<api::CreateDeploymentConfigOutput> {
    let name = config_name_of(&input.deployment_config_name)?.to_string();
    if name.starts_with(PREDEFINED_PREFIX) {
        return Err(error(
            "InvalidDeploymentConfigNameException",
            format!(
                "Deployment configuration names starting with {PREDEFINED_PREFIX} are reserved for AWS: {name}"
            ),
        ));
    }
    if h.world.codedeploy.configs.contains_key(&name) {
        return Err(error(
            "DeploymentConfigAlreadyExistsException",
            format!("A deployment configuration named {name} already exists."),
        ));
    }
    if h.world.codedeploy.configs.len() >= MAX_CUSTOM_CONFIGS {
        return Err(error(
            "DeploymentConfigLimitExceededException",
            format!(
                "An account can have at most {MAX_CUSTOM_CONFIGS} custom deployment configurations in a region."
            ),
        ));
    }
    let platform = input.compute_platform.unwrap_or(api::ComputePlatform::Server);
    let routing = match platform {
        api::ComputePlatform::Server => {
            if input.traffic_routing_config.is_some() {
                return Err(error(
                    "InvalidTrafficRoutingConfigurationException",
                    "trafficRoutingConfig applies to ECS and Lambda deployment configurations, not Server ones.",
                ));
            }
            let hosts = input.minimum_healthy_hosts.as_ref().ok_or_else(|| {
                invalid_min_healthy("A Server deployment configuration requires minimumHealthyHosts.")
            })?;
            check_minimum_healthy_hosts(hosts)?;
            if let Some(zonal) = &input.zonal_config {
                check_zonal(zonal)?;
            }
            None
        }
        api::ComputePlatform::Ecs | api::ComputePlatform::Lambda => {
            if input.minimum_healthy_hosts.is_some() {
                return Err(invalid_min_healthy(format!(
                    "minimumHealthyHosts applies to Server deployment configurations, not {} ones.",
                    platform.as_str()
                )));
            }
            if input.zonal_config.is_some() {
                return Err(invalid_zonal(format!(
                    "zonalConfig applies to Server deployment configurations, not {} ones.",
                    platform.as_str()
                )));
            }
            let config = input.traffic_routing_config.as_ref().ok_or_else(|| {
                error(
                    "InvalidTrafficRoutingConfigurationException",
                    format!(
                        "A {} deployment configuration requires trafficRoutingConfig.",
                        platform.as_str()
                    ),
                )
            })?;
            let routing = configs::routing_from_api(config)
                .map_err(|message| error("InvalidTrafficRoutingConfigurationException", message))?;
            Some(routing)
        }
    };
    let id = h.ctx.rng.uuid();
    h.world.codedeploy.configs.insert(
        name.clone(),
        ConfigRecord {
            id: id.clone(),
            name,
            compute_platform: platform,
            routing,
            minimum_healthy_hosts: input.minimum_healthy_hosts,
            zonal_config: input.zonal_config,
            created_at_ms: h.ctx.now_ms,
        },
    );
    Ok(api::CreateDeploymentConfigOutput {
        deployment_config_id: Some(id),
    })
}

pub fn get_deployment_config(
    h: &mut CodeDeployHandler<'_, '_>,
    input: api::GetDeploymentConfigInput,
) -> R<api::GetDeploymentConfigOutput> {
    let name = config_name_of(&input.deployment_config_name)?;
    let info = match configs::predefined(name) {
        Some(config) => render_predefined(config),
        None => render_custom(
            h.world
                .codedeploy
                .configs
                .get(name)
                .ok_or_else(|| config_does_not_exist(name))?,
        ),
    };
    Ok(api::GetDeploymentConfigOutput {
        deployment_config_info: Some(info),
    })
}

/// Predefined and custom names together, sorted, 100 a page.
pub fn list_deployment_configs(
    h: &mut CodeDeployHandler<'_, '_>,
    input: api::ListDeploymentConfigsInput,
) -> R<api::ListDeploymentConfigsOutput> {
    let mut names: Vec<String> = configs::PREDEFINED
        .iter()
        .map(|config| config.name.to_string())
        .chain(h.world.codedeploy.configs.keys().cloned())
        .collect();
    names.sort();
    let (page, next_token) = paginate(&names, input.next_token.as_deref(), PAGE_SIZE)?;
    Ok(api::ListDeploymentConfigsOutput {
        deployment_configs_list: Some(page),
        next_token,
    })
}

/// Deletes a custom config. Predefined ones are refused (`InvalidOperationException`), and so is
/// one a deployment group or a running deployment uses (`DeploymentConfigInUseException`). An
/// unknown name succeeds without effect: the model gives this operation no
/// `DeploymentConfigDoesNotExistException`.
pub fn delete_deployment_config(
    h: &mut CodeDeployHandler<'_, '_>,
    input: api::DeleteDeploymentConfigInput,
) -> R<()> {
    let name = config_name_of(&input.deployment_config_name)?.to_string();
    if configs::predefined(&name).is_some() || name.starts_with(PREDEFINED_PREFIX) {
        return Err(error(
            "InvalidOperationException",
            format!("The predefined deployment configuration {name} cannot be deleted."),
        ));
    }
    let state = &h.world.codedeploy;
    if let Some(group) = state.groups.values().find(|g| g.config_name == name) {
        return Err(error(
            "DeploymentConfigInUseException",
            format!(
                "The deployment configuration {name} is in use by deployment group {} of application {}.",
                group.name, group.application
            ),
        ));
    }
    if let Some(deployment) = state
        .deployments
        .values()
        .find(|d| d.config_name == name && d.is_active())
    {
        return Err(error(
            "DeploymentConfigInUseException",
            format!(
                "The deployment configuration {name} is in use by deployment {}.",
                deployment.id
            ),
        ));
    }
    h.world.codedeploy.configs.remove(&name);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn predefined_ids_are_stable_distinct_and_uuid_shaped() {
        let ids: Vec<String> = configs::PREDEFINED
            .iter()
            .map(|c| predefined_id(c.name))
            .collect();
        for (i, id) in ids.iter().enumerate() {
            assert_eq!(id.len(), 36, "{id}");
            let groups: Vec<usize> = id.split('-').map(str::len).collect();
            assert_eq!(groups, vec![8, 4, 4, 4, 12], "{id}");
            assert!(id.chars().all(|c| c == '-' || c.is_ascii_hexdigit()), "{id}");
            assert_eq!(&id[14..15], "5", "version nibble of {id}");
            assert!("89ab".contains(&id[19..20]), "variant of {id}");
            assert!(ids[i + 1..].iter().all(|other| other != id), "{id} twice");
        }
        assert_eq!(
            predefined_id("CodeDeployDefault.ECSAllAtOnce"),
            predefined_id("CodeDeployDefault.ECSAllAtOnce")
        );
    }

    #[test]
    fn minimum_healthy_hosts_ranges() {
        let hosts = |kind, value| api::MinimumHealthyHosts {
            r#type: Some(kind),
            value: Some(value),
        };
        assert!(check_minimum_healthy_hosts(&hosts(api::MinimumHealthyHostsType::HostCount, 0)).is_ok());
        assert!(check_minimum_healthy_hosts(&hosts(api::MinimumHealthyHostsType::HostCount, -1)).is_err());
        assert!(check_minimum_healthy_hosts(&hosts(api::MinimumHealthyHostsType::FleetPercent, 99)).is_ok());
        assert!(
            check_minimum_healthy_hosts(&hosts(api::MinimumHealthyHostsType::FleetPercent, 100)).is_err()
        );
        let e = check_minimum_healthy_hosts(&api::MinimumHealthyHosts::default()).expect_err("empty");
        assert_eq!(e.code, "InvalidMinimumHealthyHostValueException");
    }
}
