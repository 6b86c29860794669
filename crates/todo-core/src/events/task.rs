//! Reading a delivered `task-events` message as a consumer (audit,
//! recurrence): which change its `type` names, and whether its `data` is the
//! schema that type promises (architecture §4).
//!
//! Consumers answer anything that fails here with DROP: a message that cannot
//! be read now will not become readable by redelivering it. The `type` is
//! checked *before* `data` is decoded, so an event of a schema version we do
//! not know (`todo.task.created.v2`) is reported as such, not as bad data.

use serde_json::Value;

use crate::events::{types, CloudEvent, TaskChange, TaskEventData, SPEC_VERSION};

/// Every task event type this version understands, with the change it names.
pub const KNOWN_TYPES: [(&str, TaskChange); 5] = [
    (types::TASK_CREATED, TaskChange::Created),
    (types::TASK_UPDATED, TaskChange::Updated),
    (types::TASK_COMPLETED, TaskChange::Completed),
    (types::TASK_REOPENED, TaskChange::Reopened),
    (types::TASK_DELETED, TaskChange::Deleted),
];

/// A task event that passed every check.
#[derive(Debug, Clone, PartialEq)]
pub struct TaskEvent {
    pub change: TaskChange,
    pub envelope: CloudEvent<TaskEventData>,
}

/// Why a delivered event cannot be used (always a poison message).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Unreadable {
    /// Not CloudEvents 1.0, or a `type` that is not a known `todo.task.*.v1`.
    UnknownType(String),
    /// The `data` does not match the schema of its type.
    BadData(String),
}

impl std::fmt::Display for Unreadable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Unreadable::UnknownType(why) => write!(f, "unknown event type or version: {why}"),
            Unreadable::BadData(why) => write!(f, "event data does not match its type: {why}"),
        }
    }
}

impl std::error::Error for Unreadable {}

/// The change a `todo.task.*.v1` type names; `None` for any other type.
pub fn change_of(kind: &str) -> Option<TaskChange> {
    KNOWN_TYPES
        .iter()
        .find(|(known, _)| *known == kind)
        .map(|(_, change)| *change)
}

/// Checks an envelope (already parsed with any `data`) and decodes its data:
///
/// - `specversion` is `1.0` and `type` one of [`KNOWN_TYPES`];
/// - `data` is a [`TaskEventData`] with a non-empty `userId`;
/// - `task` (the task after the change) is present except on delete, and
///   `previous` is present except on create;
/// - `task.id` and `previous.id` are `data.taskId`.
pub fn read(envelope: CloudEvent<Value>) -> Result<TaskEvent, Unreadable> {
    if envelope.specversion != SPEC_VERSION {
        return Err(Unreadable::UnknownType(format!(
            "specversion {:?} (expected {SPEC_VERSION:?})",
            envelope.specversion
        )));
    }
    let change = change_of(&envelope.kind).ok_or_else(|| {
        Unreadable::UnknownType(format!(
            "{:?} is not one of {}",
            envelope.kind,
            KNOWN_TYPES
                .iter()
                .map(|(t, _)| *t)
                .collect::<Vec<_>>()
                .join(", ")
        ))
    })?;
    let envelope = envelope.try_map_data(|data| {
        serde_json::from_value::<TaskEventData>(data)
            .map_err(|e| Unreadable::BadData(e.to_string()))
    })?;
    let (kind, data) = (&envelope.kind, &envelope.data);
    let bad = |why: &str| Err(Unreadable::BadData(format!("{kind}: {why}")));
    if data.user_id.trim().is_empty() {
        return bad("userId is empty");
    }
    match (&data.task, change) {
        (None, TaskChange::Deleted) => {}
        (None, _) => return bad("task is missing"),
        (Some(_), TaskChange::Deleted) => return bad("a deleted task has no task after"),
        (Some(task), _) if task.id != data.task_id => return bad("task.id is not taskId"),
        (Some(_), _) => {}
    }
    match (&data.previous, change) {
        (None, TaskChange::Created) => {}
        (None, _) => return bad("previous is missing"),
        (Some(_), TaskChange::Created) => return bad("a created task has no previous"),
        (Some(previous), _) if previous.id != data.task_id => {
            return bad("previous.id is not taskId")
        }
        (Some(_), _) => {}
    }
    Ok(TaskEvent { change, envelope })
}
