//! The one durable store behind every sidecar: state, the pub/sub log,
//! subscription deliveries, dead letters and jobs, in a single SQLite file.
//!
//! Why one SQLite file: architecture §6 requires that "a restart loses nothing that
//! was acknowledged". Every write a sidecar acknowledges (a 204 to a state
//! save, a publish, a job schedule) is a committed SQLite transaction before
//! the response is sent. The database runs in WAL mode with
//! `synchronous=FULL`: in WAL mode `NORMAL` survives a crash of the process
//! but may lose the last commits on power loss or an OS crash, because the
//! WAL is only fsynced at checkpoints; `FULL` fsyncs the WAL on every commit,
//! so an acknowledged write is on disk, whatever happens next. The cost (one
//! fsync per API call) is irrelevant at development scale.
//!
//! Layout:
//! - `state(store, key, value, etag, expires_at)`: `key` is already the
//!   Dapr-prefixed key (`appid||key`); ETags are fresh UUIDs (like
//!   PostgreSQL v2), so a deleted-and-recreated key never reuses one;
//!   expired rows are invisible and removed lazily.
//! - `messages(seq, …)`: the pub/sub log, append-only, in publish order.
//! - `consumer_offsets(group_id, last_seq)` (per group and topic) +
//!   `deliveries(group_id, seq,
//!   ordering_key, attempts, next_attempt_at)`: a consumer group (app-id +
//!   subscription name, like a Kafka consumer group) pulls new messages of
//!   its topic from the log into `deliveries` and advances its offset in the
//!   same transaction. A delivery row exists until its message is done
//!   (acked, dropped or dead-lettered). Only the oldest pending row per
//!   ordering key (the Kafka partition; without a partition count, the
//!   message key, or a unique one when there is none) is ever handed out,
//!   so one partition's messages are processed strictly in order while
//!   different partitions proceed in parallel.
//! - `dead_letters`: every message a subscription gave up on, with why.
//! - `jobs`: Dapr Jobs, with their next fire time, trigger count and retry
//!   attempt, so schedules survive restarts.
//!
//! Access: one connection behind a mutex, used from `spawn_blocking`, so no
//! SQLite call ever blocks the async runtime.
//!
//! Files: this one opens the database, holds the schema and hands queries to
//! the connection ([`Store::open`], `run`); each group of tables has its own
//! `impl Store` block and row types: `state.rs` (`state`), `log.rs`
//! (`messages`, `consumer_offsets`, `deliveries`, `dead_letters`, log
//! compaction) and `jobs.rs` (`jobs`).

mod jobs;
mod log;
mod state;

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use anyhow::{Context, Result};
use rusqlite::Connection;
use tokio::sync::watch;

pub use jobs::{JobRecord, JobUpdate};
pub use log::{DeadLetter, Delivery, NewMessage, StoredMessage};
pub use state::{StateEntry, StateError, StateOp};

/// Milliseconds since the Unix epoch, the time unit of every column here.
pub fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

/// A handle on the store; clones share one connection.
#[derive(Clone)]
pub struct Store {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store")
            .field("path", &self.inner.path)
            .finish_non_exhaustive()
    }
}

struct Inner {
    conn: Mutex<Connection>,
    /// Bumped after every commit that may create work (a publish, a job
    /// change), so workers wake without polling.
    changes: watch::Sender<u64>,
    path: Option<PathBuf>,
}

const SCHEMA_VERSION: i64 = 1;

const SCHEMA: &str = r#"
CREATE TABLE IF NOT EXISTS state (
    store      TEXT    NOT NULL,
    key        TEXT    NOT NULL,
    value      BLOB    NOT NULL,
    etag       TEXT    NOT NULL,
    expires_at INTEGER,
    PRIMARY KEY (store, key)
);
CREATE TABLE IF NOT EXISTS messages (
    seq           INTEGER PRIMARY KEY AUTOINCREMENT,
    pubsub        TEXT    NOT NULL,
    topic         TEXT    NOT NULL,
    partition_key TEXT,
    content_type  TEXT    NOT NULL,
    metadata      TEXT    NOT NULL,
    data          BLOB    NOT NULL,
    published_at  INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS messages_topic ON messages (pubsub, topic, seq);
CREATE TABLE IF NOT EXISTS consumer_offsets (
    group_id TEXT PRIMARY KEY,
    last_seq INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS deliveries (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    group_id        TEXT    NOT NULL,
    seq             INTEGER NOT NULL,
    ordering_key    TEXT    NOT NULL,
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at INTEGER NOT NULL,
    last_error      TEXT,
    UNIQUE (group_id, seq)
);
CREATE INDEX IF NOT EXISTS deliveries_order ON deliveries (group_id, ordering_key, id);
CREATE TABLE IF NOT EXISTS dead_letters (
    id                INTEGER PRIMARY KEY AUTOINCREMENT,
    group_id          TEXT    NOT NULL,
    seq               INTEGER NOT NULL,
    pubsub            TEXT    NOT NULL,
    topic             TEXT    NOT NULL,
    dead_letter_topic TEXT,
    reason            TEXT    NOT NULL,
    data              BLOB    NOT NULL,
    at                INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS jobs (
    app_id         TEXT    NOT NULL,
    name           TEXT    NOT NULL,
    schedule       TEXT,
    due_time       TEXT,
    repeats        INTEGER,
    ttl            TEXT,
    data           TEXT,
    failure_policy TEXT    NOT NULL,
    begin_at       INTEGER NOT NULL,
    begin_is_due   INTEGER NOT NULL,
    expires_at     INTEGER,
    next_fire_at   INTEGER NOT NULL,
    last_fire_at   INTEGER,
    count          INTEGER NOT NULL DEFAULT 0,
    attempts       INTEGER NOT NULL DEFAULT 0,
    revision       INTEGER NOT NULL,
    created_at     INTEGER NOT NULL,
    PRIMARY KEY (app_id, name)
);
CREATE INDEX IF NOT EXISTS jobs_due ON jobs (app_id, next_fire_at);
"#;

impl Store {
    /// Opens (creating if needed) the SQLite file at `path`, or for `None`
    /// (`--in-memory`, tests) a throwaway database that nothing outlives.
    ///
    /// The throwaway one is SQLite's private temporary database (an empty
    /// file name: an unnamed file deleted on close, <https://sqlite.org/inmemorydb.html>
    /// "Temporary Databases"), not `:memory:`: it keeps only its page cache
    /// in the process and leaves the rest to the OS's file cache, so a long
    /// load run does not hold every row it wrote in devstack's own memory.
    /// Nothing needs to survive a crash, so it never syncs; its rollback
    /// journal stays in memory (rollback itself is still needed: a failed
    /// transaction must leave nothing behind).
    pub fn open(path: Option<&Path>) -> Result<Store> {
        let conn = match path {
            Some(p) => {
                if let Some(parent) = p.parent().filter(|d| !d.as_os_str().is_empty()) {
                    std::fs::create_dir_all(parent)
                        .with_context(|| format!("creating {}", parent.display()))?;
                }
                let conn = Connection::open(p)
                    .with_context(|| format!("opening SQLite database {}", p.display()))?;
                let mode: String = conn.query_row("PRAGMA journal_mode=WAL", [], |r| r.get(0))?;
                if !mode.eq_ignore_ascii_case("wal") {
                    anyhow::bail!("{}: could not enable WAL (got {mode})", p.display());
                }
                conn.pragma_update(None, "synchronous", "FULL")?;
                conn
            }
            None => {
                let conn = Connection::open("")?;
                conn.pragma_update(None, "synchronous", "OFF")?;
                conn.query_row("PRAGMA journal_mode=MEMORY", [], |_| Ok(()))?;
                conn
            }
        };
        conn.busy_timeout(std::time::Duration::from_secs(10))?;
        conn.pragma_update(None, "foreign_keys", "ON")?;
        let version: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
        if version > SCHEMA_VERSION {
            anyhow::bail!(
                "database schema version {version} is newer than this devstack ({SCHEMA_VERSION})"
            );
        }
        conn.execute_batch(SCHEMA).context("creating schema")?;
        conn.pragma_update(None, "user_version", SCHEMA_VERSION)?;
        let (changes, _) = watch::channel(0);
        Ok(Store {
            inner: Arc::new(Inner {
                conn: Mutex::new(conn),
                changes,
                path: path.map(Path::to_path_buf),
            }),
        })
    }

    /// The database file, `None` when in memory.
    pub fn path(&self) -> Option<&Path> {
        self.inner.path.as_deref()
    }

    /// A receiver that changes after every publish and job change.
    pub fn changes(&self) -> watch::Receiver<u64> {
        self.inner.changes.subscribe()
    }

    fn notify(&self) {
        self.inner.changes.send_modify(|v| *v = v.wrapping_add(1));
    }

    /// Runs `f` on the connection on the blocking pool.
    async fn run<R, F>(&self, f: F) -> Result<R>
    where
        R: Send + 'static,
        F: FnOnce(&mut Connection) -> Result<R> + Send + 'static,
    {
        let inner = self.inner.clone();
        tokio::task::spawn_blocking(move || {
            let mut conn = inner
                .conn
                .lock()
                .map_err(|_| anyhow::anyhow!("store mutex poisoned"))?;
            f(&mut conn)
        })
        .await
        .context("store task panicked")?
    }

    /// How many bytes the database holds (`page_count × page_size`) and how
    /// many of those are free pages kept for reuse.
    pub async fn footprint(&self) -> Result<(u64, u64)> {
        self.run(|conn| {
            let pragma = |name: &str| -> rusqlite::Result<u64> {
                conn.query_row(&format!("PRAGMA {name}"), [], |r| r.get::<_, i64>(0))
                    .map(|v| v as u64)
            };
            let page = pragma("page_size")?;
            Ok((
                pragma("page_count")? * page,
                pragma("freelist_count")? * page,
            ))
        })
        .await
    }
}
