//! `traffic` steps: requests to a load balancer listener in the background, counted per
//! version (the task definition `family:revision` of the task that answered) and per target
//! group. On the simulated runtime they are the engine's simulated traffic (no sockets, on the
//! virtual clock); on Docker they are real HTTP requests to the listener's loopback address, at
//! the scenario's rate times the clock's speed (at most `MAX_LIVE_RPS` per real second), and the
//! test application's answer (`host=<container>`) names the task.
//!
//! It must not decide what passes: `expect` reads the counts.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use ecsim_control::traffic::TrafficSpec;
use ecsim_control::world::World;
use ecsim_scenario::model::TrafficStep;
use ecsim_scenario::record::LOAD_BALANCER_VERSION;
use parking_lot::Mutex;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::task::JoinHandle;

use super::session::Session;

/// Most real requests per second one live traffic run sends.
pub const MAX_LIVE_RPS: f64 = 200.0;
/// Requests of one live run in flight at once.
const LIVE_CONCURRENCY: usize = 32;
/// Real time a live request may take before it counts as unanswered.
const LIVE_TIMEOUT_MS: u64 = 2_000;

/// Who answered: the run, the version, the target group name and the task id (empty when the
/// load balancer answered itself).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Answerer {
    pub run: String,
    pub version: String,
    pub target_group: String,
    pub task: String,
}

/// Status counts per answerer.
pub type Counts = BTreeMap<Answerer, BTreeMap<u16, u64>>;

enum Source {
    Sim {
        id: String,
    },
    Live {
        counts: Arc<Mutex<BTreeMap<(String, u16), u64>>>,
        task: JoinHandle<()>,
    },
}

struct TrafficRun {
    name: String,
    source: Source,
}

/// Every traffic run of a scenario.
#[derive(Default)]
pub(super) struct TrafficBook {
    runs: Vec<TrafficRun>,
}

/// `arn:…:targetgroup/<name>/<id>` → `<name>`.
pub fn target_group_name(arn: &str) -> String {
    arn.split('/').nth(1).unwrap_or(arn).to_string()
}

/// `arn:…:task-definition/<family>:<revision>` → `<family>:<revision>`.
pub fn revision_of(task_definition_arn: &str) -> String {
    task_definition_arn
        .rsplit('/')
        .next()
        .unwrap_or(task_definition_arn)
        .to_string()
}

fn task_revision(world: &World, task_arn: &str) -> Option<String> {
    // arn:aws:ecs:<region>:<account>:task/<cluster>/<id>
    let mut parts = task_arn.rsplit('/');
    let id = parts.next()?;
    let cluster = parts.next()?;
    let task = world.ecs.clusters.get(cluster)?.tasks.get(id)?;
    Some(revision_of(&task.task_definition_arn))
}

impl TrafficBook {
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.runs.iter().map(|r| r.name.as_str())
    }

    /// Starts a run; `load_balancer` is an ARN or DNS name.
    pub async fn start(
        &mut self,
        session: &Session,
        name: String,
        load_balancer: String,
        step: &TrafficStep,
    ) -> Result<(), String> {
        if self.runs.iter().any(|r| r.name == name) {
            return Err(format!("a traffic run named '{name}' already exists"));
        }
        let (port, requests_per_second, duration_ms) =
            (step.port, step.requests_per_second, step.duration_ms);
        let path = step.path.clone();
        let source = if session.is_live() {
            let address = session.listener_address(&load_balancer, port).ok_or_else(|| {
                format!("load balancer '{load_balancer}' has no listener (port {port:?}) yet")
            })?;
            let counts = Arc::new(Mutex::new(BTreeMap::new()));
            let scale = session.time_scale();
            let real_rps = (f64::from(requests_per_second) * scale).min(MAX_LIVE_RPS);
            #[allow(clippy::cast_precision_loss)] // durations are bounded by 30 days
            let real_duration_ms = duration_ms as f64 / scale;
            let task = tokio::spawn(live(address, path, real_rps, real_duration_ms, counts.clone()));
            Source::Live { counts, task }
        } else {
            let duration_s = u32::try_from(duration_ms.div_ceil(1_000)).unwrap_or(u32::MAX);
            let spec = TrafficSpec {
                load_balancer,
                port,
                requests_per_second,
                duration_s,
                method: "GET".into(),
                path,
                host: None,
                headers: Vec::new(),
            };
            spec.validate()?;
            let id = session
                .with_engine_mut(|engine| engine.start_traffic(spec))
                .await?;
            Source::Sim { id }
        };
        self.runs.push(TrafficRun { name, source });
        Ok(())
    }

    /// Cumulative answers of every run so far.
    pub fn counts(&self, session: &Session) -> Counts {
        let mut out = Counts::new();
        session.with_engine(|engine| {
            let world = engine.world(&session.account_id, &session.region);
            for run in &self.runs {
                match &run.source {
                    Source::Sim { id } => {
                        let Some(r) = engine.traffic_runs().iter().find(|r| &r.id == id) else {
                            continue;
                        };
                        for ((group, task), statuses) in &r.outcomes {
                            let version = if task.is_empty() {
                                LOAD_BALANCER_VERSION.to_string()
                            } else {
                                world
                                    .and_then(|w| task_revision(w, task))
                                    .unwrap_or_else(|| "unknown".into())
                            };
                            let key = Answerer {
                                run: run.name.clone(),
                                version,
                                target_group: if group.is_empty() {
                                    String::new()
                                } else {
                                    target_group_name(group)
                                },
                                task: task.rsplit('/').next().unwrap_or_default().to_string(),
                            };
                            let entry = out.entry(key).or_default();
                            for (status, n) in statuses {
                                *entry.entry(*status).or_insert(0) += n;
                            }
                        }
                    }
                    Source::Live { counts, .. } => {
                        for ((host, status), n) in counts.lock().iter() {
                            let (version, target_group, task) =
                                world.and_then(|w| live_target(w, host)).unwrap_or_else(|| {
                                    (LOAD_BALANCER_VERSION.to_string(), String::new(), String::new())
                                });
                            let key = Answerer {
                                run: run.name.clone(),
                                version,
                                target_group,
                                task,
                            };
                            let entry = out.entry(key).or_default();
                            *entry.entry(*status).or_insert(0) += n;
                        }
                    }
                }
            }
        });
        out
    }

    /// Stops every live run (simulated runs end with their emulator).
    pub fn stop(&mut self) {
        for run in &self.runs {
            if let Source::Live { task, .. } = &run.source {
                task.abort();
            }
        }
    }
}

/// The task behind a test application answer's `host=` (the container's hostname, which Docker
/// sets to the start of the container id): its revision and the target group holding its
/// address, and its id.
fn live_target(world: &World, host: &str) -> Option<(String, String, String)> {
    if host.is_empty() {
        return None;
    }
    let task = world
        .ecs
        .clusters
        .values()
        .flat_map(|c| c.tasks.values())
        .find(|t| {
            t.containers
                .iter()
                .any(|c| c.reported_runtime_id().starts_with(host))
        })?;
    let ip = task.placement.private_ip.clone().unwrap_or_default();
    let group = world
        .elbv2
        .target_groups
        .values()
        .find(|g| g.targets.keys().any(|(id, _)| *id == ip || *id == task.arn))
        .map(|g| g.name.clone())
        .unwrap_or_default();
    Some((revision_of(&task.task_definition_arn), group, task.id.clone()))
}

/// Sends real requests until the run's real duration is over. Status 0 counts requests with no
/// answer (refused, timed out).
async fn live(
    address: std::net::SocketAddr,
    path: String,
    real_rps: f64,
    real_duration_ms: f64,
    counts: Arc<Mutex<BTreeMap<(String, u16), u64>>>,
) {
    let gap = Duration::from_secs_f64(1.0 / real_rps.max(0.1));
    let total = (real_duration_ms / 1_000.0 * real_rps).ceil();
    let slots = Arc::new(tokio::sync::Semaphore::new(LIVE_CONCURRENCY));
    let mut sent = 0.0;
    let mut ticker = tokio::time::interval(gap);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    while sent < total {
        ticker.tick().await;
        sent += 1.0;
        let Ok(permit) = slots.clone().acquire_owned().await else {
            return;
        };
        let (path, counts) = (path.clone(), counts.clone());
        tokio::spawn(async move {
            let answer =
                tokio::time::timeout(Duration::from_millis(LIVE_TIMEOUT_MS), get(address, &path)).await;
            let (host, status) = match answer {
                Ok(Some(answer)) => answer,
                _ => (String::new(), 0),
            };
            *counts.lock().entry((host, status)).or_insert(0) += 1;
            drop(permit);
        });
    }
}

/// One `GET` on a fresh connection: the status and the `host=` the test application wrote.
async fn get(address: std::net::SocketAddr, path: &str) -> Option<(String, u16)> {
    let mut stream = tokio::net::TcpStream::connect(address).await.ok()?;
    let request = format!(
        "GET {path} HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\nUser-Agent: ecsim-scenario\r\n\r\n"
    );
    stream.write_all(request.as_bytes()).await.ok()?;
    let mut answer = Vec::new();
    // Answers of the test application are small; more than 64 KiB is not needed to read it.
    stream.take(64 * 1024).read_to_end(&mut answer).await.ok()?;
    let text = String::from_utf8_lossy(&answer);
    let status = text.split(' ').nth(1)?.parse().ok()?;
    let host = text
        .split_once("\r\n\r\n")
        .and_then(|(_, body)| body.split_whitespace().find_map(|w| w.strip_prefix("host=")))
        .unwrap_or_default()
        .to_string();
    Some((host, status))
}
