//! The inbox in bounded pages (architecture §5, cost rules): a head of at most 40
//! notifications and up to four sealed pages of 40; the oldest page falls
//! off beyond 200; read marks land wherever the notification is stored; an
//! inbox of the old layout (one document of up to 200) still reads and is
//! cut into pages by its next write; a callback repeated across a page
//! boundary still delivers once; every document stays under 64 KiB.

mod support;

use chrono::Duration;
use serde_json::{json, Value};
use support::*;
use todo_core::events::ReminderEventData;
use todo_core::notify::inbox::Notification;
use uuid::Uuid;

fn task(i: usize) -> String {
    format!("0193b2c4-2222-7000-8000-{i:012}")
}

/// The reminder data of notification `i` (its own task), scheduled.
fn schedule(h: &Harness, user: &str, i: usize) -> Value {
    let mut data = reminder(
        user,
        1,
        h.clock.now() + Duration::minutes(1),
        json!(["inbox"]),
    );
    data["taskId"] = json!(task(i));
    // A title of 200 four-byte characters: the largest a notification holds.
    data["title"] = json!(format!("{i:04}{}", "\u{1D11E}".repeat(196)));
    assert_eq!(
        deliver(h, envelope("scheduled", data.clone())).dapr_status(),
        "SUCCESS"
    );
    h.clock.advance(Duration::minutes(1));
    data
}

fn fire_task(h: &Harness, data: &Value) -> Reply {
    let task = data["taskId"].as_str().unwrap();
    call("POST", &format!("/job/reminder-{task}"))
        .app_token()
        .json(data.clone())
        .send(h)
}

/// Fires notifications `from..=to` for `user`.
fn fire_many(h: &Harness, user: &str, from: usize, to: usize) {
    for i in from..=to {
        let data = schedule(h, user, i);
        assert_eq!(fire_task(h, &data).dapr_status(), "SUCCESS");
    }
}

/// Which notification (`i`) a listed one is, from its title.
fn number(n: &Value) -> usize {
    n["title"].as_str().unwrap()[..4].parse().unwrap()
}

/// The whole inbox through the API, following `nextCursor`, and `unread`.
fn walk(h: &Harness, user: &str, query: &str) -> (Vec<Value>, u64) {
    let mut items = Vec::new();
    let mut path = format!("/api/notifications?{query}");
    loop {
        let reply = call("GET", &path).user(user).send(h);
        assert_eq!(reply.status, 200, "{}", reply.body);
        items.extend(reply.body["items"].as_array().unwrap().iter().cloned());
        match reply.body["nextCursor"].as_str() {
            Some(next) => path = format!("/api/notifications?{query}&cursor={next}"),
            None => return (items, reply.body["unread"].as_u64().unwrap()),
        }
    }
}

fn numbers(items: &[Value]) -> Vec<usize> {
    items.iter().map(number).collect()
}

fn inbox_keys(h: &Harness, user: &str) -> Vec<String> {
    h.dapr
        .keys(STORE)
        .into_iter()
        .filter(|k| k.starts_with(&format!("inbox/{user}")))
        .collect()
}

/// Every stored document is at most 64 KiB of JSON, and no inbox document
/// holds more than 40 notifications.
fn assert_documents_bounded(h: &Harness) {
    for key in h.dapr.keys(STORE) {
        let value = state(h, &key);
        let bytes = serde_json::to_vec(&value).unwrap().len();
        assert!(bytes <= 64 * 1024, "{key} is {bytes} bytes");
        if key.starts_with("inbox/") {
            let n = value["items"].as_array().unwrap().len();
            assert!(n <= 40, "{key} holds {n}");
        }
    }
}

#[test]
fn an_inbox_of_more_than_a_page_lists_whole_newest_first() {
    let h = harness();
    fire_many(&h, "alice", 1, 95);
    let head = state(&h, "inbox/alice");
    assert_eq!(head["sheets"], json!([0, 1]));
    assert_eq!(head["items"].as_array().unwrap().len(), 15);
    assert_eq!(
        inbox_keys(&h, "alice"),
        ["inbox/alice", "inbox/alice/0", "inbox/alice/1"]
    );
    assert_documents_bounded(&h);

    let want: Vec<usize> = (1..=95).rev().collect();
    for query in ["limit=200", "limit=7", "limit=40"] {
        let (items, unread) = walk(&h, "alice", query);
        assert_eq!(numbers(&items), want, "{query}");
        assert_eq!(unread, 95);
    }
}

#[test]
fn beyond_200_the_oldest_page_falls_off() {
    let h = harness();
    fire_many(&h, "alice", 1, 200);
    let (items, _) = walk(&h, "alice", "limit=200");
    assert_eq!(numbers(&items), (1..=200).rev().collect::<Vec<_>>());

    fire_many(&h, "alice", 201, 241);
    // Pages were sealed at 41, 81, 121, 161, 201 and 241; 0 and 1 are gone.
    assert_eq!(state(&h, "inbox/alice")["sheets"], json!([2, 3, 4, 5]));
    assert_eq!(
        inbox_keys(&h, "alice"),
        [
            "inbox/alice",
            "inbox/alice/2",
            "inbox/alice/3",
            "inbox/alice/4",
            "inbox/alice/5"
        ]
    );
    let (items, unread) = walk(&h, "alice", "limit=200");
    assert_eq!(numbers(&items), (81..=241).rev().collect::<Vec<_>>());
    assert_eq!(unread, 161);
    assert_documents_bounded(&h);
}

#[test]
fn a_notification_in_a_sealed_page_is_marked_read_there() {
    let h = harness();
    fire_many(&h, "alice", 1, 50);
    let (items, _) = walk(&h, "alice", "limit=200");
    let oldest = items.last().unwrap()["id"].as_str().unwrap().to_string();
    let head_before = h.dapr.get(STORE, "inbox/alice").unwrap();

    let read = call("POST", &format!("/api/notifications/{oldest}/read"))
        .user("alice")
        .send(&h);
    assert_eq!(read.status, 200, "{}", read.body);
    assert_eq!(read.body["read"], true);
    let read_at = read.body["readAt"].clone();
    h.clock.advance(Duration::minutes(5));
    let again = call("POST", &format!("/api/notifications/{oldest}/read"))
        .user("alice")
        .send(&h);
    assert_eq!(again.body["readAt"], read_at, "the first readAt stays");

    // Only the sealed page changed.
    assert_eq!(h.dapr.get(STORE, "inbox/alice").unwrap(), head_before);
    let sheet = state(&h, "inbox/alice/0");
    let stored = sheet["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|n| n["id"] == oldest.as_str())
        .unwrap();
    assert_eq!(stored["read"], true);

    let (unread, count) = walk(&h, "alice", "unread=true&limit=200");
    assert_eq!(count, 49);
    assert_eq!(numbers(&unread), (2..=50).rev().collect::<Vec<_>>());
    // The newest, in the head, is marked there.
    let newest = items[0]["id"].as_str().unwrap();
    let read = call("POST", &format!("/api/notifications/{newest}/read"))
        .user("alice")
        .send(&h);
    assert_eq!(read.status, 200);
    assert_eq!(walk(&h, "alice", "limit=200").1, 48);
    // Another user's, or an unknown, notification: 404.
    call("POST", &format!("/api/notifications/{oldest}/read"))
        .user("bob")
        .send(&h)
        .problem(404);
    call("POST", &format!("/api/notifications/{}/read", Uuid::nil()))
        .user("alice")
        .send(&h)
        .problem(404);
}

/// `n` notifications as the old layout stored them, newest first.
fn old_layout(n: u128) -> Vec<Value> {
    (1..=n)
        .rev()
        .map(|i| {
            let data = ReminderEventData {
                user_id: "alice".into(),
                task_id: Uuid::from_u128(i),
                title: format!("{i:04} old"),
                due_at: Some(t0()),
                remind_at: Some(t0()),
                channels: vec![todo_core::Channel::Inbox],
                version: 1,
            };
            let at = t0() - Duration::days(1) + Duration::minutes(i as i64);
            let n = Notification::for_reminder(Uuid::from_u128(i), &data, at).unwrap();
            serde_json::to_value(n).unwrap()
        })
        .collect()
}

#[test]
fn an_old_layout_inbox_still_reads_and_a_read_mark_pages_it() {
    let h = harness();
    let items = old_layout(200);
    h.dapr.put(STORE, "inbox/alice", json!({ "items": items }));
    let (listed, unread) = walk(&h, "alice", "limit=200");
    assert_eq!(numbers(&listed), (1..=200).rev().collect::<Vec<_>>());
    assert_eq!(unread, 200);

    // Marking one read writes the head, cut into pages: nothing is lost.
    let oldest = Uuid::from_u128(1);
    let read = call("POST", &format!("/api/notifications/{oldest}/read"))
        .user("alice")
        .send(&h);
    assert_eq!(read.status, 200, "{}", read.body);
    let head = state(&h, "inbox/alice");
    assert_eq!(head["sheets"], json!([0, 1, 2, 3]));
    assert_eq!(head["items"].as_array().unwrap().len(), 40);
    let (listed, unread) = walk(&h, "alice", "limit=200");
    assert_eq!(numbers(&listed), (1..=200).rev().collect::<Vec<_>>());
    assert_eq!(unread, 199);
    assert_documents_bounded(&h);

    // The next firing seals the head as page 4 and drops page 0.
    fire_many(&h, "alice", 201, 201);
    let (listed, _) = walk(&h, "alice", "limit=200");
    assert_eq!(listed.len(), 161);
    assert_eq!(number(&listed[0]), 201);
    assert_eq!(number(listed.last().unwrap()), 41);
    assert_documents_bounded(&h);
}

#[test]
fn an_old_layout_inbox_is_paged_by_the_next_firing() {
    let h = harness();
    let items = old_layout(120);
    h.dapr.put(STORE, "inbox/alice", json!({ "items": items }));
    fire_many(&h, "alice", 121, 121);
    let head = state(&h, "inbox/alice");
    assert_eq!(head["sheets"], json!([0, 1, 2]));
    assert_eq!(head["items"].as_array().unwrap().len(), 1);
    let (listed, unread) = walk(&h, "alice", "limit=200");
    assert_eq!(numbers(&listed), (1..=121).rev().collect::<Vec<_>>());
    assert_eq!(unread, 121);
    assert_documents_bounded(&h);
}

#[test]
fn a_repeated_callback_that_seals_a_page_delivers_once() {
    let h = harness();
    fire_many(&h, "alice", 1, 40);
    let data = schedule(&h, "alice", 41);
    for _ in 0..3 {
        assert_eq!(fire_task(&h, &data).dapr_status(), "SUCCESS");
    }
    assert_eq!(state(&h, "inbox/alice")["sheets"], json!([0]));
    let (listed, _) = walk(&h, "alice", "limit=200");
    assert_eq!(numbers(&listed), (1..=41).rev().collect::<Vec<_>>());
    let published = h.dapr.published_on("task-updates");
    assert_eq!(published.len(), 41, "one sync event per notification");
}
