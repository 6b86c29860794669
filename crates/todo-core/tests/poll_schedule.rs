//! The event stream's poll schedule (`todo_core::sync::feed::PollSchedule`):
//! idle until a change is written, active for a while after each one.

use std::time::Duration;

use chrono::{DateTime, TimeZone, Utc};
use todo_core::sync::feed::PollSchedule;

fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 27, 10, 0, 0).unwrap()
}

fn after(d: Duration) -> DateTime<Utc> {
    t0() + chrono::Duration::from_std(d).unwrap()
}

#[test]
fn a_new_stream_is_idle() {
    let schedule = PollSchedule::default();
    assert!(!schedule.is_active(t0()));
    assert_eq!(schedule.interval(t0()), PollSchedule::IDLE);
}

#[test]
fn a_change_makes_it_active_for_a_while() {
    let mut schedule = PollSchedule::default();
    schedule.changed(t0());
    assert_eq!(schedule.interval(t0()), PollSchedule::ACTIVE);
    let last = PollSchedule::ACTIVE_FOR - Duration::from_millis(1);
    assert_eq!(schedule.interval(after(last)), PollSchedule::ACTIVE);
    assert_eq!(
        schedule.interval(after(PollSchedule::ACTIVE_FOR)),
        PollSchedule::IDLE
    );

    // Each change extends it.
    schedule.changed(after(Duration::from_secs(20)));
    assert!(schedule.is_active(after(Duration::from_secs(45))));
    assert!(!schedule.is_active(after(Duration::from_secs(50))));
}

#[test]
fn active_polls_faster_than_idle() {
    assert!(PollSchedule::ACTIVE < PollSchedule::IDLE);
}

#[test]
fn an_idle_minute_costs_no_more_reads_than_before() {
    // Before: a 50→400 ms backoff plus a read at every heartbeat = 156.
    assert_eq!(PollSchedule::max_idle_reads(Duration::from_secs(60)), 154);
    assert!(PollSchedule::max_idle_reads(Duration::from_secs(60)) <= 156);
    assert_eq!(PollSchedule::max_idle_reads(Duration::ZERO), 1);
}
