//! The ECS API on the deterministic core: handlers validate and change desired state; the
//! lifecycle and service controllers move it along on timers.
//!
//! Handlers never sleep, never call a runtime and never write wire bytes.

pub mod account_settings;
pub mod attributes;
pub mod blue_green;
pub mod clusters;
pub mod common;
pub mod container_instances;
pub mod deployments;
pub mod lifecycle;
pub mod load_balancing;
pub mod placement;
pub mod render;
pub mod service_deployments;
pub mod service_loop;
pub mod services;
pub mod state;
pub mod tags;
pub mod task_definitions;
pub mod task_sets;
pub mod tasks;
pub mod utilization;

use ecsim_api::ecs::{self as api, EcsApi};
use ecsim_protocol::AwsError;

use crate::engine::Ctx;
use crate::world::World;

/// The ECS API bound to one world for one call.
pub struct EcsHandler<'a, 'b> {
    pub world: &'a mut World,
    pub ctx: &'a mut Ctx<'b>,
}

type R<T> = Result<T, AwsError>;

impl EcsApi for EcsHandler<'_, '_> {
    // clusters and capacity providers
    fn create_cluster(&mut self, input: api::CreateClusterRequest) -> R<api::CreateClusterResponse> {
        clusters::create_cluster(self, input)
    }
    fn describe_clusters(&mut self, input: api::DescribeClustersRequest) -> R<api::DescribeClustersResponse> {
        clusters::describe_clusters(self, input)
    }
    fn list_clusters(&mut self, input: api::ListClustersRequest) -> R<api::ListClustersResponse> {
        clusters::list_clusters(self, input)
    }
    fn update_cluster(&mut self, input: api::UpdateClusterRequest) -> R<api::UpdateClusterResponse> {
        clusters::update_cluster(self, input)
    }
    fn update_cluster_settings(
        &mut self,
        input: api::UpdateClusterSettingsRequest,
    ) -> R<api::UpdateClusterSettingsResponse> {
        clusters::update_cluster_settings(self, input)
    }
    fn delete_cluster(&mut self, input: api::DeleteClusterRequest) -> R<api::DeleteClusterResponse> {
        clusters::delete_cluster(self, input)
    }
    fn put_cluster_capacity_providers(
        &mut self,
        input: api::PutClusterCapacityProvidersRequest,
    ) -> R<api::PutClusterCapacityProvidersResponse> {
        clusters::put_cluster_capacity_providers(self, input)
    }
    fn describe_capacity_providers(
        &mut self,
        input: api::DescribeCapacityProvidersRequest,
    ) -> R<api::DescribeCapacityProvidersResponse> {
        clusters::describe_capacity_providers(self, input)
    }

    // task definitions
    fn register_task_definition(
        &mut self,
        input: api::RegisterTaskDefinitionRequest,
    ) -> R<api::RegisterTaskDefinitionResponse> {
        task_definitions::register_task_definition(self, input)
    }
    fn describe_task_definition(
        &mut self,
        input: api::DescribeTaskDefinitionRequest,
    ) -> R<api::DescribeTaskDefinitionResponse> {
        task_definitions::describe_task_definition(self, input)
    }
    fn list_task_definitions(
        &mut self,
        input: api::ListTaskDefinitionsRequest,
    ) -> R<api::ListTaskDefinitionsResponse> {
        task_definitions::list_task_definitions(self, input)
    }
    fn list_task_definition_families(
        &mut self,
        input: api::ListTaskDefinitionFamiliesRequest,
    ) -> R<api::ListTaskDefinitionFamiliesResponse> {
        task_definitions::list_task_definition_families(self, input)
    }
    fn deregister_task_definition(
        &mut self,
        input: api::DeregisterTaskDefinitionRequest,
    ) -> R<api::DeregisterTaskDefinitionResponse> {
        task_definitions::deregister_task_definition(self, input)
    }
    fn delete_task_definitions(
        &mut self,
        input: api::DeleteTaskDefinitionsRequest,
    ) -> R<api::DeleteTaskDefinitionsResponse> {
        task_definitions::delete_task_definitions(self, input)
    }

    // services
    fn create_service(&mut self, input: api::CreateServiceRequest) -> R<api::CreateServiceResponse> {
        services::create_service(self, input)
    }
    fn update_service(&mut self, input: api::UpdateServiceRequest) -> R<api::UpdateServiceResponse> {
        services::update_service(self, input)
    }
    fn delete_service(&mut self, input: api::DeleteServiceRequest) -> R<api::DeleteServiceResponse> {
        services::delete_service(self, input)
    }
    fn describe_services(&mut self, input: api::DescribeServicesRequest) -> R<api::DescribeServicesResponse> {
        services::describe_services(self, input)
    }
    fn list_services(&mut self, input: api::ListServicesRequest) -> R<api::ListServicesResponse> {
        services::list_services(self, input)
    }

    // service deployment history
    fn list_service_deployments(
        &mut self,
        input: api::ListServiceDeploymentsRequest,
    ) -> R<api::ListServiceDeploymentsResponse> {
        service_deployments::list_service_deployments(self, input)
    }
    fn describe_service_deployments(
        &mut self,
        input: api::DescribeServiceDeploymentsRequest,
    ) -> R<api::DescribeServiceDeploymentsResponse> {
        service_deployments::describe_service_deployments(self, input)
    }
    fn stop_service_deployment(
        &mut self,
        input: api::StopServiceDeploymentRequest,
    ) -> R<api::StopServiceDeploymentResponse> {
        service_deployments::stop_service_deployment(self, input)
    }
    fn continue_service_deployment(
        &mut self,
        input: api::ContinueServiceDeploymentRequest,
    ) -> R<api::ContinueServiceDeploymentResponse> {
        service_deployments::continue_service_deployment(self, input)
    }
    fn describe_service_revisions(
        &mut self,
        input: api::DescribeServiceRevisionsRequest,
    ) -> R<api::DescribeServiceRevisionsResponse> {
        service_deployments::describe_service_revisions(self, input)
    }

    // task sets
    fn create_task_set(&mut self, input: api::CreateTaskSetRequest) -> R<api::CreateTaskSetResponse> {
        task_sets::create_task_set(self, input)
    }
    fn describe_task_sets(
        &mut self,
        input: api::DescribeTaskSetsRequest,
    ) -> R<api::DescribeTaskSetsResponse> {
        task_sets::describe_task_sets(self, input)
    }
    fn update_task_set(&mut self, input: api::UpdateTaskSetRequest) -> R<api::UpdateTaskSetResponse> {
        task_sets::update_task_set(self, input)
    }
    fn update_service_primary_task_set(
        &mut self,
        input: api::UpdateServicePrimaryTaskSetRequest,
    ) -> R<api::UpdateServicePrimaryTaskSetResponse> {
        task_sets::update_service_primary_task_set(self, input)
    }
    fn delete_task_set(&mut self, input: api::DeleteTaskSetRequest) -> R<api::DeleteTaskSetResponse> {
        task_sets::delete_task_set(self, input)
    }

    // tasks
    fn run_task(&mut self, input: api::RunTaskRequest) -> R<api::RunTaskResponse> {
        tasks::run_task(self, input)
    }
    fn start_task(&mut self, input: api::StartTaskRequest) -> R<api::StartTaskResponse> {
        tasks::start_task(self, input)
    }
    fn stop_task(&mut self, input: api::StopTaskRequest) -> R<api::StopTaskResponse> {
        tasks::stop_task(self, input)
    }
    fn describe_tasks(&mut self, input: api::DescribeTasksRequest) -> R<api::DescribeTasksResponse> {
        tasks::describe_tasks(self, input)
    }
    fn list_tasks(&mut self, input: api::ListTasksRequest) -> R<api::ListTasksResponse> {
        tasks::list_tasks(self, input)
    }

    // container instances
    fn register_container_instance(
        &mut self,
        input: api::RegisterContainerInstanceRequest,
    ) -> R<api::RegisterContainerInstanceResponse> {
        container_instances::register_container_instance(self, input)
    }
    fn deregister_container_instance(
        &mut self,
        input: api::DeregisterContainerInstanceRequest,
    ) -> R<api::DeregisterContainerInstanceResponse> {
        container_instances::deregister_container_instance(self, input)
    }
    fn describe_container_instances(
        &mut self,
        input: api::DescribeContainerInstancesRequest,
    ) -> R<api::DescribeContainerInstancesResponse> {
        container_instances::describe_container_instances(self, input)
    }
    fn list_container_instances(
        &mut self,
        input: api::ListContainerInstancesRequest,
    ) -> R<api::ListContainerInstancesResponse> {
        container_instances::list_container_instances(self, input)
    }
    fn update_container_instances_state(
        &mut self,
        input: api::UpdateContainerInstancesStateRequest,
    ) -> R<api::UpdateContainerInstancesStateResponse> {
        container_instances::update_container_instances_state(self, input)
    }

    // attributes
    fn put_attributes(&mut self, input: api::PutAttributesRequest) -> R<api::PutAttributesResponse> {
        attributes::put_attributes(self, input)
    }
    fn delete_attributes(&mut self, input: api::DeleteAttributesRequest) -> R<api::DeleteAttributesResponse> {
        attributes::delete_attributes(self, input)
    }
    fn list_attributes(&mut self, input: api::ListAttributesRequest) -> R<api::ListAttributesResponse> {
        attributes::list_attributes(self, input)
    }

    // account settings
    fn put_account_setting(
        &mut self,
        input: api::PutAccountSettingRequest,
    ) -> R<api::PutAccountSettingResponse> {
        account_settings::put_account_setting(self, input)
    }
    fn put_account_setting_default(
        &mut self,
        input: api::PutAccountSettingDefaultRequest,
    ) -> R<api::PutAccountSettingDefaultResponse> {
        account_settings::put_account_setting_default(self, input)
    }
    fn delete_account_setting(
        &mut self,
        input: api::DeleteAccountSettingRequest,
    ) -> R<api::DeleteAccountSettingResponse> {
        account_settings::delete_account_setting(self, input)
    }
    fn list_account_settings(
        &mut self,
        input: api::ListAccountSettingsRequest,
    ) -> R<api::ListAccountSettingsResponse> {
        account_settings::list_account_settings(self, input)
    }

    // tags
    fn tag_resource(&mut self, input: api::TagResourceRequest) -> R<api::TagResourceResponse> {
        tags::tag_resource(self, input)
    }
    fn untag_resource(&mut self, input: api::UntagResourceRequest) -> R<api::UntagResourceResponse> {
        tags::untag_resource(self, input)
    }
    fn list_tags_for_resource(
        &mut self,
        input: api::ListTagsForResourceRequest,
    ) -> R<api::ListTagsForResourceResponse> {
        tags::list_tags_for_resource(self, input)
    }
}
