//! How notify turns reminder events into Dapr Jobs, and when a firing job is
//! still the reminder the user wants (architecture §5).
//!
//! Each task has at most one job, `reminder-{taskId}`, scheduled with
//! `overwrite: true`, so a moved due date simply replaces it. Events and job
//! callbacks can still arrive late or twice, so notify also keeps the latest
//! reminder it has seen per task ([`ReminderRecord`], key `reminder/{taskId}`):
//! an event older than the record is ignored, and a job only delivers when
//! its data is the record's current, scheduled version. That is what stops a
//! stale schedule (or a cancelled one whose delete raced the trigger) firing.

use chrono::{DateTime, Duration, SecondsFormat, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::events::{types, ReminderEventData};

/// Prefix of every reminder job's name.
pub const JOB_PREFIX: &str = "reminder-";

/// How long a record outlives the reminder it describes (so a late, older
/// event still finds it and is recognised as stale).
pub const RECORD_RETENTION_DAYS: i64 = 30;

/// Seconds between the Scheduler's calls of a reminder job whose callback
/// failed; see [`JOB_MAX_RETRIES`].
pub const JOB_RETRY_INTERVAL_SECS: u64 = 10;

/// How often the Scheduler calls a reminder job again after a failed
/// callback (its failure policy: constant, [`JOB_RETRY_INTERVAL_SECS`] apart).
///
/// A reminder job fires once, so when its retries run out the reminder is
/// lost. Dapr's default policy (constant 1 s, 3 retries) gives up about 3 s
/// after the first failure, and the callback answers 503 whenever the
/// sidecar, the state store or the publish fails, or while another callback
/// holds a channel's claim ([`crate::notify::delivery::CLAIM_LEASE_SECS`], 30 s):
/// - **10 s apart**: a 503 means something is down or busy; calling every
///   second does not make it come back sooner, it only multiplies the load
///   on a recovering store by the number of reminders due. 10 s is a third
///   of the claim lease, so a channel left `sending` by a callback that died
///   is taken over at most 10 s after its lease ends.
/// - **30 retries** (≈ 5 min of retries, 31 calls): rides out a sidecar or
///   pod restart, a PostgreSQL fail-over or a Kafka leader election (tens of
///   seconds to a few minutes), and outlasts the claim lease ten times, so
///   even a retry that dies mid-send itself leaves enough retries to take
///   its claim over. Bounded, so a reminder that can never be delivered
///   stops instead of firing for ever; a reminder more than ~5 min late has
///   mostly lost its point anyway, and its inbox entry exists from the first
///   call that got through the store.
pub const JOB_MAX_RETRIES: u32 = 30;

/// The time the Scheduler keeps retrying a failed reminder callback:
/// [`JOB_RETRY_INTERVAL_SECS`] × [`JOB_MAX_RETRIES`] (5 min).
pub const JOB_RETRY_WINDOW_SECS: u64 = JOB_RETRY_INTERVAL_SECS * JOB_MAX_RETRIES as u64;

// The retries must outlast a claim's lease several times over, and come
// often enough to take an expired claim over promptly.
const _: () =
    assert!(JOB_RETRY_WINDOW_SECS >= 3 * crate::notify::delivery::CLAIM_LEASE_SECS as u64);
const _: () = assert!(JOB_RETRY_INTERVAL_SECS < crate::notify::delivery::CLAIM_LEASE_SECS as u64);

/// The job of `task_id`: `reminder-{taskId}`.
pub fn job_name(task_id: Uuid) -> String {
    format!("{JOB_PREFIX}{}", task_id.hyphenated())
}

/// The task a job name belongs to; `None` for any other name.
pub fn task_of_job(name: &str) -> Option<Uuid> {
    name.strip_prefix(JOB_PREFIX)?.parse().ok()
}

/// A Jobs API `dueTime`: RFC 3339 in UTC with milliseconds.
pub fn due_time(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// The two reminder event types notify consumes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReminderEvent {
    Scheduled,
    Cancelled,
}

impl ReminderEvent {
    /// From a CloudEvent `type`; `None` for any other type.
    pub fn from_type(kind: &str) -> Option<ReminderEvent> {
        match kind {
            types::REMINDER_SCHEDULED => Some(ReminderEvent::Scheduled),
            types::REMINDER_CANCELLED => Some(ReminderEvent::Cancelled),
            _ => None,
        }
    }
}

/// What the latest handled event left the reminder as.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ReminderState {
    /// A job is scheduled for `remindAt` (or was, and fired).
    Scheduled,
    /// Cancelled: the task was completed, deleted, or lost its reminder.
    Cancelled,
    /// Scheduled too late: the task was already due, so nothing fires.
    Obsolete,
}

/// `reminder/{taskId}`: the latest reminder version notify handled.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ReminderRecord {
    pub user_id: String,
    pub task_id: Uuid,
    pub version: u64,
    pub state: ReminderState,
    pub remind_at: Option<DateTime<Utc>>,
}

impl ReminderRecord {
    /// Seconds the record is kept: until the reminder (or now) plus
    /// [`RECORD_RETENTION_DAYS`].
    pub fn ttl_seconds(&self, now: DateTime<Utc>) -> u64 {
        let until = self.remind_at.filter(|at| *at > now).unwrap_or(now)
            + Duration::days(RECORD_RETENTION_DAYS);
        (until - now).num_seconds().max(1) as u64
    }
}

/// What to do with one reminder event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// Older than what was already handled: acknowledge and do nothing.
    Stale,
    /// Record `record`, then schedule the job (overwriting) to fire at `fire_at`.
    Schedule {
        record: ReminderRecord,
        fire_at: DateTime<Utc>,
    },
    /// Record `record`, then delete the job (cancelled, or obsolete).
    Unschedule { record: ReminderRecord },
}

/// Decides what a reminder event means, given the record of the latest
/// version handled for the task (if any) and the time now.
///
/// - A version below the record's is stale. The same version is handled
///   again (a redelivery after a failure must finish the job it started),
///   which is safe: scheduling overwrites and deleting is idempotent.
/// - `scheduled`: a `remindAt` still ahead fires then; one already past
///   while `dueAt` is ahead fires at once (`fire_at` = now); once the task is
///   due (or either time is missing) the reminder is obsolete.
/// - `cancelled`: the job goes.
pub fn decide(
    event: ReminderEvent,
    data: &ReminderEventData,
    current: Option<&ReminderRecord>,
    now: DateTime<Utc>,
) -> Decision {
    if current.is_some_and(|c| c.version > data.version) {
        return Decision::Stale;
    }
    let record = |state| ReminderRecord {
        user_id: data.user_id.clone(),
        task_id: data.task_id,
        version: data.version,
        state,
        remind_at: data.remind_at,
    };
    match (event, data.remind_at, data.due_at) {
        (ReminderEvent::Cancelled, _, _) => Decision::Unschedule {
            record: record(ReminderState::Cancelled),
        },
        (ReminderEvent::Scheduled, Some(remind_at), _) if remind_at > now => Decision::Schedule {
            record: record(ReminderState::Scheduled),
            fire_at: remind_at,
        },
        (ReminderEvent::Scheduled, Some(_), Some(due_at)) if due_at > now => Decision::Schedule {
            record: record(ReminderState::Scheduled),
            fire_at: now,
        },
        (ReminderEvent::Scheduled, _, _) => Decision::Unschedule {
            record: record(ReminderState::Obsolete),
        },
    }
}

/// Whether a fired job's data is still the reminder to deliver: the record
/// holds exactly this version, scheduled, for this user and `remindAt`.
pub fn is_current(data: &ReminderEventData, record: Option<&ReminderRecord>) -> bool {
    record.is_some_and(|r| {
        r.state == ReminderState::Scheduled
            && r.version == data.version
            && r.task_id == data.task_id
            && r.user_id == data.user_id
            && r.remind_at == data.remind_at
            && data.remind_at.is_some()
    })
}
