//! ecsim: a local AWS container-stack emulator. One server speaks the real ECS, ELBv2, CodeDeploy,
//! CloudWatch, EC2 networking and STS APIs on one port, with a deterministic control plane that
//! runs on the system clock or on a virtual clock, and real load balancer listeners on loopback.
//! [`scenario`] runs scenario files, each in its own in-process emulator.
//!
//! ```no_run
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! use ecsim::{ClockMode, Emulator};
//! let emulator = Emulator::builder().seed(7).clock(ClockMode::Virtual).start().await?;
//! println!("AWS_ENDPOINT_URL={}", emulator.endpoint_url());
//! emulator.clock().advance(std::time::Duration::from_secs(60));
//! emulator.shutdown().await;
//! # Ok(()) }
//! ```
//!
//! This crate is the IO edge: sockets, the live driver, the CLI, and the wiring of the load
//! balancer data plane (`ecsim-proxy`). The control plane itself lives
//! in `ecsim-control` and never touches IO or the OS clock.

mod admin;
pub mod config;
mod driver;
mod emulator;
mod functions;
mod gateway;
mod metadata;
mod metrics_store;
pub mod scenario;
mod shared;
mod utilization;

pub use ecsim_control::alarms::{AlarmSource, AlarmState};
pub use ecsim_control::functions::FunctionTarget;
pub use ecsim_docker::Leftovers;
pub use emulator::{ClockMode, DockerOptions, Emulator, EmulatorBuilder, EmulatorClock, Runtime, StartError};
pub use functions::{DEFAULT_FUNCTION_TIMEOUT_MS, parse_function_flag, parse_function_list};
pub use gateway::MAX_REQUEST_BODY_BYTES;
