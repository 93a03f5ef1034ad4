//! The emulator as a library: start one in-process (on a loopback port) and get its endpoint URL
//! and a handle on its clock. `ecsim serve` and the project's own tests both use it.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use ecsim_control::alarms::AlarmSource;
use ecsim_control::functions::FunctionTarget;
use ecsim_control::runtime::SimTimings;
use ecsim_control::topology::TopologyConfig;
use ecsim_control::{Engine, EngineConfig};
use ecsim_core::VirtualClock;
use ecsim_core::clock::LiveClock;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::shared::{ClockHandles, Shared};

/// Where the control plane takes its time from.
/// Health-check results waiting for the engine, at most.
const PROBE_RESULT_QUEUE: usize = 1_024;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ClockMode {
    /// Real time; controllers run at their deadlines (`ecsim serve`).
    #[default]
    System,
    /// Simulated time that moves only through [`EmulatorClock::advance`].
    Virtual,
}

/// The task runtime behind the emulator.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Runtime {
    /// Simulated tasks driven by the behaviour model.
    #[default]
    Simulated,
    /// Tasks run as Docker containers (needs the system clock and a Docker daemon).
    Docker(DockerOptions),
}

/// How the Docker runtime runs tasks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DockerOptions {
    /// Label value that marks this emulator's containers and networks (`dev.ecsim.instance`).
    pub instance: String,
    /// Range Docker networks are carved from, and the prefix length of each network.
    pub network_pool: String,
    pub network_prefix: u8,
    /// Pull absent images as ECS does; when false an absent image fails the task at once.
    pub pull_images: bool,
    /// Leave containers running when the emulator shuts down.
    pub keep_on_shutdown: bool,
    /// What to do with containers a previous run of this instance left.
    pub leftovers: ecsim_docker::Leftovers,
    /// Unix socket of the Docker daemon; `None` uses `DOCKER_HOST` or the default socket.
    pub socket: Option<String>,
}

impl Default for DockerOptions {
    fn default() -> Self {
        Self {
            instance: "default".into(),
            network_pool: ecsim_docker::pool::DEFAULT_POOL.into(),
            network_prefix: ecsim_docker::pool::DEFAULT_NETWORK_PREFIX,
            pull_images: true,
            keep_on_shutdown: false,
            leftovers: ecsim_docker::Leftovers::Remove,
            socket: None,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error("invalid topology: {0}")]
    Topology(#[from] ecsim_control::topology::TopologyError),
    #[error("the Docker runtime runs on the system clock only")]
    DockerNeedsSystemClock,
    #[error("invalid time scale: {0}")]
    TimeScale(#[from] ecsim_core::clock::InvalidTimeScale),
    #[error("a time scale applies to the system clock only (virtual time moves only when advanced)")]
    TimeScaleNeedsSystemClock,
    #[error("cannot start the Docker runtime: {0}")]
    Docker(#[from] ecsim_docker::DockerError),
}

/// Configures and starts an emulator.
#[derive(Debug, Clone)]
pub struct EmulatorBuilder {
    listen: SocketAddr,
    seed: u64,
    clock: ClockMode,
    time_scale: f64,
    runtime: Runtime,
    default_account_id: String,
    default_region: String,
    topology: TopologyConfig,
    sim: SimTimings,
    alarms: Option<Arc<dyn AlarmSource>>,
    functions: Vec<(String, FunctionTarget)>,
    function_timeout_ms: u64,
}

impl Default for EmulatorBuilder {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            seed: 0,
            clock: ClockMode::System,
            time_scale: 1.0,
            runtime: Runtime::Simulated,
            default_account_id: "000000000000".into(),
            default_region: "us-east-1".into(),
            topology: TopologyConfig::default(),
            sim: SimTimings::default(),
            alarms: None,
            functions: Vec::new(),
            function_timeout_ms: crate::functions::DEFAULT_FUNCTION_TIMEOUT_MS,
        }
    }
}

impl EmulatorBuilder {
    /// Address to listen on; port 0 picks a free port. Default `127.0.0.1:0`.
    pub fn listen(mut self, addr: SocketAddr) -> Self {
        self.listen = addr;
        self
    }
    pub fn seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self
    }
    pub fn clock(mut self, mode: ClockMode) -> Self {
        self.clock = mode;
        self
    }
    /// Speed of the system clock: control-plane durations (health-check intervals, bake times,
    /// alarm periods, deregistration delays, simulated task steps) pass `scale` times faster than
    /// real time. Must be finite and greater than 0; values other than 1 need
    /// [`ClockMode::System`]. Default 1.
    pub fn time_scale(mut self, scale: f64) -> Self {
        self.time_scale = scale;
        self
    }
    pub fn runtime(mut self, runtime: Runtime) -> Self {
        self.runtime = runtime;
        self
    }
    pub fn default_account_id(mut self, account: impl Into<String>) -> Self {
        self.default_account_id = account.into();
        self
    }
    pub fn default_region(mut self, region: impl Into<String>) -> Self {
        self.default_region = region.into();
        self
    }
    pub fn topology(mut self, topology: TopologyConfig) -> Self {
        self.topology = topology;
        self
    }
    pub fn sim_timings(mut self, sim: SimTimings) -> Self {
        self.sim = sim;
        self
    }

    /// Where deployment alarms are read from. Until ecsim serves CloudWatch, every alarm is
    /// unknown unless a source is given here (tests use this to fire an alarm on purpose).
    pub fn alarm_source(mut self, alarms: Arc<dyn AlarmSource>) -> Self {
        self.alarms = Some(alarms);
        self
    }

    /// Registers a local stand-in for the Lambda function `name` (a name or an ARN) that lifecycle
    /// hooks invoke: an HTTP endpoint the payload is POSTed to, or a command that gets it on
    /// stdin. A later registration of the same name replaces an earlier one.
    pub fn function(mut self, name: impl Into<String>, target: FunctionTarget) -> Self {
        self.functions.push((name.into(), target));
        self
    }

    /// Real time a function stand-in may take before its invocation fails (a command is killed).
    /// Not shortened by the time scale. Default 30 s.
    pub fn function_timeout(mut self, timeout: Duration) -> Self {
        self.function_timeout_ms = u64::try_from(timeout.as_millis()).unwrap_or(u64::MAX);
        self
    }

    /// Binds the listener and starts serving. Returns once the port accepts connections.
    pub async fn start(self) -> Result<Emulator, StartError> {
        self.topology.validate()?;
        let clock = match self.clock {
            ClockMode::System => ClockHandles::live(LiveClock::new(self.time_scale)?),
            ClockMode::Virtual if self.time_scale != 1.0 => {
                ecsim_core::clock::check_time_scale(self.time_scale)?;
                return Err(StartError::TimeScaleNeedsSystemClock);
            }
            ClockMode::Virtual => ClockHandles::virtual_time(VirtualClock::default()),
        };
        let docker_options = match &self.runtime {
            Runtime::Docker(options) if self.clock == ClockMode::System => Some(options.clone()),
            Runtime::Docker(_) => return Err(StartError::DockerNeedsSystemClock),
            Runtime::Simulated => None,
        };
        let docker = match &docker_options {
            Some(options) => Some(ecsim_docker::connect(options.socket.as_deref()).await?),
            None => None,
        };
        let sim = if docker.is_some() {
            // Real containers take the time they take; ECS's own bookkeeping steps cost nothing.
            SimTimings {
                provisioning_ms: 0,
                activating_ms: 0,
                deactivating_ms: 0,
                deprovisioning_ms: 0,
                ..self.sim
            }
        } else {
            self.sim
        };
        let config = EngineConfig {
            default_account_id: self.default_account_id,
            default_region: self.default_region,
            seed: self.seed,
            topology: self.topology,
            sim,
            runtime: if docker.is_some() {
                ecsim_control::task_runtime::RuntimeKind::External
            } else {
                ecsim_control::task_runtime::RuntimeKind::Simulated
            },
        };
        let mut engine = Engine::new(config, clock.clock.now_ms());
        if let Some(alarms) = self.alarms {
            engine.set_alarm_source(alarms);
        }
        for (name, target) in self.functions {
            engine.register_function(&name, target);
        }
        let listener = TcpListener::bind(self.listen)
            .await
            .map_err(|source| StartError::Bind {
                addr: self.listen,
                source,
            })?;
        let addr = listener.local_addr().map_err(|source| StartError::Bind {
            addr: self.listen,
            source,
        })?;
        let invoke = crate::functions::InvokeSettings {
            timeout_ms: self.function_timeout_ms,
            endpoint_url: format!("http://{addr}"),
        };
        let shared = Shared::new(engine, clock, self.seed, invoke);
        let (shutdown_tx, shutdown_rx) = watch::channel(false);
        let mut tasks = Vec::new();
        let mut keep_containers = true;
        let mut runtime_events = None;
        if let (Some(docker), Some(options)) = (docker, docker_options) {
            let pool = ecsim_docker::Pool::new(&options.network_pool, options.network_prefix)
                .map_err(ecsim_docker::DockerError::from)?;
            let (events_tx, events_rx) = tokio::sync::mpsc::channel(ecsim_docker::runtime::COMMAND_QUEUE);
            let runtime = ecsim_docker::DockerRuntime::start(
                docker,
                ecsim_docker::DockerConfig {
                    instance: options.instance.clone(),
                    pool,
                    pull_images: options.pull_images,
                    leftovers: options.leftovers,
                    endpoint_port: addr.port(),
                },
                events_tx,
            )
            .await?;
            keep_containers = options.keep_on_shutdown;
            shared.attach_docker(runtime);
            runtime_events = Some(tokio::spawn(crate::driver::run_runtime_events(
                shared.clone(),
                events_rx,
            )));
            // Tasks reach ecsim (API, metadata, credentials) at 169.254.170.2 on the same port. A
            // wildcard listen address already covers it (and a second bind would fail).
            let metadata_addr = SocketAddr::from((ecsim_docker::METADATA_ADDRESS, addr.port()));
            if !addr.ip().is_unspecified() {
                let metadata_listener =
                    TcpListener::bind(metadata_addr)
                        .await
                        .map_err(|source| StartError::Bind {
                            addr: metadata_addr,
                            source,
                        })?;
                tasks.push(tokio::spawn(serve(
                    metadata_listener,
                    shared.clone(),
                    shutdown_rx.clone(),
                )));
            }
            tracing::info!(
                instance = %options.instance,
                task_endpoint = %format!("http://{metadata_addr}"),
                "tasks run as Docker containers"
            );
        }
        // The load balancer data plane: listeners bind the API's address family on loopback (or
        // every interface when the API itself listens on every interface).
        let bind_ip = if addr.ip().is_unspecified() {
            addr.ip()
        } else {
            std::net::IpAddr::from([127, 0, 0, 1])
        };
        let (probe_tx, probe_rx) = tokio::sync::mpsc::channel(PROBE_RESULT_QUEUE);
        let data_plane = ecsim_proxy::DataPlane::start(ecsim_proxy::DataPlaneConfig {
            bind_ip,
            clock: shared.clock.clone(),
            metrics: shared.metrics.clone(),
            probe_results: probe_tx,
        });
        let _ = shared.data_plane.set(data_plane);
        let probe_results = tokio::spawn(crate::driver::run_probe_results(shared.clone(), probe_rx));
        if self.clock == ClockMode::System {
            tasks.push(tokio::spawn(crate::driver::run(
                shared.clone(),
                shutdown_rx.clone(),
            )));
        }
        if shared.docker.get().is_some() {
            tasks.push(tokio::spawn(crate::utilization::run(
                shared.clone(),
                shutdown_rx.clone(),
            )));
        }
        tasks.push(tokio::spawn(serve(listener, shared.clone(), shutdown_rx)));
        Ok(Emulator {
            addr,
            shared,
            shutdown: shutdown_tx,
            tasks,
            keep_containers,
            runtime_events,
            probe_results,
        })
    }
}

async fn serve(listener: TcpListener, shared: Arc<Shared>, mut shutdown: watch::Receiver<bool>) {
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                let Ok((stream, peer)) = accepted else { continue };
                let _ = stream.set_nodelay(true);
                let shared = shared.clone();
                let service = service_fn(move |req| crate::gateway::handle(shared.clone(), req, peer));
                let conn = http1::Builder::new().keep_alive(true).serve_connection(TokioIo::new(stream), service);
                let conn = graceful.watch(conn);
                tokio::spawn(async move {
                    if let Err(e) = conn.await {
                        tracing::debug!(error = %e, "connection closed with an error");
                    }
                });
            }
            _ = shutdown.changed() => break,
        }
    }
    drop(listener);
    // In-flight requests finish; idle keep-alive connections close.
    #[allow(clippy::disallowed_methods)]
    let deadline = tokio::time::sleep(Duration::from_secs(5));
    tokio::select! {
        () = graceful.shutdown() => {}
        () = deadline => tracing::warn!("connections still open after 5 s; closing them"),
    }
}

/// A running emulator.
pub struct Emulator {
    addr: SocketAddr,
    shared: Arc<Shared>,
    shutdown: watch::Sender<bool>,
    tasks: Vec<JoinHandle<()>>,
    /// Docker runtime: leave containers running on shutdown.
    keep_containers: bool,
    /// Docker runtime: the task feeding runtime events into the engine (runs until aborted).
    runtime_events: Option<JoinHandle<()>>,
    /// The task feeding health-check results into the engine (runs until aborted).
    probe_results: JoinHandle<()>,
}

impl Emulator {
    pub fn builder() -> EmulatorBuilder {
        EmulatorBuilder::default()
    }

    /// `http://127.0.0.1:<port>`: what `AWS_ENDPOINT_URL` should be.
    pub fn endpoint_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// A handle on the emulator's clock.
    pub fn clock(&self) -> EmulatorClock {
        EmulatorClock {
            shared: self.shared.clone(),
        }
    }

    /// Registers (or replaces) the local stand-in for the Lambda function `name` (a name or an
    /// ARN), as `PUT /_ecsim/functions/{name}` does.
    pub fn register_function(&self, name: &str, target: FunctionTarget) {
        self.shared.engine.lock().register_function(name, target);
    }

    /// The state behind this emulator, for in-process callers (the scenario runner).
    pub(crate) fn shared(&self) -> &Arc<Shared> {
        &self.shared
    }

    /// Which task runtime runs tasks: `docker` or `sim`.
    pub fn runtime_name(&self) -> &'static str {
        self.shared.runtime_name()
    }

    /// Stops accepting connections, lets in-flight requests finish, stops the driver and, on the
    /// Docker runtime, removes this emulator's containers and networks (unless told to keep them).
    pub async fn shutdown(self) {
        let _ = self.shutdown.send(true);
        if let Some(data_plane) = self.shared.data_plane.get() {
            data_plane.shutdown().await;
        }
        if let Some(docker) = self.shared.docker.get() {
            if !self.keep_containers {
                docker.remove_everything().await;
            }
            docker.stop();
        }
        if let Some(pump) = self.runtime_events {
            pump.abort();
        }
        self.probe_results.abort();
        for t in self.tasks {
            let _ = t.await;
        }
    }
}

/// The clock of a running emulator.
#[derive(Clone)]
pub struct EmulatorClock {
    shared: Arc<Shared>,
}

impl std::fmt::Debug for EmulatorClock {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EmulatorClock")
            .field("virtual", &self.is_virtual())
            .field("now_ms", &self.now_ms())
            .finish()
    }
}

impl EmulatorClock {
    /// Milliseconds since the Unix epoch, as the control plane sees them.
    pub fn now_ms(&self) -> u64 {
        self.shared.clock.now_ms()
    }

    pub fn is_virtual(&self) -> bool {
        self.shared.clock.is_virtual()
    }

    /// Control-plane milliseconds per real millisecond (1 unless sped up; 1 on virtual time).
    pub fn time_scale(&self) -> f64 {
        self.shared.clock.time_scale()
    }

    /// Whether a live clock is paused.
    pub fn is_paused(&self) -> bool {
        self.shared.clock.is_paused()
    }

    /// Stops live time (controllers wait; real containers keep running). Returns false on the
    /// virtual clock or when already paused.
    pub fn pause(&self) -> bool {
        let paused = self.shared.live_clock.as_ref().is_some_and(LiveClock::pause);
        self.shared.wake.notify_one();
        paused
    }

    /// Lets live time run again from where it was paused. Returns false on the virtual clock or
    /// when not paused.
    pub fn resume(&self) -> bool {
        let resumed = self.shared.live_clock.as_ref().is_some_and(LiveClock::resume);
        self.shared.wake.notify_one();
        resumed
    }

    /// Changes the speed of the live clock (see [`EmulatorBuilder::time_scale`]).
    pub fn set_time_scale(&self, scale: f64) -> Result<(), StartError> {
        let Some(live) = &self.shared.live_clock else {
            return Err(StartError::TimeScaleNeedsSystemClock);
        };
        live.set_scale(scale)?;
        self.shared.wake.notify_one();
        Ok(())
    }

    /// Moves virtual time forward, running every controller deadline on the way in order.
    /// Has no effect on the system clock.
    pub fn advance(&self, by: Duration) {
        self.shared
            .advance_virtual(u64::try_from(by.as_millis()).unwrap_or(u64::MAX));
    }
}
