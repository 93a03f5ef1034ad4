//! The Docker task runtime: carries out the core's `RuntimeCommand`s against the Docker daemon and
//! reports what happened as `RuntimeEvent`s.
//!
//! One actor (a tokio task) per ECS task owns that task's containers; a command loop routes the
//! core's commands to the actors, and an event loop turns Docker events (`die`, `health_status`)
//! into actor messages. Nothing here holds a lock across an await, and nothing touches a Docker
//! object without this instance's labels.

use std::collections::HashMap;
use std::net::Ipv4Addr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use bollard::Docker;
use bollard::models::{ContainerInspectResponse, EventMessage, Ipam, IpamConfig, NetworkCreateRequest};
use bollard::query_parameters::{
    CreateContainerOptions, CreateImageOptions, EventsOptions, KillContainerOptions, ListContainersOptions,
    ListNetworksOptions, RemoveContainerOptions, StopContainerOptions,
};
use ecsim_api::ecs as api;
use ecsim_control::task_runtime::{
    PortBinding, RuntimeCommand, RuntimeEvent, RuntimeEventKind, StartedContainer, TaskKey, TaskLaunch,
};
use futures_util::StreamExt;
use parking_lot::Mutex;
use tokio::sync::{OnceCell, mpsc};

use crate::pool::{Block, Pool};
use crate::spec::{self, Attach};
use crate::{image, labels, pause};

/// The address ECS serves task metadata and credentials on; ecsim's metadata network puts the
/// host there.
pub const METADATA_ADDRESS: Ipv4Addr = Ipv4Addr::new(169, 254, 170, 2);
const METADATA_SUBNET: &str = "169.254.170.0/24";
/// Shared by every ecsim instance on the daemon: its gateway (the host side of its bridge) is
/// 169.254.170.2. Containers are not attached to it: a host address is reachable from every
/// bridge network through the container's default route, so the network only has to exist to put
/// the address on the host (attaching a second network would double each container's network
/// set-up time).
pub const METADATA_NETWORK: &str = "ecsim-metadata";

/// Capacity of each task actor's mailbox; Docker events for one task are few.
const ACTOR_MAILBOX: usize = 64;
/// Capacity of the command queue from the core.
pub const COMMAND_QUEUE: usize = 4096;

#[derive(Debug, thiserror::Error)]
pub enum DockerError {
    #[error("no Docker daemon answers: {0}")]
    Unavailable(String),
    #[error("Docker: {0}")]
    Api(#[from] bollard::errors::Error),
    #[error(transparent)]
    Pool(#[from] crate::pool::PoolError),
}

/// What to do with containers a previous run of this instance left behind.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Leftovers {
    /// Remove them (the default: the engine starts empty, so nothing refers to them).
    #[default]
    Remove,
    /// Leave them running, untouched.
    Keep,
}

#[derive(Debug, Clone)]
pub struct DockerConfig {
    /// Value of the `dev.ecsim.instance` label; objects of other instances are never touched.
    pub instance: String,
    pub pool: Pool,
    /// Pull absent images (as ECS does); off, an absent image fails the task without a pull.
    pub pull_images: bool,
    pub leftovers: Leftovers,
    /// Port ecsim answers on at `METADATA_ADDRESS` (the API, metadata and credentials).
    pub endpoint_port: u16,
}

impl Default for DockerConfig {
    fn default() -> Self {
        Self {
            instance: "default".into(),
            pool: Pool::default(),
            pull_images: true,
            leftovers: Leftovers::Remove,
            endpoint_port: 4566,
        }
    }
}

/// Seconds a single Docker API call may take (image pulls stream and are not bound by it).
const DOCKER_CALL_TIMEOUT_S: u64 = 120;

/// Removes every container, then every network, labelled with `instance`: what an emulator of
/// that instance left, whether or not it is still running (the scenario runner sweeps after a
/// run that may have crashed).
pub async fn remove_instance(docker: &Docker, instance: &str) {
    let filters = || HashMap::from([("label".to_string(), vec![labels::instance_filter(instance)])]);
    let options = ListContainersOptions {
        all: true,
        filters: Some(filters()),
        ..Default::default()
    };
    if let Ok(containers) = docker.list_containers(Some(options)).await {
        let removals = containers
            .into_iter()
            .filter_map(|c| c.id)
            .map(|id| async move { force_remove(docker, &id).await });
        futures_util::future::join_all(removals).await;
    }
    let options = ListNetworksOptions {
        filters: Some(filters()),
    };
    if let Ok(networks) = docker.list_networks(Some(options)).await {
        for n in networks.into_iter().filter_map(|n| n.id) {
            if let Err(e) = docker.remove_network(&n).await {
                tracing::warn!(network = %n, error = %e, "could not remove an ecsim network");
            }
        }
    }
}

/// Connects to the daemon at `socket` (a Unix socket path), or else the local default
/// (`DOCKER_HOST` or `/var/run/docker.sock`), and agrees an API version.
pub async fn connect(socket: Option<&str>) -> Result<Docker, DockerError> {
    let docker = match socket {
        Some(path) => Docker::connect_with_unix(path, DOCKER_CALL_TIMEOUT_S, bollard::API_DEFAULT_VERSION),
        None => Docker::connect_with_local_defaults(),
    }
    .map_err(|e| DockerError::Unavailable(e.to_string()))?;
    let docker = docker
        .negotiate_version()
        .await
        .map_err(|e| DockerError::Unavailable(e.to_string()))?;
    docker
        .ping()
        .await
        .map_err(|e| DockerError::Unavailable(e.to_string()))?;
    Ok(docker)
}

enum ActorMsg {
    Stop {
        timeout_ms: u64,
    },
    Remove,
    Died {
        index: usize,
        exit_code: Option<i32>,
        oom: bool,
    },
    Health {
        index: usize,
        healthy: bool,
    },
}

struct Inner {
    docker: Docker,
    config: DockerConfig,
    events: mpsc::Sender<RuntimeEvent>,
    /// Docker network name per simulated subnet, created once.
    networks: Mutex<HashMap<String, Arc<OnceCell<String>>>>,
    actors: Mutex<HashMap<TaskKey, mpsc::Sender<ActorMsg>>>,
    pause_image: OnceCell<()>,
    /// Bumped by reset: actors of an older generation clean up and end.
    generation: AtomicU64,
    /// Unix seconds of the last Docker event seen, to replay missed ones after a reconnect.
    last_event_s: AtomicU64,
    /// Set once by `DockerRuntime::stop`: the event loop ends.
    stopped: tokio::sync::watch::Sender<bool>,
}

/// Handle to a running Docker runtime.
#[derive(Clone)]
pub struct DockerRuntime {
    inner: Arc<Inner>,
    commands: mpsc::Sender<RuntimeCommand>,
}

impl DockerRuntime {
    /// Prepares the daemon (leftovers, metadata network) and starts the command and event loops.
    /// Events go to `events`.
    pub async fn start(
        docker: Docker,
        config: DockerConfig,
        events: mpsc::Sender<RuntimeEvent>,
    ) -> Result<Self, DockerError> {
        let inner = Arc::new(Inner {
            docker,
            config,
            events,
            networks: Mutex::new(HashMap::new()),
            actors: Mutex::new(HashMap::new()),
            pause_image: OnceCell::new(),
            generation: AtomicU64::new(0),
            last_event_s: AtomicU64::new(0),
            stopped: tokio::sync::watch::channel(false).0,
        });
        if inner.config.leftovers == Leftovers::Remove {
            inner.remove_everything().await;
        }
        inner.ensure_metadata_network().await?;
        let (commands, rx) = mpsc::channel(COMMAND_QUEUE);
        tokio::spawn(command_loop(inner.clone(), rx));
        tokio::spawn(event_loop(inner.clone()));
        Ok(Self { inner, commands })
    }

    /// Queues one of the core's commands; waits while the bounded queue is full. Fails only
    /// once the runtime's command loop has ended.
    pub async fn send(&self, command: RuntimeCommand) -> Result<(), mpsc::error::SendError<RuntimeCommand>> {
        self.commands.send(command).await
    }

    pub fn instance(&self) -> &str {
        &self.inner.config.instance
    }

    /// Stops and removes every container and network of this instance (shutdown without keep).
    pub async fn remove_everything(&self) {
        self.inner.reset().await;
    }

    /// Ends the event loop and the task actors (the emulator is shutting down). Containers are
    /// left as they are.
    pub fn stop(&self) {
        self.inner.stopped.send_replace(true);
        // Task actors end when their mailboxes close.
        self.inner.actors.lock().clear();
    }

    /// One-shot Docker stats of a container, as the metadata endpoint's `/stats` returns them.
    pub async fn stats(&self, container_id: &str) -> Option<serde_json::Value> {
        let options = bollard::query_parameters::StatsOptions {
            stream: false,
            one_shot: true,
        };
        let mut stream = self.inner.docker.stats(container_id, Some(options));
        let stats = stream.next().await?.ok()?;
        serde_json::to_value(stats).ok()
    }
}

async fn command_loop(inner: Arc<Inner>, mut rx: mpsc::Receiver<RuntimeCommand>) {
    while let Some(command) = rx.recv().await {
        match command {
            RuntimeCommand::Start(launch) => {
                let (tx, actor_rx) = mpsc::channel(ACTOR_MAILBOX);
                inner.actors.lock().insert(launch.key.clone(), tx);
                tokio::spawn(run_task(inner.clone(), *launch, actor_rx));
            }
            RuntimeCommand::Stop { key, stop_timeout_ms } => {
                let actor = inner.actors.lock().get(&key).cloned();
                match actor {
                    Some(tx) => {
                        let _ = tx
                            .send(ActorMsg::Stop {
                                timeout_ms: stop_timeout_ms,
                            })
                            .await;
                    }
                    None => {
                        inner
                            .emit(key, RuntimeEventKind::Stopped { exit_codes: vec![] })
                            .await
                    }
                }
            }
            RuntimeCommand::Remove { key } => {
                let actor = inner.actors.lock().remove(&key);
                if let Some(tx) = actor {
                    let _ = tx.send(ActorMsg::Remove).await;
                }
            }
            RuntimeCommand::Kill { key, runtime_id } => {
                // The daemon's `die` event reports the exit (137) through the task's actor, as
                // for any container that crashed on its own.
                let options = KillContainerOptions {
                    signal: "SIGKILL".into(),
                };
                if let Err(e) = inner.docker.kill_container(&runtime_id, Some(options)).await {
                    tracing::warn!(task = %key.task_id, container = %runtime_id, error = %e, "could not kill a container for a crashTask fault");
                }
            }
            RuntimeCommand::Reset => inner.reset().await,
        }
    }
}

/// Follows the daemon's container events for this instance; reconnects (replaying what was
/// missed) when the daemon goes away and comes back.
async fn event_loop(inner: Arc<Inner>) {
    let mut stopped = inner.stopped.subscribe();
    tokio::select! {
        () = follow_events(&inner) => {}
        _ = stopped.wait_for(|s| *s) => {}
    }
}

async fn follow_events(inner: &Inner) {
    let mut backoff_ms = 100;
    loop {
        let since = inner.last_event_s.load(Ordering::SeqCst);
        let mut filters = HashMap::new();
        filters.insert("type".to_string(), vec!["container".to_string()]);
        filters.insert(
            "label".to_string(),
            vec![labels::instance_filter(&inner.config.instance)],
        );
        filters.insert(
            "event".to_string(),
            vec!["die".to_string(), "health_status".to_string(), "oom".to_string()],
        );
        let options = EventsOptions {
            since: (since > 0).then(|| since.to_string()),
            until: None,
            filters: Some(filters),
        };
        let mut stream = inner.docker.events(Some(options));
        let mut connected = false;
        while let Some(item) = stream.next().await {
            match item {
                Ok(event) => {
                    if !connected {
                        connected = true;
                        backoff_ms = 100;
                    }
                    inner.on_docker_event(event).await;
                }
                Err(e) => {
                    tracing::warn!(error = %e, "Docker event stream failed; tasks are reported as last known");
                    break;
                }
            }
        }
        // The stream ended: the daemon went away (or restarted). Wait, then resynchronise.
        #[allow(clippy::disallowed_methods)] // IO edge: reconnect backoff on real time
        tokio::time::sleep(Duration::from_millis(backoff_ms)).await;
        backoff_ms = (backoff_ms * 2).min(2_000);
        if inner.docker.ping().await.is_ok() {
            tracing::info!("Docker daemon answers again; resynchronising task state");
            inner.resync().await;
        }
    }
}

impl Inner {
    async fn emit(&self, key: TaskKey, kind: RuntimeEventKind) {
        let _ = self.events.send(RuntimeEvent { key, kind }).await;
    }

    async fn on_docker_event(&self, event: EventMessage) {
        if let Some(t) = event.time {
            self.last_event_s
                .fetch_max(u64::try_from(t).unwrap_or(0), Ordering::SeqCst);
        }
        let Some(actor) = event.actor else { return };
        let attributes = actor.attributes.unwrap_or_default();
        let Some((key, index)) = labels::task_container(&attributes) else {
            return;
        };
        let action = event.action.unwrap_or_default();
        let message = if action == "die" {
            ActorMsg::Died {
                index,
                exit_code: attributes.get("exitCode").and_then(|c| c.parse().ok()),
                oom: false,
            }
        } else if action == "oom" {
            ActorMsg::Died {
                index,
                exit_code: None,
                oom: true,
            }
        } else if let Some(status) = action.strip_prefix("health_status:") {
            match status.trim() {
                "healthy" => ActorMsg::Health { index, healthy: true },
                "unhealthy" => ActorMsg::Health {
                    index,
                    healthy: false,
                },
                _ => return,
            }
        } else {
            return;
        };
        self.tell(&key, message).await;
    }

    /// Sends a message to the actor of a task, if it has one.
    async fn tell(&self, key: &TaskKey, message: ActorMsg) {
        let actor = self.actors.lock().get(key).cloned();
        if let Some(tx) = actor {
            let _ = tx.send(message).await;
        }
    }

    /// After a reconnect: every labelled container that is no longer running counts as died.
    async fn resync(&self) {
        let options = ListContainersOptions {
            all: true,
            filters: Some(self.instance_filters()),
            ..Default::default()
        };
        let Ok(containers) = self.docker.list_containers(Some(options)).await else {
            return;
        };
        for c in containers {
            let running = c.state.as_ref().is_some_and(|s| s.to_string() == "running");
            let Some((key, index)) = labels::task_container(&c.labels.unwrap_or_default()) else {
                continue;
            };
            if running {
                continue;
            }
            let exit_code = match c.id.as_deref() {
                Some(id) => self
                    .docker
                    .inspect_container(id, None)
                    .await
                    .ok()
                    .and_then(|i| i.state?.exit_code)
                    .and_then(|c| i32::try_from(c).ok()),
                None => None,
            };
            let died = ActorMsg::Died {
                index,
                exit_code,
                oom: false,
            };
            self.tell(&key, died).await;
        }
    }

    /// Forgets every task (their actors end, in-flight starts clean up after themselves) and
    /// removes every container and network of this instance.
    async fn reset(&self) {
        self.generation.fetch_add(1, Ordering::SeqCst);
        self.actors.lock().clear();
        self.remove_everything().await;
        self.networks.lock().clear();
    }

    fn instance_filters(&self) -> HashMap<String, Vec<String>> {
        HashMap::from([(
            "label".to_string(),
            vec![labels::instance_filter(&self.config.instance)],
        )])
    }

    /// Removes every container, then every network, of this instance.
    async fn remove_everything(&self) {
        remove_instance(&self.docker, &self.config.instance).await;
    }

    /// The shared link-local network that puts the host at 169.254.170.2 for every task.
    async fn ensure_metadata_network(&self) -> Result<(), DockerError> {
        if self.docker.inspect_network(METADATA_NETWORK, None).await.is_ok() {
            return Ok(());
        }
        let mut labels = HashMap::from([
            (labels::MANAGED.to_string(), "true".to_string()),
            (labels::ROLE.to_string(), "metadata".to_string()),
        ]);
        labels.insert("dev.ecsim.shared".into(), "true".into());
        let request = NetworkCreateRequest {
            name: METADATA_NETWORK.into(),
            driver: Some("bridge".into()),
            ipam: Some(Ipam {
                config: Some(vec![IpamConfig {
                    subnet: Some(METADATA_SUBNET.into()),
                    gateway: Some(METADATA_ADDRESS.to_string()),
                    ..Default::default()
                }]),
                ..Default::default()
            }),
            labels: Some(labels),
            ..Default::default()
        };
        let Err(error) = self.docker.create_network(request).await else {
            return Ok(());
        };
        // Another instance may be creating it at this moment (the daemon then reports an
        // overlapping pool before the name is visible): give it a moment to appear.
        for _ in 0..20 {
            if self.docker.inspect_network(METADATA_NETWORK, None).await.is_ok() {
                return Ok(());
            }
            #[allow(clippy::disallowed_methods)] // IO edge: waiting on another process
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        Err(error.into())
    }

    /// The Docker network of a simulated subnet, created on first use from the address pool.
    async fn network_for(&self, subnet: &str) -> Result<String, DockerError> {
        let cell = self
            .networks
            .lock()
            .entry(subnet.to_string())
            .or_insert_with(|| Arc::new(OnceCell::new()))
            .clone();
        cell.get_or_try_init(|| self.create_network(subnet))
            .await
            .cloned()
    }

    async fn create_network(&self, subnet: &str) -> Result<String, DockerError> {
        let name = format!("ecsim-{}-{subnet}", self.config.instance);
        if self.docker.inspect_network(&name, None).await.is_ok() {
            return Ok(name);
        }
        let mut last_error = None;
        // Other ecsim instances may take the same free block at the same moment: retry.
        for attempt in 0..20u64 {
            if attempt > 0 {
                #[allow(clippy::disallowed_methods)] // IO edge: let the other creator finish
                tokio::time::sleep(Duration::from_millis(20 * attempt)).await;
            }
            let networks = self.docker.list_networks(None::<ListNetworksOptions>).await?;
            let taken: Vec<Block> = networks
                .iter()
                .filter_map(|n| n.ipam.as_ref()?.config.as_ref())
                .flatten()
                .filter_map(|c| c.subnet.as_deref()?.parse().ok())
                .collect();
            let block = self.config.pool.next_free(&taken)?;
            let request = NetworkCreateRequest {
                name: name.clone(),
                driver: Some("bridge".into()),
                ipam: Some(Ipam {
                    config: Some(vec![IpamConfig {
                        subnet: Some(block.to_string()),
                        gateway: Some(block.gateway().to_string()),
                        ..Default::default()
                    }]),
                    ..Default::default()
                }),
                labels: Some(labels::network(&self.config.instance, subnet)),
                ..Default::default()
            };
            match self.docker.create_network(request).await {
                Ok(_) => {
                    tracing::info!(network = %name, range = %block, "created the Docker network of {subnet}");
                    return Ok(name);
                }
                Err(e) => last_error = Some(e),
            }
        }
        Err(last_error.map_or_else(
            || DockerError::Unavailable("network creation failed".into()),
            DockerError::Api,
        ))
    }

    /// Imports the pause image from bytes when the daemon lacks it.
    async fn ensure_pause_image(&self) -> Result<(), String> {
        self.pause_image
            .get_or_try_init(|| async {
                if self.docker.inspect_image(pause::PAUSE_IMAGE).await.is_ok() {
                    return Ok(());
                }
                let elf = pause::elf(std::env::consts::ARCH).ok_or_else(|| {
                    format!(
                        "multi-container awsvpc tasks need the pause program, which ecsim has for x86_64 and aarch64, not {}",
                        std::env::consts::ARCH
                    )
                })?;
                let tar = pause::tar_with_file("pause", &elf);
                let (repo, tag) = pause::PAUSE_IMAGE.split_once(':').unwrap_or((pause::PAUSE_IMAGE, "latest"));
                let options = CreateImageOptions {
                    from_src: Some("-".into()),
                    repo: Some(repo.into()),
                    tag: Some(tag.into()),
                    changes: vec!["ENTRYPOINT [\"/pause\"]".into()],
                    ..Default::default()
                };
                let mut stream = self.docker.create_image(
                    Some(options),
                    Some(bollard::body_full(tar.into())),
                    None,
                );
                while let Some(item) = stream.next().await {
                    item.map_err(|e| format!("importing the pause image failed: {e}"))?;
                }
                Ok(())
            })
            .await
            .map(|_| ())
    }

    /// The local image for `reference`, pulling it when absent and pulls are on.
    async fn resolve_image(&self, reference: &str) -> Result<String, String> {
        let candidates = image::candidates(reference);
        for name in &candidates {
            if self.docker.inspect_image(name).await.is_ok() {
                return Ok(name.clone());
            }
        }
        if !self.config.pull_images {
            return Err(image::pull_failure_reason(
                reference,
                "not present locally, and ecsim runs with image pulls disabled",
            ));
        }
        let options = CreateImageOptions {
            from_image: Some(candidates[0].clone()),
            ..Default::default()
        };
        let mut stream = self.docker.create_image(Some(options), None, None);
        while let Some(item) = stream.next().await {
            if let Err(e) = item {
                return Err(image::pull_failure_reason(reference, &e.to_string()));
            }
        }
        Ok(candidates[0].clone())
    }
}

async fn force_remove(docker: &Docker, id: &str) {
    let options = RemoveContainerOptions {
        force: true,
        v: true,
        ..Default::default()
    };
    if let Err(e) = docker.remove_container(id, Some(options)).await {
        tracing::debug!(container = %id, error = %e, "container removal failed");
    }
}

/// How a start sequence ended early.
enum StartEnd {
    Failed {
        container: Option<usize>,
        reason: String,
    },
    StopRequested {
        timeout_ms: u64,
    },
    Removed,
}

/// One ECS task's containers, from creation to removal.
struct TaskActor {
    inner: Arc<Inner>,
    launch: TaskLaunch,
    generation: u64,
    /// Docker id of each container, once created.
    ids: Vec<Option<String>>,
    pause_id: Option<String>,
    started: Vec<bool>,
    exited: Vec<Option<Option<i32>>>,
    healthy: Vec<Option<bool>>,
    stopping: bool,
}

async fn run_task(inner: Arc<Inner>, launch: TaskLaunch, mut rx: mpsc::Receiver<ActorMsg>) {
    let n = launch.containers.len();
    let generation = inner.generation.load(Ordering::SeqCst);
    let mut actor = TaskActor {
        inner,
        launch,
        generation,
        ids: vec![None; n],
        pause_id: None,
        started: vec![false; n],
        exited: vec![None; n],
        healthy: vec![None; n],
        stopping: false,
    };
    let key = actor.launch.key.clone();
    match actor.start(&mut rx).await {
        Ok(containers) => actor.emit(RuntimeEventKind::Started { containers }).await,
        Err(StartEnd::Failed { container, reason }) => {
            tracing::info!(task = %key.task_id, %reason, "task failed to start");
            actor
                .emit(RuntimeEventKind::StartFailed { container, reason })
                .await;
        }
        Err(StartEnd::StopRequested { timeout_ms }) => actor.stop(timeout_ms).await,
        Err(StartEnd::Removed) => {
            actor.remove().await;
            return;
        }
    }
    while let Some(message) = rx.recv().await {
        if actor.is_stale() {
            break;
        }
        match message {
            ActorMsg::Died {
                index,
                exit_code,
                oom,
            } => actor.container_died(index, exit_code, oom).await,
            ActorMsg::Health { index, healthy } => {
                if actor.healthy[index] != Some(healthy) && !actor.stopping {
                    actor.healthy[index] = Some(healthy);
                    actor
                        .emit(RuntimeEventKind::ContainerHealth {
                            container: index,
                            healthy,
                        })
                        .await;
                }
            }
            ActorMsg::Stop { timeout_ms } => actor.stop(timeout_ms).await,
            ActorMsg::Remove => {
                actor.remove().await;
                return;
            }
        }
    }
    // Reset or shutdown: the runtime removes every labelled container itself.
}

impl TaskActor {
    fn is_stale(&self) -> bool {
        self.inner.generation.load(Ordering::SeqCst) != self.generation
    }

    async fn emit(&self, kind: RuntimeEventKind) {
        if !self.is_stale() {
            self.inner.emit(self.launch.key.clone(), kind).await;
        }
    }

    fn name_of(&self, index: usize) -> &str {
        self.launch.containers[index].name.as_deref().unwrap_or_default()
    }

    fn index_of(&self, name: &str) -> Option<usize> {
        self.launch
            .containers
            .iter()
            .position(|c| c.name.as_deref() == Some(name))
    }

    async fn container_died(&mut self, index: usize, exit_code: Option<i32>, oom: bool) {
        if index >= self.exited.len() || self.stopping || self.exited[index].is_some() {
            return;
        }
        let reason = oom.then(|| "OutOfMemoryError: Container killed due to memory usage".to_string());
        let exit_code = if oom { Some(137) } else { exit_code };
        self.exited[index] = Some(exit_code);
        self.emit(RuntimeEventKind::ContainerExited {
            container: index,
            exit_code,
            reason,
        })
        .await;
    }

    /// Environment every container gets: the metadata, credentials and API endpoints.
    fn injected_env(&self, index: usize) -> Vec<String> {
        let base = format!("http://{METADATA_ADDRESS}:{}", self.inner.config.endpoint_port);
        let c = &self.launch.containers[index];
        let user_sets = |name: &str| {
            c.environment
                .as_deref()
                .unwrap_or_default()
                .iter()
                .any(|kv| kv.name.as_deref() == Some(name))
        };
        let token = &self.launch.metadata_tokens[index];
        let mut env = vec![
            format!("ECS_CONTAINER_METADATA_URI_V4={base}/v4/{token}"),
            format!("ECS_CONTAINER_METADATA_URI={base}/v3/{token}"),
            format!("ECSIM_CONTAINER_NAME={}", self.name_of(index)),
        ];
        if let Some(id) = &self.launch.credentials_id {
            env.push(format!(
                "AWS_CONTAINER_CREDENTIALS_FULL_URI={base}/v2/credentials/{id}"
            ));
        }
        for (name, value) in [
            ("AWS_ENDPOINT_URL", base.clone()),
            ("AWS_REGION", self.launch.region.clone()),
            ("AWS_DEFAULT_REGION", self.launch.region.clone()),
        ] {
            if !user_sets(name) {
                env.push(format!("{name}={value}"));
            }
        }
        env
    }

    fn network_key(&self) -> String {
        self.launch
            .subnet_id
            .clone()
            .unwrap_or_else(|| format!("az-{}", self.launch.availability_zone))
    }

    /// Creates a container named as the ECS agent names them (`ecs-<family>-<revision>-<name>-…`).
    /// The last part mixes in the instance: task ids repeat for a seed, and two emulators with
    /// the same seed on one daemon (or one that crashed before cleaning up) must not collide.
    async fn create(&self, name: &str, body: bollard::models::ContainerCreateBody) -> Result<String, String> {
        let task_id = &self.launch.key.task_id;
        // FNV-1a: stable across runs and platforms, unlike the std hasher.
        let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
        for byte in self
            .inner
            .config
            .instance
            .bytes()
            .chain([0])
            .chain(task_id.bytes())
        {
            hash = (hash ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3);
        }
        let options = CreateContainerOptions {
            name: Some(format!(
                "ecs-{}-{}-{name}-{hash:016x}{}",
                self.launch.family,
                self.launch.revision,
                &task_id[..task_id.len().min(4)]
            )),
            ..Default::default()
        };
        let created = self
            .inner
            .docker
            .create_container(Some(options), body)
            .await
            .map_err(|e| format!("CannotCreateContainerError: {e}"))?;
        Ok(created.id)
    }

    /// Creates every container, then starts them as their dependencies allow.
    async fn start(&mut self, rx: &mut mpsc::Receiver<ActorMsg>) -> Result<Vec<StartedContainer>, StartEnd> {
        let fail = |container: Option<usize>, reason: String| StartEnd::Failed { container, reason };
        for (i, c) in self.launch.containers.iter().enumerate() {
            if let Some(reason) = ecsim_control::runtime::unsupported(c) {
                return Err(fail(Some(i), reason));
            }
        }
        let mut images = Vec::with_capacity(self.launch.containers.len());
        for (i, c) in self.launch.containers.iter().enumerate() {
            let reference = c.image.as_deref().unwrap_or_default();
            images.push(
                self.inner
                    .resolve_image(reference)
                    .await
                    .map_err(|r| fail(Some(i), r))?,
            );
        }
        let network = self
            .inner
            .network_for(&self.network_key())
            .await
            .map_err(|e| fail(None, format!("ResourceInitializationError: {e}")))?;
        let shared_namespace =
            self.launch.network_mode == api::NetworkMode::Awsvpc && self.launch.containers.len() > 1;
        let instance = self.inner.config.instance.clone();
        if shared_namespace {
            self.inner
                .ensure_pause_image()
                .await
                .map_err(|r| fail(None, format!("ResourceInitializationError: {r}")))?;
            let publish: Vec<_> = self.launch.containers.iter().flat_map(spec::ports).collect();
            let mut host = bollard::models::HostConfig {
                network_mode: Some(network.clone()),
                ..Default::default()
            };
            let mut body = bollard::models::ContainerCreateBody {
                image: Some(pause::PAUSE_IMAGE.into()),
                labels: Some(labels::pause(&self.launch, &instance)),
                ..Default::default()
            };
            spec::publish(&mut host, &mut body, &publish);
            body.host_config = Some(host);
            let id = self
                .create("internalecspause", body)
                .await
                .map_err(|r| fail(None, r))?;
            self.pause_id = Some(id.clone());
            self.inner
                .docker
                .start_container(&id, None)
                .await
                .map_err(|e| fail(None, format!("CannotStartContainerError: pause container: {e}")))?;
        }
        for (i, image) in images.iter().enumerate() {
            let attach = match &self.pause_id {
                Some(id) => Attach::Container(id.clone()),
                None => Attach::Network {
                    name: network.clone(),
                    publish: spec::ports(&self.launch.containers[i]),
                },
            };
            let body =
                spec::container_body(&self.launch, i, image, &attach, &self.injected_env(i), &instance);
            let name = self.name_of(i).to_string();
            let id = self.create(&name, body).await.map_err(|r| fail(Some(i), r))?;
            self.ids[i] = Some(id);
            if self.is_stale() {
                return Err(StartEnd::Removed);
            }
        }
        loop {
            for i in 0..self.launch.containers.len() {
                if self.started[i] {
                    continue;
                }
                match self.dependencies_met(i) {
                    Ok(true) => {
                        let id = self.ids[i].clone().unwrap_or_default();
                        self.inner
                            .docker
                            .start_container(&id, None)
                            .await
                            .map_err(|e| fail(Some(i), format!("CannotStartContainerError: {e}")))?;
                        self.started[i] = true;
                    }
                    Ok(false) => {}
                    Err(reason) => return Err(fail(Some(i), reason)),
                }
            }
            if self.started.iter().all(|s| *s) {
                break;
            }
            match rx.recv().await {
                None => return Err(StartEnd::Removed),
                Some(ActorMsg::Died {
                    index,
                    exit_code,
                    oom,
                }) => self.container_died(index, exit_code, oom).await,
                Some(ActorMsg::Health { index, healthy }) => {
                    if index < self.healthy.len() {
                        self.healthy[index] = Some(healthy);
                    }
                }
                Some(ActorMsg::Stop { timeout_ms }) => return Err(StartEnd::StopRequested { timeout_ms }),
                Some(ActorMsg::Remove) => return Err(StartEnd::Removed),
            }
        }
        self.started_containers().await.map_err(|r| fail(None, r))
    }

    /// Whether container `i` may start now; `Err` when its dependencies can never be met.
    fn dependencies_met(&self, i: usize) -> Result<bool, String> {
        let name = self.name_of(i).to_string();
        for dep in self.launch.containers[i]
            .depends_on
            .as_deref()
            .unwrap_or_default()
        {
            let Some(d) = self.index_of(&dep.container_name) else {
                continue;
            };
            let exited = self.exited[d];
            let met = match dep.condition {
                api::ContainerCondition::Start => self.started[d],
                api::ContainerCondition::Complete => exited.is_some(),
                api::ContainerCondition::Success => match exited {
                    Some(Some(0)) => true,
                    Some(code) => {
                        return Err(format!(
                            "CannotStartContainerError: dependency condition SUCCESS of container {name} on {} \
                             was not met: it exited with code {}",
                            dep.container_name,
                            code.map_or_else(|| "unknown".to_string(), |c| c.to_string())
                        ));
                    }
                    None => false,
                },
                api::ContainerCondition::Healthy => {
                    if exited.is_some() {
                        return Err(format!(
                            "CannotStartContainerError: dependency condition HEALTHY of container {name} on {} \
                             cannot be met: it exited",
                            dep.container_name
                        ));
                    }
                    self.healthy[d] == Some(true)
                }
            };
            if !met {
                return Ok(false);
            }
        }
        Ok(true)
    }

    /// Inspects the started containers for their published ports.
    async fn started_containers(&self) -> Result<Vec<StartedContainer>, String> {
        let pause_ports = match &self.pause_id {
            Some(id) => Some(self.inspect(id).await?),
            None => None,
        };
        let mut out = Vec::new();
        for (i, c) in self.launch.containers.iter().enumerate() {
            let id = self.ids[i].clone().unwrap_or_default();
            let inspected = match &pause_ports {
                Some(p) => p.clone(),
                None => self.inspect(&id).await?,
            };
            let bindings = spec::ports(c)
                .into_iter()
                .filter_map(|(port, protocol)| published(&inspected, port, protocol))
                .collect();
            out.push(StartedContainer {
                name: c.name.clone().unwrap_or_default(),
                runtime_id: id,
                bindings,
            });
        }
        Ok(out)
    }

    async fn inspect(&self, id: &str) -> Result<ContainerInspectResponse, String> {
        self.inner
            .docker
            .inspect_container(id, None)
            .await
            .map_err(|e| format!("CannotInspectContainerError: {e}"))
    }

    /// SIGTERM, then SIGKILL after each container's stop timeout; reports exit codes.
    async fn stop(&mut self, task_timeout_ms: u64) {
        self.stopping = true;
        let stops = self.ids.iter().enumerate().filter_map(|(i, id)| {
            let id = id.clone()?;
            let timeout_s = self.launch.containers[i]
                .stop_timeout
                .map_or(i64::try_from(task_timeout_ms / 1000).unwrap_or(30), i64::from);
            let docker = self.inner.docker.clone();
            Some(async move {
                let options = StopContainerOptions {
                    t: Some(i32::try_from(timeout_s).unwrap_or(30)),
                    signal: None,
                };
                let _ = docker.stop_container(&id, Some(options)).await;
            })
        });
        futures_util::future::join_all(stops).await;
        let mut exit_codes = Vec::with_capacity(self.ids.len());
        for (i, id) in self.ids.iter().enumerate() {
            let code = match (self.exited[i], id) {
                (Some(code), _) => code,
                (None, Some(id)) => self
                    .inner
                    .docker
                    .inspect_container(id, None)
                    .await
                    .ok()
                    .and_then(|c| c.state?.exit_code)
                    .and_then(|c| i32::try_from(c).ok()),
                (None, None) => None,
            };
            exit_codes.push(code);
        }
        if let Some(pause) = &self.pause_id {
            force_remove(&self.inner.docker, pause).await;
        }
        self.emit(RuntimeEventKind::Stopped { exit_codes }).await;
    }

    async fn remove(&mut self) {
        let ids: Vec<String> = self
            .ids
            .iter()
            .flatten()
            .cloned()
            .chain(self.pause_id.clone())
            .collect();
        for id in ids {
            force_remove(&self.inner.docker, &id).await;
        }
        self.inner.actors.lock().remove(&self.launch.key);
    }
}

/// Where the host reaches `port` of an inspected container.
fn published(
    inspected: &ContainerInspectResponse,
    port: u16,
    protocol: api::TransportProtocol,
) -> Option<PortBinding> {
    let key = format!("{port}/{}", protocol.as_str());
    let bindings = inspected
        .network_settings
        .as_ref()?
        .ports
        .as_ref()?
        .get(&key)?
        .as_ref()?;
    let b = bindings
        .iter()
        .find(|b| b.host_ip.as_deref() == Some("127.0.0.1"))?;
    Some(PortBinding {
        container_port: port,
        protocol,
        host_ip: "127.0.0.1".into(),
        host_port: b.host_port.as_deref()?.parse().ok()?,
    })
}
