//! The order of a list: the `sort` parameter ([`Sort`], [`SortKey`]) and how
//! two tasks, or a task and a cursor's position, compare under it (ties
//! broken by id, so the order is total).

use std::cmp::Ordering;

use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::summary::TaskSummary;
use crate::task::Priority;

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

pub(super) const SORT_VALUES: &str = "dueAt, -dueAt, priority, -priority, title, -title, \
                           createdAt, -createdAt, updatedAt, -updatedAt";

impl SortKey {
    pub const ALL: [SortKey; 5] = [
        SortKey::DueAt,
        SortKey::Priority,
        SortKey::Title,
        SortKey::CreatedAt,
        SortKey::UpdatedAt,
    ];

    /// The parameter spelling (`dueAt`, `priority`, …).
    pub fn as_str(self) -> &'static str {
        match self {
            SortKey::DueAt => "dueAt",
            SortKey::Priority => "priority",
            SortKey::Title => "title",
            SortKey::CreatedAt => "createdAt",
            SortKey::UpdatedAt => "updatedAt",
        }
    }
}

impl Sort {
    /// `-createdAt`: newest first.
    pub const DEFAULT: Sort = Sort {
        key: SortKey::CreatedAt,
        descending: true,
    };

    /// Parses `dueAt`, `-dueAt`, … (exact spelling).
    pub fn parse(value: &str) -> Option<Sort> {
        let (descending, name) = match value.strip_prefix('-') {
            Some(rest) => (true, rest),
            None => (false, value),
        };
        SortKey::ALL
            .into_iter()
            .find(|key| key.as_str() == name)
            .map(|key| Sort { key, descending })
    }
}

impl Default for Sort {
    fn default() -> Sort {
        Sort::DEFAULT
    }
}

impl std::fmt::Display for Sort {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.descending {
            f.write_str("-")?;
        }
        f.write_str(self.key.as_str())
    }
}

/// The sort-relevant value of one task, borrowed (or decoded from a cursor).
#[derive(Debug, Clone, Copy)]
pub(super) enum Key<'a> {
    Due(Option<DateTime<Utc>>),
    Priority(Priority),
    Title(&'a str),
    Time(DateTime<Utc>),
}

pub(super) fn key_of(t: &TaskSummary, key: SortKey) -> Key<'_> {
    match key {
        SortKey::DueAt => Key::Due(t.due_at),
        SortKey::Priority => Key::Priority(t.priority),
        SortKey::Title => Key::Title(&t.title),
        SortKey::CreatedAt => Key::Time(t.created_at),
        SortKey::UpdatedAt => Key::Time(t.updated_at),
    }
}

/// Case-insensitive (per-character lowercase mapping), then exact.
pub(super) fn cmp_text(a: &str, b: &str) -> Ordering {
    let folded = if a.is_ascii() && b.is_ascii() {
        a.bytes()
            .map(|c| c.to_ascii_lowercase())
            .cmp(b.bytes().map(|c| c.to_ascii_lowercase()))
    } else {
        a.chars()
            .flat_map(char::to_lowercase)
            .cmp(b.chars().flat_map(char::to_lowercase))
    };
    folded.then_with(|| a.cmp(b))
}

/// Orders two positions `(key, id)`: the key in the sort direction (a missing
/// `dueAt` last either way), then id ascending.
pub(super) fn cmp_position(a: (Key<'_>, Uuid), b: (Key<'_>, Uuid), descending: bool) -> Ordering {
    let directed = |o: Ordering| if descending { o.reverse() } else { o };
    let primary = match (a.0, b.0) {
        (Key::Due(x), Key::Due(y)) => match (x, y) {
            (Some(x), Some(y)) => directed(x.cmp(&y)),
            (Some(_), None) => Ordering::Less,
            (None, Some(_)) => Ordering::Greater,
            (None, None) => Ordering::Equal,
        },
        (Key::Priority(x), Key::Priority(y)) => directed(x.cmp(&y)),
        (Key::Title(x), Key::Title(y)) => directed(cmp_text(x, y)),
        (Key::Time(x), Key::Time(y)) => directed(x.cmp(&y)),
        // Keys of one list are always of one kind; keep the order total anyway.
        (x, y) => key_rank(x).cmp(&key_rank(y)),
    };
    primary.then_with(|| a.1.cmp(&b.1))
}

fn key_rank(key: Key<'_>) -> u8 {
    match key {
        Key::Due(_) => 0,
        Key::Priority(_) => 1,
        Key::Title(_) => 2,
        Key::Time(_) => 3,
    }
}

pub(super) fn cmp_tasks(a: &TaskSummary, b: &TaskSummary, sort: Sort) -> Ordering {
    cmp_position(
        (key_of(a, sort.key), a.id),
        (key_of(b, sort.key), b.id),
        sort.descending,
    )
}
