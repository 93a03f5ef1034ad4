//! The simulated task lifecycle: PROVISIONING → PENDING → ACTIVATING → RUNNING and, once stopped,
//! DEACTIVATING → STOPPING → DEPROVISIONING → STOPPED, each step on a timer from the clock.
//!
//! Containers behave as their `ECSIM_*` environment says (see `crate::runtime`). Nothing here
//! sleeps or reads a clock: every step runs at `ctx.now_ms` and schedules the next.

use ecsim_api::ecs as api;
use ecsim_core::Millis;
use ecsim_protocol::AwsError;

use super::common::{client_exception, ts};
use super::state::{
    ContainerRecord, ExternalContainer, TaskDefinitionRecord, TaskPlacement, TaskRecord, TaskStatus,
};
use crate::engine::Ctx;
use crate::runtime::{Behaviour, pull_fails};
use crate::task_runtime::{RuntimeCommand, RuntimeEventKind, TaskKey, TaskLaunch};
use crate::timers::TimerKind;
use crate::world::World;

/// Everything needed to start one task.
pub struct NewTask<'d> {
    pub cluster_name: String,
    pub definition: &'d TaskDefinitionRecord,
    pub group: String,
    pub started_by: Option<String>,
    pub service_name: Option<String>,
    pub deployment_id: Option<String>,
    pub launch_type: Option<api::LaunchType>,
    pub capacity_provider_name: Option<String>,
    pub platform_version: Option<String>,
    pub placement: TaskPlacement,
    pub overrides: api::TaskOverride,
    pub tags: Vec<api::Tag>,
    pub enable_execute_command: bool,
}

const DEFAULT_STOP_TIMEOUT_MS: Millis = 30_000;

/// Creates a task in its first lifecycle state and schedules its next step. The caller has
/// already placed it (and taken its IP address).
pub fn create_task(world: &mut World, ctx: &mut Ctx<'_>, new: NewTask<'_>) -> Result<String, AwsError> {
    let definition = &new.definition.definition;
    let network_mode = definition.network_mode.unwrap_or(api::NetworkMode::Bridge);
    let id = ctx.rng.hex(32);
    let arn = world.arn("ecs", &format!("task/{}/{id}", new.cluster_name));
    let mut containers = Vec::new();
    let mut start_delay_ms = 0;
    let mut stop_timeout_ms = 0;
    // Container definitions as this task runs them: overrides merged (later entries win).
    let merged: Vec<api::ContainerDefinition> = definition
        .container_definitions
        .as_deref()
        .unwrap_or_default()
        .iter()
        .map(|c| with_image_env(with_overrides(c, &new.overrides), &ctx.sim.image_env))
        .collect();
    for c in &merged {
        let environment = c.environment.as_deref().unwrap_or_default().iter();
        let behaviour = Behaviour::from_env(
            environment.filter_map(|kv| Some((kv.name.as_deref()?, kv.value.as_deref().unwrap_or("")))),
        )
        .map_err(|e| client_exception(e.to_string()))?;
        start_delay_ms = start_delay_ms.max(behaviour.start_delay_ms);
        let timeout = c
            .stop_timeout
            .map_or(DEFAULT_STOP_TIMEOUT_MS, |s| u64::try_from(s).unwrap_or(0) * 1000);
        stop_timeout_ms = stop_timeout_ms.max(timeout);
        let hc = c.health_check.as_ref();
        let secs = |v: Option<i32>, d: u64| v.and_then(|s| u64::try_from(s).ok()).unwrap_or(d) * 1000;
        containers.push(ContainerRecord {
            name: c.name.clone().unwrap_or_default(),
            image: c.image.clone().unwrap_or_default(),
            container_arn: world.arn(
                "ecs",
                &format!("container/{}/{id}/{}", new.cluster_name, ctx.rng.uuid()),
            ),
            runtime_id: format!("{id}-{}", ctx.rng.digits(10)),
            essential: c.essential.unwrap_or(true),
            last_status: "PENDING",
            exit_code: None,
            reason: None,
            health_status: None,
            has_health_check: hc.is_some(),
            cpu: Some(c.cpu.unwrap_or(0).to_string()),
            memory: c.memory.map(|m| m.to_string()),
            memory_reservation: c.memory_reservation.map(|m| m.to_string()),
            behaviour,
            health_interval_ms: secs(hc.and_then(|h| h.interval), 30),
            health_start_period_ms: secs(hc.and_then(|h| h.start_period), 0),
            health_retries: hc
                .and_then(|h| h.retries)
                .and_then(|r| u32::try_from(r).ok())
                .unwrap_or(3),
            port_mappings: c.port_mappings.clone().unwrap_or_default(),
            refusal: crate::runtime::unsupported(c),
            runtime: None,
        });
    }
    let (cpu, memory) = super::placement::requirements(definition, Some(&new.overrides));
    let awsvpc = network_mode == api::NetworkMode::Awsvpc;
    let first = if awsvpc {
        TaskStatus::Provisioning
    } else {
        TaskStatus::Pending
    };
    let external = ctx.runtime.is_external();
    let first_step_ms = if awsvpc {
        ctx.sim.provisioning_ms
    } else {
        ctx.sim.pending_ms + start_delay_ms
    };
    let task_role_arn = new
        .overrides
        .task_role_arn
        .clone()
        .or_else(|| definition.task_role_arn.clone());
    let credentials_id = task_role_arn.as_ref().map(|_| format!("{id}.{}", ctx.rng.uuid()));
    let launch = external.then(|| {
        Box::new(TaskLaunch {
            key: TaskKey {
                world: ctx.world_index,
                task_id: id.clone(),
            },
            task_arn: arn.clone(),
            cluster_name: new.cluster_name.clone(),
            family: definition.family.clone().unwrap_or_default(),
            revision: definition.revision.unwrap_or(0),
            account_id: world.account_id.clone(),
            region: world.region.clone(),
            availability_zone: new.placement.availability_zone.clone(),
            network_mode,
            subnet_id: new.placement.subnet_id.clone().or_else(|| {
                new.placement
                    .container_instance_id
                    .as_ref()
                    .and_then(|i| instance_subnet(world, &new.cluster_name, i))
            }),
            private_ip: new.placement.private_ip.clone(),
            container_instance_id: new.placement.container_instance_id.clone(),
            task_cpu_units: u32::try_from(cpu).ok(),
            task_memory_mib: u32::try_from(memory).ok().filter(|m| *m > 0),
            containers: merged,
            metadata_tokens: containers.iter().map(|c| c.runtime_id.clone()).collect(),
            credentials_id: credentials_id.clone(),
        })
    });
    let task = TaskRecord {
        id: id.clone(),
        arn,
        cluster_name: new.cluster_name.clone(),
        cluster_arn: world.arn("ecs", &format!("cluster/{}", new.cluster_name)),
        task_definition_arn: definition.task_definition_arn.clone().unwrap_or_default(),
        family: definition.family.clone().unwrap_or_default(),
        group: new.group,
        started_by: new.started_by,
        service_name: new.service_name,
        deployment_id: new.deployment_id,
        launch_type: new.launch_type,
        capacity_provider_name: new.capacity_provider_name,
        platform_version: new.platform_version,
        platform_family: (new.launch_type == Some(api::LaunchType::Fargate)).then(|| "Linux".to_string()),
        cpu: Some(cpu.to_string()),
        memory: Some(memory.to_string()),
        network_mode,
        attachment_id: awsvpc.then(|| ctx.rng.uuid()),
        eni_id: awsvpc.then(|| format!("eni-{}", ctx.rng.hex(17))),
        mac_address: awsvpc.then(|| {
            let h = ctx.rng.hex(10);
            format!(
                "0e:{}:{}:{}:{}:{}",
                &h[0..2],
                &h[2..4],
                &h[4..6],
                &h[6..8],
                &h[8..10]
            )
        }),
        placement: new.placement,
        status: first,
        desired_status: "RUNNING",
        next_step_at_ms: Some(ctx.now_ms + first_step_ms),
        created_at_ms: ctx.now_ms,
        pull_started_at_ms: (!awsvpc).then_some(ctx.now_ms),
        pull_stopped_at_ms: None,
        started_at_ms: None,
        connectivity_at_ms: None,
        stopping_at_ms: None,
        execution_stopped_at_ms: None,
        stopped_at_ms: None,
        stop_code: None,
        stopped_reason: None,
        stop_timeout_ms: stop_timeout_ms.max(1),
        containers,
        overrides: new.overrides,
        tags: new.tags,
        enable_execute_command: new.enable_execute_command,
        ephemeral_storage_gib: (new.launch_type == Some(api::LaunchType::Fargate)).then_some(20),
        version: 1,
        reached_running: false,
        became_healthy: false,
        exit_at_ms: None,
        health_check_at_ms: None,
        moving: false,
        launch,
        credentials_id,
        task_role_arn,
        lb_targets: Vec::new(),
        lb_health: None,
        measured_utilization: None,
    };
    let mut task = task;
    if external && !awsvpc {
        // No network interface to provision: the runtime starts the containers now.
        task.next_step_at_ms = None;
        submit_start(&mut task, ctx);
    } else {
        ctx.timers.schedule(
            ctx.now_ms + first_step_ms,
            ctx.world_index,
            TimerKind::TaskStep { task_id: id.clone() },
        );
    }
    world
        .ecs
        .task_cluster
        .insert(id.clone(), new.cluster_name.clone());
    if let Some(cluster) = world.ecs.clusters.get_mut(&new.cluster_name) {
        cluster.adjust_load(&task.group, &task.placement.availability_zone, true);
        if let Some(service) = &task.service_name {
            cluster
                .service_tasks
                .entry(service.clone())
                .or_default()
                .insert(id.clone());
        }
        cluster.tasks.insert(id.clone(), task);
    }
    Ok(id)
}

/// A container definition with the behaviour defaults of its image added: entries it does not
/// set itself come first, so its own (and its override's) win.
fn with_image_env(
    mut c: api::ContainerDefinition,
    images: &[crate::runtime::ImageEnv],
) -> api::ContainerDefinition {
    let image = c.image.clone().unwrap_or_default();
    let Some(defaults) = images.iter().find(|i| i.matches(&image)) else {
        return c;
    };
    let own = c.environment.take().unwrap_or_default();
    let mut merged: Vec<api::KeyValuePair> = defaults
        .env
        .iter()
        .filter(|(name, _)| !own.iter().any(|kv| kv.name.as_deref() == Some(name)))
        .map(|(name, value)| api::KeyValuePair {
            name: Some(name.clone()),
            value: Some(value.clone()),
        })
        .collect();
    merged.extend(own);
    c.environment = Some(merged);
    c
}

/// A container definition with its container override merged in (command, environment, limits).
fn with_overrides(c: &api::ContainerDefinition, overrides: &api::TaskOverride) -> api::ContainerDefinition {
    let mut c = c.clone();
    let over = overrides
        .container_overrides
        .as_deref()
        .unwrap_or_default()
        .iter()
        .filter(|o| o.name.is_some() && o.name == c.name);
    for o in over {
        if let Some(command) = &o.command {
            c.command = Some(command.clone());
        }
        if let Some(env) = &o.environment {
            let mut merged = c.environment.take().unwrap_or_default();
            merged.retain(|kv| !env.iter().any(|o| o.name == kv.name));
            merged.extend(env.iter().cloned());
            c.environment = Some(merged);
        }
        if let Some(files) = &o.environment_files {
            c.environment_files = Some(files.clone());
        }
        c.cpu = o.cpu.or(c.cpu);
        c.memory = o.memory.or(c.memory);
        c.memory_reservation = o.memory_reservation.or(c.memory_reservation);
    }
    c
}

/// The subnet an EC2 container instance's tasks share: the default subnet of its zone (instances
/// carry a zone, not a subnet).
fn instance_subnet(world: &World, cluster: &str, instance_id: &str) -> Option<String> {
    let zone = &world
        .ecs
        .clusters
        .get(cluster)?
        .container_instances
        .get(instance_id)?
        .availability_zone;
    world
        .network
        .subnets
        .values()
        .find(|s| s.default_for_az && &s.availability_zone == zone)
        .or_else(|| {
            world
                .network
                .subnets
                .values()
                .find(|s| &s.availability_zone == zone)
        })
        .map(|s| s.id.clone())
}

/// Hands the task to the external runtime; the task waits in PENDING for its `Started` event.
fn submit_start(task: &mut TaskRecord, ctx: &mut Ctx<'_>) {
    if let Some(launch) = task.launch.take() {
        ctx.runtime.submit(RuntimeCommand::Start(launch));
    }
}

fn submit_stop(task: &TaskRecord, ctx: &mut Ctx<'_>) {
    ctx.runtime.submit(RuntimeCommand::Stop {
        key: TaskKey {
            world: ctx.world_index,
            task_id: task.id.clone(),
        },
        stop_timeout_ms: task.stop_timeout_ms,
    });
}

/// The containers are up: ACTIVATING (registrations) until RUNNING.
fn enter_activating(task: &mut TaskRecord, ctx: &mut Ctx<'_>) {
    let now = ctx.now_ms;
    task.status = TaskStatus::Activating;
    task.pull_stopped_at_ms = Some(now);
    task.connectivity_at_ms = Some(now);
    task.version += 1;
    schedule(task, ctx, now + ctx.sim.activating_ms);
}

/// The containers are down: DEPROVISIONING (network interface released) until STOPPED.
fn enter_deprovisioning(task: &mut TaskRecord, ctx: &mut Ctx<'_>) {
    let now = ctx.now_ms;
    task.execution_stopped_at_ms = Some(now);
    task.status = TaskStatus::Deprovisioning;
    task.version += 1;
    schedule(task, ctx, now + ctx.sim.deprovisioning_ms);
}

fn schedule(task: &mut TaskRecord, ctx: &mut Ctx<'_>, at_ms: Millis) {
    task.next_step_at_ms = Some(at_ms);
    ctx.timers.schedule(
        at_ms,
        ctx.world_index,
        TimerKind::TaskStep {
            task_id: task.id.clone(),
        },
    );
}

/// Asks a task to stop: desired STOPPED now, the containers stop on the following steps. The first
/// stop request's code and reason stick, as on ECS.
pub fn request_stop(
    world: &mut World,
    ctx: &mut Ctx<'_>,
    task_id: &str,
    code: api::TaskStopCode,
    reason: String,
) {
    let Some(task) = world.ecs.task_mut(task_id) else {
        return;
    };
    if task.desired_status == "STOPPED" {
        return;
    }
    task.desired_status = "STOPPED";
    let (group, zone, cluster_name) = (
        task.group.clone(),
        task.placement.availability_zone.clone(),
        task.cluster_name.clone(),
    );
    if let Some(c) = world.ecs.clusters.get_mut(&cluster_name) {
        c.adjust_load(&group, &zone, false);
    }
    let Some(task) = world.ecs.task_mut(task_id) else {
        return;
    };
    task.stop_code = Some(code);
    task.stopped_reason = Some(reason);
    task.stopping_at_ms = Some(ctx.now_ms);
    task.version += 1;
    task.exit_at_ms = None;
    task.health_check_at_ms = None;
    match task.status {
        TaskStatus::Pending | TaskStatus::Activating if ctx.runtime.is_external() => {
            // Containers may exist already: the runtime stops them and answers `Stopped`.
            task.status = TaskStatus::Stopping;
            task.next_step_at_ms = None;
            task.launch = None;
            submit_stop(task, ctx);
        }
        TaskStatus::Provisioning | TaskStatus::Pending | TaskStatus::Activating => {
            task.launch = None;
            for c in &mut task.containers {
                c.last_status = "STOPPED";
            }
            task.execution_stopped_at_ms = Some(ctx.now_ms);
            task.status = TaskStatus::Deprovisioning;
            let at = ctx.now_ms + ctx.sim.deprovisioning_ms;
            schedule(task, ctx, at);
        }
        TaskStatus::Running if !task.lb_targets.is_empty() => {
            // Deregistered first; the containers stop once the targets have drained.
            task.status = TaskStatus::Deactivating;
            task.next_step_at_ms = None;
        }
        TaskStatus::Running => {
            task.status = TaskStatus::Deactivating;
            let at = ctx.now_ms + ctx.sim.deactivating_ms;
            schedule(task, ctx, at);
        }
        TaskStatus::Deactivating
        | TaskStatus::Stopping
        | TaskStatus::Deprovisioning
        | TaskStatus::Stopped => {}
    }
    let service = task.service_name.clone();
    let cluster = task.cluster_name.clone();
    let deregister = task.status == TaskStatus::Deactivating && task.next_step_at_ms.is_none();
    if deregister && !super::load_balancing::begin_deregistration(world, ctx, task_id) {
        continue_deactivating(world, ctx, task_id);
    }
    if let Some(service) = service {
        super::service_loop::wake(world, ctx, &cluster, &service);
    }
}

/// A DEACTIVATING task whose targets have drained goes on to stop its containers.
pub fn continue_deactivating(world: &mut World, ctx: &mut Ctx<'_>, task_id: &str) {
    if let Some(task) = world.ecs.task_mut(task_id)
        && task.status == TaskStatus::Deactivating
    {
        let at = ctx.now_ms + ctx.sim.deactivating_ms;
        schedule(task, ctx, at);
    }
}

/// An essential container exited: the task stops, worded as ECS words it.
fn stop_for_essential_exit(world: &mut World, ctx: &mut Ctx<'_>, task_id: &str) {
    request_stop(
        world,
        ctx,
        task_id,
        api::TaskStopCode::EssentialContainerExited,
        "Essential container in task exited".into(),
    );
}

/// Crashes a RUNNING task's first running essential container (the fault API's crashTask). On
/// the simulated runtime the container exits with `exit_code` now and the task stops as for any
/// essential exit; on an external runtime the container is killed with SIGKILL and the exit comes
/// back as a `ContainerExited` event (its code is the runtime's: 137). Err says why not.
pub fn crash_task(world: &mut World, ctx: &mut Ctx<'_>, task_id: &str, exit_code: i32) -> Result<(), String> {
    let Some(task) = world.ecs.task_mut(task_id) else {
        return Err(format!("task {task_id} does not exist"));
    };
    if task.status != TaskStatus::Running || task.desired_status != "RUNNING" {
        return Err(format!(
            "task {task_id} is {} (desired {}); only a RUNNING task can crash",
            task.status.as_str(),
            task.desired_status
        ));
    }
    let Some(index) = task
        .containers
        .iter()
        .position(|c| c.essential && c.last_status == "RUNNING")
    else {
        return Err(format!("task {task_id} has no running essential container"));
    };
    if let Some(runtime) = &task.containers[index].runtime {
        ctx.runtime.submit(RuntimeCommand::Kill {
            key: TaskKey {
                world: ctx.world_index,
                task_id: task_id.to_string(),
            },
            runtime_id: runtime.runtime_id.clone(),
        });
        return Ok(());
    }
    let c = &mut task.containers[index];
    c.last_status = "STOPPED";
    c.exit_code = Some(exit_code);
    task.version += 1;
    stop_for_essential_exit(world, ctx, task_id);
    Ok(())
}

/// Fails a task before it runs (`TaskFailedToStart`), with the reason on the failed container.
fn fail_start(world: &mut World, ctx: &mut Ctx<'_>, task_id: &str, container: usize, reason: String) {
    if let Some(task) = world.ecs.task_mut(task_id)
        && let Some(c) = task.containers.get_mut(container)
    {
        c.reason = Some(reason.clone());
    }
    request_stop(world, ctx, task_id, api::TaskStopCode::TaskFailedToStart, reason);
}

/// Runs the lifecycle step of `task_id` if it is due.
pub fn step_task(world: &mut World, ctx: &mut Ctx<'_>, task_id: &str) {
    let now = ctx.now_ms;
    let Some(task) = world.ecs.task_mut(task_id) else {
        return;
    };
    if task.next_step_at_ms.is_none_or(|at| at > now) {
        return;
    }
    task.next_step_at_ms = None;
    match task.status {
        TaskStatus::Provisioning => {
            task.status = TaskStatus::Pending;
            task.pull_started_at_ms = Some(now);
            task.version += 1;
            if ctx.runtime.is_external() {
                submit_start(task, ctx);
                return;
            }
            let delay = task
                .containers
                .iter()
                .map(|c| c.behaviour.start_delay_ms)
                .max()
                .unwrap_or(0);
            let at = now + ctx.sim.pending_ms + delay;
            schedule(task, ctx, at);
        }
        TaskStatus::Pending => {
            if let Some((i, reason)) = task
                .containers
                .iter()
                .enumerate()
                .find_map(|(i, c)| c.refusal.clone().map(|r| (i, r)))
            {
                fail_start(world, ctx, task_id, i, reason);
                return;
            }
            if let Some((i, c)) = task
                .containers
                .iter()
                .enumerate()
                .find(|(_, c)| pull_fails(&c.image))
            {
                let reason = format!(
                    "CannotPullContainerError: pull image manifest has been retried 5 time(s): failed to \
                     resolve ref {}: not found",
                    c.image
                );
                fail_start(world, ctx, task_id, i, reason);
                return;
            }
            if let Some((i, reason)) = task
                .containers
                .iter()
                .enumerate()
                .find_map(|(i, c)| c.behaviour.start_failure.clone().map(|r| (i, r)))
            {
                fail_start(world, ctx, task_id, i, reason);
                return;
            }
            enter_activating(task, ctx);
        }
        TaskStatus::Activating => {
            task.status = TaskStatus::Running;
            task.started_at_ms = Some(now);
            task.reached_running = true;
            task.version += 1;
            for c in task.containers.iter_mut().filter(|c| c.last_status != "STOPPED") {
                c.last_status = "RUNNING";
            }
            let simulated = !ctx.runtime.is_external();
            task.exit_at_ms = task
                .containers
                .iter()
                .filter_map(|c| c.behaviour.exit_after_ms)
                .min()
                .map(|d| now + d)
                .filter(|_| simulated);
            task.health_check_at_ms = task
                .containers
                .iter()
                .filter(|c| c.has_health_check)
                .map(|c| c.health_interval_ms.max(c.health_start_period_ms).max(1_000))
                .min()
                .map(|d| now + d)
                .filter(|_| simulated);
            reschedule_running(task, ctx);
            let owner = task.service_name.clone().zip(task.deployment_id.clone());
            let cluster = task.cluster_name.clone();
            let container_checked = task.containers.iter().any(|c| c.has_health_check && c.essential);
            if owner.is_some() {
                super::load_balancing::register_task(world, ctx, task_id);
            }
            let behind_lb = world.ecs.task(task_id).is_some_and(|t| !t.lb_targets.is_empty());
            if !container_checked
                && !behind_lb
                && let Some(t) = world.ecs.task_mut(task_id)
            {
                t.became_healthy = true;
            }
            if let Some((service, deployment)) = owner
                && !container_checked
                && !behind_lb
            {
                super::service_loop::task_became_healthy(world, &cluster, &service, &deployment);
            }
            wake_owner(world, ctx, task_id);
        }
        TaskStatus::Running => run_due_events(world, ctx, task_id),
        TaskStatus::Deactivating => {
            task.status = TaskStatus::Stopping;
            task.version += 1;
            if ctx.runtime.is_external() {
                submit_stop(task, ctx);
                return;
            }
            let ignores = task
                .containers
                .iter()
                .any(|c| c.behaviour.ignore_sigterm && c.last_status != "STOPPED");
            let at = now
                + if ignores {
                    task.stop_timeout_ms
                } else {
                    ctx.sim.stopping_ms
                };
            schedule(task, ctx, at);
        }
        TaskStatus::Stopping => {
            for c in &mut task.containers {
                if c.last_status != "STOPPED" {
                    c.last_status = "STOPPED";
                    // SIGTERM honoured: clean exit; ignored: SIGKILL after stopTimeout (128 + 9).
                    c.exit_code = Some(if c.behaviour.ignore_sigterm { 137 } else { 0 });
                }
            }
            enter_deprovisioning(task, ctx);
        }
        TaskStatus::Deprovisioning => {
            task.status = TaskStatus::Stopped;
            task.stopped_at_ms = Some(now);
            task.version += 1;
            let at = now + ctx.sim.stopped_retention_ms;
            schedule(task, ctx, at);
            let release = task
                .placement
                .subnet_id
                .clone()
                .zip(task.placement.private_ip.clone());
            // Failed to reach a steady state: it never ran, or an essential container exited
            // on its own before the task was ever healthy (a crash on start).
            let failed_start = !task.reached_running
                || (task.stop_code == Some(api::TaskStopCode::EssentialContainerExited)
                    && !task.became_healthy);
            let owner = task.service_name.clone().zip(task.deployment_id.clone());
            let cluster = task.cluster_name.clone();
            if ctx.runtime.is_external() {
                ctx.runtime.submit(RuntimeCommand::Remove {
                    key: TaskKey {
                        world: ctx.world_index,
                        task_id: task_id.to_string(),
                    },
                });
            }
            if let Some((subnet, ip)) = release {
                world.network.release_ip(&subnet, &ip);
            }
            if let Some((service, deployment)) = owner {
                if failed_start {
                    super::service_loop::count_failed_task(world, &cluster, &service, &deployment);
                }
                super::service_loop::wake(world, ctx, &cluster, &service);
            }
        }
        TaskStatus::Stopped => {
            // Retention over: the task is no longer describable.
            let cluster = task.cluster_name.clone();
            world.ecs.task_cluster.remove(task_id);
            if let Some(c) = world.ecs.clusters.get_mut(&cluster)
                && let Some(t) = c.tasks.remove(task_id)
                && let Some(service) = t.service_name
                && let Some(ids) = c.service_tasks.get_mut(&service)
            {
                ids.remove(task_id);
            }
        }
    }
}

/// Applies what an external runtime reported about `task_id`. Events that no longer fit the task's
/// state (a start finishing after a stop was asked, a task already gone) are ignored.
pub fn on_runtime_event(world: &mut World, ctx: &mut Ctx<'_>, task_id: &str, event: RuntimeEventKind) {
    let Some(task) = world.ecs.task_mut(task_id) else {
        return;
    };
    match event {
        RuntimeEventKind::Started { containers } => {
            if task.status != TaskStatus::Pending || task.desired_status != "RUNNING" {
                return;
            }
            for started in containers {
                if let Some(c) = task.containers.iter_mut().find(|c| c.name == started.name) {
                    c.runtime = Some(Box::new(ExternalContainer {
                        runtime_id: started.runtime_id,
                        bindings: started.bindings,
                    }));
                }
            }
            enter_activating(task, ctx);
        }
        RuntimeEventKind::StartFailed { container, reason } => {
            if task.desired_status != "RUNNING" {
                return;
            }
            match container {
                Some(i) => fail_start(world, ctx, task_id, i, reason),
                None => request_stop(world, ctx, task_id, api::TaskStopCode::TaskFailedToStart, reason),
            }
        }
        RuntimeEventKind::ContainerExited {
            container,
            exit_code,
            reason,
        } => {
            let Some(c) = task.containers.get_mut(container) else {
                return;
            };
            if c.last_status == "STOPPED" {
                return;
            }
            c.last_status = "STOPPED";
            c.exit_code = exit_code;
            c.reason = reason;
            let essential = c.essential;
            task.version += 1;
            if essential && task.desired_status == "RUNNING" {
                stop_for_essential_exit(world, ctx, task_id);
            }
        }
        RuntimeEventKind::ContainerHealth { container, healthy } => {
            let Some(c) = task.containers.get_mut(container) else {
                return;
            };
            let status = if healthy {
                api::HealthStatus::Healthy
            } else {
                api::HealthStatus::Unhealthy
            };
            if c.health_status == Some(status) || c.last_status == "STOPPED" {
                return;
            }
            c.health_status = Some(status);
            task.version += 1;
            let owner = task.service_name.clone().zip(task.deployment_id.clone());
            let cluster = task.cluster_name.clone();
            let now_healthy = task_health(task) == api::HealthStatus::Healthy;
            task.became_healthy |= now_healthy;
            if let Some((service, deployment)) = owner
                && now_healthy
            {
                super::service_loop::task_became_healthy(world, &cluster, &service, &deployment);
            }
            wake_owner(world, ctx, task_id);
        }
        RuntimeEventKind::Stopped { exit_codes } => {
            if task.status != TaskStatus::Stopping || task.next_step_at_ms.is_some() {
                return;
            }
            for (c, code) in task.containers.iter_mut().zip(exit_codes) {
                if c.last_status != "STOPPED" {
                    c.last_status = "STOPPED";
                    c.exit_code = code;
                }
            }
            for c in &mut task.containers {
                c.last_status = "STOPPED";
            }
            enter_deprovisioning(task, ctx);
        }
    }
}

fn reschedule_running(task: &mut TaskRecord, ctx: &mut Ctx<'_>) {
    if let Some(at) = [task.exit_at_ms, task.health_check_at_ms]
        .into_iter()
        .flatten()
        .min()
    {
        schedule(task, ctx, at);
    }
}

/// Exits and health checks of a RUNNING task that are due now.
fn run_due_events(world: &mut World, ctx: &mut Ctx<'_>, task_id: &str) {
    let now = ctx.now_ms;
    let Some(task) = world.ecs.task_mut(task_id) else {
        return;
    };
    let mut essential_exited = false;
    let mut health_changed = false;
    if task.exit_at_ms.is_some_and(|at| at <= now) {
        task.exit_at_ms = None;
        let started = task.started_at_ms.unwrap_or(now);
        for c in &mut task.containers {
            if c.last_status == "RUNNING" && c.behaviour.exit_after_ms.is_some_and(|d| started + d <= now) {
                c.last_status = "STOPPED";
                c.exit_code = Some(c.behaviour.exit_code);
                essential_exited |= c.essential;
            }
        }
        task.exit_at_ms = task
            .containers
            .iter()
            .filter(|c| c.last_status == "RUNNING")
            .filter_map(|c| c.behaviour.exit_after_ms.map(|d| started + d))
            .min();
        task.version += 1;
    }
    if task.health_check_at_ms.is_some_and(|at| at <= now) {
        task.health_check_at_ms = None;
        let started = task.started_at_ms.unwrap_or(now);
        let mut next: Option<Millis> = None;
        for c in task
            .containers
            .iter_mut()
            .filter(|c| c.has_health_check && c.last_status == "RUNNING")
        {
            let turns_bad_at = c.behaviour.unhealthy_after_ms.map(|d| started + d);
            let bad_now = !c.behaviour.healthy || turns_bad_at.is_some_and(|t| t <= now);
            // A failing check turns the container UNHEALTHY after `retries` consecutive failures.
            let failing_for = u64::from(c.health_retries) * c.health_interval_ms;
            let new_status = if bad_now {
                let bad_since = turns_bad_at.unwrap_or(started).max(started);
                if now >= bad_since + failing_for {
                    api::HealthStatus::Unhealthy
                } else {
                    next = Some(next.map_or(bad_since + failing_for, |n: Millis| {
                        n.min(bad_since + failing_for)
                    }));
                    c.health_status.unwrap_or(api::HealthStatus::Unknown)
                }
            } else {
                if let Some(t) = turns_bad_at {
                    next = Some(next.map_or(t, |n: Millis| n.min(t)));
                }
                api::HealthStatus::Healthy
            };
            if c.health_status != Some(new_status) {
                c.health_status = Some(new_status);
                health_changed = true;
            }
        }
        task.health_check_at_ms = next;
        if health_changed {
            task.version += 1;
        }
    }
    reschedule_running(task, ctx);
    if essential_exited {
        stop_for_essential_exit(world, ctx, task_id);
    } else if health_changed {
        wake_owner(world, ctx, task_id);
    }
}

fn wake_owner(world: &mut World, ctx: &mut Ctx<'_>, task_id: &str) {
    let Some(task) = world.ecs.task_mut(task_id) else {
        return;
    };
    let owner = task.service_name.clone();
    let cluster = task.cluster_name.clone();
    if let Some(service) = owner {
        super::service_loop::wake(world, ctx, &cluster, &service);
    }
}

/// Task health as ECS aggregates it over essential containers.
pub fn task_health(task: &TaskRecord) -> api::HealthStatus {
    let essential = task.containers.iter().filter(|c| c.essential);
    let mut any_checked = false;
    for c in essential {
        match c.health_status {
            Some(api::HealthStatus::Unhealthy) => return api::HealthStatus::Unhealthy,
            Some(api::HealthStatus::Healthy) => any_checked = true,
            _ if c.has_health_check => return api::HealthStatus::Unknown,
            _ => {}
        }
    }
    if any_checked {
        api::HealthStatus::Healthy
    } else {
        api::HealthStatus::Unknown
    }
}

/// The task's `healthStatus` as DescribeTasks reports it: its essential containers' health,
/// combined with its load balancer targets' health when it has targets (ecsim shows ELB health
/// on the task so a test can see why a service replaces it).
pub fn reported_health(task: &TaskRecord) -> api::HealthStatus {
    let containers = task_health(task);
    match task.lb_health {
        None => containers,
        Some(api::HealthStatus::Unhealthy) => api::HealthStatus::Unhealthy,
        Some(_) if containers == api::HealthStatus::Unhealthy => api::HealthStatus::Unhealthy,
        Some(api::HealthStatus::Healthy)
            if containers == api::HealthStatus::Healthy
                || !task.containers.iter().any(|c| c.has_health_check) =>
        {
            api::HealthStatus::Healthy
        }
        Some(_) => api::HealthStatus::Unknown,
    }
}

/// Milliseconds as API timestamps, for optional fields.
pub fn opt_ts(at_ms: Option<Millis>) -> Option<f64> {
    at_ms.map(ts)
}
