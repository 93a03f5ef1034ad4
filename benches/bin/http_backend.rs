//! `http-backend <port> <name> [--threads N]`: a minimal HTTP/1.1 keep-alive server on
//! 127.0.0.1 that answers every request with 200 and the body `<name>\n`; the upstream of the
//! load-balancer benchmark (scripts/bench-proxy.sh).

use std::convert::Infallible;
use std::net::{Ipv4Addr, SocketAddr};
use std::process::ExitCode;

use bytes::Bytes;
use http_body_util::Full;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;

const USAGE: &str = "usage: http-backend <port> <name> [--threads N]";

struct Args {
    port: u16,
    name: String,
    threads: usize,
}

fn parse_args() -> Result<Args, String> {
    let mut positional = Vec::new();
    let mut threads = 1;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--threads" => {
                let value = args.next().ok_or("--threads needs a value")?;
                threads = value.parse().map_err(|_| format!("bad --threads {value}"))?;
                if threads == 0 {
                    return Err("--threads must be at least 1".into());
                }
            }
            "-h" | "--help" => return Err(USAGE.into()),
            _ if arg.starts_with("--") => return Err(format!("unknown option {arg}\n{USAGE}")),
            _ => positional.push(arg),
        }
    }
    let [port, name] = <[String; 2]>::try_from(positional).map_err(|_| USAGE.to_string())?;
    let port = port.parse().map_err(|_| format!("bad port {port}"))?;
    Ok(Args { port, name, threads })
}

fn main() -> ExitCode {
    let args = match parse_args() {
        Ok(args) => args,
        Err(message) => {
            eprintln!("{message}");
            return ExitCode::from(2);
        }
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(args.threads)
        .enable_io()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("http-backend: cannot start the runtime: {error}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(serve(args)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("http-backend: {error}");
            ExitCode::FAILURE
        }
    }
}

async fn serve(args: Args) -> std::io::Result<()> {
    let listener = TcpListener::bind(SocketAddr::from((Ipv4Addr::LOCALHOST, args.port))).await?;
    let body = Bytes::from(format!("{}\n", args.name));
    println!(
        "http-backend {} listening on http://{} ({} worker thread(s))",
        args.name,
        listener.local_addr()?,
        args.threads
    );
    loop {
        let (stream, _) = match listener.accept().await {
            Ok(accepted) => accepted,
            // Out of file descriptors or a connection reset before accept: keep serving.
            Err(_) => continue,
        };
        let _ = stream.set_nodelay(true);
        let body = body.clone();
        tokio::spawn(async move {
            let service = service_fn(move |_request: Request<hyper::body::Incoming>| {
                let body = body.clone();
                async move { Ok::<_, Infallible>(Response::new(Full::new(body))) }
            });
            // A client that goes away mid-request is not the backend's problem.
            let _ = http1::Builder::new()
                .keep_alive(true)
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
}
