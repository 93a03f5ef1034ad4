//! Health checks: status codes, timeouts, refused connections, HTTPS without verification, and
//! the refusal to dial anything but loopback.

mod common;

use std::net::SocketAddr;
use std::time::Duration;

use common::*;
use ecsim_elb::{ListenerProtocol, ProbeKey, ProbeOutcome, ProbeRequest, ProbeResult};
use tokio::sync::mpsc;

fn request(sequence: u64, address: SocketAddr, path: &str, https: bool, timeout_ms: u64) -> ProbeRequest {
    ProbeRequest {
        key: ProbeKey {
            world: 0,
            target_group_arn: "arn:tg".into(),
            target_id: address.ip().to_string(),
            target_port: address.port(),
            sequence,
        },
        address,
        https,
        path: path.into(),
        timeout_ms,
    }
}

async fn outcome(results: &mut mpsc::Receiver<ProbeResult>, sequence: u64) -> ProbeOutcome {
    let result = tokio::time::timeout(LIMIT, results.recv())
        .await
        .expect("probe result in time")
        .expect("sink open");
    assert_eq!(result.key.sequence, sequence);
    result.outcome
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn probes_report_status_timeout_and_failure() {
    let plane = start();
    let (sink, mut results) = mpsc::channel(8);
    plane.set_probe_sink(sink);

    // The probed "target" is a load balancer listener answering per path, over HTTP and HTTPS.
    let mut l = listener("arn:l/http", 80, ListenerProtocol::Http, fixed(404, "missing"));
    l.rules = vec![rule(
        1,
        vec![ecsim_elb::Condition::PathPattern(vec!["/health".into()])],
        fixed(200, "ok"),
    )];
    let tls = listener("arn:l/https", 443, ListenerProtocol::Https, fixed(204, ""));
    plane.publish(snapshot(1, vec![load_balancer("web", vec![l, tls])], vec![]));
    let http = address_of(&plane, "arn:l/http");
    let https = address_of(&plane, "arn:l/https");

    plane.probe(request(1, http, "/health", false, 2_000));
    assert_eq!(outcome(&mut results, 1).await, ProbeOutcome::Status(200));
    plane.probe(request(2, http, "/other?x=1", false, 2_000));
    assert_eq!(outcome(&mut results, 2).await, ProbeOutcome::Status(404));
    plane.probe(request(3, https, "/", true, 2_000));
    assert_eq!(outcome(&mut results, 3).await, ProbeOutcome::Status(204));

    plane.probe(request(4, silent_backend().await, "/", false, 200));
    assert_eq!(outcome(&mut results, 4).await, ProbeOutcome::Timeout);

    plane.probe(request(5, refused_port(), "/", false, 2_000));
    assert_eq!(
        outcome(&mut results, 5).await,
        ProbeOutcome::Failed("connection refused".into())
    );

    plane.probe(request(
        6,
        SocketAddr::from(([192, 0, 2, 1], 80)),
        "/",
        false,
        2_000,
    ));
    assert!(matches!(outcome(&mut results, 6).await, ProbeOutcome::Failed(r) if r.contains("loopback")));

    // A target that closes the connection without answering.
    let closer = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let closer_address = closer.local_addr().expect("address");
    tokio::spawn(async move {
        while let Ok((stream, _)) = closer.accept().await {
            drop(stream);
        }
    });
    plane.probe(request(7, closer_address, "/", false, 2_000));
    assert!(matches!(outcome(&mut results, 7).await, ProbeOutcome::Failed(_)));

    // Nothing arrives for probes nobody asked for.
    assert!(
        tokio::time::timeout(Duration::from_millis(50), results.recv())
            .await
            .is_err()
    );
    plane.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn probes_send_the_health_checker_user_agent() {
    let plane = start();
    let (sink, mut results) = mpsc::channel(1);
    plane.set_probe_sink(sink);
    // A raw target that records the request head.
    let target = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let address = target.local_addr().expect("address");
    let head = tokio::spawn(async move {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let (mut stream, _) = target.accept().await.expect("accept");
        let mut buffer = vec![0_u8; 4096];
        let mut read = 0;
        while !buffer[..read].windows(4).any(|w| w == b"\r\n\r\n") {
            let n = stream.read(&mut buffer[read..]).await.expect("read");
            assert!(n > 0, "closed early");
            read += n;
        }
        stream
            .write_all(b"HTTP/1.1 302 Found\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok")
            .await
            .expect("write");
        String::from_utf8_lossy(&buffer[..read]).into_owned()
    });
    plane.probe(request(1, address, "/ping?deep=1", false, 2_000));
    assert_eq!(outcome(&mut results, 1).await, ProbeOutcome::Status(302));
    let head = head.await.expect("head").to_ascii_lowercase();
    assert!(head.starts_with("get /ping?deep=1 http/1.1\r\n"), "{head}");
    assert!(head.contains("user-agent: elb-healthchecker/2.0\r\n"), "{head}");
    assert!(head.contains(&format!("host: {address}\r\n")), "{head}");
    plane.shutdown().await;
}
