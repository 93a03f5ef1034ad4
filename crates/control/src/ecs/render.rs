//! Renders tasks and services as the ECS API shows them.

use ecsim_api::ecs as api;

use super::common::ts;
use super::lifecycle::{opt_ts, reported_health};
use super::state::{ClusterRecord, DeploymentRecord, ServiceRecord, TaskRecord, TaskStatus};

fn detail(name: &str, value: impl Into<String>) -> api::KeyValuePair {
    api::KeyValuePair {
        name: Some(name.into()),
        value: Some(value.into()),
    }
}

fn attachment(task: &TaskRecord) -> Option<api::Attachment> {
    let id = task.attachment_id.clone()?;
    let status = match task.status {
        TaskStatus::Provisioning => "PRECREATED",
        TaskStatus::Pending | TaskStatus::Activating => "ATTACHING",
        TaskStatus::Running | TaskStatus::Deactivating | TaskStatus::Stopping => "ATTACHED",
        TaskStatus::Deprovisioning => "DETACHING",
        TaskStatus::Stopped => "DELETED",
    };
    let mut details = vec![detail(
        "subnetId",
        task.placement.subnet_id.clone().unwrap_or_default(),
    )];
    if let Some(eni) = &task.eni_id {
        details.push(detail("networkInterfaceId", eni.clone()));
    }
    if let Some(mac) = &task.mac_address {
        details.push(detail("macAddress", mac.clone()));
    }
    if let Some(ip) = &task.placement.private_ip {
        details.push(detail(
            "privateDnsName",
            format!("ip-{}.ec2.internal", ip.replace('.', "-")),
        ));
        details.push(detail("privateIPv4Address", ip.clone()));
    }
    Some(api::Attachment {
        id: Some(id),
        r#type: Some("ElasticNetworkInterface".into()),
        status: Some(status.into()),
        details: Some(details),
    })
}

fn network_bindings(
    task: &TaskRecord,
    c: &super::state::ContainerRecord,
) -> Option<Vec<api::NetworkBinding>> {
    if task.network_mode == api::NetworkMode::Awsvpc || c.last_status != "RUNNING" {
        return None;
    }
    let bindings: Vec<api::NetworkBinding> = c
        .port_mappings
        .iter()
        .filter_map(|pm| {
            let container_port = pm.container_port?;
            let host_port = c.reported_host_port(task.network_mode, pm)?;
            Some(api::NetworkBinding {
                bind_ip: Some("0.0.0.0".into()),
                container_port: Some(container_port),
                host_port: Some(host_port),
                protocol: Some(pm.protocol.unwrap_or(api::TransportProtocol::Tcp)),
                ..Default::default()
            })
        })
        .collect();
    (!bindings.is_empty()).then_some(bindings)
}

pub fn render_task(
    task: &TaskRecord,
    container_instance_arn: Option<String>,
    include_tags: bool,
) -> api::Task {
    let containers = task
        .containers
        .iter()
        .map(|c| api::Container {
            container_arn: Some(c.container_arn.clone()),
            task_arn: Some(task.arn.clone()),
            name: Some(c.name.clone()),
            image: Some(c.image.clone()),
            runtime_id: (task.reached_running).then(|| c.reported_runtime_id().to_string()),
            last_status: Some(c.last_status.into()),
            exit_code: c.exit_code,
            reason: c.reason.clone(),
            network_bindings: network_bindings(task, c),
            network_interfaces: task.attachment_id.as_ref().map(|id| {
                vec![api::NetworkInterface {
                    attachment_id: Some(id.clone()),
                    private_ipv4_address: task.placement.private_ip.clone(),
                    ipv6_address: None,
                }]
            }),
            health_status: Some(c.health_status.unwrap_or(api::HealthStatus::Unknown)),
            cpu: c.cpu.clone(),
            memory: c.memory.clone(),
            memory_reservation: c.memory_reservation.clone(),
            ..Default::default()
        })
        .collect();
    let connected = task.connectivity_at_ms.is_some() && task.status < TaskStatus::Stopped;
    api::Task {
        attachments: Some(attachment(task).into_iter().collect()),
        attributes: None,
        availability_zone: Some(task.placement.availability_zone.clone()),
        capacity_provider_name: task.capacity_provider_name.clone(),
        cluster_arn: Some(task.cluster_arn.clone()),
        connectivity: task.connectivity_at_ms.map(|_| {
            if connected {
                api::Connectivity::Connected
            } else {
                api::Connectivity::Disconnected
            }
        }),
        connectivity_at: opt_ts(task.connectivity_at_ms),
        container_instance_arn,
        containers: Some(containers),
        cpu: task.cpu.clone(),
        created_at: Some(ts(task.created_at_ms)),
        desired_status: Some(task.desired_status.into()),
        enable_execute_command: Some(task.enable_execute_command),
        execution_stopped_at: opt_ts(task.execution_stopped_at_ms),
        group: Some(task.group.clone()),
        health_status: Some(reported_health(task)),
        last_status: Some(task.status.as_str().into()),
        launch_type: task.launch_type,
        memory: task.memory.clone(),
        overrides: Some(task.overrides.clone()),
        platform_version: task.platform_version.clone(),
        platform_family: task.platform_family.clone(),
        pull_started_at: opt_ts(task.pull_started_at_ms),
        pull_stopped_at: opt_ts(task.pull_stopped_at_ms),
        started_at: opt_ts(task.started_at_ms),
        started_by: task.started_by.clone(),
        stop_code: task.stop_code,
        stopped_at: opt_ts(task.stopped_at_ms),
        stopped_reason: task.stopped_reason.clone(),
        stopping_at: opt_ts(task.stopping_at_ms),
        tags: include_tags.then(|| task.tags.clone()),
        task_arn: Some(task.arn.clone()),
        task_definition_arn: Some(task.task_definition_arn.clone()),
        version: Some(task.version),
        ephemeral_storage: task
            .ephemeral_storage_gib
            .map(|g| api::EphemeralStorage { size_in_gib: g }),
        ..Default::default()
    }
}

fn render_deployment(d: &DeploymentRecord, cluster: &ClusterRecord, service: &str) -> api::Deployment {
    let (mut running, mut pending) = (0, 0);
    for t in cluster.tasks_of_service(service) {
        if t.deployment_id.as_deref() == Some(&d.id) && t.is_live() {
            if t.status == TaskStatus::Running {
                running += 1;
            } else if t.status.is_pending() {
                pending += 1;
            }
        }
    }
    api::Deployment {
        id: Some(d.id.clone()),
        status: Some(d.status.into()),
        task_definition: Some(d.task_definition_arn.clone()),
        desired_count: Some(d.desired_count),
        pending_count: Some(pending),
        running_count: Some(running),
        failed_tasks: Some(d.failed_tasks),
        created_at: Some(ts(d.created_at_ms)),
        updated_at: Some(ts(d.updated_at_ms)),
        capacity_provider_strategy: (!d.capacity_provider_strategy.is_empty())
            .then(|| d.capacity_provider_strategy.clone()),
        launch_type: d.launch_type,
        platform_version: d.platform_version.clone(),
        platform_family: d.platform_family.clone(),
        network_configuration: d.network_configuration.clone(),
        rollout_state: Some(d.rollout_state),
        rollout_state_reason: Some(d.rollout_state_reason.clone()),
        ..Default::default()
    }
}

pub fn render_service(svc: &ServiceRecord, cluster: &ClusterRecord, include_tags: bool) -> api::Service {
    let (mut running, mut pending) = (0, 0);
    for t in cluster.tasks_of_service(&svc.name) {
        if t.is_live() {
            if t.status == TaskStatus::Running {
                running += 1;
            } else if t.status.is_pending() {
                pending += 1;
            }
        }
    }
    // Deployments leave the list once they are fully replaced (INACTIVE), as on AWS.
    let deployments = svc
        .deployments
        .iter()
        .map(|d| render_deployment(d, cluster, &svc.name))
        .collect();
    let events = svc
        .events
        .iter()
        .map(|e| api::ServiceEvent {
            id: Some(e.id.clone()),
            created_at: Some(ts(e.created_at_ms)),
            message: Some(e.message.clone()),
        })
        .collect();
    api::Service {
        service_arn: Some(svc.arn.clone()),
        service_name: Some(svc.name.clone()),
        cluster_arn: Some(svc.cluster_arn.clone()),
        load_balancers: Some(svc.load_balancers.clone()),
        service_registries: Some(Vec::new()),
        status: Some(svc.status.into()),
        desired_count: Some(svc.desired_count),
        running_count: Some(running),
        pending_count: Some(pending),
        launch_type: svc.launch_type,
        capacity_provider_strategy: (!svc.capacity_provider_strategy.is_empty())
            .then(|| svc.capacity_provider_strategy.clone()),
        platform_version: svc.platform_version.clone(),
        platform_family: svc.platform_family.clone(),
        task_definition: (!svc.task_definition_arn.is_empty()).then(|| svc.task_definition_arn.clone()),
        deployment_configuration: Some(svc.deployment_configuration.clone()),
        deployments: Some(deployments),
        role_arn: svc.role_arn.clone(),
        events: Some(events),
        created_at: Some(ts(svc.created_at_ms)),
        placement_constraints: Some(svc.placement_constraints.clone()),
        placement_strategy: Some(svc.placement_strategy.clone()),
        network_configuration: svc.network_configuration.clone(),
        health_check_grace_period_seconds: svc.health_check_grace_period_seconds,
        scheduling_strategy: Some(svc.scheduling_strategy),
        deployment_controller: Some(svc.deployment_controller.clone()),
        tags: include_tags.then(|| svc.tags.clone()),
        created_by: Some(svc.created_by.clone()),
        enable_ecs_managed_tags: Some(svc.enable_ecs_managed_tags),
        propagate_tags: svc.propagate_tags,
        enable_execute_command: Some(svc.enable_execute_command),
        availability_zone_rebalancing: Some(svc.availability_zone_rebalancing),
        task_sets: svc.uses_task_sets().then(|| {
            svc.task_sets
                .iter()
                .map(|t| super::task_sets::render(t, svc, cluster, false))
                .collect()
        }),
        current_service_deployment: svc
            .deployments
            .first()
            .map(|d| d.service_deployment_arn.clone())
            .filter(|arn| !arn.is_empty()),
        ..Default::default()
    }
}
