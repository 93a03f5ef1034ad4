//! The clock part of the emulator API (`/_ecsim/clock…`, JSON): read the time; on the virtual
//! clock advance it (by a duration, to an instant, to the next controller deadline) or run it
//! until a condition holds; on the live (system) clock pause, resume, set its speed, or wait in
//! real time until a condition holds. Documented in docs/emulator-api.md.
//!
//! Bodies are validated as a whole before anything happens: an unknown field, a wrong type or an
//! out-of-range value is a 400 and changes nothing. Asking the wrong clock for something (advance
//! a live clock, pause a virtual one) is a 409. Errors are `{"error": code, "message": text}`.

use std::time::Duration;

use bytes::Bytes;
use ecsim_core::{Clock, Millis, VirtualClock};
use hyper::{Method, Response, StatusCode};
use serde_json::{Map, Value, json};

use crate::gateway::{Body, json_response};

// The run-until conditions live in their own file.
#[path = "admin_clock_conditions.rs"]
pub(crate) mod conditions;
use crate::shared::{DataPlaneEffects, Shared};
use conditions::{Check, Condition, check, parse_condition};

/// The longest stretch of time one call may advance or wait for: 30 days.
pub const MAX_SPAN_MS: Millis = 30 * 24 * 3_600_000;
/// `run-until` on the virtual clock: the default largest jump between two checks when no
/// controller deadline comes sooner.
const DEFAULT_STEP_MS: Millis = 1_000;
/// `run-until` on the virtual clock: the most checks one call may make (`timeoutSeconds` divided
/// by `stepSeconds`), so a tiny step cannot turn one request into billions of iterations.
const MAX_STEPS: Millis = 3_000_000;
/// `run-until` on the live clock: how often (real time) the condition is checked.
const LIVE_POLL_MS: u64 = 50;
/// `run-until` on the live clock: the longest real time one call waits, whatever the timeout.
const MAX_LIVE_WAIT: Duration = Duration::from_secs(15 * 60);

/// Every path this module answers, for the 404 listing.
pub const ENDPOINTS: [&str; 6] = [
    "GET /_ecsim/clock",
    "POST /_ecsim/clock/advance",
    "POST /_ecsim/clock/run-until",
    "POST /_ecsim/clock/pause",
    "POST /_ecsim/clock/resume",
    "PUT /_ecsim/clock/scale",
];

/// Whether `path` belongs to this module.
pub fn owns(path: &str) -> bool {
    path == "/_ecsim/clock" || path.starts_with("/_ecsim/clock/")
}

pub async fn handle(shared: &Shared, parts: &hyper::http::request::Parts, body: &Bytes) -> Response<Body> {
    let path = parts.uri.path();
    let allowed = match path {
        "/_ecsim/clock" => Method::GET,
        "/_ecsim/clock/advance"
        | "/_ecsim/clock/run-until"
        | "/_ecsim/clock/pause"
        | "/_ecsim/clock/resume" => Method::POST,
        "/_ecsim/clock/scale" => Method::PUT,
        _ => {
            return error(
                StatusCode::NOT_FOUND,
                "NotFound",
                format!("no clock endpoint at {path}; endpoints: {}", ENDPOINTS.join(", ")),
            );
        }
    };
    if parts.method != allowed {
        return error(
            StatusCode::METHOD_NOT_ALLOWED,
            "MethodNotAllowed",
            format!("{} is not allowed on {path}; use {allowed}", parts.method),
        );
    }
    let outcome = match path {
        "/_ecsim/clock" => Ok(json_response(StatusCode::OK, &view(shared))),
        "/_ecsim/clock/advance" => advance(shared, body).await,
        "/_ecsim/clock/run-until" => run_until(shared, body).await,
        "/_ecsim/clock/pause" => pause_or_resume(shared, body, true),
        "/_ecsim/clock/resume" => pause_or_resume(shared, body, false),
        _ => set_scale(shared, body),
    };
    outcome.unwrap_or_else(ApiError::into_response)
}

/// A refused request: status, machine-readable code, and a sentence for people.
#[derive(Debug)]
pub(crate) struct ApiError {
    status: StatusCode,
    code: &'static str,
    pub(crate) message: String,
}

impl ApiError {
    fn invalid(message: impl Into<String>) -> Self {
        Self {
            status: StatusCode::BAD_REQUEST,
            code: "ValidationError",
            message: message.into(),
        }
    }

    fn conflict(code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status: StatusCode::CONFLICT,
            code,
            message: message.into(),
        }
    }

    fn into_response(self) -> Response<Body> {
        error(self.status, self.code, self.message)
    }
}

fn error(status: StatusCode, code: &str, message: String) -> Response<Body> {
    json_response(status, &json!({ "error": code, "message": message }))
}

const VIRTUAL_ONLY: &str = "the system clock follows real time and cannot be advanced; start ecsim with \
                            --clock virtual to move time by hand, or use --time-scale to speed it up";
const LIVE_ONLY: &str = "virtual time only moves when advanced (POST /_ecsim/clock/advance)";

fn mode(shared: &Shared) -> &'static str {
    if shared.clock.is_virtual() {
        "virtual"
    } else {
        "system"
    }
}

/// `GET /_ecsim/clock`.
fn view(shared: &Shared) -> Value {
    let next = shared.engine.lock().next_deadline();
    let now = shared.clock.now_ms();
    json!({
        "mode": mode(shared),
        "nowMs": now,
        "now": rfc3339(now),
        "timeScale": shared.clock.time_scale(),
        "paused": shared.clock.is_paused(),
        "nextEventMs": next,
    })
}

fn rfc3339(at_ms: Millis) -> String {
    ecsim_protocol::time::format_iso8601(ecsim_core::clock::epoch_seconds(at_ms))
}

fn with(mut view: Value, extra: &[(&str, Value)]) -> Value {
    if let Some(map) = view.as_object_mut() {
        for (k, v) in extra {
            map.insert((*k).to_string(), v.clone());
        }
    }
    view
}

// ---------------------------------------------------------------------------------------------
// Body parsing

/// The body as a JSON object; an empty body is an empty object.
fn object(body: &Bytes) -> Result<Map<String, Value>, ApiError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(Map::new());
    }
    match serde_json::from_slice(body) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(_) => Err(ApiError::invalid("the body must be a JSON object")),
        Err(e) => Err(ApiError::invalid(format!("the body is not JSON: {e}"))),
    }
}

/// Refuses fields outside `known` (`what` names the object in the message).
fn only(map: &Map<String, Value>, known: &[&str], what: &str) -> Result<(), ApiError> {
    match map.keys().find(|k| !known.contains(&k.as_str())) {
        Some(unknown) => Err(ApiError::invalid(format!(
            "unknown field '{unknown}' in {what}; known fields: {}",
            known.join(", ")
        ))),
        None => Ok(()),
    }
}

fn string<'m>(map: &'m Map<String, Value>, key: &str, what: &str) -> Result<Option<&'m str>, ApiError> {
    match map.get(key) {
        None => Ok(None),
        Some(Value::String(s)) if !s.is_empty() => Ok(Some(s)),
        Some(_) => Err(ApiError::invalid(format!(
            "{what}.{key} must be a non-empty string"
        ))),
    }
}

fn required_string<'m>(map: &'m Map<String, Value>, key: &str, what: &str) -> Result<&'m str, ApiError> {
    string(map, key, what)?.ok_or_else(|| ApiError::invalid(format!("{what}.{key} is required")))
}

fn integer(map: &Map<String, Value>, key: &str, what: &str) -> Result<Option<u64>, ApiError> {
    match map.get(key) {
        None => Ok(None),
        Some(v) => v
            .as_u64()
            .map(Some)
            .ok_or_else(|| ApiError::invalid(format!("{what}.{key} must be a non-negative integer"))),
    }
}

/// Seconds (an integer or a decimal) as milliseconds, rounded; within (0 or more, 30 days].
fn seconds_ms(
    map: &Map<String, Value>,
    key: &str,
    what: &str,
    min_ms: Millis,
) -> Result<Option<Millis>, ApiError> {
    let Some(value) = map.get(key) else {
        return Ok(None);
    };
    let seconds = value
        .as_f64()
        .filter(|s| s.is_finite() && *s >= 0.0)
        .ok_or_else(|| ApiError::invalid(format!("{what}.{key} must be a non-negative number of seconds")))?;
    let ms = (seconds * 1000.0).round();
    #[allow(clippy::cast_precision_loss)]
    let max = MAX_SPAN_MS as f64;
    if ms > max {
        return Err(ApiError::invalid(format!(
            "{what}.{key} may be at most {} seconds (30 days)",
            MAX_SPAN_MS / 1000
        )));
    }
    // In range: 0 ≤ ms ≤ 30 days.
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
    let ms = ms as Millis;
    if ms < min_ms {
        return Err(ApiError::invalid(format!(
            "{what}.{key} must be at least {} seconds",
            format_seconds(min_ms)
        )));
    }
    Ok(Some(ms))
}

fn format_seconds(ms: Millis) -> String {
    format!("{}", ecsim_core::clock::epoch_seconds(ms))
}

// ---------------------------------------------------------------------------------------------
// Advance (virtual clock)

/// Where an advance goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum AdvanceTarget {
    By(Millis),
    To(Millis),
    NextEvent,
}

fn parse_advance(map: &Map<String, Value>) -> Result<AdvanceTarget, ApiError> {
    const KNOWN: [&str; 4] = ["seconds", "ms", "toNextEvent", "toMs"];
    only(map, &KNOWN, "the body")?;
    if map.len() != 1 {
        return Err(ApiError::invalid(
            "give exactly one of {\"seconds\": n}, {\"ms\": n}, {\"toNextEvent\": true}, {\"toMs\": n}",
        ));
    }
    if let Some(ms) = seconds_ms(map, "seconds", "body", 0)? {
        return Ok(AdvanceTarget::By(ms));
    }
    if let Some(ms) = integer(map, "ms", "body")? {
        if ms > MAX_SPAN_MS {
            return Err(ApiError::invalid(format!(
                "body.ms may be at most {MAX_SPAN_MS} (30 days)"
            )));
        }
        return Ok(AdvanceTarget::By(ms));
    }
    if let Some(at) = integer(map, "toMs", "body")? {
        return Ok(AdvanceTarget::To(at));
    }
    match map.get("toNextEvent") {
        Some(Value::Bool(true)) => Ok(AdvanceTarget::NextEvent),
        _ => Err(ApiError::invalid("body.toNextEvent must be true")),
    }
}

fn virtual_clock(shared: &Shared) -> Result<&VirtualClock, ApiError> {
    shared
        .virtual_clock
        .as_ref()
        .ok_or_else(|| ApiError::conflict("WrongClockMode", VIRTUAL_ONLY))
}

/// `POST /_ecsim/clock/advance`.
async fn advance(shared: &Shared, body: &Bytes) -> Result<Response<Body>, ApiError> {
    let target = parse_advance(&object(body)?)?;
    let clock = virtual_clock(shared)?;
    let before = clock.now_ms();
    let at = match target {
        AdvanceTarget::By(ms) => before.saturating_add(ms),
        AdvanceTarget::To(at) => {
            if at < before {
                return Err(ApiError::invalid(format!(
                    "body.toMs {at} is before the current time {before}: time never goes backwards"
                )));
            }
            if at - before > MAX_SPAN_MS {
                return Err(ApiError::invalid(format!(
                    "body.toMs is more than 30 days ({MAX_SPAN_MS} ms) after the current time {before}"
                )));
            }
            at
        }
        AdvanceTarget::NextEvent => match shared.engine.lock().next_deadline() {
            Some(d) if d.saturating_sub(before) > MAX_SPAN_MS => {
                return Err(ApiError::invalid(format!(
                    "the next event ({d}) is more than 30 days away; advance by a duration instead"
                )));
            }
            Some(d) => d.max(before),
            None => before,
        },
    };
    advance_virtual_to(shared, clock, at).await;
    let after = clock.now_ms();
    Ok(json_response(
        StatusCode::OK,
        &with(view(shared), &[("advancedMs", json!(after - before))]),
    ))
}

/// Moves virtual time to `at_ms`, running every controller deadline on the way in order, and
/// carries out what they queued.
async fn advance_virtual_to(shared: &Shared, clock: &VirtualClock, at_ms: Millis) {
    let (commands, effects) = {
        let mut engine = shared.engine.lock();
        // As `Shared::advance_virtual` does: data the data plane emitted goes in first.
        shared.store_pending_metrics(&mut engine);
        clock.advance_to(at_ms);
        engine.advance_to(clock.now_ms());
        (
            engine.take_runtime_commands(),
            DataPlaneEffects::take(&mut engine),
        )
    };
    shared.apply_data_plane(effects);
    shared.send_runtime_commands(commands).await;
}

// ---------------------------------------------------------------------------------------------
// Pause, resume, scale (live clock)

/// `POST /_ecsim/clock/pause` and `/resume`: the body is empty or `{}`.
fn pause_or_resume(shared: &Shared, body: &Bytes, pause: bool) -> Result<Response<Body>, ApiError> {
    only(&object(body)?, &[], "the body")?;
    let live = shared
        .live_clock
        .as_ref()
        .ok_or_else(|| ApiError::conflict("WrongClockMode", LIVE_ONLY))?;
    let changed = if pause { live.pause() } else { live.resume() };
    // The live driver re-reads the clock: it stops waiting for deadlines, or starts again.
    shared.wake.notify_one();
    if changed {
        tracing::info!(
            paused = pause,
            "the clock was {}",
            if pause { "paused" } else { "resumed" }
        );
    }
    Ok(json_response(
        StatusCode::OK,
        &with(view(shared), &[("changed", json!(changed))]),
    ))
}

/// `PUT /_ecsim/clock/scale` with `{"timeScale": n}`.
fn set_scale(shared: &Shared, body: &Bytes) -> Result<Response<Body>, ApiError> {
    let map = object(body)?;
    only(&map, &["timeScale"], "the body")?;
    let scale = map
        .get("timeScale")
        .ok_or_else(|| ApiError::invalid("body.timeScale is required"))?
        .as_f64()
        .ok_or_else(|| ApiError::invalid("body.timeScale must be a number"))?;
    let scale = ecsim_core::clock::check_time_scale(scale).map_err(|e| ApiError::invalid(e.to_string()))?;
    let live = shared
        .live_clock
        .as_ref()
        .ok_or_else(|| ApiError::conflict("WrongClockMode", LIVE_ONLY))?;
    live.set_scale(scale)
        .map_err(|e| ApiError::invalid(e.to_string()))?;
    shared.wake.notify_one();
    tracing::info!(time_scale = scale, "the clock's time scale changed");
    Ok(json_response(StatusCode::OK, &view(shared)))
}

// ---------------------------------------------------------------------------------------------
// Run until

#[derive(Debug, Clone, PartialEq)]
struct RunUntil {
    condition: Condition,
    timeout_ms: Millis,
    step_ms: Millis,
}

fn parse_run_until(map: &Map<String, Value>, engine_defaults: (&str, &str)) -> Result<RunUntil, ApiError> {
    only(map, &["condition", "timeoutSeconds", "stepSeconds"], "the body")?;
    let condition = parse_condition(
        map.get("condition")
            .ok_or_else(|| ApiError::invalid("body.condition is required"))?,
        engine_defaults,
    )?;
    let timeout_ms = seconds_ms(map, "timeoutSeconds", "body", 0)?
        .ok_or_else(|| ApiError::invalid("body.timeoutSeconds is required (control-plane seconds)"))?;
    let step_ms = seconds_ms(map, "stepSeconds", "body", 1)?.unwrap_or(DEFAULT_STEP_MS);
    if timeout_ms.div_ceil(step_ms) > MAX_STEPS {
        return Err(ApiError::invalid(format!(
            "body.stepSeconds is too small for body.timeoutSeconds: at most {MAX_STEPS} steps per call"
        )));
    }
    Ok(RunUntil {
        condition,
        timeout_ms,
        step_ms,
    })
}

/// How a run ended.
struct Ended {
    check: Check,
    started_ms: Millis,
}

/// `POST /_ecsim/clock/run-until`.
async fn run_until(shared: &Shared, body: &Bytes) -> Result<Response<Body>, ApiError> {
    let map = object(body)?;
    let request = {
        let engine = shared.engine.lock();
        let config = engine.config();
        parse_run_until(&map, (&config.default_account_id, &config.default_region))?
    };
    let mut extra = Vec::new();
    let ended = if let Some(clock) = &shared.virtual_clock {
        run_until_virtual(shared, clock, &request).await
    } else {
        if shared.clock.is_paused() {
            return Err(ApiError::conflict(
                "ClockPaused",
                "the clock is paused, so the condition could only change by outside events and the \
                 timeout would never pass; resume it first (POST /_ecsim/clock/resume)",
            ));
        }
        // IO edge: the live wait is measured in real time too, to bound it.
        #[allow(clippy::disallowed_methods)]
        let real_start = std::time::Instant::now();
        let ended = run_until_live(shared, &request, real_start).await;
        extra.push((
            "realElapsedMs",
            json!(u64::try_from(real_start.elapsed().as_millis()).unwrap_or(u64::MAX)),
        ));
        ended
    };
    let now = shared.clock.now_ms();
    let (satisfied, detail, failure) = match &ended.check {
        Check::Met(d) => (true, d.clone(), None),
        Check::NotYet(d) => (false, d.clone(), None),
        Check::Failed(d) => (false, d.clone(), Some(d.clone())),
    };
    let mut answer = json!({
        "satisfied": satisfied,
        "timedOut": matches!(ended.check, Check::NotYet(_)),
        "mode": mode(shared),
        "nowMs": now,
        "now": rfc3339(now),
        "elapsedMs": now.saturating_sub(ended.started_ms),
        "detail": detail,
    });
    if let Some(reason) = failure {
        extra.push(("failure", json!(reason)));
    }
    answer = with(answer, &extra);
    Ok(json_response(StatusCode::OK, &answer))
}

/// Jumps from deadline to deadline (at most `step_ms` at a time) and checks after each jump.
async fn run_until_virtual(shared: &Shared, clock: &VirtualClock, request: &RunUntil) -> Ended {
    let started_ms = clock.now_ms();
    let end = started_ms.saturating_add(request.timeout_ms);
    loop {
        let (found, next) = {
            let engine = shared.engine.lock();
            (check(&request.condition, &engine), engine.next_deadline())
        };
        let now = clock.now_ms();
        if !matches!(found, Check::NotYet(_)) || now >= end {
            return Ended {
                check: found,
                started_ms,
            };
        }
        let step_end = now.saturating_add(request.step_ms).min(end);
        let target = match next {
            Some(d) if d < step_end => d.max(now + 1),
            _ => step_end,
        };
        advance_virtual_to(shared, clock, target).await;
        // Lets the runtime's other tasks (probe results, API requests) run between jumps.
        tokio::task::yield_now().await;
    }
}

/// Checks every [`LIVE_POLL_MS`] of real time while the live driver runs the controllers.
async fn run_until_live(shared: &Shared, request: &RunUntil, real_start: std::time::Instant) -> Ended {
    let started_ms = shared.clock.now_ms();
    loop {
        let found = check(&request.condition, &shared.engine.lock());
        let elapsed = shared.clock.now_ms().saturating_sub(started_ms);
        if !matches!(found, Check::NotYet(_))
            || elapsed >= request.timeout_ms
            || real_start.elapsed() >= MAX_LIVE_WAIT
        {
            return Ended {
                check: found,
                started_ms,
            };
        }
        // IO edge: polling the live engine in real time.
        #[allow(clippy::disallowed_methods)]
        tokio::time::sleep(Duration::from_millis(LIVE_POLL_MS)).await;
    }
}

#[cfg(test)]
mod tests {
    use super::conditions::Count;
    use super::*;

    fn obj(text: &str) -> Map<String, Value> {
        match serde_json::from_str(text).unwrap() {
            Value::Object(m) => m,
            _ => panic!("not an object"),
        }
    }

    const DEFAULTS: (&str, &str) = ("000000000000", "us-east-1");

    #[test]
    fn advance_bodies_name_exactly_one_target() {
        assert_eq!(
            parse_advance(&obj(r#"{"seconds": 1.5}"#)).unwrap(),
            AdvanceTarget::By(1_500)
        );
        assert_eq!(
            parse_advance(&obj(r#"{"ms": 20}"#)).unwrap(),
            AdvanceTarget::By(20)
        );
        assert_eq!(
            parse_advance(&obj(r#"{"toMs": 7}"#)).unwrap(),
            AdvanceTarget::To(7)
        );
        assert_eq!(
            parse_advance(&obj(r#"{"toNextEvent": true}"#)).unwrap(),
            AdvanceTarget::NextEvent
        );
        for bad in [
            r#"{}"#,
            r#"{"seconds": 1, "ms": 1}"#,
            r#"{"seconds": -1}"#,
            r#"{"seconds": "1"}"#,
            r#"{"ms": 1.5}"#,
            r#"{"toNextEvent": false}"#,
            r#"{"minutes": 1}"#,
            r#"{"seconds": 2592001}"#,
            r#"{"ms": 2592000001}"#,
        ] {
            let e = parse_advance(&obj(bad)).unwrap_err();
            assert_eq!(e.status, StatusCode::BAD_REQUEST, "{bad}");
        }
        assert_eq!(
            parse_advance(&obj(r#"{"seconds": 2592000}"#)).unwrap(),
            AdvanceTarget::By(MAX_SPAN_MS)
        );
    }

    #[test]
    fn conditions_are_validated_strictly() {
        let ok = parse_condition(
            &json!({"serviceStable": {"cluster": "arn:aws:ecs:us-east-1:000000000000:cluster/c", "service": "arn:aws:ecs:us-east-1:000000000000:service/c/s"}}),
            DEFAULTS,
        )
        .unwrap();
        assert_eq!(
            ok,
            Condition::ServiceStable {
                account: DEFAULTS.0.into(),
                region: DEFAULTS.1.into(),
                cluster: "c".into(),
                service: "s".into()
            }
        );
        let tg = parse_condition(
            &json!({"targetHealth": {"targetGroupArn": "arn:aws:elasticloadbalancing:eu-west-1:123456789012:targetgroup/t/abc", "state": "healthy", "count": 2}}),
            DEFAULTS,
        )
        .unwrap();
        assert!(matches!(
            tg,
            Condition::TargetHealth { ref account, ref region, count: Count::Exactly(2), .. }
                if account == "123456789012" && region == "eu-west-1"
        ));
        for bad in [
            json!("serviceStable"),
            json!({}),
            json!({"serviceStable": {"cluster": "c"}}),
            json!({"serviceStable": {"cluster": "c", "service": "s", "extra": 1}}),
            json!({"serviceStable": {"cluster": 1, "service": "s"}}),
            json!({"serviceStable": {"cluster": "c", "service": "s"}, "taskCount": {}}),
            json!({"taskCount": {"cluster": "c", "lastStatus": "running", "atLeast": 1}}),
            json!({"taskCount": {"cluster": "c", "lastStatus": "RUNNING"}}),
            json!({"taskCount": {"cluster": "c", "lastStatus": "RUNNING", "atLeast": 1, "count": 1}}),
            json!({"taskCount": {"cluster": "c", "lastStatus": "RUNNING", "atLeast": -1}}),
            json!({"alarmState": {"alarmName": "a", "state": "BAD"}}),
            json!({"alarmState": {"alarmName": "a", "state": "OK", "accountId": "12"}}),
            json!({"targetHealth": {"targetGroupArn": "tg", "state": "healthy", "count": 1}}),
            json!({"deploymentDone": {}}),
        ] {
            let e = parse_condition(&bad, DEFAULTS).unwrap_err();
            assert_eq!(e.status, StatusCode::BAD_REQUEST, "{bad}");
        }
    }

    #[test]
    fn run_until_needs_a_bounded_timeout() {
        let cond = r#""condition": {"alarmState": {"alarmName": "a", "state": "OK"}}"#;
        let parsed = parse_run_until(&obj(&format!("{{{cond}, \"timeoutSeconds\": 60}}")), DEFAULTS).unwrap();
        assert_eq!((parsed.timeout_ms, parsed.step_ms), (60_000, DEFAULT_STEP_MS));
        let parsed = parse_run_until(
            &obj(&format!(
                "{{{cond}, \"timeoutSeconds\": 60, \"stepSeconds\": 0.25}}"
            )),
            DEFAULTS,
        )
        .unwrap();
        assert_eq!(parsed.step_ms, 250);
        for bad in [
            format!("{{{cond}}}"),
            format!("{{{cond}, \"timeoutSeconds\": 2592001}}"),
            format!("{{{cond}, \"timeoutSeconds\": 1, \"stepSeconds\": 0}}"),
            format!("{{{cond}, \"timeoutSeconds\": 1, \"until\": 1}}"),
            format!("{{{cond}, \"timeoutSeconds\": 86400, \"stepSeconds\": 0.001}}"),
            r#"{"timeoutSeconds": 1}"#.to_string(),
        ] {
            assert!(parse_run_until(&obj(&bad), DEFAULTS).is_err(), "{bad}");
        }
    }
}
