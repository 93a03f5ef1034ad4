//! Service deployment history: ListServiceDeployments, DescribeServiceDeployments,
//! StopServiceDeployment, ContinueServiceDeployment and DescribeServiceRevisions.

use ecsim_api::ecs as api;
use ecsim_protocol::AwsError;

use super::EcsHandler;
use super::common::{
    active_cluster, invalid_parameter, last_segment, missing, paginate, service_not_found, ts,
};
use super::lifecycle::opt_ts;
use super::state::{ServiceDeploymentRecord, ServiceRevisionRecord, StopRequest, TaskStatus};
use crate::world::World;

fn not_found() -> AwsError {
    AwsError::client(
        "ServiceDeploymentNotFoundException",
        "The service deployment does not exist.",
    )
}

/// Requested, running and pending tasks of a revision in its service.
fn revision_summary(
    world: &World,
    sd: &ServiceDeploymentRecord,
    revision_arn: &str,
) -> api::ServiceRevisionSummary {
    let (mut requested, mut running, mut pending) = (0, 0, 0);
    if let Some(cl) = world.ecs.clusters.get(&sd.cluster_name)
        && let Some(svc) = cl.services.get(&sd.service_name)
    {
        let deployment_ids: Vec<&str> = svc
            .deployments
            .iter()
            .filter(|d| d.service_revision_arn == revision_arn)
            .inspect(|d| requested += d.desired_count)
            .map(|d| d.id.as_str())
            .collect();
        for t in cl.tasks_of_service(&sd.service_name).filter(|t| t.is_live()) {
            if t.deployment_id
                .as_deref()
                .is_some_and(|id| deployment_ids.contains(&id))
            {
                running += i32::from(t.status == TaskStatus::Running);
                pending += i32::from(t.status.is_pending());
            }
        }
    }
    let weights = super::blue_green::requested_weights(sd, revision_arn);
    api::ServiceRevisionSummary {
        arn: Some(revision_arn.to_string()),
        requested_task_count: Some(requested),
        running_task_count: Some(running),
        pending_task_count: Some(pending),
        requested_production_traffic_weight: weights.map(|(production, _)| production),
        requested_test_traffic_weight: weights.map(|(_, test)| test),
    }
}

fn render(world: &World, sd: &ServiceDeploymentRecord) -> api::ServiceDeployment {
    let (lifecycle_stage, lifecycle_hook_details) = super::blue_green::render_lifecycle(sd);
    api::ServiceDeployment {
        lifecycle_stage,
        lifecycle_hook_details,
        service_deployment_arn: Some(sd.arn.clone()),
        service_arn: Some(sd.service_arn.clone()),
        cluster_arn: Some(sd.cluster_arn.clone()),
        created_at: Some(ts(sd.created_at_ms)),
        started_at: opt_ts(sd.started_at_ms),
        finished_at: opt_ts(sd.finished_at_ms),
        stopped_at: opt_ts(sd.stopped_at_ms),
        updated_at: Some(ts(sd.updated_at_ms)),
        source_service_revisions: Some(
            sd.source_revision_arns
                .iter()
                .map(|arn| revision_summary(world, sd, arn))
                .collect(),
        ),
        target_service_revision: Some(revision_summary(world, sd, &sd.target_revision_arn)),
        status: Some(sd.status),
        status_reason: sd.status_reason.clone(),
        deployment_configuration: Some(sd.deployment_configuration.clone()),
        rollback: sd.rollback.clone(),
        deployment_circuit_breaker: Some(sd.circuit_breaker.clone()),
        alarms: Some(sd.alarms.clone()),
    }
}

fn brief(sd: &ServiceDeploymentRecord) -> api::ServiceDeploymentBrief {
    api::ServiceDeploymentBrief {
        service_deployment_arn: Some(sd.arn.clone()),
        service_arn: Some(sd.service_arn.clone()),
        cluster_arn: Some(sd.cluster_arn.clone()),
        started_at: opt_ts(sd.started_at_ms),
        created_at: Some(ts(sd.created_at_ms)),
        finished_at: opt_ts(sd.finished_at_ms),
        target_service_revision_arn: Some(sd.target_revision_arn.clone()),
        status: Some(sd.status),
        status_reason: sd.status_reason.clone(),
    }
}

fn render_revision(r: &ServiceRevisionRecord) -> api::ServiceRevision {
    api::ServiceRevision {
        service_revision_arn: Some(r.arn.clone()),
        service_arn: Some(r.service_arn.clone()),
        cluster_arn: Some(r.cluster_arn.clone()),
        task_definition: Some(r.task_definition_arn.clone()),
        capacity_provider_strategy: (!r.capacity_provider_strategy.is_empty())
            .then(|| r.capacity_provider_strategy.clone()),
        launch_type: r.launch_type,
        platform_version: r.platform_version.clone(),
        platform_family: r.platform_family.clone(),
        load_balancers: Some(r.load_balancers.clone()),
        service_registries: Some(Vec::new()),
        network_configuration: r.network_configuration.clone(),
        created_at: Some(ts(r.created_at_ms)),
        ..Default::default()
    }
}

pub fn list_service_deployments(
    h: &mut EcsHandler<'_, '_>,
    input: api::ListServiceDeploymentsRequest,
) -> Result<api::ListServiceDeploymentsResponse, AwsError> {
    let cluster = active_cluster(&h.world.ecs, input.cluster.as_deref())?;
    let svc = cluster
        .services
        .get(last_segment(&input.service))
        .ok_or_else(service_not_found)?;
    let statuses = input.status.unwrap_or_default();
    let (after, before) = input.created_at.map_or((None, None), |c| (c.after, c.before));
    // Newest first; the key sorts by creation time, then ARN.
    let mut items: Vec<(String, api::ServiceDeploymentBrief)> = h
        .world
        .ecs
        .service_deployments
        .values()
        .filter(|sd| sd.service_arn == svc.arn)
        .filter(|sd| statuses.is_empty() || statuses.contains(&sd.status))
        .filter(|sd| after.is_none_or(|a| ts(sd.created_at_ms) >= a))
        .filter(|sd| before.is_none_or(|b| ts(sd.created_at_ms) <= b))
        .map(|sd| {
            (
                format!("{:020}:{}", u64::MAX - sd.created_at_ms, sd.arn),
                brief(sd),
            )
        })
        .collect();
    items.sort_by(|a, b| a.0.cmp(&b.0));
    let (service_deployments, next_token) =
        paginate(&items, input.next_token.as_deref(), input.max_results, 20, 100)?;
    Ok(api::ListServiceDeploymentsResponse {
        service_deployments: Some(service_deployments),
        next_token,
    })
}

pub fn describe_service_deployments(
    h: &mut EcsHandler<'_, '_>,
    input: api::DescribeServiceDeploymentsRequest,
) -> Result<api::DescribeServiceDeploymentsResponse, AwsError> {
    if input.service_deployment_arns.is_empty() || input.service_deployment_arns.len() > 20 {
        return Err(invalid_parameter(
            "serviceDeploymentArns must contain between 1 and 20 items.",
        ));
    }
    let mut found = Vec::new();
    let mut failures = Vec::new();
    for arn in &input.service_deployment_arns {
        match h.world.ecs.service_deployments.get(arn) {
            Some(sd) => found.push(render(h.world, sd)),
            None => failures.push(missing(arn.clone())),
        }
    }
    Ok(api::DescribeServiceDeploymentsResponse {
        service_deployments: Some(found),
        failures: Some(failures),
    })
}

pub fn stop_service_deployment(
    h: &mut EcsHandler<'_, '_>,
    input: api::StopServiceDeploymentRequest,
) -> Result<api::StopServiceDeploymentResponse, AwsError> {
    let arn = input.service_deployment_arn;
    let sd = h.world.ecs.service_deployments.get(&arn).ok_or_else(not_found)?;
    let stop = match input
        .stop_type
        .unwrap_or(api::StopServiceDeploymentStopType::Rollback)
    {
        api::StopServiceDeploymentStopType::Abort => StopRequest::Abort,
        api::StopServiceDeploymentStopType::Rollback => StopRequest::Rollback,
    };
    if stop == StopRequest::Rollback {
        let has_previous = h
            .world
            .ecs
            .service(&sd.cluster_name, &sd.service_name)
            .and_then(|s| s.last_completed_revision_arn.as_ref())
            .is_some_and(|r| *r != sd.target_revision_arn);
        if !has_previous {
            return Err(AwsError::client(
                "ConflictException",
                "The service deployment cannot be rolled back: the service has no previous completed deployment.",
            ));
        }
    }
    if !super::deployments::request_stop(h.world, h.ctx, &arn, stop) {
        return Err(AwsError::client(
            "ConflictException",
            "The service deployment is not in progress, so it cannot be stopped.",
        ));
    }
    Ok(api::StopServiceDeploymentResponse {
        service_deployment_arn: Some(arn),
    })
}

pub fn continue_service_deployment(
    h: &mut EcsHandler<'_, '_>,
    input: api::ContinueServiceDeploymentRequest,
) -> Result<api::ContinueServiceDeploymentResponse, AwsError> {
    // The model's default action is CONTINUE (the enum's own default is ROLLBACK).
    let action = input
        .action
        .unwrap_or(api::DeploymentLifecycleHookAction::Continue);
    super::blue_green::hooks::continue_deployment(
        h.world,
        h.ctx,
        &input.service_deployment_arn,
        &input.hook_id,
        action,
    )?;
    Ok(api::ContinueServiceDeploymentResponse {
        service_deployment_arn: Some(input.service_deployment_arn),
    })
}

pub fn describe_service_revisions(
    h: &mut EcsHandler<'_, '_>,
    input: api::DescribeServiceRevisionsRequest,
) -> Result<api::DescribeServiceRevisionsResponse, AwsError> {
    if input.service_revision_arns.is_empty() || input.service_revision_arns.len() > 20 {
        return Err(invalid_parameter(
            "serviceRevisionArns must contain between 1 and 20 items.",
        ));
    }
    let mut found = Vec::new();
    let mut failures = Vec::new();
    for arn in &input.service_revision_arns {
        match h.world.ecs.service_revisions.get(arn) {
            Some(r) => found.push(render_revision(r)),
            None => failures.push(missing(arn.clone())),
        }
    }
    Ok(api::DescribeServiceRevisionsResponse {
        service_revisions: Some(found),
        failures: Some(failures),
    })
}
