//! ISO 8601 durations as used by `reminder.before` (`PT15M`, `P1D`, `P1W`, `P1DT2H`).
//!
//! Only exact units are accepted (weeks, days, hours, minutes, seconds): years
//! and months have no fixed length, so a reminder "1 month before" is refused
//! rather than guessed.
//!
//! Grammar accepted (ISO 8601-1:2019 §5.5.2, uppercase designators only):
//! `P [n W] [n D] [T [n H] [n M] [n[.f] S]]`, units in this order, each at most
//! once, at least one unit, non-negative integers; only seconds may carry a
//! fraction (`.` or `,`, up to 9 digits). Weeks may be combined with other
//! units (allowed since ISO 8601-1:2019). A day is exactly 24 hours. The total
//! must be greater than zero and at most [`MAX_DAYS`] days.

use chrono::Duration;

/// Longest accepted duration, in days: a reminder more than a year ahead of
/// its due date is almost certainly a mistake.
pub const MAX_DAYS: i64 = 366;

const FORMAT_HINT: &str = "expected an ISO 8601 duration such as PT15M, PT1H30M, P1D or P1W";

/// Parses an ISO 8601 duration with exact units; negative or zero-length
/// values are refused. The message says what is wrong.
pub fn parse_duration(value: &str) -> Result<Duration, String> {
    let bad = |what: &str| format!("{what}; {FORMAT_HINT}");
    if value.is_empty() {
        return Err(bad("the duration is empty"));
    }
    if value.starts_with('-') {
        return Err(format!("negative durations are not allowed; {FORMAT_HINT}"));
    }
    let rest = value
        .strip_prefix('P')
        .ok_or_else(|| bad(&format!("`{value}` does not start with `P`")))?;

    let max_secs = MAX_DAYS * 86_400;
    let too_long = || format!("`{value}` is longer than the maximum of {MAX_DAYS} days");

    // Designators in the order they must appear; `M` means months before `T`
    // and minutes after it.
    let mut in_time = false;
    let mut seen_time_designator = false;
    let mut last_rank = 0u8; // rank of the last unit read; units must strictly increase
    let mut units = 0usize;
    let mut total_secs: i64 = 0;
    let mut nanos: u32 = 0;

    let bytes = rest.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'T' {
            if in_time {
                return Err(bad(&format!("`{value}` has more than one `T`")));
            }
            in_time = true;
            seen_time_designator = true;
            i += 1;
            if i == bytes.len() {
                return Err(bad(&format!("`{value}` has no time units after `T`")));
            }
            continue;
        }
        // A number: digits, optionally a fraction.
        let start = i;
        while i < bytes.len() && bytes[i].is_ascii_digit() {
            i += 1;
        }
        let int_part = &rest[start..i];
        let mut frac_part = "";
        if i < bytes.len() && (bytes[i] == b'.' || bytes[i] == b',') {
            i += 1;
            let fstart = i;
            while i < bytes.len() && bytes[i].is_ascii_digit() {
                i += 1;
            }
            frac_part = &rest[fstart..i];
            if frac_part.is_empty() {
                return Err(bad(&format!("`{value}` has a decimal sign without digits")));
            }
        }
        if int_part.is_empty() {
            let found = rest[start..].chars().next().unwrap_or(' ');
            return Err(bad(&format!(
                "`{value}` has `{found}` where a number was expected"
            )));
        }
        let Some(&designator) = bytes.get(i) else {
            return Err(bad(&format!("`{value}` ends with a number without a unit")));
        };
        i += 1;
        let (rank, unit_secs) = match (designator, in_time) {
            (b'Y', false) | (b'M', false) => {
                return Err(format!(
                    "`{value}` uses years or months, which have no fixed length; use weeks (W) or days (D) instead"
                ))
            }
            (b'W', false) => (1, 7 * 86_400),
            (b'D', false) => (2, 86_400),
            (b'H', true) => (3, 3_600),
            (b'M', true) => (4, 60),
            (b'S', true) => (5, 1),
            (b'H' | b'S', false) => {
                return Err(bad(&format!(
                    "`{value}` has hours or seconds before `T`"
                )))
            }
            (b'W' | b'D' | b'Y', true) => {
                return Err(bad(&format!(
                    "`{value}` has a date unit (W or D) after `T`"
                )))
            }
            (other, _) => {
                let found = rest[i - 1..].chars().next().unwrap_or(other as char);
                return Err(bad(&format!("`{value}` has an unknown unit `{found}`")));
            }
        };
        if rank <= last_rank {
            return Err(bad(&format!(
                "`{value}` repeats a unit or has them out of order (W, D, T, H, M, S)"
            )));
        }
        last_rank = rank;
        if !frac_part.is_empty() {
            if rank != 5 {
                return Err(bad(&format!(
                    "`{value}` has a fraction on a unit other than seconds"
                )));
            }
            if frac_part.len() > 9 {
                return Err(bad(&format!("`{value}` has more than 9 fractional digits")));
            }
            let padded = format!("{frac_part:0<9}");
            nanos = padded.parse::<u32>().map_err(|_| bad("bad fraction"))?;
        }
        // Any number with more digits than this is far beyond the maximum anyway.
        let n: i64 = if int_part.len() > 12 {
            return Err(too_long());
        } else {
            int_part.parse().map_err(|_| bad("bad number"))?
        };
        total_secs = n
            .checked_mul(unit_secs)
            .and_then(|s| total_secs.checked_add(s))
            .ok_or_else(too_long)?;
        if total_secs > max_secs {
            return Err(too_long());
        }
        units += 1;
    }
    if units == 0 {
        let what = if seen_time_designator {
            format!("`{value}` has no time units after `T`")
        } else {
            format!("`{value}` has no units")
        };
        return Err(bad(&what));
    }
    if total_secs == 0 && nanos == 0 {
        return Err(format!(
            "`{value}` is zero; a duration must be greater than zero"
        ));
    }
    if total_secs == max_secs && nanos > 0 {
        return Err(too_long());
    }
    Ok(Duration::seconds(total_secs) + Duration::nanoseconds(i64::from(nanos)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exact_units_sum_up() {
        assert_eq!(
            parse_duration("P1W2DT3H4M5.5S").unwrap(),
            Duration::seconds(9 * 86_400 + 3 * 3_600 + 4 * 60 + 5) + Duration::milliseconds(500)
        );
    }
}
