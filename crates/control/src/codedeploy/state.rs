//! CodeDeploy resources of one world as plain data: applications, custom deployment configs,
//! deployment groups and deployments (with the executor that runs each one).
//!
//! Group and deployment settings are kept as the API shapes they arrived in, so every Get renders
//! them back exactly. Nothing here has behaviour beyond small lookups.

use std::collections::BTreeMap;

use ecsim_api::codedeploy as api;
use ecsim_core::Millis;

use super::appspec::AppSpec;
use super::configs::TrafficRouting;
use crate::deploy::Executor;

/// Tags of one resource, in the order given.
pub type TagList = Vec<api::Tag>;

#[derive(Debug, Clone, Default)]
pub struct CodeDeployState {
    /// Applications by name.
    pub applications: BTreeMap<String, ApplicationRecord>,
    /// Custom deployment configs by name (the predefined ones live in `configs::PREDEFINED`).
    pub configs: BTreeMap<String, ConfigRecord>,
    /// Deployment groups by (application name, group name).
    pub groups: BTreeMap<(String, String), GroupRecord>,
    /// Deployments by id.
    pub deployments: BTreeMap<String, DeploymentRecord>,
    /// Deployment ids, oldest first.
    pub order: Vec<String>,
}

impl CodeDeployState {
    pub fn group(&self, application: &str, group: &str) -> Option<&GroupRecord> {
        self.groups.get(&(application.to_string(), group.to_string()))
    }

    pub fn group_mut(&mut self, application: &str, group: &str) -> Option<&mut GroupRecord> {
        self.groups.get_mut(&(application.to_string(), group.to_string()))
    }

    /// The deployment of a group that is still running, if any (one at a time per group).
    pub fn active_deployment(&self, application: &str, group: &str) -> Option<&DeploymentRecord> {
        self.deployments
            .values()
            .find(|d| d.application == application && d.group == group && d.is_active())
    }
}

#[derive(Debug, Clone)]
pub struct ApplicationRecord {
    pub id: String,
    pub name: String,
    pub compute_platform: api::ComputePlatform,
    pub created_at_ms: Millis,
    pub tags: TagList,
    /// Registered or used revisions, oldest registration first.
    pub revisions: Vec<super::revisions::RevisionRecord>,
}

#[derive(Debug, Clone)]
pub struct ConfigRecord {
    pub id: String,
    pub name: String,
    pub compute_platform: api::ComputePlatform,
    /// ECS and Lambda configs.
    pub routing: Option<TrafficRouting>,
    /// Server configs, as given.
    pub minimum_healthy_hosts: Option<api::MinimumHealthyHosts>,
    pub zonal_config: Option<api::ZonalConfig>,
    pub created_at_ms: Millis,
}

/// What a group's last attempted / last successful deployment was.
#[derive(Debug, Clone)]
pub struct LastDeployment {
    pub deployment_id: String,
    pub status: api::DeploymentStatus,
    pub end_ms: Option<Millis>,
    pub created_at_ms: Millis,
}

#[derive(Debug, Clone)]
pub struct GroupRecord {
    pub id: String,
    pub application: String,
    pub name: String,
    pub service_role_arn: String,
    /// The group's deployment config (`CodeDeployDefault.ECSAllAtOnce` when none was given).
    pub config_name: String,
    pub compute_platform: api::ComputePlatform,
    pub ecs_services: Vec<api::ECSService>,
    pub load_balancer_info: Option<api::LoadBalancerInfo>,
    pub blue_green: Option<api::BlueGreenDeploymentConfiguration>,
    pub alarm_configuration: Option<api::AlarmConfiguration>,
    pub auto_rollback: Option<api::AutoRollbackConfiguration>,
    pub deployment_style: Option<api::DeploymentStyle>,
    pub trigger_configurations: Vec<api::TriggerConfig>,
    pub tags: TagList,
    pub last_attempted: Option<LastDeployment>,
    pub last_successful: Option<LastDeployment>,
    /// The revision of the last successful deployment.
    pub target_revision: Option<api::RevisionLocation>,
}

/// One lifecycle event of a deployment's ECS target.
#[derive(Debug, Clone)]
pub struct LifecycleEventRecord {
    pub name: &'static str,
    pub status: api::LifecycleEventStatus,
    pub start_ms: Option<Millis>,
    pub end_ms: Option<Millis>,
    pub diagnostics: Option<api::Diagnostics>,
    /// The hook's function (name or ARN) and the execution id it reports back with.
    pub hook: Option<HookExecution>,
}

#[derive(Debug, Clone)]
pub struct HookExecution {
    pub function: String,
    pub execution_id: String,
}

/// What StopDeployment asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StopRequest {
    pub rollback: bool,
}

/// Why a deployment failed, as the router saw it at a gate.
#[derive(Debug, Clone)]
pub struct GateFailure {
    pub code: api::ErrorCode,
    /// Stopped (a ready wait that ran out) or Failed.
    pub status: api::DeploymentStatus,
}

/// Where a deployment's traffic goes: the target group pair resolved to ARNs and the listeners.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrafficPlan {
    /// The target group serving production when the deployment began (blue).
    pub original_tg_arn: String,
    pub original_tg_name: String,
    /// The other one of the pair, where the replacement registers (green).
    pub replacement_tg_arn: String,
    pub replacement_tg_name: String,
    pub prod_listener_arns: Vec<String>,
    pub test_listener_arns: Vec<String>,
    /// Forward weights of each listener before the deployment touched it, to restore on rollback.
    pub saved_weights: Vec<(String, Vec<(String, i32)>)>,
}

#[derive(Debug, Clone)]
pub struct DeploymentRecord {
    pub id: String,
    pub application: String,
    pub group: String,
    pub config_name: String,
    pub creator: api::DeploymentCreator,
    pub description: Option<String>,
    pub status: api::DeploymentStatus,
    pub error: Option<api::ErrorInformation>,
    pub rollback_info: Option<api::RollbackInfo>,
    pub created_at_ms: Millis,
    pub started_at_ms: Option<Millis>,
    pub completed_at_ms: Option<Millis>,
    pub revision: Option<api::RevisionLocation>,
    /// What the AppSpec asks for (a rollback deployment has none: it restores the original).
    pub appspec: Option<AppSpec>,
    pub cluster: String,
    pub service: String,
    pub service_arn: String,
    /// Settings taken from the group (and the request's overrides) when the deployment began.
    pub load_balancer_info: Option<api::LoadBalancerInfo>,
    pub blue_green: Option<api::BlueGreenDeploymentConfiguration>,
    pub alarm_configuration: Option<api::AlarmConfiguration>,
    pub auto_rollback: Option<api::AutoRollbackConfiguration>,
    pub deployment_style: Option<api::DeploymentStyle>,
    pub traffic: Option<TrafficPlan>,
    pub original_task_set: String,
    pub replacement_task_set: Option<String>,
    /// Percent of production traffic on the replacement.
    pub replacement_weight_pct: u32,
    pub events: Vec<LifecycleEventRecord>,
    /// Taken out while the controller runs it.
    pub execution: Option<Executor>,
    pub stop_request: Option<StopRequest>,
    pub continue_ready: bool,
    pub continue_termination: bool,
    pub termination_wait_started: bool,
    pub gate_failure: Option<GateFailure>,
    pub status_messages: Vec<String>,
    pub last_updated_ms: Millis,
}

impl DeploymentRecord {
    /// Still running: a second deployment of its group is refused.
    pub fn is_active(&self) -> bool {
        matches!(
            self.status,
            api::DeploymentStatus::Created
                | api::DeploymentStatus::Queued
                | api::DeploymentStatus::InProgress
                | api::DeploymentStatus::Ready
                | api::DeploymentStatus::Baking
        )
    }

    pub fn event(&self, name: &str) -> Option<&LifecycleEventRecord> {
        self.events.iter().find(|e| e.name == name)
    }

    pub fn event_mut(&mut self, name: &str) -> Option<&mut LifecycleEventRecord> {
        self.events.iter_mut().find(|e| e.name == name)
    }

    /// `<cluster>:<service>`, the id of the deployment's one ECS target.
    pub fn target_id(&self) -> String {
        format!("{}:{}", self.cluster, self.service)
    }
}
