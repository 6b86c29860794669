//! [`ListQuery`]: the parameters of `GET /api/tasks`, their defaults and
//! bounds, and how a raw query string is read into them.

use chrono::{DateTime, Utc};

use super::param::{bad_query, parse_digits, parse_query_timestamp, shortened, ParamErrors};
use super::sort::{Sort, SORT_VALUES};
use crate::problem::Problem;
use crate::task::{Priority, Status};

pub const DEFAULT_LIMIT: usize = 50;
pub const MAX_LIMIT: usize = 200;

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

/// Every query parameter `GET /api/tasks` understands.
const PARAMETERS: [&str; 10] = [
    "status",
    "priority",
    "tag",
    "q",
    "dueBefore",
    "dueAfter",
    "overdue",
    "sort",
    "limit",
    "cursor",
];

impl Default for ListQuery {
    /// No filters, default sort, default limit, first page.
    fn default() -> ListQuery {
        ListQuery {
            status: None,
            priorities: Vec::new(),
            tags: Vec::new(),
            words: Vec::new(),
            due_before: None,
            due_after: None,
            overdue: false,
            sort: Sort::DEFAULT,
            limit: DEFAULT_LIMIT,
            cursor: None,
        }
    }
}

impl ListQuery {
    /// Parses a raw query string (`status=open&tag=a&tag=b&sort=-dueAt`).
    /// Unknown parameters and bad values → 400 naming the parameter.
    pub fn parse(query: &str) -> Result<ListQuery, Problem> {
        let query = query.strip_prefix('?').unwrap_or(query);
        let mut out = ListQuery::default();
        let mut errs = ParamErrors::default();
        let mut q_text: Option<String> = None;

        for (name, value) in form_urlencoded::parse(query.as_bytes()) {
            let value: &str = &value;
            match &*name {
                "status" => {
                    if errs.first("status") {
                        match Status::parse(value) {
                            Some(s) => out.status = Some(s),
                            None => {
                                errs.invalid("status", value, "must be one of: open, completed")
                            }
                        }
                    }
                }
                "priority" => {
                    for item in value.split(',').map(str::trim) {
                        match Priority::parse(item) {
                            Some(p) => out.priorities.push(p),
                            None => errs.invalid(
                                "priority",
                                item,
                                "must be a comma-separated list of: low, medium, high, urgent",
                            ),
                        }
                    }
                }
                "tag" => {
                    if value.trim().is_empty() {
                        errs.push("tag", "must not be empty".to_string());
                    } else {
                        out.tags.push(value.to_string());
                    }
                }
                "q" => {
                    if errs.first("q") {
                        q_text = Some(value.to_string());
                    }
                }
                "dueBefore" | "dueAfter" => {
                    let (field, slot) = if &*name == "dueBefore" {
                        ("dueBefore", &mut out.due_before)
                    } else {
                        ("dueAfter", &mut out.due_after)
                    };
                    if errs.first(field) {
                        match parse_query_timestamp(value) {
                            Ok(t) => *slot = Some(t),
                            Err(()) => errs.invalid(
                                field,
                                value,
                                "must be an RFC 3339 timestamp such as 2026-12-01T09:00:00Z",
                            ),
                        }
                    }
                }
                "overdue" => {
                    if errs.first("overdue") {
                        match value {
                            "true" => out.overdue = true,
                            "false" => out.overdue = false,
                            _ => errs.invalid("overdue", value, "must be one of: true, false"),
                        }
                    }
                }
                "sort" => {
                    if errs.first("sort") {
                        match Sort::parse(value) {
                            Some(s) => out.sort = s,
                            None => errs.invalid(
                                "sort",
                                value,
                                &format!("must be one of: {SORT_VALUES}"),
                            ),
                        }
                    }
                }
                "limit" => {
                    if errs.first("limit") {
                        let parsed = parse_digits(value).and_then(|n| usize::try_from(n).ok());
                        match parsed {
                            Some(n) if (1..=MAX_LIMIT).contains(&n) => out.limit = n,
                            _ => errs.invalid(
                                "limit",
                                value,
                                &format!("must be an integer from 1 to {MAX_LIMIT}"),
                            ),
                        }
                    }
                }
                "cursor" => {
                    // An empty cursor means the first page.
                    if errs.first("cursor") && !value.is_empty() {
                        out.cursor = Some(value.to_string());
                    }
                }
                other => errs.push(
                    shortened(other),
                    format!(
                        "unknown query parameter; allowed: {}",
                        PARAMETERS.join(", ")
                    ),
                ),
            }
        }

        if !errs.errors.is_empty() {
            return Err(bad_query(errs.errors));
        }
        if let Some(text) = q_text {
            out.words = text
                .to_lowercase()
                .split_whitespace()
                .map(str::to_string)
                .collect();
        }
        out.priorities.sort_unstable();
        out.priorities.dedup();
        out.tags.sort_unstable();
        out.tags.dedup();
        out.words.sort_unstable();
        out.words.dedup();
        Ok(out)
    }
}
