//! Input validation for task bodies (architecture §3 limits).
//!
//! Two stages, two status codes: serde rejects malformed JSON, wrong JSON types
//! and unknown fields (400, see [`parse_task_input`]); [`validate`] then checks
//! every rule and reports *all* failing fields at once (422).
//!
//! Rules and choices beyond architecture §3 (documented here so handlers, tests and
//! the README agree):
//! - Lengths count Unicode scalar values (`char`s), not bytes.
//! - `title` is trimmed, then must be 1–200 chars with no control characters;
//!   it is required on create.
//! - `description` is kept as given (not trimmed), ≤ 5000 chars; line breaks and
//!   tabs are allowed, other control characters are not.
//! - Tags are trimmed, 1–40 chars, no control characters, and de-duplicated
//!   **case-sensitively** keeping the first occurrence (`"Work"` and `"work"`
//!   are two tags; tag filters match exactly). The limit of 20 applies to the
//!   de-duplicated list.
//! - `dueAt` is RFC 3339 with an offset, stored in UTC.
//! - `timezone` is an exact (case-sensitive) IANA name, default `"UTC"`.
//! - A reminder needs `dueAt` (error on `reminder`); `channels` defaults to
//!   `["inbox"]`, must not be empty or repeat a channel.
//! - A recurrence needs `dueAt` when it repeats from the due date
//!   (`from: "due"`, the default; error on `recurrence`); from completion it
//!   does not. `occurrence` ≥ 1.
//! - Read-only task fields (`id`, `status`, …) in a body are refused with 400
//!   and a message that says so.

use chrono::{DateTime, Utc};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use uuid::Uuid;

use crate::problem::{FieldError, Problem};
use crate::recurrence::IanaZone;
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
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub priority: Option<Priority>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tags: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub due_at: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timezone: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reminder: Option<ReminderInput>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recurrence: Option<RecurrenceInput>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ReminderInput {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub before: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub channels: Option<Vec<Channel>>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RecurrenceInput {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rrule: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from: Option<RecurrenceFrom>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub series_id: Option<Uuid>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub occurrence: Option<u32>,
    /// RFC 3339: the series' first due date (RFC 5545 DTSTART), which later
    /// occurrences are computed from (`crate::recurrence`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dtstart: Option<String>,
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
    /// The series' first due date; `None` on the first occurrence.
    pub dtstart: Option<DateTime<Utc>>,
}

/// Editable top-level members of a task body, as spelled in JSON.
pub const EDITABLE_FIELDS: [&str; 8] = [
    "title",
    "description",
    "priority",
    "tags",
    "dueAt",
    "timezone",
    "reminder",
    "recurrence",
];

/// Task members the server maintains; a body that sets them is refused (400).
pub const READ_ONLY_FIELDS: [&str; 6] = [
    "id",
    "status",
    "version",
    "createdAt",
    "updatedAt",
    "completedAt",
];

const REMINDER_FIELDS: [&str; 2] = ["before", "channels"];
const RECURRENCE_FIELDS: [&str; 5] = ["rrule", "from", "seriesId", "occurrence", "dtstart"];

/// Longest value echoed back inside an error message.
const ECHO_MAX_CHARS: usize = 64;

/// Parses a JSON body into [`TaskInput`]; malformed JSON, wrong types or an
/// unknown field → 400 problem naming the offending place.
pub fn parse_task_input(body: &[u8]) -> Result<TaskInput, Problem> {
    let value: Value = serde_json::from_slice(body)
        .map_err(|e| Problem::bad_request(format!("the body is not valid JSON: {e}")))?;
    task_input_from_value(&value)
}

/// Converts an already parsed JSON document into [`TaskInput`] with the same
/// 400 rules as [`parse_task_input`] (used by the merge patch after merging).
/// Errors name the member (`reminder.channels[1]`), read-only members get a
/// message saying they are read-only.
pub fn task_input_from_value(value: &Value) -> Result<TaskInput, Problem> {
    let Value::Object(obj) = value else {
        return Err(Problem::bad_request(format!(
            "the body must be a JSON object, not {}",
            json_kind(value)
        )));
    };
    check_members(obj)?;

    let reminder = match obj.get("reminder") {
        None | Some(Value::Null) => None,
        Some(Value::Object(r)) => Some(ReminderInput {
            before: member(r, "before", "reminder.before")?,
            channels: array_member(r, "channels", "reminder.channels")?,
        }),
        Some(other) => return Err(not_an_object("reminder", other)),
    };
    let recurrence = match obj.get("recurrence") {
        None | Some(Value::Null) => None,
        Some(Value::Object(r)) => Some(RecurrenceInput {
            rrule: member(r, "rrule", "recurrence.rrule")?,
            from: member(r, "from", "recurrence.from")?,
            series_id: member(r, "seriesId", "recurrence.seriesId")?,
            occurrence: member(r, "occurrence", "recurrence.occurrence")?,
            dtstart: member(r, "dtstart", "recurrence.dtstart")?,
        }),
        Some(other) => return Err(not_an_object("recurrence", other)),
    };
    Ok(TaskInput {
        title: member(obj, "title", "title")?,
        description: member(obj, "description", "description")?,
        priority: member(obj, "priority", "priority")?,
        tags: array_member(obj, "tags", "tags")?,
        due_at: member(obj, "dueAt", "dueAt")?,
        timezone: member(obj, "timezone", "timezone")?,
        reminder,
        recurrence,
    })
}

/// The 400 for a body that sets a server-maintained member.
pub fn read_only_problem(field: &str) -> Problem {
    Problem::bad_request(format!(
        "`{field}` is read-only: the server maintains it; status changes go through \
         POST /api/tasks/{{id}}/complete and POST /api/tasks/{{id}}/reopen"
    ))
}

/// Refuses read-only and unknown members, top level and nested.
pub(crate) fn check_members(obj: &Map<String, Value>) -> Result<(), Problem> {
    for key in obj.keys() {
        if READ_ONLY_FIELDS.contains(&key.as_str()) {
            return Err(read_only_problem(key));
        }
        if !EDITABLE_FIELDS.contains(&key.as_str()) {
            return Err(unknown_member(key, &EDITABLE_FIELDS));
        }
    }
    for (name, allowed) in [
        ("reminder", &REMINDER_FIELDS[..]),
        ("recurrence", &RECURRENCE_FIELDS[..]),
    ] {
        if let Some(Value::Object(nested)) = obj.get(name) {
            if let Some(key) = nested.keys().find(|k| !allowed.contains(&k.as_str())) {
                return Err(unknown_member(&format!("{name}.{key}"), allowed));
            }
        }
    }
    Ok(())
}

fn unknown_member(path: &str, allowed: &[&str]) -> Problem {
    Problem::bad_request(format!(
        "unknown field `{}`; expected one of: {}",
        shorten(path),
        allowed.join(", ")
    ))
}

fn not_an_object(path: &str, value: &Value) -> Problem {
    Problem::bad_request(format!(
        "`{path}` must be an object or null, not {}",
        json_kind(value)
    ))
}

/// One member; absent or `null` → `None`.
fn member<T: DeserializeOwned>(
    obj: &Map<String, Value>,
    key: &str,
    path: &str,
) -> Result<Option<T>, Problem> {
    match obj.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(v) => T::deserialize(v)
            .map(Some)
            .map_err(|e| Problem::bad_request(format!("`{path}` is invalid: {e}"))),
    }
}

/// An array member whose element errors name the index (`tags[2]`).
fn array_member<T: DeserializeOwned>(
    obj: &Map<String, Value>,
    key: &str,
    path: &str,
) -> Result<Option<Vec<T>>, Problem> {
    match obj.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Array(items)) => items
            .iter()
            .enumerate()
            .map(|(i, v)| {
                T::deserialize(v)
                    .map_err(|e| Problem::bad_request(format!("`{path}[{i}]` is invalid: {e}")))
            })
            .collect::<Result<Vec<T>, Problem>>()
            .map(Some),
        Some(other) => Err(Problem::bad_request(format!(
            "`{path}` must be an array, not {}",
            json_kind(other)
        ))),
    }
}

fn json_kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// `value`, cut to [`ECHO_MAX_CHARS`] for quoting inside a message.
fn shorten(value: &str) -> String {
    if value.chars().count() <= ECHO_MAX_CHARS {
        value.to_string()
    } else {
        let mut s: String = value.chars().take(ECHO_MAX_CHARS).collect();
        s.push('…');
        s
    }
}

/// Checks every rule of architecture §3 and normalises (title trimmed, tags trimmed
/// and de-duplicated, defaults: priority medium, timezone "UTC", reminder
/// channels ["inbox"], recurrence from "due"). Reports all failing fields.
pub fn validate(input: TaskInput) -> Result<TaskFields, Vec<FieldError>> {
    let mut errors = Vec::new();
    let mut fail = |field: &str, message: String| errors.push(FieldError::new(field, message));

    let title = match input.title.as_deref() {
        None => {
            fail("title", "is required".into());
            String::new()
        }
        Some(raw) => {
            let t = raw.trim();
            let n = t.chars().count();
            if n == 0 {
                fail("title", "must not be empty".into());
            } else if n > TITLE_MAX_CHARS {
                fail(
                    "title",
                    format!("must be at most {TITLE_MAX_CHARS} characters (got {n})"),
                );
            } else if t.chars().any(char::is_control) {
                fail("title", "must not contain control characters".into());
            }
            t.to_string()
        }
    };

    let description = input.description.unwrap_or_default();
    let n = description.chars().count();
    if n > DESCRIPTION_MAX_CHARS {
        fail(
            "description",
            format!("must be at most {DESCRIPTION_MAX_CHARS} characters (got {n})"),
        );
    } else if description
        .chars()
        .any(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t'))
    {
        fail(
            "description",
            "must not contain control characters other than line breaks and tabs".into(),
        );
    }

    let mut tags: Vec<String> = Vec::new();
    for (i, raw) in input.tags.unwrap_or_default().iter().enumerate() {
        let t = raw.trim();
        let n = t.chars().count();
        let field = format!("tags[{i}]");
        if n == 0 {
            fail(&field, "must not be empty".into());
        } else if n > TAG_MAX_CHARS {
            fail(
                &field,
                format!("must be at most {TAG_MAX_CHARS} characters (got {n})"),
            );
        } else if t.chars().any(char::is_control) {
            fail(&field, "must not contain control characters".into());
        } else if !tags.iter().any(|seen| seen == t) {
            tags.push(t.to_string());
        }
    }
    if tags.len() > TAGS_MAX {
        fail(
            "tags",
            format!(
                "must hold at most {TAGS_MAX} distinct tags (got {})",
                tags.len()
            ),
        );
    }

    let due_at = match input.due_at.as_deref() {
        None => None,
        Some(raw) => match parse_timestamp(raw) {
            Ok(t) => Some(t),
            Err(e) => {
                fail("dueAt", e);
                None
            }
        },
    };
    let due_given = input.due_at.is_some();

    let timezone = match input.timezone.as_deref() {
        None => "UTC".to_string(),
        Some(raw) => match validate_timezone(raw) {
            Ok(tz) => tz.name().to_string(),
            Err(e) => {
                fail("timezone", e);
                raw.to_string()
            }
        },
    };

    let reminder = input.reminder.map(|r| {
        if !due_given {
            fail(
                "reminder",
                "a reminder needs a due date: set dueAt or remove the reminder".into(),
            );
        }
        let before = match r.before {
            None => {
                fail("reminder.before", "is required".into());
                String::new()
            }
            Some(b) => {
                if b.chars().count() > ECHO_MAX_CHARS {
                    fail(
                        "reminder.before",
                        "is too long to be an ISO 8601 duration such as PT15M".into(),
                    );
                } else if let Err(e) = crate::task::duration::parse_duration(&b) {
                    fail("reminder.before", e);
                }
                b
            }
        };
        let channels = r.channels.unwrap_or_else(|| vec![Channel::Inbox]);
        if channels.is_empty() {
            fail(
                "reminder.channels",
                "must list at least one channel (inbox, email, webhook)".into(),
            );
        } else if let Some(dup) = channels
            .iter()
            .enumerate()
            .find(|(i, c)| channels[..*i].contains(c))
            .map(|(_, c)| *c)
        {
            fail(
                "reminder.channels",
                format!(
                    "must not repeat a channel (`{}` appears twice)",
                    channel_name(dup)
                ),
            );
        }
        Reminder { before, channels }
    });

    let recurrence = input.recurrence.map(|r| {
        let rrule = match r.rrule.as_deref().map(str::trim) {
            None | Some("") => {
                fail("recurrence.rrule", "is required".into());
                String::new()
            }
            Some(rule) => {
                if let Err(e) = crate::recurrence::validate_rrule(rule) {
                    fail("recurrence.rrule", e);
                }
                rule.to_string()
            }
        };
        let from = r.from.unwrap_or_default();
        if from == RecurrenceFrom::Due && !due_given {
            fail(
                "recurrence",
                "a recurrence from the due date needs dueAt: set dueAt, or use \"from\": \"completion\"".into(),
            );
        }
        if r.occurrence == Some(0) {
            fail("recurrence.occurrence", "must be at least 1".into());
        }
        let dtstart = r
            .dtstart
            .as_deref()
            .and_then(|d| parse_timestamp(d).map_err(|e| fail("recurrence.dtstart", e)).ok());
        RecurrenceFields {
            rrule,
            from,
            series_id: r.series_id,
            occurrence: r.occurrence,
            dtstart,
        }
    });

    if !errors.is_empty() {
        return Err(errors);
    }
    Ok(TaskFields {
        title,
        description,
        priority: input.priority.unwrap_or(Priority::Medium),
        tags,
        due_at,
        timezone,
        reminder,
        recurrence,
    })
}

fn channel_name(c: Channel) -> &'static str {
    match c {
        Channel::Inbox => "inbox",
        Channel::Email => "email",
        Channel::Webhook => "webhook",
    }
}

/// Checks one IANA timezone name (exact spelling), against the same
/// database recurrences are evaluated with.
pub fn validate_timezone(name: &str) -> Result<IanaZone, String> {
    IanaZone::parse(name).ok_or_else(|| {
        format!(
            "`{}` is not an IANA timezone name; expected e.g. UTC, Europe/Berlin or America/New_York",
            shorten(name)
        )
    })
}

/// Parses an RFC 3339 timestamp (as `dueAt`, `dueBefore`, … are given).
pub fn parse_timestamp(value: &str) -> Result<DateTime<Utc>, String> {
    DateTime::parse_from_rfc3339(value)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|e| {
            format!(
                "`{}` is not an RFC 3339 timestamp ({e}); expected a date, time and offset such as \
                 2026-12-01T09:00:00Z or 2026-12-01T10:00:00+01:00",
                shorten(value)
            )
        })
}
