//! CodeDeploy blue/green deployments of an ECS service on the virtual clock, through
//! aws-sdk-codedeploy: the production listener's weights over time for every predefined ECS
//! config, the termination wait, rollbacks on alarms (from real 5xx traffic and forced), on hook
//! failures and on request, the ready wait, and one active deployment per group.

use std::time::Duration;

use aws_sdk_codedeploy::client::Waiters;
use aws_sdk_codedeploy::types::{
    AlarmConfiguration, AutoRollbackConfiguration, AutoRollbackEvent, BlueGreenDeploymentConfiguration,
    ComputePlatform, DeploymentOption, DeploymentReadyAction, DeploymentReadyOption, DeploymentStatus,
    DeploymentStyle, DeploymentType, DeploymentWaitType, EcsService, InstanceAction, LifecycleEventStatus,
    LoadBalancerInfo, RevisionLocation, RevisionLocationType, TargetGroupInfo, TargetGroupPairInfo,
    TrafficRoute,
};
use aws_sdk_ecs::types::{DeploymentController, DeploymentControllerType, LaunchType, LoadBalancer};
use aws_sdk_elasticloadbalancingv2::types::{ProtocolEnum, TargetGroupAttribute, TargetTypeEnum};
use ecsim::ClockMode;
use reqwest::Method;
use serde_json::json;

use crate::common::{self, Env, awsvpc, code, default_subnet, fargate_task_definition};
use crate::ecs_load_balancing::admin;
use crate::elbv2_api::{forward_weighted, load_balancer};

/// What one blue/green fixture created.
pub(crate) struct BlueGreen {
    pub prod_listener: String,
    pub test_listener: String,
    pub blue_tg: String,
    pub green_tg: String,
    pub dns_name: String,
}

/// An `ip` target group checking `/health` every 5 s (thresholds 2) that drains at once.
pub(crate) async fn target_group(env: &Env, name: &str) -> String {
    target_group_checked_every(env, name, 5, 2).await
}

/// A target group whose health checks run every `interval_s` with a timeout of `timeout_s`.
pub(crate) async fn target_group_checked_every(
    env: &Env,
    name: &str,
    interval_s: i32,
    timeout_s: i32,
) -> String {
    let created = env
        .elb
        .create_target_group()
        .name(name)
        .protocol(ProtocolEnum::Http)
        .port(8080)
        .vpc_id("vpc-0ec5100000000000d")
        .target_type(TargetTypeEnum::Ip)
        .health_check_path("/health")
        .health_check_interval_seconds(interval_s)
        .health_check_timeout_seconds(timeout_s)
        .healthy_threshold_count(2)
        .unhealthy_threshold_count(2)
        .send()
        .await
        .expect("CreateTargetGroup");
    let arn = created.target_groups()[0].target_group_arn().unwrap().to_string();
    env.elb
        .modify_target_group_attributes()
        .target_group_arn(&arn)
        .attributes(
            TargetGroupAttribute::builder()
                .key("deregistration_delay.timeout_seconds")
                .value("0")
                .build(),
        )
        .send()
        .await
        .expect("ModifyTargetGroupAttributes");
    arn
}

/// An HTTP listener on `port` forwarding everything to `tg`.
pub(crate) async fn listener(env: &Env, lb: &str, port: i32, tg: &str) -> String {
    env.elb
        .create_listener()
        .load_balancer_arn(lb)
        .protocol(ProtocolEnum::Http)
        .port(port)
        .default_actions(forward_weighted(&[(tg, 1)]))
        .send()
        .await
        .expect("CreateListener")
        .listeners()[0]
        .listener_arn()
        .unwrap()
        .to_string()
}

/// An ALB with a production (80) and test (8080) listener on the blue target group, a
/// CODE_DEPLOY service `web` of `desired` v1 tasks that is stable, and task definition v2
/// (`v2_env` for its behaviour) registered.
pub(crate) async fn blue_green_service(env: &Env, desired: i32, v2_env: &[(&str, &str)]) -> BlueGreen {
    let lb = load_balancer(env, "web").await;
    let blue_tg = target_group(env, "web-blue").await;
    let green_tg = target_group(env, "web-green").await;
    let prod_listener = listener(env, &lb, 80, &blue_tg).await;
    let test_listener = listener(env, &lb, 8080, &blue_tg).await;
    env.ecs
        .create_cluster()
        .cluster_name("cd")
        .send()
        .await
        .expect("CreateCluster");
    fargate_task_definition(&env.ecs, "web", &[("ECSIM_VERSION", "v1")])
        .send()
        .await
        .expect("RegisterTaskDefinition v1");
    env.ecs
        .create_service()
        .cluster("cd")
        .service_name("web")
        .task_definition("web:1")
        .desired_count(desired)
        .launch_type(LaunchType::Fargate)
        .deployment_controller(
            DeploymentController::builder()
                .r#type(DeploymentControllerType::CodeDeploy)
                .build()
                .unwrap(),
        )
        .network_configuration(awsvpc(&[
            default_subnet('a'),
            default_subnet('b'),
            default_subnet('c'),
        ]))
        .load_balancers(
            LoadBalancer::builder()
                .target_group_arn(&blue_tg)
                .container_name("web")
                .container_port(8080)
                .build(),
        )
        .send()
        .await
        .expect("CreateService");
    let mut v2 = vec![("ECSIM_VERSION", "v2")];
    v2.extend_from_slice(v2_env);
    fargate_task_definition(&env.ecs, "web", &v2)
        .send()
        .await
        .expect("RegisterTaskDefinition v2");
    wait_task_sets_steady(env).await;
    let dns_name = env
        .elb
        .describe_load_balancers()
        .send()
        .await
        .unwrap()
        .load_balancers()[0]
        .dns_name()
        .unwrap()
        .to_string();
    BlueGreen {
        prod_listener,
        test_listener,
        blue_tg,
        green_tg,
        dns_name,
    }
}

/// Advances the clock until every task set of `web` is STEADY_STATE.
async fn wait_task_sets_steady(env: &Env) {
    for _ in 0..600 {
        let sets = task_sets(env).await;
        if !sets.is_empty()
            && sets
                .iter()
                .all(|s| s.stability_status() == Some(&aws_sdk_ecs::types::StabilityStatus::SteadyState))
        {
            return;
        }
        env.clock().advance(Duration::from_secs(1));
    }
    panic!("the task sets never became stable: {:?}", task_sets(env).await);
}

pub(crate) async fn task_sets(env: &Env) -> Vec<aws_sdk_ecs::types::TaskSet> {
    env.ecs
        .describe_services()
        .cluster("cd")
        .services("web")
        .send()
        .await
        .unwrap()
        .services()[0]
        .task_sets()
        .to_vec()
}

/// The application `app` and its group `dg` for `web`, with `config` and the group options.
pub(crate) async fn application_and_group(
    env: &Env,
    bg: &BlueGreen,
    config: &str,
    termination_wait_minutes: i32,
    alarms: &[&str],
    ready_wait_minutes: Option<i32>,
) {
    application_and_group_named(
        env,
        ("app", "dg"),
        bg,
        config,
        termination_wait_minutes,
        alarms,
        ready_wait_minutes,
    )
    .await;
}

/// The application and deployment group (`names`) for `web`, with `config` and the options.
pub(crate) async fn application_and_group_named(
    env: &Env,
    names: (&str, &str),
    bg: &BlueGreen,
    config: &str,
    termination_wait_minutes: i32,
    alarms: &[&str],
    ready_wait_minutes: Option<i32>,
) {
    let (app, group) = names;
    env.cd
        .create_application()
        .application_name(app)
        .compute_platform(ComputePlatform::Ecs)
        .send()
        .await
        .expect("CreateApplication");
    let ready = match ready_wait_minutes {
        Some(m) => DeploymentReadyOption::builder()
            .action_on_timeout(DeploymentReadyAction::StopDeployment)
            .wait_time_in_minutes(m)
            .build(),
        None => DeploymentReadyOption::builder()
            .action_on_timeout(DeploymentReadyAction::ContinueDeployment)
            .build(),
    };
    let mut alarm_config = AlarmConfiguration::builder().enabled(!alarms.is_empty());
    for a in alarms {
        alarm_config = alarm_config.alarms(aws_sdk_codedeploy::types::Alarm::builder().name(*a).build());
    }
    env.cd
        .create_deployment_group()
        .application_name(app)
        .deployment_group_name(group)
        .service_role_arn("arn:aws:iam::000000000000:role/codedeploy")
        .deployment_config_name(config)
        .ecs_services(
            EcsService::builder()
                .cluster_name("cd")
                .service_name("web")
                .build(),
        )
        .deployment_style(
            DeploymentStyle::builder()
                .deployment_type(DeploymentType::BlueGreen)
                .deployment_option(DeploymentOption::WithTrafficControl)
                .build(),
        )
        .blue_green_deployment_configuration(
            BlueGreenDeploymentConfiguration::builder()
                .deployment_ready_option(ready)
                .terminate_blue_instances_on_deployment_success(
                    aws_sdk_codedeploy::types::BlueInstanceTerminationOption::builder()
                        .action(InstanceAction::Terminate)
                        .termination_wait_time_in_minutes(termination_wait_minutes)
                        .build(),
                )
                .build(),
        )
        .load_balancer_info(
            LoadBalancerInfo::builder()
                .target_group_pair_info_list(
                    TargetGroupPairInfo::builder()
                        .target_groups(TargetGroupInfo::builder().name("web-blue").build())
                        .target_groups(TargetGroupInfo::builder().name("web-green").build())
                        .prod_traffic_route(TrafficRoute::builder().listener_arns(&bg.prod_listener).build())
                        .test_traffic_route(TrafficRoute::builder().listener_arns(&bg.test_listener).build())
                        .build(),
                )
                .build(),
        )
        .alarm_configuration(alarm_config.build())
        .auto_rollback_configuration(
            AutoRollbackConfiguration::builder()
                .enabled(true)
                .events(AutoRollbackEvent::DeploymentFailure)
                .events(AutoRollbackEvent::DeploymentStopOnAlarm)
                .build(),
        )
        .send()
        .await
        .expect("CreateDeploymentGroup");
}

pub(crate) fn appspec(task_definition: &str, hooks: &[(&str, &str)]) -> String {
    let hooks: Vec<serde_json::Value> = hooks.iter().map(|(event, f)| json!({ *event: f })).collect();
    json!({
        "version": 0.0,
        "Resources": [{"TargetService": {"Type": "AWS::ECS::Service", "Properties": {
            "TaskDefinition": task_definition,
            "LoadBalancerInfo": {"ContainerName": "web", "ContainerPort": 8080}
        }}}],
        "Hooks": hooks,
    })
    .to_string()
}

pub(crate) async fn deploy(env: &Env, content: &str) -> String {
    env.cd
        .create_deployment()
        .application_name("app")
        .deployment_group_name("dg")
        .revision(
            RevisionLocation::builder()
                .revision_type(RevisionLocationType::AppSpecContent)
                .app_spec_content(
                    aws_sdk_codedeploy::types::AppSpecContent::builder()
                        .content(content)
                        .build(),
                )
                .build(),
        )
        .send()
        .await
        .expect("CreateDeployment")
        .deployment_id()
        .unwrap()
        .to_string()
}

pub(crate) async fn deployment(env: &Env, id: &str) -> aws_sdk_codedeploy::types::DeploymentInfo {
    env.cd
        .get_deployment()
        .deployment_id(id)
        .send()
        .await
        .unwrap()
        .deployment_info()
        .unwrap()
        .clone()
}

/// The forward weights of a listener's default action, by target group ARN.
pub(crate) async fn weights(env: &Env, listener: &str) -> Vec<(String, i32)> {
    let described = env
        .elb
        .describe_listeners()
        .listener_arns(listener)
        .send()
        .await
        .unwrap();
    described.listeners()[0].default_actions()[0]
        .forward_config()
        .unwrap()
        .target_groups()
        .iter()
        .map(|t| (t.target_group_arn().unwrap().to_string(), t.weight().unwrap_or(1)))
        .collect()
}

/// Percent of production traffic on the green target group.
async fn green_pct(env: &Env, bg: &BlueGreen) -> i32 {
    let w = weights(env, &bg.prod_listener).await;
    let total: i32 = w.iter().map(|(_, x)| x).sum();
    let green: i32 = w
        .iter()
        .filter(|(tg, _)| *tg == bg.green_tg)
        .map(|(_, x)| x)
        .sum();
    assert!(total > 0, "{w:?}");
    green * 100 / total
}

async fn lifecycle(env: &Env, id: &str) -> Vec<(String, LifecycleEventStatus)> {
    let target = env
        .cd
        .get_deployment_target()
        .deployment_id(id)
        .target_id("cd:web")
        .send()
        .await
        .unwrap();
    target
        .deployment_target()
        .unwrap()
        .ecs_target()
        .unwrap()
        .lifecycle_events()
        .iter()
        .map(|e| {
            (
                e.lifecycle_event_name().unwrap().to_string(),
                e.status().unwrap().clone(),
            )
        })
        .collect()
}

/// Steps the clock one second at a time for `seconds`, recording (offset s, green %) at every
/// change of the production weights.
async fn record_weights(env: &Env, bg: &BlueGreen, seconds: u64) -> Vec<(u64, i32)> {
    let mut changes = Vec::new();
    let mut last = green_pct(env, bg).await;
    for s in 1..=seconds {
        env.clock().advance(Duration::from_secs(1));
        let now = green_pct(env, bg).await;
        if now != last {
            changes.push((s, now));
            last = now;
        }
    }
    changes
}

#[tokio::test]
async fn every_predefined_ecs_config_shifts_production_weights_on_its_schedule() {
    // (config, seconds to watch, expected (offset s, green %) changes)
    type Case = (&'static str, u64, Vec<(u64, i32)>);
    let cases: [Case; 5] = [
        ("CodeDeployDefault.ECSAllAtOnce", 60, vec![(0, 100)]),
        (
            "CodeDeployDefault.ECSCanary10Percent5Minutes",
            400,
            vec![(0, 10), (300, 100)],
        ),
        (
            "CodeDeployDefault.ECSCanary10Percent15Minutes",
            1_000,
            vec![(0, 10), (900, 100)],
        ),
        (
            "CodeDeployDefault.ECSLinear10PercentEvery1Minutes",
            700,
            (0..10)
                .map(|i| (i * 60, i32::try_from(i + 1).unwrap() * 10))
                .collect(),
        ),
        (
            "CodeDeployDefault.ECSLinear10PercentEvery3Minutes",
            1_700,
            (0..10)
                .map(|i| (i * 180, i32::try_from(i + 1).unwrap() * 10))
                .collect(),
        ),
    ];
    for (config, seconds, expected) in cases {
        let env = common::start(ClockMode::Virtual).await;
        let bg = blue_green_service(&env, 3, &[]).await;
        application_and_group(&env, &bg, config, 0, &[], None).await;
        let id = deploy(&env, &appspec("web:2", &[])).await;
        let changes = record_weights(&env, &bg, seconds).await;
        assert!(!changes.is_empty(), "{config}: nothing shifted");
        // Offsets from the first shift, which comes once the replacement is healthy.
        let first = changes[0].0;
        let relative: Vec<(u64, i32)> = changes.iter().map(|(s, w)| (s - first, *w)).collect();
        assert_eq!(relative, expected, "{config}");
        let info = deployment(&env, &id).await;
        assert_eq!(info.status(), Some(&DeploymentStatus::Succeeded), "{config}");
        assert_eq!(info.deployment_config_name(), Some(config));
        let sets = task_sets(&env).await;
        assert_eq!(sets.len(), 1, "{config}: the original task set is gone: {sets:?}");
        assert_eq!(sets[0].task_definition().unwrap().rsplit(':').next(), Some("2"));
        assert_eq!(sets[0].status(), Some("PRIMARY"));
        assert_eq!(sets[0].external_id(), Some(id.as_str()));
    }
}

#[tokio::test]
async fn a_deployment_waits_for_the_termination_time_before_the_original_goes() {
    let env = common::start(ClockMode::Virtual).await;
    let bg = blue_green_service(&env, 3, &[]).await;
    application_and_group(&env, &bg, "CodeDeployDefault.ECSAllAtOnce", 5, &[], None).await;
    let id = deploy(&env, &appspec("web:2", &[])).await;
    let sets = task_sets(&env).await;
    assert_eq!(
        sets.len(),
        2,
        "the replacement exists when CreateDeployment answers"
    );
    assert_eq!(sets[1].status(), Some("ACTIVE"));
    assert_eq!(sets[1].started_by(), Some("CODE_DEPLOY"));
    // Install, test traffic and the shift.
    let changes = record_weights(&env, &bg, 60).await;
    assert_eq!(changes.last().map(|c| c.1), Some(100));
    assert_eq!(
        weights(&env, &bg.test_listener).await,
        [(bg.blue_tg.clone(), 0), (bg.green_tg.clone(), 100)],
        "test traffic went to green first"
    );
    let info = deployment(&env, &id).await;
    assert_eq!(
        info.status(),
        Some(&DeploymentStatus::InProgress),
        "termination wait"
    );
    assert!(info.instance_termination_wait_time_started());
    let sets = task_sets(&env).await;
    let statuses: Vec<&str> = sets.iter().filter_map(|s| s.status()).collect();
    assert_eq!(
        statuses,
        ["ACTIVE", "PRIMARY"],
        "green serves production, blue waits"
    );
    let events = lifecycle(&env, &id).await;
    assert!(
        events.iter().all(|(_, s)| *s == LifecycleEventStatus::Succeeded),
        "{events:?}"
    );
    let names: Vec<&str> = events.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(
        names,
        [
            "BeforeInstall",
            "Install",
            "AfterInstall",
            "AllowTestTraffic",
            "AfterAllowTestTraffic",
            "BeforeAllowTraffic",
            "AllowTraffic",
            "AfterAllowTraffic"
        ]
    );
    env.clock().advance(Duration::from_secs(4 * 60));
    assert_eq!(
        deployment(&env, &id).await.status(),
        Some(&DeploymentStatus::InProgress)
    );
    // The waiter polls (virtual sleeps) until the wait is over and the original is deleted.
    env.cd
        .wait_until_deployment_successful()
        .deployment_id(&id)
        .wait(Duration::from_secs(1_800))
        .await
        .expect("deployment successful");
    let info = deployment(&env, &id).await;
    let took = info.complete_time().unwrap().secs() - info.create_time().unwrap().secs();
    assert!((300..=360).contains(&took), "took {took} s");
    env.clock().advance(Duration::from_secs(30));
    let sets = task_sets(&env).await;
    assert_eq!(sets.len(), 1, "{sets:?}");
    let group = env
        .cd
        .get_deployment_group()
        .application_name("app")
        .deployment_group_name("dg")
        .send()
        .await
        .unwrap();
    let info = group.deployment_group_info().unwrap();
    assert_eq!(
        info.last_successful_deployment().and_then(|d| d.deployment_id()),
        Some(id.as_str())
    );
}

#[tokio::test]
#[allow(deprecated)] // the deprecated operation is still served, as on AWS
async fn skip_wait_time_for_instance_termination_ends_the_termination_wait_early() {
    let env = common::start(ClockMode::Virtual).await;
    let bg = blue_green_service(&env, 3, &[]).await;
    application_and_group(&env, &bg, "CodeDeployDefault.ECSAllAtOnce", 60, &[], None).await;
    let id = deploy(&env, &appspec("web:2", &[])).await;
    // Asked before the wait began: the original goes as soon as traffic has moved.
    env.cd
        .skip_wait_time_for_instance_termination()
        .deployment_id(&id)
        .send()
        .await
        .expect("SkipWaitTimeForInstanceTermination");
    env.cd
        .wait_until_deployment_successful()
        .deployment_id(&id)
        .wait(Duration::from_secs(1_800))
        .await
        .expect("deployment successful");
    let info = deployment(&env, &id).await;
    let took = info.complete_time().unwrap().secs() - info.create_time().unwrap().secs();
    assert!(took < 300, "no 60-minute wait: took {took} s");
    let e = env
        .cd
        .skip_wait_time_for_instance_termination()
        .deployment_id(&id)
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&e), "DeploymentAlreadyCompletedException");
}

fn appspec_revision(content: &str, sha256: Option<&str>) -> RevisionLocation {
    RevisionLocation::builder()
        .revision_type(RevisionLocationType::AppSpecContent)
        .app_spec_content(
            aws_sdk_codedeploy::types::AppSpecContent::builder()
                .content(content)
                .set_sha256(sha256.map(str::to_string))
                .build(),
        )
        .build()
}

fn s3_revision(bucket: &str, key: &str) -> RevisionLocation {
    RevisionLocation::builder()
        .revision_type(RevisionLocationType::S3)
        .s3_location(
            aws_sdk_codedeploy::types::S3Location::builder()
                .bucket(bucket)
                .key(key)
                .bundle_type(aws_sdk_codedeploy::types::BundleType::Zip)
                .build(),
        )
        .build()
}

#[tokio::test]
async fn application_revisions_are_registered_used_by_deployments_and_listed() {
    use aws_sdk_codedeploy::types::{ApplicationRevisionSortBy, ListStateFilterAction, SortOrder};
    let env = common::start(ClockMode::Virtual).await;
    let bg = blue_green_service(&env, 2, &[]).await;
    application_and_group(&env, &bg, "CodeDeployDefault.ECSAllAtOnce", 0, &[], None).await;
    let v2 = appspec("web:2", &[]);
    env.cd
        .register_application_revision()
        .application_name("app")
        .description("web v2")
        .revision(appspec_revision(&v2, None))
        .send()
        .await
        .expect("RegisterApplicationRevision");
    let got = env
        .cd
        .get_application_revision()
        .application_name("app")
        .revision(appspec_revision(&v2, None))
        .send()
        .await
        .expect("GetApplicationRevision");
    let info = got.revision_info().unwrap();
    assert_eq!(info.description(), Some("web v2"));
    assert!(info.register_time().is_some());
    assert!(info.first_used_time().is_none(), "not used yet");
    assert!(info.deployment_groups().is_empty());

    env.clock().advance(Duration::from_secs(60));
    let id = deploy(&env, &v2).await;
    env.cd
        .wait_until_deployment_successful()
        .deployment_id(&id)
        .wait(Duration::from_secs(1_800))
        .await
        .expect("deployment successful");
    // The same content with its sha256 is the same revision.
    let got = env
        .cd
        .get_application_revision()
        .application_name("app")
        .revision(appspec_revision(&v2, Some("0123")))
        .send()
        .await
        .expect("GetApplicationRevision");
    let info = got.revision_info().unwrap();
    assert_eq!(info.deployment_groups(), ["dg"], "the group's target revision");
    let (registered, first_used) = (info.register_time().unwrap(), info.first_used_time().unwrap());
    assert_eq!(first_used.secs() - registered.secs(), 60);
    assert_eq!(info.description(), Some("web v2"));

    env.clock().advance(Duration::from_secs(1));
    env.cd
        .register_application_revision()
        .application_name("app")
        .revision(s3_revision("artifacts", "web/v3.zip"))
        .send()
        .await
        .expect("RegisterApplicationRevision S3");
    let list = |deployed: Option<ListStateFilterAction>| {
        env.cd
            .list_application_revisions()
            .application_name("app")
            .set_deployed(deployed)
            .sort_by(ApplicationRevisionSortBy::RegisterTime)
            .sort_order(SortOrder::Descending)
            .send()
    };
    let all = list(None).await.unwrap();
    let types: Vec<_> = all
        .revisions()
        .iter()
        .filter_map(|r| r.revision_type())
        .cloned()
        .collect();
    assert_eq!(
        types,
        [RevisionLocationType::S3, RevisionLocationType::AppSpecContent],
        "newest registration first"
    );
    let deployed = list(Some(ListStateFilterAction::Include)).await.unwrap();
    assert_eq!(deployed.revisions().len(), 1);
    assert_eq!(
        deployed.revisions()[0].revision_type(),
        Some(&RevisionLocationType::AppSpecContent)
    );
    let not_deployed = list(Some(ListStateFilterAction::Exclude)).await.unwrap();
    assert_eq!(not_deployed.revisions().len(), 1);
    assert_eq!(
        not_deployed.revisions()[0].revision_type(),
        Some(&RevisionLocationType::S3)
    );
    let in_bucket = env
        .cd
        .list_application_revisions()
        .application_name("app")
        .s3_bucket("artifacts")
        .s3_key_prefix("web/")
        .send()
        .await
        .unwrap();
    assert_eq!(in_bucket.revisions().len(), 1);
    let e = env
        .cd
        .list_application_revisions()
        .application_name("app")
        .s3_key_prefix("web/")
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&e), "BucketNameFilterRequiredException");

    let batch = env
        .cd
        .batch_get_application_revisions()
        .application_name("app")
        .revisions(appspec_revision(&v2, None))
        .revisions(s3_revision("artifacts", "missing.zip"))
        .send()
        .await
        .expect("BatchGetApplicationRevisions");
    assert_eq!(batch.revisions().len(), 1);
    assert!(
        batch.error_message().is_some_and(|m| m.contains("1 of")),
        "{batch:?}"
    );
    let e = env
        .cd
        .get_application_revision()
        .application_name("app")
        .revision(s3_revision("artifacts", "missing.zip"))
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&e), "RevisionDoesNotExistException");
    let e = env
        .cd
        .register_application_revision()
        .application_name("nope")
        .revision(s3_revision("artifacts", "web/v3.zip"))
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&e), "ApplicationDoesNotExistException");
    // The state export carries them with the application.
    let (status, state) = admin(&env, Method::GET, "/_ecsim/state", None).await;
    assert_eq!(status, 200);
    let revisions = &state["worlds"][0]["codedeploy"]["applications"][0]["revisions"];
    assert_eq!(revisions.as_array().map(Vec::len), Some(2), "{revisions}");
    assert!(
        revisions
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r["genericRevisionInfo"]["deploymentGroups"] == json!(["dg"])),
        "{revisions}"
    );
}

async fn put_5xx_alarm(env: &Env, bg: &BlueGreen) {
    use aws_sdk_cloudwatch::types::{ComparisonOperator, Dimension, Statistic};
    let lb_arn = env
        .elb
        .describe_load_balancers()
        .send()
        .await
        .unwrap()
        .load_balancers()[0]
        .load_balancer_arn()
        .unwrap()
        .to_string();
    let lb_dim = lb_arn.split_once(":loadbalancer/").unwrap().1.to_string();
    let tg_dim = bg.green_tg.rsplit_once(':').unwrap().1.to_string();
    env.cw
        .put_metric_alarm()
        .alarm_name("green-5xx")
        .namespace("AWS/ApplicationELB")
        .metric_name("HTTPCode_Target_5XX_Count")
        .dimensions(Dimension::builder().name("TargetGroup").value(tg_dim).build())
        .dimensions(Dimension::builder().name("LoadBalancer").value(lb_dim).build())
        .statistic(Statistic::Sum)
        .period(60)
        .evaluation_periods(1)
        .threshold(5.0)
        .comparison_operator(ComparisonOperator::GreaterThanThreshold)
        .treat_missing_data("notBreaching")
        .send()
        .await
        .expect("PutMetricAlarm");
}

async fn custom_canary(env: &Env, name: &str, percentage: i32, minutes: i32) {
    use aws_sdk_codedeploy::types::{TimeBasedCanary, TrafficRoutingConfig, TrafficRoutingType};
    env.cd
        .create_deployment_config()
        .deployment_config_name(name)
        .compute_platform(ComputePlatform::Ecs)
        .traffic_routing_config(
            TrafficRoutingConfig::builder()
                .r#type(TrafficRoutingType::TimeBasedCanary)
                .time_based_canary(
                    TimeBasedCanary::builder()
                        .canary_percentage(percentage)
                        .canary_interval(minutes)
                        .build(),
                )
                .build(),
        )
        .send()
        .await
        .expect("CreateDeploymentConfig");
}

/// The rolled-back deployment: Stopped with ALARM_ACTIVE, a rollback deployment that
/// succeeded, production back on blue, the replacement gone.
async fn assert_rolled_back_on_alarm(env: &Env, bg: &BlueGreen, id: &str) {
    let info = deployment(env, id).await;
    assert_eq!(info.status(), Some(&DeploymentStatus::Stopped));
    let error = info.error_information().unwrap();
    assert_eq!(
        error.code(),
        Some(&aws_sdk_codedeploy::types::ErrorCode::AlarmActive)
    );
    assert!(error.message().unwrap().contains("green-5xx"), "{error:?}");
    let rollback_id = info
        .rollback_info()
        .and_then(|r| r.rollback_deployment_id())
        .expect("a rollback deployment")
        .to_string();
    assert_eq!(
        weights(env, &bg.prod_listener).await,
        [(bg.blue_tg.clone(), 100), (bg.green_tg.clone(), 0)],
        "production back on blue"
    );
    env.clock().advance(Duration::from_secs(30));
    let rollback = deployment(env, &rollback_id).await;
    assert_eq!(rollback.status(), Some(&DeploymentStatus::Succeeded));
    assert_eq!(
        rollback.creator(),
        Some(&aws_sdk_codedeploy::types::DeploymentCreator::CodeDeployRollback)
    );
    assert_eq!(
        rollback
            .rollback_info()
            .and_then(|r| r.rollback_triggering_deployment_id()),
        Some(id)
    );
    let sets = task_sets(env).await;
    assert_eq!(sets.len(), 1, "the replacement is gone: {sets:?}");
    assert_eq!(sets[0].task_definition().unwrap().rsplit(':').next(), Some("1"));
    assert_eq!(sets[0].status(), Some("PRIMARY"));
}

#[tokio::test]
async fn real_5xx_on_green_fire_the_alarm_mid_canary_and_traffic_returns_to_blue() {
    let env = common::start(ClockMode::Virtual).await;
    let bg = blue_green_service(&env, 4, &[("ECSIM_ERROR_RATE", "0.5")]).await;
    put_5xx_alarm(&env, &bg).await;
    custom_canary(&env, "Canary25Percent10Minutes", 25, 10).await;
    application_and_group(&env, &bg, "Canary25Percent10Minutes", 0, &["green-5xx"], None).await;
    let (status, run) = admin(
        &env,
        Method::POST,
        "/_ecsim/traffic",
        Some(json!({"loadBalancer": bg.dns_name, "requestsPerSecond": 20, "durationSeconds": 900})),
    )
    .await;
    assert_eq!(status, 200, "{run}");
    let id = deploy(&env, &appspec("web:2", &[])).await;
    let changes = record_weights(&env, &bg, 240).await;
    assert_eq!(changes.first().map(|c| c.1), Some(25), "{changes:?}");
    assert_eq!(
        changes.last().map(|c| c.1),
        Some(0),
        "the alarm fired within the canary: {changes:?}"
    );
    let shifted_for = changes.last().unwrap().0 - changes[0].0;
    assert!(shifted_for < 180, "rolled back {shifted_for} s after the shift");
    assert_rolled_back_on_alarm(&env, &bg, &id).await;
}

/// Live tasks of `web` whose task definition ends with `revision`.
async fn live_tasks_of(env: &Env, revision: &str) -> Vec<String> {
    common::live_task_arns(&env.ecs, "cd", "web", revision).await
}

#[tokio::test]
async fn an_original_task_that_stops_mid_canary_is_replaced_in_its_task_set() {
    let env = common::start(ClockMode::Virtual).await;
    let bg = blue_green_service(&env, 4, &[]).await;
    custom_canary(&env, "Canary25Percent10Minutes", 25, 10).await;
    application_and_group(&env, &bg, "Canary25Percent10Minutes", 0, &[], None).await;
    let id = deploy(&env, &appspec("web:2", &[])).await;
    for _ in 0..900 {
        if green_pct(&env, &bg).await == 25 {
            break;
        }
        env.clock().advance(Duration::from_secs(1));
    }
    assert_eq!(green_pct(&env, &bg).await, 25, "the canary shifted");

    // The original task set still serves 75% of production: a task of it that stops is
    // replaced, as for any task set below its computed desired count.
    let originals = live_tasks_of(&env, "web:1").await;
    assert_eq!(originals.len(), 4);
    env.ecs
        .stop_task()
        .cluster("cd")
        .task(&originals[0])
        .reason("an original task dies")
        .send()
        .await
        .expect("StopTask");
    env.clock().advance(Duration::from_secs(60));
    let now = live_tasks_of(&env, "web:1").await;
    assert_eq!(now.len(), 4, "the original task set is back to its count");
    assert!(!now.contains(&originals[0]), "the stopped task is not counted");
    assert_eq!(green_pct(&env, &bg).await, 25, "the canary holds its share");
    assert_eq!(
        deployment(&env, &id).await.status(),
        Some(&DeploymentStatus::InProgress)
    );

    env.clock().advance(Duration::from_secs(10 * 60));
    assert_eq!(
        deployment(&env, &id).await.status(),
        Some(&DeploymentStatus::Succeeded)
    );
    assert_eq!(green_pct(&env, &bg).await, 100);
}

#[tokio::test]
async fn a_forced_alarm_rolls_the_canary_back() {
    let env = common::start(ClockMode::Virtual).await;
    let bg = blue_green_service(&env, 3, &[]).await;
    put_5xx_alarm(&env, &bg).await;
    application_and_group(
        &env,
        &bg,
        "CodeDeployDefault.ECSCanary10Percent15Minutes",
        0,
        &["green-5xx"],
        None,
    )
    .await;
    let id = deploy(&env, &appspec("web:2", &[])).await;
    let changes = record_weights(&env, &bg, 120).await;
    assert_eq!(changes, [(changes[0].0, 10)], "canary traffic only");
    let (status, fault) = admin(
        &env,
        Method::POST,
        "/_ecsim/faults",
        Some(json!({"type": "alarmState", "alarmName": "green-5xx", "state": "ALARM"})),
    )
    .await;
    assert!(status == 200 || status == 201, "{fault}");
    env.clock().advance(Duration::from_secs(11));
    assert_rolled_back_on_alarm(&env, &bg, &id).await;
}

#[tokio::test]
async fn a_hook_without_a_stand_in_fails_the_deployment_and_rolls_back() {
    let env = common::start(ClockMode::Virtual).await;
    let bg = blue_green_service(&env, 2, &[]).await;
    application_and_group(&env, &bg, "CodeDeployDefault.ECSAllAtOnce", 0, &[], None).await;
    let id = deploy(
        &env,
        &appspec(
            "web:2",
            &[(
                "AfterAllowTestTraffic",
                "arn:aws:lambda:us-east-1:000000000000:function:smoke",
            )],
        ),
    )
    .await;
    for _ in 0..120 {
        if deployment(&env, &id).await.status() != Some(&DeploymentStatus::InProgress) {
            break;
        }
        env.clock().advance(Duration::from_secs(1));
    }
    let info = deployment(&env, &id).await;
    assert_eq!(info.status(), Some(&DeploymentStatus::Failed));
    let error = info.error_information().unwrap();
    assert_eq!(
        error.code(),
        Some(&aws_sdk_codedeploy::types::ErrorCode::HookExecutionFailure)
    );
    assert!(error.message().unwrap().contains("smoke"), "{error:?}");
    let events = lifecycle(&env, &id).await;
    assert!(
        events.contains(&("AfterAllowTestTraffic".into(), LifecycleEventStatus::Failed)),
        "{events:?}"
    );
    assert!(
        events.contains(&("BeforeAllowTraffic".into(), LifecycleEventStatus::Pending)),
        "{events:?}"
    );
    assert!(
        info.rollback_info()
            .and_then(|r| r.rollback_deployment_id())
            .is_some()
    );
    assert_eq!(
        weights(&env, &bg.test_listener).await,
        [(bg.blue_tg.clone(), 1)],
        "the test listener is restored as it was"
    );
    env.clock().advance(Duration::from_secs(30));
    assert_eq!(task_sets(&env).await.len(), 1);
}

#[tokio::test]
async fn stop_deployment_with_and_without_rollback() {
    for rollback in [true, false] {
        let env = common::start(ClockMode::Virtual).await;
        let bg = blue_green_service(&env, 2, &[]).await;
        application_and_group(
            &env,
            &bg,
            "CodeDeployDefault.ECSLinear10PercentEvery1Minutes",
            0,
            &[],
            None,
        )
        .await;
        let id = deploy(&env, &appspec("web:2", &[])).await;
        let changes = record_weights(&env, &bg, 150).await;
        assert!(changes.len() >= 2, "{changes:?}");
        let stopped = env
            .cd
            .stop_deployment()
            .deployment_id(&id)
            .auto_rollback_enabled(rollback)
            .send()
            .await
            .unwrap();
        assert_eq!(
            stopped.status(),
            Some(&aws_sdk_codedeploy::types::StopStatus::Succeeded)
        );
        let info = deployment(&env, &id).await;
        assert_eq!(info.status(), Some(&DeploymentStatus::Stopped));
        assert_eq!(
            info.error_information().and_then(|e| e.code()),
            Some(&aws_sdk_codedeploy::types::ErrorCode::ManualStop)
        );
        let green = green_pct(&env, &bg).await;
        env.clock().advance(Duration::from_secs(120));
        if rollback {
            assert_eq!(green, 0, "traffic back on blue");
            assert_eq!(task_sets(&env).await.len(), 1);
        } else {
            assert_eq!(green, changes.last().unwrap().1, "traffic stays where it was");
            assert_eq!(green_pct(&env, &bg).await, green, "and nothing moves it further");
            assert_eq!(task_sets(&env).await.len(), 2, "both task sets stay");
            assert!(info.rollback_info().is_none());
        }
        let again = env
            .cd
            .stop_deployment()
            .deployment_id(&id)
            .send()
            .await
            .unwrap_err();
        assert_eq!(common::code(&again), "DeploymentAlreadyCompletedException");
    }
}

#[tokio::test]
async fn a_ready_wait_holds_production_until_continue_deployment() {
    let env = common::start(ClockMode::Virtual).await;
    let bg = blue_green_service(&env, 2, &[]).await;
    application_and_group(&env, &bg, "CodeDeployDefault.ECSAllAtOnce", 0, &[], Some(30)).await;
    let id = deploy(&env, &appspec("web:2", &[])).await;
    let refused = env
        .cd
        .continue_deployment()
        .deployment_id(&id)
        .deployment_wait_type(DeploymentWaitType::ReadyWait)
        .send()
        .await
        .unwrap_err();
    assert_eq!(common::code(&refused), "DeploymentIsNotInReadyStateException");
    env.clock().advance(Duration::from_secs(60));
    assert_eq!(
        deployment(&env, &id).await.status(),
        Some(&DeploymentStatus::Ready)
    );
    assert_eq!(green_pct(&env, &bg).await, 0, "production waits");
    assert_eq!(
        weights(&env, &bg.test_listener).await,
        [(bg.blue_tg.clone(), 0), (bg.green_tg.clone(), 100)]
    );
    let second = env
        .cd
        .create_deployment()
        .application_name("app")
        .deployment_group_name("dg")
        .revision(
            RevisionLocation::builder()
                .revision_type(RevisionLocationType::AppSpecContent)
                .app_spec_content(
                    aws_sdk_codedeploy::types::AppSpecContent::builder()
                        .content(appspec("web:2", &[]))
                        .build(),
                )
                .build(),
        )
        .send()
        .await
        .unwrap_err();
    assert_eq!(common::code(&second), "DeploymentLimitExceededException");
    env.cd
        .continue_deployment()
        .deployment_id(&id)
        .deployment_wait_type(DeploymentWaitType::ReadyWait)
        .send()
        .await
        .expect("ContinueDeployment");
    assert_eq!(green_pct(&env, &bg).await, 100);
    env.clock().advance(Duration::from_secs(5));
    assert_eq!(
        deployment(&env, &id).await.status(),
        Some(&DeploymentStatus::Succeeded)
    );
}

#[tokio::test]
async fn an_unanswered_ready_wait_stops_the_deployment() {
    let env = common::start(ClockMode::Virtual).await;
    let bg = blue_green_service(&env, 2, &[]).await;
    application_and_group(&env, &bg, "CodeDeployDefault.ECSAllAtOnce", 0, &[], Some(10)).await;
    let id = deploy(&env, &appspec("web:2", &[])).await;
    env.clock().advance(Duration::from_secs(11 * 60));
    let info = deployment(&env, &id).await;
    assert_eq!(info.status(), Some(&DeploymentStatus::Stopped));
    assert_eq!(
        info.error_information().and_then(|e| e.code()),
        Some(&aws_sdk_codedeploy::types::ErrorCode::Timeout)
    );
    assert_eq!(green_pct(&env, &bg).await, 0);
}
