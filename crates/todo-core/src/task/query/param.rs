//! Reading a query string's parameters: every problem collected into one 400
//! that names each parameter, and the value readers (digits, timestamps).
//! Shared by the task list ([`super::ListQuery`]), the audit pages
//! (`crate::audit::page`) and the recurrence preview (`crate::recurrence::query`).

use chrono::{DateTime, Utc};

use crate::problem::{FieldError, Problem};

/// Collects every problem of a query string, so one 400 names them all.
#[derive(Default)]
pub(crate) struct ParamErrors {
    pub(crate) errors: Vec<FieldError>,
    seen: Vec<&'static str>,
}

impl ParamErrors {
    pub(crate) fn push(&mut self, field: &str, message: String) {
        self.errors.push(FieldError::new(field, message));
    }

    pub(crate) fn invalid(&mut self, field: &str, value: &str, allowed: &str) {
        self.push(field, format!("{allowed} (got {})", quoted(value)));
    }

    /// `true` the first time a single-valued parameter shows up.
    pub(crate) fn first(&mut self, name: &'static str) -> bool {
        if !self.seen.contains(&name) {
            self.seen.push(name);
            return true;
        }
        let message = "must not be repeated";
        if !self
            .errors
            .iter()
            .any(|e| e.field == name && e.message == message)
        {
            self.push(name, message.to_string());
        }
        false
    }
}

/// A user-supplied value for an error message, shortened so it cannot bloat it.
fn quoted(value: &str) -> String {
    let short = shortened(value);
    if short.len() < value.len() {
        format!("{short:?}…")
    } else {
        format!("{value:?}")
    }
}

/// At most 64 characters of `value`.
pub(crate) fn shortened(value: &str) -> &str {
    match value.char_indices().nth(64) {
        Some((end, _)) => &value[..end],
        None => value,
    }
}

/// A plain decimal integer from a query value: digits only (no sign, no
/// spaces), `None` when it is anything else or does not fit.
pub(crate) fn parse_digits(value: &str) -> Option<u64> {
    if !value.is_empty() && value.bytes().all(|b| b.is_ascii_digit()) {
        value.parse().ok()
    } else {
        None
    }
}

/// An RFC 3339 timestamp from a query value. A `+` offset that was not
/// percent-encoded arrives as a space (form encoding); it is put back.
pub(crate) fn parse_query_timestamp(value: &str) -> Result<DateTime<Utc>, ()> {
    if let Ok(t) = parse_rfc3339(value) {
        return Ok(t);
    }
    // `…T09:00:00 02:00` → `…T09:00:00+02:00`
    let bytes = value.as_bytes();
    let n = bytes.len();
    if n > 6
        && bytes[n - 6] == b' '
        && bytes[n - 3] == b':'
        && [n - 5, n - 4, n - 2, n - 1]
            .iter()
            .all(|&i| bytes[i].is_ascii_digit())
    {
        let repaired = format!("{}+{}", &value[..n - 6], &value[n - 5..]);
        return parse_rfc3339(&repaired);
    }
    Err(())
}

fn parse_rfc3339(value: &str) -> Result<DateTime<Utc>, ()> {
    crate::task::validate::parse_timestamp(value).map_err(|_| ())
}

/// A 400 whose detail names every bad parameter and whose `errors` list them.
pub(crate) fn bad_query(errors: Vec<FieldError>) -> Problem {
    let detail = errors
        .iter()
        .map(|e| format!("query parameter {}: {}", e.field, e.message))
        .collect::<Vec<_>>()
        .join("; ");
    Problem {
        errors,
        ..Problem::bad_request(detail)
    }
}
