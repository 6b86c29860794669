//! Recurring tasks: RFC 5545 RRULEs evaluated with the `rrule` crate in the
//! task's own timezone (so 09:00 stays 09:00 across DST), COUNT and UNTIL
//! honoured, next occurrence from the due date or the completion time.
//!
//! [`validate_rrule`] does not touch the `rrule` crate: it runs the
//! hand-written checker in [`crate::rrule_syntax`], so a component that only
//! validates rules does not link the crate's regex and timezone tables (see
//! that module for why, and for how agreement with the crate is tested).
//!
//! # Rule syntax
//!
//! A rule is the value of an RFC 5545 `RRULE` property, e.g.
//! `FREQ=WEEKLY;BYDAY=MO,WE`. A leading `RRULE:` is accepted and ignored. Names
//! and values are case-insensitive, empty parts (`FREQ=DAILY;`) are ignored.
//! Rejected: a missing `FREQ`, `FREQ=SECONDLY`/`MINUTELY`, `DTSTART` (the task's
//! `dueAt` is the start), other properties (`EXDATE`, `RDATE`, several lines),
//! `COUNT` together with `UNTIL` (RFC 5545 §3.3.10), `COUNT`/`INTERVAL` < 1,
//! `BYSETPOS` without another `BYxxx` part, unknown or duplicate parts, and
//! rules longer than [`RRULE_MAX_LEN`]. Each `BYxxx` value must be in range and
//! fit the frequency as RFC 5545 §3.3.10 says (`BYMONTHDAY` not with `WEEKLY`,
//! `BYWEEKNO` only with `YEARLY`, a numbered `BYDAY` such as `-1FR` only with
//! `MONTHLY` or `YEARLY`, …); [`crate::rrule_syntax`] lists the details.
//!
//! `UNTIL` may be written three ways; it is an *inclusive* bound:
//! - a UTC date-time `20261231T235959Z` (what RFC 5545 requires for a zoned start),
//! - a date `20261231`: through the end of that day in the task's timezone,
//! - a floating date-time `20261231T090000`: that wall time in the task's timezone.
//!
//! The `rrule` crate would read the last two in the *machine's* local zone, so
//! `COUNT` and `UNTIL` are never handed to it: this module strips them, lets the
//! crate generate the unbounded series, and applies both bounds itself.
//!
//! # How the next occurrence is found
//!
//! Each task carries only its own `dueAt`, not the series' first date, so the
//! rule is re-evaluated with `DTSTART` = the current occurrence:
//!
//! - `from: due`: `DTSTART` = the task's `dueAt` seen in its timezone; the next
//!   due date is the first instance strictly after `dueAt`. Instances are
//!   generated in local wall time, so a weekly 09:00 Europe/Berlin task stays at
//!   09:00 local across DST (the UTC instant moves by an hour).
//! - `from: completion`: `DTSTART` = the *local date of completion* at the local
//!   time-of-day of `dueAt` (at the completion's time-of-day, truncated to the
//!   minute, when the task has no `dueAt`). The next due date is the first
//!   instance strictly after both that anchor and `completedAt`: the anchor
//!   itself is never the next occurrence, so `FREQ=DAILY;INTERVAL=3` completed at
//!   08:00 is due again three days later at the due time, not at 09:00 the same day.
//! - `COUNT` counts occurrences of the whole series, the first task being
//!   occurrence 1; `recurrence.occurrence` is this task's position, so a next
//!   occurrence exists only if `occurrence + 1 <= COUNT`.
//! - `UNTIL`: the next due date must be `<= UNTIL`.
//!
//! Calendar corner cases follow RFC 5545 (and the `rrule` crate): a monthly
//! rule started on the 31st skips months without a 31st (Jan 31 → Mar 31; use
//! `BYMONTHDAY=-1` for "last day of the month"), a yearly rule started on
//! Feb 29 recurs on the next Feb 29 (four years later).
//!
//! # DST gaps and overlaps
//!
//! A wall time that does not exist (02:30 on the day clocks spring forward in
//! Europe/Berlin) is read with the UTC offset in effect before the gap
//! (RFC 5545 §3.3.5), i.e. it becomes 03:30 CEST. Because the following
//! occurrence is computed from that `dueAt`, a series without `BYHOUR` then
//! continues at 03:30; pin the wall time with `BYHOUR=2;BYMINUTE=30` to return
//! to 02:30 the next day. A wall time that occurs twice (fall back) is the
//! first of the two.

use std::str::FromStr;

use chrono::{
    DateTime, Duration, LocalResult, NaiveDateTime, NaiveTime, SecondsFormat, TimeZone, Timelike,
    Utc,
};
use rrule::{Frequency, RRule, RRuleSet, Unvalidated};

use crate::rrule_syntax::{self, Recur, Until};
use crate::task::{RecurrenceFrom, Task};
use crate::validate::{RecurrenceInput, ReminderInput, TaskInput};

pub use crate::rrule_syntax::RRULE_MAX_LEN;

/// Most dates `preview` returns.
pub const PREVIEW_MAX: usize = 50;

/// Checks an RRULE (the part after `RRULE:`; a leading `RRULE:` is accepted):
/// RFC 5545 syntax, FREQ present, FREQ=SECONDLY/MINUTELY rejected, no DTSTART,
/// not both COUNT and UNTIL. The message says what is wrong.
///
/// Uses only [`rrule_syntax::parse`], never the `rrule` crate.
pub fn validate_rrule(rrule: &str) -> Result<(), String> {
    rrule_syntax::parse(rrule).map(|_| ())
}

/// The due date of the occurrence after `task` (which is completed), or `None`
/// when the series has ended (COUNT reached, past UNTIL) or the task has no
/// recurrence. See the module documentation for how it is computed.
pub fn next_due(task: &Task) -> Result<Option<DateTime<Utc>>, String> {
    let Some(recurrence) = &task.recurrence else {
        return Ok(None);
    };
    let rule = ParsedRule::parse(&recurrence.rrule)?;
    let tz = parse_timezone(&task.timezone)?;

    if let Some(count) = rule.count {
        if u64::from(recurrence.occurrence) + 1 > u64::from(count) {
            return Ok(None);
        }
    }

    let (dtstart, after) = match recurrence.from {
        RecurrenceFrom::Due => {
            let due = task
                .due_at
                .ok_or("a task that recurs from its due date needs a dueAt")?;
            let due = truncate_to_second(due);
            (due.with_timezone(&tz), due)
        }
        RecurrenceFrom::Completion => {
            let done = task
                .completed_at
                .ok_or("a task that recurs from its completion must be completed")?;
            let done_local = done.with_timezone(&tz);
            let time = match task.due_at {
                Some(due) => due.with_timezone(&tz).time().with_nanosecond(0),
                None => done_local
                    .time()
                    .with_second(0)
                    .and_then(|t| t.with_nanosecond(0)),
            }
            .unwrap_or(NaiveTime::MIN);
            let anchor = resolve_local(tz, done_local.date_naive().and_time(time), false);
            let after = anchor.with_timezone(&Utc).max(done);
            (anchor, after)
        }
    };

    let until = rule.until.map(|u| resolve_until(u, tz));
    let next = rule
        .instances(dtstart)?
        .find(|instance| *instance > after)
        .filter(|next| until.is_none_or(|until| *next <= until));
    Ok(next)
}

/// The body that creates the next occurrence of `task`: same title,
/// description, priority, tags, timezone and reminder, the next due date, and
/// the recurrence with `occurrence + 1`. `None` when the series has ended.
pub fn next_task_input(task: &Task) -> Result<Option<TaskInput>, String> {
    let Some(recurrence) = &task.recurrence else {
        return Ok(None);
    };
    let Some(due) = next_due(task)? else {
        return Ok(None);
    };
    let occurrence = recurrence
        .occurrence
        .checked_add(1)
        .ok_or("the series has too many occurrences")?;
    Ok(Some(TaskInput {
        title: Some(task.title.clone()),
        description: Some(task.description.clone()),
        priority: Some(task.priority),
        tags: Some(task.tags.clone()),
        due_at: Some(due.to_rfc3339_opts(SecondsFormat::AutoSi, true)),
        timezone: Some(task.timezone.clone()),
        reminder: task.reminder.as_ref().map(|r| ReminderInput {
            before: Some(r.before.clone()),
            channels: Some(r.channels.clone()),
        }),
        recurrence: Some(RecurrenceInput {
            rrule: Some(recurrence.rrule.clone()),
            from: Some(recurrence.from),
            series_id: Some(recurrence.series_id),
            occurrence: Some(occurrence),
        }),
    }))
}

/// The next `count` (1..=[`PREVIEW_MAX`]) occurrences of `rrule` starting at
/// `dtstart` (included if it matches the rule), evaluated in `timezone`.
/// `COUNT` is counted from `dtstart` and `UNTIL` is honoured, so fewer dates
/// may come back; a rule that can never match returns none.
pub fn preview(
    rrule: &str,
    dtstart: DateTime<Utc>,
    timezone: &str,
    count: usize,
) -> Result<Vec<DateTime<Utc>>, String> {
    if !(1..=PREVIEW_MAX).contains(&count) {
        return Err(format!("count must be between 1 and {PREVIEW_MAX}"));
    }
    let rule = ParsedRule::parse(rrule)?;
    let tz = parse_timezone(timezone)?;
    let start = truncate_to_second(dtstart);
    let until = rule.until.map(|u| resolve_until(u, tz));
    let limit = rule.count.map_or(count, |c| {
        count.min(usize::try_from(c).unwrap_or(usize::MAX))
    });
    Ok(rule
        .instances(start.with_timezone(&tz))?
        .skip_while(|instance| *instance < start)
        .take_while(|instance| until.is_none_or(|until| *instance <= until))
        .take(limit)
        .collect())
}

/// A checked rule: the bounds this module applies itself, and the rest for the
/// `rrule` crate.
#[derive(Debug, Clone)]
struct ParsedRule {
    count: Option<u32>,
    until: Option<Until>,
    /// The rule without COUNT and UNTIL.
    rule: RRule<Unvalidated>,
}

/// The last instant (inclusive) a series bounded by `until` may reach, for a
/// task in `tz`.
fn resolve_until(until: Until, tz: chrono_tz::Tz) -> DateTime<Utc> {
    match until {
        Until::Utc(at) => at,
        Until::Floating(local) => resolve_local(tz, local, true).with_timezone(&Utc),
        Until::Date(day) => match day.succ_opt() {
            Some(next_day) => {
                resolve_local(tz, next_day.and_time(NaiveTime::MIN), false).with_timezone(&Utc)
                    - Duration::nanoseconds(1)
            }
            None => DateTime::<Utc>::MAX_UTC,
        },
    }
}

impl ParsedRule {
    /// Checks `input` with [`rrule_syntax::parse`] and hands the canonical
    /// rule without COUNT and UNTIL to the `rrule` crate.
    fn parse(input: &str) -> Result<ParsedRule, String> {
        let recur = rrule_syntax::parse(input)?;
        let (count, until) = (recur.count, recur.until);
        let unbounded = Recur {
            count: None,
            until: None,
            ..recur
        };
        let rule = RRule::<Unvalidated>::from_str(&unbounded.to_string())
            .map_err(|e| format!("invalid rule: {e}"))?;
        // `rrule_syntax` already enforced the crate's checks, none of which
        // depend on the start; validating once more keeps any disagreement an
        // error here rather than a surprise while iterating.
        let probe = rrule::Tz::UTC
            .with_ymd_and_hms(2026, 1, 1, 0, 0, 0)
            .unwrap();
        rule.clone()
            .validate(probe)
            .map_err(|e| format!("invalid rule: {e}"))?;
        debug_assert!(rule.get_freq() < Frequency::Minutely);

        Ok(ParsedRule { count, until, rule })
    }

    /// The unbounded series (no COUNT, no UNTIL) from `dtstart`, ascending, as
    /// UTC instants. Iteration is bounded by the crate's loop limits, so a rule
    /// that can never match (e.g. Feb 30) ends instead of spinning.
    fn instances(
        &self,
        dtstart: DateTime<chrono_tz::Tz>,
    ) -> Result<impl Iterator<Item = DateTime<Utc>>, String> {
        let dtstart = dtstart.with_timezone(&rrule::Tz::Tz(dtstart.timezone()));
        let rule = self
            .rule
            .clone()
            .validate(dtstart)
            .map_err(|e| format!("invalid rule: {e}"))?;
        Ok(RRuleSet::new(dtstart)
            .rrule(rule)
            .limit()
            .into_iter()
            .map(|dt| dt.with_timezone(&Utc)))
    }
}

fn parse_timezone(name: &str) -> Result<chrono_tz::Tz, String> {
    chrono_tz::Tz::from_str(name).map_err(|_| format!("`{name}` is not an IANA timezone"))
}

fn truncate_to_second(at: DateTime<Utc>) -> DateTime<Utc> {
    at.with_nanosecond(0).unwrap_or(at)
}

/// A local wall time in `tz` as an instant. A time that occurs twice takes the
/// first (or, with `latest`, the second); a time inside a gap is read with the
/// UTC offset in effect before the gap (RFC 5545 §3.3.5), e.g. 02:30 on the
/// Europe/Berlin spring-forward day is 01:30Z = 03:30 CEST.
fn resolve_local(tz: chrono_tz::Tz, local: NaiveDateTime, latest: bool) -> DateTime<chrono_tz::Tz> {
    match tz.from_local_datetime(&local) {
        LocalResult::Single(at) => at,
        LocalResult::Ambiguous(first, second) => {
            if latest {
                second
            } else {
                first
            }
        }
        LocalResult::None => {
            // The offset a day earlier is the one before the gap (no zone has
            // two transitions within a day).
            let before = tz.offset_from_utc_datetime(&(local - Duration::days(1)));
            let offset = chrono::Offset::fix(&before);
            let utc = local - Duration::seconds(i64::from(offset.local_minus_utc()));
            tz.from_utc_datetime(&utc)
        }
    }
}
