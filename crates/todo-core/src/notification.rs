//! Notifications and the user's inbox (DESIGN §3, §5): what a fired reminder
//! leaves behind, how the inbox document (`inbox/{uid}`, bounded, newest
//! first) is kept, and how `GET /api/notifications` pages through it.
//!
//! Also the `data` of `todo.sync.notification.v1`, which notify publishes on
//! `task-updates` so open clients show the notification.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::events::ReminderEventData;
use crate::task::Channel;
use crate::Problem;

/// How many notifications an inbox keeps; older ones fall off.
pub const INBOX_CAPACITY: usize = 200;
/// Default and largest page size of `GET /api/notifications`.
pub const DEFAULT_PAGE: usize = 50;
pub const MAX_PAGE: usize = 200;

/// One notification, as the inbox stores it and the API serves it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Notification {
    pub id: Uuid,
    /// What caused it; only `reminder` so far.
    pub kind: String,
    pub task_id: Uuid,
    pub title: String,
    pub due_at: Option<DateTime<Utc>>,
    pub remind_at: DateTime<Utc>,
    /// The channels the task's reminder asked for.
    pub channels: Vec<Channel>,
    pub created_at: DateTime<Utc>,
    pub read: bool,
    #[serde(default)]
    pub read_at: Option<DateTime<Utc>>,
}

impl Notification {
    /// The notification a fired reminder creates. `None` when the reminder
    /// has no `remindAt` (it could not have been scheduled).
    pub fn for_reminder(
        id: Uuid,
        reminder: &ReminderEventData,
        now: DateTime<Utc>,
    ) -> Option<Notification> {
        Some(Notification {
            id,
            kind: "reminder".to_string(),
            task_id: reminder.task_id,
            title: reminder.title.clone(),
            due_at: reminder.due_at,
            remind_at: reminder.remind_at?,
            channels: reminder.channels.clone(),
            created_at: now,
            read: false,
            read_at: None,
        })
    }

    fn sort_key(&self) -> (DateTime<Utc>, Uuid) {
        (self.created_at, self.id)
    }
}

/// `data` of a `todo.sync.notification.v1` event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NotificationEventData {
    pub user_id: String,
    pub notification: Notification,
}

/// `inbox/{uid}`: the user's notifications, newest first (by `createdAt`,
/// then id), at most [`INBOX_CAPACITY`].
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Inbox {
    #[serde(default)]
    pub items: Vec<Notification>,
}

impl Inbox {
    /// Adds `notification` in order, unless one with its id is there already;
    /// drops the oldest beyond capacity. Returns whether it was added.
    pub fn insert(&mut self, notification: Notification) -> bool {
        if self.items.iter().any(|n| n.id == notification.id) {
            return false;
        }
        let key = notification.sort_key();
        let at = self
            .items
            .iter()
            .position(|n| n.sort_key() < key)
            .unwrap_or(self.items.len());
        self.items.insert(at, notification);
        self.items.truncate(INBOX_CAPACITY);
        self.items.iter().any(|n| n.sort_key() == key)
    }

    /// Marks notification `id` read (idempotent: the first `readAt` stays).
    /// Returns it and whether anything changed; `None` if it is not here.
    pub fn mark_read(&mut self, id: Uuid, now: DateTime<Utc>) -> Option<(Notification, bool)> {
        let n = self.items.iter_mut().find(|n| n.id == id)?;
        let changed = !n.read;
        if changed {
            n.read = true;
            n.read_at = Some(now);
        }
        Some((n.clone(), changed))
    }

    pub fn unread_count(&self) -> usize {
        self.items.iter().filter(|n| !n.read).count()
    }

    /// One page of the inbox for `query`.
    pub fn page(&self, query: &InboxQuery) -> InboxPage {
        let mut items: Vec<Notification> = self
            .items
            .iter()
            .filter(|n| !query.unread_only || !n.read)
            .filter(|n| query.after.is_none_or(|after| n.sort_key() < after))
            .take(query.limit + 1)
            .cloned()
            .collect();
        let next_cursor = if items.len() > query.limit {
            items.truncate(query.limit);
            items.last().map(|n| encode_cursor(n.sort_key()))
        } else {
            None
        };
        InboxPage {
            items,
            next_cursor,
            unread: self.unread_count(),
        }
    }
}

/// The body of `GET /api/notifications`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct InboxPage {
    pub items: Vec<Notification>,
    pub next_cursor: Option<String>,
    /// Unread notifications in the whole inbox.
    pub unread: usize,
}

/// `GET /api/notifications` parameters: `unread=true|false`, `limit`
/// (1–[`MAX_PAGE`], default [`DEFAULT_PAGE`]), `cursor` (from `nextCursor`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InboxQuery {
    pub unread_only: bool,
    pub limit: usize,
    /// Only notifications strictly older than this position.
    pub after: Option<(DateTime<Utc>, Uuid)>,
}

impl InboxQuery {
    /// Parses a query string; unknown or malformed parameters → 400.
    pub fn parse(query: &str) -> Result<InboxQuery, Problem> {
        let mut parsed = InboxQuery {
            unread_only: false,
            limit: DEFAULT_PAGE,
            after: None,
        };
        for (key, value) in form_urlencoded::parse(query.as_bytes()) {
            match key.as_ref() {
                "unread" => {
                    parsed.unread_only = match value.as_ref() {
                        "true" => true,
                        "false" => false,
                        other => {
                            return Err(Problem::bad_request(format!(
                                "unread must be true or false, not {other:?}"
                            )))
                        }
                    }
                }
                "limit" => {
                    parsed.limit = value
                        .parse::<usize>()
                        .ok()
                        .filter(|l| (1..=MAX_PAGE).contains(l))
                        .ok_or_else(|| {
                            Problem::bad_request(format!("limit must be 1–{MAX_PAGE}"))
                        })?
                }
                "cursor" => {
                    parsed.after = Some(
                        decode_cursor(&value)
                            .ok_or_else(|| Problem::bad_request("cursor is not valid"))?,
                    )
                }
                other => {
                    return Err(Problem::bad_request(format!(
                        "unknown query parameter {other:?}"
                    )))
                }
            }
        }
        Ok(parsed)
    }
}

fn encode_cursor((at, id): (DateTime<Utc>, Uuid)) -> String {
    URL_SAFE_NO_PAD.encode(format!("{}:{}", at.timestamp_micros(), id.simple()))
}

fn decode_cursor(cursor: &str) -> Option<(DateTime<Utc>, Uuid)> {
    let text = String::from_utf8(URL_SAFE_NO_PAD.decode(cursor).ok()?).ok()?;
    let (micros, id) = text.split_once(':')?;
    Some((
        DateTime::from_timestamp_micros(micros.parse().ok()?)?,
        id.parse().ok()?,
    ))
}
