//! The port between the core and an external task runtime (Docker): commands the core emits, the
//! events the runtime reports back.
//!
//! Pure data. The core never waits for a runtime: it queues commands in `RuntimePort`, a driver
//! carries them out, and the outcome comes back later as a `RuntimeEvent` at the time it happened.
//! Every `Stop` is answered by exactly one `TaskStopped`, even for a task the runtime never knew.

use ecsim_api::ecs as api;

/// Which backend runs task containers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum RuntimeKind {
    /// Containers are simulated inside the engine on timers (behaviour from `ECSIM_*` entries).
    #[default]
    Simulated,
    /// Containers run outside the engine; the core sends commands and waits for events.
    External,
}

/// Identifies a task across the port: the engine's world and the task id.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TaskKey {
    pub world: usize,
    pub task_id: String,
}

/// Everything a runtime needs to start one task, with overrides already applied.
#[derive(Debug, Clone)]
pub struct TaskLaunch {
    pub key: TaskKey,
    pub task_arn: String,
    pub cluster_name: String,
    pub family: String,
    pub revision: i32,
    pub account_id: String,
    pub region: String,
    pub availability_zone: String,
    pub network_mode: api::NetworkMode,
    /// The simulated subnet the task's network interface (awsvpc) or instance lives in.
    pub subnet_id: Option<String>,
    pub private_ip: Option<String>,
    pub container_instance_id: Option<String>,
    /// Task-level limits: CPU units and MiB.
    pub task_cpu_units: Option<u32>,
    pub task_memory_mib: Option<u32>,
    /// The container definitions, with container overrides (command, environment, cpu, memory)
    /// merged in.
    pub containers: Vec<api::ContainerDefinition>,
    /// Metadata endpoint token of each container, in definition order (the runtime points
    /// `ECS_CONTAINER_METADATA_URI_V4` at it).
    pub metadata_tokens: Vec<String>,
    /// The task role's id on the credentials endpoint (`AWS_CONTAINER_CREDENTIALS_RELATIVE_URI`).
    pub credentials_id: Option<String>,
}

/// What the core asks of a runtime.
#[derive(Debug, Clone)]
pub enum RuntimeCommand {
    /// Create and start the task's containers in dependency order.
    Start(Box<TaskLaunch>),
    /// Stop every container of the task: SIGTERM, then SIGKILL after each container's stop timeout.
    Stop { key: TaskKey, stop_timeout_ms: u64 },
    /// Kill one container with SIGKILL at once (the fault API's crashTask): the runtime reports
    /// the exit through `ContainerExited` as for any crash, and ECS semantics follow from there.
    Kill { key: TaskKey, runtime_id: String },
    /// The task is STOPPED: remove its containers.
    Remove { key: TaskKey },
    /// The engine was reset: remove every container and network the runtime created.
    Reset,
}

/// A published port: what the host reaches (loopback) for a container port.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PortBinding {
    pub container_port: u16,
    pub protocol: api::TransportProtocol,
    pub host_ip: String,
    pub host_port: u16,
}

/// A container the runtime started.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StartedContainer {
    pub name: String,
    pub runtime_id: String,
    pub bindings: Vec<PortBinding>,
}

/// What a runtime reports. `key` says which task; events for unknown tasks are ignored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RuntimeEventKind {
    /// The start sequence finished: every container that should be running is.
    Started { containers: Vec<StartedContainer> },
    /// The task could not start; `container` is the index of the container at fault.
    StartFailed {
        container: Option<usize>,
        reason: String,
    },
    /// A container exited on its own (not because the core asked).
    ContainerExited {
        container: usize,
        exit_code: Option<i32>,
        reason: Option<String>,
    },
    /// A container's health check result changed.
    ContainerHealth { container: usize, healthy: bool },
    /// Every container is stopped (answers `Stop`); exit codes by container index.
    Stopped { exit_codes: Vec<Option<i32>> },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuntimeEvent {
    pub key: TaskKey,
    pub kind: RuntimeEventKind,
}

/// The commands queued for an external runtime since the driver last drained them.
#[derive(Debug, Default)]
pub struct RuntimePort {
    pub kind: RuntimeKind,
    outbox: Vec<RuntimeCommand>,
}

impl RuntimePort {
    pub fn new(kind: RuntimeKind) -> Self {
        Self {
            kind,
            outbox: Vec::new(),
        }
    }

    pub fn is_external(&self) -> bool {
        self.kind == RuntimeKind::External
    }

    /// Queues a command; on the simulated runtime commands are dropped (the engine simulates).
    pub fn submit(&mut self, command: RuntimeCommand) {
        if self.is_external() {
            self.outbox.push(command);
        }
    }

    /// Takes the queued commands in the order they were issued.
    pub fn drain(&mut self) -> Vec<RuntimeCommand> {
        std::mem::take(&mut self.outbox)
    }
}
