//! Support for tests that need a Docker daemon: whether to run them, the test application image,
//! an emulator on the Docker runtime, and small `docker` CLI helpers.
//!
//! Without a daemon these tests skip and say so; with `ECSIM_DOCKER_TESTS=1` (set by `.ci/run`)
//! a missing daemon is a failure.

use std::process::Command;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use ecsim::{DockerOptions, Emulator, Runtime};

use crate::common::{Env, start_with};

pub const TEST_IMAGE: &str = "ecsim-testapp:latest";

fn docker_answers() -> bool {
    Command::new("docker")
        .args(["version", "--format", "{{.Server.Version}}"])
        .output()
        .is_ok_and(|o| o.status.success())
}

/// Whether Docker tests run here; panics when they must run and cannot.
pub fn docker_tests_enabled(test: &str) -> bool {
    let required = std::env::var("ECSIM_DOCKER_TESTS").is_ok_and(|v| v == "1");
    if docker_answers() {
        return true;
    }
    assert!(
        !required,
        "ECSIM_DOCKER_TESTS=1 but no Docker daemon answers `docker version`"
    );
    eprintln!("skipping {test}: no Docker daemon answers (set ECSIM_DOCKER_TESTS=1 to require one)");
    false
}

/// Builds the test application image once per test run (the script is fast when nothing changed).
pub fn test_image() -> &'static str {
    static BUILT: OnceLock<()> = OnceLock::new();
    BUILT.get_or_init(|| {
        let root = env!("CARGO_MANIFEST_DIR");
        let out = Command::new("bash")
            .arg(format!("{root}/scripts/build-testapp-image.sh"))
            .arg(TEST_IMAGE)
            .output()
            .expect("run scripts/build-testapp-image.sh");
        assert!(
            out.status.success(),
            "building the test image failed:\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
    });
    TEST_IMAGE
}

/// A unique instance name per emulator, so parallel tests never touch each other's containers.
pub fn instance_name(test: &str) -> String {
    static COUNTER: AtomicU32 = AtomicU32::new(0);
    format!(
        "t{}-{}-{}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::SeqCst),
        test.replace('_', "-")
    )
}

/// Output of a `docker` command that must succeed.
pub fn docker(args: &[&str]) -> String {
    let out = Command::new("docker").args(args).output().expect("run docker");
    assert!(
        out.status.success(),
        "docker {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// Ids of running containers with this instance's label.
pub fn instance_containers(instance: &str) -> Vec<String> {
    let out = docker(&[
        "ps",
        "-q",
        "--filter",
        &format!("label=dev.ecsim.instance={instance}"),
        "--filter",
        "label=dev.ecsim.role=task",
    ]);
    out.lines().map(str::to_string).collect()
}

/// Real-time pause between polls (these tests run on the system clock).
pub async fn pause_ms(ms: u64) {
    #[allow(clippy::disallowed_methods)] // tests against real containers wait in real time
    tokio::time::sleep(Duration::from_millis(ms)).await;
}

/// An emulator instance name whose containers and networks are removed when it is dropped, so a
/// failing test leaves nothing running.
pub struct Instance(pub String);

impl std::ops::Deref for Instance {
    type Target = str;
    fn deref(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for Instance {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl Drop for Instance {
    fn drop(&mut self) {
        let filter = format!("label=dev.ecsim.instance={}", self.0);
        for kind in [["ps", "-aq"], ["network", "ls"]] {
            let mut args: Vec<&str> = kind.to_vec();
            if kind[0] == "network" {
                args.push("-q");
            }
            args.extend(["--filter", &filter]);
            let Ok(out) = Command::new("docker").args(&args).output() else {
                return;
            };
            let ids: Vec<String> = String::from_utf8_lossy(&out.stdout)
                .lines()
                .map(str::to_string)
                .collect();
            if ids.is_empty() {
                continue;
            }
            let remove: Vec<&str> = if kind[0] == "network" {
                vec!["network", "rm"]
            } else {
                vec!["rm", "-f"]
            };
            let _ = Command::new("docker")
                .args(remove.iter().copied().chain(ids.iter().map(String::as_str)))
                .output();
        }
    }
}

/// An emulator on the Docker runtime (system clock, no pulls) with SDK clients, and the instance
/// name that labels its containers.
pub async fn start_docker(test: &str) -> (Env, Instance) {
    start_docker_on(test, None).await
}

/// As `start_docker`, on a live clock running `time_scale` times faster than real time.
pub async fn start_docker_scaled(test: &str, time_scale: f64) -> (Env, Instance) {
    test_image();
    let instance = Instance(instance_name(test));
    let options = DockerOptions {
        instance: instance.0.clone(),
        pull_images: false,
        ..DockerOptions::default()
    };
    let env = start_with(
        Emulator::builder()
            .seed(11)
            .time_scale(time_scale)
            .runtime(Runtime::Docker(options)),
        "test",
    )
    .await;
    (env, instance)
}

/// As `start_docker`, talking to the daemon through `socket`.
pub async fn start_docker_on(test: &str, socket: Option<String>) -> (Env, Instance) {
    test_image();
    let instance = Instance(instance_name(test));
    let options = DockerOptions {
        instance: instance.0.clone(),
        pull_images: false,
        socket,
        ..DockerOptions::default()
    };
    let env = start_with(
        Emulator::builder().seed(11).runtime(Runtime::Docker(options)),
        "test",
    )
    .await;
    (env, instance)
}

/// The daemon's Unix socket path (`DOCKER_HOST=unix://…` or the default).
pub fn daemon_socket() -> String {
    std::env::var("DOCKER_HOST")
        .ok()
        .and_then(|h| h.strip_prefix("unix://").map(str::to_string))
        .unwrap_or_else(|| "/var/run/docker.sock".to_string())
}

/// A Unix-socket proxy in front of the Docker daemon that a test can cut (every connection
/// dropped, nothing accepted) and restore, to play a daemon that goes away and comes back.
pub struct SocketProxy {
    pub path: String,
    accept: Option<tokio::task::JoinHandle<()>>,
    connections: std::sync::Arc<parking_lot::Mutex<Vec<tokio::task::AbortHandle>>>,
}

impl SocketProxy {
    pub fn start(name: &str) -> Self {
        let path = format!(
            "{}/ecsim-proxy-{}-{name}.sock",
            std::env::temp_dir().display(),
            std::process::id()
        );
        let mut proxy = Self {
            path,
            accept: None,
            connections: Default::default(),
        };
        proxy.restore();
        proxy
    }

    /// Accepts connections again, forwarding each to the daemon.
    pub fn restore(&mut self) {
        let _ = std::fs::remove_file(&self.path);
        let listener = tokio::net::UnixListener::bind(&self.path).expect("bind the proxy socket");
        let connections = self.connections.clone();
        self.accept = Some(tokio::spawn(async move {
            while let Ok((mut client, _)) = listener.accept().await {
                let task = tokio::spawn(async move {
                    if let Ok(mut daemon) = tokio::net::UnixStream::connect(daemon_socket()).await {
                        let _ = tokio::io::copy_bidirectional(&mut client, &mut daemon).await;
                    }
                });
                connections.lock().push(task.abort_handle());
            }
        }));
    }

    /// Drops every open connection and stops accepting: the daemon is "gone".
    pub fn cut(&mut self) {
        if let Some(accept) = self.accept.take() {
            accept.abort();
        }
        for c in self.connections.lock().drain(..) {
            c.abort();
        }
        let _ = std::fs::remove_file(&self.path);
    }
}

impl Drop for SocketProxy {
    fn drop(&mut self) {
        self.cut();
    }
}
