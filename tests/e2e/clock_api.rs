//! The clock endpoints of the emulator API (`/_ecsim/clock…`): reading the time, advancing virtual
//! time by a duration, to an instant or to the next event, running until a condition holds, the
//! live clock's pause / resume / speed, and the time scale itself: an emulator at 100× reaches a
//! state that takes minutes of control-plane time in about a second of real time.

use std::time::Duration;

use aws_sdk_ecs::types::{LaunchType, LoadBalancer};
use aws_sdk_elasticloadbalancingv2::types::{ProtocolEnum, TargetTypeEnum};
use ecsim::{ClockMode, Emulator};
use serde_json::{Value, json};

use crate::common::{self, Env, awsvpc, default_subnet, fargate_task_definition};
use crate::elbv2_api::{forward_weighted, load_balancer};

/// `2026-01-01T00:00:00Z`, where virtual time starts.
const VIRTUAL_EPOCH_MS: u64 = 1_767_225_600_000;

/// One request to the emulator API: (status, JSON body).
async fn call(env: &Env, method: &str, path: &str, body: Option<Value>) -> (u16, Value) {
    let client = reqwest::Client::new();
    let url = format!("{}{path}", env.url());
    let method = reqwest::Method::from_bytes(method.as_bytes()).expect("a method");
    let mut request = client.request(method, url);
    if let Some(body) = body {
        request = request
            .header("content-type", "application/json")
            .body(body.to_string());
    }
    let response = request.send().await.expect("the emulator answers");
    let status = response.status().as_u16();
    let text = response.text().await.expect("a body");
    let value = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{path}: not JSON ({e}): {text}"));
    (status, value)
}

async fn ok(env: &Env, method: &str, path: &str, body: Option<Value>) -> Value {
    let (status, value) = call(env, method, path, body).await;
    assert_eq!(status, 200, "{method} {path}: {value}");
    value
}

/// Asserts a refusal: status, error code, and a phrase of the message.
async fn refused(
    env: &Env,
    method: &str,
    path: &str,
    body: Option<Value>,
    status: u16,
    code: &str,
    phrase: &str,
) {
    let (got, value) = call(env, method, path, body.clone()).await;
    assert_eq!(got, status, "{method} {path} {body:?}: {value}");
    assert_eq!(value["error"], code, "{value}");
    let message = value["message"].as_str().expect("a message");
    assert!(message.contains(phrase), "'{message}' should mention '{phrase}'");
}

fn now_ms(view: &Value) -> u64 {
    view["nowMs"].as_u64().expect("nowMs")
}

/// A cluster `clock` with a Fargate service `web` of `desired` tasks (task definition `web`).
async fn service(env: &Env, desired: i32, env_vars: &[(&str, &str)], target_group: Option<&str>) {
    env.ecs
        .create_cluster()
        .cluster_name("clock")
        .send()
        .await
        .expect("CreateCluster");
    fargate_task_definition(&env.ecs, "web", env_vars)
        .send()
        .await
        .expect("RegisterTaskDefinition");
    let mut request = env
        .ecs
        .create_service()
        .cluster("clock")
        .service_name("web")
        .task_definition("web")
        .desired_count(desired)
        .launch_type(LaunchType::Fargate)
        .network_configuration(awsvpc(&[default_subnet('a'), default_subnet('b')]));
    if let Some(tg) = target_group {
        request = request.load_balancers(
            LoadBalancer::builder()
                .target_group_arn(tg)
                .container_name("web")
                .container_port(8080)
                .build(),
        );
    }
    request.send().await.expect("CreateService");
}

async fn described(env: &Env) -> aws_sdk_ecs::types::Service {
    env.ecs
        .describe_services()
        .cluster("clock")
        .services("web")
        .send()
        .await
        .expect("DescribeServices")
        .services()[0]
        .clone()
}

fn stable() -> Value {
    json!({ "serviceStable": { "cluster": "clock", "service": "web" } })
}

#[tokio::test]
async fn virtual_time_is_read_and_advanced_by_a_duration_an_instant_or_the_next_event() {
    let env = common::start(ClockMode::Virtual).await;
    let view = ok(&env, "GET", "/_ecsim/clock", None).await;
    assert_eq!(view["mode"], "virtual");
    assert_eq!(now_ms(&view), VIRTUAL_EPOCH_MS);
    assert_eq!(view["now"], "2026-01-01T00:00:00.000Z");
    assert_eq!(view["timeScale"], 1.0);
    assert_eq!(view["paused"], false);

    let view = ok(
        &env,
        "POST",
        "/_ecsim/clock/advance",
        Some(json!({ "seconds": 90 })),
    )
    .await;
    assert_eq!(now_ms(&view), VIRTUAL_EPOCH_MS + 90_000);
    assert_eq!(view["advancedMs"], 90_000);
    assert_eq!(view["now"], "2026-01-01T00:01:30.000Z");
    let view = ok(
        &env,
        "POST",
        "/_ecsim/clock/advance",
        Some(json!({ "seconds": 0.25 })),
    )
    .await;
    assert_eq!(now_ms(&view), VIRTUAL_EPOCH_MS + 90_250);
    let view = ok(&env, "POST", "/_ecsim/clock/advance", Some(json!({ "ms": 750 }))).await;
    assert_eq!(now_ms(&view), VIRTUAL_EPOCH_MS + 91_000);
    let target = VIRTUAL_EPOCH_MS + 120_000;
    let view = ok(
        &env,
        "POST",
        "/_ecsim/clock/advance",
        Some(json!({ "toMs": target })),
    )
    .await;
    assert_eq!(now_ms(&view), target);
    assert_eq!(
        env.clock().now_ms(),
        target,
        "the library handle sees the same time"
    );

    // A service gives the controllers something to do: the next event is a deadline, and
    // advancing to it lands exactly there.
    service(&env, 1, &[], None).await;
    let view = ok(&env, "GET", "/_ecsim/clock", None).await;
    let next = view["nextEventMs"].as_u64().expect("a pending deadline");
    assert!(next >= target, "{view}");
    let view = ok(
        &env,
        "POST",
        "/_ecsim/clock/advance",
        Some(json!({ "toNextEvent": true })),
    )
    .await;
    assert_eq!(now_ms(&view), next);
    // Stepping event by event gets the task running without ever overshooting a deadline.
    let mut steps = 0;
    while described(&env).await.running_count() < 1 {
        let before = ok(&env, "GET", "/_ecsim/clock", None).await;
        let expected = before["nextEventMs"].as_u64().expect("the task has a next step");
        let after = ok(
            &env,
            "POST",
            "/_ecsim/clock/advance",
            Some(json!({ "toNextEvent": true })),
        )
        .await;
        assert_eq!(now_ms(&after), expected.max(now_ms(&before)));
        steps += 1;
        assert!(steps < 50, "the task should run within a few events");
    }
    env.emulator.shutdown().await;
}

#[tokio::test]
async fn run_until_a_service_is_stable_moves_virtual_time_only_as_far_as_needed() {
    let env = common::start(ClockMode::Virtual).await;
    service(&env, 3, &[("ECSIM_START_DELAY_MS", "45000")], None).await;
    let before = now_ms(&ok(&env, "GET", "/_ecsim/clock", None).await);
    assert_eq!(described(&env).await.running_count(), 0);

    let answer = ok(
        &env,
        "POST",
        "/_ecsim/clock/run-until",
        Some(json!({ "condition": stable(), "timeoutSeconds": 600 })),
    )
    .await;
    assert_eq!(answer["satisfied"], true, "{answer}");
    assert_eq!(answer["timedOut"], false, "{answer}");
    let elapsed = answer["elapsedMs"].as_u64().expect("elapsedMs");
    // The tasks take the 45 s start delay and a little more, and nothing like the timeout.
    assert!((45_000..120_000).contains(&elapsed), "{answer}");
    assert_eq!(now_ms(&answer), before + elapsed);
    let svc = described(&env).await;
    assert_eq!(
        (svc.running_count(), svc.pending_count(), svc.desired_count()),
        (3, 0, 3)
    );
    assert_eq!(svc.deployments().len(), 1);

    // A condition that already holds costs no time.
    let answer = ok(
        &env,
        "POST",
        "/_ecsim/clock/run-until",
        Some(json!({
            "condition": { "taskCount": { "cluster": "clock", "service": "web", "lastStatus": "RUNNING", "count": 3 } },
            "timeoutSeconds": 60,
        })),
    )
    .await;
    assert_eq!(
        (answer["satisfied"].clone(), answer["elapsedMs"].clone()),
        (json!(true), json!(0))
    );

    // One that never holds runs exactly to its timeout, in steps.
    let answer = ok(
        &env,
        "POST",
        "/_ecsim/clock/run-until",
        Some(json!({
            "condition": { "taskCount": { "cluster": "clock", "lastStatus": "RUNNING", "atLeast": 4 } },
            "timeoutSeconds": 30,
            "stepSeconds": 5,
        })),
    )
    .await;
    assert_eq!(answer["satisfied"], false, "{answer}");
    assert_eq!(answer["timedOut"], true, "{answer}");
    assert_eq!(answer["elapsedMs"], 30_000, "{answer}");
    assert!(
        answer["detail"]
            .as_str()
            .unwrap_or_default()
            .contains("3 task(s) RUNNING"),
        "{answer}"
    );

    // A missing service fails at once, as the ServicesStable waiter does.
    let answer = ok(
        &env,
        "POST",
        "/_ecsim/clock/run-until",
        Some(json!({
            "condition": { "serviceStable": { "cluster": "clock", "service": "nope" } },
            "timeoutSeconds": 600,
        })),
    )
    .await;
    assert_eq!(answer["satisfied"], false, "{answer}");
    assert_eq!(answer["elapsedMs"], 0, "{answer}");
    assert!(
        answer["failure"].as_str().unwrap_or_default().contains("MISSING"),
        "{answer}"
    );

    // An alarm nobody created never reaches a state.
    let answer = ok(
        &env,
        "POST",
        "/_ecsim/clock/run-until",
        Some(json!({
            "condition": { "alarmState": { "alarmName": "cpu-high", "state": "ALARM" } },
            "timeoutSeconds": 10,
        })),
    )
    .await;
    assert_eq!(
        (answer["satisfied"].clone(), answer["elapsedMs"].clone()),
        (json!(false), json!(10_000))
    );
    env.emulator.shutdown().await;
}

#[tokio::test]
async fn clock_requests_are_validated_before_anything_happens() {
    let env = common::start(ClockMode::Virtual).await;
    let (adv, run) = ("/_ecsim/clock/advance", "/_ecsim/clock/run-until");
    let bad = "ValidationError";
    refused(&env, "POST", adv, Some(json!({})), 400, bad, "exactly one of").await;
    refused(
        &env,
        "POST",
        adv,
        Some(json!({ "seconds": 1, "ms": 5 })),
        400,
        bad,
        "exactly one of",
    )
    .await;
    refused(
        &env,
        "POST",
        adv,
        Some(json!({ "minutes": 1 })),
        400,
        bad,
        "unknown field 'minutes'",
    )
    .await;
    refused(
        &env,
        "POST",
        adv,
        Some(json!({ "seconds": -1 })),
        400,
        bad,
        "non-negative",
    )
    .await;
    refused(
        &env,
        "POST",
        adv,
        Some(json!({ "seconds": "5" })),
        400,
        bad,
        "non-negative",
    )
    .await;
    refused(
        &env,
        "POST",
        adv,
        Some(json!({ "seconds": 2_592_001 })),
        400,
        bad,
        "30 days",
    )
    .await;
    refused(
        &env,
        "POST",
        adv,
        Some(json!({ "toNextEvent": false })),
        400,
        bad,
        "must be true",
    )
    .await;
    refused(
        &env,
        "POST",
        adv,
        Some(json!({ "toMs": 1 })),
        400,
        bad,
        "never goes backwards",
    )
    .await;
    refused(&env, "POST", adv, Some(json!([1])), 400, bad, "JSON object").await;
    let (status, value) = call(&env, "POST", adv, None).await;
    assert_eq!((status, value["error"].clone()), (400, json!(bad)));
    refused(
        &env,
        "POST",
        run,
        Some(json!({ "condition": stable() })),
        400,
        bad,
        "timeoutSeconds is required",
    )
    .await;
    refused(
        &env,
        "POST",
        run,
        Some(json!({ "condition": { "serviceIsStable": {} }, "timeoutSeconds": 5 })),
        400,
        bad,
        "unknown condition 'serviceIsStable'",
    )
    .await;
    refused(
        &env,
        "POST",
        run,
        Some(json!({ "condition": { "serviceStable": { "cluster": "clock" } }, "timeoutSeconds": 5 })),
        400,
        bad,
        "condition.serviceStable.service is required",
    )
    .await;
    refused(
        &env,
        "POST",
        run,
        Some(json!({
            "condition": { "taskCount": { "cluster": "clock", "lastStatus": "UP", "atLeast": 1 } },
            "timeoutSeconds": 5,
        })),
        400,
        bad,
        "lastStatus 'UP'",
    )
    .await;
    refused(
        &env,
        "POST",
        run,
        Some(json!({ "condition": stable(), "timeoutSeconds": 5, "stepSeconds": 0 })),
        400,
        bad,
        "stepSeconds",
    )
    .await;
    // Nothing above moved the clock.
    assert_eq!(
        now_ms(&ok(&env, "GET", "/_ecsim/clock", None).await),
        VIRTUAL_EPOCH_MS
    );

    // Live-clock operations on virtual time.
    let live_only = "only moves when advanced";
    refused(
        &env,
        "POST",
        "/_ecsim/clock/pause",
        None,
        409,
        "WrongClockMode",
        live_only,
    )
    .await;
    refused(
        &env,
        "POST",
        "/_ecsim/clock/resume",
        None,
        409,
        "WrongClockMode",
        live_only,
    )
    .await;
    refused(
        &env,
        "PUT",
        "/_ecsim/clock/scale",
        Some(json!({ "timeScale": 2 })),
        409,
        "WrongClockMode",
        live_only,
    )
    .await;
    refused(
        &env,
        "PUT",
        "/_ecsim/clock/scale",
        Some(json!({ "timeScale": 0 })),
        400,
        bad,
        "greater than 0",
    )
    .await;
    refused(&env, "GET", adv, None, 405, "MethodNotAllowed", "use POST").await;
    refused(
        &env,
        "POST",
        "/_ecsim/clock/rewind",
        None,
        404,
        "NotFound",
        "no clock endpoint",
    )
    .await;
    env.emulator.shutdown().await;

    // Advancing the system clock is refused.
    let env = common::start(ClockMode::System).await;
    refused(
        &env,
        "POST",
        adv,
        Some(json!({ "seconds": 1 })),
        409,
        "WrongClockMode",
        "cannot be advanced",
    )
    .await;
    refused(
        &env,
        "POST",
        adv,
        Some(json!({ "sec": 1 })),
        400,
        bad,
        "unknown field",
    )
    .await;
    env.emulator.shutdown().await;

    // A time scale needs the system clock, and a sane value.
    let started = Emulator::builder()
        .clock(ClockMode::Virtual)
        .time_scale(10.0)
        .start()
        .await;
    assert!(matches!(
        started,
        Err(ecsim::StartError::TimeScaleNeedsSystemClock)
    ));
    let started = Emulator::builder().time_scale(0.0).start().await;
    assert!(matches!(started, Err(ecsim::StartError::TimeScale(_))));
}

#[tokio::test]
async fn the_live_clock_pauses_resumes_and_changes_speed() {
    let env = common::start(ClockMode::System).await;
    let view = ok(&env, "GET", "/_ecsim/clock", None).await;
    assert_eq!(
        (view["mode"].clone(), view["timeScale"].clone()),
        (json!("system"), json!(1.0))
    );

    let paused = ok(&env, "POST", "/_ecsim/clock/pause", None).await;
    assert_eq!(
        (paused["paused"].clone(), paused["changed"].clone()),
        (json!(true), json!(true))
    );
    crate::docker_support::pause_ms(150).await;
    let still = ok(&env, "GET", "/_ecsim/clock", None).await;
    assert_eq!(now_ms(&still), now_ms(&paused), "paused time stands still");
    let again = ok(&env, "POST", "/_ecsim/clock/pause", Some(json!({}))).await;
    assert_eq!(again["changed"], false);
    // Waiting on a paused clock could never time out.
    refused(
        &env,
        "POST",
        "/_ecsim/clock/run-until",
        Some(json!({ "condition": stable(), "timeoutSeconds": 5 })),
        409,
        "ClockPaused",
        "resume it first",
    )
    .await;
    // The speed can change while paused; time does not move until resumed.
    let scaled = ok(
        &env,
        "PUT",
        "/_ecsim/clock/scale",
        Some(json!({ "timeScale": 50 })),
    )
    .await;
    assert_eq!(
        (scaled["timeScale"].clone(), now_ms(&scaled)),
        (json!(50.0), now_ms(&paused))
    );
    refused(
        &env,
        "PUT",
        "/_ecsim/clock/scale",
        Some(json!({ "timeScale": -1 })),
        400,
        "ValidationError",
        "greater than 0",
    )
    .await;
    refused(
        &env,
        "PUT",
        "/_ecsim/clock/scale",
        Some(json!({ "scale": 2 })),
        400,
        "ValidationError",
        "unknown field",
    )
    .await;

    let resumed = ok(&env, "POST", "/_ecsim/clock/resume", None).await;
    assert_eq!(
        (resumed["paused"].clone(), resumed["changed"].clone()),
        (json!(false), json!(true))
    );
    assert!(
        now_ms(&resumed) - now_ms(&paused) < 5_000,
        "resuming does not jump: {resumed}"
    );
    crate::docker_support::pause_ms(200).await;
    let later = ok(&env, "GET", "/_ecsim/clock", None).await;
    // 200 ms of real time at 50× is 10 s; allow a slow machine anything above half of that.
    assert!(
        now_ms(&later) - now_ms(&resumed) >= 5_000,
        "{resumed} then {later}"
    );
    assert!(env.clock().time_scale() > 49.0);
    env.emulator.shutdown().await;
}

/// The speed factor: at 100×, a service whose tasks take a minute to start behind a target group
/// that checks every 30 s (healthy after 2 checks) gets healthy and stable in minutes of
/// control-plane time but about a second of real time.
#[tokio::test]
async fn a_time_scale_makes_control_plane_durations_pass_faster_than_real_time() {
    const SCALE: f64 = 100.0;
    let env = common::start_with(
        Emulator::builder()
            .seed(7)
            .clock(ClockMode::System)
            .time_scale(SCALE),
        "test",
    )
    .await;
    assert!((env.clock().time_scale() - SCALE).abs() < f64::EPSILON);
    let lb = load_balancer(&env, "scaled").await;
    let created = env
        .elb
        .create_target_group()
        .name("scaled-tg")
        .protocol(ProtocolEnum::Http)
        .port(8080)
        .vpc_id("vpc-0ec5100000000000d")
        .target_type(TargetTypeEnum::Ip)
        .health_check_interval_seconds(30)
        .health_check_timeout_seconds(5)
        .healthy_threshold_count(2)
        .unhealthy_threshold_count(2)
        .send()
        .await
        .expect("CreateTargetGroup");
    let tg = created.target_groups()[0]
        .target_group_arn()
        .expect("ARN")
        .to_string();
    env.elb
        .create_listener()
        .load_balancer_arn(&lb)
        .protocol(ProtocolEnum::Http)
        .port(80)
        .default_actions(forward_weighted(&[(&tg, 1)]))
        .send()
        .await
        .expect("CreateListener");

    let before = now_ms(&ok(&env, "GET", "/_ecsim/clock", None).await);
    // Real time, to compare with control-plane time.
    #[allow(clippy::disallowed_methods)]
    let real_start = std::time::Instant::now();
    service(&env, 2, &[("ECSIM_START_DELAY_MS", "60000")], Some(&tg)).await;
    let healthy = ok(
        &env,
        "POST",
        "/_ecsim/clock/run-until",
        Some(json!({
            "condition": { "targetHealth": { "targetGroupArn": tg, "state": "healthy", "atLeast": 2 } },
            "timeoutSeconds": 1800,
        })),
    )
    .await;
    assert_eq!(healthy["satisfied"], true, "{healthy}");
    let answer = ok(
        &env,
        "POST",
        "/_ecsim/clock/run-until",
        Some(json!({ "condition": stable(), "timeoutSeconds": 1800 })),
    )
    .await;
    assert_eq!(answer["satisfied"], true, "{answer}");
    let real = real_start.elapsed();
    let control = Duration::from_millis(now_ms(&answer) - before);

    // A minute of start-up plus a 30 s health-check interval, at the least.
    assert!(
        control >= Duration::from_secs(90),
        "control-plane time passed: {control:?}"
    );
    // Unscaled, that is at least 90 real seconds; allow a slow machine a third of it.
    assert!(real < Duration::from_secs(30), "real time passed: {real:?}");
    let ratio = control.as_secs_f64() / real.as_secs_f64();
    eprintln!("{control:?} of control-plane time in {real:?} of real time: {ratio:.1}×");
    assert!(
        ratio >= 20.0,
        "control-plane time ran only {ratio:.1}× faster than real time ({control:?} in {real:?})"
    );
    assert!(ratio <= SCALE * 1.5, "faster than the scale? {ratio:.1}×");
    let svc = described(&env).await;
    assert_eq!((svc.running_count(), svc.desired_count()), (2, 2));
    env.emulator.shutdown().await;
}
