//! Paging through a user's audit log, newest first (`GET /api/audit`).
//!
//! A user's entries are numbered 1..=head.seq without gaps and never change,
//! so a page is a range of `seq`s and the cursor only says where the next page
//! starts (the `seq` of its newest entry). Entries appended between two
//! requests therefore never shift or repeat later pages: every entry that
//! existed when the first page was read appears exactly once. Clients treat
//! the cursor as opaque.

use crate::problem::Problem;
use crate::query::{bad_query, parse_digits, ParamErrors, DEFAULT_LIMIT, MAX_LIMIT};

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
        let query = query.strip_prefix('?').unwrap_or(query);
        let mut out = PageQuery::default();
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
                    crate::query::shortened(other),
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
