//! The command line: loadgen's flags, their defaults and help texts (clap).

use std::path::PathBuf;

use clap::Parser;

use crate::scenarios::Scenario;

#[derive(Parser, Debug)]
#[command(
    version,
    about = "Closed-loop load generator for the devstack gateway (loopback only)."
)]
pub(crate) struct Cli {
    /// The gateway (loopback only).
    #[arg(long, default_value = "http://127.0.0.1:3000")]
    pub(crate) url: String,
    /// The devstack binary: tokens come from `devstack token --state-dir DIR --user NAME`.
    #[arg(long, default_value = "target/release/devstack")]
    pub(crate) devstack: PathBuf,
    /// devstack's state directory (where its secrets are).
    #[arg(long, default_value = ".devstack")]
    pub(crate) state_dir: PathBuf,
    /// Concurrent connections (closed loop: one request in flight on each).
    #[arg(long, short = 'c', default_value_t = 8)]
    pub(crate) connections: usize,
    /// Measured seconds per scenario [default: 10, with --quick 2].
    #[arg(long)]
    pub(crate) duration: Option<f64>,
    /// Warm-up seconds per scenario, results discarded [default: 2, with --quick 0.5].
    #[arg(long)]
    pub(crate) warmup: Option<f64>,
    /// At most this many measured requests per scenario.
    #[arg(long, default_value_t = 200_000)]
    pub(crate) max_requests: u64,
    /// Tasks seeded for the user of the get and list scenarios.
    #[arg(long, default_value_t = 1000)]
    pub(crate) tasks: u64,
    /// Query string of the list scenario.
    #[arg(
        long,
        default_value = "status=open&tag=work&q=quarterly&sort=-priority&limit=50"
    )]
    pub(crate) list_query: String,
    /// devstack's log, written with `RUST_LOG=devstack::host::serve=debug`:
    /// per-request instantiation times are read from it.
    #[arg(long)]
    pub(crate) instantiate_log: Option<PathBuf>,
    /// Scenarios to run, in order, comma-separated (the baseline always runs
    /// first). The creates come last by default: they grow their users.
    #[arg(
        long,
        value_enum,
        value_delimiter = ',',
        default_value = "noop,get,post,list,get-1,get-10k,patch-1,patch-10k,list-1k,list-10k,create-1,create-10k,create-16-one-user,create-16-users"
    )]
    pub(crate) scenarios: Vec<Scenario>,
    /// task-api's Dapr sidecar (loopback), where the 10,000-task user of the
    /// `*-10k` scenarios is seeded directly (`POST /v1.0/state/statestore`).
    #[arg(long)]
    pub(crate) task_api_sidecar: Option<String>,
    /// Tasks of the big user of the `*-10k` scenarios, and how many of them are completed.
    #[arg(long, default_value_t = 10_000)]
    pub(crate) big_tasks: usize,
    #[arg(long, default_value_t = 9_000)]
    pub(crate) big_completed: usize,
    /// A short run: 2 s per scenario after 0.5 s of warm-up (unless given).
    #[arg(long)]
    pub(crate) quick: bool,
    /// Per-request timeout in seconds.
    #[arg(long, default_value_t = 10.0)]
    pub(crate) timeout: f64,
    /// How long to wait for the gateway to become healthy, in seconds.
    #[arg(long, default_value_t = 30.0)]
    pub(crate) wait: f64,
    /// Changes whose change -> SSE event latency is measured after the
    /// scenarios, one at a time 0.5–2.5 s apart (needs sync-relay hosted);
    /// 0 skips it [default: 60, with --quick 20].
    #[arg(long)]
    pub(crate) sse_changes: Option<usize>,
    /// Then, seconds the stream stays idle while sync-relay's state reads
    /// are counted (from the gateway's /metrics); 0 skips it [default: 60,
    /// with --quick 20].
    #[arg(long)]
    pub(crate) sse_idle: Option<u64>,
    /// Then, changes made each after 32 s without any change (past the
    /// stream's 30 s active window), reported apart.
    #[arg(long, default_value_t = 0)]
    pub(crate) sse_quiet_changes: usize,
}
