//! The runtime conformance suite: the same ECS-visible behaviour on the simulated runtime and on
//! Docker. Every case runs against both backends through `aws-sdk-ecs`; the test application reads
//! the same `ECSIM_*` variables the simulated behaviour model does.

use std::time::Duration;

use aws_sdk_ecs::types::{
    Compatibility, ContainerDefinition, HealthCheck, HealthStatus, KeyValuePair, NetworkMode, PortMapping,
    Task, TaskStopCode,
};
use ecsim::ClockMode;

use crate::common::{Env, awsvpc, default_subnet, start};
use crate::docker_support::{TEST_IMAGE, docker_tests_enabled, pause_ms, start_docker};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Backend {
    Sim,
    Docker,
}

struct Harness {
    env: Env,
    backend: Backend,
    /// Docker: removes the emulator's containers when dropped, even after a failed assertion.
    _instance: Option<crate::docker_support::Instance>,
}

impl Harness {
    async fn new(backend: Backend, test: &str) -> Option<Self> {
        let (env, instance) = match backend {
            Backend::Sim => (start(ClockMode::Virtual).await, None),
            Backend::Docker => {
                if !docker_tests_enabled(test) {
                    return None;
                }
                let (env, instance) = start_docker(test).await;
                (env, Some(instance))
            }
        };
        env.ecs
            .create_cluster()
            .cluster_name("conf")
            .send()
            .await
            .expect("CreateCluster");
        Some(Self {
            env,
            backend,
            _instance: instance,
        })
    }

    /// Lets `ms` of time pass: virtual time on the simulator, real time on Docker.
    async fn pass(&self, ms: u64) {
        match self.backend {
            Backend::Sim => self.env.clock().advance(Duration::from_millis(ms)),
            Backend::Docker => pause_ms(ms).await,
        }
    }

    async fn task(&self, arn: &str) -> Task {
        let out = self
            .env
            .ecs
            .describe_tasks()
            .cluster("conf")
            .tasks(arn)
            .send()
            .await
            .expect("DescribeTasks");
        out.tasks()[0].clone()
    }

    /// Waits (at most `limit_s` seconds of the backend's time) until `done` holds for the task.
    async fn wait(&self, arn: &str, limit_s: u64, done: impl Fn(&Task) -> bool) -> Task {
        let step_ms = 100;
        for _ in 0..(limit_s * 1000 / step_ms) {
            let task = self.task(arn).await;
            if done(&task) {
                return task;
            }
            self.pass(step_ms).await;
        }
        let task = self.task(arn).await;
        assert!(
            done(&task),
            "{:?}: task never reached the expected state: {task:#?}",
            self.backend
        );
        task
    }

    async fn run(&self, family: &str, container: ContainerDefinition, stop_timeout_s: Option<i32>) -> String {
        let mut container = container;
        if let Some(s) = stop_timeout_s {
            container.stop_timeout = Some(s);
        }
        self.env
            .ecs
            .register_task_definition()
            .family(family)
            .network_mode(NetworkMode::Awsvpc)
            .requires_compatibilities(Compatibility::Fargate)
            .cpu("256")
            .memory("512")
            .container_definitions(container)
            .send()
            .await
            .expect("RegisterTaskDefinition");
        let out = self
            .env
            .ecs
            .run_task()
            .cluster("conf")
            .task_definition(family)
            .launch_type(aws_sdk_ecs::types::LaunchType::Fargate)
            .network_configuration(awsvpc(&[default_subnet('a')]))
            .send()
            .await
            .expect("RunTask");
        assert!(out.failures().is_empty(), "{:?}", out.failures());
        out.tasks()[0].task_arn().expect("task ARN").to_string()
    }

    async fn finish(self) {
        self.env.emulator.shutdown().await;
    }
}

fn app(env: &[(&str, &str)]) -> aws_sdk_ecs::types::builders::ContainerDefinitionBuilder {
    let mut c = ContainerDefinition::builder()
        .name("app")
        .image(TEST_IMAGE)
        .essential(true)
        .port_mappings(PortMapping::builder().container_port(8080).build());
    for (k, v) in env {
        c = c.environment(KeyValuePair::builder().name(*k).value(*v).build());
    }
    c
}

/// The test app checking its own `/health` endpoint, as often as ECS allows.
fn http_health_check() -> HealthCheck {
    HealthCheck::builder()
        .command("CMD")
        .command("/ecsim-testapp")
        .command("check")
        .command("http://127.0.0.1:8080/health")
        .interval(5)
        .timeout(2)
        .retries(1)
        .build()
        .expect("health check")
}

fn status(t: &Task) -> &str {
    t.last_status().unwrap_or_default()
}

async fn runs_and_stops_cleanly(backend: Backend) {
    let Some(h) = Harness::new(backend, "runs_and_stops_cleanly").await else {
        return;
    };
    let arn = h
        .run("clean", app(&[]).health_check(http_health_check()).build(), None)
        .await;
    let running = h.wait(&arn, 30, |t| status(t) == "RUNNING").await;
    let c = &running.containers()[0];
    assert_eq!(c.last_status(), Some("RUNNING"));
    assert!(c.runtime_id().is_some_and(|id| !id.is_empty()));
    assert!(running.started_at().is_some());
    // RUNNING means the container started, not that the process inside has installed its
    // SIGTERM handler; a SIGTERM before that is dropped by PID 1 (on ECS too) and ends in
    // SIGKILL. A passing health check proves the app is serving, so its handler is in place.
    h.wait(&arn, 30, |t| t.health_status() == Some(&HealthStatus::Healthy))
        .await;
    h.env
        .ecs
        .stop_task()
        .cluster("conf")
        .task(&arn)
        .reason("done")
        .send()
        .await
        .expect("StopTask");
    let stopped = h.wait(&arn, 30, |t| status(t) == "STOPPED").await;
    assert_eq!(stopped.stop_code(), Some(&TaskStopCode::UserInitiated));
    assert_eq!(stopped.stopped_reason(), Some("done"));
    assert_eq!(
        stopped.containers()[0].exit_code(),
        Some(0),
        "SIGTERM honoured: clean exit"
    );
    h.finish().await;
}

async fn essential_exit_stops_the_task(backend: Backend) {
    let Some(h) = Harness::new(backend, "essential_exit_stops_the_task").await else {
        return;
    };
    let container = app(&[("ECSIM_EXIT_AFTER_SECONDS", "1"), ("ECSIM_EXIT_CODE", "3")]).build();
    let arn = h.run("exits", container, None).await;
    let stopped = h.wait(&arn, 30, |t| status(t) == "STOPPED").await;
    assert_eq!(stopped.stop_code(), Some(&TaskStopCode::EssentialContainerExited));
    assert_eq!(
        stopped.stopped_reason(),
        Some("Essential container in task exited")
    );
    assert_eq!(stopped.containers()[0].exit_code(), Some(3));
    assert!(stopped.started_at().is_some(), "it ran before it exited");
    h.finish().await;
}

async fn absent_image_fails_to_start(backend: Backend) {
    let Some(h) = Harness::new(backend, "absent_image_fails_to_start").await else {
        return;
    };
    let container = ContainerDefinition::builder()
        .name("app")
        .image("unpullable.invalid/ecsim-absent:1")
        .essential(true)
        .build();
    let arn = h.run("absent", container, None).await;
    let stopped = h.wait(&arn, 30, |t| status(t) == "STOPPED").await;
    assert_eq!(stopped.stop_code(), Some(&TaskStopCode::TaskFailedToStart));
    let reason = stopped.stopped_reason().unwrap_or_default();
    assert!(reason.starts_with("CannotPullContainerError"), "{reason}");
    assert!(stopped.started_at().is_none());
    assert_eq!(stopped.containers()[0].reason(), Some(reason));
    h.finish().await;
}

async fn secrets_fail_the_task_instead_of_starting_without_them(backend: Backend) {
    let Some(h) = Harness::new(backend, "secrets_fail_the_task").await else {
        return;
    };
    let secret = aws_sdk_ecs::types::Secret::builder()
        .name("DB_PASSWORD")
        .value_from("arn:aws:ssm:us-east-1:000000000000:parameter/db-password")
        .build()
        .expect("secret");
    let arn = h.run("secretive", app(&[]).secrets(secret).build(), None).await;
    let stopped = h.wait(&arn, 30, |t| status(t) == "STOPPED").await;
    assert_eq!(stopped.stop_code(), Some(&TaskStopCode::TaskFailedToStart));
    let reason = stopped.stopped_reason().unwrap_or_default();
    assert!(reason.starts_with("ResourceInitializationError: "), "{reason}");
    assert!(reason.contains("DB_PASSWORD"), "{reason}");
    assert!(stopped.started_at().is_none(), "never started without its secret");
    h.finish().await;
}

async fn ignored_sigterm_is_killed_after_stop_timeout(backend: Backend) {
    let Some(h) = Harness::new(backend, "ignored_sigterm_is_killed").await else {
        return;
    };
    let arn = h
        .run(
            "stubborn",
            app(&[("ECSIM_IGNORE_SIGTERM", "true")]).build(),
            Some(2),
        )
        .await;
    h.wait(&arn, 30, |t| status(t) == "RUNNING").await;
    let before_ms = h.env.clock().now_ms();
    h.env
        .ecs
        .stop_task()
        .cluster("conf")
        .task(&arn)
        .send()
        .await
        .expect("StopTask");
    let stopped = h.wait(&arn, 30, |t| status(t) == "STOPPED").await;
    let waited_ms = h.env.clock().now_ms() - before_ms;
    assert!(
        waited_ms >= 2_000,
        "killed only after stopTimeout (2 s), took {waited_ms} ms"
    );
    assert!(waited_ms < 15_000, "but not much later: {waited_ms} ms");
    assert_eq!(stopped.containers()[0].exit_code(), Some(137), "SIGKILL");
    h.finish().await;
}

async fn health_checks_drive_health_status(backend: Backend) {
    let Some(h) = Harness::new(backend, "health_checks_drive_health").await else {
        return;
    };
    let check = |_: ()| http_health_check();
    let good = h
        .run("good", app(&[]).health_check(check(())).build(), None)
        .await;
    let bad = h
        .run(
            "bad",
            app(&[("ECSIM_HEALTH", "UNHEALTHY")])
                .health_check(check(()))
                .build(),
            None,
        )
        .await;
    let running = h.wait(&good, 30, |t| status(t) == "RUNNING").await;
    assert_eq!(
        running.health_status().map(HealthStatus::as_str),
        Some("UNKNOWN"),
        "no check has run yet"
    );
    let healthy = h
        .wait(&good, 30, |t| t.health_status() == Some(&HealthStatus::Healthy))
        .await;
    assert_eq!(
        healthy.containers()[0].health_status(),
        Some(&HealthStatus::Healthy)
    );
    let unhealthy = h
        .wait(&bad, 30, |t| t.health_status() == Some(&HealthStatus::Unhealthy))
        .await;
    assert_eq!(
        unhealthy.containers()[0].health_status(),
        Some(&HealthStatus::Unhealthy)
    );
    h.finish().await;
}

macro_rules! on_both_runtimes {
    ($($case:ident),* $(,)?) => {
        mod sim {
            $(#[tokio::test]
            async fn $case() {
                super::$case(super::Backend::Sim).await;
            })*
        }
        mod docker {
            $(#[tokio::test]
            async fn $case() {
                super::$case(super::Backend::Docker).await;
            })*
        }
    };
}

on_both_runtimes!(
    runs_and_stops_cleanly,
    essential_exit_stops_the_task,
    absent_image_fails_to_start,
    secrets_fail_the_task_instead_of_starting_without_them,
    ignored_sigterm_is_killed_after_stop_timeout,
    health_checks_drive_health_status,
);
