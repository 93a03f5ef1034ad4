//! Real HTTP through ecsim's load balancers: listeners on loopback ports, weighted forwarding,
//! rules, health checks with thresholds and fail-open, draining, and the ALB error answers.
//! Targets are small backends on 127.0.0.1 registered as `ip` targets; everything stays on
//! loopback and every test bounds its request count.

use std::time::Duration;

use aws_sdk_elasticloadbalancingv2::types::{
    Action, ActionTypeEnum, FixedResponseActionConfig, HostHeaderConditionConfig, LoadBalancerAttribute,
    PathPatternConditionConfig, ProtocolEnum, RedirectActionConfig, RedirectActionStatusCodeEnum,
    RuleCondition, TargetDescription, TargetGroupAttribute, TargetHealthStateEnum, TargetTypeEnum,
};
use ecsim::ClockMode;

use crate::backends::{Backend, Mode, refused_port};
use crate::common::{self, Env};
use crate::docker_support::pause_ms;
use crate::elbv2_api::{forward_weighted, load_balancer, target_group};

/// The real address of a listener, from `GET /_ecsim/listeners`.
pub async fn listener_url(env: &Env, listener_arn: &str) -> String {
    let text = reqwest::get(format!("{}/_ecsim/listeners", env.url()))
        .await
        .expect("GET /_ecsim/listeners")
        .text()
        .await
        .expect("a body");
    let listing: serde_json::Value = serde_json::from_str(&text).expect("JSON");
    let row = listing["listeners"]
        .as_array()
        .expect("a list")
        .iter()
        .find(|l| l["listenerArn"] == listener_arn)
        .unwrap_or_else(|| panic!("listener {listener_arn} is bound: {listing}"));
    row["url"].as_str().expect("a URL").to_string()
}

async fn register(env: &Env, tg: &str, backends: &[&Backend]) {
    let mut request = env.elb.register_targets().target_group_arn(tg);
    for b in backends {
        request = request.targets(
            TargetDescription::builder()
                .id("127.0.0.1")
                .port(b.port())
                .build(),
        );
    }
    request.send().await.expect("RegisterTargets");
}

async fn listener(env: &Env, lb: &str, port: i32, action: Action) -> String {
    let created = env
        .elb
        .create_listener()
        .load_balancer_arn(lb)
        .protocol(ProtocolEnum::Http)
        .port(port)
        .default_actions(action)
        .send()
        .await
        .expect("CreateListener");
    created.listeners()[0].listener_arn().expect("an ARN").to_string()
}

async fn get(client: &reqwest::Client, url: &str) -> (u16, String) {
    let response = client.get(url).send().await.expect("the listener answers");
    let status = response.status().as_u16();
    (status, response.text().await.unwrap_or_default())
}

async fn set_attribute(env: &Env, tg: &str, key: &str, value: &str) {
    env.elb
        .modify_target_group_attributes()
        .target_group_arn(tg)
        .attributes(TargetGroupAttribute::builder().key(key).value(value).build())
        .send()
        .await
        .expect("ModifyTargetGroupAttributes");
}

#[tokio::test]
async fn a_75_25_listener_splits_10000_requests_by_weight() {
    let env = common::start(ClockMode::System).await;
    let (blue_backend, green_backend) = (Backend::start("blue").await, Backend::start("green").await);
    let lb = load_balancer(&env, "split").await;
    let blue = target_group(&env, "split-blue", TargetTypeEnum::Ip).await;
    let green = target_group(&env, "split-green", TargetTypeEnum::Ip).await;
    register(&env, &blue, &[&blue_backend]).await;
    register(&env, &green, &[&green_backend]).await;
    let arn = listener(&env, &lb, 80, forward_weighted(&[(&blue, 75), (&green, 25)])).await;
    let url = listener_url(&env, &arn).await;
    let client = reqwest::Client::new();
    const REQUESTS: u64 = 10_000;
    const WORKERS: u64 = 16;
    let mut workers = Vec::new();
    for _ in 0..WORKERS {
        let (client, url) = (client.clone(), url.clone());
        workers.push(tokio::spawn(async move {
            let mut ok = 0u64;
            for _ in 0..REQUESTS / WORKERS {
                let (status, _) = get(&client, &url).await;
                ok += u64::from(status == 200);
            }
            ok
        }));
    }
    let mut ok = 0;
    for w in workers {
        ok += w.await.expect("worker");
    }
    assert_eq!(ok, REQUESTS);
    let (b, g) = (blue_backend.hits(), green_backend.hits());
    assert_eq!(b + g, REQUESTS);
    let blue_share = b as f64 / REQUESTS as f64;
    assert!((blue_share - 0.75).abs() <= 0.015, "blue got {b}, green {g}");

    // The same load balancer through the API port, by its DNS name.
    let dns = env
        .elb
        .describe_load_balancers()
        .load_balancer_arns(&lb)
        .send()
        .await
        .expect("DescribeLoadBalancers")
        .load_balancers()[0]
        .dns_name()
        .expect("a DNS name")
        .to_string();
    let before = blue_backend.hits() + green_backend.hits();
    for _ in 0..8 {
        let response = client
            .get(format!("{}/via-gateway", env.url()))
            .header("Host", &dns)
            .send()
            .await
            .expect("the gateway answers");
        assert_eq!(response.status().as_u16(), 200);
        let body = response.text().await.unwrap_or_default();
        assert!(body.ends_with("/via-gateway"), "{body}");
    }
    assert_eq!(blue_backend.hits() + green_backend.hits(), before + 8);
}

#[tokio::test]
async fn rules_route_by_priority_path_and_host_with_fixed_and_redirect_actions() {
    let env = common::start(ClockMode::System).await;
    let (web, api) = (Backend::start("web").await, Backend::start("api").await);
    let lb = load_balancer(&env, "rules").await;
    let web_tg = target_group(&env, "rules-web", TargetTypeEnum::Ip).await;
    let api_tg = target_group(&env, "rules-api", TargetTypeEnum::Ip).await;
    register(&env, &web_tg, &[&web]).await;
    register(&env, &api_tg, &[&api]).await;
    let arn = listener(&env, &lb, 8081, forward_weighted(&[(&web_tg, 1)])).await;
    let path = |p: &str| {
        RuleCondition::builder()
            .field("path-pattern")
            .path_pattern_config(PathPatternConditionConfig::builder().values(p).build())
            .build()
    };
    let host = |h: &str| {
        RuleCondition::builder()
            .field("host-header")
            .host_header_config(HostHeaderConditionConfig::builder().values(h).build())
            .build()
    };
    let rule = |priority: i32, condition: RuleCondition, action: Action| {
        env.elb
            .create_rule()
            .listener_arn(&arn)
            .priority(priority)
            .conditions(condition)
            .actions(action)
            .send()
    };
    rule(10, path("/api/*"), forward_weighted(&[(&api_tg, 1)]))
        .await
        .expect("CreateRule");
    // A lower priority number wins even when a later rule also matches.
    rule(
        5,
        path("/api/health"),
        Action::builder()
            .r#type(ActionTypeEnum::FixedResponse)
            .fixed_response_config(
                FixedResponseActionConfig::builder()
                    .status_code("200")
                    .content_type("text/plain")
                    .message_body("fixed ok")
                    .build(),
            )
            .build(),
    )
    .await
    .expect("CreateRule");
    rule(20, host("*.admin.example.com"), forward_weighted(&[(&api_tg, 1)]))
        .await
        .expect("CreateRule");
    rule(
        30,
        path("/old/*"),
        Action::builder()
            .r#type(ActionTypeEnum::Redirect)
            .redirect_config(
                RedirectActionConfig::builder()
                    .path("/new/#{path}")
                    .status_code(RedirectActionStatusCodeEnum::Http301)
                    .build(),
            )
            .build(),
    )
    .await
    .expect("CreateRule");
    let url = listener_url(&env, &arn).await;
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client");
    assert_eq!(
        get(&client, &format!("{url}/api/orders")).await,
        (200, "api /api/orders".into())
    );
    assert_eq!(
        get(&client, &format!("{url}/API/orders")).await,
        (200, "web /API/orders".into())
    );
    assert_eq!(
        get(&client, &format!("{url}/api/health")).await,
        (200, "fixed ok".into())
    );
    assert_eq!(
        get(&client, &format!("{url}/shop")).await,
        (200, "web /shop".into())
    );
    let by_host = client
        .get(format!("{url}/anything"))
        .header("Host", "eu.admin.example.com")
        .send()
        .await
        .expect("answer");
    assert_eq!(by_host.text().await.unwrap_or_default(), "api /anything");
    let redirected = client
        .get(format!("{url}/old/page"))
        .send()
        .await
        .expect("answer");
    assert_eq!(redirected.status().as_u16(), 301);
    let location = redirected
        .headers()
        .get("location")
        .and_then(|l| l.to_str().ok())
        .unwrap_or_default()
        .to_string();
    assert!(location.ends_with(":8081/new/old/page"), "{location}");
}

/// Advances virtual time in health-check steps and gives the real probes time to land.
async fn probe_rounds(env: &Env, rounds: u32) {
    for _ in 0..rounds {
        pause_ms(150).await;
        env.clock().advance(Duration::from_secs(5));
    }
    pause_ms(150).await;
}

async fn states(env: &Env, tg: &str) -> Vec<(i32, TargetHealthStateEnum, Option<String>)> {
    let health = env
        .elb
        .describe_target_health()
        .target_group_arn(tg)
        .send()
        .await
        .expect("DescribeTargetHealth");
    let mut rows: Vec<_> = health
        .target_health_descriptions()
        .iter()
        .map(|d| {
            let th = d.target_health().expect("health");
            (
                d.target().and_then(|t| t.port()).unwrap_or(0),
                th.state().cloned().expect("a state"),
                th.reason().map(|r| r.as_str().to_string()),
            )
        })
        .collect();
    rows.sort_by_key(|r| r.0);
    rows
}

#[tokio::test]
async fn failing_health_checks_take_a_target_out_and_all_unhealthy_fails_open() {
    let env = common::start(ClockMode::Virtual).await;
    let (a, b) = (Backend::start("a").await, Backend::start("b").await);
    let lb = load_balancer(&env, "health").await;
    let created = env
        .elb
        .create_target_group()
        .name("health-tg")
        .protocol(ProtocolEnum::Http)
        .port(80)
        .vpc_id("vpc-0ec5100000000000d")
        .target_type(TargetTypeEnum::Ip)
        .health_check_path("/health")
        .health_check_interval_seconds(5)
        .health_check_timeout_seconds(2)
        .healthy_threshold_count(2)
        .unhealthy_threshold_count(2)
        .send()
        .await
        .expect("CreateTargetGroup");
    let tg = created.target_groups()[0]
        .target_group_arn()
        .expect("ARN")
        .to_string();
    let arn = listener(&env, &lb, 8082, forward_weighted(&[(&tg, 1)])).await;
    register(&env, &tg, &[&a, &b]).await;
    probe_rounds(&env, 2).await;
    let healthy: Vec<_> = states(&env, &tg).await.into_iter().map(|s| s.1).collect();
    assert_eq!(healthy, vec![TargetHealthStateEnum::Healthy; 2]);

    b.set_mode(Mode::Fail);
    probe_rounds(&env, 2).await;
    let rows = states(&env, &tg).await;
    let b_row = rows.iter().find(|r| r.0 == b.port()).expect("b");
    assert_eq!(b_row.1, TargetHealthStateEnum::Unhealthy);
    assert_eq!(b_row.2.as_deref(), Some("Target.ResponseCodeMismatch"));

    let url = listener_url(&env, &arn).await;
    let client = reqwest::Client::new();
    let b_before = b.hits();
    for _ in 0..20 {
        assert_eq!(get(&client, &format!("{url}/x")).await.0, 200);
    }
    assert_eq!(
        b.hits(),
        b_before,
        "an unhealthy target gets no traffic while another is healthy"
    );

    // Every target unhealthy: the load balancer fails open and routes to all of them.
    a.set_mode(Mode::Fail);
    probe_rounds(&env, 2).await;
    assert!(
        states(&env, &tg)
            .await
            .iter()
            .all(|r| r.1 == TargetHealthStateEnum::Unhealthy)
    );
    let (a_before, b_before) = (a.hits(), b.hits());
    for _ in 0..20 {
        assert_eq!(get(&client, &format!("{url}/x")).await.0, 500);
    }
    assert_eq!(a.hits() - a_before, 10);
    assert_eq!(b.hits() - b_before, 10);

    // Recovery takes the healthy threshold again.
    a.set_mode(Mode::Ok);
    probe_rounds(&env, 2).await;
    let rows = states(&env, &tg).await;
    assert_eq!(
        rows.iter().find(|r| r.0 == a.port()).map(|r| r.1.clone()),
        Some(TargetHealthStateEnum::Healthy)
    );
}

#[tokio::test]
async fn deregistration_drains_without_dropping_requests_in_flight() {
    let env = common::start(ClockMode::Virtual).await;
    let slow = Backend::start("slow").await;
    slow.set_mode(Mode::Slow);
    let lb = load_balancer(&env, "drain").await;
    let tg = target_group(&env, "drain-tg", TargetTypeEnum::Ip).await;
    set_attribute(&env, &tg, "deregistration_delay.timeout_seconds", "30").await;
    register(&env, &tg, &[&slow]).await;
    let arn = listener(&env, &lb, 8083, forward_weighted(&[(&tg, 1)])).await;
    let url = listener_url(&env, &arn).await;
    let client = reqwest::Client::new();
    let in_flight = {
        let (client, url) = (client.clone(), url.clone());
        tokio::spawn(async move { get(&client, &format!("{url}/long")).await })
    };
    pause_ms(300).await;
    env.elb
        .deregister_targets()
        .target_group_arn(&tg)
        .targets(
            TargetDescription::builder()
                .id("127.0.0.1")
                .port(slow.port())
                .build(),
        )
        .send()
        .await
        .expect("DeregisterTargets");
    assert_eq!(states(&env, &tg).await[0].1, TargetHealthStateEnum::Draining);
    // New requests no longer reach the draining target: the group has no target left.
    assert_eq!(get(&client, &format!("{url}/new")).await.0, 503);
    assert_eq!(in_flight.await.expect("request task"), (200, "slow /long".into()));
    env.clock().advance(Duration::from_secs(31));
    assert!(states(&env, &tg).await.is_empty());
}

#[tokio::test]
async fn the_load_balancer_answers_502_503_and_504_like_an_alb() {
    let env = common::start(ClockMode::System).await;
    let hanging = Backend::start("hanging").await;
    hanging.set_mode(Mode::Hang);
    let lb = load_balancer(&env, "errors").await;
    env.elb
        .modify_load_balancer_attributes()
        .load_balancer_arn(&lb)
        .attributes(
            LoadBalancerAttribute::builder()
                .key("idle_timeout.timeout_seconds")
                .value("1")
                .build(),
        )
        .send()
        .await
        .expect("ModifyLoadBalancerAttributes");
    let refused = target_group(&env, "errors-refused", TargetTypeEnum::Ip).await;
    let empty = target_group(&env, "errors-empty", TargetTypeEnum::Ip).await;
    let slow = target_group(&env, "errors-hang", TargetTypeEnum::Ip).await;
    env.elb
        .register_targets()
        .target_group_arn(&refused)
        .targets(
            TargetDescription::builder()
                .id("127.0.0.1")
                .port(i32::from(refused_port().await))
                .build(),
        )
        .send()
        .await
        .expect("RegisterTargets");
    register(&env, &slow, &[&hanging]).await;
    let client = reqwest::Client::new();
    for (port, tg, status, title) in [
        (8091, &refused, 502, "502 Bad Gateway"),
        (8092, &empty, 503, "503 Service Temporarily Unavailable"),
        (8093, &slow, 504, "504 Gateway Time-out"),
    ] {
        let arn = listener(&env, &lb, port, forward_weighted(&[(tg, 1)])).await;
        let url = listener_url(&env, &arn).await;
        let response = client.get(format!("{url}/")).send().await.expect("an answer");
        assert_eq!(response.status().as_u16(), status);
        assert_eq!(
            response.headers().get("server").and_then(|s| s.to_str().ok()),
            Some("awselb/2.0")
        );
        let body = response.text().await.unwrap_or_default();
        assert!(body.contains(title), "{body}");
    }
}
