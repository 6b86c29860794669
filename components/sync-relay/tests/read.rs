//! Reading the feed: the long-poll and the SSE stream (resume, reset,
//! heartbeats, lifetime, waiting without a busy loop, per-user isolation).

mod support;

use std::time::Duration;

use chrono::Duration as Span;
use support::*;
use todo_core::sync::feed::Backoff;

fn ids(changes: &serde_json::Value) -> Vec<&str> {
    changes
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_str().unwrap())
        .collect()
}

#[test]
fn long_poll_answers_what_follows_since() {
    let h = harness();
    fill(&h, "alice", "a", 3);
    let reply = h.send(get("/api/sync/changes?since=1", Some("alice"), &[]));
    assert_eq!(reply.status, 200);
    assert_eq!(ids(&reply.body["changes"]), ["a-2", "a-3"]);
    assert_eq!(reply.body["cursor"], 3);
    assert_eq!(reply.body["reset"], false);
    assert_eq!(reply.body["changes"][0]["seq"], 2);

    let now = h.send(get("/api/sync/changes?since=3", Some("alice"), &[]));
    assert_eq!(now.body["changes"], serde_json::json!([]));
    assert_eq!(now.body["cursor"], 3);
    assert!(h.pauses.lock().unwrap().is_empty(), "wait=0 never waits");
}

#[test]
fn long_poll_waits_for_the_next_change() {
    let h = harness();
    fill(&h, "alice", "a", 1);
    h.deliver_at(
        t0() + Span::milliseconds(1500),
        task_changed("alice", "a-2"),
    );
    let reply = h.send(get("/api/sync/changes?since=1&wait=10", Some("alice"), &[]));
    assert_eq!(ids(&reply.body["changes"]), ["a-2"]);
    assert_eq!(reply.body["cursor"], 2);
    let delivered = h.delivered_at.lock().unwrap()[0];
    assert!(
        h.now() - delivered <= Span::milliseconds(Backoff::MAX.as_millis() as i64),
        "seen within one poll interval"
    );
    assert!(h.pauses.lock().unwrap().iter().all(|p| *p > Duration::ZERO));
}

#[test]
fn long_poll_gives_up_after_wait_and_never_busy_loops() {
    let h = harness();
    let reply = h.send(get("/api/sync/changes?wait=5", Some("alice"), &[]));
    assert_eq!(reply.body["changes"], serde_json::json!([]));
    assert_eq!(reply.body["cursor"], 0);
    assert_eq!(h.now() - t0(), Span::seconds(5));
    let pauses = h.pauses.lock().unwrap();
    assert!(pauses.len() < 30, "{} polls in 5 s", pauses.len());
    assert!(pauses.iter().all(|p| *p <= Backoff::MAX));
}

#[test]
fn long_poll_resets_a_cursor_older_than_retention() {
    let h = harness();
    fill(&h, "alice", "a", 4);
    // Changes 1 and 2 expired (TTL).
    delete(&h, "change/alice/1");
    delete(&h, "change/alice/2");
    let reply = h.send(get("/api/sync/changes?since=0", Some("alice"), &[]));
    assert_eq!(reply.body["reset"], true);
    assert_eq!(reply.body["cursor"], 4);
    assert_eq!(reply.body["changes"], serde_json::json!([]));

    let ahead = h.send(get("/api/sync/changes?since=99", Some("alice"), &[]));
    assert_eq!(ahead.body["reset"], true);
    assert_eq!(ahead.body["cursor"], 4);
}

fn delete(h: &Harness, key: &str) {
    let request = http::Request::builder()
        .method("DELETE")
        .uri(format!("/v1.0/state/{STORE}/{}", key.replace('/', "%2F")))
        .body(Vec::new())
        .unwrap();
    let response = futures::executor::block_on(todo_dapr::Transport::send(&h.dapr, request));
    assert_eq!(response.unwrap().status(), 204);
}

#[test]
fn long_poll_checks_its_parameters_and_the_token() {
    let h = harness();
    for bad in ["wait=31", "wait=x", "since=-1", "limit=3"] {
        let reply = h.send(get(&format!("/api/sync/changes?{bad}"), Some("alice"), &[]));
        assert_eq!(reply.status, 400, "{bad}");
    }
    assert_eq!(h.send(get("/api/sync/changes", None, &[])).status, 401);
    let query_token = format!("/api/sync/changes?access_token={}", token("alice"));
    assert_eq!(
        h.send(get(&query_token, None, &[])).status,
        401,
        "only the stream takes a query token"
    );
}

#[test]
fn a_stream_opens_with_retry_and_ready_then_delivers_changes_as_they_come() {
    let h = harness();
    fill(&h, "alice", "a", 2);
    h.deliver_at(t0() + Span::seconds(3), task_changed("alice", "a-3"));
    h.deliver_at(t0() + Span::seconds(3), task_changed("bob", "b-1"));
    let frames = h
        .stream(get("/api/sync/stream", Some("alice"), &[]), 3)
        .frames();
    assert_eq!(frames[0].1.retry, Some(1000));
    assert_eq!(frames[1].1.event.as_deref(), Some("ready"));
    assert_eq!(frames[1].1.id, Some(2), "starts at the head");
    let (at, change) = &frames[2];
    assert_eq!(change.id, Some(3));
    assert_eq!(change.event.as_deref(), Some("todo.sync.task-changed.v1"));
    assert_eq!(change.data.as_ref().unwrap()["id"], "a-3");
    assert_eq!(change.data.as_ref().unwrap()["data"]["userId"], "alice");
    assert!(
        *at - (t0() + Span::seconds(3)) <= Span::milliseconds(Backoff::MAX.as_millis() as i64),
        "written within one poll interval of the append: {at}"
    );
}

#[test]
fn another_users_stream_sees_nothing() {
    let h = harness();
    h.deliver_at(t0() + Span::seconds(1), task_changed("alice", "a-1"));
    let frames = h
        .stream(get("/api/sync/stream", Some("bob"), &[]), 100)
        .frames();
    assert!(
        frames
            .iter()
            .all(|(_, f)| f.event.as_deref() != Some("todo.sync.task-changed.v1")),
        "{frames:?}"
    );
}

#[test]
fn a_stream_resumes_from_last_event_id_in_order() {
    let h = harness();
    fill(&h, "alice", "a", 5);
    let frames = h
        .stream(
            get(
                "/api/sync/stream?since=1",
                Some("alice"),
                &[("last-event-id", "2")],
            ),
            3,
        )
        .frames();
    let events: Vec<(Option<u64>, Option<String>)> = frames
        .iter()
        .map(|(_, f)| (f.id, f.event.clone()))
        .filter(|(_, e)| e.is_some())
        .collect();
    let changed = Some("todo.sync.task-changed.v1".to_string());
    assert_eq!(
        events,
        [
            (Some(2), Some("ready".to_string())),
            (Some(3), changed.clone()),
            (Some(4), changed.clone()),
            (Some(5), changed),
        ]
    );
}

#[test]
fn a_stream_with_a_too_old_cursor_gets_reset_then_continues() {
    let h = harness();
    fill(&h, "alice", "a", 3);
    delete(&h, "change/alice/1");
    h.deliver_at(t0() + Span::seconds(2), task_changed("alice", "a-4"));
    let frames = h
        .stream(get("/api/sync/stream?since=0", Some("alice"), &[]), 3)
        .frames();
    let reset = &frames[2].1;
    assert_eq!(reset.event.as_deref(), Some("reset"));
    assert_eq!(reset.id, Some(3));
    assert_eq!(reset.data.as_ref().unwrap()["cursor"], 3);
    let next = &frames[3].1;
    assert_eq!(next.id, Some(4), "continues after the head it reset to");
}

#[test]
fn an_idle_stream_heartbeats_and_ends_with_a_retry_hint() {
    let h = harness();
    let frames = h
        .stream(get("/api/sync/stream", Some("alice"), &[]), 1000)
        .frames();
    let heartbeats: Vec<_> = frames
        .iter()
        .filter(|(_, f)| f.comment.as_deref() == Some("heartbeat"))
        .map(|(at, _)| *at)
        .collect();
    // 60 s lifetime: a heartbeat at 15, 30 and 45 s.
    assert_eq!(
        heartbeats,
        [15, 30, 45].map(|s| t0() + Span::seconds(s)).to_vec()
    );
    let (end, last) = frames.last().unwrap();
    assert_eq!(last.retry, Some(1000));
    assert_eq!(*end, t0() + Span::seconds(60));

    // Waiting, not spinning: every pause is positive and bounded, and
    // there are few of them.
    let pauses = h.pauses.lock().unwrap();
    assert!(pauses
        .iter()
        .all(|p| *p > Duration::ZERO && *p <= Backoff::MAX));
    assert!(pauses.len() < 60 * 3 + 10, "{} polls in 60 s", pauses.len());
}

#[test]
fn a_stream_ends_when_the_client_goes_away() {
    let h = harness();
    h.deliver_at(t0() + Span::seconds(1), task_changed("alice", "a-1"));
    let chunks = h
        .stream(get("/api/sync/stream", Some("alice"), &[]), 1)
        .chunks();
    assert_eq!(chunks.len(), 1);
    assert!(
        h.now() - t0() < Span::seconds(2),
        "stopped at the next write"
    );
}

#[test]
fn a_stream_takes_the_token_from_the_query_and_refuses_bad_requests() {
    let h = harness();
    let path = format!("/api/sync/stream?access_token={}", token("alice"));
    let frames = h.stream(get(&path, None, &[]), 2).frames();
    assert_eq!(frames[1].1.event.as_deref(), Some("ready"));

    let reply = h.stream(get("/api/sync/stream", None, &[]), 1).refused();
    assert_eq!(reply.status, 401);
    let forged = h
        .stream(
            get("/api/sync/stream?access_token=abc.def.ghi", None, &[]),
            1,
        )
        .refused();
    assert_eq!(forged.status, 401);
    let bad = h
        .stream(
            get("/api/sync/stream", Some("alice"), &[("last-event-id", "x")]),
            1,
        )
        .refused();
    assert_eq!(bad.status, 400);
    h.dapr.set_state_down(true);
    let down = h
        .stream(get("/api/sync/stream", Some("alice"), &[]), 1)
        .refused();
    assert_eq!(down.status, 503);
}

#[test]
fn the_stream_head_is_an_uncached_event_stream() {
    let head = sync_relay::stream::head();
    assert_eq!(head.status(), 200);
    assert_eq!(head.headers()["content-type"], "text/event-stream");
    assert_eq!(head.headers()["cache-control"], "no-cache");
}
