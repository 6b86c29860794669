//! What an open event stream costs the state store, on the moving fake
//! clock (counts of sidecar calls, no wall-clock timing): an idle stream
//! reads only the small feed head, at most once per
//! [`PollSchedule::IDLE`] — heartbeats cost nothing — so an idle minute
//! costs no more reads than before the schedule; after it writes a change
//! it polls every [`PollSchedule::ACTIVE`] for [`PollSchedule::ACTIVE_FOR`],
//! then falls back to the idle rate.

mod support;

use std::time::Duration;

use chrono::{DateTime, Duration as Span, Utc};
use support::*;
use todo_core::sync::feed::PollSchedule;

/// Feed reads per idle minute before [`PollSchedule`] (a 50→400 ms backoff
/// plus a read at every heartbeat), as counted on devstack with
/// `crates/loadgen/examples/sse_latency.rs`.
const IDLE_READS_PER_MINUTE_BEFORE: usize = 156;

fn span(d: Duration) -> Span {
    Span::from_std(d).unwrap()
}

/// When `user`'s stream read its feed head.
fn feed_reads(h: &Harness, user: &str) -> Vec<DateTime<Utc>> {
    let key = format!("/v1.0/state/{STORE}/feed/{user}");
    h.timed_calls()
        .into_iter()
        .filter(|(_, method, path)| method == "GET" && path.replace("%2F", "/") == key)
        .map(|(at, _, _)| at)
        .collect()
}

fn within(reads: &[DateTime<Utc>], from: DateTime<Utc>, to: DateTime<Utc>) -> usize {
    reads.iter().filter(|at| **at >= from && **at < to).count()
}

#[test]
fn an_idle_stream_reads_only_the_feed_head_and_no_more_often_than_before() {
    let h = harness();
    fill(&h, "alice", "a", 3);
    let before = h.dapr.calls().len();
    let frames = h
        .stream(get("/api/sync/stream", Some("alice"), &[]), 1000)
        .frames();
    assert_eq!(h.now() - t0(), span(LIFETIME), "ran its whole lifetime");
    assert_eq!(
        frames
            .iter()
            .filter(|(_, f)| f.comment.as_deref() == Some("heartbeat"))
            .count(),
        3
    );

    // Nothing but the JWT secret and the feed head: never the changes.
    let calls = h.dapr.calls()[before..].to_vec();
    let secrets = calls
        .iter()
        .filter(|(_, path)| path.starts_with("/v1.0/secrets/"))
        .count();
    let reads = feed_reads(&h, "alice");
    assert_eq!(
        calls.len(),
        secrets + reads.len(),
        "an idle stream reads the feed head only: {calls:?}"
    );

    // One read to open (the head), then one per idle interval: heartbeats
    // fall between polls.
    let polls = &reads[1..];
    assert!(
        polls.len() as u64 <= PollSchedule::max_idle_reads(LIFETIME),
        "{} polls in {LIFETIME:?}",
        polls.len()
    );
    assert!(
        reads.len() <= IDLE_READS_PER_MINUTE_BEFORE,
        "{} reads in a minute, {IDLE_READS_PER_MINUTE_BEFORE} before",
        reads.len()
    );
    for pair in polls.windows(2) {
        assert!(
            pair[1] - pair[0] >= span(PollSchedule::IDLE),
            "polls at {} and {} are closer than the idle interval",
            pair[0],
            pair[1]
        );
    }
}

#[test]
fn after_a_change_the_stream_polls_faster_for_a_while_then_idles_again() {
    let h = harness();
    let changed_at = t0() + Span::seconds(5);
    h.deliver_at(changed_at, task_changed("alice", "a-1"));
    let frames = h
        .stream(get("/api/sync/stream", Some("alice"), &[]), 1000)
        .frames();
    let (written_at, _) = frames
        .iter()
        .find(|(_, f)| f.event.as_deref() == Some("todo.sync.task-changed.v1"))
        .expect("the change was streamed");
    let written_at = *written_at;
    assert!(written_at - changed_at <= span(PollSchedule::IDLE));

    let reads = feed_reads(&h, "alice");
    // Right after writing the change, it looks again at once (a burst).
    assert!(
        within(&reads, written_at, written_at + Span::milliseconds(1)) >= 2,
        "the poll that found the change and an immediate second look"
    );

    let active_until = written_at + span(PollSchedule::ACTIVE_FOR);
    let before_change = within(&reads, t0() + Span::seconds(1), changed_at);
    let active = within(&reads, written_at + Span::seconds(1), active_until);
    let idle_again = within(&reads, active_until, t0() + span(LIFETIME));
    let per = |n: usize, from: DateTime<Utc>, to: DateTime<Utc>| {
        n as f64 / (to - from).num_milliseconds() as f64
    };

    // Active: one read per ACTIVE interval, more often than when idle.
    let active_secs = (active_until - written_at).num_seconds() - 1;
    assert!(
        active as u64 + 1
            >= (Duration::from_secs(active_secs as u64).as_millis()
                / PollSchedule::ACTIVE.as_millis()) as u64,
        "{active} polls in {active_secs} s of activity"
    );
    assert!(
        per(active, written_at + Span::seconds(1), active_until)
            > per(before_change, t0() + Span::seconds(1), changed_at),
        "polls faster after a change"
    );
    // Then back to the idle rate.
    let idle_window = (t0() + span(LIFETIME) - active_until).to_std().unwrap();
    assert!(
        idle_again as u64 <= PollSchedule::max_idle_reads(idle_window),
        "{idle_again} polls in the {idle_window:?} after the active window"
    );
    // What the change cost this stream, at most: the active window's polls
    // on top of an idle minute's.
    let extra = PollSchedule::ACTIVE_FOR.as_millis() / PollSchedule::ACTIVE.as_millis();
    assert!(reads.len() as u64 <= PollSchedule::max_idle_reads(LIFETIME) + extra as u64 + 2);
}

#[test]
fn a_stream_that_resumes_behind_the_head_catches_up_at_once() {
    let h = harness();
    fill(&h, "alice", "a", 3);
    let frames = h
        .stream(
            get("/api/sync/stream", Some("alice"), &[("last-event-id", "1")]),
            3,
        )
        .frames();
    let changes: Vec<_> = frames
        .iter()
        .filter(|(_, f)| f.event.as_deref() == Some("todo.sync.task-changed.v1"))
        .collect();
    assert_eq!(changes.len(), 2);
    assert!(changes.iter().all(|(at, _)| *at == t0()), "without a pause");
}
