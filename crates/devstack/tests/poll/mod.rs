//! Waiting in tests: poll a condition with a deadline, never a fixed sleep.
//! Shared by the sidecar and end-to-end harnesses.

use std::future::Future;
use std::time::Duration;

/// Polls `f` until it returns `Some`, or panics after `limit`.
pub async fn eventually_within<T, F, Fut>(what: &str, limit: Duration, mut f: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let deadline = tokio::time::Instant::now() + limit;
    loop {
        if let Some(v) = f().await {
            return v;
        }
        if tokio::time::Instant::now() > deadline {
            panic!("timed out after {limit:?} waiting for {what}");
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}
