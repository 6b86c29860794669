//! The list engine behind `GET /api/tasks` and `GET /api/tags`.
//!
//! It works on the user's index ([`TaskSummary`] per task) so a list costs one
//! state read; pagination is keyset-based with an opaque cursor, so every item
//! appears exactly once across pages even while the order ties.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::problem::Problem;
use crate::task::{Priority, Status, Task};

pub const DEFAULT_LIMIT: usize = 50;
pub const MAX_LIMIT: usize = 200;

/// What the index keeps per task: every field a filter, sort or search needs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TaskSummary {
    pub id: Uuid,
    pub title: String,
    #[serde(default)]
    pub description: String,
    pub status: Status,
    pub priority: Priority,
    #[serde(default)]
    pub tags: Vec<String>,
    pub due_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub version: u64,
}

impl From<&Task> for TaskSummary {
    fn from(task: &Task) -> TaskSummary {
        TaskSummary {
            id: task.id,
            title: task.title.clone(),
            description: task.description.clone(),
            status: task.status,
            priority: task.priority,
            tags: task.tags.clone(),
            due_at: task.due_at,
            created_at: task.created_at,
            updated_at: task.updated_at,
            version: task.version,
        }
    }
}

/// A parsed `GET /api/tasks` query.
#[derive(Debug, Clone, PartialEq)]
pub struct ListQuery {
    pub status: Option<Status>,
    pub priorities: Vec<Priority>,
    pub tags: Vec<String>,
    pub words: Vec<String>,
    pub due_before: Option<DateTime<Utc>>,
    pub due_after: Option<DateTime<Utc>>,
    pub overdue: bool,
    pub sort: Sort,
    pub limit: usize,
    pub cursor: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SortKey {
    DueAt,
    Priority,
    Title,
    CreatedAt,
    UpdatedAt,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sort {
    pub key: SortKey,
    pub descending: bool,
}

/// One page: ids in order (the caller fetches the full tasks), the cursor of
/// the next page, and how many tasks match in total.
#[derive(Debug, Clone, PartialEq)]
pub struct Page {
    pub ids: Vec<Uuid>,
    pub next_cursor: Option<String>,
    pub total: usize,
}

/// A tag with the number of the user's tasks carrying it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TagCount {
    pub tag: String,
    pub count: usize,
}

impl ListQuery {
    /// Parses a raw query string (`status=open&tag=a&tag=b&sort=-dueAt`).
    /// Unknown parameters and bad values → 400 naming the parameter.
    pub fn parse(query: &str) -> Result<ListQuery, Problem> {
        let _ = query;
        todo!()
    }
}

/// Filters, sorts and pages `tasks`. A cursor that does not belong to this
/// query (other filters or sort) or is garbled → 400.
pub fn list(tasks: &[TaskSummary], query: &ListQuery, now: DateTime<Utc>) -> Result<Page, Problem> {
    let _ = (tasks, query, now);
    todo!()
}

/// The user's tags with counts, most used first, then alphabetically.
pub fn tag_counts(tasks: &[TaskSummary]) -> Vec<TagCount> {
    let _ = tasks;
    todo!()
}
