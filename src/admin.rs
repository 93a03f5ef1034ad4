//! The emulator API under `/_ecsim/` (JSON): health and reset. Documented in the README.

use bytes::Bytes;
use hyper::{Method, Response, StatusCode};
use serde_json::json;

use crate::gateway::{Body, json_response};
use crate::shared::Shared;

pub fn handle(shared: &Shared, parts: &hyper::http::request::Parts, _body: &Bytes) -> Response<Body> {
    match (&parts.method, parts.uri.path()) {
        (&Method::GET, "/_ecsim/health") => json_response(StatusCode::OK, &health(shared)),
        (&Method::POST, "/_ecsim/reset") => {
            shared.engine.lock().reset();
            shared.wake.notify_one();
            json_response(StatusCode::OK, &json!({ "reset": true }))
        }
        (_, "/_ecsim/health" | "/_ecsim/reset") => json_response(
            StatusCode::METHOD_NOT_ALLOWED,
            &json!({ "error": format!("{} is not allowed on {}", parts.method, parts.uri.path()) }),
        ),
        (_, path) => json_response(
            StatusCode::NOT_FOUND,
            &json!({ "error": format!("no emulator endpoint at {path}"), "endpoints": ["GET /_ecsim/health", "POST /_ecsim/reset"] }),
        ),
    }
}

fn health(shared: &Shared) -> serde_json::Value {
    let engine = shared.engine.lock();
    let services: Vec<serde_json::Value> = shared
        .catalog
        .services()
        .iter()
        .map(|s| json!({ "name": s.name, "serviceId": s.service_id, "apiVersion": s.api_version }))
        .collect();
    json!({
        "status": "running",
        "version": env!("CARGO_PKG_VERSION"),
        "services": services,
        "runtime": "sim",
        "clock": {
            "mode": if shared.clock.is_virtual() { "virtual" } else { "system" },
            "nowMs": shared.clock.now_ms(),
        },
        "seed": shared.seed,
        "defaultAccountId": engine.config().default_account_id,
        "defaultRegion": engine.config().default_region,
        "tasks": engine.task_count(),
    })
}
