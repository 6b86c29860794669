//! The opaque keyset cursor: the last item's position plus a fingerprint of
//! the filters and sort, encoded, and decoded with its validation (a garbled
//! cursor or one from another query → 400).
//!
//! Binary layout, then base64url without padding:
//!
//! ```text
//!   [0]      format version (1)
//!   [1..9]   fingerprint: first 8 bytes of SHA-256 over the canonical filters+sort
//!   [9..25]  id of the last item
//!   [25..]   its sort key: dueAt = 0 (none) | 1 ++ time; priority = 1 byte;
//!            title = UTF-8 bytes; createdAt/updatedAt = time
//!   time = i64 seconds BE ++ u32 nanoseconds BE
//! ```

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use chrono::{DateTime, Utc};
use sha2::{Digest, Sha256};
use uuid::Uuid;

use super::filter::priority_bit;
use super::list_query::ListQuery;
use super::param::bad_query;
use super::sort::{key_of, Key, SortKey};
use super::summary::TaskSummary;
use crate::problem::{FieldError, Problem};
use crate::task::{Priority, Status};

const CURSOR_VERSION: u8 = 1;
const CURSOR_HEADER: usize = 1 + 8 + 16;

/// Identifies the filters and sort a cursor was made for (not `limit`).
pub(super) fn fingerprint(query: &ListQuery) -> [u8; 8] {
    fn put_str(h: &mut Sha256, s: &str) {
        h.update((s.len() as u64).to_be_bytes());
        h.update(s.as_bytes());
    }
    fn put_strs(h: &mut Sha256, items: &[String]) {
        let mut sorted: Vec<&str> = items.iter().map(String::as_str).collect();
        sorted.sort_unstable();
        sorted.dedup();
        h.update((sorted.len() as u64).to_be_bytes());
        for s in sorted {
            put_str(h, s);
        }
    }
    fn put_time(h: &mut Sha256, t: Option<DateTime<Utc>>) {
        match t {
            None => h.update([0]),
            Some(t) => {
                h.update([1]);
                put_timestamp(h, t);
            }
        }
    }
    fn put_timestamp(h: &mut Sha256, t: DateTime<Utc>) {
        h.update(t.timestamp().to_be_bytes());
        h.update(t.timestamp_subsec_nanos().to_be_bytes());
    }

    let mut h = Sha256::new();
    h.update(b"todo-list-cursor/v1");
    h.update([match query.status {
        None => 0,
        Some(Status::Open) => 1,
        Some(Status::Completed) => 2,
    }]);
    h.update([query.priorities.iter().fold(0, |m, &p| m | priority_bit(p))]);
    put_strs(&mut h, &query.tags);
    put_strs(&mut h, &query.words);
    put_time(&mut h, query.due_before);
    put_time(&mut h, query.due_after);
    h.update([u8::from(query.overdue)]);
    h.update([query.sort.key as u8, u8::from(query.sort.descending)]);
    let digest = h.finalize();
    let mut out = [0; 8];
    out.copy_from_slice(&digest[..8]);
    out
}

fn encode_time(out: &mut Vec<u8>, t: DateTime<Utc>) {
    out.extend_from_slice(&t.timestamp().to_be_bytes());
    out.extend_from_slice(&t.timestamp_subsec_nanos().to_be_bytes());
}

fn decode_time(bytes: &[u8]) -> Option<DateTime<Utc>> {
    let secs = i64::from_be_bytes(bytes.get(..8)?.try_into().ok()?);
    let nanos = u32::from_be_bytes(bytes.get(8..12)?.try_into().ok()?);
    if bytes.len() != 12 {
        return None;
    }
    DateTime::from_timestamp(secs, nanos)
}

pub(super) fn encode_cursor(fp: [u8; 8], sort: SortKey, last: &TaskSummary) -> String {
    let mut out = Vec::with_capacity(CURSOR_HEADER + 13);
    out.push(CURSOR_VERSION);
    out.extend_from_slice(&fp);
    out.extend_from_slice(last.id.as_bytes());
    match key_of(last, sort) {
        Key::Due(None) => out.push(0),
        Key::Due(Some(t)) => {
            out.push(1);
            encode_time(&mut out, t);
        }
        Key::Priority(p) => out.push(p as u8),
        Key::Title(title) => out.extend_from_slice(title.as_bytes()),
        Key::Time(t) => encode_time(&mut out, t),
    }
    URL_SAFE_NO_PAD.encode(out)
}

/// A decoded cursor: the position after which the next page starts.
pub(super) struct After {
    pub(super) id: Uuid,
    pub(super) key: OwnedKey,
}

pub(super) enum OwnedKey {
    Due(Option<DateTime<Utc>>),
    Priority(Priority),
    Title(String),
    Time(DateTime<Utc>),
}

impl OwnedKey {
    pub(super) fn as_key(&self) -> Key<'_> {
        match self {
            OwnedKey::Due(t) => Key::Due(*t),
            OwnedKey::Priority(p) => Key::Priority(*p),
            OwnedKey::Title(s) => Key::Title(s),
            OwnedKey::Time(t) => Key::Time(*t),
        }
    }
}

pub(super) fn decode_cursor(cursor: &str, fp: [u8; 8], sort: SortKey) -> Result<After, Problem> {
    let garbled = || cursor_problem("is not a valid cursor; start again without cursor");
    let bytes = URL_SAFE_NO_PAD
        .decode(cursor.trim_end_matches('='))
        .map_err(|_| garbled())?;
    if bytes.len() < CURSOR_HEADER || bytes[0] != CURSOR_VERSION {
        return Err(garbled());
    }
    if bytes[1..9] != fp {
        return Err(cursor_problem(
            "belongs to a query with other filters or sort; \
             repeat the original query or start again without cursor",
        ));
    }
    let id = Uuid::from_slice(&bytes[9..CURSOR_HEADER]).map_err(|_| garbled())?;
    let rest = &bytes[CURSOR_HEADER..];
    let key = match sort {
        SortKey::DueAt => match rest.split_first() {
            Some((0, [])) => Some(OwnedKey::Due(None)),
            Some((1, time)) => decode_time(time).map(|t| OwnedKey::Due(Some(t))),
            _ => None,
        },
        SortKey::Priority => match rest {
            [p] => Priority::ALL
                .get(usize::from(*p))
                .map(|p| OwnedKey::Priority(*p)),
            _ => None,
        },
        SortKey::Title => String::from_utf8(rest.to_vec()).ok().map(OwnedKey::Title),
        SortKey::CreatedAt | SortKey::UpdatedAt => decode_time(rest).map(OwnedKey::Time),
    };
    key.map(|key| After { id, key }).ok_or_else(garbled)
}

fn cursor_problem(message: &str) -> Problem {
    bad_query(vec![FieldError::new("cursor", message)])
}
