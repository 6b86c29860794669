//! Keeps the pub/sub log from growing without bound: what Kafka's topic
//! retention does for the brokers in production.
//!
//! Every [`COMPACTION_INTERVAL`] the log loses the messages that every
//! consumer group has pulled, that no pending delivery still needs, and that
//! are older than the retention. With a database file the retention is our
//! `KafkaTopic`s' `retention.ms` (7 days, `k8s/kafka/topics.yaml`): a restart
//! within it re-reads nothing it should not, and a consumer group added later
//! still finds a week of history, as on Strimzi. With `--in-memory` nothing
//! outlives the process and every consumer group exists from the start, so a
//! consumed message has no reader left: it goes after [`IN_MEMORY_RETENTION`],
//! which keeps a load run's memory flat instead of holding every event of the
//! run (the log was the largest part of devstack's memory after `scripts/bench`).

use std::time::Duration;

use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::store::{now_ms, Store};

/// `retention.ms` of the task topics in `k8s/kafka/topics.yaml`.
pub const FILE_RETENTION: Duration = Duration::from_secs(7 * 24 * 3600);

/// How long a consumed message stays in an in-memory log (long enough for a
/// test to look at what was published, dead-letter topics included).
pub const IN_MEMORY_RETENTION: Duration = Duration::from_secs(10);

/// How often the log is compacted.
pub const COMPACTION_INTERVAL: Duration = Duration::from_secs(5);

/// The retention for a store kept in a file (`true`) or in memory.
pub fn retention(durable: bool) -> Duration {
    if durable {
        FILE_RETENTION
    } else {
        IN_MEMORY_RETENTION
    }
}

/// Compacts `store`'s log every [`COMPACTION_INTERVAL`] until `shutdown`.
pub fn start(
    store: Store,
    retention: Duration,
    mut shutdown: watch::Receiver<bool>,
) -> JoinHandle<()> {
    tokio::spawn(async move {
        loop {
            tokio::select! {
                _ = tokio::time::sleep(COMPACTION_INTERVAL) => {}
                _ = shutdown.changed() => return,
            }
            if *shutdown.borrow() {
                return;
            }
            let older_than = now_ms() - retention.as_millis() as i64;
            match store.compact_log(older_than).await {
                Ok(0) => {}
                Ok(n) => tracing::debug!(messages = n, "compacted the pub/sub log"),
                Err(e) => {
                    tracing::warn!(error = %format!("{e:#}"), "compacting the pub/sub log failed")
                }
            }
        }
    })
}
