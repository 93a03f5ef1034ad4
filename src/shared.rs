//! State shared by the gateway, the live driver and the emulator handle: the engine behind a
//! mutex (never held across an await), the clock, and the wake-up signal for the driver.

use std::sync::Arc;

use ecsim_control::Engine;
use ecsim_core::{Clock, VirtualClock};
use ecsim_protocol::route::Catalog;
use parking_lot::Mutex;
use tokio::sync::Notify;

pub struct Shared {
    pub engine: Mutex<Engine>,
    pub clock: Arc<dyn Clock>,
    /// Present in virtual-clock mode: the handle tests advance.
    pub virtual_clock: Option<VirtualClock>,
    pub catalog: Catalog,
    /// Signals the live driver that the next deadline may have moved.
    pub wake: Notify,
    pub seed: u64,
}

impl Shared {
    pub fn new(
        engine: Engine,
        clock: Arc<dyn Clock>,
        virtual_clock: Option<VirtualClock>,
        seed: u64,
    ) -> Arc<Self> {
        Arc::new(Self {
            engine: Mutex::new(engine),
            clock,
            virtual_clock,
            catalog: Catalog::new(ecsim_api::SERVICES),
            wake: Notify::new(),
            seed,
        })
    }

    /// Moves virtual time forward by `delta_ms`, running every controller deadline on the way in
    /// order. Does nothing on the system clock.
    pub fn advance_virtual(&self, delta_ms: u64) {
        if let Some(clock) = &self.virtual_clock {
            clock.advance_by(delta_ms);
            self.engine.lock().advance_to(clock.now_ms());
        }
    }
}
