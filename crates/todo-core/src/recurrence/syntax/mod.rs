//! A hand-written parser and validator for the value of an RFC 5545 `RRULE`
//! (the RECUR value type, §3.3.10), for components that only *check* rules.
//!
//! # Why this exists
//!
//! Size. The `rrule` crate parses with `regex` and evaluates with chrono-tz's
//! full transition tables; linking it into every component that merely
//! validates a rule (task-api) cost ~1.6 MB of its ~2.6 MB. This module uses
//! neither (no regex, no timezone offsets). No component links the crate any
//! more: [`crate::recurrence`] evaluates rules with its own expander, and the
//! crate is only the oracle of todo-core's tests.
//!
//! Hand-writing a validator is only acceptable if it never drifts from the
//! crate it replaced: `tests/rrule_syntax.rs` property-tests that it accepts
//! and rejects exactly what the previous, `rrule`-crate-based validation did
//! (and reads accepted rules the same way), except for the deliberate
//! differences listed below.
//!
//! # What is accepted
//!
//! Everything described in [`crate::recurrence`]'s "Rule syntax" section, plus
//! these constraints of the `rrule` crate (RFC 5545 leaves them open or is
//! wider), kept so that the crate, the oracle of the tests, can evaluate
//! every rule accepted here:
//!
//! - BYSECOND is 0..=59 (no leap second 60);
//! - BYSETPOS is within ±366 (YEARLY, DAILY), ±31 (MONTHLY), ±53 (WEEKLY),
//!   ±24 (HOURLY), never 0;
//! - a numbered BYDAY is -52..=53 with YEARLY (so no `-53MO`); with MONTHLY
//!   it is -5..=5 as RFC 5545 allows, although the crate only takes -4..=5
//!   (`-5MO` is the first Monday of a month with five Mondays);
//! - `BYWEEKDAY` is accepted as another name for `BYDAY`;
//! - numbers are read like Rust's `str::parse`: leading zeros and a leading
//!   `+` are fine (`BYHOUR=+09`), a `-` only where negative values exist.
//!
//! # Deliberately stricter than the `rrule` crate
//!
//! The crate accepts some rules RFC 5545 forbids and then evaluates them in
//! surprising ways; these are rejected here:
//!
//! - a BYDAY item whose prefix is not a week number (`XMO`, `+MO`, ` MO`,
//!   `MO=TU`, `99999MO`) or is 0 (`0MO`): the crate silently reads it as `MO`;
//! - `BYMONTHDAY=0`: the crate silently drops it;
//! - BYMONTHDAY with FREQ=WEEKLY: the crate only rejects positive days;
//! - a numbered BYDAY (`2MO`) with FREQ other than MONTHLY or YEARLY, or with
//!   FREQ=YEARLY and BYWEEKNO (RFC 5545 §3.3.10 "MUST NOT"): the crate ignores
//!   the number's meaning (FREQ=WEEKLY;BYDAY=2MO yields *every day*);
//! - non-ASCII text in a part name or value: the crate upper-cases with Unicode
//!   rules (`WKST=ſu` reads as `SU`) or panics on some BYDAY values.

use std::fmt;

use chrono::{DateTime, Datelike, NaiveDate, NaiveDateTime, NaiveTime, Timelike, Utc, Weekday};

/// Longest rule accepted (bytes, after trimming); real rules are far shorter.
pub const RRULE_MAX_LEN: usize = 1000;

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

impl Until {
    /// Reads one of the three spellings; `T` and `Z` may be lower case. A
    /// seconds field of 60 is read as a leap second (as chrono's `%S` does).
    pub fn parse(value: &str) -> Result<Until, String> {
        let bad = || {
            format!(
                "UNTIL `{value}` is not a date-time such as 20261231T235959Z (UTC) or a date such as 20261231"
            )
        };
        let digits = |s: &str| -> Option<u32> {
            if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
                return None;
            }
            s.parse().ok()
        };
        let date = |s: &str| -> Option<NaiveDate> {
            if s.len() != 8 || !s.is_ascii() {
                return None;
            }
            let year = i32::try_from(digits(&s[..4])?).ok()?;
            NaiveDate::from_ymd_opt(year, digits(&s[4..6])?, digits(&s[6..])?)
        };
        let date_time = |s: &str| -> Option<NaiveDateTime> {
            let (d, t) = s.split_once(['T', 't'])?;
            if t.len() != 6 || !t.is_ascii() {
                return None;
            }
            let (hour, min, sec) = (digits(&t[..2])?, digits(&t[2..4])?, digits(&t[4..])?);
            let time = if sec == 60 {
                NaiveTime::from_hms_nano_opt(hour, min, 59, 1_000_000_000)
            } else {
                NaiveTime::from_hms_opt(hour, min, sec)
            }?;
            Some(date(d)?.and_time(time))
        };
        if let Some(utc) = value.strip_suffix(['Z', 'z']) {
            date_time(utc).map(|at| Until::Utc(at.and_utc()))
        } else if value.len() == 8 {
            date(value).map(Until::Date)
        } else {
            date_time(value).map(Until::Floating)
        }
        .ok_or_else(bad)
    }
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

/// The part names, for messages.
const PARTS: &str = "FREQ, INTERVAL, COUNT, UNTIL, BYSECOND, BYMINUTE, BYHOUR, BYDAY, \
                     BYMONTHDAY, BYYEARDAY, BYWEEKNO, BYMONTH, BYSETPOS, WKST";

/// The rule parts (`BYWEEKDAY` is read as `BYDAY`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Key {
    Freq,
    Until,
    Count,
    Interval,
    BySecond,
    ByMinute,
    ByHour,
    ByDay,
    ByMonthDay,
    ByYearDay,
    ByWeekNo,
    ByMonth,
    BySetPos,
    Wkst,
}

impl Key {
    fn from_name(name: &str) -> Option<Key> {
        Some(match name {
            "FREQ" => Key::Freq,
            "UNTIL" => Key::Until,
            "COUNT" => Key::Count,
            "INTERVAL" => Key::Interval,
            "BYSECOND" => Key::BySecond,
            "BYMINUTE" => Key::ByMinute,
            "BYHOUR" => Key::ByHour,
            "BYDAY" | "BYWEEKDAY" => Key::ByDay,
            "BYMONTHDAY" => Key::ByMonthDay,
            "BYYEARDAY" => Key::ByYearDay,
            "BYWEEKNO" => Key::ByWeekNo,
            "BYMONTH" => Key::ByMonth,
            "BYSETPOS" => Key::BySetPos,
            "WKST" => Key::Wkst,
            _ => return None,
        })
    }

    fn is_by(self) -> bool {
        !matches!(
            self,
            Key::Freq | Key::Until | Key::Count | Key::Interval | Key::Wkst
        )
    }
}

/// Checks an RRULE value (a leading `RRULE:` is accepted) and reads it. The
/// message says what is wrong; see the module documentation for the rules.
pub fn parse(input: &str) -> Result<Recur, String> {
    let mut text = input.trim();
    if text.is_empty() {
        return Err("the rule is empty; expected e.g. FREQ=WEEKLY;BYDAY=MO".into());
    }
    if text.to_ascii_uppercase().contains("DTSTART") {
        return Err(
            "DTSTART is not allowed in the rule: the task's dueAt is the start of the series"
                .into(),
        );
    }
    if text.len() > RRULE_MAX_LEN {
        return Err(format!(
            "the rule is longer than {RRULE_MAX_LEN} characters"
        ));
    }
    if let Some(prefix) = text.get(..6) {
        if prefix.eq_ignore_ascii_case("RRULE:") {
            text = &text[6..];
        }
    }
    if text.contains([':', '\n', '\r']) {
        return Err(
            "only the value of one RRULE is allowed (no EXDATE, RDATE or other properties)".into(),
        );
    }

    // Pass 1: NAME=VALUE pairs, repetitions, and FREQ, COUNT, UNTIL, INTERVAL.
    let mut parts: Vec<(Result<Key, String>, &str)> = Vec::new();
    let mut seen: Vec<Result<Key, String>> = Vec::new();
    let mut names: Vec<String> = Vec::new();
    let mut freq = None;
    let mut interval = 1;
    let mut count = None;
    let mut until = None;
    for part in text.split(';').map(str::trim).filter(|p| !p.is_empty()) {
        let (name, value) = part
            .split_once('=')
            .ok_or_else(|| format!("`{part}` is not a NAME=VALUE pair"))?;
        let name = name.trim().to_ascii_uppercase();
        let value = value.trim();
        if value.is_empty() {
            return Err(format!("{name} has no value"));
        }
        let key = Key::from_name(&name).ok_or(name.clone());
        if seen.contains(&key) {
            return Err(if names.contains(&name) {
                format!("{name} is given more than once")
            } else {
                "BYDAY is given more than once (BYWEEKDAY is another name for BYDAY)".into()
            });
        }
        seen.push(key.clone());
        names.push(name.clone());
        match key {
            Ok(Key::Freq) => freq = Some(parse_freq(value)?),
            Ok(Key::Count) => match integer(value, false) {
                Some(n) if n >= 1 => count = Some(n as u32),
                _ => return Err(format!("COUNT `{value}` is not a positive integer")),
            },
            Ok(Key::Until) => until = Some(Until::parse(value)?),
            Ok(Key::Interval) => match integer(value, false) {
                Some(n @ 1..=65535) => interval = n as u16,
                _ => {
                    return Err(format!(
                        "INTERVAL `{value}` is not an integer between 1 and 65535"
                    ))
                }
            },
            _ => parts.push((key, value)),
        }
    }
    let Some(freq) = freq else {
        return Err("FREQ is required (e.g. FREQ=WEEKLY)".into());
    };
    let has = |k: Key| seen.contains(&Ok(k));
    // Any other BY name counts here (an unknown one is rejected just below).
    if has(Key::BySetPos)
        && !seen.iter().any(|key| match key {
            Ok(k) => k.is_by() && *k != Key::BySetPos,
            Err(name) => name.starts_with("BY"),
        })
    {
        return Err("BYSETPOS must be used together with another BYxxx part".into());
    }
    if count.is_some() && until.is_some() {
        return Err("COUNT and UNTIL must not both be given (RFC 5545 §3.3.10)".into());
    }

    // Pass 2: the remaining parts' values.
    let mut rule = Recur {
        freq,
        interval,
        count,
        until,
        by_second: Vec::new(),
        by_minute: Vec::new(),
        by_hour: Vec::new(),
        by_day: Vec::new(),
        by_month_day: Vec::new(),
        by_year_day: Vec::new(),
        by_week_no: Vec::new(),
        by_month: Vec::new(),
        by_set_pos: Vec::new(),
        wkst: None,
    };
    for (key, value) in parts {
        match key {
            Err(name) => return Err(invalid(format!("`{name}` is not an RRULE part ({PARTS})"))),
            Ok(Key::BySecond) => {
                rule.by_second = numbers(value, "BYSECOND", 0..=59, "a second from 0 to 59")?
            }
            Ok(Key::ByMinute) => {
                rule.by_minute = numbers(value, "BYMINUTE", 0..=59, "a minute from 0 to 59")?
            }
            Ok(Key::ByHour) => {
                rule.by_hour = numbers(value, "BYHOUR", 0..=23, "an hour from 0 to 23")?
            }
            Ok(Key::ByMonth) => {
                rule.by_month = numbers(value, "BYMONTH", 1..=12, "a month from 1 to 12")?
            }
            Ok(Key::ByMonthDay) => {
                rule.by_month_day = numbers(
                    value,
                    "BYMONTHDAY",
                    -31..=31,
                    "a day of the month from 1 to 31 or -31 to -1",
                )?
            }
            Ok(Key::ByYearDay) => {
                rule.by_year_day = numbers(
                    value,
                    "BYYEARDAY",
                    -366..=366,
                    "a day of the year from 1 to 366 or -366 to -1",
                )?
            }
            Ok(Key::ByWeekNo) => {
                rule.by_week_no = numbers(
                    value,
                    "BYWEEKNO",
                    -53..=53,
                    "a week number from 1 to 53 or -53 to -1",
                )?
            }
            Ok(Key::BySetPos) => {
                rule.by_set_pos = numbers(
                    value,
                    "BYSETPOS",
                    -366..=366,
                    "a position from 1 to 366 or -366 to -1",
                )?
            }
            Ok(Key::ByDay) => {
                rule.by_day = value
                    .split(',')
                    .map(weekday_num)
                    .collect::<Result<_, _>>()?
            }
            Ok(Key::Wkst) => {
                rule.wkst = Some(weekday(value).ok_or_else(|| {
                    invalid(format!(
                        "WKST `{value}` is not a weekday (MO, TU, WE, TH, FR, SA or SU)"
                    ))
                })?)
            }
            Ok(Key::Freq | Key::Count | Key::Until | Key::Interval) => {
                unreachable!("handled in pass 1")
            }
        }
    }
    check_combinations(&rule)?;
    Ok(rule)
}

/// The rules that tie a BYxxx part to FREQ (RFC 5545 §3.3.10, and the ranges
/// the `rrule` crate enforces).
fn check_combinations(rule: &Recur) -> Result<(), String> {
    let freq = rule.freq;
    if !rule.by_month_day.is_empty() && freq == Freq::Weekly {
        return Err(invalid("BYMONTHDAY cannot be used with FREQ=WEEKLY".into()));
    }
    if !rule.by_year_day.is_empty() && matches!(freq, Freq::Daily | Freq::Weekly | Freq::Monthly) {
        return Err(invalid(format!(
            "BYYEARDAY cannot be used with FREQ={freq} (only with YEARLY or HOURLY)"
        )));
    }
    if !rule.by_week_no.is_empty() && freq != Freq::Yearly {
        return Err(invalid(format!(
            "BYWEEKNO can only be used with FREQ=YEARLY, not FREQ={freq}"
        )));
    }
    for day in &rule.by_day {
        let Some(n) = day.ordinal else { continue };
        let (low, high) = match freq {
            // RFC 5545 §3.3.10: "+n"/"-n" is the nth occurrence within the
            // month, and a month has at most five of each weekday.
            Freq::Monthly => (-5, 5),
            Freq::Yearly if rule.by_week_no.is_empty() => (-52, 53),
            Freq::Yearly => {
                return Err(invalid(format!(
                    "BYDAY `{day}` has a number, which is not allowed together with BYWEEKNO"
                )))
            }
            _ => {
                return Err(invalid(format!(
                    "BYDAY `{day}` has a number, which is only allowed with FREQ=MONTHLY or FREQ=YEARLY (write `{}` for every such day)",
                    weekday_code(day.weekday)
                )))
            }
        };
        if !(low..=high).contains(&n) {
            return Err(invalid(format!(
                "BYDAY `{day}`: with FREQ={freq} the number must be between {low} and {high} (not 0)"
            )));
        }
    }
    let limit = match freq {
        Freq::Yearly | Freq::Daily => 366,
        Freq::Monthly => 31,
        Freq::Weekly => 53,
        Freq::Hourly => 24,
    };
    if let Some(pos) = rule.by_set_pos.iter().find(|p| p.abs() > limit) {
        return Err(invalid(format!(
            "BYSETPOS `{pos}`: with FREQ={freq} a position must be between 1 and {limit} or -{limit} and -1"
        )));
    }
    Ok(())
}

fn invalid(message: String) -> String {
    format!("invalid rule: {message}")
}

fn parse_freq(value: &str) -> Result<Freq, String> {
    let f = value.to_ascii_uppercase();
    Ok(match f.as_str() {
        "YEARLY" => Freq::Yearly,
        "MONTHLY" => Freq::Monthly,
        "WEEKLY" => Freq::Weekly,
        "DAILY" => Freq::Daily,
        "HOURLY" => Freq::Hourly,
        "MINUTELY" | "SECONDLY" => {
            return Err(format!(
                "FREQ={f} is not supported: the shortest recurrence is HOURLY"
            ))
        }
        _ => {
            return Err(format!(
                "FREQ `{value}` is not one of YEARLY, MONTHLY, WEEKLY, DAILY, HOURLY"
            ))
        }
    })
}

/// An integer as Rust's `str::parse` (and so the `rrule` crate) reads it: an
/// optional sign (`-` only when `signed`), then ASCII digits, leading zeros
/// allowed. `None` for anything else, or beyond `u32::MAX` in size (larger
/// than any part allows).
fn integer(s: &str, signed: bool) -> Option<i64> {
    let (negative, digits) = match s.as_bytes().first()? {
        b'+' => (false, &s[1..]),
        b'-' if signed => (true, &s[1..]),
        _ => (false, s),
    };
    if digits.is_empty() {
        return None;
    }
    let mut n: i64 = 0;
    for b in digits.bytes() {
        if !b.is_ascii_digit() {
            return None;
        }
        n = n * 10 + i64::from(b - b'0');
        if n > i64::from(u32::MAX) {
            return None;
        }
    }
    Some(if negative { -n } else { n })
}

/// A comma-separated list of integers in `range`; 0 is rejected when the
/// range is signed (the negative values count from the end).
fn numbers<T: TryFrom<i64>>(
    value: &str,
    name: &str,
    range: std::ops::RangeInclusive<i64>,
    what: &str,
) -> Result<Vec<T>, String> {
    let signed = *range.start() < 0;
    value
        .split(',')
        .map(|item| {
            integer(item, signed)
                .filter(|n| range.contains(n) && !(signed && *n == 0))
                .and_then(|n| T::try_from(n).ok())
                .ok_or_else(|| invalid(format!("{name} `{item}` is not {what}")))
        })
        .collect()
}

/// `MO`..`SU`, any case.
fn weekday(code: &str) -> Option<Weekday> {
    let code = code.as_bytes();
    if code.len() != 2 {
        return None;
    }
    Some(
        match [code[0].to_ascii_uppercase(), code[1].to_ascii_uppercase()] {
            [b'M', b'O'] => Weekday::Mon,
            [b'T', b'U'] => Weekday::Tue,
            [b'W', b'E'] => Weekday::Wed,
            [b'T', b'H'] => Weekday::Thu,
            [b'F', b'R'] => Weekday::Fri,
            [b'S', b'A'] => Weekday::Sat,
            [b'S', b'U'] => Weekday::Sun,
            _ => return None,
        },
    )
}

fn weekday_code(day: Weekday) -> &'static str {
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

/// One BYDAY item: `[+|-][1-53]` then a weekday.
fn weekday_num(item: &str) -> Result<WeekdayNum, String> {
    let bad = || {
        invalid(format!(
            "BYDAY `{item}` is not a weekday (MO, TU, WE, TH, FR, SA, SU), optionally after a number from 1 to 53 or -53 to -1 (e.g. 1MO, -1FR)"
        ))
    };
    let split = item.len().checked_sub(2).ok_or_else(bad)?;
    let (number, code) = (item.get(..split), item.get(split..));
    let (Some(number), Some(weekday)) = (number, code.and_then(weekday)) else {
        return Err(bad());
    };
    let ordinal = if number.is_empty() {
        None
    } else {
        match integer(number, true) {
            Some(n @ (-53..=-1 | 1..=53)) => Some(n as i8),
            _ => return Err(bad()),
        }
    };
    Ok(WeekdayNum { ordinal, weekday })
}
