//! Reading delivered task events: known types, schema versions, and data
//! that does not hang together.

use chrono::{TimeZone, Utc};
use serde_json::{json, Value};
use todo_core::events::task::{change_of, read, Unreadable, KNOWN_TYPES};
use todo_core::events::{events_for_change, CloudEvent, TaskChange};
use todo_core::task::validate::{parse_task_input, validate};
use todo_core::task::Task;
use uuid::Uuid;

fn task() -> Task {
    let fields = validate(parse_task_input(br#"{"title":"Report"}"#).unwrap()).unwrap();
    Task::create(
        Uuid::from_u128(7),
        fields,
        Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap(),
    )
}

/// The envelope task-api publishes for `change`, as JSON.
fn envelope(change: TaskChange) -> Value {
    let open = task();
    let mut done = open.clone();
    done.complete(Utc.with_ymd_and_hms(2026, 1, 2, 0, 0, 0).unwrap());
    let (before, after) = match change {
        TaskChange::Created => (None, Some(&open)),
        TaskChange::Deleted => (Some(&open), None),
        TaskChange::Reopened => (Some(&done), Some(&open)),
        _ => (Some(&open), Some(&done)),
    };
    let mut id = || Uuid::from_u128(1);
    let events = events_for_change(change, "alice", before, after, Utc::now(), &mut id);
    events[0].event.clone()
}

fn read_json(value: Value) -> Result<TaskChange, Unreadable> {
    let envelope: CloudEvent<Value> = serde_json::from_value(value).unwrap();
    read(envelope).map(|e| e.change)
}

#[test]
fn every_published_task_event_reads_back() {
    for (kind, change) in KNOWN_TYPES {
        assert_eq!(change_of(kind), Some(change));
        let value = envelope(change);
        assert_eq!(value["type"], kind);
        assert_eq!(read_json(value), Ok(change));
    }
    assert_eq!(change_of("todo.task.created.v2"), None);
}

#[test]
fn other_versions_and_types_are_unknown() {
    for kind in [
        "todo.task.created.v2",
        "todo.task.created",
        "todo.reminder.scheduled.v1",
        "com.dapr.event.sent",
    ] {
        let mut value = envelope(TaskChange::Created);
        value["type"] = json!(kind);
        // Even with data of another shape: the type is judged first.
        value["data"] = json!({ "something": "else" });
        assert!(
            matches!(read_json(value), Err(Unreadable::UnknownType(_))),
            "{kind}"
        );
    }
    let mut value = envelope(TaskChange::Created);
    value["specversion"] = json!("0.3");
    assert!(matches!(read_json(value), Err(Unreadable::UnknownType(_))));
}

#[test]
fn data_that_does_not_match_its_type_is_bad() {
    type Edit = Box<dyn Fn(&mut Value)>;
    let cases: Vec<(TaskChange, Edit)> = vec![
        (TaskChange::Created, Box::new(|d| d["userId"] = json!(""))),
        (TaskChange::Created, Box::new(|d| d["userId"] = json!(42))),
        (
            TaskChange::Created,
            Box::new(|d| {
                d.as_object_mut().unwrap().remove("taskId");
            }),
        ),
        (TaskChange::Created, Box::new(|d| d["task"] = Value::Null)),
        (
            TaskChange::Created,
            Box::new(|d| d["previous"] = d["task"].clone()),
        ),
        (
            TaskChange::Created,
            Box::new(|d| d["task"]["id"] = json!(Uuid::from_u128(9))),
        ),
        (
            TaskChange::Created,
            Box::new(|d| d["task"]["status"] = json!("done")),
        ),
        (
            TaskChange::Completed,
            Box::new(|d| {
                d.as_object_mut().unwrap().remove("previous");
            }),
        ),
        (
            TaskChange::Completed,
            Box::new(|d| d["previous"]["id"] = json!(Uuid::from_u128(9))),
        ),
        (
            TaskChange::Deleted,
            Box::new(|d| d["task"] = d["previous"].clone()),
        ),
    ];
    for (i, (change, edit)) in cases.into_iter().enumerate() {
        let mut value = envelope(change);
        edit(&mut value["data"]);
        assert!(
            matches!(read_json(value), Err(Unreadable::BadData(_))),
            "case {i}"
        );
    }
    let mut value = envelope(TaskChange::Created);
    value["data"] = json!("not an object");
    assert!(matches!(read_json(value), Err(Unreadable::BadData(_))));
}
