//! The task metadata endpoint (v3 and v4) and the task credentials endpoint, as the ECS agent
//! serves them to containers at 169.254.170.2.
//!
//! ecsim answers them on every address it listens on; tasks reach it at 169.254.170.2 through the
//! metadata network the Docker runtime creates. Reads the engine; changes nothing but the
//! session table (issued credentials are recorded so calls made with them resolve to the role).

use ecsim_control::ecs::state::{TaskRecord, TaskStatus};
use ecsim_control::world::World;
use hyper::{Method, Response, StatusCode};
use serde_json::{Value, json};

use crate::gateway::{Body, json_response};
use crate::shared::Shared;

/// Answers metadata and credentials paths; `None` for every other path.
pub async fn handle(shared: &Shared, parts: &hyper::http::request::Parts) -> Option<Response<Body>> {
    let path = parts.uri.path();
    if let Some(id) = path.strip_prefix("/v2/credentials/") {
        if parts.method != Method::GET {
            return Some(method_not_allowed());
        }
        return Some(credentials(shared, id));
    }
    let rest = path.strip_prefix("/v4/").or_else(|| path.strip_prefix("/v3/"))?;
    if parts.method != Method::GET {
        return Some(method_not_allowed());
    }
    let v4 = path.starts_with("/v4/");
    let (token, tail) = rest.split_once('/').unwrap_or((rest, ""));
    let found = {
        let engine = shared.engine.lock();
        find(engine.worlds(), token).map(|(world, task, index)| match tail {
            "" => Answer::Json(container_metadata(world, task, index, v4)),
            "task" => Answer::Json(task_metadata(world, task, v4)),
            "stats" => Answer::Stats {
                container_ids: vec![task.containers[index].reported_runtime_id().to_string()],
                single: true,
            },
            "task/stats" => Answer::Stats {
                container_ids: task
                    .containers
                    .iter()
                    .map(|c| c.reported_runtime_id().to_string())
                    .collect(),
                single: false,
            },
            _ => Answer::NoSuchPath,
        })
    };
    // Stats come from Docker, so they are fetched after the engine lock is released.
    Some(match found {
        None => json_response(
            StatusCode::NOT_FOUND,
            &json!({ "error": format!("no task container with metadata id {token}") }),
        ),
        Some(Answer::NoSuchPath) => json_response(
            StatusCode::NOT_FOUND,
            &json!({ "error": format!("no metadata at {path}") }),
        ),
        Some(Answer::Json(body)) => json_response(StatusCode::OK, &body),
        Some(Answer::Stats {
            container_ids,
            single,
        }) => json_response(StatusCode::OK, &stats(shared, container_ids, single).await),
    })
}

/// What a metadata path asks for.
enum Answer {
    Json(Value),
    Stats {
        container_ids: Vec<String>,
        single: bool,
    },
    NoSuchPath,
}

fn method_not_allowed() -> Response<Body> {
    json_response(
        StatusCode::METHOD_NOT_ALLOWED,
        &json!({ "error": "the metadata and credentials endpoints answer GET only" }),
    )
}

/// Docker stats of the containers (one object, or a map by container id for the task).
async fn stats(shared: &Shared, ids: Vec<String>, single: bool) -> Value {
    let Some(docker) = shared.docker.get() else {
        return if single { Value::Null } else { json!({}) };
    };
    let mut by_id = serde_json::Map::new();
    for id in ids {
        let s = docker.stats(&id).await.unwrap_or(Value::Null);
        if single {
            return s;
        }
        by_id.insert(id, s);
    }
    Value::Object(by_id)
}

/// The task and container index a metadata token names (`<task id>-<digits>`).
fn find<'w>(worlds: &'w [World], token: &str) -> Option<(&'w World, &'w TaskRecord, usize)> {
    let task_id = token.split('-').next()?;
    worlds.iter().find_map(|w| {
        let task = w.ecs.task(task_id)?;
        let index = task.containers.iter().position(|c| c.runtime_id == token)?;
        Some((w, task, index))
    })
}

fn iso(ms: Option<u64>) -> Value {
    #[allow(clippy::cast_precision_loss)] // epoch milliseconds stay far below 2^53
    ms.map_or(Value::Null, |ms| {
        Value::String(ecsim_protocol::time::format_iso8601(ms as f64 / 1000.0))
    })
}

fn known_status(task: &TaskRecord, index: usize) -> &'static str {
    task.containers[index].last_status
}

fn container_metadata(world: &World, task: &TaskRecord, index: usize, v4: bool) -> Value {
    let c = &task.containers[index];
    let mut value = json!({
        "DockerId": c.reported_runtime_id(),
        "Name": c.name,
        "DockerName": format!("ecs-{}-{}-{}", task.family, c.name, &task.id[..8.min(task.id.len())]),
        "Image": c.image,
        "Labels": {
            "com.amazonaws.ecs.cluster": task.cluster_arn,
            "com.amazonaws.ecs.container-name": c.name,
            "com.amazonaws.ecs.task-arn": task.arn,
            "com.amazonaws.ecs.task-definition-family": task.family,
            "com.amazonaws.ecs.task-definition-version": revision(task),
        },
        "DesiredStatus": if task.desired_status == "RUNNING" { "RUNNING" } else { "STOPPED" },
        "KnownStatus": known_status(task, index),
        "Limits": {
            "CPU": c.cpu.as_deref().and_then(|v| v.parse::<u64>().ok()).unwrap_or(0),
            "Memory": c.memory.as_deref().and_then(|v| v.parse::<u64>().ok()).unwrap_or(0),
        },
        "CreatedAt": iso(Some(task.created_at_ms)),
        "StartedAt": iso(task.started_at_ms),
        "Type": "NORMAL",
        "Networks": [{
            "NetworkMode": task.network_mode.as_str(),
            "IPv4Addresses": task.placement.private_ip.iter().collect::<Vec<_>>(),
        }],
    });
    if v4 {
        value["ContainerARN"] = json!(c.container_arn);
        value["Health"] = json!({ "status": c.health_status.map_or("UNKNOWN", |h| h.as_str()) });
        if let Some(ip) = &task.placement.private_ip {
            let subnet = task
                .placement
                .subnet_id
                .as_ref()
                .and_then(|s| world.network.subnets.get(s));
            value["Networks"][0]["AttachmentIndex"] = json!(0);
            value["Networks"][0]["MACAddress"] = json!(task.mac_address);
            value["Networks"][0]["PrivateDNSName"] =
                json!(format!("ip-{}.ec2.internal", ip.replace('.', "-")));
            if let Some(subnet) = subnet {
                value["Networks"][0]["IPv4SubnetCIDRBlock"] = json!(subnet.cidr.to_string());
            }
        }
        if let Some(code) = c.exit_code {
            value["ExitCode"] = json!(code);
        }
    }
    value
}

fn revision(task: &TaskRecord) -> String {
    task.task_definition_arn
        .rsplit(':')
        .next()
        .unwrap_or_default()
        .to_string()
}

fn task_metadata(world: &World, task: &TaskRecord, v4: bool) -> Value {
    let containers: Vec<Value> = (0..task.containers.len())
        .map(|i| container_metadata(world, task, i, v4))
        .collect();
    let cpu_units: f64 = task.cpu.as_deref().and_then(|v| v.parse().ok()).unwrap_or(0.0);
    let memory: u64 = task.memory.as_deref().and_then(|v| v.parse().ok()).unwrap_or(0);
    let mut value = json!({
        "Cluster": task.cluster_arn,
        "TaskARN": task.arn,
        "Family": task.family,
        "Revision": revision(task),
        "DesiredStatus": if task.desired_status == "RUNNING" { "RUNNING" } else { "STOPPED" },
        "KnownStatus": task.status.as_str(),
        "Limits": { "CPU": cpu_units / 1024.0, "Memory": memory },
        "PullStartedAt": iso(task.pull_started_at_ms),
        "PullStoppedAt": iso(task.pull_stopped_at_ms),
        "AvailabilityZone": task.placement.availability_zone,
        "Containers": containers,
    });
    if v4 {
        value["LaunchType"] = json!(task.launch_type.map(|l| l.as_str()));
        if task.status >= TaskStatus::Stopped {
            value["ExecutionStoppedAt"] = iso(task.execution_stopped_at_ms);
        }
    }
    value
}

fn credentials(shared: &Shared, id: &str) -> Response<Body> {
    let issued = shared.engine.lock().task_role_credentials(id);
    match issued {
        Some(c) => json_response(
            StatusCode::OK,
            &json!({
                "RoleArn": c.role_arn,
                "AccessKeyId": c.credentials.access_key_id,
                "SecretAccessKey": c.credentials.secret_access_key,
                "Token": c.credentials.session_token,
                "Expiration": ecsim_protocol::time::format_iso8601(c.credentials.expiration),
            }),
        ),
        None => json_response(
            StatusCode::BAD_REQUEST,
            &json!({
                "code": "InvalidIdInRequest",
                "message": "CredentialsV2Request: Credentials not found",
                "HTTPErrorCode": 400,
            }),
        ),
    }
}
