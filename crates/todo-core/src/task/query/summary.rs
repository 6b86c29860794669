//! [`TaskSummary`]: what the per-user index keeps of each task, so a list
//! reads no full task it does not return.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::task::{Priority, Status, Task};

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
