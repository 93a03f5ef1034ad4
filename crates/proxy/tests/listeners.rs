//! Listener lifecycle across publications (new snapshots for the next request, requests in
//! flight finishing on their own snapshot, removed and rebound listeners, port conflicts) and the
//! listener protocols: HTTP/1.1, prior-knowledge HTTP/2, HTTPS with ALPN, and TCP relays.

mod common;

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use common::*;
use ecsim_elb::{Dial, ListenerProtocol, SimulatedTarget};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const ARN: &str = "arn:listener/web/80";

/// Test pacing: lets a request reach its target before the next step.
async fn pause(ms: u64) {
    #[allow(clippy::disallowed_methods)]
    tokio::time::sleep(Duration::from_millis(ms)).await;
}

/// Waits until nothing accepts connections on `address`.
async fn refused_soon(address: SocketAddr) -> bool {
    for _ in 0..40 {
        if tokio::net::TcpStream::connect(address).await.is_err() {
            return true;
        }
        pause(50).await;
    }
    false
}

/// A port nothing listens on right now, for a listener's API port.
fn free_port() -> u16 {
    refused_port().port()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn new_weights_apply_to_the_next_request_while_old_requests_finish() {
    let plane = start();
    let (a, b) = (backend("a").await, backend("b").await);
    let groups = || {
        vec![
            group("a", vec![loopback("a", a)]),
            group("b", vec![loopback("b", b)]),
        ]
    };
    let lb = |weights: &[(usize, u32)]| {
        load_balancer(
            "web",
            vec![listener(ARN, 80, ListenerProtocol::Http, forward(weights))],
        )
    };
    let first = snapshot(1, vec![lb(&[(0, 1), (1, 0)])], groups());
    plane.publish(Arc::clone(&first));
    let address = address_of(&plane, ARN);
    let host = dns("web");
    let slow = {
        let host = host.clone();
        tokio::spawn(async move { get(&http1_client(), address, &host, "/slow?ms=1000").await })
    };
    pause(300).await;
    assert_eq!(
        first.target_groups[0].targets[0]
            .outstanding
            .load(Ordering::Relaxed),
        1
    );
    plane.publish(snapshot(2, vec![lb(&[(0, 0), (1, 1)])], groups()));
    assert_eq!(address_of(&plane, ARN), address, "same listener, same socket");
    let client = http1_client();
    for _ in 0..5 {
        assert_eq!(get(&client, address, &host, "/").await.body, "b");
    }
    let slow = slow.await.expect("task");
    assert_eq!((slow.status, slow.body.as_str()), (200, "a"));
    assert_eq!(
        first.target_groups[0].targets[0]
            .outstanding
            .load(Ordering::Relaxed),
        0
    );
    plane.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_removed_target_finishes_its_request_in_flight() {
    let plane = start();
    let (a, b) = (backend("a").await, backend("b").await);
    let lb = || {
        load_balancer(
            "web",
            vec![listener(ARN, 80, ListenerProtocol::Http, forward(&[(0, 1)]))],
        )
    };
    plane.publish(snapshot(1, vec![lb()], vec![group("g", vec![loopback("a", a)])]));
    let address = address_of(&plane, ARN);
    let host = dns("web");
    let slow = {
        let host = host.clone();
        tokio::spawn(async move { get(&http1_client(), address, &host, "/slow?ms=1000").await })
    };
    pause(300).await;
    plane.publish(snapshot(2, vec![lb()], vec![group("g", vec![loopback("b", b)])]));
    assert_eq!(get(&http1_client(), address, &host, "/").await.body, "b");
    let slow = slow.await.expect("task");
    assert_eq!((slow.status, slow.body.as_str()), (200, "a"));
    plane.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_removed_listener_stops_accepting_and_finishes_in_flight_requests() {
    let plane = start();
    let a = backend("a").await;
    let groups = || vec![group("a", vec![loopback("a", a)])];
    let keep = listener(
        "arn:l/keep",
        free_port(),
        ListenerProtocol::Http,
        fixed(200, "kept"),
    );
    let first = snapshot(
        1,
        vec![load_balancer(
            "web",
            vec![
                listener(ARN, 80, ListenerProtocol::Http, forward(&[(0, 1)])),
                keep,
            ],
        )],
        groups(),
    );
    plane.publish(first);
    let address = address_of(&plane, ARN);
    let kept_address = address_of(&plane, "arn:l/keep");
    let host = dns("web");
    let slow = {
        let host = host.clone();
        tokio::spawn(async move { get(&http1_client(), address, &host, "/slow?ms=1000").await })
    };
    pause(300).await;
    let kept_port = kept_address.port();
    let keep = listener(
        "arn:l/keep",
        kept_port,
        ListenerProtocol::Http,
        fixed(200, "kept"),
    );
    plane.publish(snapshot(2, vec![load_balancer("web", vec![keep])], groups()));
    assert_eq!(plane.listeners().len(), 1);
    assert!(refused_soon(address).await, "removed listener still accepts");
    let slow = slow.await.expect("task");
    assert_eq!((slow.status, slow.body.as_str()), (200, "a"));
    assert_eq!(get(&http1_client(), kept_address, &host, "/").await.body, "kept");
    plane.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_port_change_rebinds_and_a_same_port_replacement_keeps_the_socket() {
    let plane = start();
    let (old_port, new_port) = (free_port(), free_port());
    let lb = |arn: &str, port: u16, body: &str| {
        load_balancer(
            "web",
            vec![listener(arn, port, ListenerProtocol::Http, fixed(200, body))],
        )
    };
    plane.publish(snapshot(1, vec![lb(ARN, old_port, "one")], vec![]));
    let old_address = address_of(&plane, ARN);
    assert_eq!(old_address.port(), old_port);
    plane.publish(snapshot(2, vec![lb(ARN, new_port, "two")], vec![]));
    let new_address = address_of(&plane, ARN);
    assert_eq!(new_address.port(), new_port);
    let client = http1_client();
    assert_eq!(get(&client, new_address, &dns("web"), "/").await.body, "two");
    assert!(refused_soon(old_address).await);

    // Deleting a listener and creating another on its port in one publication hands the socket
    // over: the port stays the listener's own.
    plane.publish(snapshot(3, vec![lb("arn:l/other", new_port, "three")], vec![]));
    assert_eq!(address_of(&plane, "arn:l/other"), new_address);
    assert_eq!(
        get(&http1_client(), new_address, &dns("web"), "/").await.body,
        "three"
    );
    plane.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_load_balancers_on_port_80_are_both_bound() {
    let plane = start();
    let lbs = vec![
        load_balancer(
            "one",
            vec![listener(
                "arn:l/one",
                80,
                ListenerProtocol::Http,
                fixed(200, "one"),
            )],
        ),
        load_balancer(
            "two",
            vec![listener(
                "arn:l/two",
                80,
                ListenerProtocol::Http,
                fixed(200, "two"),
            )],
        ),
    ];
    plane.publish(snapshot(1, lbs, vec![]));
    let bindings = plane.listeners();
    assert_eq!(bindings.len(), 2);
    assert!(
        bindings
            .iter()
            .all(|b| b.port == 80 && b.address.ip().is_loopback())
    );
    assert_ne!(bindings[0].address, bindings[1].address);
    assert_eq!(bindings[1].dns_name, dns("two"));
    let client = http1_client();
    assert_eq!(
        get(&client, bindings[0].address, &dns("one"), "/").await.body,
        "one"
    );
    assert_eq!(
        get(&client, bindings[1].address, &dns("two"), "/").await.body,
        "two"
    );
    plane.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http_listeners_speak_prior_knowledge_http2() {
    let plane = start();
    let a = backend("a").await;
    let lb = load_balancer(
        "web",
        vec![listener(ARN, 80, ListenerProtocol::Http, forward(&[(0, 1)]))],
    );
    plane.publish(snapshot(1, vec![lb], vec![group("a", vec![loopback("a", a)])]));
    let address = address_of(&plane, ARN);
    let client = h2c_client();
    let request = http::Request::get(format!("http://{}:80/headers", dns("web")))
        .body(http_body_util::Full::new(bytes::Bytes::new()))
        .expect("request");
    // Dial the listener's real address, keeping the load balancer's name as :authority.
    let request = {
        let (mut parts, body) = request.into_parts();
        parts.uri = format!("http://{address}/headers").parse().expect("uri");
        parts
            .headers
            .insert("host", format!("{}:80", dns("web")).parse().expect("host"));
        http::Request::from_parts(parts, body)
    };
    let response = client.request(request).await.expect("h2 response");
    assert_eq!(response.version(), http::Version::HTTP_2);
    let answer = read(response).await;
    assert_eq!(answer.status, 200);
    assert!(
        answer.body.contains(&format!("host: {}:80\n", dns("web"))),
        "{}",
        answer.body
    );
    plane.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn https_listeners_terminate_tls_for_http1_and_http2() {
    let plane = start();
    let a = backend("a").await;
    let lb = load_balancer(
        "web",
        vec![listener(
            "arn:l/443",
            443,
            ListenerProtocol::Https,
            forward(&[(0, 1)]),
        )],
    );
    let lb_arn = lb.arn.clone();
    plane.publish(snapshot(1, vec![lb], vec![group("a", vec![loopback("a", a)])]));
    let address = address_of(&plane, "arn:l/443");
    let certificate = plane.certificate_der(&lb_arn).expect("certificate");
    let contains = |needle: &[u8]| certificate.windows(needle.len()).any(|w| w == needle);
    assert!(contains(dns("web").as_bytes()) && contains(b"localhost"));

    let host = dns("web");
    let tls = tls_connect(address, &host, &[b"h2", b"http/1.1"]).await;
    assert_eq!(tls.get_ref().1.alpn_protocol(), Some(&b"h2"[..]));
    let answer = get_over(tls, true, &host, "/headers").await;
    assert_eq!(answer.status, 200);
    assert!(
        answer.body.contains("x-forwarded-proto: https\n"),
        "{}",
        answer.body
    );
    assert!(answer.body.contains("x-forwarded-port: 443\n"), "{}", answer.body);

    let tls = tls_connect(address, "localhost", &[b"http/1.1"]).await;
    assert_eq!(tls.get_ref().1.alpn_protocol(), Some(&b"http/1.1"[..]));
    let answer = get_over(tls, false, &host, "/").await;
    assert_eq!((answer.status, answer.body.as_str()), (200, "a"));

    // A protocol change keeps the socket: the same address now speaks plain HTTP.
    let lb = load_balancer(
        "web",
        vec![listener(
            "arn:l/443",
            443,
            ListenerProtocol::Http,
            fixed(200, "plain"),
        )],
    );
    plane.publish(snapshot(2, vec![lb], vec![]));
    assert_eq!(address_of(&plane, "arn:l/443"), address);
    assert_eq!(get(&http1_client(), address, &host, "/").await.body, "plain");
    plane.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tcp_listeners_relay_bytes() {
    let plane = start();
    let a = backend("a").await;
    let simulated = target(
        "sim",
        Dial::Simulated(Arc::new(SimulatedTarget {
            task_arn: "arn:task/sim".into(),
            error_rate: 0.0,
            error_status: 500,
            latency_ms: 0,
            version: "v1".into(),
        })),
    );
    let mut lb = load_balancer(
        "net",
        vec![
            listener(
                "arn:l/tcp",
                free_port(),
                ListenerProtocol::Tcp,
                forward(&[(0, 1)]),
            ),
            listener(
                "arn:l/sim",
                free_port(),
                ListenerProtocol::Tcp,
                forward(&[(1, 1)]),
            ),
        ],
    );
    lb.kind = ecsim_elb::LoadBalancerKind::Network;
    plane.publish(snapshot(
        1,
        vec![lb],
        vec![group("a", vec![loopback("a", a)]), group("sim", vec![simulated])],
    ));
    let mut stream = tokio::net::TcpStream::connect(address_of(&plane, "arn:l/tcp"))
        .await
        .expect("connect");
    stream
        .write_all(b"GET /headers HTTP/1.1\r\nHost: raw\r\nConnection: close\r\n\r\n")
        .await
        .expect("write");
    let mut raw = String::new();
    tokio::time::timeout(LIMIT, stream.read_to_string(&mut raw))
        .await
        .expect("in time")
        .expect("read");
    assert!(raw.starts_with("HTTP/1.1 200"), "{raw}");
    // Bytes pass untouched: no X-Forwarded-For is added.
    assert!(
        raw.contains("host: raw\n") && !raw.contains("x-forwarded-for"),
        "{raw}"
    );

    let answer = get(&http1_client(), address_of(&plane, "arn:l/sim"), "raw", "/x").await;
    assert_eq!(
        answer.body,
        r#"{"task":"arn:task/sim","version":"v1","path":"/x"}"#
    );
    plane.shutdown().await;
}
