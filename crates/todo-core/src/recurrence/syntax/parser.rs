//! [`parse`]: an RRULE value's framing (`RRULE:` prefix, one property, the
//! length limit), its NAME=VALUE parts, which parts may appear and how
//! often, and the rule they make up.

use super::combinations::check_combinations;
use super::invalid;
use super::rule::{Recur, Until};
use super::value::{integer, numbers, parse_freq, weekday, weekday_num};

/// Longest rule accepted (bytes, after trimming); real rules are far shorter.
pub const RRULE_MAX_LEN: usize = 1000;

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
/// message says what is wrong; see [`crate::recurrence::syntax`] for the rules.
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
