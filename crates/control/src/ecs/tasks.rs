//! RunTask, StartTask, StopTask, DescribeTasks and ListTasks.

use ecsim_api::ecs as api;
use ecsim_protocol::AwsError;

use super::EcsHandler;
use super::common::{
    active_cluster, client_exception, cluster_name, invalid_parameter, last_segment, missing, paginate,
    validate_tags,
};
use super::lifecycle::{self, NewTask};
use super::placement::{self, Ec2Request, Rules};
use super::render::render_task;
use super::state::{ClusterRecord, TaskDefinitionRecord, TaskPlacement};
use crate::world::World;

/// How a task is launched: its launch type and, for capacity providers, the provider's name.
pub struct Launch {
    pub launch_type: api::LaunchType,
    pub capacity_provider_name: Option<String>,
}

/// Resolves the launch type as ECS does: explicit launch type, else the capacity provider
/// strategy (the request's, else the cluster default), else EC2.
pub fn resolve_launch(
    cluster: &ClusterRecord,
    launch_type: Option<api::LaunchType>,
    strategy: Option<&[api::CapacityProviderStrategyItem]>,
) -> Result<Launch, AwsError> {
    if launch_type.is_some() && strategy.is_some_and(|s| !s.is_empty()) {
        return Err(invalid_parameter(
            "Specifying both a launch type and capacity provider strategy is not supported.",
        ));
    }
    if let Some(lt) = launch_type {
        return Ok(Launch {
            launch_type: lt,
            capacity_provider_name: None,
        });
    }
    let strategy = match strategy {
        Some(s) if !s.is_empty() => s,
        _ => cluster.default_capacity_provider_strategy.as_slice(),
    };
    let Some(first) = strategy
        .iter()
        .find(|i| i.weight.unwrap_or(0) > 0 || i.base.unwrap_or(0) > 0)
        .or(strategy.first())
    else {
        return Ok(Launch {
            launch_type: api::LaunchType::Ec2,
            capacity_provider_name: None,
        });
    };
    match first.capacity_provider.as_str() {
        "FARGATE" | "FARGATE_SPOT" => Ok(Launch {
            launch_type: api::LaunchType::Fargate,
            capacity_provider_name: Some(first.capacity_provider.clone()),
        }),
        other => Err(invalid_parameter(format!(
            "The specified capacity provider {other} does not exist."
        ))),
    }
}

/// Checks a definition can run with a launch type and network configuration; returns the awsvpc
/// configuration when the task needs one.
pub fn check_launch<'a>(
    world: &World,
    definition: &TaskDefinitionRecord,
    launch_type: api::LaunchType,
    network: Option<&'a api::NetworkConfiguration>,
) -> Result<Option<&'a api::AwsVpcConfiguration>, AwsError> {
    let td = &definition.definition;
    if td.status == Some(api::TaskDefinitionStatus::Inactive) {
        return Err(client_exception("TaskDefinition is inactive"));
    }
    if launch_type == api::LaunchType::Fargate {
        let compatible = td
            .compatibilities
            .as_deref()
            .unwrap_or_default()
            .contains(&api::Compatibility::Fargate);
        if !compatible {
            return Err(invalid_parameter(
                "Task definition does not support launch_type FARGATE.",
            ));
        }
    }
    if launch_type != api::LaunchType::Fargate && launch_type != api::LaunchType::Ec2 {
        return Err(invalid_parameter(format!(
            "ecsim does not run tasks with launch type {} yet.",
            launch_type.as_str()
        )));
    }
    let awsvpc = td.network_mode == Some(api::NetworkMode::Awsvpc);
    let config = network.and_then(|n| n.awsvpc_configuration.as_ref());
    if awsvpc {
        let Some(config) = config else {
            return Err(invalid_parameter(
                "Network Configuration must be provided when networkMode 'awsvpc' is specified.",
            ));
        };
        placement::validate_awsvpc(world, config)?;
        Ok(Some(config))
    } else {
        if config.is_some() {
            return Err(invalid_parameter(
                "Network Configuration is not valid for the given networkMode of this task definition.",
            ));
        }
        Ok(None)
    }
}

fn definition_for(h: &EcsHandler<'_, '_>, reference: &str) -> Result<TaskDefinitionRecord, AwsError> {
    super::task_definitions::find(&h.world.ecs, reference)
        .cloned()
        .ok_or_else(|| client_exception("TaskDefinition not found."))
}

fn container_instance_arn(cluster: &ClusterRecord, id: Option<&String>) -> Option<String> {
    id.and_then(|id| cluster.container_instances.get(id))
        .map(|ci| ci.arn.clone())
}

fn render(h: &EcsHandler<'_, '_>, cluster: &str, ids: &[String]) -> Vec<api::Task> {
    let Some(cl) = h.world.ecs.clusters.get(cluster) else {
        return Vec::new();
    };
    ids.iter()
        .filter_map(|id| cl.tasks.get(id))
        .map(|t| {
            render_task(
                t,
                container_instance_arn(cl, t.placement.container_instance_id.as_ref()),
                true,
            )
        })
        .collect()
}

fn insufficient_failure(instance_arn: String, reason: &str) -> api::Failure {
    api::Failure {
        arn: Some(instance_arn),
        reason: Some(reason.into()),
        detail: None,
    }
}

/// What every task of one RunTask or StartTask call shares.
struct Prepared {
    definition: TaskDefinitionRecord,
    launch: Launch,
    awsvpc: Option<api::AwsVpcConfiguration>,
    group: String,
    overrides: api::TaskOverride,
    needs: (i64, i64),
    rules: Rules,
    tags: Vec<api::Tag>,
    started_by: Option<String>,
    platform_version: Option<String>,
    enable_execute_command: bool,
}

/// Resolves and checks what RunTask and StartTask share: tags, definition, launch, network.
#[allow(clippy::too_many_arguments)]
fn prepare(
    h: &EcsHandler<'_, '_>,
    task_definition: &str,
    launch: Launch,
    network: Option<&api::NetworkConfiguration>,
    group: Option<&String>,
    overrides: Option<&api::TaskOverride>,
    tags: Option<&Vec<api::Tag>>,
    started_by: Option<&String>,
    constraints: &[api::PlacementConstraint],
    strategies: &[api::PlacementStrategy],
) -> Result<Prepared, AwsError> {
    let tags = tags.cloned().unwrap_or_default();
    validate_tags(&tags)?;
    let definition = definition_for(h, task_definition)?;
    let awsvpc = check_launch(h.world, &definition, launch.launch_type, network)?.cloned();
    let family = definition.definition.family.clone().unwrap_or_default();
    let group = group.cloned().unwrap_or_else(|| format!("family:{family}"));
    let overrides = overrides.cloned().unwrap_or_default();
    let needs = placement::requirements(&definition.definition, Some(&overrides));
    let rules = placement::compile_rules(
        definition
            .definition
            .placement_constraints
            .as_deref()
            .unwrap_or_default(),
        constraints,
        strategies,
    )?;
    Ok(Prepared {
        definition,
        launch,
        awsvpc,
        group,
        overrides,
        needs,
        rules,
        tags,
        started_by: started_by.cloned(),
        platform_version: None,
        enable_execute_command: false,
    })
}

pub fn run_task(
    h: &mut EcsHandler<'_, '_>,
    input: api::RunTaskRequest,
) -> Result<api::RunTaskResponse, AwsError> {
    let cluster = active_cluster(&h.world.ecs, input.cluster.as_deref())?;
    let cluster_name = cluster.name.clone();
    let count = input.count.unwrap_or(1);
    if !(1..=10).contains(&count) {
        return Err(invalid_parameter("count must be between 1 and 10."));
    }
    let launch = resolve_launch(
        cluster,
        input.launch_type,
        input.capacity_provider_strategy.as_deref(),
    )?;
    let mut task = prepare(
        h,
        &input.task_definition,
        launch,
        input.network_configuration.as_ref(),
        input.group.as_ref(),
        input.overrides.as_ref(),
        input.tags.as_ref(),
        input.started_by.as_ref(),
        input.placement_constraints.as_deref().unwrap_or_default(),
        input.placement_strategy.as_deref().unwrap_or_default(),
    )?;
    task.platform_version = input.platform_version.clone();
    task.enable_execute_command = input.enable_execute_command.unwrap_or(false);
    let fargate = task.launch.launch_type == api::LaunchType::Fargate;
    let cluster = active_cluster(&h.world.ecs, Some(&cluster_name))?;
    let mut started = Vec::new();
    let mut failures = Vec::new();
    if fargate {
        let mut load = placement::group_load_by_zone(cluster, &task.group);
        let subnets = task
            .awsvpc
            .as_ref()
            .map(|c| c.subnets.clone())
            .unwrap_or_default();
        for _ in 0..count {
            let placed = placement::place_awsvpc(h.world, &subnets, &mut load)?;
            started.push(start_one(h, &cluster_name, &task, placed)?);
        }
    } else {
        let request = Ec2Request {
            needs: task.needs,
            host_ports: placement::host_ports(&task.definition.definition),
            group: &task.group,
            count: u32::try_from(count).unwrap_or(1),
            rules: &task.rules,
            zones_down: &crate::faults::zones_down(h.world),
        };
        let (placed, failure) = placement::place_ec2(cluster, &request, None, h.ctx.rng);
        if let Some(f) = &failure
            && f.closest_instance_arn.is_none()
            && placed.is_empty()
        {
            return Err(invalid_parameter(
                "No Container Instances were found in your cluster.",
            ));
        }
        for p in placed {
            let p = with_eni(h.world, p, task.awsvpc.as_ref());
            started.push(start_one(h, &cluster_name, &task, p)?);
        }
        if let Some(f) = failure {
            let arn = f.closest_instance_arn.clone().unwrap_or_default();
            for _ in 0..f.tasks {
                failures.push(insufficient_failure(arn.clone(), f.reason));
            }
        }
    }
    Ok(api::RunTaskResponse {
        tasks: Some(render(h, &cluster_name, &started)),
        failures: Some(failures),
    })
}

/// For awsvpc tasks on EC2: the ENI comes from a given subnet in the instance's AZ.
pub(crate) fn with_eni(
    world: &mut World,
    mut p: TaskPlacement,
    awsvpc: Option<&api::AwsVpcConfiguration>,
) -> TaskPlacement {
    if let Some(config) = awsvpc {
        let subnet = config.subnets.iter().find(|s| {
            world
                .network
                .subnets
                .get(*s)
                .is_some_and(|x| x.availability_zone == p.availability_zone)
        });
        if let Some(subnet) = subnet.cloned() {
            p.private_ip = world.network.allocate_ip(&subnet);
            p.subnet_id = Some(subnet);
        }
    }
    p
}

fn start_one(
    h: &mut EcsHandler<'_, '_>,
    cluster: &str,
    task: &Prepared,
    placement: TaskPlacement,
) -> Result<String, AwsError> {
    let fargate = task.launch.launch_type == api::LaunchType::Fargate;
    let platform_version = fargate.then(|| match task.platform_version.as_deref() {
        None | Some("LATEST") => "1.4.0".to_string(),
        Some(v) => v.to_string(),
    });
    let release = placement.subnet_id.clone().zip(placement.private_ip.clone());
    let result = lifecycle::create_task(
        h.world,
        h.ctx,
        NewTask {
            cluster_name: cluster.to_string(),
            definition: &task.definition,
            group: task.group.clone(),
            started_by: task.started_by.clone(),
            service_name: None,
            deployment_id: None,
            launch_type: Some(task.launch.launch_type),
            capacity_provider_name: task.launch.capacity_provider_name.clone(),
            platform_version,
            placement,
            overrides: task.overrides.clone(),
            tags: task.tags.clone(),
            enable_execute_command: task.enable_execute_command,
        },
    );
    if result.is_err()
        && let Some((subnet, ip)) = release
    {
        h.world.network.release_ip(&subnet, &ip);
    }
    result
}

pub fn start_task(
    h: &mut EcsHandler<'_, '_>,
    input: api::StartTaskRequest,
) -> Result<api::StartTaskResponse, AwsError> {
    let cluster = active_cluster(&h.world.ecs, input.cluster.as_deref())?;
    let cluster_name = cluster.name.clone();
    if input.container_instances.is_empty() || input.container_instances.len() > 10 {
        return Err(invalid_parameter(
            "containerInstances must contain between 1 and 10 items.",
        ));
    }
    let launch = Launch {
        launch_type: api::LaunchType::Ec2,
        capacity_provider_name: None,
    };
    let mut task = prepare(
        h,
        &input.task_definition,
        launch,
        input.network_configuration.as_ref(),
        input.group.as_ref(),
        input.overrides.as_ref(),
        input.tags.as_ref(),
        input.started_by.as_ref(),
        &[],
        &[],
    )?;
    task.enable_execute_command = input.enable_execute_command.unwrap_or(false);
    let mut started = Vec::new();
    let mut failures = Vec::new();
    for reference in &input.container_instances {
        let id = last_segment(reference).to_string();
        let cl = active_cluster(&h.world.ecs, Some(&cluster_name))?;
        let arn = h
            .world
            .arn("ecs", &format!("container-instance/{cluster_name}/{id}"));
        if cl
            .container_instances
            .get(&id)
            .is_none_or(|ci| ci.status != "ACTIVE")
        {
            failures.push(missing(arn));
            continue;
        }
        let only = [id.clone()];
        let request = Ec2Request {
            needs: task.needs,
            host_ports: placement::host_ports(&task.definition.definition),
            group: &task.group,
            count: 1,
            rules: &task.rules,
            zones_down: &crate::faults::zones_down(h.world),
        };
        let (placed, failure) = placement::place_ec2(cl, &request, Some(&only), h.ctx.rng);
        for p in placed {
            let p = with_eni(h.world, p, task.awsvpc.as_ref());
            started.push(start_one(h, &cluster_name, &task, p)?);
        }
        if let Some(f) = failure {
            failures.push(insufficient_failure(
                f.closest_instance_arn.unwrap_or(arn),
                f.reason,
            ));
        }
    }
    Ok(api::StartTaskResponse {
        tasks: Some(render(h, &cluster_name, &started)),
        failures: Some(failures),
    })
}

pub fn stop_task(
    h: &mut EcsHandler<'_, '_>,
    input: api::StopTaskRequest,
) -> Result<api::StopTaskResponse, AwsError> {
    let cluster = active_cluster(&h.world.ecs, input.cluster.as_deref())?;
    let cluster_name = cluster.name.clone();
    let id = last_segment(&input.task).to_string();
    if !cluster.tasks.contains_key(&id) {
        return Err(invalid_parameter("The referenced task was not found."));
    }
    let reason = input
        .reason
        .clone()
        .filter(|r| !r.is_empty())
        .unwrap_or_else(|| "Task stopped by user".into());
    if reason.chars().count() > 1024 {
        return Err(invalid_parameter("reason must be at most 1024 characters."));
    }
    lifecycle::request_stop(h.world, h.ctx, &id, api::TaskStopCode::UserInitiated, reason);
    let task = render(h, &cluster_name, std::slice::from_ref(&id)).pop();
    Ok(api::StopTaskResponse { task })
}

pub fn describe_tasks(
    h: &mut EcsHandler<'_, '_>,
    input: api::DescribeTasksRequest,
) -> Result<api::DescribeTasksResponse, AwsError> {
    let cluster = active_cluster(&h.world.ecs, input.cluster.as_deref())?;
    if input.tasks.len() > 100 {
        return Err(invalid_parameter("tasks can have at most 100 items."));
    }
    let include_tags = input
        .include
        .as_deref()
        .unwrap_or_default()
        .contains(&api::TaskField::Tags);
    let mut tasks = Vec::new();
    let mut failures = Vec::new();
    for reference in &input.tasks {
        let id = last_segment(reference);
        match cluster.tasks.get(id) {
            Some(t) => tasks.push(render_task(
                t,
                container_instance_arn(cluster, t.placement.container_instance_id.as_ref()),
                include_tags,
            )),
            None => {
                let arn = if reference.starts_with("arn:") {
                    reference.clone()
                } else {
                    h.world.arn("ecs", &format!("task/{}/{id}", cluster.name))
                };
                failures.push(missing(arn));
            }
        }
    }
    Ok(api::DescribeTasksResponse {
        tasks: Some(tasks),
        failures: Some(failures),
    })
}

pub fn list_tasks(
    h: &mut EcsHandler<'_, '_>,
    input: api::ListTasksRequest,
) -> Result<api::ListTasksResponse, AwsError> {
    let name = cluster_name(input.cluster.as_deref());
    let cluster = active_cluster(&h.world.ecs, Some(&name))?;
    let desired = input.desired_status.unwrap_or(api::DesiredStatus::Running);
    let instance = input.container_instance.as_deref().map(last_segment);
    if let Some(service) = input.service_name.as_deref()
        && !cluster.services.contains_key(last_segment(service))
    {
        return Err(super::common::service_not_found());
    }
    let mut items: Vec<(String, String)> = cluster
        .tasks
        .values()
        .filter(|t| match desired {
            api::DesiredStatus::Running => t.desired_status == "RUNNING",
            api::DesiredStatus::Stopped => t.desired_status == "STOPPED",
            api::DesiredStatus::Pending => false,
        })
        .filter(|t| input.family.as_deref().is_none_or(|f| t.family == f))
        .filter(|t| {
            input
                .started_by
                .as_deref()
                .is_none_or(|s| t.started_by.as_deref() == Some(s))
        })
        .filter(|t| {
            input
                .service_name
                .as_deref()
                .is_none_or(|s| t.service_name.as_deref() == Some(last_segment(s)))
        })
        .filter(|t| instance.is_none_or(|i| t.placement.container_instance_id.as_deref() == Some(i)))
        .filter(|t| input.launch_type.is_none_or(|lt| t.launch_type == Some(lt)))
        .map(|t| (t.arn.clone(), t.arn.clone()))
        .collect();
    items.sort();
    let (task_arns, next_token) = paginate(&items, input.next_token.as_deref(), input.max_results, 100, 100)?;
    Ok(api::ListTasksResponse {
        task_arns: Some(task_arns),
        next_token,
    })
}
