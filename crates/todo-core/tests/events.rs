//! Which events a task change publishes, and what their envelopes look like.

use std::collections::HashSet;

use chrono::{DateTime, Duration, TimeZone, Utc};
use serde_json::{json, Value};
use todo_core::events::{
    changed_fields, events_for_change, remind_at, topics, types, OutboundEvent, ReminderEventData,
    TaskChange, TaskChangedData, TaskEventData,
};
use todo_core::task::validate::{parse_task_input, validate};
use todo_core::task::Task;
use uuid::Uuid;

const USER: &str = "user-1";

fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 1, 1, 12, 0, 0).unwrap()
}

fn task_from(body: Value) -> Task {
    let fields = validate(parse_task_input(body.to_string().as_bytes()).unwrap()).unwrap();
    Task::create(Uuid::from_u128(0xAB), fields, t0())
}

fn with_reminder() -> Task {
    task_from(json!({
        "title": "Dentist",
        "tags": ["health"],
        "dueAt": "2026-03-10T09:00:00Z",
        "reminder": {"before": "PT30M", "channels": ["inbox", "email"]}
    }))
}

/// Applies a body (a full create-style body) to `task` as an update.
fn updated(task: &Task, body: Value) -> Task {
    let fields = validate(parse_task_input(body.to_string().as_bytes()).unwrap()).unwrap();
    let mut after = task.clone();
    after.apply(fields, t0() + Duration::minutes(5));
    after
}

fn body_of(task: &Task) -> Value {
    let mut v = serde_json::to_value(task).unwrap();
    let obj = v.as_object_mut().unwrap();
    for k in [
        "id",
        "status",
        "version",
        "createdAt",
        "updatedAt",
        "completedAt",
    ] {
        obj.remove(k);
    }
    if let Some(r) = obj.get_mut("recurrence").and_then(Value::as_object_mut) {
        r.remove("seriesId");
        r.remove("occurrence");
    }
    obj.retain(|_, v| !v.is_null());
    v
}

fn ids() -> impl FnMut() -> Uuid {
    let mut n = 0u128;
    move || {
        n += 1;
        Uuid::from_u128(0x1000 + n)
    }
}

fn emit(change: TaskChange, before: Option<&Task>, after: Option<&Task>) -> Vec<OutboundEvent> {
    let mut next = ids();
    events_for_change(
        change,
        USER,
        before,
        after,
        t0() + Duration::minutes(5),
        &mut next,
    )
}

fn kinds(events: &[OutboundEvent]) -> Vec<(&str, &str)> {
    events
        .iter()
        .map(|e| (e.topic.as_str(), e.event["type"].as_str().unwrap()))
        .collect()
}

fn reminder_kinds(events: &[OutboundEvent]) -> Vec<&str> {
    events
        .iter()
        .filter(|e| e.topic == topics::REMINDERS)
        .map(|e| e.event["type"].as_str().unwrap())
        .collect()
}

fn data<T: serde::de::DeserializeOwned>(e: &OutboundEvent) -> T {
    serde_json::from_value(e.event["data"].clone()).unwrap()
}

// ---------- envelopes ----------

#[test]
fn created_publishes_task_event_reminder_and_sync_in_order() {
    let t = with_reminder();
    let events = emit(TaskChange::Created, None, Some(&t));
    assert_eq!(
        kinds(&events),
        vec![
            (topics::TASK_EVENTS, types::TASK_CREATED),
            (topics::REMINDERS, types::REMINDER_SCHEDULED),
            (topics::TASK_UPDATES, types::SYNC_TASK_CHANGED),
        ]
    );
}

#[test]
fn envelopes_are_cloudevents_with_distinct_ids() {
    let t = with_reminder();
    let events = emit(TaskChange::Created, None, Some(&t));
    let mut seen = HashSet::new();
    for e in &events {
        let ev = &e.event;
        assert_eq!(e.partition_key, USER);
        assert_eq!(ev["specversion"], "1.0");
        assert_eq!(ev["source"], "task-api");
        assert_eq!(ev["subject"], t.id.to_string());
        assert_eq!(ev["datacontenttype"], "application/json");
        assert_eq!(ev["time"], "2026-01-01T12:05:00Z");
        let id = ev["id"].as_str().unwrap();
        assert_eq!(id.len(), 36, "hyphenated uuid: {id}");
        assert!(Uuid::parse_str(id).is_ok());
        assert!(seen.insert(id.to_string()), "duplicate id {id}");
        assert!(ev.get("kind").is_none(), "the type key is `type`");
    }
    assert_eq!(seen.len(), 3);
    // ids come from the generator, one call per event
    assert_eq!(events[0].event["id"], Uuid::from_u128(0x1001).to_string());
    assert_eq!(events[2].event["id"], Uuid::from_u128(0x1003).to_string());
}

#[test]
fn created_event_has_no_previous_and_camel_case_data() {
    let t = with_reminder();
    let events = emit(TaskChange::Created, None, Some(&t));
    let d = &events[0].event["data"];
    assert!(d.get("previous").is_none(), "{d}");
    assert_eq!(d["userId"], USER);
    assert_eq!(d["taskId"], t.id.to_string());
    assert_eq!(d["version"], 1);
    assert_eq!(d["task"]["dueAt"], "2026-03-10T09:00:00Z");
    assert_eq!(d["task"]["title"], "Dentist");
    assert!(d.get("user_id").is_none() && d.get("changed_fields").is_none());
    let fields: Vec<&str> = d["changedFields"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    // the fields that have a value; description/recurrence/completedAt are empty
    assert_eq!(
        fields,
        vec!["title", "status", "priority", "tags", "dueAt", "timezone", "reminder"]
    );
    let typed: TaskEventData = data(&events[0]);
    assert_eq!(typed.task.as_ref(), Some(&t));
    assert_eq!(typed.previous, None);
}

#[test]
fn updated_event_carries_before_after_and_changed_fields() {
    let before = with_reminder();
    let mut body = body_of(&before);
    body["tags"] = json!(["health", "teeth"]);
    body["priority"] = json!("high");
    let after = updated(&before, body);
    let events = emit(TaskChange::Updated, Some(&before), Some(&after));
    assert_eq!(events[0].event["type"], types::TASK_UPDATED);
    let d: TaskEventData = data(&events[0]);
    assert_eq!(d.version, 2);
    assert_eq!(d.previous.as_ref(), Some(&before));
    assert_eq!(d.task.as_ref(), Some(&after));
    assert_eq!(d.changed_fields, vec!["priority", "tags"]);
}

#[test]
fn delete_is_a_change_with_the_next_version() {
    let before = with_reminder();
    let events = emit(TaskChange::Deleted, Some(&before), None);
    assert_eq!(
        kinds(&events),
        vec![
            (topics::TASK_EVENTS, types::TASK_DELETED),
            (topics::REMINDERS, types::REMINDER_CANCELLED),
            (topics::TASK_UPDATES, types::SYNC_TASK_CHANGED),
        ]
    );
    let d = &events[0].event["data"];
    assert_eq!(d["version"], before.version + 1);
    assert!(d["task"].is_null(), "task is null on delete: {d}");
    assert_eq!(d["previous"]["id"], before.id.to_string());
    let sync: TaskChangedData = data(&events[2]);
    assert_eq!(sync.version, before.version + 1);
    assert_eq!(sync.task, None);
    assert_eq!(events[2].event["data"]["change"], "deleted");
    let r: ReminderEventData = data(&events[1]);
    assert_eq!(r.version, before.version + 1);
    assert_eq!(events[1].event["subject"], before.id.to_string());
}

#[test]
fn each_change_has_its_task_event_type() {
    let open = task_from(json!({"title": "x"}));
    let mut done = open.clone();
    assert!(done.complete(t0()));
    let mut reopened = done.clone();
    assert!(reopened.reopen(t0()));
    let cases = [
        (
            TaskChange::Created,
            None,
            Some(&open),
            types::TASK_CREATED,
            "created",
        ),
        (
            TaskChange::Updated,
            Some(&open),
            Some(&open),
            types::TASK_UPDATED,
            "updated",
        ),
        (
            TaskChange::Completed,
            Some(&open),
            Some(&done),
            types::TASK_COMPLETED,
            "completed",
        ),
        (
            TaskChange::Reopened,
            Some(&done),
            Some(&reopened),
            types::TASK_REOPENED,
            "reopened",
        ),
        (
            TaskChange::Deleted,
            Some(&open),
            None,
            types::TASK_DELETED,
            "deleted",
        ),
    ];
    for (change, before, after, kind, name) in cases {
        let events = emit(change, before, after);
        // no reminder on this task: task event + sync event only
        assert_eq!(events.len(), 2, "{name}");
        assert_eq!(events[0].event["type"], kind);
        assert_eq!(events[1].event["data"]["change"], name);
    }
    let d: TaskEventData = data(&emit(TaskChange::Completed, Some(&open), Some(&done))[0]);
    assert_eq!(d.changed_fields, vec!["status", "completedAt"]);
    assert_eq!(d.version, 2);
}

// ---------- reminder transitions ----------

#[test]
fn reminder_scheduled_on_create_with_remind_at() {
    let t = with_reminder();
    let events = emit(TaskChange::Created, None, Some(&t));
    let r: ReminderEventData = data(&events[1]);
    assert_eq!(r.user_id, USER);
    assert_eq!(r.task_id, t.id);
    assert_eq!(r.title, "Dentist");
    assert_eq!(
        r.due_at,
        Some(Utc.with_ymd_and_hms(2026, 3, 10, 9, 0, 0).unwrap())
    );
    assert_eq!(
        r.remind_at,
        Some(Utc.with_ymd_and_hms(2026, 3, 10, 8, 30, 0).unwrap())
    );
    assert_eq!(r.version, 1);
    assert_eq!(
        events[1].event["data"]["channels"],
        json!(["inbox", "email"])
    );
    assert_eq!(events[1].event["data"]["remindAt"], "2026-03-10T08:30:00Z");
}

#[test]
fn no_reminder_event_without_an_active_reminder() {
    // no dueAt / no reminder
    for t in [
        task_from(json!({"title": "x"})),
        task_from(json!({"title": "x", "dueAt": "2026-03-10T09:00:00Z"})),
    ] {
        assert!(reminder_kinds(&emit(TaskChange::Created, None, Some(&t))).is_empty());
    }
}

#[test]
fn reminder_rescheduled_when_due_reminder_or_title_change() {
    let before = with_reminder();
    let edits = [
        ("dueAt", json!("2026-03-11T09:00:00Z")),
        (
            "reminder",
            json!({"before": "PT1H", "channels": ["inbox", "email"]}),
        ),
        (
            "reminder",
            json!({"before": "PT30M", "channels": ["webhook"]}),
        ),
        ("title", json!("Dentist (moved)")),
    ];
    for (field, value) in edits {
        let mut body = body_of(&before);
        body[field] = value.clone();
        let after = updated(&before, body);
        let events = emit(TaskChange::Updated, Some(&before), Some(&after));
        assert_eq!(
            reminder_kinds(&events),
            vec![types::REMINDER_SCHEDULED],
            "{field}={value}"
        );
        let r: ReminderEventData = data(&events[1]);
        assert_eq!(r.version, 2);
        assert_eq!(r.remind_at, remind_at(&after));
        assert_eq!(r.title, after.title);
    }
}

#[test]
fn reminder_scheduled_when_added_to_a_task() {
    let before = task_from(json!({"title": "x", "dueAt": "2026-03-10T09:00:00Z"}));
    let mut body = body_of(&before);
    body["reminder"] = json!({"before": "P1D"});
    let after = updated(&before, body);
    let events = emit(TaskChange::Updated, Some(&before), Some(&after));
    assert_eq!(reminder_kinds(&events), vec![types::REMINDER_SCHEDULED]);
    let r: ReminderEventData = data(&events[1]);
    assert_eq!(
        r.remind_at,
        Some(Utc.with_ymd_and_hms(2026, 3, 9, 9, 0, 0).unwrap())
    );
}

#[test]
fn no_reminder_event_when_unrelated_fields_change() {
    let before = with_reminder();
    let edits = [
        ("tags", json!(["health", "family"])),
        ("description", json!("bring the card")),
        ("priority", json!("urgent")),
        ("timezone", json!("Europe/Paris")),
    ];
    for (field, value) in edits {
        let mut body = body_of(&before);
        body[field] = value.clone();
        let after = updated(&before, body);
        let events = emit(TaskChange::Updated, Some(&before), Some(&after));
        assert!(
            reminder_kinds(&events).is_empty(),
            "{field} must not touch the reminder"
        );
        assert_eq!(events.len(), 2);
    }
    // nor when nothing changed at all
    let same = updated(&before, body_of(&before));
    assert!(reminder_kinds(&emit(TaskChange::Updated, Some(&before), Some(&same))).is_empty());
}

#[test]
fn reminder_cancelled_when_it_stops_being_active() {
    let before = with_reminder();

    let mut completed = before.clone();
    completed.complete(t0() + Duration::minutes(1));

    let mut no_reminder = body_of(&before);
    no_reminder.as_object_mut().unwrap().remove("reminder");
    let no_reminder = updated(&before, no_reminder);

    let mut no_due = body_of(&before);
    let obj = no_due.as_object_mut().unwrap();
    obj.remove("reminder");
    obj.remove("dueAt");
    let no_due = updated(&before, no_due);

    let cases = [
        (TaskChange::Completed, Some(&completed), "completed"),
        (TaskChange::Updated, Some(&no_reminder), "reminder removed"),
        (TaskChange::Updated, Some(&no_due), "dueAt removed"),
        (TaskChange::Deleted, None, "deleted"),
    ];
    for (change, after, why) in cases {
        let events = emit(change, Some(&before), after);
        assert_eq!(
            reminder_kinds(&events),
            vec![types::REMINDER_CANCELLED],
            "{why}"
        );
        let r: ReminderEventData = data(&events[1]);
        assert_eq!(r.task_id, before.id);
        assert_eq!(r.version, 2, "{why}");
        // describes the reminder being cancelled
        assert_eq!(r.remind_at, remind_at(&before));
    }
}

#[test]
fn reminder_scheduled_again_on_reopen_but_not_cancelled_twice() {
    let open = with_reminder();
    let mut done = open.clone();
    done.complete(t0());
    let mut reopened = done.clone();
    reopened.reopen(t0());
    assert_eq!(
        reminder_kinds(&emit(TaskChange::Reopened, Some(&done), Some(&reopened))),
        vec![types::REMINDER_SCHEDULED]
    );
    // A completed task had no active reminder: deleting it cancels nothing.
    assert!(reminder_kinds(&emit(TaskChange::Deleted, Some(&done), None)).is_empty());
    // Editing a completed task's reminder schedules nothing.
    let mut body = body_of(&done);
    body["dueAt"] = json!("2026-04-01T09:00:00Z");
    let edited = updated(&done, body);
    assert_eq!(edited.status, done.status);
    assert!(reminder_kinds(&emit(TaskChange::Updated, Some(&done), Some(&edited))).is_empty());
}

#[test]
fn no_events_without_a_task() {
    assert!(emit(TaskChange::Deleted, None, None).is_empty());
}

// ---------- helpers ----------

#[test]
fn changed_fields_lists_every_difference_in_fixed_order() {
    let before = with_reminder();
    assert!(changed_fields(&before, &before).is_empty());
    let mut after = before.clone();
    after.completed_at = Some(t0());
    after.title = "other".into();
    after.recurrence = Some(todo_core::Recurrence {
        rrule: "FREQ=DAILY".into(),
        from: Default::default(),
        series_id: after.id,
        occurrence: 1,
        dtstart: None,
    });
    after.timezone = "Asia/Tokyo".into();
    after.description = "d".into();
    // version and updatedAt are not fields a user changed
    after.version = 9;
    after.updated_at = t0() + Duration::days(1);
    assert_eq!(
        changed_fields(&before, &after),
        vec![
            "title",
            "description",
            "timezone",
            "recurrence",
            "completedAt"
        ]
    );
    let mut after2 = before.clone();
    after2.status = todo_core::Status::Completed;
    after2.due_at = None;
    after2.reminder = None;
    after2.tags.clear();
    after2.priority = todo_core::Priority::Low;
    assert_eq!(
        changed_fields(&before, &after2),
        vec!["status", "priority", "tags", "dueAt", "reminder"]
    );
}

#[test]
fn remind_at_is_due_minus_before() {
    let t = with_reminder();
    assert_eq!(
        remind_at(&t),
        Some(Utc.with_ymd_and_hms(2026, 3, 10, 8, 30, 0).unwrap())
    );
    let mut week = t.clone();
    week.reminder.as_mut().unwrap().before = "P1W".into();
    assert_eq!(
        remind_at(&week),
        Some(Utc.with_ymd_and_hms(2026, 3, 3, 9, 0, 0).unwrap())
    );
    let mut no_due = t.clone();
    no_due.due_at = None;
    assert_eq!(remind_at(&no_due), None);
    let mut no_reminder = t.clone();
    no_reminder.reminder = None;
    assert_eq!(remind_at(&no_reminder), None);
}
