//! Time for the control plane. Controllers take `now` as a value; only drivers hold a [`Clock`].
//!
//! Time is milliseconds since the Unix epoch ([`Millis`]), so one number serves both deadline
//! arithmetic and the epoch-second timestamps AWS APIs return. The virtual clock starts at a fixed
//! epoch so that simulated runs print identical timestamps for identical seeds.
//!
//! Live mode runs on a [`LiveClock`]: real time, optionally sped up by a time scale (a factor of
//! 60 makes a control-plane minute pass in one real second) and pausable.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use parking_lot::Mutex;

/// Milliseconds since the Unix epoch.
pub type Millis = u64;

/// Where the control plane reads time from.
pub trait Clock: Send + Sync + std::fmt::Debug + 'static {
    /// Milliseconds since the Unix epoch.
    fn now_ms(&self) -> Millis;

    /// Whether time moves only when a driver advances it.
    fn is_virtual(&self) -> bool;

    /// How many control-plane milliseconds pass per real millisecond (live clocks). The IO edges
    /// divide control-plane durations by it to get real durations; 1 unless sped up.
    fn time_scale(&self) -> f64 {
        1.0
    }

    /// Whether time stands still until resumed (a paused live clock).
    fn is_paused(&self) -> bool {
        false
    }
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

/// Real time as a [`LiveClock`] reads it: the wall clock once, at the start, and a monotonic
/// reading from then on (so adjusting the OS clock never moves control-plane time backwards).
/// Tests inject their own source.
pub trait RealTime: Send + Sync + std::fmt::Debug + 'static {
    /// Milliseconds since the Unix epoch.
    fn wall_ms(&self) -> Millis;
    /// A monotonic reading since an arbitrary fixed origin.
    fn monotonic(&self) -> Duration;
}

/// The operating system's clocks.
#[derive(Debug)]
pub struct OsTime {
    origin: std::time::Instant,
}

impl Default for OsTime {
    fn default() -> Self {
        // Sanctioned: the live clock's monotonic origin.
        #[allow(clippy::disallowed_methods)]
        let origin = std::time::Instant::now();
        Self { origin }
    }
}

impl RealTime for OsTime {
    fn wall_ms(&self) -> Millis {
        SystemClock.now_ms()
    }

    fn monotonic(&self) -> Duration {
        // Sanctioned: live mode measures elapsed real time.
        #[allow(clippy::disallowed_methods)]
        let now = std::time::Instant::now();
        now.saturating_duration_since(self.origin)
    }
}

/// Why a time scale was refused.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct InvalidTimeScale(pub f64);

impl std::fmt::Display for InvalidTimeScale {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "the time scale must be a finite number greater than 0, got {}",
            self.0
        )
    }
}

impl std::error::Error for InvalidTimeScale {}

/// Checks a time scale: finite and greater than zero.
pub fn check_time_scale(scale: f64) -> Result<f64, InvalidTimeScale> {
    if scale.is_finite() && scale > 0.0 {
        Ok(scale)
    } else {
        Err(InvalidTimeScale(scale))
    }
}

#[derive(Debug, Clone, Copy)]
struct LiveState {
    /// Control-plane time at `anchor_real` (fractional, so re-anchoring loses nothing).
    anchor_ms: f64,
    anchor_real: Duration,
    scale: f64,
    paused: bool,
}

impl LiveState {
    fn at(&self, real: Duration) -> f64 {
        if self.paused {
            return self.anchor_ms;
        }
        let elapsed_ms = real.saturating_sub(self.anchor_real).as_secs_f64() * 1000.0;
        self.anchor_ms + elapsed_ms * self.scale
    }
}

/// Real time for live mode, sped up by a time scale and pausable. Control-plane time is
/// `start + real elapsed × scale`; changing the scale or pausing re-anchors at the current
/// instant, so time never jumps and never goes backwards. Cloning shares the same time.
#[derive(Debug, Clone)]
pub struct LiveClock {
    real: Arc<dyn RealTime>,
    state: Arc<Mutex<LiveState>>,
    /// The largest time handed out: readers never see time go backwards.
    last_ms: Arc<AtomicU64>,
}

impl LiveClock {
    /// The OS clocks at `scale` (1 = real time).
    pub fn new(scale: f64) -> Result<Self, InvalidTimeScale> {
        Self::with_real_time(Arc::new(OsTime::default()), scale)
    }

    /// Starts at the source's wall time, at `scale`.
    pub fn with_real_time(real: Arc<dyn RealTime>, scale: f64) -> Result<Self, InvalidTimeScale> {
        let scale = check_time_scale(scale)?;
        let start_ms = real.wall_ms();
        let anchor_real = real.monotonic();
        #[allow(clippy::cast_precision_loss)] // epoch milliseconds fit f64's mantissa
        let anchor_ms = start_ms as f64;
        Ok(Self {
            real,
            state: Arc::new(Mutex::new(LiveState {
                anchor_ms,
                anchor_real,
                scale,
                paused: false,
            })),
            last_ms: Arc::new(AtomicU64::new(start_ms)),
        })
    }

    /// Re-anchors at the current instant, then lets `change` edit the state.
    fn reanchor(&self, change: impl FnOnce(&mut LiveState)) {
        let mut state = self.state.lock();
        let real = self.real.monotonic();
        state.anchor_ms = state.at(real);
        state.anchor_real = real;
        change(&mut state);
    }

    /// Changes the speed from now on; time already passed is kept.
    pub fn set_scale(&self, scale: f64) -> Result<(), InvalidTimeScale> {
        let scale = check_time_scale(scale)?;
        self.reanchor(|s| s.scale = scale);
        Ok(())
    }

    /// Stops time at the current instant. Returns false when it was already paused.
    pub fn pause(&self) -> bool {
        let mut was_paused = true;
        self.reanchor(|s| {
            was_paused = s.paused;
            s.paused = true;
        });
        !was_paused
    }

    /// Lets time run again from the instant it was paused at (no jump). Returns false when it was
    /// not paused.
    pub fn resume(&self) -> bool {
        let mut was_paused = false;
        self.reanchor(|s| {
            was_paused = s.paused;
            s.paused = false;
        });
        was_paused
    }

    /// Control-plane milliseconds that pass in `real`, at the current scale (saturating).
    pub fn scaled(&self, real: Duration) -> Duration {
        real.mul_f64(self.time_scale())
    }
}

impl Clock for LiveClock {
    fn now_ms(&self) -> Millis {
        let at = self.state.lock().at(self.real.monotonic());
        // Saturating float-to-int conversion; fractions of a millisecond are dropped.
        #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
        let at = at.floor() as Millis;
        let previous = self.last_ms.fetch_max(at, Ordering::SeqCst);
        previous.max(at)
    }

    fn is_virtual(&self) -> bool {
        false
    }

    fn time_scale(&self) -> f64 {
        self.state.lock().scale
    }

    fn is_paused(&self) -> bool {
        self.state.lock().paused
    }
}

/// Real time that passes for `control_ms` of control-plane time at `scale`, at least `floor_ms`
/// (or `control_ms` itself when that is smaller), rounded up to the millisecond.
pub fn real_ms(control_ms: Millis, scale: f64, floor_ms: Millis) -> Millis {
    if scale == 1.0 || !scale.is_finite() || scale <= 0.0 {
        return control_ms;
    }
    #[allow(clippy::cast_precision_loss)]
    let real = (control_ms as f64 / scale).ceil();
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
    let real = real as Millis;
    real.max(floor_ms.min(control_ms))
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
/// Milliseconds for an epoch-seconds timestamp as the wire protocols carry it, rounded; a
/// negative or non-finite one is 0 (the epoch) rather than a wrapped value.
pub fn epoch_ms(epoch_seconds: f64) -> Millis {
    if epoch_seconds.is_finite() && epoch_seconds > 0.0 {
        // Positive and finite; anything past u64 saturates.
        #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
        let ms = (epoch_seconds * 1000.0).round() as Millis;
        ms
    } else {
        0
    }
}

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

    /// Real time a test moves by hand.
    #[derive(Debug, Default)]
    struct ManualTime {
        wall_ms: Millis,
        micros: AtomicU64,
    }

    impl ManualTime {
        fn at(wall_ms: Millis) -> Arc<Self> {
            Arc::new(Self {
                wall_ms,
                micros: AtomicU64::new(0),
            })
        }
        fn pass(&self, ms: u64) {
            self.micros.fetch_add(ms * 1000, Ordering::SeqCst);
        }
    }

    impl RealTime for ManualTime {
        fn wall_ms(&self) -> Millis {
            self.wall_ms
        }
        fn monotonic(&self) -> Duration {
            Duration::from_micros(self.micros.load(Ordering::SeqCst))
        }
    }

    const START: Millis = 1_700_000_000_000;

    #[test]
    fn live_clock_at_scale_one_follows_real_time() {
        let real = ManualTime::at(START);
        let clock = LiveClock::with_real_time(real.clone(), 1.0).unwrap();
        assert_eq!(clock.now_ms(), START);
        real.pass(1_234);
        assert_eq!(clock.now_ms(), START + 1_234);
        assert!((clock.time_scale() - 1.0).abs() < f64::EPSILON);
        assert!(!clock.is_virtual() && !clock.is_paused());
    }

    #[test]
    fn a_time_scale_multiplies_elapsed_real_time() {
        let real = ManualTime::at(START);
        let clock = LiveClock::with_real_time(real.clone(), 60.0).unwrap();
        real.pass(1_000);
        // One real second is a control-plane minute.
        assert_eq!(clock.now_ms(), START + 60_000);
        // A 10-minute bake passes in 10 real seconds.
        real.pass(9_000);
        assert_eq!(clock.now_ms(), START + 600_000);
        assert_eq!(clock.scaled(Duration::from_millis(500)), Duration::from_secs(30));
    }

    #[test]
    fn changing_the_scale_keeps_the_time_already_passed() {
        let real = ManualTime::at(START);
        let clock = LiveClock::with_real_time(real.clone(), 10.0).unwrap();
        real.pass(100);
        assert_eq!(clock.now_ms(), START + 1_000);
        clock.set_scale(2.0).unwrap();
        assert_eq!(clock.now_ms(), START + 1_000);
        real.pass(100);
        assert_eq!(clock.now_ms(), START + 1_200);
        clock.set_scale(0.5).unwrap();
        real.pass(100);
        assert_eq!(clock.now_ms(), START + 1_250);
    }

    #[test]
    fn a_paused_clock_stands_still_and_resumes_without_a_jump() {
        let real = ManualTime::at(START);
        let clock = LiveClock::with_real_time(real.clone(), 4.0).unwrap();
        real.pass(250);
        assert!(clock.pause());
        assert!(!clock.pause(), "pausing twice changes nothing");
        assert!(clock.is_paused());
        let paused_at = clock.now_ms();
        assert_eq!(paused_at, START + 1_000);
        real.pass(10_000);
        assert_eq!(clock.now_ms(), paused_at);
        // A scale change while paused takes effect on resume, without moving time.
        clock.set_scale(2.0).unwrap();
        assert_eq!(clock.now_ms(), paused_at);
        assert!(clock.resume());
        assert!(!clock.resume());
        assert_eq!(clock.now_ms(), paused_at);
        real.pass(500);
        assert_eq!(clock.now_ms(), paused_at + 1_000);
    }

    #[test]
    fn time_never_goes_backwards_and_clones_share_it() {
        let real = ManualTime::at(START);
        let clock = LiveClock::with_real_time(real.clone(), 3.0).unwrap();
        let other = clock.clone();
        let mut last = clock.now_ms();
        for step in 0..200 {
            real.pass(1);
            if step % 7 == 0 {
                clock.set_scale(f64::from(step % 5 + 1) / 3.0).unwrap();
            }
            if step % 11 == 0 {
                clock.pause();
            }
            if step % 13 == 0 {
                other.resume();
            }
            let now = other.now_ms();
            assert!(now >= last, "time went back from {last} to {now}");
            last = now;
        }
    }

    #[test]
    fn invalid_time_scales_are_refused() {
        for bad in [0.0, -1.0, f64::NAN, f64::INFINITY] {
            assert!(LiveClock::with_real_time(ManualTime::at(START), bad).is_err());
            assert!(check_time_scale(bad).is_err());
        }
        let clock = LiveClock::with_real_time(ManualTime::at(START), 2.0).unwrap();
        assert_eq!(clock.set_scale(0.0), Err(InvalidTimeScale(0.0)));
        assert!((clock.time_scale() - 2.0).abs() < f64::EPSILON);
        assert!((VirtualClock::default().time_scale() - 1.0).abs() < f64::EPSILON);
    }

    #[test]
    fn real_durations_divide_by_the_scale_with_a_floor() {
        assert_eq!(real_ms(5_000, 1.0, 50), 5_000);
        assert_eq!(real_ms(5_000, 10.0, 50), 500);
        assert_eq!(real_ms(5_000, 1_000.0, 50), 50);
        assert_eq!(real_ms(5_000, 3.0, 50), 1_667);
        assert_eq!(real_ms(20, 100.0, 50), 20, "never longer than unscaled");
        assert_eq!(real_ms(5_000, 0.5, 50), 10_000);
    }
}
