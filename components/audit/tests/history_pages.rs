//! A task's history in bounded pages (architecture §5, cost rules): a history
//! longer than one stored page still reads whole and in order, page by
//! page; every document stays under 64 KiB; a `taskhist` document of the
//! old layout still reads and is split by its next append; a redelivery
//! appends once; dedupe markers expire; an oversized entry is refused.

mod support;

use audit::store::{self, AppendError};
use serde_json::{json, Value};
use support::*;
use todo_core::audit::chain::{MAX_ENTRY_BYTES, SEEN_TTL_SECS};
use todo_core::audit::page::HISTORY_PAGE_SEQS;
use todo_core::events::TaskChange;
use todo_core::task::Task;

const PAGE: u64 = HISTORY_PAGE_SEQS as u64;

// Markers outlive what Kafka keeps: the topic 7 days, its dead letters 14.
const _: () = assert!(SEEN_TTL_SECS > 14 * 24 * 3600);

/// Delivers a create of task `id` for `user`; returns the task.
fn create(h: &Harness, events: &mut Events, id: u128) -> Task {
    let task = task(id, json!({ "title": "v0" }));
    let event = events.event(TaskChange::Created, None, Some(&task));
    assert_eq!(deliver_event(h, &event), "SUCCESS");
    task
}

/// The event of a title change of `current` to `v{n}`, and the task after.
fn update_event(events: &mut Events, current: &Task, n: u64) -> (Value, Task) {
    let mut next = current.clone();
    next.apply(
        task(current.id.as_u128(), json!({ "title": format!("v{n}") })).fields(),
        t0(),
    );
    let event = events.event(TaskChange::Updated, Some(current), Some(&next));
    (event, next)
}

/// Delivers `n` title changes of `current`; returns the task after them.
fn update(h: &Harness, events: &mut Events, mut current: Task, n: u64) -> Task {
    for _ in 0..n {
        let (event, next) = update_event(events, &current, current.version);
        assert_eq!(deliver_event(h, &event), "SUCCESS");
        current = next;
    }
    current
}

/// Every entry of `task`'s history through the API, following `nextCursor`
/// with `limit` (none: the default), and the number of requests it took.
fn walk(h: &Harness, user: &str, task: &Task, limit: Option<u64>) -> (Vec<Value>, usize) {
    let base = format!("/api/audit/tasks/{}", task.id);
    let mut items = Vec::new();
    let mut cursor: Option<String> = None;
    let mut requests = 0;
    loop {
        let mut query = Vec::new();
        if let Some(limit) = limit {
            query.push(format!("limit={limit}"));
        }
        if let Some(cursor) = &cursor {
            query.push(format!("cursor={cursor}"));
        }
        let (status, page) = get(h, user, &format!("{base}?{}", query.join("&")));
        assert_eq!(status, 200, "{page}");
        requests += 1;
        assert_eq!(page["taskId"], task.id.to_string());
        items.extend(page["items"].as_array().unwrap().iter().cloned());
        match page["nextCursor"].as_str() {
            Some(next) => cursor = Some(next.to_string()),
            None => {
                assert_eq!(page["nextCursor"], Value::Null);
                assert_eq!(page["total"].as_u64().unwrap(), items.len() as u64);
                return (items, requests);
            }
        }
    }
}

fn seqs(items: &[Value]) -> Vec<u64> {
    items.iter().map(|e| e["seq"].as_u64().unwrap()).collect()
}

/// The titles each entry changed the task to (`v0`, `v1`, …).
fn titles(items: &[Value]) -> Vec<String> {
    items
        .iter()
        .map(|e| e["changes"][0]["to"].as_str().unwrap().to_string())
        .collect()
}

fn stored(h: &Harness, key: &str) -> Value {
    h.dapr
        .get(STORE, key)
        .map(|e| e.value)
        .unwrap_or(Value::Null)
}

/// Every stored document is at most 64 KiB of JSON.
fn assert_documents_bounded(h: &Harness) {
    for key in h.dapr.keys(STORE) {
        let bytes = serde_json::to_vec(&stored(h, &key)).unwrap().len();
        assert!(bytes <= 64 * 1024, "{key} is {bytes} bytes");
    }
}

#[test]
fn a_history_longer_than_a_page_reads_whole_and_in_order() {
    let h = harness();
    let mut events = Events::for_user("alice");
    // Task 1 changes 600 times, task 2 now and then in between, so task 1's
    // entries are not one run of seqs.
    let mut one = create(&h, &mut events, 1);
    let mut two = create(&h, &mut events, 2);
    for _ in 0..6 {
        one = update(&h, &mut events, one, 100);
        two = update(&h, &mut events, two, 1);
    }
    let expected_seqs: Vec<u64> = (0..=600u64)
        .map(|n| if n == 0 { 1 } else { n + 2 + (n - 1) / 100 })
        .collect();
    let expected_titles: Vec<String> = (0..=600).map(|n| format!("v{n}")).collect();

    // The stored layout: two sealed pages of 256 and a tail of 89.
    let head = stored(&h, &format!("taskhist/{}", one.id));
    assert_eq!(head["owner"], "alice");
    assert_eq!(head["pages"], 2);
    assert_eq!(head["seqs"].as_array().unwrap().len(), 601 - 2 * 256);
    for page in 0..2u64 {
        let sealed = stored(&h, &format!("taskhist/{}/{page}", one.id));
        let want = &expected_seqs[(page * PAGE) as usize..((page + 1) * PAGE) as usize];
        assert_eq!(sealed, json!({ "seqs": want }), "page {page}");
    }
    assert_eq!(stored(&h, &format!("taskhist/{}/2", one.id)), Value::Null);
    assert_documents_bounded(&h);

    // Without a limit: 200 at a time, oldest first, nothing lost or repeated.
    let (items, requests) = walk(&h, "alice", &one, None);
    assert_eq!(requests, 4);
    assert_eq!(seqs(&items), expected_seqs);
    assert_eq!(titles(&items), expected_titles);
    // Small pages across the sealed-page boundaries say the same.
    for limit in [7, 200, 1] {
        let (items, _) = walk(&h, "alice", &one, Some(limit));
        assert_eq!(seqs(&items), expected_seqs, "limit {limit}");
    }
    // The first page of a short history is all of it, as before paging.
    let (status, short) = get(&h, "alice", &format!("/api/audit/tasks/{}", two.id));
    assert_eq!(status, 200);
    assert_eq!(short["items"].as_array().unwrap().len(), 7);
    assert_eq!(short["nextCursor"], Value::Null);
    assert_eq!(short["total"], 7);
}

#[test]
fn a_page_reads_the_head_at_most_two_sealed_pages_and_its_entries() {
    let h = harness();
    let mut events = Events::for_user("alice");
    let one = create(&h, &mut events, 1);
    update(&h, &mut events, one.clone(), 3 * PAGE);
    let before = h.dapr.calls().len();
    // Positions 250..450 straddle sealed pages 0 and 1.
    let (status, page) = get(
        &h,
        "alice",
        &format!("/api/audit/tasks/{}?cursor=250&limit=200", one.id),
    );
    assert_eq!(status, 200);
    assert_eq!(
        seqs(page["items"].as_array().unwrap()),
        (251..451).collect::<Vec<_>>()
    );
    assert_eq!(page["nextCursor"], "450");
    let calls = &h.dapr.calls()[before..];
    let bulk: Vec<&(String, String)> = calls
        .iter()
        .filter(|(_, path)| path.ends_with("/bulk"))
        .collect();
    // One read of head + pages, two of 100 entries each.
    assert_eq!(bulk.len(), 3, "{calls:?}");
}

#[test]
fn an_old_layout_history_still_reads_and_is_split_by_its_next_append() {
    let h = harness();
    let mut events = Events::for_user("alice");
    let one = create(&h, &mut events, 1);
    let one = update(&h, &mut events, one, 299);
    // The document as the old layout kept it: every seq in one list. A
    // leftover page 0 must not be read (the old head has no sealed pages).
    let key = format!("taskhist/{}", one.id);
    h.dapr.put(
        STORE,
        &key,
        json!({ "owner": "alice", "seqs": (1..=300).collect::<Vec<u64>>() }),
    );
    h.dapr
        .put(STORE, &format!("{key}/0"), json!({ "seqs": [999] }));

    let (items, _) = walk(&h, "alice", &one, None);
    assert_eq!(seqs(&items), (1..=300).collect::<Vec<_>>());
    let (items, _) = walk(&h, "alice", &one, Some(64));
    assert_eq!(seqs(&items), (1..=300).collect::<Vec<_>>());

    // The next append seals the full page and keeps the rest as the tail.
    update(&h, &mut events, one.clone(), 1);
    let head = stored(&h, &key);
    assert_eq!(head["pages"], 1);
    assert_eq!(head["seqs"], json!((257..=301).collect::<Vec<u64>>()));
    assert_eq!(
        stored(&h, &format!("{key}/0")),
        json!({ "seqs": (1..=256).collect::<Vec<u64>>() })
    );
    let (items, _) = walk(&h, "alice", &one, None);
    assert_eq!(seqs(&items), (1..=301).collect::<Vec<_>>());
    assert_documents_bounded(&h);
}

#[test]
fn redelivering_the_event_that_seals_a_page_appends_it_once() {
    let h = harness();
    let mut events = Events::for_user("alice");
    let one = create(&h, &mut events, 1);
    let one = update(&h, &mut events, one, PAGE - 2);
    let (event, _) = update_event(&mut events, &one, PAGE);
    for _ in 0..5 {
        assert_eq!(deliver_event(&h, &event), "SUCCESS");
    }
    let key = format!("taskhist/{}", one.id);
    assert_eq!(
        stored(&h, &key),
        json!({ "owner": "alice", "pages": 1, "seqs": [] })
    );
    assert_eq!(
        stored(&h, &format!("{key}/0")),
        json!({ "seqs": (1..=PAGE).collect::<Vec<u64>>() })
    );
    assert_eq!(stored(&h, "chain/alice")["seq"], PAGE);
    let (items, _) = walk(&h, "alice", &one, None);
    assert_eq!(seqs(&items), (1..=PAGE).collect::<Vec<_>>());
    let (_, verify) = get(&h, "alice", "/api/audit/verify");
    assert_eq!(verify, json!({ "ok": true, "entries": PAGE }));
}

#[test]
fn dedupe_markers_expire_after_every_redelivery_is_over() {
    let h = harness();
    let mut events = Events::for_user("alice");
    let open = task(1, json!({ "title": "Report" }));
    let event = events.event(TaskChange::Created, None, Some(&open));
    assert_eq!(deliver_event(&h, &event), "SUCCESS");
    let marker = h
        .dapr
        .get(STORE, &format!("seen/{}", event["id"].as_str().unwrap()))
        .unwrap();
    assert_eq!(marker.ttl_seconds, Some(SEEN_TTL_SECS));
    // The log itself never expires.
    for key in h.dapr.keys(STORE) {
        if !key.starts_with("seen/") {
            assert_eq!(h.dapr.get(STORE, &key).unwrap().ttl_seconds, None, "{key}");
        }
    }
}

#[test]
fn an_event_whose_entry_would_exceed_the_bound_is_refused() {
    let h = harness();
    let mut events = Events::for_user("alice");
    let mut huge = task(1, json!({ "title": "Report" }));
    // Far beyond the 5,000-character limit task-api enforces. Such an event
    // cannot even be delivered (a body over 64 KiB is 413), so the store is
    // called directly: the bound holds whatever reaches it.
    huge.description = "x".repeat(MAX_ENTRY_BYTES);
    let event = events.event(TaskChange::Created, None, Some(&huge));
    let event = todo_core::events::task::read(serde_json::from_value(event).unwrap()).unwrap();
    let refused = futures::executor::block_on(store::append(&h.ctx, &event)).unwrap_err();
    assert!(
        matches!(refused, AppendError::Oversized { bytes } if bytes > MAX_ENTRY_BYTES),
        "{refused:?}"
    );
    assert!(h.dapr.keys(STORE).is_empty(), "nothing written");
}

#[test]
fn history_paging_parameters() {
    let h = harness();
    let mut events = Events::for_user("alice");
    let one = create(&h, &mut events, 1);
    update(&h, &mut events, one.clone(), 4);
    let path = format!("/api/audit/tasks/{}", one.id);
    let (_, first) = get(&h, "alice", &format!("{path}?limit=2"));
    assert_eq!(seqs(first["items"].as_array().unwrap()), [1, 2]);
    assert_eq!(first["nextCursor"], "2");
    assert_eq!(first["total"], 5);
    // A cursor at or past the end: an empty last page.
    for cursor in [5, 99] {
        let (status, past) = get(&h, "alice", &format!("{path}?cursor={cursor}"));
        assert_eq!(status, 200);
        assert_eq!(past["items"], json!([]));
        assert_eq!(past["nextCursor"], Value::Null);
    }
    // An empty cursor is the first page.
    let (_, empty) = get(&h, "alice", &format!("{path}?cursor=&limit=1"));
    assert_eq!(seqs(empty["items"].as_array().unwrap()), [1]);
    for bad in ["limit=0", "limit=201", "cursor=x", "cursor=0", "sort=seq"] {
        let (status, problem) = get(&h, "alice", &format!("{path}?{bad}"));
        assert_eq!(status, 400, "{bad}: {problem}");
    }
    // Another user's task is 404 whatever the query.
    let (status, _) = get(&h, "bob", &format!("{path}?limit=2"));
    assert_eq!(status, 404);
}
