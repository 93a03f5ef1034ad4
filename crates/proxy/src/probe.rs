//! Health checks as the control plane asks for them: one `GET` of the path on a fresh connection
//! (TLS without verification for HTTPS checks) with `User-Agent: ELB-HealthChecker/2.0`, the whole
//! answer read within the timeout, and the outcome sent to the probe sink. Only loopback
//! addresses are ever dialed.

use std::io;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use ecsim_elb::{ProbeOutcome, ProbeRequest, ProbeResult};
use http::header::{CONNECTION, HOST, USER_AGENT};
use http_body_util::{BodyExt, Empty};

use crate::Inner;
use crate::connector::TargetConnector;

const USER_AGENT_VALUE: &str = "ELB-HealthChecker/2.0";

pub(crate) fn spawn(inner: &Arc<Inner>, request: ProbeRequest) {
    let sink = inner.probe_sink.lock().clone();
    let connector = inner.connector.clone();
    inner.runtime.spawn(async move {
        let outcome = run(&connector, &request).await;
        tracing::debug!(address = %request.address, path = %request.path, ?outcome, "health check");
        let result = ProbeResult {
            key: request.key,
            outcome,
        };
        if sink.send(result).await.is_err() {
            tracing::debug!("probe sink closed; result dropped");
        }
    });
}

/// Performs the check.
pub(crate) async fn run(connector: &TargetConnector, request: &ProbeRequest) -> ProbeOutcome {
    if !request.address.ip().is_loopback() {
        return ProbeOutcome::Failed(format!(
            "{} is not a loopback address; ecsim dials loopback only",
            request.address
        ));
    }
    let limit = Duration::from_millis(request.timeout_ms.max(1));
    match tokio::time::timeout(limit, attempt(connector, request)).await {
        Err(_) => ProbeOutcome::Timeout,
        Ok(Ok(status)) => ProbeOutcome::Status(status),
        Ok(Err(reason)) => ProbeOutcome::Failed(reason),
    }
}

async fn attempt(connector: &TargetConnector, request: &ProbeRequest) -> Result<u16, String> {
    let stream = connector
        .connect(request.address, request.https)
        .await
        .map_err(|e| describe_io(&e))?;
    let (mut sender, connection) = hyper::client::conn::http1::handshake(stream)
        .await
        .map_err(|e| describe_hyper(&e))?;
    let path = if request.path.starts_with('/') {
        request.path.clone()
    } else {
        format!("/{}", request.path)
    };
    let http_request = http::Request::get(path)
        .header(HOST, request.address.to_string())
        .header(USER_AGENT, USER_AGENT_VALUE)
        .header(CONNECTION, "close")
        .body(Empty::<Bytes>::new())
        .map_err(|e| format!("invalid health check path: {e}"))?;
    let exchange = async {
        let response = sender
            .send_request(http_request)
            .await
            .map_err(|e| describe_hyper(&e))?;
        let status = response.status().as_u16();
        // Read the whole answer without keeping it.
        let mut body = response.into_body();
        while let Some(frame) = body.frame().await {
            frame.map_err(|e| describe_hyper(&e))?;
        }
        Ok(status)
    };
    tokio::pin!(connection);
    tokio::pin!(exchange);
    tokio::select! {
        biased;
        outcome = &mut exchange => outcome,
        // The connection can end right after handing over the last bytes of the answer: what
        // arrived before it ended decides, and nothing more can arrive, so this cannot hang.
        ended = &mut connection => match ended {
            Ok(()) => exchange.await,
            Err(error) => exchange.await.map_err(|_| describe_hyper(&error)),
        },
    }
}

fn describe_io(error: &io::Error) -> String {
    match error.kind() {
        io::ErrorKind::ConnectionRefused => "connection refused".to_owned(),
        io::ErrorKind::ConnectionReset => "connection reset".to_owned(),
        io::ErrorKind::ConnectionAborted => "connection aborted".to_owned(),
        io::ErrorKind::UnexpectedEof => "connection closed".to_owned(),
        _ => error.to_string(),
    }
}

fn describe_hyper(error: &hyper::Error) -> String {
    if error.is_incomplete_message() {
        return "connection closed before a complete response".to_owned();
    }
    if error.is_parse() {
        return format!("invalid HTTP response: {error}");
    }
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        if let Some(io_error) = cause.downcast_ref::<io::Error>() {
            return describe_io(io_error);
        }
        source = cause.source();
    }
    error.to_string()
}
