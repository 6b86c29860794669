//! [`list`]: one page of the user's tasks — filter, skip to the cursor's
//! position, select and sort the page, and the next page's cursor.

use std::cmp::Ordering;

use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::cursor::{decode_cursor, encode_cursor, fingerprint};
use super::filter::Filter;
use super::list_query::{ListQuery, MAX_LIMIT};
use super::sort::{cmp_position, cmp_tasks, key_of};
use super::summary::TaskSummary;
use crate::problem::Problem;

/// One page: ids in order (the caller fetches the full tasks), the cursor of
/// the next page, and how many tasks match in total.
#[derive(Debug, Clone, PartialEq)]
pub struct Page {
    pub ids: Vec<Uuid>,
    pub next_cursor: Option<String>,
    pub total: usize,
}

/// Filters, sorts and pages `tasks`. A cursor that does not belong to this
/// query (other filters or sort) or is garbled → 400.
pub fn list(tasks: &[TaskSummary], query: &ListQuery, now: DateTime<Utc>) -> Result<Page, Problem> {
    let fp = fingerprint(query);
    let sort = query.sort;
    let after = match query.cursor.as_deref() {
        Some(cursor) if !cursor.is_empty() => Some(decode_cursor(cursor, fp, sort.key)?),
        _ => None,
    };
    let after_position = after.as_ref().map(|a| (a.key.as_key(), a.id));

    let filter = Filter::new(query, now);
    let mut total = 0;
    let mut rest: Vec<&TaskSummary> = Vec::new();
    for task in tasks.iter().filter(|t| filter.matches(t)) {
        total += 1;
        let is_after = after_position.is_none_or(|position| {
            cmp_position((key_of(task, sort.key), task.id), position, sort.descending)
                == Ordering::Greater
        });
        if is_after {
            rest.push(task);
        }
    }

    let limit = query.limit.clamp(1, MAX_LIMIT);
    let cmp = |a: &&TaskSummary, b: &&TaskSummary| cmp_tasks(a, b, sort);
    let more = rest.len() > limit;
    if more {
        // Only the page needs a full sort: O(n + limit·log limit).
        rest.select_nth_unstable_by(limit, cmp);
        rest.truncate(limit);
    }
    // The order is total (ids are unique), so an unstable sort is deterministic.
    rest.sort_unstable_by(cmp);

    let next_cursor = match rest.last() {
        Some(last) if more => Some(encode_cursor(fp, sort.key, last)),
        _ => None,
    };
    Ok(Page {
        ids: rest.iter().map(|t| t.id).collect(),
        next_cursor,
        total,
    })
}
