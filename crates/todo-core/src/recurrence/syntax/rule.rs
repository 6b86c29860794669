//! The checked rule: what [`super::parse`] returns and the expander reads,
//! and its canonical RFC 5545 text ([`Display`](fmt::Display)).

use std::fmt;

use chrono::{DateTime, Datelike, NaiveDate, NaiveDateTime, NaiveTime, Timelike, Utc, Weekday};

/// The supported frequencies (MINUTELY and SECONDLY are rejected).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Freq {
    Yearly,
    Monthly,
    Weekly,
    Daily,
    Hourly,
}

impl Freq {
    /// The RFC 5545 name, e.g. `WEEKLY`.
    pub fn as_str(self) -> &'static str {
        match self {
            Freq::Yearly => "YEARLY",
            Freq::Monthly => "MONTHLY",
            Freq::Weekly => "WEEKLY",
            Freq::Daily => "DAILY",
            Freq::Hourly => "HOURLY",
        }
    }
}

impl fmt::Display for Freq {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One BYDAY item: `MO` (every Monday) or `-1FR` (the last Friday).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WeekdayNum {
    /// ±1..=53; `None` for every such weekday.
    pub ordinal: Option<i8>,
    pub weekday: Weekday,
}

impl fmt::Display for WeekdayNum {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(n) = self.ordinal {
            write!(f, "{n}")?;
        }
        f.write_str(weekday_code(self.weekday))
    }
}

/// The three accepted spellings of UNTIL (see [`crate::recurrence`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Until {
    /// `20261231T235959Z`
    Utc(DateTime<Utc>),
    /// `20261231T090000`: a wall time in the task's timezone.
    Floating(NaiveDateTime),
    /// `20261231`: through the end of that day in the task's timezone.
    Date(NaiveDate),
}

impl fmt::Display for Until {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let date = |f: &mut fmt::Formatter<'_>, d: NaiveDate| {
            write!(f, "{:04}{:02}{:02}", d.year(), d.month(), d.day())
        };
        let time = |f: &mut fmt::Formatter<'_>, t: NaiveTime| {
            let leap = u32::from(t.nanosecond() >= 1_000_000_000);
            write!(
                f,
                "T{:02}{:02}{:02}",
                t.hour(),
                t.minute(),
                t.second() + leap
            )
        };
        match *self {
            Until::Utc(at) => {
                date(f, at.date_naive())?;
                time(f, at.time())?;
                f.write_str("Z")
            }
            Until::Floating(at) => {
                date(f, at.date())?;
                time(f, at.time())
            }
            Until::Date(day) => date(f, day),
        }
    }
}

/// A checked rule. Lists keep the order and repetitions they were written
/// with. [`Display`](fmt::Display) writes the canonical form
/// (`FREQ=MONTHLY;BYDAY=-1FR`), which the `rrule` crate reads the same way as
/// the text it came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recur {
    pub freq: Freq,
    /// 1 when not given.
    pub interval: u16,
    pub count: Option<u32>,
    pub until: Option<Until>,
    pub by_second: Vec<u8>,
    pub by_minute: Vec<u8>,
    pub by_hour: Vec<u8>,
    pub by_day: Vec<WeekdayNum>,
    pub by_month_day: Vec<i8>,
    pub by_year_day: Vec<i16>,
    pub by_week_no: Vec<i8>,
    pub by_month: Vec<u8>,
    pub by_set_pos: Vec<i16>,
    pub wkst: Option<Weekday>,
}

impl fmt::Display for Recur {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fn list<T: fmt::Display>(
            f: &mut fmt::Formatter<'_>,
            name: &str,
            items: &[T],
        ) -> fmt::Result {
            for (i, item) in items.iter().enumerate() {
                let sep = if i == 0 { ";" } else { "," };
                let name = if i == 0 { name } else { "" };
                write!(f, "{sep}{name}{item}")?;
            }
            Ok(())
        }
        write!(f, "FREQ={}", self.freq)?;
        if self.interval != 1 {
            write!(f, ";INTERVAL={}", self.interval)?;
        }
        if let Some(count) = self.count {
            write!(f, ";COUNT={count}")?;
        }
        if let Some(until) = self.until {
            write!(f, ";UNTIL={until}")?;
        }
        list(f, "BYSECOND=", &self.by_second)?;
        list(f, "BYMINUTE=", &self.by_minute)?;
        list(f, "BYHOUR=", &self.by_hour)?;
        list(f, "BYDAY=", &self.by_day)?;
        list(f, "BYMONTHDAY=", &self.by_month_day)?;
        list(f, "BYYEARDAY=", &self.by_year_day)?;
        list(f, "BYWEEKNO=", &self.by_week_no)?;
        list(f, "BYMONTH=", &self.by_month)?;
        list(f, "BYSETPOS=", &self.by_set_pos)?;
        if let Some(wkst) = self.wkst {
            write!(f, ";WKST={}", weekday_code(wkst))?;
        }
        Ok(())
    }
}

pub(super) fn weekday_code(day: Weekday) -> &'static str {
    match day {
        Weekday::Mon => "MO",
        Weekday::Tue => "TU",
        Weekday::Wed => "WE",
        Weekday::Thu => "TH",
        Weekday::Fri => "FR",
        Weekday::Sat => "SA",
        Weekday::Sun => "SU",
    }
}
