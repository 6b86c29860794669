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
//! The `rrule` crate expands the rule in *floating* time (UTC standing for the
//! wall clock), from the series' anchor as a local wall time; each wall time
//! is then placed in the task's zone here (gaps, folds, and past 2099 the
//! zone's recurring rule: chrono-tz's tables stop at 2099).
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
//! Calendar corner cases follow RFC 5545 (and the `rrule` crate): a monthly
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

use std::collections::BTreeSet;
use std::str::FromStr;

use chrono::{
    DateTime, Datelike, Duration, LocalResult, Month, NaiveDate, NaiveDateTime, NaiveTime,
    SecondsFormat, TimeZone, Timelike, Utc, Weekday,
};
use rrule::{Frequency, NWeekday, RRule, RRuleSet, Unvalidated};

use crate::rrule_syntax::{self, Freq, Recur, Until, WeekdayNum};
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
    let tz = parse_timezone(&task.timezone)?;

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
            (local_wall(tz, anchor), due)
        }
        RecurrenceFrom::Completion => {
            let done = task
                .completed_at
                .ok_or("a task that recurs from its completion must be completed")?;
            let done_local = local_wall(tz, done);
            let time = match task.due_at {
                Some(due) => local_wall(tz, due).time().with_nanosecond(0),
                None => done_local
                    .time()
                    .with_second(0)
                    .and_then(|t| t.with_nanosecond(0)),
            }
            .unwrap_or(NaiveTime::MIN);
            let anchor = done_local.date().and_time(time);
            let after = resolve_local(tz, anchor, false).max(done);
            (anchor, after)
        }
    };

    let until = rule.until.map(|u| resolve_until(u, tz));
    let next = rule
        .instances(anchor, tz)?
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
    let tz = parse_timezone(timezone)?;
    let start = truncate_to_second(dtstart);
    let until = rule.until.map(|u| resolve_until(u, tz));
    let limit = rule.count.map_or(count, |c| {
        count.min(usize::try_from(c).unwrap_or(usize::MAX))
    });
    Ok(rule
        .instances(local_wall(tz, start), tz)?
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
    recur: Recur,
    /// `recur` for the `rrule` crate (see [`ParsedRule::parse`]).
    rule: RRule<Unvalidated>,
    /// Set when `recur` has a numbered BYDAY the crate refuses (`-5MO` with
    /// FREQ=MONTHLY): the crate then generates a superset that
    /// [`ParsedRule::wall_times`] narrows down itself.
    emulated: bool,
}

/// The last instant (inclusive) a series bounded by `until` may reach, for a
/// task in `tz`.
fn resolve_until(until: Until, tz: chrono_tz::Tz) -> DateTime<Utc> {
    match until {
        Until::Utc(at) => at,
        Until::Floating(local) => resolve_local(tz, local, true),
        Until::Date(day) => match day.succ_opt() {
            Some(next_day) => {
                resolve_local(tz, next_day.and_time(NaiveTime::MIN), false)
                    - Duration::nanoseconds(1)
            }
            None => DateTime::<Utc>::MAX_UTC,
        },
    }
}

/// Consecutive candidates the emulated expansion may drop before it gives up
/// (a rule such as `BYMONTH=2;BYDAY=-5MO;BYMONTHDAY=31` never matches).
const EMULATION_MISSES: usize = 100_000;

impl ParsedRule {
    /// Checks `input` with [`rrule_syntax::parse`] and builds the `rrule`
    /// crate's rule from the parsed parts (never from text: the crate's
    /// parser would link `regex`), without COUNT and UNTIL.
    fn parse(input: &str) -> Result<ParsedRule, String> {
        let recur = rrule_syntax::parse(input)?;
        let (count, until) = (recur.count, recur.until);
        let recur = Recur {
            count: None,
            until: None,
            ..recur
        };
        let emulated =
            recur.freq == Freq::Monthly && recur.by_day.iter().any(|d| d.ordinal == Some(-5));
        let rule = crate_rule(&recur, emulated)?;
        // `rrule_syntax` already enforced the crate's checks, none of which
        // depend on the start; validating once more keeps any disagreement an
        // error here rather than a surprise while iterating.
        let probe = rrule::Tz::UTC
            .with_ymd_and_hms(2026, 1, 1, 0, 0, 0)
            .unwrap();
        let probe_rule = if emulated {
            with_times(rule.clone(), &recur, probe.naive_utc())
        } else {
            rule.clone()
        };
        probe_rule
            .validate(probe)
            .map_err(|e| format!("invalid rule: {e}"))?;
        debug_assert!(rule.get_freq() < Frequency::Minutely);
        Ok(ParsedRule {
            count,
            until,
            recur,
            rule,
            emulated,
        })
    }

    /// The unbounded series (no COUNT, no UNTIL) from the wall time `anchor`
    /// (RFC 5545 DTSTART, included if it matches), ascending, as local wall
    /// times. The crate evaluates the rule in "floating" time (UTC standing
    /// for the wall clock), so no offset ever leaks into the calendar
    /// arithmetic; [`ParsedRule::instances`] places each wall time in the
    /// zone. Iteration is bounded by the crate's loop limits, so a rule that
    /// can never match (e.g. Feb 30) ends instead of spinning.
    fn wall_times(
        &self,
        anchor: NaiveDateTime,
    ) -> Result<Box<dyn Iterator<Item = NaiveDateTime>>, String> {
        if !self.emulated {
            let dtstart = rrule::Tz::UTC.from_utc_datetime(&anchor);
            let rule = self
                .rule
                .clone()
                .validate(dtstart)
                .map_err(|e| format!("invalid rule: {e}"))?;
            return Ok(Box::new(
                RRuleSet::new(dtstart)
                    .rrule(rule)
                    .limit()
                    .into_iter()
                    .map(|dt| dt.naive_utc()),
            ));
        }
        // -nWD counts from the month's end: `-5MO` is the first Monday of a
        // month with five Mondays. The crate (which only takes -4..=5 with
        // MONTHLY) generates the series with `1MO` instead, whole months from
        // the first of the anchor's month (so BYSETPOS sees whole months), and
        // each month's candidates are narrowed to the rule's own BYDAY, then
        // BYSETPOS, then to those at or after the anchor.
        let month_start = anchor
            .date()
            .with_day(1)
            .expect("day 1 exists")
            .and_time(NaiveTime::MIN);
        let dtstart = rrule::Tz::UTC.from_utc_datetime(&month_start);
        let rule = with_times(self.rule.clone(), &self.recur, anchor)
            .validate(dtstart)
            .map_err(|e| format!("invalid rule: {e}"))?;
        let candidates = RRuleSet::new(dtstart)
            .rrule(rule)
            .limit()
            .into_iter()
            .map(|dt| dt.naive_utc());
        Ok(Box::new(
            MonthSets {
                candidates: candidates.peekable(),
                by_day: self.recur.by_day.clone(),
                set_pos: self.recur.by_set_pos.clone(),
                ready: Vec::new().into_iter(),
            }
            .filter(move |at| *at >= anchor),
        ))
    }

    /// The unbounded series from the wall time `anchor` as instants in `tz`,
    /// ascending and without repeats: a wall time in a DST gap is read with
    /// the offset before the gap (RFC 5545 §3.3.5, so it may land on the
    /// instant of a later wall time, and two wall times may land on one
    /// instant), a repeated wall time is the first of the two.
    fn instances(
        &self,
        anchor: NaiveDateTime,
        tz: chrono_tz::Tz,
    ) -> Result<impl Iterator<Item = DateTime<Utc>>, String> {
        let walls = self.wall_times(anchor)?;
        Ok(Placed {
            walls,
            tz,
            pending: BTreeSet::new(),
            last: None,
            done: false,
        })
    }
}

/// `rule` with BYHOUR, BYMINUTE and BYSECOND taken from `anchor` where the
/// rule leaves them out (RFC 5545 §3.3.10: they come from DTSTART), for an
/// expansion that does not start at the anchor.
fn with_times(
    rule: RRule<Unvalidated>,
    recur: &Recur,
    anchor: NaiveDateTime,
) -> RRule<Unvalidated> {
    let pick = |given: &[u8], from_anchor: u32| {
        if given.is_empty() {
            vec![from_anchor as u8]
        } else {
            given.to_vec()
        }
    };
    rule.by_hour(pick(&recur.by_hour, anchor.hour()))
        .by_minute(pick(&recur.by_minute, anchor.minute()))
        .by_second(pick(&recur.by_second, anchor.second()))
}

/// The `rrule` crate's rule for `recur` (COUNT and UNTIL already removed).
/// With `emulated`, `-5WD` becomes `1WD` and BYSETPOS is left out (see
/// [`ParsedRule::wall_times`]).
fn crate_rule(recur: &Recur, emulated: bool) -> Result<RRule<Unvalidated>, String> {
    let freq = match recur.freq {
        Freq::Yearly => Frequency::Yearly,
        Freq::Monthly => Frequency::Monthly,
        Freq::Weekly => Frequency::Weekly,
        Freq::Daily => Frequency::Daily,
        Freq::Hourly => Frequency::Hourly,
    };
    let months = recur
        .by_month
        .iter()
        .map(|m| Month::try_from(*m).map_err(|_| format!("invalid rule: BYMONTH `{m}`")))
        .collect::<Result<Vec<_>, _>>()?;
    let days = recur
        .by_day
        .iter()
        .map(|d| match d.ordinal {
            None => NWeekday::Every(d.weekday),
            Some(-5) if emulated => NWeekday::Nth(1, d.weekday),
            Some(n) => NWeekday::Nth(i16::from(n), d.weekday),
        })
        .collect();
    let set_pos = if emulated {
        Vec::new()
    } else {
        recur.by_set_pos.iter().map(|p| i32::from(*p)).collect()
    };
    Ok(RRule::new(freq)
        .interval(recur.interval)
        .week_start(recur.wkst.unwrap_or(Weekday::Mon))
        .by_set_pos(set_pos)
        .by_month(&months)
        .by_month_day(recur.by_month_day.clone())
        .by_year_day(recur.by_year_day.clone())
        .by_week_no(recur.by_week_no.clone())
        .by_weekday(days)
        .by_hour(recur.by_hour.clone())
        .by_minute(recur.by_minute.clone())
        .by_second(recur.by_second.clone()))
}

/// Whether `date` is the `day` of its month (`-1FR`: the last Friday).
fn is_month_weekday(date: NaiveDate, day: &WeekdayNum) -> bool {
    if date.weekday() != day.weekday {
        return false;
    }
    let Some(n) = day.ordinal else { return true };
    let index = i32::try_from(date.day0() / 7).unwrap_or(0) + 1;
    let days_in_month = NaiveDate::from_ymd_opt(date.year(), date.month(), 1)
        .and_then(|d| d.checked_add_months(chrono::Months::new(1)))
        .map_or(31, |next| (next - Duration::days(1)).day());
    let from_end = -(i32::try_from((days_in_month - date.day()) / 7).unwrap_or(0) + 1);
    i32::from(n) == if n > 0 { index } else { from_end }
}

/// The emulated MONTHLY expansion: the crate's candidates grouped by month,
/// narrowed to the rule's BYDAY, then BYSETPOS applied per month.
struct MonthSets<I: Iterator<Item = NaiveDateTime>> {
    candidates: std::iter::Peekable<I>,
    by_day: Vec<WeekdayNum>,
    set_pos: Vec<i16>,
    ready: std::vec::IntoIter<NaiveDateTime>,
}

impl<I: Iterator<Item = NaiveDateTime>> Iterator for MonthSets<I> {
    type Item = NaiveDateTime;

    fn next(&mut self) -> Option<NaiveDateTime> {
        let mut misses = 0;
        loop {
            if let Some(at) = self.ready.next() {
                return Some(at);
            }
            let first = self.candidates.next()?;
            let month = (first.year(), first.month());
            let mut set = vec![first];
            while let Some(at) = self
                .candidates
                .next_if(|at| (at.year(), at.month()) == month)
            {
                set.push(at);
            }
            let total = set.len();
            set.retain(|at| self.by_day.iter().any(|d| is_month_weekday(at.date(), d)));
            if !self.set_pos.is_empty() {
                let len = i64::try_from(set.len()).unwrap_or(i64::MAX);
                let mut picked: Vec<NaiveDateTime> = self
                    .set_pos
                    .iter()
                    .filter_map(|&p| {
                        let p = i64::from(p);
                        let index = if p > 0 { p - 1 } else { len + p };
                        usize::try_from(index)
                            .ok()
                            .and_then(|i| set.get(i).copied())
                    })
                    .collect();
                picked.sort_unstable();
                picked.dedup();
                set = picked;
            }
            if set.is_empty() {
                misses += total;
                if misses > EMULATION_MISSES {
                    return None;
                }
            }
            self.ready = set.into_iter();
        }
    }
}

/// Wall times placed in a zone, reordered and deduplicated: a wall time in a
/// gap moves forward by the gap, past later wall times, so instants are held
/// back until no later wall time can land before them.
struct Placed {
    walls: Box<dyn Iterator<Item = NaiveDateTime>>,
    tz: chrono_tz::Tz,
    pending: BTreeSet<DateTime<Utc>>,
    last: Option<DateTime<Utc>>,
    done: bool,
}

/// More than the spread of UTC offsets (−12:00…+14:00): a wall time `w`
/// lands within this of `w` read as UTC.
const PLACEMENT_SLACK_HOURS: i64 = 30;

impl Iterator for Placed {
    type Item = DateTime<Utc>;

    fn next(&mut self) -> Option<DateTime<Utc>> {
        loop {
            if let Some(&first) = self.pending.first() {
                let settled = self.done
                    || self.pending.last().is_some_and(|&last| {
                        last - first > Duration::hours(2 * PLACEMENT_SLACK_HOURS)
                    });
                if settled {
                    self.pending.pop_first();
                    if self.last.is_some_and(|last| last >= first) {
                        continue;
                    }
                    self.last = Some(first);
                    return Some(first);
                }
            } else if self.done {
                return None;
            }
            match self.walls.next() {
                Some(wall) => {
                    self.pending.insert(resolve_local(self.tz, wall, false));
                }
                None => self.done = true,
            }
        }
    }
}

fn parse_timezone(name: &str) -> Result<chrono_tz::Tz, String> {
    chrono_tz::Tz::from_str(name).map_err(|_| format!("`{name}` is not an IANA timezone"))
}

fn truncate_to_second(at: DateTime<Utc>) -> DateTime<Utc> {
    at.with_nanosecond(0).unwrap_or(at)
}

/// The last year of chrono-tz's transition tables: its generator writes
/// explicit transitions through 2099 and then keeps the last offset forever,
/// ignoring the zone's recurring rule (the POSIX TZ string at the end of a
/// TZif file). Later dates are mapped to a year with the same calendar.
const TABLE_LAST_YEAR: i32 = 2098;

/// For a date after the tables end, the number of days to a date of the same
/// month and day in a year at most [`TABLE_LAST_YEAR`] that starts on the same
/// weekday and has the same length, so every rule of the form "last Sunday of
/// March" or "March 25" falls on the same month and day; 0 otherwise.
fn table_shift(date: NaiveDate) -> i64 {
    let year = date.year();
    if year <= TABLE_LAST_YEAR {
        return 0;
    }
    let shape = |y: i32| {
        let jan1 = NaiveDate::from_ymd_opt(y, 1, 1).map(|d| d.weekday());
        let leap = NaiveDate::from_ymd_opt(y, 2, 29).is_some();
        (jan1, leap)
    };
    let wanted = shape(year);
    let Some(twin) = (TABLE_LAST_YEAR - 40..=TABLE_LAST_YEAR)
        .rev()
        .find(|&y| shape(y) == wanted)
    else {
        return 0;
    };
    let Some(mapped) = NaiveDate::from_ymd_opt(twin, date.month(), date.day()) else {
        return 0;
    };
    (date - mapped).num_days()
}

/// The offset (seconds east of UTC) of `tz` at the instant `utc`, following
/// the zone's recurring rule past the end of chrono-tz's tables.
fn offset_at(tz: chrono_tz::Tz, utc: NaiveDateTime) -> i32 {
    let shift = Duration::days(table_shift(utc.date()));
    let offset = tz.offset_from_utc_datetime(&(utc - shift));
    chrono::Offset::fix(&offset).local_minus_utc()
}

/// The wall time in `tz` at the instant `at`.
fn local_wall(tz: chrono_tz::Tz, at: DateTime<Utc>) -> NaiveDateTime {
    let utc = at.naive_utc();
    utc + Duration::seconds(i64::from(offset_at(tz, utc)))
}

/// A local wall time in `tz` as an instant. A time that occurs twice takes the
/// first (or, with `latest`, the second); a time inside a gap is read with the
/// UTC offset in effect before the gap (RFC 5545 §3.3.5), e.g. 02:30 on the
/// Europe/Berlin spring-forward day is 01:30Z = 03:30 CEST. Past the end of
/// chrono-tz's tables the zone's recurring rule is followed (see
/// [`table_shift`]).
fn resolve_local(tz: chrono_tz::Tz, local: NaiveDateTime, latest: bool) -> DateTime<Utc> {
    let shift = Duration::days(table_shift(local.date()));
    let mapped = local - shift;
    let at = match tz.from_local_datetime(&mapped) {
        LocalResult::Single(at) => at.with_timezone(&Utc),
        LocalResult::Ambiguous(first, second) => {
            if latest { second } else { first }.with_timezone(&Utc)
        }
        LocalResult::None => {
            // The offset a day earlier is the one before the gap (no zone has
            // two transitions within a day).
            let before = tz.offset_from_utc_datetime(&(mapped - Duration::days(1)));
            let offset = chrono::Offset::fix(&before);
            (mapped - Duration::seconds(i64::from(offset.local_minus_utc()))).and_utc()
        }
    };
    at + shift
}
