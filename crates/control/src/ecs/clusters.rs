//! ECS clusters and the account's Fargate capacity providers: create, describe, list, update and
//! delete clusters, associate capacity providers. Handlers change desired state only; they never
//! start or stop tasks (the lifecycle and the service controller do).

use std::collections::BTreeMap;

use ecsim_api::ecs as api;
use ecsim_protocol::AwsError;

use super::EcsHandler;
use super::account_settings;
use super::common::{self, invalid_parameter};
use super::state::{ClusterRecord, ServiceRecord, TaskRecord};
use crate::world::World;

type R<T> = Result<T, AwsError>;
use api::ClusterField as F;

/// The capacity providers every account has, in name order.
pub const FARGATE_PROVIDERS: [&str; 2] = ["FARGATE", "FARGATE_SPOT"];

/// What the mutating calls return: everything CreateCluster shows.
const FULL_VIEW: &[F] = &[F::Configurations, F::Settings, F::Tags];

fn cluster_response(world: &World, name: &str) -> Option<api::Cluster> {
    world
        .ecs
        .clusters
        .get(name)
        .map(|c| render_cluster(world, c, FULL_VIEW))
}

fn count(n: usize) -> i32 {
    i32::try_from(n).unwrap_or(i32::MAX)
}

// ---------------------------------------------------------------------------------------------
// rendering

/// How a task or service runs, for the per-launch-type statistics.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Ec2,
    Fargate,
    External,
}

fn kind_of(launch_type: Option<api::LaunchType>, providers: &[&str]) -> Kind {
    match launch_type {
        Some(api::LaunchType::Fargate) => Kind::Fargate,
        Some(api::LaunchType::External) => Kind::External,
        Some(_) => Kind::Ec2,
        None if providers.iter().any(|p| FARGATE_PROVIDERS.contains(p)) => Kind::Fargate,
        None => Kind::Ec2,
    }
}

fn task_kind(t: &TaskRecord) -> Kind {
    kind_of(t.launch_type, t.capacity_provider_name.as_deref().as_slice())
}

fn service_kind(s: &ServiceRecord) -> Kind {
    let providers: Vec<&str> = s
        .capacity_provider_strategy
        .iter()
        .map(|i| i.capacity_provider.as_str())
        .collect();
    kind_of(s.launch_type, &providers)
}

fn running_tasks(c: &ClusterRecord) -> impl Iterator<Item = &TaskRecord> {
    c.tasks
        .values()
        .filter(|t| t.is_live() && t.status == super::state::TaskStatus::Running)
}

fn pending_tasks(c: &ClusterRecord) -> impl Iterator<Item = &TaskRecord> {
    c.tasks.values().filter(|t| t.is_live() && t.status.is_pending())
}

fn services_in<'c>(c: &'c ClusterRecord, status: &'c str) -> impl Iterator<Item = &'c ServiceRecord> {
    c.services.values().filter(move |s| s.status == status)
}

/// The per-launch-type counts DescribeClusters shows with `include: [STATISTICS]`, in AWS's order.
fn statistics(c: &ClusterRecord) -> Vec<api::KeyValuePair> {
    let tasks = |running: bool, kind: Kind| {
        if running {
            running_tasks(c).filter(|t| task_kind(t) == kind).count()
        } else {
            pending_tasks(c).filter(|t| task_kind(t) == kind).count()
        }
    };
    let services =
        |status: &str, kind: Kind| services_in(c, status).filter(|s| service_kind(s) == kind).count();
    let stats = [
        ("runningEC2TasksCount", tasks(true, Kind::Ec2)),
        ("runningFargateTasksCount", tasks(true, Kind::Fargate)),
        ("pendingFargateTasksCount", tasks(false, Kind::Fargate)),
        ("runningExternalTasksCount", tasks(true, Kind::External)),
        ("pendingEC2TasksCount", tasks(false, Kind::Ec2)),
        ("pendingExternalTasksCount", tasks(false, Kind::External)),
        ("activeEC2ServiceCount", services("ACTIVE", Kind::Ec2)),
        ("activeFargateServiceCount", services("ACTIVE", Kind::Fargate)),
        ("drainingFargateServiceCount", services("DRAINING", Kind::Fargate)),
        ("activeExternalServiceCount", services("ACTIVE", Kind::External)),
        ("drainingEC2ServiceCount", services("DRAINING", Kind::Ec2)),
        (
            "drainingExternalServiceCount",
            services("DRAINING", Kind::External),
        ),
    ];
    stats
        .into_iter()
        .map(|(name, n)| api::KeyValuePair {
            name: Some(name.into()),
            value: Some(n.to_string()),
        })
        .collect()
}

/// A cluster as the API shows it. `include` works as on DescribeClusters: settings, tags and
/// configuration only when asked for, statistics an empty list unless asked for, attachments
/// (none for Fargate providers) only when asked for.
///
/// Counts: tasks with desired status RUNNING (running = RUNNING, pending = before RUNNING),
/// container instances ACTIVE or DRAINING (as the AWS docs define the count), services ACTIVE or
/// DRAINING.
pub fn render_cluster(_world: &World, cluster: &ClusterRecord, include: &[F]) -> api::Cluster {
    let has = |f: F| include.contains(&f);
    let instances = cluster
        .container_instances
        .values()
        .filter(|ci| ci.status == "ACTIVE" || ci.status == "DRAINING")
        .count();
    let services = services_in(cluster, "ACTIVE").count() + services_in(cluster, "DRAINING").count();
    api::Cluster {
        cluster_arn: Some(cluster.arn.clone()),
        cluster_name: Some(cluster.name.clone()),
        configuration: if has(F::Configurations) {
            cluster.configuration.clone()
        } else {
            None
        },
        status: Some(cluster.status.clone()),
        registered_container_instances_count: Some(count(instances)),
        running_tasks_count: Some(count(running_tasks(cluster).count())),
        pending_tasks_count: Some(count(pending_tasks(cluster).count())),
        active_services_count: Some(count(services)),
        statistics: Some(if has(F::Statistics) {
            statistics(cluster)
        } else {
            Vec::new()
        }),
        tags: has(F::Tags).then(|| cluster.tags.clone()),
        settings: has(F::Settings).then(|| cluster.settings.clone()),
        capacity_providers: Some(cluster.capacity_providers.clone()),
        default_capacity_provider_strategy: Some(cluster.default_capacity_provider_strategy.clone()),
        attachments: has(F::Attachments).then(Vec::new),
        attachments_status: (!cluster.capacity_providers.is_empty()).then(|| "UPDATE_COMPLETE".to_string()),
        service_connect_defaults: cluster.service_connect_defaults.clone(),
    }
}

// ---------------------------------------------------------------------------------------------
// validation

fn check_settings(settings: &[api::ClusterSetting]) -> R<()> {
    for s in settings {
        let Some(name) = s.name else {
            return Err(invalid_parameter("A cluster setting must have a name."));
        };
        let value = s.value.as_deref().unwrap_or("");
        if !matches!(value, "enabled" | "disabled" | "enhanced") {
            return Err(invalid_parameter(format!(
                "Invalid value '{value}' for cluster setting {name}. Valid values are enabled, disabled and enhanced."
            )));
        }
    }
    Ok(())
}

/// `current` with `updates` applied by name, in first-seen order.
fn merge_settings(current: &mut Vec<api::ClusterSetting>, updates: &[api::ClusterSetting]) {
    for s in updates {
        match current.iter_mut().find(|c| c.name == s.name) {
            Some(c) => c.value.clone_from(&s.value),
            None => current.push(s.clone()),
        }
    }
}

/// The settings of a new cluster: `containerInsights` from the account setting unless given.
fn initial_settings(world: &World, given: &[api::ClusterSetting]) -> Vec<api::ClusterSetting> {
    let root = common::root_principal_arn(world);
    let insights = account_settings::effective_value(world, &root, api::SettingName::ContainerInsights);
    let mut settings = vec![api::ClusterSetting {
        name: Some(api::ClusterSettingName::ContainerInsights),
        value: Some(insights),
    }];
    merge_settings(&mut settings, given);
    settings
}

/// Capacity providers a cluster may use: only the account's FARGATE and FARGATE_SPOT exist.
fn check_providers(providers: &[String]) -> R<Vec<String>> {
    let mut out: Vec<String> = Vec::new();
    for p in providers {
        if !FARGATE_PROVIDERS.contains(&p.as_str()) {
            return Err(invalid_parameter(format!(
                "The specified capacity provider {p} does not exist."
            )));
        }
        if !out.contains(p) {
            out.push(p.clone());
        }
    }
    Ok(out)
}

/// A default capacity provider strategy: at most 20 items, each naming an associated provider
/// once, weight 0–1000, base 0–100000, at most one item with a base.
pub fn check_strategy(providers: &[String], strategy: &[api::CapacityProviderStrategyItem]) -> R<()> {
    if strategy.len() > 20 {
        return Err(invalid_parameter(
            "A capacity provider strategy can have at most 20 items.",
        ));
    }
    for (i, item) in strategy.iter().enumerate() {
        if !providers.contains(&item.capacity_provider) {
            return Err(invalid_parameter(
                "The specified capacity provider strategy cannot contain a capacity provider that is not \
                 associated with the cluster. Associate the capacity provider with the cluster or specify a \
                 valid capacity provider and try again.",
            ));
        }
        if strategy[..i]
            .iter()
            .any(|o| o.capacity_provider == item.capacity_provider)
        {
            return Err(invalid_parameter(format!(
                "The capacity provider {} appears more than once in the capacity provider strategy.",
                item.capacity_provider
            )));
        }
        if !(0..=1000).contains(&item.weight.unwrap_or(0)) {
            return Err(invalid_parameter(
                "The weight of a capacity provider must be between 0 and 1000.",
            ));
        }
        if !(0..=100_000).contains(&item.base.unwrap_or(0)) {
            return Err(invalid_parameter(
                "The base of a capacity provider must be between 0 and 100000.",
            ));
        }
    }
    if strategy.iter().filter(|i| i.base.unwrap_or(0) > 0).count() > 1 {
        return Err(invalid_parameter(
            "Only one capacity provider in a capacity provider strategy can have a base.",
        ));
    }
    Ok(())
}

fn connect_defaults(
    given: Option<api::ClusterServiceConnectDefaultsRequest>,
) -> Option<api::ClusterServiceConnectDefaults> {
    given
        .filter(|d| !d.namespace.is_empty())
        .map(|d| api::ClusterServiceConnectDefaults {
            namespace: Some(d.namespace),
        })
}

// ---------------------------------------------------------------------------------------------
// handlers

/// Creates a cluster. An ACTIVE cluster of the same name is returned unchanged (CreateCluster is
/// idempotent on AWS); an INACTIVE one is replaced, with everything it held.
pub fn create_cluster(
    h: &mut EcsHandler<'_, '_>,
    input: api::CreateClusterRequest,
) -> R<api::CreateClusterResponse> {
    let name = input
        .cluster_name
        .clone()
        .filter(|n| !n.is_empty())
        .unwrap_or_else(|| "default".into());
    if !common::is_valid_name(&name) {
        return Err(invalid_parameter(
            "Cluster name can have up to 255 letters (uppercase and lowercase), numbers, hyphens, and underscores.",
        ));
    }
    let tags = input.tags.unwrap_or_default();
    common::validate_tags(&tags)?;
    let given_settings = input.settings.unwrap_or_default();
    check_settings(&given_settings)?;
    let providers = check_providers(&input.capacity_providers.unwrap_or_default())?;
    let strategy = input.default_capacity_provider_strategy.unwrap_or_default();
    check_strategy(&providers, &strategy)?;
    if h.world
        .ecs
        .clusters
        .get(&name)
        .is_some_and(|c| c.status == "ACTIVE")
    {
        return Ok(api::CreateClusterResponse {
            cluster: cluster_response(h.world, &name),
        });
    }
    let record = ClusterRecord {
        name: name.clone(),
        arn: common::cluster_arn(h.world, &name),
        status: "ACTIVE".into(),
        settings: initial_settings(h.world, &given_settings),
        configuration: input.configuration,
        capacity_providers: providers,
        default_capacity_provider_strategy: strategy,
        service_connect_defaults: connect_defaults(input.service_connect_defaults),
        tags,
        services: BTreeMap::new(),
        tasks: BTreeMap::new(),
        container_instances: BTreeMap::new(),
        live_load: BTreeMap::new(),
        service_tasks: BTreeMap::new(),
    };
    if let Some(old) = h.world.ecs.clusters.insert(name.clone(), record) {
        for task_id in old.tasks.keys() {
            h.world.ecs.task_cluster.remove(task_id);
        }
    }
    Ok(api::CreateClusterResponse {
        cluster: cluster_response(h.world, &name),
    })
}

/// Describes clusters by name or ARN (default `default`), ACTIVE or INACTIVE; unknown ones are
/// `failures` with reason MISSING.
pub fn describe_clusters(
    h: &mut EcsHandler<'_, '_>,
    input: api::DescribeClustersRequest,
) -> R<api::DescribeClustersResponse> {
    let wanted = input
        .clusters
        .filter(|c| !c.is_empty())
        .unwrap_or_else(|| vec!["default".into()]);
    if wanted.len() > 100 {
        return Err(invalid_parameter(
            "At most 100 clusters can be described at once.",
        ));
    }
    let include = input.include.unwrap_or_default();
    let (mut clusters, mut failures) = (Vec::new(), Vec::new());
    for reference in &wanted {
        let name = common::cluster_name(Some(reference));
        match h.world.ecs.clusters.get(&name) {
            Some(c) => clusters.push(render_cluster(h.world, c, &include)),
            None => failures.push(common::missing(common::cluster_arn(h.world, &name))),
        }
    }
    Ok(api::DescribeClustersResponse {
        clusters: Some(clusters),
        failures: Some(failures),
    })
}

/// ARNs of the ACTIVE clusters, in order, 1–100 per page (default 100).
pub fn list_clusters(
    h: &mut EcsHandler<'_, '_>,
    input: api::ListClustersRequest,
) -> R<api::ListClustersResponse> {
    let items: Vec<(String, String)> = h
        .world
        .ecs
        .clusters
        .values()
        .filter(|c| c.status == "ACTIVE")
        .map(|c| (c.name.clone(), c.arn.clone()))
        .collect();
    let (cluster_arns, next_token) =
        common::paginate(&items, input.next_token.as_deref(), input.max_results, 100, 100)?;
    Ok(api::ListClustersResponse {
        cluster_arns: Some(cluster_arns),
        next_token,
    })
}

pub fn update_cluster(
    h: &mut EcsHandler<'_, '_>,
    input: api::UpdateClusterRequest,
) -> R<api::UpdateClusterResponse> {
    let settings = input.settings.unwrap_or_default();
    check_settings(&settings)?;
    let cluster = common::active_cluster_mut(&mut h.world.ecs, Some(&input.cluster))?;
    let name = cluster.name.clone();
    merge_settings(&mut cluster.settings, &settings);
    if let Some(configuration) = input.configuration {
        cluster.configuration = Some(configuration);
    }
    if let Some(defaults) = input.service_connect_defaults {
        cluster.service_connect_defaults = connect_defaults(Some(defaults));
    }
    Ok(api::UpdateClusterResponse {
        cluster: cluster_response(h.world, &name),
    })
}

pub fn update_cluster_settings(
    h: &mut EcsHandler<'_, '_>,
    input: api::UpdateClusterSettingsRequest,
) -> R<api::UpdateClusterSettingsResponse> {
    check_settings(&input.settings)?;
    let cluster = common::active_cluster_mut(&mut h.world.ecs, Some(&input.cluster))?;
    let name = cluster.name.clone();
    merge_settings(&mut cluster.settings, &input.settings);
    Ok(api::UpdateClusterSettingsResponse {
        cluster: cluster_response(h.world, &name),
    })
}

/// Why a cluster cannot be deleted yet, checked in the order services, tasks, instances.
fn delete_blocker(c: &ClusterRecord) -> Option<AwsError> {
    if c.services
        .values()
        .any(|s| s.status == "ACTIVE" || s.status == "DRAINING")
    {
        return Some(AwsError::client(
            "ClusterContainsServicesException",
            "The Cluster cannot be deleted while Services are active.",
        ));
    }
    if c.tasks
        .values()
        .any(|t| t.status != super::state::TaskStatus::Stopped)
    {
        return Some(AwsError::client(
            "ClusterContainsTasksException",
            "The Cluster cannot be deleted while Tasks are active.",
        ));
    }
    if c.container_instances
        .values()
        .any(|ci| ci.status == "ACTIVE" || ci.status == "DRAINING")
    {
        return Some(AwsError::client(
            "ClusterContainsContainerInstancesException",
            "The Cluster cannot be deleted while Container Instances are active or draining.",
        ));
    }
    None
}

/// Deletes an empty cluster: it turns INACTIVE and stays describable.
pub fn delete_cluster(
    h: &mut EcsHandler<'_, '_>,
    input: api::DeleteClusterRequest,
) -> R<api::DeleteClusterResponse> {
    let cluster = common::active_cluster_mut(&mut h.world.ecs, Some(&input.cluster))?;
    if let Some(e) = delete_blocker(cluster) {
        return Err(e);
    }
    cluster.status = "INACTIVE".into();
    let name = cluster.name.clone();
    Ok(api::DeleteClusterResponse {
        cluster: cluster_response(h.world, &name),
    })
}

/// Providers about to be removed that live tasks or ACTIVE/DRAINING services still use.
fn provider_in_use(c: &ClusterRecord, keep: &[String]) -> Option<String> {
    let removed = |p: &str| !keep.iter().any(|k| k == p);
    let by_task = c
        .tasks
        .values()
        .filter(|t| t.is_live())
        .filter_map(|t| t.capacity_provider_name.clone())
        .find(|p| removed(p));
    by_task.or_else(|| {
        c.services
            .values()
            .filter(|s| s.status != "INACTIVE")
            .flat_map(|s| {
                s.capacity_provider_strategy
                    .iter()
                    .map(|i| i.capacity_provider.clone())
            })
            .find(|p| removed(p))
    })
}

pub fn put_cluster_capacity_providers(
    h: &mut EcsHandler<'_, '_>,
    input: api::PutClusterCapacityProvidersRequest,
) -> R<api::PutClusterCapacityProvidersResponse> {
    let cluster = common::active_cluster_mut(&mut h.world.ecs, Some(&input.cluster))?;
    let providers = check_providers(&input.capacity_providers)?;
    check_strategy(&providers, &input.default_capacity_provider_strategy)?;
    if let Some(p) = provider_in_use(cluster, &providers) {
        return Err(AwsError::client(
            "ResourceInUseException",
            format!(
                "The capacity provider {p} is in use by tasks or services of the cluster and cannot be removed."
            ),
        ));
    }
    cluster.capacity_providers = providers;
    cluster.default_capacity_provider_strategy = input.default_capacity_provider_strategy;
    let name = cluster.name.clone();
    Ok(api::PutClusterCapacityProvidersResponse {
        cluster: cluster_response(h.world, &name),
    })
}

fn render_provider(world: &World, name: &str, include_tags: bool) -> api::CapacityProvider {
    let kind = if name == "FARGATE" {
        api::CapacityProviderType::Fargate
    } else {
        api::CapacityProviderType::FargateSpot
    };
    api::CapacityProvider {
        capacity_provider_arn: Some(world.arn("ecs", &format!("capacity-provider/{name}"))),
        name: Some(name.to_string()),
        status: Some(api::CapacityProviderStatus::Active),
        tags: include_tags.then(|| {
            world
                .ecs
                .capacity_provider_tags
                .get(name)
                .cloned()
                .unwrap_or_default()
        }),
        r#type: Some(kind),
        ..Default::default()
    }
}

/// The account's FARGATE and FARGATE_SPOT providers (or those of `cluster`), by name or ARN;
/// unknown names are `failures` (reason MISSING, reported with the first page). 1–10 per page.
pub fn describe_capacity_providers(
    h: &mut EcsHandler<'_, '_>,
    input: api::DescribeCapacityProvidersRequest,
) -> R<api::DescribeCapacityProvidersResponse> {
    let available: Vec<String> = match input.cluster.as_deref() {
        Some(c) => common::active_cluster(&h.world.ecs, Some(c))?
            .capacity_providers
            .clone(),
        None => FARGATE_PROVIDERS.iter().map(|p| p.to_string()).collect(),
    };
    let wanted = input.capacity_providers.unwrap_or_default();
    if wanted.len() > 100 {
        return Err(invalid_parameter(
            "At most 100 capacity providers can be described at once.",
        ));
    }
    let mut found: Vec<String> = Vec::new();
    let mut failures = Vec::new();
    if wanted.is_empty() {
        found.clone_from(&available);
    }
    for reference in &wanted {
        let name = reference
            .rsplit_once("capacity-provider/")
            .map_or(reference.as_str(), |(_, n)| n);
        if available.iter().any(|a| a == name) {
            found.push(name.to_string());
        } else {
            failures.push(common::missing(
                h.world.arn("ecs", &format!("capacity-provider/{name}")),
            ));
        }
    }
    found.sort();
    found.dedup();
    let include_tags = input
        .include
        .unwrap_or_default()
        .contains(&api::CapacityProviderField::Tags);
    let items: Vec<(String, api::CapacityProvider)> = found
        .iter()
        .map(|n| (n.clone(), render_provider(h.world, n, include_tags)))
        .collect();
    let first_page = input.next_token.as_deref().is_none_or(str::is_empty);
    let (capacity_providers, next_token) =
        common::paginate(&items, input.next_token.as_deref(), input.max_results, 10, 10)?;
    Ok(api::DescribeCapacityProvidersResponse {
        capacity_providers: Some(capacity_providers),
        failures: Some(if first_page { failures } else { Vec::new() }),
        next_token,
    })
}

// ---------------------------------------------------------------------------------------------
// tests

/// A world, clock, RNG and timer queue for calling handlers in unit tests.
#[cfg(test)]
pub(crate) mod testkit {
    use ecsim_core::{Millis, Rng};

    use ecsim_api::ecs as api;

    use crate::ecs::EcsHandler;
    use crate::engine::Ctx;
    use crate::runtime::SimTimings;
    use crate::timers::Timers;
    use crate::topology::TopologyConfig;
    use crate::world::World;

    pub struct Env {
        pub world: World,
        pub rng: Rng,
        pub timers: Timers,
        pub sim: SimTimings,
        pub now_ms: Millis,
    }

    impl Env {
        pub fn new() -> Self {
            Self {
                world: World::new("000000000000", "us-east-1", &TopologyConfig::default()),
                rng: Rng::seeded(1),
                timers: Timers::default(),
                sim: SimTimings::default(),
                now_ms: 1_767_225_600_000,
            }
        }

        /// Runs `f` with a handler on this world at `now_ms`.
        pub fn call<T>(&mut self, f: impl FnOnce(&mut EcsHandler<'_, '_>) -> T) -> T {
            let mut ctx = Ctx {
                now_ms: self.now_ms,
                rng: &mut self.rng,
                timers: &mut self.timers,
                world_index: 0,
                sim: &self.sim,
                alarms: &crate::alarms::NoAlarms,
                runtime: &mut crate::task_runtime::RuntimePort::default(),
                functions: &mut crate::functions::Functions::default(),
            };
            let mut h = EcsHandler {
                world: &mut self.world,
                ctx: &mut ctx,
            };
            f(&mut h)
        }
    }

    /// Registers a container instance with default resources and returns its id.
    pub fn register_instance(env: &mut Env, cluster: &str) -> String {
        let input = api::RegisterContainerInstanceRequest {
            cluster: Some(cluster.into()),
            ..Default::default()
        };
        let ci = env
            .call(|h| crate::ecs::container_instances::register_container_instance(h, input))
            .unwrap();
        crate::ecs::common::last_segment(
            ci.container_instance
                .unwrap()
                .container_instance_arn
                .as_deref()
                .unwrap(),
        )
        .to_string()
    }

    /// Registers `web`, one bridge-mode container with 128 MiB, and returns its ARN.
    pub fn bridge_definition(env: &mut Env) -> String {
        let input = api::RegisterTaskDefinitionRequest {
            family: "web".into(),
            container_definitions: vec![api::ContainerDefinition {
                name: Some("app".into()),
                image: Some("nginx".into()),
                memory: Some(128),
                ..Default::default()
            }],
            ..Default::default()
        };
        let td = env
            .call(|h| crate::ecs::task_definitions::register_task_definition(h, input))
            .unwrap();
        td.task_definition.unwrap().task_definition_arn.unwrap()
    }

    /// Starts a task on `instance` through the lifecycle and returns its id.
    pub fn start_task(env: &mut Env, cluster: &str, instance: &str, td_arn: &str) -> String {
        let definition = crate::ecs::task_definitions::find(&env.world.ecs, td_arn)
            .unwrap()
            .clone();
        let zone = env.world.ecs.clusters[cluster].container_instances[instance]
            .availability_zone
            .clone();
        env.call(|h| {
            crate::ecs::lifecycle::create_task(
                h.world,
                h.ctx,
                crate::ecs::lifecycle::NewTask {
                    cluster_name: cluster.into(),
                    definition: &definition,
                    group: "family:web".into(),
                    started_by: None,
                    service_name: None,
                    deployment_id: None,
                    launch_type: Some(api::LaunchType::Ec2),
                    capacity_provider_name: None,
                    platform_version: None,
                    placement: crate::ecs::state::TaskPlacement {
                        availability_zone: zone,
                        subnet_id: None,
                        private_ip: None,
                        container_instance_id: Some(instance.into()),
                    },
                    overrides: api::TaskOverride::default(),
                    tags: vec![],
                    enable_execute_command: false,
                },
            )
        })
        .unwrap()
    }
}

#[cfg(test)]
mod tests {
    use super::testkit::{Env, bridge_definition, register_instance, start_task};
    use super::*;
    use crate::ecs::state::TaskStatus;

    const ARN_PREFIX: &str = "arn:aws:ecs:us-east-1:000000000000:";

    fn create(env: &mut Env, input: api::CreateClusterRequest) -> R<api::Cluster> {
        env.call(|h| create_cluster(h, input)).map(|r| r.cluster.unwrap())
    }

    fn named(name: &str) -> api::CreateClusterRequest {
        api::CreateClusterRequest {
            cluster_name: Some(name.into()),
            ..Default::default()
        }
    }

    fn tag(k: &str, v: &str) -> api::Tag {
        api::Tag {
            key: Some(k.into()),
            value: Some(v.into()),
        }
    }

    fn describe(env: &mut Env, names: &[&str], include: &[F]) -> api::DescribeClustersResponse {
        let input = api::DescribeClustersRequest {
            clusters: Some(names.iter().map(|n| n.to_string()).collect()),
            include: Some(include.to_vec()),
        };
        env.call(|h| describe_clusters(h, input)).unwrap()
    }

    fn strategy(provider: &str, weight: Option<i32>, base: Option<i32>) -> api::CapacityProviderStrategyItem {
        api::CapacityProviderStrategyItem {
            capacity_provider: provider.into(),
            weight,
            base,
        }
    }

    #[test]
    fn create_defaults_and_is_idempotent() {
        let mut env = Env::new();
        let c = create(&mut env, api::CreateClusterRequest::default()).unwrap();
        assert_eq!(c.cluster_name.as_deref(), Some("default"));
        assert_eq!(
            c.cluster_arn.as_deref(),
            Some(format!("{ARN_PREFIX}cluster/default").as_str())
        );
        assert_eq!(c.status.as_deref(), Some("ACTIVE"));
        assert_eq!(c.running_tasks_count, Some(0));
        assert_eq!(c.statistics, Some(vec![]));
        let settings = c.settings.unwrap();
        assert_eq!(settings[0].value.as_deref(), Some("disabled"));
        assert_eq!(c.tags, Some(vec![]));

        let first = create(
            &mut env,
            api::CreateClusterRequest {
                tags: Some(vec![tag("a", "1")]),
                ..named("web")
            },
        )
        .unwrap();
        let again = create(
            &mut env,
            api::CreateClusterRequest {
                tags: Some(vec![tag("b", "2")]),
                ..named("web")
            },
        )
        .unwrap();
        assert_eq!(first, again);
    }

    #[test]
    fn create_validates_name_settings_providers_and_tags() {
        let mut env = Env::new();
        let err = |r: R<api::Cluster>| r.unwrap_err().code;
        assert_eq!(
            err(create(&mut env, named("bad name"))),
            "InvalidParameterException"
        );
        assert_eq!(
            err(create(&mut env, named(&"x".repeat(256)))),
            "InvalidParameterException"
        );
        let setting = |v: &str| api::ClusterSetting {
            name: Some(api::ClusterSettingName::ContainerInsights),
            value: Some(v.into()),
        };
        let bad = api::CreateClusterRequest {
            settings: Some(vec![setting("on")]),
            ..named("a")
        };
        assert_eq!(err(create(&mut env, bad)), "InvalidParameterException");
        let good = api::CreateClusterRequest {
            settings: Some(vec![setting("enhanced")]),
            ..named("a")
        };
        assert_eq!(
            create(&mut env, good).unwrap().settings.unwrap()[0]
                .value
                .as_deref(),
            Some("enhanced")
        );
        let bad = api::CreateClusterRequest {
            capacity_providers: Some(vec!["EC2".into()]),
            ..named("b")
        };
        let e = create(&mut env, bad).unwrap_err();
        assert_eq!(e.code, "InvalidParameterException");
        assert_eq!(e.message, "The specified capacity provider EC2 does not exist.");
        let bad = api::CreateClusterRequest {
            capacity_providers: Some(vec!["FARGATE".into()]),
            default_capacity_provider_strategy: Some(vec![strategy("FARGATE_SPOT", Some(1), None)]),
            ..named("b")
        };
        assert_eq!(err(create(&mut env, bad)), "InvalidParameterException");
        let bad = api::CreateClusterRequest {
            tags: Some(vec![tag("aws:x", "1")]),
            ..named("b")
        };
        assert_eq!(err(create(&mut env, bad)), "InvalidParameterException");
        assert!(!env.world.ecs.clusters.contains_key("b"));
    }

    #[test]
    fn container_insights_follows_the_account_setting() {
        let mut env = Env::new();
        env.call(|h| {
            account_settings::put_account_setting(
                h,
                api::PutAccountSettingRequest {
                    name: api::SettingName::ContainerInsights,
                    value: "enabled".into(),
                    principal_arn: None,
                },
            )
        })
        .unwrap();
        let c = create(&mut env, named("x")).unwrap();
        assert_eq!(c.settings.unwrap()[0].value.as_deref(), Some("enabled"));
    }

    #[test]
    fn describe_include_and_failures() {
        let mut env = Env::new();
        create(
            &mut env,
            api::CreateClusterRequest {
                tags: Some(vec![tag("team", "a")]),
                ..named("web")
            },
        )
        .unwrap();
        let plain = describe(
            &mut env,
            &["web", &format!("{ARN_PREFIX}cluster/web"), "nope"],
            &[],
        );
        let clusters = plain.clusters.unwrap();
        assert_eq!(clusters.len(), 2);
        assert_eq!(clusters[0].tags, None);
        assert_eq!(clusters[0].settings, None);
        assert_eq!(clusters[0].statistics, Some(vec![]));
        assert_eq!(clusters[0].attachments, None);
        let failures = plain.failures.unwrap();
        assert_eq!(failures.len(), 1);
        assert_eq!(
            failures[0].arn.as_deref(),
            Some(format!("{ARN_PREFIX}cluster/nope").as_str())
        );
        assert_eq!(failures[0].reason.as_deref(), Some("MISSING"));

        let full = describe(
            &mut env,
            &["web"],
            &[F::Tags, F::Settings, F::Statistics, F::Configurations],
        );
        let c = &full.clusters.unwrap()[0];
        assert_eq!(c.tags.as_ref().unwrap()[0].key.as_deref(), Some("team"));
        assert!(c.settings.is_some());
        let stats = c.statistics.as_ref().unwrap();
        assert_eq!(stats.len(), 12);
        assert!(stats.iter().all(|s| s.value.as_deref() == Some("0")));

        let default = env
            .call(|h| describe_clusters(h, api::DescribeClustersRequest::default()))
            .unwrap();
        assert_eq!(
            default.failures.unwrap()[0].arn.as_deref(),
            Some(format!("{ARN_PREFIX}cluster/default").as_str())
        );
        let many: Vec<String> = (0..101).map(|i| format!("c{i}")).collect();
        let e = env
            .call(|h| {
                describe_clusters(
                    h,
                    api::DescribeClustersRequest {
                        clusters: Some(many),
                        include: None,
                    },
                )
            })
            .unwrap_err();
        assert_eq!(e.code, "InvalidParameterException");
    }

    #[test]
    fn list_pages_active_clusters_in_order() {
        let mut env = Env::new();
        for name in ["c", "a", "e", "b", "d"] {
            create(&mut env, named(name)).unwrap();
        }
        env.call(|h| delete_cluster(h, api::DeleteClusterRequest { cluster: "e".into() }))
            .unwrap();
        let mut arns = Vec::new();
        let mut token = None;
        loop {
            let page = env
                .call(|h| {
                    list_clusters(
                        h,
                        api::ListClustersRequest {
                            next_token: token.clone(),
                            max_results: Some(2),
                        },
                    )
                })
                .unwrap();
            arns.extend(page.cluster_arns.unwrap());
            token = page.next_token;
            if token.is_none() {
                break;
            }
        }
        let names: Vec<&str> = arns.iter().map(|a| common::last_segment(a)).collect();
        assert_eq!(names, ["a", "b", "c", "d"]);
        let e = env
            .call(|h| {
                list_clusters(
                    h,
                    api::ListClustersRequest {
                        next_token: None,
                        max_results: Some(101),
                    },
                )
            })
            .unwrap_err();
        assert_eq!(e.code, "InvalidParameterException");
    }

    #[test]
    fn update_and_update_settings() {
        let mut env = Env::new();
        let missing = env.call(|h| {
            update_cluster_settings(
                h,
                api::UpdateClusterSettingsRequest {
                    cluster: "web".into(),
                    settings: vec![],
                },
            )
        });
        assert_eq!(missing.unwrap_err().code, "ClusterNotFoundException");
        create(&mut env, named("web")).unwrap();
        let setting = api::ClusterSetting {
            name: Some(api::ClusterSettingName::ContainerInsights),
            value: Some("enhanced".into()),
        };
        let c = env
            .call(|h| {
                update_cluster_settings(
                    h,
                    api::UpdateClusterSettingsRequest {
                        cluster: "web".into(),
                        settings: vec![setting.clone()],
                    },
                )
            })
            .unwrap()
            .cluster
            .unwrap();
        assert_eq!(c.settings, Some(vec![setting]));
        let configuration = api::ClusterConfiguration {
            execute_command_configuration: Some(api::ExecuteCommandConfiguration {
                kms_key_id: Some("key".into()),
                ..Default::default()
            }),
            ..Default::default()
        };
        let c = env
            .call(|h| {
                update_cluster(
                    h,
                    api::UpdateClusterRequest {
                        cluster: format!("{ARN_PREFIX}cluster/web"),
                        configuration: Some(configuration.clone()),
                        service_connect_defaults: Some(api::ClusterServiceConnectDefaultsRequest {
                            namespace: "local".into(),
                        }),
                        ..Default::default()
                    },
                )
            })
            .unwrap()
            .cluster
            .unwrap();
        assert_eq!(c.configuration, Some(configuration));
        assert_eq!(
            c.service_connect_defaults.unwrap().namespace.as_deref(),
            Some("local")
        );
        let bad = env.call(|h| {
            update_cluster(
                h,
                api::UpdateClusterRequest {
                    cluster: "web".into(),
                    settings: Some(vec![api::ClusterSetting {
                        name: Some(api::ClusterSettingName::ContainerInsights),
                        value: Some("maybe".into()),
                    }]),
                    ..Default::default()
                },
            )
        });
        assert_eq!(bad.unwrap_err().code, "InvalidParameterException");
    }

    #[test]
    fn counts_and_delete_blockers() {
        let mut env = Env::new();
        create(&mut env, named("web")).unwrap();
        let instance = register_instance(&mut env, "web");
        let td = bridge_definition(&mut env);
        let running = start_task(&mut env, "web", &instance, &td);
        let pending = start_task(&mut env, "web", &instance, &td);
        env.world.ecs.task_mut(&running).unwrap().status = TaskStatus::Running;

        let c = &describe(&mut env, &["web"], &[F::Statistics]).clusters.unwrap()[0];
        assert_eq!(c.registered_container_instances_count, Some(1));
        assert_eq!(c.running_tasks_count, Some(1));
        assert_eq!(c.pending_tasks_count, Some(1));
        let stats = c.statistics.as_ref().unwrap();
        let stat = |n: &str| {
            stats
                .iter()
                .find(|s| s.name.as_deref() == Some(n))
                .unwrap()
                .value
                .clone()
                .unwrap()
        };
        assert_eq!(stat("runningEC2TasksCount"), "1");
        assert_eq!(stat("pendingEC2TasksCount"), "1");
        assert_eq!(stat("runningFargateTasksCount"), "0");

        let delete = |env: &mut Env| {
            env.call(|h| {
                delete_cluster(
                    h,
                    api::DeleteClusterRequest {
                        cluster: "web".into(),
                    },
                )
            })
        };
        assert_eq!(
            delete(&mut env).unwrap_err().code,
            "ClusterContainsTasksException"
        );
        for id in [&running, &pending] {
            env.world.ecs.task_mut(id).unwrap().status = TaskStatus::Stopped;
        }
        let e = delete(&mut env).unwrap_err();
        assert_eq!(e.code, "ClusterContainsContainerInstancesException");
        assert_eq!(
            e.message,
            "The Cluster cannot be deleted while Container Instances are active or draining."
        );
        env.world
            .ecs
            .clusters
            .get_mut("web")
            .unwrap()
            .container_instances
            .get_mut(&instance)
            .unwrap()
            .status = "INACTIVE".into();
        let c = delete(&mut env).unwrap().cluster.unwrap();
        assert_eq!(c.status.as_deref(), Some("INACTIVE"));
        assert_eq!(delete(&mut env).unwrap_err().code, "ClusterNotFoundException");
        let described = describe(&mut env, &["web"], &[]);
        assert_eq!(described.clusters.unwrap()[0].status.as_deref(), Some("INACTIVE"));

        // Re-creating replaces the INACTIVE cluster and forgets its tasks.
        let c = create(&mut env, named("web")).unwrap();
        assert_eq!(c.status.as_deref(), Some("ACTIVE"));
        assert!(env.world.ecs.clusters["web"].tasks.is_empty());
        assert!(!env.world.ecs.task_cluster.contains_key(&running));
    }

    #[test]
    fn delete_refuses_clusters_with_services() {
        let mut env = Env::new();
        create(&mut env, named("web")).unwrap();
        let td = bridge_definition(&mut env);
        let input = api::CreateServiceRequest {
            cluster: Some("web".into()),
            service_name: "api".into(),
            task_definition: Some(td),
            desired_count: Some(0),
            launch_type: Some(api::LaunchType::Ec2),
            ..Default::default()
        };
        env.call(|h| crate::ecs::services::create_service(h, input))
            .unwrap();
        let c = &describe(&mut env, &["web"], &[]).clusters.unwrap()[0];
        assert_eq!(c.active_services_count, Some(1));
        let e = env
            .call(|h| {
                delete_cluster(
                    h,
                    api::DeleteClusterRequest {
                        cluster: "web".into(),
                    },
                )
            })
            .unwrap_err();
        assert_eq!(e.code, "ClusterContainsServicesException");
        assert_eq!(
            e.message,
            "The Cluster cannot be deleted while Services are active."
        );
    }

    #[test]
    fn put_capacity_providers_validates_strategy() {
        let mut env = Env::new();
        create(&mut env, named("web")).unwrap();
        let put = |env: &mut Env, providers: &[&str], items: Vec<api::CapacityProviderStrategyItem>| {
            let input = api::PutClusterCapacityProvidersRequest {
                cluster: "web".into(),
                capacity_providers: providers.iter().map(|p| p.to_string()).collect(),
                default_capacity_provider_strategy: items,
            };
            env.call(|h| put_cluster_capacity_providers(h, input))
        };
        let c = put(
            &mut env,
            &["FARGATE", "FARGATE_SPOT"],
            vec![
                strategy("FARGATE", Some(1), Some(2)),
                strategy("FARGATE_SPOT", Some(3), None),
            ],
        )
        .unwrap()
        .cluster
        .unwrap();
        assert_eq!(c.capacity_providers.unwrap(), ["FARGATE", "FARGATE_SPOT"]);
        assert_eq!(c.default_capacity_provider_strategy.unwrap().len(), 2);
        assert_eq!(c.attachments_status.as_deref(), Some("UPDATE_COMPLETE"));
        let code = |r: R<api::PutClusterCapacityProvidersResponse>| r.unwrap_err().code;
        assert_eq!(
            code(put(&mut env, &["EC2_ASG"], vec![])),
            "InvalidParameterException"
        );
        assert_eq!(
            code(put(
                &mut env,
                &["FARGATE"],
                vec![strategy("FARGATE_SPOT", None, None)]
            )),
            "InvalidParameterException"
        );
        assert_eq!(
            code(put(
                &mut env,
                &["FARGATE", "FARGATE_SPOT"],
                vec![
                    strategy("FARGATE", None, Some(1)),
                    strategy("FARGATE_SPOT", None, Some(1))
                ]
            )),
            "InvalidParameterException"
        );
        assert_eq!(
            code(put(
                &mut env,
                &["FARGATE"],
                vec![strategy("FARGATE", Some(1001), None)]
            )),
            "InvalidParameterException"
        );
        assert_eq!(
            code(put(
                &mut env,
                &["FARGATE"],
                vec![
                    strategy("FARGATE", Some(1), None),
                    strategy("FARGATE", None, None)
                ]
            )),
            "InvalidParameterException"
        );
        let missing = env.call(|h| {
            put_cluster_capacity_providers(
                h,
                api::PutClusterCapacityProvidersRequest {
                    cluster: "nope".into(),
                    ..Default::default()
                },
            )
        });
        assert_eq!(missing.unwrap_err().code, "ClusterNotFoundException");
        let c = put(&mut env, &[], vec![]).unwrap().cluster.unwrap();
        assert_eq!(c.capacity_providers, Some(vec![]));
    }

    #[test]
    fn describe_capacity_providers_lists_fargate_with_failures_and_pages() {
        let mut env = Env::new();
        let describe = |env: &mut Env, input: api::DescribeCapacityProvidersRequest| {
            env.call(|h| describe_capacity_providers(h, input)).unwrap()
        };
        let all = describe(&mut env, api::DescribeCapacityProvidersRequest::default());
        let providers = all.capacity_providers.unwrap();
        assert_eq!(providers.len(), 2);
        assert_eq!(
            providers[0].capacity_provider_arn.as_deref(),
            Some(format!("{ARN_PREFIX}capacity-provider/FARGATE").as_str())
        );
        assert_eq!(providers[1].r#type, Some(api::CapacityProviderType::FargateSpot));
        assert_eq!(providers[0].status, Some(api::CapacityProviderStatus::Active));
        assert_eq!(providers[0].tags, None);

        let some = describe(
            &mut env,
            api::DescribeCapacityProvidersRequest {
                capacity_providers: Some(vec![
                    format!("{ARN_PREFIX}capacity-provider/FARGATE_SPOT"),
                    "EC2".into(),
                ]),
                include: Some(vec![api::CapacityProviderField::Tags]),
                ..Default::default()
            },
        );
        let providers = some.capacity_providers.unwrap();
        assert_eq!(providers.len(), 1);
        assert_eq!(providers[0].tags, Some(vec![]));
        assert_eq!(some.failures.unwrap()[0].reason.as_deref(), Some("MISSING"));

        let first = describe(
            &mut env,
            api::DescribeCapacityProvidersRequest {
                max_results: Some(1),
                ..Default::default()
            },
        );
        assert_eq!(
            first.capacity_providers.unwrap()[0].name.as_deref(),
            Some("FARGATE")
        );
        let second = describe(
            &mut env,
            api::DescribeCapacityProvidersRequest {
                next_token: first.next_token,
                ..Default::default()
            },
        );
        assert_eq!(
            second.capacity_providers.unwrap()[0].name.as_deref(),
            Some("FARGATE_SPOT")
        );
        assert!(second.next_token.is_none());

        create(&mut env, named("web")).unwrap();
        let of_cluster = describe(
            &mut env,
            api::DescribeCapacityProvidersRequest {
                cluster: Some("web".into()),
                ..Default::default()
            },
        );
        assert!(of_cluster.capacity_providers.unwrap().is_empty());
        let e = env.call(|h| {
            describe_capacity_providers(
                h,
                api::DescribeCapacityProvidersRequest {
                    max_results: Some(11),
                    ..Default::default()
                },
            )
        });
        assert_eq!(e.unwrap_err().code, "InvalidParameterException");
    }
}
