//! The rules that tie a BYxxx part to FREQ, checked once the whole rule is
//! read.

use super::invalid;
use super::rule::{weekday_code, Freq, Recur};

/// The rules that tie a BYxxx part to FREQ (RFC 5545 §3.3.10, and the ranges
/// the `rrule` crate enforces).
pub(super) fn check_combinations(rule: &Recur) -> Result<(), String> {
    let freq = rule.freq;
    if !rule.by_month_day.is_empty() && freq == Freq::Weekly {
        return Err(invalid("BYMONTHDAY cannot be used with FREQ=WEEKLY".into()));
    }
    if !rule.by_year_day.is_empty() && matches!(freq, Freq::Daily | Freq::Weekly | Freq::Monthly) {
        return Err(invalid(format!(
            "BYYEARDAY cannot be used with FREQ={freq} (only with YEARLY or HOURLY)"
        )));
    }
    if !rule.by_week_no.is_empty() && freq != Freq::Yearly {
        return Err(invalid(format!(
            "BYWEEKNO can only be used with FREQ=YEARLY, not FREQ={freq}"
        )));
    }
    for day in &rule.by_day {
        let Some(n) = day.ordinal else { continue };
        let (low, high) = match freq {
            // RFC 5545 §3.3.10: "+n"/"-n" is the nth occurrence within the
            // month, and a month has at most five of each weekday.
            Freq::Monthly => (-5, 5),
            Freq::Yearly if rule.by_week_no.is_empty() => (-52, 53),
            Freq::Yearly => {
                return Err(invalid(format!(
                    "BYDAY `{day}` has a number, which is not allowed together with BYWEEKNO"
                )))
            }
            _ => {
                return Err(invalid(format!(
                    "BYDAY `{day}` has a number, which is only allowed with FREQ=MONTHLY or FREQ=YEARLY (write `{}` for every such day)",
                    weekday_code(day.weekday)
                )))
            }
        };
        if !(low..=high).contains(&n) {
            return Err(invalid(format!(
                "BYDAY `{day}`: with FREQ={freq} the number must be between {low} and {high} (not 0)"
            )));
        }
    }
    let limit = match freq {
        Freq::Yearly | Freq::Daily => 366,
        Freq::Monthly => 31,
        Freq::Weekly => 53,
        Freq::Hourly => 24,
    };
    if let Some(pos) = rule.by_set_pos.iter().find(|p| p.abs() > limit) {
        return Err(invalid(format!(
            "BYSETPOS `{pos}`: with FREQ={freq} a position must be between 1 and {limit} or -{limit} and -1"
        )));
    }
    Ok(())
}
