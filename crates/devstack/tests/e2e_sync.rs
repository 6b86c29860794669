//! The sync feed end to end: the real task-api, notify and sync-relay
//! `.wasm` behind devstack; task-updates delivered by the subscription in
//! `k8s/dapr/subscriptions/sync-relay.yaml`; SSE clients and the long-poll
//! through the gateway.
//!
//! Covered: two SSE clients of one user both receive a change made through
//! the API within 1 s while another user's client receives nothing (but
//! its own later change); reconnecting with `Last-Event-ID` yields exactly
//! the missed changes, in order (then a later change, nothing else); a
//! cursor older than retention gets `reset`; the long-poll answers a change
//! made while it waits (seen waiting: it read the empty feed twice); bad
//! deliveries are dropped; a store outage is retried.

mod support;

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use devstack::traces;
use http_body_util::{BodyExt, Empty};
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use serde_json::{json, Value};
use support::*;

const GROUP: &str = "sync-relay/sync-relay-task-updates";
const CHANGED: &str = "todo.sync.task-changed.v1";

/// One SSE event as a client sees it.
#[derive(Debug, Clone)]
struct Event {
    id: Option<u64>,
    kind: String,
    data: Value,
    at: Instant,
}

/// An EventSource-like client: reads `/api/sync/stream` in the background
/// and keeps every event (comments and `retry:` lines are skipped).
struct SseClient {
    events: Arc<Mutex<Vec<Event>>>,
    reader: tokio::task::JoinHandle<()>,
}

impl SseClient {
    /// Connects; `query` and `last_event_id` pick the start. Returns once
    /// the `ready` event arrived (the stream is reading the feed).
    async fn connect(env: &Env, user: &str, query: &str, last_event_id: Option<u64>) -> SseClient {
        let token = env.secrets.token_for(user, 3600);
        let uri = format!("http://{}/api/sync/stream?{query}", env.gateway);
        let mut request = http::Request::builder()
            .uri(uri)
            .header("authorization", format!("Bearer {token}"))
            .header("accept", "text/event-stream");
        if let Some(id) = last_event_id {
            request = request.header("last-event-id", id.to_string());
        }
        let request = request.body(Empty::<Bytes>::new()).unwrap();
        let client = Client::builder(TokioExecutor::new()).build_http();
        let response = tokio::time::timeout(WAIT, client.request(request))
            .await
            .expect("the stream answers")
            .expect("the stream connects");
        assert_eq!(response.status(), 200);
        assert_eq!(response.headers()["content-type"], "text/event-stream");
        let events: Arc<Mutex<Vec<Event>>> = Arc::default();
        let sink = events.clone();
        let reader = tokio::spawn(async move {
            let mut body = response.into_body();
            let mut buffer = String::new();
            while let Some(Ok(frame)) = body.frame().await {
                let Ok(chunk) = frame.into_data() else {
                    continue;
                };
                buffer.push_str(&String::from_utf8_lossy(&chunk));
                while let Some(end) = buffer.find("\n\n") {
                    let block: String = buffer.drain(..end + 2).collect();
                    if let Some(event) = parse(&block) {
                        sink.lock().unwrap().push(event);
                    }
                }
            }
        });
        let sse = SseClient { events, reader };
        sse.wait_for("ready", 1).await;
        sse
    }

    fn events(&self) -> Vec<Event> {
        self.events.lock().unwrap().clone()
    }

    fn of_kind(&self, kind: &str) -> Vec<Event> {
        self.events()
            .into_iter()
            .filter(|e| e.kind == kind)
            .collect()
    }

    async fn wait_for(&self, kind: &str, n: usize) -> Vec<Event> {
        eventually(&format!("{n} {kind} events"), || async {
            let got = self.of_kind(kind);
            (got.len() >= n).then_some(got)
        })
        .await
    }

    fn close(self) {
        self.reader.abort();
    }
}

fn parse(block: &str) -> Option<Event> {
    let (mut id, mut kind, mut data) = (None, None, None);
    for line in block.lines() {
        match line.split_once(": ") {
            Some(("id", v)) => id = v.parse().ok(),
            Some(("event", v)) => kind = Some(v.to_string()),
            Some(("data", v)) => data = serde_json::from_str(v).ok(),
            _ => {}
        }
    }
    Some(Event {
        id,
        kind: kind?,
        data: data.unwrap_or(Value::Null),
        at: Instant::now(),
    })
}

/// The feed's change ids (`data.id` = task id) of `events`.
fn task_ids(events: &[Event]) -> Vec<String> {
    events
        .iter()
        .map(|e| {
            e.data["data"]["taskId"]
                .as_str()
                .unwrap_or_default()
                .to_string()
        })
        .collect()
}

/// Wall clock in ns since the epoch, as spans have it.
fn now_nanos() -> u128 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos()
}

/// How often sync-relay has read `user`'s feed head (`GET` of its
/// `feed/{uid}` state) through its sidecar since `since` (ns): devstack
/// records a span for every sidecar API call.
fn feed_reads(user: &str, since: u128) -> usize {
    let key = format!("feed%2F{user}");
    traces::tracer()
        .all()
        .iter()
        .filter(|s| {
            s.app == "sync-relay"
                && s.name == "dapr GET state"
                && s.start_unix_nanos >= since
                && s.attributes
                    .get("http.path")
                    .is_some_and(|p| p.ends_with(&key))
        })
        .count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_clients_of_a_user_get_a_change_within_a_second_and_others_nothing() {
    let env = start(&["notify", "sync-relay"]).await;
    let (alice, bob) = (unique_user("alice"), unique_user("bob"));
    let first = SseClient::connect(&env, &alice, "", None).await;
    let second = SseClient::connect(&env, &alice, "", None).await;
    let other = SseClient::connect(&env, &bob, "", None).await;

    let task = env.api(&alice).create(json!({ "title": "Shared" })).await;
    let made = Instant::now();
    for client in [&first, &second] {
        let got = client.wait_for(CHANGED, 1).await;
        assert_eq!(task_ids(&got), [id_of(&task)]);
        let after = got[0].at.saturating_duration_since(made);
        eprintln!("change arrived {after:?} after the API answered");
        assert!(after <= Duration::from_secs(1), "arrived after {after:?}");
        assert_eq!(got[0].data["data"]["userId"], alice);
        assert_eq!(got[0].data["data"]["change"], "created");
    }
    // Bob's own change, made after alice's reached her clients, reaches his
    // client alone: his stream is live and went past the moment alice's
    // change could have shown up in it.
    let own = env.api(&bob).create(json!({ "title": "Bob's" })).await;
    let got = other.wait_for(CHANGED, 1).await;
    assert_eq!(task_ids(&got), [id_of(&own)], "bob saw alice's change");
    for client in [first, second, other] {
        client.close();
    }
    env.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reconnecting_with_last_event_id_yields_exactly_the_missed_changes_in_order() {
    let env = start(&["notify", "sync-relay"]).await;
    let user = unique_user("resume");
    let api = env.api(&user);
    let client = SseClient::connect(&env, &user, "", None).await;
    let seen = api.create(json!({ "title": "Seen" })).await;
    let got = client.wait_for(CHANGED, 1).await;
    assert_eq!(task_ids(&got), [id_of(&seen)]);
    let last = got[0].id.expect("changes carry their sequence as id");
    client.close();

    // Missed while disconnected.
    let mut missed = Vec::new();
    for title in ["One", "Two", "Three"] {
        missed.push(id_of(&api.create(json!({ "title": title })).await));
    }
    // Wait until all three are in the feed.
    eventually("the missed changes in the feed", || async {
        let page = api
            .get(&format!("/api/sync/changes?since={last}"))
            .await
            .json();
        (page["changes"].as_array().unwrap().len() == 3).then_some(())
    })
    .await;

    // `since` in the URL is older; Last-Event-ID wins (as on an EventSource reconnect).
    let again = SseClient::connect(&env, &user, "since=0", Some(last)).await;
    again.wait_for(CHANGED, 3).await;
    // A change made now is the next thing the stream sends: what came
    // before it is everything the reconnect yielded.
    let next = id_of(&api.create(json!({ "title": "Four" })).await);
    let got = eventually("the change after the reconnect", || async {
        let got = again.of_kind(CHANGED);
        task_ids(&got).contains(&next).then_some(got)
    })
    .await;
    let mut expected = missed.clone();
    expected.push(next);
    assert_eq!(
        task_ids(&got),
        expected,
        "nothing twice, nothing else: {got:?}"
    );
    let ids: Vec<u64> = got.iter().map(|e| e.id.unwrap()).collect();
    assert_eq!(ids, [last + 1, last + 2, last + 3, last + 4]);
    again.close();
    env.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cursor_older_than_retention_gets_reset() {
    let env = start(&["notify", "sync-relay"]).await;
    let user = unique_user("reset");
    let api = env.api(&user);
    for title in ["a", "b", "c"] {
        api.create(json!({ "title": title })).await;
    }
    eventually("three changes", || async {
        let page = api.get("/api/sync/changes?since=0").await.json();
        (page["cursor"] == 3).then_some(())
    })
    .await;
    // The first change expires (its 24 h TTL, made to pass now).
    let expired = expire_state(&env, &format!("sync-relay||change/{user}/1")).await;
    assert_eq!(expired, 1);

    let client = SseClient::connect(&env, &user, "since=0", None).await;
    let reset = client.wait_for("reset", 1).await;
    assert_eq!(reset[0].id, Some(3));
    assert_eq!(reset[0].data["cursor"], 3);
    assert!(client.of_kind(CHANGED).is_empty(), "no partial history");
    // …and it continues from there.
    let next = api.create(json!({ "title": "after the reset" })).await;
    let got = client.wait_for(CHANGED, 1).await;
    assert_eq!(task_ids(&got), [id_of(&next)]);
    assert_eq!(got[0].id, Some(4));
    client.close();

    let page = api.get("/api/sync/changes?since=0").await.json();
    assert_eq!(page["reset"], true);
    assert_eq!(page["cursor"], 4);
    env.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_long_poll_answers_a_change_made_while_it_waits() {
    let env = start(&["notify", "sync-relay"]).await;
    let user = unique_user("poll");
    let api = env.api(&user);
    let empty = api.get("/api/sync/changes").await;
    assert_eq!(empty.status, 200);
    assert_eq!(
        empty.json(),
        json!({ "changes": [], "cursor": 0, "reset": false })
    );

    let polled_from = now_nanos();
    let poll = {
        let api = api.clone();
        tokio::spawn(async move { api.get("/api/sync/changes?since=0&wait=10").await })
    };
    // The poll is waiting once it found the feed empty and looked again.
    eventually("the long-poll to wait on the empty feed", || async {
        (feed_reads(&user, polled_from) >= 2).then_some(())
    })
    .await;
    let task = api.create(json!({ "title": "while polling" })).await;
    let made = Instant::now();
    let answer = poll.await.unwrap();
    assert!(
        made.elapsed() <= Duration::from_secs(2),
        "{:?}",
        made.elapsed()
    );
    let page = answer.json();
    assert_eq!(page["cursor"], 1);
    assert_eq!(page["changes"][0]["data"]["taskId"], id_of(&task));
    assert_eq!(page["changes"][0]["type"], CHANGED);
    env.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_deliveries_are_dropped_and_a_store_outage_is_retried() {
    let env = start(&["notify", "sync-relay"]).await;
    let user = unique_user("faults");
    let api = env.api(&user);

    let bad = json!({
        "specversion": "1.0", "id": "bad-update-1", "source": "e2e",
        "type": CHANGED, "datacontenttype": "application/json",
        "data": { "userId": user }
    });
    publish_to(
        &env,
        "task-updates",
        &user,
        &serde_json::to_vec(&bad).unwrap(),
        false,
    )
    .await;
    let dropped = wait_dead_letter(env.store(), GROUP).await;
    assert!(
        dropped.reason.contains("DROP"),
        "sync-relay replied DROP: {}",
        dropped.reason
    );

    let outage = StoreOutage::of(&env, "sync-relay||");
    let task = api.create(json!({ "title": "during the outage" })).await;
    eventually("a retried delivery", || async {
        (attempts(&env, GROUP) >= 2).then_some(())
    })
    .await;
    let page = api.get("/api/sync/changes?since=0").await.json();
    assert_eq!(page["changes"], json!([]), "nothing appended yet");
    outage.heal();
    let page = eventually("the change after the outage", || async {
        let page = api.get("/api/sync/changes?since=0").await.json();
        (page["cursor"] == 1).then_some(page)
    })
    .await;
    assert_eq!(page["changes"][0]["data"]["taskId"], id_of(&task));
    env.shutdown().await;
}
