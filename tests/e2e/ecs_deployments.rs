//! Rolling deployments with an enforced circuit breaker, deployment alarms (through a test double
//! of the alarm interface CloudWatch will implement), and the service deployment history APIs.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use aws_sdk_ecs::client::Waiters;
use aws_sdk_ecs::types::{
    DeploymentAlarms, DeploymentCircuitBreaker, DeploymentConfiguration, DeploymentRolloutState, LaunchType,
    ServiceDeploymentRollbackMonitorsStatus as Monitor, ServiceDeploymentStatus,
    StopServiceDeploymentStopType,
};
use ecsim::{AlarmSource, AlarmState, ClockMode, Emulator};

use crate::common::{
    Env, awsvpc, code, default_subnet, fargate_task_definition, service_tasks, start, start_with,
};

/// Alarms whose state the test sets.
#[derive(Debug, Default)]
struct ManualAlarms(Mutex<BTreeMap<String, AlarmState>>);

impl ManualAlarms {
    fn set(&self, name: &str, state: AlarmState) {
        self.0.lock().unwrap().insert(name.to_string(), state);
    }
}

impl AlarmSource for ManualAlarms {
    fn state(&self, _account: &str, _region: &str, name: &str) -> Option<AlarmState> {
        self.0.lock().unwrap().get(name).copied()
    }
}

/// The `demo` cluster and `web:1` with `vars`.
async fn cluster_and_web1(env: &Env, vars: &[(&str, &str)]) {
    env.ecs
        .create_cluster()
        .cluster_name("demo")
        .send()
        .await
        .unwrap();
    fargate_task_definition(&env.ecs, "web", vars)
        .send()
        .await
        .unwrap();
}

async fn service_with(env: &Env, config: DeploymentConfiguration, desired: i32) {
    cluster_and_web1(env, &[("ECSIM_VERSION", "v1")]).await;
    create_web_service(env, config, desired).await;
}

/// The `web` service of `web:1` in `demo`, stable.
async fn create_web_service(env: &Env, config: DeploymentConfiguration, desired: i32) {
    env.ecs
        .create_service()
        .cluster("demo")
        .service_name("web")
        .task_definition("web:1")
        .desired_count(desired)
        .launch_type(LaunchType::Fargate)
        .network_configuration(awsvpc(
            &["a", "b"].map(|z| default_subnet(z.chars().next().unwrap())),
        ))
        .deployment_configuration(config)
        .send()
        .await
        .unwrap();
    wait_stable(env).await;
}

async fn wait_stable(env: &Env) {
    env.ecs
        .wait_until_services_stable()
        .cluster("demo")
        .services("web")
        .wait(Duration::from_secs(3600))
        .await
        .unwrap();
}

async fn service(env: &Env) -> aws_sdk_ecs::types::Service {
    env.ecs
        .describe_services()
        .cluster("demo")
        .services("web")
        .send()
        .await
        .unwrap()
        .services()[0]
        .clone()
}

/// Registers `web:2` with `vars` and updates the service to it.
async fn deploy_web2(
    env: &Env,
    vars: &[(&str, &str)],
) -> aws_sdk_ecs::operation::update_service::UpdateServiceOutput {
    crate::common::deploy_web_revision(&env.ecs, "demo", "web", "web:2", vars).await
}

fn breaker(rollback: bool) -> DeploymentConfiguration {
    DeploymentConfiguration::builder()
        .deployment_circuit_breaker(
            DeploymentCircuitBreaker::builder()
                .enable(true)
                .rollback(rollback)
                .build(),
        )
        .build()
}

async fn deployments(env: &Env) -> Vec<aws_sdk_ecs::types::ServiceDeployment> {
    let list = env
        .ecs
        .list_service_deployments()
        .cluster("demo")
        .service("web")
        .send()
        .await
        .unwrap();
    let arns: Vec<String> = list
        .service_deployments()
        .iter()
        .filter_map(|d| d.service_deployment_arn().map(String::from))
        .collect();
    let described = env
        .ecs
        .describe_service_deployments()
        .set_service_deployment_arns(Some(arns))
        .send()
        .await
        .unwrap();
    described.service_deployments().to_vec()
}

#[tokio::test]
async fn circuit_breaker_rolls_back_to_the_last_completed_revision() {
    let env = start(ClockMode::Virtual).await;
    service_with(&env, breaker(true), 4).await;
    let first_revision = deployments(&env).await[0]
        .target_service_revision()
        .unwrap()
        .arn()
        .unwrap()
        .to_string();
    let updated = deploy_web2(
        &env,
        &[("ECSIM_START_FAILURE", "CannotStartContainerError: boom")],
    )
    .await;
    let failing_id = updated.service().unwrap().deployments()[0]
        .id()
        .unwrap()
        .to_string();

    // Old tasks keep serving while the new ones fail; the breaker trips at the threshold (3).
    for _ in 0..20 {
        env.clock().advance(Duration::from_millis(500));
        let s = service(&env).await;
        assert!(
            s.running_count() >= 4,
            "minimumHealthyPercent holds while tasks fail"
        );
        let failing = s
            .deployments()
            .iter()
            .find(|d| d.id() == Some(failing_id.as_str()));
        if let Some(d) = failing {
            assert!(d.failed_tasks() <= 3);
        }
    }
    wait_stable(&env).await;
    let s = service(&env).await;
    assert_eq!(s.deployments().len(), 1);
    assert_ne!(
        s.deployments()[0].id(),
        Some(failing_id.as_str()),
        "the failed deployment is gone (rolled back)"
    );
    assert!(s.task_definition().unwrap().ends_with("web:1"));
    let messages: Vec<&str> = s.events().iter().filter_map(|e| e.message()).collect();
    assert!(
        messages
            .iter()
            .any(|m| m.contains(&failing_id) && m.contains("deployment failed")),
        "{messages:?}"
    );
    assert!(
        messages.iter().any(|m| m.contains("rolling back to deployment")),
        "{messages:?}"
    );

    let history = deployments(&env).await;
    assert_eq!(history.len(), 2, "newest first");
    let failed = &history[0];
    assert_eq!(
        failed.status(),
        Some(&ServiceDeploymentStatus::RollbackSuccessful)
    );
    let cb = failed.deployment_circuit_breaker().unwrap();
    assert_eq!(cb.status(), Some(&Monitor::Triggered));
    assert_eq!(cb.threshold(), 3);
    assert_eq!(
        failed.rollback().unwrap().service_revision_arn(),
        Some(first_revision.as_str())
    );
    assert_eq!(history[1].status(), Some(&ServiceDeploymentStatus::Successful));
    assert_eq!(
        history[1].deployment_circuit_breaker().unwrap().status(),
        Some(&Monitor::MonitoringComplete)
    );

    let revisions = env
        .ecs
        .describe_service_revisions()
        .service_revision_arns(failed.target_service_revision().unwrap().arn().unwrap())
        .service_revision_arns("arn:aws:ecs:us-east-1:000000000000:service-revision/demo/web/1")
        .send()
        .await
        .unwrap();
    assert!(
        revisions.service_revisions()[0]
            .task_definition()
            .unwrap()
            .ends_with("web:2")
    );
    assert_eq!(revisions.failures()[0].reason(), Some("MISSING"));
}

#[tokio::test]
async fn circuit_breaker_without_rollback_fails_and_keeps_the_old_tasks() {
    let env = start(ClockMode::Virtual).await;
    service_with(&env, breaker(false), 2).await;
    deploy_web2(
        &env,
        &[("ECSIM_START_FAILURE", "CannotStartContainerError: boom")],
    )
    .await;
    env.clock().advance(Duration::from_secs(60));
    let s = service(&env).await;
    assert_eq!(
        s.deployments()[0].rollout_state(),
        Some(&DeploymentRolloutState::Failed)
    );
    let failed = s.deployments()[0].failed_tasks();
    assert!(
        (3..=4).contains(&failed),
        "tripped at the threshold of 3 (two tasks fail per round): {failed}"
    );
    assert_eq!(s.running_count(), 2, "the old revision keeps running");
    let tasks_before = env
        .ecs
        .list_tasks()
        .cluster("demo")
        .desired_status(aws_sdk_ecs::types::DesiredStatus::Stopped)
        .send()
        .await
        .unwrap();
    env.clock().advance(Duration::from_secs(60));
    let tasks_after = env
        .ecs
        .list_tasks()
        .cluster("demo")
        .desired_status(aws_sdk_ecs::types::DesiredStatus::Stopped)
        .send()
        .await
        .unwrap();
    assert_eq!(
        tasks_before.task_arns(),
        tasks_after.task_arns(),
        "no task launched after the trip"
    );
    assert_eq!(service(&env).await.running_count(), 2);
    let history = deployments(&env).await;
    assert_eq!(history[0].status(), Some(&ServiceDeploymentStatus::Stopped));
}

#[tokio::test]
async fn deployment_alarm_rolls_back_during_bake() {
    let alarms = Arc::new(ManualAlarms::default());
    alarms.set("web-5xx", AlarmState::Ok);
    let env = start_with(
        Emulator::builder()
            .seed(3)
            .clock(ClockMode::Virtual)
            .alarm_source(alarms.clone()),
        "test",
    )
    .await;
    let config = DeploymentConfiguration::builder()
        .alarms(
            DeploymentAlarms::builder()
                .alarm_names("web-5xx")
                .enable(true)
                .rollback(true)
                .build()
                .unwrap(),
        )
        .bake_time_in_minutes(3)
        .build();
    service_with(&env, config, 2).await;
    // services-stable only looks at counts, as on AWS: the deployment still bakes for 3 minutes.
    assert_eq!(
        deployments(&env).await[0].status(),
        Some(&ServiceDeploymentStatus::InProgress)
    );
    assert_eq!(
        service(&env).await.deployments()[0].rollout_state(),
        Some(&DeploymentRolloutState::InProgress)
    );
    env.clock().advance(Duration::from_secs(181));
    let baked = deployments(&env).await;
    assert_eq!(
        baked[0].status(),
        Some(&ServiceDeploymentStatus::Successful),
        "completes after the bake"
    );
    assert_eq!(
        baked[0].alarms().unwrap().status(),
        Some(&Monitor::MonitoringComplete)
    );

    deploy_web2(&env, &[("ECSIM_VERSION", "v2")]).await;
    env.clock().advance(Duration::from_secs(30));
    let s = service(&env).await;
    assert_eq!(s.deployments().len(), 1, "rolled out, now baking");
    assert_eq!(
        s.deployments()[0].rollout_state(),
        Some(&DeploymentRolloutState::InProgress),
        "not done while baking"
    );
    alarms.set("web-5xx", AlarmState::Alarm);
    env.clock().advance(Duration::from_secs(15));
    alarms.set("web-5xx", AlarmState::Ok);
    wait_stable(&env).await;
    let s = service(&env).await;
    assert!(
        s.task_definition().unwrap().ends_with("web:1"),
        "rolled back to the last completed revision"
    );
    let history = deployments(&env).await;
    assert_eq!(
        history[0].status(),
        Some(&ServiceDeploymentStatus::RollbackSuccessful)
    );
    let a = history[0].alarms().unwrap();
    assert_eq!(a.status(), Some(&Monitor::Triggered));
    assert_eq!(a.triggered_alarm_names(), ["web-5xx"]);
}

#[tokio::test]
async fn stop_service_deployment() {
    let env = start(ClockMode::Virtual).await;
    service_with(&env, DeploymentConfiguration::builder().build(), 2).await;
    deploy_web2(&env, &[("ECSIM_START_DELAY_MS", "60000")]).await;
    let current = service(&env)
        .await
        .current_service_deployment()
        .unwrap()
        .to_string();
    let stopped = env
        .ecs
        .stop_service_deployment()
        .service_deployment_arn(&current)
        .stop_type(StopServiceDeploymentStopType::Rollback)
        .send()
        .await
        .unwrap();
    assert_eq!(stopped.service_deployment_arn(), Some(current.as_str()));
    wait_stable(&env).await;
    assert!(service(&env).await.task_definition().unwrap().ends_with("web:1"));
    assert_eq!(
        deployments(&env).await[0].status(),
        Some(&ServiceDeploymentStatus::RollbackSuccessful)
    );

    let err = env
        .ecs
        .stop_service_deployment()
        .service_deployment_arn(&current)
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&err), "ConflictException", "already finished");
    let err = env
        .ecs
        .stop_service_deployment()
        .service_deployment_arn("arn:aws:ecs:us-east-1:000000000000:service-deployment/demo/web/nope")
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&err), "ServiceDeploymentNotFoundException");

    // ABORT leaves the service where it is.
    env.ecs
        .update_service()
        .cluster("demo")
        .service("web")
        .task_definition("web:2")
        .send()
        .await
        .unwrap();
    let current = service(&env)
        .await
        .current_service_deployment()
        .unwrap()
        .to_string();
    env.ecs
        .stop_service_deployment()
        .service_deployment_arn(&current)
        .stop_type(StopServiceDeploymentStopType::Abort)
        .send()
        .await
        .unwrap();
    env.clock().advance(Duration::from_secs(1));
    assert_eq!(
        deployments(&env).await[0].status(),
        Some(&ServiceDeploymentStatus::Stopped)
    );
    let s = service(&env).await;
    assert_eq!(
        s.deployments()[0].rollout_state(),
        Some(&DeploymentRolloutState::Failed)
    );
}

fn early_success(
    healthy_pct: i32,
    cleanup: aws_sdk_ecs::types::ServiceRevisionCleanup,
) -> DeploymentConfiguration {
    DeploymentConfiguration::builder()
        .minimum_healthy_percent(healthy_pct)
        .maximum_percent(130)
        .early_success_criteria(
            aws_sdk_ecs::types::DeploymentEarlySuccessCriteria::builder()
                .enable(true)
                .healthy_percent(healthy_pct)
                .source_service_revision_cleanup(cleanup)
                .build(),
        )
        .build()
}

/// 10 tasks of a `web:1` whose container ignores SIGTERM with a 120 s stop timeout: an old task
/// takes two minutes from the stop to STOPPED, longer than a new one takes to start.
async fn slow_stopping_service(env: &Env, config: DeploymentConfiguration) {
    env.ecs
        .create_cluster()
        .cluster_name("demo")
        .send()
        .await
        .unwrap();
    crate::common::fargate_task_definition_stopping_in(
        &env.ecs,
        "web",
        &[("ECSIM_IGNORE_SIGTERM", "true")],
        Some(120),
    )
    .send()
    .await
    .unwrap();
    create_web_service(env, config, 10).await;
}

/// Tasks per task definition revision (`web:1`, `web:2`) whose last status is `RUNNING`, or
/// anything but `STOPPED` for `"not STOPPED"`.
async fn tasks_by_revision(env: &Env, last_status: &str) -> BTreeMap<String, usize> {
    let mut out = BTreeMap::new();
    for t in service_tasks(&env.ecs, "demo", "web").await {
        let status = t.last_status().unwrap_or_default();
        let counted = match last_status {
            "not STOPPED" => status != "STOPPED",
            wanted => status == wanted,
        };
        if counted {
            let arn = t.task_definition_arn().unwrap_or_default();
            *out.entry(arn.rsplit('/').next().unwrap_or(arn).to_string())
                .or_insert(0) += 1;
        }
    }
    out
}

/// Deploys `web:2` and steps the clock until the newest service deployment is SUCCESSFUL (at
/// most 10 minutes);
/// returns the RUNNING and the not yet STOPPED tasks per revision at that moment.
async fn deploy_until_successful(env: &Env) -> (BTreeMap<String, usize>, BTreeMap<String, usize>) {
    deploy_web2(env, &[("ECSIM_VERSION", "v2")]).await;
    // Steps of 100 ms: shorter than a task's way from DEACTIVATING to STOPPED.
    for _ in 0..6000 {
        env.clock().advance(Duration::from_millis(100));
        let newest = deployments(env)
            .await
            .into_iter()
            .max_by_key(|d| d.created_at().map(|t| t.as_nanos()))
            .unwrap();
        if newest.status() == Some(&ServiceDeploymentStatus::Successful) {
            return (
                tasks_by_revision(env, "RUNNING").await,
                tasks_by_revision(env, "not STOPPED").await,
            );
        }
    }
    panic!("the deployment never succeeded: {:?}", deployments(env).await);
}

#[tokio::test]
async fn early_success_completes_at_the_healthy_percent_and_cleans_up_after() {
    use aws_sdk_ecs::types::ServiceRevisionCleanup;
    let env = start(ClockMode::Virtual).await;
    slow_stopping_service(&env, early_success(60, ServiceRevisionCleanup::Deferred)).await;
    let (running, not_stopped) = deploy_until_successful(&env).await;
    let new = running.get("web:2").copied().unwrap_or(0);
    assert!(
        (6..10).contains(&new),
        "successful at 60% healthy, before the full count: {running:?}"
    );
    assert!(
        not_stopped.get("web:1").is_some_and(|n| *n > 0),
        "DEFERRED: successful while old tasks are still stopping: {not_stopped:?}"
    );
    let s = service(&env).await;
    assert_eq!(
        s.deployments()[0].rollout_state(),
        Some(&DeploymentRolloutState::Completed)
    );
    // The controller still goes on to the full count and drains the rest.
    wait_stable(&env).await;
    let after = tasks_by_revision(&env, "RUNNING").await;
    assert_eq!(after.get("web:2"), Some(&10), "{after:?}");
    assert_eq!(after.get("web:1"), None, "{after:?}");
}

#[tokio::test]
async fn early_success_with_blocking_clean_up_waits_for_the_old_tasks_to_stop() {
    use aws_sdk_ecs::types::ServiceRevisionCleanup;
    let env = start(ClockMode::Virtual).await;
    slow_stopping_service(&env, early_success(60, ServiceRevisionCleanup::Blocking)).await;
    let (_, not_stopped) = deploy_until_successful(&env).await;
    assert_eq!(
        not_stopped.get("web:1"),
        None,
        "BLOCKING: every old task STOPPED first: {not_stopped:?}"
    );
}

#[tokio::test]
async fn early_success_criteria_are_validated() {
    use aws_sdk_ecs::types::{DeploymentEarlySuccessCriteria, DeploymentStrategy, ServiceRevisionCleanup};
    let env = start(ClockMode::Virtual).await;
    cluster_and_web1(&env, &[]).await;
    let create = |config: DeploymentConfiguration| {
        env.ecs
            .create_service()
            .cluster("demo")
            .service_name("web")
            .task_definition("web:1")
            .desired_count(1)
            .launch_type(LaunchType::Fargate)
            .network_configuration(awsvpc(&[default_subnet('a')]))
            .deployment_configuration(config)
            .send()
    };
    let criteria = |pct: Option<i32>, cleanup: Option<ServiceRevisionCleanup>| {
        DeploymentEarlySuccessCriteria::builder()
            .enable(true)
            .set_healthy_percent(pct)
            .set_source_service_revision_cleanup(cleanup)
            .build()
    };
    let cases = [
        (
            DeploymentConfiguration::builder()
                .minimum_healthy_percent(80)
                .early_success_criteria(criteria(Some(50), Some(ServiceRevisionCleanup::Deferred)))
                .build(),
            "minimumHealthyPercent",
        ),
        (
            DeploymentConfiguration::builder()
                .early_success_criteria(criteria(None, Some(ServiceRevisionCleanup::Deferred)))
                .build(),
            "healthyPercent",
        ),
        (
            DeploymentConfiguration::builder()
                .minimum_healthy_percent(50)
                .early_success_criteria(criteria(Some(60), None))
                .build(),
            "sourceServiceRevisionCleanup",
        ),
        (
            DeploymentConfiguration::builder()
                .strategy(DeploymentStrategy::BlueGreen)
                .bake_time_in_minutes(1)
                .early_success_criteria(criteria(Some(100), Some(ServiceRevisionCleanup::Blocking)))
                .build(),
            "ROLLING",
        ),
    ];
    for (config, names) in cases {
        let e = create(config).await.unwrap_err();
        assert_eq!(code(&e), "InvalidParameterException", "{e:?}");
        let message = e
            .as_service_error()
            .and_then(|e| e.meta().message())
            .unwrap_or_default();
        assert!(message.contains(names), "{message}");
    }
}
