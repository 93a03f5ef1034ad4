//! `loadgen --url URL --rate R --duration-s D --connections C [--warmup-s W] [--header 'K: V']...`:
//! an open-loop, rate-limited HTTP/1.1 load generator that measures each request's latency from
//! its scheduled send time (no coordinated omission) and prints percentiles in microseconds.
//!
//! Requests are scheduled at fixed intervals (`k / R` seconds after the start) and dealt round
//! robin over C keep-alive connections (hyper's per-connection HTTP/1.1 client, no pool). A
//! dedicated thread keeps the schedule and hands each due request to its connection's queue; a
//! connection still busy with an earlier response leaves the request queued, and that queueing
//! counts in its latency. The run lasts W + D seconds; only requests scheduled in the last D
//! seconds are measured. It stops by itself: at D + W + `--timeout-s` at the latest, every
//! request still queued counts as unsent.
//!
//! Output: one machine-greppable `loadgen rate=.. achieved=.. errors=.. p50_us=.. ...` line and one
//! human line. Latencies are those of 2xx answers; non-2xx answers, transport failures
//! (connect, reset, timeout) and unsent requests are errors. Exit status 1 when no request of the
//! measured window succeeded. `p*_us` count from the scheduled send time. `target_p*_us` leave
//! out the generator's own lateness (its thread and task wake-ups, milliseconds at p99 on a busy
//! VM) but keep the wait for a connection still busy with earlier answers, so they too are free
//! of coordinated omission; `sched_lag_p99_us` and `wake_lag_p99_us` show that lateness.

use std::io::Write as _;
use std::process::ExitCode;
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Empty};
use hyper::client::conn::http1::{self, SendRequest};
use hyper::header::{HOST, HeaderMap, HeaderName, HeaderValue};
use hyper::{Method, Request, Uri};
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;
use tokio::sync::mpsc::{self, UnboundedReceiver, UnboundedSender, error::TryRecvError};

const USAGE: &str = "usage: loadgen --url http://HOST:PORT/PATH --rate REQ_PER_S --duration-s SECONDS \
--connections N [--warmup-s SECONDS (2)] [--header 'Name: value']... [--threads N (1)] [--timeout-s SECONDS (5)]";

/// Most requests one run may schedule: the latencies are kept (8 bytes each) and sorted.
const MAX_REQUESTS: u64 = 10_000_000;

/// The load generator measures wall-clock latency: it is an IO edge, not the control plane.
#[allow(clippy::disallowed_methods)] // a load generator's clock is the real one
fn now() -> Instant {
    Instant::now()
}

/// The schedule thread's wait for the next send time: the OS timer, finer than tokio's 1 ms
/// timer wheel; its lateness is measured and reported.
#[allow(clippy::disallowed_methods)] // the schedule thread waits in real time by design
fn sleep_until(target: Instant) {
    let current = now();
    if target > current {
        std::thread::sleep(target - current);
    }
}

struct Args {
    url: Uri,
    rate: f64,
    duration: Duration,
    warmup: Duration,
    connections: usize,
    headers: HeaderMap,
    threads: usize,
    timeout: Duration,
}

fn parse_seconds(name: &str, value: &str) -> Result<Duration, String> {
    value
        .parse::<f64>()
        .ok()
        .filter(|s| s.is_finite() && *s >= 0.0)
        .map(Duration::from_secs_f64)
        .ok_or_else(|| format!("bad {name} {value}"))
}

fn parse_args() -> Result<Args, String> {
    let mut url = None;
    let mut rate = None;
    let mut duration = None;
    let mut connections = None;
    let mut warmup = Duration::from_secs(2);
    let mut timeout = Duration::from_secs(5);
    let mut threads = 1;
    let mut headers = HeaderMap::new();
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        if arg == "-h" || arg == "--help" {
            return Err(USAGE.into());
        }
        let value = args
            .next()
            .ok_or_else(|| format!("{arg} needs a value\n{USAGE}"))?;
        match arg.as_str() {
            "--url" => {
                url = Some(
                    value
                        .parse::<Uri>()
                        .map_err(|e| format!("bad --url {value}: {e}"))?,
                )
            }
            "--rate" => {
                let r: f64 = value.parse().map_err(|_| format!("bad --rate {value}"))?;
                if !(r.is_finite() && r > 0.0) {
                    return Err(format!("--rate must be positive, not {value}"));
                }
                rate = Some(r);
            }
            "--duration-s" => duration = Some(parse_seconds("--duration-s", &value)?),
            "--warmup-s" => warmup = parse_seconds("--warmup-s", &value)?,
            "--timeout-s" => timeout = parse_seconds("--timeout-s", &value)?,
            "--connections" => {
                let c: usize = value.parse().map_err(|_| format!("bad --connections {value}"))?;
                if c == 0 {
                    return Err("--connections must be at least 1".into());
                }
                connections = Some(c);
            }
            "--threads" => {
                threads = value.parse().map_err(|_| format!("bad --threads {value}"))?;
                if threads == 0 {
                    return Err("--threads must be at least 1".into());
                }
            }
            "--header" => {
                let (name, v) = value
                    .split_once(':')
                    .ok_or_else(|| format!("bad --header {value} (want 'Name: value')"))?;
                let name = HeaderName::from_bytes(name.trim().as_bytes())
                    .map_err(|e| format!("bad header name in {value}: {e}"))?;
                let v = HeaderValue::from_str(v.trim())
                    .map_err(|e| format!("bad header value in {value}: {e}"))?;
                headers.append(name, v);
            }
            _ => return Err(format!("unknown option {arg}\n{USAGE}")),
        }
    }
    let url = url.ok_or_else(|| format!("--url is required\n{USAGE}"))?;
    if url.scheme_str() != Some("http") || url.host().is_none() {
        return Err(format!("--url must be http://HOST[:PORT]/..., not {url}"));
    }
    let rate = rate.ok_or_else(|| format!("--rate is required\n{USAGE}"))?;
    let duration = duration.ok_or_else(|| format!("--duration-s is required\n{USAGE}"))?;
    if duration.is_zero() {
        return Err("--duration-s must be positive".into());
    }
    let connections = connections.ok_or_else(|| format!("--connections is required\n{USAGE}"))?;
    Ok(Args {
        url,
        rate,
        duration,
        warmup,
        connections,
        headers,
        threads,
        timeout,
    })
}

/// One request handed to a connection: when it should have been sent, and whether it falls in
/// the measured window (after the warm-up).
#[derive(Clone, Copy)]
struct Tick {
    scheduled: Instant,
    measured: bool,
}

/// What one connection saw of the measured window.
#[derive(Default)]
struct Stats {
    /// Nanoseconds from the scheduled send time to the last byte of each 2xx answer.
    latencies_ns: Vec<u64>,
    /// How late (after its scheduled time) a request reached an idle connection, schedule thread
    /// and task wake-up together: the load generator's own share of the latencies.
    wake_lag_ns: Vec<u64>,
    /// The share of each 2xx answer's latency the target is responsible for: the wait, after the
    /// scheduled time, for the connection to finish earlier answers, plus the time from the
    /// actual send to the last byte. `latencies_ns` minus the generator's own lateness (its timer
    /// and task wake-ups), still free of coordinated omission.
    target_ns: Vec<u64>,
    non_2xx: u64,
    transport: u64,
    unsent: u64,
    last_ok: Option<Instant>,
}

impl Stats {
    fn merge(&mut self, other: Stats) {
        self.latencies_ns.extend(other.latencies_ns);
        self.wake_lag_ns.extend(other.wake_lag_ns);
        self.target_ns.extend(other.target_ns);
        self.non_2xx += other.non_2xx;
        self.transport += other.transport;
        self.unsent += other.unsent;
        self.last_ok = self.last_ok.max(other.last_ok);
    }
}

/// Everything a connection needs to open its socket and build its requests.
struct Target {
    host: String,
    port: u16,
    path: String,
    headers: HeaderMap,
    timeout: Duration,
}

impl Target {
    fn request(&self) -> Request<Empty<Bytes>> {
        let mut request = Request::new(Empty::new());
        *request.method_mut() = Method::GET;
        // The parsed path always is a valid origin-form URI.
        *request.uri_mut() = self.path.parse().unwrap_or_else(|_| Uri::from_static("/"));
        *request.headers_mut() = self.headers.clone();
        request
    }

    async fn connect(&self) -> Result<SendRequest<Empty<Bytes>>, String> {
        let stream = tokio::time::timeout(self.timeout, TcpStream::connect((self.host.as_str(), self.port)))
            .await
            .map_err(|_| "connect timed out".to_string())?
            .map_err(|e| format!("connect: {e}"))?;
        let _ = stream.set_nodelay(true);
        let (sender, connection) = http1::handshake(TokioIo::new(stream))
            .await
            .map_err(|e| format!("handshake: {e}"))?;
        tokio::spawn(async move {
            // Errors surface on the sender side as transport failures.
            let _ = connection.await;
        });
        Ok(sender)
    }

    /// Sends one request on `sender` and reads the whole answer; the status on success.
    async fn exchange(&self, sender: &mut SendRequest<Empty<Bytes>>) -> Result<u16, String> {
        sender.ready().await.map_err(|e| format!("connection: {e}"))?;
        let response = sender
            .send_request(self.request())
            .await
            .map_err(|e| format!("request: {e}"))?;
        let status = response.status().as_u16();
        response
            .into_body()
            .collect()
            .await
            .map_err(|e| format!("body: {e}"))?;
        Ok(status)
    }
}

/// One keep-alive connection: opens its socket (before the schedule starts, so the first
/// measured requests pay no connect), then serves its share of the schedule in order.
async fn connection_task(
    target: Arc<Target>,
    mut ticks: UnboundedReceiver<Tick>,
    ready: Arc<tokio::sync::Barrier>,
    hard_deadline: Arc<OnceLock<Instant>>,
) -> (Stats, Option<String>) {
    let mut stats = Stats::default();
    let mut last_error = None;
    let mut sender = match target.connect().await {
        Ok(sender) => Some(sender),
        Err(error) => {
            last_error = Some(error);
            None
        }
    };
    // First wait: every connection is open; second: the start time and deadline are fixed.
    ready.wait().await;
    ready.wait().await;
    let Some(&hard_deadline) = hard_deadline.get() else {
        return (stats, Some("the schedule never started".into()));
    };
    let deadline = tokio::time::Instant::from_std(hard_deadline);
    // When the connection last finished an answer (so was free for the next request).
    let mut free_at = now();
    loop {
        let tick = match ticks.try_recv() {
            Ok(tick) => tick,
            Err(TryRecvError::Disconnected) => break,
            Err(TryRecvError::Empty) => match tokio::time::timeout_at(deadline, ticks.recv()).await {
                Ok(Some(tick)) => {
                    if tick.measured {
                        stats
                            .wake_lag_ns
                            .push(duration_ns(now().saturating_duration_since(tick.scheduled)));
                    }
                    tick
                }
                Ok(None) | Err(_) => break,
            },
        };
        let remaining = hard_deadline.saturating_duration_since(now());
        if remaining.is_zero() {
            stats.unsent += u64::from(tick.measured);
            break;
        }
        let sent = now();
        let outcome = tokio::time::timeout(target.timeout.min(remaining), async {
            if sender.as_ref().is_none_or(|s| s.is_closed()) {
                sender = Some(target.connect().await?);
            }
            match sender.as_mut() {
                Some(s) => target.exchange(s).await,
                None => Err("no connection".to_string()),
            }
        })
        .await
        .unwrap_or_else(|_| Err("timed out".to_string()));
        let done = now();
        let was_free_at = std::mem::replace(&mut free_at, done);
        match outcome {
            Ok(status) if (200..300).contains(&status) => {
                if tick.measured {
                    stats
                        .latencies_ns
                        .push(duration_ns(done.saturating_duration_since(tick.scheduled)));
                    let queued = was_free_at
                        .max(tick.scheduled)
                        .saturating_duration_since(tick.scheduled);
                    let service = done.saturating_duration_since(sent);
                    stats.target_ns.push(duration_ns(queued + service));
                    stats.last_ok = Some(done);
                }
            }
            Ok(status) => {
                stats.non_2xx += u64::from(tick.measured);
                last_error = Some(format!("HTTP {status}"));
            }
            Err(error) => {
                stats.transport += u64::from(tick.measured);
                last_error = Some(error);
                // The connection's state is unknown after a failure: open a fresh one next time.
                sender = None;
            }
        }
    }
    // Whatever is still queued at the hard deadline was never sent.
    ticks.close();
    while let Ok(tick) = ticks.try_recv() {
        stats.unsent += u64::from(tick.measured);
    }
    (stats, last_error)
}

fn duration_ns(d: Duration) -> u64 {
    u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)
}

/// Nearest-rank percentile of sorted nanoseconds, in whole microseconds (0 when empty).
fn percentile_us(sorted_ns: &[u64], q: f64) -> u64 {
    if sorted_ns.is_empty() {
        return 0;
    }
    #[allow(
        clippy::cast_possible_truncation,
        clippy::cast_sign_loss,
        clippy::cast_precision_loss
    )]
    let rank = ((q * sorted_ns.len() as f64).ceil() as usize).clamp(1, sorted_ns.len());
    (sorted_ns[rank - 1] + 500) / 1000
}

fn main() -> ExitCode {
    let args = match parse_args() {
        Ok(args) => args,
        Err(message) => {
            eprintln!("{message}");
            return ExitCode::from(2);
        }
    };
    let total_s = (args.warmup + args.duration).as_secs_f64();
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
    let total = (args.rate * total_s).floor() as u64;
    if total > MAX_REQUESTS {
        eprintln!(
            "loadgen: rate x (warm-up + duration) = {total} requests, more than the {MAX_REQUESTS} one run keeps"
        );
        return ExitCode::from(2);
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(args.threads)
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("loadgen: cannot start the runtime: {error}");
            return ExitCode::FAILURE;
        }
    };
    runtime.block_on(run(args, total))
}

async fn run(args: Args, total: u64) -> ExitCode {
    let authority = args.url.authority().map_or_else(String::new, ToString::to_string);
    let mut headers = HeaderMap::new();
    if !args.headers.contains_key(HOST)
        && let Ok(host) = HeaderValue::from_str(&authority)
    {
        headers.insert(HOST, host);
    }
    headers.extend(args.headers.clone());
    let target = Arc::new(Target {
        host: args
            .url
            .host()
            .unwrap_or("127.0.0.1")
            .trim_matches(['[', ']'])
            .to_string(),
        port: args.url.port_u16().unwrap_or(80),
        path: args
            .url
            .path_and_query()
            .map_or_else(|| "/".to_string(), ToString::to_string),
        headers,
        timeout: args.timeout,
    });

    // Connect everything first; the schedule starts once every connection is open (or failed).
    let ready = Arc::new(tokio::sync::Barrier::new(args.connections + 1));
    let hard_deadline = Arc::new(OnceLock::new());
    let mut senders: Vec<UnboundedSender<Tick>> = Vec::with_capacity(args.connections);
    let mut tasks = Vec::with_capacity(args.connections);
    for _ in 0..args.connections {
        let (tx, rx) = mpsc::unbounded_channel();
        senders.push(tx);
        tasks.push(tokio::spawn(connection_task(
            Arc::clone(&target),
            rx,
            Arc::clone(&ready),
            Arc::clone(&hard_deadline),
        )));
    }
    ready.wait().await;
    let start = now() + Duration::from_millis(10);
    let measure_start = start + args.warmup;
    let end = measure_start + args.duration;
    let _ = hard_deadline.set(end + args.timeout);
    ready.wait().await;

    let rate = args.rate;
    let connections = args.connections;
    // The schedule thread: request k is due k / rate seconds after the start.
    let schedule = std::thread::spawn(move || {
        let mut lateness_ns = Vec::new();
        for k in 0..total {
            #[allow(clippy::cast_precision_loss)]
            let scheduled = start + Duration::from_secs_f64(k as f64 / rate);
            if scheduled >= end {
                break;
            }
            sleep_until(scheduled);
            if scheduled >= measure_start {
                lateness_ns.push(duration_ns(now().saturating_duration_since(scheduled)));
            }
            #[allow(clippy::cast_possible_truncation)]
            let connection = (k % connections as u64) as usize;
            // A closed queue means that connection gave up at the hard deadline.
            let _ = senders[connection].send(Tick {
                scheduled,
                measured: scheduled >= measure_start,
            });
        }
        // Dropping the senders tells every connection the schedule is over.
        drop(senders);
        lateness_ns.sort_unstable();
        percentile_us(&lateness_ns, 0.99)
    });

    let mut stats = Stats::default();
    let mut last_error = None;
    for task in tasks {
        match task.await {
            Ok((s, error)) => {
                stats.merge(s);
                if error.is_some() {
                    last_error = error;
                }
            }
            Err(error) => last_error = Some(format!("connection task failed: {error}")),
        }
    }
    let sched_lag99 = match tokio::task::spawn_blocking(move || schedule.join()).await {
        Ok(Ok(lag)) => lag,
        _ => 0,
    };

    let ok = stats.latencies_ns.len() as u64;
    let errors = stats.non_2xx + stats.transport + stats.unsent;
    // Achieved: successful measured answers over the measured window, stretched to the last one
    // when the target fell behind the schedule.
    let window = stats.last_ok.map_or(args.duration, |last| {
        last.saturating_duration_since(measure_start).max(args.duration)
    });
    #[allow(clippy::cast_precision_loss)]
    let achieved = ok as f64 / window.as_secs_f64();
    stats.latencies_ns.sort_unstable();
    stats.wake_lag_ns.sort_unstable();
    stats.target_ns.sort_unstable();
    let l = &stats.latencies_ns;
    let (p50, p90, p99, p999) = (
        percentile_us(l, 0.50),
        percentile_us(l, 0.90),
        percentile_us(l, 0.99),
        percentile_us(l, 0.999),
    );
    let max = l.last().map_or(0, |ns| (ns + 500) / 1000);
    let lag99 = percentile_us(&stats.wake_lag_ns, 0.99);
    let (tgt50, tgt99) = (
        percentile_us(&stats.target_ns, 0.50),
        percentile_us(&stats.target_ns, 0.99),
    );
    let machine = format!(
        "loadgen rate={rate} achieved={achieved:.1} requests={} ok={ok} errors={errors} non2xx={} \
transport={} unsent={} p50_us={p50} p90_us={p90} p99_us={p99} p999_us={p999} max_us={max} \
target_p50_us={tgt50} target_p99_us={tgt99} wake_lag_p99_us={lag99} sched_lag_p99_us={sched_lag99}",
        ok + errors,
        stats.non_2xx,
        stats.transport,
        stats.unsent,
    );
    let human = format!(
        "{}: offered {rate}/s for {:.1} s (+{:.1} s warm-up) over {connections} connections, \
achieved {achieved:.1}/s; latency from the scheduled send p50 {p50} us, p90 {p90} us, p99 {p99} us, \
p99.9 {p999} us, max {max} us; errors {errors} (non-2xx {}, transport {}, unsent {}); without the \
generator's own lateness p50 {tgt50} us, p99 {tgt99} us; that lateness p99: schedule thread \
{sched_lag99} us, until an idle connection has the request {lag99} us",
        args.url,
        args.duration.as_secs_f64(),
        args.warmup.as_secs_f64(),
        stats.non_2xx,
        stats.transport,
        stats.unsent,
    );
    // One write, and no panic when the reader (e.g. `head -1`) has gone.
    let _ = writeln!(std::io::stdout().lock(), "{machine}\n{human}");
    if let Some(error) = last_error.filter(|_| errors > 0) {
        eprintln!("loadgen: last error: {error}");
    }
    if ok == 0 {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}
