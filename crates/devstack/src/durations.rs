//! The duration texts Dapr resources and APIs use, one parser per format:
//! Go's `time.ParseDuration` ([`parse_go_duration`]: Resiliency policies,
//! `@every`, job `dueTime`/`ttl`), ISO 8601 ([`parse_iso8601_duration`]: job
//! `dueTime`/`ttl`) and protobuf's JSON `Duration` (`parse_proto_duration`:
//! a job's failure policy interval, where Go durations are accepted too).
//!
//! The Go parser is hand-written on purpose: no crate parses exactly Go's
//! grammar. `humantime` accepts what Go refuses (`5d`, `1 hour`, spaces
//! between parts), so a resource daprd rejects would load here;
//! `go-parse-duration` 0.1 panics on `1µs` (it indexes chars by byte
//! offset) and returns signed nanoseconds.

use std::time::Duration;

use anyhow::{anyhow, bail, Result};

/// Parses a Go `time.ParseDuration` string: `300ms`, `1.5h`, `2h45m`, `0`.
/// Negative durations are refused (nothing here can wait a negative time).
pub fn parse_go_duration(text: &str) -> Result<Duration> {
    let s = text.trim();
    let s = s.strip_prefix('+').unwrap_or(s);
    if s.starts_with('-') {
        bail!("negative duration {text:?}");
    }
    if s == "0" {
        return Ok(Duration::ZERO);
    }
    if s.is_empty() {
        bail!("empty duration");
    }
    let mut total = 0f64;
    let mut rest = s;
    while !rest.is_empty() {
        let num_len = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .ok_or_else(|| anyhow!("missing unit in duration {text:?}"))?;
        if num_len == 0 {
            bail!("invalid duration {text:?}");
        }
        let number: f64 = rest[..num_len]
            .parse()
            .map_err(|_| anyhow!("invalid duration {text:?}"))?;
        rest = &rest[num_len..];
        let unit_len = rest
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(rest.len());
        let unit = &rest[..unit_len];
        rest = &rest[unit_len..];
        let scale = match unit {
            "ns" => 1e-9,
            "us" | "µs" | "μs" => 1e-6,
            "ms" => 1e-3,
            "s" => 1.0,
            "m" => 60.0,
            "h" => 3600.0,
            _ => bail!("unknown unit {unit:?} in duration {text:?}"),
        };
        total += number * scale;
    }
    Ok(Duration::from_secs_f64(total))
}

/// An ISO 8601 duration `P[nY][nM][nW][nD][T[nH][nM][n[.f]S]]`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct IsoDuration {
    pub years: u32,
    pub months: u32,
    pub days: i64,
    pub time: Duration,
}

pub fn parse_iso8601_duration(text: &str) -> Result<IsoDuration> {
    let rest = text
        .strip_prefix('P')
        .ok_or_else(|| anyhow!("unsupported ISO8601 duration format {text:?}"))?;
    if rest.is_empty() {
        bail!("unsupported ISO8601 duration format {text:?}");
    }
    let mut out = IsoDuration {
        years: 0,
        months: 0,
        days: 0,
        time: Duration::ZERO,
    };
    let mut in_time = false;
    let mut number = String::new();
    let mut any = false;
    for c in rest.chars() {
        if c == 'T' {
            if in_time || !number.is_empty() {
                bail!("unsupported ISO8601 duration format {text:?}");
            }
            in_time = true;
            continue;
        }
        if c.is_ascii_digit() || c == '.' || c == ',' {
            number.push(if c == ',' { '.' } else { c });
            continue;
        }
        if number.is_empty() {
            bail!("unsupported ISO8601 duration format {text:?}");
        }
        let value: f64 = number
            .parse()
            .map_err(|_| anyhow!("unsupported ISO8601 duration format {text:?}"))?;
        let whole = || -> Result<u32> {
            if value.fract() != 0.0 {
                bail!("only seconds may be fractional in {text:?}");
            }
            Ok(value as u32)
        };
        match (in_time, c) {
            (false, 'Y') => out.years += whole()?,
            (false, 'M') => out.months += whole()?,
            (false, 'W') => out.days += 7 * whole()? as i64,
            (false, 'D') => out.days += whole()? as i64,
            (true, 'H') => out.time += Duration::from_secs(whole()? as u64 * 3600),
            (true, 'M') => out.time += Duration::from_secs(whole()? as u64 * 60),
            (true, 'S') => out.time += Duration::from_secs_f64(value),
            _ => bail!("unsupported ISO8601 duration format {text:?}"),
        }
        number.clear();
        any = true;
    }
    if !number.is_empty() || !any {
        bail!("unsupported ISO8601 duration format {text:?}");
    }
    Ok(out)
}

/// A protobuf `Duration` in JSON (`"1.5s"`); Go durations are accepted too.
pub(crate) fn parse_proto_duration(s: &str) -> Result<Duration> {
    if let Some(num) = s.strip_suffix('s') {
        if let Ok(secs) = num.parse::<f64>() {
            if secs >= 0.0 {
                return Ok(Duration::from_secs_f64(secs));
            }
        }
    }
    parse_go_duration(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_durations() {
        assert_eq!(
            parse_go_duration("1h30m").unwrap(),
            Duration::from_secs(5400)
        );
        assert_eq!(
            parse_go_duration("250ms").unwrap(),
            Duration::from_millis(250)
        );
        assert_eq!(
            parse_go_duration("1.5s").unwrap(),
            Duration::from_millis(1500)
        );
        assert_eq!(parse_go_duration("0").unwrap(), Duration::ZERO);
        assert!(parse_go_duration("5").is_err());
        assert!(parse_go_duration("5d").is_err());
        assert!(parse_go_duration("-1s").is_err());
    }
}
