//! The per-user change feed sync-relay keeps (architecture §5) and the rules for
//! reading it.
//!
//! Each user's feed is a head document `feed/{uid}` = `{seq}` and one
//! document per change, `change/{uid}/{seq}`, written in the same
//! transaction as the head (so sequences have no gaps) with a TTL of
//! [`CHANGE_TTL_SECS`]. A reader holds a cursor, the last sequence it has
//! seen: it is up to date when the cursor equals the head; otherwise it reads
//! the next changes, and when the first one it needs has expired (or the
//! cursor is ahead of the head, i.e. the feed was lost) it must start over:
//! a *reset* — refetch everything, continue from the head.

use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::events::{types, CloudEvent, TaskChangedData};
use crate::notify::inbox::NotificationEventData;
use crate::Problem;

/// How long a change stays readable.
pub const CHANGE_TTL_SECS: u64 = 24 * 3600;
/// Most changes read (and sent) in one go.
pub const MAX_BATCH: u64 = 100;
/// Longest long-poll wait (`GET /api/sync/changes?wait=`).
pub const MAX_WAIT_SECS: u64 = 30;

/// `feed/{uid}`: the last sequence appended (0: none yet).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FeedHead {
    pub seq: u64,
}

/// `change/{uid}/{seq}`: one change, as stored and as clients receive it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Change {
    pub seq: u64,
    /// The CloudEvent id it came from (what redeliveries are deduped on).
    pub id: String,
    /// The CloudEvent type, e.g. `todo.sync.task-changed.v1`.
    #[serde(rename = "type")]
    pub kind: String,
    pub time: DateTime<Utc>,
    pub data: Value,
}

impl Change {
    pub fn from_event(seq: u64, event: CloudEvent<Value>) -> Change {
        Change {
            seq,
            id: event.id,
            kind: event.kind,
            time: event.time,
            data: event.data,
        }
    }
}

/// Why a `task-updates` delivery cannot go into a feed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FeedEventError {
    UnknownType(String),
    BadData(String),
}

impl std::fmt::Display for FeedEventError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            FeedEventError::UnknownType(t) => write!(f, "unsupported event type {t:?}"),
            FeedEventError::BadData(e) => write!(f, "event data does not match its type: {e}"),
        }
    }
}

/// Checks a delivered `task-updates` event against its type's schema and
/// returns the user whose feed it belongs to.
pub fn owner_of(event: &CloudEvent<Value>) -> Result<String, FeedEventError> {
    let bad = |e: serde_json::Error| FeedEventError::BadData(e.to_string());
    let user = match event.kind.as_str() {
        types::SYNC_TASK_CHANGED => {
            TaskChangedData::deserialize(&event.data)
                .map_err(bad)?
                .user_id
        }
        types::SYNC_NOTIFICATION => {
            NotificationEventData::deserialize(&event.data)
                .map_err(bad)?
                .user_id
        }
        other => return Err(FeedEventError::UnknownType(other.to_string())),
    };
    if user.trim().is_empty() {
        return Err(FeedEventError::BadData("userId is empty".into()));
    }
    Ok(user)
}

/// Where a reader starts: `Last-Event-ID` (what EventSource sends when it
/// reconnects) wins over `?since=`; `None` = from the current head. Empty
/// values count as absent; anything but a sequence number → 400.
pub fn start_cursor(
    last_event_id: Option<&str>,
    since: Option<&str>,
) -> Result<Option<u64>, Problem> {
    let chosen = [("Last-Event-ID", last_event_id), ("since", since)]
        .into_iter()
        .find_map(|(name, v)| {
            v.map(str::trim)
                .filter(|v| !v.is_empty())
                .map(|v| (name, v))
        });
    match chosen {
        None => Ok(None),
        Some((name, value)) => value
            .parse::<u64>()
            .map(Some)
            .map_err(|_| Problem::bad_request(format!("{name} must be a sequence number"))),
    }
}

/// `?wait=` of the long-poll: whole seconds, 0–[`MAX_WAIT_SECS`] (default 0).
pub fn parse_wait(wait: Option<&str>) -> Result<Duration, Problem> {
    match wait.map(str::trim).filter(|w| !w.is_empty()) {
        None => Ok(Duration::ZERO),
        Some(w) => w
            .parse::<u64>()
            .ok()
            .filter(|s| *s <= MAX_WAIT_SECS)
            .map(Duration::from_secs)
            .ok_or_else(|| Problem::bad_request(format!("wait must be 0–{MAX_WAIT_SECS} seconds"))),
    }
}

/// What a reader at `cursor` does, given the head.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReadPlan {
    /// Nothing new: wait.
    UpToDate,
    /// The cursor is ahead of the feed (it was lost or reset): start over.
    Reset,
    /// Read `change/{uid}/{first..=last}`.
    Fetch { first: u64, last: u64 },
}

pub fn plan_read(cursor: u64, head: u64) -> ReadPlan {
    if cursor == head {
        ReadPlan::UpToDate
    } else if cursor > head {
        ReadPlan::Reset
    } else {
        ReadPlan::Fetch {
            first: cursor + 1,
            last: head.min(cursor + MAX_BATCH),
        }
    }
}

/// What a fetch found.
#[derive(Debug, Clone, PartialEq)]
pub enum Batch {
    /// The changes, in order (possibly fewer than asked for).
    Changes(Vec<Change>),
    /// The first change needed is gone (older than retention): reset.
    Expired,
}

/// Interprets the documents read for sequences `first, first+1, …` (in that
/// order, `None` where missing): the contiguous run from `first`.
pub fn take_batch(first: u64, found: Vec<Option<Change>>) -> Batch {
    let changes: Vec<Change> = found
        .into_iter()
        .zip(first..)
        .map_while(|(change, seq)| change.filter(|c| c.seq == seq))
        .collect();
    if changes.is_empty() {
        Batch::Expired
    } else {
        Batch::Changes(changes)
    }
}

/// The body of `GET /api/sync/changes`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ChangesPage {
    pub changes: Vec<Change>,
    /// Pass as `since` next time.
    pub cursor: u64,
    /// The requested cursor was older than retention (or unknown): refetch
    /// your data, then continue from `cursor`.
    pub reset: bool,
}

/// Waits between polls of the feed head by the long-poll
/// (`GET /api/sync/changes`): short right after activity, growing while
/// nothing happens, capped so a change is seen within [`Backoff::MAX`]. The
/// event stream uses [`PollSchedule`] instead.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backoff {
    next: Duration,
}

impl Default for Backoff {
    fn default() -> Self {
        Backoff { next: Self::MIN }
    }
}

impl Backoff {
    pub const MIN: Duration = Duration::from_millis(50);
    pub const MAX: Duration = Duration::from_millis(400);

    /// The wait to use now; the following one doubles (up to [`Self::MAX`]).
    pub fn next_wait(&mut self) -> Duration {
        let wait = self.next;
        self.next = (self.next * 2).min(Self::MAX);
        wait
    }

    /// Something happened: poll eagerly again.
    pub fn reset(&mut self) {
        self.next = Self::MIN;
    }
}

/// When an open event stream reads its feed head next.
///
/// A stream cannot be told that its feed moved: the append is made by
/// another component instance (the delivery), instances share nothing, and
/// Dapr's HTTP API has no blocking or watching read. So a stream polls
/// `feed/{uid}` — one GET of a tiny document; the changes themselves are
/// read only once the head has moved — and the poll interval is the
/// latency of a live update. The schedule spends reads where they buy
/// latency:
///
/// - **idle**: every [`Self::IDLE`] (390 ms), no more often — at most
///   ⌈60 s / 390 ms⌉ = 154 reads per idle minute, heartbeats included (a
///   heartbeat is written between polls and never costs a read). Before
///   this schedule an idle stream made 156 (a 50→400 ms backoff plus a read
///   at every heartbeat), so idle open tabs cost no more than they did,
///   and a change after a quiet spell is seen within 390 ms.
/// - **active**: for [`Self::ACTIVE_FOR`] (30 s) after the stream wrote a
///   change, every [`Self::ACTIVE`] (200 ms): someone who just changed a
///   task in one browser tends to change more, and those changes show in
///   the other browser within 200 ms (half that on average). A change
///   therefore costs each open stream of its user at most
///   30 s × (1/200 ms − 1/390 ms) ≈ 73 extra reads, once per burst.
/// - **right after a change** the stream reads again at once (the caller
///   does: a burst already appended is sent without waiting).
///
/// Opening or resuming a stream is not activity: EventSource reconnects
/// every stream lifetime, and idle tabs must stay at the idle rate.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PollSchedule {
    /// Until when the stream counts as active (`None`: it never wrote a change).
    active_until: Option<DateTime<Utc>>,
}

impl PollSchedule {
    /// The interval of an idle stream.
    pub const IDLE: Duration = Duration::from_millis(390);
    /// The interval of an active stream.
    pub const ACTIVE: Duration = Duration::from_millis(200);
    /// How long a written change keeps the stream active.
    pub const ACTIVE_FOR: Duration = Duration::from_secs(30);

    /// The stream wrote a change (or a reset) at `now`.
    pub fn changed(&mut self, now: DateTime<Utc>) {
        let active_for = chrono::Duration::from_std(Self::ACTIVE_FOR).expect("30 s fits");
        self.active_until = Some(now + active_for);
    }

    /// Whether a poll at `now` is in the active window.
    pub fn is_active(&self, now: DateTime<Utc>) -> bool {
        self.active_until.is_some_and(|until| now < until)
    }

    /// How long after a poll at `now` the next one is due.
    pub fn interval(&self, now: DateTime<Utc>) -> Duration {
        if self.is_active(now) {
            Self::ACTIVE
        } else {
            Self::IDLE
        }
    }

    /// The most feed reads an idle stream (no change written in the last
    /// [`Self::ACTIVE_FOR`]) makes in any `window`: one per [`Self::IDLE`],
    /// plus one at its start.
    pub fn max_idle_reads(window: Duration) -> u64 {
        (window.as_millis() / Self::IDLE.as_millis()) as u64 + 1
    }
}
