//! Recurring tasks: RFC 5545 RRULEs evaluated in the task's own timezone (so
//! 09:00 stays 09:00 across DST), COUNT and UNTIL honoured, next occurrence
//! from the due date or the completion time.
//!
//! No crate is involved: rules are checked by [`syntax`], expanded by
//! `expand.rs` (why not the `rrule` crate: see there) and placed in the zone
//! by `zone.rs`. The module's files, each with one job:
//!
//! - `mod.rs`: the public API, the series' anchor, COUNT and UNTIL;
//! - `syntax/` ([`syntax`]): the RFC 5545 RRULE parser and validator (the
//!   rule model, the parser, part values, FREQ/BYxxx combinations);
//! - `expand.rs`: a rule → its wall times, period by period (§3.3.10);
//! - `calendar.rs`: which days of a period the rule's day parts keep;
//! - `placed.rs`: wall times → ascending instants in a zone (gaps, folds);
//! - `zone.rs`: the IANA zones (jiff over its embedded tz database);
//! - `query.rs` ([`query`]): the query of `GET /api/recurrence/preview`.
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
//! `MONTHLY` or `YEARLY`, …); [`syntax`] lists the details.
//!
//! `UNTIL` may be written three ways; it is an *inclusive* bound:
//! - a UTC date-time `20261231T235959Z` (what RFC 5545 requires for a zoned start),
//! - a date `20261231`: through the end of that day in the task's timezone,
//! - a floating date-time `20261231T090000`: that wall time in the task's timezone.
//!
//! `COUNT` and `UNTIL` are applied here, to the unbounded series the expander
//! generates (the `rrule` crate, which this module used before, read the last
//! two in the *machine's* local zone).
//!
//! # How the next occurrence is found
//!
//! The rule is expanded in *floating* time (wall-clock dates and times, no
//! offsets) from the series' anchor as a local wall time; each wall time is
//! then placed in the task's zone (gaps and folds; far-future dates follow
//! the zone's recurring daylight-saving rule).
//!
//! - `from: due`: the anchor (RFC 5545 DTSTART) is the series' first due date,
//!   `recurrence.dtstart` (set on every later occurrence by
//!   [`next_task_input`]; a task without it, i.e. the first occurrence or one
//!   stored before the field existed, is its own anchor). The next due date is
//!   the first instance strictly after the current `dueAt`, so a DST gap that
//!   moved one occurrence does not move the following ones, and an occurrence
//!   whose `dueAt` was edited is followed by the first instance after it.
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
//! Calendar corner cases follow RFC 5545 (as the `rrule` crate does): a monthly
//! rule started on the 31st skips months without a 31st (Jan 31 → Mar 31; use
//! `BYMONTHDAY=-1` for "last day of the month"), a yearly rule started on
//! Feb 29 recurs on the next Feb 29 (four years later).
//!
//! # DST gaps and overlaps
//!
//! A wall time that does not exist (02:30 on the day clocks spring forward in
//! Europe/Berlin) is read with the UTC offset in effect before the gap
//! (RFC 5545 §3.3.5), i.e. it becomes 03:30 CEST; the next day the series is
//! at 02:30 again, because every instance comes from the anchor's wall time.
//! Two wall times that land on one instant (BYHOUR=2,3 at :30 on that day)
//! are one instance (the recurrence *set*). A wall time that occurs twice
//! (fall back) is the first of the two. `from: completion` takes the time of
//! day from the current `dueAt`, which a gap may have moved.

mod calendar;
mod expand;
mod placed;
pub mod query;
pub mod syntax;
mod zone;

use chrono::{DateTime, Duration, NaiveDateTime, NaiveTime, SecondsFormat, Timelike, Utc};

use crate::task::validate::{RecurrenceInput, ReminderInput, TaskInput};
use crate::task::{RecurrenceFrom, Task};
use expand::Expansion;
use placed::Placed;
use syntax::{Recur, Until};
use zone::Zone;

pub use syntax::RRULE_MAX_LEN;
pub use zone::IanaZone;

/// Most dates `preview` returns.
pub const PREVIEW_MAX: usize = 50;

/// Checks an RRULE (the part after `RRULE:`; a leading `RRULE:` is accepted):
/// RFC 5545 syntax, FREQ present, FREQ=SECONDLY/MINUTELY rejected, no DTSTART,
/// not both COUNT and UNTIL. The message says what is wrong.
pub fn validate_rrule(rrule: &str) -> Result<(), String> {
    syntax::parse(rrule).map(|_| ())
}

/// The series' anchor (RFC 5545 DTSTART) of a task that recurs from its due
/// date: `recurrence.dtstart` when stored, else the task's own `dueAt` (the
/// first occurrence, and tasks stored before `dtstart` existed).
pub fn series_anchor(task: &Task) -> Option<DateTime<Utc>> {
    let recurrence = task.recurrence.as_ref()?;
    match recurrence.from {
        RecurrenceFrom::Due => recurrence.dtstart.or(task.due_at).map(truncate_to_second),
        RecurrenceFrom::Completion => None,
    }
}

/// The due date of the occurrence after `task` (which is completed), or `None`
/// when the series has ended (COUNT reached, past UNTIL) or the task has no
/// recurrence. See the module documentation for how it is computed.
pub fn next_due(task: &Task) -> Result<Option<DateTime<Utc>>, String> {
    let Some(recurrence) = &task.recurrence else {
        return Ok(None);
    };
    let rule = ParsedRule::parse(&recurrence.rrule)?;
    let zone = Zone::named(&task.timezone)?;

    if let Some(count) = rule.count {
        if u64::from(recurrence.occurrence) + 1 > u64::from(count) {
            return Ok(None);
        }
    }

    let (anchor, after) = match recurrence.from {
        RecurrenceFrom::Due => {
            let due = task
                .due_at
                .ok_or("a task that recurs from its due date needs a dueAt")?;
            let due = truncate_to_second(due);
            let anchor = series_anchor(task).unwrap_or(due);
            (zone.wall(anchor), due)
        }
        RecurrenceFrom::Completion => {
            let done = task
                .completed_at
                .ok_or("a task that recurs from its completion must be completed")?;
            let done_local = zone.wall(done);
            let time = match task.due_at {
                Some(due) => zone.wall(due).time().with_nanosecond(0),
                None => done_local
                    .time()
                    .with_second(0)
                    .and_then(|t| t.with_nanosecond(0)),
            }
            .unwrap_or(NaiveTime::MIN);
            let anchor = done_local.date().and_time(time);
            let after = zone.instant(anchor, false).max(done);
            (anchor, after)
        }
    };

    let until = rule.until.map(|u| resolve_until(u, &zone));
    let next = rule
        .instances(anchor, zone)
        .find(|instance| *instance > after)
        .filter(|next| until.is_none_or(|until| *next <= until));
    Ok(next)
}

/// The body that creates the next occurrence of `task`: same title,
/// description, priority, tags, timezone and reminder, the next due date, and
/// the recurrence with `occurrence + 1` (and, from the due date, the series'
/// `dtstart`). `None` when the series has ended.
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
            dtstart: series_anchor(task).map(|a| a.to_rfc3339_opts(SecondsFormat::AutoSi, true)),
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
    let zone = Zone::named(timezone)?;
    let start = truncate_to_second(dtstart);
    let until = rule.until.map(|u| resolve_until(u, &zone));
    let limit = rule.count.map_or(count, |c| {
        count.min(usize::try_from(c).unwrap_or(usize::MAX))
    });
    Ok(rule
        .instances(zone.wall(start), zone)
        .skip_while(|instance| *instance < start)
        .take_while(|instance| until.is_none_or(|until| *instance <= until))
        .take(limit)
        .collect())
}

/// A checked rule: the bounds this module applies itself, and the rest for
/// the expander.
#[derive(Debug, Clone)]
struct ParsedRule {
    count: Option<u32>,
    until: Option<Until>,
    /// The rule without COUNT and UNTIL.
    recur: Recur,
}

/// The last instant (inclusive) a series bounded by `until` may reach, for a
/// task in `zone`.
fn resolve_until(until: Until, zone: &Zone) -> DateTime<Utc> {
    match until {
        Until::Utc(at) => at,
        Until::Floating(local) => zone.instant(local, true),
        Until::Date(day) => match day.succ_opt() {
            Some(next_day) => {
                zone.instant(next_day.and_time(NaiveTime::MIN), false) - Duration::nanoseconds(1)
            }
            None => DateTime::<Utc>::MAX_UTC,
        },
    }
}

impl ParsedRule {
    /// Checks `input` with [`syntax::parse`] and sets COUNT and UNTIL
    /// apart.
    fn parse(input: &str) -> Result<ParsedRule, String> {
        let recur = syntax::parse(input)?;
        let (count, until) = (recur.count, recur.until);
        let recur = Recur {
            count: None,
            until: None,
            ..recur
        };
        Ok(ParsedRule {
            count,
            until,
            recur,
        })
    }

    /// The unbounded series (no COUNT, no UNTIL) from the wall time `anchor`
    /// (RFC 5545 DTSTART, included if it matches) as instants in `zone`,
    /// ascending and without repeats: the rule is expanded in floating time
    /// ([`Expansion`]), then each wall time is placed in the zone
    /// ([`Placed`]: a wall time in a DST gap is read with the offset before
    /// the gap, RFC 5545 §3.3.5, so it may land on the instant of a later
    /// wall time, and two wall times may land on one instant; a repeated
    /// wall time is the first of the two). A rule that can never match
    /// (e.g. Feb 30) ends instead of spinning (see [`expand`]).
    fn instances(&self, anchor: NaiveDateTime, zone: Zone) -> impl Iterator<Item = DateTime<Utc>> {
        Placed::new(Expansion::new(&self.recur, anchor), zone)
    }
}

fn truncate_to_second(at: DateTime<Utc>) -> DateTime<Utc> {
    at.with_nanosecond(0).unwrap_or(at)
}
