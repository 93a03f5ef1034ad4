//! Time for the control plane. Controllers take `now` as a value; only drivers hold a [`Clock`].
//!
//! Time is milliseconds since the Unix epoch ([`Millis`]), so one number serves both deadline
//! arithmetic and the epoch-second timestamps AWS APIs return. The virtual clock starts at a fixed
//! epoch so that simulated runs print identical timestamps for identical seeds.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

/// Milliseconds since the Unix epoch.
pub type Millis = u64;

/// Where the control plane reads time from.
pub trait Clock: Send + Sync + std::fmt::Debug + 'static {
    /// Milliseconds since the Unix epoch.
    fn now_ms(&self) -> Millis;

    /// Whether time moves only when a driver advances it.
    fn is_virtual(&self) -> bool;
}

/// The operating system's wall clock, for live mode.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now_ms(&self) -> Millis {
        // The one sanctioned wall-clock read: live mode runs the core against real time.
        #[allow(clippy::disallowed_methods)]
        let now = std::time::SystemTime::now();
        now.duration_since(std::time::UNIX_EPOCH)
            .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
            .unwrap_or(0)
    }

    fn is_virtual(&self) -> bool {
        false
    }
}

/// 2026-01-01T00:00:00Z: where virtual time starts unless told otherwise.
pub const VIRTUAL_EPOCH_MS: Millis = 1_767_225_600_000;

/// A clock that moves only when told to. Cloning shares the same time.
#[derive(Debug, Clone)]
pub struct VirtualClock {
    now_ms: Arc<AtomicU64>,
}

impl Default for VirtualClock {
    fn default() -> Self {
        Self::starting_at(VIRTUAL_EPOCH_MS)
    }
}

impl VirtualClock {
    pub fn starting_at(start_ms: Millis) -> Self {
        Self {
            now_ms: Arc::new(AtomicU64::new(start_ms)),
        }
    }

    /// Moves time forward to `at_ms`; never backwards.
    pub fn advance_to(&self, at_ms: Millis) {
        self.now_ms.fetch_max(at_ms, Ordering::SeqCst);
    }

    pub fn advance_by(&self, delta_ms: Millis) {
        self.now_ms.fetch_add(delta_ms, Ordering::SeqCst);
    }
}

impl Clock for VirtualClock {
    fn now_ms(&self) -> Millis {
        self.now_ms.load(Ordering::SeqCst)
    }

    fn is_virtual(&self) -> bool {
        true
    }
}

/// Epoch seconds as AWS JSON timestamps carry them (millisecond precision).
pub fn epoch_seconds(at_ms: Millis) -> f64 {
    // Millisecond timestamps fit f64's 53-bit mantissa for the next 285,000 years.
    #[allow(clippy::cast_precision_loss)]
    let seconds = at_ms as f64 / 1000.0;
    seconds
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn virtual_clock_only_moves_forward() {
        let clock = VirtualClock::default();
        let shared = clock.clone();
        clock.advance_by(1_500);
        assert_eq!(shared.now_ms(), VIRTUAL_EPOCH_MS + 1_500);
        clock.advance_to(VIRTUAL_EPOCH_MS);
        assert_eq!(shared.now_ms(), VIRTUAL_EPOCH_MS + 1_500);
        assert!((epoch_seconds(1_500) - 1.5).abs() < f64::EPSILON);
    }
}
