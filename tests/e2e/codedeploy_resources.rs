//! CodeDeploy resources through aws-sdk-codedeploy: applications, predefined and custom deployment
//! configs, ECS blue/green deployment groups checked against the world's ECS service, target
//! groups and listeners, and tags. No deployment runs here (that is the deployments tests' job).

use aws_sdk_codedeploy::Client as CodeDeploy;
use aws_sdk_codedeploy::operation::create_deployment_group::builders::CreateDeploymentGroupFluentBuilder;
use aws_sdk_codedeploy::types::{
    Alarm, AlarmConfiguration, AutoRollbackConfiguration, AutoRollbackEvent,
    BlueGreenDeploymentConfiguration, BlueInstanceTerminationOption, ComputePlatform, DeploymentOption,
    DeploymentReadyAction, DeploymentReadyOption, DeploymentStyle, DeploymentType, EcsService,
    InstanceAction, LoadBalancerInfo, MinimumHealthyHosts, MinimumHealthyHostsType,
    OutdatedInstancesStrategy, Tag, TargetGroupInfo, TargetGroupPairInfo, TimeBasedCanary, TimeBasedLinear,
    TrafficRoute, TrafficRoutingConfig, TrafficRoutingType,
};
use aws_sdk_ecs::types::{DeploymentController, DeploymentControllerType, LaunchType, LoadBalancer};
use aws_sdk_elasticloadbalancingv2::types::{ProtocolEnum, TargetTypeEnum};
use ecsim::ClockMode;

use crate::common::{self, Env, awsvpc, code, default_subnet, fargate_task_definition};
use crate::elbv2_api::{forward_weighted, load_balancer, target_group};

const ROLE: &str = "arn:aws:iam::000000000000:role/CodeDeployECS";
const ACCOUNT: &str = "000000000000";
/// createTime of every predefined config (2014-10-06T00:00:00Z, the API version's date).
const PREDEFINED_CREATED_S: i64 = 1_412_553_600;

/// The ECS and ELBv2 side of a blue/green deployment group: an ALB with a production listener
/// (80) and a test listener (8080) both forwarding to `cd-blue`, a spare `cd-green` and an
/// unrelated `cd-other` target group, and in cluster `cd` the service `web` (CODE_DEPLOY
/// controller, behind `cd-blue`) and `rolling` (ECS controller, behind `cd-blue`).
struct Fixture {
    prod_listener: String,
    test_listener: String,
}

async fn fixture(env: &Env) -> Fixture {
    let lb = load_balancer(env, "cd-lb").await;
    let blue = target_group(env, "cd-blue", TargetTypeEnum::Ip).await;
    target_group(env, "cd-green", TargetTypeEnum::Ip).await;
    target_group(env, "cd-other", TargetTypeEnum::Ip).await;
    let mut listeners = Vec::new();
    for port in [80, 8080] {
        let created = env
            .elb
            .create_listener()
            .load_balancer_arn(&lb)
            .protocol(ProtocolEnum::Http)
            .port(port)
            .default_actions(forward_weighted(&[(&blue, 1)]))
            .send()
            .await
            .expect("CreateListener");
        listeners.push(created.listeners()[0].listener_arn().expect("ARN").to_string());
    }
    env.ecs
        .create_cluster()
        .cluster_name("cd")
        .send()
        .await
        .expect("CreateCluster");
    fargate_task_definition(&env.ecs, "web", &[])
        .send()
        .await
        .expect("RegisterTaskDefinition");
    for (name, controller) in [
        ("web", DeploymentControllerType::CodeDeploy),
        ("rolling", DeploymentControllerType::Ecs),
    ] {
        env.ecs
            .create_service()
            .cluster("cd")
            .service_name(name)
            .task_definition("web")
            .desired_count(1)
            .launch_type(LaunchType::Fargate)
            .network_configuration(awsvpc(&[default_subnet('a'), default_subnet('b')]))
            .deployment_controller(
                DeploymentController::builder()
                    .r#type(controller)
                    .build()
                    .expect("type"),
            )
            .load_balancers(
                LoadBalancer::builder()
                    .target_group_arn(&blue)
                    .container_name("web")
                    .container_port(8080)
                    .build(),
            )
            .send()
            .await
            .expect("CreateService");
    }
    let test_listener = listeners.pop().expect("test listener");
    let prod_listener = listeners.pop().expect("prod listener");
    Fixture {
        prod_listener,
        test_listener,
    }
}

fn ecs_service(service: &str) -> EcsService {
    EcsService::builder()
        .cluster_name("cd")
        .service_name(service)
        .build()
}

fn pair(target_groups: &[&str], prod: &str, test: Option<&str>) -> LoadBalancerInfo {
    let mut pair = TargetGroupPairInfo::builder()
        .prod_traffic_route(TrafficRoute::builder().listener_arns(prod).build());
    for name in target_groups {
        pair = pair.target_groups(TargetGroupInfo::builder().name(*name).build());
    }
    if let Some(test) = test {
        pair = pair.test_traffic_route(TrafficRoute::builder().listener_arns(test).build());
    }
    LoadBalancerInfo::builder()
        .target_group_pair_info_list(pair.build())
        .build()
}

fn blue_green_style() -> DeploymentStyle {
    DeploymentStyle::builder()
        .deployment_type(DeploymentType::BlueGreen)
        .deployment_option(DeploymentOption::WithTrafficControl)
        .build()
}

/// A CreateDeploymentGroup request that passes every check for service `web`; tests replace one
/// member (with the `set_` setters, which replace rather than append) to break it.
fn valid_group(
    cd: &CodeDeploy,
    fx: &Fixture,
    application: &str,
    group: &str,
) -> CreateDeploymentGroupFluentBuilder {
    cd.create_deployment_group()
        .application_name(application)
        .deployment_group_name(group)
        .service_role_arn(ROLE)
        .ecs_services(ecs_service("web"))
        .load_balancer_info(pair(
            &["cd-blue", "cd-green"],
            &fx.prod_listener,
            Some(&fx.test_listener),
        ))
        .deployment_style(blue_green_style())
}

fn tag(key: &str, value: &str) -> Tag {
    Tag::builder().key(key).value(value).build()
}

fn tag_pairs(tags: &[Tag]) -> Vec<(String, String)> {
    tags.iter()
        .map(|t| {
            (
                t.key().unwrap_or_default().to_string(),
                t.value().unwrap_or_default().to_string(),
            )
        })
        .collect()
}

fn now_s(env: &Env) -> i64 {
    i64::try_from(env.clock().now_ms() / 1000).expect("seconds fit")
}

#[tokio::test]
async fn applications_round_trip_rename_delete_and_refuse_bad_input() {
    let env = common::start(ClockMode::Virtual).await;
    let cd = &env.cd;
    let created = cd
        .create_application()
        .application_name("web-app")
        .compute_platform(ComputePlatform::Ecs)
        .tags(tag("team", "payments"))
        .send()
        .await
        .expect("CreateApplication");
    let id = created.application_id().expect("an id").to_string();
    assert_eq!(id.len(), 36, "a UUID: {id}");
    assert_eq!(id.matches('-').count(), 4, "a UUID: {id}");

    let got = cd
        .get_application()
        .application_name("web-app")
        .send()
        .await
        .expect("GetApplication");
    let app = got.application().expect("application");
    assert_eq!(app.application_id(), Some(id.as_str()));
    assert_eq!(app.application_name(), Some("web-app"));
    assert_eq!(app.compute_platform(), Some(&ComputePlatform::Ecs));
    assert!(!app.linked_to_git_hub());
    assert_eq!(app.create_time().expect("createTime").secs(), now_s(&env));

    // No platform given: Server, the model's default.
    cd.create_application()
        .application_name("legacy")
        .send()
        .await
        .expect("CreateApplication");
    let legacy = cd
        .get_application()
        .application_name("legacy")
        .send()
        .await
        .expect("GetApplication");
    assert_eq!(
        legacy.application().and_then(|a| a.compute_platform()),
        Some(&ComputePlatform::Server)
    );

    let e = cd
        .create_application()
        .application_name("web-app")
        .send()
        .await
        .expect_err("duplicate");
    assert_eq!(code(&e), "ApplicationAlreadyExistsException");
    let e = cd
        .create_application()
        .application_name("has space")
        .send()
        .await
        .expect_err("bad name");
    assert_eq!(code(&e), "InvalidApplicationNameException");
    let e = cd
        .create_application()
        .application_name("tagged-badly")
        .tags(tag("aws:reserved", "x"))
        .send()
        .await
        .expect_err("reserved tag");
    assert_eq!(code(&e), "InvalidTagsToAddException");
    let e = cd
        .get_application()
        .application_name("ghost")
        .send()
        .await
        .expect_err("unknown");
    assert_eq!(code(&e), "ApplicationDoesNotExistException");

    // BatchGetApplications: in the order asked; one unknown name fails the call.
    let batch = cd
        .batch_get_applications()
        .application_names("legacy")
        .application_names("web-app")
        .send()
        .await
        .expect("BatchGetApplications");
    let names: Vec<&str> = batch
        .applications_info()
        .iter()
        .filter_map(|a| a.application_name())
        .collect();
    assert_eq!(names, ["legacy", "web-app"]);
    assert_eq!(batch.applications_info()[1].application_id(), Some(id.as_str()));
    let e = cd
        .batch_get_applications()
        .application_names("web-app")
        .application_names("ghost")
        .send()
        .await
        .expect_err("unknown name");
    assert_eq!(code(&e), "ApplicationDoesNotExistException");
    let mut too_many = cd.batch_get_applications();
    for i in 0..101 {
        too_many = too_many.application_names(format!("a{i}"));
    }
    assert_eq!(
        code(&too_many.send().await.expect_err("101 names")),
        "BatchLimitExceededException"
    );

    // ListApplications: sorted, 100 a page.
    for i in 0..100 {
        cd.create_application()
            .application_name(format!("bulk-{i:03}"))
            .send()
            .await
            .expect("CreateApplication");
    }
    let first = cd.list_applications().send().await.expect("ListApplications");
    assert_eq!(first.applications().len(), 100);
    assert_eq!(first.applications()[0], "bulk-000");
    let token = first.next_token().expect("a second page").to_string();
    let second = cd
        .list_applications()
        .next_token(token)
        .send()
        .await
        .expect("ListApplications page 2");
    assert_eq!(second.applications(), ["legacy", "web-app"]);
    assert_eq!(second.next_token(), None);
    let e = cd
        .list_applications()
        .next_token("not-a-token")
        .send()
        .await
        .expect_err("bad token");
    assert_eq!(code(&e), "InvalidNextTokenException");

    // UpdateApplication renames; the id and tags stay with the application.
    cd.update_application()
        .application_name("web-app")
        .new_application_name("storefront")
        .send()
        .await
        .expect("UpdateApplication");
    let renamed = cd
        .get_application()
        .application_name("storefront")
        .send()
        .await
        .expect("GetApplication");
    assert_eq!(
        renamed.application().and_then(|a| a.application_id()),
        Some(id.as_str())
    );
    let tags = cd
        .list_tags_for_resource()
        .resource_arn(format!(
            "arn:aws:codedeploy:us-east-1:{ACCOUNT}:application:storefront"
        ))
        .send()
        .await
        .expect("ListTagsForResource");
    assert_eq!(
        tag_pairs(tags.tags()),
        [("team".to_string(), "payments".to_string())]
    );
    let e = cd
        .get_application()
        .application_name("web-app")
        .send()
        .await
        .expect_err("old name");
    assert_eq!(code(&e), "ApplicationDoesNotExistException");
    let e = cd
        .update_application()
        .application_name("storefront")
        .new_application_name("legacy")
        .send()
        .await
        .expect_err("taken");
    assert_eq!(code(&e), "ApplicationAlreadyExistsException");
    let e = cd
        .update_application()
        .application_name("ghost")
        .new_application_name("ghost-2")
        .send()
        .await
        .expect_err("unknown");
    assert_eq!(code(&e), "ApplicationDoesNotExistException");

    // DeleteApplication; deleting what is not there succeeds, as AWS does.
    cd.delete_application()
        .application_name("storefront")
        .send()
        .await
        .expect("DeleteApplication");
    let e = cd
        .get_application()
        .application_name("storefront")
        .send()
        .await
        .expect_err("deleted");
    assert_eq!(code(&e), "ApplicationDoesNotExistException");
    cd.delete_application()
        .application_name("storefront")
        .send()
        .await
        .expect("DeleteApplication of a missing application");
}

#[tokio::test]
async fn predefined_ecs_configs_render_their_traffic_shifts() {
    let env = common::start(ClockMode::Virtual).await;
    let cd = &env.cd;
    // (name, type, percentage, interval in minutes)
    let expected = [
        (
            "CodeDeployDefault.ECSAllAtOnce",
            TrafficRoutingType::AllAtOnce,
            0,
            0,
        ),
        (
            "CodeDeployDefault.ECSCanary10Percent5Minutes",
            TrafficRoutingType::TimeBasedCanary,
            10,
            5,
        ),
        (
            "CodeDeployDefault.ECSCanary10Percent15Minutes",
            TrafficRoutingType::TimeBasedCanary,
            10,
            15,
        ),
        (
            "CodeDeployDefault.ECSLinear10PercentEvery1Minutes",
            TrafficRoutingType::TimeBasedLinear,
            10,
            1,
        ),
        (
            "CodeDeployDefault.ECSLinear10PercentEvery3Minutes",
            TrafficRoutingType::TimeBasedLinear,
            10,
            3,
        ),
    ];
    let mut ids = Vec::new();
    for (name, kind, percentage, interval) in expected.iter().cloned() {
        let got = cd
            .get_deployment_config()
            .deployment_config_name(name)
            .send()
            .await
            .unwrap_or_else(|e| panic!("GetDeploymentConfig {name}: {e:?}"));
        let info = got.deployment_config_info().expect("info");
        assert_eq!(info.deployment_config_name(), Some(name));
        assert_eq!(info.compute_platform(), Some(&ComputePlatform::Ecs), "{name}");
        assert!(info.minimum_healthy_hosts().is_none(), "{name}");
        assert_eq!(
            info.create_time().map(|t| t.secs()),
            Some(PREDEFINED_CREATED_S),
            "{name}"
        );
        let routing = info.traffic_routing_config().expect("trafficRoutingConfig");
        assert_eq!(routing.r#type(), Some(&kind), "{name}");
        match kind {
            TrafficRoutingType::TimeBasedCanary => {
                let canary = routing.time_based_canary().expect("timeBasedCanary");
                assert_eq!(
                    (canary.canary_percentage(), canary.canary_interval()),
                    (percentage, interval),
                    "{name}"
                );
                assert!(routing.time_based_linear().is_none());
            }
            TrafficRoutingType::TimeBasedLinear => {
                let linear = routing.time_based_linear().expect("timeBasedLinear");
                assert_eq!(
                    (linear.linear_percentage(), linear.linear_interval()),
                    (percentage, interval),
                    "{name}"
                );
                assert!(routing.time_based_canary().is_none());
            }
            _ => assert!(routing.time_based_canary().is_none() && routing.time_based_linear().is_none()),
        }
        let id = info.deployment_config_id().expect("id").to_string();
        assert_eq!(id.len(), 36, "{id}");
        // Stable: the same id on every call.
        let again = cd
            .get_deployment_config()
            .deployment_config_name(name)
            .send()
            .await
            .expect("GetDeploymentConfig");
        assert_eq!(
            again
                .deployment_config_info()
                .and_then(|i| i.deployment_config_id()),
            Some(id.as_str())
        );
        ids.push(id);
    }
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), 5, "distinct ids");

    let one_at_a_time = cd
        .get_deployment_config()
        .deployment_config_name("CodeDeployDefault.OneAtATime")
        .send()
        .await
        .expect("GetDeploymentConfig");
    let info = one_at_a_time.deployment_config_info().expect("info");
    assert_eq!(info.compute_platform(), Some(&ComputePlatform::Server));
    let hosts = info.minimum_healthy_hosts().expect("minimumHealthyHosts");
    assert_eq!(
        (hosts.r#type(), hosts.value()),
        (Some(&MinimumHealthyHostsType::HostCount), 1)
    );
    assert!(info.traffic_routing_config().is_none());

    let listed = cd
        .list_deployment_configs()
        .send()
        .await
        .expect("ListDeploymentConfigs");
    let names = listed.deployment_configs_list();
    assert_eq!(names.len(), 17, "every predefined config: {names:?}");
    let mut sorted = names.to_vec();
    sorted.sort();
    assert_eq!(names, sorted.as_slice());
    for (name, ..) in expected {
        assert!(names.iter().any(|n| n == name), "{name}");
    }

    let e = cd
        .get_deployment_config()
        .deployment_config_name("CodeDeployDefault.ECSLinear10PercentEvery1Minute")
        .send()
        .await
        .expect_err("the Lambda spelling is not an ECS config");
    assert_eq!(code(&e), "DeploymentConfigDoesNotExistException");
    let e = cd
        .delete_deployment_config()
        .deployment_config_name("CodeDeployDefault.ECSAllAtOnce")
        .send()
        .await
        .expect_err("predefined");
    assert_eq!(code(&e), "InvalidOperationException");
}

fn canary(percentage: i32, interval_minutes: i32) -> TrafficRoutingConfig {
    TrafficRoutingConfig::builder()
        .r#type(TrafficRoutingType::TimeBasedCanary)
        .time_based_canary(
            TimeBasedCanary::builder()
                .canary_percentage(percentage)
                .canary_interval(interval_minutes)
                .build(),
        )
        .build()
}

fn linear(percentage: i32, interval_minutes: i32) -> TrafficRoutingConfig {
    TrafficRoutingConfig::builder()
        .r#type(TrafficRoutingType::TimeBasedLinear)
        .time_based_linear(
            TimeBasedLinear::builder()
                .linear_percentage(percentage)
                .linear_interval(interval_minutes)
                .build(),
        )
        .build()
}

#[tokio::test]
async fn custom_configs_round_trip_and_are_validated() {
    let env = common::start(ClockMode::Virtual).await;
    let cd = &env.cd;
    let created = cd
        .create_deployment_config()
        .deployment_config_name("canary-20-7")
        .compute_platform(ComputePlatform::Ecs)
        .traffic_routing_config(canary(20, 7))
        .send()
        .await
        .expect("CreateDeploymentConfig");
    let id = created.deployment_config_id().expect("id").to_string();
    let got = cd
        .get_deployment_config()
        .deployment_config_name("canary-20-7")
        .send()
        .await
        .expect("GetDeploymentConfig");
    let info = got.deployment_config_info().expect("info");
    assert_eq!(info.deployment_config_id(), Some(id.as_str()));
    assert_eq!(info.compute_platform(), Some(&ComputePlatform::Ecs));
    assert_eq!(info.create_time().map(|t| t.secs()), Some(now_s(&env)));
    let routing = info.traffic_routing_config().expect("routing");
    assert_eq!(routing.r#type(), Some(&TrafficRoutingType::TimeBasedCanary));
    let block = routing.time_based_canary().expect("canary");
    assert_eq!((block.canary_percentage(), block.canary_interval()), (20, 7));

    cd.create_deployment_config()
        .deployment_config_name("linear-25-2")
        .compute_platform(ComputePlatform::Ecs)
        .traffic_routing_config(linear(25, 2))
        .send()
        .await
        .expect("CreateDeploymentConfig");
    let got = cd
        .get_deployment_config()
        .deployment_config_name("linear-25-2")
        .send()
        .await
        .expect("GetDeploymentConfig");
    let block = got
        .deployment_config_info()
        .and_then(|i| i.traffic_routing_config())
        .and_then(|r| r.time_based_linear())
        .expect("linear");
    assert_eq!((block.linear_percentage(), block.linear_interval()), (25, 2));

    // A Server config (no platform given) keeps its minimum healthy hosts.
    cd.create_deployment_config()
        .deployment_config_name("two-healthy")
        .minimum_healthy_hosts(
            MinimumHealthyHosts::builder()
                .r#type(MinimumHealthyHostsType::HostCount)
                .value(2)
                .build(),
        )
        .send()
        .await
        .expect("CreateDeploymentConfig");
    let got = cd
        .get_deployment_config()
        .deployment_config_name("two-healthy")
        .send()
        .await
        .expect("GetDeploymentConfig");
    let info = got.deployment_config_info().expect("info");
    assert_eq!(info.compute_platform(), Some(&ComputePlatform::Server));
    assert_eq!(info.minimum_healthy_hosts().map(|h| h.value()), Some(2));

    let listed = cd
        .list_deployment_configs()
        .send()
        .await
        .expect("ListDeploymentConfigs");
    for name in ["canary-20-7", "linear-25-2", "two-healthy"] {
        assert!(
            listed.deployment_configs_list().iter().any(|n| n == name),
            "{name}"
        );
    }
    assert_eq!(listed.deployment_configs_list().len(), 20);

    // Each way to get it wrong, with the model's exception.
    let ecs = || {
        cd.create_deployment_config()
            .deployment_config_name("bad")
            .compute_platform(ComputePlatform::Ecs)
    };
    let mut both_blocks = canary(10, 5);
    both_blocks.time_based_linear = linear(10, 5).time_based_linear;
    let fleet_100 = MinimumHealthyHosts::builder()
        .r#type(MinimumHealthyHostsType::FleetPercent)
        .value(100)
        .build();
    let cases = [
        (
            cd.create_deployment_config()
                .deployment_config_name("canary-20-7")
                .compute_platform(ComputePlatform::Ecs)
                .traffic_routing_config(canary(20, 7)),
            "DeploymentConfigAlreadyExistsException",
        ),
        (
            cd.create_deployment_config()
                .deployment_config_name("CodeDeployDefault.Mine")
                .compute_platform(ComputePlatform::Ecs)
                .traffic_routing_config(canary(20, 7)),
            "InvalidDeploymentConfigNameException",
        ),
        (ecs(), "InvalidTrafficRoutingConfigurationException"),
        (
            ecs().traffic_routing_config(canary(0, 5)),
            "InvalidTrafficRoutingConfigurationException",
        ),
        (
            ecs().traffic_routing_config(linear(100, 5)),
            "InvalidTrafficRoutingConfigurationException",
        ),
        (
            ecs().traffic_routing_config(canary(10, 0)),
            "InvalidTrafficRoutingConfigurationException",
        ),
        (
            ecs().traffic_routing_config(both_blocks),
            "InvalidTrafficRoutingConfigurationException",
        ),
        (
            ecs()
                .traffic_routing_config(canary(10, 5))
                .minimum_healthy_hosts(fleet_100.clone()),
            "InvalidMinimumHealthyHostValueException",
        ),
        (
            cd.create_deployment_config().deployment_config_name("bad"),
            "InvalidMinimumHealthyHostValueException",
        ),
        (
            cd.create_deployment_config()
                .deployment_config_name("bad")
                .minimum_healthy_hosts(fleet_100),
            "InvalidMinimumHealthyHostValueException",
        ),
        (
            cd.create_deployment_config()
                .deployment_config_name("bad")
                .compute_platform(ComputePlatform::Server)
                .traffic_routing_config(canary(10, 5)),
            "InvalidTrafficRoutingConfigurationException",
        ),
        (
            cd.create_deployment_config()
                .deployment_config_name("bad name")
                .compute_platform(ComputePlatform::Ecs)
                .traffic_routing_config(canary(10, 5)),
            "InvalidDeploymentConfigNameException",
        ),
    ];
    for (i, (request, expected)) in cases.into_iter().enumerate() {
        let e = request.send().await.expect_err("refused");
        assert_eq!(code(&e), expected, "case {i}");
    }
    let e = cd
        .get_deployment_config()
        .deployment_config_name("bad")
        .send()
        .await
        .expect_err("nothing was created");
    assert_eq!(code(&e), "DeploymentConfigDoesNotExistException");

    // Delete: gone afterwards; deleting an unknown name succeeds (the model has no error for it).
    cd.delete_deployment_config()
        .deployment_config_name("linear-25-2")
        .send()
        .await
        .expect("DeleteDeploymentConfig");
    let e = cd
        .get_deployment_config()
        .deployment_config_name("linear-25-2")
        .send()
        .await
        .expect_err("deleted");
    assert_eq!(code(&e), "DeploymentConfigDoesNotExistException");
    cd.delete_deployment_config()
        .deployment_config_name("linear-25-2")
        .send()
        .await
        .expect("DeleteDeploymentConfig of a missing config");
}

#[tokio::test]
async fn ecs_deployment_groups_are_checked_against_the_world() {
    let env = common::start(ClockMode::Virtual).await;
    let cd = &env.cd;
    let fx = fixture(&env).await;
    cd.create_application()
        .application_name("shop")
        .compute_platform(ComputePlatform::Ecs)
        .send()
        .await
        .expect("CreateApplication");
    cd.create_deployment_config()
        .deployment_config_name("shop-canary")
        .compute_platform(ComputePlatform::Ecs)
        .traffic_routing_config(canary(25, 4))
        .send()
        .await
        .expect("CreateDeploymentConfig");

    // Every refusal first (they must change nothing), one broken member at a time.
    let too_long_wait = BlueGreenDeploymentConfiguration::builder()
        .terminate_blue_instances_on_deployment_success(
            BlueInstanceTerminationOption::builder()
                .action(InstanceAction::Terminate)
                .termination_wait_time_in_minutes(2_881)
                .build(),
        )
        .build();
    let mut eleven_alarms = AlarmConfiguration::builder().enabled(true);
    for i in 0..11 {
        eleven_alarms = eleven_alarms.alarms(Alarm::builder().name(format!("alarm-{i}")).build());
    }
    let cases: Vec<(CreateDeploymentGroupFluentBuilder, &str, &str)> = vec![
        (
            valid_group(cd, &fx, "shop", "bad").set_ecs_services(Some(vec![ecs_service("rolling")])),
            "InvalidECSServiceException",
            "CODE_DEPLOY deployment controller",
        ),
        (
            valid_group(cd, &fx, "shop", "bad").set_ecs_services(Some(vec![ecs_service("nope")])),
            "InvalidECSServiceException",
            "does not exist",
        ),
        (
            valid_group(cd, &fx, "shop", "bad").set_ecs_services(Some(Vec::new())),
            "InvalidECSServiceException",
            "exactly one ECS service",
        ),
        (
            valid_group(cd, &fx, "shop", "bad").set_load_balancer_info(Some(pair(
                &["cd-blue", "cd-missing"],
                &fx.prod_listener,
                None,
            ))),
            "InvalidTargetGroupPairException",
            "cd-missing does not exist",
        ),
        (
            valid_group(cd, &fx, "shop", "bad").set_load_balancer_info(Some(pair(
                &["cd-blue"],
                &fx.prod_listener,
                None,
            ))),
            "InvalidTargetGroupPairException",
            "exactly two target groups",
        ),
        (
            valid_group(cd, &fx, "shop", "bad").set_load_balancer_info(Some(pair(
                &["cd-green", "cd-other"],
                &fx.prod_listener,
                None,
            ))),
            "InvalidTargetGroupPairException",
            "is not one of the target group pair",
        ),
        (
            valid_group(cd, &fx, "shop", "bad").set_load_balancer_info(Some(pair(
                &["cd-blue", "cd-green"],
                &fx.prod_listener.replace("listener/app", "listener/app-gone"),
                None,
            ))),
            "InvalidTargetGroupPairException",
            "does not exist",
        ),
        (
            valid_group(cd, &fx, "shop", "bad").set_load_balancer_info(Some(pair(
                &["cd-blue", "cd-green"],
                &fx.prod_listener,
                Some(&fx.prod_listener),
            ))),
            "InvalidTargetGroupPairException",
            "different listener",
        ),
        (
            valid_group(cd, &fx, "shop", "bad").set_load_balancer_info(None),
            "InvalidLoadBalancerInfoException",
            "requires loadBalancerInfo",
        ),
        (
            valid_group(cd, &fx, "shop", "bad").deployment_style(
                DeploymentStyle::builder()
                    .deployment_type(DeploymentType::InPlace)
                    .deployment_option(DeploymentOption::WithoutTrafficControl)
                    .build(),
            ),
            "InvalidDeploymentStyleException",
            "BLUE_GREEN",
        ),
        (
            valid_group(cd, &fx, "shop", "bad").blue_green_deployment_configuration(too_long_wait),
            "InvalidBlueGreenDeploymentConfigurationException",
            "2881",
        ),
        (
            valid_group(cd, &fx, "shop", "bad").alarm_configuration(eleven_alarms.build()),
            "AlarmsLimitExceededException",
            "10",
        ),
        (
            valid_group(cd, &fx, "shop", "bad")
                .auto_rollback_configuration(AutoRollbackConfiguration::builder().enabled(true).build()),
            "InvalidAutoRollbackConfigException",
            "no events",
        ),
        (
            valid_group(cd, &fx, "shop", "bad").deployment_config_name("CodeDeployDefault.OneAtATime"),
            "InvalidDeploymentConfigNameException",
            "Server",
        ),
        (
            valid_group(cd, &fx, "shop", "bad").deployment_config_name("no-such-config"),
            "DeploymentConfigDoesNotExistException",
            "no-such-config",
        ),
        (
            valid_group(cd, &fx, "shop", "bad").service_role_arn("CodeDeployRole"),
            "InvalidRoleException",
            "IAM role",
        ),
        (
            valid_group(cd, &fx, "shop", "bad").auto_scaling_groups("asg-1"),
            "InvalidAutoScalingGroupException",
            "asg-1",
        ),
        (
            valid_group(cd, &fx, "ghost", "bad"),
            "ApplicationDoesNotExistException",
            "ghost",
        ),
    ];
    for (request, expected, needle) in cases {
        let e = request.send().await.expect_err(expected);
        assert_eq!(code(&e), expected, "{e:?}");
        let message = e.into_service_error().to_string();
        assert!(message.contains(needle), "{expected}: {message}");
    }
    let listed = cd
        .list_deployment_groups()
        .application_name("shop")
        .send()
        .await
        .expect("ListDeploymentGroups");
    assert!(listed.deployment_groups().is_empty(), "refusals created nothing");

    // The real one.
    let created = valid_group(cd, &fx, "shop", "shop-dg")
        .deployment_config_name("shop-canary")
        .blue_green_deployment_configuration(
            BlueGreenDeploymentConfiguration::builder()
                .deployment_ready_option(
                    DeploymentReadyOption::builder()
                        .action_on_timeout(DeploymentReadyAction::StopDeployment)
                        .wait_time_in_minutes(30)
                        .build(),
                )
                .terminate_blue_instances_on_deployment_success(
                    BlueInstanceTerminationOption::builder()
                        .action(InstanceAction::Terminate)
                        .termination_wait_time_in_minutes(15)
                        .build(),
                )
                .build(),
        )
        .alarm_configuration(
            AlarmConfiguration::builder()
                .enabled(true)
                .alarms(Alarm::builder().name("shop-5xx").build())
                .build(),
        )
        .auto_rollback_configuration(
            AutoRollbackConfiguration::builder()
                .enabled(true)
                .events(AutoRollbackEvent::DeploymentFailure)
                .events(AutoRollbackEvent::DeploymentStopOnAlarm)
                .build(),
        )
        .tags(tag("team", "shop"))
        .send()
        .await
        .expect("CreateDeploymentGroup");
    let group_id = created.deployment_group_id().expect("id").to_string();
    assert_eq!(group_id.len(), 36);

    let got = cd
        .get_deployment_group()
        .application_name("shop")
        .deployment_group_name("shop-dg")
        .send()
        .await
        .expect("GetDeploymentGroup");
    let info = got.deployment_group_info().expect("info");
    assert_eq!(info.deployment_group_id(), Some(group_id.as_str()));
    assert_eq!(info.application_name(), Some("shop"));
    assert_eq!(info.deployment_group_name(), Some("shop-dg"));
    assert_eq!(info.deployment_config_name(), Some("shop-canary"));
    assert_eq!(info.compute_platform(), Some(&ComputePlatform::Ecs));
    assert_eq!(info.service_role_arn(), Some(ROLE));
    assert_eq!(
        info.outdated_instances_strategy(),
        Some(&OutdatedInstancesStrategy::Update)
    );
    assert!(info.last_attempted_deployment().is_none() && info.last_successful_deployment().is_none());
    let services: Vec<(Option<&str>, Option<&str>)> = info
        .ecs_services()
        .iter()
        .map(|s| (s.cluster_name(), s.service_name()))
        .collect();
    assert_eq!(services, [(Some("cd"), Some("web"))]);
    let stored_pair = &info
        .load_balancer_info()
        .expect("loadBalancerInfo")
        .target_group_pair_info_list()[0];
    let tg_names: Vec<&str> = stored_pair
        .target_groups()
        .iter()
        .filter_map(|t| t.name())
        .collect();
    assert_eq!(tg_names, ["cd-blue", "cd-green"]);
    assert_eq!(
        stored_pair.prod_traffic_route().map(|r| r.listener_arns()),
        Some([fx.prod_listener.clone()].as_slice())
    );
    assert_eq!(
        stored_pair.test_traffic_route().map(|r| r.listener_arns()),
        Some([fx.test_listener.clone()].as_slice())
    );
    let style = info.deployment_style().expect("style");
    assert_eq!(style.deployment_type(), Some(&DeploymentType::BlueGreen));
    assert_eq!(
        style.deployment_option(),
        Some(&DeploymentOption::WithTrafficControl)
    );
    let bg = info.blue_green_deployment_configuration().expect("blue/green");
    let ready = bg.deployment_ready_option().expect("ready option");
    assert_eq!(
        ready.action_on_timeout(),
        Some(&DeploymentReadyAction::StopDeployment)
    );
    assert_eq!(ready.wait_time_in_minutes(), 30);
    let terminate = bg
        .terminate_blue_instances_on_deployment_success()
        .expect("termination");
    assert_eq!(terminate.action(), Some(&InstanceAction::Terminate));
    assert_eq!(terminate.termination_wait_time_in_minutes(), 15);
    let alarms = info.alarm_configuration().expect("alarms");
    assert!(alarms.enabled() && !alarms.ignore_poll_alarm_failure());
    let alarm_names: Vec<&str> = alarms.alarms().iter().filter_map(|a| a.name()).collect();
    assert_eq!(alarm_names, ["shop-5xx"]);
    let rollback = info.auto_rollback_configuration().expect("rollback");
    assert!(rollback.enabled());
    assert_eq!(
        rollback.events(),
        [
            AutoRollbackEvent::DeploymentFailure,
            AutoRollbackEvent::DeploymentStopOnAlarm
        ]
    );

    // Existing name; the same ECS service in a second group; a config in use.
    let e = valid_group(cd, &fx, "shop", "shop-dg")
        .send()
        .await
        .expect_err("duplicate");
    assert_eq!(code(&e), "DeploymentGroupAlreadyExistsException");
    let e = valid_group(cd, &fx, "shop", "shop-dg-2")
        .send()
        .await
        .expect_err("service taken");
    assert_eq!(code(&e), "ECSServiceMappingLimitExceededException");
    let e = cd
        .delete_deployment_config()
        .deployment_config_name("shop-canary")
        .send()
        .await
        .expect_err("in use");
    assert_eq!(code(&e), "DeploymentConfigInUseException");

    // List and batch get.
    let listed = cd
        .list_deployment_groups()
        .application_name("shop")
        .send()
        .await
        .expect("ListDeploymentGroups");
    assert_eq!(listed.application_name(), Some("shop"));
    assert_eq!(listed.deployment_groups(), ["shop-dg"]);
    let batch = cd
        .batch_get_deployment_groups()
        .application_name("shop")
        .deployment_group_names("shop-dg")
        .deployment_group_names("ghost")
        .send()
        .await
        .expect("BatchGetDeploymentGroups");
    assert_eq!(batch.deployment_groups_info().len(), 1);
    assert_eq!(
        batch.deployment_groups_info()[0].deployment_group_id(),
        Some(group_id.as_str())
    );
    assert!(
        batch.error_message().is_some_and(|m| m.contains("ghost")),
        "{batch:?}"
    );

    // Update: rename, another config, a longer termination wait; the rest is kept.
    let updated = cd
        .update_deployment_group()
        .application_name("shop")
        .current_deployment_group_name("shop-dg")
        .new_deployment_group_name("shop-live")
        .deployment_config_name("CodeDeployDefault.ECSLinear10PercentEvery1Minutes")
        .blue_green_deployment_configuration(
            BlueGreenDeploymentConfiguration::builder()
                .terminate_blue_instances_on_deployment_success(
                    BlueInstanceTerminationOption::builder()
                        .action(InstanceAction::Terminate)
                        .termination_wait_time_in_minutes(60)
                        .build(),
                )
                .build(),
        )
        .send()
        .await
        .expect("UpdateDeploymentGroup");
    assert!(updated.hooks_not_cleaned_up().is_empty());
    let e = cd
        .get_deployment_group()
        .application_name("shop")
        .deployment_group_name("shop-dg")
        .send()
        .await
        .expect_err("renamed");
    assert_eq!(code(&e), "DeploymentGroupDoesNotExistException");
    let got = cd
        .get_deployment_group()
        .application_name("shop")
        .deployment_group_name("shop-live")
        .send()
        .await
        .expect("GetDeploymentGroup");
    let info = got.deployment_group_info().expect("info");
    assert_eq!(info.deployment_group_id(), Some(group_id.as_str()));
    assert_eq!(
        info.deployment_config_name(),
        Some("CodeDeployDefault.ECSLinear10PercentEvery1Minutes")
    );
    let bg = info.blue_green_deployment_configuration().expect("blue/green");
    assert_eq!(
        bg.terminate_blue_instances_on_deployment_success()
            .map(|t| t.termination_wait_time_in_minutes()),
        Some(60)
    );
    // The replaced blue/green block has no ready option: AWS's default (continue at once).
    let ready = bg.deployment_ready_option().expect("ready option defaulted");
    assert_eq!(
        ready.action_on_timeout(),
        Some(&DeploymentReadyAction::ContinueDeployment)
    );
    assert_eq!(ready.wait_time_in_minutes(), 0);
    assert_eq!(
        info.alarm_configuration().map(|a| a.alarms().len()),
        Some(1),
        "alarms kept"
    );

    // An update is checked like a create and changes nothing when refused.
    let e = cd
        .update_deployment_group()
        .application_name("shop")
        .current_deployment_group_name("shop-live")
        .deployment_style(
            DeploymentStyle::builder()
                .deployment_type(DeploymentType::InPlace)
                .build(),
        )
        .send()
        .await
        .expect_err("in place");
    assert_eq!(code(&e), "InvalidDeploymentStyleException");
    let e = cd
        .update_deployment_group()
        .application_name("shop")
        .current_deployment_group_name("shop-live")
        .ecs_services(ecs_service("rolling"))
        .send()
        .await
        .expect_err("ECS controller");
    assert_eq!(code(&e), "InvalidECSServiceException");
    let e = cd
        .update_deployment_group()
        .application_name("shop")
        .current_deployment_group_name("nope")
        .send()
        .await
        .expect_err("unknown group");
    assert_eq!(code(&e), "DeploymentGroupDoesNotExistException");
    let still = cd
        .get_deployment_group()
        .application_name("shop")
        .deployment_group_name("shop-live")
        .send()
        .await
        .expect("GetDeploymentGroup");
    assert_eq!(
        still
            .deployment_group_info()
            .and_then(|i| i.deployment_style())
            .and_then(|s| s.deployment_type()),
        Some(&DeploymentType::BlueGreen)
    );

    // The custom config is free again.
    cd.delete_deployment_config()
        .deployment_config_name("shop-canary")
        .send()
        .await
        .expect("DeleteDeploymentConfig");

    // Renaming the application moves its groups.
    cd.update_application()
        .application_name("shop")
        .new_application_name("store")
        .send()
        .await
        .expect("UpdateApplication");
    let listed = cd
        .list_deployment_groups()
        .application_name("store")
        .send()
        .await
        .expect("ListDeploymentGroups");
    assert_eq!(listed.deployment_groups(), ["shop-live"]);
    let moved = cd
        .get_deployment_group()
        .application_name("store")
        .deployment_group_name("shop-live")
        .send()
        .await
        .expect("GetDeploymentGroup");
    assert_eq!(
        moved.deployment_group_info().and_then(|i| i.application_name()),
        Some("store")
    );
    let tags = cd
        .list_tags_for_resource()
        .resource_arn(format!(
            "arn:aws:codedeploy:us-east-1:{ACCOUNT}:deploymentgroup:store/shop-live"
        ))
        .send()
        .await
        .expect("ListTagsForResource");
    assert_eq!(tag_pairs(tags.tags()), [("team".to_string(), "shop".to_string())]);

    // Delete; again is fine; the service is free for a new group; deleting the application
    // deletes its groups.
    let deleted = cd
        .delete_deployment_group()
        .application_name("store")
        .deployment_group_name("shop-live")
        .send()
        .await
        .expect("DeleteDeploymentGroup");
    assert!(deleted.hooks_not_cleaned_up().is_empty());
    cd.delete_deployment_group()
        .application_name("store")
        .deployment_group_name("shop-live")
        .send()
        .await
        .expect("DeleteDeploymentGroup of a missing group");
    let e = cd
        .get_deployment_group()
        .application_name("store")
        .deployment_group_name("shop-live")
        .send()
        .await
        .expect_err("deleted");
    assert_eq!(code(&e), "DeploymentGroupDoesNotExistException");
    valid_group(cd, &fx, "store", "again")
        .send()
        .await
        .expect("the service is free again");
    let defaulted = cd
        .get_deployment_group()
        .application_name("store")
        .deployment_group_name("again")
        .send()
        .await
        .expect("GetDeploymentGroup");
    let info = defaulted.deployment_group_info().expect("info");
    assert_eq!(
        info.deployment_config_name(),
        Some("CodeDeployDefault.ECSAllAtOnce"),
        "the emulator's ECS default"
    );
    let bg = info
        .blue_green_deployment_configuration()
        .expect("always rendered for ECS");
    assert_eq!(
        bg.deployment_ready_option().map(|r| r.wait_time_in_minutes()),
        Some(0)
    );
    assert_eq!(
        bg.terminate_blue_instances_on_deployment_success()
            .map(|t| t.termination_wait_time_in_minutes()),
        Some(0)
    );
    cd.delete_application()
        .application_name("store")
        .send()
        .await
        .expect("DeleteApplication");
    cd.create_application()
        .application_name("store")
        .compute_platform(ComputePlatform::Ecs)
        .send()
        .await
        .expect("CreateApplication");
    let listed = cd
        .list_deployment_groups()
        .application_name("store")
        .send()
        .await
        .expect("ListDeploymentGroups");
    assert!(
        listed.deployment_groups().is_empty(),
        "groups went with the application"
    );
}

#[tokio::test]
async fn tags_on_applications_and_groups() {
    let env = common::start(ClockMode::Virtual).await;
    let cd = &env.cd;
    let fx = fixture(&env).await;
    cd.create_application()
        .application_name("tagged")
        .compute_platform(ComputePlatform::Ecs)
        .tags(tag("team", "a"))
        .send()
        .await
        .expect("CreateApplication");
    valid_group(cd, &fx, "tagged", "dg")
        .send()
        .await
        .expect("CreateDeploymentGroup");
    let app_arn = format!("arn:aws:codedeploy:us-east-1:{ACCOUNT}:application:tagged");
    let group_arn = format!("arn:aws:codedeploy:us-east-1:{ACCOUNT}:deploymentgroup:tagged/dg");

    cd.tag_resource()
        .resource_arn(&app_arn)
        .tags(tag("env", "prod"))
        .tags(tag("team", "b"))
        .send()
        .await
        .expect("TagResource");
    let listed = cd
        .list_tags_for_resource()
        .resource_arn(&app_arn)
        .send()
        .await
        .expect("ListTagsForResource");
    assert_eq!(
        tag_pairs(listed.tags()),
        [
            ("team".to_string(), "b".to_string()),
            ("env".to_string(), "prod".to_string())
        ]
    );
    cd.untag_resource()
        .resource_arn(&app_arn)
        .tag_keys("team")
        .tag_keys("not-there")
        .send()
        .await
        .expect("UntagResource");
    let listed = cd
        .list_tags_for_resource()
        .resource_arn(&app_arn)
        .send()
        .await
        .expect("ListTagsForResource");
    assert_eq!(
        tag_pairs(listed.tags()),
        [("env".to_string(), "prod".to_string())]
    );

    cd.tag_resource()
        .resource_arn(&group_arn)
        .tags(tag("tier", "web"))
        .send()
        .await
        .expect("TagResource on a group");
    let listed = cd
        .list_tags_for_resource()
        .resource_arn(&group_arn)
        .send()
        .await
        .expect("ListTagsForResource");
    assert_eq!(
        tag_pairs(listed.tags()),
        [("tier".to_string(), "web".to_string())]
    );

    let fifty_one: Vec<Tag> = (0..51).map(|i| tag(&format!("k{i}"), "v")).collect();
    let cases = [
        (
            "not-an-arn".to_string(),
            Some(vec![tag("a", "b")]),
            "InvalidArnException",
        ),
        (
            "arn:aws:ecs:us-east-1:000000000000:cluster/cd".to_string(),
            Some(vec![tag("a", "b")]),
            "ArnNotSupportedException",
        ),
        (
            format!("arn:aws:codedeploy:us-east-1:{ACCOUNT}:application:ghost"),
            Some(vec![tag("a", "b")]),
            "ApplicationDoesNotExistException",
        ),
        (
            // Another region's world has no such application.
            format!("arn:aws:codedeploy:eu-west-1:{ACCOUNT}:application:tagged"),
            Some(vec![tag("a", "b")]),
            "ApplicationDoesNotExistException",
        ),
        (
            format!("arn:aws:codedeploy:us-east-1:{ACCOUNT}:deploymentgroup:tagged/ghost"),
            Some(vec![tag("a", "b")]),
            "DeploymentGroupDoesNotExistException",
        ),
        (
            format!("arn:aws:codedeploy:us-east-1:{ACCOUNT}:deploymentconfig:CodeDeployDefault.ECSAllAtOnce"),
            Some(vec![tag("a", "b")]),
            "ArnNotSupportedException",
        ),
        (
            format!("arn:aws:codedeploy:us-east-1:{ACCOUNT}:deploymentconfig:ghost"),
            Some(vec![tag("a", "b")]),
            "DeploymentConfigDoesNotExistException",
        ),
        (app_arn.clone(), Some(Vec::new()), "TagRequiredException"),
        (app_arn.clone(), Some(fifty_one), "InvalidTagsToAddException"),
        (
            app_arn.clone(),
            Some(vec![tag("aws:cloudformation", "x")]),
            "InvalidTagsToAddException",
        ),
    ];
    for (arn, tags, expected) in cases {
        let e = cd
            .tag_resource()
            .resource_arn(&arn)
            .set_tags(tags)
            .send()
            .await
            .expect_err(expected);
        assert_eq!(code(&e), expected, "{arn}");
    }
    let e = cd
        .untag_resource()
        .resource_arn(&app_arn)
        .set_tag_keys(Some(Vec::new()))
        .send()
        .await
        .expect_err("no keys");
    assert_eq!(code(&e), "TagRequiredException");
    let e = cd
        .list_tags_for_resource()
        .resource_arn(format!(
            "arn:aws:codedeploy:us-east-1:{ACCOUNT}:deploymentgroup:tagged/ghost"
        ))
        .send()
        .await
        .expect_err("unknown group");
    assert_eq!(code(&e), "DeploymentGroupDoesNotExistException");
    // The refusals left the tags alone.
    let listed = cd
        .list_tags_for_resource()
        .resource_arn(&app_arn)
        .send()
        .await
        .expect("ListTagsForResource");
    assert_eq!(
        tag_pairs(listed.tags()),
        [("env".to_string(), "prod".to_string())]
    );
}

#[tokio::test]
async fn server_groups_take_server_defaults_and_refuse_ecs_settings() {
    let env = common::start(ClockMode::Virtual).await;
    let cd = &env.cd;
    cd.create_application()
        .application_name("legacy")
        .send()
        .await
        .expect("CreateApplication");
    for group in ["blue", "green"] {
        cd.create_deployment_group()
            .application_name("legacy")
            .deployment_group_name(group)
            .service_role_arn(ROLE)
            .send()
            .await
            .expect("CreateDeploymentGroup");
    }
    let got = cd
        .get_deployment_group()
        .application_name("legacy")
        .deployment_group_name("blue")
        .send()
        .await
        .expect("GetDeploymentGroup");
    let info = got.deployment_group_info().expect("info");
    assert_eq!(info.compute_platform(), Some(&ComputePlatform::Server));
    assert_eq!(
        info.deployment_config_name(),
        Some("CodeDeployDefault.OneAtATime")
    );
    let style = info.deployment_style().expect("style");
    assert_eq!(style.deployment_type(), Some(&DeploymentType::InPlace));
    assert_eq!(
        style.deployment_option(),
        Some(&DeploymentOption::WithoutTrafficControl)
    );
    assert!(info.blue_green_deployment_configuration().is_none());
    assert!(info.ecs_services().is_empty());
    assert!(!info.termination_hook_enabled());

    let e = cd
        .create_deployment_group()
        .application_name("legacy")
        .deployment_group_name("ecs-ish")
        .service_role_arn(ROLE)
        .ecs_services(ecs_service("web"))
        .send()
        .await
        .expect_err("ECS service on a Server group");
    assert_eq!(code(&e), "InvalidECSServiceException");
    let e = cd
        .create_deployment_group()
        .application_name("legacy")
        .deployment_group_name("ecs-ish")
        .service_role_arn(ROLE)
        .deployment_config_name("CodeDeployDefault.ECSAllAtOnce")
        .send()
        .await
        .expect_err("ECS config on a Server group");
    assert_eq!(code(&e), "InvalidDeploymentConfigNameException");
    let e = cd
        .create_deployment_group()
        .application_name("legacy")
        .deployment_group_name("no-role")
        .service_role_arn("")
        .send()
        .await
        .expect_err("empty role");
    assert_eq!(code(&e), "RoleRequiredException");

    // Renaming onto a sibling is refused and leaves both in place.
    let e = cd
        .update_deployment_group()
        .application_name("legacy")
        .current_deployment_group_name("blue")
        .new_deployment_group_name("green")
        .send()
        .await
        .expect_err("taken");
    assert_eq!(code(&e), "DeploymentGroupAlreadyExistsException");
    let listed = cd
        .list_deployment_groups()
        .application_name("legacy")
        .send()
        .await
        .expect("ListDeploymentGroups");
    assert_eq!(listed.deployment_groups(), ["blue", "green"]);
}
