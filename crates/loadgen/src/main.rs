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
//! The size scenarios (issue 11) compare the same request for a 1-task user
//! and for a 10,000-task user (9,000 completed) seeded directly in task-api's
//! state through its sidecar (`--task-api-sidecar`), with the documents
//! task-api itself would have written (`task_api::store::documents_for`).
//!
//! A benchmark, not a test: it asserts nothing about timings. It only talks
//! to loopback addresses, and every phase is bounded in time and count.
//!
//! This file holds `main` and `run`, the run from start to end: check the
//! options, wait for the gateway, seed, run each scenario (warm-up, then
//! measured), print the tables, then measure the live updates. The modules,
//! one job each:
//! - [`cli`]: the command line (flags, defaults, help texts);
//! - [`target`]: the gateway under load (loopback only) and its health;
//! - [`scenarios`]: what each scenario requests, and the
//!   [`Fixture`] its requests are made from;
//! - [`seed`](mod@seed): the users' tokens and their seeded tasks;
//! - [`phase`](mod@phase): the closed loop that runs one scenario;
//! - [`client`]: one HTTP/1.1 keep-alive connection per worker;
//! - [`data`]: deterministic, varied task bodies;
//! - [`instlog`]: per-request instantiation times, from devstack's log;
//! - [`stats`]: latency summaries, and the cells and tables they print in;
//! - [`report`]: the tables printed after the scenarios;
//! - [`sse_latency`]: the change → SSE event latency, and what an idle
//!   stream reads.

mod cli;
mod client;
mod data;
mod instlog;
mod phase;
mod report;
mod scenarios;
mod seed;
mod sse_latency;
mod stats;
mod target;

use std::sync::Arc;
use std::time::Duration;

use anyhow::{bail, Result};
use clap::Parser;

use cli::Cli;
use instlog::InstLog;
use phase::phase;
use report::{print_report, report_errors, Outcome};
use scenarios::{Fixture, Scenario, User, BIG_USER, CROWD_USER, LIST_USER, ONE_USER, SIXTEEN};
use seed::{describe_list, seed, seed_direct, seed_one, token};
use stats::Summary;
use target::{loopback_addr, wait_healthy, Target};

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
        .any(|s| matches!(s, Scenario::Get | Scenario::List | Scenario::List1k));
    let needs_big = scenarios.iter().any(|s| s.needs_big());
    let needs_one = scenarios.iter().any(|s| s.needs_one());
    let needs_post = scenarios.contains(&Scenario::Post);

    let list_token = token(&cli, LIST_USER)?;
    let post_tokens = if needs_post {
        (0..cli.connections)
            .map(|i| token(&cli, &format!("bench-post-{i}")))
            .collect::<Result<Vec<_>>>()?
    } else {
        Vec::new()
    };
    let sixteen_tokens = if scenarios.contains(&Scenario::Create16Users) {
        (0..SIXTEEN)
            .map(|i| token(&cli, &format!("bench-16-{i}")))
            .collect::<Result<Vec<_>>>()?
    } else {
        Vec::new()
    };
    let mut fixture = Fixture {
        list_token,
        post_tokens,
        ids: Vec::new(),
        list_query: cli.list_query.clone(),
        one: User::default(),
        big: User::default(),
        crowd_token: token(&cli, CROWD_USER)?,
        sixteen_tokens,
    };

    println!(
        "loadgen: gateway http://{addr}, {} connections, closed loop, {} s per scenario after {} s warm-up (≤ {} requests)",
        cli.connections, duration, warmup, cli.max_requests
    );
    if needs_seed {
        fixture.ids = seed(&target, &fixture, cli.tasks).await?;
        describe_list(&target, &fixture, Scenario::List).await?;
        if scenarios.contains(&Scenario::List1k) {
            describe_list(&target, &fixture, Scenario::List1k).await?;
        }
    }
    if needs_one {
        fixture.one = seed_one(&target, token(&cli, ONE_USER)?).await?;
    }
    if needs_big {
        let Some(sidecar) = &cli.task_api_sidecar else {
            bail!("the *-10k scenarios need --task-api-sidecar ADDR (task-api's Dapr sidecar)");
        };
        let sidecar =
            loopback_addr(&format!("http://{}", sidecar.trim_start_matches("http://"))).await?;
        let big_token = token(&cli, BIG_USER)?;
        fixture.big = seed_direct(
            &target,
            sidecar,
            big_token,
            cli.big_tasks,
            cli.big_completed,
        )
        .await?;
        if scenarios.contains(&Scenario::List10k) {
            describe_list(&target, &fixture, Scenario::List10k).await?;
        }
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
                scenario.connections(cli.connections),
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
            scenario.connections(cli.connections),
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
            connections: scenario.connections(cli.connections),
            request,
            phase: measured,
            latency,
            instantiation,
        });
    }
    print_report(&outcomes, log.is_some());

    // Live updates: how long after a create answers its change arrives on
    // another open stream of the same user.
    let sse_changes = cli.sse_changes.unwrap_or(if cli.quick { 20 } else { 60 });
    if sse_changes > 0 {
        let token = token(&cli, &format!("bench-sse-{}", std::process::id()))?;
        let options = sse_latency::Options {
            changes: sse_changes,
            idle: Duration::from_secs(cli.sse_idle.unwrap_or(if cli.quick { 20 } else { 60 })),
            quiet_changes: cli.sse_quiet_changes,
            ..Default::default()
        };
        match sse_latency::measure(addr, &token, &options).await {
            Ok(report) => print!("\n{report}"),
            Err(err) => {
                println!("\nchange -> SSE event: not measured ({err:#}; is sync-relay hosted?)")
            }
        }
    }
    Ok(())
}
