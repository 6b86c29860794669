//! Notifications and the user's inbox (architecture §3, §5): what a fired reminder
//! leaves behind, how the inbox is stored (bounded pages, newest first) and
//! how `GET /api/notifications` pages through it.
//!
//! Also the `data` of `todo.sync.notification.v1`, which notify publishes on
//! `task-updates` so open clients show the notification.
//!
//! # Storage (architecture §5, cost rules)
//!
//! An inbox keeps at most [`INBOX_CAPACITY`] (200) notifications. One
//! notification is at most ~1.2 KiB of JSON (its title is cut to 200
//! characters, at most 4 bytes each, and its channels are distinct), so 200
//! of them would be ~240 KiB: more than the 64 KiB a document may hold. The
//! inbox is therefore kept in pages of at most [`INBOX_PAGE`] (40, ≤ ~48 KiB):
//! - `inbox/{uid}` ([`InboxHead`]): the newest notifications (1 to 40 after
//!   any write) and the numbers of the sealed pages;
//! - `inbox/{uid}/{n}` ([`InboxSheet`]): 40 older notifications each, sealed
//!   when the head overflows; a notification there only changes when it is
//!   marked read.
//!
//! When the head holds 40 and one more arrives, the 40 become the next
//! sealed page; beyond [`SHEETS_KEPT`] (4) sealed pages the oldest is deleted
//! in the same write, so an inbox holds 161 to 200 notifications once full
//! and the oldest fall off a page (40) at a time. A list or a read mark
//! reads the head and the (at most 4) sealed pages; a firing reads and
//! writes the head only, plus a sealed page once every 40 notifications.
//!
//! A document of the old layout (`{items}` with up to 200 notifications)
//! reads as a head without sealed pages, and its next write cuts it into
//! pages ([`InboxHead::spill`]).

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::events::ReminderEventData;
use crate::task::validate::TITLE_MAX_CHARS;
use crate::task::Channel;
use crate::Problem;

/// The most notifications an inbox keeps; older ones fall off, a page at a
/// time (see the module documentation).
pub const INBOX_CAPACITY: usize = 200;
/// The most notifications one inbox document holds (the head after a write,
/// or a sealed page): 40 of the largest notification are under 48 KiB.
pub const INBOX_PAGE: usize = 40;
/// Sealed pages kept besides the head: with the head's up to
/// [`INBOX_PAGE`], at most [`INBOX_CAPACITY`] notifications.
pub const SHEETS_KEPT: usize = INBOX_CAPACITY / INBOX_PAGE - 1;
/// The largest inbox document (architecture §5).
pub const MAX_DOCUMENT_BYTES: usize = 64 * 1024;

const _: () = assert!(INBOX_CAPACITY % INBOX_PAGE == 0 && SHEETS_KEPT >= 1);

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
    ///
    /// Its size is bounded whatever the event says: the title is cut to
    /// [`TITLE_MAX_CHARS`] characters with control characters as spaces
    /// (task-api allows neither more nor those), and each channel appears
    /// once.
    pub fn for_reminder(
        id: Uuid,
        reminder: &ReminderEventData,
        now: DateTime<Utc>,
    ) -> Option<Notification> {
        let mut channels: Vec<Channel> = Vec::with_capacity(reminder.channels.len().min(3));
        for channel in &reminder.channels {
            if !channels.contains(channel) {
                channels.push(*channel);
            }
        }
        Some(Notification {
            id,
            kind: "reminder".to_string(),
            task_id: reminder.task_id,
            title: reminder
                .title
                .chars()
                .take(TITLE_MAX_CHARS)
                .map(|c| if c.is_control() { ' ' } else { c })
                .collect(),
            due_at: reminder.due_at,
            remind_at: reminder.remind_at?,
            channels,
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

/// `inbox/{uid}`: the newest notifications, newest first (by `createdAt`,
/// then id), and the sealed pages `inbox/{uid}/{n}` holding older ones.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct InboxHead {
    /// At most [`INBOX_PAGE`] after any write (a document of the old layout
    /// holds up to [`INBOX_CAPACITY`] here until its next write).
    #[serde(default)]
    pub items: Vec<Notification>,
    /// The sealed pages kept, oldest first (at most [`SHEETS_KEPT`]).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sheets: Vec<u64>,
    /// The number the next sealed page gets.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub next_sheet: u64,
}

/// `inbox/{uid}/{n}`: [`INBOX_PAGE`] older notifications, newest first.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct InboxSheet {
    #[serde(default)]
    pub items: Vec<Notification>,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

/// The sealed pages a write of the head must also make: write `sealed`
/// (new pages) and delete `dropped` (pages fallen off the end), in the same
/// transaction as the head.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Spill {
    pub sealed: Vec<(u64, InboxSheet)>,
    pub dropped: Vec<u64>,
}

impl Spill {
    pub fn is_empty(&self) -> bool {
        self.sealed.is_empty() && self.dropped.is_empty()
    }
}

impl InboxHead {
    /// Adds `notification` in order, unless one with its id is in the head
    /// already (`None`); then [`InboxHead::spill`]s.
    pub fn insert(&mut self, notification: Notification) -> Option<Spill> {
        if self.items.iter().any(|n| n.id == notification.id) {
            return None;
        }
        let key = notification.sort_key();
        let at = self
            .items
            .iter()
            .position(|n| n.sort_key() < key)
            .unwrap_or(self.items.len());
        self.items.insert(at, notification);
        Some(self.spill())
    }

    /// Brings the head within [`INBOX_PAGE`]: the oldest notifications go,
    /// [`INBOX_PAGE`] at a time, into new sealed pages (the oldest group
    /// into the lowest number), keeping 1 to [`INBOX_PAGE`] in the head;
    /// then the oldest sealed pages beyond [`SHEETS_KEPT`] are dropped. A
    /// page sealed and dropped by the same call is never written.
    pub fn spill(&mut self) -> Spill {
        let mut spill = Spill::default();
        if self.items.len() <= INBOX_PAGE {
            return spill;
        }
        let groups = (self.items.len() - 1) / INBOX_PAGE;
        let older = self.items.split_off(self.items.len() - groups * INBOX_PAGE);
        for group in older.chunks(INBOX_PAGE).rev() {
            let number = self.next_sheet;
            self.next_sheet += 1;
            self.sheets.push(number);
            spill.sealed.push((
                number,
                InboxSheet {
                    items: group.to_vec(),
                },
            ));
        }
        while self.sheets.len() > SHEETS_KEPT {
            let gone = self.sheets.remove(0);
            match spill.sealed.iter().position(|(n, _)| *n == gone) {
                Some(at) => {
                    spill.sealed.remove(at);
                }
                None => spill.dropped.push(gone),
            }
        }
        spill
    }

    /// Marks notification `id` read if it is in the head; see
    /// [`mark_read`].
    pub fn mark_read(&mut self, id: Uuid, now: DateTime<Utc>) -> Option<(Notification, bool)> {
        mark_read(&mut self.items, id, now)
    }
}

impl InboxSheet {
    /// Marks notification `id` read if it is on this page; see
    /// [`mark_read`].
    pub fn mark_read(&mut self, id: Uuid, now: DateTime<Utc>) -> Option<(Notification, bool)> {
        mark_read(&mut self.items, id, now)
    }
}

/// Marks notification `id` read (idempotent: the first `readAt` stays).
/// Returns it and whether anything changed; `None` if it is not in `items`.
pub fn mark_read(
    items: &mut [Notification],
    id: Uuid,
    now: DateTime<Utc>,
) -> Option<(Notification, bool)> {
    let n = items.iter_mut().find(|n| n.id == id)?;
    let changed = !n.read;
    if changed {
        n.read = true;
        n.read_at = Some(now);
    }
    Some((n.clone(), changed))
}

/// The whole inbox as the API shows it: every notification of the head and
/// its sealed pages, newest first (by `createdAt`, then id).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Inbox {
    pub items: Vec<Notification>,
}

impl Inbox {
    /// Merges the head and the sealed pages read (in any order; a page that
    /// was not found is simply absent).
    pub fn assemble(head: InboxHead, sheets: impl IntoIterator<Item = InboxSheet>) -> Inbox {
        let mut items = head.items;
        for sheet in sheets {
            items.extend(sheet.items);
        }
        items.sort_by_key(|n| std::cmp::Reverse(n.sort_key()));
        items.dedup_by_key(|n| n.id);
        Inbox { items }
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
