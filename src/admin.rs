//! The emulator API under `/_ecsim/` (JSON): health, reset and the task address listing.
//! Documented in the README.

use bytes::Bytes;
use hyper::{Method, Response, StatusCode};
use serde_json::json;

use crate::gateway::{Body, json_response};
use crate::shared::Shared;

pub async fn handle(shared: &Shared, parts: &hyper::http::request::Parts, _body: &Bytes) -> Response<Body> {
    match (&parts.method, parts.uri.path()) {
        (&Method::GET, "/_ecsim/health") => json_response(StatusCode::OK, &health(shared)),
        (&Method::GET, "/_ecsim/tasks") => json_response(StatusCode::OK, &tasks(shared)),
        (&Method::POST, "/_ecsim/reset") => {
            let commands = {
                let mut engine = shared.engine.lock();
                engine.reset();
                engine.take_runtime_commands()
            };
            shared.send_runtime_commands(commands).await;
            shared.wake.notify_one();
            json_response(StatusCode::OK, &json!({ "reset": true }))
        }
        (_, "/_ecsim/health" | "/_ecsim/reset" | "/_ecsim/tasks") => json_response(
            StatusCode::METHOD_NOT_ALLOWED,
            &json!({ "error": format!("{} is not allowed on {}", parts.method, parts.uri.path()) }),
        ),
        (_, path) => json_response(
            StatusCode::NOT_FOUND,
            &json!({ "error": format!("no emulator endpoint at {path}"), "endpoints": ["GET /_ecsim/health", "GET /_ecsim/tasks", "POST /_ecsim/reset"] }),
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
        "runtime": shared.runtime_name(),
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

/// Every task of every account and region, with the loopback address of each published port.
fn tasks(shared: &Shared) -> serde_json::Value {
    let engine = shared.engine.lock();
    let mut rows = Vec::new();
    for world in engine.worlds() {
        for cluster in world.ecs.clusters.values() {
            for task in cluster.tasks.values() {
                let containers: Vec<serde_json::Value> = task
                    .containers
                    .iter()
                    .map(|c| {
                        let runtime = c.runtime.as_deref();
                        let ports: Vec<serde_json::Value> = runtime
                            .map(|r| r.bindings.as_slice())
                            .unwrap_or_default()
                            .iter()
                            .map(|b| {
                                json!({
                                    "containerPort": b.container_port,
                                    "protocol": b.protocol.as_str(),
                                    "hostAddress": format!("{}:{}", b.host_ip, b.host_port),
                                    "url": format!("http://{}:{}", b.host_ip, b.host_port),
                                })
                            })
                            .collect();
                        json!({
                            "name": c.name,
                            "lastStatus": c.last_status,
                            "runtimeId": runtime.map(|r| r.runtime_id.clone()),
                            "ports": ports,
                        })
                    })
                    .collect();
                rows.push(json!({
                    "accountId": world.account_id,
                    "region": world.region,
                    "cluster": cluster.name,
                    "taskArn": task.arn,
                    "lastStatus": task.status.as_str(),
                    "desiredStatus": task.desired_status,
                    "availabilityZone": task.placement.availability_zone,
                    "privateIpAddress": task.placement.private_ip,
                    "containers": containers,
                }));
            }
        }
    }
    json!({ "runtime": shared.runtime_name(), "tasks": rows })
}
