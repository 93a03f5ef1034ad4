//! ecsim-testapp: a tiny HTTP workload for ecsim's Docker runtime. It behaves as its `ECSIM_*`
//! environment says (start delay, exit, health, SIGTERM handling, errors, latency), reports the
//! ECS task metadata and its identity through container credentials and STS, and doubles as its
//! own health-check client (`ecsim-testapp check <url>`) for `FROM scratch` images.

mod app;
mod client;
mod clock;
mod config;
mod creds;
mod http;
mod json;
mod sigv4;

use std::io::Write;
use std::net::TcpListener;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use signal_hook::consts::{SIGINT, SIGTERM};
use signal_hook::iterator::Signals;

use crate::app::App;
use crate::config::Config;

/// Timeout of the health-check client.
const CHECK_TIMEOUT: Duration = Duration::from_secs(2);

const USAGE: &str = "usage: ecsim-testapp            serve HTTP (configured by PORT and ECSIM_* variables)
       ecsim-testapp check <url>  GET <url>; exit 0 on a 2xx answer, 1 otherwise";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.iter().map(String::as_str).collect::<Vec<_>>().as_slice() {
        [] => serve(),
        ["check", url] => check(url),
        ["-h" | "--help"] => {
            println!("{USAGE}");
            ExitCode::SUCCESS
        }
        ["--version"] => {
            println!("ecsim-testapp {}", env!("CARGO_PKG_VERSION"));
            ExitCode::SUCCESS
        }
        ["check", ..] => {
            eprintln!("{USAGE}");
            ExitCode::FAILURE
        }
        _ => {
            eprintln!("{USAGE}");
            ExitCode::from(2)
        }
    }
}

/// Health-check client mode: 0 when `url` answers 2xx within the timeout, 1 otherwise.
fn check(url: &str) -> ExitCode {
    let result = client::Url::parse(url).and_then(|u| client::request("GET", &u, &[], b"", CHECK_TIMEOUT));
    match result {
        Ok(reply) if reply.is_success() => ExitCode::SUCCESS,
        Ok(reply) => {
            eprintln!("check {url}: answered {}", reply.status);
            ExitCode::FAILURE
        }
        Err(e) => {
            eprintln!("check {url}: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Appends `<unix-millis> <name>` to the marker file; errors are ignored (best effort).
fn write_marker(config: &Config, hostname: &str) {
    let Some(path) = &config.marker_file else {
        return;
    };
    let name = config.container_name.as_deref().unwrap_or(hostname);
    let line = format!("{} {name}\n", clock::since_epoch().as_millis());
    let _ = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .and_then(|mut f| f.write_all(line.as_bytes()));
}

/// SIGTERM and SIGINT exit 0 promptly, or are ignored with `ECSIM_IGNORE_SIGTERM=true`. A
/// handler is installed either way: as PID 1 in a container, an unhandled SIGTERM is dropped.
fn install_signal_handlers(ignore: bool) -> std::io::Result<()> {
    let mut signals = Signals::new([SIGTERM, SIGINT])?;
    std::thread::Builder::new()
        .name("signals".into())
        .spawn(move || {
            for signal in signals.forever() {
                let name = if signal == SIGTERM { "SIGTERM" } else { "SIGINT" };
                if ignore {
                    println!("received {name}: ignored (ECSIM_IGNORE_SIGTERM=true)");
                } else {
                    println!("received {name}: exiting with code 0");
                    std::process::exit(0);
                }
            }
        })?;
    Ok(())
}

/// Runs `action` on a new thread after `delay`.
fn after(name: &str, delay: Duration, action: impl FnOnce() + Send + 'static) {
    let spawned = std::thread::Builder::new().name(name.into()).spawn(move || {
        clock::sleep(delay);
        action();
    });
    if let Err(e) = spawned {
        eprintln!("cannot start the {name} timer: {e}");
        std::process::exit(2);
    }
}

fn serve() -> ExitCode {
    let config = match Config::from_vars(|name| std::env::var(name).ok()) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("ecsim-testapp: {e}");
            return ExitCode::from(2);
        }
    };
    let hostname = app::hostname();
    write_marker(&config, &hostname);
    if let Err(e) = install_signal_handlers(config.ignore_sigterm) {
        eprintln!("ecsim-testapp: cannot install signal handlers: {e}");
        return ExitCode::from(2);
    }
    if !config.start_delay.is_zero() {
        println!(
            "starting in {} ms (ECSIM_START_DELAY_MS)",
            config.start_delay.as_millis()
        );
        clock::sleep(config.start_delay);
    }
    let listener = match TcpListener::bind(("0.0.0.0", config.port)) {
        Ok(l) => l,
        Err(e) => {
            eprintln!("ecsim-testapp: cannot listen on 0.0.0.0:{}: {e}", config.port);
            return ExitCode::from(2);
        }
    };
    // Timers count from here, when the container is up, as the simulated runtime counts from
    // RUNNING (which already includes the start delay).
    if let Some(delay) = config.exit_after {
        let code = config.exit_code;
        after("exit", delay, move || {
            println!("exiting with code {code} (ECSIM_EXIT_AFTER_SECONDS)");
            std::process::exit(code);
        });
    }
    let app = Arc::new(App::new(config, hostname));
    if let Some(delay) = app.config.unhealthy_after {
        let app = Arc::clone(&app);
        after("unhealthy", delay, move || {
            println!("now unhealthy (ECSIM_UNHEALTHY_AFTER_SECONDS)");
            app.turned_unhealthy.store(true, Ordering::SeqCst);
        });
    }
    println!(
        "ecsim-testapp listening on 0.0.0.0:{} version={} host={}",
        app.config.port,
        app.config.version.as_deref().unwrap_or("unset"),
        app.hostname
    );
    for stream in listener.incoming() {
        let stream = match stream {
            Ok(s) => s,
            Err(e) => {
                // Out of descriptors or similar: back off instead of spinning.
                eprintln!("accept: {e}");
                clock::sleep(Duration::from_millis(50));
                continue;
            }
        };
        let app = Arc::clone(&app);
        let spawned = std::thread::Builder::new()
            .name("connection".into())
            .spawn(move || app.serve_connection(stream));
        if let Err(e) = spawned {
            eprintln!("cannot start a connection thread: {e}");
        }
    }
    ExitCode::SUCCESS
}
