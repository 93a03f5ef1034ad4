//! State shared by the gateway, the live driver and the emulator handle: the engine behind a
//! mutex (never held across an await), the clock, the wake-up signal for the driver, the link
//! to an external task runtime, and the invoker of function stand-ins.

use std::sync::{Arc, OnceLock, Weak};

use ecsim_control::Engine;
use ecsim_control::task_runtime::RuntimeCommand;
use ecsim_core::clock::LiveClock;
use ecsim_core::{Clock, VirtualClock};
use ecsim_protocol::route::Catalog;
use parking_lot::Mutex;
use tokio::sync::Notify;

pub struct Shared {
    pub engine: Mutex<Engine>,
    pub clock: Arc<dyn Clock>,
    /// Present in virtual-clock mode: the handle tests advance.
    pub virtual_clock: Option<VirtualClock>,
    /// Present on the system clock: the handle that pauses it and sets its speed.
    pub live_clock: Option<LiveClock>,
    pub catalog: Catalog,
    /// Signals the live driver that the next deadline may have moved.
    pub wake: Notify,
    pub seed: u64,
    /// The Docker runtime, when tasks run as containers.
    pub docker: OnceLock<ecsim_docker::DockerRuntime>,
    /// The load balancer data plane (listeners, forwarding, health probes).
    pub data_plane: OnceLock<ecsim_proxy::DataPlane>,
    /// Metrics ecsim emits itself, until CloudWatch stores them.
    pub metrics: Arc<crate::metrics_store::RecentMetrics>,
    /// Performs the function invocations (lifecycle hooks) the engine queues.
    pub functions: crate::functions::Invoker,
    /// This value's own `Arc`, for the tasks that report invocation outcomes back.
    me: Weak<Shared>,
}

/// The clock the control plane reads, and the handle that moves it (virtual) or sets its speed
/// (live).
pub struct ClockHandles {
    pub clock: Arc<dyn Clock>,
    pub virtual_clock: Option<VirtualClock>,
    pub live_clock: Option<LiveClock>,
}

impl ClockHandles {
    pub fn virtual_time(clock: VirtualClock) -> Self {
        Self {
            clock: Arc::new(clock.clone()),
            virtual_clock: Some(clock),
            live_clock: None,
        }
    }

    pub fn live(clock: LiveClock) -> Self {
        Self {
            clock: Arc::new(clock.clone()),
            virtual_clock: None,
            live_clock: Some(clock),
        }
    }
}

/// Shortest real time a health probe is given, however fast the clock runs.
pub const MIN_PROBE_TIMEOUT_MS: u64 = 50;

/// What an engine call queued for the load balancer data plane.
#[derive(Default)]
pub struct DataPlaneEffects {
    pub routes: Option<Arc<ecsim_elb::RoutingSnapshot>>,
    pub probes: Vec<ecsim_elb::ProbeRequest>,
    /// Metrics the engine computed (simulated traffic), for the metrics sink.
    pub metrics: Vec<ecsim_core::MetricDatum>,
    /// Function invocations (lifecycle hooks) to perform.
    pub invocations: Vec<ecsim_control::functions::Invocation>,
}

impl DataPlaneEffects {
    /// Takes them from the engine (call with the engine locked, apply after unlocking).
    pub fn take(engine: &mut Engine) -> Self {
        Self {
            routes: engine.take_routing_snapshot(),
            probes: engine.take_probe_requests(),
            metrics: engine.take_metrics(),
            invocations: engine.take_invocations(),
        }
    }
}

impl Shared {
    pub fn new(
        engine: Engine,
        clock: ClockHandles,
        seed: u64,
        invoke: crate::functions::InvokeSettings,
    ) -> Arc<Self> {
        Arc::new_cyclic(|me| Self {
            engine: Mutex::new(engine),
            clock: clock.clock,
            virtual_clock: clock.virtual_clock,
            live_clock: clock.live_clock,
            catalog: Catalog::new(ecsim_api::SERVICES),
            wake: Notify::new(),
            seed,
            docker: OnceLock::new(),
            data_plane: OnceLock::new(),
            metrics: Arc::new(crate::metrics_store::RecentMetrics::default()),
            functions: crate::functions::Invoker::new(invoke),
            me: me.clone(),
        })
    }

    /// This value's `Arc` (`None` only while it is being dropped).
    pub fn arc(&self) -> Option<Arc<Shared>> {
        self.me.upgrade()
    }

    /// Connects the engine's runtime commands to a Docker runtime.
    pub fn attach_docker(&self, docker: ecsim_docker::DockerRuntime) {
        let _ = self.docker.set(docker);
    }

    /// Which runtime runs tasks, as the health endpoint names it.
    pub fn runtime_name(&self) -> &'static str {
        if self.docker.get().is_some() {
            "docker"
        } else {
            "sim"
        }
    }

    /// Sends commands the engine queued to the external runtime. Call with the engine unlocked:
    /// the queue is bounded, so this waits when the runtime falls behind.
    pub async fn send_runtime_commands(&self, commands: Vec<RuntimeCommand>) {
        let Some(docker) = self.docker.get() else {
            return;
        };
        for command in commands {
            if docker.send(command).await.is_err() {
                tracing::warn!("the Docker runtime has stopped; a runtime command was dropped");
            }
        }
    }

    /// Publishes a new routing snapshot and starts the health probes and function invocations
    /// the engine asked for. Call with the engine unlocked. Never blocks: probes and invocations
    /// run on their own tasks.
    pub fn apply_data_plane(&self, mut effects: DataPlaneEffects) {
        crate::functions::start(self, std::mem::take(&mut effects.invocations));
        if !effects.metrics.is_empty() {
            self.metrics.remember(effects.metrics);
        }
        let Some(data_plane) = self.data_plane.get() else {
            return;
        };
        if let Some(routes) = effects.routes {
            data_plane.publish(routes);
        }
        // Probe timeouts are control-plane durations: at a time scale they shrink with the
        // interval, so a probe never outlives the next check.
        let scale = self.clock.time_scale();
        for mut probe in effects.probes {
            probe.timeout_ms = ecsim_core::clock::real_ms(probe.timeout_ms, scale, MIN_PROBE_TIMEOUT_MS);
            data_plane.probe(probe);
        }
    }

    /// Hands data the data plane emitted to CloudWatch in the engine (call with the engine
    /// locked, before advancing it, so evaluations see the data).
    pub fn store_pending_metrics(&self, engine: &mut Engine) {
        let pending = self.metrics.take_pending();
        if !pending.is_empty() {
            engine.put_emitted_metrics(pending);
        }
    }

    /// One decoded API call, as the gateway and the scenario runner make it: pending data-plane
    /// metrics stored, the engine caught up to the clock, the call, its data-plane effects carried
    /// out and the driver woken when a deadline moved. Returns the answer, the request id and the
    /// runtime commands the call queued (send them with the engine unlocked).
    pub fn call(
        &self,
        service: &'static ecsim_protocol::ServiceSchema,
        operation: &'static ecsim_protocol::OperationSchema,
        input: serde_json::Value,
        caller: &ecsim_protocol::Caller,
    ) -> (
        Result<serde_json::Value, ecsim_protocol::AwsError>,
        String,
        Vec<RuntimeCommand>,
    ) {
        let now = self.clock.now_ms();
        let mut engine = self.engine.lock();
        let request_id = engine.request_id();
        self.store_pending_metrics(&mut engine);
        let deadline_before = engine.next_deadline();
        let result = engine.handle(now, service, operation, input, caller);
        let deadline_after = engine.next_deadline();
        let commands = engine.take_runtime_commands();
        let effects = DataPlaneEffects::take(&mut engine);
        drop(engine);
        self.apply_data_plane(effects);
        if deadline_after != deadline_before {
            self.wake.notify_one();
        }
        (result, request_id, commands)
    }

    /// Changes the engine after catching it up to the clock (pending metrics stored first), then
    /// carries out what that queued and wakes the driver.
    pub async fn change_engine<T>(&self, change: impl FnOnce(&mut Engine) -> T) -> T {
        let now_ms = self.clock.now_ms();
        let (out, commands, effects) = {
            let mut engine = self.engine.lock();
            self.store_pending_metrics(&mut engine);
            engine.advance_to(now_ms);
            let out = change(&mut engine);
            (
                out,
                engine.take_runtime_commands(),
                DataPlaneEffects::take(&mut engine),
            )
        };
        self.apply_data_plane(effects);
        self.send_runtime_commands(commands).await;
        self.wake.notify_one();
        out
    }

    /// Moves virtual time forward by `delta_ms`, running every controller deadline on the way in
    /// order. Does nothing on the system clock.
    pub fn advance_virtual(&self, delta_ms: u64) {
        if let Some(clock) = &self.virtual_clock {
            clock.advance_by(delta_ms);
            let effects = {
                let mut engine = self.engine.lock();
                self.store_pending_metrics(&mut engine);
                engine.advance_to(clock.now_ms());
                DataPlaneEffects::take(&mut engine)
            };
            self.apply_data_plane(effects);
        }
    }
}
