//! The `ecsim` command: `ecsim serve` runs the emulator; `ecsim run` runs scenario files;
//! `ecsim coverage` prints or checks the generated table of implemented operations.

mod run_command;

use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::{Context, Result, bail};
use clap::{Parser, Subcommand};
use ecsim::{ClockMode, DockerOptions, Emulator, FunctionTarget, Leftovers, Runtime};

/// ecsim — the AWS container stack (ECS, EC2 networking, STS; ELBv2, CodeDeploy and CloudWatch
/// routed) on one local port, offline, with a deterministic control plane.
#[derive(Debug, Parser)]
#[command(name = "ecsim", version)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the emulator until Ctrl-C. Point SDKs and the AWS CLI at it with AWS_ENDPOINT_URL.
    Serve(Box<ServeArgs>),
    /// Run scenario files: each scenario in its own emulator (simulated tasks on a virtual clock,
    /// or Docker containers on a sped-up clock). Exit code 0 when all pass, 1 when any fails, 2
    /// when a file is invalid.
    Run(Box<run_command::RunArgs>),
    /// Print the table of implemented operations (docs/coverage.md), write it, or check it.
    Coverage {
        /// Write the table to this file instead of printing it.
        #[arg(long, value_name = "FILE", conflicts_with = "check")]
        write: Option<PathBuf>,
        /// Exit 1 if this file differs from the generated table.
        #[arg(long, value_name = "FILE")]
        check: Option<PathBuf>,
    },
}

#[derive(Debug, clap::Args)]
struct ServeArgs {
    /// Address to listen on (loopback by default; the API has no authentication).
    #[arg(long, env = "ECSIM_LISTEN", default_value = "127.0.0.1:4566")]
    listen: SocketAddr,
    /// Region for requests that carry no SigV4 credential scope.
    #[arg(long, env = "ECSIM_REGION", default_value = "us-east-1")]
    region: String,
    /// Account for requests whose access key id is not twelve digits.
    #[arg(long, env = "ECSIM_ACCOUNT_ID", default_value = "000000000000")]
    account_id: String,
    /// Log filter: error, warn, info, debug, trace, or a tracing directive.
    #[arg(long, env = "ECSIM_LOG_LEVEL", default_value = "info")]
    log_level: String,
    /// Seed of the control plane's random numbers (identifiers, tie-breaks): a seed replays a run.
    #[arg(long, env = "ECSIM_SEED", default_value_t = 0)]
    seed: u64,
    /// JSON file describing the simulated topology (see the README, "Simulated topology").
    #[arg(long, env = "ECSIM_CONFIG", value_name = "FILE")]
    config: Option<PathBuf>,
    /// Task runtime: `docker` (tasks are containers), `sim` (simulated tasks), or `auto` (Docker
    /// when a daemon answers, else sim).
    #[arg(long, env = "ECSIM_RUNTIME", default_value = "auto", value_parser = ["auto", "docker", "sim"])]
    runtime: String,
    /// Name in the `dev.ecsim.instance` label of this emulator's containers and networks.
    #[arg(long, env = "ECSIM_DOCKER_INSTANCE", default_value = "default")]
    docker_instance: String,
    /// Address range the per-subnet Docker networks are carved from.
    #[arg(long, env = "ECSIM_DOCKER_NETWORK_POOL", default_value = "10.200.0.0/14")]
    docker_network_pool: String,
    /// Prefix length of each Docker network taken from the pool.
    #[arg(long, env = "ECSIM_DOCKER_NETWORK_PREFIX", default_value_t = 22)]
    docker_network_prefix: u8,
    /// Never pull images: an image absent locally fails the task (CannotPullContainerError).
    #[arg(long, env = "ECSIM_NO_PULL")]
    no_pull: bool,
    /// Leave task containers running when ecsim stops.
    #[arg(long, env = "ECSIM_KEEP_CONTAINERS")]
    keep_containers: bool,
    /// What to do with containers a previous run (same instance name) left: `remove` or `keep`.
    #[arg(long, env = "ECSIM_LEFTOVERS", default_value = "remove", value_parser = ["remove", "keep"])]
    leftovers: String,
    /// Control-plane clock: `system` (real time, optionally sped up with --time-scale) or
    /// `virtual` (simulation: time moves only through POST /_ecsim/clock/advance; tasks are
    /// simulated).
    #[arg(long, env = "ECSIM_CLOCK", default_value = "system", value_parser = ["system", "virtual"])]
    clock: String,
    /// Speed of the system clock: control-plane durations (health-check intervals, bake times,
    /// alarm periods, deregistration delays) pass N times faster than real time. Real
    /// containers, Docker health checks, image pulls and proxy timeouts are not sped up.
    #[arg(long, env = "ECSIM_TIME_SCALE", default_value_t = 1.0, value_name = "N", value_parser = parse_time_scale)]
    time_scale: f64,
    /// A local stand-in for a Lambda function that lifecycle hooks invoke: `NAME=URL` (the payload
    /// is POSTed to the URL) or `NAME=cmd:PROGRAM ARG...` (the command gets the payload on stdin;
    /// split on whitespace). NAME may be an ARN. Repeatable; env ECSIM_FUNCTIONS takes a
    /// comma-separated list of the same.
    #[arg(long = "function", value_name = "NAME=URL|NAME=cmd:PROGRAM ARG...", value_parser = ecsim::parse_function_flag)]
    functions: Vec<(String, FunctionTarget)>,
}

/// `--time-scale`: a finite number greater than 0.
fn parse_time_scale(text: &str) -> Result<f64, String> {
    let scale: f64 = text
        .trim()
        .parse()
        .map_err(|_| format!("'{text}' is not a number"))?;
    ecsim_core::clock::check_time_scale(scale).map_err(|e| e.to_string())
}

fn main() -> Result<()> {
    let cli = Cli::parse();
    match cli.command {
        Command::Serve(args) => serve(*args),
        Command::Coverage { write, check } => coverage(write, check),
        Command::Run(args) => {
            let code = run_command::run(*args)?;
            std::process::exit(code);
        }
    }
}

fn coverage(write: Option<PathBuf>, check: Option<PathBuf>) -> Result<()> {
    let table = ecsim_control::coverage::markdown();
    if let Some(path) = write {
        std::fs::write(&path, table).with_context(|| format!("writing {}", path.display()))?;
    } else if let Some(path) = check {
        let committed =
            std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
        if committed != table {
            bail!(
                "{} is out of date: run `cargo run -- coverage --write {}`",
                path.display(),
                path.display()
            );
        }
    } else {
        print!("{table}");
    }
    Ok(())
}

fn serve(args: ServeArgs) -> Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::try_new(&args.log_level).context("--log-level")?)
        .with_target(false)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stdout()))
        .init();
    if !ecsim_core::ids::is_account_id(&args.account_id) {
        bail!("--account-id must be twelve digits, got '{}'", args.account_id);
    }
    let clock = if args.clock == "virtual" {
        ClockMode::Virtual
    } else {
        ClockMode::System
    };
    if clock == ClockMode::Virtual && args.time_scale != 1.0 {
        bail!(
            "--time-scale {} needs --clock system: virtual time moves only when advanced \
             (POST /_ecsim/clock/advance)",
            args.time_scale
        );
    }
    let mut runtime_choice = args.runtime.clone();
    if clock == ClockMode::Virtual {
        match runtime_choice.as_str() {
            "docker" => bail!("--runtime docker needs --clock system: real containers run in real time"),
            "auto" => {
                tracing::info!("--clock virtual: tasks are simulated (--runtime sim)");
                runtime_choice = "sim".into();
            }
            _ => {}
        }
    }
    let mut builder = Emulator::builder()
        .listen(args.listen)
        .seed(args.seed)
        .clock(clock)
        .time_scale(args.time_scale)
        .default_account_id(&args.account_id)
        .default_region(&args.region);
    // ECSIM_FUNCTIONS first, so a --function of the same name replaces it.
    if let Ok(list) = std::env::var("ECSIM_FUNCTIONS") {
        for (name, target) in ecsim::parse_function_list(&list)
            .map_err(anyhow::Error::msg)
            .context("ECSIM_FUNCTIONS")?
        {
            builder = builder.function(name, target);
        }
    }
    for (name, target) in args.functions.iter().cloned() {
        builder = builder.function(name, target);
    }
    if let Some(path) = &args.config {
        let file = ecsim::config::FileConfig::load(path)?;
        if let Some(topology) = file.topology {
            builder = builder.topology(topology);
        }
    }
    // One thread: the engine is one mutex-guarded state machine, and on small machines a second
    // worker mostly adds cross-thread wake-ups (measured: +15% requests/s on 2 cores).
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("starting tokio")?;
    let docker = DockerOptions {
        instance: args.docker_instance.clone(),
        network_pool: args.docker_network_pool.clone(),
        network_prefix: args.docker_network_prefix,
        pull_images: !args.no_pull,
        keep_on_shutdown: args.keep_containers,
        leftovers: if args.leftovers == "keep" {
            Leftovers::Keep
        } else {
            Leftovers::Remove
        },
        socket: None,
    };
    runtime.block_on(async move {
        let emulator = match runtime_choice.as_str() {
            "sim" => builder.runtime(Runtime::Simulated).start().await?,
            "docker" => builder.runtime(Runtime::Docker(docker)).start().await?,
            _ => match builder.clone().runtime(Runtime::Docker(docker)).start().await {
                Ok(emulator) => emulator,
                Err(ecsim::StartError::Docker(e)) => {
                    tracing::warn!(error = %e, "no usable Docker daemon: tasks are simulated (--runtime sim)");
                    builder.runtime(Runtime::Simulated).start().await?
                }
                Err(e) => return Err(e.into()),
            },
        };
        let url = emulator.endpoint_url();
        let runtime_name = emulator.runtime_name();
        let clock_mode = if emulator.clock().is_virtual() { "virtual" } else { "system" };
        let time_scale = emulator.clock().time_scale();
        tracing::info!(
            %url,
            seed = args.seed,
            runtime = runtime_name,
            clock = clock_mode,
            time_scale,
            "ecsim is listening"
        );
        println!(
            "ecsim {} listening on {url} (runtime: {runtime_name}, clock: {clock_mode}, time scale: {time_scale}, seed: {})",
            env!("CARGO_PKG_VERSION"),
            args.seed
        );
        println!("Point AWS SDKs and the AWS CLI at it:");
        println!("  export AWS_ENDPOINT_URL={url}");
        println!(
            "  export AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test AWS_REGION={}",
            args.region
        );
        shutdown_signal().await?;
        tracing::info!("shutting down");
        emulator.shutdown().await;
        anyhow::Ok(())
    })
}

/// Ctrl-C (SIGINT) or SIGTERM, which `docker stop` sends (ecsim may be PID 1 in a container).
async fn shutdown_signal() -> Result<()> {
    #[cfg(unix)]
    {
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
            .context("listening for SIGTERM")?;
        tokio::select! {
            r = tokio::signal::ctrl_c() => r.context("waiting for Ctrl-C")?,
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    tokio::signal::ctrl_c().await.context("waiting for Ctrl-C")?;
    Ok(())
}
