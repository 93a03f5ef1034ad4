//! CloudWatch's pure model: statistics over samples, metric alarm evaluation, composite alarm
//! rules and metric math. No IO, no clock, no service state: callers pass data and times in.

pub mod composite;
pub mod evaluate;
pub mod math;
pub mod stats;
