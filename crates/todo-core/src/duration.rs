//! ISO 8601 durations as used by `reminder.before` (`PT15M`, `P1D`, `P1W`, `P1DT2H`).
//!
//! Only exact units are accepted (weeks, days, hours, minutes, seconds): years
//! and months have no fixed length, so a reminder "1 month before" is refused
//! rather than guessed.

use chrono::Duration;

/// Parses an ISO 8601 duration with exact units; negative or zero-length
/// values are refused. The message says what is wrong.
pub fn parse_duration(value: &str) -> Result<Duration, String> {
    let _ = value;
    todo!()
}
