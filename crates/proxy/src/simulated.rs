//! Answers from simulated tasks, without sockets: the task's latency (a real wait: this is the IO
//! edge), its error status for a deterministic share of requests, else 200 with a JSON body
//! naming the task, its version and the path, so callers can tell blue from green.

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use ecsim_elb::{Dial, RoutingSnapshot, SimulatedTarget};
use http::header::{CONTENT_TYPE, HeaderValue};
use http::{Response, StatusCode};
use parking_lot::Mutex;

use crate::BoxBody;

/// Requests answered so far, per simulated task: a tiny lock, held for one increment.
#[derive(Debug, Default)]
pub(crate) struct Counters {
    served: Mutex<HashMap<String, u64>>,
}

impl Counters {
    fn next(&self, task_arn: &str) -> u64 {
        let mut served = self.served.lock();
        if let Some(count) = served.get_mut(task_arn) {
            let n = *count;
            *count += 1;
            return n;
        }
        served.insert(task_arn.to_owned(), 1);
        0
    }

    /// Forgets the tasks that no snapshot target names any more.
    pub(crate) fn retain(&self, snapshot: &RoutingSnapshot) {
        let live: HashSet<&str> = snapshot
            .target_groups
            .iter()
            .flat_map(|g| &g.targets)
            .filter_map(|t| match &t.dial {
                Dial::Simulated(sim) => Some(sim.task_arn.as_str()),
                _ => None,
            })
            .collect();
        self.served.lock().retain(|arn, _| live.contains(arn.as_str()));
    }
}

/// Whether request `n` (from 0) is an error at `rate`: exactly `floor(n × rate)` of the first
/// `n` requests are, spread evenly.
pub(crate) fn is_error(n: u64, rate: f64) -> bool {
    let rate = if rate.is_finite() {
        rate.clamp(0.0, 1.0)
    } else {
        0.0
    };
    // Request counts stay far below 2^52, where f64 counts exactly.
    #[allow(clippy::cast_precision_loss)]
    let (before, after) = (n as f64 * rate, (n + 1) as f64 * rate);
    after.floor() > before.floor()
}

/// What a simulated task answered.
pub(crate) enum Simulated {
    /// The response, its status and the latency it took, in ms.
    Answered(Response<BoxBody>, u16, f64),
    /// Slower than the load balancer's idle timeout: the load balancer answers 504.
    TimedOut,
}

/// The simulated task's answer to a request for `path`, after its latency.
pub(crate) async fn answer(
    counters: &Counters,
    target: &SimulatedTarget,
    path: &str,
    idle_timeout_ms: u64,
) -> Simulated {
    let n = counters.next(&target.task_arn);
    let timed_out = target.latency_ms > idle_timeout_ms;
    let wait_ms = target.latency_ms.min(idle_timeout_ms);
    if wait_ms > 0 {
        // The IO edge: a simulated task's latency is real time for a real client.
        #[allow(clippy::disallowed_methods)]
        let latency = tokio::time::sleep(Duration::from_millis(wait_ms));
        latency.await;
    }
    if timed_out {
        return Simulated::TimedOut;
    }
    let status = if is_error(n, target.error_rate) {
        target.error_status
    } else {
        200
    };
    let body = format!(
        "{{\"task\":{},\"version\":{},\"path\":{}}}",
        json_string(&target.task_arn),
        json_string(&target.version),
        json_string(path)
    );
    let mut response = Response::new(crate::errors::full(body));
    *response.status_mut() = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    response
        .headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    // Latencies are far below 2^52 ms.
    #[allow(clippy::cast_precision_loss)]
    let latency_ms = wait_ms as f64;
    Simulated::Answered(response, status, latency_ms)
}

/// `s` as a JSON string literal.
fn json_string(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if u32::from(c) < 0x20 => out.push_str(&format!("\\u{:04x}", u32::from(c))),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_share_is_exact_and_spread() {
        let errors = (0..1000).filter(|&n| is_error(n, 0.25)).count();
        assert_eq!(errors, 250);
        let first: Vec<bool> = (0..4).map(|n| is_error(n, 0.25)).collect();
        assert_eq!(first, [false, false, false, true]);
        assert!((0..100).all(|n| !is_error(n, 0.0)));
        assert!((0..100).all(|n| is_error(n, 1.0)));
        assert!(!is_error(3, f64::NAN));
    }

    #[test]
    fn json_strings_are_escaped() {
        assert_eq!(json_string("a\"b\\c\n\u{1}"), "\"a\\\"b\\\\c\\n\\u0001\"");
    }

    #[tokio::test]
    async fn answers_with_the_task_and_version() {
        let counters = Counters::default();
        let target = SimulatedTarget {
            task_arn: "arn:task/1".into(),
            error_rate: 0.5,
            error_status: 500,
            latency_ms: 0,
            version: "blue".into(),
        };
        let Simulated::Answered(_, first, _) = answer(&counters, &target, "/x", 1000).await else {
            panic!("timed out");
        };
        let Simulated::Answered(_, second, _) = answer(&counters, &target, "/x", 1000).await else {
            panic!("timed out");
        };
        assert_eq!((first, second), (200, 500));
        let slow = SimulatedTarget {
            latency_ms: 5,
            ..target
        };
        assert!(matches!(
            answer(&counters, &slow, "/", 1).await,
            Simulated::TimedOut
        ));
    }
}
