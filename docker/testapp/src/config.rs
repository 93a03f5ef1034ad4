//! Reads the application's behaviour from its environment: `PORT`, the `ECSIM_*` variables (same
//! names and validation rules as the emulator's simulated runtime) and the marker-file settings.

use std::path::PathBuf;
use std::time::Duration;

/// How this process behaves.
#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    /// TCP port to listen on (all IPv4 interfaces).
    pub port: u16,
    /// Wait this long before listening.
    pub start_delay: Duration,
    /// Exit on our own this long after listening starts.
    pub exit_after: Option<Duration>,
    /// Exit code when `exit_after` fires.
    pub exit_code: i32,
    /// `ECSIM_HEALTH`: false means `/health` always fails.
    pub healthy: bool,
    /// `/health` starts failing this long after listening starts.
    pub unhealthy_after: Option<Duration>,
    /// Ignore SIGTERM and SIGINT instead of exiting 0.
    pub ignore_sigterm: bool,
    /// Fraction (0–1) of `/` requests answered 500.
    pub error_rate: f64,
    /// Delay before answering `/`.
    pub latency: Duration,
    /// Version string reported by `/`.
    pub version: Option<String>,
    /// Append a start line to this file.
    pub marker_file: Option<PathBuf>,
    /// Name written to the marker file (`ECSIM_CONTAINER_NAME`), else the hostname.
    pub container_name: Option<String>,
}

/// Largest accepted number of seconds (a year), as the simulated runtime accepts.
const MAX_SECONDS: f64 = 31_536_000.0;

fn invalid(name: &str, value: &str, expected: &str) -> String {
    format!("environment variable {name} has an invalid value '{value}': {expected}")
}

fn millis(name: &str, value: &str) -> Result<Duration, String> {
    value
        .trim()
        .parse::<u64>()
        .map(Duration::from_millis)
        .map_err(|_| invalid(name, value, "a non-negative integer of milliseconds"))
}

fn seconds(name: &str, value: &str) -> Result<Duration, String> {
    let bad = || invalid(name, value, "a non-negative number of seconds");
    let secs: f64 = value.trim().parse().map_err(|_| bad())?;
    if !secs.is_finite() || !(0.0..=MAX_SECONDS).contains(&secs) {
        return Err(bad());
    }
    Ok(Duration::from_secs_f64(secs))
}

impl Config {
    /// Reads the configuration through `var` (the process environment in `main`, a map in tests).
    /// A bad value is an error naming the variable, as RegisterTaskDefinition refuses it.
    pub fn from_vars(var: impl Fn(&str) -> Option<String>) -> Result<Self, String> {
        let mut c = Config {
            port: 8080,
            start_delay: Duration::ZERO,
            exit_after: None,
            exit_code: 1,
            healthy: true,
            unhealthy_after: None,
            ignore_sigterm: false,
            error_rate: 0.0,
            latency: Duration::ZERO,
            version: None,
            marker_file: None,
            container_name: None,
        };
        if let Some(v) = var("PORT") {
            c.port = v
                .trim()
                .parse()
                .map_err(|_| invalid("PORT", &v, "a TCP port number"))?;
        }
        if let Some(v) = var("ECSIM_START_DELAY_MS") {
            c.start_delay = millis("ECSIM_START_DELAY_MS", &v)?;
        }
        if let Some(v) = var("ECSIM_EXIT_AFTER_SECONDS") {
            c.exit_after = Some(seconds("ECSIM_EXIT_AFTER_SECONDS", &v)?);
        }
        if let Some(v) = var("ECSIM_EXIT_CODE") {
            c.exit_code = v
                .trim()
                .parse()
                .map_err(|_| invalid("ECSIM_EXIT_CODE", &v, "an integer exit code"))?;
        }
        if let Some(v) = var("ECSIM_HEALTH") {
            c.healthy = match v.trim().to_ascii_uppercase().as_str() {
                "HEALTHY" => true,
                "UNHEALTHY" => false,
                _ => return Err(invalid("ECSIM_HEALTH", &v, "HEALTHY or UNHEALTHY")),
            };
        }
        if let Some(v) = var("ECSIM_UNHEALTHY_AFTER_SECONDS") {
            c.unhealthy_after = Some(seconds("ECSIM_UNHEALTHY_AFTER_SECONDS", &v)?);
        }
        if let Some(v) = var("ECSIM_IGNORE_SIGTERM") {
            c.ignore_sigterm = match v.trim() {
                "true" | "1" => true,
                "false" | "0" => false,
                _ => return Err(invalid("ECSIM_IGNORE_SIGTERM", &v, "true or false")),
            };
        }
        if let Some(v) = var("ECSIM_ERROR_RATE") {
            let bad = || invalid("ECSIM_ERROR_RATE", &v, "a fraction between 0 and 1");
            let rate: f64 = v.trim().parse().map_err(|_| bad())?;
            if !(0.0..=1.0).contains(&rate) {
                return Err(bad());
            }
            c.error_rate = rate;
        }
        if let Some(v) = var("ECSIM_LATENCY_MS") {
            c.latency = millis("ECSIM_LATENCY_MS", &v)?;
        }
        c.version = var("ECSIM_VERSION");
        c.marker_file = var("ECSIM_MARKER_FILE")
            .filter(|v| !v.is_empty())
            .map(PathBuf::from);
        c.container_name = var("ECSIM_CONTAINER_NAME").filter(|v| !v.is_empty());
        Ok(c)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn config(vars: &[(&str, &str)]) -> Result<Config, String> {
        let map: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| ((*k).to_string(), (*v).to_string()))
            .collect();
        Config::from_vars(|name| map.get(name).cloned())
    }

    #[test]
    fn defaults() {
        let c = config(&[]).unwrap();
        assert_eq!(c.port, 8080);
        assert_eq!(c.exit_code, 1);
        assert!(c.healthy);
        assert!(!c.ignore_sigterm);
        assert_eq!(c.exit_after, None);
        assert_eq!(c.version, None);
    }

    #[test]
    fn reads_every_variable() {
        let c = config(&[
            ("PORT", "9000"),
            ("ECSIM_START_DELAY_MS", "1500"),
            ("ECSIM_EXIT_AFTER_SECONDS", "2.5"),
            ("ECSIM_EXIT_CODE", "3"),
            ("ECSIM_HEALTH", "unhealthy"),
            ("ECSIM_UNHEALTHY_AFTER_SECONDS", "10"),
            ("ECSIM_IGNORE_SIGTERM", "true"),
            ("ECSIM_ERROR_RATE", "0.25"),
            ("ECSIM_LATENCY_MS", "40"),
            ("ECSIM_VERSION", "v2"),
            ("ECSIM_MARKER_FILE", "/shared/starts"),
            ("ECSIM_CONTAINER_NAME", "web"),
        ])
        .unwrap();
        assert_eq!(c.port, 9000);
        assert_eq!(c.start_delay, Duration::from_millis(1500));
        assert_eq!(c.exit_after, Some(Duration::from_millis(2500)));
        assert_eq!(c.exit_code, 3);
        assert!(!c.healthy);
        assert_eq!(c.unhealthy_after, Some(Duration::from_secs(10)));
        assert!(c.ignore_sigterm);
        assert!((c.error_rate - 0.25).abs() < f64::EPSILON);
        assert_eq!(c.latency, Duration::from_millis(40));
        assert_eq!(c.version.as_deref(), Some("v2"));
        assert_eq!(c.marker_file, Some(PathBuf::from("/shared/starts")));
        assert_eq!(c.container_name.as_deref(), Some("web"));
    }

    #[test]
    fn rejects_bad_values_naming_the_variable() {
        let e = config(&[("ECSIM_ERROR_RATE", "2")]).unwrap_err();
        assert!(e.contains("ECSIM_ERROR_RATE"), "{e}");
        assert!(config(&[("ECSIM_EXIT_AFTER_SECONDS", "-1")]).is_err());
        assert!(config(&[("ECSIM_EXIT_AFTER_SECONDS", "NaN")]).is_err());
        assert!(config(&[("ECSIM_HEALTH", "meh")]).is_err());
        assert!(config(&[("ECSIM_IGNORE_SIGTERM", "yes")]).is_err());
        assert!(config(&[("PORT", "70000")]).is_err());
    }
}
