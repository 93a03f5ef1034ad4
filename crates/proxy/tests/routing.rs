//! Requests through real listeners on 127.0.0.1: forwarding and its headers, weighted target
//! groups, rules, fixed responses and redirects, the load balancer's own 502/503/504, simulated
//! targets, the gateway entry point and the per-minute metrics.

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::*;
use ecsim_core::VirtualClock;
use ecsim_elb::{Condition, Dial, ListenerProtocol, SimulatedTarget};

const ARN: &str = "arn:listener/web/80";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forwards_with_alb_headers() {
    let plane = start();
    let a = backend("a").await;
    let lb = load_balancer(
        "web",
        vec![listener(ARN, 80, ListenerProtocol::Http, forward(&[(0, 1)]))],
    );
    plane.publish(snapshot(1, vec![lb], vec![group("a", vec![loopback("a", a)])]));
    let address = address_of(&plane, ARN);
    let client = http1_client();
    let answer = get(&client, address, &dns("web"), "/").await;
    assert_eq!((answer.status, answer.body.as_str()), (200, "a"));
    assert!(
        !answer.headers.contains_key("connection"),
        "hop-by-hop header passed"
    );

    let seen = send(
        &client,
        address,
        &format!("{}:80", dns("web")),
        "/headers?x=1",
        &[("x-forwarded-for", "203.0.113.9"), ("keep-alive", "timeout=5")],
    )
    .await
    .body;
    assert!(
        seen.contains("x-forwarded-for: 203.0.113.9, 127.0.0.1\n"),
        "{seen}"
    );
    assert!(seen.contains("x-forwarded-proto: http\n"), "{seen}");
    assert!(seen.contains("x-forwarded-port: 80\n"), "{seen}");
    assert!(seen.contains(&format!("host: {}:80\n", dns("web"))), "{seen}");
    assert!(!seen.contains("keep-alive:"), "{seen}");
    let trace = seen
        .lines()
        .find_map(|l| l.strip_prefix("x-amzn-trace-id: "))
        .expect("trace id");
    assert!(
        trace.starts_with("Root=1-") && trace.len() == "Root=1-".len() + 8 + 1 + 24,
        "{trace}"
    );
    plane.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn streams_request_bodies_to_the_target() {
    let plane = start();
    let a = backend("a").await;
    let lb = load_balancer(
        "web",
        vec![listener(ARN, 80, ListenerProtocol::Http, forward(&[(0, 1)]))],
    );
    plane.publish(snapshot(1, vec![lb], vec![group("a", vec![loopback("a", a)])]));
    let address = address_of(&plane, ARN);
    let request = http::Request::post(format!("http://{address}/echo"))
        .header("host", dns("web"))
        .body(http_body_util::Full::new(bytes::Bytes::from(vec![7_u8; 300_000])))
        .expect("request");
    let response = http1_client().request(request).await.expect("response");
    assert_eq!(read(response).await.body, "a:300000");
    plane.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn weighted_forward_splits_10000_requests_75_25() {
    let plane = start();
    let (a, b) = (backend("a").await, backend("b").await);
    let lb = load_balancer(
        "web",
        vec![listener(
            ARN,
            80,
            ListenerProtocol::Http,
            forward(&[(0, 75), (1, 25)]),
        )],
    );
    plane.publish(snapshot(
        1,
        vec![lb],
        vec![
            group("a", vec![loopback("a", a)]),
            group("b", vec![loopback("b", b)]),
        ],
    ));
    let address = address_of(&plane, ARN);
    let host = dns("web");
    let mut tasks = Vec::new();
    for _ in 0..4 {
        let host = host.clone();
        tasks.push(tokio::spawn(async move {
            let client = http1_client();
            let mut to_a = 0_u32;
            for _ in 0..2_500 {
                if get(&client, address, &host, "/").await.body == "a" {
                    to_a += 1;
                }
            }
            to_a
        }));
    }
    let mut to_a = 0;
    for task in tasks {
        to_a += task.await.expect("task");
    }
    // Smooth weighted round robin is exact over whole periods of 100 requests.
    assert!((7_350..=7_650).contains(&to_a), "{to_a} of 10000 went to a");
    assert_eq!(to_a, 7_500);
    plane.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rules_route_by_path_and_host() {
    let plane = start();
    let (a, b, c) = (backend("a").await, backend("b").await, backend("c").await);
    let mut l = listener(ARN, 80, ListenerProtocol::Http, forward(&[(0, 1)]));
    l.rules = vec![
        rule(
            10,
            vec![Condition::PathPattern(vec!["/api/*".into()])],
            forward(&[(1, 1)]),
        ),
        rule(
            20,
            vec![Condition::HostHeader(vec!["admin.*".into()])],
            forward(&[(2, 1)]),
        ),
    ];
    plane.publish(snapshot(
        1,
        vec![load_balancer("web", vec![l])],
        vec![
            group("a", vec![loopback("a", a)]),
            group("b", vec![loopback("b", b)]),
            group("c", vec![loopback("c", c)]),
        ],
    ));
    let address = address_of(&plane, ARN);
    let client = http1_client();
    let host = dns("web");
    assert_eq!(get(&client, address, &host, "/").await.body, "a");
    assert_eq!(get(&client, address, &host, "/api/users?x=1").await.body, "b");
    assert_eq!(get(&client, address, &host, "/API/users").await.body, "a");
    assert_eq!(get(&client, address, "admin.example.com", "/").await.body, "c");
    assert_eq!(
        get(&client, address, "admin.example.com:80", "/api/x").await.body,
        "b"
    );
    plane.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fixed_responses_and_redirects() {
    let plane = start();
    let mut l = listener(ARN, 80, ListenerProtocol::Http, fixed(418, "teapot"));
    l.rules = vec![rule(
        1,
        vec![Condition::PathPattern(vec!["/old*".into()])],
        redirect_to_https(),
    )];
    plane.publish(snapshot(1, vec![load_balancer("web", vec![l])], vec![]));
    let address = address_of(&plane, ARN);
    let client = http1_client();
    let host = dns("web");
    let answer = get(&client, address, &host, "/anything").await;
    assert_eq!((answer.status, answer.body.as_str()), (418, "teapot"));
    assert_eq!(answer.headers["content-type"], "text/plain");
    assert_eq!(answer.headers["server"], "awselb/2.0");
    let answer = get(&client, address, &host, "/old/page?q=1").await;
    assert_eq!(answer.status, 301);
    assert_eq!(
        answer.headers["location"],
        format!("https://{host}/old/page?q=1").as_str()
    );
    assert!(answer.body.contains("301 Moved Permanently"), "{}", answer.body);
    plane.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn load_balancer_errors_502_503_504() {
    let plane = start();
    let silent = silent_backend().await;
    let arns = ["arn:l/502", "arn:l/503", "arn:l/504", "arn:l/refused"];
    let mut lb = load_balancer(
        "web",
        vec![
            listener(arns[0], 8081, ListenerProtocol::Http, forward(&[(0, 1)])),
            listener(arns[1], 8082, ListenerProtocol::Http, forward(&[(1, 1)])),
            listener(arns[2], 8083, ListenerProtocol::Http, forward(&[(2, 1)])),
            listener(arns[3], 8084, ListenerProtocol::Http, forward(&[(3, 1)])),
        ],
    );
    lb.idle_timeout_ms = 300;
    plane.publish(snapshot(
        1,
        vec![lb],
        vec![
            group("refused", vec![loopback("r", refused_port())]),
            group("empty", vec![]),
            group("silent", vec![loopback("s", silent)]),
            group(
                "unreachable",
                vec![target("10.0.0.9", Dial::Refused("Target.NotInUse".into()))],
            ),
        ],
    ));
    let client = http1_client();
    let host = dns("web");
    for (arn, status, title) in [
        (arns[0], 502, "502 Bad Gateway"),
        (arns[1], 503, "503 Service Temporarily Unavailable"),
        (arns[2], 504, "504 Gateway Time-out"),
        (arns[3], 502, "502 Bad Gateway"),
    ] {
        let answer = get(&client, address_of(&plane, arn), &host, "/").await;
        assert_eq!(answer.status, status, "{arn}");
        assert_eq!(
            answer.body,
            format!(
                "<html>\r\n<head><title>{title}</title></head>\r\n<body>\r\n<center><h1>{title}</h1></center>\r\n</body>\r\n</html>\r\n"
            )
        );
        assert_eq!(answer.headers["content-type"], "text/html");
        assert_eq!(answer.headers["server"], "awselb/2.0");
    }
    plane.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn simulated_targets_answer_from_their_behaviour_model() {
    let plane = start();
    let simulated = |arn: &str, error_rate: f64, latency_ms: u64| {
        target(
            arn,
            Dial::Simulated(Arc::new(SimulatedTarget {
                task_arn: arn.to_owned(),
                error_rate,
                error_status: 503,
                latency_ms,
                version: "green".into(),
            })),
        )
    };
    let mut lb = load_balancer(
        "web",
        vec![
            listener(ARN, 80, ListenerProtocol::Http, forward(&[(0, 1)])),
            listener("arn:l/slow", 8080, ListenerProtocol::Http, forward(&[(1, 1)])),
        ],
    );
    lb.idle_timeout_ms = 200;
    plane.publish(snapshot(
        1,
        vec![lb],
        vec![
            group("sim", vec![simulated("arn:task/1", 0.25, 5)]),
            group("slow", vec![simulated("arn:task/2", 0.0, 1_000)]),
        ],
    ));
    let client = http1_client();
    let host = dns("web");
    let address = address_of(&plane, ARN);
    let mut statuses = Vec::new();
    for _ in 0..8 {
        let answer = get(&client, address, &host, "/p%22q").await;
        if answer.status == 200 {
            assert_eq!(
                answer.body,
                r#"{"task":"arn:task/1","version":"green","path":"/p%22q"}"#
            );
            assert_eq!(answer.headers["content-type"], "application/json");
        }
        statuses.push(answer.status);
    }
    assert_eq!(statuses, [200, 200, 200, 503, 200, 200, 200, 503]);
    let slow = get(&client, address_of(&plane, "arn:l/slow"), &host, "/").await;
    assert_eq!(slow.status, 504);
    plane.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_gateway_entry_picks_the_listener_by_host_port() {
    let plane = start();
    let a = backend("a").await;
    let lb = load_balancer(
        "web",
        vec![
            listener(ARN, 80, ListenerProtocol::Http, forward(&[(0, 1)])),
            listener(
                "arn:l/8080",
                8080,
                ListenerProtocol::Http,
                fixed(200, "eighty-eighty"),
            ),
        ],
    );
    plane.publish(snapshot(1, vec![lb], vec![group("a", vec![loopback("a", a)])]));
    assert!(plane.serves_host(&dns("web").to_uppercase()));
    assert!(!plane.serves_host("other.example"));
    assert_eq!(
        ecsim_proxy::split_host(&format!("{}:8080", dns("web"))),
        (dns("web").as_str(), Some(8080))
    );

    // A stand-in for the API gateway: every request goes to the data plane.
    let gateway = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let gateway_address = gateway.local_addr().expect("address");
    let plane_for_gateway = plane.clone();
    tokio::spawn(async move {
        while let Ok((stream, remote)) = gateway.accept().await {
            let plane = plane_for_gateway.clone();
            tokio::spawn(async move {
                let service =
                    hyper::service::service_fn(move |request: hyper::Request<hyper::body::Incoming>| {
                        let plane = plane.clone();
                        async move {
                            let host = request
                                .headers()
                                .get("host")
                                .and_then(|h| h.to_str().ok())
                                .unwrap_or_default()
                                .to_owned();
                            let (_, port) = ecsim_proxy::split_host(&host);
                            Ok::<_, std::convert::Infallible>(
                                plane.handle_via_gateway(request, remote, port).await,
                            )
                        }
                    });
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(hyper_util::rt::TokioIo::new(stream), service)
                    .await;
            });
        }
    });
    let client = http1_client();
    assert_eq!(get(&client, gateway_address, &dns("web"), "/").await.body, "a");
    let answer = get(&client, gateway_address, &format!("{}:8080", dns("web")), "/").await;
    assert_eq!(answer.body, "eighty-eighty");
    // A port no listener has (the gateway's own, as curl sends it) reaches the default listener.
    let answer = get(&client, gateway_address, &format!("{}:9999", dns("web")), "/").await;
    assert_eq!(answer.body, "a");
    let answer = get(&client, gateway_address, "unknown.example", "/").await;
    assert_eq!(answer.status, 503);
    plane.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_are_flushed_per_minute_on_the_clock() {
    let clock = VirtualClock::default();
    let (plane, sink) = start_with(Arc::new(clock.clone()));
    let a = backend("a").await;
    let lb = load_balancer(
        "web",
        vec![
            listener(ARN, 80, ListenerProtocol::Http, forward(&[(0, 1)])),
            listener("arn:l/empty", 8080, ListenerProtocol::Http, forward(&[(1, 1)])),
        ],
    );
    plane.publish(snapshot(
        1,
        vec![lb],
        vec![group("a", vec![loopback("a", a)]), group("empty", vec![])],
    ));
    let client = http1_client();
    let host = dns("web");
    for _ in 0..3 {
        assert_eq!(
            get(&client, address_of(&plane, ARN), &host, "/").await.status,
            200
        );
    }
    assert_eq!(
        get(&client, address_of(&plane, "arn:l/empty"), &host, "/")
            .await
            .status,
        503
    );
    // No request counts are published before the minute ends (only the host-count gauges,
    // once a minute).
    let gauge = |d: &ecsim_core::MetricDatum| d.metric_name.ends_with("HostCount");
    // Test pacing: real time for the real flusher task.
    #[allow(clippy::disallowed_methods)]
    tokio::time::sleep(Duration::from_millis(1_300)).await;
    assert!(sink.data.lock().iter().all(gauge), "{:#?}", sink.data.lock());
    clock.advance_by(60_000);
    let mut waited = 0;
    while sink.data.lock().iter().all(gauge) && waited < 50 {
        #[allow(clippy::disallowed_methods)]
        tokio::time::sleep(Duration::from_millis(100)).await;
        waited += 1;
    }
    let data = sink.data.lock().clone();
    let sum = |name: &str, dims: &[(&str, &str)]| {
        data.iter()
            .filter(|d| d.metric_name == name)
            .filter(|d| {
                d.dimensions.len() == dims.len()
                    && dims
                        .iter()
                        .all(|(k, v)| d.dimensions.iter().any(|(dk, dv)| dk == k && dv == v))
            })
            .map(ecsim_core::MetricDatum::sum)
            .sum::<f64>()
    };
    let lb_dim = ("LoadBalancer", "app/web/0123456789abcdef");
    let tg_dim = ("TargetGroup", "targetgroup/a/0123456789abcdef");
    assert!((sum("RequestCount", &[lb_dim]) - 4.0).abs() < 1e-9, "{data:#?}");
    assert!(
        (sum("HTTPCode_Target_2XX_Count", &[tg_dim, lb_dim]) - 3.0).abs() < 1e-9,
        "{data:#?}"
    );
    assert!(
        (sum("HTTPCode_ELB_503_Count", &[lb_dim]) - 1.0).abs() < 1e-9,
        "{data:#?}"
    );
    let gauges_of_a: Vec<f64> = data
        .iter()
        .filter(|d| d.metric_name == "HealthyHostCount" && d.dimensions.len() == 2)
        .filter(|d| d.dimensions[0] == ("TargetGroup".to_string(), tg_dim.1.to_string()))
        .map(ecsim_core::MetricDatum::sum)
        .collect();
    assert!(
        !gauges_of_a.is_empty() && gauges_of_a.iter().all(|&n| (n - 1.0).abs() < 1e-9),
        "one healthy host in group a, once a minute: {data:#?}"
    );
    assert!(data.iter().all(|d| d.namespace == "AWS/ApplicationELB"));
    assert!(data.iter().all(|d| d.timestamp_ms % 60_000 == 0));
    plane.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_flushes_the_minute_in_progress() {
    let (plane, sink) = start_with(Arc::new(VirtualClock::default()));
    let lb = load_balancer(
        "web",
        vec![listener(ARN, 80, ListenerProtocol::Http, fixed(200, "ok"))],
    );
    plane.publish(snapshot(1, vec![lb], vec![]));
    let address = address_of(&plane, ARN);
    assert_eq!(get(&http1_client(), address, &dns("web"), "/").await.status, 200);
    plane.shutdown().await;
    let data = sink.data.lock().clone();
    assert!(data.iter().any(|d| d.metric_name == "RequestCount"), "{data:#?}");
    assert!(plane.listeners().is_empty());
    assert!(tokio::net::TcpStream::connect(address).await.is_err());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stickiness_cookies_are_set_and_followed() {
    let plane = start();
    let (a, b) = (backend("a").await, backend("b").await);
    let mut sticky = group("sticky", vec![loopback("a", a), loopback("b", b)]);
    sticky.stickiness = Some(ecsim_elb::Stickiness::LbCookie { duration_s: 86_400 });
    let lb = load_balancer(
        "web",
        vec![listener(ARN, 80, ListenerProtocol::Http, forward(&[(0, 1)]))],
    );
    plane.publish(snapshot(1, vec![lb], vec![sticky]));
    let address = address_of(&plane, ARN);
    let client = http1_client();
    let host = dns("web");
    let first = get(&client, address, &host, "/").await;
    let cookie = first
        .headers
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|c| c.starts_with("AWSALB="))
        .expect("AWSALB cookie")
        .split(';')
        .next()
        .expect("pair")
        .to_owned();
    for _ in 0..5 {
        let again = send(&client, address, &host, "/", &[("cookie", &cookie)]).await;
        assert_eq!(again.body, first.body, "sticky target changed");
    }
    plane.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn https_target_groups_are_reached_over_tls_without_verification() {
    let plane = start();
    // The HTTPS target is another load balancer's HTTPS listener with a self-signed certificate.
    let secure = load_balancer(
        "secure",
        vec![listener(
            "arn:l/secure",
            443,
            ListenerProtocol::Https,
            fixed(200, "over tls"),
        )],
    );
    let web = load_balancer(
        "web",
        vec![listener(ARN, 80, ListenerProtocol::Http, forward(&[(0, 1)]))],
    );
    plane.publish(snapshot(1, vec![secure], vec![]));
    let tls_address = address_of(&plane, "arn:l/secure");
    let mut tls_group = group("tls", vec![loopback("t", tls_address)]);
    tls_group.target_protocol = ecsim_elb::TargetProtocol::Https;
    let secure = load_balancer(
        "secure",
        vec![listener(
            "arn:l/secure",
            443,
            ListenerProtocol::Https,
            fixed(200, "over tls"),
        )],
    );
    plane.publish(snapshot(2, vec![secure, web], vec![tls_group]));
    assert_eq!(address_of(&plane, "arn:l/secure"), tls_address);
    let answer = get(&http1_client(), address_of(&plane, ARN), &dns("web"), "/").await;
    assert_eq!((answer.status, answer.body.as_str()), (200, "over tls"));
    plane.shutdown().await;
}

/// An injected fault in front of a loopback target: the proxy waits its latency, answers its
/// status for exactly its share of requests (evenly spread) and forwards the rest.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_target_fault_answers_its_share_and_forwards_the_rest() {
    let plane = start();
    let a = backend("a").await;
    let lb = load_balancer(
        "web",
        vec![listener(ARN, 80, ListenerProtocol::Http, forward(&[(0, 1)]))],
    );
    let mut target = loopback("a", a);
    target.fault = Some(ecsim_elb::TargetFault {
        latency_ms: 20,
        error_rate: 0.5,
        error_status: 503,
        seen: std::sync::atomic::AtomicU64::new(0),
    });
    plane.publish(snapshot(1, vec![lb], vec![group("a", vec![target])]));
    let address = address_of(&plane, ARN);
    let client = http1_client();
    let mut statuses = Vec::new();
    for _ in 0..4 {
        let answer = get(&client, address, &dns("web"), "/").await;
        if answer.status == 503 {
            assert!(answer.body.contains("\"fault\":\"errorRate\""), "{}", answer.body);
        } else {
            assert_eq!(answer.body, "a");
        }
        statuses.push(answer.status);
    }
    assert_eq!(statuses, vec![200, 503, 200, 503]);
    plane.shutdown().await;
}
