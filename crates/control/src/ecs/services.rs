//! CreateService, UpdateService, DeleteService, DescribeServices and ListServices. Handlers change
//! desired state and queue the service controller; they never start or stop tasks themselves.

use std::collections::VecDeque;

use ecsim_api::ecs as api;
use ecsim_protocol::AwsError;

use super::EcsHandler;
use super::common::{
    active_cluster, active_cluster_mut, cluster_name, invalid_parameter, is_valid_name, last_segment,
    missing, paginate, root_principal_arn, service_not_active, service_not_found, validate_tags,
};
use super::render::render_service;
use super::service_loop;
use super::state::{DeploymentRecord, ServiceRecord};
use super::tasks::{check_launch, resolve_launch};

fn default_deployment_configuration(
    given: Option<api::DeploymentConfiguration>,
) -> api::DeploymentConfiguration {
    let mut c = given.unwrap_or_default();
    c.maximum_percent.get_or_insert(200);
    c.minimum_healthy_percent.get_or_insert(100);
    c.deployment_circuit_breaker
        .get_or_insert(api::DeploymentCircuitBreaker {
            enable: false,
            rollback: false,
            ..Default::default()
        });
    c.strategy.get_or_insert(api::DeploymentStrategy::Rolling);
    c
}

fn check_deployment_configuration(c: &api::DeploymentConfiguration) -> Result<(), AwsError> {
    let max = c.maximum_percent.unwrap_or(200);
    let min = c.minimum_healthy_percent.unwrap_or(100);
    if !(0..=100).contains(&min) {
        return Err(invalid_parameter(
            "minimumHealthyPercent must be between 0 and 100.",
        ));
    }
    if max < 100 {
        return Err(invalid_parameter("maximumPercent must be at least 100."));
    }
    super::blue_green::config::check_strategy(c)
}

fn new_deployment(
    h: &mut EcsHandler<'_, '_>,
    svc_desired: i32,
    task_definition_arn: String,
    launch_type: Option<api::LaunchType>,
    strategy: Vec<api::CapacityProviderStrategyItem>,
    platform_version: Option<String>,
    network: Option<api::NetworkConfiguration>,
) -> DeploymentRecord {
    let id = format!("ecs-svc/{}", h.ctx.rng.digits(19));
    let fargate = launch_type == Some(api::LaunchType::Fargate);
    DeploymentRecord {
        rollout_state_reason: format!("ECS deployment {id} in progress."),
        id,
        status: "PRIMARY",
        task_definition_arn,
        desired_count: svc_desired,
        failed_tasks: 0,
        created_at_ms: h.ctx.now_ms,
        updated_at_ms: h.ctx.now_ms,
        launch_type,
        capacity_provider_strategy: strategy,
        platform_version: fargate.then(|| match platform_version.as_deref() {
            None | Some("LATEST") => "1.4.0".to_string(),
            Some(v) => v.to_string(),
        }),
        platform_family: fargate.then(|| "Linux".to_string()),
        network_configuration: network,
        rollout_state: api::DeploymentRolloutState::InProgress,
        // Filled in by `deployments::begin` once the deployment is the service's PRIMARY.
        service_deployment_arn: String::new(),
        service_revision_arn: String::new(),
        load_balancers: None,
    }
}

fn reject_unsupported_integrations(registries: Option<&[api::ServiceRegistry]>) -> Result<(), AwsError> {
    // Cloud Map resources do not exist in ecsim yet, so any reference to one is a reference to a
    // resource that does not exist — as AWS answers it.
    if let Some(r) = registries.and_then(|r| r.first()) {
        let arn = r.registry_arn.clone().unwrap_or_default();
        return Err(invalid_parameter(format!(
            "The service registry {arn} does not exist."
        )));
    }
    Ok(())
}

pub fn create_service(
    h: &mut EcsHandler<'_, '_>,
    input: api::CreateServiceRequest,
) -> Result<api::CreateServiceResponse, AwsError> {
    let cluster = active_cluster(&h.world.ecs, input.cluster.as_deref())?;
    let cluster_name = cluster.name.clone();
    let cluster_arn = cluster.arn.clone();
    if !is_valid_name(&input.service_name) {
        return Err(invalid_parameter(
            "Service name must be 1-255 characters of letters, numbers, hyphens and underscores.",
        ));
    }
    if cluster
        .services
        .get(&input.service_name)
        .is_some_and(|s| s.status != "INACTIVE")
    {
        return Err(invalid_parameter("Creation of service was not idempotent."));
    }
    let controller = input.deployment_controller.clone().unwrap_or_default();
    if controller.r#type == api::DeploymentControllerType::External {
        return create_external_service(h, input, cluster_name, cluster_arn);
    }
    let scheduling = input
        .scheduling_strategy
        .unwrap_or(api::SchedulingStrategy::Replica);
    if scheduling == api::SchedulingStrategy::Daemon {
        return Err(AwsError::client(
            "UnsupportedFeatureException",
            "ecsim does not run DAEMON services yet.",
        ));
    }
    let Some(desired) = input.desired_count else {
        return Err(invalid_parameter(
            "desiredCount is required for services with the REPLICA scheduling strategy.",
        ));
    };
    if !(0..=10_000).contains(&desired) {
        return Err(invalid_parameter("desiredCount must be between 0 and 10000."));
    }
    let Some(td_ref) = input.task_definition.as_deref() else {
        return Err(invalid_parameter(
            "TaskDefinition must be specified for the ECS deployment controller.",
        ));
    };
    let tags = input.tags.clone().unwrap_or_default();
    validate_tags(&tags)?;
    reject_unsupported_integrations(input.service_registries.as_deref())?;
    let definition = super::task_definitions::find(&h.world.ecs, td_ref)
        .cloned()
        .ok_or_else(|| invalid_parameter("TaskDefinition not found."))?;
    let load_balancers = input.load_balancers.clone().unwrap_or_default();
    super::load_balancing::validate_service_load_balancers(h.world, &definition.definition, &load_balancers)?;
    super::placement::compile_rules(
        definition
            .definition
            .placement_constraints
            .as_deref()
            .unwrap_or_default(),
        input.placement_constraints.as_deref().unwrap_or_default(),
        input.placement_strategy.as_deref().unwrap_or_default(),
    )?;
    let launch = resolve_launch(
        cluster,
        input.launch_type,
        input.capacity_provider_strategy.as_deref(),
    )?;
    check_launch(
        h.world,
        &definition,
        launch.launch_type,
        input.network_configuration.as_ref(),
    )?;
    let deployment_configuration = default_deployment_configuration(input.deployment_configuration.clone());
    check_deployment_configuration(&deployment_configuration)?;
    super::blue_green::config::check_load_balancers(
        h.world,
        deployment_configuration.strategy,
        &load_balancers,
    )?;
    let td_arn = definition
        .definition
        .task_definition_arn
        .clone()
        .unwrap_or_default();
    let explicit_launch = input.launch_type.is_some() || launch.capacity_provider_name.is_none();
    let strategy = input.capacity_provider_strategy.clone().unwrap_or_default();
    let strategy = if explicit_launch {
        Vec::new()
    } else if strategy.is_empty() {
        cluster.default_capacity_provider_strategy.clone()
    } else {
        strategy
    };
    let launch_type = explicit_launch.then_some(launch.launch_type);
    let deployment = new_deployment(
        h,
        desired,
        td_arn.clone(),
        Some(launch.launch_type),
        strategy.clone(),
        input.platform_version.clone(),
        input.network_configuration.clone(),
    );
    let fargate = launch.launch_type == api::LaunchType::Fargate;
    let svc = ServiceRecord {
        name: input.service_name.clone(),
        arn: h
            .world
            .arn("ecs", &format!("service/{cluster_name}/{}", input.service_name)),
        cluster_name: cluster_name.clone(),
        cluster_arn,
        status: "ACTIVE",
        desired_count: desired,
        task_definition_arn: td_arn,
        launch_type,
        capacity_provider_strategy: strategy,
        platform_version: deployment
            .platform_version
            .as_ref()
            .map(|_| input.platform_version.clone().unwrap_or_else(|| "LATEST".into())),
        platform_family: fargate.then(|| "Linux".to_string()),
        deployment_configuration,
        deployment_controller: controller,
        network_configuration: input.network_configuration.clone(),
        placement_constraints: input.placement_constraints.clone().unwrap_or_default(),
        placement_strategy: input.placement_strategy.clone().unwrap_or_default(),
        scheduling_strategy: scheduling,
        health_check_grace_period_seconds: input.health_check_grace_period_seconds,
        availability_zone_rebalancing: input
            .availability_zone_rebalancing
            .unwrap_or(api::AvailabilityZoneRebalancing::Enabled),
        enable_ecs_managed_tags: input.enable_ecs_managed_tags.unwrap_or(false),
        propagate_tags: input.propagate_tags,
        enable_execute_command: input.enable_execute_command.unwrap_or(false),
        role_arn: Some(format!(
            "arn:aws:iam::{}:role/aws-service-role/ecs.amazonaws.com/AWSServiceRoleForECS",
            h.world.account_id
        )),
        created_at_ms: h.ctx.now_ms,
        created_by: root_principal_arn(h.world),
        tags,
        deployments: vec![deployment],
        events: VecDeque::new(),
        placement_blocked: false,
        steady_reported: false,
        check_pending: false,
        last_completed_revision_arn: None,
        load_balancers,
        task_sets: Vec::new(),
    };
    let name = svc.name.clone();
    let code_deploy = svc.uses_task_sets();
    let cluster = active_cluster_mut(&mut h.world.ecs, Some(&cluster_name))?;
    cluster.services.insert(name.clone(), svc);
    if code_deploy {
        // CodeDeploy services run their tasks in task sets: the first one (PRIMARY) now, the
        // replacements when CodeDeploy deploys.
        let primary = h
            .world
            .ecs
            .service_mut(&cluster_name, &name)
            .map(|s| (std::mem::take(&mut s.deployments), s.load_balancers.clone()));
        if let Some((mut deployments, load_balancers)) = primary
            && let Some(d) = deployments.pop()
        {
            let spec = super::task_sets::TaskSetSpec {
                task_definition: d.task_definition_arn,
                launch_type: d.launch_type,
                capacity_provider_strategy: Some(d.capacity_provider_strategy),
                platform_version: input.platform_version.clone(),
                network_configuration: d.network_configuration,
                load_balancers,
                scale_pct: 100.0,
                started_by: None,
                external_id: None,
                tags: Vec::new(),
            };
            super::task_sets::create(h.world, h.ctx, &cluster_name, &name, spec)?;
        }
    } else {
        super::deployments::begin(h.world, h.ctx, &cluster_name, &name);
    }
    service_loop::wake(h.world, h.ctx, &cluster_name, &name);
    Ok(api::CreateServiceResponse {
        service: Some(rendered(h, &cluster_name, &name, true)),
    })
}

/// CreateService with the EXTERNAL controller: only the service itself; what runs is given by
/// the task sets created later.
fn create_external_service(
    h: &mut EcsHandler<'_, '_>,
    input: api::CreateServiceRequest,
    cluster_name: String,
    cluster_arn: String,
) -> Result<api::CreateServiceResponse, AwsError> {
    let task_set_fields = [
        ("taskDefinition", input.task_definition.is_some()),
        ("launchType", input.launch_type.is_some()),
        (
            "capacityProviderStrategy",
            input.capacity_provider_strategy.is_some(),
        ),
        ("platformVersion", input.platform_version.is_some()),
        ("networkConfiguration", input.network_configuration.is_some()),
        (
            "loadBalancers",
            input.load_balancers.as_ref().is_some_and(|l| !l.is_empty()),
        ),
        (
            "serviceRegistries",
            input.service_registries.as_ref().is_some_and(|r| !r.is_empty()),
        ),
    ];
    if let Some((field, _)) = task_set_fields.iter().find(|(_, given)| *given) {
        return Err(invalid_parameter(format!(
            "{field} cannot be specified for a service with the EXTERNAL deployment controller; \
             specify it when creating a task set."
        )));
    }
    if input
        .scheduling_strategy
        .is_some_and(|s| s == api::SchedulingStrategy::Daemon)
    {
        return Err(invalid_parameter(
            "The DAEMON scheduling strategy is not supported with the EXTERNAL deployment controller.",
        ));
    }
    let desired = input.desired_count.unwrap_or(0);
    if !(0..=10_000).contains(&desired) {
        return Err(invalid_parameter("desiredCount must be between 0 and 10000."));
    }
    let tags = input.tags.clone().unwrap_or_default();
    validate_tags(&tags)?;
    let deployment_configuration = default_deployment_configuration(input.deployment_configuration.clone());
    check_deployment_configuration(&deployment_configuration)?;
    let svc = ServiceRecord {
        name: input.service_name.clone(),
        arn: h
            .world
            .arn("ecs", &format!("service/{cluster_name}/{}", input.service_name)),
        cluster_name: cluster_name.clone(),
        cluster_arn,
        status: "ACTIVE",
        desired_count: desired,
        task_definition_arn: String::new(),
        launch_type: None,
        capacity_provider_strategy: Vec::new(),
        platform_version: None,
        platform_family: None,
        deployment_configuration,
        deployment_controller: input.deployment_controller.clone().unwrap_or_default(),
        network_configuration: None,
        placement_constraints: input.placement_constraints.clone().unwrap_or_default(),
        placement_strategy: input.placement_strategy.clone().unwrap_or_default(),
        scheduling_strategy: api::SchedulingStrategy::Replica,
        health_check_grace_period_seconds: input.health_check_grace_period_seconds,
        availability_zone_rebalancing: input
            .availability_zone_rebalancing
            .unwrap_or(api::AvailabilityZoneRebalancing::Disabled),
        enable_ecs_managed_tags: input.enable_ecs_managed_tags.unwrap_or(false),
        propagate_tags: input.propagate_tags,
        enable_execute_command: input.enable_execute_command.unwrap_or(false),
        role_arn: Some(format!(
            "arn:aws:iam::{}:role/aws-service-role/ecs.amazonaws.com/AWSServiceRoleForECS",
            h.world.account_id
        )),
        created_at_ms: h.ctx.now_ms,
        created_by: root_principal_arn(h.world),
        tags,
        deployments: Vec::new(),
        events: VecDeque::new(),
        placement_blocked: false,
        steady_reported: false,
        check_pending: false,
        last_completed_revision_arn: None,
        load_balancers: Vec::new(),
        task_sets: Vec::new(),
    };
    let name = svc.name.clone();
    let cluster = active_cluster_mut(&mut h.world.ecs, Some(&cluster_name))?;
    cluster.services.insert(name.clone(), svc);
    service_loop::wake(h.world, h.ctx, &cluster_name, &name);
    Ok(api::CreateServiceResponse {
        service: Some(rendered(h, &cluster_name, &name, true)),
    })
}

/// UpdateService on a task-set service: only what belongs to the service itself may change.
fn check_task_set_service_update(
    svc: &ServiceRecord,
    input: &api::UpdateServiceRequest,
) -> Result<(), AwsError> {
    if svc.deployment_controller.r#type == api::DeploymentControllerType::CodeDeploy
        && input.task_definition.is_some()
    {
        return Err(invalid_parameter(
            "Unable to update task definition on services with a CODE_DEPLOY deployment controller. Use AWS \
             CodeDeploy to trigger a new deployment.",
        ));
    }
    let task_set_fields = [
        ("taskDefinition", input.task_definition.is_some()),
        ("networkConfiguration", input.network_configuration.is_some()),
        ("platformVersion", input.platform_version.is_some()),
        (
            "capacityProviderStrategy",
            input.capacity_provider_strategy.is_some(),
        ),
        ("loadBalancers", input.load_balancers.is_some()),
        ("serviceRegistries", input.service_registries.is_some()),
        ("forceNewDeployment", input.force_new_deployment.unwrap_or(false)),
    ];
    if let Some((field, _)) = task_set_fields.iter().find(|(_, given)| *given) {
        let remedy = if svc.deployment_controller.r#type == api::DeploymentControllerType::CodeDeploy {
            "deploy it with AWS CodeDeploy"
        } else {
            "create a new task set"
        };
        return Err(invalid_parameter(format!(
            "{field} cannot be updated on a service with the {} deployment controller; {remedy}.",
            svc.deployment_controller.r#type.as_str()
        )));
    }
    Ok(())
}

/// UpdateService on a task-set service: the desired count (task sets follow through their
/// scale) and service-level settings; never a new deployment.
fn update_task_set_service(
    h: &mut EcsHandler<'_, '_>,
    input: api::UpdateServiceRequest,
    cluster_name: &str,
    name: &str,
) -> Result<api::UpdateServiceResponse, AwsError> {
    let config = match input.deployment_configuration.clone() {
        Some(given) => {
            let config = default_deployment_configuration(Some(given));
            check_deployment_configuration(&config)?;
            Some(config)
        }
        None => None,
    };
    let svc = h
        .world
        .ecs
        .service_mut(cluster_name, name)
        .ok_or_else(service_not_found)?;
    if let Some(d) = input.desired_count {
        svc.desired_count = d;
    }
    if let Some(c) = config {
        svc.deployment_configuration = c;
    }
    if let Some(g) = input.health_check_grace_period_seconds {
        svc.health_check_grace_period_seconds = Some(g);
    }
    if let Some(v) = input.enable_ecs_managed_tags {
        svc.enable_ecs_managed_tags = v;
    }
    if let Some(v) = input.propagate_tags {
        svc.propagate_tags = Some(v);
    }
    if let Some(c) = input.placement_constraints.clone() {
        svc.placement_constraints = c;
    }
    if let Some(s) = input.placement_strategy.clone() {
        svc.placement_strategy = s;
    }
    svc.steady_reported = false;
    service_loop::wake(h.world, h.ctx, cluster_name, name);
    Ok(api::UpdateServiceResponse {
        service: Some(rendered(h, cluster_name, name, false)),
    })
}

fn rendered(h: &EcsHandler<'_, '_>, cluster: &str, service: &str, include_tags: bool) -> api::Service {
    let cl = &h.world.ecs.clusters[cluster];
    render_service(&cl.services[service], cl, include_tags)
}

pub fn update_service(
    h: &mut EcsHandler<'_, '_>,
    input: api::UpdateServiceRequest,
) -> Result<api::UpdateServiceResponse, AwsError> {
    let cluster = active_cluster(&h.world.ecs, input.cluster.as_deref())?;
    let cluster_name = cluster.name.clone();
    let name = last_segment(&input.service).to_string();
    let svc = cluster.services.get(&name).ok_or_else(service_not_found)?;
    if svc.status != "ACTIVE" {
        return Err(service_not_active());
    }
    if let Some(d) = input.desired_count
        && !(0..=10_000).contains(&d)
    {
        return Err(invalid_parameter("desiredCount must be between 0 and 10000."));
    }
    if svc.uses_task_sets() {
        check_task_set_service_update(svc, &input)?;
        return update_task_set_service(h, input, &cluster_name, &name);
    }
    if input
        .deployment_controller
        .as_ref()
        .is_some_and(|c| c.r#type != svc.deployment_controller.r#type)
    {
        return Err(invalid_parameter(
            "Updating the deployment controller of a service is not supported by ecsim yet.",
        ));
    }
    reject_unsupported_integrations(input.service_registries.as_deref())?;
    if input
        .load_balancers
        .as_ref()
        .is_some_and(|l| *l != svc.load_balancers)
    {
        return Err(invalid_parameter(
            "ecsim cannot change the load balancers of an existing service yet; create a new service.",
        ));
    }
    let primary = svc.deployments.first().cloned();
    let new_definition = match input.task_definition.as_deref() {
        Some(r) => Some(
            super::task_definitions::find(&h.world.ecs, r)
                .cloned()
                .ok_or_else(|| invalid_parameter("TaskDefinition not found."))?,
        ),
        None => None,
    };
    if let Some(d) = &new_definition {
        super::load_balancing::validate_service_load_balancers(h.world, &d.definition, &svc.load_balancers)?;
    }
    let network = input
        .network_configuration
        .clone()
        .or_else(|| svc.network_configuration.clone());
    let launch_type = primary
        .as_ref()
        .and_then(|p| p.launch_type)
        .unwrap_or(api::LaunchType::Ec2);
    let definition_for_check = match &new_definition {
        Some(d) => d.clone(),
        None => super::task_definitions::find(&h.world.ecs, &svc.task_definition_arn)
            .cloned()
            .ok_or_else(|| invalid_parameter("TaskDefinition not found."))?,
    };
    if new_definition.is_some() || input.network_configuration.is_some() {
        check_launch(h.world, &definition_for_check, launch_type, network.as_ref())?;
    }
    if input.placement_constraints.is_some() || input.placement_strategy.is_some() {
        super::placement::compile_rules(
            definition_for_check
                .definition
                .placement_constraints
                .as_deref()
                .unwrap_or_default(),
            input
                .placement_constraints
                .as_deref()
                .unwrap_or(&svc.placement_constraints),
            input
                .placement_strategy
                .as_deref()
                .unwrap_or(&svc.placement_strategy),
        )?;
    }
    let mut config = svc.deployment_configuration.clone();
    if let Some(mut given) = input.deployment_configuration.clone() {
        // A configuration without a strategy keeps the service's (emulator decision: changing
        // only the alarms must not turn a blue/green service into a rolling one).
        given.strategy = given.strategy.or(svc.deployment_configuration.strategy);
        config = default_deployment_configuration(Some(given));
        check_deployment_configuration(&config)?;
        super::blue_green::config::check_load_balancers(h.world, config.strategy, &svc.load_balancers)?;
    }
    let needs_deployment = new_definition.is_some()
        || input.network_configuration.is_some()
        || input.platform_version.is_some()
        || input.capacity_provider_strategy.is_some()
        || input.force_new_deployment.unwrap_or(false);
    if needs_deployment && super::blue_green::scaling(h.world, &cluster_name, &name).is_some() {
        // ECS would reconcile (RECONCILE_SERVICE); ecsim runs one blue/green deployment at a time.
        return Err(invalid_parameter(
            "A BLUE_GREEN, LINEAR or CANARY service deployment is in progress for this service: wait for it \
             to finish or stop it with StopServiceDeployment before starting another deployment.",
        ));
    }
    let desired = input.desired_count.unwrap_or(svc.desired_count);
    let new_deployment_record = needs_deployment.then(|| {
        let td_arn = definition_for_check
            .definition
            .task_definition_arn
            .clone()
            .unwrap_or_default();
        let strategy = input
            .capacity_provider_strategy
            .clone()
            .or_else(|| primary.as_ref().map(|p| p.capacity_provider_strategy.clone()))
            .unwrap_or_default();
        let platform = input
            .platform_version
            .clone()
            .or_else(|| svc.platform_version.clone());
        (td_arn, strategy, platform)
    });
    let new_deployment_record = new_deployment_record.map(|(td, strategy, platform)| {
        new_deployment(
            h,
            desired,
            td,
            Some(launch_type),
            strategy,
            platform,
            network.clone(),
        )
    });
    let now = h.ctx.now_ms;
    let cluster = active_cluster_mut(&mut h.world.ecs, Some(&cluster_name))?;
    let svc = cluster.services.get_mut(&name).ok_or_else(service_not_found)?;
    svc.desired_count = desired;
    svc.deployment_configuration = config;
    if let Some(g) = input.health_check_grace_period_seconds {
        svc.health_check_grace_period_seconds = Some(g);
    }
    if let Some(r) = input.availability_zone_rebalancing {
        svc.availability_zone_rebalancing = r;
    }
    if let Some(v) = input.enable_execute_command {
        svc.enable_execute_command = v;
    }
    if let Some(v) = input.enable_ecs_managed_tags {
        svc.enable_ecs_managed_tags = v;
    }
    if let Some(v) = input.propagate_tags {
        svc.propagate_tags = Some(v);
    }
    if let Some(c) = input.placement_constraints.clone() {
        svc.placement_constraints = c;
    }
    if let Some(s) = input.placement_strategy.clone() {
        svc.placement_strategy = s;
    }
    if let Some(primary) = svc.deployments.first_mut() {
        primary.desired_count = desired;
        primary.updated_at_ms = now;
    }
    if let Some(d) = new_deployment_record {
        for old in &mut svc.deployments {
            old.status = "ACTIVE";
            old.desired_count = 0;
        }
        svc.task_definition_arn = d.task_definition_arn.clone();
        svc.network_configuration = network;
        svc.deployments.insert(0, d);
    }
    let started_deployment = needs_deployment;
    svc.steady_reported = false;
    svc.placement_blocked = false;
    if started_deployment {
        super::deployments::begin(h.world, h.ctx, &cluster_name, &name);
    }
    service_loop::wake(h.world, h.ctx, &cluster_name, &name);
    Ok(api::UpdateServiceResponse {
        service: Some(rendered(h, &cluster_name, &name, false)),
    })
}

pub fn delete_service(
    h: &mut EcsHandler<'_, '_>,
    input: api::DeleteServiceRequest,
) -> Result<api::DeleteServiceResponse, AwsError> {
    let cluster = active_cluster_mut(&mut h.world.ecs, input.cluster.as_deref())?;
    let cluster_name = cluster.name.clone();
    let name = last_segment(&input.service).to_string();
    let svc = cluster.services.get_mut(&name).ok_or_else(service_not_found)?;
    if svc.status != "ACTIVE" {
        return Err(service_not_active());
    }
    if svc.desired_count > 0 && !input.force.unwrap_or(false) {
        return Err(invalid_parameter(
            "The service cannot be stopped while it is scaled above 0.",
        ));
    }
    svc.status = "DRAINING";
    svc.desired_count = 0;
    for d in &mut svc.deployments {
        d.desired_count = 0;
    }
    service_loop::wake(h.world, h.ctx, &cluster_name, &name);
    Ok(api::DeleteServiceResponse {
        service: Some(rendered(h, &cluster_name, &name, false)),
    })
}

pub fn describe_services(
    h: &mut EcsHandler<'_, '_>,
    input: api::DescribeServicesRequest,
) -> Result<api::DescribeServicesResponse, AwsError> {
    let cluster = active_cluster(&h.world.ecs, input.cluster.as_deref())?;
    if input.services.is_empty() || input.services.len() > 10 {
        return Err(invalid_parameter("services must contain between 1 and 10 items."));
    }
    let include_tags = input
        .include
        .as_deref()
        .unwrap_or_default()
        .contains(&api::ServiceField::Tags);
    let mut services = Vec::new();
    let mut failures = Vec::new();
    for reference in &input.services {
        let name = last_segment(reference);
        match cluster.services.get(name) {
            Some(svc) => services.push(render_service(svc, cluster, include_tags)),
            None => failures.push(missing(if reference.starts_with("arn:") {
                reference.clone()
            } else {
                h.world.arn("ecs", &format!("service/{}/{name}", cluster.name))
            })),
        }
    }
    Ok(api::DescribeServicesResponse {
        services: Some(services),
        failures: Some(failures),
    })
}

pub fn list_services(
    h: &mut EcsHandler<'_, '_>,
    input: api::ListServicesRequest,
) -> Result<api::ListServicesResponse, AwsError> {
    let name = cluster_name(input.cluster.as_deref());
    let cluster = active_cluster(&h.world.ecs, Some(&name))?;
    let items: Vec<(String, String)> = cluster
        .services
        .values()
        .filter(|s| s.status != "INACTIVE")
        .filter(|s| {
            input
                .launch_type
                .is_none_or(|lt| s.deployments.first().and_then(|d| d.launch_type) == Some(lt))
        })
        .filter(|s| {
            input
                .scheduling_strategy
                .is_none_or(|st| s.scheduling_strategy == st)
        })
        .map(|s| (s.arn.clone(), s.arn.clone()))
        .collect();
    let (service_arns, next_token) =
        paginate(&items, input.next_token.as_deref(), input.max_results, 10, 100)?;
    Ok(api::ListServicesResponse {
        service_arns: Some(service_arns),
        next_token,
    })
}
