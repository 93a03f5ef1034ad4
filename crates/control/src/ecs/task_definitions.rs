//! ECS task definitions: register (with ECS's validations and the defaults AWS fills in),
//! describe, list, deregister and delete. A definition is stored as the API shape it is returned
//! in, so every field given round-trips. Nothing here starts tasks or changes services.

use std::collections::BTreeSet;

use ecsim_api::ecs as api;
use ecsim_protocol::AwsError;

use super::EcsHandler;
use super::common::{self, client_exception, invalid_parameter};
use super::state::{EcsState, TaskDefinitionRecord, TaskStatus};
use crate::runtime::Behaviour;
use crate::world::World;

type R<T> = Result<T, AwsError>;
use api::TaskDefinitionStatus as S;

/// Agent capabilities a task definition can require (`requiresAttributes`). Container instances
/// registered through the emulator report all of them.
pub mod capability {
    pub const DOCKER_REMOTE_API_1_18: &str = "com.amazonaws.ecs.capability.docker-remote-api.1.18";
    pub const DOCKER_REMOTE_API_1_19: &str = "com.amazonaws.ecs.capability.docker-remote-api.1.19";
    pub const DOCKER_REMOTE_API_1_21: &str = "com.amazonaws.ecs.capability.docker-remote-api.1.21";
    pub const TASK_ENI: &str = "ecs.capability.task-eni";
    pub const TASK_IAM_ROLE: &str = "com.amazonaws.ecs.capability.task-iam-role";
    pub const LOGGING_DRIVER_AWSLOGS: &str = "com.amazonaws.ecs.capability.logging-driver.awslogs";
    pub const EXECUTION_ROLE_AWSLOGS: &str = "ecs.capability.execution-role-awslogs";
    pub const CONTAINER_HEALTH_CHECK: &str = "ecs.capability.container-health-check";
    pub const ECR_AUTH: &str = "com.amazonaws.ecs.capability.ecr-auth";
    pub const EXECUTION_ROLE_ECR_PULL: &str = "ecs.capability.execution-role-ecr-pull";
    pub const SECRETS_SSM: &str = "ecs.capability.secrets.ssm.environment-variables";
    pub const SECRETS_ASM: &str = "ecs.capability.secrets.asm.environment-variables";
    pub const CONTAINER_ORDERING: &str = "ecs.capability.container-ordering";

    /// Every capability above.
    pub const ALL: &[&str] = &[
        DOCKER_REMOTE_API_1_18,
        DOCKER_REMOTE_API_1_19,
        DOCKER_REMOTE_API_1_21,
        TASK_ENI,
        TASK_IAM_ROLE,
        LOGGING_DRIVER_AWSLOGS,
        EXECUTION_ROLE_AWSLOGS,
        CONTAINER_HEALTH_CHECK,
        ECR_AUTH,
        EXECUTION_ROLE_ECR_PULL,
        SECRETS_SSM,
        SECRETS_ASM,
        CONTAINER_ORDERING,
    ];
}

// ---------------------------------------------------------------------------------------------
// lookups

/// How a request names a task definition.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Reference<'a> {
    /// `family`: the latest ACTIVE revision.
    Family(&'a str),
    /// `family:revision` or a full ARN.
    Revision(&'a str, i32),
}

fn parse_reference(reference: &str) -> Option<Reference<'_>> {
    let body = if reference.starts_with("arn:") {
        ecsim_core::ids::arn_resource(reference)?.strip_prefix("task-definition/")?
    } else {
        reference
    };
    match body.split_once(':') {
        None if !body.is_empty() => Some(Reference::Family(body)),
        None => None,
        Some((family, rev)) => rev
            .parse::<i32>()
            .ok()
            .filter(|r| *r > 0)
            .map(|r| Reference::Revision(family, r)),
    }
}

fn status_of(record: &TaskDefinitionRecord) -> S {
    record.definition.status.unwrap_or(S::Active)
}

/// The task definition `reference` names: a family means its latest ACTIVE revision;
/// `family:revision` or an ARN means exactly that revision, in any status (INACTIVE, or
/// DELETE_IN_PROGRESS while tasks or services still use it). Callers that start new tasks must
/// refuse anything but ACTIVE.
pub fn find<'w>(ecs: &'w EcsState, reference: &str) -> Option<&'w TaskDefinitionRecord> {
    match parse_reference(reference)? {
        Reference::Family(f) => ecs
            .families
            .get(f)?
            .revisions
            .values()
            .rev()
            .find(|r| status_of(r) == S::Active),
        Reference::Revision(f, rev) => ecs.families.get(f)?.revisions.get(&rev),
    }
}

/// Like [`find`], but an ARN must belong to this world.
fn lookup<'w>(world: &'w World, reference: &str) -> Option<&'w TaskDefinitionRecord> {
    if reference.starts_with("arn:") && !reference.starts_with(&world.arn("ecs", "task-definition/")) {
        return None;
    }
    find(&world.ecs, reference)
}

fn not_found() -> AwsError {
    client_exception("The specified task definition does not exist.")
}

/// `(family, revision)` of a reference that must carry a revision (deregister, delete).
fn revision_ref(world: &World, reference: &str) -> R<(String, i32)> {
    if reference.starts_with("arn:") && !reference.starts_with(&world.arn("ecs", "task-definition/")) {
        return Err(not_found());
    }
    match parse_reference(reference) {
        Some(Reference::Revision(f, rev)) => Ok((f.to_string(), rev)),
        Some(Reference::Family(_)) => Err(client_exception(
            "A revision is required: specify the task definition as family:revision or as its full ARN.",
        )),
        None => Err(not_found()),
    }
}

/// The ARN a reference stands for, for `failures`.
fn arn_of(world: &World, reference: &str) -> String {
    if reference.starts_with("arn:") {
        reference.to_string()
    } else {
        world.arn("ecs", &format!("task-definition/{reference}"))
    }
}

/// Drops DELETE_IN_PROGRESS revisions that no task (not STOPPED) and no ACTIVE or DRAINING
/// service (or deployment of one) uses any more, as ECS finishes deletions. Revision numbers stay
/// taken: the family keeps `last_revision`.
pub fn purge_deleted(ecs: &mut EcsState) {
    if ecs.pending_deletions.is_empty() {
        return;
    }
    let mut in_use: BTreeSet<String> = BTreeSet::new();
    for cluster in ecs.clusters.values() {
        let tasks = cluster.tasks.values().filter(|t| t.status != TaskStatus::Stopped);
        in_use.extend(tasks.map(|t| t.task_definition_arn.clone()));
        for s in cluster.services.values().filter(|s| s.status != "INACTIVE") {
            in_use.insert(s.task_definition_arn.clone());
            in_use.extend(s.deployments.iter().map(|d| d.task_definition_arn.clone()));
        }
    }
    let pending = std::mem::take(&mut ecs.pending_deletions);
    for (family, revision) in pending {
        let Some(revisions) = ecs.families.get_mut(&family).map(|f| &mut f.revisions) else {
            continue;
        };
        let still_used = revisions
            .get(&revision)
            .and_then(|r| r.definition.task_definition_arn.as_ref())
            .is_some_and(|a| in_use.contains(a));
        if still_used {
            ecs.pending_deletions.insert((family, revision));
        } else {
            revisions.remove(&revision);
        }
    }
}

// ---------------------------------------------------------------------------------------------
// sizes

/// Task-level CPU units and MiB, normalised from `"1024"` / `"1 vCPU"` and `"2048"` / `"2 GB"`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct Sizes {
    cpu: Option<i64>,
    memory: Option<i64>,
}

/// `value` without a case-insensitive `suffix`.
fn strip_suffix_ci<'a>(value: &'a str, suffix: &str) -> Option<&'a str> {
    let cut = value.len().checked_sub(suffix.len())?;
    value
        .get(cut..)
        .filter(|end| end.eq_ignore_ascii_case(suffix))
        .map(|_| &value[..cut])
}

/// `number × scale` when that is a positive whole number.
fn scaled(number: &str, scale: f64) -> Option<i64> {
    let v: f64 = number.trim().parse().ok()?;
    let units = v * scale;
    let whole = units.round();
    (units.is_finite() && (1.0..1e12).contains(&whole) && (units - whole).abs() < 1e-6)
        .then_some(whole as i64)
}

fn parse_size(value: &str, units: &[&str], scale: f64) -> Option<i64> {
    let value = value.trim();
    if let Some(n) = units.iter().find_map(|u| strip_suffix_ci(value, u)) {
        return scaled(n, scale);
    }
    value.parse::<i64>().ok().filter(|v| *v > 0)
}

impl Sizes {
    fn parse(cpu: Option<&str>, memory: Option<&str>) -> R<Self> {
        let cpu = match cpu {
            None => None,
            Some(c) => Some(parse_size(c, &["vcpu"], 1024.0).ok_or_else(|| {
                client_exception(format!(
                    "Invalid 'cpu' setting for task: '{c}'. Specify CPU units (1024) or vCPUs (1 vCPU)."
                ))
            })?),
        };
        let memory = match memory {
            None => None,
            Some(m) => Some(parse_size(m, &["gib", "gb"], 1024.0).ok_or_else(|| {
                client_exception(format!(
                    "Invalid 'memory' setting for task: '{m}'. Specify MiB (2048) or GB (2 GB)."
                ))
            })?),
        };
        Ok(Self { cpu, memory })
    }
}

/// Whether (cpu, memory) is one of Fargate's task sizes.
fn fargate_size_ok(cpu: i64, memory: i64) -> bool {
    let stepped = |lo: i64, hi: i64, step: i64| (lo..=hi).contains(&memory) && memory % step == 0;
    match cpu {
        256 => matches!(memory, 512 | 1024 | 2048),
        512 => stepped(1024, 4096, 1024),
        1024 => stepped(2048, 8192, 1024),
        2048 => stepped(4096, 16384, 1024),
        4096 => stepped(8192, 30720, 1024),
        8192 => stepped(16384, 61440, 4096),
        16384 => stepped(32768, 122_880, 8192),
        _ => false,
    }
}

fn check_fargate(network_mode: Option<api::NetworkMode>, sizes: Sizes) -> R<()> {
    if network_mode != Some(api::NetworkMode::Awsvpc) {
        return Err(client_exception("Fargate only supports network mode 'awsvpc'."));
    }
    let cpu = sizes
        .cpu
        .ok_or_else(|| client_exception("Fargate requires that 'cpu' be defined at the task level."))?;
    let memory = sizes
        .memory
        .ok_or_else(|| client_exception("Fargate requires that 'memory' be defined at the task level."))?;
    if !fargate_size_ok(cpu, memory) {
        return Err(client_exception(format!(
            "No Fargate configuration exists for given values: {cpu} CPU, {memory} memory. \
             See the Amazon ECS documentation for the valid values."
        )));
    }
    Ok(())
}

/// EC2 task sizes: 128 to 196608 CPU units when given.
fn check_ec2_sizes(sizes: Sizes) -> R<()> {
    if let Some(cpu) = sizes.cpu.filter(|c| !(128..=196_608).contains(c)) {
        return Err(client_exception(format!(
            "Invalid 'cpu' setting for task: {cpu}. Tasks on EC2 can use 128 to 196608 CPU units."
        )));
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// containers

fn container_error(name: &str, what: &str) -> AwsError {
    client_exception(format!("Invalid setting for container '{name}'. {what}"))
}

/// Checks one container definition as ECS does and returns its name.
fn check_container(c: &api::ContainerDefinition, needs_memory: bool) -> R<&str> {
    let name = c.name.as_deref().filter(|n| !n.is_empty());
    let name = name.ok_or_else(|| client_exception("Container.name should not be null or empty."))?;
    if !common::is_valid_name(name) {
        return Err(client_exception(format!(
            "Container name '{name}' is invalid. Up to 255 letters (uppercase and lowercase), numbers, hyphens, \
             and underscores are allowed."
        )));
    }
    if c.image.as_deref().is_none_or(str::is_empty) {
        return Err(client_exception("Container.image should not be null or empty."));
    }
    if needs_memory && c.memory.is_none() && c.memory_reservation.is_none() {
        return Err(container_error(
            name,
            "At least one of 'memory' or 'memoryReservation' must be specified.",
        ));
    }
    if c.memory.is_some_and(|m| m < 6) || c.memory_reservation.is_some_and(|m| m < 6) {
        return Err(container_error(
            name,
            "The minimum memory for a container is 6 MiB.",
        ));
    }
    if let (Some(m), Some(r)) = (c.memory, c.memory_reservation)
        && m < r
    {
        return Err(container_error(
            name,
            "The value for 'memory' must be greater than or equal to the value for 'memoryReservation'.",
        ));
    }
    let env = c.environment.as_deref().unwrap_or_default();
    Behaviour::from_env(env.iter().map(|kv| {
        (
            kv.name.as_deref().unwrap_or(""),
            kv.value.as_deref().unwrap_or(""),
        )
    }))
    .map_err(|e| client_exception(e.to_string()))?;
    Ok(name)
}

/// Port mappings with AWS's defaults: protocol `tcp`; in awsvpc and host mode `hostPort` must
/// equal `containerPort` and is set to it when absent (or 0).
fn port_mappings(mappings: &mut [api::PortMapping], network_mode: Option<api::NetworkMode>) -> R<()> {
    let pinned = match network_mode {
        Some(mode @ (api::NetworkMode::Awsvpc | api::NetworkMode::Host)) => Some(mode),
        _ => None,
    };
    for m in mappings {
        m.protocol.get_or_insert(api::TransportProtocol::Tcp);
        let Some(mode) = pinned else { continue };
        match (m.host_port, m.container_port) {
            (None | Some(0), Some(port)) => m.host_port = Some(port),
            (Some(host), Some(port)) if host != port => {
                return Err(client_exception(format!(
                    "When networkMode={}, the host ports and container ports in port mappings must match.",
                    mode.as_str()
                )));
            }
            _ => {}
        }
    }
    Ok(())
}

/// A container definition as AWS returns it: `essential` true, `cpu` 0, and empty lists for
/// `portMappings`, `environment`, `mountPoints`, `volumesFrom`, `systemControls` when absent.
fn with_defaults(
    mut c: api::ContainerDefinition,
    network_mode: Option<api::NetworkMode>,
) -> R<api::ContainerDefinition> {
    c.essential.get_or_insert(true);
    c.cpu.get_or_insert(0);
    port_mappings(c.port_mappings.get_or_insert_with(Vec::new), network_mode)?;
    c.environment.get_or_insert_with(Vec::new);
    c.mount_points.get_or_insert_with(Vec::new);
    c.volumes_from.get_or_insert_with(Vec::new);
    c.system_controls.get_or_insert_with(Vec::new);
    Ok(c)
}

fn prepare_containers(
    input: &api::RegisterTaskDefinitionRequest,
    needs_memory: bool,
) -> R<Vec<api::ContainerDefinition>> {
    if input.container_definitions.is_empty() {
        return Err(client_exception("Container list cannot be empty."));
    }
    let mut out: Vec<api::ContainerDefinition> = Vec::with_capacity(input.container_definitions.len());
    for c in &input.container_definitions {
        let name = check_container(c, needs_memory)?;
        if out.iter().any(|o| o.name.as_deref() == Some(name)) {
            return Err(client_exception(format!(
                "Container names must be unique within a task definition: '{name}' is used more than once."
            )));
        }
        out.push(with_defaults(c.clone(), input.network_mode)?);
    }
    if !out.iter().any(|c| c.essential == Some(true)) {
        return Err(client_exception(
            "A task definition must have at least one essential container.",
        ));
    }
    Ok(out)
}

// ---------------------------------------------------------------------------------------------
// register

fn check_family(family: &str) -> R<()> {
    if common::is_valid_name(family) {
        Ok(())
    } else {
        Err(client_exception(
            "Family contains invalid characters. Up to 255 letters (uppercase and lowercase), numbers, hyphens, \
             and underscores are allowed.",
        ))
    }
}

fn check_task_options(input: &api::RegisterTaskDefinitionRequest) -> R<()> {
    if input.placement_constraints.as_ref().is_some_and(|p| p.len() > 10) {
        return Err(client_exception(
            "A task definition can have at most 10 placement constraints.",
        ));
    }
    if let Some(size) = input
        .ephemeral_storage
        .as_ref()
        .map(|e| e.size_in_gib)
        .filter(|s| !(21..=200).contains(s))
    {
        return Err(client_exception(format!(
            "Invalid ephemeralStorage sizeInGiB {size}: it must be between 21 and 200."
        )));
    }
    Ok(())
}

/// `EC2` plus every required compatibility, without duplicates.
fn compatibilities(required: Option<&[api::Compatibility]>) -> Vec<api::Compatibility> {
    let mut out = vec![api::Compatibility::Ec2];
    for c in required.unwrap_or_default() {
        if !out.contains(c) {
            out.push(*c);
        }
    }
    out
}

/// The agent capabilities the definition needs, in a stable order.
fn requires_attributes(
    input: &api::RegisterTaskDefinitionRequest,
    containers: &[api::ContainerDefinition],
) -> Vec<api::Attribute> {
    use capability as cap;
    let execution_role = input.execution_role_arn.is_some();
    let mut names = vec![cap::DOCKER_REMOTE_API_1_18];
    let mut need = |on: bool, name: &'static str| {
        if on && !names.contains(&name) {
            names.push(name);
        }
    };
    need(
        input.network_mode == Some(api::NetworkMode::Awsvpc),
        cap::TASK_ENI,
    );
    need(input.task_role_arn.is_some(), cap::TASK_IAM_ROLE);
    for c in containers {
        let awslogs = c
            .log_configuration
            .as_ref()
            .is_some_and(|l| l.log_driver == api::LogDriver::Awslogs);
        need(awslogs, cap::DOCKER_REMOTE_API_1_19);
        need(awslogs, cap::LOGGING_DRIVER_AWSLOGS);
        need(awslogs && execution_role, cap::EXECUTION_ROLE_AWSLOGS);
        need(c.memory_reservation.is_some(), cap::DOCKER_REMOTE_API_1_21);
        need(c.health_check.is_some(), cap::CONTAINER_HEALTH_CHECK);
        let ecr = c.image.as_deref().is_some_and(|i| i.contains(".dkr.ecr."));
        need(ecr, cap::ECR_AUTH);
        need(ecr && execution_role, cap::EXECUTION_ROLE_ECR_PULL);
        for s in c.secrets.as_deref().unwrap_or_default() {
            let asm = s.value_from.contains(":secretsmanager:");
            need(asm, cap::SECRETS_ASM);
            need(!asm, cap::SECRETS_SSM);
        }
        need(
            c.depends_on.as_ref().is_some_and(|d| !d.is_empty()),
            cap::CONTAINER_ORDERING,
        );
    }
    names
        .into_iter()
        .map(|n| api::Attribute {
            name: n.to_string(),
            ..Default::default()
        })
        .collect()
}

/// The stored definition: every field of the request, plus what ECS fills in.
fn build_definition(
    world: &World,
    now_ms: ecsim_core::Millis,
    input: api::RegisterTaskDefinitionRequest,
    containers: Vec<api::ContainerDefinition>,
    sizes: Sizes,
    revision: i32,
) -> api::TaskDefinition {
    let requires_attributes = requires_attributes(&input, &containers);
    api::TaskDefinition {
        task_definition_arn: Some(world.arn("ecs", &format!("task-definition/{}:{revision}", input.family))),
        container_definitions: Some(containers),
        compatibilities: Some(compatibilities(input.requires_compatibilities.as_deref())),
        family: Some(input.family),
        task_role_arn: input.task_role_arn,
        execution_role_arn: input.execution_role_arn,
        network_mode: input.network_mode,
        revision: Some(revision),
        volumes: Some(input.volumes.unwrap_or_default()),
        status: Some(S::Active),
        requires_attributes: Some(requires_attributes),
        placement_constraints: Some(input.placement_constraints.unwrap_or_default()),
        runtime_platform: input.runtime_platform,
        requires_compatibilities: input.requires_compatibilities,
        cpu: sizes.cpu.map(|c| c.to_string()),
        memory: sizes.memory.map(|m| m.to_string()),
        inference_accelerators: input.inference_accelerators,
        pid_mode: input.pid_mode,
        ipc_mode: input.ipc_mode,
        proxy_configuration: input.proxy_configuration,
        registered_at: Some(common::ts(now_ms)),
        deregistered_at: None,
        delete_requested_at: None,
        registered_by: Some(common::root_principal_arn(world)),
        ephemeral_storage: input.ephemeral_storage,
        enable_fault_injection: input.enable_fault_injection,
        trusted_execution_configuration: input.trusted_execution_configuration,
    }
}

/// Registers the next revision of a family (revisions are never reused, even after deletion).
pub fn register_task_definition(
    h: &mut EcsHandler<'_, '_>,
    mut input: api::RegisterTaskDefinitionRequest,
) -> R<api::RegisterTaskDefinitionResponse> {
    check_family(&input.family)?;
    let tags = input.tags.take();
    common::validate_tags(tags.as_deref().unwrap_or_default())?;
    check_task_options(&input)?;
    // memberOf expressions must parse (InvalidParameterException, as ECS answers).
    super::placement::compile_rules(
        input.placement_constraints.as_deref().unwrap_or_default(),
        &[],
        &[],
    )?;
    let sizes = Sizes::parse(input.cpu.as_deref(), input.memory.as_deref())?;
    let required = input.requires_compatibilities.as_deref().unwrap_or_default();
    let fargate = required.contains(&api::Compatibility::Fargate);
    if fargate {
        check_fargate(input.network_mode, sizes)?
    } else {
        check_ec2_sizes(sizes)?
    }
    let containers = prepare_containers(&input, !fargate && sizes.memory.is_none())?;

    purge_deleted(&mut h.world.ecs);
    let family = input.family.clone();
    let revision = h.world.ecs.families.get(&family).map_or(0, |f| f.last_revision) + 1;
    let definition = build_definition(h.world, h.ctx.now_ms, input, containers, sizes, revision);
    let entry = h.world.ecs.families.entry(family).or_default();
    entry.last_revision = revision;
    let record = TaskDefinitionRecord {
        definition: definition.clone(),
        tags: tags.clone().unwrap_or_default(),
    };
    entry.revisions.insert(revision, record);
    Ok(api::RegisterTaskDefinitionResponse {
        task_definition: Some(definition),
        tags,
    })
}

// ---------------------------------------------------------------------------------------------
// describe, list

pub fn describe_task_definition(
    h: &mut EcsHandler<'_, '_>,
    input: api::DescribeTaskDefinitionRequest,
) -> R<api::DescribeTaskDefinitionResponse> {
    purge_deleted(&mut h.world.ecs);
    let record = lookup(h.world, &input.task_definition)
        .ok_or_else(|| client_exception("Unable to describe task definition."))?;
    let include_tags = input
        .include
        .unwrap_or_default()
        .contains(&api::TaskDefinitionField::Tags);
    Ok(api::DescribeTaskDefinitionResponse {
        task_definition: Some(record.definition.clone()),
        tags: include_tags.then(|| record.tags.clone()),
    })
}

/// A pagination key in ascending (family, revision) order. Families are ASCII and never contain
/// `\u{1}`, which sorts before every family character.
fn ascending_key(family: &str, revision: i32) -> String {
    format!("{family}\u{1}{revision:010}")
}

/// A key whose order is the reverse of an [`ascending_key`]'s: each ASCII byte `b` becomes the
/// character `255 - b` (UTF-8 keeps code point order, and no ascending key is a prefix of
/// another, so the order flips exactly).
fn descending_key(ascending: &str) -> String {
    ascending.bytes().map(|b| char::from(255 - b)).collect()
}

pub fn list_task_definitions(
    h: &mut EcsHandler<'_, '_>,
    input: api::ListTaskDefinitionsRequest,
) -> R<api::ListTaskDefinitionsResponse> {
    purge_deleted(&mut h.world.ecs);
    let status = input.status.unwrap_or(S::Active);
    let descending = input.sort == Some(api::SortOrder::Desc);
    let mut items: Vec<(String, String)> = Vec::new();
    for (name, family) in &h.world.ecs.families {
        if input
            .family_prefix
            .as_ref()
            .is_some_and(|p| !p.is_empty() && p != name)
        {
            continue;
        }
        for (rev, record) in family.revisions.iter().filter(|(_, r)| status_of(r) == status) {
            let key = ascending_key(name, *rev);
            let key = if descending { descending_key(&key) } else { key };
            items.push((
                key,
                record.definition.task_definition_arn.clone().unwrap_or_default(),
            ));
        }
    }
    items.sort();
    let (task_definition_arns, next_token) =
        common::paginate(&items, input.next_token.as_deref(), input.max_results, 100, 100)?;
    Ok(api::ListTaskDefinitionsResponse {
        task_definition_arns: Some(task_definition_arns),
        next_token,
    })
}

/// Families with at least one stored revision whose name starts with `familyPrefix`: ACTIVE =
/// with an ACTIVE revision, INACTIVE = without one, ALL (default) = both.
pub fn list_task_definition_families(
    h: &mut EcsHandler<'_, '_>,
    input: api::ListTaskDefinitionFamiliesRequest,
) -> R<api::ListTaskDefinitionFamiliesResponse> {
    purge_deleted(&mut h.world.ecs);
    let status = input.status.unwrap_or(api::TaskDefinitionFamilyStatus::All);
    let prefix = input.family_prefix.unwrap_or_default();
    let items: Vec<(String, String)> = h
        .world
        .ecs
        .families
        .iter()
        .filter(|(name, f)| name.starts_with(&prefix) && !f.revisions.is_empty())
        .filter(|(_, f)| {
            let active = f.revisions.values().any(|r| status_of(r) == S::Active);
            match status {
                api::TaskDefinitionFamilyStatus::Active => active,
                api::TaskDefinitionFamilyStatus::Inactive => !active,
                api::TaskDefinitionFamilyStatus::All => true,
            }
        })
        .map(|(name, _)| (name.clone(), name.clone()))
        .collect();
    let (families, next_token) =
        common::paginate(&items, input.next_token.as_deref(), input.max_results, 100, 100)?;
    Ok(api::ListTaskDefinitionFamiliesResponse {
        families: Some(families),
        next_token,
    })
}

// ---------------------------------------------------------------------------------------------
// deregister, delete

/// Marks a revision INACTIVE (an INACTIVE one is returned as it is).
pub fn deregister_task_definition(
    h: &mut EcsHandler<'_, '_>,
    input: api::DeregisterTaskDefinitionRequest,
) -> R<api::DeregisterTaskDefinitionResponse> {
    let (family, revision) = revision_ref(h.world, &input.task_definition)?;
    let now = common::ts(h.ctx.now_ms);
    let record = h
        .world
        .ecs
        .families
        .get_mut(&family)
        .and_then(|f| f.revisions.get_mut(&revision));
    let record = record
        .filter(|r| status_of(r) != S::DeleteInProgress)
        .ok_or_else(not_found)?;
    if status_of(record) == S::Active {
        record.definition.status = Some(S::Inactive);
        record.definition.deregistered_at = Some(now);
    }
    Ok(api::DeregisterTaskDefinitionResponse {
        task_definition: Some(record.definition.clone()),
    })
}

fn failure(arn: String, reason: &str) -> api::Failure {
    api::Failure {
        arn: Some(arn),
        reason: Some(reason.to_string()),
        detail: None,
    }
}

/// Deletes one revision: INACTIVE → DELETE_IN_PROGRESS (returned); others are failures.
fn delete_one(world: &mut World, now: f64, reference: &str) -> Result<api::TaskDefinition, api::Failure> {
    let (family, revision) =
        revision_ref(world, reference).map_err(|e| failure(arn_of(world, reference), &e.message))?;
    let arn = world.arn("ecs", &format!("task-definition/{family}:{revision}"));
    let record = world
        .ecs
        .families
        .get_mut(&family)
        .and_then(|f| f.revisions.get_mut(&revision));
    let Some(record) = record else {
        return Err(failure(arn, "The specified task definition does not exist."));
    };
    match status_of(record) {
        S::Active => Err(failure(
            arn,
            "The specified task definition is still in ACTIVE status. Please deregister the target and try again.",
        )),
        S::Inactive => {
            record.definition.status = Some(S::DeleteInProgress);
            record.definition.delete_requested_at = Some(now);
            let deleted = record.definition.clone();
            world.ecs.pending_deletions.insert((family, revision));
            Ok(deleted)
        }
        S::DeleteInProgress => Ok(record.definition.clone()),
    }
}

/// Deletes up to 10 INACTIVE revisions. They are returned as DELETE_IN_PROGRESS and disappear once
/// no task or service uses them; their revision numbers are never reused.
pub fn delete_task_definitions(
    h: &mut EcsHandler<'_, '_>,
    input: api::DeleteTaskDefinitionsRequest,
) -> R<api::DeleteTaskDefinitionsResponse> {
    if input.task_definitions.is_empty() || input.task_definitions.len() > 10 {
        return Err(invalid_parameter(
            "taskDefinitions must name between 1 and 10 task definitions.",
        ));
    }
    let now = common::ts(h.ctx.now_ms);
    let (mut deleted, mut failures) = (Vec::new(), Vec::new());
    for reference in &input.task_definitions {
        match delete_one(h.world, now, reference) {
            Ok(definition) => deleted.push(definition),
            Err(f) => failures.push(f),
        }
    }
    purge_deleted(&mut h.world.ecs);
    Ok(api::DeleteTaskDefinitionsResponse {
        task_definitions: Some(deleted),
        failures: Some(failures),
    })
}

// ---------------------------------------------------------------------------------------------
// tests

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::ecs::clusters::testkit::{Env, register_instance, start_task};

    const ARN_PREFIX: &str = "arn:aws:ecs:us-east-1:000000000000:task-definition/";

    fn container(name: &str) -> api::ContainerDefinition {
        api::ContainerDefinition {
            name: Some(name.into()),
            image: Some("nginx:latest".into()),
            memory: Some(128),
            ..Default::default()
        }
    }

    fn request(family: &str) -> api::RegisterTaskDefinitionRequest {
        api::RegisterTaskDefinitionRequest {
            family: family.into(),
            container_definitions: vec![container("app")],
            ..Default::default()
        }
    }

    fn fargate(cpu: &str, memory: &str) -> api::RegisterTaskDefinitionRequest {
        api::RegisterTaskDefinitionRequest {
            network_mode: Some(api::NetworkMode::Awsvpc),
            requires_compatibilities: Some(vec![api::Compatibility::Fargate]),
            cpu: Some(cpu.into()),
            memory: Some(memory.into()),
            container_definitions: vec![api::ContainerDefinition {
                memory: None,
                ..container("app")
            }],
            ..request("fg")
        }
    }

    fn register(env: &mut Env, input: api::RegisterTaskDefinitionRequest) -> R<api::TaskDefinition> {
        env.call(|h| register_task_definition(h, input))
            .map(|r| r.task_definition.unwrap())
    }

    fn error(env: &mut Env, input: api::RegisterTaskDefinitionRequest) -> AwsError {
        register(env, input).unwrap_err()
    }

    fn deregister(env: &mut Env, reference: &str) -> R<api::TaskDefinition> {
        let input = api::DeregisterTaskDefinitionRequest {
            task_definition: reference.into(),
        };
        env.call(|h| deregister_task_definition(h, input))
            .map(|r| r.task_definition.unwrap())
    }

    fn delete(env: &mut Env, refs: &[&str]) -> R<api::DeleteTaskDefinitionsResponse> {
        let input = api::DeleteTaskDefinitionsRequest {
            task_definitions: refs.iter().map(|r| r.to_string()).collect(),
        };
        env.call(|h| delete_task_definitions(h, input))
    }

    fn describe(env: &mut Env, reference: &str, tags: bool) -> R<api::DescribeTaskDefinitionResponse> {
        let input = api::DescribeTaskDefinitionRequest {
            task_definition: reference.into(),
            include: tags.then(|| vec![api::TaskDefinitionField::Tags]),
        };
        env.call(|h| describe_task_definition(h, input))
    }

    fn list_all(env: &mut Env, input: api::ListTaskDefinitionsRequest) -> Vec<String> {
        let mut out = Vec::new();
        let mut token = None;
        loop {
            let page = env
                .call(|h| {
                    list_task_definitions(
                        h,
                        api::ListTaskDefinitionsRequest {
                            next_token: token.clone(),
                            max_results: Some(2),
                            ..input.clone()
                        },
                    )
                })
                .unwrap();
            out.extend(page.task_definition_arns.unwrap());
            token = page.next_token;
            if token.is_none() {
                return out
                    .iter()
                    .map(|a| a.trim_start_matches(ARN_PREFIX).to_string())
                    .collect();
            }
        }
    }

    fn families(env: &mut Env, input: api::ListTaskDefinitionFamiliesRequest) -> Vec<String> {
        env.call(|h| list_task_definition_families(h, input))
            .unwrap()
            .families
            .unwrap()
    }

    #[test]
    fn register_fills_aws_defaults() {
        let mut env = Env::new();
        let td = register(&mut env, request("web")).unwrap();
        assert_eq!(
            td.task_definition_arn.as_deref(),
            Some(format!("{ARN_PREFIX}web:1").as_str())
        );
        assert_eq!(td.revision, Some(1));
        assert_eq!(td.status, Some(S::Active));
        assert_eq!(td.network_mode, None);
        assert_eq!(td.compatibilities, Some(vec![api::Compatibility::Ec2]));
        assert_eq!(td.volumes, Some(vec![]));
        assert_eq!(td.placement_constraints, Some(vec![]));
        assert_eq!(
            td.registered_by.as_deref(),
            Some("arn:aws:iam::000000000000:root")
        );
        assert_eq!(td.registered_at, Some(1_767_225_600.0));
        let attrs: Vec<&str> = td
            .requires_attributes
            .as_ref()
            .unwrap()
            .iter()
            .map(|a| a.name.as_str())
            .collect();
        assert_eq!(attrs, [capability::DOCKER_REMOTE_API_1_18]);
        let c = &td.container_definitions.as_ref().unwrap()[0];
        assert_eq!(c.essential, Some(true));
        assert_eq!(c.cpu, Some(0));
        assert_eq!(c.port_mappings, Some(vec![]));
        assert_eq!(c.environment, Some(vec![]));
        assert_eq!(c.mount_points, Some(vec![]));
        assert_eq!(c.volumes_from, Some(vec![]));
        assert_eq!(c.system_controls, Some(vec![]));
        assert_eq!(c.memory, Some(128));
        assert!(find(&env.world.ecs, "web").is_some());
    }

    fn rich_container() -> api::ContainerDefinition {
        let kv = |n: &str, v: &str| api::KeyValuePair {
            name: Some(n.into()),
            value: Some(v.into()),
        };
        api::ContainerDefinition {
            name: Some("app".into()),
            image: Some("123456789012.dkr.ecr.us-east-1.amazonaws.com/app:1".into()),
            repository_credentials: Some(api::RepositoryCredentials {
                credentials_parameter: "arn:creds".into(),
            }),
            cpu: Some(256),
            memory: Some(512),
            memory_reservation: Some(256),
            links: Some(vec!["db".into()]),
            port_mappings: Some(vec![api::PortMapping {
                container_port: Some(8080),
                host_port: Some(8080),
                protocol: Some(api::TransportProtocol::Tcp),
                name: Some("http".into()),
                app_protocol: Some(api::ApplicationProtocol::Http),
                container_port_range: None,
            }]),
            essential: Some(true),
            restart_policy: Some(api::ContainerRestartPolicy {
                enabled: true,
                ignored_exit_codes: Some(vec![0]),
                restart_attempt_period: Some(60),
            }),
            entry_point: Some(vec!["/bin/sh".into(), "-c".into()]),
            command: Some(vec!["serve".into()]),
            environment: Some(vec![kv("MODE", "prod"), kv("ECSIM_START_DELAY_MS", "100")]),
            environment_files: Some(vec![api::EnvironmentFile {
                value: "arn:aws:s3:::bucket/app.env".into(),
                r#type: api::EnvironmentFileType::S3,
            }]),
            mount_points: Some(vec![api::MountPoint {
                source_volume: Some("data".into()),
                container_path: Some("/data".into()),
                read_only: Some(false),
            }]),
            volumes_from: Some(vec![api::VolumeFrom {
                source_container: Some("side".into()),
                read_only: Some(true),
            }]),
            linux_parameters: Some(api::LinuxParameters {
                capabilities: Some(api::KernelCapabilities {
                    add: Some(vec!["NET_ADMIN".into()]),
                    drop: None,
                }),
                init_process_enabled: Some(true),
                shared_memory_size: Some(64),
                tmpfs: Some(vec![api::Tmpfs {
                    container_path: "/tmp".into(),
                    size: 64,
                    mount_options: None,
                }]),
                max_swap: Some(0),
                swappiness: Some(10),
                devices: None,
            }),
            secrets: Some(vec![
                api::Secret {
                    name: "DB".into(),
                    value_from: "arn:aws:secretsmanager:us-east-1:1:secret:db".into(),
                },
                api::Secret {
                    name: "KEY".into(),
                    value_from: "/app/key".into(),
                },
            ]),
            depends_on: Some(vec![api::ContainerDependency {
                container_name: "side".into(),
                condition: api::ContainerCondition::Start,
            }]),
            start_timeout: Some(60),
            stop_timeout: Some(10),
            version_consistency: Some(api::VersionConsistency::Disabled),
            hostname: Some("app".into()),
            user: Some("1000".into()),
            working_directory: Some("/srv".into()),
            disable_networking: Some(false),
            privileged: Some(false),
            readonly_root_filesystem: Some(true),
            dns_servers: Some(vec!["10.0.0.2".into()]),
            dns_search_domains: Some(vec!["internal".into()]),
            extra_hosts: Some(vec![api::HostEntry {
                hostname: "db".into(),
                ip_address: "10.0.0.9".into(),
            }]),
            docker_security_options: Some(vec!["no-new-privileges".into()]),
            interactive: Some(false),
            pseudo_terminal: Some(false),
            docker_labels: Some(BTreeMap::from([("team".to_string(), "web".to_string())])),
            ulimits: Some(vec![api::Ulimit {
                name: api::UlimitName::Nofile,
                soft_limit: 1024,
                hard_limit: 4096,
            }]),
            log_configuration: Some(api::LogConfiguration {
                log_driver: api::LogDriver::Awslogs,
                options: Some(BTreeMap::from([(
                    "awslogs-group".to_string(),
                    "/ecs/web".to_string(),
                )])),
                secret_options: None,
            }),
            health_check: Some(api::HealthCheck {
                command: vec![
                    "CMD-SHELL".into(),
                    "curl -f http://localhost:8080/ || exit 1".into(),
                ],
                interval: Some(10),
                timeout: Some(5),
                retries: Some(3),
                start_period: Some(15),
            }),
            system_controls: Some(vec![api::SystemControl {
                namespace: Some("net.core.somaxconn".into()),
                value: Some("1024".into()),
            }]),
            resource_requirements: Some(vec![]),
            firelens_configuration: None,
            credential_specs: Some(vec!["credentialspec:arn:aws:s3:::bucket/spec.json".into()]),
        }
    }

    #[test]
    fn rich_definition_round_trips() {
        let mut env = Env::new();
        let side = api::ContainerDefinition {
            essential: Some(false),
            ..container("side")
        };
        let input = api::RegisterTaskDefinitionRequest {
            family: "rich".into(),
            task_role_arn: Some("arn:aws:iam::000000000000:role/task".into()),
            execution_role_arn: Some("arn:aws:iam::000000000000:role/exec".into()),
            network_mode: Some(api::NetworkMode::Awsvpc),
            container_definitions: vec![rich_container(), side],
            volumes: Some(vec![api::Volume {
                name: Some("data".into()),
                host: Some(api::HostVolumeProperties {
                    source_path: Some("/srv/data".into()),
                }),
                ..Default::default()
            }]),
            placement_constraints: Some(vec![api::TaskDefinitionPlacementConstraint {
                r#type: Some(api::TaskDefinitionPlacementConstraintType::MemberOf),
                expression: Some("attribute:ecs.instance-type =~ t3.*".into()),
            }]),
            requires_compatibilities: Some(vec![api::Compatibility::Ec2, api::Compatibility::Fargate]),
            cpu: Some("0.5 vCPU".into()),
            memory: Some("1GB".into()),
            tags: Some(vec![api::Tag {
                key: Some("team".into()),
                value: Some("web".into()),
            }]),
            pid_mode: Some(api::PidMode::Task),
            ipc_mode: Some(api::IpcMode::None),
            proxy_configuration: Some(api::ProxyConfiguration {
                r#type: Some(api::ProxyConfigurationType::Appmesh),
                container_name: "side".into(),
                properties: Some(vec![api::KeyValuePair {
                    name: Some("AppPorts".into()),
                    value: Some("8080".into()),
                }]),
            }),
            inference_accelerators: Some(vec![]),
            ephemeral_storage: Some(api::EphemeralStorage { size_in_gib: 30 }),
            runtime_platform: Some(api::RuntimePlatform {
                cpu_architecture: Some(api::CPUArchitecture::Arm64),
                operating_system_family: Some(api::OSFamily::Linux),
            }),
            enable_fault_injection: Some(true),
            trusted_execution_configuration: None,
        };
        let response = env.call(|h| register_task_definition(h, input.clone())).unwrap();
        assert_eq!(response.tags, input.tags);
        let td = response.task_definition.unwrap();
        let mut expected_side = input.container_definitions[1].clone();
        expected_side.cpu = Some(0);
        expected_side.environment = Some(vec![]);
        expected_side.port_mappings = Some(vec![]);
        expected_side.mount_points = Some(vec![]);
        expected_side.volumes_from = Some(vec![]);
        expected_side.system_controls = Some(vec![]);
        assert_eq!(
            td.container_definitions,
            Some(vec![rich_container(), expected_side])
        );
        assert_eq!(td.task_role_arn, input.task_role_arn);
        assert_eq!(td.execution_role_arn, input.execution_role_arn);
        assert_eq!(td.network_mode, input.network_mode);
        assert_eq!(td.volumes, input.volumes);
        assert_eq!(td.placement_constraints, input.placement_constraints);
        assert_eq!(td.requires_compatibilities, input.requires_compatibilities);
        assert_eq!(
            td.compatibilities,
            Some(vec![api::Compatibility::Ec2, api::Compatibility::Fargate])
        );
        assert_eq!(
            (td.cpu.as_deref(), td.memory.as_deref()),
            (Some("512"), Some("1024"))
        );
        assert_eq!(td.pid_mode, input.pid_mode);
        assert_eq!(td.ipc_mode, input.ipc_mode);
        assert_eq!(td.proxy_configuration, input.proxy_configuration);
        assert_eq!(td.inference_accelerators, input.inference_accelerators);
        assert_eq!(td.ephemeral_storage, input.ephemeral_storage);
        assert_eq!(td.runtime_platform, input.runtime_platform);
        assert_eq!(td.enable_fault_injection, Some(true));
        let attrs: Vec<&str> = td
            .requires_attributes
            .as_ref()
            .unwrap()
            .iter()
            .map(|a| a.name.as_str())
            .collect();
        for needed in [
            capability::TASK_ENI,
            capability::TASK_IAM_ROLE,
            capability::LOGGING_DRIVER_AWSLOGS,
            capability::EXECUTION_ROLE_AWSLOGS,
            capability::CONTAINER_HEALTH_CHECK,
            capability::ECR_AUTH,
            capability::EXECUTION_ROLE_ECR_PULL,
            capability::SECRETS_ASM,
            capability::SECRETS_SSM,
            capability::CONTAINER_ORDERING,
            capability::DOCKER_REMOTE_API_1_21,
        ] {
            assert!(attrs.contains(&needed), "{needed}");
        }
        assert!(attrs.iter().all(|a| capability::ALL.contains(a)));
        let described = describe(&mut env, "rich:1", true).unwrap();
        assert_eq!(described.task_definition, Some(td));
        assert_eq!(described.tags, input.tags);
    }

    #[test]
    fn fargate_sizes_are_validated_and_normalised() {
        let mut env = Env::new();
        for (cpu, memory, ok) in [
            ("256", "512", true),
            ("256", "2048", true),
            ("256", "3072", false),
            ("512", "4096", true),
            ("512", "1536", false),
            ("1024", "8192", true),
            ("2048", "16384", true),
            ("4096", "30720", true),
            ("4096", "31744", false),
            ("8192", "20480", true),
            ("8192", "17408", false),
            ("16384", "122880", true),
            ("16384", "36864", false),
            ("128", "512", false),
            (".25 vCPU", "0.5 GB", true),
            ("1 vcpu", "2GB", true),
            ("16 vCPU", "120 GiB", true),
        ] {
            let result = register(&mut env, fargate(cpu, memory));
            assert_eq!(result.is_ok(), ok, "{cpu} / {memory}: {result:?}");
            if let Err(e) = result {
                assert_eq!(e.code, "ClientException");
                assert!(
                    e.message
                        .starts_with("No Fargate configuration exists for given values"),
                    "{}",
                    e.message
                );
            }
        }
        let td = register(&mut env, fargate("1 vCPU", "2 GB")).unwrap();
        assert_eq!(
            (td.cpu.as_deref(), td.memory.as_deref()),
            (Some("1024"), Some("2048"))
        );
        assert_eq!(
            td.compatibilities,
            Some(vec![api::Compatibility::Ec2, api::Compatibility::Fargate])
        );

        let bridge = api::RegisterTaskDefinitionRequest {
            network_mode: Some(api::NetworkMode::Bridge),
            ..fargate("256", "512")
        };
        assert_eq!(
            error(&mut env, bridge).message,
            "Fargate only supports network mode 'awsvpc'."
        );
        let no_mode = api::RegisterTaskDefinitionRequest {
            network_mode: None,
            ..fargate("256", "512")
        };
        assert_eq!(error(&mut env, no_mode).code, "ClientException");
        let no_cpu = api::RegisterTaskDefinitionRequest {
            cpu: None,
            ..fargate("256", "512")
        };
        assert_eq!(
            error(&mut env, no_cpu).message,
            "Fargate requires that 'cpu' be defined at the task level."
        );
        let no_memory = api::RegisterTaskDefinitionRequest {
            memory: None,
            ..fargate("256", "512")
        };
        assert_eq!(error(&mut env, no_memory).code, "ClientException");
        for bad in ["lots", "-1", "0", "1.5.vCPU", "0.0001 vCPU"] {
            assert_eq!(
                error(&mut env, fargate(bad, "512")).code,
                "ClientException",
                "{bad}"
            );
        }
        assert_eq!(
            error(&mut env, fargate("256", "half a GB")).code,
            "ClientException"
        );
    }

    #[test]
    fn container_validations() {
        let mut env = Env::new();
        let with = |c: api::ContainerDefinition| api::RegisterTaskDefinitionRequest {
            container_definitions: vec![c],
            ..request("web")
        };
        let e = error(
            &mut env,
            with(api::ContainerDefinition {
                image: None,
                ..container("app")
            }),
        );
        assert_eq!(
            (e.code.as_str(), e.message.as_str()),
            ("ClientException", "Container.image should not be null or empty.")
        );
        let e = error(
            &mut env,
            with(api::ContainerDefinition {
                image: Some(String::new()),
                ..container("app")
            }),
        );
        assert_eq!(e.message, "Container.image should not be null or empty.");
        let e = error(
            &mut env,
            with(api::ContainerDefinition {
                name: None,
                ..container("app")
            }),
        );
        assert_eq!(e.message, "Container.name should not be null or empty.");
        let e = error(&mut env, with(container("bad name")));
        assert_eq!(e.code, "ClientException");
        let e = error(
            &mut env,
            with(api::ContainerDefinition {
                memory: None,
                ..container("app")
            }),
        );
        assert_eq!(
            e.message,
            "Invalid setting for container 'app'. At least one of 'memory' or 'memoryReservation' must be specified."
        );
        // memoryReservation alone, or task-level memory, is enough.
        register(
            &mut env,
            with(api::ContainerDefinition {
                memory: None,
                memory_reservation: Some(64),
                ..container("app")
            }),
        )
        .unwrap();
        let task_memory = api::RegisterTaskDefinitionRequest {
            memory: Some("512".into()),
            ..with(api::ContainerDefinition {
                memory: None,
                ..container("app")
            })
        };
        register(&mut env, task_memory).unwrap();
        let e = error(
            &mut env,
            with(api::ContainerDefinition {
                memory_reservation: Some(256),
                ..container("app")
            }),
        );
        assert_eq!(e.code, "ClientException");

        let twice = api::RegisterTaskDefinitionRequest {
            container_definitions: vec![container("app"), container("app")],
            ..request("web")
        };
        assert_eq!(error(&mut env, twice).code, "ClientException");
        let none = api::RegisterTaskDefinitionRequest {
            container_definitions: vec![],
            ..request("web")
        };
        assert_eq!(error(&mut env, none).message, "Container list cannot be empty.");
        let no_essential = with(api::ContainerDefinition {
            essential: Some(false),
            ..container("app")
        });
        assert_eq!(error(&mut env, no_essential).code, "ClientException");

        let bad_env = with(api::ContainerDefinition {
            environment: Some(vec![api::KeyValuePair {
                name: Some("ECSIM_ERROR_RATE".into()),
                value: Some("2".into()),
            }]),
            ..container("app")
        });
        let e = error(&mut env, bad_env);
        assert_eq!(e.code, "ClientException");
        assert!(e.message.contains("ECSIM_ERROR_RATE"), "{}", e.message);

        let e = error(&mut env, request("bad family!"));
        assert_eq!(e.code, "ClientException");
        assert!(e.message.starts_with("Family contains invalid characters"));
        assert_eq!(error(&mut env, request(&"f".repeat(256))).code, "ClientException");
        let tagged = api::RegisterTaskDefinitionRequest {
            tags: Some(vec![api::Tag {
                key: Some("aws:x".into()),
                value: None,
            }]),
            ..request("web")
        };
        assert_eq!(error(&mut env, tagged).code, "InvalidParameterException");
        let ec2_cpu = api::RegisterTaskDefinitionRequest {
            cpu: Some("64".into()),
            ..request("web")
        };
        assert_eq!(error(&mut env, ec2_cpu).code, "ClientException");
    }

    #[test]
    fn awsvpc_host_ports_must_match() {
        let mut env = Env::new();
        let ports = |host: Option<i32>| api::RegisterTaskDefinitionRequest {
            network_mode: Some(api::NetworkMode::Awsvpc),
            container_definitions: vec![api::ContainerDefinition {
                port_mappings: Some(vec![api::PortMapping {
                    container_port: Some(8080),
                    host_port: host,
                    ..Default::default()
                }]),
                ..container("app")
            }],
            ..request("web")
        };
        let e = error(&mut env, ports(Some(80)));
        assert_eq!(e.code, "ClientException");
        assert_eq!(
            e.message,
            "When networkMode=awsvpc, the host ports and container ports in port mappings must match."
        );
        let td = register(&mut env, ports(None)).unwrap();
        let mapping = &td.container_definitions.unwrap()[0]
            .port_mappings
            .clone()
            .unwrap()[0];
        assert_eq!(mapping.host_port, Some(8080));
        assert_eq!(mapping.protocol, Some(api::TransportProtocol::Tcp));
        let attrs = td.requires_attributes.unwrap();
        assert!(attrs.iter().any(|a| a.name == capability::TASK_ENI));
        register(&mut env, ports(Some(8080))).unwrap();
        // bridge mode keeps dynamic host ports as given
        let bridge = api::RegisterTaskDefinitionRequest {
            network_mode: Some(api::NetworkMode::Bridge),
            ..ports(None)
        };
        let td = register(&mut env, bridge).unwrap();
        assert_eq!(
            td.container_definitions.unwrap()[0]
                .port_mappings
                .as_ref()
                .unwrap()[0]
                .host_port,
            None
        );
    }

    #[test]
    fn revisions_are_never_reused() {
        let mut env = Env::new();
        for _ in 0..3 {
            register(&mut env, request("web")).unwrap();
        }
        deregister(&mut env, "web:3").unwrap();
        let deleted = delete(&mut env, &["web:3"]).unwrap();
        assert_eq!(deleted.failures, Some(vec![]));
        let gone = &deleted.task_definitions.unwrap()[0];
        assert_eq!(gone.status, Some(S::DeleteInProgress));
        assert_eq!(gone.delete_requested_at, Some(1_767_225_600.0));
        assert!(
            find(&env.world.ecs, "web:3").is_none(),
            "unused deleted revisions are dropped"
        );
        let td = register(&mut env, request("web")).unwrap();
        assert_eq!(td.revision, Some(4));
        for rev in ["web:1", "web:2", "web:4"] {
            deregister(&mut env, rev).unwrap();
        }
        delete(&mut env, &["web:1", "web:2", "web:4"]).unwrap();
        assert!(families(&mut env, api::ListTaskDefinitionFamiliesRequest::default()).is_empty());
        assert_eq!(register(&mut env, request("web")).unwrap().revision, Some(5));
    }

    #[test]
    fn describe_finds_latest_active_or_exact_revision() {
        let mut env = Env::new();
        let tagged = api::RegisterTaskDefinitionRequest {
            tags: Some(vec![api::Tag {
                key: Some("k".into()),
                value: Some("v".into()),
            }]),
            ..request("web")
        };
        register(&mut env, tagged).unwrap();
        register(&mut env, request("web")).unwrap();
        deregister(&mut env, "web:2").unwrap();
        let latest = describe(&mut env, "web", false).unwrap();
        assert_eq!(latest.task_definition.unwrap().revision, Some(1));
        assert_eq!(latest.tags, None);
        let exact = describe(&mut env, &format!("{ARN_PREFIX}web:2"), true).unwrap();
        let td = exact.task_definition.unwrap();
        assert_eq!(td.status, Some(S::Inactive));
        assert_eq!(td.deregistered_at, Some(1_767_225_600.0));
        assert_eq!(exact.tags, Some(vec![]));
        assert_eq!(describe(&mut env, "web:1", true).unwrap().tags.unwrap().len(), 1);
        for missing in [
            "nope",
            "web:9",
            "web:x",
            "arn:aws:ecs:eu-west-1:000000000000:task-definition/web:1",
            "",
        ] {
            let e = describe(&mut env, missing, false).unwrap_err();
            assert_eq!(
                (e.code.as_str(), e.message.as_str()),
                ("ClientException", "Unable to describe task definition.")
            );
        }
        deregister(&mut env, "web:1").unwrap();
        assert!(describe(&mut env, "web", false).is_err());
    }

    #[test]
    fn deregister_needs_a_revision() {
        let mut env = Env::new();
        register(&mut env, request("web")).unwrap();
        let e = deregister(&mut env, "web").unwrap_err();
        assert_eq!(e.code, "ClientException");
        assert!(e.message.contains("revision"));
        let e = deregister(&mut env, "web:2").unwrap_err();
        assert_eq!(e.message, "The specified task definition does not exist.");
        let td = deregister(&mut env, &format!("{ARN_PREFIX}web:1")).unwrap();
        assert_eq!(td.status, Some(S::Inactive));
        let again = deregister(&mut env, "web:1").unwrap();
        assert_eq!(again, td);
    }

    #[test]
    fn delete_reports_failures() {
        let mut env = Env::new();
        register(&mut env, request("web")).unwrap();
        let out = delete(&mut env, &["web:1", "web:7", "web", "other:1"]).unwrap();
        assert_eq!(out.task_definitions, Some(vec![]));
        let failures = out.failures.unwrap();
        assert_eq!(failures.len(), 4);
        assert_eq!(
            failures[0].arn.as_deref(),
            Some(format!("{ARN_PREFIX}web:1").as_str())
        );
        assert_eq!(
            failures[0].reason.as_deref(),
            Some(
                "The specified task definition is still in ACTIVE status. Please deregister the target and try again."
            )
        );
        assert_eq!(
            failures[1].reason.as_deref(),
            Some("The specified task definition does not exist.")
        );
        assert_eq!(
            failures[3].reason.as_deref(),
            Some("The specified task definition does not exist.")
        );
        let many: Vec<String> = (1..=11).map(|i| format!("web:{i}")).collect();
        let refs: Vec<&str> = many.iter().map(String::as_str).collect();
        assert_eq!(
            delete(&mut env, &refs).unwrap_err().code,
            "InvalidParameterException"
        );
    }

    #[test]
    fn deleted_revisions_in_use_stay_until_their_tasks_stop() {
        let mut env = Env::new();
        env.call(|h| {
            crate::ecs::clusters::create_cluster(
                h,
                api::CreateClusterRequest {
                    cluster_name: Some("web".into()),
                    ..Default::default()
                },
            )
        })
        .unwrap();
        let instance = register_instance(&mut env, "web");
        let arn = register(&mut env, request("web"))
            .unwrap()
            .task_definition_arn
            .unwrap();
        let task = start_task(&mut env, "web", &instance, &arn);
        deregister(&mut env, "web:1").unwrap();
        delete(&mut env, &["web:1"]).unwrap();
        let kept = describe(&mut env, "web:1", false)
            .unwrap()
            .task_definition
            .unwrap();
        assert_eq!(kept.status, Some(S::DeleteInProgress));
        let listed = list_all(
            &mut env,
            api::ListTaskDefinitionsRequest {
                status: Some(S::DeleteInProgress),
                ..Default::default()
            },
        );
        assert_eq!(listed, ["web:1"]);
        assert_eq!(
            families(
                &mut env,
                api::ListTaskDefinitionFamiliesRequest {
                    status: Some(api::TaskDefinitionFamilyStatus::Inactive),
                    ..Default::default()
                }
            ),
            ["web"]
        );
        env.world.ecs.task_mut(&task).unwrap().status = TaskStatus::Stopped;
        assert!(describe(&mut env, "web:1", false).is_err());
    }

    #[test]
    fn list_sorts_filters_and_pages() {
        let mut env = Env::new();
        for family in ["web", "api", "web-worker", "web"] {
            register(&mut env, request(family)).unwrap();
        }
        for _ in 0..9 {
            register(&mut env, request("api")).unwrap();
        }
        deregister(&mut env, "api:2").unwrap();
        let asc = list_all(&mut env, api::ListTaskDefinitionsRequest::default());
        let mut expected: Vec<String> = (1..=10).filter(|r| *r != 2).map(|r| format!("api:{r}")).collect();
        expected.extend(["web:1", "web:2", "web-worker:1"].map(String::from));
        assert_eq!(asc, expected);
        let desc = list_all(
            &mut env,
            api::ListTaskDefinitionsRequest {
                sort: Some(api::SortOrder::Desc),
                ..Default::default()
            },
        );
        expected.reverse();
        assert_eq!(desc, expected);
        let web = list_all(
            &mut env,
            api::ListTaskDefinitionsRequest {
                family_prefix: Some("web".into()),
                ..Default::default()
            },
        );
        assert_eq!(web, ["web:1", "web:2"]);
        let inactive = list_all(
            &mut env,
            api::ListTaskDefinitionsRequest {
                status: Some(S::Inactive),
                ..Default::default()
            },
        );
        assert_eq!(inactive, ["api:2"]);
        let e = env.call(|h| {
            list_task_definitions(
                h,
                api::ListTaskDefinitionsRequest {
                    max_results: Some(0),
                    ..Default::default()
                },
            )
        });
        assert_eq!(e.unwrap_err().code, "InvalidParameterException");
    }

    #[test]
    fn families_filter_by_prefix_and_status_and_page() {
        let mut env = Env::new();
        for family in ["web", "api", "web-worker"] {
            register(&mut env, request(family)).unwrap();
        }
        deregister(&mut env, "api:1").unwrap();
        let all = families(&mut env, api::ListTaskDefinitionFamiliesRequest::default());
        assert_eq!(all, ["api", "web", "web-worker"]);
        let web = families(
            &mut env,
            api::ListTaskDefinitionFamiliesRequest {
                family_prefix: Some("web".into()),
                ..Default::default()
            },
        );
        assert_eq!(web, ["web", "web-worker"]);
        let active = families(
            &mut env,
            api::ListTaskDefinitionFamiliesRequest {
                status: Some(api::TaskDefinitionFamilyStatus::Active),
                ..Default::default()
            },
        );
        assert_eq!(active, ["web", "web-worker"]);
        let inactive = families(
            &mut env,
            api::ListTaskDefinitionFamiliesRequest {
                status: Some(api::TaskDefinitionFamilyStatus::Inactive),
                ..Default::default()
            },
        );
        assert_eq!(inactive, ["api"]);
        let page = env
            .call(|h| {
                list_task_definition_families(
                    h,
                    api::ListTaskDefinitionFamiliesRequest {
                        max_results: Some(2),
                        ..Default::default()
                    },
                )
            })
            .unwrap();
        assert_eq!(page.families.unwrap(), ["api", "web"]);
        let rest = env
            .call(|h| {
                list_task_definition_families(
                    h,
                    api::ListTaskDefinitionFamiliesRequest {
                        next_token: page.next_token,
                        ..Default::default()
                    },
                )
            })
            .unwrap();
        assert_eq!(rest.families.unwrap(), ["web-worker"]);
        assert!(rest.next_token.is_none());
    }

    #[test]
    fn reference_parsing() {
        assert_eq!(parse_reference("web"), Some(Reference::Family("web")));
        assert_eq!(parse_reference("web:3"), Some(Reference::Revision("web", 3)));
        assert_eq!(
            parse_reference(&format!("{ARN_PREFIX}web:3")),
            Some(Reference::Revision("web", 3))
        );
        assert_eq!(parse_reference("web:0"), None);
        assert_eq!(parse_reference("arn:aws:ecs:us-east-1:0:cluster/web"), None);
        assert!(descending_key(&ascending_key("a", 2)) < descending_key(&ascending_key("a", 1)));
        assert!(descending_key(&ascending_key("ab", 1)) < descending_key(&ascending_key("a", 9)));
    }
}
