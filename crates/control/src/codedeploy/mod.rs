//! CodeDeploy for ECS on the deterministic core: applications, deployment configs, deployment
//! groups and blue/green deployments of task sets, run on the one deployment executor.
//!
//! Handlers change state and schedule the deployment controller; nothing here does IO: hooks are
//! invocations the edge performs.

pub mod applications;
pub mod appspec;
pub mod common;
pub mod configs;
pub mod deployment_configs;
pub mod deployments;
pub mod groups;
pub mod revisions;
pub mod run;
pub mod state;
pub mod tags;
#[cfg(test)]
mod tests;

use ecsim_api::codedeploy::{self as api, CodeDeployApi};
use ecsim_protocol::AwsError;

use crate::engine::Ctx;
use crate::world::World;

type R<T> = Result<T, AwsError>;

/// The CodeDeploy API bound to one world for one call.
pub struct CodeDeployHandler<'a, 'b> {
    pub world: &'a mut World,
    pub ctx: &'a mut Ctx<'b>,
}

impl CodeDeployApi for CodeDeployHandler<'_, '_> {
    // applications
    fn create_application(&mut self, input: api::CreateApplicationInput) -> R<api::CreateApplicationOutput> {
        applications::create_application(self, input)
    }
    fn get_application(&mut self, input: api::GetApplicationInput) -> R<api::GetApplicationOutput> {
        applications::get_application(self, input)
    }
    fn batch_get_applications(
        &mut self,
        input: api::BatchGetApplicationsInput,
    ) -> R<api::BatchGetApplicationsOutput> {
        applications::batch_get_applications(self, input)
    }
    fn list_applications(&mut self, input: api::ListApplicationsInput) -> R<api::ListApplicationsOutput> {
        applications::list_applications(self, input)
    }
    fn update_application(&mut self, input: api::UpdateApplicationInput) -> R<()> {
        applications::update_application(self, input)
    }
    fn delete_application(&mut self, input: api::DeleteApplicationInput) -> R<()> {
        applications::delete_application(self, input)
    }

    // deployment configs
    fn create_deployment_config(
        &mut self,
        input: api::CreateDeploymentConfigInput,
    ) -> R<api::CreateDeploymentConfigOutput> {
        deployment_configs::create_deployment_config(self, input)
    }
    fn get_deployment_config(
        &mut self,
        input: api::GetDeploymentConfigInput,
    ) -> R<api::GetDeploymentConfigOutput> {
        deployment_configs::get_deployment_config(self, input)
    }
    fn list_deployment_configs(
        &mut self,
        input: api::ListDeploymentConfigsInput,
    ) -> R<api::ListDeploymentConfigsOutput> {
        deployment_configs::list_deployment_configs(self, input)
    }
    fn delete_deployment_config(&mut self, input: api::DeleteDeploymentConfigInput) -> R<()> {
        deployment_configs::delete_deployment_config(self, input)
    }

    // deployment groups
    fn create_deployment_group(
        &mut self,
        input: api::CreateDeploymentGroupInput,
    ) -> R<api::CreateDeploymentGroupOutput> {
        groups::create_deployment_group(self, input)
    }
    fn get_deployment_group(
        &mut self,
        input: api::GetDeploymentGroupInput,
    ) -> R<api::GetDeploymentGroupOutput> {
        groups::get_deployment_group(self, input)
    }
    fn batch_get_deployment_groups(
        &mut self,
        input: api::BatchGetDeploymentGroupsInput,
    ) -> R<api::BatchGetDeploymentGroupsOutput> {
        groups::batch_get_deployment_groups(self, input)
    }
    fn list_deployment_groups(
        &mut self,
        input: api::ListDeploymentGroupsInput,
    ) -> R<api::ListDeploymentGroupsOutput> {
        groups::list_deployment_groups(self, input)
    }
    fn update_deployment_group(
        &mut self,
        input: api::UpdateDeploymentGroupInput,
    ) -> R<api::UpdateDeploymentGroupOutput> {
        groups::update_deployment_group(self, input)
    }
    fn delete_deployment_group(
        &mut self,
        input: api::DeleteDeploymentGroupInput,
    ) -> R<api::DeleteDeploymentGroupOutput> {
        groups::delete_deployment_group(self, input)
    }

    // deployments
    fn create_deployment(&mut self, input: api::CreateDeploymentInput) -> R<api::CreateDeploymentOutput> {
        deployments::create_deployment(self, input)
    }
    fn get_deployment(&mut self, input: api::GetDeploymentInput) -> R<api::GetDeploymentOutput> {
        deployments::get_deployment(self, input)
    }
    fn batch_get_deployments(
        &mut self,
        input: api::BatchGetDeploymentsInput,
    ) -> R<api::BatchGetDeploymentsOutput> {
        deployments::batch_get_deployments(self, input)
    }
    fn list_deployments(&mut self, input: api::ListDeploymentsInput) -> R<api::ListDeploymentsOutput> {
        deployments::list_deployments(self, input)
    }
    fn stop_deployment(&mut self, input: api::StopDeploymentInput) -> R<api::StopDeploymentOutput> {
        deployments::stop_deployment(self, input)
    }
    fn continue_deployment(&mut self, input: api::ContinueDeploymentInput) -> R<()> {
        deployments::continue_deployment(self, input)
    }
    fn skip_wait_time_for_instance_termination(
        &mut self,
        input: api::SkipWaitTimeForInstanceTerminationInput,
    ) -> R<()> {
        deployments::skip_wait_time_for_instance_termination(self, input)
    }

    // application revisions
    fn register_application_revision(&mut self, input: api::RegisterApplicationRevisionInput) -> R<()> {
        revisions::register_application_revision(self, input)
    }
    fn get_application_revision(
        &mut self,
        input: api::GetApplicationRevisionInput,
    ) -> R<api::GetApplicationRevisionOutput> {
        revisions::get_application_revision(self, input)
    }
    fn batch_get_application_revisions(
        &mut self,
        input: api::BatchGetApplicationRevisionsInput,
    ) -> R<api::BatchGetApplicationRevisionsOutput> {
        revisions::batch_get_application_revisions(self, input)
    }
    fn list_application_revisions(
        &mut self,
        input: api::ListApplicationRevisionsInput,
    ) -> R<api::ListApplicationRevisionsOutput> {
        revisions::list_application_revisions(self, input)
    }
    fn put_lifecycle_event_hook_execution_status(
        &mut self,
        input: api::PutLifecycleEventHookExecutionStatusInput,
    ) -> R<api::PutLifecycleEventHookExecutionStatusOutput> {
        deployments::put_lifecycle_event_hook_execution_status(self, input)
    }
    fn get_deployment_target(
        &mut self,
        input: api::GetDeploymentTargetInput,
    ) -> R<api::GetDeploymentTargetOutput> {
        deployments::get_deployment_target(self, input)
    }
    fn batch_get_deployment_targets(
        &mut self,
        input: api::BatchGetDeploymentTargetsInput,
    ) -> R<api::BatchGetDeploymentTargetsOutput> {
        deployments::batch_get_deployment_targets(self, input)
    }
    fn list_deployment_targets(
        &mut self,
        input: api::ListDeploymentTargetsInput,
    ) -> R<api::ListDeploymentTargetsOutput> {
        deployments::list_deployment_targets(self, input)
    }

    // tags
    fn tag_resource(&mut self, input: api::TagResourceInput) -> R<api::TagResourceOutput> {
        tags::tag_resource(self, input)
    }
    fn untag_resource(&mut self, input: api::UntagResourceInput) -> R<api::UntagResourceOutput> {
        tags::untag_resource(self, input)
    }
    fn list_tags_for_resource(
        &mut self,
        input: api::ListTagsForResourceInput,
    ) -> R<api::ListTagsForResourceOutput> {
        tags::list_tags_for_resource(self, input)
    }
}

/// Every deployment id, for the state export.
pub fn deployment_ids(world: &World) -> Vec<String> {
    world.codedeploy.order.clone()
}

/// Runs a deployment's controller (a `TimerKind::CodeDeploy` timer came due).
pub fn on_timer(world: &mut World, ctx: &mut Ctx<'_>, deployment_id: &str) {
    run::drive(world, ctx, deployment_id);
}
