//! The fault API under `/_ecsim/faults` (JSON): inject a fault now or at a (virtual) time, list
//! and read faults, cancel one, and read the fault event log. Documented in docs/emulator-api.md ("Faults").
//!
//! It only translates HTTP to `Engine::inject_fault` and friends: validation and effects live in
//! `ecsim_control::faults`. The engine lock is never held across an `.await`; the data-plane
//! effects and runtime commands a fault causes are carried out after unlocking, as the gateway
//! does for API calls.

use bytes::Bytes;
use hyper::{Method, Response, StatusCode};
use serde_json::json;

use crate::gateway::{Body, json_response};
use crate::shared::{DataPlaneEffects, Shared};

const PREFIX: &str = "/_ecsim/faults";

/// Most events one listing returns (the log itself keeps 10,000 per account and region).
const MAX_EVENTS_LISTED: usize = 10_000;

pub const ENDPOINTS: [&str; 5] = [
    "POST /_ecsim/faults",
    "GET /_ecsim/faults",
    "GET /_ecsim/faults/{id}",
    "DELETE /_ecsim/faults/{id}",
    "GET /_ecsim/faults/events",
];

/// Whether `path` belongs to the fault API.
pub fn owns(path: &str) -> bool {
    path == PREFIX || path.starts_with("/_ecsim/faults/")
}

pub async fn handle(shared: &Shared, parts: &hyper::http::request::Parts, body: &Bytes) -> Response<Body> {
    let path = parts.uri.path();
    let rest = path.strip_prefix(PREFIX).unwrap_or_default();
    match (&parts.method, rest) {
        (&Method::POST, "" | "/") => inject(shared, body).await,
        (&Method::GET, "" | "/") => json_response(StatusCode::OK, &shared.engine.lock().faults()),
        (&Method::GET, "/events") => {
            let limit = form_urlencoded::parse(parts.uri.query().unwrap_or_default().as_bytes())
                .find(|(k, _)| k == "limit")
                .map(|(_, v)| v.parse::<usize>());
            match limit {
                Some(Err(_)) => validation_error("limit must be a non-negative integer".into()),
                Some(Ok(n)) => json_response(
                    StatusCode::OK,
                    &shared.engine.lock().fault_events(n.min(MAX_EVENTS_LISTED)),
                ),
                None => json_response(
                    StatusCode::OK,
                    &shared.engine.lock().fault_events(MAX_EVENTS_LISTED),
                ),
            }
        }
        (&Method::GET, id) if is_id(id) => {
            let id = &id[1..];
            match shared.engine.lock().fault(id) {
                Some(view) => json_response(StatusCode::OK, &view),
                None => not_found(id),
            }
        }
        (&Method::DELETE, id) if is_id(id) => {
            let id = &id[1..];
            let cancelled = shared.engine.lock().cancel_fault(id);
            match cancelled {
                Ok(Some(view)) => {
                    // Ending a fault changes routes (latency, error rates, refused dials).
                    let effects = {
                        let mut engine = shared.engine.lock();
                        DataPlaneEffects::take(&mut engine)
                    };
                    shared.apply_data_plane(effects);
                    shared.wake.notify_one();
                    json_response(StatusCode::OK, &view)
                }
                Ok(None) => not_found(id),
                Err(message) => json_response(
                    StatusCode::CONFLICT,
                    &json!({ "error": "Conflict", "message": message }),
                ),
            }
        }
        (_, "" | "/" | "/events") => method_not_allowed(parts),
        (_, id) if is_id(id) => method_not_allowed(parts),
        _ => json_response(
            StatusCode::NOT_FOUND,
            &json!({ "error": format!("no emulator endpoint at {path}"), "endpoints": ENDPOINTS }),
        ),
    }
}

/// `/<one path segment>`.
fn is_id(rest: &str) -> bool {
    rest.len() > 1 && rest.starts_with('/') && !rest[1..].contains('/')
}

async fn inject(shared: &Shared, body: &Bytes) -> Response<Body> {
    let spec: serde_json::Value = match serde_json::from_slice(body) {
        Ok(v) => v,
        Err(e) => return validation_error(format!("the body is not JSON: {e}")),
    };
    // Caught up first, so `at` and `afterSeconds` count from the clock's now.
    let result = shared.change_engine(|engine| engine.inject_fault(spec)).await;
    match result {
        Ok(view) => json_response(StatusCode::CREATED, &view),
        Err(message) => validation_error(message),
    }
}

fn validation_error(message: String) -> Response<Body> {
    json_response(
        StatusCode::BAD_REQUEST,
        &json!({ "error": "ValidationError", "message": message }),
    )
}

fn not_found(id: &str) -> Response<Body> {
    json_response(
        StatusCode::NOT_FOUND,
        &json!({ "error": "NotFound", "message": format!("no fault with id '{id}'") }),
    )
}

fn method_not_allowed(parts: &hyper::http::request::Parts) -> Response<Body> {
    json_response(
        StatusCode::METHOD_NOT_ALLOWED,
        &json!({ "error": format!("{} is not allowed on {}", parts.method, parts.uri.path()) }),
    )
}
