//! The filters of a list (`status`, `priority`, `tag`, `q`, `dueBefore`,
//! `dueAfter`, `overdue`), prepared once per request and applied per task.

use chrono::{DateTime, Utc};

use super::list_query::ListQuery;
use super::summary::TaskSummary;
use crate::task::{Priority, Status};

/// The query's filters, prepared once per request.
pub(super) struct Filter<'q> {
    status: Option<Status>,
    /// Bit per [`Priority`]; 0 = any.
    priorities: u8,
    tags: &'q [String],
    words: &'q [String],
    due_before: Option<DateTime<Utc>>,
    due_after: Option<DateTime<Utc>>,
    /// `Some(now)` when only overdue tasks are wanted.
    overdue_at: Option<DateTime<Utc>>,
}

pub(super) fn priority_bit(p: Priority) -> u8 {
    1 << (p as u8)
}

impl<'q> Filter<'q> {
    pub(super) fn new(query: &'q ListQuery, now: DateTime<Utc>) -> Filter<'q> {
        Filter {
            status: query.status,
            priorities: query.priorities.iter().fold(0, |m, &p| m | priority_bit(p)),
            tags: &query.tags,
            words: &query.words,
            due_before: query.due_before,
            due_after: query.due_after,
            overdue_at: query.overdue.then_some(now),
        }
    }

    /// Cheap checks first, text search last.
    pub(super) fn matches(&self, t: &TaskSummary) -> bool {
        if self.status.is_some_and(|s| s != t.status) {
            return false;
        }
        if self.priorities != 0 && self.priorities & priority_bit(t.priority) == 0 {
            return false;
        }
        // dueBefore (exclusive), dueAfter (inclusive) and overdue all need a dueAt.
        let due_ok = match t.due_at {
            Some(due) => {
                self.due_before.is_none_or(|before| due < before)
                    && self.due_after.is_none_or(|after| due >= after)
                    && self
                        .overdue_at
                        .is_none_or(|now| t.status == Status::Open && due < now)
            }
            None => {
                self.due_before.is_none() && self.due_after.is_none() && self.overdue_at.is_none()
            }
        };
        if !due_ok {
            return false;
        }
        if !self.tags.iter().all(|tag| t.tags.contains(tag)) {
            return false;
        }
        if !self.words.is_empty() {
            let title = Haystack::new(&t.title);
            let description = Haystack::new(&t.description);
            return self
                .words
                .iter()
                .all(|w| title.contains(w) || description.contains(w));
        }
        true
    }
}

/// Text searched case-insensitively: ASCII text is searched in place, other
/// text is lowercased once (same result as `to_lowercase().contains(word)`).
enum Haystack<'a> {
    Ascii(&'a [u8]),
    Folded(String),
}

impl<'a> Haystack<'a> {
    fn new(text: &'a str) -> Haystack<'a> {
        if text.is_ascii() {
            Haystack::Ascii(text.as_bytes())
        } else {
            Haystack::Folded(text.to_lowercase())
        }
    }

    /// `word` is already lowercase.
    fn contains(&self, word: &str) -> bool {
        match self {
            Haystack::Folded(text) => text.contains(word),
            Haystack::Ascii(text) => {
                let word = word.as_bytes();
                // A non-ASCII word cannot occur in ASCII text.
                word.is_ascii()
                    && (word.is_empty()
                        || text
                            .windows(word.len())
                            .any(|w| w.eq_ignore_ascii_case(word)))
            }
        }
    }
}
