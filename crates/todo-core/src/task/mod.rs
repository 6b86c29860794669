//! Tasks (task-api's concern): the model, and what happens to a task before
//! it is stored or listed.
//!
//! This file is the model: the one JSON shape a task has on the API, in
//! state and inside events (architecture §3). Everything a handler needs to
//! create or change a task goes through [`Task::create`] and
//! [`Task::apply`], so `version`, `updatedAt` and the recurrence series are
//! maintained in one place.
//!
//! The other files, each with one job:
//! - [`validate`]: task bodies, parsed (400) and checked field by field (422);
//! - [`patch`]: JSON Merge Patch (RFC 7396) on a task's editable fields;
//! - [`query`]: the list engine behind `GET /api/tasks` and `GET /api/tags`
//!   (a folder: parameters, filters, sort, cursor, paging, tag counts);
//! - [`pages`]: the per-user task index as bounded pages;
//! - [`duration`]: ISO 8601 durations (`reminder.before`).

pub mod duration;
pub mod pages;
pub mod patch;
pub mod query;
pub mod validate;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::task::validate::{RecurrenceFields, TaskFields};

/// Open or completed. Completion is a state change with its own routes
/// (`/complete`, `/reopen`), never a field edit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Open,
    Completed,
}

/// Ordered from least to most pressing, so `Ord` is the sort order of `priority`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Priority {
    Low,
    Medium,
    High,
    Urgent,
}

impl Priority {
    pub const ALL: [Priority; 4] = [
        Priority::Low,
        Priority::Medium,
        Priority::High,
        Priority::Urgent,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Priority::Low => "low",
            Priority::Medium => "medium",
            Priority::High => "high",
            Priority::Urgent => "urgent",
        }
    }

    pub fn parse(s: &str) -> Option<Priority> {
        Priority::ALL.into_iter().find(|p| p.as_str() == s)
    }
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Open => "open",
            Status::Completed => "completed",
        }
    }

    pub fn parse(s: &str) -> Option<Status> {
        [Status::Open, Status::Completed]
            .into_iter()
            .find(|st| st.as_str() == s)
    }
}

/// Where a reminder is delivered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Channel {
    Inbox,
    Email,
    Webhook,
}

/// A reminder fires `before` (an ISO 8601 duration such as `PT15M`) ahead of `dueAt`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Reminder {
    pub before: String,
    pub channels: Vec<Channel>,
}

/// Whether the next occurrence is computed from the due date or the completion time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RecurrenceFrom {
    #[default]
    Due,
    Completion,
}

/// An RFC 5545 RRULE plus where this task stands in its series.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Recurrence {
    pub rrule: String,
    #[serde(default)]
    pub from: RecurrenceFrom,
    pub series_id: Uuid,
    /// 1-based position of this task in its series.
    pub occurrence: u32,
    /// The series' first due date (RFC 5545 DTSTART), kept on later
    /// occurrences so each is computed from it (`crate::recurrence`); absent
    /// on the first occurrence and on tasks stored before it existed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dtstart: Option<DateTime<Utc>>,
}

/// A task as the API serves it and as state and events carry it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Task {
    pub id: Uuid,
    pub title: String,
    #[serde(default)]
    pub description: String,
    pub status: Status,
    pub priority: Priority,
    #[serde(default)]
    pub tags: Vec<String>,
    pub due_at: Option<DateTime<Utc>>,
    /// IANA zone the task's local times (recurrence) are computed in.
    pub timezone: String,
    pub reminder: Option<Reminder>,
    pub recurrence: Option<Recurrence>,
    pub completed_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// Starts at 1 and grows by one on every change; the `ETag` is `"<version>"`.
    pub version: u64,
}

impl Task {
    /// A new open task from validated fields. A recurring task without a series
    /// starts one (series id = task id, occurrence 1).
    pub fn create(id: Uuid, fields: TaskFields, now: DateTime<Utc>) -> Task {
        let mut task = Task {
            id,
            title: String::new(),
            description: String::new(),
            status: Status::Open,
            priority: Priority::Medium,
            tags: Vec::new(),
            due_at: None,
            timezone: String::new(),
            reminder: None,
            recurrence: None,
            completed_at: None,
            created_at: now,
            updated_at: now,
            version: 1,
        };
        task.set_fields(fields);
        task
    }

    /// Replaces the editable fields, bumping `version` and `updatedAt`.
    pub fn apply(&mut self, fields: TaskFields, now: DateTime<Utc>) {
        self.set_fields(fields);
        self.touch(now);
    }

    /// Marks the task completed. Returns `false` (and changes nothing) if it already was.
    pub fn complete(&mut self, now: DateTime<Utc>) -> bool {
        if self.status == Status::Completed {
            return false;
        }
        self.status = Status::Completed;
        self.completed_at = Some(now);
        self.touch(now);
        true
    }

    /// Reopens a completed task. Returns `false` (and changes nothing) if it was open.
    pub fn reopen(&mut self, now: DateTime<Utc>) -> bool {
        if self.status == Status::Open {
            return false;
        }
        self.status = Status::Open;
        self.completed_at = None;
        self.touch(now);
        true
    }

    /// The strong ETag of this version (RFC 9110 §8.8.3), quotes included.
    pub fn etag(&self) -> String {
        format!("\"{}\"", self.version)
    }

    /// The editable fields as validated input, e.g. to re-validate after a patch.
    pub fn fields(&self) -> TaskFields {
        TaskFields {
            title: self.title.clone(),
            description: self.description.clone(),
            priority: self.priority,
            tags: self.tags.clone(),
            due_at: self.due_at,
            timezone: self.timezone.clone(),
            reminder: self.reminder.clone(),
            recurrence: self.recurrence.clone().map(|r| RecurrenceFields {
                rrule: r.rrule,
                from: r.from,
                series_id: Some(r.series_id),
                occurrence: Some(r.occurrence),
                dtstart: r.dtstart,
            }),
        }
    }

    fn set_fields(&mut self, fields: TaskFields) {
        let TaskFields {
            title,
            description,
            priority,
            tags,
            due_at,
            timezone,
            reminder,
            recurrence,
        } = fields;
        self.title = title;
        self.description = description;
        self.priority = priority;
        self.tags = tags;
        self.due_at = due_at;
        self.timezone = timezone;
        self.reminder = reminder;
        self.recurrence = recurrence.map(|r| Recurrence {
            series_id: r.series_id.unwrap_or(self.id),
            occurrence: r.occurrence.unwrap_or(1),
            rrule: r.rrule,
            from: r.from,
            dtstart: r.dtstart,
        });
    }

    fn touch(&mut self, now: DateTime<Utc>) {
        self.version += 1;
        // Never let updatedAt go backwards, even if clocks disagree.
        self.updated_at = now.max(self.updated_at);
    }
}
