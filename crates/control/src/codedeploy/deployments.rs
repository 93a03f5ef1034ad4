//! CreateDeployment, GetDeployment, BatchGetDeployments, ListDeployments, StopDeployment,
//! ContinueDeployment, PutLifecycleEventHookExecutionStatus and the deployment-target reads for
//! ECS blue/green deployments. Handlers check the request, record what it asks for and run the
//! deployment controller (`run.rs`); they never start tasks or move traffic themselves.

use ecsim_api::codedeploy as api;
use ecsim_protocol::AwsError;

use super::CodeDeployHandler;
use super::common::{
    application_does_not_exist, deployment_does_not_exist, error, group_does_not_exist, paginate, ts,
};
use super::state::{DeploymentRecord, StopRequest, TrafficPlan};
use super::{appspec, configs, run};
use crate::deploy::{Executor, Monitors};
use crate::ecs::state::TaskSetStatus;
use crate::engine::Ctx;
use crate::world::World;

type R<T> = Result<T, AwsError>;

const ID_ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
const PAGE_SIZE: usize = 100;

/// `d-` and nine upper-case letters or digits, as CodeDeploy names deployments.
pub fn new_deployment_id(ctx: &mut Ctx<'_>) -> String {
    format!("d-{}", ctx.rng.string_from(ID_ALPHABET, 9))
}

fn invalid_revision(message: impl Into<String>) -> AwsError {
    error("InvalidRevisionException", message)
}

fn deployment_id_of(id: Option<&str>) -> R<&str> {
    id.filter(|i| !i.is_empty()).ok_or_else(|| {
        error(
            "DeploymentIdRequiredException",
            "A deployment ID must be specified.",
        )
    })
}

/// The AppSpec text of a revision: `AppSpecContent` or `String`. S3 and GitHub revisions need the
/// network, which ecsim does not have.
fn appspec_text(revision: &api::RevisionLocation) -> R<&str> {
    let content = match revision.revision_type {
        Some(api::RevisionLocationType::AppSpecContent) => revision
            .app_spec_content
            .as_ref()
            .and_then(|c| c.content.as_deref()),
        Some(api::RevisionLocationType::String) => {
            revision.string.as_ref().and_then(|c| c.content.as_deref())
        }
        Some(other) => {
            return Err(invalid_revision(format!(
                "ecsim deploys ECS revisions given as AppSpecContent or String; {} revisions cannot be \
                 fetched offline.",
                other.as_str()
            )));
        }
        None => None,
    };
    content.ok_or_else(|| invalid_revision("The revision's AppSpec content is missing."))
}

/// Where the deployment's traffic goes: the target group serving production now (the primary task
/// set's) and the other one of the group's pair.
fn traffic_plan(
    world: &World,
    info: &api::LoadBalancerInfo,
    original_task_set_tg: Option<&str>,
) -> R<TrafficPlan> {
    let pair = info
        .target_group_pair_info_list
        .as_ref()
        .and_then(|l| l.first())
        .ok_or_else(|| {
            error(
                "InvalidLoadBalancerInfoException",
                "The deployment group has no target group pair.",
            )
        })?;
    let mut groups = Vec::new();
    for tg in pair.target_groups.iter().flatten() {
        let name = tg.name.clone().unwrap_or_default();
        let arn = world
            .elbv2
            .target_groups
            .values()
            .find(|g| g.name == name)
            .map(|g| g.arn.clone())
            .ok_or_else(|| {
                error(
                    "InvalidTargetGroupPairException",
                    format!("The target group {name} does not exist."),
                )
            })?;
        groups.push((name, arn));
    }
    if groups.len() != 2 {
        return Err(error(
            "InvalidTargetGroupPairException",
            "A target group pair must name exactly two target groups.",
        ));
    }
    let original_index = groups
        .iter()
        .position(|(_, arn)| Some(arn.as_str()) == original_task_set_tg)
        .unwrap_or(0);
    let (original, replacement) = (groups[original_index].clone(), groups[1 - original_index].clone());
    let listeners = |route: &Option<api::TrafficRoute>| -> Vec<String> {
        route
            .as_ref()
            .and_then(|r| r.listener_arns.clone())
            .unwrap_or_default()
    };
    let prod_listener_arns = listeners(&pair.prod_traffic_route);
    let test_listener_arns = listeners(&pair.test_traffic_route);
    let mut saved_weights = Vec::new();
    for listener in prod_listener_arns.iter().chain(&test_listener_arns) {
        let weights = crate::elbv2::weights::forward_weights(world, listener).ok_or_else(|| {
            error(
                "InvalidLoadBalancerInfoException",
                format!("The listener {listener} does not exist or does not forward to target groups."),
            )
        })?;
        saved_weights.push((listener.clone(), weights));
    }
    Ok(TrafficPlan {
        original_tg_arn: original.1,
        original_tg_name: original.0,
        replacement_tg_arn: replacement.1,
        replacement_tg_name: replacement.0,
        prod_listener_arns,
        test_listener_arns,
        saved_weights,
    })
}

pub fn create_deployment(
    h: &mut CodeDeployHandler<'_, '_>,
    input: api::CreateDeploymentInput,
) -> R<api::CreateDeploymentOutput> {
    let app = h
        .world
        .codedeploy
        .applications
        .get(&input.application_name)
        .ok_or_else(|| application_does_not_exist(&input.application_name))?;
    if app.compute_platform != api::ComputePlatform::Ecs {
        return Err(error(
            "InvalidComputePlatformException",
            format!(
                "ecsim runs ECS deployments; application {} has compute platform {}.",
                app.name,
                app.compute_platform.as_str()
            ),
        ));
    }
    let group_name = input
        .deployment_group_name
        .clone()
        .filter(|g| !g.is_empty())
        .ok_or_else(|| {
            error(
                "DeploymentGroupNameRequiredException",
                "Deployment group name is missing",
            )
        })?;
    let group = h
        .world
        .codedeploy
        .group(&input.application_name, &group_name)
        .ok_or_else(|| group_does_not_exist(&input.application_name, &group_name))?
        .clone();
    let revision = input
        .revision
        .clone()
        .ok_or_else(|| error("RevisionRequiredException", "The revision ID was not specified."))?;
    let spec = appspec::parse(appspec_text(&revision)?).map_err(invalid_revision)?;
    let config_name = input
        .deployment_config_name
        .clone()
        .unwrap_or_else(|| group.config_name.clone());
    let routing = match super::deployment_configs::resolve(h.world, &config_name) {
        Some((api::ComputePlatform::Ecs, Some(routing))) => routing,
        Some(_) => {
            return Err(error(
                "InvalidDeploymentConfigNameException",
                format!("The deployment config {config_name} is not an ECS deployment config."),
            ));
        }
        None => return Err(super::common::config_does_not_exist(&config_name)),
    };
    if let Some(active) = h
        .world
        .codedeploy
        .active_deployment(&input.application_name, &group_name)
    {
        return Err(error(
            "DeploymentLimitExceededException",
            format!(
                "The Deployment Group '{group_name}' already has an active Deployment '{}'",
                active.id
            ),
        ));
    }
    let ecs_service = group.ecs_services.first().ok_or_else(|| {
        error(
            "InvalidECSServiceException",
            "The deployment group has no ECS service.",
        )
    })?;
    let cluster = ecs_service.cluster_name.clone().unwrap_or_default();
    let service = ecs_service.service_name.clone().unwrap_or_default();
    let svc = h
        .world
        .ecs
        .service(&cluster, &service)
        .filter(|s| s.status == "ACTIVE")
        .ok_or_else(|| {
            error(
                "InvalidECSServiceException",
                format!("The ECS service {service} in cluster {cluster} does not exist or is not ACTIVE."),
            )
        })?;
    let original = svc
        .task_sets
        .iter()
        .find(|t| t.status == TaskSetStatus::Primary)
        .ok_or_else(|| {
            error(
                "InvalidECSServiceException",
                format!("The ECS service {service} has no primary task set to replace."),
            )
        })?;
    let original_tg = original
        .load_balancers
        .first()
        .and_then(|l| l.target_group_arn.clone());
    let (original_id, service_arn) = (original.id.clone(), svc.arn.clone());
    let info = group.load_balancer_info.clone().ok_or_else(|| {
        error(
            "InvalidLoadBalancerInfoException",
            "The deployment group has no load balancer info.",
        )
    })?;
    let traffic = traffic_plan(h.world, &info, original_tg.as_deref())?;
    let alarm_configuration = input
        .override_alarm_configuration
        .clone()
        .or_else(|| group.alarm_configuration.clone());
    let watch_alarms = alarm_configuration
        .as_ref()
        .is_some_and(|a| a.enabled == Some(true) && a.alarms.as_ref().is_some_and(|l| !l.is_empty()));
    let ready_wait = group
        .blue_green
        .as_ref()
        .and_then(|b| b.deployment_ready_option.as_ref())
        .is_some_and(|r| r.action_on_timeout == Some(api::DeploymentReadyAction::StopDeployment));
    let now = h.ctx.now_ms;
    let id = new_deployment_id(h.ctx);
    let record = DeploymentRecord {
        id: id.clone(),
        application: input.application_name.clone(),
        group: group_name.clone(),
        config_name,
        creator: api::DeploymentCreator::User,
        description: input.description.clone(),
        status: api::DeploymentStatus::InProgress,
        error: None,
        rollback_info: None,
        created_at_ms: now,
        started_at_ms: Some(now),
        completed_at_ms: None,
        revision: Some(revision.clone()),
        appspec: Some(spec),
        cluster,
        service,
        service_arn,
        load_balancer_info: Some(info),
        blue_green: group.blue_green.clone(),
        alarm_configuration,
        auto_rollback: input
            .auto_rollback_configuration
            .clone()
            .or_else(|| group.auto_rollback.clone()),
        deployment_style: group.deployment_style.clone(),
        traffic: Some(traffic),
        original_task_set: original_id,
        replacement_task_set: None,
        replacement_weight_pct: 0,
        events: run::fresh_events(),
        execution: Some(Executor::new(
            run::plan(configs::traffic_steps(routing), ready_wait),
            Monitors {
                circuit_breaker_threshold: None,
                alarms: watch_alarms,
            },
            now,
        )),
        stop_request: None,
        continue_ready: false,
        continue_termination: false,
        termination_wait_started: false,
        gate_failure: None,
        status_messages: Vec::new(),
        last_updated_ms: now,
    };
    super::revisions::note_use(h.world, &input.application_name, &revision, now);
    h.world.codedeploy.deployments.insert(id.clone(), record);
    h.world.codedeploy.order.push(id.clone());
    if let Some(g) = h.world.codedeploy.group_mut(&input.application_name, &group_name) {
        g.last_attempted = Some(super::state::LastDeployment {
            deployment_id: id.clone(),
            status: api::DeploymentStatus::InProgress,
            end_ms: None,
            created_at_ms: now,
        });
    }
    // The replacement task set exists by the time CreateDeployment answers.
    run::drive(h.world, h.ctx, &id);
    Ok(api::CreateDeploymentOutput {
        deployment_id: Some(id),
    })
}

fn target_status(d: &DeploymentRecord) -> api::TargetStatus {
    match d.status {
        api::DeploymentStatus::Succeeded => api::TargetStatus::Succeeded,
        api::DeploymentStatus::Failed | api::DeploymentStatus::Stopped => api::TargetStatus::Failed,
        api::DeploymentStatus::Ready => api::TargetStatus::Ready,
        api::DeploymentStatus::Created | api::DeploymentStatus::Queued => api::TargetStatus::Pending,
        api::DeploymentStatus::InProgress | api::DeploymentStatus::Baking => api::TargetStatus::InProgress,
    }
}

fn overview(d: &DeploymentRecord) -> api::DeploymentOverview {
    let status = target_status(d);
    let count = |s: api::TargetStatus| Some(i64::from(status == s));
    api::DeploymentOverview {
        pending: count(api::TargetStatus::Pending),
        in_progress: count(api::TargetStatus::InProgress),
        succeeded: count(api::TargetStatus::Succeeded),
        failed: count(api::TargetStatus::Failed),
        skipped: count(api::TargetStatus::Skipped),
        ready: count(api::TargetStatus::Ready),
    }
}

/// `deploymentInfo` as GetDeployment answers it.
pub fn render(d: &DeploymentRecord) -> api::DeploymentInfo {
    api::DeploymentInfo {
        application_name: Some(d.application.clone()),
        deployment_group_name: Some(d.group.clone()),
        deployment_config_name: Some(d.config_name.clone()),
        deployment_id: Some(d.id.clone()),
        revision: d.revision.clone(),
        status: Some(d.status),
        error_information: d.error.clone(),
        create_time: Some(ts(d.created_at_ms)),
        start_time: d.started_at_ms.map(ts),
        complete_time: d.completed_at_ms.map(ts),
        deployment_overview: Some(overview(d)),
        description: d.description.clone(),
        creator: Some(d.creator),
        ignore_application_stop_failures: Some(false),
        auto_rollback_configuration: d.auto_rollback.clone(),
        update_outdated_instances_only: Some(false),
        rollback_info: d.rollback_info.clone(),
        deployment_style: d.deployment_style.clone(),
        instance_termination_wait_time_started: Some(d.termination_wait_started),
        blue_green_deployment_configuration: d.blue_green.clone(),
        load_balancer_info: d.load_balancer_info.clone(),
        deployment_status_messages: Some(d.status_messages.clone()),
        compute_platform: Some(api::ComputePlatform::Ecs),
        ..Default::default()
    }
}

fn find<'w>(world: &'w World, id: &str) -> R<&'w DeploymentRecord> {
    world
        .codedeploy
        .deployments
        .get(id)
        .ok_or_else(|| deployment_does_not_exist(id))
}

pub fn get_deployment(
    h: &mut CodeDeployHandler<'_, '_>,
    input: api::GetDeploymentInput,
) -> R<api::GetDeploymentOutput> {
    let id = deployment_id_of(Some(&input.deployment_id))?;
    Ok(api::GetDeploymentOutput {
        deployment_info: Some(render(find(h.world, id)?)),
    })
}

pub fn batch_get_deployments(
    h: &mut CodeDeployHandler<'_, '_>,
    input: api::BatchGetDeploymentsInput,
) -> R<api::BatchGetDeploymentsOutput> {
    if input.deployment_ids.len() > 25 {
        return Err(error(
            "BatchLimitExceededException",
            "The maximum number of deployment IDs you can specify is 25.",
        ));
    }
    // Unknown ids are left out, as CodeDeploy does.
    let deployments_info = input
        .deployment_ids
        .iter()
        .filter_map(|id| h.world.codedeploy.deployments.get(id))
        .map(render)
        .collect();
    Ok(api::BatchGetDeploymentsOutput {
        deployments_info: Some(deployments_info),
    })
}

pub fn list_deployments(
    h: &mut CodeDeployHandler<'_, '_>,
    input: api::ListDeploymentsInput,
) -> R<api::ListDeploymentsOutput> {
    if input.deployment_group_name.is_some() && input.application_name.is_none() {
        return Err(error(
            "ApplicationNameRequiredException",
            "An application name must be specified with a deployment group name.",
        ));
    }
    if let Some(app) = &input.application_name
        && !h.world.codedeploy.applications.contains_key(app)
    {
        return Err(application_does_not_exist(app));
    }
    if let (Some(app), Some(group)) = (&input.application_name, &input.deployment_group_name)
        && h.world.codedeploy.group(app, group).is_none()
    {
        return Err(group_does_not_exist(app, group));
    }
    let range = input.create_time_range.clone().unwrap_or_default();
    let ids: Vec<String> = h
        .world
        .codedeploy
        .order
        .iter()
        .rev()
        .filter_map(|id| h.world.codedeploy.deployments.get(id))
        .filter(|d| {
            input
                .application_name
                .as_ref()
                .is_none_or(|a| *a == d.application)
        })
        .filter(|d| input.deployment_group_name.as_ref().is_none_or(|g| *g == d.group))
        .filter(|d| {
            input
                .include_only_statuses
                .as_ref()
                .is_none_or(|s| s.is_empty() || s.contains(&d.status))
        })
        .filter(|d| {
            let created = ts(d.created_at_ms);
            range.start.is_none_or(|s| created >= s) && range.end.is_none_or(|e| created <= e)
        })
        .map(|d| d.id.clone())
        .collect();
    let (page, next_token) = paginate(&ids, input.next_token.as_deref(), PAGE_SIZE)?;
    Ok(api::ListDeploymentsOutput {
        deployments: Some(page),
        next_token,
    })
}

fn already_completed(id: &str) -> AwsError {
    error(
        "DeploymentAlreadyCompletedException",
        format!("The deployment {id} has already completed."),
    )
}

pub fn stop_deployment(
    h: &mut CodeDeployHandler<'_, '_>,
    input: api::StopDeploymentInput,
) -> R<api::StopDeploymentOutput> {
    let id = deployment_id_of(Some(&input.deployment_id))?.to_string();
    let d = find(h.world, &id)?;
    if !d.is_active() {
        return Err(already_completed(&id));
    }
    let rollback = input.auto_rollback_enabled.unwrap_or_else(|| {
        d.auto_rollback.as_ref().is_some_and(|a| {
            a.enabled == Some(true)
                && a.events
                    .iter()
                    .flatten()
                    .any(|e| *e == api::AutoRollbackEvent::DeploymentStopOnRequest)
        })
    });
    let (application, group) = (d.application.clone(), d.group.clone());
    if let Some(d) = h.world.codedeploy.deployments.get_mut(&id) {
        d.stop_request = Some(StopRequest { rollback });
        if let Some(execution) = d.execution.as_mut() {
            execution.stop("The deployment was stopped by a user request.".into());
        }
    }
    run::drive(h.world, h.ctx, &id);
    Ok(api::StopDeploymentOutput {
        status: Some(api::StopStatus::Succeeded),
        status_message: Some(format!(
            "Deployment {id} of application {application} on deployment group {group} was stopped{}.",
            if rollback { " and rolled back" } else { "" }
        )),
    })
}

pub fn continue_deployment(h: &mut CodeDeployHandler<'_, '_>, input: api::ContinueDeploymentInput) -> R<()> {
    let id = deployment_id_of(input.deployment_id.as_deref())?.to_string();
    let d = find(h.world, &id)?;
    if !d.is_active() {
        return Err(already_completed(&id));
    }
    let not_ready = || {
        error(
            "DeploymentIsNotInReadyStateException",
            format!("The deployment {id} is not waiting for this continuation."),
        )
    };
    let wait = input
        .deployment_wait_type
        .unwrap_or(api::DeploymentWaitType::ReadyWait);
    let ready = d.status == api::DeploymentStatus::Ready;
    let terminating = d.termination_wait_started;
    let d = h
        .world
        .codedeploy
        .deployments
        .get_mut(&id)
        .ok_or_else(|| deployment_does_not_exist(&id))?;
    match wait {
        api::DeploymentWaitType::ReadyWait if ready => d.continue_ready = true,
        api::DeploymentWaitType::TerminationWait if terminating => d.continue_termination = true,
        _ => return Err(not_ready()),
    }
    run::drive(h.world, h.ctx, &id);
    Ok(())
}

/// The deprecated form of `ContinueDeployment --deployment-wait-type TERMINATION_WAIT`, except
/// that it may come before the wait: the original task set then goes as soon as traffic has
/// moved.
pub fn skip_wait_time_for_instance_termination(
    h: &mut CodeDeployHandler<'_, '_>,
    input: api::SkipWaitTimeForInstanceTerminationInput,
) -> R<()> {
    let id = deployment_id_of(input.deployment_id.as_deref())?.to_string();
    let d = find(h.world, &id)?;
    if !d.is_active() {
        return Err(already_completed(&id));
    }
    if d.creator == api::DeploymentCreator::CodeDeployRollback {
        return Err(error(
            "UnsupportedActionForDeploymentTypeException",
            format!("The deployment {id} is a rollback deployment and has no termination wait."),
        ));
    }
    if let Some(d) = h.world.codedeploy.deployments.get_mut(&id) {
        d.continue_termination = true;
    }
    run::drive(h.world, h.ctx, &id);
    Ok(())
}

pub fn put_lifecycle_event_hook_execution_status(
    h: &mut CodeDeployHandler<'_, '_>,
    input: api::PutLifecycleEventHookExecutionStatusInput,
) -> R<api::PutLifecycleEventHookExecutionStatusOutput> {
    let id = deployment_id_of(input.deployment_id.as_deref())?.to_string();
    let execution_id = input
        .lifecycle_event_hook_execution_id
        .clone()
        .filter(|e| !e.is_empty())
        .ok_or_else(|| {
            error(
                "LifecycleEventHookExecutionIdRequiredException",
                "A lifecycle event hook execution ID must be specified.",
            )
        })?;
    let status = match input.status {
        Some(s @ (api::LifecycleEventStatus::Succeeded | api::LifecycleEventStatus::Failed)) => s,
        _ => {
            return Err(error(
                "InvalidLifecycleEventHookExecutionStatusException",
                "The status must be Succeeded or Failed.",
            ));
        }
    };
    let now = h.ctx.now_ms;
    let d = h
        .world
        .codedeploy
        .deployments
        .get_mut(&id)
        .ok_or_else(|| deployment_does_not_exist(&id))?;
    let event = d
        .events
        .iter_mut()
        .find(|e| e.hook.as_ref().is_some_and(|x| x.execution_id == execution_id))
        .ok_or_else(|| {
            error(
                "InvalidLifecycleEventHookExecutionIdException",
                format!(
                    "The lifecycle event hook execution ID {execution_id} is not valid for deployment {id}."
                ),
            )
        })?;
    if event.status != api::LifecycleEventStatus::InProgress {
        return Err(error(
            "LifecycleEventAlreadyCompletedException",
            format!("The {} lifecycle event has already completed.", event.name),
        ));
    }
    event.status = status;
    event.end_ms = Some(now);
    if status == api::LifecycleEventStatus::Failed {
        event.diagnostics = Some(api::Diagnostics {
            error_code: Some(api::LifecycleErrorCode::ScriptFailed),
            script_name: event.hook.as_ref().map(|x| x.function.clone()),
            message: Some(format!("The {} hook reported Failed.", event.name)),
            log_tail: None,
        });
    }
    run::drive(h.world, h.ctx, &id);
    Ok(api::PutLifecycleEventHookExecutionStatusOutput {
        lifecycle_event_hook_execution_id: Some(execution_id),
    })
}

/// The deployment's one ECS target: its lifecycle events and the task sets it moves traffic
/// between.
pub fn render_target(world: &World, d: &DeploymentRecord) -> api::DeploymentTarget {
    let lifecycle_events = d
        .events
        .iter()
        .map(|e| api::LifecycleEvent {
            lifecycle_event_name: Some(e.name.to_string()),
            diagnostics: e.diagnostics.clone(),
            start_time: e.start_ms.map(ts),
            end_time: e.end_ms.map(ts),
            status: Some(e.status),
        })
        .collect();
    let mut task_sets_info = Vec::new();
    let cluster = world.ecs.clusters.get(&d.cluster);
    let svc = cluster.and_then(|c| c.services.get(&d.service));
    if let (Some(cl), Some(svc), Some(traffic)) = (cluster, svc, d.traffic.as_ref()) {
        let members = [
            (
                Some(&d.original_task_set),
                &traffic.original_tg_name,
                api::TargetLabel::Blue,
                100 - d.replacement_weight_pct.min(100),
            ),
            (
                d.replacement_task_set.as_ref(),
                &traffic.replacement_tg_name,
                api::TargetLabel::Green,
                d.replacement_weight_pct.min(100),
            ),
        ];
        for (id, tg_name, label, weight_pct) in members {
            let Some(set) = id.and_then(|id| svc.task_set(id)) else {
                continue;
            };
            let (running, pending) = crate::ecs::task_sets::counts(cl, &svc.name, &set.id);
            task_sets_info.push(api::ECSTaskSet {
                identifer: Some(set.id.clone()),
                desired_count: Some(i64::from(set.computed_desired_count(svc.desired_count))),
                pending_count: Some(i64::from(pending)),
                running_count: Some(i64::from(running)),
                status: Some(set.status.as_str().to_string()),
                traffic_weight: Some(f64::from(weight_pct)),
                target_group: Some(api::TargetGroupInfo {
                    name: Some(tg_name.clone()),
                }),
                task_set_label: Some(label),
            });
        }
    }
    api::DeploymentTarget {
        deployment_target_type: Some(api::DeploymentTargetType::EcsTarget),
        ecs_target: Some(api::ECSTarget {
            deployment_id: Some(d.id.clone()),
            target_id: Some(d.target_id()),
            target_arn: Some(d.service_arn.clone()),
            last_updated_at: Some(ts(d.last_updated_ms)),
            lifecycle_events: Some(lifecycle_events),
            status: Some(target_status(d)),
            task_sets_info: Some(task_sets_info),
        }),
        ..Default::default()
    }
}

fn target_of<'w>(world: &'w World, id: &str, target_id: &str) -> R<&'w DeploymentRecord> {
    let d = find(world, id)?;
    if d.target_id() != target_id {
        return Err(error(
            "DeploymentTargetDoesNotExistException",
            format!("The deployment target {target_id} does not exist in deployment {id}."),
        ));
    }
    Ok(d)
}

pub fn get_deployment_target(
    h: &mut CodeDeployHandler<'_, '_>,
    input: api::GetDeploymentTargetInput,
) -> R<api::GetDeploymentTargetOutput> {
    let d = target_of(h.world, &input.deployment_id, &input.target_id)?;
    Ok(api::GetDeploymentTargetOutput {
        deployment_target: Some(render_target(h.world, d)),
    })
}

pub fn batch_get_deployment_targets(
    h: &mut CodeDeployHandler<'_, '_>,
    input: api::BatchGetDeploymentTargetsInput,
) -> R<api::BatchGetDeploymentTargetsOutput> {
    if input.target_ids.len() > 25 {
        return Err(error(
            "DeploymentTargetListSizeExceededException",
            "The maximum number of targets you can specify is 25.",
        ));
    }
    let mut targets = Vec::new();
    for target_id in &input.target_ids {
        let d = target_of(h.world, &input.deployment_id, target_id)?;
        targets.push(render_target(h.world, d));
    }
    Ok(api::BatchGetDeploymentTargetsOutput {
        deployment_targets: Some(targets),
    })
}

pub fn list_deployment_targets(
    h: &mut CodeDeployHandler<'_, '_>,
    input: api::ListDeploymentTargetsInput,
) -> R<api::ListDeploymentTargetsOutput> {
    let d = find(h.world, &input.deployment_id)?;
    let status = target_status(d).as_str().to_string();
    let matches = input.target_filters.as_ref().is_none_or(|filters| {
        filters.iter().all(|(key, values)| match key.as_str() {
            "TargetStatus" => values.is_empty() || values.contains(&status),
            // ECS targets have no server instance type.
            "ServerInstanceLabel" => values.is_empty(),
            _ => true,
        })
    });
    let ids = if matches { vec![d.target_id()] } else { Vec::new() };
    let (page, next_token) = paginate(&ids, input.next_token.as_deref(), PAGE_SIZE)?;
    Ok(api::ListDeploymentTargetsOutput {
        target_ids: Some(page),
        next_token,
    })
}
