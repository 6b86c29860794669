//! Waiting in tests: poll a condition with a deadline, never sleep for a
//! fixed time. Besides the poll itself ([`eventually`]), the waits several
//! tests share: a consumer group's dead letters ([`wait_dead_letter`]), a
//! consumer group with nothing left to deliver ([`wait_idle`]), a job the
//! scheduler is done with ([`wait_job_gone`]).

use std::future::Future;
use std::net::SocketAddr;
use std::time::Duration;

use devstack::store::{DeadLetter, Store};

use super::{dead_letters, get};

/// How long any wait (and any request) lasts before the test fails.
pub const WAIT: Duration = Duration::from_secs(20);

/// How often a condition is polled.
const POLL: Duration = Duration::from_millis(20);

/// Polls `f` until it returns `Some`, or panics after `limit` with `what`
/// and what `explain` says then.
pub async fn eventually_explained<T, F, Fut>(
    what: &str,
    limit: Duration,
    explain: impl FnOnce() -> String,
    mut f: F,
) -> T
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
            panic!("timed out after {limit:?} waiting for {what}{}", explain());
        }
        tokio::time::sleep(POLL).await;
    }
}

/// Polls `f` until it returns `Some`, or panics after `limit`.
pub async fn eventually_within<T, F, Fut>(what: &str, limit: Duration, f: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    eventually_explained(what, limit, String::new, f).await
}

/// Polls `f` until it returns `Some`, or panics after [`WAIT`].
pub async fn eventually<T, F, Fut>(what: &str, f: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    eventually_within(what, WAIT, f).await
}

/// Waits until consumer group `group` (`<app-id>/<subscription>`) has given
/// up on at least `n` messages (dropped or dead-lettered: its rows in the
/// store's `dead_letters`); returns them all, oldest first. A message given
/// up on is no longer pending: the record and the removal of its delivery
/// are one transaction.
pub async fn wait_dead_letters(store: &Store, group: &str, n: usize) -> Vec<DeadLetter> {
    eventually(&format!("{n} dead letters of {group}"), || async {
        let dead = dead_letters(store, group).await;
        (dead.len() >= n).then_some(dead)
    })
    .await
}

/// [`wait_dead_letters`] for the first one.
pub async fn wait_dead_letter(store: &Store, group: &str) -> DeadLetter {
    wait_dead_letters(store, group, 1).await.remove(0)
}

/// Waits until consumer group `group` has no pending delivery: every
/// message it has pulled is acknowledged, dropped or dead-lettered, so
/// nothing it pulled is delivered again.
pub async fn wait_idle(store: &Store, group: &str) {
    eventually(&format!("{group} to have nothing pending"), || async {
        (store.pending_deliveries(group).await.unwrap() == 0).then_some(())
    })
    .await
}

/// Waits until the sidecar at `sidecar` no longer has job `name` (its GET
/// answers 500, as daprd's does for a missing job): the scheduler deletes
/// a job once its last trigger is done (delivered, or given up on under
/// its failure policy), after that trigger's callback has returned — so
/// every callback it made has arrived, and no other can follow.
pub async fn wait_job_gone(sidecar: SocketAddr, name: &str) {
    let url = format!("http://{sidecar}/v1.0-alpha1/jobs/{name}");
    eventually(&format!("job {name} to be done"), || async {
        (get(&url).await.status == 500).then_some(())
    })
    .await
}
