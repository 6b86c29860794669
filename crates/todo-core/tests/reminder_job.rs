//! Reminder scheduling decisions: versions, past reminders, cancellation,
//! and when a fired job is still current.

use chrono::{DateTime, Duration, TimeZone, Utc};
use todo_core::events::{types, ReminderEventData};
use todo_core::notify::reminder_job::{
    decide, due_time, is_current, job_name, task_of_job, Decision, ReminderEvent, ReminderRecord,
    ReminderState, JOB_MAX_RETRIES, JOB_RETRY_INTERVAL_SECS, JOB_RETRY_WINDOW_SECS,
    RECORD_RETENTION_DAYS,
};
use todo_core::Channel;
use uuid::Uuid;

fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 5, 1, 12, 0, 0).unwrap()
}

fn reminder(version: u64, remind_in: Duration, due_in: Duration) -> ReminderEventData {
    ReminderEventData {
        user_id: "alice".into(),
        task_id: Uuid::from_u128(7),
        title: "Dentist".into(),
        due_at: Some(now() + due_in),
        remind_at: Some(now() + remind_in),
        channels: vec![Channel::Inbox, Channel::Email],
        version,
    }
}

fn record(version: u64, state: ReminderState) -> ReminderRecord {
    ReminderRecord {
        user_id: "alice".into(),
        task_id: Uuid::from_u128(7),
        version,
        state,
        remind_at: Some(now() + Duration::minutes(10)),
    }
}

#[test]
fn job_names_round_trip_and_reject_other_names() {
    let id = Uuid::from_u128(0xabc);
    let name = job_name(id);
    assert_eq!(name, format!("reminder-{id}"));
    assert_eq!(task_of_job(&name), Some(id));
    assert_eq!(task_of_job("reminder-nope"), None);
    assert_eq!(task_of_job("other-0000"), None);
}

#[test]
fn due_time_is_rfc3339_utc_with_millis() {
    let at = now() + Duration::milliseconds(1234);
    assert_eq!(due_time(at), "2026-05-01T12:00:01.234Z");
}

#[test]
fn event_types_map_to_reminder_events() {
    assert_eq!(
        ReminderEvent::from_type(types::REMINDER_SCHEDULED),
        Some(ReminderEvent::Scheduled)
    );
    assert_eq!(
        ReminderEvent::from_type(types::REMINDER_CANCELLED),
        Some(ReminderEvent::Cancelled)
    );
    assert_eq!(ReminderEvent::from_type(types::TASK_CREATED), None);
}

#[test]
fn a_future_reminder_is_scheduled_at_remind_at() {
    let data = reminder(3, Duration::minutes(10), Duration::minutes(40));
    match decide(ReminderEvent::Scheduled, &data, None, now()) {
        Decision::Schedule { record, fire_at } => {
            assert_eq!(fire_at, data.remind_at.unwrap());
            assert_eq!(record.version, 3);
            assert_eq!(record.state, ReminderState::Scheduled);
            assert_eq!(record.remind_at, data.remind_at);
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_past_reminder_of_a_task_still_ahead_fires_at_once() {
    let data = reminder(1, Duration::minutes(-5), Duration::minutes(10));
    match decide(ReminderEvent::Scheduled, &data, None, now()) {
        Decision::Schedule { fire_at, record } => {
            assert_eq!(fire_at, now());
            // The record keeps the real remindAt: the dedupe key.
            assert_eq!(record.remind_at, data.remind_at);
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_reminder_of_a_task_already_due_is_obsolete() {
    let data = reminder(1, Duration::minutes(-30), Duration::minutes(-1));
    match decide(ReminderEvent::Scheduled, &data, None, now()) {
        Decision::Unschedule { record } => assert_eq!(record.state, ReminderState::Obsolete),
        other => panic!("{other:?}"),
    }
    let mut missing = reminder(1, Duration::minutes(5), Duration::minutes(10));
    missing.remind_at = None;
    assert!(matches!(
        decide(ReminderEvent::Scheduled, &missing, None, now()),
        Decision::Unschedule { .. }
    ));
}

#[test]
fn cancellation_unschedules() {
    let data = reminder(4, Duration::minutes(10), Duration::minutes(40));
    let current = record(3, ReminderState::Scheduled);
    match decide(ReminderEvent::Cancelled, &data, Some(&current), now()) {
        Decision::Unschedule { record } => {
            assert_eq!(record.state, ReminderState::Cancelled);
            assert_eq!(record.version, 4);
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn older_versions_are_stale_and_the_same_version_is_applied_again() {
    let current = record(5, ReminderState::Cancelled);
    let old = reminder(4, Duration::minutes(10), Duration::minutes(40));
    assert_eq!(
        decide(ReminderEvent::Scheduled, &old, Some(&current), now()),
        Decision::Stale
    );
    assert_eq!(
        decide(ReminderEvent::Cancelled, &old, Some(&current), now()),
        Decision::Stale
    );
    let same = reminder(5, Duration::minutes(10), Duration::minutes(40));
    assert!(matches!(
        decide(ReminderEvent::Cancelled, &same, Some(&current), now()),
        Decision::Unschedule { .. }
    ));
}

#[test]
fn a_job_is_current_only_for_the_recorded_scheduled_version() {
    let data = reminder(2, Duration::minutes(10), Duration::minutes(40));
    let mut rec = ReminderRecord {
        remind_at: data.remind_at,
        ..record(2, ReminderState::Scheduled)
    };
    assert!(is_current(&data, Some(&rec)));
    assert!(!is_current(&data, None));

    rec.version = 3;
    assert!(
        !is_current(&data, Some(&rec)),
        "a newer version superseded it"
    );
    rec.version = 2;
    rec.state = ReminderState::Cancelled;
    assert!(!is_current(&data, Some(&rec)), "cancelled");
    rec.state = ReminderState::Scheduled;
    rec.remind_at = Some(now());
    assert!(!is_current(&data, Some(&rec)), "another remindAt");
    rec.remind_at = data.remind_at;
    rec.user_id = "mallory".into();
    assert!(!is_current(&data, Some(&rec)), "another user");
}

#[test]
fn records_outlive_their_reminder() {
    let rec = ReminderRecord {
        remind_at: Some(now() + Duration::days(10)),
        ..record(1, ReminderState::Scheduled)
    };
    let days = |secs: u64| secs / 86_400;
    assert_eq!(
        days(rec.ttl_seconds(now())),
        10 + RECORD_RETENTION_DAYS as u64
    );
    let past = ReminderRecord {
        remind_at: Some(now() - Duration::days(3)),
        ..rec
    };
    assert_eq!(days(past.ttl_seconds(now())), RECORD_RETENTION_DAYS as u64);
}

#[test]
fn job_retries_outlast_the_claim_lease_and_stay_bounded() {
    use todo_core::notify::delivery::{CLAIM_LEASE_SECS, FIRED_TTL_SECS};
    assert_eq!((JOB_RETRY_INTERVAL_SECS, JOB_MAX_RETRIES), (10, 30));
    assert_eq!(JOB_RETRY_WINDOW_SECS, 300, "vs 3 s with Dapr's default");
    let lease = CLAIM_LEASE_SECS as u64;
    // The retries outlast a claim's lease ten times over, and one lands
    // within an interval of a lease running out.
    assert_eq!(JOB_RETRY_WINDOW_SECS / lease, 10);
    assert_eq!(lease.div_ceil(JOB_RETRY_INTERVAL_SECS), 3);
    // The dedupe record outlives every retry by far.
    assert_eq!(FIRED_TTL_SECS / JOB_RETRY_WINDOW_SECS, 2016);
}
