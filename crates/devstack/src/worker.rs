//! The loop a sidecar's background worker runs over work kept in the store:
//! the pub/sub deliveries of one subscription ([`crate::delivery`]) and the
//! job triggers of one app ([`crate::scheduler`]).
//!
//! Each turn hands out the items that are due, each on its own task and at
//! most `max_in_flight` at once (an item still in flight is never handed out
//! again), then sleeps until the first of: the next item is due (as the
//! [`Work`] says), the store signals a change (a publish, a job change), a
//! task finishes, or shutdown. After shutdown it waits, up to
//! [`DRAIN_LIMIT`], for the tasks already started, so every delivery or
//! trigger already sent records its outcome.

use std::collections::HashSet;
use std::future::Future;
use std::hash::Hash;
use std::time::Duration;

use tokio::sync::{mpsc, watch};

use crate::sidecar::wait_shutdown;

/// How long a stopping worker waits for the tasks it started.
const DRAIN_LIMIT: Duration = Duration::from_secs(10);

/// What a [`run`] loop works on.
pub(crate) trait Work: Clone + Send + Sync + 'static {
    /// Names an item while it is in flight.
    type Key: Hash + Eq + Clone + Send + 'static;
    type Item: Send + 'static;

    /// The items that may start now, none of them in `in_flight`, at most
    /// `room` of them (`room` may be 0: the call still happens, so a source
    /// can do its bookkeeping).
    fn due(
        &self,
        in_flight: Vec<Self::Key>,
        room: usize,
    ) -> impl Future<Output = Vec<(Self::Key, Self::Item)>> + Send;

    /// How long to sleep when nothing wakes the loop.
    fn idle(&self) -> impl Future<Output = Duration> + Send;

    /// Does one item, on its own task.
    fn handle(&self, item: Self::Item) -> impl Future<Output = ()> + Send;
}

/// Runs `work` until `shutdown`, woken early by `changes`.
pub(crate) async fn run<W: Work>(
    work: W,
    max_in_flight: usize,
    mut changes: watch::Receiver<u64>,
    mut shutdown: watch::Receiver<bool>,
) {
    let (done_tx, mut done_rx) = mpsc::unbounded_channel::<W::Key>();
    let mut in_flight: HashSet<W::Key> = HashSet::new();
    loop {
        if *shutdown.borrow() {
            break;
        }
        let room = max_in_flight.saturating_sub(in_flight.len());
        for (key, item) in work.due(in_flight.iter().cloned().collect(), room).await {
            in_flight.insert(key.clone());
            let (work, done) = (work.clone(), done_tx.clone());
            tokio::spawn(async move {
                work.handle(item).await;
                let _ = done.send(key);
            });
        }
        let wait = work.idle().await;
        tokio::select! {
            _ = tokio::time::sleep(wait) => {}
            // A publish or a job change: look at once.
            _ = changes.changed() => {}
            Some(key) = done_rx.recv() => { in_flight.remove(&key); }
            _ = wait_shutdown(&mut shutdown) => break,
        }
        while let Ok(key) = done_rx.try_recv() {
            in_flight.remove(&key);
        }
    }
    drain_in_flight(&mut in_flight, &mut done_rx, DRAIN_LIMIT).await;
}

/// After shutdown: waits (at most `limit`) for the work still in flight to
/// report on `done`, so every delivery or trigger already sent records its
/// outcome before the worker stops.
async fn drain_in_flight<K: std::hash::Hash + Eq>(
    in_flight: &mut std::collections::HashSet<K>,
    done: &mut tokio::sync::mpsc::UnboundedReceiver<K>,
    limit: Duration,
) {
    let deadline = tokio::time::Instant::now() + limit;
    while !in_flight.is_empty() {
        match tokio::time::timeout_at(deadline, done.recv()).await {
            Ok(Some(key)) => {
                in_flight.remove(&key);
            }
            _ => break,
        }
    }
}
