//! Performs the function invocations the engine queues for lifecycle hooks (an HTTP POST of the
//! payload, or a command fed the payload on stdin), each on its own task under a real-time timeout,
//! and reports every outcome back through `Engine::complete_invocation`. It must never hold the
//! engine lock across an `.await`, never decide what an outcome means (the engine does), never drop
//! an invocation without an outcome, and never run more than [`MAX_CONCURRENT_INVOCATIONS`] at once.

use std::process::Stdio;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use ecsim_control::functions::{FunctionTarget, Invocation, InvocationOutcome, function_name};
use http_body_util::{BodyExt, Full, Limited};
use hyper::header::{CONTENT_TYPE, HOST, USER_AGENT};
use hyper_util::rt::TokioIo;
use serde_json::Value;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt};
use tokio::sync::Semaphore;

use crate::shared::{DataPlaneEffects, Shared};

/// Real time an invocation may take, by default (the clock's time scale does not shorten it: the
/// function is a real process or server).
pub const DEFAULT_FUNCTION_TIMEOUT_MS: u64 = 30_000;

/// Invocations performed at once, at most; the others wait for a slot (their timeout starts when
/// they get one).
pub const MAX_CONCURRENT_INVOCATIONS: usize = 64;

/// Largest result read: an HTTP response body or a command's stdout. More is a failed invocation.
pub const MAX_RESULT_BYTES: usize = 1024 * 1024;

/// Characters of a body or of stderr quoted in a failure message.
const EXCERPT_CHARS: usize = 200;

/// Bytes of a command's stderr kept (the end of it) while it runs.
const STDERR_TAIL_BYTES: usize = 4 * 1024;

/// Longest function name Lambda accepts.
const MAX_FUNCTION_NAME_CHARS: usize = 64;

/// How invocations are performed.
#[derive(Debug, Clone)]
pub struct InvokeSettings {
    /// Real time one invocation may take before it fails (and its command is killed).
    pub timeout_ms: u64,
    /// What commands get as `AWS_ENDPOINT_URL`: this emulator's API.
    pub endpoint_url: String,
}

/// The edge that performs invocations: its settings and the bound on concurrent invocations.
pub struct Invoker {
    settings: InvokeSettings,
    slots: Semaphore,
}

impl Invoker {
    pub fn new(settings: InvokeSettings) -> Self {
        Self {
            settings,
            slots: Semaphore::new(MAX_CONCURRENT_INVOCATIONS),
        }
    }
}

/// Starts the invocations an engine call queued, each on its own task. Call with the engine
/// unlocked. Without a tokio runtime to run them on, each one fails at once (through the engine,
/// so the hook that waits on it fails) instead of being dropped.
pub(crate) fn start(shared: &Shared, invocations: Vec<Invocation>) {
    if invocations.is_empty() {
        return;
    }
    let runtime = tokio::runtime::Handle::try_current();
    match (runtime, shared.arc()) {
        (Ok(runtime), Some(owner)) => {
            for invocation in invocations {
                tracing::debug!(id = invocation.id, function = %invocation.function_name, "invoking a function stand-in");
                runtime.spawn(run(owner.clone(), invocation));
            }
        }
        (Err(_), _) => fail_now(shared, invocations, |name| {
            format!("no async runtime to invoke {name}")
        }),
        (Ok(_), None) => fail_now(shared, invocations, |name| {
            format!("ecsim is shutting down and cannot invoke {name}")
        }),
    }
}

/// Completes `invocations` as failed right away, and whatever invocations those failures queue in
/// turn (a failed hook can start a rollback that invokes more hooks).
fn fail_now(shared: &Shared, mut invocations: Vec<Invocation>, reason: impl Fn(&str) -> String) {
    while !invocations.is_empty() {
        let (commands, mut effects) = {
            let mut engine = shared.engine.lock();
            let now_ms = shared.clock.now_ms();
            for invocation in invocations.drain(..) {
                let message = reason(&invocation.function_name);
                tracing::warn!(id = invocation.id, function = %invocation.function_name, %message, "function invocation failed");
                engine.complete_invocation(now_ms, invocation.id, InvocationOutcome::Failed(message));
            }
            (
                engine.take_runtime_commands(),
                DataPlaneEffects::take(&mut engine),
            )
        };
        invocations = std::mem::take(&mut effects.invocations);
        if !commands.is_empty() {
            tracing::warn!(
                count = commands.len(),
                "no async runtime to send runtime commands; they were dropped"
            );
        }
        shared.apply_data_plane(effects);
    }
}

/// One invocation: wait for a slot, perform it, hand the outcome to the engine and carry out what
/// that queued, as the event pumps do.
async fn run(shared: Arc<Shared>, invocation: Invocation) {
    let outcome = match shared.functions.slots.acquire().await {
        Ok(_slot) => perform(&invocation, &shared.functions.settings).await,
        Err(_) => InvocationOutcome::Failed(format!(
            "ecsim is shutting down and cannot invoke {}",
            invocation.function_name
        )),
    };
    match &outcome {
        InvocationOutcome::Returned(_) => {
            tracing::debug!(id = invocation.id, function = %invocation.function_name, "function returned");
        }
        InvocationOutcome::Failed(message) => {
            tracing::warn!(id = invocation.id, function = %invocation.function_name, %message, "function invocation failed");
        }
    }
    let (commands, effects) = {
        let mut engine = shared.engine.lock();
        engine.complete_invocation(shared.clock.now_ms(), invocation.id, outcome);
        (
            engine.take_runtime_commands(),
            DataPlaneEffects::take(&mut engine),
        )
    };
    shared.apply_data_plane(effects);
    shared.send_runtime_commands(commands).await;
    shared.wake.notify_one();
}

/// Performs one invocation under the timeout. Never panics; every failure is an outcome.
pub async fn perform(invocation: &Invocation, settings: &InvokeSettings) -> InvocationOutcome {
    let name = invocation.function_name.as_str();
    let limit = Duration::from_millis(settings.timeout_ms.max(1));
    match &invocation.target {
        FunctionTarget::Http { url } => {
            match tokio::time::timeout(limit, post(name, url, &invocation.payload)).await {
                Ok(outcome) => outcome,
                Err(_) => InvocationOutcome::Failed(format!(
                    "{name} did not answer within {} ms ({url})",
                    settings.timeout_ms
                )),
            }
        }
        FunctionTarget::Command { program, args } => {
            run_command(name, program, args, &invocation.payload, settings, limit).await
        }
    }
}

/// The result of a function: JSON when the text is JSON, else the text (surrounding whitespace
/// trimmed), `null` when there is none.
pub fn parse_result(bytes: &[u8]) -> Value {
    let text = String::from_utf8_lossy(bytes);
    let text = text.trim();
    if text.is_empty() {
        return Value::Null;
    }
    serde_json::from_str(text).unwrap_or_else(|_| Value::String(text.to_string()))
}

// ---------------------------------------------------------------------------------------------
// HTTP stand-ins

async fn post(name: &str, url: &str, payload: &Value) -> InvocationOutcome {
    let failed = |reason: String| InvocationOutcome::Failed(format!("{name}: cannot reach {url}: {reason}"));
    let uri: hyper::Uri = match url.parse() {
        Ok(uri) => uri,
        Err(e) => return InvocationOutcome::Failed(format!("{name}: invalid URL {url}: {e}")),
    };
    match uri.scheme_str() {
        Some("http") => {}
        Some("https") => {
            return InvocationOutcome::Failed(format!(
                "{name}: {url}: ecsim calls function stand-ins over http:// only (https:// is not supported)"
            ));
        }
        _ => return InvocationOutcome::Failed(format!("{name}: {url} is not an http:// URL")),
    }
    let (Some(authority), Some(host)) = (uri.authority(), uri.host()) else {
        return InvocationOutcome::Failed(format!("{name}: {url} names no host"));
    };
    let host = host.trim_start_matches('[').trim_end_matches(']');
    let port = uri.port_u16().unwrap_or(80);
    let path = uri.path_and_query().map_or("/", |p| p.as_str());
    let stream = match tokio::net::TcpStream::connect((host, port)).await {
        Ok(stream) => stream,
        Err(e) => return failed(describe_io(&e)),
    };
    let _ = stream.set_nodelay(true);
    let (mut sender, connection) = match hyper::client::conn::http1::handshake(TokioIo::new(stream)).await {
        Ok(pair) => pair,
        Err(e) => return failed(describe_hyper(&e)),
    };
    let body = serde_json::to_vec(payload).unwrap_or_default();
    let request = match hyper::Request::post(path)
        .header(HOST, authority.as_str())
        .header(CONTENT_TYPE, "application/json")
        .header(USER_AGENT, concat!("ecsim/", env!("CARGO_PKG_VERSION")))
        .header("x-ecsim-function-name", name)
        .body(Full::new(Bytes::from(body)))
    {
        Ok(request) => request,
        Err(e) => return InvocationOutcome::Failed(format!("{name}: invalid request to {url}: {e}")),
    };
    let exchange = async {
        let response = sender
            .send_request(request)
            .await
            .map_err(|e| describe_hyper(&e))?;
        let status = response.status();
        let body = Limited::new(response.into_body(), MAX_RESULT_BYTES)
            .collect()
            .await
            .map_err(|e| {
                if e.is::<http_body_util::LengthLimitError>() {
                    format!("the answer is larger than {MAX_RESULT_BYTES} bytes")
                } else {
                    format!("reading the answer: {e}")
                }
            })?
            .to_bytes();
        Ok::<_, String>((status, body))
    };
    tokio::pin!(connection);
    tokio::pin!(exchange);
    let answered = tokio::select! {
        biased;
        answered = &mut exchange => answered,
        // The connection can end right after handing over the last bytes of the answer: what
        // arrived before it ended decides, and nothing more can arrive, so this cannot hang.
        ended = &mut connection => match ended {
            Ok(()) => exchange.await,
            Err(error) => exchange.await.map_err(|_| describe_hyper(&error)),
        },
    };
    match answered {
        Err(reason) => failed(reason),
        Ok((status, body)) if status.is_success() => InvocationOutcome::Returned(parse_result(&body)),
        Ok((status, body)) => InvocationOutcome::Failed(format!(
            "{name} answered HTTP {}: {}",
            status.as_u16(),
            first_chars(&String::from_utf8_lossy(&body), EXCERPT_CHARS)
        )),
    }
}

fn describe_io(error: &std::io::Error) -> String {
    use std::io::ErrorKind;
    match error.kind() {
        ErrorKind::ConnectionRefused => "connection refused".to_owned(),
        ErrorKind::ConnectionReset => "connection reset".to_owned(),
        ErrorKind::ConnectionAborted => "connection aborted".to_owned(),
        ErrorKind::UnexpectedEof => "connection closed".to_owned(),
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
        if let Some(io_error) = cause.downcast_ref::<std::io::Error>() {
            return describe_io(io_error);
        }
        source = cause.source();
    }
    error.to_string()
}

// ---------------------------------------------------------------------------------------------
// Command stand-ins

async fn run_command(
    name: &str,
    program: &str,
    args: &[String],
    payload: &Value,
    settings: &InvokeSettings,
    limit: Duration,
) -> InvocationOutcome {
    let payload_text = payload.to_string();
    let mut command = tokio::process::Command::new(program);
    command
        .args(args)
        .env("AWS_ENDPOINT_URL", &settings.endpoint_url)
        .env("ECSIM_FUNCTION_NAME", name)
        .env("ECSIM_HOOK_PAYLOAD", &payload_text)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    let mut child = match command.spawn() {
        Ok(child) => child,
        Err(e) => return InvocationOutcome::Failed(format!("{name}: cannot run {program}: {e}")),
    };
    let (stdin, stdout, stderr) = (child.stdin.take(), child.stdout.take(), child.stderr.take());
    let finished = tokio::time::timeout(limit, async {
        let feed = async {
            if let Some(mut stdin) = stdin {
                // A command that does not read its stdin closes the pipe early: not an error.
                if let Err(e) = stdin.write_all(payload_text.as_bytes()).await {
                    tracing::debug!(function = %name, error = %e, "the command did not take the whole payload on stdin");
                }
                // Dropping the handle closes stdin: the command sees the end of the payload.
            }
        };
        let ((), out, err) = tokio::join!(feed, read_capped(stdout, MAX_RESULT_BYTES), read_tail(stderr));
        (child.wait().await, out, err)
    })
    .await;
    let (status, out, err) = match finished {
        Ok(done) => done,
        Err(_) => {
            if let Err(e) = child.kill().await {
                tracing::warn!(function = %name, error = %e, "could not kill a timed-out function command");
            }
            return InvocationOutcome::Failed(format!(
                "{name} did not finish within {} ms; {program} was killed",
                settings.timeout_ms
            ));
        }
    };
    let status = match status {
        Ok(status) => status,
        Err(e) => return InvocationOutcome::Failed(format!("{name}: waiting for {program}: {e}")),
    };
    if !status.success() {
        let code = status
            .code()
            .map_or_else(|| status.to_string(), |c| c.to_string());
        return InvocationOutcome::Failed(format!(
            "{name} exited with {code}: {}",
            last_chars(String::from_utf8_lossy(&err).trim_end(), EXCERPT_CHARS)
        ));
    }
    match out {
        Some(out) => InvocationOutcome::Returned(parse_result(&out)),
        None => InvocationOutcome::Failed(format!(
            "{name} wrote more than {MAX_RESULT_BYTES} bytes to stdout"
        )),
    }
}

/// Everything `reader` gives, or `None` when that is more than `cap` bytes (the rest is still
/// read, and thrown away, so the writer never blocks on a full pipe).
async fn read_capped(reader: Option<impl AsyncRead + Unpin>, cap: usize) -> Option<Vec<u8>> {
    let Some(mut reader) = reader else {
        return Some(Vec::new());
    };
    let mut out = Vec::new();
    let limit = u64::try_from(cap).unwrap_or(u64::MAX).saturating_add(1);
    let _ = (&mut reader).take(limit).read_to_end(&mut out).await;
    if out.len() > cap {
        let _ = tokio::io::copy(&mut reader, &mut tokio::io::sink()).await;
        return None;
    }
    Some(out)
}

/// The last [`STDERR_TAIL_BYTES`] bytes `reader` gives (everything is read).
async fn read_tail(reader: Option<impl AsyncRead + Unpin>) -> Vec<u8> {
    let Some(mut reader) = reader else {
        return Vec::new();
    };
    let mut tail = Vec::new();
    let mut chunk = vec![0u8; 8 * 1024];
    while let Ok(n) = reader.read(&mut chunk).await {
        if n == 0 {
            break;
        }
        tail.extend_from_slice(&chunk[..n]);
        if tail.len() > STDERR_TAIL_BYTES {
            tail.drain(..tail.len() - STDERR_TAIL_BYTES);
        }
    }
    tail
}

fn first_chars(text: &str, n: usize) -> String {
    text.chars().take(n).collect()
}

fn last_chars(text: &str, n: usize) -> String {
    let count = text.chars().count();
    text.chars().skip(count.saturating_sub(n)).collect()
}

// ---------------------------------------------------------------------------------------------
// Registration from the command line

/// Checks a function name or ARN and returns the function name in it: 1 to 64 letters, digits,
/// hyphens or underscores, as Lambda allows.
pub fn validate_function_name(reference: &str) -> Result<&str, String> {
    let name = function_name(reference);
    let valid = !name.is_empty()
        && name.chars().count() <= MAX_FUNCTION_NAME_CHARS
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    if valid {
        Ok(name)
    } else {
        Err(format!(
            "'{reference}' is not a function name or ARN: a function name is 1 to \
             {MAX_FUNCTION_NAME_CHARS} letters, digits, hyphens or underscores"
        ))
    }
}

/// One `--function` value: `NAME=URL` (an HTTP stand-in) or `NAME=cmd:PROGRAM ARG...` (a command,
/// split on whitespace). `NAME` may be a Lambda ARN.
pub fn parse_function_flag(text: &str) -> Result<(String, FunctionTarget), String> {
    let Some((name, spec)) = text.split_once('=') else {
        return Err(format!(
            "--function '{text}': give NAME=URL or NAME=cmd:PROGRAM ARG..."
        ));
    };
    let name = validate_function_name(name.trim()).map_err(|e| format!("--function: {e}"))?;
    let spec = spec.trim();
    let target = match spec.strip_prefix("cmd:") {
        Some(command) => serde_json::json!({ "command": command.split_whitespace().collect::<Vec<_>>() }),
        None => serde_json::json!({ "url": spec }),
    };
    let target = FunctionTarget::from_json(&target).map_err(|e| format!("--function {name}: {e}"))?;
    Ok((name.to_string(), target))
}

/// `ECSIM_FUNCTIONS`: `--function` values separated by commas (empty entries are ignored).
pub fn parse_function_list(text: &str) -> Result<Vec<(String, FunctionTarget)>, String> {
    text.split(',')
        .map(str::trim)
        .filter(|entry| !entry.is_empty())
        .map(parse_function_flag)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn settings(timeout_ms: u64) -> InvokeSettings {
        InvokeSettings {
            timeout_ms,
            endpoint_url: "http://127.0.0.1:4566".into(),
        }
    }

    fn invocation(target: FunctionTarget, payload: Value) -> Invocation {
        Invocation {
            id: 1,
            function_name: "hook".into(),
            target,
            payload,
        }
    }

    fn command(argv: &[&str]) -> FunctionTarget {
        FunctionTarget::Command {
            program: argv[0].into(),
            args: argv[1..].iter().map(|a| a.to_string()).collect(),
        }
    }

    fn failure(outcome: InvocationOutcome) -> String {
        match outcome {
            InvocationOutcome::Failed(message) => message,
            other => panic!("expected a failure, got {other:?}"),
        }
    }

    #[test]
    fn function_flags_parse_urls_and_commands() {
        assert_eq!(
            parse_function_flag("check=http://127.0.0.1:9000/hook").unwrap(),
            (
                "check".into(),
                FunctionTarget::Http {
                    url: "http://127.0.0.1:9000/hook".into()
                }
            )
        );
        assert_eq!(
            parse_function_flag(
                "arn:aws:lambda:us-east-1:123456789012:function:check=cmd:./hooks/check.sh  --fast x"
            )
            .unwrap(),
            ("check".into(), command(&["./hooks/check.sh", "--fast", "x"]))
        );
        assert_eq!(
            parse_function_list(" a=http://127.0.0.1:1/ ,, b=cmd:true ,").unwrap(),
            vec![
                (
                    "a".to_string(),
                    FunctionTarget::Http {
                        url: "http://127.0.0.1:1/".into()
                    }
                ),
                ("b".to_string(), command(&["true"])),
            ]
        );
        for bad in [
            "check",
            "=http://127.0.0.1:1/",
            "check=",
            "check=cmd:",
            "check=cmd:   ",
            "check=ftp://x",
            "bad name=http://127.0.0.1:1/",
            "a/b=http://127.0.0.1:1/",
        ] {
            assert!(parse_function_flag(bad).is_err(), "{bad}");
        }
        assert!(parse_function_list("a=http://127.0.0.1:1/,b").is_err());
        let too_long = format!("{}=cmd:true", "x".repeat(65));
        assert!(parse_function_flag(&too_long).is_err());
    }

    #[test]
    fn results_are_json_text_or_null() {
        assert_eq!(parse_result(b""), Value::Null);
        assert_eq!(parse_result(b" \n"), Value::Null);
        assert_eq!(
            parse_result(b"{\"hookStatus\":\"SUCCEEDED\"}\n"),
            json!({"hookStatus": "SUCCEEDED"})
        );
        assert_eq!(parse_result(b"ok\n"), json!("ok"));
        assert_eq!(last_chars("abcdef", 3), "def");
        assert_eq!(first_chars("abcdef", 3), "abc");
    }

    /// A one-connection-at-a-time echo server on 127.0.0.1: `/echo` answers the request body,
    /// `/fail` answers 500, `/empty` answers 204, `/hang` never answers.
    async fn echo_server() -> (std::net::SocketAddr, tokio::task::JoinHandle<()>) {
        use hyper::service::service_fn;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let server = tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    return;
                };
                tokio::spawn(async move {
                    let service = service_fn(|request: hyper::Request<hyper::body::Incoming>| async move {
                        let path = request.uri().path().to_string();
                        let content_type = request
                            .headers()
                            .get(CONTENT_TYPE)
                            .and_then(|v| v.to_str().ok())
                            .unwrap_or_default()
                            .to_string();
                        let function = request
                            .headers()
                            .get("x-ecsim-function-name")
                            .and_then(|v| v.to_str().ok())
                            .unwrap_or_default()
                            .to_string();
                        let body = request.into_body().collect().await.unwrap().to_bytes();
                        let mut response = hyper::Response::new(Full::new(Bytes::new()));
                        match path.as_str() {
                            "/echo" => {
                                assert_eq!(content_type, "application/json");
                                assert_eq!(function, "hook");
                                *response.body_mut() = Full::new(body);
                            }
                            "/fail" => {
                                *response.status_mut() = hyper::StatusCode::INTERNAL_SERVER_ERROR;
                                *response.body_mut() = Full::new(Bytes::from("boom ".repeat(100)));
                            }
                            "/empty" => *response.status_mut() = hyper::StatusCode::NO_CONTENT,
                            _ => std::future::pending::<()>().await,
                        }
                        Ok::<_, std::convert::Infallible>(response)
                    });
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        (addr, server)
    }

    #[tokio::test]
    async fn http_stand_ins_return_their_answer_or_fail() {
        let (addr, server) = echo_server().await;
        let http = |path: &str| FunctionTarget::Http {
            url: format!("http://{addr}{path}"),
        };
        let payload = json!({"DeploymentId": "d-1", "LifecycleEventHookExecutionId": "e-1"});
        let echoed = perform(&invocation(http("/echo"), payload.clone()), &settings(5_000)).await;
        assert_eq!(echoed, InvocationOutcome::Returned(payload.clone()));
        let empty = perform(&invocation(http("/empty"), payload.clone()), &settings(5_000)).await;
        assert_eq!(empty, InvocationOutcome::Returned(Value::Null));
        let failed = failure(perform(&invocation(http("/fail"), payload.clone()), &settings(5_000)).await);
        assert!(
            failed.starts_with("hook answered HTTP 500: boom boom"),
            "{failed}"
        );
        assert_eq!(
            failed.len(),
            "hook answered HTTP 500: ".len() + EXCERPT_CHARS,
            "{failed}"
        );
        let hung = failure(perform(&invocation(http("/hang"), payload.clone()), &settings(100)).await);
        assert!(hung.contains("did not answer within 100 ms"), "{hung}");
        server.abort();

        // A port nothing listens on any more.
        let closed = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let closed_addr = closed.local_addr().unwrap();
        drop(closed);
        let refused = failure(
            perform(
                &invocation(
                    FunctionTarget::Http {
                        url: format!("http://{closed_addr}/hook"),
                    },
                    payload.clone(),
                ),
                &settings(5_000),
            )
            .await,
        );
        assert!(refused.contains("connection refused"), "{refused}");
        let https = failure(
            perform(
                &invocation(
                    FunctionTarget::Http {
                        url: "https://127.0.0.1:1/".into(),
                    },
                    payload,
                ),
                &settings(5_000),
            )
            .await,
        );
        assert!(https.contains("https:// is not supported"), "{https}");
    }

    #[cfg(unix)]
    #[tokio::test]
    async fn command_stand_ins_get_the_payload_and_report_their_exit() {
        let payload = json!({"executionId": "x", "list": [1, 2, 3]});
        let echoed = perform(
            &invocation(command(&["sh", "-c", "cat"]), payload.clone()),
            &settings(10_000),
        )
        .await;
        assert_eq!(echoed, InvocationOutcome::Returned(payload.clone()));

        let env = perform(
            &invocation(
                command(&[
                    "sh",
                    "-c",
                    "printf '%s|%s|%s' \"$ECSIM_FUNCTION_NAME\" \"$AWS_ENDPOINT_URL\" \"$ECSIM_HOOK_PAYLOAD\"",
                ]),
                payload.clone(),
            ),
            &settings(10_000),
        )
        .await;
        assert_eq!(
            env,
            InvocationOutcome::Returned(Value::String(format!("hook|http://127.0.0.1:4566|{payload}")))
        );

        let failed = failure(
            perform(
                &invocation(command(&["sh", "-c", "echo nope >&2; exit 3"]), payload.clone()),
                &settings(10_000),
            )
            .await,
        );
        assert_eq!(failed, "hook exited with 3: nope");

        let exit3 = failure(
            perform(
                &invocation(command(&["sh", "-c", "exit 3"]), payload.clone()),
                &settings(10_000),
            )
            .await,
        );
        assert!(exit3.starts_with("hook exited with 3"), "{exit3}");

        let missing = failure(
            perform(
                &invocation(command(&["/nonexistent/ecsim-hook"]), payload.clone()),
                &settings(10_000),
            )
            .await,
        );
        assert!(
            missing.contains("cannot run /nonexistent/ecsim-hook"),
            "{missing}"
        );

        let slow = failure(
            perform(
                &invocation(command(&["sleep", "30"]), payload.clone()),
                &settings(100),
            )
            .await,
        );
        assert!(slow.contains("did not finish within 100 ms"), "{slow}");

        let chatty = failure(
            perform(
                &invocation(command(&["sh", "-c", "head -c 1100000 /dev/zero"]), payload),
                &settings(10_000),
            )
            .await,
        );
        assert!(chatty.contains("more than 1048576 bytes"), "{chatty}");
    }
}
