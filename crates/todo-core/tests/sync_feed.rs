//! The change feed's read rules and SSE framing/timing.

use std::time::Duration;

use chrono::{DateTime, TimeZone, Utc};
use serde_json::{json, Value};
use todo_core::events::{types, CloudEvent};
use todo_core::sync::feed::{
    owner_of, parse_wait, plan_read, start_cursor, take_batch, Backoff, Batch, Change,
    FeedEventError, ReadPlan, MAX_BATCH,
};
use todo_core::sync::sse::{self, Due, StreamTimer, HEARTBEAT_SECS};

fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 5, 1, 12, 0, 0).unwrap()
}

fn event(kind: &str, data: Value) -> CloudEvent<Value> {
    CloudEvent {
        specversion: "1.0".into(),
        id: "ev-1".into(),
        source: "task-api".into(),
        kind: kind.into(),
        subject: None,
        time: t0(),
        datacontenttype: "application/json".into(),
        data,
    }
}

fn change(seq: u64) -> Change {
    Change {
        seq,
        id: format!("ev-{seq}"),
        kind: types::SYNC_TASK_CHANGED.into(),
        time: t0(),
        data: json!({ "n": seq }),
    }
}

fn task_changed(user: &str) -> Value {
    json!({
        "userId": user,
        "taskId": "0193b2c4-0000-7000-8000-000000000001",
        "version": 1,
        "change": "deleted",
        "task": null
    })
}

#[test]
fn owner_is_read_from_each_supported_type() {
    assert_eq!(
        owner_of(&event(types::SYNC_TASK_CHANGED, task_changed("alice"))).unwrap(),
        "alice"
    );
    let notification = json!({
        "userId": "bob",
        "notification": {
            "id": "0193b2c4-0000-7000-8000-000000000002", "kind": "reminder",
            "taskId": "0193b2c4-0000-7000-8000-000000000001", "title": "t",
            "dueAt": null, "remindAt": "2026-05-01T12:00:00Z", "channels": ["inbox"],
            "createdAt": "2026-05-01T12:00:00Z", "read": false
        }
    });
    assert_eq!(
        owner_of(&event(types::SYNC_NOTIFICATION, notification)).unwrap(),
        "bob"
    );
}

#[test]
fn unknown_types_and_bad_data_are_refused() {
    assert!(matches!(
        owner_of(&event("todo.sync.other.v1", task_changed("a"))),
        Err(FeedEventError::UnknownType(_))
    ));
    assert!(matches!(
        owner_of(&event(types::SYNC_TASK_CHANGED, json!({ "userId": "a" }))),
        Err(FeedEventError::BadData(_))
    ));
    assert!(matches!(
        owner_of(&event(types::SYNC_TASK_CHANGED, task_changed(" "))),
        Err(FeedEventError::BadData(_))
    ));
}

#[test]
fn a_change_keeps_the_event_identity() {
    let c = Change::from_event(9, event(types::SYNC_TASK_CHANGED, task_changed("a")));
    assert_eq!((c.seq, c.id.as_str()), (9, "ev-1"));
    let json = serde_json::to_value(&c).unwrap();
    assert_eq!(json["type"], types::SYNC_TASK_CHANGED);
    assert_eq!(json["data"]["userId"], "a");
}

#[test]
fn last_event_id_wins_over_since() {
    assert_eq!(start_cursor(None, None).unwrap(), None);
    assert_eq!(start_cursor(Some("7"), Some("3")).unwrap(), Some(7));
    assert_eq!(start_cursor(None, Some("3")).unwrap(), Some(3));
    assert_eq!(start_cursor(Some(""), Some("3")).unwrap(), Some(3));
    assert_eq!(start_cursor(Some("x"), None).unwrap_err().status, 400);
    assert_eq!(start_cursor(None, Some("-1")).unwrap_err().status, 400);
}

#[test]
fn wait_is_bounded() {
    assert_eq!(parse_wait(None).unwrap(), Duration::ZERO);
    assert_eq!(parse_wait(Some("30")).unwrap(), Duration::from_secs(30));
    assert_eq!(parse_wait(Some("31")).unwrap_err().status, 400);
    assert_eq!(parse_wait(Some("1.5")).unwrap_err().status, 400);
}

#[test]
fn read_plans() {
    assert_eq!(plan_read(5, 5), ReadPlan::UpToDate);
    assert_eq!(plan_read(6, 5), ReadPlan::Reset);
    assert_eq!(plan_read(2, 5), ReadPlan::Fetch { first: 3, last: 5 });
    assert_eq!(
        plan_read(0, 1000),
        ReadPlan::Fetch {
            first: 1,
            last: MAX_BATCH
        }
    );
}

#[test]
fn batches_are_the_contiguous_run_and_an_expired_start_is_a_reset() {
    assert_eq!(
        take_batch(
            3,
            vec![Some(change(3)), Some(change(4)), None, Some(change(6))]
        ),
        Batch::Changes(vec![change(3), change(4)])
    );
    assert_eq!(take_batch(3, vec![None, Some(change(4))]), Batch::Expired);
    assert_eq!(
        take_batch(3, vec![Some(change(9))]),
        Batch::Expired,
        "a document under the wrong key"
    );
}

#[test]
fn backoff_doubles_to_its_cap_and_resets() {
    let mut b = Backoff::default();
    let waits: Vec<Duration> = (0..6).map(|_| b.next_wait()).collect();
    assert_eq!(waits[0], Backoff::MIN);
    assert_eq!(waits[1], Backoff::MIN * 2);
    assert_eq!(*waits.last().unwrap(), Backoff::MAX);
    assert!(waits.windows(2).all(|w| w[0] <= w[1]));
    b.reset();
    assert_eq!(b.next_wait(), Backoff::MIN);
}

#[test]
fn sse_frames() {
    assert_eq!(
        sse::change(&change(4)),
        format!(
            "id: 4\nevent: {}\ndata: {}\n\n",
            types::SYNC_TASK_CHANGED,
            serde_json::to_string(&change(4)).unwrap()
        )
    );
    assert_eq!(
        sse::ready(3),
        "id: 3\nevent: ready\ndata: {\"cursor\":3}\n\n"
    );
    assert_eq!(
        sse::reset(8),
        "id: 8\nevent: reset\ndata: {\"cursor\":8}\n\n"
    );
    assert_eq!(sse::heartbeat(), ": heartbeat\n\n");
    assert_eq!(sse::retry(1000), "retry: 1000\n\n");
}

#[test]
fn stream_timer_heartbeats_and_ends() {
    let mut timer = StreamTimer::new(t0(), Duration::from_secs(40));
    let at = |s: i64| t0() + chrono::Duration::seconds(s);
    assert_eq!(timer.due(at(1)), Due::Nothing);
    assert_eq!(timer.due(at(HEARTBEAT_SECS)), Due::Heartbeat);
    timer.wrote(at(10));
    assert_eq!(
        timer.due(at(HEARTBEAT_SECS)),
        Due::Nothing,
        "a write counts"
    );
    assert_eq!(timer.due(at(10 + HEARTBEAT_SECS)), Due::Heartbeat);
    assert_eq!(timer.due(at(40)), Due::End);

    // The wait never sleeps past a heartbeat or the end.
    assert_eq!(
        timer.wait(at(11), Duration::from_millis(400)),
        Duration::from_millis(400)
    );
    assert_eq!(
        timer.wait(
            at(25) - chrono::Duration::milliseconds(100),
            Duration::from_secs(1)
        ),
        Duration::from_millis(100)
    );
    timer.wrote(at(39));
    assert_eq!(
        timer.wait(at(39), Duration::from_secs(5)),
        Duration::from_secs(1)
    );
    assert_eq!(timer.wait(at(45), Duration::from_secs(5)), Duration::ZERO);
}
