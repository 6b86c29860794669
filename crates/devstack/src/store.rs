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
//!   ordering key (the partition key; a unique key when there is none) is
//!   ever handed out, so messages for one key are processed strictly in
//!   order while different keys proceed in parallel.
//! - `dead_letters`: every message a subscription gave up on, with why.
//! - `jobs`: Dapr Jobs, with their next fire time, trigger count and retry
//!   attempt, so schedules survive restarts.
//!
//! Access: one connection behind a mutex, used from `spawn_blocking`, so no
//! SQLite call ever blocks the async runtime.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use anyhow::{Context, Result};
use rusqlite::{params, Connection, OptionalExtension, TransactionBehavior};
use tokio::sync::watch;

/// Milliseconds since the Unix epoch, the time unit of every column here.
pub fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

/// A handle on the store; clones share one connection.
#[derive(Clone)]
pub struct Store {
    inner: Arc<Inner>,
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

    // -----------------------------------------------------------------------
    // State

    /// The live (not expired) entry for the fully prefixed `key`.
    pub async fn state_get(&self, store: &str, key: &str) -> Result<Option<StateEntry>> {
        let (store, key) = (store.to_string(), key.to_string());
        self.run(move |conn| read_state(conn, &store, &key, now_ms()))
            .await
    }

    /// Entries for `keys` in order (`None` = missing or expired).
    pub async fn state_bulk_get(
        &self,
        store: &str,
        keys: Vec<String>,
    ) -> Result<Vec<Option<StateEntry>>> {
        let store = store.to_string();
        self.run(move |conn| {
            let now = now_ms();
            keys.iter()
                .map(|k| read_state(conn, &store, k, now))
                .collect()
        })
        .await
    }

    /// Applies `ops` atomically: all or nothing. ETag rules as Dapr's
    /// PostgreSQL v2 store: an ETag must match the live entry; a first-write
    /// without an ETag only inserts; a delete with an ETag of a missing key
    /// is a mismatch; a delete without one of a missing key succeeds.
    pub async fn state_apply(&self, store: &str, ops: Vec<StateOp>) -> Result<(), StateError> {
        let store = store.to_string();
        let result = self
            .run(move |conn| {
                let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
                let now = now_ms();
                for op in ops {
                    if let Err(e) = apply_state_op(&tx, &store, op, now) {
                        return Ok(Err(e));
                    }
                }
                tx.commit()?;
                Ok(Ok(()))
            })
            .await;
        match result {
            Ok(inner) => inner,
            Err(e) => Err(StateError::Store(e)),
        }
    }

    // -----------------------------------------------------------------------
    // Pub/sub log

    /// Appends a message to the log (committed before this returns) and
    /// wakes the delivery workers. Returns its sequence number.
    pub async fn publish(&self, msg: NewMessage) -> Result<i64> {
        let seq = self
            .run(move |conn| insert_message(conn, &msg, now_ms()))
            .await?;
        self.notify();
        Ok(seq)
    }

    /// Creates the offset of consumer group `group` on `pubsub`/`topic` if
    /// new: it starts after the current end of the log when `from_newest`,
    /// else at its beginning (Kafka's `initialOffset: newest|oldest`). An
    /// existing offset is kept. Offsets are per group *and* topic, as in
    /// Kafka, so a subscription moved to another topic starts fresh there.
    pub async fn register_group(
        &self,
        group: &str,
        pubsub: &str,
        topic: &str,
        from_newest: bool,
    ) -> Result<()> {
        let group = offset_key(group, pubsub, topic);
        self.run(move |conn| {
            let start: i64 = if from_newest {
                conn.query_row("SELECT COALESCE(MAX(seq), 0) FROM messages", [], |r| {
                    r.get(0)
                })?
            } else {
                0
            };
            conn.execute(
                "INSERT OR IGNORE INTO consumer_offsets (group_id, last_seq) VALUES (?1, ?2)",
                params![group, start],
            )?;
            Ok(())
        })
        .await
    }

    /// Moves messages of `pubsub`/`topic` published after the group's offset
    /// into its pending deliveries (one transaction). Returns how many.
    pub async fn pull(&self, group: &str, pubsub: &str, topic: &str) -> Result<usize> {
        let key = offset_key(group, pubsub, topic);
        let (group, pubsub, topic) = (group.to_string(), pubsub.to_string(), topic.to_string());
        self.run(move |conn| {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let last: i64 = tx
                .query_row(
                    "SELECT last_seq FROM consumer_offsets WHERE group_id = ?1",
                    params![key],
                    |r| r.get(0),
                )
                .optional()?
                .unwrap_or(0);
            let end: i64 = tx.query_row("SELECT COALESCE(MAX(seq), 0) FROM messages", [], |r| {
                r.get(0)
            })?;
            if end <= last {
                return Ok(0);
            }
            let now = now_ms();
            let n = tx.execute(
                "INSERT OR IGNORE INTO deliveries (group_id, seq, ordering_key, next_attempt_at)
                 SELECT ?1, seq, COALESCE(partition_key, char(0) || seq), ?2 FROM messages
                 WHERE pubsub = ?3 AND topic = ?4 AND seq > ?5 AND seq <= ?6",
                params![group, now, pubsub, topic, last, end],
            )?;
            tx.execute(
                "INSERT INTO consumer_offsets (group_id, last_seq) VALUES (?1, ?2)
                 ON CONFLICT (group_id) DO UPDATE SET last_seq = excluded.last_seq",
                params![key, end],
            )?;
            tx.commit()?;
            Ok(n)
        })
        .await
    }

    /// Deliveries of `group` that may be attempted now: the oldest pending
    /// one of each ordering key, if due, not in `in_flight`; oldest first.
    pub async fn ready_deliveries(
        &self,
        group: &str,
        now: i64,
        in_flight: Vec<i64>,
        limit: usize,
    ) -> Result<Vec<Delivery>> {
        let group = group.to_string();
        self.run(move |conn| {
            let mut stmt = conn.prepare_cached(
                "SELECT d.id, d.attempts, m.seq, m.pubsub, m.topic, m.partition_key,
                        m.content_type, m.metadata, m.data, m.published_at
                 FROM deliveries d JOIN messages m ON m.seq = d.seq
                 WHERE d.group_id = ?1 AND d.next_attempt_at <= ?2
                   AND d.id = (SELECT MIN(d2.id) FROM deliveries d2
                               WHERE d2.group_id = d.group_id AND d2.ordering_key = d.ordering_key)
                 ORDER BY d.id",
            )?;
            let mut out = Vec::new();
            let mut rows = stmt.query(params![group, now])?;
            while let Some(row) = rows.next()? {
                let id: i64 = row.get(0)?;
                if in_flight.contains(&id) {
                    continue;
                }
                let metadata: String = row.get(7)?;
                out.push(Delivery {
                    id,
                    attempts: row.get::<_, i64>(1)? as u64,
                    message: StoredMessage {
                        seq: row.get(2)?,
                        pubsub: row.get(3)?,
                        topic: row.get(4)?,
                        partition_key: row.get(5)?,
                        content_type: row.get(6)?,
                        metadata: serde_json::from_str(&metadata).unwrap_or_default(),
                        data: row.get(8)?,
                        published_at: row.get(9)?,
                    },
                });
                if out.len() >= limit {
                    break;
                }
            }
            Ok(out)
        })
        .await
    }

    /// When the earliest head-of-key delivery of `group` becomes due.
    pub async fn next_delivery_due(&self, group: &str) -> Result<Option<i64>> {
        let group = group.to_string();
        self.run(move |conn| {
            Ok(conn.query_row(
                "SELECT MIN(d.next_attempt_at) FROM deliveries d
                 WHERE d.group_id = ?1
                   AND d.id = (SELECT MIN(d2.id) FROM deliveries d2
                               WHERE d2.group_id = d.group_id AND d2.ordering_key = d.ordering_key)",
                params![group],
                |r| r.get(0),
            )?)
        })
        .await
    }

    /// Number of pending deliveries of `group` (for tests and metadata).
    pub async fn pending_deliveries(&self, group: &str) -> Result<usize> {
        let group = group.to_string();
        self.run(move |conn| {
            let n: i64 = conn.query_row(
                "SELECT COUNT(*) FROM deliveries WHERE group_id = ?1",
                params![group],
                |r| r.get(0),
            )?;
            Ok(n as usize)
        })
        .await
    }

    /// The message is done for this group (success, or dropped without a
    /// dead-letter topic).
    pub async fn ack(&self, delivery_id: i64) -> Result<()> {
        self.run(move |conn| {
            conn.execute("DELETE FROM deliveries WHERE id = ?1", params![delivery_id])?;
            Ok(())
        })
        .await
    }

    /// Schedules another attempt.
    pub async fn retry_later(
        &self,
        delivery_id: i64,
        attempts: u64,
        next_attempt_at: i64,
        error: &str,
    ) -> Result<()> {
        let error = error.to_string();
        self.run(move |conn| {
            conn.execute(
                "UPDATE deliveries SET attempts = ?2, next_attempt_at = ?3, last_error = ?4 WHERE id = ?1",
                params![delivery_id, attempts as i64, next_attempt_at, error],
            )?;
            Ok(())
        })
        .await
    }

    /// Gives up on a delivery in one transaction: records it in
    /// `dead_letters`, republishes `republish` (the original message to the
    /// subscription's dead-letter topic) if given, and removes the delivery.
    pub async fn dead_letter(
        &self,
        delivery_id: i64,
        group: &str,
        message: &StoredMessage,
        dead_letter_topic: Option<&str>,
        reason: &str,
    ) -> Result<()> {
        let group = group.to_string();
        let message = message.clone();
        let dlq = dead_letter_topic.map(str::to_string);
        let reason = reason.to_string();
        self.run(move |conn| {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let now = now_ms();
            tx.execute(
                "INSERT INTO dead_letters (group_id, seq, pubsub, topic, dead_letter_topic, reason, data, at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
                params![group, message.seq, message.pubsub, message.topic, dlq, reason, message.data, now],
            )?;
            if let Some(topic) = &dlq {
                insert_message(
                    &tx,
                    &NewMessage {
                        pubsub: message.pubsub.clone(),
                        topic: topic.clone(),
                        partition_key: message.partition_key.clone(),
                        content_type: message.content_type.clone(),
                        metadata: message.metadata.clone(),
                        data: message.data.clone(),
                    },
                    now,
                )?;
            }
            tx.execute("DELETE FROM deliveries WHERE id = ?1", params![delivery_id])?;
            tx.commit()?;
            Ok(())
        })
        .await?;
        if dead_letter_topic.is_some() {
            self.notify();
        }
        Ok(())
    }

    /// Every dead letter recorded, oldest first.
    pub async fn dead_letters(&self) -> Result<Vec<DeadLetter>> {
        self.run(|conn| {
            let mut stmt = conn.prepare(
                "SELECT group_id, seq, pubsub, topic, dead_letter_topic, reason, data, at
                 FROM dead_letters ORDER BY id",
            )?;
            let rows = stmt.query_map([], |r| {
                Ok(DeadLetter {
                    group: r.get(0)?,
                    seq: r.get(1)?,
                    pubsub: r.get(2)?,
                    topic: r.get(3)?,
                    dead_letter_topic: r.get(4)?,
                    reason: r.get(5)?,
                    data: r.get(6)?,
                    at: r.get(7)?,
                })
            })?;
            Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
        })
        .await
    }

    /// Every message of `pubsub`/`topic` in the log, oldest first.
    pub async fn messages(&self, pubsub: &str, topic: &str) -> Result<Vec<StoredMessage>> {
        let (pubsub, topic) = (pubsub.to_string(), topic.to_string());
        self.run(move |conn| {
            let mut stmt = conn.prepare(
                "SELECT seq, pubsub, topic, partition_key, content_type, metadata, data, published_at
                 FROM messages WHERE pubsub = ?1 AND topic = ?2 ORDER BY seq",
            )?;
            let rows = stmt.query_map(params![pubsub, topic], |r| {
                let metadata: String = r.get(5)?;
                Ok(StoredMessage {
                    seq: r.get(0)?,
                    pubsub: r.get(1)?,
                    topic: r.get(2)?,
                    partition_key: r.get(3)?,
                    content_type: r.get(4)?,
                    metadata: serde_json::from_str(&metadata).unwrap_or_default(),
                    data: r.get(6)?,
                    published_at: r.get(7)?,
                })
            })?;
            Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
        })
        .await
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

    /// Deletes log entries older than `older_than` (ms) that every consumer
    /// group has pulled and no delivery still references.
    pub async fn compact_log(&self, older_than: i64) -> Result<usize> {
        self.run(move |conn| {
            Ok(conn.execute(
                "DELETE FROM messages WHERE published_at < ?1
                   AND seq <= (SELECT COALESCE(MIN(last_seq), 0) FROM consumer_offsets)
                   AND seq NOT IN (SELECT seq FROM deliveries)",
                params![older_than],
            )?)
        })
        .await
    }

    // -----------------------------------------------------------------------
    // Jobs

    /// Stores a job. With `overwrite` it replaces an existing one (new
    /// revision, counters reset); without, an existing job makes this return
    /// `Ok(false)` and changes nothing.
    pub async fn job_put(&self, job: JobRecord, overwrite: bool) -> Result<bool> {
        let stored = self
            .run(move |conn| {
                let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
                let existing: Option<i64> = tx
                    .query_row(
                        "SELECT revision FROM jobs WHERE app_id = ?1 AND name = ?2",
                        params![job.app_id, job.name],
                        |r| r.get(0),
                    )
                    .optional()?;
                if existing.is_some() && !overwrite {
                    return Ok(false);
                }
                let revision = existing.map(|r| r + 1).unwrap_or(1);
                tx.execute(
                    "INSERT OR REPLACE INTO jobs (app_id, name, schedule, due_time, repeats, ttl, data,
                        failure_policy, begin_at, begin_is_due, expires_at, next_fire_at, last_fire_at,
                        count, attempts, revision, created_at)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, NULL, 0, 0, ?13, ?14)",
                    params![
                        job.app_id,
                        job.name,
                        job.schedule,
                        job.due_time,
                        job.repeats.map(|r| r as i64),
                        job.ttl,
                        job.data.as_ref().map(|d| d.to_string()),
                        job.failure_policy.to_string(),
                        job.begin_at,
                        job.begin_is_due,
                        job.expires_at,
                        job.next_fire_at,
                        revision,
                        job.created_at,
                    ],
                )?;
                tx.commit()?;
                Ok(true)
            })
            .await?;
        if stored {
            self.notify();
        }
        Ok(stored)
    }

    pub async fn job_get(&self, app_id: &str, name: &str) -> Result<Option<JobRecord>> {
        let (app_id, name) = (app_id.to_string(), name.to_string());
        self.run(move |conn| {
            Ok(conn
                .query_row(
                    &format!("{JOB_SELECT} WHERE app_id = ?1 AND name = ?2"),
                    params![app_id, name],
                    job_from_row,
                )
                .optional()?)
        })
        .await
    }

    /// Deletes job `name` (no error when missing).
    pub async fn job_delete(&self, app_id: &str, name: &str) -> Result<()> {
        let (app_id, name) = (app_id.to_string(), name.to_string());
        self.run(move |conn| {
            conn.execute(
                "DELETE FROM jobs WHERE app_id = ?1 AND name = ?2",
                params![app_id, name],
            )?;
            Ok(())
        })
        .await?;
        self.notify();
        Ok(())
    }

    /// Jobs of `app_id` due at `now` (not in `exclude`), earliest first.
    pub async fn jobs_due(
        &self,
        app_id: &str,
        now: i64,
        exclude: Vec<String>,
    ) -> Result<Vec<JobRecord>> {
        let app_id = app_id.to_string();
        self.run(move |conn| {
            let mut stmt = conn.prepare_cached(&format!(
                "{JOB_SELECT} WHERE app_id = ?1 AND next_fire_at <= ?2 ORDER BY next_fire_at"
            ))?;
            let rows = stmt.query_map(params![app_id, now], job_from_row)?;
            let mut out = Vec::new();
            for job in rows {
                let job = job?;
                if !exclude.contains(&job.name) {
                    out.push(job);
                }
            }
            Ok(out)
        })
        .await
    }

    /// The earliest `next_fire_at` of `app_id`'s jobs.
    pub async fn job_next_due(&self, app_id: &str) -> Result<Option<i64>> {
        let app_id = app_id.to_string();
        self.run(move |conn| {
            Ok(conn.query_row(
                "SELECT MIN(next_fire_at) FROM jobs WHERE app_id = ?1",
                params![app_id],
                |r| r.get(0),
            )?)
        })
        .await
    }

    /// Records the outcome of a trigger, unless the job was replaced or
    /// deleted meanwhile (`revision` no longer matches).
    pub async fn job_update(
        &self,
        app_id: &str,
        name: &str,
        revision: i64,
        update: JobUpdate,
    ) -> Result<()> {
        let (app_id, name) = (app_id.to_string(), name.to_string());
        self.run(move |conn| {
            match update {
                JobUpdate::Delete => conn.execute(
                    "DELETE FROM jobs WHERE app_id = ?1 AND name = ?2 AND revision = ?3",
                    params![app_id, name, revision],
                )?,
                JobUpdate::Reschedule {
                    next_fire_at,
                    count,
                    attempts,
                    last_fire_at,
                } => conn.execute(
                    "UPDATE jobs SET next_fire_at = ?4, count = ?5, attempts = ?6, last_fire_at = ?7
                     WHERE app_id = ?1 AND name = ?2 AND revision = ?3",
                    params![
                        app_id,
                        name,
                        revision,
                        next_fire_at,
                        count as i64,
                        attempts as i64,
                        last_fire_at
                    ],
                )?,
            };
            Ok(())
        })
        .await
    }
}

// ---------------------------------------------------------------------------
// Types

/// A live state entry.
#[derive(Debug, Clone, PartialEq)]
pub struct StateEntry {
    /// The value's JSON bytes exactly as saved.
    pub value: Vec<u8>,
    pub etag: String,
    /// Expiry (ms), when saved with `ttlInSeconds`.
    pub expires_at: Option<i64>,
}

/// One write in [`Store::state_apply`]; keys are fully prefixed.
#[derive(Debug, Clone, PartialEq)]
pub enum StateOp {
    Set {
        key: String,
        value: Vec<u8>,
        etag: Option<String>,
        first_write: bool,
        /// Absolute expiry (ms); `None` = never.
        expires_at: Option<i64>,
    },
    Delete {
        key: String,
        etag: Option<String>,
    },
}

/// Why a state write failed.
#[derive(Debug)]
pub enum StateError {
    /// The ETag did not match: Dapr's `state.ETagMismatch` → 409 on a single
    /// save, 500 in a transaction. (A first-write that finds its key is a
    /// [`StateError::Store`] "no item was updated", as on PostgreSQL v2 → 500.)
    EtagMismatch(String),
    /// The ETag is not one this store could have issued → 400.
    EtagInvalid(String),
    Store(anyhow::Error),
}

impl std::fmt::Display for StateError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            StateError::EtagMismatch(m) => {
                write!(f, "possible etag mismatch. error from state store: {m}")
            }
            StateError::EtagInvalid(m) => {
                write!(f, "invalid etag value: {m}")
            }
            StateError::Store(e) => write!(f, "{e:#}"),
        }
    }
}

/// A message to append to the log.
#[derive(Debug, Clone, PartialEq)]
pub struct NewMessage {
    pub pubsub: String,
    pub topic: String,
    pub partition_key: Option<String>,
    /// `application/cloudevents+json` for envelopes; the request's content
    /// type for `rawPayload` messages.
    pub content_type: String,
    /// The `metadata.*` query parameters of the publish.
    pub metadata: BTreeMap<String, String>,
    /// The bytes subscribers receive (the envelope, or the raw payload).
    pub data: Vec<u8>,
}

/// A message in the log.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredMessage {
    pub seq: i64,
    pub pubsub: String,
    pub topic: String,
    pub partition_key: Option<String>,
    pub content_type: String,
    pub metadata: BTreeMap<String, String>,
    pub data: Vec<u8>,
    pub published_at: i64,
}

/// A pending delivery handed to a worker.
#[derive(Debug, Clone)]
pub struct Delivery {
    pub id: i64,
    /// Attempts made so far (across restarts).
    pub attempts: u64,
    pub message: StoredMessage,
}

/// A message a subscription gave up on.
#[derive(Debug, Clone, PartialEq)]
pub struct DeadLetter {
    pub group: String,
    pub seq: i64,
    pub pubsub: String,
    pub topic: String,
    pub dead_letter_topic: Option<String>,
    pub reason: String,
    pub data: Vec<u8>,
    pub at: i64,
}

/// A stored job. Times are ms since the epoch.
#[derive(Debug, Clone, PartialEq)]
pub struct JobRecord {
    pub app_id: String,
    pub name: String,
    pub schedule: Option<String>,
    pub due_time: Option<String>,
    pub repeats: Option<u32>,
    pub ttl: Option<String>,
    /// The job's `data` JSON (`None` when the request had none).
    pub data: Option<serde_json::Value>,
    /// protojson `failurePolicy` (`{"constant":{"interval":"1s","maxRetries":3}}`).
    pub failure_policy: serde_json::Value,
    /// Start of the schedule: the due time (fires then) or creation (does not).
    pub begin_at: i64,
    pub begin_is_due: bool,
    pub expires_at: Option<i64>,
    pub next_fire_at: i64,
    /// Scheduled time of the last completed trigger.
    pub last_fire_at: Option<i64>,
    /// Triggers completed (delivered or given up on).
    pub count: u32,
    /// Failed attempts of the current trigger.
    pub attempts: u32,
    pub revision: i64,
    pub created_at: i64,
}

/// What happened after a trigger.
#[derive(Debug, Clone, PartialEq)]
pub enum JobUpdate {
    /// No more triggers.
    Delete,
    Reschedule {
        next_fire_at: i64,
        count: u32,
        attempts: u32,
        last_fire_at: Option<i64>,
    },
}

// ---------------------------------------------------------------------------
// SQL helpers

/// The `consumer_offsets` key of a group on one topic.
fn offset_key(group: &str, pubsub: &str, topic: &str) -> String {
    format!("{group}\u{0}{pubsub}\u{0}{topic}")
}

fn read_state(conn: &Connection, store: &str, key: &str, now: i64) -> Result<Option<StateEntry>> {
    let row = conn
        .query_row(
            "SELECT value, etag, expires_at FROM state WHERE store = ?1 AND key = ?2",
            params![store, key],
            |r| {
                Ok(StateEntry {
                    value: r.get(0)?,
                    etag: r.get(1)?,
                    expires_at: r.get(2)?,
                })
            },
        )
        .optional()?;
    Ok(row.filter(|e| e.expires_at.is_none_or(|at| at > now)))
}

fn apply_state_op(
    tx: &rusqlite::Transaction<'_>,
    store: &str,
    op: StateOp,
    now: i64,
) -> Result<(), StateError> {
    let db = |e: rusqlite::Error| StateError::Store(e.into());
    let key = match &op {
        StateOp::Set { key, .. } | StateOp::Delete { key, .. } => key.clone(),
    };
    let etag = match &op {
        StateOp::Set { etag, .. } | StateOp::Delete { etag, .. } => etag.clone(),
    };
    if let Some(e) = &etag {
        if uuid::Uuid::parse_str(e).is_err() {
            return Err(StateError::EtagInvalid(format!("{e:?} for key {key}")));
        }
    }
    let current = read_state(tx, store, &key, now).map_err(StateError::Store)?;
    if let Some(expected) = &etag {
        match &current {
            Some(c) if &c.etag == expected => {}
            _ => {
                return Err(StateError::EtagMismatch(format!(
                    "etag {expected} does not match the stored version of {key}"
                )))
            }
        }
    }
    match op {
        StateOp::Set {
            key,
            value,
            first_write,
            expires_at,
            ..
        } => {
            if first_write && etag.is_none() && current.is_some() {
                // PostgreSQL v2's upsert updates no row and says so with a
                // plain error, not an ETag error (components-contrib
                // `state/postgresql/v2/postgresql.go`, `doSet`).
                return Err(StateError::Store(anyhow::anyhow!("no item was updated")));
            }
            let new_etag = uuid::Uuid::new_v4().to_string();
            tx.execute(
                "INSERT INTO state (store, key, value, etag, expires_at) VALUES (?1, ?2, ?3, ?4, ?5)
                 ON CONFLICT (store, key) DO UPDATE SET value = excluded.value, etag = excluded.etag,
                     expires_at = excluded.expires_at",
                params![store, key, value, new_etag, expires_at],
            )
            .map_err(db)?;
        }
        StateOp::Delete { key, .. } => {
            tx.execute(
                "DELETE FROM state WHERE store = ?1 AND key = ?2",
                params![store, key],
            )
            .map_err(db)?;
        }
    }
    Ok(())
}

fn insert_message(conn: &Connection, msg: &NewMessage, now: i64) -> Result<i64> {
    conn.execute(
        "INSERT INTO messages (pubsub, topic, partition_key, content_type, metadata, data, published_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        params![
            msg.pubsub,
            msg.topic,
            msg.partition_key,
            msg.content_type,
            serde_json::to_string(&msg.metadata)?,
            msg.data,
            now
        ],
    )?;
    Ok(conn.last_insert_rowid())
}

const JOB_SELECT: &str = "SELECT app_id, name, schedule, due_time, repeats, ttl, data, failure_policy,
    begin_at, begin_is_due, expires_at, next_fire_at, last_fire_at, count, attempts, revision, created_at
    FROM jobs";

fn job_from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<JobRecord> {
    let data: Option<String> = r.get(6)?;
    let policy: String = r.get(7)?;
    Ok(JobRecord {
        app_id: r.get(0)?,
        name: r.get(1)?,
        schedule: r.get(2)?,
        due_time: r.get(3)?,
        repeats: r.get::<_, Option<i64>>(4)?.map(|v| v as u32),
        ttl: r.get(5)?,
        data: data.and_then(|d| serde_json::from_str(&d).ok()),
        failure_policy: serde_json::from_str(&policy).unwrap_or(serde_json::Value::Null),
        begin_at: r.get(8)?,
        begin_is_due: r.get(9)?,
        expires_at: r.get(10)?,
        next_fire_at: r.get(11)?,
        last_fire_at: r.get(12)?,
        count: r.get::<_, i64>(13)? as u32,
        attempts: r.get::<_, i64>(14)? as u32,
        revision: r.get(15)?,
        created_at: r.get(16)?,
    })
}
