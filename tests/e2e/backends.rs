//! Small HTTP backends on 127.0.0.1 for load balancer tests: each answers with its name, counts
//! what it served (health checks aside), and can be switched to fail, hang or answer slowly. They stop when dropped.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU8, AtomicU64, Ordering};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::Full;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum Mode {
    /// 200 with the backend's name.
    Ok = 0,
    /// 500 on every path.
    Fail = 1,
    /// Accepts and never answers.
    Hang = 2,
    /// Answers after 1.5 s.
    Slow = 3,
}

pub struct Backend {
    pub addr: SocketAddr,
    pub hits: Arc<AtomicU64>,
    mode: Arc<AtomicU8>,
    task: tokio::task::JoinHandle<()>,
}

impl Backend {
    pub async fn start(name: &str) -> Backend {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind a backend");
        let addr = listener.local_addr().expect("local address");
        let hits = Arc::new(AtomicU64::new(0));
        let mode = Arc::new(AtomicU8::new(Mode::Ok as u8));
        let (h, m, n) = (hits.clone(), mode.clone(), name.to_string());
        let task = tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    return;
                };
                let (h, m, n) = (h.clone(), m.clone(), n.clone());
                tokio::spawn(async move {
                    let service = service_fn(move |req: Request<hyper::body::Incoming>| {
                        let (h, m, n) = (h.clone(), m.clone(), n.clone());
                        async move {
                            let mode = m.load(Ordering::SeqCst);
                            let health_check = req
                                .headers()
                                .get("user-agent")
                                .and_then(|v| v.to_str().ok())
                                .is_some_and(|ua| ua.starts_with("ELB-HealthChecker/"));
                            if !health_check {
                                h.fetch_add(1, Ordering::SeqCst);
                            }
                            match mode {
                                1 => Ok::<_, std::convert::Infallible>(
                                    Response::builder()
                                        .status(500)
                                        .body(Full::new(Bytes::from(format!("{n} failed"))))
                                        .expect("response"),
                                ),
                                2 => {
                                    std::future::pending::<()>().await;
                                    unreachable!()
                                }
                                _ => {
                                    if mode == 3 {
                                        // A backend is an IO edge that answers slowly on purpose.
                                        #[allow(clippy::disallowed_methods)]
                                        tokio::time::sleep(Duration::from_millis(1_500)).await;
                                    }
                                    let body = format!("{n} {}", req.uri().path());
                                    Ok(Response::new(Full::new(Bytes::from(body))))
                                }
                            }
                        }
                    });
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        Backend {
            addr,
            hits,
            mode,
            task,
        }
    }

    pub fn set_mode(&self, mode: Mode) {
        self.mode.store(mode as u8, Ordering::SeqCst);
    }

    pub fn hits(&self) -> u64 {
        self.hits.load(Ordering::SeqCst)
    }

    pub fn port(&self) -> i32 {
        i32::from(self.addr.port())
    }
}

impl Drop for Backend {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// A port on 127.0.0.1 that refuses connections (bound once, then released).
pub async fn refused_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let port = listener.local_addr().expect("address").port();
    drop(listener);
    port
}
