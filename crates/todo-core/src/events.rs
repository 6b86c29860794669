//! CloudEvents 1.0 envelopes for every event the system publishes (DESIGN §4).
//!
//! Publishers build the whole envelope themselves and send it as
//! `application/cloudevents+json`, so the `id` survives Dapr and consumers can
//! dedupe on it. Deciding *which* events a task change produces lives here too.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::task::{Channel, Task};

pub const SPEC_VERSION: &str = "1.0";

/// Topic names (DESIGN §4).
pub mod topics {
    pub const TASK_EVENTS: &str = "task-events";
    pub const REMINDERS: &str = "reminders";
    pub const TASK_UPDATES: &str = "task-updates";
}

/// CloudEvent `type` values (DESIGN §4). The `.v1` suffix is the schema version.
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

/// Every event one task change publishes, in publish order: the task event,
/// then a reminder event when the reminder must be (re)scheduled or cancelled,
/// then the sync event. `new_id` yields a fresh (uuid v7) event id per call.
pub fn events_for_change(
    change: TaskChange,
    user_id: &str,
    before: Option<&Task>,
    after: Option<&Task>,
    now: DateTime<Utc>,
    new_id: &mut dyn FnMut() -> Uuid,
) -> Vec<OutboundEvent> {
    let _ = (change, user_id, before, after, now, new_id);
    todo!()
}

/// Names (camelCase, as in the JSON) of the fields that differ, in a fixed order.
pub fn changed_fields(before: &Task, after: &Task) -> Vec<String> {
    let _ = (before, after);
    todo!()
}

/// When the task's reminder fires: `dueAt - reminder.before`, if both are set.
pub fn remind_at(task: &Task) -> Option<DateTime<Utc>> {
    let _ = task;
    todo!()
}
