//! The Docker runtime end to end: real containers behind the ECS API — per-AZ networks, loopback
//! ports, `docker kill` replaced by the service, dependency ordering, task role credentials from
//! inside a container, and ownership (foreign containers are never touched).

use std::collections::BTreeMap;

use aws_sdk_ecs::types::{
    Compatibility, ContainerCondition, ContainerDefinition, ContainerDependency, KeyValuePair, LaunchType,
    NetworkMode, PortMapping, Task,
};
use serde_json::Value;

use crate::common::{Env, awsvpc, default_subnet};
use crate::docker_support::{
    TEST_IMAGE, docker, docker_tests_enabled, instance_containers, pause_ms, start_docker,
};

fn app(name: &str, env: &[(&str, &str)]) -> aws_sdk_ecs::types::builders::ContainerDefinitionBuilder {
    let mut c = ContainerDefinition::builder()
        .name(name)
        .image(TEST_IMAGE)
        .essential(true)
        .port_mappings(PortMapping::builder().container_port(8080).build());
    for (k, v) in env {
        c = c.environment(KeyValuePair::builder().name(*k).value(*v).build());
    }
    c
}

async fn register(env: &Env, family: &str, containers: Vec<ContainerDefinition>, task_role: Option<&str>) {
    let mut request = env
        .ecs
        .register_task_definition()
        .family(family)
        .network_mode(NetworkMode::Awsvpc)
        .requires_compatibilities(Compatibility::Fargate)
        .cpu("256")
        .memory("512")
        .set_container_definitions(Some(containers));
    if let Some(role) = task_role {
        request = request.task_role_arn(role);
    }
    request.send().await.expect("RegisterTaskDefinition");
}

async fn run(env: &Env, cluster: &str, family: &str) -> String {
    let out = env
        .ecs
        .run_task()
        .cluster(cluster)
        .task_definition(family)
        .launch_type(LaunchType::Fargate)
        .network_configuration(awsvpc(&[default_subnet('a')]))
        .send()
        .await
        .expect("RunTask");
    assert!(out.failures().is_empty(), "{:?}", out.failures());
    out.tasks()[0].task_arn().expect("ARN").to_string()
}

async fn describe(env: &Env, cluster: &str, arns: &[String]) -> Vec<Task> {
    env.ecs
        .describe_tasks()
        .cluster(cluster)
        .set_tasks(Some(arns.to_vec()))
        .send()
        .await
        .expect("DescribeTasks")
        .tasks()
        .to_vec()
}

/// An emulator on the Docker runtime with cluster `c`, or `None` when Docker tests skip.
async fn docker_with_cluster(test: &str) -> Option<(Env, crate::docker_support::Instance)> {
    if !docker_tests_enabled(test) {
        return None;
    }
    let (env, instance) = start_docker(test).await;
    env.ecs
        .create_cluster()
        .cluster_name("c")
        .send()
        .await
        .expect("CreateCluster");
    Some((env, instance))
}

/// Cluster `c` with one task of `family`; returns once its container runs under `instance`.
async fn one_task_container(env: &Env, instance: &str, family: &str) {
    env.ecs
        .create_cluster()
        .cluster_name("c")
        .send()
        .await
        .expect("CreateCluster");
    register(env, family, vec![app("web", &[]).build()], None).await;
    run(env, "c", family).await;
    until(30, "the task's container", async || {
        (instance_containers(instance).len() == 1).then_some(())
    })
    .await;
}

/// Polls every 100 ms of real time, for at most `limit_s` seconds, until `done` holds.
async fn until<T>(limit_s: u64, what: &str, mut probe: impl AsyncFnMut() -> Option<T>) -> T {
    for _ in 0..limit_s * 10 {
        if let Some(v) = probe().await {
            return v;
        }
        pause_ms(100).await;
    }
    panic!("timed out after {limit_s} s waiting for {what}");
}

async fn running_tasks(env: &Env, cluster: &str, service: Option<&str>) -> Vec<Task> {
    let mut list = env.ecs.list_tasks().cluster(cluster);
    if let Some(s) = service {
        list = list.service_name(s);
    }
    let arns = list.send().await.expect("ListTasks").task_arns().to_vec();
    if arns.is_empty() {
        return Vec::new();
    }
    describe(env, cluster, &arns)
        .await
        .into_iter()
        .filter(|t| t.last_status() == Some("RUNNING"))
        .collect()
}

async fn get(url: &str) -> (u16, String) {
    let response = reqwest::get(url).await.expect("GET reaches the task");
    let status = response.status().as_u16();
    (status, response.text().await.expect("body"))
}

async fn emulator_tasks(env: &Env) -> Value {
    let url = format!("{}/_ecsim/tasks", env.url());
    let (status, body) = get(&url).await;
    assert_eq!(status, 200);
    serde_json::from_str(&body).expect("JSON")
}

/// Loopback URL of port 8080 of each task, by task ARN, from `GET /_ecsim/tasks`.
async fn task_urls(env: &Env) -> BTreeMap<String, String> {
    let listing = emulator_tasks(env).await;
    listing["tasks"]
        .as_array()
        .expect("tasks")
        .iter()
        .filter_map(|t| {
            let url = t["containers"]
                .as_array()?
                .iter()
                .filter_map(|c| c["ports"].as_array())
                .flatten()
                .find(|p| p["containerPort"] == 8080)?["url"]
                .as_str()?
                .to_string();
            Some((t["taskArn"].as_str()?.to_string(), url))
        })
        .collect()
}

#[tokio::test]
async fn a_service_of_six_tasks_runs_six_containers_across_three_zone_networks() {
    if !docker_tests_enabled("six_tasks_three_zones") {
        return;
    }
    let (env, instance) = start_docker("six_tasks").await;
    env.ecs
        .create_cluster()
        .cluster_name("web")
        .send()
        .await
        .expect("CreateCluster");
    register(
        &env,
        "web",
        vec![app("web", &[("ECSIM_VERSION", "v1")]).build()],
        None,
    )
    .await;
    let subnets: Vec<String> = ['a', 'b', 'c'].into_iter().map(default_subnet).collect();
    env.ecs
        .create_service()
        .cluster("web")
        .service_name("web")
        .task_definition("web")
        .desired_count(6)
        .launch_type(LaunchType::Fargate)
        .network_configuration(awsvpc(&subnets))
        .send()
        .await
        .expect("CreateService");
    let tasks = until(60, "six RUNNING tasks", async || {
        let t = running_tasks(&env, "web", Some("web")).await;
        (t.len() == 6).then_some(t)
    })
    .await;

    // Two tasks per zone, each with a private IP from its subnet's CIDR (not Docker's range).
    let mut per_zone: BTreeMap<String, usize> = BTreeMap::new();
    for t in &tasks {
        *per_zone
            .entry(t.availability_zone().unwrap_or_default().to_string())
            .or_default() += 1;
        let ip = t.containers()[0].network_interfaces()[0]
            .private_ipv4_address()
            .unwrap_or_default();
        assert!(ip.starts_with("172.31."), "subnet address, got {ip}");
    }
    assert_eq!(
        per_zone.values().copied().collect::<Vec<_>>(),
        vec![2, 2, 2],
        "{per_zone:?}"
    );

    // Six real containers, each on the Docker network of its task's subnet.
    let containers = instance_containers(&instance);
    assert_eq!(containers.len(), 6, "{containers:?}");
    for t in &tasks {
        let id = t.containers()[0].runtime_id().expect("runtime id");
        let networks = docker(&[
            "inspect",
            "-f",
            "{{range $k, $v := .NetworkSettings.Networks}}{{$k}} {{end}}",
            id,
        ]);
        let subnet = t.attachments()[0]
            .details()
            .iter()
            .find(|d| d.name() == Some("subnetId"))
            .and_then(|d| d.value())
            .expect("subnetId");
        assert!(
            networks
                .split_whitespace()
                .any(|n| n == format!("ecsim-{instance}-{subnet}")),
            "container {id} is on {networks}, expected the network of {subnet}"
        );
        assert_eq!(
            networks.split_whitespace().count(),
            1,
            "one network per task: {networks}"
        );
    }
    // Each zone network has its own, non-overlapping range from ecsim's pool.
    let mut ranges = Vec::new();
    for letter in ['a', 'b', 'c'] {
        let name = format!("ecsim-{instance}-{}", default_subnet(letter));
        ranges.push(docker(&[
            "network",
            "inspect",
            "-f",
            "{{range .IPAM.Config}}{{.Subnet}}{{end}}",
            &name,
        ]));
    }
    ranges.sort();
    ranges.dedup();
    assert_eq!(ranges.len(), 3, "{ranges:?}");
    assert!(ranges.iter().all(|r| r.starts_with("10.2")), "{ranges:?}");

    // Every task answers on its published loopback port.
    let urls = task_urls(&env).await;
    assert_eq!(urls.len(), 6, "{urls:?}");
    for t in &tasks {
        let url = &urls[t.task_arn().unwrap_or_default()];
        assert!(url.starts_with("http://127.0.0.1:"), "{url}");
        let (status, body) = get(url).await;
        assert_eq!(status, 200);
        assert!(body.contains("version=v1"), "{body}");
    }
    env.emulator.shutdown().await;
    assert!(
        instance_containers(&instance).is_empty(),
        "shutdown removes ecsim's containers"
    );
}

/// Cluster `c` with service `svc` of one task; returns the task once it runs.
async fn service_of_one(env: &Env) -> Task {
    env.ecs
        .create_cluster()
        .cluster_name("c")
        .send()
        .await
        .expect("CreateCluster");
    register(env, "svc", vec![app("web", &[]).build()], None).await;
    env.ecs
        .create_service()
        .cluster("c")
        .service_name("svc")
        .task_definition("svc")
        .desired_count(1)
        .launch_type(LaunchType::Fargate)
        .network_configuration(awsvpc(&[default_subnet('a')]))
        .send()
        .await
        .expect("CreateService");
    until(30, "a RUNNING task", async || {
        running_tasks(env, "c", Some("svc")).await.into_iter().next()
    })
    .await
}

/// How a test kills the task's container.
enum Kill {
    /// `docker kill` from outside, as a crash looks to ecsim.
    DockerCli,
    /// A `crashTask` fault through the emulator API.
    Fault,
}

async fn killed_task_is_replaced(test: &str, kill: Kill) {
    if !docker_tests_enabled(test) {
        return;
    }
    let (env, _instance) = start_docker(test).await;
    let first = service_of_one(&env).await;
    let first_arn = first.task_arn().expect("ARN").to_string();
    let container_id = first.containers()[0]
        .runtime_id()
        .expect("runtime id")
        .to_string();
    match kill {
        Kill::DockerCli => {
            docker(&["kill", &container_id]);
        }
        Kill::Fault => {
            let response = reqwest::Client::new()
                .post(format!("{}/_ecsim/faults", env.url()))
                .header("content-type", "application/json")
                .body(serde_json::json!({"type": "crashTask", "cluster": "c", "task": first_arn}).to_string())
                .send()
                .await
                .expect("the fault API answers");
            let status = response.status().as_u16();
            let body = response.text().await.unwrap_or_default();
            assert_eq!(status, 201, "{body}");
        }
    }

    let stopped = until(10, "the killed task to stop", async || {
        let t = describe(&env, "c", std::slice::from_ref(&first_arn))
            .await
            .remove(0);
        (t.last_status() == Some("STOPPED")).then_some(t)
    })
    .await;
    assert_eq!(
        stopped.stop_code().map(|c| c.as_str()),
        Some("EssentialContainerExited")
    );
    assert_eq!(stopped.containers()[0].exit_code(), Some(137));
    let replacement = until(30, "a replacement task", async || {
        running_tasks(&env, "c", Some("svc"))
            .await
            .into_iter()
            .find(|t| t.task_arn() != Some(first_arn.as_str()))
    })
    .await;
    assert_ne!(
        replacement.containers()[0].runtime_id(),
        Some(container_id.as_str())
    );
    env.emulator.shutdown().await;
}

#[tokio::test]
async fn a_killed_container_stops_its_task_and_the_service_replaces_it() {
    killed_task_is_replaced("killed", Kill::DockerCli).await;
}

#[tokio::test]
async fn a_crash_task_fault_kills_the_container_and_the_service_replaces_it() {
    killed_task_is_replaced("crash_fault", Kill::Fault).await;
}

/// At 60× a control-plane minute passes in a real second: the utilization reader measures the
/// real container twice and AWS/ECS reports the task's CPU and memory for the service.
#[tokio::test]
async fn real_containers_report_cpu_and_memory_utilization_at_a_time_scale() {
    if !docker_tests_enabled("utilization_at_a_time_scale") {
        return;
    }
    let (env, _instance) = crate::docker_support::start_docker_scaled("utilization", 60.0).await;
    service_of_one(&env).await;
    let stats = |metric: &'static str| {
        let env = &env;
        async move {
            let now = env.clock().now_ms();
            env.cw
                .get_metric_statistics()
                .namespace("AWS/ECS")
                .metric_name(metric)
                .dimensions(
                    aws_sdk_cloudwatch::types::Dimension::builder()
                        .name("ClusterName")
                        .value("c")
                        .build(),
                )
                .dimensions(
                    aws_sdk_cloudwatch::types::Dimension::builder()
                        .name("ServiceName")
                        .value("svc")
                        .build(),
                )
                .start_time(aws_sdk_cloudwatch::primitives::DateTime::from_millis(
                    (now - 3_600_000) as i64,
                ))
                .end_time(aws_sdk_cloudwatch::primitives::DateTime::from_millis(now as i64))
                .period(60)
                .statistics(aws_sdk_cloudwatch::types::Statistic::Maximum)
                .statistics(aws_sdk_cloudwatch::types::Statistic::SampleCount)
                .send()
                .await
                .expect("GetMetricStatistics")
                .datapoints()
                .to_vec()
        }
    };
    let cpu = until(30, "a CPUUtilization datapoint", async || {
        let points = stats("CPUUtilization").await;
        (!points.is_empty()).then_some(points)
    })
    .await;
    let cpu_max = cpu.iter().filter_map(|p| p.maximum()).fold(0.0, f64::max);
    assert!((0.0..=100.0).contains(&cpu_max), "an idle test app: {cpu:?}");
    assert!(
        cpu.iter().all(|p| p.sample_count() == Some(1.0)),
        "one task: {cpu:?}"
    );
    let memory = stats("MemoryUtilization").await;
    let memory_max = memory.iter().filter_map(|p| p.maximum()).fold(0.0, f64::max);
    assert!(
        memory_max > 0.0 && memory_max < 50.0,
        "a 1.6 MB static binary in a 512 MiB task: {memory:?}"
    );
    env.emulator.shutdown().await;
}

#[tokio::test]
async fn containers_start_in_dependency_order_sharing_one_network_namespace() {
    let Some((env, _instance)) = docker_with_cluster("dependency_order").await else {
        return;
    };
    let init = ContainerDefinition::builder()
        .name("init")
        .image(TEST_IMAGE)
        .essential(false)
        .environment(KeyValuePair::builder().name("PORT").value("9000").build())
        .environment(
            KeyValuePair::builder()
                .name("ECSIM_EXIT_AFTER_SECONDS")
                .value("1")
                .build(),
        )
        .environment(KeyValuePair::builder().name("ECSIM_EXIT_CODE").value("0").build())
        .build();
    let web = app("web", &[])
        .depends_on(
            ContainerDependency::builder()
                .container_name("init")
                .condition(ContainerCondition::Success)
                .build()
                .expect("dependency"),
        )
        .build();
    register(&env, "ordered", vec![init, web], None).await;
    let arn = run(&env, "c", "ordered").await;
    let task = until(30, "RUNNING", async || {
        let t = describe(&env, "c", std::slice::from_ref(&arn)).await.remove(0);
        (t.last_status() == Some("RUNNING")).then_some(t)
    })
    .await;
    let by_name = |n: &str| {
        task.containers()
            .iter()
            .find(|c| c.name() == Some(n))
            .expect(n)
            .clone()
    };
    let (init, web) = (by_name("init"), by_name("web"));
    assert_eq!(init.last_status(), Some("STOPPED"));
    assert_eq!(init.exit_code(), Some(0));
    assert_eq!(web.last_status(), Some("RUNNING"));
    let finished = docker(&[
        "inspect",
        "-f",
        "{{.State.FinishedAt}}",
        init.runtime_id().expect("id"),
    ]);
    let started = docker(&[
        "inspect",
        "-f",
        "{{.State.StartedAt}}",
        web.runtime_id().expect("id"),
    ]);
    assert!(
        started > finished,
        "web started {started}, after init finished {finished}"
    );
    // Both share the task's network namespace (held by its pause container), so the published
    // port of `web` answers.
    let mode = docker(&[
        "inspect",
        "-f",
        "{{.HostConfig.NetworkMode}}",
        web.runtime_id().expect("id"),
    ]);
    assert!(mode.starts_with("container:"), "{mode}");
    let urls = task_urls(&env).await;
    let (status, _) = get(&urls[&arn]).await;
    assert_eq!(status, 200);
    env.emulator.shutdown().await;
}

#[tokio::test]
async fn a_container_gets_its_task_role_credentials_and_metadata_from_ecsim() {
    let Some((env, _instance)) = docker_with_cluster("task_role_credentials").await else {
        return;
    };
    let role = "arn:aws:iam::123456789012:role/app-role";
    // An ECR image name runs the local `<repo>:<tag>` image of the same name.
    let ecr_image = format!("123456789012.dkr.ecr.us-east-1.amazonaws.com/{TEST_IMAGE}");
    register(
        &env,
        "caller",
        vec![app("web", &[]).image(ecr_image).build()],
        Some(role),
    )
    .await;
    let arn = run(&env, "c", "caller").await;
    let task = until(30, "the task to run or stop", async || {
        let t = describe(&env, "c", std::slice::from_ref(&arn)).await.remove(0);
        matches!(t.last_status(), Some("RUNNING" | "STOPPED")).then_some(t)
    })
    .await;
    assert_eq!(task.last_status(), Some("RUNNING"), "{task:#?}");
    let base = task_urls(&env).await[&arn].clone();
    let task_id = arn.rsplit('/').next().expect("id");

    // The app has no static keys: it fetches credentials from AWS_CONTAINER_CREDENTIALS_FULL_URI
    // (at 169.254.170.2), signs GetCallerIdentity with them and sends it to AWS_ENDPOINT_URL.
    let (status, body) = get(&format!("{base}/whoami")).await;
    assert_eq!(status, 200, "{body}");
    assert!(
        body.contains(&format!(
            "arn:aws:sts::123456789012:assumed-role/app-role/{task_id}"
        )),
        "{body}"
    );
    assert!(body.contains("<Account>123456789012</Account>"), "{body}");

    // The environment ECS-aware code reads, and the stats endpoint behind it.
    let (_, environment) = get(&format!("{base}/env")).await;
    let var = |name: &str| {
        environment
            .lines()
            .find_map(|l| l.strip_prefix(&format!("{name}=")))
            .unwrap_or_else(|| panic!("{name} is not set in the container: {environment}"))
            .to_string()
    };
    let port = env.emulator.local_addr().port();
    assert_eq!(var("AWS_ENDPOINT_URL"), format!("http://169.254.170.2:{port}"));
    assert_eq!(var("AWS_REGION"), "us-east-1");
    let metadata_uri = var("ECS_CONTAINER_METADATA_URI_V4");
    let from_host = metadata_uri.replace("169.254.170.2", "127.0.0.1");
    let (status, stats) = get(&format!("{from_host}/stats")).await;
    assert_eq!(status, 200, "{stats}");
    let stats: Value = serde_json::from_str(&stats).expect("stats JSON");
    assert!(stats["memory_stats"].is_object(), "{stats}");

    // The SDK's own default credential chain, given exactly this environment (with the host's
    // loopback for 169.254.170.2), finds the task role and calls STS with it.
    let mut probe = std::process::Command::new(std::env::current_exe().expect("test binary"));
    probe
        .args([
            "--ignored",
            "--exact",
            "docker_runtime::sdk_default_chain_probe",
            "--nocapture",
        ])
        .env(
            "AWS_CONTAINER_CREDENTIALS_FULL_URI",
            var("AWS_CONTAINER_CREDENTIALS_FULL_URI").replace("169.254.170.2", "127.0.0.1"),
        )
        .env("AWS_ENDPOINT_URL", env.url())
        .env("AWS_REGION", "us-east-1")
        .env_remove("AWS_ACCESS_KEY_ID")
        .env_remove("AWS_SECRET_ACCESS_KEY")
        .env_remove("AWS_PROFILE")
        .env("AWS_CONFIG_FILE", "/nonexistent")
        .env("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent");
    // Off this (single) runtime thread: the emulator answering the probe runs on it.
    let probe = tokio::task::spawn_blocking(move || probe.output())
        .await
        .expect("probe thread")
        .expect("run the SDK probe");
    let probe_out = String::from_utf8_lossy(&probe.stdout);
    assert!(
        probe.status.success(),
        "{probe_out}\n{}",
        String::from_utf8_lossy(&probe.stderr)
    );
    assert!(
        probe_out.contains(&format!(
            "caller=arn:aws:sts::123456789012:assumed-role/app-role/{task_id}"
        )),
        "{probe_out}"
    );

    let (status, body) = get(&format!("{base}/metadata")).await;
    assert_eq!(status, 200, "{body}");
    let metadata: Value = serde_json::from_str(&body).expect("JSON");
    assert_eq!(metadata["task"]["TaskARN"], arn.as_str());
    assert_eq!(metadata["task"]["AvailabilityZone"], "us-east-1a");
    assert_eq!(metadata["container"]["Name"], "web");
    assert_eq!(metadata["container"]["KnownStatus"], "RUNNING");
    env.emulator.shutdown().await;
}

#[tokio::test]
async fn containers_ecsim_did_not_create_survive_reset_and_shutdown() {
    if !docker_tests_enabled("foreign_containers_survive") {
        return;
    }
    let (env, instance) = start_docker("foreign").await;
    crate::docker_support::test_image();
    // A container of the same image, carrying ecsim-looking labels of another instance.
    let foreign = docker(&[
        "run",
        "-d",
        "--label",
        "dev.ecsim.managed=true",
        "--label",
        "dev.ecsim.instance=someone-else",
        TEST_IMAGE,
    ]);
    one_task_container(&env, &instance, "mine").await;

    let reset = reqwest::Client::new()
        .post(format!("{}/_ecsim/reset", env.url()))
        .send()
        .await
        .expect("reset");
    assert_eq!(reset.status().as_u16(), 200);
    until(10, "reset to remove ecsim's container", async || {
        instance_containers(&instance).is_empty().then_some(())
    })
    .await;
    env.emulator.shutdown().await;
    let state = docker(&["inspect", "-f", "{{.State.Running}}", &foreign]);
    docker(&["rm", "-f", &foreign]);
    assert_eq!(state, "true", "a container ecsim did not create keeps running");
}

#[tokio::test]
async fn bridge_and_host_tasks_report_ecs_bindings_and_never_collide_on_the_host() {
    if !docker_tests_enabled("bridge_and_host_bindings") {
        return;
    }
    let (env, _instance) = start_docker("bindings").await;
    env.ecs
        .create_cluster()
        .cluster_name("ec2")
        .send()
        .await
        .expect("CreateCluster");
    for zone in ["us-east-1a", "us-east-1b"] {
        crate::common::register_instance(&env.ecs, "ec2", &[("ecs.availability-zone", zone)]).await;
    }
    for (family, mode, host_port) in [
        ("dyn", NetworkMode::Bridge, 0),
        ("hostnet", NetworkMode::Host, 8080),
    ] {
        let container = ContainerDefinition::builder()
            .name("web")
            .image(TEST_IMAGE)
            .memory(64)
            .essential(true)
            .port_mappings(
                PortMapping::builder()
                    .container_port(8080)
                    .host_port(host_port)
                    .build(),
            )
            .build();
        env.ecs
            .register_task_definition()
            .family(family)
            .network_mode(mode)
            .container_definitions(container)
            .send()
            .await
            .expect("RegisterTaskDefinition");
    }
    let mut arns = Vec::new();
    for (family, count) in [("dyn", 2), ("hostnet", 2)] {
        let out = env
            .ecs
            .run_task()
            .cluster("ec2")
            .task_definition(family)
            .count(count)
            .launch_type(LaunchType::Ec2)
            .send()
            .await
            .expect("RunTask");
        assert!(out.failures().is_empty(), "{:?}", out.failures());
        arns.extend(
            out.tasks()
                .iter()
                .filter_map(|t| t.task_arn())
                .map(str::to_string),
        );
    }
    let tasks = until(30, "four RUNNING tasks", async || {
        let t = describe(&env, "ec2", &arns).await;
        t.iter().all(|t| t.last_status() == Some("RUNNING")).then_some(t)
    })
    .await;
    let urls = task_urls(&env).await;
    for t in &tasks {
        let binding = &t.containers()[0].network_bindings()[0];
        assert_eq!(binding.container_port(), Some(8080));
        let url = &urls[t.task_arn().unwrap_or_default()];
        let real_port: i32 = url.rsplit(':').next().and_then(|p| p.parse().ok()).expect("port");
        if t.task_definition_arn().unwrap_or_default().contains("/dyn:") {
            // A dynamic host port is the port ecsim published on loopback.
            assert_eq!(binding.host_port(), Some(real_port));
        } else {
            // Host mode reports the container port on its instance; on this machine each task
            // has its own loopback port, so two instances' port 8080 never collide.
            assert_eq!(binding.host_port(), Some(8080));
        }
        let (status, _) = get(url).await;
        assert_eq!(status, 200);
    }
    let host_ports: std::collections::BTreeSet<&String> = urls.values().collect();
    assert_eq!(host_ports.len(), 4, "{urls:?}");
    env.emulator.shutdown().await;
}

#[tokio::test]
async fn the_api_keeps_answering_while_the_daemon_is_away_and_state_catches_up_after() {
    if !docker_tests_enabled("daemon_goes_away") {
        return;
    }
    let mut proxy = crate::docker_support::SocketProxy::start("outage");
    let (env, _instance) = crate::docker_support::start_docker_on("outage", Some(proxy.path.clone())).await;
    let first = service_of_one(&env).await;
    let first_arn = first.task_arn().expect("ARN").to_string();

    proxy.cut();
    // The container dies while ecsim cannot see the daemon.
    docker(&["kill", first.containers()[0].runtime_id().expect("runtime id")]);
    pause_ms(500).await;
    // The API answers, with the task as ecsim last knew it.
    let known = describe(&env, "c", std::slice::from_ref(&first_arn))
        .await
        .remove(0);
    assert_eq!(known.last_status(), Some("RUNNING"));
    env.ecs
        .list_services()
        .cluster("c")
        .send()
        .await
        .expect("ListServices while the daemon is away");

    proxy.restore();
    let stopped = until(
        15,
        "the killed task to stop after the daemon returns",
        async || {
            let t = describe(&env, "c", std::slice::from_ref(&first_arn))
                .await
                .remove(0);
            (t.last_status() == Some("STOPPED")).then_some(t)
        },
    )
    .await;
    assert_eq!(
        stopped.stop_code().map(|c| c.as_str()),
        Some("EssentialContainerExited")
    );
    until(30, "a replacement task", async || {
        running_tasks(&env, "c", Some("svc"))
            .await
            .into_iter()
            .find(|t| t.task_arn() != Some(first_arn.as_str()))
    })
    .await;
    env.emulator.shutdown().await;
}

#[tokio::test]
async fn a_restart_removes_what_the_previous_run_of_the_same_instance_left() {
    if !docker_tests_enabled("leftovers_removed") {
        return;
    }
    crate::docker_support::test_image();
    let instance = crate::docker_support::Instance(crate::docker_support::instance_name("leftovers"));
    let options = |keep_on_shutdown: bool| ecsim::DockerOptions {
        instance: instance.0.clone(),
        pull_images: false,
        keep_on_shutdown,
        ..ecsim::DockerOptions::default()
    };
    let builder = |keep| ecsim::Emulator::builder().runtime(ecsim::Runtime::Docker(options(keep)));
    let env = crate::common::start_with(builder(true), "test").await;
    one_task_container(&env, &instance, "left").await;
    env.emulator.shutdown().await;
    assert_eq!(
        instance_containers(&instance).len(),
        1,
        "--keep-containers leaves it running"
    );

    let again = crate::common::start_with(builder(false), "test").await;
    assert!(
        instance_containers(&instance).is_empty(),
        "the new run removed the old run's container"
    );
    again.emulator.shutdown().await;
}

/// Not a test of its own: `a_container_gets_its_task_role_credentials_and_metadata_from_ecsim`
/// runs it (`--ignored --exact`) in a child process whose environment is a task's. It resolves
/// credentials through the SDK's default chain and prints the STS caller.
#[tokio::test]
#[ignore = "run by a_container_gets_its_task_role_credentials_and_metadata_from_ecsim with a task's environment"]
async fn sdk_default_chain_probe() {
    let config = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .http_client(aws_smithy_http_client::Builder::new().build_http())
        .load()
        .await;
    let sts = aws_sdk_sts::Client::new(&config);
    let identity = sts
        .get_caller_identity()
        .send()
        .await
        .expect("GetCallerIdentity with task role credentials");
    println!("caller={}", identity.arn().unwrap_or_default());
}
