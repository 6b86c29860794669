//! The list engine behind `GET /api/tasks` and `GET /api/tags`.
//!
//! It works on the user's index ([`TaskSummary`] per task) so a list reads no
//! full task it does not return; pagination is keyset-based with an opaque
//! cursor, so every item appears exactly once across pages even while the
//! order ties.
//!
//! Semantics (documented for the README/OpenAPI):
//! - All filters are combined with AND. `priority` is a set (any of the listed
//!   priorities; comma list and/or repeated), `tag` requires every listed tag
//!   (exact, case-sensitive match, like the stored tags), `q` is split on
//!   whitespace into lowercased words and every word must occur as a
//!   case-insensitive substring of the title or the description.
//! - `dueAfter` is inclusive (`dueAt >= dueAfter`), `dueBefore` exclusive
//!   (`dueAt < dueBefore`), so consecutive windows tile; either one excludes
//!   tasks without `dueAt`. `overdue=true` keeps open tasks with `dueAt < now`;
//!   `overdue=false` is the same as leaving it out (no filter).
//! - Sort: `dueAt`, `priority` (low → urgent), `title` (case-insensitive by
//!   per-character Unicode lowercase mapping, then exact), `createdAt`,
//!   `updatedAt`; a leading `-` reverses. Default `-createdAt`. Ties are always
//!   broken by id ascending, so the order is total. Tasks without `dueAt` come
//!   last in both directions of `dueAt`.
//! - `limit` 1..=200 (default 50). `cursor` is opaque (base64url): it encodes the
//!   last returned item's sort key and id plus a fingerprint of the filters and
//!   sort. The next page holds the items strictly after that position, so
//!   inserts and deletes between pages neither repeat nor skip items, nor do
//!   edits under an immutable sort (`createdAt`). Under a sort on a mutable
//!   field an edit can move a not-yet-seen task before the cursor (it is then
//!   not shown) or a seen one after it (shown again): keyset paging reads the
//!   tasks as they are, and no snapshot of their earlier sort keys is kept
//!   (README "What paging guarantees"). `limit` may change between pages; any
//!   filter or sort change → 400. `total` counts every matching task (not
//!   only those after the cursor).
//! - Errors: unknown parameters, a repeated single-valued parameter or a bad
//!   value → 400 `/problems/bad-request` whose `errors` name each parameter
//!   (`field`) with the allowed values (`message`).

use std::cmp::Ordering;
use std::collections::BTreeMap;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::problem::{FieldError, Problem};
use crate::task::{Priority, Status, Task};

pub const DEFAULT_LIMIT: usize = 50;
pub const MAX_LIMIT: usize = 200;

/// What the index keeps per task: every field a filter, sort or search needs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TaskSummary {
    pub id: Uuid,
    pub title: String,
    #[serde(default)]
    pub description: String,
    pub status: Status,
    pub priority: Priority,
    #[serde(default)]
    pub tags: Vec<String>,
    pub due_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub version: u64,
}

impl From<&Task> for TaskSummary {
    fn from(task: &Task) -> TaskSummary {
        TaskSummary {
            id: task.id,
            title: task.title.clone(),
            description: task.description.clone(),
            status: task.status,
            priority: task.priority,
            tags: task.tags.clone(),
            due_at: task.due_at,
            created_at: task.created_at,
            updated_at: task.updated_at,
            version: task.version,
        }
    }
}

/// A parsed `GET /api/tasks` query.
#[derive(Debug, Clone, PartialEq)]
pub struct ListQuery {
    pub status: Option<Status>,
    pub priorities: Vec<Priority>,
    pub tags: Vec<String>,
    pub words: Vec<String>,
    pub due_before: Option<DateTime<Utc>>,
    pub due_after: Option<DateTime<Utc>>,
    pub overdue: bool,
    pub sort: Sort,
    pub limit: usize,
    pub cursor: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SortKey {
    DueAt,
    Priority,
    Title,
    CreatedAt,
    UpdatedAt,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sort {
    pub key: SortKey,
    pub descending: bool,
}

/// One page: ids in order (the caller fetches the full tasks), the cursor of
/// the next page, and how many tasks match in total.
#[derive(Debug, Clone, PartialEq)]
pub struct Page {
    pub ids: Vec<Uuid>,
    pub next_cursor: Option<String>,
    pub total: usize,
}

/// A tag with the number of the user's tasks carrying it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TagCount {
    pub tag: String,
    pub count: usize,
}

/// Every query parameter `GET /api/tasks` understands.
pub const PARAMETERS: [&str; 10] = [
    "status",
    "priority",
    "tag",
    "q",
    "dueBefore",
    "dueAfter",
    "overdue",
    "sort",
    "limit",
    "cursor",
];

const SORT_VALUES: &str = "dueAt, -dueAt, priority, -priority, title, -title, \
                           createdAt, -createdAt, updatedAt, -updatedAt";

impl SortKey {
    pub const ALL: [SortKey; 5] = [
        SortKey::DueAt,
        SortKey::Priority,
        SortKey::Title,
        SortKey::CreatedAt,
        SortKey::UpdatedAt,
    ];

    /// The parameter spelling (`dueAt`, `priority`, …).
    pub fn as_str(self) -> &'static str {
        match self {
            SortKey::DueAt => "dueAt",
            SortKey::Priority => "priority",
            SortKey::Title => "title",
            SortKey::CreatedAt => "createdAt",
            SortKey::UpdatedAt => "updatedAt",
        }
    }
}

impl Sort {
    /// `-createdAt`: newest first.
    pub const DEFAULT: Sort = Sort {
        key: SortKey::CreatedAt,
        descending: true,
    };

    /// Parses `dueAt`, `-dueAt`, … (exact spelling).
    pub fn parse(value: &str) -> Option<Sort> {
        let (descending, name) = match value.strip_prefix('-') {
            Some(rest) => (true, rest),
            None => (false, value),
        };
        SortKey::ALL
            .into_iter()
            .find(|key| key.as_str() == name)
            .map(|key| Sort { key, descending })
    }
}

impl Default for Sort {
    fn default() -> Sort {
        Sort::DEFAULT
    }
}

impl std::fmt::Display for Sort {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.descending {
            f.write_str("-")?;
        }
        f.write_str(self.key.as_str())
    }
}

impl Default for ListQuery {
    /// No filters, default sort, default limit, first page.
    fn default() -> ListQuery {
        ListQuery {
            status: None,
            priorities: Vec::new(),
            tags: Vec::new(),
            words: Vec::new(),
            due_before: None,
            due_after: None,
            overdue: false,
            sort: Sort::DEFAULT,
            limit: DEFAULT_LIMIT,
            cursor: None,
        }
    }
}

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

impl ListQuery {
    /// Parses a raw query string (`status=open&tag=a&tag=b&sort=-dueAt`).
    /// Unknown parameters and bad values → 400 naming the parameter.
    pub fn parse(query: &str) -> Result<ListQuery, Problem> {
        let query = query.strip_prefix('?').unwrap_or(query);
        let mut out = ListQuery::default();
        let mut errs = ParamErrors::default();
        let mut q_text: Option<String> = None;

        for (name, value) in form_urlencoded::parse(query.as_bytes()) {
            let value: &str = &value;
            match &*name {
                "status" => {
                    if errs.first("status") {
                        match Status::parse(value) {
                            Some(s) => out.status = Some(s),
                            None => {
                                errs.invalid("status", value, "must be one of: open, completed")
                            }
                        }
                    }
                }
                "priority" => {
                    for item in value.split(',').map(str::trim) {
                        match Priority::parse(item) {
                            Some(p) => out.priorities.push(p),
                            None => errs.invalid(
                                "priority",
                                item,
                                "must be a comma-separated list of: low, medium, high, urgent",
                            ),
                        }
                    }
                }
                "tag" => {
                    if value.trim().is_empty() {
                        errs.push("tag", "must not be empty".to_string());
                    } else {
                        out.tags.push(value.to_string());
                    }
                }
                "q" => {
                    if errs.first("q") {
                        q_text = Some(value.to_string());
                    }
                }
                "dueBefore" | "dueAfter" => {
                    let (field, slot) = if &*name == "dueBefore" {
                        ("dueBefore", &mut out.due_before)
                    } else {
                        ("dueAfter", &mut out.due_after)
                    };
                    if errs.first(field) {
                        match parse_query_timestamp(value) {
                            Ok(t) => *slot = Some(t),
                            Err(()) => errs.invalid(
                                field,
                                value,
                                "must be an RFC 3339 timestamp such as 2026-12-01T09:00:00Z",
                            ),
                        }
                    }
                }
                "overdue" => {
                    if errs.first("overdue") {
                        match value {
                            "true" => out.overdue = true,
                            "false" => out.overdue = false,
                            _ => errs.invalid("overdue", value, "must be one of: true, false"),
                        }
                    }
                }
                "sort" => {
                    if errs.first("sort") {
                        match Sort::parse(value) {
                            Some(s) => out.sort = s,
                            None => errs.invalid(
                                "sort",
                                value,
                                &format!("must be one of: {SORT_VALUES}"),
                            ),
                        }
                    }
                }
                "limit" => {
                    if errs.first("limit") {
                        let parsed = parse_digits(value).and_then(|n| usize::try_from(n).ok());
                        match parsed {
                            Some(n) if (1..=MAX_LIMIT).contains(&n) => out.limit = n,
                            _ => errs.invalid(
                                "limit",
                                value,
                                &format!("must be an integer from 1 to {MAX_LIMIT}"),
                            ),
                        }
                    }
                }
                "cursor" => {
                    // An empty cursor means the first page.
                    if errs.first("cursor") && !value.is_empty() {
                        out.cursor = Some(value.to_string());
                    }
                }
                other => errs.push(
                    shortened(other),
                    format!(
                        "unknown query parameter; allowed: {}",
                        PARAMETERS.join(", ")
                    ),
                ),
            }
        }

        if !errs.errors.is_empty() {
            return Err(bad_query(errs.errors));
        }
        if let Some(text) = q_text {
            out.words = text
                .to_lowercase()
                .split_whitespace()
                .map(str::to_string)
                .collect();
        }
        out.priorities.sort_unstable();
        out.priorities.dedup();
        out.tags.sort_unstable();
        out.tags.dedup();
        out.words.sort_unstable();
        out.words.dedup();
        Ok(out)
    }
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

fn cursor_problem(message: &str) -> Problem {
    bad_query(vec![FieldError::new("cursor", message)])
}

// ---------------------------------------------------------------------------
// Filtering

/// The query's filters, prepared once per request.
struct Filter<'q> {
    status: Option<Status>,
    /// Bit per [`Priority`]; 0 = any.
    priorities: u8,
    tags: &'q [String],
    words: &'q [String],
    due_before: Option<DateTime<Utc>>,
    due_after: Option<DateTime<Utc>>,
    /// `Some(now)` when only overdue tasks are wanted.
    overdue_at: Option<DateTime<Utc>>,
}

fn priority_bit(p: Priority) -> u8 {
    1 << (p as u8)
}

impl<'q> Filter<'q> {
    fn new(query: &'q ListQuery, now: DateTime<Utc>) -> Filter<'q> {
        Filter {
            status: query.status,
            priorities: query.priorities.iter().fold(0, |m, &p| m | priority_bit(p)),
            tags: &query.tags,
            words: &query.words,
            due_before: query.due_before,
            due_after: query.due_after,
            overdue_at: query.overdue.then_some(now),
        }
    }

    /// Cheap checks first, text search last.
    fn matches(&self, t: &TaskSummary) -> bool {
        if self.status.is_some_and(|s| s != t.status) {
            return false;
        }
        if self.priorities != 0 && self.priorities & priority_bit(t.priority) == 0 {
            return false;
        }
        // dueBefore (exclusive), dueAfter (inclusive) and overdue all need a dueAt.
        let due_ok = match t.due_at {
            Some(due) => {
                self.due_before.is_none_or(|before| due < before)
                    && self.due_after.is_none_or(|after| due >= after)
                    && self
                        .overdue_at
                        .is_none_or(|now| t.status == Status::Open && due < now)
            }
            None => {
                self.due_before.is_none() && self.due_after.is_none() && self.overdue_at.is_none()
            }
        };
        if !due_ok {
            return false;
        }
        if !self.tags.iter().all(|tag| t.tags.contains(tag)) {
            return false;
        }
        if !self.words.is_empty() {
            let title = Haystack::new(&t.title);
            let description = Haystack::new(&t.description);
            return self
                .words
                .iter()
                .all(|w| title.contains(w) || description.contains(w));
        }
        true
    }
}

/// Text searched case-insensitively: ASCII text is searched in place, other
/// text is lowercased once (same result as `to_lowercase().contains(word)`).
enum Haystack<'a> {
    Ascii(&'a [u8]),
    Folded(String),
}

impl<'a> Haystack<'a> {
    fn new(text: &'a str) -> Haystack<'a> {
        if text.is_ascii() {
            Haystack::Ascii(text.as_bytes())
        } else {
            Haystack::Folded(text.to_lowercase())
        }
    }

    /// `word` is already lowercase.
    fn contains(&self, word: &str) -> bool {
        match self {
            Haystack::Folded(text) => text.contains(word),
            Haystack::Ascii(text) => {
                let word = word.as_bytes();
                // A non-ASCII word cannot occur in ASCII text.
                word.is_ascii()
                    && (word.is_empty()
                        || text
                            .windows(word.len())
                            .any(|w| w.eq_ignore_ascii_case(word)))
            }
        }
    }
}

// ---------------------------------------------------------------------------
// Ordering

/// The sort-relevant value of one task, borrowed (or decoded from a cursor).
#[derive(Debug, Clone, Copy)]
enum Key<'a> {
    Due(Option<DateTime<Utc>>),
    Priority(Priority),
    Title(&'a str),
    Time(DateTime<Utc>),
}

fn key_of(t: &TaskSummary, key: SortKey) -> Key<'_> {
    match key {
        SortKey::DueAt => Key::Due(t.due_at),
        SortKey::Priority => Key::Priority(t.priority),
        SortKey::Title => Key::Title(&t.title),
        SortKey::CreatedAt => Key::Time(t.created_at),
        SortKey::UpdatedAt => Key::Time(t.updated_at),
    }
}

/// Case-insensitive (per-character lowercase mapping), then exact.
fn cmp_text(a: &str, b: &str) -> Ordering {
    let folded = if a.is_ascii() && b.is_ascii() {
        a.bytes()
            .map(|c| c.to_ascii_lowercase())
            .cmp(b.bytes().map(|c| c.to_ascii_lowercase()))
    } else {
        a.chars()
            .flat_map(char::to_lowercase)
            .cmp(b.chars().flat_map(char::to_lowercase))
    };
    folded.then_with(|| a.cmp(b))
}

/// Orders two positions `(key, id)`: the key in the sort direction (a missing
/// `dueAt` last either way), then id ascending.
fn cmp_position(a: (Key<'_>, Uuid), b: (Key<'_>, Uuid), descending: bool) -> Ordering {
    let directed = |o: Ordering| if descending { o.reverse() } else { o };
    let primary = match (a.0, b.0) {
        (Key::Due(x), Key::Due(y)) => match (x, y) {
            (Some(x), Some(y)) => directed(x.cmp(&y)),
            (Some(_), None) => Ordering::Less,
            (None, Some(_)) => Ordering::Greater,
            (None, None) => Ordering::Equal,
        },
        (Key::Priority(x), Key::Priority(y)) => directed(x.cmp(&y)),
        (Key::Title(x), Key::Title(y)) => directed(cmp_text(x, y)),
        (Key::Time(x), Key::Time(y)) => directed(x.cmp(&y)),
        // Keys of one list are always of one kind; keep the order total anyway.
        (x, y) => key_rank(x).cmp(&key_rank(y)),
    };
    primary.then_with(|| a.1.cmp(&b.1))
}

fn key_rank(key: Key<'_>) -> u8 {
    match key {
        Key::Due(_) => 0,
        Key::Priority(_) => 1,
        Key::Title(_) => 2,
        Key::Time(_) => 3,
    }
}

fn cmp_tasks(a: &TaskSummary, b: &TaskSummary, sort: Sort) -> Ordering {
    cmp_position(
        (key_of(a, sort.key), a.id),
        (key_of(b, sort.key), b.id),
        sort.descending,
    )
}

// ---------------------------------------------------------------------------
// Cursor
//
// Binary layout, then base64url without padding:
//   [0]      format version (1)
//   [1..9]   fingerprint: first 8 bytes of SHA-256 over the canonical filters+sort
//   [9..25]  id of the last item
//   [25..]   its sort key: dueAt = 0 (none) | 1 ++ time; priority = 1 byte;
//            title = UTF-8 bytes; createdAt/updatedAt = time
//   time = i64 seconds BE ++ u32 nanoseconds BE

const CURSOR_VERSION: u8 = 1;
const CURSOR_HEADER: usize = 1 + 8 + 16;

/// Identifies the filters and sort a cursor was made for (not `limit`).
fn fingerprint(query: &ListQuery) -> [u8; 8] {
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

fn encode_cursor(fp: [u8; 8], sort: SortKey, last: &TaskSummary) -> String {
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
struct After {
    id: Uuid,
    key: OwnedKey,
}

enum OwnedKey {
    Due(Option<DateTime<Utc>>),
    Priority(Priority),
    Title(String),
    Time(DateTime<Utc>),
}

impl OwnedKey {
    fn as_key(&self) -> Key<'_> {
        match self {
            OwnedKey::Due(t) => Key::Due(*t),
            OwnedKey::Priority(p) => Key::Priority(*p),
            OwnedKey::Title(s) => Key::Title(s),
            OwnedKey::Time(t) => Key::Time(*t),
        }
    }
}

fn decode_cursor(cursor: &str, fp: [u8; 8], sort: SortKey) -> Result<After, Problem> {
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

// ---------------------------------------------------------------------------
// Listing

/// Filters, sorts and pages `tasks`. A cursor that does not belong to this
/// query (other filters or sort) or is garbled → 400.
pub fn list(tasks: &[TaskSummary], query: &ListQuery, now: DateTime<Utc>) -> Result<Page, Problem> {
    let fp = fingerprint(query);
    let sort = query.sort;
    let after = match query.cursor.as_deref() {
        Some(cursor) if !cursor.is_empty() => Some(decode_cursor(cursor, fp, sort.key)?),
        _ => None,
    };
    let after_position = after.as_ref().map(|a| (a.key.as_key(), a.id));

    let filter = Filter::new(query, now);
    let mut total = 0;
    let mut rest: Vec<&TaskSummary> = Vec::new();
    for task in tasks.iter().filter(|t| filter.matches(t)) {
        total += 1;
        let is_after = after_position.is_none_or(|position| {
            cmp_position((key_of(task, sort.key), task.id), position, sort.descending)
                == Ordering::Greater
        });
        if is_after {
            rest.push(task);
        }
    }

    let limit = query.limit.clamp(1, MAX_LIMIT);
    let cmp = |a: &&TaskSummary, b: &&TaskSummary| cmp_tasks(a, b, sort);
    let more = rest.len() > limit;
    if more {
        // Only the page needs a full sort: O(n + limit·log limit).
        rest.select_nth_unstable_by(limit, cmp);
        rest.truncate(limit);
    }
    // The order is total (ids are unique), so an unstable sort is deterministic.
    rest.sort_unstable_by(cmp);

    let next_cursor = match rest.last() {
        Some(last) if more => Some(encode_cursor(fp, sort.key, last)),
        _ => None,
    };
    Ok(Page {
        ids: rest.iter().map(|t| t.id).collect(),
        next_cursor,
        total,
    })
}

/// The user's tags with counts, most used first, then alphabetically
/// (case-insensitive, then exact). A tag counts once per task.
pub fn tag_counts(tasks: &[TaskSummary]) -> Vec<TagCount> {
    let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
    for task in tasks {
        for (i, tag) in task.tags.iter().enumerate() {
            if !task.tags[..i].contains(tag) {
                *counts.entry(tag.as_str()).or_default() += 1;
            }
        }
    }
    let mut sorted: Vec<(&str, usize)> = counts.into_iter().collect();
    sorted.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| cmp_text(a.0, b.0)));
    sorted
        .into_iter()
        .map(|(tag, count)| TagCount {
            tag: tag.to_string(),
            count,
        })
        .collect()
}
