//! Starting an emulator and building SDK clients for it. On the virtual clock, the SDK's sleeps
//! advance the emulator's clock, so waiters finish in milliseconds of wall time.

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use aws_credential_types::Credentials;
use aws_smithy_async::rt::sleep::{AsyncSleep, SharedAsyncSleep, Sleep};
use aws_smithy_async::time::{SharedTimeSource, TimeSource};
use aws_smithy_http_client::Builder as HttpClientBuilder;
use ecsim::{ClockMode, Emulator, EmulatorClock};

pub const REGION: &str = "us-east-1";
/// Default subnets of the simulated topology, one per AZ (a..f).
pub fn default_subnet(letter: char) -> String {
    format!("subnet-0ec5100000000000{letter}")
}

#[derive(Debug, Clone)]
struct VirtualSleep(Arc<EmulatorClock>);

impl AsyncSleep for VirtualSleep {
    fn sleep(&self, duration: Duration) -> Sleep {
        // Time moves when the sleep is awaited, not when it is created: a timeout whose guarded
        // future finishes first never polls its sleep, and so never moves the clock.
        let clock = self.0.clone();
        Sleep::new(async move { clock.advance(duration) })
    }
}

#[derive(Debug, Clone)]
struct VirtualTime(Arc<EmulatorClock>);

impl TimeSource for VirtualTime {
    fn now(&self) -> SystemTime {
        UNIX_EPOCH + Duration::from_millis(self.0.now_ms())
    }
}

pub struct Env {
    pub emulator: Emulator,
    pub ecs: aws_sdk_ecs::Client,
    pub sts: aws_sdk_sts::Client,
    pub ec2: aws_sdk_ec2::Client,
    pub elb: aws_sdk_elasticloadbalancingv2::Client,
    pub cw: aws_sdk_cloudwatch::Client,
    pub cd: aws_sdk_codedeploy::Client,
}

impl Env {
    pub fn clock(&self) -> EmulatorClock {
        self.emulator.clock()
    }

    pub fn url(&self) -> String {
        self.emulator.endpoint_url()
    }
}

pub async fn start(mode: ClockMode) -> Env {
    start_with(Emulator::builder().seed(7).clock(mode), "test").await
}

pub async fn start_with(builder: ecsim::EmulatorBuilder, access_key: &str) -> Env {
    let emulator = builder.start().await.expect("emulator starts");
    clients_for(emulator, access_key)
}

fn clients_for(emulator: Emulator, access_key: &str) -> Env {
    let url = emulator.endpoint_url();
    let clock = Arc::new(emulator.clock());
    let http = HttpClientBuilder::new().build_http();
    let creds = Credentials::new(access_key, "test", None, None, "ecsim-tests");
    let (sleep, time): (Option<SharedAsyncSleep>, Option<SharedTimeSource>) = if clock.is_virtual() {
        (
            Some(SharedAsyncSleep::new(VirtualSleep(clock.clone()))),
            Some(SharedTimeSource::new(VirtualTime(clock.clone()))),
        )
    } else {
        (None, None)
    };
    macro_rules! client {
        ($krate:ident) => {{
            let mut b = $krate::Config::builder()
                .behavior_version($krate::config::BehaviorVersion::latest())
                .endpoint_url(&url)
                .region($krate::config::Region::new(REGION))
                .credentials_provider(creds.clone())
                .http_client(http.clone());
            if let Some(s) = &sleep {
                // Sleeps advance virtual time, so only waiters may sleep: no timeouts, no retries,
                // no stalled-stream checks (they would move the clock during a request).
                b = b
                    .sleep_impl(s.clone())
                    .timeout_config($krate::config::timeout::TimeoutConfig::disabled())
                    .retry_config($krate::config::retry::RetryConfig::disabled())
                    .stalled_stream_protection($krate::config::StalledStreamProtectionConfig::disabled())
                    .identity_cache($krate::config::IdentityCache::no_cache());
            } else {
                b = b.sleep_impl(SharedAsyncSleep::new(
                    aws_smithy_async::rt::sleep::TokioSleep::new(),
                ));
            }
            if let Some(t) = &time {
                b = b.time_source(t.clone());
            }
            $krate::Client::from_conf(b.build())
        }};
    }
    Env {
        ecs: client!(aws_sdk_ecs),
        sts: client!(aws_sdk_sts),
        ec2: client!(aws_sdk_ec2),
        elb: client!(aws_sdk_elasticloadbalancingv2),
        cw: client!(aws_sdk_cloudwatch),
        cd: client!(aws_sdk_codedeploy),
        emulator,
    }
}

/// The error code of an SDK error.
pub fn code<E: aws_sdk_ecs::error::ProvideErrorMetadata>(e: &E) -> String {
    e.code().unwrap_or("<no code>").to_string()
}

/// A Fargate task definition registration with one container.
pub fn fargate_task_definition(
    ecs: &aws_sdk_ecs::Client,
    family: &str,
    env: &[(&str, &str)],
) -> aws_sdk_ecs::operation::register_task_definition::builders::RegisterTaskDefinitionFluentBuilder {
    fargate_task_definition_stopping_in(ecs, family, env, None)
}

/// [`fargate_task_definition`] whose container has `stopTimeout` `stop_timeout_s`.
pub fn fargate_task_definition_stopping_in(
    ecs: &aws_sdk_ecs::Client,
    family: &str,
    env: &[(&str, &str)],
    stop_timeout_s: Option<i32>,
) -> aws_sdk_ecs::operation::register_task_definition::builders::RegisterTaskDefinitionFluentBuilder {
    use aws_sdk_ecs::types::{Compatibility, ContainerDefinition, KeyValuePair, NetworkMode, PortMapping};
    let mut container = ContainerDefinition::builder()
        .name("web")
        .image("public.ecr.aws/nginx/nginx:latest")
        .essential(true)
        .set_stop_timeout(stop_timeout_s)
        .port_mappings(PortMapping::builder().container_port(8080).build());
    for (k, v) in env {
        container = container.environment(KeyValuePair::builder().name(*k).value(*v).build());
    }
    ecs.register_task_definition()
        .family(family)
        .network_mode(NetworkMode::Awsvpc)
        .requires_compatibilities(Compatibility::Fargate)
        .cpu("256")
        .memory("512")
        .container_definitions(container.build())
}

pub fn awsvpc(subnets: &[String]) -> aws_sdk_ecs::types::NetworkConfiguration {
    let mut vpc = aws_sdk_ecs::types::AwsVpcConfiguration::builder();
    for s in subnets {
        vpc = vpc.subnets(s);
    }
    aws_sdk_ecs::types::NetworkConfiguration::builder()
        .awsvpc_configuration(vpc.build().expect("subnets"))
        .build()
}

/// Registers a simulated container instance with `attributes` (name, value); returns its ARN.
pub async fn register_instance(
    ecs: &aws_sdk_ecs::Client,
    cluster: &str,
    attributes: &[(&str, &str)],
) -> String {
    let mut request = ecs.register_container_instance().cluster(cluster);
    for (name, value) in attributes {
        let attribute = aws_sdk_ecs::types::Attribute::builder()
            .name(*name)
            .value(*value)
            .build();
        request = request.attributes(attribute.expect("attribute has a name"));
    }
    let registered = request.send().await.expect("RegisterContainerInstance");
    registered
        .container_instance()
        .and_then(|ci| ci.container_instance_arn())
        .expect("an ARN")
        .to_string()
}

/// Every task of `service`, desired RUNNING or STOPPED (two ListTasks, then DescribeTasks).
pub async fn service_tasks(
    ecs: &aws_sdk_ecs::Client,
    cluster: &str,
    service: &str,
) -> Vec<aws_sdk_ecs::types::Task> {
    let mut arns = Vec::new();
    for desired in [
        aws_sdk_ecs::types::DesiredStatus::Running,
        aws_sdk_ecs::types::DesiredStatus::Stopped,
    ] {
        let listed = ecs
            .list_tasks()
            .cluster(cluster)
            .service_name(service)
            .desired_status(desired)
            .send()
            .await
            .unwrap();
        arns.extend(listed.task_arns().iter().cloned());
    }
    let mut tasks = Vec::new();
    // DescribeTasks takes at most 100 tasks.
    for chunk in arns.chunks(100) {
        let described = ecs
            .describe_tasks()
            .cluster(cluster)
            .set_tasks(Some(chunk.to_vec()))
            .send()
            .await
            .unwrap();
        tasks.extend(described.tasks().iter().cloned());
    }
    tasks
}

/// ARNs of the live (desired RUNNING) tasks of `service` whose task definition ends with
/// `revision` (`web:1`).
pub async fn live_task_arns(
    ecs: &aws_sdk_ecs::Client,
    cluster: &str,
    service: &str,
    revision: &str,
) -> Vec<String> {
    service_tasks(ecs, cluster, service)
        .await
        .iter()
        .filter(|t| t.desired_status() == Some("RUNNING"))
        .filter(|t| t.task_definition_arn().is_some_and(|a| a.ends_with(revision)))
        .filter_map(|t| t.task_arn().map(str::to_string))
        .collect()
}

/// Registers the next revision of `web` with `vars` and updates `service` of `cluster` to
/// `task_definition` (the revision just registered, such as `web:2`).
pub async fn deploy_web_revision(
    ecs: &aws_sdk_ecs::Client,
    cluster: &str,
    service: &str,
    task_definition: &str,
    vars: &[(&str, &str)],
) -> aws_sdk_ecs::operation::update_service::UpdateServiceOutput {
    fargate_task_definition(ecs, "web", vars).send().await.unwrap();
    ecs.update_service()
        .cluster(cluster)
        .service(service)
        .task_definition(task_definition)
        .send()
        .await
        .expect("UpdateService")
}
