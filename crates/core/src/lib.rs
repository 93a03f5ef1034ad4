//! ecsim's deterministic foundations: one [`clock::Clock`] for time, one seeded [`rng::Rng`] for
//! randomness, and the identifier formats AWS uses.
//!
//! Nothing here does IO, spawns threads or reads the OS clock, except [`clock::SystemClock`],
//! which is the single sanctioned reader of wall time and is used only by the live driver.

pub mod clock;
pub mod ids;
pub mod metrics;
pub mod rng;

pub use clock::{Clock, Millis, SystemClock, VirtualClock};
pub use metrics::{MetricDatum, MetricsSink};
pub use rng::Rng;
