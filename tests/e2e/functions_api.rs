//! The function stand-in API (`/_ecsim/functions`) end to end: stand-ins registered through the
//! builder and through `PUT`, listed, read by name or ARN (percent-encoded), refused when bad, and
//! forgotten with `DELETE`; and stand-ins really invoked by CodeDeploy AppSpec hooks (a command
//! that fails the hook, an HTTP endpoint that gets the payload).

use std::time::Duration;

use aws_sdk_codedeploy::types::{DeploymentStatus, LifecycleEventStatus};
use ecsim::{ClockMode, FunctionTarget};
use reqwest::Method;
use serde_json::{Value, json};

use crate::codedeploy_deployments::{application_and_group, appspec, blue_green_service, deploy, deployment};
use crate::common::{self, Env};

/// Real time a stand-in is given to answer in these tests (they run on loopback).
const REAL_WAIT: Duration = Duration::from_secs(30);

/// One call to the emulator API: the status and the JSON body (`Null` when there is none).
async fn call(env: &Env, method: Method, path: &str, body: Option<&str>) -> (u16, Value) {
    let mut request = reqwest::Client::new().request(method, format!("{}{path}", env.url()));
    if let Some(body) = body {
        request = request
            .header("content-type", "application/json")
            .body(body.to_string());
    }
    let response = request.send().await.expect("the emulator API answers");
    let status = response.status().as_u16();
    let text = response.text().await.expect("a body");
    let body = if text.is_empty() {
        Value::Null
    } else {
        serde_json::from_str(&text).expect("JSON")
    };
    (status, body)
}

#[tokio::test]
async fn function_stand_ins_are_registered_listed_and_removed() {
    let env = common::start_with(
        ecsim::Emulator::builder()
            .seed(7)
            .clock(ClockMode::Virtual)
            .function(
                "from-builder",
                FunctionTarget::Command {
                    program: "true".into(),
                    args: Vec::new(),
                },
            ),
        "test",
    )
    .await;

    let (status, listing) = call(&env, Method::GET, "/_ecsim/functions", None).await;
    assert_eq!(status, 200);
    assert_eq!(
        listing,
        json!({"functions": [{"name": "from-builder", "target": {"command": ["true"]}}]})
    );

    // A full ARN with its colons percent-encoded names the function in it.
    let arn = "arn%3Aaws%3Alambda%3Aus-east-1%3A000000000000%3Afunction%3Acheck-health";
    let (status, registered) = call(
        &env,
        Method::PUT,
        &format!("/_ecsim/functions/{arn}"),
        Some(r#"{"url": "http://127.0.0.1:9/hook"}"#),
    )
    .await;
    assert_eq!(status, 200, "{registered}");
    assert_eq!(
        registered,
        json!({"name": "check-health", "target": {"url": "http://127.0.0.1:9/hook"}})
    );
    let (status, command) = call(
        &env,
        Method::PUT,
        "/_ecsim/functions/after-install",
        Some(r#"{"command": ["sh", "-c", "cat"]}"#),
    )
    .await;
    assert_eq!(status, 200, "{command}");
    env.emulator.register_function(
        "from-handle",
        FunctionTarget::Http {
            url: "http://127.0.0.1:9/other".into(),
        },
    );

    let (_, listing) = call(&env, Method::GET, "/_ecsim/functions", None).await;
    let names: Vec<&str> = listing["functions"]
        .as_array()
        .expect("a list")
        .iter()
        .map(|f| f["name"].as_str().expect("a name"))
        .collect();
    assert_eq!(
        names,
        ["after-install", "check-health", "from-builder", "from-handle"]
    );

    let (status, one) = call(&env, Method::GET, "/_ecsim/functions/check-health", None).await;
    assert_eq!(status, 200);
    assert_eq!(one, registered);
    let (status, by_arn) = call(&env, Method::GET, &format!("/_ecsim/functions/{arn}"), None).await;
    assert_eq!(status, 200);
    assert_eq!(by_arn, registered);

    // Bad input is a 400 with the emulator API's error shape, and changes nothing.
    for (path, body) in [
        ("/_ecsim/functions/x", "not json"),
        ("/_ecsim/functions/x", r#"{"url": "ftp://127.0.0.1/"}"#),
        ("/_ecsim/functions/x", r#"{"command": []}"#),
        (
            "/_ecsim/functions/x",
            r#"{"url": "http://127.0.0.1:9/", "command": ["true"]}"#,
        ),
        (
            "/_ecsim/functions/bad%20name",
            r#"{"url": "http://127.0.0.1:9/"}"#,
        ),
        ("/_ecsim/functions/x%zz", r#"{"url": "http://127.0.0.1:9/"}"#),
    ] {
        let (status, error) = call(&env, Method::PUT, path, Some(body)).await;
        assert_eq!(status, 400, "{path} {body}: {error}");
        assert_eq!(error["error"], "ValidationError", "{error}");
        assert!(
            error["message"].as_str().is_some_and(|m| !m.is_empty()),
            "{error}"
        );
    }
    let (_, after) = call(&env, Method::GET, "/_ecsim/functions", None).await;
    assert_eq!(after, listing);

    let (status, _) = call(&env, Method::POST, "/_ecsim/functions/x", Some("{}")).await;
    assert_eq!(status, 405);
    let (status, _) = call(&env, Method::GET, "/_ecsim/functions/a/b", None).await;
    assert_eq!(status, 404);

    let (status, gone) = call(&env, Method::DELETE, &format!("/_ecsim/functions/{arn}"), None).await;
    assert_eq!((status, gone), (204, Value::Null));
    let (status, again) = call(&env, Method::DELETE, "/_ecsim/functions/check-health", None).await;
    assert_eq!(status, 404);
    assert_eq!(again["error"], "NotFound");
    let (status, _) = call(&env, Method::GET, "/_ecsim/functions/check-health", None).await;
    assert_eq!(status, 404);

    // A reset forgets what the APIs created, not the stand-ins.
    let (status, _) = call(&env, Method::POST, "/_ecsim/reset", None).await;
    assert_eq!(status, 200);
    let (_, listing) = call(&env, Method::GET, "/_ecsim/functions", None).await;
    assert_eq!(listing["functions"].as_array().map(Vec::len), Some(3));
    env.emulator.shutdown().await;
}

/// Advances virtual time a second at a time until `done` holds for the deployment (at most
/// `max_s` virtual seconds, and [`REAL_WAIT`] of real time: the stand-in runs in real time).
async fn advance_until(
    env: &Env,
    id: &str,
    max_s: u32,
    mut done: impl FnMut(&aws_sdk_codedeploy::types::DeploymentInfo) -> bool,
) -> aws_sdk_codedeploy::types::DeploymentInfo {
    tokio::time::timeout(REAL_WAIT, async {
        for _ in 0..max_s {
            let info = deployment(env, id).await;
            if done(&info) {
                return info;
            }
            env.clock().advance(Duration::from_secs(1));
            tokio::task::yield_now().await;
        }
        panic!("deployment {id} did not get there in {max_s} virtual seconds");
    })
    .await
    .expect("the stand-in answers in real time")
}

#[cfg(unix)]
#[tokio::test]
async fn a_command_stand_in_that_exits_non_zero_fails_its_hook() {
    let env = common::start_with(
        ecsim::Emulator::builder()
            .seed(7)
            .clock(ClockMode::Virtual)
            .function(
                "smoke",
                FunctionTarget::Command {
                    program: "sh".into(),
                    args: vec![
                        "-c".into(),
                        "cat >/dev/null; echo 'smoke test broke' >&2; exit 3".into(),
                    ],
                },
            ),
        "test",
    )
    .await;
    let bg = blue_green_service(&env, 2, &[]).await;
    application_and_group(&env, &bg, "CodeDeployDefault.ECSAllAtOnce", 0, &[], None).await;
    let id = deploy(
        &env,
        &appspec(
            "web:2",
            &[(
                "AfterAllowTestTraffic",
                "arn:aws:lambda:us-east-1:000000000000:function:smoke",
            )],
        ),
    )
    .await;
    let info = advance_until(&env, &id, 3_600, |d| {
        d.status() != Some(&DeploymentStatus::InProgress) && d.status() != Some(&DeploymentStatus::Created)
    })
    .await;
    assert_eq!(info.status(), Some(&DeploymentStatus::Failed));
    let message = info
        .error_information()
        .and_then(|e| e.message())
        .unwrap_or_default()
        .to_string();
    assert!(
        message.contains("smoke exited with 3: smoke test broke"),
        "{message}"
    );
    env.emulator.shutdown().await;
}

/// An HTTP stand-in on 127.0.0.1 that hands each payload it gets to the test and answers `{}`.
async fn recording_stand_in() -> (
    String,
    tokio::sync::mpsc::Receiver<Value>,
    tokio::task::JoinHandle<()>,
) {
    use http_body_util::{BodyExt, Full};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let url = format!("http://{}/hook", listener.local_addr().expect("address"));
    let (tx, rx) = tokio::sync::mpsc::channel(16);
    let server = tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                return;
            };
            let tx = tx.clone();
            tokio::spawn(async move {
                let service =
                    hyper::service::service_fn(move |request: hyper::Request<hyper::body::Incoming>| {
                        let tx = tx.clone();
                        async move {
                            let body = request.into_body().collect().await.expect("body").to_bytes();
                            let _ = tx
                                .send(serde_json::from_slice(&body).expect("a JSON payload"))
                                .await;
                            Ok::<_, std::convert::Infallible>(hyper::Response::new(Full::new(
                                bytes::Bytes::from("{}"),
                            )))
                        }
                    });
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(hyper_util::rt::TokioIo::new(stream), service)
                    .await;
            });
        }
    });
    (url, rx, server)
}

#[tokio::test]
async fn an_http_stand_in_gets_the_hook_payload_and_the_hook_waits_for_its_verdict() {
    let env = common::start(ClockMode::Virtual).await;
    let (url, mut payloads, server) = recording_stand_in().await;
    let (status, _) = call(
        &env,
        Method::PUT,
        "/_ecsim/functions/check",
        Some(&json!({ "url": url }).to_string()),
    )
    .await;
    assert_eq!(status, 200);
    let bg = blue_green_service(&env, 2, &[]).await;
    application_and_group(&env, &bg, "CodeDeployDefault.ECSAllAtOnce", 0, &[], None).await;
    let id = deploy(&env, &appspec("web:2", &[("AfterAllowTestTraffic", "check")])).await;
    let mut payload = None;
    advance_until(&env, &id, 3_600, |d| {
        payload = payload.take().or_else(|| payloads.try_recv().ok());
        payload.is_some() || d.status() == Some(&DeploymentStatus::Failed)
    })
    .await;
    let payload = payload.expect("the stand-in was invoked");
    assert_eq!(payload["DeploymentId"], json!(id));
    let execution_id = payload["LifecycleEventHookExecutionId"]
        .as_str()
        .expect("an execution id")
        .to_string();
    // The function answered; the hook still waits for PutLifecycleEventHookExecutionStatus.
    env.clock().advance(Duration::from_secs(60));
    assert_eq!(
        deployment(&env, &id).await.status(),
        Some(&DeploymentStatus::InProgress)
    );
    env.cd
        .put_lifecycle_event_hook_execution_status()
        .deployment_id(&id)
        .lifecycle_event_hook_execution_id(&execution_id)
        .status(LifecycleEventStatus::Succeeded)
        .send()
        .await
        .expect("PutLifecycleEventHookExecutionStatus");
    let info = advance_until(&env, &id, 3_600, |d| {
        d.status() != Some(&DeploymentStatus::InProgress) && d.status() != Some(&DeploymentStatus::Created)
    })
    .await;
    assert_eq!(info.status(), Some(&DeploymentStatus::Succeeded), "{info:?}");
    server.abort();
    env.emulator.shutdown().await;
}
