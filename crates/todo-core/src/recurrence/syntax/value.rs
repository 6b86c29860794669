//! Reading one part's value: integers as the `rrule` crate reads them,
//! lists of numbers in range, weekdays, BYDAY items, FREQ and UNTIL.

use chrono::{NaiveDate, NaiveDateTime, NaiveTime, Weekday};

use super::invalid;
use super::rule::{Freq, Until, WeekdayNum};

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

pub(super) fn parse_freq(value: &str) -> Result<Freq, String> {
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
pub(super) fn integer(s: &str, signed: bool) -> Option<i64> {
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
pub(super) fn numbers<T: TryFrom<i64>>(
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
pub(super) fn weekday(code: &str) -> Option<Weekday> {
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

/// One BYDAY item: `[+|-][1-53]` then a weekday.
pub(super) fn weekday_num(item: &str) -> Result<WeekdayNum, String> {
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
