//! What deployment controllers ask about CloudWatch alarms. CloudWatch implements this once it
//! exists; until then the engine has [`NoAlarms`] (every alarm is unknown), and tests use doubles.

/// An alarm's state, as CloudWatch names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AlarmState {
    Ok,
    Alarm,
    InsufficientData,
}

/// Reads alarm state. Implementations must be cheap: controllers poll while deployments run.
pub trait AlarmSource: Send + Sync + std::fmt::Debug {
    /// The state of `alarm_name` in (account, region), or `None` when no such alarm exists.
    fn state(&self, account_id: &str, region: &str, alarm_name: &str) -> Option<AlarmState>;
}

/// No alarms exist.
#[derive(Debug, Default, Clone, Copy)]
pub struct NoAlarms;

impl AlarmSource for NoAlarms {
    fn state(&self, _account_id: &str, _region: &str, _alarm_name: &str) -> Option<AlarmState> {
        None
    }
}
