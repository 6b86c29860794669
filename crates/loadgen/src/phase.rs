//! The closed loop: [`phase`] runs one scenario on N connections, each
//! sending its next request as soon as its last one answered, for a time or
//! a request count, and collects what came back ([`Phase`]).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Result;

use crate::client::Conn;
use crate::scenarios::{Fixture, Scenario};
use crate::target::Target;

/// The outcome of one closed-loop phase.
pub(crate) struct Phase {
    pub(crate) latencies: Vec<Duration>,
    /// Body bytes of the successful responses.
    pub(crate) bytes: u64,
    pub(crate) errors: u64,
    pub(crate) first_error: Option<String>,
    pub(crate) elapsed: Duration,
}

/// Runs `scenario` closed-loop on `connections` connections until `duration`
/// has passed or `max_requests` were started.
pub(crate) async fn phase(
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
