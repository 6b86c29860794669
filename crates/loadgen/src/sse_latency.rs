//! Live-update latency: how long after `POST /api/tasks` answers does the
//! change arrive on another open `GET /api/sync/stream` of the same user
//! (the path task-api → `task-updates` → sync-relay's feed → the SSE stream
//! that polls it), and how many store reads an idle open stream costs.
//!
//! [`measure`] opens one stream (like a second browser), waits for its
//! `ready` event, then creates `changes` tasks one at a time, each after a
//! pseudo-random pause in `gap` so that changes land at every phase of the
//! stream's polling, and waits for each change's event. The latency of one
//! change is from the last byte of the POST response to the moment its
//! event's block was read off the stream (0 if it came first). When the
//! stream ends (its lifetime), it reconnects at once with `Last-Event-ID`,
//! like EventSource but without its `retry:` delay.
//!
//! It then waits for the stream to go idle (`quiet`, past its active
//! window), keeps it open and idle for `idle` and counts the state
//! reads sync-relay makes meanwhile (`GET` calls of app `sync-relay` to its
//! sidecar's state API, from the gateway's `GET /metrics`,
//! `devstack_sidecar_requests_total`): the stream's read cost per idle
//! minute. Only that one stream is open then.
//!
//! Last, `quiet_changes` changes each made after the stream has been quiet
//! for `quiet` (longer than the stream's active window, so each waits for
//! an idle poll): the latency of a change nobody made a change before,
//! reported apart from the others.
//!
//! A measurement, not a test: it asserts nothing about timings. Loopback
//! only; every wait is bounded.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Context, Result};
use bytes::Bytes;
use http::{Request, StatusCode};
use http_body_util::{BodyExt, Empty, Full};
use hyper_util::rt::TokioIo;
use serde_json::{json, Value};
use tokio::net::TcpStream;
use tokio::sync::mpsc;

/// What to measure.
#[derive(Debug, Clone)]
pub struct Options {
    /// Changes to make (one at a time).
    pub changes: usize,
    /// The pause before each change is drawn uniformly from this range.
    pub gap: (Duration, Duration),
    /// How long to wait for one change's event before counting it missed.
    pub timeout: Duration,
    /// How long the stream stays idle while its reads are counted (zero
    /// skips the count).
    pub idle: Duration,
    /// Changes made each after `quiet` without any change.
    pub quiet_changes: usize,
    /// The quiet before each of those.
    pub quiet: Duration,
}

impl Default for Options {
    fn default() -> Options {
        Options {
            changes: 100,
            gap: (Duration::from_millis(500), Duration::from_millis(2500)),
            timeout: Duration::from_secs(10),
            idle: Duration::from_secs(60),
            quiet_changes: 0,
            // sync-relay's active window is 30 s.
            quiet: Duration::from_secs(32),
        }
    }
}

/// What [`measure`] found.
#[derive(Debug, Clone)]
pub struct Report {
    /// One latency per change whose event arrived, sorted.
    pub latencies: Vec<Duration>,
    /// Changes whose event did not arrive within the timeout.
    pub missed: usize,
    /// Events that arrived before the POST response was read.
    pub before_response: usize,
    /// Times the stream ended and was reopened.
    pub reconnects: usize,
    /// sync-relay state reads per minute of one idle open stream.
    pub idle_reads_per_minute: Option<f64>,
    /// The latencies of the changes made after a quiet spell, sorted.
    pub after_quiet: Vec<Duration>,
}

impl Report {
    /// Nearest-rank percentile (`p` in 0–100) of the changes made during
    /// activity; zero without samples.
    pub fn percentile(&self, p: f64) -> Duration {
        percentile(&self.latencies, p)
    }
}

/// Nearest-rank percentile of sorted `samples`; zero without samples.
fn percentile(samples: &[Duration], p: f64) -> Duration {
    if samples.is_empty() {
        return Duration::ZERO;
    }
    let rank = ((p / 100.0) * samples.len() as f64).ceil() as usize;
    samples[rank.clamp(1, samples.len()) - 1]
}

impl std::fmt::Display for Report {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let ms = |d: Duration| format!("{:.1} ms", d.as_secs_f64() * 1e3);
        let mean = if self.latencies.is_empty() {
            Duration::ZERO
        } else {
            self.latencies.iter().sum::<Duration>() / self.latencies.len() as u32
        };
        writeln!(
            f,
            "change -> SSE event: {} changes seen, {} missed, {} before the POST response, {} reconnects",
            self.latencies.len(),
            self.missed,
            self.before_response,
            self.reconnects
        )?;
        writeln!(
            f,
            "  p50 {}  p90 {}  p99 {}  max {}  mean {}",
            ms(self.percentile(50.0)),
            ms(self.percentile(90.0)),
            ms(self.percentile(99.0)),
            ms(self.latencies.last().copied().unwrap_or_default()),
            ms(mean)
        )?;
        if !self.after_quiet.is_empty() {
            writeln!(
                f,
                "  after a quiet spell ({} changes): p50 {}  max {}",
                self.after_quiet.len(),
                ms(percentile(&self.after_quiet, 50.0)),
                ms(self.after_quiet.last().copied().unwrap_or_default()),
            )?;
        }
        match self.idle_reads_per_minute {
            Some(r) => writeln!(f, "idle stream: {r:.1} state reads per minute"),
            None => writeln!(f, "idle stream: reads not counted"),
        }
    }
}

/// An event of interest read off the stream: the task it is about, when.
struct Seen {
    task_id: String,
    at: Instant,
}

/// Measures against the gateway at `addr` (loopback) as the user of
/// `token`; see the module docs.
pub async fn measure(addr: SocketAddr, token: &str, options: &Options) -> Result<Report> {
    if !addr.ip().is_loopback() {
        bail!("{addr} is not a loopback address");
    }
    let (seen_tx, mut seen_rx) = mpsc::unbounded_channel::<Seen>();
    let (ready_tx, mut ready_rx) = mpsc::unbounded_channel::<()>();
    let reconnects = Arc::new(AtomicUsize::new(0));
    let reader = tokio::spawn(read_stream(
        addr,
        token.to_string(),
        seen_tx,
        ready_tx,
        reconnects.clone(),
    ));
    tokio::time::timeout(options.timeout, ready_rx.recv())
        .await
        .context("the stream did not send `ready` in time")?
        .ok_or_else(|| anyhow!("the stream closed before `ready`"))?;

    let mut poster = Poster::open(addr, token).await?;
    let mut rng = 0x9E37_79B9_7F4A_7C15_u64;
    let mut report = Report {
        latencies: Vec::with_capacity(options.changes),
        missed: 0,
        before_response: 0,
        reconnects: 0,
        idle_reads_per_minute: None,
        after_quiet: Vec::new(),
    };
    let (low, high) = options.gap;
    for n in 0..options.changes {
        let span = high.saturating_sub(low).as_millis() as u64;
        let gap = low
            + Duration::from_millis(if span == 0 {
                0
            } else {
                xorshift(&mut rng) % span
            });
        tokio::time::sleep(gap).await;
        match change_latency(&mut poster, &mut seen_rx, n, options.timeout).await? {
            Arrival::Seen(latency, early) => {
                report.before_response += usize::from(early);
                report.latencies.push(latency);
            }
            Arrival::Missed => report.missed += 1,
        }
    }
    report.latencies.sort_unstable();

    if !options.idle.is_zero() {
        // First past the stream's active window, so that what is counted is
        // an idle stream's rate.
        tokio::time::sleep(options.quiet).await;
        let before = stream_reads(addr).await?;
        let started = Instant::now();
        tokio::time::sleep(options.idle).await;
        let reads = stream_reads(addr).await?.saturating_sub(before);
        let minutes = started.elapsed().as_secs_f64() / 60.0;
        report.idle_reads_per_minute = Some(reads as f64 / minutes);
    }
    for n in 0..options.quiet_changes {
        // After the idle count the stream has been quiet long enough already.
        // A pseudo-random extra second, so that the changes fall at every
        // phase of the idle polls (a fixed quiet would repeat one phase).
        let jitter = Duration::from_millis(xorshift(&mut rng) % 1000);
        if n > 0 || options.idle.is_zero() {
            tokio::time::sleep(options.quiet + jitter).await;
        } else {
            tokio::time::sleep(jitter).await;
        }
        match change_latency(
            &mut poster,
            &mut seen_rx,
            options.changes + n,
            options.timeout,
        )
        .await?
        {
            Arrival::Seen(latency, early) => {
                report.before_response += usize::from(early);
                report.after_quiet.push(latency);
            }
            Arrival::Missed => report.missed += 1,
        }
    }
    report.after_quiet.sort_unstable();
    reader.abort();
    report.reconnects = reconnects.load(Ordering::Relaxed);
    Ok(report)
}

/// xorshift64: varied, deterministic pauses.
fn xorshift(state: &mut u64) -> u64 {
    let mut x = *state;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    *state = x;
    x
}

/// What became of one change.
enum Arrival {
    /// Its latency, and whether the event came before the POST response.
    Seen(Duration, bool),
    Missed,
}

/// Creates task `n` and waits for its event on the stream.
async fn change_latency(
    poster: &mut Poster,
    seen: &mut mpsc::UnboundedReceiver<Seen>,
    n: usize,
    timeout: Duration,
) -> Result<Arrival> {
    let (task_id, answered) = poster.create(n).await?;
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        match tokio::time::timeout_at(deadline, seen.recv()).await {
            Ok(Some(event)) if event.task_id == task_id => {
                return Ok(Arrival::Seen(
                    event.at.saturating_duration_since(answered),
                    event.at < answered,
                ))
            }
            Ok(Some(_)) => continue,
            Ok(None) => bail!("the stream reader stopped"),
            Err(_) => return Ok(Arrival::Missed),
        }
    }
}

/// sync-relay's state reads so far: the sum of the gateway's
/// `devstack_sidecar_requests_total{app="sync-relay",method="GET",api="state"}`.
async fn stream_reads(addr: SocketAddr) -> Result<u64> {
    let stream = TcpStream::connect(addr).await?;
    let (mut sender, connection) =
        hyper::client::conn::http1::handshake(TokioIo::new(stream)).await?;
    tokio::spawn(async move {
        let _ = connection.await;
    });
    let request = Request::builder()
        .uri("/metrics")
        .header(http::header::HOST, addr.to_string())
        .body(Empty::<Bytes>::new())?;
    let response = sender.send_request(request).await?;
    if response.status() != StatusCode::OK {
        bail!("GET /metrics answered {}", response.status());
    }
    let text = response.into_body().collect().await?.to_bytes();
    Ok(sidecar_reads(&String::from_utf8_lossy(&text), "sync-relay"))
}

/// `app`'s state GETs in an OpenMetrics text.
fn sidecar_reads(metrics: &str, app: &str) -> u64 {
    let app_label = format!("app=\"{app}\"");
    metrics
        .lines()
        .filter(|l| l.starts_with("devstack_sidecar_requests_total{"))
        .filter(|l| {
            l.contains(&app_label) && l.contains("method=\"GET\"") && l.contains("api=\"state\"")
        })
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum::<f64>() as u64
}

/// Reads the stream, reconnecting (with `Last-Event-ID`) when it ends
/// (counted in `reconnects`); reports `ready` and every task change.
async fn read_stream(
    addr: SocketAddr,
    token: String,
    seen: mpsc::UnboundedSender<Seen>,
    ready: mpsc::UnboundedSender<()>,
    reconnects: Arc<AtomicUsize>,
) -> Result<()> {
    let mut last_id: Option<String> = None;
    loop {
        let stream = TcpStream::connect(addr).await?;
        stream.set_nodelay(true)?;
        let (mut sender, connection) =
            hyper::client::conn::http1::handshake(TokioIo::new(stream)).await?;
        tokio::spawn(async move {
            let _ = connection.await;
        });
        let mut request = Request::builder()
            .uri("/api/sync/stream")
            .header(http::header::HOST, addr.to_string())
            .header(http::header::AUTHORIZATION, format!("Bearer {token}"))
            .header(http::header::ACCEPT, "text/event-stream");
        if let Some(id) = &last_id {
            request = request.header("last-event-id", id.as_str());
        }
        let response = sender
            .send_request(request.body(Empty::<Bytes>::new())?)
            .await?;
        if response.status() != StatusCode::OK {
            bail!("the stream answered {}", response.status());
        }
        let mut body = response.into_body();
        let mut buffer = String::new();
        while let Some(frame) = body.frame().await {
            let Ok(chunk) = frame?.into_data() else {
                continue;
            };
            let at = Instant::now();
            buffer.push_str(&String::from_utf8_lossy(&chunk));
            while let Some(end) = buffer.find("\n\n") {
                let block: String = buffer.drain(..end + 2).collect();
                let (mut id, mut kind, mut data) = (None, None, None);
                for line in block.lines() {
                    match line.split_once(": ") {
                        Some(("id", v)) => id = Some(v.to_string()),
                        Some(("event", v)) => kind = Some(v.to_string()),
                        Some(("data", v)) => data = serde_json::from_str::<Value>(v).ok(),
                        _ => {}
                    }
                }
                if id.is_some() {
                    last_id = id;
                }
                match kind.as_deref() {
                    Some("ready") => {
                        let _ = ready.send(());
                    }
                    Some("todo.sync.task-changed.v1") => {
                        let task_id = data
                            .as_ref()
                            .and_then(|d| d["data"]["taskId"].as_str())
                            .unwrap_or_default()
                            .to_string();
                        if seen.send(Seen { task_id, at }).is_err() {
                            return Ok(());
                        }
                    }
                    _ => {}
                }
            }
        }
        reconnects.fetch_add(1, Ordering::Relaxed);
    }
}

/// One keep-alive connection creating tasks.
struct Poster {
    addr: SocketAddr,
    token: String,
    sender: hyper::client::conn::http1::SendRequest<Full<Bytes>>,
}

impl Poster {
    async fn open(addr: SocketAddr, token: &str) -> Result<Poster> {
        let stream = TcpStream::connect(addr).await?;
        stream.set_nodelay(true)?;
        let (sender, connection) =
            hyper::client::conn::http1::handshake(TokioIo::new(stream)).await?;
        tokio::spawn(async move {
            let _ = connection.await;
        });
        Ok(Poster {
            addr,
            token: token.to_string(),
            sender,
        })
    }

    /// Creates task `n`: its id, and when the response was fully read.
    async fn create(&mut self, n: usize) -> Result<(String, Instant)> {
        let body = json!({ "title": format!("sse latency probe {n}"), "tags": ["sse-latency"] });
        let request = Request::builder()
            .method("POST")
            .uri("/api/tasks")
            .header(http::header::HOST, self.addr.to_string())
            .header(
                http::header::AUTHORIZATION,
                format!("Bearer {}", self.token),
            )
            .header(http::header::CONTENT_TYPE, "application/json")
            .body(Full::new(Bytes::from(body.to_string())))?;
        self.sender.ready().await.context("connection closed")?;
        let response = self.sender.send_request(request).await?;
        let status = response.status();
        let bytes = response.into_body().collect().await?.to_bytes();
        let answered = Instant::now();
        if status != StatusCode::CREATED {
            bail!(
                "POST /api/tasks answered {status}: {}",
                String::from_utf8_lossy(&bytes)
            );
        }
        let task: Value = serde_json::from_slice(&bytes).context("create: not JSON")?;
        let id = task["id"].as_str().context("create: no id")?.to_string();
        Ok((id, answered))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_apps_state_gets_are_counted() {
        let metrics = r#"# HELP devstack_sidecar_requests Calls of an app to its sidecar's API, by method and API
# TYPE devstack_sidecar_requests counter
devstack_sidecar_requests_total{app="sync-relay",method="GET",api="state"} 154
devstack_sidecar_requests_total{app="sync-relay",method="POST",api="state"} 3
devstack_sidecar_requests_total{app="sync-relay",method="GET",api="secrets"} 2
devstack_sidecar_requests_total{app="task-api",method="GET",api="state"} 1000
devstack_requests_total{app="sync-relay",route="/api/sync/stream",status="200"} 1
# EOF
"#;
        assert_eq!(sidecar_reads(metrics, "sync-relay"), 154);
        assert_eq!(sidecar_reads(metrics, "audit"), 0);
    }

    #[test]
    fn percentiles_are_nearest_rank() {
        let samples: Vec<Duration> = (1..=20).map(Duration::from_millis).collect();
        assert_eq!(percentile(&samples, 50.0), Duration::from_millis(10));
        assert_eq!(percentile(&samples, 99.0), Duration::from_millis(20));
        assert_eq!(percentile(&[], 50.0), Duration::ZERO);
    }
}
