//! The query of `GET /api/recurrence/preview`: which rule to preview, from
//! when, in which timezone, how many dates. Every bad parameter is a 400
//! naming it, so a client can point at the field the user got wrong.

use chrono::{DateTime, Utc};

use crate::problem::{FieldError, Problem};
use crate::recurrence::{self, PREVIEW_MAX};
use crate::task::query::{bad_query, parse_digits, parse_query_timestamp, ParamErrors};
use crate::task::validate::validate_timezone;

/// Every query parameter the preview understands.
pub const PARAMETERS: [&str; 4] = ["rrule", "dtstart", "timezone", "count"];

/// Dates returned when `count` is not given.
pub const DEFAULT_COUNT: usize = 10;

/// A parsed, checked preview query.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PreviewQuery {
    /// Required; an RRULE as a task's `recurrence.rrule` takes it.
    pub rrule: String,
    /// Required, RFC 3339: the first possible occurrence.
    pub dtstart: DateTime<Utc>,
    /// IANA name, default `UTC`: the zone the rule's wall times are in.
    pub timezone: String,
    /// 1..=[`PREVIEW_MAX`], default [`DEFAULT_COUNT`].
    pub count: usize,
}

impl PreviewQuery {
    /// Parses and checks a raw query string. Missing, repeated, unknown or
    /// bad parameters (an invalid rule or timezone included) → 400 listing
    /// each in `errors`.
    pub fn parse(query: &str) -> Result<PreviewQuery, Problem> {
        let query = query.strip_prefix('?').unwrap_or(query);
        let mut errs = ParamErrors::default();
        let (mut rrule, mut dtstart, mut timezone) = (None, None, None);
        let mut count = DEFAULT_COUNT;
        for (name, value) in form_urlencoded::parse(query.as_bytes()) {
            match &*name {
                "rrule" if errs.first("rrule") => match recurrence::validate_rrule(&value) {
                    Ok(()) => rrule = Some(value.into_owned()),
                    Err(why) => errs.push("rrule", why),
                },
                "dtstart" if errs.first("dtstart") => match parse_query_timestamp(&value) {
                    Ok(at) => dtstart = Some(at),
                    Err(()) => errs.invalid(
                        "dtstart",
                        &value,
                        "must be an RFC 3339 timestamp such as 2026-12-01T09:00:00Z",
                    ),
                },
                "timezone" if errs.first("timezone") => match validate_timezone(&value) {
                    Ok(_) => timezone = Some(value.into_owned()),
                    Err(why) => errs.push("timezone", why),
                },
                "count" if errs.first("count") => {
                    match parse_digits(&value).and_then(|n| usize::try_from(n).ok()) {
                        Some(n) if (1..=PREVIEW_MAX).contains(&n) => count = n,
                        _ => errs.invalid(
                            "count",
                            &value,
                            &format!("must be an integer from 1 to {PREVIEW_MAX}"),
                        ),
                    }
                }
                "rrule" | "dtstart" | "timezone" | "count" => {}
                other => errs.push(
                    crate::task::query::shortened(other),
                    format!(
                        "unknown query parameter; allowed: {}",
                        PARAMETERS.join(", ")
                    ),
                ),
            }
        }
        for (name, given) in [("rrule", rrule.is_some()), ("dtstart", dtstart.is_some())] {
            if !given && !errs.errors.iter().any(|e| e.field == name) {
                errs.push(name, "is required".to_string());
            }
        }
        match (rrule, dtstart) {
            (Some(rrule), Some(dtstart)) if errs.errors.is_empty() => Ok(PreviewQuery {
                rrule,
                dtstart,
                timezone: timezone.unwrap_or_else(|| "UTC".to_string()),
                count,
            }),
            _ => Err(bad_query(errs.errors)),
        }
    }

    /// The next occurrences (see [`recurrence::preview`]): at most `count`,
    /// fewer when the rule's COUNT or UNTIL ends the series first.
    pub fn dates(&self) -> Result<Vec<DateTime<Utc>>, Problem> {
        recurrence::preview(&self.rrule, self.dtstart, &self.timezone, self.count)
            .map_err(|why| bad_query(vec![FieldError::new("rrule", why)]))
    }
}
