//! The audit API: pages, one task's history, verification (and tampering),
//! ownership, authentication, errors.

mod support;

use serde_json::{json, Value};
use support::*;
use todo_core::events::TaskChange;
use todo_core::task::Task;

/// Records, for `user`, a create and `updates` title changes of task `id`.
fn record(h: &Harness, events: &mut Events, id: u128, updates: usize) -> Task {
    let mut current = task(id, json!({ "title": "v0" }));
    assert_eq!(
        deliver_event(h, &events.event(TaskChange::Created, None, Some(&current))),
        "SUCCESS"
    );
    for n in 1..=updates {
        let mut next = current.clone();
        next.apply(task(id, json!({ "title": format!("v{n}") })).fields(), t0());
        let event = events.event(TaskChange::Updated, Some(&current), Some(&next));
        assert_eq!(deliver_event(h, &event), "SUCCESS");
        current = next;
    }
    current
}

fn seqs(page: &Value) -> Vec<u64> {
    page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["seq"].as_u64().unwrap())
        .collect()
}

#[test]
fn the_log_pages_newest_first_with_a_cursor() {
    let h = harness();
    let mut events = Events::for_user("alice");
    record(&h, &mut events, 1, 4);
    let (status, first) = get(&h, "alice", "/api/audit?limit=2");
    assert_eq!(status, 200);
    assert_eq!(seqs(&first), [5, 4]);
    assert_eq!(first["total"], 5);
    // A new entry between pages does not shift the next one.
    record(&h, &mut events, 2, 0);
    let cursor = first["nextCursor"].as_str().unwrap();
    let (_, second) = get(&h, "alice", &format!("/api/audit?limit=2&cursor={cursor}"));
    assert_eq!(seqs(&second), [3, 2]);
    let cursor = second["nextCursor"].as_str().unwrap();
    let (_, last) = get(&h, "alice", &format!("/api/audit?limit=2&cursor={cursor}"));
    assert_eq!(seqs(&last), [1]);
    assert_eq!(last["nextCursor"], Value::Null);
    let (_, all) = get(&h, "alice", "/api/audit");
    assert_eq!(seqs(&all), [6, 5, 4, 3, 2, 1]);
    assert_eq!(all["items"][0]["changes"][0]["to"], "v0");
}

#[test]
fn a_tasks_history_is_its_entries_oldest_first() {
    let h = harness();
    let mut events = Events::for_user("alice");
    let one = record(&h, &mut events, 1, 2);
    record(&h, &mut events, 2, 1);
    let (status, history) = get(&h, "alice", &format!("/api/audit/tasks/{}", one.id));
    assert_eq!(status, 200);
    assert_eq!(history["taskId"], one.id.to_string());
    assert_eq!(seqs(&history), [1, 2, 3]);
    let titles: Vec<&Value> = history["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| &e["changes"][0]["to"])
        .collect();
    assert_eq!(titles, [&json!("v0"), &json!("v1"), &json!("v2")]);
}

#[test]
fn users_see_only_their_own_log() {
    let h = harness();
    let alices = record(&h, &mut Events::for_user("alice"), 1, 1);
    record(&h, &mut Events::for_user("bob"), 2, 0);
    let (_, bobs) = get(&h, "bob", "/api/audit");
    assert_eq!(seqs(&bobs), [1]);
    assert_eq!(bobs["items"][0]["actor"], "bob");
    let (status, body) = get(&h, "bob", &format!("/api/audit/tasks/{}", alices.id));
    assert_eq!(status, 404, "{body}");
    assert_eq!(get(&h, "bob", "/api/audit/tasks/not-a-uuid").0, 404);
    let (_, carol) = get(&h, "carol", "/api/audit");
    assert_eq!(
        carol,
        json!({ "items": [], "nextCursor": null, "total": 0 })
    );
    let (_, verdict) = get(&h, "bob", "/api/audit/verify");
    assert_eq!(verdict, json!({ "ok": true, "entries": 1 }));
}

#[test]
fn verify_is_ok_until_an_entry_is_tampered_with() {
    let h = harness();
    record(&h, &mut Events::for_user("alice"), 1, 4);
    let (status, verdict) = get(&h, "alice", "/api/audit/verify");
    assert_eq!(status, 200);
    assert_eq!(verdict, json!({ "ok": true, "entries": 5 }));

    let mut third = h.dapr.get(STORE, "entry/alice/3").unwrap().value;
    third["changes"][0]["to"] = json!("something else");
    h.dapr.put(STORE, "entry/alice/3", third);
    let (_, verdict) = get(&h, "alice", "/api/audit/verify");
    assert_eq!(verdict, json!({ "ok": false, "entries": 5, "brokenAt": 3 }));

    // So is an entry moved to another seq.
    let h = harness();
    record(&h, &mut Events::for_user("alice"), 1, 2);
    let mut entries: Vec<Value> = (1..=3)
        .map(|s| {
            h.dapr
                .get(STORE, &format!("entry/alice/{s}"))
                .unwrap()
                .value
        })
        .collect();
    entries[1]["seq"] = json!(20);
    h.dapr.put(STORE, "entry/alice/2", entries[1].clone());
    let (_, verdict) = get(&h, "alice", "/api/audit/verify");
    assert_eq!(verdict["brokenAt"], 2);
}

#[test]
fn verify_reads_long_chains_in_chunks() {
    let h = harness();
    record(&h, &mut Events::for_user("alice"), 1, 249);
    let (_, verdict) = get(&h, "alice", "/api/audit/verify");
    assert_eq!(verdict, json!({ "ok": true, "entries": 250 }));
    let bulk_reads = h
        .dapr
        .calls()
        .iter()
        .rev()
        .take_while(|(_, p)| !p.ends_with("/transaction"))
        .filter(|(_, p)| p.ends_with("/bulk"))
        .count();
    assert_eq!(bulk_reads, 3, "100 + 100 + 50");
}

#[test]
fn the_api_needs_a_valid_token() {
    let h = harness();
    for path in ["/api/audit", "/api/audit/verify", "/api/audit/tasks/x"] {
        let (status, body) = send(&h, http::Request::get(path).body(Vec::new()).unwrap());
        assert_eq!(status, 401, "{path}: {body}");
        let request = http::Request::get(path)
            .header("authorization", "Bearer not.a.jwt")
            .body(Vec::new())
            .unwrap();
        assert_eq!(send(&h, request).0, 401, "{path}");
    }
}

#[test]
fn bad_queries_unknown_routes_and_an_outage() {
    let h = harness();
    let (status, body) = get(&h, "alice", "/api/audit?limit=0&sort=x");
    assert_eq!(status, 400);
    assert_eq!(body["errors"].as_array().unwrap().len(), 2);
    assert_eq!(get(&h, "alice", "/api/audits").0, 404);
    let (status, _) = send(
        &h,
        http::Request::post("/api/audit").body(Vec::new()).unwrap(),
    );
    assert_eq!(status, 405);
    assert_eq!(get(&h, "alice", "/healthz/audit").0, 200);
    h.dapr.set_down(true);
    assert_eq!(get(&h, "alice", "/api/audit").0, 503);
    assert_eq!(get(&h, "alice", "/healthz/audit").0, 503);
}
