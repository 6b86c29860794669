//! The gateway under load: where loadgen sends its requests (a loopback
//! address only: it loads the local machine, nothing else), and the wait
//! until the gateway is healthy.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use http::StatusCode;

use crate::client::{Conn, Req};

pub(crate) struct Target {
    pub(crate) addr: SocketAddr,
    pub(crate) timeout: Duration,
}

/// The first address of `url`'s host, which must be a loopback address.
pub(crate) async fn loopback_addr(url: &str) -> Result<SocketAddr> {
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
pub(crate) async fn wait_healthy(target: &Target, within: Duration) -> Result<()> {
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
