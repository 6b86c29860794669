//! Runs [`sse_latency::measure`] against a running devstack: change → SSE
//! event latency (p50/p99) and the state reads of an idle open stream.
//!
//! ```text
//! target/release/devstack up --listen 127.0.0.1:3000 --state-dir /tmp/sse \
//!   --in-memory > /tmp/sse/devstack.log 2>&1 &
//! cargo run --release -p loadgen --example sse_latency -- \
//!   --devstack target/release/devstack --state-dir /tmp/sse --quiet-changes 5
//! ```

#[path = "../src/sse_latency.rs"]
mod sse_latency;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::{bail, Context, Result};
use clap::Parser;

#[derive(Parser, Debug)]
#[command(about = "Change -> SSE event latency and idle stream reads (loopback only).")]
struct Cli {
    /// The gateway address.
    #[arg(long, default_value = "127.0.0.1:3000")]
    addr: SocketAddr,
    /// The devstack binary (tokens come from `devstack token`).
    #[arg(long, default_value = "target/release/devstack")]
    devstack: PathBuf,
    /// devstack's state directory (where its secrets are).
    #[arg(long, default_value = ".devstack")]
    state_dir: PathBuf,
    /// The user whose feed is measured.
    #[arg(long, default_value = "sse-latency")]
    user: String,
    /// Changes to make, one at a time.
    #[arg(long, default_value_t = 100)]
    changes: usize,
    /// Shortest pause before a change, in milliseconds.
    #[arg(long, default_value_t = 500)]
    gap_min_ms: u64,
    /// Longest pause before a change, in milliseconds.
    #[arg(long, default_value_t = 2500)]
    gap_max_ms: u64,
    /// Seconds the stream stays idle while its reads are counted (0 skips).
    #[arg(long, default_value_t = 60)]
    idle_secs: u64,
    /// Changes made each after 32 s without any change, reported apart.
    #[arg(long, default_value_t = 0)]
    quiet_changes: usize,
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<()> {
    let cli = Cli::parse();
    let output = std::process::Command::new(&cli.devstack)
        .arg("token")
        .arg("--state-dir")
        .arg(&cli.state_dir)
        .arg("--user")
        .arg(&cli.user)
        .output()
        .with_context(|| format!("running {}", cli.devstack.display()))?;
    if !output.status.success() {
        bail!(
            "`devstack token` failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
    let stdout = String::from_utf8_lossy(&output.stdout);
    let token = stdout
        .lines()
        .last()
        .context("`devstack token` printed nothing")?
        .trim()
        .to_string();
    let options = sse_latency::Options {
        changes: cli.changes,
        gap: (
            Duration::from_millis(cli.gap_min_ms),
            Duration::from_millis(cli.gap_max_ms.max(cli.gap_min_ms)),
        ),
        idle: Duration::from_secs(cli.idle_secs),
        quiet_changes: cli.quiet_changes,
        ..sse_latency::Options::default()
    };
    let report = sse_latency::measure(cli.addr, &token, &options).await?;
    print!("{report}");
    Ok(())
}
