//! The pub/sub log: `messages` (append-only, in publish order),
//! `consumer_offsets` and `deliveries` (what each consumer group still has
//! to deliver), `dead_letters`, and the compaction that trims the log.

use std::collections::BTreeMap;

use anyhow::Result;
use rusqlite::{params, Connection, OptionalExtension, TransactionBehavior};

use crate::kafka_partition;

use super::{now_ms, Store};

impl Store {
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
    pub async fn pull(
        &self,
        group: &str,
        pubsub: &str,
        topic: &str,
        partitions: Option<u32>,
    ) -> Result<usize> {
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
            let mut n = 0;
            {
                let mut new_messages = tx.prepare_cached(
                    "SELECT seq, partition_key FROM messages
                     WHERE pubsub = ?1 AND topic = ?2 AND seq > ?3 AND seq <= ?4",
                )?;
                let mut insert = tx.prepare_cached(
                    "INSERT OR IGNORE INTO deliveries (group_id, seq, ordering_key, next_attempt_at)
                     VALUES (?1, ?2, ?3, ?4)",
                )?;
                let mut rows = new_messages.query(params![pubsub, topic, last, end])?;
                while let Some(row) = rows.next()? {
                    let seq: i64 = row.get(0)?;
                    let partition_key: Option<String> = row.get(1)?;
                    let ordering = ordering_key(partition_key.as_deref(), seq, partitions);
                    n += insert.execute(params![group, seq, ordering, now])?;
                }
            }
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

    /// Every consumer group with the topic it reads (those with nothing
    /// pending included) and how many deliveries it has pending.
    pub async fn pending_by_group(&self) -> Result<Vec<(String, String, u64)>> {
        self.run(|conn| {
            // `consumer_offsets` is keyed `group \0 pubsub \0 topic`.
            let mut stmt = conn.prepare("SELECT group_id FROM consumer_offsets")?;
            let keys = stmt
                .query_map([], |r| r.get::<_, String>(0))?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            let mut count =
                conn.prepare_cached("SELECT COUNT(*) FROM deliveries WHERE group_id = ?1")?;
            let mut out = Vec::new();
            for key in keys {
                let mut parts = key.split('\0');
                let (Some(group), Some(_pubsub), Some(topic)) =
                    (parts.next(), parts.next(), parts.next())
                else {
                    continue;
                };
                let n: i64 = count.query_row(params![group], |r| r.get(0))?;
                out.push((group.to_string(), topic.to_string(), n as u64));
            }
            Ok(out)
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

/// What serialises a group's deliveries: its Kafka partition
/// ([`kafka_partition`]), so one message being retried holds up every later
/// message of its partition, as a Kafka consumer does. Without a partition
/// count: its key, or the message alone when it has none.
fn ordering_key(partition_key: Option<&str>, seq: i64, partitions: Option<u32>) -> String {
    match (partitions, partition_key) {
        (Some(n), key) => format!("p{}", kafka_partition::partition(key, seq, n)),
        (None, Some(key)) => key.to_string(),
        (None, None) => format!("\u{0}{seq}"),
    }
}

/// The `consumer_offsets` key of a group on one topic.
fn offset_key(group: &str, pubsub: &str, topic: &str) -> String {
    format!("{group}\u{0}{pubsub}\u{0}{topic}")
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
