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

/// An emulator on the Docker runtime (system clock, no pulls) with SDK clients, and the instance
/// name that labels its containers.
pub async fn start_docker(test: &str) -> (Env, String) {
    test_image();
    let instance = instance_name(test);
    let options = DockerOptions {
        instance: instance.clone(),
        pull_images: false,
        ..DockerOptions::default()
    };
    let env = start_with(
        Emulator::builder().seed(11).runtime(Runtime::Docker(options)),
        "test",
    )
    .await;
    (env, instance)
}
