//! The expansion of a rule (RFC 5545 §3.3.10) into wall times, in floating
//! time: no zone, no offsets, only the calendar. [`super::zone`] places the
//! wall times in the task's zone afterwards.
//!
//! # Why not a crate
//!
//! The `rrule` crate did this until issue 14. Its own `rrule::Tz` wraps
//! `chrono_tz::Tz`, so linking it links chrono-tz's 786 KB of transition
//! tables into the `recurrence` component even when only floating time is
//! used, which alone kept the component above its 1.5 MB budget. What we
//! need of it is small (only what [`super::syntax`] accepts; COUNT and
//! UNTIL are applied by [`super`]), so it is written here, after
//! python-dateutil's `rrule._iter`, of which the crate is a port; the crate
//! stays the oracle of `tests/recurrence_differential.rs`.
//!
//! # How
//!
//! Period by period (a year, month, week, day or hour; every INTERVAL-th
//! from the one holding DTSTART): every day of the period that passes the
//! day parts ([`super::calendar`]), at every time from BYHOUR × BYMINUTE ×
//! BYSECOND (each defaulting to DTSTART's; with HOURLY the period's hour, if
//! BYHOUR allows it), in order; then BYSETPOS picks from that set, and what
//! lies before DTSTART is dropped.
//!
//! A WEEKLY period is the whole week from WKST, also the first one: §3.3.10,
//! BYSETPOS, "A set of recurrence instances starts at the beginning of the
//! interval defined by the FREQ rule part", so
//! `FREQ=WEEKLY;BYDAY=MO,FR;BYSETPOS=1` from a Wednesday starts with the
//! next week's Monday. (dateutil, and so the `rrule` crate, start the first
//! week at DTSTART and would give the Friday of DTSTART's week.)
//!
//! A rule may never match (`FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=30`): the
//! expansion ends after [`EMPTY_PERIODS_MAX`] periods in a row without an
//! instance, or past the year [`YEAR_MAX`], as the `rrule` crate did.

use chrono::{Datelike, Duration, NaiveDate, NaiveDateTime, NaiveTime, Timelike};

use super::calendar::{days_in_month, DayRules};
use super::syntax::{Freq, Recur};

/// Periods in a row without an instance before the expansion gives up (the
/// `rrule` crate's limit).
const EMPTY_PERIODS_MAX: u32 = 100_000;

/// The last year expanded (the `rrule` crate's limit).
const YEAR_MAX: i32 = 10_000;

/// The unbounded series of one rule from one DTSTART, ascending, as wall
/// times (DTSTART included if it matches the rule).
#[derive(Debug, Clone)]
pub(super) struct Expansion {
    days: DayRules,
    freq: Freq,
    interval: i64,
    /// BYHOUR: the hours of each day (HOURLY: the hours allowed, all when
    /// empty).
    hours: Vec<u32>,
    /// BYMINUTE × BYSECOND, ascending.
    minute_seconds: Vec<(u32, u32)>,
    set_pos: Vec<i64>,
    start: NaiveDateTime,
    /// The first day (HOURLY: the hour) of the current period.
    period: NaiveDateTime,
    empty_periods: u32,
    ready: std::vec::IntoIter<NaiveDateTime>,
    done: bool,
}

impl Expansion {
    /// The expansion of `recur` (whose COUNT and UNTIL are ignored) from the
    /// wall time `start` (DTSTART).
    pub(super) fn new(recur: &Recur, start: NaiveDateTime) -> Expansion {
        let days = DayRules::new(recur, start.date());
        let given_or = |given: &[u8], default: u32| {
            let mut values: Vec<u32> = if given.is_empty() {
                vec![default]
            } else {
                given.iter().map(|&v| u32::from(v)).collect()
            };
            values.sort_unstable();
            values.dedup();
            values
        };
        let hours = if recur.freq == Freq::Hourly && recur.by_hour.is_empty() {
            Vec::new()
        } else {
            given_or(&recur.by_hour, start.hour())
        };
        let minutes = given_or(&recur.by_minute, start.minute());
        let seconds = given_or(&recur.by_second, start.second());
        let minute_seconds = minutes
            .iter()
            .flat_map(|&m| seconds.iter().map(move |&s| (m, s)))
            .collect();
        let mut set_pos: Vec<i64> = recur.by_set_pos.iter().map(|&p| i64::from(p)).collect();
        set_pos.sort_unstable();
        set_pos.dedup();
        let date = start.date();
        let first_day = match recur.freq {
            Freq::Yearly => date.with_ordinal(1),
            Freq::Monthly => date.with_day(1),
            Freq::Weekly => {
                let into_week = (7 + date.weekday().num_days_from_monday()
                    - days.wkst().num_days_from_monday())
                    % 7;
                date.checked_sub_signed(Duration::days(i64::from(into_week)))
            }
            Freq::Daily | Freq::Hourly => Some(date),
        };
        let period = first_day.map(|day| {
            let hour = if recur.freq == Freq::Hourly {
                start.hour()
            } else {
                0
            };
            day.and_time(NaiveTime::from_hms_opt(hour, 0, 0).unwrap_or(NaiveTime::MIN))
        });
        let mut expansion = Expansion {
            days,
            freq: recur.freq,
            interval: i64::from(recur.interval.max(1)),
            hours,
            minute_seconds,
            set_pos,
            start,
            period: period.unwrap_or(start),
            empty_periods: 0,
            ready: Vec::new().into_iter(),
            done: period.is_none(),
        };
        // HOURLY steps through the hours start + k·INTERVAL (mod 24), which
        // may never reach BYHOUR (INTERVAL=2 from 08:00 with BYHOUR=9).
        if expansion.freq == Freq::Hourly && !expansion.hours.is_empty() {
            let step = gcd(expansion.interval, 24);
            let hour = i64::from(start.hour());
            expansion.done |= !expansion
                .hours
                .iter()
                .any(|&h| (i64::from(h) - hour).rem_euclid(step) == 0);
        }
        expansion
    }

    /// The instances of the current period at or after DTSTART.
    fn period_instances(&self) -> Vec<NaiveDateTime> {
        let days = self.period_days();
        let times: Vec<NaiveTime> = if self.freq == Freq::Hourly {
            let hour = self.period.hour();
            if self.hours.is_empty() || self.hours.contains(&hour) {
                self.times_at(hour).collect()
            } else {
                Vec::new()
            }
        } else {
            self.hours.iter().flat_map(|&h| self.times_at(h)).collect()
        };
        let at = |i: usize| days[i / times.len()].and_time(times[i % times.len()]);
        let total = days.len() * times.len();
        let mut set: Vec<NaiveDateTime> = if self.set_pos.is_empty() {
            (0..total).map(at).collect()
        } else {
            // §3.3.10 BYSETPOS: the n-th of the period's set, negative from
            // its end; a position past either end picks nothing.
            let mut picked: Vec<NaiveDateTime> = self
                .set_pos
                .iter()
                .filter_map(|&pos| {
                    let total = i64::try_from(total).ok()?;
                    let index = if pos > 0 { pos - 1 } else { total + pos };
                    (0..total)
                        .contains(&index)
                        .then(|| at(usize::try_from(index).unwrap_or(0)))
                })
                .collect();
            picked.sort_unstable();
            picked.dedup();
            picked
        };
        set.retain(|at| *at >= self.start);
        set
    }

    /// `hour` at each BYMINUTE × BYSECOND.
    fn times_at(&self, hour: u32) -> impl Iterator<Item = NaiveTime> + '_ {
        self.minute_seconds
            .iter()
            .filter_map(move |&(m, s)| NaiveTime::from_hms_opt(hour, m, s))
    }

    /// The days of the current period that the day parts keep, ascending.
    fn period_days(&self) -> Vec<NaiveDate> {
        let first = self.period.date();
        let span: Vec<NaiveDate> = match self.freq {
            Freq::Yearly => self
                .days
                .months()
                .into_iter()
                .flat_map(|month| month_days(first.year(), month))
                .collect(),
            Freq::Monthly => month_days(first.year(), first.month()).collect(),
            Freq::Weekly => first.iter_days().take(7).collect(),
            Freq::Daily | Freq::Hourly => vec![first],
        };
        span.into_iter().filter(|d| self.days.keeps(*d)).collect()
    }

    /// Moves to the next period; `false` past the last one.
    fn advance(&mut self, day_kept: bool) -> bool {
        let interval = self.interval;
        let next = match self.freq {
            Freq::Yearly => i32::try_from(interval)
                .ok()
                .and_then(|n| self.period.year().checked_add(n))
                .filter(|y| *y <= YEAR_MAX)
                .and_then(|y| NaiveDate::from_ymd_opt(y, 1, 1)),
            Freq::Monthly => {
                let months = i64::from(self.period.year()) * 12 + i64::from(self.period.month0());
                let months = months + interval;
                i32::try_from(months.div_euclid(12)).ok().and_then(|y| {
                    let month = u32::try_from(months.rem_euclid(12)).ok()? + 1;
                    NaiveDate::from_ymd_opt(y, month, 1)
                })
            }
            Freq::Weekly => self
                .period
                .date()
                .checked_add_signed(Duration::days(7 * interval)),
            Freq::Daily => self
                .period
                .date()
                .checked_add_signed(Duration::days(interval)),
            Freq::Hourly => return self.advance_hourly(day_kept),
        };
        match next {
            Some(day) if day.year() <= YEAR_MAX => {
                self.period = day.and_time(NaiveTime::MIN);
                true
            }
            _ => false,
        }
    }

    /// The next hour on the INTERVAL grid that BYHOUR allows; a day the day
    /// parts reject is left at once (the grid carries on into the next day).
    fn advance_hourly(&mut self, day_kept: bool) -> bool {
        let step = Duration::hours(self.interval);
        let mut next = self.period;
        if !day_kept {
            let to_midnight = i64::from(24 - next.hour());
            let steps = (to_midnight + self.interval - 1) / self.interval - 1;
            next += Duration::hours(steps * self.interval);
        }
        // At most 24 steps: `new` checked that BYHOUR is on the grid.
        for _ in 0..=24 {
            next = match next.checked_add_signed(step) {
                Some(next) if next.year() <= YEAR_MAX => next,
                _ => return false,
            };
            if self.hours.is_empty() || self.hours.contains(&next.hour()) {
                self.period = next;
                return true;
            }
        }
        false
    }
}

impl Iterator for Expansion {
    type Item = NaiveDateTime;

    fn next(&mut self) -> Option<NaiveDateTime> {
        loop {
            if let Some(at) = self.ready.next() {
                return Some(at);
            }
            if self.done {
                return None;
            }
            let found = self.period_instances();
            if found.is_empty() {
                self.empty_periods += 1;
                self.done = self.empty_periods >= EMPTY_PERIODS_MAX;
            } else {
                self.empty_periods = 0;
            }
            self.ready = found.into_iter();
            let day_kept = self.freq != Freq::Hourly || self.days.keeps(self.period.date());
            self.done |= !self.advance(day_kept);
        }
    }
}

/// Every day of a month.
fn month_days(year: i32, month: u32) -> impl Iterator<Item = NaiveDate> {
    let len = u32::try_from(days_in_month(year, month)).unwrap_or(31);
    (1..=len).filter_map(move |day| NaiveDate::from_ymd_opt(year, month, day))
}

fn gcd(a: i64, b: i64) -> i64 {
    if b == 0 {
        a
    } else {
        gcd(b, a % b)
    }
}
