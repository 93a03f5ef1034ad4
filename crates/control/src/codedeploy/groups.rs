//! CodeDeploy deployment groups: CreateDeploymentGroup, GetDeploymentGroup,
//! BatchGetDeploymentGroups, ListDeploymentGroups, UpdateDeploymentGroup and
//! DeleteDeploymentGroup, with the checks an ECS blue/green group needs against this world's ECS
//! service, target groups and listeners, and `render_group` for the deployment code.
//!
//! Handlers only read ECS and ELBv2 state (they never change a service, a listener or a target
//! group); a group's settings are stored as the API shapes they arrived in, with AWS's defaults
//! filled in, so every Get renders them back.

use ecsim_api::codedeploy as api;
use ecsim_api::ecs as ecs_api;
use ecsim_protocol::AwsError;

use super::CodeDeployHandler;
use super::applications::check_resource_name;
use super::common::{
    application_does_not_exist, config_does_not_exist, error, group_does_not_exist, paginate, ts,
};
use super::deployment_configs;
use super::state::{GroupRecord, LastDeployment};
use super::tags;
use crate::ecs::state::ServiceRecord;
use crate::world::World;

type R<T> = Result<T, AwsError>;

/// AWS quota: deployment groups per application.
const MAX_GROUPS_PER_APPLICATION: usize = 1_000;
/// Names BatchGetDeploymentGroups takes at once.
const MAX_BATCH_NAMES: usize = 100;
/// ListDeploymentGroups page size.
const PAGE_SIZE: usize = 100;
/// Alarms a group may watch (the model's AlarmsLimitExceededException).
const MAX_ALARMS: usize = 10;
const MAX_ALARM_NAME_CHARS: usize = 255;
/// Notification triggers a group may have.
const MAX_TRIGGERS: usize = 10;
/// Longest wait after a successful blue/green deployment before the original environment (ECS:
/// the original task set) is terminated: 48 hours.
const MAX_TERMINATION_WAIT_MINUTES: i32 = 2_880;
/// Longest wait between installing a revision and shifting traffic: 120 hours for ECS, 48 hours
/// for EC2 blue/green deployments.
const MAX_ECS_READY_WAIT_MINUTES: i32 = 7_200;
const MAX_SERVER_READY_WAIT_MINUTES: i32 = 2_880;

/// The config a group gets when none is named. The model's default is the Server config
/// `CodeDeployDefault.OneAtATime`; ECS and Lambda groups cannot use a Server config, so ecsim
/// gives them their platform's all-at-once config (see aws-semantics 3.2).
fn default_config(platform: api::ComputePlatform) -> &'static str {
    match platform {
        api::ComputePlatform::Ecs => "CodeDeployDefault.ECSAllAtOnce",
        api::ComputePlatform::Lambda => "CodeDeployDefault.LambdaAllAtOnce",
        api::ComputePlatform::Server => "CodeDeployDefault.OneAtATime",
    }
}

// ---------------------------------------------------------------------------------------------
// Names and lookups
// ---------------------------------------------------------------------------------------------

/// An existing application: its name and compute platform.
fn application(world: &World, name: &str) -> R<(String, api::ComputePlatform)> {
    if name.is_empty() {
        return Err(error(
            "ApplicationNameRequiredException",
            "The minimum number of required application names was not specified.",
        ));
    }
    check_resource_name("Application", name)?;
    let app = world
        .codedeploy
        .applications
        .get(name)
        .ok_or_else(|| application_does_not_exist(name))?;
    Ok((app.name.clone(), app.compute_platform))
}

fn group_name_of(name: &str) -> R<&str> {
    if name.is_empty() {
        return Err(error(
            "DeploymentGroupNameRequiredException",
            "The deployment group name was not specified.",
        ));
    }
    check_resource_name("DeploymentGroup", name)?;
    Ok(name)
}

fn group_already_exists(application: &str, group: &str) -> AwsError {
    error(
        "DeploymentGroupAlreadyExistsException",
        format!("A deployment group named {group} already exists for application {application}."),
    )
}

// ---------------------------------------------------------------------------------------------
// Validation shared by create and update
// ---------------------------------------------------------------------------------------------

/// The settings a create or update asks for (an update's are the group's current ones with the
/// request's replacements applied).
struct Requested {
    service_role_arn: String,
    config_name: Option<String>,
    ecs_services: Vec<api::ECSService>,
    load_balancer_info: Option<api::LoadBalancerInfo>,
    blue_green: Option<api::BlueGreenDeploymentConfiguration>,
    alarm_configuration: Option<api::AlarmConfiguration>,
    auto_rollback: Option<api::AutoRollbackConfiguration>,
    deployment_style: Option<api::DeploymentStyle>,
    trigger_configurations: Vec<api::TriggerConfig>,
}

/// The same settings, checked, with AWS's defaults filled in: what the group record keeps.
struct Settings {
    service_role_arn: String,
    config_name: String,
    ecs_services: Vec<api::ECSService>,
    load_balancer_info: Option<api::LoadBalancerInfo>,
    blue_green: Option<api::BlueGreenDeploymentConfiguration>,
    alarm_configuration: Option<api::AlarmConfiguration>,
    auto_rollback: Option<api::AutoRollbackConfiguration>,
    deployment_style: api::DeploymentStyle,
    trigger_configurations: Vec<api::TriggerConfig>,
}

/// Members for EC2 and on-premises instances and Auto Scaling groups. ecsim has none of those to
/// deploy to and the group record has no place for them, so a request that sets any of them is
/// refused with the exception AWS uses for that member rather than silently dropped.
struct InstanceMembers<'a> {
    ec2_tag_filters: Option<&'a [api::EC2TagFilter]>,
    ec2_tag_set: Option<&'a api::EC2TagSet>,
    on_premises_instance_tag_filters: Option<&'a [api::TagFilter]>,
    on_premises_tag_set: Option<&'a api::OnPremisesTagSet>,
    auto_scaling_groups: Option<&'a [String]>,
    ec2_deployment_options: Option<&'a api::EC2DeploymentOptions>,
    termination_hook_enabled: Option<bool>,
    outdated_instances_strategy: Option<api::OutdatedInstancesStrategy>,
}

fn refuse_instance_members(m: &InstanceMembers<'_>) -> R<()> {
    let ec2_tags = m.ec2_tag_filters.is_some_and(|f| !f.is_empty())
        || m.ec2_tag_set
            .and_then(|s| s.ec2_tag_set_list.as_ref())
            .is_some_and(|l| l.iter().any(|group| !group.is_empty()));
    if ec2_tags {
        return Err(error(
            "InvalidEC2TagException",
            "ecsim has no EC2 instances to deploy to: ec2TagFilters and ec2TagSet are not supported.",
        ));
    }
    let on_premises_tags = m.on_premises_instance_tag_filters.is_some_and(|f| !f.is_empty())
        || m.on_premises_tag_set
            .and_then(|s| s.on_premises_tag_set_list.as_ref())
            .is_some_and(|l| l.iter().any(|group| !group.is_empty()));
    if on_premises_tags {
        return Err(error(
            "InvalidTagException",
            "ecsim has no on-premises instances to deploy to: onPremisesInstanceTagFilters and \
             onPremisesTagSet are not supported.",
        ));
    }
    if let Some(name) = m.auto_scaling_groups.and_then(|groups| groups.first()) {
        return Err(error(
            "InvalidAutoScalingGroupException",
            format!("The Auto Scaling group {name} does not exist: ecsim has no Auto Scaling groups."),
        ));
    }
    if m.ec2_deployment_options
        .and_then(|o| o.auto_scaling_group_processes_to_suspend.as_ref())
        .is_some_and(|p| !p.is_empty())
    {
        return Err(error(
            "InvalidInputException",
            "ec2DeploymentOptions applies to Auto Scaling groups, which ecsim does not have.",
        ));
    }
    if m.termination_hook_enabled == Some(true) {
        return Err(error(
            "InvalidInputException",
            "terminationHookEnabled applies to Auto Scaling groups, which ecsim does not have.",
        ));
    }
    if m.outdated_instances_strategy == Some(api::OutdatedInstancesStrategy::Ignore) {
        return Err(error(
            "InvalidInputException",
            "outdatedInstancesStrategy IGNORE applies to EC2 instances, which ecsim does not have; \
             groups always report UPDATE.",
        ));
    }
    Ok(())
}

/// The service role: required, and shaped like an IAM role ARN (ecsim has no IAM to ask whether
/// CodeDeploy may assume it).
fn check_role(arn: &str) -> R<()> {
    if arn.is_empty() {
        return Err(error(
            "RoleRequiredException",
            "The service role ARN was not specified.",
        ));
    }
    let parts: Vec<&str> = arn.splitn(6, ':').collect();
    let is_role = matches!(
        parts.as_slice(),
        ["arn", partition, "iam", "", account, resource]
            if !partition.is_empty() && !account.is_empty() && resource.starts_with("role/")
    );
    if !is_role {
        return Err(error(
            "InvalidRoleException",
            format!(
                "The service role ARN {arn} is not an IAM role ARN (arn:aws:iam::<account>:role/<name>)."
            ),
        ));
    }
    Ok(())
}

/// The config name, defaulted by platform, which must exist and be for the application's platform.
fn check_config(world: &World, platform: api::ComputePlatform, name: Option<String>) -> R<String> {
    let name = name.unwrap_or_else(|| default_config(platform).to_string());
    check_resource_name("DeploymentConfig", &name)?;
    let (config_platform, _) =
        deployment_configs::resolve(world, &name).ok_or_else(|| config_does_not_exist(&name))?;
    if config_platform != platform {
        return Err(error(
            "InvalidDeploymentConfigNameException",
            format!(
                "The deployment configuration {name} is for the {} compute platform, but this \
                 deployment group deploys to {}.",
                config_platform.as_str(),
                platform.as_str()
            ),
        ));
    }
    Ok(name)
}

/// The deployment style with its missing members filled in. ECS and Lambda groups are always
/// BLUE_GREEN with traffic control (and default to it); Server groups default to IN_PLACE without.
fn check_style(
    platform: api::ComputePlatform,
    style: Option<api::DeploymentStyle>,
) -> R<api::DeploymentStyle> {
    let style = style.unwrap_or_default();
    match platform {
        api::ComputePlatform::Ecs | api::ComputePlatform::Lambda => {
            let kind = style.deployment_type.unwrap_or(api::DeploymentType::BlueGreen);
            let option = style
                .deployment_option
                .unwrap_or(api::DeploymentOption::WithTrafficControl);
            if kind != api::DeploymentType::BlueGreen || option != api::DeploymentOption::WithTrafficControl {
                return Err(error(
                    "InvalidDeploymentStyleException",
                    format!(
                        "{} deployment groups must use deploymentType BLUE_GREEN with deploymentOption \
                         WITH_TRAFFIC_CONTROL, not {} with {}.",
                        platform.as_str(),
                        kind.as_str(),
                        option.as_str()
                    ),
                ));
            }
            Ok(api::DeploymentStyle {
                deployment_type: Some(kind),
                deployment_option: Some(option),
            })
        }
        api::ComputePlatform::Server => Ok(api::DeploymentStyle {
            deployment_type: Some(style.deployment_type.unwrap_or(api::DeploymentType::InPlace)),
            deployment_option: Some(
                style
                    .deployment_option
                    .unwrap_or(api::DeploymentOption::WithoutTrafficControl),
            ),
        }),
    }
}

fn invalid_blue_green(message: impl Into<String>) -> AwsError {
    error("InvalidBlueGreenDeploymentConfigurationException", message)
}

fn check_minutes(field: &str, minutes: Option<i32>, max_minutes: i32) -> R<()> {
    match minutes {
        Some(m) if !(0..=max_minutes).contains(&m) => Err(invalid_blue_green(format!(
            "{field} must be between 0 and {max_minutes} minutes, not {m}."
        ))),
        _ => Ok(()),
    }
}

/// The blue/green settings. An ECS group always has them: missing members get AWS's defaults
/// (continue as soon as the replacement is ready; terminate the original task set right after
/// success), so GetDeploymentGroup answers both wait times the GitHub action reads.
fn check_blue_green(
    platform: api::ComputePlatform,
    blue_green: Option<api::BlueGreenDeploymentConfiguration>,
) -> R<Option<api::BlueGreenDeploymentConfiguration>> {
    let ready_max = if platform == api::ComputePlatform::Ecs {
        MAX_ECS_READY_WAIT_MINUTES
    } else {
        MAX_SERVER_READY_WAIT_MINUTES
    };
    if let Some(bg) = &blue_green {
        check_minutes(
            "deploymentReadyOption.waitTimeInMinutes",
            bg.deployment_ready_option
                .as_ref()
                .and_then(|r| r.wait_time_in_minutes),
            ready_max,
        )?;
        check_minutes(
            "terminateBlueInstancesOnDeploymentSuccess.terminationWaitTimeInMinutes",
            bg.terminate_blue_instances_on_deployment_success
                .as_ref()
                .and_then(|t| t.termination_wait_time_in_minutes),
            MAX_TERMINATION_WAIT_MINUTES,
        )?;
    }
    if platform != api::ComputePlatform::Ecs {
        return Ok(blue_green);
    }
    let mut bg = blue_green.unwrap_or_default();
    if bg.green_fleet_provisioning_option.is_some() {
        return Err(invalid_blue_green(
            "greenFleetProvisioningOption applies to EC2 blue/green deployments, not ECS ones: the \
             replacement task set is always created by CodeDeploy.",
        ));
    }
    let ready = bg.deployment_ready_option.get_or_insert_with(Default::default);
    ready
        .action_on_timeout
        .get_or_insert(api::DeploymentReadyAction::ContinueDeployment);
    ready.wait_time_in_minutes.get_or_insert(0);
    let terminate = bg
        .terminate_blue_instances_on_deployment_success
        .get_or_insert_with(Default::default);
    terminate.action.get_or_insert(api::InstanceAction::Terminate);
    terminate.termination_wait_time_in_minutes.get_or_insert(0);
    Ok(Some(bg))
}

fn invalid_service(message: impl Into<String>) -> AwsError {
    error("InvalidECSServiceException", message)
}

/// The one ECS service of an ECS group: it exists in this world, is ACTIVE, uses the CODE_DEPLOY
/// deployment controller and belongs to no other deployment group.
fn check_ecs_service<'w>(
    world: &'w World,
    services: &[api::ECSService],
    this_group: Option<(&str, &str)>,
) -> R<&'w ServiceRecord> {
    let [only] = services else {
        return Err(invalid_service(format!(
            "An ECS deployment group targets exactly one ECS service; {} given.",
            services.len()
        )));
    };
    let (Some(cluster), Some(service)) = (
        only.cluster_name.as_deref().filter(|c| !c.is_empty()),
        only.service_name.as_deref().filter(|s| !s.is_empty()),
    ) else {
        return Err(invalid_service(
            "The ECS service needs both a serviceName and a clusterName.",
        ));
    };
    let svc = world
        .ecs
        .service(cluster, service)
        .filter(|s| s.status == "ACTIVE")
        .ok_or_else(|| {
            invalid_service(format!(
                "The ECS service {service} does not exist or is not ACTIVE in cluster {cluster}."
            ))
        })?;
    if svc.deployment_controller.r#type != ecs_api::DeploymentControllerType::CodeDeploy {
        return Err(invalid_service(
            "Deployment group's ECS service must be configured for a CODE_DEPLOY deployment controller.",
        ));
    }
    let taken = world.codedeploy.groups.iter().find(|((application, group), g)| {
        this_group != Some((application.as_str(), group.as_str()))
            && g.ecs_services.iter().any(|s| {
                s.cluster_name.as_deref() == Some(cluster) && s.service_name.as_deref() == Some(service)
            })
    });
    if let Some(((application, group), _)) = taken {
        return Err(error(
            "ECSServiceMappingLimitExceededException",
            format!(
                "The ECS service {service} in cluster {cluster} already belongs to deployment group \
                 {group} of application {application}; a service can belong to only one."
            ),
        ));
    }
    Ok(svc)
}

fn invalid_pair(message: impl Into<String>) -> AwsError {
    error("InvalidTargetGroupPairException", message)
}

fn invalid_load_balancer(message: impl Into<String>) -> AwsError {
    error("InvalidLoadBalancerInfoException", message)
}

/// The one listener ARN of a traffic route, which must exist in this world.
fn route_listener<'r>(world: &World, route: &'r api::TrafficRoute, which: &str) -> R<&'r str> {
    let listeners = route.listener_arns.as_deref().unwrap_or_default();
    let [arn] = listeners else {
        return Err(invalid_pair(format!(
            "{which} must name exactly one listener ARN; {} given.",
            listeners.len()
        )));
    };
    if !world.elbv2.listeners.contains_key(arn) {
        return Err(invalid_pair(format!(
            "The {which} listener {arn} does not exist."
        )));
    }
    Ok(arn)
}

/// An ECS group's load balancing: one target group pair of two existing target groups, a
/// production route with one existing listener, an optional test route with another one, and the
/// service's own (first) target group among the pair.
fn check_ecs_load_balancer(
    world: &World,
    info: Option<&api::LoadBalancerInfo>,
    service: &ServiceRecord,
) -> R<()> {
    let info = info.ok_or_else(|| {
        invalid_load_balancer(
            "An ECS deployment group requires loadBalancerInfo with a targetGroupPairInfoList.",
        )
    })?;
    if info.elb_info_list.as_ref().is_some_and(|l| !l.is_empty())
        || info
            .target_group_info_list
            .as_ref()
            .is_some_and(|l| !l.is_empty())
    {
        return Err(invalid_load_balancer(
            "ECS deployment groups take targetGroupPairInfoList, not elbInfoList or targetGroupInfoList.",
        ));
    }
    let pairs = info.target_group_pair_info_list.as_deref().unwrap_or_default();
    let [pair] = pairs else {
        return Err(invalid_load_balancer(format!(
            "An ECS deployment group takes exactly one target group pair in targetGroupPairInfoList; {} given.",
            pairs.len()
        )));
    };
    let target_groups = pair.target_groups.as_deref().unwrap_or_default();
    let [first, second] = target_groups else {
        return Err(invalid_pair(format!(
            "A target group pair names exactly two target groups; {} given.",
            target_groups.len()
        )));
    };
    let mut pair_arns = Vec::with_capacity(2);
    for tg in [first, second] {
        let name = tg
            .name
            .as_deref()
            .filter(|n| !n.is_empty())
            .ok_or_else(|| invalid_pair("Each target group of a pair needs a name."))?;
        let record = world
            .elbv2
            .target_groups
            .values()
            .find(|g| g.name == name)
            .ok_or_else(|| invalid_pair(format!("The target group {name} does not exist.")))?;
        pair_arns.push(record.arn.as_str());
    }
    if first.name == second.name {
        return Err(invalid_pair(
            "The two target groups of a pair must be different target groups.",
        ));
    }
    let prod = pair
        .prod_traffic_route
        .as_ref()
        .ok_or_else(|| invalid_pair("A target group pair requires a prodTrafficRoute."))?;
    let prod_listener = route_listener(world, prod, "prodTrafficRoute")?;
    // An empty test route is the same as none.
    if let Some(test) = pair
        .test_traffic_route
        .as_ref()
        .filter(|r| r.listener_arns.as_ref().is_some_and(|l| !l.is_empty()))
    {
        let test_listener = route_listener(world, test, "testTrafficRoute")?;
        if test_listener == prod_listener {
            return Err(invalid_pair(
                "The test traffic route must use a different listener than the production route.",
            ));
        }
    }
    let service_tg = service
        .load_balancers
        .first()
        .and_then(|lb| lb.target_group_arn.as_deref())
        .ok_or_else(|| {
            invalid_service(format!(
                "The ECS service {} has no target group: a blue/green service must be created with a load balancer.",
                service.name
            ))
        })?;
    if !pair_arns.contains(&service_tg) {
        return Err(invalid_pair(format!(
            "The ECS service {}'s target group {service_tg} is not one of the target group pair.",
            service.name
        )));
    }
    Ok(())
}

/// Load balancing of a Server or Lambda group: no target group pair (that is ECS's), at most ten
/// load balancers and ten target groups, and some load balancer when traffic is controlled.
fn check_other_load_balancer(
    platform: api::ComputePlatform,
    info: Option<&api::LoadBalancerInfo>,
    style: &api::DeploymentStyle,
) -> R<()> {
    const MAX_LOAD_BALANCERS: usize = 10;
    let pairs = info.and_then(|i| i.target_group_pair_info_list.as_ref());
    if pairs.is_some_and(|p| !p.is_empty()) {
        return Err(invalid_pair(format!(
            "Target group pairs are for ECS deployment groups, not {} ones.",
            platform.as_str()
        )));
    }
    let elbs = info.and_then(|i| i.elb_info_list.as_ref()).map_or(0, Vec::len);
    let tgs = info
        .and_then(|i| i.target_group_info_list.as_ref())
        .map_or(0, Vec::len);
    if elbs > MAX_LOAD_BALANCERS || tgs > MAX_LOAD_BALANCERS {
        return Err(invalid_load_balancer(format!(
            "loadBalancerInfo takes at most {MAX_LOAD_BALANCERS} load balancers and {MAX_LOAD_BALANCERS} target groups."
        )));
    }
    if platform == api::ComputePlatform::Lambda && (elbs > 0 || tgs > 0) {
        return Err(invalid_load_balancer(
            "Lambda deployment groups shift traffic between function versions and take no load balancer.",
        ));
    }
    if platform == api::ComputePlatform::Server
        && style.deployment_option == Some(api::DeploymentOption::WithTrafficControl)
        && elbs + tgs == 0
    {
        return Err(invalid_load_balancer(
            "A deployment group WITH_TRAFFIC_CONTROL requires a load balancer or target group in loadBalancerInfo.",
        ));
    }
    Ok(())
}

fn invalid_alarms(message: impl Into<String>) -> AwsError {
    error("InvalidAlarmConfigException", message)
}

/// The alarm configuration, with `enabled` and `ignorePollAlarmFailure` defaulted to false and an
/// absent alarm list made empty.
fn check_alarms(config: Option<api::AlarmConfiguration>) -> R<Option<api::AlarmConfiguration>> {
    let Some(config) = config else {
        return Ok(None);
    };
    let alarms = config.alarms.unwrap_or_default();
    if alarms.len() > MAX_ALARMS {
        return Err(error(
            "AlarmsLimitExceededException",
            format!(
                "A deployment group can have at most {MAX_ALARMS} alarms; {} given.",
                alarms.len()
            ),
        ));
    }
    for (i, alarm) in alarms.iter().enumerate() {
        let name = alarm.name.as_deref().unwrap_or_default();
        if name.is_empty() || name.chars().count() > MAX_ALARM_NAME_CHARS {
            return Err(invalid_alarms(format!(
                "Alarm names must be 1 to {MAX_ALARM_NAME_CHARS} characters long; got '{name}'."
            )));
        }
        if alarms[..i].iter().any(|other| other.name == alarm.name) {
            return Err(invalid_alarms(format!("The alarm {name} is listed twice.")));
        }
    }
    let enabled = config.enabled.unwrap_or(false);
    if enabled && alarms.is_empty() {
        return Err(invalid_alarms(
            "The alarm configuration is enabled, but the alarm list is empty.",
        ));
    }
    Ok(Some(api::AlarmConfiguration {
        enabled: Some(enabled),
        ignore_poll_alarm_failure: Some(config.ignore_poll_alarm_failure.unwrap_or(false)),
        alarms: Some(alarms),
    }))
}

/// The automatic rollback configuration: enabled needs at least one event; events are kept once
/// each, in the order given.
fn check_auto_rollback(
    config: Option<api::AutoRollbackConfiguration>,
) -> R<Option<api::AutoRollbackConfiguration>> {
    let Some(config) = config else {
        return Ok(None);
    };
    let mut events: Vec<api::AutoRollbackEvent> = Vec::new();
    for event in config.events.unwrap_or_default() {
        if !events.contains(&event) {
            events.push(event);
        }
    }
    let enabled = config.enabled.unwrap_or(false);
    if enabled && events.is_empty() {
        return Err(error(
            "InvalidAutoRollbackConfigException",
            "Automatic rollback is enabled, but no events to roll back on were listed.",
        ));
    }
    Ok(Some(api::AutoRollbackConfiguration {
        enabled: Some(enabled),
        events: Some(events),
    }))
}

fn invalid_trigger(message: impl Into<String>) -> AwsError {
    error("InvalidTriggerConfigException", message)
}

/// Notification triggers: at most ten, each with a unique name, an SNS topic ARN and at least one
/// event. ecsim stores and renders them; it sends no notifications.
fn check_triggers(triggers: &[api::TriggerConfig]) -> R<()> {
    if triggers.len() > MAX_TRIGGERS {
        return Err(error(
            "TriggerTargetsLimitExceededException",
            format!(
                "A deployment group can have at most {MAX_TRIGGERS} triggers; {} given.",
                triggers.len()
            ),
        ));
    }
    for (i, trigger) in triggers.iter().enumerate() {
        let name = trigger
            .trigger_name
            .as_deref()
            .filter(|n| !n.is_empty())
            .ok_or_else(|| invalid_trigger("Each trigger needs a triggerName."))?;
        if triggers[..i]
            .iter()
            .any(|other| other.trigger_name == trigger.trigger_name)
        {
            return Err(invalid_trigger(format!("The trigger name {name} is used twice.")));
        }
        let target = trigger.trigger_target_arn.as_deref().unwrap_or_default();
        if !(target.starts_with("arn:") && target.split(':').nth(2) == Some("sns")) {
            return Err(invalid_trigger(format!(
                "Trigger {name} needs an SNS topic ARN as triggerTargetArn, not '{target}'."
            )));
        }
        if trigger.trigger_events.as_ref().is_none_or(Vec::is_empty) {
            return Err(invalid_trigger(format!(
                "Trigger {name} needs at least one trigger event."
            )));
        }
    }
    Ok(())
}

/// Checks everything a group asks for against its application's platform and this world.
/// `this_group` is the group being updated (so its own ECS service is not a conflict).
fn check_settings(
    world: &World,
    platform: api::ComputePlatform,
    this_group: Option<(&str, &str)>,
    requested: Requested,
) -> R<Settings> {
    check_role(&requested.service_role_arn)?;
    let config_name = check_config(world, platform, requested.config_name)?;
    let deployment_style = check_style(platform, requested.deployment_style)?;
    if platform == api::ComputePlatform::Ecs {
        let service = check_ecs_service(world, &requested.ecs_services, this_group)?;
        check_ecs_load_balancer(world, requested.load_balancer_info.as_ref(), service)?;
    } else {
        if !requested.ecs_services.is_empty() {
            return Err(invalid_service(format!(
                "ecsServices applies to ECS deployment groups, not {} ones.",
                platform.as_str()
            )));
        }
        check_other_load_balancer(platform, requested.load_balancer_info.as_ref(), &deployment_style)?;
    }
    let blue_green = check_blue_green(platform, requested.blue_green)?;
    let alarm_configuration = check_alarms(requested.alarm_configuration)?;
    let auto_rollback = check_auto_rollback(requested.auto_rollback)?;
    check_triggers(&requested.trigger_configurations)?;
    Ok(Settings {
        service_role_arn: requested.service_role_arn,
        config_name,
        ecs_services: requested.ecs_services,
        load_balancer_info: requested.load_balancer_info,
        blue_green,
        alarm_configuration,
        auto_rollback,
        deployment_style,
        trigger_configurations: requested.trigger_configurations,
    })
}

fn apply(group: &mut GroupRecord, settings: Settings) {
    group.service_role_arn = settings.service_role_arn;
    group.config_name = settings.config_name;
    group.ecs_services = settings.ecs_services;
    group.load_balancer_info = settings.load_balancer_info;
    group.blue_green = settings.blue_green;
    group.alarm_configuration = settings.alarm_configuration;
    group.auto_rollback = settings.auto_rollback;
    group.deployment_style = Some(settings.deployment_style);
    group.trigger_configurations = settings.trigger_configurations;
}

// ---------------------------------------------------------------------------------------------
// Rendering
// ---------------------------------------------------------------------------------------------

fn last_deployment(last: &LastDeployment) -> api::LastDeploymentInfo {
    api::LastDeploymentInfo {
        deployment_id: Some(last.deployment_id.clone()),
        status: Some(last.status),
        end_time: last.end_ms.map(ts),
        create_time: Some(ts(last.created_at_ms)),
    }
}

/// `deploymentGroupInfo` of a group: every stored setting, the last attempted and successful
/// deployments, and the members ecsim keeps no state for rendered as AWS renders a group without
/// them (empty lists, `outdatedInstancesStrategy` UPDATE, no termination hook).
pub fn render_group(_world: &World, g: &GroupRecord) -> api::DeploymentGroupInfo {
    api::DeploymentGroupInfo {
        application_name: Some(g.application.clone()),
        deployment_group_id: Some(g.id.clone()),
        deployment_group_name: Some(g.name.clone()),
        deployment_config_name: Some(g.config_name.clone()),
        ec2_tag_filters: Some(Vec::new()),
        on_premises_instance_tag_filters: Some(Vec::new()),
        auto_scaling_groups: Some(Vec::new()),
        service_role_arn: Some(g.service_role_arn.clone()),
        target_revision: g.target_revision.clone(),
        trigger_configurations: Some(g.trigger_configurations.clone()),
        alarm_configuration: g.alarm_configuration.clone(),
        auto_rollback_configuration: g.auto_rollback.clone(),
        deployment_style: g.deployment_style.clone(),
        outdated_instances_strategy: Some(api::OutdatedInstancesStrategy::Update),
        blue_green_deployment_configuration: g.blue_green.clone(),
        load_balancer_info: g.load_balancer_info.clone(),
        last_successful_deployment: g.last_successful.as_ref().map(last_deployment),
        last_attempted_deployment: g.last_attempted.as_ref().map(last_deployment),
        ec2_tag_set: None,
        on_premises_tag_set: None,
        compute_platform: Some(g.compute_platform),
        ecs_services: (!g.ecs_services.is_empty()).then(|| g.ecs_services.clone()),
        ec2_deployment_options: None,
        termination_hook_enabled: Some(false),
    }
}

// ---------------------------------------------------------------------------------------------
// Handlers
// ---------------------------------------------------------------------------------------------

pub fn create_deployment_group(
    h: &mut CodeDeployHandler<'_, '_>,
    input: api::CreateDeploymentGroupInput,
) -> R<api::CreateDeploymentGroupOutput> {
    let (application, platform) = application(h.world, &input.application_name)?;
    let name = group_name_of(&input.deployment_group_name)?.to_string();
    if h.world.codedeploy.group(&application, &name).is_some() {
        return Err(group_already_exists(&application, &name));
    }
    let group_count = h
        .world
        .codedeploy
        .groups
        .keys()
        .filter(|(app, _)| *app == application)
        .count();
    if group_count >= MAX_GROUPS_PER_APPLICATION {
        return Err(error(
            "DeploymentGroupLimitExceededException",
            format!("An application can have at most {MAX_GROUPS_PER_APPLICATION} deployment groups."),
        ));
    }
    refuse_instance_members(&InstanceMembers {
        ec2_tag_filters: input.ec2_tag_filters.as_deref(),
        ec2_tag_set: input.ec2_tag_set.as_ref(),
        on_premises_instance_tag_filters: input.on_premises_instance_tag_filters.as_deref(),
        on_premises_tag_set: input.on_premises_tag_set.as_ref(),
        auto_scaling_groups: input.auto_scaling_groups.as_deref(),
        ec2_deployment_options: input.ec2_deployment_options.as_ref(),
        termination_hook_enabled: input.termination_hook_enabled,
        outdated_instances_strategy: input.outdated_instances_strategy,
    })?;
    let added_tags = input.tags.unwrap_or_default();
    tags::validate(&added_tags)?;
    let tags = tags::merged(&Vec::new(), &added_tags)?;
    let settings = check_settings(
        h.world,
        platform,
        None,
        Requested {
            service_role_arn: input.service_role_arn,
            config_name: input.deployment_config_name,
            ecs_services: input.ecs_services.unwrap_or_default(),
            load_balancer_info: input.load_balancer_info,
            blue_green: input.blue_green_deployment_configuration,
            alarm_configuration: input.alarm_configuration,
            auto_rollback: input.auto_rollback_configuration,
            deployment_style: input.deployment_style,
            trigger_configurations: input.trigger_configurations.unwrap_or_default(),
        },
    )?;
    let id = h.ctx.rng.uuid();
    let mut group = GroupRecord {
        id: id.clone(),
        application: application.clone(),
        name: name.clone(),
        service_role_arn: String::new(),
        config_name: String::new(),
        compute_platform: platform,
        ecs_services: Vec::new(),
        load_balancer_info: None,
        blue_green: None,
        alarm_configuration: None,
        auto_rollback: None,
        deployment_style: None,
        trigger_configurations: Vec::new(),
        tags,
        last_attempted: None,
        last_successful: None,
        target_revision: None,
    };
    apply(&mut group, settings);
    h.world.codedeploy.groups.insert((application, name), group);
    Ok(api::CreateDeploymentGroupOutput {
        deployment_group_id: Some(id),
    })
}

pub fn get_deployment_group(
    h: &mut CodeDeployHandler<'_, '_>,
    input: api::GetDeploymentGroupInput,
) -> R<api::GetDeploymentGroupOutput> {
    let (application, _) = application(h.world, &input.application_name)?;
    let name = group_name_of(&input.deployment_group_name)?;
    let group = h
        .world
        .codedeploy
        .group(&application, name)
        .ok_or_else(|| group_does_not_exist(&application, name))?;
    Ok(api::GetDeploymentGroupOutput {
        deployment_group_info: Some(render_group(h.world, group)),
    })
}

/// The groups found, in the order asked; names that match no group are reported together in
/// `errorMessage` rather than failing the call (the output models that member for it).
pub fn batch_get_deployment_groups(
    h: &mut CodeDeployHandler<'_, '_>,
    input: api::BatchGetDeploymentGroupsInput,
) -> R<api::BatchGetDeploymentGroupsOutput> {
    let (application, _) = application(h.world, &input.application_name)?;
    if input.deployment_group_names.is_empty() {
        return Err(error(
            "DeploymentGroupNameRequiredException",
            "The deployment group names were not specified.",
        ));
    }
    if input.deployment_group_names.len() > MAX_BATCH_NAMES {
        return Err(error(
            "BatchLimitExceededException",
            format!("At most {MAX_BATCH_NAMES} deployment group names can be given at once."),
        ));
    }
    let mut infos = Vec::new();
    let mut missing = Vec::new();
    for name in &input.deployment_group_names {
        let name = group_name_of(name)?;
        match h.world.codedeploy.group(&application, name) {
            Some(group) => infos.push(render_group(h.world, group)),
            None => missing.push(name),
        }
    }
    let error_message = (!missing.is_empty()).then(|| {
        format!(
            "Deployment groups not found for application {application}: {}",
            missing.join(", ")
        )
    });
    Ok(api::BatchGetDeploymentGroupsOutput {
        deployment_groups_info: Some(infos),
        error_message,
    })
}

/// Group names of one application in byte order, 100 a page.
pub fn list_deployment_groups(
    h: &mut CodeDeployHandler<'_, '_>,
    input: api::ListDeploymentGroupsInput,
) -> R<api::ListDeploymentGroupsOutput> {
    let (application, _) = application(h.world, &input.application_name)?;
    let names: Vec<String> = h
        .world
        .codedeploy
        .groups
        .keys()
        .filter(|(app, _)| *app == application)
        .map(|(_, group)| group.clone())
        .collect();
    let (page, next_token) = paginate(&names, input.next_token.as_deref(), PAGE_SIZE)?;
    Ok(api::ListDeploymentGroupsOutput {
        application_name: Some(application),
        deployment_groups: Some(page),
        next_token,
    })
}

/// Replaces each setting the request carries, checks the result as CreateDeploymentGroup would,
/// and renames the group (its deployments follow) when `newDeploymentGroupName` differs.
pub fn update_deployment_group(
    h: &mut CodeDeployHandler<'_, '_>,
    input: api::UpdateDeploymentGroupInput,
) -> R<api::UpdateDeploymentGroupOutput> {
    let (application, platform) = application(h.world, &input.application_name)?;
    let current = group_name_of(&input.current_deployment_group_name)?.to_string();
    let group = h
        .world
        .codedeploy
        .group(&application, &current)
        .ok_or_else(|| group_does_not_exist(&application, &current))?;
    let new_name = match input.new_deployment_group_name.as_deref() {
        Some(new) => group_name_of(new)?.to_string(),
        None => current.clone(),
    };
    if new_name != current && h.world.codedeploy.group(&application, &new_name).is_some() {
        return Err(group_already_exists(&application, &new_name));
    }
    refuse_instance_members(&InstanceMembers {
        ec2_tag_filters: input.ec2_tag_filters.as_deref(),
        ec2_tag_set: input.ec2_tag_set.as_ref(),
        on_premises_instance_tag_filters: input.on_premises_instance_tag_filters.as_deref(),
        on_premises_tag_set: input.on_premises_tag_set.as_ref(),
        auto_scaling_groups: input.auto_scaling_groups.as_deref(),
        ec2_deployment_options: input.ec2_deployment_options.as_ref(),
        termination_hook_enabled: input.termination_hook_enabled,
        outdated_instances_strategy: input.outdated_instances_strategy,
    })?;
    let requested = Requested {
        service_role_arn: input
            .service_role_arn
            .unwrap_or_else(|| group.service_role_arn.clone()),
        config_name: Some(
            input
                .deployment_config_name
                .unwrap_or_else(|| group.config_name.clone()),
        ),
        ecs_services: input.ecs_services.unwrap_or_else(|| group.ecs_services.clone()),
        load_balancer_info: input
            .load_balancer_info
            .or_else(|| group.load_balancer_info.clone()),
        blue_green: input
            .blue_green_deployment_configuration
            .or_else(|| group.blue_green.clone()),
        alarm_configuration: input
            .alarm_configuration
            .or_else(|| group.alarm_configuration.clone()),
        auto_rollback: input
            .auto_rollback_configuration
            .or_else(|| group.auto_rollback.clone()),
        deployment_style: input.deployment_style.or_else(|| group.deployment_style.clone()),
        trigger_configurations: input
            .trigger_configurations
            .unwrap_or_else(|| group.trigger_configurations.clone()),
    };
    let settings = check_settings(h.world, platform, Some((&application, &current)), requested)?;
    let state = &mut h.world.codedeploy;
    let Some(mut group) = state.groups.remove(&(application.clone(), current.clone())) else {
        return Err(group_does_not_exist(&application, &current));
    };
    apply(&mut group, settings);
    if new_name != current {
        group.name = new_name.clone();
        for deployment in state.deployments.values_mut() {
            if deployment.application == application && deployment.group == current {
                deployment.group = new_name.clone();
            }
        }
    }
    state.groups.insert((application, new_name), group);
    // ecsim has no Auto Scaling groups, so there are never lifecycle hooks left behind.
    Ok(api::UpdateDeploymentGroupOutput {
        hooks_not_cleaned_up: Some(Vec::new()),
    })
}

/// Deletes a group; its deployments stay readable. A group (or application) that does not exist
/// is deleted without complaint: the model gives this operation no `…DoesNotExistException`.
pub fn delete_deployment_group(
    h: &mut CodeDeployHandler<'_, '_>,
    input: api::DeleteDeploymentGroupInput,
) -> R<api::DeleteDeploymentGroupOutput> {
    if input.application_name.is_empty() {
        return Err(error(
            "ApplicationNameRequiredException",
            "The minimum number of required application names was not specified.",
        ));
    }
    check_resource_name("Application", &input.application_name)?;
    let name = group_name_of(&input.deployment_group_name)?.to_string();
    h.world.codedeploy.groups.remove(&(input.application_name, name));
    Ok(api::DeleteDeploymentGroupOutput {
        hooks_not_cleaned_up: Some(Vec::new()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_must_be_iam_role_arns() {
        assert!(check_role("arn:aws:iam::000000000000:role/CodeDeploy").is_ok());
        assert_eq!(check_role("").expect_err("empty").code, "RoleRequiredException");
        for bad in [
            "CodeDeployRole",
            "arn:aws:iam::000000000000:user/someone",
            "arn:aws:sts::000000000000:role/x",
        ] {
            assert_eq!(check_role(bad).expect_err(bad).code, "InvalidRoleException");
        }
    }

    #[test]
    fn ecs_styles_default_to_blue_green_with_traffic_control() {
        let style = check_style(api::ComputePlatform::Ecs, None).expect("default");
        assert_eq!(style.deployment_type, Some(api::DeploymentType::BlueGreen));
        assert_eq!(
            style.deployment_option,
            Some(api::DeploymentOption::WithTrafficControl)
        );
        let in_place = api::DeploymentStyle {
            deployment_type: Some(api::DeploymentType::InPlace),
            deployment_option: None,
        };
        let e = check_style(api::ComputePlatform::Ecs, Some(in_place.clone())).expect_err("in place");
        assert_eq!(e.code, "InvalidDeploymentStyleException");
        let server = check_style(api::ComputePlatform::Server, Some(in_place)).expect("server");
        assert_eq!(
            server.deployment_option,
            Some(api::DeploymentOption::WithoutTrafficControl)
        );
    }

    #[test]
    fn ecs_blue_green_gets_both_wait_times() {
        let bg = check_blue_green(api::ComputePlatform::Ecs, None)
            .expect("defaults")
            .expect("always present for ECS");
        let ready = bg.deployment_ready_option.expect("ready option");
        assert_eq!(
            ready.action_on_timeout,
            Some(api::DeploymentReadyAction::ContinueDeployment)
        );
        assert_eq!(ready.wait_time_in_minutes, Some(0));
        let terminate = bg
            .terminate_blue_instances_on_deployment_success
            .expect("termination option");
        assert_eq!(terminate.action, Some(api::InstanceAction::Terminate));
        assert_eq!(terminate.termination_wait_time_in_minutes, Some(0));

        let too_long = api::BlueGreenDeploymentConfiguration {
            terminate_blue_instances_on_deployment_success: Some(api::BlueInstanceTerminationOption {
                action: Some(api::InstanceAction::Terminate),
                termination_wait_time_in_minutes: Some(2_881),
            }),
            ..Default::default()
        };
        let e = check_blue_green(api::ComputePlatform::Ecs, Some(too_long)).expect_err("2881 minutes");
        assert_eq!(e.code, "InvalidBlueGreenDeploymentConfigurationException");
    }

    #[test]
    fn alarms_rollbacks_and_triggers_are_checked() {
        let alarm = |name: &str| api::Alarm {
            name: Some(name.into()),
        };
        let eleven = api::AlarmConfiguration {
            enabled: Some(true),
            alarms: Some((0..11).map(|i| alarm(&format!("a{i}"))).collect()),
            ..Default::default()
        };
        assert_eq!(
            check_alarms(Some(eleven)).expect_err("11").code,
            "AlarmsLimitExceededException"
        );
        let twice = api::AlarmConfiguration {
            alarms: Some(vec![alarm("a"), alarm("a")]),
            ..Default::default()
        };
        assert_eq!(
            check_alarms(Some(twice)).expect_err("dup").code,
            "InvalidAlarmConfigException"
        );
        let empty_enabled = api::AlarmConfiguration {
            enabled: Some(true),
            ..Default::default()
        };
        assert!(check_alarms(Some(empty_enabled)).is_err());
        let defaults = check_alarms(Some(api::AlarmConfiguration::default()))
            .expect("valid")
            .expect("kept");
        assert_eq!(defaults.ignore_poll_alarm_failure, Some(false));

        let no_events = api::AutoRollbackConfiguration {
            enabled: Some(true),
            events: Some(Vec::new()),
        };
        assert_eq!(
            check_auto_rollback(Some(no_events)).expect_err("no events").code,
            "InvalidAutoRollbackConfigException"
        );

        let trigger = api::TriggerConfig {
            trigger_name: Some("t".into()),
            trigger_target_arn: Some("arn:aws:sns:us-east-1:000000000000:topic".into()),
            trigger_events: Some(vec![api::TriggerEventType::DeploymentFailure]),
        };
        assert!(check_triggers(std::slice::from_ref(&trigger)).is_ok());
        let mut not_sns = trigger.clone();
        not_sns.trigger_target_arn = Some("arn:aws:sqs:us-east-1:000000000000:q".into());
        assert_eq!(
            check_triggers(&[not_sns]).expect_err("sqs").code,
            "InvalidTriggerConfigException"
        );
        let many: Vec<api::TriggerConfig> = (0..11)
            .map(|i| api::TriggerConfig {
                trigger_name: Some(format!("t{i}")),
                ..trigger.clone()
            })
            .collect();
        assert_eq!(
            check_triggers(&many).expect_err("11").code,
            "TriggerTargetsLimitExceededException"
        );
    }
}
