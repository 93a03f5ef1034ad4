//! The live driver: runs the engine's controllers at their deadlines against the system clock.
//!
//! This is an IO edge: it is the one place that waits on real time. In virtual-clock mode there is
//! no driver; time moves only when the emulator handle advances it.

use std::sync::Arc;
use std::time::Duration;

use crate::shared::Shared;

/// Longest wait between checks, so a missed wake-up costs at most this much.
const MAX_IDLE_WAIT_MS: u64 = 1_000;

pub async fn run(shared: Arc<Shared>, mut shutdown: tokio::sync::watch::Receiver<bool>) {
    loop {
        let now = shared.clock.now_ms();
        let wait_ms = {
            let mut engine = shared.engine.lock();
            engine.advance_to(now);
            engine
                .next_deadline()
                .map_or(MAX_IDLE_WAIT_MS, |d| d.saturating_sub(now).min(MAX_IDLE_WAIT_MS))
        };
        // The live driver is the IO edge that waits on the system clock.
        #[allow(clippy::disallowed_methods)]
        let sleep = tokio::time::sleep(Duration::from_millis(wait_ms.max(1)));
        tokio::select! {
            () = sleep => {}
            () = shared.wake.notified() => {}
            _ = shutdown.changed() => return,
        }
    }
}
