//! A hand-written parser and validator for the value of an RFC 5545 `RRULE`
//! (the RECUR value type, §3.3.10), for components that only *check* rules.
//!
//! The parser's files, each with one job:
//! - `rule.rs`: the checked rule ([`Recur`], [`Freq`], [`WeekdayNum`],
//!   [`Until`]) and its canonical text;
//! - `parser.rs`: [`parse`], the text's framing, its parts and their
//!   repetitions, and the limits ([`RRULE_MAX_LEN`]);
//! - `value.rs`: reading one part's value (numbers in range, weekdays,
//!   FREQ, UNTIL);
//! - `combinations.rs`: the rules that tie a BYxxx part to FREQ.
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

mod combinations;
mod parser;
mod rule;
mod value;

pub use parser::{parse, RRULE_MAX_LEN};
pub use rule::{Freq, Recur, Until, WeekdayNum};

/// A message about a part that was read but is not allowed (its value or
/// its combination with FREQ); every file below words them the same way.
fn invalid(message: String) -> String {
    format!("invalid rule: {message}")
}
