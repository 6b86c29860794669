//! The audit log: one immutable entry per task event (and per sign-up, see
//! "Account entries"), chained per user by SHA-256 so that any later edit,
//! insertion or removal is detectable (architecture §5).
//!
//! # Entries
//!
//! ```json
//! { "seq": 3, "eventId": "…", "type": "todo.task.updated.v1", "taskId": "…",
//!   "at": "2026-11-27T10:00:00Z", "actor": "alice",
//!   "changes": [{ "field": "title", "from": "Draft", "to": "Report" }],
//!   "prevHash": "…64 hex…", "hash": "…64 hex…" }
//! ```
//!
//! - `seq` numbers the user's entries 1, 2, 3… without gaps.
//! - `eventId`, `type`, `taskId` come from the CloudEvent; `at` is its `time`;
//!   `actor` is the user whose task it is (`data.userId`: only the owner can
//!   change a task, directly or through their recurring series).
//! - `changes` compares `data.previous` with `data.task` ([`changes`]) over
//!   [`TRACKED_FIELDS`], in that order. A
//!   field's value is its JSON in the task; an absent task (before a create,
//!   after a delete) has every field `null`, and empty values (`""`, `[]`)
//!   count as `null`, so a create lists the fields that were set and a delete
//!   the fields that had a value.
//!
//! # Account entries
//!
//! A sign-up (`todo.account.created.v1`, [`ChainHead::account_entry`]) is an
//! entry of the new account's own chain (the user is the account id, the
//! `sub` of its tokens), normally its first:
//!
//! ```json
//! { "seq": 1, "eventId": "…", "type": "todo.account.created.v1",
//!   "at": "2026-11-27T10:00:00Z", "actor": "<account id>", "changes": [],
//!   "prevHash": "…64 zeros…", "hash": "…64 hex…" }
//! ```
//!
//! The entry kind is its `type`, as for task entries. It has no `taskId`:
//! the member is left out (not `null`) when there is no task, so a task
//! entry serializes, and therefore hashes, exactly as it always did, and
//! chains written before account entries existed still verify. `changes`
//! is empty.
//!
//! It records who (`actor`, the account id) and when (`at`), and no personal
//! data: not the e-mail address and not the display name, although the
//! event carries both. The log is append-only and hash-chained, so nothing
//! in it can ever be erased or corrected without breaking every later link;
//! identity keeps the address and the name (`account/{id}`), where they can
//! be changed or deleted, and the account id joins the two.
//!
//! # The chain
//!
//! ```text
//! hash = lowercase hex( SHA-256( prevHash || JCS(entry without "hash") ) )
//! ```
//!
//! - `prevHash` is the previous entry's `hash` as its 64 ASCII hex characters;
//!   the first entry's is [`GENESIS_HASH`] (64 `0`s). It is hashed twice on
//!   purpose: as the prefix, and inside the entry (the `prevHash` member).
//! - `JCS` is the JSON Canonicalization Scheme, RFC 8785 (via the `serde_jcs`
//!   crate): object members sorted by their UTF-16 code units, no
//!   insignificant whitespace, strings with only the mandatory escapes
//!   (`\"`, `\\`, `\b \f \n \r \t`, other control characters as lowercase
//!   `\u00xx`; everything else as UTF-8), numbers as ECMAScript prints them
//!   (entries only hold integers). The entry is hashed with every member
//!   except `hash` — including any member a newer writer or a tamperer added.
//! - The head `{seq, hash}` (state key `chain/{uid}`) is the last entry's;
//!   [`Verifier`] checks entries 1..=head.seq in order and the head itself.
//!
//! To check an entry by hand: `printf '%s%s' "$prevHash" "$jcs_of_entry" | sha256sum`.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::events::account::AccountEvent;
use crate::events::task::TaskEvent;
use crate::events::TRACKED_FIELDS;
use crate::task::Task;

/// The `prevHash` of a user's first entry.
pub const GENESIS_HASH: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// The largest entry stored (architecture §5: every document ≤ 64 KiB). An entry
/// holds one event's changes, so its size follows from the task limits, not
/// from the user's history: a task at every limit (5,000-character
/// description, 200-character title, 20 tags of 40 characters, a
/// 1,000-character RRULE, all in 4-byte characters) changed into another
/// such task makes an entry of ~51 KiB; and an entry holds less than the
/// event it records, whose delivery body is itself at most 64 KiB. An event
/// whose entry would still be larger breaks those limits and is refused as
/// poison.
pub const MAX_ENTRY_BYTES: usize = 64 * 1024;

/// How long the dedupe marker of a recorded event (`seen/{eventId}`) is
/// kept: 30 days, beyond the longest time an event can still be delivered
/// (Kafka keeps `task-events` 7 days and its dead-letter topic, from which
/// events are replayed, 14), so markers do not pile up for ever yet every
/// possible redelivery still finds its marker.
pub const SEEN_TTL_SECS: u64 = 30 * 24 * 3600;

/// One field that differs between the task before and after an event.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FieldChange {
    pub field: String,
    pub from: Value,
    pub to: Value,
}

/// One audit log entry (see the module documentation).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AuditEntry {
    pub seq: u64,
    pub event_id: String,
    #[serde(rename = "type")]
    pub kind: String,
    /// The task of a task entry; `None` (the member absent, never `null`)
    /// for an entry about something else, such as a sign-up.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub task_id: Option<Uuid>,
    pub at: DateTime<Utc>,
    pub actor: String,
    pub changes: Vec<FieldChange>,
    pub prev_hash: String,
    pub hash: String,
}

/// The head of a user's chain: the last entry's `seq` and `hash`
/// (`{0, GENESIS_HASH}` before the first entry).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChainHead {
    pub seq: u64,
    pub hash: String,
}

impl Default for ChainHead {
    fn default() -> ChainHead {
        ChainHead {
            seq: 0,
            hash: GENESIS_HASH.to_string(),
        }
    }
}

impl ChainHead {
    /// The entry that records `event` after this head, hashed.
    pub fn next_entry(&self, event: &TaskEvent) -> AuditEntry {
        let data = &event.envelope.data;
        AuditEntry {
            seq: self.seq + 1,
            event_id: event.envelope.id.clone(),
            kind: event.envelope.kind.clone(),
            task_id: Some(data.task_id),
            at: event.envelope.time,
            actor: data.user_id.clone(),
            changes: changes(data.previous.as_ref(), data.task.as_ref()),
            prev_hash: self.hash.clone(),
            hash: String::new(),
        }
        .sealed()
    }

    /// The entry that records the sign-up `event` after this head (on the
    /// account's own chain), hashed: no `taskId`, no `changes`, and no
    /// personal data (see the module documentation).
    pub fn account_entry(&self, event: &AccountEvent) -> AuditEntry {
        AuditEntry {
            seq: self.seq + 1,
            event_id: event.envelope.id.clone(),
            kind: event.envelope.kind.clone(),
            task_id: None,
            at: event.envelope.time,
            actor: event.user_id(),
            changes: Vec::new(),
            prev_hash: self.hash.clone(),
            hash: String::new(),
        }
        .sealed()
    }

    /// The head after appending `entry`.
    pub fn after(entry: &AuditEntry) -> ChainHead {
        ChainHead {
            seq: entry.seq,
            hash: entry.hash.clone(),
        }
    }
}

impl AuditEntry {
    /// The entry with its `hash` computed from everything else.
    fn sealed(mut self) -> AuditEntry {
        self.hash = entry_hash(&self.prev_hash, &self.to_json());
        self
    }

    /// The entry as stored and served.
    pub fn to_json(&self) -> Value {
        serde_json::to_value(self).expect("an audit entry always serializes")
    }

    /// The size of the stored document, in bytes of JSON.
    pub fn stored_len(&self) -> usize {
        serde_json::to_vec(self)
            .expect("an audit entry always serializes")
            .len()
    }
}

/// The field-level differences between `previous` and `task` (either may be
/// absent), in [`TRACKED_FIELDS`] order; see the module documentation.
pub fn changes(previous: Option<&Task>, task: Option<&Task>) -> Vec<FieldChange> {
    let as_json = |t: Option<&Task>| t.map(|t| serde_json::to_value(t).expect("a task serializes"));
    let (before, after) = (as_json(previous), as_json(task));
    TRACKED_FIELDS
        .iter()
        .filter_map(|field| {
            let from = field_value(before.as_ref(), field);
            let to = field_value(after.as_ref(), field);
            (from != to).then(|| FieldChange {
                field: field.to_string(),
                from,
                to,
            })
        })
        .collect()
}

/// A field's JSON value, with absent and empty (`""`, `[]`) as `null`.
fn field_value(task: Option<&Value>, field: &str) -> Value {
    match task.and_then(|t| t.get(field)) {
        None => Value::Null,
        Some(Value::String(s)) if s.is_empty() => Value::Null,
        Some(Value::Array(a)) if a.is_empty() => Value::Null,
        Some(value) => value.clone(),
    }
}

pub use crate::events::canonical::canonical_json;

/// `hash` of an entry: SHA-256 over `prev_hash` (its ASCII text) followed by
/// the JCS of `entry` without its `hash` member, as lowercase hex.
pub fn entry_hash(prev_hash: &str, entry: &Value) -> String {
    let mut hasher = Sha256::new();
    hasher.update(prev_hash.as_bytes());
    match entry {
        Value::Object(members) if members.contains_key("hash") => {
            let mut without = members.clone();
            without.remove("hash");
            hasher.update(canonical_json(&Value::Object(without)));
        }
        other => hasher.update(canonical_json(other)),
    }
    hasher
        .finalize()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The answer of `GET /api/audit/verify`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Verification {
    pub ok: bool,
    /// How many entries the chain has (the head's `seq`).
    pub entries: u64,
    /// The first `seq` that does not check out.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub broken_at: Option<u64>,
}

/// Recomputes a chain entry by entry, in `seq` order, from the stored JSON
/// (never from a re-serialized struct, so any stored change counts).
///
/// Entry `n` checks out when it exists, its `seq` is `n`, its `prevHash` is
/// entry `n-1`'s `hash` (or [`GENESIS_HASH`]), and its `hash` is
/// [`entry_hash`] of itself. The head must then name the last entry's hash;
/// a head that does not is reported as broken at its `seq`.
#[derive(Debug, Clone)]
pub struct Verifier {
    next_seq: u64,
    prev_hash: String,
    broken_at: Option<u64>,
}

impl Default for Verifier {
    fn default() -> Verifier {
        Verifier {
            next_seq: 1,
            prev_hash: GENESIS_HASH.to_string(),
            broken_at: None,
        }
    }
}

impl Verifier {
    pub fn new() -> Verifier {
        Verifier::default()
    }

    /// Checks the next entry (`seq` 1, 2, … in order; `None` when missing).
    pub fn check(&mut self, stored: Option<&Value>) {
        let seq = self.next_seq;
        self.next_seq += 1;
        if self.broken_at.is_some() {
            return;
        }
        let intact = stored.and_then(|entry| {
            let hash = entry.get("hash")?.as_str()?;
            let linked = entry.get("seq")?.as_u64()? == seq
                && entry.get("prevHash")?.as_str()? == self.prev_hash
                && entry_hash(&self.prev_hash, entry) == hash;
            linked.then(|| hash.to_string())
        });
        match intact {
            Some(hash) => self.prev_hash = hash,
            None => self.broken_at = Some(seq),
        }
    }

    /// The verdict for a chain whose head is `head`, after checking entries
    /// `1..=head.seq`.
    pub fn finish(self, head: &ChainHead) -> Verification {
        let mut broken_at = self.broken_at;
        if broken_at.is_none() && (self.next_seq != head.seq + 1 || head.hash != self.prev_hash) {
            broken_at = Some(head.seq);
        }
        Verification {
            ok: broken_at.is_none(),
            entries: head.seq,
            broken_at,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::events::{account_created_event, CloudEvent};
    use crate::identity::account::Account;
    use chrono::TimeZone;
    use serde_json::json;

    /// An entry exactly as audit stored it before account entries existed
    /// (the fixed vector of `tests/audit_chain.rs`), as its stored text.
    const OLD_ENTRY: &str = concat!(
        r#"{"seq":1,"eventId":"00000000-0000-0000-0000-000000000001","#,
        r#""type":"todo.task.created.v1","taskId":"0193a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b","#,
        r#""at":"2026-11-27T10:00:00Z","actor":"alice","changes":["#,
        r#"{"field":"title","from":null,"to":"Grüße \"Q4\""},"#,
        r#"{"field":"status","from":null,"to":"open"},"#,
        r#"{"field":"priority","from":null,"to":"medium"},"#,
        r#"{"field":"tags","from":null,"to":["work"]},"#,
        r#"{"field":"timezone","from":null,"to":"UTC"}],"#,
        r#""prevHash":"0000000000000000000000000000000000000000000000000000000000000000","#,
        r#""hash":"934113a619fc50dc92a7dfc79fcd1f4989e01a5459a86698aeb7e4165a93630f"}"#
    );

    #[test]
    fn an_old_task_entry_reads_writes_and_hashes_as_before() {
        let stored: Value = serde_json::from_str(OLD_ENTRY).unwrap();
        let entry: AuditEntry = serde_json::from_str(OLD_ENTRY).unwrap();
        assert_eq!(
            entry.task_id,
            Some(Uuid::parse_str("0193a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b").unwrap())
        );
        // Written back, it is the same text, member for member.
        assert_eq!(serde_json::to_string(&entry).unwrap(), OLD_ENTRY);
        assert_eq!(entry.to_json(), stored);
        // Its hash is still the one stored, recomputed from the stored JSON
        // and from the struct.
        assert_eq!(entry_hash(GENESIS_HASH, &stored), entry.hash);
        assert_eq!(entry.clone().sealed(), entry);
        let mut verifier = Verifier::new();
        verifier.check(Some(&stored));
        let verdict = verifier.finish(&ChainHead::after(&entry));
        assert!(verdict.ok, "{verdict:?}");
    }

    fn sign_up() -> AccountEvent {
        let created = Utc.with_ymd_and_hms(2026, 11, 27, 10, 0, 0).unwrap();
        let account = Account {
            id: Uuid::parse_str("0193a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a00").unwrap(),
            email: "ana@example.org".into(),
            name: "Ana López".into(),
            password_hash: String::new(),
            created_at: created,
        };
        let published = account_created_event(&account, created, Uuid::from_u128(2)).event;
        let envelope: CloudEvent<Value> = serde_json::from_value(published).unwrap();
        crate::events::account::read(envelope).unwrap()
    }

    /// Pinned like the task entry's vector; recompute with
    /// `printf '%s%s' "$GENESIS" "$JCS" | sha256sum`.
    #[test]
    fn an_account_entry_has_no_task_and_no_personal_data() {
        let entry = ChainHead::default().account_entry(&sign_up());
        let expected = json!({
            "seq": 1,
            "eventId": "00000000-0000-0000-0000-000000000002",
            "type": "todo.account.created.v1",
            "at": "2026-11-27T10:00:00Z",
            "actor": "0193a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a00",
            "changes": [],
            "prevHash": GENESIS_HASH,
            "hash": entry.hash,
        });
        assert_eq!(entry.to_json(), expected);
        let text = serde_json::to_string(&entry).unwrap();
        assert!(!text.contains("taskId"), "{text}");
        assert!(
            !text.contains("example.org") && !text.contains("Ana"),
            "{text}"
        );
        let mut without_hash = expected.clone();
        without_hash.as_object_mut().unwrap().remove("hash");
        assert_eq!(
            String::from_utf8(canonical_json(&without_hash)).unwrap(),
            concat!(
                r#"{"actor":"0193a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a00","at":"2026-11-27T10:00:00Z","#,
                r#""changes":[],"eventId":"00000000-0000-0000-0000-000000000002","#,
                r#""prevHash":"0000000000000000000000000000000000000000000000000000000000000000","#,
                r#""seq":1,"type":"todo.account.created.v1"}"#
            )
        );
        assert_eq!(
            entry.hash,
            "915a41aeab79a65c43007e3eff6777b83fedd8049392518f1e47242064ee35f8"
        );
        // Read back from storage, it is the same entry.
        let back: AuditEntry = serde_json::from_str(&text).unwrap();
        assert_eq!(back, entry);
    }

    #[test]
    fn a_chain_of_a_sign_up_then_task_entries_verifies() {
        let account = ChainHead::default().account_entry(&sign_up());
        let old: AuditEntry = serde_json::from_str(OLD_ENTRY).unwrap();
        // A task entry after the sign-up (its prevHash links to it).
        let mut task = old.clone();
        task.seq = 2;
        task.prev_hash = account.hash.clone();
        let task = task.sealed();
        let mut verifier = Verifier::new();
        verifier.check(Some(&account.to_json()));
        verifier.check(Some(&task.to_json()));
        assert!(verifier.finish(&ChainHead::after(&task)).ok);
        // Giving the sign-up a task (or any other member) breaks it.
        let mut forged = account.to_json();
        forged["taskId"] = json!("0193a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b");
        let mut verifier = Verifier::new();
        verifier.check(Some(&forged));
        verifier.check(Some(&task.to_json()));
        assert_eq!(verifier.finish(&ChainHead::after(&task)).broken_at, Some(1));
    }
}
