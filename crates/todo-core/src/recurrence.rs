//! Recurring tasks: RFC 5545 RRULEs evaluated with the `rrule` crate in the
//! task's own timezone (so 09:00 stays 09:00 across DST), COUNT and UNTIL
//! honoured, next occurrence from the due date or the completion time.

use chrono::{DateTime, Utc};

use crate::task::Task;
use crate::validate::TaskInput;

/// Most dates `preview` returns.
pub const PREVIEW_MAX: usize = 50;

/// Checks an RRULE (the part after `RRULE:`): RFC 5545 syntax, FREQ present,
/// FREQ=SECONDLY/MINUTELY rejected. The message says what is wrong.
pub fn validate_rrule(rrule: &str) -> Result<(), String> {
    let _ = rrule;
    todo!()
}

/// The due date of the occurrence after `task` (which is completed), or `None`
/// when the series has ended (COUNT reached, past UNTIL) or the task has no
/// recurrence.
pub fn next_due(task: &Task) -> Result<Option<DateTime<Utc>>, String> {
    let _ = task;
    todo!()
}

/// The body that creates the next occurrence of `task`: same title,
/// description, priority, tags, timezone and reminder, the next due date, and
/// the recurrence with `occurrence + 1`. `None` when the series has ended.
pub fn next_task_input(task: &Task) -> Result<Option<TaskInput>, String> {
    let _ = task;
    todo!()
}

/// The next `count` (≤ [`PREVIEW_MAX`]) occurrences of `rrule` starting at
/// `dtstart` (included if it matches), evaluated in `timezone`.
pub fn preview(
    rrule: &str,
    dtstart: DateTime<Utc>,
    timezone: &str,
    count: usize,
) -> Result<Vec<DateTime<Utc>>, String> {
    let _ = (rrule, dtstart, timezone, count);
    todo!()
}
