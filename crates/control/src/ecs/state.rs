//! ECS resources of one world as plain data: clusters with their services, tasks and container
//! instances; task definition families; account settings.
//!
//! Task definitions and other pure configuration are kept as the API shapes they arrive in, so
//! every field round-trips; resources with behaviour (tasks, services, deployments) are our own
//! types, rendered to API shapes on describe.

use std::collections::{BTreeMap, VecDeque};

use ecsim_api::ecs as api;
use ecsim_core::Millis;

use crate::runtime::Behaviour;

/// Tags as the ECS API carries them (`key`/`value` pairs, order kept).
pub type TagList = Vec<api::Tag>;

#[derive(Debug, Clone, Default)]
pub struct EcsState {
    /// Clusters by name, ACTIVE and INACTIVE (deleted clusters stay describable).
    pub clusters: BTreeMap<String, ClusterRecord>,
    /// Task definition families by name.
    pub families: BTreeMap<String, Family>,
    /// Account settings set for a principal (`principalArn` → name → value); the account itself
    /// is the principal `arn:aws:iam::<account>:root`.
    pub account_settings: BTreeMap<String, BTreeMap<String, String>>,
    /// Account defaults set with PutAccountSettingDefault.
    pub account_setting_defaults: BTreeMap<String, String>,
    /// Where each task id lives, so timers find tasks without a cluster name.
    pub task_cluster: BTreeMap<String, String>,
    /// Tags of the account's capacity providers (`FARGATE`, `FARGATE_SPOT`) by name.
    /// Service revisions by ARN.
    pub service_revisions: BTreeMap<String, ServiceRevisionRecord>,
    /// Service deployments by ARN.
    pub service_deployments: BTreeMap<String, ServiceDeploymentRecord>,
    /// `(family, revision)` of revisions in DELETE_IN_PROGRESS, waiting for their last user to go;
    /// kept so the purge costs nothing while no deletion is pending.
    pub pending_deletions: std::collections::BTreeSet<(String, i32)>,
    pub capacity_provider_tags: BTreeMap<String, TagList>,
}

impl EcsState {
    pub fn task_count(&self) -> usize {
        self.task_cluster.len()
    }

    /// A service of a cluster.
    pub fn service(&self, cluster: &str, service: &str) -> Option<&ServiceRecord> {
        self.clusters.get(cluster).and_then(|c| c.services.get(service))
    }

    pub fn service_mut(&mut self, cluster: &str, service: &str) -> Option<&mut ServiceRecord> {
        self.clusters
            .get_mut(cluster)
            .and_then(|c| c.services.get_mut(service))
    }

    /// The task with `task_id`, wherever it runs.
    pub fn task(&self, task_id: &str) -> Option<&TaskRecord> {
        let cluster = self.task_cluster.get(task_id)?;
        self.clusters.get(cluster)?.tasks.get(task_id)
    }

    /// The task with `task_id`, wherever it runs, for changing.
    pub fn task_mut(&mut self, task_id: &str) -> Option<&mut TaskRecord> {
        let cluster = self.task_cluster.get(task_id)?;
        self.clusters.get_mut(cluster)?.tasks.get_mut(task_id)
    }
}

#[derive(Debug, Clone)]
pub struct ClusterRecord {
    pub name: String,
    pub arn: String,
    /// `ACTIVE` or `INACTIVE`.
    pub status: String,
    pub settings: Vec<api::ClusterSetting>,
    pub configuration: Option<api::ClusterConfiguration>,
    pub capacity_providers: Vec<String>,
    pub default_capacity_provider_strategy: Vec<api::CapacityProviderStrategyItem>,
    pub service_connect_defaults: Option<api::ClusterServiceConnectDefaults>,
    pub tags: TagList,
    pub services: BTreeMap<String, ServiceRecord>,
    /// Tasks by id (the last ARN segment).
    pub tasks: BTreeMap<String, TaskRecord>,
    /// Container instances by id (the last ARN segment).
    pub container_instances: BTreeMap<String, ContainerInstanceRecord>,
    /// Live tasks (desired RUNNING) per task group and AZ: the load spread placement balances,
    /// kept up to date so placement does not scan every task.
    pub live_load: BTreeMap<String, BTreeMap<String, usize>>,
    /// Task ids of each service (until they leave the cluster), so services never scan every task.
    pub service_tasks: BTreeMap<String, std::collections::BTreeSet<String>>,
}

impl ClusterRecord {
    /// Counts a task of `group` in `zone` as live (`delta` +1) or no longer live (-1).
    pub fn adjust_load(&mut self, group: &str, zone: &str, up: bool) {
        let zones = self.live_load.entry(group.to_string()).or_default();
        let n = zones.entry(zone.to_string()).or_insert(0);
        if up {
            *n += 1;
        } else {
            *n = n.saturating_sub(1);
        }
    }

    /// The tasks of a service.
    pub fn tasks_of_service<'c>(&'c self, service: &str) -> impl Iterator<Item = &'c TaskRecord> + 'c {
        self.service_tasks
            .get(service)
            .into_iter()
            .flatten()
            .filter_map(|id| self.tasks.get(id))
    }
}

/// The revisions of one family. Revision numbers are never reused, even after deletion.
#[derive(Debug, Clone, Default)]
pub struct Family {
    pub last_revision: i32,
    pub revisions: BTreeMap<i32, TaskDefinitionRecord>,
}

#[derive(Debug, Clone)]
pub struct TaskDefinitionRecord {
    /// Exactly what DescribeTaskDefinition returns.
    pub definition: api::TaskDefinition,
    pub tags: TagList,
}

/// The lifecycle of a task, in order. `lastStatus` is the name of the variant in upper case.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum TaskStatus {
    Provisioning,
    Pending,
    Activating,
    Running,
    Deactivating,
    Stopping,
    Deprovisioning,
    Stopped,
}

impl TaskStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            TaskStatus::Provisioning => "PROVISIONING",
            TaskStatus::Pending => "PENDING",
            TaskStatus::Activating => "ACTIVATING",
            TaskStatus::Running => "RUNNING",
            TaskStatus::Deactivating => "DEACTIVATING",
            TaskStatus::Stopping => "STOPPING",
            TaskStatus::Deprovisioning => "DEPROVISIONING",
            TaskStatus::Stopped => "STOPPED",
        }
    }

    /// Before RUNNING: counts as pending for services and clusters.
    pub fn is_pending(self) -> bool {
        self < TaskStatus::Running
    }
}

/// Where a task runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaskPlacement {
    pub availability_zone: String,
    /// awsvpc tasks: the subnet and the address taken from it.
    pub subnet_id: Option<String>,
    pub private_ip: Option<String>,
    /// EC2 launch type: the container instance id.
    pub container_instance_id: Option<String>,
}

#[derive(Debug, Clone)]
pub struct ContainerRecord {
    pub name: String,
    pub image: String,
    pub container_arn: String,
    pub runtime_id: String,
    pub essential: bool,
    /// PENDING, RUNNING or STOPPED.
    pub last_status: &'static str,
    pub exit_code: Option<i32>,
    pub reason: Option<String>,
    /// None when the container has no health check (reported as UNKNOWN).
    pub health_status: Option<api::HealthStatus>,
    pub has_health_check: bool,
    pub cpu: Option<String>,
    pub memory: Option<String>,
    pub memory_reservation: Option<String>,
    pub behaviour: Behaviour,
    /// Seconds between health checks (for the first check after RUNNING).
    pub health_interval_ms: Millis,
    pub health_start_period_ms: Millis,
    pub health_retries: u32,
    /// Port mappings as registered, for network bindings.
    pub port_mappings: Vec<api::PortMapping>,
    /// Why the container cannot start faithfully (`secrets`, `environmentFiles`…): the task
    /// fails to start with this reason on every runtime.
    pub refusal: Option<String>,
    /// External runtime: the runtime's container id (reported as `runtimeId`) and where the
    /// host reaches each published port.
    pub runtime: Option<Box<ExternalContainer>>,
}

impl ContainerRecord {
    /// `runtimeId` as the API reports it: the external runtime's container id when there is one.
    pub fn reported_runtime_id(&self) -> &str {
        self.runtime.as_ref().map_or(&self.runtime_id, |r| &r.runtime_id)
    }

    /// The host port the API reports for a port mapping of this container: the mapping's own
    /// `hostPort`, else (bridge mode, dynamic) the port the runtime published, else the container
    /// port. `None` for a mapping without a container port.
    pub fn reported_host_port(&self, network_mode: api::NetworkMode, pm: &api::PortMapping) -> Option<i32> {
        let container_port = pm.container_port?;
        let published = self.runtime.as_ref().and_then(|r| {
            r.bindings
                .iter()
                .find(|b| i32::from(b.container_port) == container_port)
                .map(|b| i32::from(b.host_port))
        });
        Some(match pm.host_port.filter(|p| *p != 0) {
            Some(p) => p,
            None if network_mode == api::NetworkMode::Bridge => published.unwrap_or(container_port),
            None => container_port,
        })
    }
}

/// What an external runtime reported about a started container.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExternalContainer {
    pub runtime_id: String,
    pub bindings: Vec<crate::task_runtime::PortBinding>,
}

#[derive(Debug, Clone)]
pub struct TaskRecord {
    pub id: String,
    pub arn: String,
    pub cluster_name: String,
    pub cluster_arn: String,
    pub task_definition_arn: String,
    pub family: String,
    pub group: String,
    pub started_by: Option<String>,
    /// The service that owns the task and the deployment that started it.
    pub service_name: Option<String>,
    pub deployment_id: Option<String>,
    pub launch_type: Option<api::LaunchType>,
    pub capacity_provider_name: Option<String>,
    pub platform_version: Option<String>,
    pub platform_family: Option<String>,
    pub cpu: Option<String>,
    pub memory: Option<String>,
    pub network_mode: api::NetworkMode,
    pub placement: TaskPlacement,
    pub attachment_id: Option<String>,
    pub eni_id: Option<String>,
    pub mac_address: Option<String>,
    pub status: TaskStatus,
    /// `RUNNING` or `STOPPED`.
    pub desired_status: &'static str,
    /// When the next lifecycle step is due; timers for other times are stale.
    pub next_step_at_ms: Option<Millis>,
    pub created_at_ms: Millis,
    pub pull_started_at_ms: Option<Millis>,
    pub pull_stopped_at_ms: Option<Millis>,
    pub started_at_ms: Option<Millis>,
    pub connectivity_at_ms: Option<Millis>,
    pub stopping_at_ms: Option<Millis>,
    pub execution_stopped_at_ms: Option<Millis>,
    pub stopped_at_ms: Option<Millis>,
    pub stop_code: Option<api::TaskStopCode>,
    pub stopped_reason: Option<String>,
    /// Whether the stop ends with containers killed after `stopTimeout`.
    pub stop_timeout_ms: Millis,
    pub containers: Vec<ContainerRecord>,
    pub overrides: api::TaskOverride,
    pub tags: TagList,
    pub enable_execute_command: bool,
    pub ephemeral_storage_gib: Option<i32>,
    /// Incremented on every state change, as `version` in the API.
    pub version: i64,
    /// Whether the task ever reached RUNNING (failed starts count against deployments).
    pub reached_running: bool,
    /// Whether it was ever counted healthy (RUNNING with no health checks, or its checks
    /// passed): a task that exits on its own before that failed to reach a steady state, and the
    /// circuit breaker counts it.
    pub became_healthy: bool,
    /// While RUNNING: when an essential or other container exits on its own.
    pub exit_at_ms: Option<Millis>,
    /// While RUNNING: when container health checks report next.
    pub health_check_at_ms: Option<Millis>,
    /// Picked by AZ rebalancing to move: replaced elsewhere first, then stopped.
    pub moving: bool,
    /// External runtime: what to start, kept until the start command goes out.
    pub launch: Option<Box<crate::task_runtime::TaskLaunch>>,
    /// The task role's credentials id on the credentials endpoint (tasks with a task role).
    pub credentials_id: Option<String>,
    pub task_role_arn: Option<String>,
    /// Load balancer targets this task is registered as (service tasks behind target groups).
    pub lb_targets: Vec<LbTarget>,
    /// Health as the task's load balancers see it: HEALTHY once every target is healthy,
    /// UNHEALTHY when one is unhealthy; `None` without targets.
    pub lb_health: Option<api::HealthStatus>,
    /// External runtime: the last measured (CPU %, memory %) of the task's reservation.
    pub measured_utilization: Option<(f64, f64)>,
}

/// One target a task is registered as.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LbTarget {
    pub target_group_arn: String,
    pub id: String,
    pub port: u16,
    /// Deregistered and draining; the task stops once every target has drained.
    pub draining: bool,
}

impl TaskRecord {
    pub fn is_live(&self) -> bool {
        self.desired_status == "RUNNING"
    }
}

#[derive(Debug, Clone)]
pub struct DeploymentRecord {
    pub id: String,
    /// `PRIMARY` or `ACTIVE`.
    pub status: &'static str,
    pub task_definition_arn: String,
    pub desired_count: i32,
    pub failed_tasks: i32,
    pub created_at_ms: Millis,
    pub updated_at_ms: Millis,
    pub launch_type: Option<api::LaunchType>,
    pub capacity_provider_strategy: Vec<api::CapacityProviderStrategyItem>,
    pub platform_version: Option<String>,
    pub platform_family: Option<String>,
    pub network_configuration: Option<api::NetworkConfiguration>,
    pub rollout_state: api::DeploymentRolloutState,
    pub rollout_state_reason: String,
    /// The service deployment (history record) this deployment belongs to.
    pub service_deployment_arn: String,
    /// The service revision it runs.
    pub service_revision_arn: String,
    /// Target groups its tasks register in when they differ from the service's (a blue/green
    /// deployment's green tasks go to the alternate target group).
    pub load_balancers: Option<Vec<api::LoadBalancer>>,
}

#[derive(Debug, Clone)]
pub struct ServiceEventRecord {
    pub id: String,
    pub created_at_ms: Millis,
    pub message: String,
}

/// At most this many events are kept per service, as on AWS.
pub const MAX_SERVICE_EVENTS: usize = 100;

#[derive(Debug, Clone)]
pub struct ServiceRecord {
    pub name: String,
    pub arn: String,
    pub cluster_name: String,
    pub cluster_arn: String,
    /// `ACTIVE`, `DRAINING` or `INACTIVE`.
    pub status: &'static str,
    pub desired_count: i32,
    pub task_definition_arn: String,
    pub launch_type: Option<api::LaunchType>,
    pub capacity_provider_strategy: Vec<api::CapacityProviderStrategyItem>,
    pub platform_version: Option<String>,
    pub platform_family: Option<String>,
    pub deployment_configuration: api::DeploymentConfiguration,
    pub deployment_controller: api::DeploymentController,
    pub network_configuration: Option<api::NetworkConfiguration>,
    pub placement_constraints: Vec<api::PlacementConstraint>,
    pub placement_strategy: Vec<api::PlacementStrategy>,
    pub scheduling_strategy: api::SchedulingStrategy,
    pub health_check_grace_period_seconds: Option<i32>,
    pub availability_zone_rebalancing: api::AvailabilityZoneRebalancing,
    pub enable_ecs_managed_tags: bool,
    pub propagate_tags: Option<api::PropagateTags>,
    pub enable_execute_command: bool,
    pub role_arn: Option<String>,
    pub created_at_ms: Millis,
    pub created_by: String,
    pub tags: TagList,
    /// Newest (PRIMARY) first.
    pub deployments: Vec<DeploymentRecord>,
    /// Newest first, at most [`MAX_SERVICE_EVENTS`].
    pub events: VecDeque<ServiceEventRecord>,
    /// Whether the last placement attempt failed (so the event is not repeated every check).
    pub placement_blocked: bool,
    /// Whether "has reached a steady state" was reported since the last change.
    pub steady_reported: bool,
    /// Whether a controller run is already queued (avoids piling up identical timers).
    pub check_pending: bool,
    /// The revision of the last deployment that completed: where rollbacks go.
    pub last_completed_revision_arn: Option<String>,
    /// The target groups its tasks register in (`loadBalancers`).
    pub load_balancers: Vec<api::LoadBalancer>,
    /// Task sets (EXTERNAL and CODE_DEPLOY controllers), oldest first.
    pub task_sets: Vec<TaskSetRecord>,
}

impl ServiceRecord {
    /// Whether task sets, not deployments, carry this service's tasks.
    pub fn uses_task_sets(&self) -> bool {
        self.deployment_controller.r#type != api::DeploymentControllerType::Ecs
    }

    pub fn task_set(&self, id_or_arn: &str) -> Option<&TaskSetRecord> {
        self.task_sets
            .iter()
            .find(|t| t.id == id_or_arn || t.arn == id_or_arn)
    }

    pub fn task_set_mut(&mut self, id_or_arn: &str) -> Option<&mut TaskSetRecord> {
        self.task_sets
            .iter_mut()
            .find(|t| t.id == id_or_arn || t.arn == id_or_arn)
    }
}

/// `status` of a task set.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TaskSetStatus {
    /// Serves production traffic.
    Primary,
    Active,
    /// Scaling to zero before it is removed.
    Draining,
}

impl TaskSetStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            TaskSetStatus::Primary => "PRIMARY",
            TaskSetStatus::Active => "ACTIVE",
            TaskSetStatus::Draining => "DRAINING",
        }
    }
}

/// A task set: a group of a service's tasks with its own task definition, network
/// configuration, load balancers and scale (EXTERNAL and CODE_DEPLOY controllers).
#[derive(Debug, Clone)]
pub struct TaskSetRecord {
    /// `ecs-svc/<19 digits>`; its tasks carry it as their deployment id and `startedBy`.
    pub id: String,
    pub arn: String,
    pub started_by: Option<String>,
    pub external_id: Option<String>,
    pub status: TaskSetStatus,
    pub task_definition_arn: String,
    pub launch_type: Option<api::LaunchType>,
    pub capacity_provider_strategy: Vec<api::CapacityProviderStrategyItem>,
    pub platform_version: Option<String>,
    pub platform_family: Option<String>,
    pub network_configuration: Option<api::NetworkConfiguration>,
    pub load_balancers: Vec<api::LoadBalancer>,
    pub service_registries: Vec<api::ServiceRegistry>,
    /// `scale.value` in percent of the service's desired count.
    pub scale_pct: f64,
    pub stability_status: api::StabilityStatus,
    pub stability_status_at_ms: Millis,
    pub created_at_ms: Millis,
    pub updated_at_ms: Millis,
    pub tags: TagList,
    /// Tasks that stopped before they ever ran.
    pub failed_tasks: i32,
}

impl TaskSetRecord {
    /// `computedDesiredCount`: the service's desired count times the scale, rounded up.
    pub fn computed_desired_count(&self, service_desired: i32) -> i32 {
        if self.status == TaskSetStatus::Draining {
            return 0;
        }
        let exact = f64::from(service_desired.max(0)) * self.scale_pct / 100.0;
        // Scale is 0–100 and desired counts fit in i32, so the product does too.
        #[allow(clippy::cast_possible_truncation)]
        let count = exact.ceil() as i32;
        count.clamp(0, service_desired.max(0))
    }
}

impl ServiceRecord {
    pub fn push_event(&mut self, id: String, now_ms: Millis, message: String) {
        self.events.push_front(ServiceEventRecord {
            id,
            created_at_ms: now_ms,
            message,
        });
        self.events.truncate(MAX_SERVICE_EVENTS);
    }
}

/// A service revision: the configuration one deployment rolls out (`DescribeServiceRevisions`).
#[derive(Debug, Clone)]
pub struct ServiceRevisionRecord {
    pub arn: String,
    pub service_arn: String,
    pub cluster_arn: String,
    pub task_definition_arn: String,
    pub launch_type: Option<api::LaunchType>,
    pub capacity_provider_strategy: Vec<api::CapacityProviderStrategyItem>,
    pub platform_version: Option<String>,
    pub platform_family: Option<String>,
    pub network_configuration: Option<api::NetworkConfiguration>,
    pub load_balancers: Vec<api::LoadBalancer>,
    pub created_at_ms: Millis,
}

/// What a stop request asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StopRequest {
    Abort,
    Rollback,
}

/// A service deployment: the history record of one rollout, with the executor that runs it.
#[derive(Debug, Clone)]
pub struct ServiceDeploymentRecord {
    pub arn: String,
    pub service_arn: String,
    pub cluster_arn: String,
    pub cluster_name: String,
    pub service_name: String,
    pub created_at_ms: Millis,
    pub started_at_ms: Option<Millis>,
    pub finished_at_ms: Option<Millis>,
    pub stopped_at_ms: Option<Millis>,
    pub updated_at_ms: Millis,
    pub source_revision_arns: Vec<String>,
    pub target_revision_arn: String,
    pub status: api::ServiceDeploymentStatus,
    pub status_reason: Option<String>,
    pub deployment_configuration: api::DeploymentConfiguration,
    pub rollback: Option<api::Rollback>,
    pub circuit_breaker: api::ServiceDeploymentCircuitBreaker,
    pub alarms: api::ServiceDeploymentAlarms,
    /// Whether the circuit breaker / alarms roll back when they trip.
    pub circuit_breaker_rollback: bool,
    pub alarms_rollback: bool,
    pub stop_request: Option<StopRequest>,
    pub execution: crate::deploy::Executor,
    /// BLUE_GREEN / LINEAR / CANARY: the traffic pairs, lifecycle stage and hooks of the run.
    pub blue_green: Option<Box<super::blue_green::BlueGreenRun>>,
}

#[derive(Debug, Clone)]
pub struct ContainerInstanceRecord {
    pub id: String,
    pub arn: String,
    pub ec2_instance_id: String,
    /// `ACTIVE`, `DRAINING`, `INACTIVE`…
    pub status: String,
    pub availability_zone: String,
    pub registered_resources: Vec<api::Resource>,
    pub attributes: Vec<api::Attribute>,
    pub version_info: api::VersionInfo,
    pub registered_at_ms: Millis,
    pub tags: TagList,
    pub capacity_provider_name: Option<String>,
    pub version: i64,
}

impl ContainerInstanceRecord {
    /// Registered integer resource (`CPU`, `MEMORY`).
    pub fn registered(&self, name: &str) -> i64 {
        self.registered_resources
            .iter()
            .find(|r| r.name.as_deref() == Some(name))
            .and_then(|r| r.integer_value.map(i64::from).or(r.long_value))
            .unwrap_or(0)
    }
}
