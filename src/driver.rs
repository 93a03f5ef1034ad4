//! The live driver: runs the engine's controllers at their deadlines against the system clock.
//!
//! This is an IO edge: it is the one place that waits on real time. In virtual-clock mode there is
//! no driver; time moves only when the emulator handle advances it.

use std::sync::Arc;
use std::time::Duration;

use crate::shared::{DataPlaneEffects, Shared};

/// Longest wait between checks, so a missed wake-up costs at most this much.
const MAX_IDLE_WAIT_MS: u64 = 1_000;

pub async fn run(shared: Arc<Shared>, mut shutdown: tokio::sync::watch::Receiver<bool>) {
    loop {
        let now = shared.clock.now_ms();
        let (wait_ms, commands, effects) = {
            let mut engine = shared.engine.lock();
            engine.advance_to(now);
            let wait_ms = engine
                .next_deadline()
                .map_or(MAX_IDLE_WAIT_MS, |d| d.saturating_sub(now).min(MAX_IDLE_WAIT_MS));
            (
                wait_ms,
                engine.take_runtime_commands(),
                DataPlaneEffects::take(&mut engine),
            )
        };
        shared.apply_data_plane(effects);
        shared.send_runtime_commands(commands).await;
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
