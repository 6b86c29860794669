//! Events (architecture §4): what the system publishes, and how a consumer
//! reads what it is delivered.
//!
//! This file is the publishing side: CloudEvents 1.0 envelopes for every
//! event the system publishes. Publishers build the whole envelope
//! themselves and send it as `application/cloudevents+json`, so the `id`
//! survives Dapr and consumers can dedupe on it. Deciding *which* events a
//! task change produces lives here too. The identity component's account
//! events are built here as well ([`account_created_event`]), with their own
//! source.
//!
//! The other files, each with one job:
//! - [`task`]: reading a delivered `task-events` message (audit,
//!   recurrence);
//! - [`account`]: reading a delivered `account-events` message (audit,
//!   notify);
//! - [`canonical`]: canonical JSON (RFC 8785), the bytes hashed wherever
//!   JSON is hashed.

pub mod account;
pub mod canonical;
pub mod task;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::identity::Account;
use crate::task::{Channel, Status, Task};

pub const SPEC_VERSION: &str = "1.0";

/// Topic names (architecture §4).
pub mod topics {
    pub const TASK_EVENTS: &str = "task-events";
    pub const REMINDERS: &str = "reminders";
    pub const TASK_UPDATES: &str = "task-updates";
    pub const ACCOUNT_EVENTS: &str = "account-events";
}

/// CloudEvent `type` values (architecture §4). The `.v1` suffix is the schema version.
pub mod types {
    pub const TASK_CREATED: &str = "todo.task.created.v1";
    pub const TASK_UPDATED: &str = "todo.task.updated.v1";
    pub const TASK_COMPLETED: &str = "todo.task.completed.v1";
    pub const TASK_REOPENED: &str = "todo.task.reopened.v1";
    pub const TASK_DELETED: &str = "todo.task.deleted.v1";
    pub const REMINDER_SCHEDULED: &str = "todo.reminder.scheduled.v1";
    pub const REMINDER_CANCELLED: &str = "todo.reminder.cancelled.v1";
    pub const SYNC_TASK_CHANGED: &str = "todo.sync.task-changed.v1";
    pub const SYNC_NOTIFICATION: &str = "todo.sync.notification.v1";
    pub const ACCOUNT_CREATED: &str = "todo.account.created.v1";
}

/// A CloudEvents 1.0 JSON envelope. Fields Dapr adds on the way (`topic`,
/// `pubsubname`, `traceparent`…) are ignored when parsing a delivery.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CloudEvent<D> {
    pub specversion: String,
    pub id: String,
    pub source: String,
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subject: Option<String>,
    pub time: DateTime<Utc>,
    pub datacontenttype: String,
    pub data: D,
}

impl<D> CloudEvent<D> {
    /// The same envelope around `data` turned into another type, e.g. the
    /// `Value` a consumer received into its typed data.
    pub fn try_map_data<T, E>(self, f: impl FnOnce(D) -> Result<T, E>) -> Result<CloudEvent<T>, E> {
        Ok(CloudEvent {
            specversion: self.specversion,
            id: self.id,
            source: self.source,
            kind: self.kind,
            subject: self.subject,
            time: self.time,
            datacontenttype: self.datacontenttype,
            data: f(self.data)?,
        })
    }
}

/// Which change happened to a task.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TaskChange {
    Created,
    Updated,
    Completed,
    Reopened,
    Deleted,
}

/// `data` of a `todo.task.*` event.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TaskEventData {
    pub user_id: String,
    pub task_id: Uuid,
    pub version: u64,
    /// The task after the change; `null` on delete.
    pub task: Option<Task>,
    /// The task before the change; absent on create.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub previous: Option<Task>,
    pub changed_fields: Vec<String>,
}

/// `data` of a `todo.reminder.*` event.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ReminderEventData {
    pub user_id: String,
    pub task_id: Uuid,
    pub title: String,
    pub due_at: Option<DateTime<Utc>>,
    pub remind_at: Option<DateTime<Utc>>,
    pub channels: Vec<Channel>,
    pub version: u64,
}

/// `data` of a `todo.sync.task-changed.v1` event.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TaskChangedData {
    pub user_id: String,
    pub task_id: Uuid,
    pub version: u64,
    pub change: TaskChange,
    /// The task after the change; `null` on delete.
    pub task: Option<Task>,
}

/// `data` of a `todo.account.created.v1` event. Never the password hash.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AccountCreatedData {
    pub account_id: Uuid,
    /// The normalised address.
    pub email: String,
    pub name: String,
    pub created_at: DateTime<Utc>,
}

/// One event ready to publish (and to keep in the outbox until it is).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OutboundEvent {
    pub topic: String,
    /// Kafka partition key: the user id, so one user's events stay ordered.
    pub partition_key: String,
    /// The whole CloudEvent envelope.
    pub event: serde_json::Value,
}

/// Who publishes: the `source` of every envelope built here (task events).
pub const SOURCE: &str = "task-api";

/// The `source` of account events.
pub const IDENTITY_SOURCE: &str = "identity";

/// Fields compared by [`changed_fields`], in the order they are listed.
pub const TRACKED_FIELDS: [&str; 10] = [
    "title",
    "description",
    "status",
    "priority",
    "tags",
    "dueAt",
    "timezone",
    "reminder",
    "recurrence",
    "completedAt",
];

impl TaskChange {
    /// The CloudEvent `type` of the task event for this change.
    pub fn event_type(self) -> &'static str {
        match self {
            TaskChange::Created => types::TASK_CREATED,
            TaskChange::Updated => types::TASK_UPDATED,
            TaskChange::Completed => types::TASK_COMPLETED,
            TaskChange::Reopened => types::TASK_REOPENED,
            TaskChange::Deleted => types::TASK_DELETED,
        }
    }
}

/// Builds one envelope (`subject` = the task id) ready for the outbox.
pub fn envelope<D: Serialize>(
    topic: &str,
    kind: &str,
    partition_key: &str,
    subject: Option<String>,
    data: D,
    now: DateTime<Utc>,
    id: Uuid,
) -> OutboundEvent {
    let event = CloudEvent {
        specversion: SPEC_VERSION.to_string(),
        id: id.hyphenated().to_string(),
        source: SOURCE.to_string(),
        kind: kind.to_string(),
        subject,
        time: now,
        datacontenttype: "application/json".to_string(),
        data,
    };
    OutboundEvent {
        topic: topic.to_string(),
        partition_key: partition_key.to_string(),
        event: serde_json::to_value(event).expect("an event always serializes"),
    }
}

/// Every event one task change publishes, in publish order: the task event,
/// then a reminder event when the reminder must be (re)scheduled or cancelled,
/// then the sync event. `new_id` yields a fresh (uuid v7) event id per call.
///
/// - `version` is the task's version after the change; a delete is a change
///   too, so its version is `before.version + 1` (consumers ordering by version
///   see the delete last).
/// - `changedFields` lists the differing [`TRACKED_FIELDS`]; on create the
///   fields that have a value, on delete the fields that had one (compared
///   with an empty task).
/// - `todo.reminder.scheduled.v1` when the task after the change has an active
///   reminder (open, `dueAt` and `reminder` set) and it was just created or
///   reopened, or its `dueAt`, `reminder` or `title` changed (the title is in
///   the notification). Its data describe the task after the change.
/// - `todo.reminder.cancelled.v1` when the task before had an active reminder
///   and the task after has none (deleted, completed, reminder or dueAt
///   removed). Its data describe the reminder being cancelled (the task
///   before), with the version of the change.
///
/// Returns nothing when both `before` and `after` are `None`.
pub fn events_for_change(
    change: TaskChange,
    user_id: &str,
    before: Option<&Task>,
    after: Option<&Task>,
    now: DateTime<Utc>,
    new_id: &mut dyn FnMut() -> Uuid,
) -> Vec<OutboundEvent> {
    let Some(subject_task) = after.or(before) else {
        return Vec::new();
    };
    let task_id = subject_task.id;
    let subject = Some(task_id.hyphenated().to_string());
    let version = match (change, after, before) {
        (TaskChange::Deleted, _, Some(b)) => b.version + 1,
        (_, Some(a), _) => a.version,
        (_, None, Some(b)) => b.version + 1,
        (_, None, None) => unreachable!("checked above"),
    };
    let changed = match (before, after) {
        (Some(b), Some(a)) => changed_fields(b, a),
        (None, Some(a)) => fields_with_value(a),
        (Some(b), None) => fields_with_value(b),
        (None, None) => Vec::new(),
    };

    let mut events = Vec::with_capacity(3);
    events.push(envelope(
        topics::TASK_EVENTS,
        change.event_type(),
        user_id,
        subject.clone(),
        TaskEventData {
            user_id: user_id.to_string(),
            task_id,
            version,
            task: after.cloned(),
            previous: before.cloned(),
            changed_fields: changed.clone(),
        },
        now,
        new_id(),
    ));

    let active_after = after.filter(|t| has_active_reminder(t));
    let active_before = before.filter(|t| has_active_reminder(t));
    let reminder_event = match (active_before, active_after) {
        (_, Some(a)) => {
            let fresh = matches!(change, TaskChange::Created | TaskChange::Reopened)
                || before.is_none()
                || changed
                    .iter()
                    .any(|f| matches!(f.as_str(), "dueAt" | "reminder" | "title"));
            fresh.then_some((types::REMINDER_SCHEDULED, a))
        }
        (Some(b), None) => Some((types::REMINDER_CANCELLED, b)),
        (None, None) => None,
    };
    if let Some((kind, t)) = reminder_event {
        events.push(envelope(
            topics::REMINDERS,
            kind,
            user_id,
            subject.clone(),
            ReminderEventData {
                user_id: user_id.to_string(),
                task_id,
                title: t.title.clone(),
                due_at: t.due_at,
                remind_at: remind_at(t),
                channels: t
                    .reminder
                    .as_ref()
                    .map(|r| r.channels.clone())
                    .unwrap_or_default(),
                version,
            },
            now,
            new_id(),
        ));
    }

    events.push(envelope(
        topics::TASK_UPDATES,
        types::SYNC_TASK_CHANGED,
        user_id,
        subject,
        TaskChangedData {
            user_id: user_id.to_string(),
            task_id,
            version,
            change,
            task: after.cloned(),
        },
        now,
        new_id(),
    ));
    events
}

/// The `todo.account.created.v1` event of a new account, on `account-events`,
/// published by `identity`: `subject` and partition key are the account id
/// (the `sub` of its access tokens, so it orders with the user's other
/// events), `time` is `now`, `id` a fresh (uuid v7) event id.
pub fn account_created_event(account: &Account, now: DateTime<Utc>, id: Uuid) -> OutboundEvent {
    let account_id = account.id.hyphenated().to_string();
    let mut out = envelope(
        topics::ACCOUNT_EVENTS,
        types::ACCOUNT_CREATED,
        &account_id,
        Some(account_id.clone()),
        AccountCreatedData {
            account_id: account.id,
            email: account.email.clone(),
            name: account.name.clone(),
            created_at: account.created_at,
        },
        now,
        id,
    );
    out.event["source"] = serde_json::Value::from(IDENTITY_SOURCE);
    out
}

/// Open, due at some time, with a reminder: the reminder must be scheduled.
pub fn has_active_reminder(task: &Task) -> bool {
    task.status == Status::Open && task.due_at.is_some() && task.reminder.is_some()
}

/// Names (camelCase, as in the JSON) of the fields that differ, in a fixed order.
pub fn changed_fields(before: &Task, after: &Task) -> Vec<String> {
    let differs = [
        before.title != after.title,
        before.description != after.description,
        before.status != after.status,
        before.priority != after.priority,
        before.tags != after.tags,
        before.due_at != after.due_at,
        before.timezone != after.timezone,
        before.reminder != after.reminder,
        before.recurrence != after.recurrence,
        before.completed_at != after.completed_at,
    ];
    TRACKED_FIELDS
        .iter()
        .zip(differs)
        .filter(|(_, d)| *d)
        .map(|(name, _)| name.to_string())
        .collect()
}

/// The tracked fields that hold a value (status and priority always do).
fn fields_with_value(task: &Task) -> Vec<String> {
    let has = [
        !task.title.is_empty(),
        !task.description.is_empty(),
        true,
        true,
        !task.tags.is_empty(),
        task.due_at.is_some(),
        !task.timezone.is_empty(),
        task.reminder.is_some(),
        task.recurrence.is_some(),
        task.completed_at.is_some(),
    ];
    TRACKED_FIELDS
        .iter()
        .zip(has)
        .filter(|(_, h)| *h)
        .map(|(name, _)| name.to_string())
        .collect()
}

/// When the task's reminder fires: `dueAt - reminder.before`, if both are set.
pub fn remind_at(task: &Task) -> Option<DateTime<Utc>> {
    let due = task.due_at?;
    let before = crate::task::duration::parse_duration(&task.reminder.as_ref()?.before).ok()?;
    due.checked_sub_signed(before)
}
