//! One HTTP request through a load balancer: find the listener on the current snapshot, route
//! with [`ecsim_elb::route`], answer (fixed response, redirect, 503, forward to a loopback target
//! or a simulated task) and count the outcome into the metrics. The request keeps the snapshot it
//! started on until its response body ends.

use std::net::SocketAddr;
use std::sync::Arc;

use ecsim_elb::{
    Dial, ForwardDecision, LoadBalancerKind, LoadBalancerRoutes, RouteDecision, RoutingSnapshot,
    TargetProtocol,
};
use http::header::{HeaderValue, SET_COOKIE};
use http::{Request, Response};
use hyper::body::Incoming;

use crate::forward::{Forward, Forwarded, Outstanding};
use crate::metrics::Outcome;
use crate::simulated::Simulated;
use crate::view::{View, host_of, strip_port};
use crate::{BoxBody, Inner, errors};

/// Where a request came in.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Entry<'a> {
    /// A listener's own socket; `tls` when the client connected over TLS.
    Listener { arn: &'a str, tls: bool },
    /// The API gateway's port, with the port the `Host` header named.
    Gateway { listener_port: Option<u16> },
}

pub(crate) async fn handle(
    inner: &Arc<Inner>,
    entry: Entry<'_>,
    request: Request<Incoming>,
    remote: SocketAddr,
) -> Response<BoxBody> {
    let snapshot = inner.snapshot.load_full();
    let (parts, body) = request.into_parts();
    let found = match entry {
        Entry::Listener { arn, .. } => snapshot.listener(arn),
        Entry::Gateway { listener_port } => host_of(&parts)
            .map(strip_port)
            .and_then(|host| snapshot.load_balancer_by_dns(host))
            .and_then(|lb| lb.listener_for_port(listener_port).map(|l| (lb, l))),
    };
    let Some((lb, listener)) = found else {
        // The listener went away between accepting the connection and reading this request.
        return errors::elb_page(503);
    };
    let client_tls = matches!(entry, Entry::Listener { tls: true, .. });
    // A TCP listener reached through the gateway has no rules: its default forward applies.
    let decision = ecsim_elb::route(&snapshot, listener, &View::new(&parts, remote.ip()));
    let recorder = Recorder { inner, lb };
    match decision {
        RouteDecision::Fixed(fixed) => {
            recorder.record(Outcome::own(fixed.status_code, None));
            errors::fixed(fixed)
        }
        RouteDecision::Redirect {
            location,
            status_code,
        } => {
            recorder.record(Outcome::own(status_code, None));
            errors::redirect(&location, status_code)
        }
        RouteDecision::NoTarget { group } => {
            let group = group.and_then(|g| snapshot.target_groups.get(g));
            recorder.record(Outcome::elb_error(
                503,
                group.map(|g| g.metric_dimension.as_str()),
                None,
            ));
            errors::elb_page(503)
        }
        RouteDecision::Forward(decision) => {
            let forward = Target {
                snapshot: &snapshot,
                decision,
                listener_port: listener.port,
                client_tls,
                remote,
            };
            forward.answer(inner, &recorder, parts, body).await
        }
    }
}

/// Counts outcomes for one load balancer (network load balancers publish no ALB metrics).
struct Recorder<'a> {
    inner: &'a Inner,
    lb: &'a LoadBalancerRoutes,
}

impl Recorder<'_> {
    fn record(&self, outcome: Outcome<'_>) {
        if self.lb.kind == LoadBalancerKind::Network {
            return;
        }
        let now_ms = self.inner.config.clock.now_ms();
        self.inner
            .metrics
            .record(now_ms, &self.lb.metric_dimension, &outcome);
    }
}

/// A request on its way to the target the router chose.
struct Target<'s> {
    snapshot: &'s Arc<RoutingSnapshot>,
    decision: ForwardDecision<'s>,
    listener_port: u16,
    client_tls: bool,
    remote: SocketAddr,
}

impl Target<'_> {
    async fn answer(
        self,
        inner: &Inner,
        recorder: &Recorder<'_>,
        parts: http::request::Parts,
        body: Incoming,
    ) -> Response<BoxBody> {
        let group_routes = &self.snapshot.target_groups[self.decision.group];
        let group = Some(group_routes.metric_dimension.as_str());
        let zone = Some(self.decision.target.availability_zone.as_str());
        let idle_timeout_ms = recorder.lb.idle_timeout_ms;
        let mut response = match &self.decision.target.dial {
            Dial::Refused(reason) => {
                tracing::debug!(target = %self.decision.target.id, %reason, "target not reachable");
                recorder.record(Outcome::elb_error(502, group, zone));
                return errors::elb_page(502);
            }
            Dial::Loopback(address) => {
                // An injected fault plays in front of the target: its latency first, then its
                // error status for its share of requests; the rest go on to the target.
                let mut fault_latency_ms = 0.0;
                if let Some(fault) = &self.decision.target.fault {
                    match play_fault(fault, idle_timeout_ms).await {
                        FaultPlay::TimedOut => {
                            recorder.record(Outcome::elb_error(504, group, zone));
                            return errors::elb_page(504);
                        }
                        FaultPlay::Answer(status, latency_ms) => {
                            recorder.record(Outcome::target(status, group, zone, latency_ms));
                            return fault_response(status);
                        }
                        FaultPlay::Forward(latency_ms) => fault_latency_ms = latency_ms,
                    }
                }
                let forward = Forward {
                    snapshot: self.snapshot,
                    group: self.decision.group,
                    target_index: self.decision.target_index,
                    address: *address,
                    https_target: group_routes.target_protocol == TargetProtocol::Https,
                    idle_timeout_ms,
                    listener_port: self.listener_port,
                    client_tls: self.client_tls,
                    source_ip: self.remote.ip(),
                };
                match crate::forward::forward(inner, forward, parts, body).await {
                    Forwarded::Answered(response, elapsed_ms) => {
                        let status = response.status().as_u16();
                        let elapsed_ms = elapsed_ms + fault_latency_ms;
                        recorder.record(Outcome::target(status, group, zone, elapsed_ms));
                        response
                    }
                    Forwarded::Failed(status) => {
                        recorder.record(Outcome::elb_error(status, group, zone));
                        return errors::elb_page(status);
                    }
                }
            }
            Dial::Simulated(target) => {
                let _outstanding =
                    Outstanding::start(self.snapshot, self.decision.group, self.decision.target_index);
                drop(body);
                let path = parts.uri.path();
                match crate::simulated::answer(&inner.simulated, target, path, idle_timeout_ms).await {
                    Simulated::Answered(response, status, latency_ms) => {
                        recorder.record(Outcome::target(status, group, zone, latency_ms));
                        response
                    }
                    Simulated::TimedOut => {
                        recorder.record(Outcome::elb_error(504, group, zone));
                        return errors::elb_page(504);
                    }
                }
            }
        };
        for cookie in &self.decision.set_cookies {
            if let Ok(value) = HeaderValue::from_str(cookie) {
                response.headers_mut().append(SET_COOKIE, value);
            }
        }
        response
    }
}

/// What an injected fault does to one request to a loopback target.
enum FaultPlay {
    /// The added latency exceeds the load balancer's idle timeout: 504 from the load balancer.
    TimedOut,
    /// Answer this status as the target (after this many ms of latency).
    Answer(u16, f64),
    /// Forward to the target after this many ms of latency.
    Forward(f64),
}

/// Waits the fault's latency (a real wait: this is the IO edge) and decides the request's fate.
async fn play_fault(fault: &ecsim_elb::TargetFault, idle_timeout_ms: u64) -> FaultPlay {
    let n = fault.seen.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let wait_ms = fault.latency_ms.min(idle_timeout_ms);
    if wait_ms > 0 {
        #[allow(clippy::disallowed_methods)]
        let latency = tokio::time::sleep(std::time::Duration::from_millis(wait_ms));
        latency.await;
    }
    if fault.latency_ms > idle_timeout_ms {
        return FaultPlay::TimedOut;
    }
    // Latencies are far below 2^52 ms.
    #[allow(clippy::cast_precision_loss)]
    let latency_ms = wait_ms as f64;
    if crate::simulated::is_error(n, fault.error_rate) {
        FaultPlay::Answer(fault.error_status, latency_ms)
    } else {
        FaultPlay::Forward(latency_ms)
    }
}

/// The answer an error-rate fault gives in the target's place.
fn fault_response(status: u16) -> Response<BoxBody> {
    let body = format!("{{\"fault\":\"errorRate\",\"status\":{status}}}");
    let mut response = Response::new(errors::full(body));
    *response.status_mut() =
        http::StatusCode::from_u16(status).unwrap_or(http::StatusCode::INTERNAL_SERVER_ERROR);
    response.headers_mut().insert(
        http::header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    response
}
