//! The HTTP endpoints (`/`, `/health`, `/env`, `/metadata`, `/whoami`, `/exit`) and the
//! per-process state they share: health, the error-rate counter, the hostname.

use std::io::BufReader;
use std::net::{IpAddr, TcpStream, ToSocketAddrs};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use crate::client::{self, Url};
use crate::config::Config;
use crate::http::{self, ReadError, Request, Response};
use crate::{clock, creds, sigv4};

/// How long an idle keep-alive connection is kept.
const IDLE_TIMEOUT: Duration = Duration::from_secs(60);
/// Timeout for calls to the metadata, credentials and STS endpoints.
const UPSTREAM_TIMEOUT: Duration = Duration::from_secs(5);

/// The body STS GetCallerIdentity is called with.
const STS_BODY: &str = "Action=GetCallerIdentity&Version=2011-06-15";

/// State shared by all connections.
#[derive(Debug)]
pub struct App {
    pub config: Config,
    pub hostname: String,
    /// Set when `ECSIM_UNHEALTHY_AFTER_SECONDS` has passed.
    pub turned_unhealthy: AtomicBool,
    /// Requests to `/` so far (drives the error rate).
    pub served: AtomicU64,
}

/// What to do after the response is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum After {
    Continue,
    Exit(i32),
}

/// Whether request number `n` (from 0) fails at error rate `rate`: spreads the failures evenly,
/// exactly `floor(n * rate)` of the first `n` requests fail.
pub fn is_error(n: u64, rate: f64) -> bool {
    ((n + 1) as f64 * rate).floor() > (n as f64 * rate).floor()
}

/// The machine's host name: `/etc/hostname`, else `$HOSTNAME`, else `unknown`.
pub fn hostname() -> String {
    std::fs::read_to_string("/etc/hostname")
        .ok()
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .or_else(|| std::env::var("HOSTNAME").ok().filter(|s| !s.is_empty()))
        .unwrap_or_else(|| "unknown".into())
}

fn env_var(name: &str) -> Option<String> {
    std::env::var(name).ok()
}

/// Resolves a host name to its addresses (none on failure).
fn resolve(host: &str) -> Vec<IpAddr> {
    (host, 0)
        .to_socket_addrs()
        .map(|addrs| addrs.map(|a| a.ip()).collect())
        .unwrap_or_default()
}

impl App {
    pub fn new(config: Config, hostname: String) -> Self {
        App {
            config,
            hostname,
            turned_unhealthy: AtomicBool::new(false),
            served: AtomicU64::new(0),
        }
    }

    pub fn healthy(&self) -> bool {
        self.config.healthy && !self.turned_unhealthy.load(Ordering::SeqCst)
    }

    /// Serves one connection until it closes, errs, or asks the process to exit.
    pub fn serve_connection(&self, stream: TcpStream) {
        let _ = stream.set_read_timeout(Some(IDLE_TIMEOUT));
        let Ok(read_half) = stream.try_clone() else {
            return;
        };
        let mut reader = BufReader::new(read_half);
        let mut writer = &stream;
        loop {
            let req = match http::read_request(&mut reader, &mut writer) {
                Ok(Some(req)) => req,
                Ok(None) | Err(ReadError::Io) => return,
                Err(ReadError::Bad(status, why)) => {
                    let resp = Response::text(status, format!("{why}\n"));
                    let _ = http::write_response(&mut writer, &resp, false, false);
                    return;
                }
            };
            let (resp, after) = self.handle(&req);
            let keep_alive = req.keep_alive() && after == After::Continue;
            let written = http::write_response(&mut writer, &resp, keep_alive, req.method == "HEAD");
            println!("{} {} {}", req.method, req.target, resp.status);
            if let After::Exit(code) = after {
                let _ = stream.shutdown(std::net::Shutdown::Write);
                println!("exiting with code {code} (requested by {})", req.target);
                std::process::exit(code);
            }
            if written.is_err() || !keep_alive {
                return;
            }
        }
    }

    /// Answers one request.
    pub fn handle(&self, req: &Request) -> (Response, After) {
        if req.method != "GET" && req.method != "HEAD" {
            let resp = Response::text(405, "method not allowed\n").with_header("Allow", "GET, HEAD");
            return (resp, After::Continue);
        }
        let resp = match req.path() {
            "/" => self.root(),
            "/health" => {
                if self.healthy() {
                    Response::text(200, "ok\n")
                } else {
                    Response::text(503, "unhealthy\n")
                }
            }
            "/env" => env_listing(),
            "/metadata" => metadata(),
            "/whoami" => whoami(),
            "/exit" => {
                let code = req.query_param("code").unwrap_or("0");
                return match code.parse::<i32>() {
                    Ok(code) => (
                        Response::text(200, format!("exiting with code {code}\n")),
                        After::Exit(code),
                    ),
                    Err(_) => (
                        Response::text(400, format!("invalid exit code '{code}'\n")),
                        After::Continue,
                    ),
                };
            }
            _ => Response::text(404, "not found\n"),
        };
        (resp, After::Continue)
    }

    fn root(&self) -> Response {
        let n = self.served.fetch_add(1, Ordering::SeqCst);
        if !self.config.latency.is_zero() {
            clock::sleep(self.config.latency);
        }
        let version = self.config.version.as_deref().unwrap_or("unset");
        if is_error(n, self.config.error_rate) {
            // Errors name the version and host too, so a client can tell which task failed.
            return Response::text(
                500,
                format!(
                    "simulated error (ECSIM_ERROR_RATE) version={version} host={}\n",
                    self.hostname
                ),
            );
        }
        Response::text(
            200,
            format!("ecsim-testapp version={version} host={}\n", self.hostname),
        )
    }
}

/// `KEY=VALUE` lines of the process environment, sorted.
fn env_listing() -> Response {
    let mut lines: Vec<String> = std::env::vars_os()
        .map(|(k, v)| format!("{}={}", k.to_string_lossy(), v.to_string_lossy()))
        .collect();
    lines.sort();
    let mut body = lines.join("\n");
    body.push('\n');
    Response::text(200, body)
}

fn bad_gateway(text: impl std::fmt::Display) -> Response {
    Response::text(502, format!("{text}\n"))
}

/// GETs `url` and returns its body when the answer is 2xx JSON.
fn get_json(url: &str) -> Result<String, String> {
    let parsed = Url::parse(url)?;
    let reply = client::request("GET", &parsed, &[], b"", UPSTREAM_TIMEOUT)?;
    let body = reply.body_text();
    if !reply.is_success() {
        return Err(format!(
            "GET {url} answered {}: {}",
            reply.status,
            body.trim_end()
        ));
    }
    crate::json::validate(&body).map_err(|e| format!("GET {url} returned invalid JSON ({e})"))?;
    Ok(body)
}

/// Task metadata endpoint v4: the container's and the task's documents.
fn metadata() -> Response {
    let Some(base) = env_var("ECS_CONTAINER_METADATA_URI_V4").filter(|v| !v.is_empty()) else {
        return bad_gateway("ECS_CONTAINER_METADATA_URI_V4 is not set");
    };
    let base = base.trim_end_matches('/');
    let result = get_json(base).and_then(|container| {
        let task = get_json(&format!("{base}/task"))?;
        Ok(format!(
            "{{\"container\": {}, \"task\": {}}}\n",
            container.trim(),
            task.trim()
        ))
    });
    match result {
        Ok(body) => Response::new(200, "application/json", body),
        Err(e) => bad_gateway(e),
    }
}

/// Container credentials, then STS GetCallerIdentity signed with them.
fn whoami() -> Response {
    match caller_identity() {
        Ok(xml) => Response::new(200, "text/xml", xml),
        Err(e) => bad_gateway(e),
    }
}

fn caller_identity() -> Result<Vec<u8>, String> {
    let request = creds::credentials_request(env_var, |path| std::fs::read_to_string(path), resolve)?;
    let headers: Vec<(&str, String)> = request
        .authorization
        .iter()
        .map(|token| ("Authorization", token.clone()))
        .collect();
    let reply = client::request("GET", &request.url, &headers, b"", UPSTREAM_TIMEOUT)
        .map_err(|e| format!("credentials endpoint: {e}"))?;
    if !reply.is_success() {
        return Err(format!(
            "credentials endpoint {} answered {}: {}",
            request.url.authority(),
            reply.status,
            reply.body_text().trim_end()
        ));
    }
    let credentials = creds::parse_credentials(&reply.body_text())?;

    let endpoint = env_var("AWS_ENDPOINT_URL_STS")
        .filter(|v| !v.is_empty())
        .or_else(|| env_var("AWS_ENDPOINT_URL").filter(|v| !v.is_empty()))
        .ok_or("AWS_ENDPOINT_URL is not set (only plain-http endpoints are supported)")?;
    let url = Url::parse(&endpoint)?;
    let region = env_var("AWS_REGION")
        .filter(|v| !v.is_empty())
        .or_else(|| env_var("AWS_DEFAULT_REGION").filter(|v| !v.is_empty()))
        .unwrap_or_else(|| "us-east-1".into());
    let amz_date = sigv4::amz_date(clock::since_epoch().as_secs());
    let (authorization, headers) = sts_request(&url, &credentials, &region, &amz_date);
    let mut send: Vec<(&str, String)> = headers
        .iter()
        .filter(|(k, _)| k != "host")
        .map(|(k, v)| (k.as_str(), v.clone()))
        .collect();
    send.push(("authorization", authorization));
    let reply = client::request("POST", &url, &send, STS_BODY.as_bytes(), UPSTREAM_TIMEOUT)
        .map_err(|e| format!("STS: {e}"))?;
    if reply.is_success() {
        Ok(reply.body)
    } else {
        Err(format!(
            "STS answered {}: {}",
            reply.status,
            reply.body_text().trim_end()
        ))
    }
}

/// The signed headers of a GetCallerIdentity POST to `url`, and its `Authorization` value.
pub fn sts_request(
    url: &Url,
    credentials: &sigv4::Credentials,
    region: &str,
    amz_date: &str,
) -> (String, Vec<(String, String)>) {
    let mut headers = vec![
        (
            "content-type".to_string(),
            "application/x-www-form-urlencoded; charset=utf-8".to_string(),
        ),
        ("host".to_string(), url.host_header()),
        (
            "x-amz-content-sha256".to_string(),
            sigv4::sha256_hex(STS_BODY.as_bytes()),
        ),
        ("x-amz-date".to_string(), amz_date.to_string()),
    ];
    if let Some(token) = &credentials.session_token {
        headers.push(("x-amz-security-token".to_string(), token.clone()));
    }
    let scope = sigv4::Scope {
        region,
        service: "sts",
        amz_date,
    };
    let authorization = sigv4::authorization(
        "POST",
        url.path(),
        url.query(),
        &headers,
        STS_BODY.as_bytes(),
        credentials,
        scope,
    );
    (authorization, headers)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_rate_counter_is_exact_and_even() {
        let failures = |rate: f64, n: u64| (0..n).filter(|&i| is_error(i, rate)).count();
        assert_eq!(failures(0.0, 1000), 0);
        assert_eq!(failures(1.0, 1000), 1000);
        assert_eq!(failures(0.25, 1000), 250);
        assert_eq!(failures(0.1, 1000), 100);
        assert_eq!(failures(0.5, 1000), 500);
        let pattern: Vec<bool> = (0..8).map(|i| is_error(i, 0.25)).collect();
        assert_eq!(pattern, [false, false, false, true, false, false, false, true]);
        // Never two failures in a row below 50%.
        assert!((0..1000).all(|i| !(is_error(i, 0.3) && is_error(i + 1, 0.3))));
    }

    fn app(vars: &[(&str, &str)]) -> App {
        let config = Config::from_vars(|k| {
            vars.iter()
                .find(|(name, _)| *name == k)
                .map(|(_, v)| (*v).to_string())
        })
        .unwrap();
        App::new(config, "box".into())
    }

    fn get(app: &App, target: &str) -> (Response, After) {
        let req = Request {
            method: "GET".into(),
            target: target.into(),
            http10: false,
            headers: Vec::new(),
            body: Vec::new(),
        };
        app.handle(&req)
    }

    #[test]
    fn routes() {
        let a = app(&[("ECSIM_VERSION", "v7"), ("ECSIM_ERROR_RATE", "0.5")]);
        let (r, _) = get(&a, "/");
        assert_eq!(r.status, 200);
        assert_eq!(r.body, b"ecsim-testapp version=v7 host=box\n");
        assert_eq!(get(&a, "/").0.status, 500);
        assert_eq!(get(&a, "/?x=1").0.status, 200);
        assert_eq!(get(&a, "/health").0.body, b"ok\n");
        assert_eq!(get(&a, "/nope").0.status, 404);
        assert_eq!(get(&a, "/exit?code=3").1, After::Exit(3));
        assert_eq!(get(&a, "/exit").1, After::Exit(0));
        assert_eq!(get(&a, "/exit?code=x").0.status, 400);
        let env = get(&a, "/env").0;
        assert_eq!(env.status, 200);
        let post = Request {
            method: "POST".into(),
            target: "/".into(),
            http10: false,
            headers: Vec::new(),
            body: Vec::new(),
        };
        assert_eq!(a.handle(&post).0.status, 405);

        let unset = app(&[("ECSIM_HEALTH", "UNHEALTHY")]);
        assert_eq!(get(&unset, "/").0.body, b"ecsim-testapp version=unset host=box\n");
        assert_eq!(get(&unset, "/health").0.status, 503);
        let later = app(&[]);
        later.turned_unhealthy.store(true, Ordering::SeqCst);
        assert_eq!(get(&later, "/health").0.body, b"unhealthy\n");
    }

    #[test]
    fn sts_request_headers() {
        let url = Url::parse("http://169.254.170.2:4566").unwrap();
        let credentials = sigv4::Credentials {
            access_key_id: "ASIAEXAMPLEKEY".into(),
            secret_access_key: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY".into(),
            session_token: Some("session-token-example".into()),
        };
        let (authorization, headers) = sts_request(&url, &credentials, "eu-west-1", "20240517T093005Z");
        // Same inputs as the botocore-checked vector in `sigv4`.
        assert!(
            authorization
                .ends_with("Signature=0c3b021f5c08ec4ba22233fbd8bef65375b011875b41a72b7fb7308af2d8bfeb"),
            "{authorization}"
        );
        assert!(headers.contains(&("host".into(), "169.254.170.2:4566".into())));
        let no_token = sigv4::Credentials {
            session_token: None,
            ..credentials
        };
        let (authorization, headers) = sts_request(&url, &no_token, "us-east-1", "20240517T093005Z");
        assert!(authorization.contains("SignedHeaders=content-type;host;x-amz-content-sha256;x-amz-date,"));
        assert!(!headers.iter().any(|(k, _)| k == "x-amz-security-token"));
    }
}
