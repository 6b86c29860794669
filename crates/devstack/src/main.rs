//! `devstack`: run the Todo system locally (`up`, the default), or print a
//! token for the API (`token`).

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use clap::{Args, Parser, Subcommand};
use devstack::local_secrets::DevSecrets;
use devstack::multiapp;
use devstack::stack::{Stack, StackOptions};
use tracing_subscriber::EnvFilter;

#[derive(Parser)]
#[command(
    version,
    about = "Runs the Todo components like Spin does, with a durable stand-in for their Dapr sidecars."
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    #[command(flatten)]
    up: UpArgs,
}

#[derive(Subcommand)]
enum Command {
    /// Start every component, its sidecar and the gateway (the default).
    Up(UpArgs),
    /// Only the Dapr side: a sidecar per app (plus the store, deliveries,
    /// jobs, bindings) and a gateway, for apps served by `spin up`.
    Sidecars(SidecarsArgs),
    /// Print the app plan of the multi-app run file: `APP-ID APP-PORT SIDECAR-PORT` per line.
    Plan(PlanArgs),
    /// Print a JWT for USER signed with the local secret (last line = the token).
    Token(TokenArgs),
}

#[derive(Args)]
struct SidecarsArgs {
    #[command(flatten)]
    common: UpArgs,
    /// The Dapr multi-app run file giving each app's appPort and daprHTTPPort.
    #[arg(long, default_value = "dapr.yaml")]
    dapr_yaml: PathBuf,
    /// An app and its sidecar port, overriding dapr.yaml: ID=HOST:PORT@SIDECAR_PORT (repeatable).
    #[arg(long = "serve-app")]
    serve_apps: Vec<String>,
}

#[derive(Args)]
struct PlanArgs {
    #[arg(long, default_value = "dapr.yaml")]
    dapr_yaml: PathBuf,
}

#[derive(Args, Clone)]
struct UpArgs {
    /// Gateway address (like `spin up --listen`).
    #[arg(long, default_value = "127.0.0.1:3000")]
    listen: SocketAddr,
    /// Repository root: where spin.toml, k8s/dapr and devstack/components are.
    #[arg(long, default_value = ".")]
    root: PathBuf,
    /// State directory: the SQLite store and the generated secrets.
    #[arg(long, default_value = ".devstack")]
    state_dir: PathBuf,
    /// Keep state in memory (nothing survives a restart).
    #[arg(long)]
    in_memory: bool,
    /// Only these app-ids (repeatable); default: every component in spin.toml.
    #[arg(long = "app")]
    apps: Vec<String>,
    /// Require this DAPR_API_TOKEN on sidecar calls (components are given it).
    #[arg(long, env = "DAPR_API_TOKEN")]
    dapr_api_token: Option<String>,
    /// SMTP port for the `email` binding (default: the overlay's, 1025).
    #[arg(long)]
    smtp_port: Option<u16>,
    /// More Dapr resource directories, applied after k8s/dapr and
    /// devstack/components (later ones override by name; repeatable).
    #[arg(long = "resources")]
    resources: Vec<PathBuf>,
    /// An app served elsewhere that gets a sidecar here, ID=HOST:PORT
    /// (repeatable), e.g. a test's subscriber.
    #[arg(long = "external-app", value_parser = parse_external_app)]
    external_apps: Vec<(String, SocketAddr)>,
}

fn parse_external_app(flag: &str) -> Result<(String, SocketAddr), String> {
    let usage = || format!("{flag:?}: expected ID=HOST:PORT, e.g. my-app=127.0.0.1:3200");
    let (id, addr) = flag.split_once('=').ok_or_else(usage)?;
    let addr = addr.trim().parse().map_err(|_| usage())?;
    Ok((id.trim().to_string(), addr))
}

#[derive(Args)]
struct TokenArgs {
    /// The user id (`sub` claim).
    #[arg(long)]
    user: String,
    /// State directory holding the secrets.
    #[arg(long, default_value = ".devstack")]
    state_dir: PathBuf,
    /// Validity in seconds.
    #[arg(long, default_value_t = 24 * 3600)]
    ttl: i64,
}

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Some(Command::Token(args)) => token(args),
        Some(Command::Plan(args)) => plan(args),
        Some(Command::Sidecars(args)) => sidecars(args),
        Some(Command::Up(args)) => up(args),
        None => up(cli.up),
    };
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("devstack: {err:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

fn secrets_path(state_dir: &Path) -> PathBuf {
    state_dir.join("secrets.json")
}

fn token(args: TokenArgs) -> Result<()> {
    let secrets = DevSecrets::load_or_create(&secrets_path(&args.state_dir))?;
    println!("{}", secrets.token_for(&args.user, args.ttl));
    Ok(())
}

fn plan(args: PlanArgs) -> Result<()> {
    for app in multiapp::load(&args.dapr_yaml)? {
        println!("{} {} {}", app.app_id, app.app.port(), app.sidecar_port);
    }
    Ok(())
}

fn up(args: UpArgs) -> Result<()> {
    let (secrets, mut options) = stack_options(&args)?;
    options.apps = (!args.apps.is_empty()).then_some(args.apps);
    run(secrets, options)
}

/// Sidecars for apps served elsewhere: from dapr.yaml, then `--serve-app`.
fn sidecars(args: SidecarsArgs) -> Result<()> {
    let dapr_yaml = args.common.root.join(&args.dapr_yaml);
    let mut planned = if args.serve_apps.is_empty() || dapr_yaml.exists() {
        multiapp::load(&dapr_yaml)?
    } else {
        Vec::new()
    };
    for flag in &args.serve_apps {
        let app = multiapp::parse_app_flag(flag)?;
        planned.retain(|p| p.app_id != app.app_id);
        planned.push(app);
    }
    let (secrets, mut options) = stack_options(&args.common)?;
    options.apps = Some(Vec::new());
    for app in planned {
        options
            .sidecar_ports
            .insert(app.app_id.clone(), app.sidecar_port);
        options.external_apps.insert(app.app_id, app.app);
    }
    run(secrets, options)
}

/// What `up` and `sidecars` share.
fn stack_options(args: &UpArgs) -> Result<(DevSecrets, StackOptions)> {
    let secrets = DevSecrets::load_or_create(&secrets_path(&args.state_dir))?;
    let mut options = StackOptions::for_repo(&args.root, secrets.clone());
    options.gateway = args.listen;
    options.store = (!args.in_memory).then(|| args.state_dir.join("devstack.sqlite"));
    options.api_token = args.dapr_api_token.clone();
    options.smtp_port = args.smtp_port;
    options.resource_dirs.extend(args.resources.iter().cloned());
    options
        .external_apps
        .extend(args.external_apps.iter().cloned());
    Ok((secrets, options))
}

fn run(secrets: DevSecrets, options: StackOptions) -> Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")),
        )
        .init();
    let runtime = tokio::runtime::Runtime::new().context("cannot start the async runtime")?;
    runtime.block_on(serve(secrets, options))
}

async fn serve(secrets: DevSecrets, options: StackOptions) -> Result<()> {
    let stack = Stack::start(options).await?;

    if let Some(gateway) = stack.gateway {
        println!("\nTodo API:   http://{gateway}/api/tasks   (OpenAPI: http://{gateway}/api/openapi.json)");
    }
    for (app, endpoints) in &stack.apps {
        println!(
            "  {app:<11} app http://{}   sidecar http://{}",
            endpoints.app, endpoints.sidecar
        );
    }
    match &stack.store.path() {
        Some(path) => println!("State:      {}", path.display()),
        None => println!("State:      in memory"),
    }
    println!("Token (user \"dev\", 24 h; more with `devstack token --user NAME`):");
    println!("{}", secrets.token_for("dev", 24 * 3600));

    wait_for_stop_signal().await?;
    tracing::info!("stopping");
    stack.shutdown().await;
    Ok(())
}

/// Ctrl-C or SIGTERM.
async fn wait_for_stop_signal() -> Result<()> {
    #[cfg(unix)]
    {
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
        tokio::select! {
            result = tokio::signal::ctrl_c() => result?,
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    tokio::signal::ctrl_c().await?;
    Ok(())
}
