//! A task's timezone: instants to wall times and back, with RFC 5545's
//! reading of DST gaps and folds. Backed by chrono-tz; its tables stop in
//! 2099, so later dates are mapped to a year with the same calendar.

use std::str::FromStr;

use chrono::{DateTime, Datelike, Duration, LocalResult, NaiveDate, NaiveDateTime, TimeZone, Utc};

/// An IANA zone.
#[derive(Debug, Clone, Copy)]
pub(super) struct Zone(chrono_tz::Tz);

impl Zone {
    /// The zone named `name` (exact IANA name).
    pub(super) fn named(name: &str) -> Result<Zone, String> {
        chrono_tz::Tz::from_str(name)
            .map(Zone)
            .map_err(|_| format!("`{name}` is not an IANA timezone"))
    }

    /// The wall time in this zone at the instant `at`.
    pub(super) fn wall(&self, at: DateTime<Utc>) -> NaiveDateTime {
        let utc = at.naive_utc();
        utc + Duration::seconds(i64::from(offset_at(self.0, utc)))
    }

    /// A local wall time as an instant. A time that occurs twice takes the
    /// first (or, with `latest`, the second); a time inside a gap is read
    /// with the UTC offset in effect before the gap (RFC 5545 §3.3.5), e.g.
    /// 02:30 on the Europe/Berlin spring-forward day is 01:30Z = 03:30 CEST.
    /// Past the end of chrono-tz's tables the zone's recurring rule is
    /// followed (see [`table_shift`]).
    pub(super) fn instant(&self, local: NaiveDateTime, latest: bool) -> DateTime<Utc> {
        let tz = self.0;
        let shift = Duration::days(table_shift(local.date()));
        let mapped = local - shift;
        let at = match tz.from_local_datetime(&mapped) {
            LocalResult::Single(at) => at.with_timezone(&Utc),
            LocalResult::Ambiguous(first, second) => {
                if latest { second } else { first }.with_timezone(&Utc)
            }
            LocalResult::None => {
                // The offset a day earlier is the one before the gap (no zone
                // has two transitions within a day).
                let before = tz.offset_from_utc_datetime(&(mapped - Duration::days(1)));
                let offset = chrono::Offset::fix(&before);
                (mapped - Duration::seconds(i64::from(offset.local_minus_utc()))).and_utc()
            }
        };
        at + shift
    }
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
