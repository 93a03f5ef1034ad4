//! Deployments as data: every strategy compiles to one [`plan::Plan`] of steps, and one
//! [`executor::Executor`] runs it. Rolling is the first plan it runs; traffic-shifting strategies
//! (ECS BLUE_GREEN / LINEAR / CANARY, CodeDeploy) compile to weight steps on the same executor.
//!
//! Pure: the executor takes `now` and observations, and acts only through the [`executor::Router`]
//! it is handed. Circuit breaker and alarms are observations, never callbacks.

pub mod executor;
pub mod plan;

pub use executor::{Advance, Executor, GateState, Monitors, NoRouter, Observation, Outcome, Router, Trigger};
pub use plan::{Plan, Step, TrafficStep};
