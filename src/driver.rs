//! The live driver: runs the engine's controllers at their deadlines against the system clock.
//!
//! This is an IO edge: it is the one place that waits on real time. In virtual-clock mode there is
//! no driver; time moves only when the emulator handle advances it. At a time scale the driver
//! waits `(deadline − now) / scale` real milliseconds; while the clock is paused it waits for a
//! wake-up (resuming sends one) instead of polling.

use std::sync::Arc;
use std::time::Duration;

use crate::shared::{DataPlaneEffects, Shared};

/// Longest real wait between checks, so a missed wake-up costs at most this much.
const MAX_IDLE_WAIT_MS: u64 = 1_000;

/// Real milliseconds to wait for a deadline `control_ms` of control-plane time away.
fn real_wait_ms(control_ms: Option<u64>, scale: f64) -> u64 {
    control_ms.map_or(MAX_IDLE_WAIT_MS, |ms| {
        ecsim_core::clock::real_ms(ms, scale, 0).min(MAX_IDLE_WAIT_MS)
    })
}

pub async fn run(shared: Arc<Shared>, mut shutdown: tokio::sync::watch::Receiver<bool>) {
    loop {
        let now = shared.clock.now_ms();
        let (until_next, commands, effects) = {
            let mut engine = shared.engine.lock();
            shared.store_pending_metrics(&mut engine);
            engine.advance_to(now);
            (
                engine.next_deadline().map(|d| d.saturating_sub(now)),
                engine.take_runtime_commands(),
                DataPlaneEffects::take(&mut engine),
            )
        };
        shared.apply_data_plane(effects);
        shared.send_runtime_commands(commands).await;
        if shared.clock.is_paused() {
            // Time stands still: nothing falls due until a wake-up (resume, an API call).
            tokio::select! {
                () = shared.wake.notified() => {}
                _ = shutdown.changed() => return,
            }
            continue;
        }
        let wait_ms = real_wait_ms(until_next, shared.clock.time_scale());
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

/// Feeds what the external runtime reports into the engine, at the time it arrives.
pub async fn run_runtime_events(
    shared: Arc<Shared>,
    mut events: tokio::sync::mpsc::Receiver<ecsim_control::task_runtime::RuntimeEvent>,
) {
    while let Some(event) = events.recv().await {
        let (commands, effects) = {
            let mut engine = shared.engine.lock();
            engine.observe(shared.clock.now_ms(), event);
            (
                engine.take_runtime_commands(),
                DataPlaneEffects::take(&mut engine),
            )
        };
        shared.apply_data_plane(effects);
        shared.send_runtime_commands(commands).await;
        shared.wake.notify_one();
    }
}

/// Feeds health-check results from the data plane into the engine, at the time they arrive.
pub async fn run_probe_results(
    shared: Arc<Shared>,
    mut results: tokio::sync::mpsc::Receiver<ecsim_elb::ProbeResult>,
) {
    while let Some(result) = results.recv().await {
        let (commands, effects) = {
            let mut engine = shared.engine.lock();
            engine.observe_probe(shared.clock.now_ms(), result);
            (
                engine.take_runtime_commands(),
                DataPlaneEffects::take(&mut engine),
            )
        };
        shared.apply_data_plane(effects);
        shared.send_runtime_commands(commands).await;
        shared.wake.notify_one();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn waits_shrink_with_the_time_scale_and_stay_bounded() {
        assert_eq!(real_wait_ms(None, 60.0), MAX_IDLE_WAIT_MS);
        assert_eq!(real_wait_ms(Some(600), 1.0), 600);
        assert_eq!(real_wait_ms(Some(30_000), 60.0), 500);
        assert_eq!(real_wait_ms(Some(30_000), 1.0), MAX_IDLE_WAIT_MS);
        assert_eq!(real_wait_ms(Some(0), 60.0), 0);
        assert_eq!(real_wait_ms(Some(1), 1_000.0), 1);
    }
}
