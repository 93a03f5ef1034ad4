//! Benchmark: time from RunTask to RUNNING on the Docker runtime, against plain Docker starting
//! the same image in the same run (the `docker run` CLI, and the raw API calls `docker run`
//! makes: create + start), for 1 task and for 50 at once.
//!
//! Run: `cargo run --release --example docker_startup [-- ROUNDS]` (needs a Docker daemon and
//! builds the test image `ecsim-testapp:latest` first with scripts/build-testapp-image.sh).
//! Prints one line per measurement; the medians go in the closing notes of the Docker issue.

#![allow(clippy::disallowed_methods)] // a benchmark measures and waits on real time

use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use aws_sdk_ecs::types::{
    AwsVpcConfiguration, Compatibility, ContainerDefinition, LaunchType, NetworkConfiguration, NetworkMode,
    PortMapping,
};
use bollard::models::{ContainerCreateBody, HostConfig, PortBinding};
use ecsim::{DockerOptions, Emulator, Runtime};

const IMAGE: &str = "ecsim-testapp:latest";
const NETWORK: &str = "ecsim-bench-plain";
const LABEL: &str = "dev.ecsim.bench=plain";

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn docker_cli(args: &[&str]) -> Result<String> {
    let out = Command::new("docker").args(args).output().context("docker CLI")?;
    if !out.status.success() {
        bail!("docker {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    }
    Ok(String::from_utf8_lossy(&out.stdout).trim().to_string())
}

fn remove_plain() -> Result<()> {
    let ids = docker_cli(&["ps", "-aq", "--filter", &format!("label={LABEL}")])?;
    for id in ids.lines() {
        docker_cli(&["rm", "-f", id])?;
    }
    Ok(())
}

/// `docker run -d -p 127.0.0.1::8080` of `n` containers at once, until every command returned.
fn plain_cli(n: usize) -> Result<Duration> {
    let start = Instant::now();
    let threads: Vec<_> = (0..n)
        .map(|_| {
            std::thread::spawn(|| {
                Command::new("docker")
                    .args([
                        "run",
                        "-d",
                        "--label",
                        LABEL,
                        "--network",
                        NETWORK,
                        "-p",
                        "127.0.0.1::8080",
                        IMAGE,
                    ])
                    .output()
            })
        })
        .collect();
    for t in threads {
        let out = t.join().map_err(|_| anyhow::anyhow!("thread"))??;
        if !out.status.success() {
            bail!("docker run: {}", String::from_utf8_lossy(&out.stderr));
        }
    }
    let elapsed = start.elapsed();
    remove_plain()?;
    Ok(elapsed)
}

/// The API calls `docker run -d` makes (create, start) for `n` containers concurrently.
async fn plain_api(docker: &bollard::Docker, n: usize) -> Result<Duration> {
    let start = Instant::now();
    let runs = (0..n).map(|_| async {
        let host = HostConfig {
            network_mode: Some(NETWORK.into()),
            port_bindings: Some(
                [(
                    "8080/tcp".to_string(),
                    Some(vec![PortBinding {
                        host_ip: Some("127.0.0.1".into()),
                        host_port: Some(String::new()),
                    }]),
                )]
                .into(),
            ),
            ..Default::default()
        };
        let body = ContainerCreateBody {
            image: Some(IMAGE.into()),
            labels: Some([("dev.ecsim.bench".to_string(), "plain".to_string())].into()),
            exposed_ports: Some(vec!["8080/tcp".into()]),
            host_config: Some(host),
            ..Default::default()
        };
        let created = docker
            .create_container(None::<bollard::query_parameters::CreateContainerOptions>, body)
            .await?;
        docker.start_container(&created.id, None).await?;
        anyhow::Ok(())
    });
    for r in futures_util::future::join_all(runs).await {
        r?;
    }
    let elapsed = start.elapsed();
    remove_plain()?;
    Ok(elapsed)
}

fn subnet_a() -> Result<NetworkConfiguration> {
    Ok(NetworkConfiguration::builder()
        .awsvpc_configuration(
            AwsVpcConfiguration::builder()
                .subnets("subnet-0ec5100000000000a")
                .build()?,
        )
        .build())
}

/// RunTask of `n` tasks (in RunTask calls of at most 10), until DescribeTasks shows all RUNNING.
async fn ecsim_run(ecs: &aws_sdk_ecs::Client, n: usize) -> Result<Duration> {
    let network = subnet_a()?;
    let start = Instant::now();
    let mut arns = Vec::new();
    let mut left = n;
    while left > 0 {
        let count = left.min(10);
        let out = ecs
            .run_task()
            .cluster("bench")
            .task_definition("bench")
            .launch_type(LaunchType::Fargate)
            .count(i32::try_from(count)?)
            .network_configuration(network.clone())
            .send()
            .await?;
        if !out.failures().is_empty() {
            bail!("RunTask failures: {:?}", out.failures());
        }
        arns.extend(
            out.tasks()
                .iter()
                .filter_map(|t| t.task_arn())
                .map(str::to_string),
        );
        left -= count;
    }
    loop {
        let mut all = true;
        for chunk in arns.chunks(100) {
            let out = ecs
                .describe_tasks()
                .cluster("bench")
                .set_tasks(Some(chunk.to_vec()))
                .send()
                .await?;
            if let Some(t) = out.tasks().iter().find(|t| t.last_status() == Some("STOPPED")) {
                bail!("a task stopped: {:?}", t.stopped_reason());
            }
            all &= out.tasks().iter().all(|t| t.last_status() == Some("RUNNING"));
        }
        if all {
            break;
        }
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    let elapsed = start.elapsed();
    for arn in &arns {
        ecs.stop_task().cluster("bench").task(arn).send().await?;
    }
    // Let the stops finish before the next round.
    loop {
        let out = ecs
            .list_tasks()
            .cluster("bench")
            .desired_status(aws_sdk_ecs::types::DesiredStatus::Running)
            .send()
            .await?;
        if out.task_arns().is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    Ok(elapsed)
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> Result<()> {
    let rounds: usize = std::env::args().nth(1).map_or(Ok(5), |a| a.parse())?;
    let root = env!("CARGO_MANIFEST_DIR");
    let built = Command::new("bash")
        .arg(format!("{root}/scripts/build-testapp-image.sh"))
        .output()?;
    if !built.status.success() {
        bail!(
            "building the test image: {}",
            String::from_utf8_lossy(&built.stderr)
        );
    }
    remove_plain()?;
    let _ = docker_cli(&["network", "rm", NETWORK]);
    docker_cli(&["network", "create", "--subnet", "10.199.0.0/22", NETWORK])?;
    let docker = bollard::Docker::connect_with_local_defaults()?
        .negotiate_version()
        .await?;

    let emulator = Emulator::builder()
        .runtime(Runtime::Docker(DockerOptions {
            instance: "bench".into(),
            pull_images: false,
            ..DockerOptions::default()
        }))
        .start()
        .await?;
    let config = aws_sdk_ecs::Config::builder()
        .behavior_version(aws_sdk_ecs::config::BehaviorVersion::latest())
        .endpoint_url(emulator.endpoint_url())
        .region(aws_sdk_ecs::config::Region::new("us-east-1"))
        .credentials_provider(aws_credential_types::Credentials::new(
            "test", "test", None, None, "bench",
        ))
        .http_client(aws_smithy_http_client::Builder::new().build_http())
        .build();
    let ecs = aws_sdk_ecs::Client::from_conf(config);
    ecs.create_cluster().cluster_name("bench").send().await?;
    ecs.register_task_definition()
        .family("bench")
        .network_mode(NetworkMode::Awsvpc)
        .requires_compatibilities(Compatibility::Fargate)
        .cpu("256")
        .memory("512")
        .container_definitions(
            ContainerDefinition::builder()
                .name("app")
                .image(IMAGE)
                .port_mappings(PortMapping::builder().container_port(8080).build())
                .build(),
        )
        .send()
        .await?;
    // Warm-up: the first task creates the subnet's Docker network.
    ecsim_run(&ecs, 1).await?;
    plain_api(&docker, 1).await?;

    for n in [1usize, 50] {
        let (mut cli, mut api, mut sim) = (Vec::new(), Vec::new(), Vec::new());
        for _ in 0..rounds {
            cli.push(plain_cli(n)?);
            api.push(plain_api(&docker, n).await?);
            sim.push(ecsim_run(&ecs, n).await?);
        }
        let (cli, api, sim) = (median(cli), median(api), median(sim));
        println!(
            "{n:>2} task(s): docker run CLI {:>8.1} ms | Docker API create+start {:>8.1} ms | ecsim RunTask→RUNNING {:>8.1} ms | ecsim/CLI {:.2}x, ecsim/API {:.2}x, overhead per task vs API {:.1} ms",
            ms(cli),
            ms(api),
            ms(sim),
            sim.as_secs_f64() / cli.as_secs_f64(),
            sim.as_secs_f64() / api.as_secs_f64(),
            (ms(sim) - ms(api)) / n as f64,
        );
    }
    // How fast a container killed outside ecsim becomes a STOPPED task.
    let mut kill_to_stopped = Vec::new();
    for _ in 0..rounds {
        kill_to_stopped.push(kill_latency(&ecs).await?);
    }
    println!(
        "docker kill → task STOPPED (as DescribeTasks shows it): median {:.1} ms over {rounds} runs",
        ms(median(kill_to_stopped))
    );
    emulator.shutdown().await;
    let _ = docker_cli(&["network", "rm", NETWORK]);
    Ok(())
}

async fn kill_latency(ecs: &aws_sdk_ecs::Client) -> Result<Duration> {
    let network = subnet_a()?;
    let out = ecs
        .run_task()
        .cluster("bench")
        .task_definition("bench")
        .launch_type(LaunchType::Fargate)
        .network_configuration(network)
        .send()
        .await?;
    let arn = out.tasks()[0].task_arn().unwrap_or_default().to_string();
    let runtime_id = loop {
        let t = ecs.describe_tasks().cluster("bench").tasks(&arn).send().await?;
        let task = &t.tasks()[0];
        if task.last_status() == Some("RUNNING") {
            break task.containers()[0].runtime_id().unwrap_or_default().to_string();
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    };
    docker_cli(&["kill", &runtime_id])?;
    let start = Instant::now();
    loop {
        let t = ecs.describe_tasks().cluster("bench").tasks(&arn).send().await?;
        if t.tasks()[0].last_status() == Some("STOPPED") {
            return Ok(start.elapsed());
        }
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
}
