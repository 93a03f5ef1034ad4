//! ecsim's Docker task runtime: runs the core's tasks as Docker containers, one Docker network per
//! simulated subnet, and reports their lifecycle back as runtime events.
//!
//! This is an IO edge. It must not decide anything ECS decides (placement, stop codes, retries):
//! it carries out commands and reports facts. It only ever touches Docker objects labelled with
//! its own instance name.

pub mod image;
pub mod labels;
pub mod pause;
pub mod pool;
pub mod runtime;
pub mod spec;

pub use pool::Pool;
pub use runtime::{
    DockerConfig, DockerError, DockerRuntime, Leftovers, METADATA_ADDRESS, connect, remove_instance,
};
