//! The hand-written RRULE checker (`todo_core::recurrence::syntax`): a table per rule
//! part, and property tests that it agrees with the `rrule`-crate-based
//! validation it replaced (kept below, test-only, as `crate_path`) on which
//! rules are accepted and on what an accepted rule means.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::str::FromStr;

use chrono::{NaiveDate, NaiveDateTime, NaiveTime, TimeZone, Utc, Weekday};
use proptest::prelude::*;
use proptest::strategy::ValueTree;
use proptest::test_runner::TestRunner;
use rrule::{RRule, Unvalidated};
use todo_core::recurrence::syntax::{parse, Freq, Recur, Until, WeekdayNum, RRULE_MAX_LEN};
use todo_core::recurrence::{preview, validate_rrule};

// ---------------------------------------------------------------------------
// The previous validation (todo_core::recurrence before rrule_syntax existed):
// NAME=VALUE checks, then the rest handed to the `rrule` crate's parser and
// validator with a fixed start. Copied verbatim apart from returning the
// crate's rule, so the tests compare against exactly what used to be accepted.
// ---------------------------------------------------------------------------

#[derive(Debug)]
struct CratePath {
    count: Option<u32>,
    until: Option<Until>,
    rule: RRule<Unvalidated>,
}

fn crate_until(value: &str) -> Result<Until, String> {
    let bad = || format!("UNTIL `{value}` is bad");
    let digits_ok = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    let date = |s: &str| -> Result<NaiveDate, String> {
        if s.len() != 8 || !digits_ok(s) {
            return Err(bad());
        }
        NaiveDate::parse_from_str(s, "%Y%m%d").map_err(|_| bad())
    };
    let date_time = |s: &str| -> Result<NaiveDateTime, String> {
        let (d, t) = s.split_once(['T', 't']).ok_or_else(bad)?;
        if t.len() != 6 || !digits_ok(t) {
            return Err(bad());
        }
        let time = NaiveTime::parse_from_str(t, "%H%M%S").map_err(|_| bad())?;
        Ok(date(d)?.and_time(time))
    };
    if let Some(utc) = value.strip_suffix(['Z', 'z']) {
        Ok(Until::Utc(date_time(utc)?.and_utc()))
    } else if value.len() == 8 {
        Ok(Until::Date(date(value)?))
    } else {
        Ok(Until::Floating(date_time(value)?))
    }
}

fn crate_path_inner(input: &str) -> Result<CratePath, String> {
    let mut text = input.trim();
    if text.is_empty() {
        return Err("empty".into());
    }
    if text.to_ascii_uppercase().contains("DTSTART") {
        return Err("DTSTART".into());
    }
    if text.len() > RRULE_MAX_LEN {
        return Err("too long".into());
    }
    if let Some(prefix) = text.get(..6) {
        if prefix.eq_ignore_ascii_case("RRULE:") {
            text = &text[6..];
        }
    }
    if text.contains([':', '\n', '\r']) {
        return Err("one RRULE only".into());
    }
    let mut seen = std::collections::HashSet::new();
    let mut rest = Vec::new();
    let mut freq = None;
    let mut count = None;
    let mut until = None;
    for part in text.split(';').map(str::trim).filter(|p| !p.is_empty()) {
        let (name, value) = part.split_once('=').ok_or("not NAME=VALUE")?;
        let name = name.trim().to_ascii_uppercase();
        let value = value.trim();
        if value.is_empty() {
            return Err("no value".into());
        }
        if !seen.insert(name.clone()) {
            return Err("more than once".into());
        }
        match name.as_str() {
            "FREQ" => {
                let f = value.to_ascii_uppercase();
                match f.as_str() {
                    "YEARLY" | "MONTHLY" | "WEEKLY" | "DAILY" | "HOURLY" => {}
                    _ => return Err("FREQ".into()),
                }
                freq = Some(f.clone());
                rest.push(format!("FREQ={f}"));
            }
            "COUNT" => match value.parse::<u32>() {
                Ok(n) if n >= 1 => count = Some(n),
                _ => return Err("COUNT".into()),
            },
            "UNTIL" => until = Some(crate_until(value)?),
            "INTERVAL" => match value.parse::<u16>() {
                Ok(n) if n >= 1 => rest.push(format!("INTERVAL={n}")),
                _ => return Err("INTERVAL".into()),
            },
            _ => rest.push(format!("{name}={value}")),
        }
    }
    if freq.is_none() {
        return Err("FREQ is required".into());
    }
    if seen.contains("BYSETPOS")
        && !seen
            .iter()
            .any(|name| name.starts_with("BY") && name != "BYSETPOS")
    {
        return Err("BYSETPOS alone".into());
    }
    if count.is_some() && until.is_some() {
        return Err("COUNT and UNTIL".into());
    }
    let rule = RRule::<Unvalidated>::from_str(&rest.join(";")).map_err(|e| e.to_string())?;
    let probe = rrule::Tz::UTC
        .with_ymd_and_hms(2026, 1, 1, 0, 0, 0)
        .unwrap();
    rule.clone().validate(probe).map_err(|e| e.to_string())?;
    Ok(CratePath { count, until, rule })
}

/// The old validation; a panic inside the `rrule` crate counts as a rejection.
fn crate_path(input: &str) -> Result<CratePath, String> {
    catch_unwind(AssertUnwindSafe(|| crate_path_inner(input)))
        .unwrap_or_else(|_| Err("the rrule crate panicked".into()))
}

/// What production evaluation builds from an accepted rule: the canonical
/// text without COUNT and UNTIL, read by the `rrule` crate.
fn evaluated_rule(recur: &Recur) -> RRule<Unvalidated> {
    let unbounded = Recur {
        count: None,
        until: None,
        ..recur.clone()
    };
    RRule::from_str(&unbounded.to_string())
        .unwrap_or_else(|e| panic!("canonical {unbounded} rejected by the crate: {e}"))
}

/// Both readings of an accepted rule mean the same thing.
fn assert_same_meaning(rule: &str, recur: &Recur, old: &CratePath) {
    assert_eq!(recur.count, old.count, "{rule:?}: COUNT");
    assert_eq!(recur.until, old.until, "{rule:?}: UNTIL");
    assert_eq!(evaluated_rule(recur), old.rule, "{rule:?}: rule");
    let canonical = recur.to_string();
    assert_eq!(
        parse(&canonical).as_ref(),
        Ok(recur),
        "{rule:?}: canonical {canonical:?} does not read back"
    );
}

// ---------------------------------------------------------------------------
// Tables
// ---------------------------------------------------------------------------

fn accepted(rule: &str) -> Recur {
    let recur = parse(rule).unwrap_or_else(|e| panic!("{rule:?} rejected: {e}"));
    assert_eq!(validate_rrule(rule), Ok(()), "{rule:?}");
    let old = crate_path(rule).unwrap_or_else(|e| panic!("{rule:?}: the crate rejects: {e}"));
    assert_same_meaning(rule, &recur, &old);
    recur
}

fn rejected(rule: &str, needle: &str) -> String {
    let err = parse(rule)
        .map(|r| r.to_string())
        .expect_err(&format!("{rule:?} was accepted"));
    assert!(err.contains(needle), "{rule:?}: {err:?} lacks {needle:?}");
    assert_eq!(validate_rrule(rule), Err(err.clone()));
    err
}

fn day(ordinal: Option<i8>, weekday: Weekday) -> WeekdayNum {
    WeekdayNum { ordinal, weekday }
}

#[test]
fn reads_every_part() {
    let r = accepted(
        "RRULE:FREQ=MONTHLY;INTERVAL=2;COUNT=10;BYSECOND=0,30;BYMINUTE=15;BYHOUR=9,17;\
         BYDAY=MO,-1FR,+2TU;BYMONTHDAY=1,-1;BYMONTH=1,12;BYSETPOS=1,-1;WKST=su",
    );
    assert_eq!(r.freq, Freq::Monthly);
    assert_eq!(r.interval, 2);
    assert_eq!(r.count, Some(10));
    assert_eq!(r.until, None);
    assert_eq!(r.by_second, [0, 30]);
    assert_eq!(r.by_minute, [15]);
    assert_eq!(r.by_hour, [9, 17]);
    assert_eq!(
        r.by_day,
        [
            day(None, Weekday::Mon),
            day(Some(-1), Weekday::Fri),
            day(Some(2), Weekday::Tue)
        ]
    );
    assert_eq!(r.by_month_day, [1, -1]);
    assert_eq!(r.by_month, [1, 12]);
    assert_eq!(r.by_set_pos, [1, -1]);
    assert_eq!(r.wkst, Some(Weekday::Sun));
    assert_eq!(
        r.to_string(),
        "FREQ=MONTHLY;INTERVAL=2;COUNT=10;BYSECOND=0,30;BYMINUTE=15;BYHOUR=9,17;\
         BYDAY=MO,-1FR,2TU;BYMONTHDAY=1,-1;BYMONTH=1,12;BYSETPOS=1,-1;WKST=SU"
    );

    let r = accepted("FREQ=YEARLY;BYYEARDAY=1,-1,366;BYWEEKNO=1,-53,20;UNTIL=20301231");
    assert_eq!(r.by_year_day, [1, -1, 366]);
    assert_eq!(r.by_week_no, [1, -53, 20]);
    assert_eq!(
        r.until,
        Some(Until::Date(NaiveDate::from_ymd_opt(2030, 12, 31).unwrap()))
    );
    assert_eq!(
        r.to_string(),
        "FREQ=YEARLY;UNTIL=20301231;BYYEARDAY=1,-1,366;BYWEEKNO=1,-53,20"
    );
}

#[test]
fn general_syntax() {
    for rule in [
        "FREQ=DAILY",
        "freq=daily",
        "RRULE:FREQ=DAILY",
        "rrule:FREQ=DAILY",
        "RRULE: FREQ=DAILY",
        "  FREQ = DAILY ; COUNT = 3 ;; ",
        ";FREQ=DAILY;",
        "BYDAY=MO;FREQ=WEEKLY",
        "FREQ=WEEKLY;BYWEEKDAY=MO,TU",
        // trailing whitespace (\r included) is trimmed before anything else
        "FREQ=DAILY\r\n",
    ] {
        accepted(rule);
    }
    let long = format!("FREQ=DAILY;BYHOUR={}", vec!["1"; 600].join(","));
    let just_fits = format!(
        "FREQ=DAILY;BYHOUR=1{}",
        ",1".repeat((RRULE_MAX_LEN - 19) / 2)
    );
    assert!(just_fits.len() <= RRULE_MAX_LEN);
    accepted(&just_fits);
    for (rule, needle) in [
        ("", "empty"),
        (" \t ", "empty"),
        ("RRULE:", "FREQ is required"),
        ("FREQ", "NAME=VALUE"),
        ("FREQ=DAILY;COUNT", "NAME=VALUE"),
        ("=DAILY", "FREQ is required"),
        ("FREQ=DAILY;=3", "not an RRULE part"),
        ("FREQ=DAILY;BYHOUR= ", "no value"),
        ("FREQ=DAILY;freq=daily", "FREQ is given more than once"),
        (
            "FREQ=WEEKLY;BYDAY=MO;BYDAY=TU",
            "BYDAY is given more than once",
        ),
        (
            "FREQ=WEEKLY;BYDAY=MO;BYWEEKDAY=TU",
            "BYWEEKDAY is another name",
        ),
        ("FREQ=DAILY;FOO=1;FOO=2", "FOO is given more than once"),
        ("FREQ=DAILY;X-FOO=1", "`X-FOO` is not an RRULE part"),
        ("FREQ=DAILY;BYEASTER=0", "`BYEASTER` is not an RRULE part"),
        ("FREQ=DAILY;BY DAY=MO", "`BY DAY` is not an RRULE part"),
        ("FREQ=DAILY;DTSTART=20260101T000000Z", "DTSTART"),
        ("dtstart:20260101T000000Z", "DTSTART"),
        ("RRULE:RRULE:FREQ=DAILY", "only the value of one RRULE"),
        ("FREQ=DAILY\nFREQ=DAILY", "only the value of one RRULE"),
        (&long, "longer than 1000"),
    ] {
        rejected(rule, needle);
        assert!(crate_path(rule).is_err(), "{rule:?}: the crate accepts");
    }
}

#[test]
fn freq_count_interval_until() {
    for rule in [
        "FREQ=YEARLY",
        "FREQ=MONTHLY",
        "FREQ=WEEKLY",
        "FREQ=DAILY",
        "FREQ=HOURLY",
        "FREQ=Hourly",
        "FREQ=DAILY;COUNT=1",
        "FREQ=DAILY;COUNT=4294967295",
        "FREQ=DAILY;COUNT=+3",
        "FREQ=DAILY;COUNT=007",
        "FREQ=DAILY;INTERVAL=1",
        "FREQ=DAILY;INTERVAL=65535",
        "FREQ=DAILY;INTERVAL=+2",
        "FREQ=DAILY;UNTIL=20261231T235959Z",
        "FREQ=DAILY;UNTIL=20261231t235959z",
        "FREQ=DAILY;UNTIL=20261231T090000",
        "FREQ=DAILY;UNTIL=20261231",
        "FREQ=DAILY;UNTIL=20240229",
        "FREQ=DAILY;UNTIL=00000101",
        "FREQ=DAILY;UNTIL=99991231T235959Z",
        // chrono's %S reads 60 as a leap second, and so did the old validation
        "FREQ=DAILY;UNTIL=20261231T235960Z",
    ] {
        accepted(rule);
    }
    let leap = parse("FREQ=DAILY;UNTIL=20261231T235960Z").unwrap();
    assert_eq!(
        leap.until.unwrap().to_string(),
        "20261231T235960Z",
        "a leap second is written back as 60"
    );

    for (rule, needle) in [
        ("FREQ=MINUTELY", "FREQ=MINUTELY is not supported"),
        ("FREQ=secondly", "FREQ=SECONDLY is not supported"),
        ("FREQ=FORTNIGHTLY", "not one of YEARLY"),
        ("FREQ=DAILY ;FREQ=WEEKLY", "more than once"),
        ("COUNT=3", "FREQ is required"),
        ("FREQ=DAILY;COUNT=0", "COUNT `0` is not a positive integer"),
        ("FREQ=DAILY;COUNT=-1", "COUNT"),
        ("FREQ=DAILY;COUNT=-0", "COUNT"),
        ("FREQ=DAILY;COUNT=4294967296", "COUNT"),
        ("FREQ=DAILY;COUNT=1.5", "COUNT"),
        ("FREQ=DAILY;COUNT=+", "COUNT"),
        ("FREQ=DAILY;INTERVAL=0", "INTERVAL `0`"),
        ("FREQ=DAILY;INTERVAL=65536", "between 1 and 65535"),
        ("FREQ=DAILY;INTERVAL=-2", "INTERVAL"),
        ("FREQ=DAILY;INTERVAL=two", "INTERVAL"),
        ("FREQ=DAILY;UNTIL=20260230", "UNTIL `20260230`"),
        ("FREQ=DAILY;UNTIL=20250229", "UNTIL"),
        ("FREQ=DAILY;UNTIL=20261301", "UNTIL"),
        ("FREQ=DAILY;UNTIL=20261200", "UNTIL"),
        ("FREQ=DAILY;UNTIL=20261231T240000Z", "UNTIL"),
        ("FREQ=DAILY;UNTIL=20261231T236000Z", "UNTIL"),
        ("FREQ=DAILY;UNTIL=20261231T235961Z", "UNTIL"),
        ("FREQ=DAILY;UNTIL=20261231T2359Z", "UNTIL"),
        ("FREQ=DAILY;UNTIL=2026-12-31", "UNTIL"),
        ("FREQ=DAILY;UNTIL=+0261231", "UNTIL"),
        ("FREQ=DAILY;UNTIL=20261231Z", "UNTIL"),
        ("FREQ=DAILY;UNTIL=20261231T", "UNTIL"),
        ("FREQ=DAILY;UNTIL=20261231T235959ZZ", "UNTIL"),
        ("FREQ=DAILY;UNTIL=2026123éT235959Z", "UNTIL"),
        ("FREQ=DAILY;COUNT=2;UNTIL=20261231", "COUNT and UNTIL"),
    ] {
        rejected(rule, needle);
        assert!(crate_path(rule).is_err(), "{rule:?}: the crate accepts");
    }
}

#[test]
fn numeric_lists() {
    // (part, lowest, highest, signed: 0 excluded and negatives mirrored)
    let parts = [
        ("BYSECOND", 0, 59, false),
        ("BYMINUTE", 0, 59, false),
        ("BYHOUR", 0, 23, false),
        ("BYMONTH", 1, 12, false),
        ("BYMONTHDAY", 1, 31, true),
        ("BYYEARDAY", 1, 366, true),
        ("BYWEEKNO", 1, 53, true),
        ("BYSETPOS", 1, 366, true),
    ];
    for (part, low, high, signed) in parts {
        // FREQ=YEARLY allows every part; BYSETPOS needs a companion
        let rule = |v: &str| {
            if part == "BYHOUR" {
                format!("FREQ=YEARLY;BYHOUR={v}")
            } else {
                format!("FREQ=YEARLY;{part}={v};BYHOUR=9")
            }
        };
        accepted(&rule(&low.to_string()));
        accepted(&rule(&high.to_string()));
        accepted(&rule(&format!("+{high}")));
        accepted(&rule(&format!("0{high}")));
        accepted(&rule(&format!("{low},{high},{low}")));
        rejected(&rule(&(high + 1).to_string()), part);
        rejected(
            &rule(&format!("{low},{}", high + 1)),
            &format!("`{}`", high + 1),
        );
        rejected(&rule(""), "no value");
        rejected(&rule(&format!("{low},")), &format!("{part} ``"));
        rejected(&rule(&format!(",{low}")), part);
        rejected(&rule(&format!("{low}, {high}")), part);
        rejected(&rule(&format!("{low};{part}={high}")), "more than once");
        rejected(&rule("x"), part);
        rejected(&rule("1.0"), part);
        rejected(&rule("99999999999999999999"), part);
        if signed {
            accepted(&rule(&format!("-{low}")));
            accepted(&rule(&format!("-{high}")));
            rejected(&rule(&format!("-{}", high + 1)), part);
            rejected(&rule("0"), "`0`");
            rejected(&rule("-0"), "`-0`");
        } else {
            rejected(&rule(&format!("-{low}")), part);
            rejected(&rule("-0"), part);
            if low > 0 {
                rejected(&rule("0"), part);
            }
        }
    }
    // a leap second is not supported by the rule engine
    rejected("FREQ=DAILY;BYSECOND=60", "a second from 0 to 59");
}

#[test]
fn parts_that_depend_on_freq() {
    for rule in [
        "FREQ=MONTHLY;BYMONTHDAY=31",
        "FREQ=DAILY;BYMONTHDAY=-1",
        "FREQ=HOURLY;BYMONTHDAY=1",
        "FREQ=YEARLY;BYYEARDAY=100",
        "FREQ=HOURLY;BYYEARDAY=-1",
        "FREQ=YEARLY;BYWEEKNO=53",
        "FREQ=YEARLY;BYWEEKNO=20;BYDAY=MO",
        "FREQ=MONTHLY;BYDAY=-4MO,5FR,1SU",
        "FREQ=YEARLY;BYDAY=-52MO,53FR,+1SU",
        "FREQ=YEARLY;BYMONTH=3;BYDAY=-1SU",
        "FREQ=WEEKLY;BYDAY=mo,Tu,WE,th,FR,SA,SU",
        "FREQ=HOURLY;BYDAY=MO",
        "FREQ=YEARLY;BYMONTH=1;BYSETPOS=366,-366",
        "FREQ=DAILY;BYHOUR=9;BYSETPOS=-366",
        "FREQ=MONTHLY;BYDAY=MO;BYSETPOS=31,-31",
        "FREQ=WEEKLY;BYDAY=MO;BYSETPOS=53",
        "FREQ=HOURLY;BYMINUTE=0;BYSETPOS=-24",
        "FREQ=MONTHLY;BYWEEKDAY=MO;BYSETPOS=1",
    ] {
        accepted(rule);
    }
    for (rule, needle) in [
        (
            "FREQ=WEEKLY;BYMONTHDAY=1",
            "BYMONTHDAY cannot be used with FREQ=WEEKLY",
        ),
        (
            "FREQ=DAILY;BYYEARDAY=1",
            "BYYEARDAY cannot be used with FREQ=DAILY",
        ),
        ("FREQ=WEEKLY;BYYEARDAY=1", "FREQ=WEEKLY"),
        ("FREQ=MONTHLY;BYYEARDAY=-1", "FREQ=MONTHLY"),
        (
            "FREQ=MONTHLY;BYWEEKNO=1",
            "BYWEEKNO can only be used with FREQ=YEARLY",
        ),
        ("FREQ=HOURLY;BYWEEKNO=1", "not FREQ=HOURLY"),
        ("FREQ=MONTHLY;BYDAY=6MO", "between -5 and 5"),
        ("FREQ=MONTHLY;BYDAY=-6MO", "between -5 and 5"),
        ("FREQ=YEARLY;BYDAY=-53MO", "between -52 and 53"),
        ("FREQ=YEARLY;BYDAY=54MO", "BYDAY `54MO` is not a weekday"),
        ("FREQ=DAILY;BYSETPOS=1", "BYSETPOS must be used together"),
        (
            "FREQ=DAILY;BYSETPOS=1;COUNT=2;INTERVAL=2;WKST=MO",
            "BYSETPOS",
        ),
        ("FREQ=MONTHLY;BYDAY=MO;BYSETPOS=32", "between 1 and 31"),
        ("FREQ=WEEKLY;BYDAY=MO;BYSETPOS=-54", "between 1 and 53"),
        ("FREQ=HOURLY;BYMINUTE=0;BYSETPOS=25", "between 1 and 24"),
        ("FREQ=YEARLY;BYMONTH=1;BYSETPOS=367", "BYSETPOS `367`"),
        ("FREQ=YEARLY;BYMONTH=1;BYSETPOS=0", "BYSETPOS `0`"),
    ] {
        rejected(rule, needle);
        assert!(crate_path(rule).is_err(), "{rule:?}: the crate accepts");
    }
}

#[test]
fn weekdays() {
    for rule in [
        "FREQ=WEEKLY;BYDAY=SU",
        "FREQ=WEEKLY;BYDAY=mo,mo",
        "FREQ=MONTHLY;BYDAY=01MO,-01FR",
        "FREQ=MONTHLY;BYDAY=+001MO",
        "FREQ=WEEKLY;WKST=MO",
        "FREQ=WEEKLY;WKST=sa;BYDAY=SA,SU;INTERVAL=2",
    ] {
        accepted(rule);
    }
    for (rule, needle) in [
        ("FREQ=WEEKLY;BYDAY=XX", "BYDAY `XX` is not a weekday"),
        ("FREQ=WEEKLY;BYDAY=MON", "`MON`"),
        ("FREQ=WEEKLY;BYDAY=M", "`M`"),
        ("FREQ=WEEKLY;BYDAY=MO,", "BYDAY ``"),
        ("FREQ=WEEKLY;BYDAY=MO,,TU", "BYDAY ``"),
        ("FREQ=WEEKLY;BYDAY=MÖ", "`MÖ`"),
        ("FREQ=WEEKLY;WKST=MONDAY", "WKST `MONDAY` is not a weekday"),
        ("FREQ=WEEKLY;WKST=1MO", "WKST"),
    ] {
        rejected(rule, needle);
        assert!(crate_path(rule).is_err(), "{rule:?}: the crate accepts");
    }
}

/// Rules the `rrule` crate accepts but RFC 5545 forbids; the crate then reads
/// them in surprising ways. Rejected on purpose (see the module documentation).
#[test]
fn stricter_than_the_crate() {
    for (rule, needle) in [
        // junk before the weekday is silently dropped by the crate
        ("FREQ=WEEKLY;BYDAY=XMO", "`XMO` is not a weekday"),
        ("FREQ=WEEKLY;BYDAY=+MO", "`+MO`"),
        ("FREQ=WEEKLY;BYDAY=-MO", "`-MO`"),
        ("FREQ=WEEKLY;BYDAY=MO, WE", "` WE`"),
        ("FREQ=WEEKLY;BYDAY=MO=TU", "`MO=TU`"),
        ("FREQ=MONTHLY;BYDAY=99999MO", "`99999MO`"),
        ("FREQ=MONTHLY;BYDAY=0MO", "`0MO`"),
        ("FREQ=MONTHLY;BYDAY=-0MO", "`-0MO`"),
        ("FREQ=MONTHLY;BYDAY=1 MO", "`1 MO`"),
        // BYMONTHDAY=0 is dropped by the crate
        ("FREQ=MONTHLY;BYMONTHDAY=0", "BYMONTHDAY `0`"),
        ("FREQ=MONTHLY;BYMONTHDAY=0,15", "BYMONTHDAY `0`"),
        // the crate only rejects positive days with WEEKLY
        (
            "FREQ=WEEKLY;BYMONTHDAY=-1",
            "cannot be used with FREQ=WEEKLY",
        ),
        // a numbered weekday outside MONTHLY/YEARLY: the crate yields every day
        (
            "FREQ=WEEKLY;BYDAY=2MO",
            "only allowed with FREQ=MONTHLY or FREQ=YEARLY",
        ),
        ("FREQ=DAILY;BYDAY=1MO", "write `MO` for every such day"),
        ("FREQ=HOURLY;BYDAY=-1FR", "only allowed"),
        (
            "FREQ=YEARLY;BYWEEKNO=1;BYDAY=1MO",
            "not allowed together with BYWEEKNO",
        ),
        // the crate upper-cases with Unicode rules: ſ (long s) becomes S
        ("FREQ=WEEKLY;WKST=ſu", "WKST `ſu`"),
        ("FREQ=DAILY;BYſECOND=1", "`BYſECOND` is not an RRULE part"),
    ] {
        rejected(rule, needle);
        assert!(
            crate_path(rule).is_ok(),
            "{rule:?}: the crate rejects it too, move it to another table"
        );
    }
    // the crate panics on some non-ASCII BYDAY values (a byte index inside a
    // character); this is a plain error here
    let rule = "FREQ=DAILY;BYDAY=éa";
    rejected(rule, "BYDAY `éa`");
    assert!(crate_path(rule).is_err());
}

#[test]
fn accepted_rules_evaluate() {
    // the production path (rrule_syntax, then the crate) for a few rules
    let start = Utc.with_ymd_and_hms(2026, 1, 1, 9, 0, 0).unwrap();
    for rule in [
        "FREQ=MONTHLY;BYDAY=MO,TU,WE,TH,FR;BYSETPOS=-1;COUNT=3",
        "RRULE:freq=yearly;byweekno=1;byday=mo",
        "FREQ=DAILY;UNTIL=20260103T235960Z",
        "FREQ=HOURLY;BYYEARDAY=-1;BYHOUR=+09",
    ] {
        let dates =
            preview(rule, start, "Europe/Berlin", 3).unwrap_or_else(|e| panic!("{rule:?}: {e}"));
        assert!(!dates.is_empty(), "{rule:?}");
    }
}

// ---------------------------------------------------------------------------
// Property tests
// ---------------------------------------------------------------------------

/// What the generator knows about a part, to tell which rules fall under a
/// deliberate difference from the crate (see `stricter_than_the_crate`).
#[derive(Debug, Clone, Copy, PartialEq)]
enum Fact {
    Freq(Option<&'static str>),
    ByDay {
        /// some item has a non-zero number (as the crate reads it)
        numbered: bool,
        /// some item has a prefix the crate silently drops (junk or zero)
        dropped_prefix: bool,
    },
    ByMonthDay {
        zero: bool,
    },
    ByWeekNo,
    Other,
}

#[derive(Debug, Clone)]
struct GenPart {
    text: String,
    fact: Fact,
}

fn any_case(s: &'static str) -> impl Strategy<Value = String> {
    prop_oneof![
        3 => Just(s.to_string()),
        1 => Just(s.to_ascii_lowercase()),
        1 => proptest::collection::vec(any::<bool>(), s.len()).prop_map(move |up| {
            s.chars()
                .zip(up)
                .map(|(c, u)| if u { c.to_ascii_uppercase() } else { c.to_ascii_lowercase() })
                .collect()
        }),
    ]
}

/// A number as text: mostly in `low..=high`, sometimes just outside, negated,
/// with `+` or leading zeros, or not a number at all.
fn number(low: i64, high: i64) -> impl Strategy<Value = String> {
    prop_oneof![
        24 => (low..=high).prop_map(|n| n.to_string()),
        2 => prop_oneof![Just(low - 1), Just(high + 1)].prop_map(|n| n.to_string()),
        3 => prop::sample::select(vec![low, high, -low, -high]).prop_map(|n| n.to_string()),
        3 => (low..=high).prop_map(|n| (-n).to_string()),
        1 => (low..=high).prop_map(|n| format!("+{n}")),
        1 => (low..=high).prop_map(|n| format!("0{n}")),
        1 => prop_oneof![
            Just("0".to_string()),
            Just("-0".to_string()),
            Just("+0".to_string()),
            Just("".to_string()),
            Just("+".to_string()),
            Just("-".to_string()),
            Just("x".to_string()),
            Just("1.5".to_string()),
            Just(" 1".to_string()),
            Just("4294967295".to_string()),
            Just("4294967296".to_string()),
            Just("99999999999999999999".to_string()),
        ],
    ]
}

fn list(item: impl Strategy<Value = String>) -> impl Strategy<Value = String> {
    proptest::collection::vec(item, 1..4).prop_map(|v| v.join(","))
}

fn weekday_code() -> impl Strategy<Value = String> {
    prop_oneof![
        10 => prop_oneof![
            any_case("MO"),
            any_case("TU"),
            any_case("WE"),
            any_case("TH"),
            any_case("FR"),
            any_case("SA"),
            any_case("SU"),
        ],
        1 => prop_oneof![
            Just("XX".to_string()),
            Just("MON".to_string()),
            Just("M".to_string()),
            Just("".to_string()),
            Just("M0".to_string()),
        ],
    ]
}

/// A BYDAY item and (numbered, dropped_prefix) as the crate reads it.
fn byday_item() -> impl Strategy<Value = (String, bool, bool)> {
    let prefix = prop_oneof![
        6 => Just(String::new()),
        3 => (-6i64..=6).prop_map(|n| n.to_string()),
        1 => (-56i64..=56).prop_map(|n| n.to_string()),
        // the edges of the crate's ranges (MONTHLY -4..=5, YEARLY -52..=53)
        2 => prop::sample::select(vec![-54i64, -53, -52, -5, -4, 5, 6, 52, 53, 54])
            .prop_map(|n| n.to_string()),
        1 => (1i64..=6).prop_map(|n| format!("+{n}")),
        1 => (1i64..=6).prop_map(|n| format!("0{n}")),
        1 => prop_oneof![
            Just("0".to_string()),
            Just("-0".to_string()),
            Just("+".to_string()),
            Just("-".to_string()),
            Just("x".to_string()),
            Just("MO=".to_string()),
            Just("99999".to_string()),
        ],
    ];
    (prefix, weekday_code()).prop_map(|(prefix, code)| {
        let read = prefix.parse::<i16>();
        let numbered = matches!(read, Ok(n) if n != 0);
        let dropped_prefix = !prefix.is_empty() && !numbered;
        (format!("{prefix}{code}"), numbered, dropped_prefix)
    })
}

fn until_value() -> impl Strategy<Value = String> {
    let date = (
        prop_oneof![
            Just("2026"),
            Just("2024"),
            Just("2025"),
            Just("0000"),
            Just("9999")
        ],
        prop_oneof![4 => 1u32..=12, 1 => prop::sample::select(vec![0u32, 13])],
        prop_oneof![4 => 1u32..=28, 2 => 29u32..=31, 1 => prop::sample::select(vec![0u32, 32])],
    )
        .prop_map(|(y, m, d)| format!("{y}{m:02}{d:02}"));
    // the edges (24:00, minute 60, leap second 60, second 61) come up often
    let time = (
        prop_oneof![4 => 0u32..=23, 1 => Just(24u32)],
        prop_oneof![4 => 0u32..=59, 1 => Just(60u32)],
        prop_oneof![4 => 0u32..=59, 1 => Just(60u32), 1 => Just(61u32)],
    )
        .prop_map(|(h, m, s)| format!("{h:02}{m:02}{s:02}"));
    prop_oneof![
        3 => (date.clone(), prop_oneof![Just("T"), Just("t")], time.clone(), prop_oneof![Just("Z"), Just("z"), Just("")])
            .prop_map(|(d, t, hms, z)| format!("{d}{t}{hms}{z}")),
        1 => date.clone(),
        1 => prop_oneof![
            date.clone().prop_map(|d| format!("{d}Z")),
            date.prop_map(|d| format!("{d}T")),
            time.prop_map(|t| format!("2026123T{t}Z")),
            Just("tomorrow".to_string()),
            Just("20261231T2359Z".to_string()),
            Just("2026-12-31".to_string()),
            Just("+0261231".to_string()),
        ],
    ]
}

fn numeric_part(
    name: &'static str,
    low: i64,
    high: i64,
) -> impl Strategy<Value = (String, String)> {
    (any_case(name), list(number(low, high)))
}

const FREQS: [&str; 5] = ["YEARLY", "MONTHLY", "WEEKLY", "DAILY", "HOURLY"];

fn strings(items: &[&'static str]) -> impl Strategy<Value = String> {
    prop::sample::select(items.to_vec()).prop_map(str::to_string)
}

/// `NAME=VALUE` with nothing the deliberate differences depend on.
fn plain(
    name: impl Strategy<Value = String>,
    value: impl Strategy<Value = String>,
) -> impl Strategy<Value = GenPart> {
    (name, value).prop_map(|(n, v)| GenPart {
        text: format!("{n}={v}"),
        fact: Fact::Other,
    })
}

fn freq_part() -> impl Strategy<Value = GenPart> {
    let freq = prop::sample::select(FREQS.to_vec());
    (any_case("FREQ"), freq, any::<bool>()).prop_map(|(n, f, lower)| GenPart {
        text: if lower {
            format!("{n}={}", f.to_ascii_lowercase())
        } else {
            format!("{n}={f}")
        },
        fact: Fact::Freq(Some(f)),
    })
}

fn bad_freq_part() -> impl Strategy<Value = GenPart> {
    let value = strings(&["MINUTELY", "SECONDLY", "FORTNIGHTLY", ""]);
    (any_case("FREQ"), value).prop_map(|(n, f)| GenPart {
        text: format!("{n}={f}"),
        fact: Fact::Freq(None),
    })
}

fn month_day_part() -> impl Strategy<Value = GenPart> {
    let items = proptest::collection::vec(number(1, 31), 1..4);
    (any_case("BYMONTHDAY"), items).prop_map(|(n, items)| GenPart {
        text: format!("{n}={}", items.join(",")),
        fact: Fact::ByMonthDay {
            zero: items.iter().any(|i| i.parse::<i8>() == Ok(0)),
        },
    })
}

fn week_no_part() -> impl Strategy<Value = GenPart> {
    numeric_part("BYWEEKNO", 1, 53).prop_map(|(n, v)| GenPart {
        text: format!("{n}={v}"),
        fact: Fact::ByWeekNo,
    })
}

fn by_day_part() -> impl Strategy<Value = GenPart> {
    let name = prop_oneof![4 => any_case("BYDAY"), 1 => any_case("BYWEEKDAY")];
    let items = proptest::collection::vec(byday_item(), 1..4);
    (name, items).prop_map(|(n, items)| {
        let texts: Vec<&str> = items.iter().map(|i| i.0.as_str()).collect();
        GenPart {
            text: format!("{n}={}", texts.join(",")),
            fact: Fact::ByDay {
                numbered: items.iter().any(|i| i.1),
                dropped_prefix: items.iter().any(|i| i.2),
            },
        }
    })
}

fn part() -> impl Strategy<Value = GenPart> {
    let interval = prop_oneof![number(0, 3), strings(&["65535", "65536"])];
    // the edges of the crate's per-FREQ ranges: 24, 31, 53, 366
    let edges = vec![24i64, 25, 31, 32, 53, 54, 366, 367];
    let set_pos = prop_oneof![
        6 => number(1, 24),
        2 => (prop::sample::select(edges), any::<bool>())
            .prop_map(|(n, neg)| if neg { format!("-{n}") } else { n.to_string() }),
        1 => number(25, 60),
    ];
    let unknown = strings(&["FOO", "BYFOO", "X-NAME", "BYEASTER", ""]);
    let junk = strings(&[
        "FREQ",
        "BYHOUR",
        "DTSTART=20260101T000000Z",
        "EXDATE:20260101",
    ]);
    prop_oneof![
        3 => freq_part().boxed(),
        1 => bad_freq_part().boxed(),
        2 => plain(any_case("COUNT"), number(0, 5)).boxed(),
        1 => plain(any_case("INTERVAL"), interval).boxed(),
        2 => plain(any_case("UNTIL"), until_value()).boxed(),
        2 => plain(any_case("BYSECOND"), list(number(0, 59))).boxed(),
        2 => plain(any_case("BYMINUTE"), list(number(0, 59))).boxed(),
        2 => plain(any_case("BYHOUR"), list(number(0, 23))).boxed(),
        2 => plain(any_case("BYMONTH"), list(number(1, 12))).boxed(),
        3 => month_day_part().boxed(),
        2 => plain(any_case("BYYEARDAY"), list(number(1, 366))).boxed(),
        2 => week_no_part().boxed(),
        3 => plain(any_case("BYSETPOS"), list(set_pos)).boxed(),
        5 => by_day_part().boxed(),
        1 => plain(any_case("WKST"), weekday_code()).boxed(),
        1 => plain(unknown, number(0, 3)).boxed(),
        1 => junk.prop_map(|text| GenPart { text, fact: Fact::Other }).boxed(),
    ]
}

/// Whether a rule made of `parts` falls under a deliberate difference from
/// the crate (so only `rrule_syntax` rejects it).
fn stricter(parts: &[GenPart]) -> bool {
    let freq = parts
        .iter()
        .find_map(|p| match p.fact {
            Fact::Freq(f) => Some(f),
            _ => None,
        })
        .flatten();
    let any = |f: fn(&Fact) -> bool| parts.iter().any(|p| f(&p.fact));
    let numbered = any(|f| matches!(f, Fact::ByDay { numbered: true, .. }));
    let dropped = any(|f| {
        matches!(
            f,
            Fact::ByDay {
                dropped_prefix: true,
                ..
            }
        )
    });
    let zero_monthday = any(|f| matches!(f, Fact::ByMonthDay { zero: true }));
    let monthday = any(|f| matches!(f, Fact::ByMonthDay { .. }));
    let weekno = any(|f| matches!(f, Fact::ByWeekNo));
    dropped
        || zero_monthday
        || (freq == Some("WEEKLY") && monthday)
        || (numbered && !matches!(freq, Some("MONTHLY" | "YEARLY")))
        || (numbered && weekno && freq == Some("YEARLY"))
}

/// A rule text and [`stricter`]: a FREQ (usually) and up to three other
/// parts, any order, with the optional prefix, separators and padding.
fn rule() -> impl Strategy<Value = (String, bool)> {
    let parts = (
        proptest::option::weighted(0.9, freq_part()),
        proptest::collection::vec(part(), 0..4),
    )
        .prop_flat_map(|(freq, mut parts)| {
            parts.extend(freq);
            Just(parts).prop_shuffle()
        });
    (
        parts,
        prop_oneof![8 => Just(""), 1 => Just("RRULE:"), 1 => Just("rrule: ")],
        prop_oneof![8 => Just(";"), 1 => Just(" ; "), 1 => Just(";;")],
        prop_oneof![8 => Just(""), 1 => Just(";"), 1 => Just("  ")],
        proptest::bool::weighted(0.1),
    )
        .prop_map(|(parts, prefix, sep, end, pad)| {
            let texts: Vec<&str> = parts.iter().map(|p| p.text.as_str()).collect();
            let mut text = format!("{prefix}{}{end}", texts.join(sep));
            if pad {
                // near the length cap
                text = format!("{text};BYMINUTE=0{}", ",0".repeat(480));
            }
            (text, stricter(&parts))
        })
}

/// A valid FREQ, one part whose limits depend on FREQ (with values at the
/// edges of those limits), and usually a companion part: the combinations
/// `rule()` reaches only now and then.
fn focused_rule() -> impl Strategy<Value = (String, bool)> {
    let edges = |values: Vec<i64>| {
        proptest::collection::vec(
            (prop::sample::select(values), any::<bool>())
                .prop_map(|(n, neg)| if neg { -n } else { n }.to_string()),
            1..3,
        )
        .prop_map(|v| v.join(","))
    };
    let fact_part = |name: &'static str, values: Vec<i64>, fact: Fact| {
        (any_case(name), edges(values)).prop_map(move |(n, v)| GenPart {
            text: format!("{n}={v}"),
            fact,
        })
    };
    let focus = prop_oneof![
        2 => fact_part("BYSETPOS", vec![1, 24, 25, 31, 32, 53, 54, 366, 367], Fact::Other),
        1 => fact_part("BYYEARDAY", vec![1, 366, 367], Fact::Other),
        1 => fact_part("BYWEEKNO", vec![1, 53, 54], Fact::ByWeekNo),
        1 => month_day_part(),
        3 => by_day_part(),
    ];
    let companion = proptest::option::weighted(
        0.8,
        strings(&[
            "BYHOUR=9",
            "BYMONTH=1,6",
            "BYDAY=MO",
            "BYWEEKNO=20",
            "BYMONTHDAY=1",
        ]),
    );
    (freq_part(), focus, companion)
        .prop_flat_map(|(freq, focus, companion)| {
            let mut parts = vec![freq, focus];
            parts.extend(companion.map(|text| GenPart {
                fact: match text.as_str() {
                    "BYDAY=MO" => Fact::ByDay {
                        numbered: false,
                        dropped_prefix: false,
                    },
                    "BYWEEKNO=20" => Fact::ByWeekNo,
                    "BYMONTHDAY=1" => Fact::ByMonthDay { zero: false },
                    _ => Fact::Other,
                },
                text,
            }));
            Just(parts).prop_shuffle()
        })
        .prop_map(|parts| {
            let texts: Vec<&str> = parts.iter().map(|p| p.text.as_str()).collect();
            (texts.join(";"), stricter(&parts))
        })
}

/// Pieces of rules, glued together at random by `never_accepts_what_the_crate_rejects`.
#[rustfmt::skip]
const TOKENS: &[&str] = &[
    "FREQ=", "COUNT=", "UNTIL=", "INTERVAL=", "BYSECOND=", "BYMINUTE=", "BYHOUR=", "BYDAY=",
    "BYWEEKDAY=", "BYMONTHDAY=", "BYYEARDAY=", "BYWEEKNO=", "BYMONTH=", "BYSETPOS=", "WKST=",
    "RRULE:", "=", ";", ";", ";", ",", ",", "+", "-", "-", " ", "0", "1", "2", "4", "5", "9", "12",
    "23", "24", "31", "32", "53", "59", "60", "366", "367", "MO", "fr", "Su", "X", "YEARLY",
    "monthly", "WEEKLY", "DAILY", "HOURLY", "MINUTELY", "20260101", "T", "Z", "120000",
];

proptest! {
    #![proptest_config(ProptestConfig { cases: 6000, ..ProptestConfig::default() })]

    /// Accepted exactly when the old, crate-based validation accepted (apart
    /// from the deliberate differences), and read the same way.
    #[test]
    fn agrees_with_the_rrule_crate(
        (rule, stricter) in prop_oneof![3 => rule(), 1 => focused_rule()]
    ) {
        let new = parse(&rule);
        let old = crate_path(&rule);
        // Deliberately wider: RFC 5545 allows -5MO with MONTHLY, the crate
        // does not (`monthly_minus_five_is_accepted`).
        prop_assume!(!new.as_ref().is_ok_and(minus_five_monthly));
        let expected = old.is_ok() && !stricter;
        prop_assert_eq!(
            new.is_ok(),
            expected,
            "{:?}: recurrence::syntax says {:?}, the crate path says {:?} (deliberately stricter: {})",
            rule, new.as_ref().map(|r| r.to_string()), old.as_ref().map(|_| ()), stricter
        );
        if let (Ok(recur), Ok(old)) = (&new, &old) {
            assert_same_meaning(&rule, recur, old);
        }
    }

    /// Arbitrary text over the rule alphabet: whatever `rrule_syntax` accepts
    /// the crate path accepts too (a rule that passes validation can always be
    /// evaluated), and nothing panics.
    #[test]
    fn never_accepts_what_the_crate_rejects(
        tokens in proptest::collection::vec(prop::sample::select(TOKENS), 0..24)
    ) {
        let rule = tokens.concat();
        if let Ok(recur) = parse(&rule).map_err(|_| ()).and_then(|r| if minus_five_monthly(&r) { Err(()) } else { Ok(r) }) {
            let old = crate_path(&rule);
            prop_assert!(old.is_ok(), "{:?}: accepted, but the crate path says {:?}", rule, old.err());
            assert_same_meaning(&rule, &recur, &old.unwrap());
        }
    }

    /// Unicode input never panics (the crate can).
    #[test]
    fn never_panics(rule in "\\PC{0,40}") {
        let _ = parse(&rule);
        let _ = validate_rrule(&rule);
    }
}

/// A MONTHLY rule with a `-5` BYDAY item: accepted here (RFC 5545 §3.3.10
/// allows -5..=-1 and 1..=5 within a month), refused by the crate.
fn minus_five_monthly(recur: &Recur) -> bool {
    recur.freq == Freq::Monthly && recur.by_day.iter().any(|d| d.ordinal == Some(-5))
}

/// Issue 14 item 3: `-5MO` was refused with MONTHLY although `5MO` was not.
#[test]
fn monthly_minus_five_is_accepted() {
    for rule in [
        "FREQ=MONTHLY;BYDAY=-5MO",
        "FREQ=MONTHLY;BYDAY=-5MO,5FR,-1SU",
        "FREQ=MONTHLY;INTERVAL=2;BYDAY=-5TU;BYSETPOS=1",
    ] {
        let recur = parse(rule).unwrap_or_else(|e| panic!("{rule:?} rejected: {e}"));
        assert!(minus_five_monthly(&recur));
        assert_eq!(validate_rrule(rule), Ok(()));
    }
}

/// The generator is useful: plenty of both outcomes, and the deliberate
/// differences actually come up.
#[test]
fn generator_covers_both_outcomes() {
    let mut runner = TestRunner::deterministic();
    let strategy = rule();
    let (mut accepted, mut rejected, mut stricter) = (0, 0, 0);
    for _ in 0..3000 {
        let (text, s) = strategy.new_tree(&mut runner).unwrap().current();
        if parse(&text).is_ok() {
            accepted += 1;
        } else {
            rejected += 1;
        }
        if s && crate_path(&text).is_ok() {
            stricter += 1;
        }
    }
    assert!(
        accepted >= 300,
        "only {accepted} of 3000 generated rules are valid"
    );
    assert!(
        rejected >= 300,
        "only {rejected} of 3000 generated rules are invalid"
    );
    assert!(
        stricter >= 30,
        "only {stricter} of 3000 hit a deliberate difference"
    );
}
