//! The audit chain: field-level changes, canonical JSON (RFC 8785), the hash
//! of an entry (a fixed vector), and verification with tampering.

use chrono::{DateTime, Duration, TimeZone, Utc};
use serde_json::{json, Value};
use todo_core::audit::chain::{
    canonical_json, changes, entry_hash, AuditEntry, ChainHead, FieldChange, Verifier, GENESIS_HASH,
};
use todo_core::events::task::TaskEvent;
use todo_core::events::{changed_fields, events_for_change, CloudEvent, TaskChange};
use todo_core::task::validate::{parse_task_input, validate};
use todo_core::task::Task;
use uuid::Uuid;

const USER: &str = "alice";

fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 27, 10, 0, 0).unwrap()
}

fn task_from(body: Value) -> Task {
    let fields = validate(parse_task_input(body.to_string().as_bytes()).unwrap()).unwrap();
    Task::create(
        Uuid::parse_str("0193a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b").unwrap(),
        fields,
        t0(),
    )
}

/// The task event `task-api` publishes for a change, as a consumer reads it.
fn event(change: TaskChange, before: Option<&Task>, after: Option<&Task>, n: u128) -> TaskEvent {
    let mut id = || Uuid::from_u128(n);
    let outbound = events_for_change(change, USER, before, after, t0(), &mut id);
    let envelope: CloudEvent<Value> = serde_json::from_value(outbound[0].event.clone()).unwrap();
    todo_core::events::task::read(envelope).unwrap()
}

fn change(field: &str, from: Value, to: Value) -> FieldChange {
    FieldChange {
        field: field.into(),
        from,
        to,
    }
}

#[test]
fn create_lists_the_fields_that_were_set() {
    let task = task_from(json!({ "title": "Report", "tags": ["work"] }));
    assert_eq!(
        changes(None, Some(&task)),
        vec![
            change("title", Value::Null, json!("Report")),
            change("status", Value::Null, json!("open")),
            change("priority", Value::Null, json!("medium")),
            change("tags", Value::Null, json!(["work"])),
            change("timezone", Value::Null, json!("UTC")),
        ]
    );
}

#[test]
fn update_lists_each_changed_field_with_both_values() {
    let before = task_from(json!({ "title": "Report", "description": "" }));
    let mut after = before.clone();
    let fields = validate(
        parse_task_input(
            json!({
                "title": "Final report",
                "description": "for Q4",
                "priority": "high",
                "dueAt": "2026-12-01T09:00:00Z",
                "reminder": { "before": "PT15M" }
            })
            .to_string()
            .as_bytes(),
        )
        .unwrap(),
    )
    .unwrap();
    after.apply(fields, t0() + Duration::minutes(1));
    let got = changes(Some(&before), Some(&after));
    assert_eq!(
        got,
        vec![
            change("title", json!("Report"), json!("Final report")),
            change("description", Value::Null, json!("for Q4")),
            change("priority", json!("medium"), json!("high")),
            change("dueAt", Value::Null, json!("2026-12-01T09:00:00Z")),
            change(
                "reminder",
                Value::Null,
                json!({ "before": "PT15M", "channels": ["inbox"] })
            ),
        ]
    );
    // The same fields the publisher lists in `changedFields`.
    let names: Vec<String> = got.iter().map(|c| c.field.clone()).collect();
    assert_eq!(names, changed_fields(&before, &after));
}

#[test]
fn complete_reopen_and_delete_changes() {
    let open = task_from(json!({ "title": "Report" }));
    let mut done = open.clone();
    done.complete(t0() + Duration::hours(1));
    assert_eq!(
        changes(Some(&open), Some(&done)),
        vec![
            change("status", json!("open"), json!("completed")),
            change("completedAt", Value::Null, json!("2026-11-27T11:00:00Z")),
        ]
    );
    assert_eq!(
        changes(Some(&done), Some(&open)),
        vec![
            change("status", json!("completed"), json!("open")),
            change("completedAt", json!("2026-11-27T11:00:00Z"), Value::Null),
        ]
    );
    let deleted = changes(Some(&open), None);
    assert_eq!(
        deleted.iter().map(|c| c.field.as_str()).collect::<Vec<_>>(),
        ["title", "status", "priority", "timezone"]
    );
    assert!(deleted.iter().all(|c| c.to.is_null()));
    assert!(changes(Some(&open), Some(&open)).is_empty());
}

#[test]
fn canonical_json_follows_rfc_8785() {
    // RFC 8785 §3.2.2 (numbers, literals, string escapes).
    let input: Value = serde_json::from_str(
        r#"{
          "numbers": [333333333.33333329, 1E30, 4.50, 2e-3, 0.000000000000000000000000001],
          "string": "\u20ac$\u000F\u000aA'\u0042\u0022\u005c\\\"\/",
          "literals": [null, true, false]
        }"#,
    )
    .unwrap();
    assert_eq!(
        String::from_utf8(canonical_json(&input)).unwrap(),
        r#"{"literals":[null,true,false],"numbers":[333333333.3333333,1e+30,4.5,0.002,1e-27],"string":"€$\u000f\nA'B\"\\\\\"/"}"#
    );
    // RFC 8785 §3.2.3: members sorted by UTF-16 code units, not UTF-8 bytes.
    let input: Value = serde_json::from_str(
        r#"{ "\u20ac": 1, "\r": 2, "\ufb33": 3, "1": 4, "\ud83d\ude00": 5, "\u0080": 6, "\u00f6": 7 }"#,
    )
    .unwrap();
    assert_eq!(
        String::from_utf8(canonical_json(&input)).unwrap(),
        "{\"\\r\":2,\"1\":4,\"\u{80}\":6,\"ö\":7,\"€\":1,\"😀\":5,\"\u{fb33}\":3}"
    );
}

/// A fixed vector: the entry, its canonical form and its hash are pinned, so
/// any change to the entry shape or the hashing breaks this test (and every
/// stored chain would stop verifying). Recompute independently with
/// `printf '%s%s' "$GENESIS" "$JCS" | sha256sum`.
#[test]
fn entry_hash_fixed_vector() {
    let task = task_from(json!({ "title": "Grüße \"Q4\"", "tags": ["work"] }));
    let entry = ChainHead::default().next_entry(&event(TaskChange::Created, None, Some(&task), 1));
    let expected_json = json!({
        "seq": 1,
        "eventId": "00000000-0000-0000-0000-000000000001",
        "type": "todo.task.created.v1",
        "taskId": "0193a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b",
        "at": "2026-11-27T10:00:00Z",
        "actor": "alice",
        "changes": [
            { "field": "title", "from": null, "to": "Grüße \"Q4\"" },
            { "field": "status", "from": null, "to": "open" },
            { "field": "priority", "from": null, "to": "medium" },
            { "field": "tags", "from": null, "to": ["work"] },
            { "field": "timezone", "from": null, "to": "UTC" }
        ],
        "prevHash": GENESIS_HASH,
        "hash": entry.hash,
    });
    assert_eq!(entry.to_json(), expected_json);
    let mut without_hash = expected_json.clone();
    without_hash.as_object_mut().unwrap().remove("hash");
    assert_eq!(
        String::from_utf8(canonical_json(&without_hash)).unwrap(),
        concat!(
            r#"{"actor":"alice","at":"2026-11-27T10:00:00Z","changes":["#,
            r#"{"field":"title","from":null,"to":"Grüße \"Q4\""},"#,
            r#"{"field":"status","from":null,"to":"open"},"#,
            r#"{"field":"priority","from":null,"to":"medium"},"#,
            r#"{"field":"tags","from":null,"to":["work"]},"#,
            r#"{"field":"timezone","from":null,"to":"UTC"}],"#,
            r#""eventId":"00000000-0000-0000-0000-000000000001","#,
            r#""prevHash":"0000000000000000000000000000000000000000000000000000000000000000","#,
            r#""seq":1,"taskId":"0193a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b","#,
            r#""type":"todo.task.created.v1"}"#
        )
    );
    assert_eq!(
        entry.hash,
        "934113a619fc50dc92a7dfc79fcd1f4989e01a5459a86698aeb7e4165a93630f"
    );
    // Member order and whitespace of the stored JSON do not matter.
    let reordered: Value = serde_json::from_str(&format!(
        "{{ \"hash\": \"x\", \"type\": \"todo.task.created.v1\", {} }}",
        &without_hash.to_string()[1..without_hash.to_string().len() - 1]
    ))
    .unwrap();
    assert_eq!(entry_hash(GENESIS_HASH, &reordered), entry.hash);
}

/// A chain of five entries (create, update, complete, reopen, delete) as stored JSON.
fn chain() -> (Vec<Value>, ChainHead) {
    let open = task_from(json!({ "title": "Report" }));
    let mut renamed = open.clone();
    let fields = validate(
        parse_task_input(json!({ "title": "Final report" }).to_string().as_bytes()).unwrap(),
    )
    .unwrap();
    renamed.apply(fields, t0());
    let mut done = renamed.clone();
    done.complete(t0());
    let mut reopened = done.clone();
    reopened.reopen(t0());
    let events = [
        event(TaskChange::Created, None, Some(&open), 1),
        event(TaskChange::Updated, Some(&open), Some(&renamed), 2),
        event(TaskChange::Completed, Some(&renamed), Some(&done), 3),
        event(TaskChange::Reopened, Some(&done), Some(&reopened), 4),
        event(TaskChange::Deleted, Some(&reopened), None, 5),
    ];
    let mut head = ChainHead::default();
    let mut stored = Vec::new();
    for e in &events {
        let entry = head.next_entry(e);
        head = ChainHead::after(&entry);
        stored.push(entry.to_json());
    }
    (stored, head)
}

fn verify(stored: &[Value], head: &ChainHead) -> (bool, Option<u64>) {
    let mut verifier = Verifier::new();
    for seq in 1..=head.seq {
        verifier.check(stored.get(seq as usize - 1));
    }
    let v = verifier.finish(head);
    assert_eq!(v.entries, head.seq);
    (v.ok, v.broken_at)
}

#[test]
fn an_untouched_chain_verifies() {
    let (stored, head) = chain();
    assert_eq!(head.seq, 5);
    let entries: Vec<AuditEntry> = stored
        .iter()
        .map(|v| serde_json::from_value(v.clone()).unwrap())
        .collect();
    assert_eq!(entries[0].prev_hash, GENESIS_HASH);
    for pair in entries.windows(2) {
        assert_eq!(pair[1].prev_hash, pair[0].hash);
        assert_eq!(pair[1].seq, pair[0].seq + 1);
    }
    assert_eq!(verify(&stored, &head), (true, None));
    assert_eq!(
        verify(&[], &ChainHead::default()),
        (true, None),
        "empty chain"
    );
    let json = serde_json::to_value(Verifier::new().finish(&ChainHead::default())).unwrap();
    assert_eq!(json, json!({ "ok": true, "entries": 0 }));
}

#[test]
fn tampering_is_found_at_the_first_broken_seq() {
    let (stored, head) = chain();
    let tampered = |seq: usize, edit: &dyn Fn(&mut Value)| {
        let mut copy = stored.clone();
        edit(&mut copy[seq - 1]);
        verify(&copy, &head)
    };
    // A changed value, an added member, a removed change.
    assert_eq!(
        tampered(3, &|e| e["actor"] = json!("mallory")),
        (false, Some(3))
    );
    assert_eq!(tampered(2, &|e| e["note"] = json!("hi")), (false, Some(2)));
    assert_eq!(
        tampered(2, &|e| {
            e["changes"].as_array_mut().unwrap().pop();
        }),
        (false, Some(2))
    );
    // Rewriting an entry *and* its hash breaks the link to the next one.
    assert_eq!(
        tampered(2, &|e| {
            e["actor"] = json!("mallory");
            let prev = e["prevHash"].as_str().unwrap().to_string();
            e["hash"] = json!(entry_hash(&prev, e));
        }),
        (false, Some(3))
    );
    // … and of the last entry, the link to the head.
    assert_eq!(
        tampered(5, &|e| {
            e["actor"] = json!("mallory");
            let prev = e["prevHash"].as_str().unwrap().to_string();
            e["hash"] = json!(entry_hash(&prev, e));
        }),
        (false, Some(5))
    );
    // A wrong seq, a missing entry, swapped entries.
    assert_eq!(tampered(4, &|e| e["seq"] = json!(40)), (false, Some(4)));
    let mut missing: Vec<Value> = stored.clone();
    missing.remove(1);
    assert_eq!(verify(&missing, &head), (false, Some(2)));
    let mut swapped = stored.clone();
    swapped.swap(0, 1);
    assert_eq!(verify(&swapped, &head), (false, Some(1)));
    // A head that does not match the last entry.
    let mut bad_head = head.clone();
    bad_head.hash = GENESIS_HASH.into();
    assert_eq!(verify(&stored, &bad_head), (false, Some(5)));
}

/// A task at every limit task-api enforces, in 4-byte characters (`c`), so
/// that its JSON is as large as a valid task's can be.
fn largest_task(c: char) -> Task {
    use todo_core::recurrence::syntax::RRULE_MAX_LEN;
    use todo_core::task::validate::{
        DESCRIPTION_MAX_CHARS, TAGS_MAX, TAG_MAX_CHARS, TITLE_MAX_CHARS,
    };
    use todo_core::{Channel, Recurrence, RecurrenceFrom, Reminder, Status};
    assert_eq!(c.len_utf8(), 4);
    let text = |n: usize| c.to_string().repeat(n);
    let mut task = task_from(json!({ "title": "x" }));
    task.title = text(TITLE_MAX_CHARS);
    task.description = text(DESCRIPTION_MAX_CHARS);
    task.tags = (0..TAGS_MAX)
        .map(|i| format!("{:02}{}", i, text(TAG_MAX_CHARS - 2)))
        .collect();
    task.status = Status::Completed;
    task.due_at = Some(t0());
    task.completed_at = Some(t0());
    task.timezone = "America/Argentina/ComodRivadavia".into();
    task.reminder = Some(Reminder {
        before: "P52W6DT23H59M59S".into(),
        channels: vec![Channel::Inbox, Channel::Email, Channel::Webhook],
    });
    task.recurrence = Some(Recurrence {
        rrule: "X".repeat(RRULE_MAX_LEN),
        from: RecurrenceFrom::Completion,
        series_id: Uuid::from_u128(u128::MAX),
        occurrence: u32::MAX,
        dtstart: None,
    });
    task
}

#[test]
fn the_largest_possible_entry_fits_in_a_document() {
    use todo_core::audit::chain::MAX_ENTRY_BYTES;
    use todo_core::recurrence::syntax::RRULE_MAX_LEN;
    // Every tracked field changes from one largest value to another.
    let before = largest_task('\u{1D11E}');
    let mut after = largest_task('\u{1D122}');
    after.status = todo_core::Status::Open;
    after.completed_at = None;
    after.recurrence.as_mut().unwrap().rrule = "Y".repeat(RRULE_MAX_LEN);
    after.priority = todo_core::Priority::Urgent;
    after.due_at = Some(t0() + Duration::days(1));
    after.timezone = "America/Argentina/Buenos_Aires".into();
    after.reminder.as_mut().unwrap().before = "P52W6DT23H59M58S".into();
    let entry = ChainHead::default().next_entry(&event(
        TaskChange::Updated,
        Some(&before),
        Some(&after),
        1,
    ));
    let fields: Vec<&str> = entry.changes.iter().map(|c| c.field.as_str()).collect();
    assert_eq!(fields.len(), 10, "{fields:?}");
    let bytes = entry.stored_len();
    assert_eq!(bytes, serde_json::to_vec(&entry.to_json()).unwrap().len());
    assert!(bytes <= MAX_ENTRY_BYTES, "{bytes} bytes");
    assert!(bytes > 48 * 1024, "the worst case is ~51 KiB, got {bytes}");
}
