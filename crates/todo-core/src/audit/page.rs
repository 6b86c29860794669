//! Paging through a user's audit log, newest first (`GET /api/audit`), and
//! through one task's history, oldest first (`GET /api/audit/tasks/{id}`),
//! with the bounded pages that task history is stored in.
//!
//! # The log
//!
//! A user's entries are numbered 1..=head.seq without gaps and never change,
//! so a page is a range of `seq`s and the cursor only says where the next page
//! starts (the `seq` of its newest entry). Entries appended between two
//! requests therefore never shift or repeat later pages: every entry that
//! existed when the first page was read appears exactly once. Clients treat
//! the cursor as opaque.
//!
//! # A task's history
//!
//! A task's entries (their `seq`s, oldest first) only ever grow at the end,
//! so a position in that list never changes: the history cursor is the
//! position of the next entry to show (0-based, handed out only when ≥ 1),
//! and entries recorded between two requests appear on later pages, never
//! shifting earlier ones. Without `limit` a history page holds
//! [`MAX_LIMIT`] entries (so the few tasks with a longer history are the only
//! ones whose first answer has a `nextCursor`).
//!
//! A task can change any number of times, so the list of its `seq`s is not
//! one document (architecture §5, cost rules: no document grows with a user's
//! history). [`TaskHistory`] (`taskhist/{taskId}`) holds the owner and the
//! newest `seq`s, fewer than [`HISTORY_PAGE_SEQS`]; whenever that tail
//! fills up it is sealed, unchanged, as page `taskhist/{taskId}/{n}`
//! ([`HistoryPage`], written once) and the tail starts again. Position `p`
//! is therefore in sealed page `p / HISTORY_PAGE_SEQS` or, from
//! `pages × HISTORY_PAGE_SEQS` on, in the tail: a history page reads the
//! head, at most two sealed pages and its entries, whatever the task's age.
//!
//! A document of the old layout (`{owner, seqs}` with every `seq` in it) is
//! a head with no sealed pages and a long tail: it reads as it is, and the
//! next append seals its full pages (migration on first write).

use serde::{Deserialize, Serialize};

use crate::problem::Problem;
use crate::task::query::{bad_query, parse_digits, ParamErrors, DEFAULT_LIMIT, MAX_LIMIT};

/// Every query parameter `GET /api/audit` understands.
pub const PARAMETERS: [&str; 2] = ["cursor", "limit"];

/// A parsed `GET /api/audit` query.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PageQuery {
    /// 1..=[`MAX_LIMIT`], default [`DEFAULT_LIMIT`].
    pub limit: usize,
    /// The newest `seq` to return; `None` = start at the newest entry.
    pub cursor: Option<u64>,
}

impl Default for PageQuery {
    fn default() -> PageQuery {
        PageQuery {
            limit: DEFAULT_LIMIT,
            cursor: None,
        }
    }
}

/// The entries one page shows and the cursor of the next one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PagePlan {
    /// `seq`s to show, newest first.
    pub seqs: Vec<u64>,
    /// `None` on the last page.
    pub next_cursor: Option<String>,
}

impl PageQuery {
    /// Parses a raw query string (`limit=20&cursor=…`). Unknown, repeated or
    /// bad parameters → 400 naming each; an empty cursor means the first page.
    pub fn parse(query: &str) -> Result<PageQuery, Problem> {
        PageQuery::parse_with_default(query, DEFAULT_LIMIT)
    }

    /// [`PageQuery::parse`] for a task's history: the same parameters, but
    /// without `limit` a page holds [`MAX_LIMIT`] entries.
    pub fn parse_history(query: &str) -> Result<PageQuery, Problem> {
        PageQuery::parse_with_default(query, MAX_LIMIT)
    }

    fn parse_with_default(query: &str, default_limit: usize) -> Result<PageQuery, Problem> {
        let query = query.strip_prefix('?').unwrap_or(query);
        let mut out = PageQuery {
            limit: default_limit,
            cursor: None,
        };
        let mut errs = ParamErrors::default();
        for (name, value) in form_urlencoded::parse(query.as_bytes()) {
            match &*name {
                "limit" if errs.first("limit") => {
                    match parse_digits(&value).and_then(|n| usize::try_from(n).ok()) {
                        Some(n) if (1..=MAX_LIMIT).contains(&n) => out.limit = n,
                        _ => errs.invalid(
                            "limit",
                            &value,
                            &format!("must be an integer from 1 to {MAX_LIMIT}"),
                        ),
                    }
                }
                "cursor" if errs.first("cursor") && !value.is_empty() => {
                    match parse_digits(&value).filter(|seq| *seq >= 1) {
                        Some(seq) => out.cursor = Some(seq),
                        None => errs.invalid(
                            "cursor",
                            &value,
                            "is not a valid cursor; start again without cursor",
                        ),
                    }
                }
                "limit" | "cursor" => {}
                other => errs.push(
                    crate::task::query::shortened(other),
                    format!(
                        "unknown query parameter; allowed: {}",
                        PARAMETERS.join(", ")
                    ),
                ),
            }
        }
        if errs.errors.is_empty() {
            Ok(out)
        } else {
            Err(bad_query(errs.errors))
        }
    }

    /// The page of a log whose newest entry is `head_seq`. A cursor beyond
    /// the head (never handed out) starts at the head.
    pub fn plan(&self, head_seq: u64) -> PagePlan {
        let top = self.cursor.map_or(head_seq, |c| c.min(head_seq));
        let limit = u64::try_from(self.limit).unwrap_or(u64::MAX);
        let bottom = top.saturating_sub(limit) + 1;
        let seqs: Vec<u64> = (bottom..=top).rev().collect();
        let next_cursor = (bottom > 1 && !seqs.is_empty()).then(|| (bottom - 1).to_string());
        PagePlan { seqs, next_cursor }
    }
}

/// `seq`s per sealed page of a task's history, and the most its head's tail
/// holds after a write. At most 20 digits and a comma each, so a page or a
/// head is at most ~5.3 KiB plus the owner's id: far below the 64 KiB
/// document bound, small to rewrite on every append, and large enough that
/// a history page ([`MAX_LIMIT`] entries) spans at most two sealed pages.
pub const HISTORY_PAGE_SEQS: usize = 256;

const _: () = assert!(MAX_LIMIT <= HISTORY_PAGE_SEQS);

/// `taskhist/{taskId}`: whose task it is, how many pages of its history are
/// sealed, and the newest `seq`s (see the module documentation).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TaskHistory {
    pub owner: String,
    /// Sealed pages `taskhist/{taskId}/0` … `/{pages - 1}`, each holding
    /// exactly [`HISTORY_PAGE_SEQS`] `seq`s.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub pages: u64,
    /// The `seq`s after the sealed pages, oldest first: fewer than
    /// [`HISTORY_PAGE_SEQS`] after any write (a document of the old layout
    /// holds the whole history here until its next append).
    #[serde(default)]
    pub seqs: Vec<u64>,
}

/// `taskhist/{taskId}/{n}`: positions `n × HISTORY_PAGE_SEQS` onwards of a
/// task's history, written once and never changed.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct HistoryPage {
    pub seqs: Vec<u64>,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

fn page_len() -> u64 {
    HISTORY_PAGE_SEQS as u64
}

impl TaskHistory {
    /// How many entries the task has.
    pub fn len(&self) -> u64 {
        self.pages * page_len() + self.seqs.len() as u64
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Appends `seq`, and returns the pages to write with the head (insert
    /// only), numbered: none usually; one when the tail fills up; several
    /// when the head was of the old layout.
    pub fn push(&mut self, seq: u64) -> Vec<(u64, HistoryPage)> {
        self.seqs.push(seq);
        let full = self.seqs.len() / HISTORY_PAGE_SEQS;
        if full == 0 {
            return Vec::new();
        }
        let rest = self.seqs.split_off(full * HISTORY_PAGE_SEQS);
        let sealed: Vec<(u64, HistoryPage)> = std::mem::replace(&mut self.seqs, rest)
            .chunks(HISTORY_PAGE_SEQS)
            .enumerate()
            .map(|(i, chunk)| {
                (
                    self.pages + i as u64,
                    HistoryPage {
                        seqs: chunk.to_vec(),
                    },
                )
            })
            .collect();
        self.pages += sealed.len() as u64;
        sealed
    }

    /// The page of this history that `query` asks for: its positions, the
    /// sealed pages to read for them, and the next cursor.
    pub fn plan(&self, query: &PageQuery) -> HistoryPlan {
        let len = self.len();
        let from = query.cursor.unwrap_or(0).min(len);
        let limit = u64::try_from(query.limit).unwrap_or(u64::MAX);
        let to = from.saturating_add(limit).min(len);
        let sealed_end = (self.pages * page_len()).min(to);
        let pages = if from < sealed_end {
            (from / page_len()..=(sealed_end - 1) / page_len()).collect()
        } else {
            Vec::new()
        };
        HistoryPlan {
            from,
            to,
            pages,
            next_cursor: (to < len).then(|| to.to_string()),
        }
    }
}

/// What one history page reads and shows (from [`TaskHistory::plan`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HistoryPlan {
    /// Positions `from..to` of the history, oldest first.
    pub from: u64,
    pub to: u64,
    /// The sealed pages holding some of them, ascending.
    pub pages: Vec<u64>,
    /// `None` on the last page.
    pub next_cursor: Option<String>,
}

impl HistoryPlan {
    /// The `seq`s at positions `from..to`, given `history` and the sealed
    /// pages read (`found[i]` is page `self.pages[i]`, `None` if missing). A
    /// position whose page is missing or short is left out.
    pub fn seqs(&self, history: &TaskHistory, found: &[Option<HistoryPage>]) -> Vec<u64> {
        let sealed_len = history.pages * page_len();
        (self.from..self.to)
            .filter_map(|pos| {
                if pos >= sealed_len {
                    let at = usize::try_from(pos - sealed_len).ok()?;
                    return history.seqs.get(at).copied();
                }
                let page = pos / page_len();
                let index = self.pages.iter().position(|p| *p == page)?;
                let at = usize::try_from(pos % page_len()).ok()?;
                found.get(index)?.as_ref()?.seqs.get(at).copied()
            })
            .collect()
    }
}
