//! `loadgen`: a closed-loop load generator for the devstack gateway.
//!
//! N workers (one keep-alive connection each) send requests back to back for
//! a fixed time or request count per scenario, after a warm-up whose
//! results are discarded. It seeds its own data (a user with `--tasks`
//! varied tasks), then reports per scenario the throughput, p50/p99 latency
//! (client side, until the last body byte) and, from devstack's log
//! (`--instantiate-log`), the per-request instantiation time — each as a
//! ratio to a baseline measured in the same run: `GET /api/openapi.json`, a
//! static document the component serves without any Dapr call.
//!
//! A benchmark, not a test: it asserts nothing about timings. It only talks
//! to loopback addresses, and every phase is bounded in time and count.

mod client;
mod data;
mod instlog;
mod stats;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use clap::{Parser, ValueEnum};
use http::{Method, StatusCode};
use serde_json::Value;

use client::{Conn, Req};
use instlog::{InstLog, Sample};
use stats::{ms, ratio, table, us, Summary};

#[derive(Parser, Debug)]
#[command(
    version,
    about = "Closed-loop load generator for the devstack gateway (loopback only)."
)]
struct Cli {
    /// The gateway (loopback only).
    #[arg(long, default_value = "http://127.0.0.1:3000")]
    url: String,
    /// The devstack binary: tokens come from `devstack token --state-dir DIR --user NAME`.
    #[arg(long, default_value = "target/release/devstack")]
    devstack: PathBuf,
    /// devstack's state directory (where its secrets are).
    #[arg(long, default_value = ".devstack")]
    state_dir: PathBuf,
    /// Concurrent connections (closed loop: one request in flight on each).
    #[arg(long, short = 'c', default_value_t = 8)]
    connections: usize,
    /// Measured seconds per scenario [default: 10, with --quick 2].
    #[arg(long)]
    duration: Option<f64>,
    /// Warm-up seconds per scenario, results discarded [default: 2, with --quick 0.5].
    #[arg(long)]
    warmup: Option<f64>,
    /// At most this many measured requests per scenario.
    #[arg(long, default_value_t = 200_000)]
    max_requests: u64,
    /// Tasks seeded for the user of the get and list scenarios.
    #[arg(long, default_value_t = 1000)]
    tasks: u64,
    /// Query string of the list scenario.
    #[arg(
        long,
        default_value = "status=open&tag=work&q=quarterly&sort=-priority&limit=50"
    )]
    list_query: String,
    /// devstack's log, written with `RUST_LOG=devstack::host::serve=debug`:
    /// per-request instantiation times are read from it.
    #[arg(long)]
    instantiate_log: Option<PathBuf>,
    /// Scenarios to run, in order (the baseline always runs first).
    #[arg(
        long,
        value_enum,
        value_delimiter = ',',
        default_value = "noop,get,post,list"
    )]
    scenarios: Vec<Scenario>,
    /// A short run: 2 s per scenario after 0.5 s of warm-up (unless given).
    #[arg(long)]
    quick: bool,
    /// Per-request timeout in seconds.
    #[arg(long, default_value_t = 10.0)]
    timeout: f64,
    /// How long to wait for the gateway to become healthy, in seconds.
    #[arg(long, default_value_t = 30.0)]
    wait: f64,
}

/// What a scenario requests.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Scenario {
    /// `GET /api/openapi.json`: instantiate + a static document, no Dapr call.
    Baseline,
    /// A path routed to the component that it answers 404 (no Dapr call).
    Noop,
    /// `GET /api/tasks/{id}` of the seeded user.
    Get,
    /// `POST /api/tasks`, one user per connection.
    Post,
    /// The filtered, sorted, searched list over the seeded user.
    List,
}

const NOOP_PATH: &str = "/api/tasks/bench/no/such/route";
const LIST_USER: &str = "bench-list";

/// What the request generators need.
struct Fixture {
    list_token: String,
    post_tokens: Vec<String>,
    ids: Vec<String>,
    list_query: String,
}

impl Scenario {
    fn name(self) -> &'static str {
        match self {
            Scenario::Baseline => "baseline",
            Scenario::Noop => "noop-404 (ref)",
            Scenario::Get => "get",
            Scenario::Post => "post",
            Scenario::List => "list",
        }
    }

    fn describe(self, fx: &Fixture) -> String {
        match self {
            Scenario::Baseline => "GET /api/openapi.json".into(),
            Scenario::Noop => format!("GET {NOOP_PATH}"),
            Scenario::Get => format!("GET /api/tasks/{{id}} ({} ids)", fx.ids.len()),
            Scenario::Post => format!("POST /api/tasks ({} users)", fx.post_tokens.len()),
            Scenario::List => format!("GET /api/tasks?{}", fx.list_query),
        }
    }

    fn request(self, fx: &Fixture, worker: usize, seq: u64) -> Req {
        match self {
            Scenario::Baseline => Req::get("/api/openapi.json", None),
            Scenario::Noop => Req::get(NOOP_PATH, None).expecting(StatusCode::NOT_FOUND),
            Scenario::Get => {
                // A stride through the ids, so consecutive requests differ.
                let i = (seq.wrapping_mul(7919) % fx.ids.len() as u64) as usize;
                Req::get(format!("/api/tasks/{}", fx.ids[i]), Some(&fx.list_token))
            }
            Scenario::Post => {
                let mut rng = data::Rng::new(seq.wrapping_mul(0x9E37_79B9) ^ worker as u64);
                let body = data::task_body(&mut rng, seq);
                let token = &fx.post_tokens[worker % fx.post_tokens.len()];
                Req::post_json("/api/tasks", token, body.to_string().into_bytes())
            }
            Scenario::List => Req::get(
                format!("/api/tasks?{}", fx.list_query),
                Some(&fx.list_token),
            ),
        }
    }

    /// Whether an instantiation logged by devstack belongs to this scenario.
    fn owns(self, s: &Sample) -> bool {
        let get = s.method == "GET";
        match self {
            Scenario::Baseline => get && s.path == "/api/openapi.json",
            Scenario::Noop => get && s.path == NOOP_PATH,
            Scenario::Get => get && s.path.starts_with("/api/tasks/") && s.path != NOOP_PATH,
            Scenario::Post => s.method == "POST" && s.path == "/api/tasks",
            Scenario::List => get && s.path == "/api/tasks",
        }
    }
}

/// The outcome of one closed-loop phase.
struct Phase {
    latencies: Vec<Duration>,
    /// Body bytes of the successful responses.
    bytes: u64,
    errors: u64,
    first_error: Option<String>,
    elapsed: Duration,
}

/// The figures of one scenario.
struct Outcome {
    scenario: Scenario,
    request: String,
    phase: Phase,
    latency: Summary,
    instantiation: Option<Summary>,
}

impl Outcome {
    fn rate(&self) -> f64 {
        self.phase.latencies.len() as f64 / self.phase.elapsed.as_secs_f64().max(1e-9)
    }
}

struct Target {
    addr: SocketAddr,
    timeout: Duration,
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> std::process::ExitCode {
    match run(Cli::parse()).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("loadgen: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli) -> Result<()> {
    let (duration, warmup) = if cli.quick {
        (cli.duration.unwrap_or(2.0), cli.warmup.unwrap_or(0.5))
    } else {
        (cli.duration.unwrap_or(10.0), cli.warmup.unwrap_or(2.0))
    };
    let times_ok = duration.is_finite() && duration > 0.0 && warmup.is_finite() && warmup >= 0.0;
    if cli.connections == 0 || cli.tasks == 0 || !times_ok {
        bail!("--connections, --duration and --tasks must be positive, --warmup not negative");
    }
    let addr = loopback_addr(&cli.url).await?;
    let target = Target {
        addr,
        timeout: Duration::from_secs_f64(cli.timeout),
    };
    wait_healthy(&target, Duration::from_secs_f64(cli.wait)).await?;

    let mut scenarios = vec![Scenario::Baseline];
    scenarios.extend(cli.scenarios.iter().filter(|s| **s != Scenario::Baseline));
    let needs_seed = scenarios
        .iter()
        .any(|s| matches!(s, Scenario::Get | Scenario::List));
    let needs_post = scenarios.contains(&Scenario::Post);

    let list_token = token(&cli, LIST_USER)?;
    let post_tokens = if needs_post {
        (0..cli.connections)
            .map(|i| token(&cli, &format!("bench-post-{i}")))
            .collect::<Result<Vec<_>>>()?
    } else {
        Vec::new()
    };
    let mut fixture = Fixture {
        list_token,
        post_tokens,
        ids: Vec::new(),
        list_query: cli.list_query.clone(),
    };

    println!(
        "loadgen: gateway http://{addr}, {} connections, closed loop, {} s per scenario after {} s warm-up (≤ {} requests)",
        cli.connections, duration, warmup, cli.max_requests
    );
    if needs_seed {
        fixture.ids = seed(&target, &fixture, cli.tasks).await?;
        describe_list(&target, &fixture).await?;
    }

    let fixture = Arc::new(fixture);
    let log = cli.instantiate_log.as_deref().map(InstLog::new);
    let mut outcomes = Vec::new();
    for scenario in scenarios {
        let request = scenario.describe(&fixture);
        println!("loadgen: {} — {request}", scenario.name());
        if warmup > 0.0 {
            let warm = phase(
                &target,
                &fixture,
                scenario,
                cli.connections,
                Duration::from_secs_f64(warmup),
                u64::MAX,
            )
            .await?;
            report_errors("warm-up", &warm);
        }
        let mark = log.as_ref().map(|l| l.position()).transpose()?;
        let mut measured = phase(
            &target,
            &fixture,
            scenario,
            cli.connections,
            Duration::from_secs_f64(duration),
            cli.max_requests,
        )
        .await?;
        report_errors("measured", &measured);
        let instantiation = match (&log, mark) {
            (Some(log), Some(mark)) => {
                let mut times: Vec<Duration> = log
                    .samples_since(mark)?
                    .into_iter()
                    .filter(|s| scenario.owns(s))
                    .map(|s| s.time)
                    .collect();
                Some(Summary::of(&mut times))
            }
            _ => None,
        };
        let latency = Summary::of(&mut measured.latencies);
        outcomes.push(Outcome {
            scenario,
            request,
            phase: measured,
            latency,
            instantiation,
        });
    }
    print_report(&outcomes, log.is_some());
    Ok(())
}

/// The first address of `url`'s host, which must be a loopback address.
async fn loopback_addr(url: &str) -> Result<SocketAddr> {
    let uri: http::Uri = url
        .parse()
        .with_context(|| format!("invalid --url {url}"))?;
    if uri.scheme_str() != Some("http") {
        bail!("--url must be http://HOST:PORT");
    }
    let host = uri.host().context("--url has no host")?;
    let host = host.trim_start_matches('[').trim_end_matches(']');
    let port = uri.port_u16().unwrap_or(80);
    let addrs: Vec<SocketAddr> = tokio::net::lookup_host((host, port))
        .await
        .with_context(|| format!("cannot resolve {host}"))?
        .collect();
    match addrs.iter().find(|a| a.ip().is_loopback()) {
        Some(addr) if addrs.iter().all(|a| a.ip().is_loopback()) => Ok(*addr),
        _ => bail!("{url} is not a loopback address: loadgen only loads the local machine"),
    }
}

/// Waits until Spin's health route answers 200.
async fn wait_healthy(target: &Target, within: Duration) -> Result<()> {
    let deadline = Instant::now() + within;
    let health = Req::get("/.well-known/spin/health", None);
    loop {
        let attempt = async {
            let mut conn = Conn::open(target.addr).await?;
            conn.send(&health, Duration::from_secs(2)).await
        };
        match attempt.await {
            Ok(resp) if resp.status == StatusCode::OK => return Ok(()),
            Ok(resp) if Instant::now() >= deadline => {
                bail!("gateway unhealthy: {}", resp.status)
            }
            Err(e) if Instant::now() >= deadline => return Err(e.context("gateway unreachable")),
            _ => tokio::time::sleep(Duration::from_millis(200)).await,
        }
    }
}

/// A token for `user` from `devstack token` (its last line).
fn token(cli: &Cli, user: &str) -> Result<String> {
    let output = std::process::Command::new(&cli.devstack)
        .arg("token")
        .arg("--state-dir")
        .arg(&cli.state_dir)
        .args(["--user", user])
        .output()
        .with_context(|| format!("cannot run {}", cli.devstack.display()))?;
    if !output.status.success() {
        bail!(
            "`devstack token --user {user}` failed: {}",
            String::from_utf8_lossy(&output.stderr).trim()
        );
    }
    String::from_utf8(output.stdout)?
        .lines()
        .rev()
        .map(str::trim)
        .find(|l| !l.is_empty())
        .map(str::to_string)
        .context("`devstack token` printed nothing")
}

/// Creates `count` tasks for the list user, one at a time (they all update
/// the same per-user index), and completes about a quarter of them.
async fn seed(target: &Target, fx: &Fixture, count: u64) -> Result<Vec<String>> {
    let started = Instant::now();
    let mut conn = Conn::open(target.addr).await?;
    let mut rng = data::Rng::new(0x5EED);
    let mut ids = Vec::with_capacity(count as usize);
    let mut completed = 0;
    for n in 0..count {
        let body = data::task_body(&mut rng, n).to_string().into_bytes();
        let req = Req::post_json("/api/tasks", &fx.list_token, body);
        let resp = send_retrying(&mut conn, &req, target.timeout).await?;
        let task: Value = serde_json::from_slice(&resp.body).context("create: not JSON")?;
        let id = task["id"].as_str().context("create: no id")?.to_string();
        if rng.below(4) == 0 {
            let complete = Req {
                method: Method::POST,
                target: format!("/api/tasks/{id}/complete"),
                token: Some(fx.list_token.clone()),
                body: None,
                expect: StatusCode::OK,
            };
            send_retrying(&mut conn, &complete, target.timeout).await?;
            completed += 1;
        }
        ids.push(id);
    }
    println!(
        "loadgen: seeded {count} tasks for user {LIST_USER} ({completed} completed) in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    Ok(ids)
}

/// Sends `req`, retrying a few times on 503 (contention) or transport errors.
async fn send_retrying(conn: &mut Conn, req: &Req, timeout: Duration) -> Result<client::Resp> {
    let mut last = String::new();
    for attempt in 0..5u32 {
        if attempt > 0 {
            tokio::time::sleep(Duration::from_millis(50 << attempt)).await;
        }
        match conn.send(req, timeout).await {
            Ok(resp) if resp.status == req.expect => return Ok(resp),
            Ok(resp) if resp.status == StatusCode::SERVICE_UNAVAILABLE => {
                last = "503".into();
            }
            Ok(resp) => bail!(
                "{} {} → {}: {}",
                req.method,
                req.target,
                resp.status,
                String::from_utf8_lossy(&resp.body)
            ),
            Err(e) => last = format!("{e:#}"),
        }
    }
    bail!("{} {} failed: {last}", req.method, req.target)
}

/// Prints what the list query matches, so the figures can be interpreted.
async fn describe_list(target: &Target, fx: &Fixture) -> Result<()> {
    let mut conn = Conn::open(target.addr).await?;
    let req = Scenario::List.request(fx, 0, 0);
    let resp = send_retrying(&mut conn, &req, target.timeout).await?;
    let page: Value = serde_json::from_slice(&resp.body).context("list: not JSON")?;
    println!(
        "loadgen: list query matches {} tasks; a page has {} items ({} bytes, next cursor: {})",
        page["total"],
        page["items"].as_array().map_or(0, Vec::len),
        resp.body.len(),
        if page["nextCursor"].is_string() {
            "yes"
        } else {
            "no"
        },
    );
    Ok(())
}

/// Runs `scenario` closed-loop on `connections` connections until `duration`
/// has passed or `max_requests` were started.
async fn phase(
    target: &Target,
    fx: &Arc<Fixture>,
    scenario: Scenario,
    connections: usize,
    duration: Duration,
    max_requests: u64,
) -> Result<Phase> {
    let mut conns = Vec::with_capacity(connections);
    for _ in 0..connections {
        conns.push(Conn::open(target.addr).await?);
    }
    let started = Instant::now();
    let deadline = started + duration;
    let issued = Arc::new(AtomicU64::new(0));
    let timeout = target.timeout;
    let mut workers = Vec::with_capacity(connections);
    for (worker, mut conn) in conns.into_iter().enumerate() {
        let fx = fx.clone();
        let issued = issued.clone();
        workers.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            let mut bytes = 0u64;
            let mut errors = 0u64;
            let mut first_error = None;
            while Instant::now() < deadline {
                let seq = issued.fetch_add(1, Ordering::Relaxed);
                if seq >= max_requests {
                    break;
                }
                let req = scenario.request(&fx, worker, seq);
                let sent = Instant::now();
                let outcome = conn.send(&req, timeout).await;
                let took = sent.elapsed();
                let problem = match outcome {
                    Ok(resp) if resp.status == req.expect => {
                        latencies.push(took);
                        bytes += resp.body.len() as u64;
                        continue;
                    }
                    Ok(resp) => format!(
                        "{} {} → {}: {}",
                        req.method,
                        req.target,
                        resp.status,
                        String::from_utf8_lossy(&resp.body[..resp.body.len().min(300)])
                    ),
                    Err(e) => format!("{} {}: {e:#}", req.method, req.target),
                };
                errors += 1;
                first_error.get_or_insert(problem);
                // A broken server must not turn into a busy loop.
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
            (latencies, bytes, errors, first_error)
        }));
    }
    let mut result = Phase {
        latencies: Vec::new(),
        bytes: 0,
        errors: 0,
        first_error: None,
        elapsed: Duration::ZERO,
    };
    for worker in workers {
        let (latencies, bytes, errors, first_error) = worker.await?;
        result.latencies.extend(latencies);
        result.bytes += bytes;
        result.errors += errors;
        if result.first_error.is_none() {
            result.first_error = first_error;
        }
    }
    result.elapsed = started.elapsed();
    Ok(result)
}

fn report_errors(what: &str, phase: &Phase) {
    if let Some(first) = &phase.first_error {
        eprintln!(
            "loadgen: {what}: {} failed requests; first: {first}",
            phase.errors
        );
    }
}

fn print_report(outcomes: &[Outcome], with_instantiation: bool) {
    let Some(base) = outcomes.iter().find(|o| o.scenario == Scenario::Baseline) else {
        return;
    };
    let secs = |d: Duration| d.as_secs_f64();
    println!("\nThroughput and latency (client side, until the last body byte); ratios against the baseline:\n");
    let rows: Vec<Vec<String>> = outcomes
        .iter()
        .map(|o| {
            vec![
                o.scenario.name().to_string(),
                o.request.clone(),
                o.phase.latencies.len().to_string(),
                o.phase.errors.to_string(),
                (o.phase.bytes / (o.phase.latencies.len() as u64).max(1)).to_string(),
                format!("{:.0}", o.rate()),
                ms(o.latency.p50),
                ms(o.latency.p99),
                ratio(o.rate(), base.rate()),
                ratio(secs(o.latency.p50), secs(base.latency.p50)),
                ratio(secs(o.latency.p99), secs(base.latency.p99)),
            ]
        })
        .collect();
    print!(
        "{}",
        table(
            &[
                "scenario",
                "request",
                "requests",
                "errors",
                "body B",
                "req/s",
                "p50 ms",
                "p99 ms",
                "req/s vs base",
                "p50 vs base",
                "p99 vs base",
            ],
            &rows
        )
    );

    if !with_instantiation {
        println!("\n(no --instantiate-log: instantiation times not reported)");
        return;
    }
    let base_inst = base.instantiation.unwrap_or_default();
    println!("\nInstantiation per request (devstack `instantiate_us`: store + instantiate_async), its ratio to the baseline's and its share of the request latency:\n");
    let rows: Vec<Vec<String>> = outcomes
        .iter()
        .map(|o| {
            let inst = o.instantiation.unwrap_or_default();
            vec![
                o.scenario.name().to_string(),
                inst.count.to_string(),
                us(inst.p50),
                us(inst.p99),
                us(inst.mean),
                ratio(secs(inst.p50), secs(base_inst.p50)),
                percent(secs(inst.p50), secs(o.latency.p50)),
                percent(secs(inst.mean), secs(o.latency.mean)),
            ]
        })
        .collect();
    print!(
        "{}",
        table(
            &[
                "scenario",
                "instances",
                "p50 µs",
                "p99 µs",
                "mean µs",
                "p50 vs base",
                "share of p50 latency",
                "share of mean latency",
            ],
            &rows
        )
    );
}

fn percent(part: f64, whole: f64) -> String {
    if whole > 0.0 {
        format!("{:.1}%", 100.0 * part / whole)
    } else {
        "-".into()
    }
}
