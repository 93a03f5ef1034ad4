//! The emulator API under `/_ecsim/` (JSON): health, reset, state export, the task address
//! listing, the real address of every load balancer listener, the metrics ecsim emitted,
//! simulated traffic, and (in their own files) the clock, faults and function stand-ins.
//! Documented in `docs/emulator-api.md`.

use bytes::Bytes;
use hyper::{Method, Response, StatusCode};
use serde_json::json;

use crate::gateway::{Body, json_response};
use crate::shared::{DataPlaneEffects, Shared};

// The clock endpoints (`/_ecsim/clock…`) live in their own file.
#[path = "admin_clock.rs"]
pub(crate) mod clock;

// The fault API (`/_ecsim/faults…`) lives in its own file too.
#[path = "admin_faults.rs"]
mod faults;

// The function stand-in API (`/_ecsim/functions…`) as well.
#[path = "admin_functions.rs"]
mod functions;

/// The world as its APIs describe it, after catching the engine up to the clock.
async fn state(shared: &Shared) -> Response<Body> {
    let (snapshot, commands, effects) = {
        let mut engine = shared.engine.lock();
        shared.store_pending_metrics(&mut engine);
        engine.advance_to(shared.clock.now_ms());
        (
            engine.export_state(),
            engine.take_runtime_commands(),
            DataPlaneEffects::take(&mut engine),
        )
    };
    shared.apply_data_plane(effects);
    shared.send_runtime_commands(commands).await;
    match snapshot {
        Ok(snapshot) => json_response(StatusCode::OK, &snapshot),
        Err(e) => json_response(
            StatusCode::INTERNAL_SERVER_ERROR,
            &json!({ "error": e.code, "message": e.message }),
        ),
    }
}

pub async fn handle(shared: &Shared, parts: &hyper::http::request::Parts, body: &Bytes) -> Response<Body> {
    match (&parts.method, parts.uri.path()) {
        (_, path) if clock::owns(path) => clock::handle(shared, parts, body).await,
        (_, path) if faults::owns(path) => faults::handle(shared, parts, body).await,
        (_, path) if functions::owns(path) => functions::handle(shared, parts, body).await,
        (&Method::GET, "/_ecsim/health") => json_response(StatusCode::OK, &health(shared)),
        (&Method::GET, "/_ecsim/tasks") => json_response(StatusCode::OK, &tasks(shared)),
        (&Method::GET, "/_ecsim/state") => state(shared).await,
        (&Method::GET, "/_ecsim/listeners") => json_response(StatusCode::OK, &listeners(shared)),
        (&Method::GET, "/_ecsim/metrics") => {
            let query = parts.uri.query().unwrap_or_default();
            let param = |name: &str| {
                form_urlencoded::parse(query.as_bytes())
                    .find(|(k, _)| k == name)
                    .map(|(_, v)| v.into_owned())
            };
            let (namespace, metric) = (param("namespace"), param("metricName"));
            json_response(
                StatusCode::OK,
                &shared.metrics.list(namespace.as_deref(), metric.as_deref()),
            )
        }
        (&Method::POST, "/_ecsim/traffic") => start_traffic(shared, body),
        (&Method::GET, "/_ecsim/traffic") => json_response(StatusCode::OK, &traffic(shared)),
        (&Method::DELETE, path) if path.starts_with("/_ecsim/traffic/") => {
            let id = &path["/_ecsim/traffic/".len()..];
            if shared.engine.lock().stop_traffic(id) {
                json_response(StatusCode::OK, &json!({ "trafficId": id, "stopped": true }))
            } else {
                json_response(
                    StatusCode::NOT_FOUND,
                    &json!({ "error": format!("no traffic run with id '{id}'") }),
                )
            }
        }
        (&Method::POST, "/_ecsim/reset") => {
            let (commands, effects) = {
                let mut engine = shared.engine.lock();
                engine.reset();
                (
                    engine.take_runtime_commands(),
                    DataPlaneEffects::take(&mut engine),
                )
            };
            shared.metrics.clear();
            shared.apply_data_plane(effects);
            shared.send_runtime_commands(commands).await;
            shared.wake.notify_one();
            json_response(StatusCode::OK, &json!({ "reset": true }))
        }
        (
            _,
            "/_ecsim/health" | "/_ecsim/reset" | "/_ecsim/state" | "/_ecsim/tasks" | "/_ecsim/listeners"
            | "/_ecsim/metrics" | "/_ecsim/traffic",
        ) => json_response(
            StatusCode::METHOD_NOT_ALLOWED,
            &json!({ "error": format!("{} is not allowed on {}", parts.method, parts.uri.path()) }),
        ),
        (_, path) => json_response(
            StatusCode::NOT_FOUND,
            &json!({ "error": format!("no emulator endpoint at {path}"), "endpoints": ["GET /_ecsim/health", "GET /_ecsim/state", "GET /_ecsim/tasks", "GET /_ecsim/listeners", "GET /_ecsim/metrics", "POST /_ecsim/traffic", "GET /_ecsim/traffic", "DELETE /_ecsim/traffic/{id}", "POST /_ecsim/reset"], "clockEndpoints": clock::ENDPOINTS, "faultEndpoints": faults::ENDPOINTS, "functionEndpoints": functions::ENDPOINTS }),
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

/// Every load balancer listener with the loopback address it really listens on.
fn listeners(shared: &Shared) -> serde_json::Value {
    let rows: Vec<serde_json::Value> = shared
        .data_plane
        .get()
        .map(|d| d.listeners())
        .unwrap_or_default()
        .into_iter()
        .map(|l| {
            let scheme = if l.protocol == ecsim_elb::ListenerProtocol::Https {
                "https"
            } else {
                "http"
            };
            json!({
                "listenerArn": l.listener_arn,
                "loadBalancerArn": l.load_balancer_arn,
                "dnsName": l.dns_name,
                "port": l.port,
                "protocol": format!("{:?}", l.protocol).to_uppercase(),
                "address": l.address.to_string(),
                "url": format!("{scheme}://{}", l.address),
            })
        })
        .collect();
    json!({ "listeners": rows })
}

/// `POST /_ecsim/traffic`: starts simulated traffic through a load balancer (validated as a
/// whole: a bad field starts nothing).
fn start_traffic(shared: &Shared, body: &Bytes) -> Response<Body> {
    let bad = |message: String| json_response(StatusCode::BAD_REQUEST, &json!({ "error": message }));
    let input: serde_json::Value = match serde_json::from_slice(body) {
        Ok(v @ serde_json::Value::Object(_)) => v,
        Ok(_) => return bad("the body must be a JSON object".into()),
        Err(e) => return bad(format!("the body is not JSON: {e}")),
    };
    const KNOWN: [&str; 8] = [
        "loadBalancer",
        "port",
        "requestsPerSecond",
        "durationSeconds",
        "method",
        "path",
        "host",
        "headers",
    ];
    if let Some(unknown) = input
        .as_object()
        .and_then(|o| o.keys().find(|k| !KNOWN.contains(&k.as_str())))
    {
        return bad(format!(
            "unknown field '{unknown}'; known fields: {}",
            KNOWN.join(", ")
        ));
    }
    let text = |name: &str| input.get(name).and_then(|v| v.as_str()).map(str::to_string);
    let number = |name: &str| -> Result<Option<u64>, String> {
        match input.get(name) {
            None | Some(serde_json::Value::Null) => Ok(None),
            Some(v) => v
                .as_u64()
                .map(Some)
                .ok_or_else(|| format!("{name} must be a non-negative integer")),
        }
    };
    let parsed = (|| -> Result<ecsim_control::traffic::TrafficSpec, String> {
        let port = number("port")?
            .map(|p| u16::try_from(p).map_err(|_| "port must be between 1 and 65535".to_string()))
            .transpose()?;
        let headers = match input.get("headers") {
            None | Some(serde_json::Value::Null) => Vec::new(),
            Some(serde_json::Value::Object(map)) => map
                .iter()
                .map(|(k, v)| {
                    v.as_str()
                        .map(|v| (k.clone(), v.to_string()))
                        .ok_or_else(|| format!("header '{k}' must have a string value"))
                })
                .collect::<Result<_, _>>()?,
            Some(_) => return Err("headers must be an object of strings".into()),
        };
        Ok(ecsim_control::traffic::TrafficSpec {
            load_balancer: text("loadBalancer").unwrap_or_default(),
            port,
            requests_per_second: u32::try_from(number("requestsPerSecond")?.unwrap_or(10))
                .unwrap_or(u32::MAX),
            duration_s: u32::try_from(number("durationSeconds")?.unwrap_or(60)).unwrap_or(u32::MAX),
            method: text("method").unwrap_or_else(|| "GET".into()),
            path: text("path").unwrap_or_else(|| "/".into()),
            host: text("host"),
            headers,
        })
    })();
    let spec = match parsed {
        Ok(spec) => spec,
        Err(message) => return bad(message),
    };
    let started = shared.engine.lock().start_traffic(spec);
    shared.wake.notify_one();
    match started {
        Ok(id) => json_response(StatusCode::OK, &json!({ "trafficId": id })),
        Err(message) => bad(message),
    }
}

/// `GET /_ecsim/traffic`: every simulated traffic run and what it has seen.
fn traffic(shared: &Shared) -> serde_json::Value {
    let engine = shared.engine.lock();
    let now = engine.now_ms();
    let runs: Vec<serde_json::Value> = engine
        .traffic_runs()
        .iter()
        .map(|r| {
            let statuses: serde_json::Map<String, serde_json::Value> = r
                .statuses
                .iter()
                .map(|(k, v)| (k.to_string(), json!(v)))
                .collect();
            let by_task: serde_json::Map<String, serde_json::Value> =
                r.by_task.iter().map(|(k, v)| (k.clone(), json!(v))).collect();
            json!({
                "trafficId": r.id,
                "loadBalancer": r.spec.load_balancer,
                "requestsPerSecond": r.spec.requests_per_second,
                "durationSeconds": r.spec.duration_s,
                "path": r.spec.path,
                "startedAtMs": r.started_at_ms,
                "endsAtMs": r.ends_at_ms,
                "finished": r.finished(now),
                "sent": r.sent,
                "statuses": statuses,
                "byTask": by_task,
                "notSimulated": r.not_simulated,
                "unroutable": r.unroutable,
            })
        })
        .collect();
    json!({ "traffic": runs })
}
