//! Per-minute `AWS/ApplicationELB` metrics of the requests the data plane answers: each outcome
//! is counted (behind a mutex held for one count, without allocating) into an
//! [`ecsim_elb::MinuteAggregator`] at the clock's time, and a background task hands every ended minute to the [`ecsim_core::MetricsSink`]
//! about once a second; shutdown flushes the rest.

use std::sync::{Arc, Weak};
use std::time::Duration;

use ecsim_core::Millis;
use ecsim_elb::{MinuteAggregator, RequestOutcome};
use parking_lot::Mutex;

use crate::Inner;

/// How often ended minutes are looked for, in control-plane time. A minute's data has to reach
/// CloudWatch before its alarms evaluate the minute (5 s after it ends), also when the clock runs
/// sped up: at 60x a fixed 250 ms of real time would be 15 s, and alarms would miss the minute.
const FLUSH_EVERY_CONTROL_PLANE: Duration = Duration::from_secs(1);
/// Bounds of the real flush period: never busier than this on a very fast clock...
const FLUSH_EVERY_MIN: Duration = Duration::from_millis(10);
/// ...and never lazier than this on a real-time one.
const FLUSH_EVERY_MAX: Duration = Duration::from_millis(250);
/// How often idle upstream connections are swept, in real time.
const SWEEP_EVERY: Duration = Duration::from_millis(250);

/// The real time between two flushes at `time_scale` control-plane ms per real ms.
fn flush_period(time_scale: f64) -> Duration {
    if !(time_scale.is_finite() && time_scale > 0.0) {
        return FLUSH_EVERY_MAX;
    }
    FLUSH_EVERY_CONTROL_PLANE
        .div_f64(time_scale)
        .clamp(FLUSH_EVERY_MIN, FLUSH_EVERY_MAX)
}

/// One answered request, before its load balancer is known to the metrics.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Outcome<'a> {
    status: u16,
    target_group: Option<&'a str>,
    availability_zone: Option<&'a str>,
    from_target: bool,
    target_response_time_ms: Option<f64>,
    elb_error: bool,
}

impl<'a> Outcome<'a> {
    /// The load balancer answered as configured (fixed response, redirect).
    pub(crate) fn own(status: u16, target_group: Option<&'a str>) -> Self {
        Self {
            status,
            target_group,
            availability_zone: None,
            from_target: false,
            target_response_time_ms: None,
            elb_error: false,
        }
    }

    /// The load balancer answered with an error of its own (502, 503, 504).
    pub(crate) fn elb_error(
        status: u16,
        target_group: Option<&'a str>,
        availability_zone: Option<&'a str>,
    ) -> Self {
        Self {
            status,
            target_group,
            availability_zone,
            from_target: false,
            target_response_time_ms: None,
            elb_error: true,
        }
    }

    /// A target answered, its head arriving after `response_time_ms`.
    pub(crate) fn target(
        status: u16,
        target_group: Option<&'a str>,
        availability_zone: Option<&'a str>,
        response_time_ms: f64,
    ) -> Self {
        Self {
            status,
            target_group,
            availability_zone,
            from_target: true,
            target_response_time_ms: Some(response_time_ms),
            elb_error: false,
        }
    }
}

/// The aggregator of every load balancer's request outcomes.
#[derive(Debug, Default)]
pub(crate) struct Recorder {
    aggregator: Mutex<MinuteAggregator>,
    /// Start of the last minute whose HealthyHostCount/UnHealthyHostCount went out.
    host_counts_minute: Mutex<Option<Millis>>,
}

impl Recorder {
    pub(crate) fn record(&self, at_ms: Millis, load_balancer: &str, outcome: &Outcome<'_>) {
        let outcome = RequestOutcome {
            load_balancer,
            target_group: outcome.target_group,
            availability_zone: outcome.availability_zone,
            status: outcome.status,
            from_target: outcome.from_target,
            target_response_time_ms: outcome.target_response_time_ms,
            elb_error: outcome.elb_error,
        };
        self.aggregator.lock().record(at_ms, &outcome);
    }

    /// Hands every ended minute to the sink, and once per minute the host counts of every
    /// target group as the current snapshot sees them (gauges, stamped with the minute that just
    /// ended; when virtual time jumps several minutes at once, only the last one is reported).
    fn flush_ended(&self, inner: &Inner) {
        let snapshot = inner.snapshot.load_full();
        let now_ms = inner.config.clock.now_ms();
        let mut data = self
            .aggregator
            .lock()
            .flush_before(now_ms, &|group| snapshot.healthy_targets(group));
        let ended_minute =
            ecsim_elb::metrics::minute_start(now_ms).checked_sub(ecsim_elb::metrics::MINUTE_MS);
        if let Some(minute) = ended_minute {
            let mut last = self.host_counts_minute.lock();
            if last.is_none_or(|m| m < minute) {
                *last = Some(minute);
                data.extend(ecsim_elb::host_count_metrics(&snapshot, minute));
            }
        }
        if !data.is_empty() {
            inner.config.metrics.put(data);
        }
    }

    /// Hands every minute, ended or not, to the sink.
    pub(crate) fn flush_all(&self, inner: &Inner) {
        let snapshot = inner.snapshot.load_full();
        let data = self
            .aggregator
            .lock()
            .flush_all(&|group| snapshot.healthy_targets(group));
        if !data.is_empty() {
            inner.config.metrics.put(data);
        }
    }
}

/// Flushes ended minutes (every control-plane second, within real-time bounds) and sweeps idle
/// connections until shutdown (or until the data plane is gone). The period follows the clock's
/// current scale, which can change while ecsim runs.
pub(crate) fn spawn_flusher(inner: &Arc<Inner>) {
    let weak: Weak<Inner> = Arc::downgrade(inner);
    let mut stopping = inner.stopping.subscribe();
    inner.runtime.spawn(async move {
        let mut since_sweep = Duration::ZERO;
        loop {
            let period = match weak.upgrade() {
                Some(inner) => flush_period(inner.config.clock.time_scale()),
                None => return,
            };
            // The data plane's own cadence in real time (an IO edge, not the control plane).
            #[allow(clippy::disallowed_methods)]
            let tick = tokio::time::sleep(period);
            tokio::select! {
                () = tick => {}
                _ = stopping.wait_for(|stopping| *stopping) => return,
            }
            let Some(inner) = weak.upgrade() else {
                return;
            };
            inner.metrics.flush_ended(&inner);
            since_sweep += period;
            if since_sweep >= SWEEP_EVERY {
                since_sweep = Duration::ZERO;
                inner.pool.sweep();
            }
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flushes_every_control_plane_second_within_real_time_bounds() {
        assert_eq!(flush_period(1.0), FLUSH_EVERY_MAX);
        assert_eq!(flush_period(4.0), Duration::from_millis(250));
        // At 60x a control-plane second is 16.7 ms: well inside the alarms' 5 s evaluation delay.
        assert_eq!(flush_period(60.0), Duration::from_secs(1).div_f64(60.0));
        assert_eq!(flush_period(10_000.0), FLUSH_EVERY_MIN);
        assert_eq!(flush_period(0.0), FLUSH_EVERY_MAX);
        assert_eq!(flush_period(f64::NAN), FLUSH_EVERY_MAX);
    }
}
