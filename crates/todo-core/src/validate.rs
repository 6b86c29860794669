//! Input validation for task bodies (DESIGN §3 limits).
//!
//! Two stages, two status codes: serde rejects malformed JSON, wrong JSON types
//! and unknown fields (400, see [`parse_task_input`]); [`validate`] then checks
//! every rule and reports *all* failing fields at once (422).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::problem::{FieldError, Problem};
use crate::task::{Channel, Priority, RecurrenceFrom, Reminder};

pub const TITLE_MAX_CHARS: usize = 200;
pub const DESCRIPTION_MAX_CHARS: usize = 5000;
pub const TAGS_MAX: usize = 20;
pub const TAG_MAX_CHARS: usize = 40;

/// A create body, or the editable view of a task that a merge patch is applied
/// to. Dates and zones stay strings here so bad values become field errors.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TaskInput {
    pub title: Option<String>,
    pub description: Option<String>,
    pub priority: Option<Priority>,
    pub tags: Option<Vec<String>>,
    pub due_at: Option<String>,
    pub timezone: Option<String>,
    pub reminder: Option<ReminderInput>,
    pub recurrence: Option<RecurrenceInput>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ReminderInput {
    pub before: Option<String>,
    pub channels: Option<Vec<Channel>>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RecurrenceInput {
    pub rrule: Option<String>,
    pub from: Option<RecurrenceFrom>,
    pub series_id: Option<Uuid>,
    pub occurrence: Option<u32>,
}

/// Validated, normalised editable fields of a task.
#[derive(Debug, Clone, PartialEq)]
pub struct TaskFields {
    pub title: String,
    pub description: String,
    pub priority: Priority,
    pub tags: Vec<String>,
    pub due_at: Option<DateTime<Utc>>,
    pub timezone: String,
    pub reminder: Option<Reminder>,
    pub recurrence: Option<RecurrenceFields>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct RecurrenceFields {
    pub rrule: String,
    pub from: RecurrenceFrom,
    /// `None` on a new series: the task's own id becomes the series id.
    pub series_id: Option<Uuid>,
    pub occurrence: Option<u32>,
}

/// Parses a JSON body into [`TaskInput`]; malformed JSON, wrong types or an
/// unknown field → 400 problem naming the offending place.
pub fn parse_task_input(body: &[u8]) -> Result<TaskInput, Problem> {
    let _ = body;
    todo!()
}

/// Checks every rule of DESIGN §3 and normalises (title trimmed, tags trimmed
/// and de-duplicated, defaults: priority medium, timezone "UTC", reminder
/// channels ["inbox"], recurrence from "due"). Reports all failing fields.
pub fn validate(input: TaskInput) -> Result<TaskFields, Vec<FieldError>> {
    let _ = input;
    todo!()
}

/// Checks one IANA timezone name.
pub fn validate_timezone(name: &str) -> Result<chrono_tz::Tz, String> {
    let _ = name;
    todo!()
}

/// Parses an RFC 3339 timestamp (as `dueAt`, `dueBefore`, … are given).
pub fn parse_timestamp(value: &str) -> Result<DateTime<Utc>, String> {
    let _ = value;
    todo!()
}
