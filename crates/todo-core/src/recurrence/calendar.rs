//! Which days a rule keeps: the day-level parts of RFC 5545 §3.3.10
//! (BYMONTH, BYWEEKNO, BYYEARDAY, BYMONTHDAY, BYDAY) with the defaults that
//! DTSTART supplies, asked one day at a time. The expander
//! ([`super::expand`]) walks the periods and asks this module about each day
//! in them; nothing here knows about times of day, periods or zones.
//!
//! All parts that are given must hold for a day ("limit" in the table of
//! §3.3.10; the "expand" rows are the expander's walk over every day of the
//! period). Two readings are RFC 5545's rather than python-dateutil's (and so
//! the `rrule` crate's, a port of it):
//!
//! - BYDAY is a list, so a day matches if it matches *any* item:
//!   `FREQ=MONTHLY;BYDAY=MO,-1FR` is every Monday and the last Friday.
//!   dateutil keeps only days that match a plain item *and* a numbered one,
//!   which is none here.
//! - BYWEEKNO numbers weeks as §3.3.10 says: weeks start on WKST and week 1
//!   is "the first week that contains at least four (4) days in that calendar
//!   year". A day of early January may be in the previous year's last week,
//!   a day of late December in the next year's week 1; each day is matched
//!   with the number of *its* week (negative: counted from the end of that
//!   week's year). dateutil miscounts the previous year's weeks in some years
//!   (it calls 2022-01-01 week 53 of 2021; ISO 8601, which is this rule with
//!   WKST=MO, says week 52).

use chrono::{Datelike, Duration, NaiveDate, Weekday};

use super::syntax::{Freq, Recur};

/// The day-level parts of one rule, defaults filled in, lists sorted and
/// without repeats.
#[derive(Debug, Clone)]
pub(super) struct DayRules {
    months: Vec<u32>,
    week_numbers: Vec<i64>,
    year_days: Vec<i64>,
    month_days: Vec<i64>,
    /// BYDAY items without a number.
    weekdays: Vec<Weekday>,
    /// BYDAY items with a number (only with MONTHLY or YEARLY).
    nth_weekdays: Vec<(i64, Weekday)>,
    /// Whether a numbered BYDAY counts within the month (MONTHLY, or YEARLY
    /// with BYMONTH) rather than within the year (§3.3.10, note 2 of the
    /// table: "special expand for MONTHLY if BYMONTH present").
    nth_in_month: bool,
    wkst: Weekday,
}

impl DayRules {
    /// The day parts of `recur`, for a series starting on `start`.
    pub(super) fn new(recur: &Recur, start: NaiveDate) -> DayRules {
        let mut months = sorted(recur.by_month.iter().map(|&m| u32::from(m)));
        let mut month_days = sorted(recur.by_month_day.iter().map(|&d| i64::from(d)));
        let counted = matches!(recur.freq, Freq::Monthly | Freq::Yearly);
        let mut weekdays = Vec::new();
        let mut nth_weekdays = Vec::new();
        for day in &recur.by_day {
            match day.ordinal {
                Some(n) if counted => nth_weekdays.push((i64::from(n), day.weekday)),
                // A number is only meaningful with MONTHLY or YEARLY
                // (`syntax/combinations.rs` rejects it elsewhere).
                _ => weekdays.push(day.weekday),
            }
        }
        // §3.3.10: "Information, not contained in the rule, necessary to
        // determine the various recurrence instance start time and dates are
        // derived from the Start Time ("DTSTART")": a YEARLY rule without a
        // day part recurs on DTSTART's month and day, a MONTHLY one on its
        // day of the month, a WEEKLY one on its weekday.
        let has_day_part = !(recur.by_week_no.is_empty()
            && recur.by_year_day.is_empty()
            && recur.by_month_day.is_empty()
            && recur.by_day.is_empty());
        if !has_day_part {
            match recur.freq {
                Freq::Yearly => {
                    if months.is_empty() {
                        months.push(start.month());
                    }
                    month_days = vec![i64::from(start.day())];
                }
                Freq::Monthly => month_days = vec![i64::from(start.day())],
                Freq::Weekly => weekdays.push(start.weekday()),
                Freq::Daily | Freq::Hourly => {}
            }
        }
        weekdays.sort_by_key(|d| d.num_days_from_monday());
        weekdays.dedup();
        DayRules {
            nth_in_month: recur.freq == Freq::Monthly || !months.is_empty(),
            months,
            week_numbers: sorted(recur.by_week_no.iter().map(|&w| i64::from(w))),
            year_days: sorted(recur.by_year_day.iter().map(|&d| i64::from(d))),
            month_days,
            weekdays,
            nth_weekdays,
            wkst: recur.wkst.unwrap_or(Weekday::Mon),
        }
    }

    /// The months a YEARLY period has to look at: BYMONTH, or all twelve.
    pub(super) fn months(&self) -> Vec<u32> {
        if self.months.is_empty() {
            (1..=12).collect()
        } else {
            self.months.clone()
        }
    }

    /// The week start (WKST, default Monday).
    pub(super) fn wkst(&self) -> Weekday {
        self.wkst
    }

    /// Whether `date` passes every day part of the rule.
    pub(super) fn keeps(&self, date: NaiveDate) -> bool {
        if !self.months.is_empty() && !self.months.contains(&date.month()) {
            return false;
        }
        let year_len = || days_in_year(date.year());
        let month_len = || days_in_month(date.year(), date.month());
        if !self.year_days.is_empty()
            && !matches_either_end(&self.year_days, i64::from(date.ordinal()), year_len())
        {
            return false;
        }
        if !self.month_days.is_empty()
            && !matches_either_end(&self.month_days, i64::from(date.day()), month_len())
        {
            return false;
        }
        if !(self.weekdays.is_empty() && self.nth_weekdays.is_empty()) {
            let weekday = date.weekday();
            let plain = self.weekdays.contains(&weekday);
            let numbered = || {
                if !self.nth_weekdays.iter().any(|&(_, day)| day == weekday) {
                    return false;
                }
                let (position, len) = if self.nth_in_month {
                    (i64::from(date.day()), month_len())
                } else {
                    (i64::from(date.ordinal()), year_len())
                };
                // The k-th such weekday from the start, and from the end.
                let from_start = (position - 1) / 7 + 1;
                let from_end = -((len - position) / 7 + 1);
                self.nth_weekdays
                    .iter()
                    .any(|&(n, day)| day == weekday && (n == from_start || n == from_end))
            };
            if !plain && !numbered() {
                return false;
            }
        }
        if !self.week_numbers.is_empty() {
            let Some((week, weeks)) = week_number(date, self.wkst) else {
                return false;
            };
            if !matches_either_end(&self.week_numbers, week, weeks) {
                return false;
            }
        }
        true
    }
}

/// Whether `values` (1-based, or negative counting from the end) names
/// `position` of `len`.
fn matches_either_end(values: &[i64], position: i64, len: i64) -> bool {
    let from_end = position - len - 1;
    values.iter().any(|&v| v == position || v == from_end)
}

fn sorted<T: Ord>(items: impl Iterator<Item = T>) -> Vec<T> {
    let mut items: Vec<T> = items.collect();
    items.sort_unstable();
    items.dedup();
    items
}

pub(super) fn days_in_year(year: i32) -> i64 {
    if is_leap(year) {
        366
    } else {
        365
    }
}

pub(super) fn days_in_month(year: i32, month: u32) -> i64 {
    match month {
        4 | 6 | 9 | 11 => 30,
        2 if is_leap(year) => 29,
        2 => 28,
        _ => 31,
    }
}

/// Gregorian leap years (chrono's calendar, proleptic before 1582).
fn is_leap(year: i32) -> bool {
    year % 4 == 0 && (year % 100 != 0 || year % 400 == 0)
}

/// The first day of week 1 of `year` for weeks starting on `wkst`: the week
/// that has at least four days in `year` (RFC 5545 §3.3.10, BYWEEKNO).
fn first_week_start(year: i32, wkst: Weekday) -> Option<NaiveDate> {
    let jan1 = NaiveDate::from_ymd_opt(year, 1, 1)?;
    let into_week =
        i64::from((7 + jan1.weekday().num_days_from_monday() - wkst.num_days_from_monday()) % 7);
    let start = jan1 - Duration::days(into_week);
    Some(if 7 - into_week >= 4 {
        start
    } else {
        start + Duration::days(7)
    })
}

/// The number of the week `date` is in (1-based) and how many weeks that
/// week's year has, for weeks starting on `wkst`.
fn week_number(date: NaiveDate, wkst: Weekday) -> Option<(i64, i64)> {
    let year = date.year();
    let starts = [year - 1, year, year + 1, year + 2].map(|y| first_week_start(y, wkst));
    let [Some(previous), Some(this), Some(next), Some(after)] = starts else {
        return None;
    };
    let (start, end) = if date < this {
        (previous, this)
    } else if date >= next {
        (next, after)
    } else {
        (this, next)
    };
    Some((
        (date - start).num_days() / 7 + 1,
        (end - start).num_days() / 7,
    ))
}
