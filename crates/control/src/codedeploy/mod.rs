//! CodeDeploy for ECS on the deterministic core: applications, deployment configs, deployment
//! groups and blue/green deployments of task sets, run on the one deployment executor.
//!
//! Handlers change state and schedule the deployment controller; nothing here does IO: hooks are
//! invocations the edge performs.

pub mod run;
