//! Task sets: CreateTaskSet, DescribeTaskSets, UpdateTaskSet, UpdateServicePrimaryTaskSet and
//! DeleteTaskSet for services with the EXTERNAL controller, the same records CodeDeploy drives for
//! CODE_DEPLOY services, and the controller that keeps each task set at its computed count.
//!
//! Handlers change desired state and wake the service controller; they never start or stop tasks
//! themselves.

use ecsim_api::ecs as api;
use ecsim_protocol::AwsError;

use super::EcsHandler;
use super::common::{
    active_cluster, invalid_parameter, last_segment, missing, service_not_active, service_not_found, ts,
    validate_tags,
};
use super::service_loop;
use super::state::{ClusterRecord, ServiceRecord, TaskSetRecord, TaskSetStatus, TaskStatus};
use super::tasks::{check_launch, resolve_launch};
use crate::engine::Ctx;
use crate::world::World;

type R<T> = Result<T, AwsError>;

pub fn task_set_not_found() -> AwsError {
    AwsError::client(
        "TaskSetNotFoundException",
        "The specified task set does not exist.",
    )
}

fn external_only() -> AwsError {
    invalid_parameter(
        "Amazon ECS only supports task set management on services configured to use external deployment \
         controllers.",
    )
}

/// What a new task set runs.
#[derive(Debug, Clone)]
pub struct TaskSetSpec {
    pub task_definition: String,
    pub launch_type: Option<api::LaunchType>,
    pub capacity_provider_strategy: Option<Vec<api::CapacityProviderStrategyItem>>,
    pub platform_version: Option<String>,
    pub network_configuration: Option<api::NetworkConfiguration>,
    pub load_balancers: Vec<api::LoadBalancer>,
    pub scale_pct: f64,
    pub started_by: Option<String>,
    pub external_id: Option<String>,
    pub tags: Vec<api::Tag>,
}

/// Validates `spec` against the service's cluster and creates the task set (ACTIVE, or PRIMARY
/// when it is the service's first). Returns its id. The caller wakes the service controller.
pub fn create(
    world: &mut World,
    ctx: &mut Ctx<'_>,
    cluster: &str,
    service: &str,
    spec: TaskSetSpec,
) -> R<String> {
    let cl = active_cluster(&world.ecs, Some(cluster))?;
    let svc = cl.services.get(service).ok_or_else(service_not_found)?;
    if svc.status != "ACTIVE" {
        return Err(service_not_active());
    }
    if !(0.0..=100.0).contains(&spec.scale_pct) {
        return Err(invalid_parameter("Scale value must be between 0 and 100."));
    }
    validate_tags(&spec.tags)?;
    let definition = super::task_definitions::find(&world.ecs, &spec.task_definition)
        .cloned()
        .ok_or_else(|| invalid_parameter("TaskDefinition not found."))?;
    super::load_balancing::validate_service_load_balancers(
        world,
        &definition.definition,
        &spec.load_balancers,
    )?;
    let launch = resolve_launch(cl, spec.launch_type, spec.capacity_provider_strategy.as_deref())?;
    check_launch(
        world,
        &definition,
        launch.launch_type,
        spec.network_configuration.as_ref(),
    )?;
    let fargate = launch.launch_type == api::LaunchType::Fargate;
    let explicit_launch = spec.launch_type.is_some() || launch.capacity_provider_name.is_none();
    let id = format!("ecs-svc/{}", ctx.rng.digits(19));
    let arn = world.arn("ecs", &format!("task-set/{cluster}/{service}/{id}"));
    let first = svc.task_sets.is_empty();
    let record = TaskSetRecord {
        id: id.clone(),
        arn,
        started_by: spec.started_by,
        external_id: spec.external_id,
        status: if first {
            TaskSetStatus::Primary
        } else {
            TaskSetStatus::Active
        },
        task_definition_arn: definition
            .definition
            .task_definition_arn
            .clone()
            .unwrap_or_default(),
        launch_type: explicit_launch.then_some(launch.launch_type),
        capacity_provider_strategy: if explicit_launch {
            Vec::new()
        } else {
            spec.capacity_provider_strategy.unwrap_or_default()
        },
        platform_version: fargate.then(|| match spec.platform_version.as_deref() {
            None | Some("LATEST") => "1.4.0".to_string(),
            Some(v) => v.to_string(),
        }),
        platform_family: fargate.then(|| "Linux".to_string()),
        network_configuration: spec.network_configuration,
        load_balancers: spec.load_balancers,
        service_registries: Vec::new(),
        scale_pct: spec.scale_pct,
        stability_status: api::StabilityStatus::Stabilizing,
        stability_status_at_ms: ctx.now_ms,
        created_at_ms: ctx.now_ms,
        updated_at_ms: ctx.now_ms,
        tags: spec.tags,
        failed_tasks: 0,
    };
    let svc = world
        .ecs
        .service_mut(cluster, service)
        .ok_or_else(service_not_found)?;
    if first {
        follow_primary(svc, &record);
    }
    svc.task_sets.push(record);
    svc.steady_reported = false;
    Ok(id)
}

/// The service shows its PRIMARY task set's definition and network configuration.
fn follow_primary(svc: &mut ServiceRecord, primary: &TaskSetRecord) {
    svc.task_definition_arn = primary.task_definition_arn.clone();
    svc.network_configuration = primary.network_configuration.clone();
    svc.launch_type = primary.launch_type;
    svc.platform_version = primary.platform_version.clone();
    svc.platform_family = primary.platform_family.clone();
}

/// Sets a task set's scale (percent of the service's desired count).
pub fn set_scale(
    world: &mut World,
    ctx: &mut Ctx<'_>,
    cluster: &str,
    service: &str,
    id: &str,
    scale_pct: f64,
) -> R<()> {
    if !(0.0..=100.0).contains(&scale_pct) {
        return Err(invalid_parameter("Scale value must be between 0 and 100."));
    }
    let now = ctx.now_ms;
    let svc = world
        .ecs
        .service_mut(cluster, service)
        .ok_or_else(service_not_found)?;
    let set = svc.task_set_mut(id).ok_or_else(task_set_not_found)?;
    if (set.scale_pct - scale_pct).abs() > f64::EPSILON {
        set.scale_pct = scale_pct;
        set.updated_at_ms = now;
    }
    service_loop::wake(world, ctx, cluster, service);
    Ok(())
}

/// Makes a task set the service's PRIMARY; the previous PRIMARY becomes ACTIVE.
pub fn set_primary(world: &mut World, ctx: &mut Ctx<'_>, cluster: &str, service: &str, id: &str) -> R<()> {
    let now = ctx.now_ms;
    let svc = world
        .ecs
        .service_mut(cluster, service)
        .ok_or_else(service_not_found)?;
    let target = svc.task_set(id).ok_or_else(task_set_not_found)?;
    if target.status == TaskSetStatus::Draining {
        return Err(invalid_parameter(
            "The specified task set is DRAINING and cannot become the primary task set.",
        ));
    }
    let target_id = target.id.clone();
    for set in &mut svc.task_sets {
        let status = if set.id == target_id {
            TaskSetStatus::Primary
        } else if set.status == TaskSetStatus::Primary {
            TaskSetStatus::Active
        } else {
            set.status
        };
        if status != set.status {
            set.status = status;
            set.updated_at_ms = now;
        }
    }
    if let Some(primary) = svc.task_set(&target_id).cloned() {
        follow_primary(svc, &primary);
    }
    service_loop::wake(world, ctx, cluster, service);
    Ok(())
}

/// Starts removing a task set: DRAINING, scaled to zero, gone once its tasks have stopped.
/// Without `force` a task set must be scaled to zero first; the PRIMARY task set stays.
pub fn delete(
    world: &mut World,
    ctx: &mut Ctx<'_>,
    cluster: &str,
    service: &str,
    id: &str,
    force: bool,
) -> R<()> {
    let now = ctx.now_ms;
    let svc = world
        .ecs
        .service_mut(cluster, service)
        .ok_or_else(service_not_found)?;
    let desired = svc.desired_count;
    let set = svc.task_set_mut(id).ok_or_else(task_set_not_found)?;
    if set.status == TaskSetStatus::Primary && !force {
        return Err(invalid_parameter(
            "The primary task set of a service cannot be deleted; make another task set primary first.",
        ));
    }
    if set.computed_desired_count(desired) > 0 && !force {
        return Err(invalid_parameter(
            "The task set cannot be deleted until it is scaled down to zero, or use force.",
        ));
    }
    set.status = TaskSetStatus::Draining;
    set.updated_at_ms = now;
    service_loop::wake(world, ctx, cluster, service);
    Ok(())
}

/// The API view of one task set.
pub fn render(
    set: &TaskSetRecord,
    svc: &ServiceRecord,
    cluster: &ClusterRecord,
    include_tags: bool,
) -> api::TaskSet {
    let (running, pending) = counts(cluster, &svc.name, &set.id);
    api::TaskSet {
        id: Some(set.id.clone()),
        task_set_arn: Some(set.arn.clone()),
        service_arn: Some(svc.arn.clone()),
        cluster_arn: Some(svc.cluster_arn.clone()),
        started_by: set.started_by.clone(),
        external_id: set.external_id.clone(),
        status: Some(set.status.as_str().into()),
        task_definition: Some(set.task_definition_arn.clone()),
        computed_desired_count: Some(set.computed_desired_count(svc.desired_count)),
        pending_count: Some(pending),
        running_count: Some(running),
        created_at: Some(ts(set.created_at_ms)),
        updated_at: Some(ts(set.updated_at_ms)),
        launch_type: set.launch_type,
        capacity_provider_strategy: (!set.capacity_provider_strategy.is_empty())
            .then(|| set.capacity_provider_strategy.clone()),
        platform_version: set.platform_version.clone(),
        platform_family: set.platform_family.clone(),
        network_configuration: set.network_configuration.clone(),
        load_balancers: Some(set.load_balancers.clone()),
        service_registries: Some(set.service_registries.clone()),
        scale: Some(api::Scale {
            value: Some(set.scale_pct),
            unit: Some(api::ScaleUnit::Percent),
        }),
        stability_status: Some(set.stability_status),
        stability_status_at: Some(ts(set.stability_status_at_ms)),
        tags: include_tags.then(|| set.tags.clone()),
        ..Default::default()
    }
}

/// (running, pending) live tasks of a task set.
pub fn counts(cluster: &ClusterRecord, service: &str, id: &str) -> (i32, i32) {
    let (mut running, mut pending) = (0, 0);
    for t in cluster.tasks_of_service(service) {
        if t.deployment_id.as_deref() == Some(id) && t.is_live() {
            if t.status == TaskStatus::Running {
                running += 1;
            } else if t.status.is_pending() {
                pending += 1;
            }
        }
    }
    (running, pending)
}

/// Whether a task set runs its computed count, nothing pending, every task healthy behind its
/// load balancers (what `stabilityStatus` STEADY_STATE means).
pub fn is_steady(world: &World, cluster: &str, service: &str, id: &str) -> bool {
    let Some(cl) = world.ecs.clusters.get(cluster) else {
        return false;
    };
    let Some(svc) = cl.services.get(service) else {
        return false;
    };
    let Some(set) = svc.task_set(id) else {
        return false;
    };
    let mut healthy_running = 0;
    for t in cl.tasks_of_service(service) {
        if t.deployment_id.as_deref() != Some(id) {
            continue;
        }
        if !t.is_live() && t.status != TaskStatus::Stopped {
            return false;
        }
        if t.is_live() {
            if t.status != TaskStatus::Running || !super::load_balancing::targets_healthy(t) {
                return false;
            }
            healthy_running += 1;
        }
    }
    healthy_running == set.computed_desired_count(svc.desired_count)
}

/// The controller for task-set services: each task set starts or stops tasks toward its
/// computed count (task sets scale independently: no minimumHealthyPercent across them), a
/// DRAINING task set leaves once its tasks are gone, and stability is recorded.
pub fn reconcile(world: &mut World, ctx: &mut Ctx<'_>, cluster: &str, service: &str) {
    let Some(svc) = world.ecs.service(cluster, service) else {
        return;
    };
    let desired = svc.desired_count;
    let sets: Vec<(String, i32)> = svc
        .task_sets
        .iter()
        .map(|s| (s.id.clone(), s.computed_desired_count(desired)))
        .collect();
    for (id, computed) in &sets {
        let live = world.ecs.clusters.get(cluster).map_or(0, |cl| {
            cl.tasks_of_service(service)
                .filter(|t| t.deployment_id.as_deref() == Some(id.as_str()) && t.is_live())
                .count()
        });
        let missing = i64::from(*computed) - i64::try_from(live).unwrap_or(i64::MAX);
        if missing > 0 {
            service_loop::start_tasks_of(
                world,
                ctx,
                cluster,
                service,
                id,
                usize::try_from(missing).unwrap_or(0),
            );
        } else if missing < 0 {
            let excess = usize::try_from(-missing).unwrap_or(0);
            let chosen = service_loop::scale_in_ids(world, cluster, service, id, excess);
            service_loop::stop_tasks(world, ctx, cluster, service, &chosen, Some(id));
        }
    }
    let now = ctx.now_ms;
    let mut changed = false;
    for (id, _) in &sets {
        let steady = is_steady(world, cluster, service, id);
        let gone = world.ecs.clusters.get(cluster).is_some_and(|cl| {
            !cl.tasks_of_service(service)
                .any(|t| t.deployment_id.as_deref() == Some(id.as_str()) && t.status != TaskStatus::Stopped)
        });
        let Some(svc) = world.ecs.service_mut(cluster, service) else {
            return;
        };
        let Some(set) = svc.task_set_mut(id) else {
            continue;
        };
        if set.status == TaskSetStatus::Draining && gone {
            svc.task_sets.retain(|s| s.id != *id);
            changed = true;
            continue;
        }
        let status = if steady {
            api::StabilityStatus::SteadyState
        } else {
            api::StabilityStatus::Stabilizing
        };
        if status != set.stability_status {
            set.stability_status = status;
            set.stability_status_at_ms = now;
            changed = true;
        }
    }
    let Some(svc) = world.ecs.service_mut(cluster, service) else {
        return;
    };
    let all_steady = svc
        .task_sets
        .iter()
        .all(|s| s.stability_status == api::StabilityStatus::SteadyState);
    if changed && all_steady && !svc.steady_reported {
        svc.steady_reported = true;
        service_loop::event(
            world,
            ctx,
            cluster,
            service,
            format!("(service {service}) has reached a steady state."),
        );
    } else if !all_steady && let Some(svc) = world.ecs.service_mut(cluster, service) {
        svc.steady_reported = false;
    }
}

/// The EXTERNAL service a task-set call names, checked.
fn external_service<'w>(world: &'w World, cluster: &str, service: &str) -> R<(String, &'w ServiceRecord)> {
    let cl = active_cluster(&world.ecs, Some(cluster))?;
    let svc = cl
        .services
        .get(last_segment(service))
        .ok_or_else(service_not_found)?;
    if svc.status != "ACTIVE" {
        return Err(service_not_active());
    }
    if svc.deployment_controller.r#type != api::DeploymentControllerType::External {
        return Err(external_only());
    }
    Ok((cl.name.clone(), svc))
}

fn rendered(world: &World, cluster: &str, service: &str, id: &str) -> R<api::TaskSet> {
    let cl = world.ecs.clusters.get(cluster).ok_or_else(service_not_found)?;
    let svc = cl.services.get(service).ok_or_else(service_not_found)?;
    let set = svc.task_set(id).ok_or_else(task_set_not_found)?;
    Ok(render(set, svc, cl, false))
}

fn scale_of(scale: Option<&api::Scale>) -> f64 {
    scale.and_then(|s| s.value).unwrap_or(100.0)
}

pub fn create_task_set(
    h: &mut EcsHandler<'_, '_>,
    input: api::CreateTaskSetRequest,
) -> R<api::CreateTaskSetResponse> {
    let (cluster, svc) = external_service(h.world, &input.cluster, &input.service)?;
    let service = svc.name.clone();
    let id = create(
        h.world,
        h.ctx,
        &cluster,
        &service,
        TaskSetSpec {
            task_definition: input.task_definition.clone(),
            launch_type: input.launch_type,
            capacity_provider_strategy: input.capacity_provider_strategy.clone(),
            platform_version: input.platform_version.clone(),
            network_configuration: input.network_configuration.clone(),
            load_balancers: input.load_balancers.clone().unwrap_or_default(),
            scale_pct: scale_of(input.scale.as_ref()),
            started_by: None,
            external_id: input.external_id.clone(),
            tags: input.tags.clone().unwrap_or_default(),
        },
    )?;
    service_loop::wake(h.world, h.ctx, &cluster, &service);
    Ok(api::CreateTaskSetResponse {
        task_set: Some(rendered(h.world, &cluster, &service, &id)?),
    })
}

pub fn describe_task_sets(
    h: &mut EcsHandler<'_, '_>,
    input: api::DescribeTaskSetsRequest,
) -> R<api::DescribeTaskSetsResponse> {
    let cl = active_cluster(&h.world.ecs, Some(&input.cluster))?;
    let svc = cl
        .services
        .get(last_segment(&input.service))
        .ok_or_else(service_not_found)?;
    if svc.status == "INACTIVE" {
        return Err(service_not_active());
    }
    let include_tags = input
        .include
        .as_ref()
        .is_some_and(|i| i.contains(&api::TaskSetField::Tags));
    let (mut task_sets, mut failures) = (Vec::new(), Vec::new());
    match &input.task_sets {
        Some(wanted) => {
            for reference in wanted {
                match svc
                    .task_set(reference)
                    .or_else(|| svc.task_set(last_segment(reference)))
                {
                    Some(set) => task_sets.push(render(set, svc, cl, include_tags)),
                    None => failures.push(missing(reference.clone())),
                }
            }
        }
        None => task_sets.extend(svc.task_sets.iter().map(|s| render(s, svc, cl, include_tags))),
    }
    Ok(api::DescribeTaskSetsResponse {
        task_sets: Some(task_sets),
        failures: Some(failures),
    })
}

/// A task set reference: its id (`ecs-svc/…`) or ARN.
fn task_set_id(svc: &ServiceRecord, reference: &str) -> R<String> {
    svc.task_set(reference)
        .or_else(|| {
            reference
                .split_once("/ecs-svc/")
                .and_then(|(_, digits)| svc.task_set(&format!("ecs-svc/{digits}")))
        })
        .map(|s| s.id.clone())
        .ok_or_else(task_set_not_found)
}

pub fn update_task_set(
    h: &mut EcsHandler<'_, '_>,
    input: api::UpdateTaskSetRequest,
) -> R<api::UpdateTaskSetResponse> {
    let (cluster, svc) = external_service(h.world, &input.cluster, &input.service)?;
    let service = svc.name.clone();
    let id = task_set_id(svc, &input.task_set)?;
    set_scale(
        h.world,
        h.ctx,
        &cluster,
        &service,
        &id,
        scale_of(Some(&input.scale)),
    )?;
    Ok(api::UpdateTaskSetResponse {
        task_set: Some(rendered(h.world, &cluster, &service, &id)?),
    })
}

pub fn update_service_primary_task_set(
    h: &mut EcsHandler<'_, '_>,
    input: api::UpdateServicePrimaryTaskSetRequest,
) -> R<api::UpdateServicePrimaryTaskSetResponse> {
    let (cluster, svc) = external_service(h.world, &input.cluster, &input.service)?;
    let service = svc.name.clone();
    let id = task_set_id(svc, &input.primary_task_set)?;
    set_primary(h.world, h.ctx, &cluster, &service, &id)?;
    Ok(api::UpdateServicePrimaryTaskSetResponse {
        task_set: Some(rendered(h.world, &cluster, &service, &id)?),
    })
}

pub fn delete_task_set(
    h: &mut EcsHandler<'_, '_>,
    input: api::DeleteTaskSetRequest,
) -> R<api::DeleteTaskSetResponse> {
    let (cluster, svc) = external_service(h.world, &input.cluster, &input.service)?;
    let service = svc.name.clone();
    let id = task_set_id(svc, &input.task_set)?;
    delete(
        h.world,
        h.ctx,
        &cluster,
        &service,
        &id,
        input.force.unwrap_or(false),
    )?;
    Ok(api::DeleteTaskSetResponse {
        task_set: Some(rendered(h.world, &cluster, &service, &id)?),
    })
}
