//! ecsim's deterministic control plane: one [`world::World`] per (account, region), the API
//! handlers that change desired state, the controllers that move actual state toward it on
//! timers, the simulated runtime, and the command/event port to an external (Docker) runtime.
//!
//! Nothing in this crate reads a clock, sleeps, draws OS randomness or does IO: every entry point
//! takes `now_ms` from a driver, and randomness comes from the engine's seeded RNG.

pub mod alarms;
pub mod cloudwatch;
pub mod codedeploy;
pub mod coverage;
pub mod deploy;
pub mod ec2;
pub mod ecs;
pub mod elbv2;
pub mod engine;
pub mod export;
pub mod faults;
pub mod functions;
pub mod network;
pub mod runtime;
pub mod sts;
pub mod task_runtime;
pub mod timers;
pub mod topology;
pub mod traffic;
pub mod world;

pub use engine::{Engine, EngineConfig};
