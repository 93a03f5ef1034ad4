//! The simulated runtime's behaviour model: how long lifecycle steps take, and how a simulated
//! container behaves, read from `ECSIM_*` environment entries of its container definition.
//!
//! The Docker test application reads the same variables, so one task definition behaves alike on
//! both runtimes. Pure data and parsing; the engine turns it into timed state changes.

use ecsim_core::Millis;

/// How long each lifecycle step takes on the simulated runtime.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SimTimings {
    /// PROVISIONING → PENDING (network interface for awsvpc tasks).
    pub provisioning_ms: Millis,
    /// PENDING → ACTIVATING (image pull, container create).
    pub pending_ms: Millis,
    /// ACTIVATING → RUNNING (container start, registrations).
    pub activating_ms: Millis,
    /// DEACTIVATING → STOPPING (deregistrations).
    pub deactivating_ms: Millis,
    /// STOPPING → DEPROVISIONING when containers honour SIGTERM.
    pub stopping_ms: Millis,
    /// DEPROVISIONING → STOPPED (network interface released).
    pub deprovisioning_ms: Millis,
    /// How long STOPPED tasks stay describable (AWS: at least an hour).
    pub stopped_retention_ms: Millis,
    /// Behaviour defaults per image (scenario files' `setup.images`): `ECSIM_*` entries a
    /// container of a matching image gets unless its definition sets the same name. They reach
    /// the Docker runtime too, where the test application reads them.
    pub image_env: Vec<ImageEnv>,
}

/// `ECSIM_*` environment defaults for the containers of one image.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageEnv {
    /// `repository:tag` matches that reference; `repository` alone matches every tag of it.
    pub image: String,
    pub env: Vec<(String, String)>,
}

impl ImageEnv {
    /// Whether `reference` (as a container definition names it) is this image.
    pub fn matches(&self, reference: &str) -> bool {
        if reference == self.image {
            return true;
        }
        // `repo:tag` or `repo@digest`, where `repo` may hold a registry port (`host:5000/x`).
        let last_slash = reference.rfind('/').map_or(0, |i| i + 1);
        let repository_end = reference[last_slash..]
            .find([':', '@'])
            .map_or(reference.len(), |i| last_slash + i);
        let pattern_name = &self.image[self.image.rfind('/').map_or(0, |i| i + 1)..];
        !pattern_name.contains([':', '@']) && reference[..repository_end] == self.image
    }
}

impl Default for SimTimings {
    fn default() -> Self {
        Self {
            provisioning_ms: 200,
            pending_ms: 300,
            activating_ms: 200,
            deactivating_ms: 100,
            stopping_ms: 200,
            deprovisioning_ms: 100,
            stopped_retention_ms: 3_600_000,
            image_env: Vec::new(),
        }
    }
}

/// Environment entry names the behaviour model reads.
pub mod env {
    /// Extra milliseconds the container takes to start (added to PENDING).
    pub const START_DELAY_MS: &str = "ECSIM_START_DELAY_MS";
    /// The container exits on its own this many seconds after RUNNING (decimals allowed).
    pub const EXIT_AFTER_SECONDS: &str = "ECSIM_EXIT_AFTER_SECONDS";
    /// Exit code when it does (default 1).
    pub const EXIT_CODE: &str = "ECSIM_EXIT_CODE";
    /// The container fails to start with this error text (`CannotStartContainerError: …`).
    pub const START_FAILURE: &str = "ECSIM_START_FAILURE";
    /// `HEALTHY` (default) or `UNHEALTHY`: what the container's health check reports.
    pub const HEALTH: &str = "ECSIM_HEALTH";
    /// Health checks start failing this many seconds after RUNNING.
    pub const UNHEALTHY_AFTER_SECONDS: &str = "ECSIM_UNHEALTHY_AFTER_SECONDS";
    /// `true`: the container ignores SIGTERM and is killed after `stopTimeout`.
    pub const IGNORE_SIGTERM: &str = "ECSIM_IGNORE_SIGTERM";
    /// Fraction (0–1) of simulated HTTP requests answered with 500 (used by simulated traffic).
    pub const ERROR_RATE: &str = "ECSIM_ERROR_RATE";
    /// Milliseconds of latency for simulated HTTP requests (used by simulated traffic).
    pub const LATENCY_MS: &str = "ECSIM_LATENCY_MS";
    /// Version string the test application reports.
    pub const VERSION: &str = "ECSIM_VERSION";
    /// Percent of the container's share of the task's CPU reservation it uses (AWS/ECS
    /// CPUUtilization on the simulated runtime; default 1).
    pub const CPU_PERCENT: &str = "ECSIM_CPU_PERCENT";
    /// Percent of its share of the task's memory it uses (MemoryUtilization; default 10).
    pub const MEMORY_PERCENT: &str = "ECSIM_MEMORY_PERCENT";
}

/// Simulated CPU use when the container definition does not say (an idle web server).
pub const DEFAULT_CPU_PERCENT: f64 = 1.0;
/// Simulated memory use when the container definition does not say.
pub const DEFAULT_MEMORY_PERCENT: f64 = 10.0;

/// Images whose reference starts with this registry simulate a failed pull.
pub const UNPULLABLE_REGISTRY: &str = "unpullable.invalid/";

/// How one simulated container behaves.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Behaviour {
    pub start_delay_ms: Millis,
    pub exit_after_ms: Option<Millis>,
    pub exit_code: i32,
    pub start_failure: Option<String>,
    pub healthy: bool,
    pub unhealthy_after_ms: Option<Millis>,
    pub ignore_sigterm: bool,
    pub error_rate: f64,
    pub latency_ms: Millis,
    pub version: Option<String>,
    pub cpu_percent: f64,
    pub memory_percent: f64,
}

/// A bad `ECSIM_*` value: which variable and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("environment variable {name} has an invalid value '{value}': {expected}")]
pub struct BehaviourError {
    pub name: &'static str,
    pub value: String,
    pub expected: &'static str,
}

fn seconds_to_ms(name: &'static str, value: &str) -> Result<Millis, BehaviourError> {
    let bad = || BehaviourError {
        name,
        value: value.to_string(),
        expected: "a non-negative number of seconds",
    };
    let seconds: f64 = value.trim().parse().map_err(|_| bad())?;
    if !seconds.is_finite() || !(0.0..=31_536_000.0).contains(&seconds) {
        return Err(bad());
    }
    // Bounded above, non-negative: the conversion cannot truncate meaningfully.
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
    let ms = (seconds * 1000.0).round() as Millis;
    Ok(ms)
}

impl Behaviour {
    /// Reads the behaviour from environment entries (later entries win, as Docker does).
    pub fn from_env<'a>(
        entries: impl IntoIterator<Item = (&'a str, &'a str)>,
    ) -> Result<Self, BehaviourError> {
        let mut b = Behaviour {
            exit_code: 1,
            healthy: true,
            cpu_percent: DEFAULT_CPU_PERCENT,
            memory_percent: DEFAULT_MEMORY_PERCENT,
            ..Behaviour::default()
        };
        for (name, value) in entries {
            match name {
                env::START_DELAY_MS => {
                    b.start_delay_ms = value.trim().parse().map_err(|_| BehaviourError {
                        name: env::START_DELAY_MS,
                        value: value.to_string(),
                        expected: "a non-negative integer of milliseconds",
                    })?;
                }
                env::EXIT_AFTER_SECONDS => {
                    b.exit_after_ms = Some(seconds_to_ms(env::EXIT_AFTER_SECONDS, value)?)
                }
                env::EXIT_CODE => {
                    b.exit_code = value.trim().parse().map_err(|_| BehaviourError {
                        name: env::EXIT_CODE,
                        value: value.to_string(),
                        expected: "an integer exit code",
                    })?;
                }
                env::START_FAILURE => b.start_failure = Some(value.to_string()),
                env::HEALTH => {
                    b.healthy = match value.trim().to_ascii_uppercase().as_str() {
                        "HEALTHY" => true,
                        "UNHEALTHY" => false,
                        _ => {
                            return Err(BehaviourError {
                                name: env::HEALTH,
                                value: value.to_string(),
                                expected: "HEALTHY or UNHEALTHY",
                            });
                        }
                    };
                }
                env::UNHEALTHY_AFTER_SECONDS => {
                    b.unhealthy_after_ms = Some(seconds_to_ms(env::UNHEALTHY_AFTER_SECONDS, value)?);
                }
                env::IGNORE_SIGTERM => {
                    b.ignore_sigterm = match value.trim() {
                        "true" | "1" => true,
                        "false" | "0" => false,
                        _ => {
                            return Err(BehaviourError {
                                name: env::IGNORE_SIGTERM,
                                value: value.to_string(),
                                expected: "true or false",
                            });
                        }
                    };
                }
                env::ERROR_RATE => {
                    let rate: f64 = value.trim().parse().map_err(|_| BehaviourError {
                        name: env::ERROR_RATE,
                        value: value.to_string(),
                        expected: "a fraction between 0 and 1",
                    })?;
                    if !(0.0..=1.0).contains(&rate) {
                        return Err(BehaviourError {
                            name: env::ERROR_RATE,
                            value: value.to_string(),
                            expected: "a fraction between 0 and 1",
                        });
                    }
                    b.error_rate = rate;
                }
                env::LATENCY_MS => {
                    b.latency_ms = value.trim().parse().map_err(|_| BehaviourError {
                        name: env::LATENCY_MS,
                        value: value.to_string(),
                        expected: "a non-negative integer of milliseconds",
                    })?;
                }
                env::VERSION => b.version = Some(value.to_string()),
                env::CPU_PERCENT | env::MEMORY_PERCENT => {
                    let name = if name == env::CPU_PERCENT {
                        env::CPU_PERCENT
                    } else {
                        env::MEMORY_PERCENT
                    };
                    let bad = || BehaviourError {
                        name,
                        value: value.to_string(),
                        expected: "a percentage between 0 and 100",
                    };
                    let pct: f64 = value.trim().parse().map_err(|_| bad())?;
                    if !(0.0..=100.0).contains(&pct) {
                        return Err(bad());
                    }
                    if name == env::CPU_PERCENT {
                        b.cpu_percent = pct;
                    } else {
                        b.memory_percent = pct;
                    }
                }
                _ => {}
            }
        }
        Ok(b)
    }
}

/// Whether pulling `image` fails on the simulated runtime.
pub fn pull_fails(image: &str) -> bool {
    image.starts_with(UNPULLABLE_REGISTRY)
}

/// Why a container cannot be started faithfully, as ECS words it (`ResourceInitializationError`).
pub fn unsupported(c: &ecsim_api::ecs::ContainerDefinition) -> Option<String> {
    let name = c.name.as_deref().unwrap_or_default();
    if let Some(secret) = c.secrets.as_deref().and_then(|s| s.first()) {
        return Some(format!(
            "ResourceInitializationError: unable to pull secrets or registry auth: execution resource \
             retrieval failed: unable to retrieve secret from asm or ssm: container {name}: secret {} \
             ({}) cannot be fetched: ecsim does not serve Secrets Manager or SSM Parameter Store yet",
            secret.name, secret.value_from
        ));
    }
    if let Some(file) = c.environment_files.as_deref().and_then(|f| f.first()) {
        return Some(format!(
            "ResourceInitializationError: failed to download env files: file download command: \
             non empty error stream: container {name}: {} cannot be fetched: ecsim does not serve S3",
            file.value
        ));
    }
    if c.repository_credentials.is_some() {
        return Some(format!(
            "ResourceInitializationError: unable to pull secrets or registry auth: container {name}: \
             repository credentials live in Secrets Manager, which ecsim does not serve yet"
        ));
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_a_healthy_container_that_runs_forever() {
        let b = Behaviour::from_env([]).unwrap();
        assert!(b.healthy);
        assert_eq!(b.exit_after_ms, None);
        assert_eq!(b.start_failure, None);
    }

    #[test]
    fn reads_every_variable() {
        let b = Behaviour::from_env([
            (env::START_DELAY_MS, "1500"),
            (env::EXIT_AFTER_SECONDS, "2.5"),
            (env::EXIT_CODE, "3"),
            (env::HEALTH, "unhealthy"),
            (env::UNHEALTHY_AFTER_SECONDS, "10"),
            (env::IGNORE_SIGTERM, "true"),
            (env::ERROR_RATE, "0.25"),
            (env::LATENCY_MS, "40"),
            (env::VERSION, "v2"),
            ("PATH", "/bin"),
        ])
        .unwrap();
        assert_eq!(b.start_delay_ms, 1500);
        assert_eq!(b.exit_after_ms, Some(2500));
        assert_eq!(b.exit_code, 3);
        assert!(!b.healthy);
        assert_eq!(b.unhealthy_after_ms, Some(10_000));
        assert!(b.ignore_sigterm);
        assert!((b.error_rate - 0.25).abs() < f64::EPSILON);
        assert_eq!(b.latency_ms, 40);
        assert_eq!(b.version.as_deref(), Some("v2"));
    }

    #[test]
    fn rejects_bad_values_naming_the_variable() {
        let e = Behaviour::from_env([(env::ERROR_RATE, "2")]).unwrap_err();
        assert_eq!(e.name, env::ERROR_RATE);
        assert!(Behaviour::from_env([(env::EXIT_AFTER_SECONDS, "-1")]).is_err());
        assert!(Behaviour::from_env([(env::HEALTH, "meh")]).is_err());
    }

    #[test]
    fn image_defaults_match_a_tag_or_every_tag_of_a_repository() {
        let tagged = ImageEnv {
            image: "web:v2".into(),
            env: Vec::new(),
        };
        let any = ImageEnv {
            image: "registry:5000/team/web".into(),
            env: Vec::new(),
        };
        assert!(tagged.matches("web:v2"));
        assert!(!tagged.matches("web:v1"));
        assert!(!tagged.matches("web"));
        assert!(any.matches("registry:5000/team/web:v1"));
        assert!(any.matches("registry:5000/team/web@sha256:00"));
        assert!(any.matches("registry:5000/team/web"));
        assert!(!any.matches("registry:5000/team/webs:v1"));
        assert!(pull_fails("unpullable.invalid/web:1"));
        let with_secret = ecsim_api::ecs::ContainerDefinition {
            name: Some("app".into()),
            secrets: Some(vec![ecsim_api::ecs::Secret {
                name: "DB".into(),
                value_from: "arn:aws:ssm:us-east-1:000000000000:parameter/db".into(),
            }]),
            ..Default::default()
        };
        let reason = unsupported(&with_secret).unwrap();
        assert!(reason.starts_with("ResourceInitializationError: "), "{reason}");
        assert!(unsupported(&ecsim_api::ecs::ContainerDefinition::default()).is_none());
        assert!(!pull_fails("nginx:latest"));
    }
}
