//! The calls of the `aws-actions/amazon-ecs-deploy-task-definition` GitHub action (see
//! aws-semantics §6.1), replayed through the SDK crates for both deployment controllers, with
//! the action's own success checks: a healthy revision passes, a bad one fails the pipeline.

use std::time::Duration;

use aws_sdk_codedeploy::client::Waiters as _;
use aws_sdk_codedeploy::types::{AppSpecContent, RevisionLocation, RevisionLocationType};
use aws_sdk_ecs::client::Waiters as _;
use aws_sdk_ecs::types::{DeploymentConfiguration, DeploymentControllerType, DeploymentRolloutState};
use ecsim::ClockMode;
use sha2::Digest;

use crate::codedeploy_deployments::{application_and_group_named, appspec, blue_green_service};
use crate::common::{self, Env, awsvpc, default_subnet, fargate_task_definition};

/// What the action concludes.
#[derive(Debug, PartialEq, Eq)]
enum Verdict {
    Deployed,
    Failed(String),
}

/// The action's step 3 for a service with the ECS controller: UpdateService, wait until stable,
/// then fail if the new deployment is gone (rolled back) or FAILED.
async fn deploy_with_ecs_controller(
    env: &Env,
    cluster: &str,
    service: &str,
    task_definition: &str,
) -> Verdict {
    let described = env
        .ecs
        .describe_services()
        .cluster(cluster)
        .services(service)
        .send()
        .await
        .expect("DescribeServices");
    assert!(described.failures().is_empty());
    let svc = &described.services()[0];
    assert_eq!(svc.status(), Some("ACTIVE"));
    let controller = svc.deployment_controller().map(|c| c.r#type().clone());
    assert!(controller.is_none_or(|c| c == DeploymentControllerType::Ecs));
    let updated = env
        .ecs
        .update_service()
        .cluster(cluster)
        .service(service)
        .task_definition(task_definition)
        .force_new_deployment(false)
        .send()
        .await
        .expect("UpdateService");
    let new_id = updated.service().unwrap().deployments()[0]
        .id()
        .unwrap()
        .to_string();
    let waited = env
        .ecs
        .wait_until_services_stable()
        .cluster(cluster)
        .services(service)
        .wait(Duration::from_secs(30 * 60))
        .await;
    if let Err(e) = waited {
        return Verdict::Failed(format!("the service did not become stable: {e}"));
    }
    let after = env
        .ecs
        .describe_services()
        .cluster(cluster)
        .services(service)
        .send()
        .await
        .expect("DescribeServices");
    match after.services()[0]
        .deployments()
        .iter()
        .find(|d| d.id() == Some(new_id.as_str()))
    {
        None => Verdict::Failed(format!(
            "deployment {new_id} is gone: likely rolled back by the deployment circuit breaker"
        )),
        Some(d) if d.rollout_state() == Some(&DeploymentRolloutState::Failed) => {
            Verdict::Failed(d.rollout_state_reason().unwrap_or_default().to_string())
        }
        Some(_) => Verdict::Deployed,
    }
}

/// The action's step 3 for a CODE_DEPLOY service: read the group's wait times, create the
/// deployment from the AppSpec with the task definition rewritten, wait until it succeeds.
async fn deploy_with_code_deploy(
    env: &Env,
    cluster: &str,
    service: &str,
    task_definition_arn: &str,
) -> Verdict {
    let described = env
        .ecs
        .describe_services()
        .cluster(cluster)
        .services(service)
        .send()
        .await
        .expect("DescribeServices");
    let svc = &described.services()[0];
    assert_eq!(
        svc.deployment_controller().map(|c| c.r#type()),
        Some(&DeploymentControllerType::CodeDeploy)
    );
    assert!(
        svc.deployments().is_empty(),
        "CODE_DEPLOY services list no deployments"
    );
    let (app, group) = (
        format!("AppECS-{cluster}-{service}"),
        format!("DgpECS-{cluster}-{service}"),
    );
    let info = env
        .cd
        .get_deployment_group()
        .application_name(&app)
        .deployment_group_name(&group)
        .send()
        .await
        .expect("GetDeploymentGroup");
    let blue_green = info
        .deployment_group_info()
        .and_then(|g| g.blue_green_deployment_configuration())
        .expect("the group's blue/green configuration");
    let ready_minutes = blue_green
        .deployment_ready_option()
        .map_or(0, |r| r.wait_time_in_minutes());
    let termination_minutes = blue_green
        .terminate_blue_instances_on_deployment_success()
        .map_or(0, |t| t.termination_wait_time_in_minutes());
    let content = appspec(task_definition_arn, &[]);
    let sha256 = hex(&sha2::Sha256::digest(content.as_bytes()));
    let created = env
        .cd
        .create_deployment()
        .application_name(&app)
        .deployment_group_name(&group)
        .revision(
            RevisionLocation::builder()
                .revision_type(RevisionLocationType::AppSpecContent)
                .app_spec_content(AppSpecContent::builder().content(&content).sha256(sha256).build())
                .build(),
        )
        .description("deployed by the pipeline")
        .send()
        .await
        .expect("CreateDeployment");
    let id = created.deployment_id().unwrap().to_string();
    let minutes = u64::try_from((ready_minutes + termination_minutes + 30).min(360)).unwrap();
    match env
        .cd
        .wait_until_deployment_successful()
        .deployment_id(&id)
        .wait(Duration::from_secs(minutes * 60))
        .await
    {
        Ok(_) => Verdict::Deployed,
        Err(_) => {
            // The action reports the waiter's failure; the deployment says why.
            let info = env.cd.get_deployment().deployment_id(&id).send().await.unwrap();
            let info = info.deployment_info().unwrap();
            Verdict::Failed(format!(
                "deployment {id} ended {:?}: {:?}",
                info.status(),
                info.error_information()
            ))
        }
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

async fn register(env: &Env, behaviour: &[(&str, &str)]) -> String {
    fargate_task_definition(&env.ecs, "web", behaviour)
        .send()
        .await
        .expect("RegisterTaskDefinition")
        .task_definition()
        .and_then(|t| t.task_definition_arn())
        .unwrap()
        .to_string()
}

const BAD: (&str, &str) = (
    "ECSIM_START_FAILURE",
    "CannotStartContainerError: the image is broken",
);

#[tokio::test]
async fn the_action_deploys_a_healthy_revision_and_fails_a_bad_one_with_the_ecs_controller() {
    let env = common::start(ClockMode::Virtual).await;
    env.ecs.create_cluster().cluster_name("ci").send().await.unwrap();
    register(&env, &[("ECSIM_VERSION", "v1")]).await;
    env.ecs
        .create_service()
        .cluster("ci")
        .service_name("web")
        .task_definition("web:1")
        .desired_count(3)
        .launch_type(aws_sdk_ecs::types::LaunchType::Fargate)
        .network_configuration(awsvpc(&[default_subnet('a'), default_subnet('b')]))
        .deployment_configuration(
            DeploymentConfiguration::builder()
                .deployment_circuit_breaker(
                    aws_sdk_ecs::types::DeploymentCircuitBreaker::builder()
                        .enable(true)
                        .rollback(true)
                        .build(),
                )
                .build(),
        )
        .send()
        .await
        .unwrap();
    env.ecs
        .wait_until_services_stable()
        .cluster("ci")
        .services("web")
        .wait(Duration::from_secs(600))
        .await
        .unwrap();
    let good = register(&env, &[("ECSIM_VERSION", "v2")]).await;
    assert_eq!(
        deploy_with_ecs_controller(&env, "ci", "web", &good).await,
        Verdict::Deployed
    );
    let bad = register(&env, &[BAD]).await;
    let verdict = deploy_with_ecs_controller(&env, "ci", "web", &bad).await;
    assert!(
        matches!(&verdict, Verdict::Failed(why) if why.contains("rolled back")),
        "{verdict:?}"
    );
}

#[tokio::test]
async fn the_action_deploys_a_healthy_revision_and_fails_a_bad_one_with_code_deploy() {
    let env = common::start(ClockMode::Virtual).await;
    let bg = blue_green_service(&env, 3, &[]).await;
    application_and_group_named(
        &env,
        ("AppECS-cd-web", "DgpECS-cd-web"),
        &bg,
        "CodeDeployDefault.ECSCanary10Percent5Minutes",
        1,
        &[],
        None,
    )
    .await;
    // v2 (registered by the fixture) is healthy.
    let good = register(&env, &[("ECSIM_VERSION", "v3")]).await;
    assert_eq!(
        deploy_with_code_deploy(&env, "cd", "web", &good).await,
        Verdict::Deployed
    );
    let bad = register(&env, &[BAD]).await;
    let verdict = deploy_with_code_deploy(&env, "cd", "web", &bad).await;
    assert!(
        matches!(&verdict, Verdict::Failed(why) if why.contains("Failed")),
        "{verdict:?}"
    );
    // The bad revision rolled back: v3 still serves production from the only task set.
    let sets = crate::codedeploy_deployments::task_sets(&env).await;
    assert_eq!(sets.len(), 1, "{sets:?}");
    assert_eq!(sets[0].task_definition(), Some(good.as_str()));
}
