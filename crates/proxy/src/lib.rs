//! ecsim's load-balancer data plane: the only component besides the API gateway that touches
//! sockets.
//!
//! The control plane publishes immutable [`RoutingSnapshot`]s; [`DataPlane::publish`] swaps the
//! current one (readers load it per request through `arc_swap`, never a lock) and reconciles the
//! listening sockets with it: every listener is a real server on `bind_ip:<port>` when that port
//! can be bound, else on a free port. Each request is routed by [`ecsim_elb::route`] on the
//! snapshot it started with and then answered from a fixed response or a redirect, forwarded to a
//! loopback target through a pooled client, or answered by a simulated task's behaviour model.
//! Every request is counted into per-minute `AWS/ApplicationELB` metrics that a background task
//! hands to the [`MetricsSink`]. Health checks asked for by the control plane are performed here
//! too, and only ever against loopback addresses.

mod connection;
mod connector;
mod errors;
mod forward;
mod handler;
mod listeners;
mod metrics;
mod pool;
mod probe;
mod simulated;
mod tcp;
mod tls;
mod view;

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use arc_swap::ArcSwap;
use bytes::Bytes;
use ecsim_core::{Clock, MetricsSink};
use ecsim_elb::{ProbeRequest, ProbeResult, RoutingSnapshot};
use parking_lot::Mutex;
use tokio::sync::{mpsc, watch};

pub use ecsim_elb::ListenerProtocol;
pub use listeners::ListenerBinding;

/// Splits a `Host` header value into the host (without its port) and the port it names, e.g. for
/// [`DataPlane::serves_host`] and [`DataPlane::handle_via_gateway`].
pub fn split_host(host: &str) -> (&str, Option<u16>) {
    (view::strip_port(host), view::port_of(host))
}

/// The body of every response the data plane produces: target bodies are streamed through,
/// the load balancer's own answers are small and complete.
pub type BoxBody = http_body_util::combinators::BoxBody<Bytes, hyper::Error>;

/// What the data plane needs from the emulator.
#[derive(Debug, Clone)]
pub struct DataPlaneConfig {
    /// The address every listener binds (127.0.0.1).
    pub bind_ip: IpAddr,
    /// The only time source for metric timestamps and trace ids.
    pub clock: Arc<dyn Clock>,
    /// Where completed minutes of `AWS/ApplicationELB` metrics go.
    pub metrics: Arc<dyn MetricsSink>,
    /// Where health-check results go (see [`DataPlane::probe`]); replaceable with
    /// [`DataPlane::set_probe_sink`].
    pub probe_results: mpsc::Sender<ProbeResult>,
}

/// The running data plane. Cheap to clone: every clone drives the same listeners.
#[derive(Debug, Clone)]
pub struct DataPlane {
    inner: Arc<Inner>,
}

/// State shared by the listeners, the request path and the background tasks.
#[derive(Debug)]
pub(crate) struct Inner {
    pub(crate) config: DataPlaneConfig,
    pub(crate) runtime: tokio::runtime::Handle,
    /// The current routing snapshot: loaded per request, swapped per publication.
    pub(crate) snapshot: ArcSwap<RoutingSnapshot>,
    /// Bound listeners; locked by `publish`, `listeners` and `shutdown` only.
    pub(crate) listeners: Mutex<listeners::Registry>,
    pub(crate) certificates: tls::CertificateStore,
    /// Idle keep-alive connections to targets.
    pub(crate) pool: Arc<pool::TargetPool>,
    /// Dials targets for forwarded requests and for health checks.
    pub(crate) connector: connector::TargetConnector,
    pub(crate) metrics: metrics::Recorder,
    pub(crate) simulated: simulated::Counters,
    pub(crate) trace_ids: forward::TraceIds,
    pub(crate) probe_sink: Mutex<mpsc::Sender<ProbeResult>>,
    /// Turns `true` once, at shutdown.
    pub(crate) stopping: watch::Sender<bool>,
}

impl DataPlane {
    /// Starts the data plane with no listeners and the metrics flusher. Must be called inside a
    /// tokio runtime; every task the data plane spawns later runs on that runtime, so `publish`
    /// and `probe` may be called from any thread.
    pub fn start(config: DataPlaneConfig) -> DataPlane {
        let (stopping, _) = watch::channel(false);
        let connector = connector::TargetConnector::new(tls::insecure_client_config());
        let inner = Arc::new(Inner {
            runtime: tokio::runtime::Handle::current(),
            snapshot: ArcSwap::from_pointee(RoutingSnapshot::default()),
            listeners: Mutex::new(listeners::Registry::default()),
            certificates: tls::CertificateStore::default(),
            pool: Arc::default(),
            connector,
            metrics: metrics::Recorder::default(),
            simulated: simulated::Counters::default(),
            trace_ids: forward::TraceIds::default(),
            probe_sink: Mutex::new(config.probe_results.clone()),
            stopping,
            config,
        });
        metrics::spawn_flusher(&inner);
        DataPlane { inner }
    }

    /// Makes `snapshot` current for every request that starts from now on, then reconciles the
    /// listening sockets with it: binds new listeners, stops accepting on removed ones (their
    /// requests in flight finish) and rebinds listeners whose port changed. Binding is
    /// synchronous and never fails a listener: a port that cannot be bound is replaced by a free
    /// one. Does nothing to the sockets after [`DataPlane::shutdown`].
    pub fn publish(&self, snapshot: Arc<RoutingSnapshot>) {
        self.inner.snapshot.store(Arc::clone(&snapshot));
        self.inner.simulated.retain(&snapshot);
        listeners::reconcile(&self.inner, &snapshot);
    }

    /// The listeners currently bound, in the snapshot's order.
    pub fn listeners(&self) -> Vec<ListenerBinding> {
        listeners::bindings(&self.inner)
    }

    /// Whether `host_without_port` is the DNS name of a load balancer in the current snapshot
    /// (case-insensitive).
    pub fn serves_host(&self, host_without_port: &str) -> bool {
        self.inner
            .snapshot
            .load()
            .load_balancer_by_dns(host_without_port)
            .is_some()
    }

    /// Answers a request that reached the API gateway's port with `Host: <DNSName>[:port]`: the
    /// listener [`ecsim_elb::LoadBalancerRoutes::listener_for_port`] picks for `listener_port`
    /// routes it as if it had arrived on that listener (`X-Forwarded-Proto: http`). A host that
    /// is no load balancer's DNS name gets the ALB's 503 page.
    pub async fn handle_via_gateway(
        &self,
        request: http::Request<hyper::body::Incoming>,
        remote: SocketAddr,
        listener_port: Option<u16>,
    ) -> http::Response<BoxBody> {
        handler::handle(
            &self.inner,
            handler::Entry::Gateway { listener_port },
            request,
            remote,
        )
        .await
    }

    /// Performs one health check in the background and sends its result to the probe sink
    /// (`DataPlaneConfig::probe_results`, or the one [`DataPlane::set_probe_sink`] set last); a
    /// result whose sink is closed is dropped.
    pub fn probe(&self, request: ProbeRequest) {
        probe::spawn(&self.inner, request);
    }

    /// Where probe results go from now on, instead of `DataPlaneConfig::probe_results`.
    pub fn set_probe_sink(&self, sink: mpsc::Sender<ProbeResult>) {
        *self.inner.probe_sink.lock() = sink;
    }

    /// The DER certificate an HTTPS listener of this load balancer presents, once one is bound.
    pub fn certificate_der(&self, load_balancer_arn: &str) -> Option<Vec<u8>> {
        self.inner.certificates.certificate_der(load_balancer_arn)
    }

    /// Stops every listener, waits (a few seconds at most) for the requests in flight, and
    /// flushes every metric minute, complete or not.
    pub async fn shutdown(&self) {
        self.inner.stopping.send_replace(true);
        listeners::stop_all(&self.inner).await;
        self.inner.metrics.flush_all(&self.inner);
    }
}
