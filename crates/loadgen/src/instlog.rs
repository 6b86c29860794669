//! Per-request instantiation times, read from devstack's log.
//!
//! devstack times every fresh instance (store creation + `instantiate_async`)
//! and, at `debug` for `devstack::host::serve`, logs it inside the request's
//! span (`RUST_LOG=devstack::host::serve=debug`):
//!
//! ```text
//! … DEBUG request{component=task-api method=GET path=/api/tasks instantiate_us=412}: devstack::host::serve: instantiated a fresh instance instantiate_us=412
//! ```
//!
//! The line is written before the guest handles the request, so once a
//! closed-loop phase has its last response, every instance it caused is in
//! the file: the phase's samples are the lines between two file offsets.

use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, Result};

/// The message of devstack's per-instance event.
const MARKER: &str = "instantiated a fresh instance";

/// One instantiation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sample {
    pub method: String,
    /// The request path (no query).
    pub path: String,
    pub time: Duration,
}

/// devstack's log file.
pub struct InstLog {
    path: PathBuf,
}

impl InstLog {
    pub fn new(path: &Path) -> InstLog {
        InstLog {
            path: path.to_path_buf(),
        }
    }

    /// The current end of the file.
    pub fn position(&self) -> Result<u64> {
        Ok(std::fs::metadata(&self.path)
            .with_context(|| format!("cannot stat {}", self.path.display()))?
            .len())
    }

    /// Every sample in complete lines written after `offset`.
    pub fn samples_since(&self, offset: u64) -> Result<Vec<Sample>> {
        let mut file = File::open(&self.path)
            .with_context(|| format!("cannot open {}", self.path.display()))?;
        file.seek(SeekFrom::Start(offset))?;
        let mut bytes = Vec::new();
        file.read_to_end(&mut bytes)?;
        // A line still being written is not complete yet.
        let complete = bytes.iter().rposition(|b| *b == b'\n').map_or(0, |i| i + 1);
        let text = String::from_utf8_lossy(&bytes[..complete]);
        Ok(text.lines().filter_map(parse_line).collect())
    }
}

/// Parses one log line (ANSI colours allowed), `None` if it is not an
/// instantiation event.
pub fn parse_line(line: &str) -> Option<Sample> {
    if !line.contains(MARKER) {
        return None;
    }
    let plain = strip_ansi(line);
    let micros: u64 = last_field(&plain, "instantiate_us")?.parse().ok()?;
    Some(Sample {
        method: last_field(&plain, "method")?.to_string(),
        path: last_field(&plain, "path")?.to_string(),
        time: Duration::from_micros(micros),
    })
}

/// The value of the last `key=value` in `line` (key preceded by a space or
/// `{`, value up to a space or `}`).
fn last_field<'a>(line: &'a str, key: &str) -> Option<&'a str> {
    let needle = format!("{key}=");
    let mut found = None;
    let mut from = 0;
    while let Some(i) = line[from..].find(&needle) {
        let start = from + i;
        let preceded_ok = start == 0 || matches!(line.as_bytes()[start - 1], b' ' | b'{');
        if preceded_ok {
            let rest = &line[start + needle.len()..];
            let end = rest.find([' ', '}']).unwrap_or(rest.len());
            found = Some(&rest[..end]);
        }
        from = start + needle.len();
    }
    found
}

/// Removes ANSI escape sequences (`ESC [ … letter`).
fn strip_ansi(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            if chars.next() == Some('[') {
                for c in chars.by_ref() {
                    if c.is_ascii_alphabetic() {
                        break;
                    }
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_a_plain_line() {
        let line = "2025-06-01T10:00:00.123456Z DEBUG request{component=task-api method=GET path=/api/tasks/0197 instantiate_us=412}: devstack::host::serve: instantiated a fresh instance instantiate_us=413";
        assert_eq!(
            parse_line(line),
            Some(Sample {
                method: "GET".into(),
                path: "/api/tasks/0197".into(),
                time: Duration::from_micros(413),
            })
        );
    }

    #[test]
    fn parses_a_coloured_line() {
        let line = "\u{1b}[2m2025-06-01T10:00:00Z\u{1b}[0m \u{1b}[34mDEBUG\u{1b}[0m \u{1b}[1mrequest\u{1b}[0m\u{1b}[1m{\u{1b}[0m\u{1b}[3mcomponent\u{1b}[0m\u{1b}[2m=\u{1b}[0mtask-api \u{1b}[3mmethod\u{1b}[0m\u{1b}[2m=\u{1b}[0mPOST \u{1b}[3mpath\u{1b}[0m\u{1b}[2m=\u{1b}[0m/api/tasks\u{1b}[1m}\u{1b}[0m\u{1b}[2m:\u{1b}[0m \u{1b}[2mdevstack::host::serve\u{1b}[0m\u{1b}[2m:\u{1b}[0m instantiated a fresh instance \u{1b}[3minstantiate_us\u{1b}[0m\u{1b}[2m=\u{1b}[0m95";
        let s = parse_line(line).expect("parsed");
        assert_eq!((s.method.as_str(), s.path.as_str()), ("POST", "/api/tasks"));
        assert_eq!(s.time, Duration::from_micros(95));
    }

    #[test]
    fn ignores_other_lines() {
        assert_eq!(
            parse_line("2025 INFO devstack::host: Serving http://127.0.0.1:3000"),
            None
        );
        assert_eq!(
            parse_line("instantiated a fresh instance without fields"),
            None
        );
    }

    #[test]
    fn reads_only_complete_lines_after_an_offset() {
        let dir = std::env::temp_dir().join(format!("loadgen-instlog-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("log");
        let line = |us: u32| {
            format!("DEBUG request{{method=GET path=/x}}: instantiated a fresh instance instantiate_us={us}\n")
        };
        std::fs::write(&path, line(1)).unwrap();
        let log = InstLog::new(&path);
        let offset = log.position().unwrap();
        let mut more = line(2);
        more.push_str(
            "DEBUG request{method=GET path=/x}: instantiated a fresh instance instantiate_us=3",
        );
        std::fs::OpenOptions::new()
            .append(true)
            .open(&path)
            .and_then(|mut f| std::io::Write::write_all(&mut f, more.as_bytes()))
            .unwrap();
        let samples = log.samples_since(offset).unwrap();
        assert_eq!(samples.len(), 1);
        assert_eq!(samples[0].time, Duration::from_micros(2));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
