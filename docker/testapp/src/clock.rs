//! The application's only contact with real time: sleeping and reading the wall clock.
//!
//! The workspace forbids these calls so the emulator's control plane stays deterministic. This
//! binary is a real process at the IO edge (it must really wait and really date its requests), so
//! each call is allowed on exactly one small function here.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Blocks the calling thread for `duration`.
// IO edge: start delays, latency, exit and health timers are real waits in a real process.
#[allow(clippy::disallowed_methods)]
pub fn sleep(duration: Duration) {
    std::thread::sleep(duration);
}

/// Time since the Unix epoch by the system clock (zero if the clock is before 1970).
// IO edge: marker-file lines and SigV4 request dates must carry real wall-clock time.
#[allow(clippy::disallowed_methods)]
pub fn since_epoch() -> Duration {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default()
}
