//! Server-Sent Events framing and the timing of one stream
//! (`GET /api/sync/stream`, architecture §3).
//!
//! A change is `id: <seq>` / `event: <type>` / `data: <change JSON>`. The
//! stream opens with a `retry:` hint and a `ready` event carrying the cursor
//! it starts from; a `reset` event tells the client its cursor is older than
//! retention (refetch, then continue: the event's id is the new cursor). A
//! comment line every [`HEARTBEAT_SECS`] keeps proxies from closing an idle
//! stream. After its lifetime the stream repeats the `retry:` hint and ends;
//! EventSource reconnects after that many milliseconds with `Last-Event-ID`.

use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::json;

use crate::sync::feed::Change;

pub const CONTENT_TYPE: &str = "text/event-stream";
/// A comment at least this often.
pub const HEARTBEAT_SECS: i64 = 15;
/// How long one stream lasts by default before the client reconnects.
pub const DEFAULT_LIFETIME_SECS: u64 = 300;
/// EventSource's reconnection delay we ask for.
pub const RETRY_MS: u64 = 1000;

/// One event. `data` is compact JSON, so it is a single `data:` line.
pub fn event<T: Serialize>(id: u64, kind: &str, data: &T) -> String {
    let data = serde_json::to_string(data).expect("event data serializes");
    debug_assert!(!kind.contains(['\n', '\r']) && !data.contains(['\n', '\r']));
    format!("id: {id}\nevent: {kind}\ndata: {data}\n\n")
}

/// A change as an event.
pub fn change(change: &Change) -> String {
    event(change.seq, &change.kind, change)
}

/// The first event: where this stream starts.
pub fn ready(cursor: u64) -> String {
    event(cursor, "ready", &json!({ "cursor": cursor }))
}

/// The client's cursor is older than retention: refetch, continue at `cursor`.
pub fn reset(cursor: u64) -> String {
    event(cursor, "reset", &json!({ "cursor": cursor }))
}

pub fn heartbeat() -> String {
    ": heartbeat\n\n".to_string()
}

pub fn retry(ms: u64) -> String {
    format!("retry: {ms}\n\n")
}

/// What a stream should do at a given moment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Due {
    /// Its lifetime is over: send the retry hint and end.
    End,
    /// Nothing was written for [`HEARTBEAT_SECS`]: send a heartbeat.
    Heartbeat,
    Nothing,
}

/// The clock of one stream: its end, and when the next heartbeat is due.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StreamTimer {
    ends_at: DateTime<Utc>,
    heartbeat_at: DateTime<Utc>,
}

impl StreamTimer {
    pub fn new(now: DateTime<Utc>, lifetime: Duration) -> StreamTimer {
        let lifetime = chrono::Duration::from_std(lifetime).unwrap_or(chrono::Duration::MAX);
        StreamTimer {
            ends_at: now
                .checked_add_signed(lifetime)
                .unwrap_or(DateTime::<Utc>::MAX_UTC),
            heartbeat_at: now + chrono::Duration::seconds(HEARTBEAT_SECS),
        }
    }

    pub fn due(&self, now: DateTime<Utc>) -> Due {
        if now >= self.ends_at {
            Due::End
        } else if now >= self.heartbeat_at {
            Due::Heartbeat
        } else {
            Due::Nothing
        }
    }

    /// Something was written at `now`: the next heartbeat is due later.
    pub fn wrote(&mut self, now: DateTime<Utc>) {
        self.heartbeat_at = now + chrono::Duration::seconds(HEARTBEAT_SECS);
    }

    /// How long to sleep now: `backoff`, but never past the next heartbeat
    /// or the end.
    pub fn wait(&self, now: DateTime<Utc>, backoff: Duration) -> Duration {
        let until = |t: DateTime<Utc>| (t - now).to_std().unwrap_or(Duration::ZERO);
        backoff
            .min(until(self.heartbeat_at))
            .min(until(self.ends_at))
    }
}
