//! The public routes: inbox listing and paging, read marks, settings.

mod support;

use chrono::Duration;
use serde_json::json;
use support::*;

/// Fires `n` reminders for `user` (one task each) and returns their ids,
/// newest first.
fn notifications(h: &Harness, user: &str, n: usize) -> Vec<String> {
    for i in 0..n {
        let task = format!("0193b2c4-2222-7000-8000-{:012}", i);
        let mut data = reminder(
            user,
            1,
            h.clock.now() + Duration::minutes(1),
            json!(["inbox"]),
        );
        data["taskId"] = json!(task);
        deliver(h, envelope("scheduled", data.clone()));
        h.clock.advance(Duration::minutes(1));
        let reply = call("POST", &format!("/job/reminder-{task}"))
            .app_token()
            .json(data)
            .send(h);
        assert_eq!(reply.dapr_status(), "SUCCESS");
    }
    inbox(h, user)
        .iter()
        .map(|n| n["id"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn the_inbox_is_newest_first_paged_and_private() {
    let h = harness();
    let ids = notifications(&h, "alice", 5);
    assert_eq!(ids.len(), 5);

    let first = call("GET", "/api/notifications?limit=2")
        .user("alice")
        .send(&h);
    assert_eq!(first.status, 200);
    assert_eq!(first.body["unread"], 5);
    let page: Vec<&str> = first.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["id"].as_str().unwrap())
        .collect();
    assert_eq!(page, [ids[0].as_str(), ids[1].as_str()]);
    let cursor = first.body["nextCursor"].as_str().unwrap();
    let second = call(
        "GET",
        &format!("/api/notifications?limit=2&cursor={cursor}"),
    )
    .user("alice")
    .send(&h);
    assert_eq!(second.body["items"][0]["id"], ids[2]);

    assert!(inbox(&h, "bob").is_empty(), "another user sees nothing");
    call("GET", "/api/notifications").send(&h).problem(401);
    call("GET", "/api/notifications?limit=0")
        .user("alice")
        .send(&h)
        .problem(400);
}

#[test]
fn marking_read_is_idempotent_and_filters_unread() {
    let h = harness();
    let ids = notifications(&h, "alice", 3);
    let read = call("POST", &format!("/api/notifications/{}/read", ids[1]))
        .user("alice")
        .send(&h);
    assert_eq!(read.status, 200);
    assert_eq!(read.body["read"], true);
    let read_at = read.body["readAt"].clone();
    h.clock.advance(Duration::minutes(5));
    let again = call("POST", &format!("/api/notifications/{}/read", ids[1]))
        .user("alice")
        .send(&h);
    assert_eq!(again.body["readAt"], read_at);

    let unread = call("GET", "/api/notifications?unread=true")
        .user("alice")
        .send(&h);
    let unread_ids: Vec<&str> = unread.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["id"].as_str().unwrap())
        .collect();
    assert_eq!(unread_ids, [ids[0].as_str(), ids[2].as_str()]);
    assert_eq!(unread.body["unread"], 2);

    // Someone else's (or no) notification: 404.
    call("POST", &format!("/api/notifications/{}/read", ids[0]))
        .user("bob")
        .send(&h)
        .problem(404);
    call("POST", "/api/notifications/not-a-uuid/read")
        .user("alice")
        .send(&h)
        .problem(404);
}

#[test]
fn settings_round_trip_without_revealing_the_secret() {
    let h = harness();
    let empty = call("GET", "/api/notifications/settings")
        .user("alice")
        .send(&h);
    assert_eq!(
        empty.body,
        json!({ "email": null, "webhookUrl": null, "webhookSecretSet": false })
    );

    let saved = settings(
        &h,
        "alice",
        json!({
            "email": "alice@example.com",
            "webhookUrl": "http://localhost:9999/hook",
            "webhookSecret": HOOK_SECRET
        }),
    );
    assert_eq!(
        saved,
        json!({
            "email": "alice@example.com",
            "webhookUrl": "http://localhost:9999/hook",
            "webhookSecretSet": true
        })
    );
    let got = call("GET", "/api/notifications/settings")
        .user("alice")
        .send(&h);
    assert_eq!(got.body, saved);
    assert!(!got.body.to_string().contains(HOOK_SECRET));
    assert_eq!(state(&h, "settings/alice")["webhookSecret"], HOOK_SECRET);

    // The secret is kept when a later PUT leaves it out.
    settings(
        &h,
        "alice",
        json!({ "webhookUrl": "https://hooks.example.com/x" }),
    );
    assert_eq!(state(&h, "settings/alice")["webhookSecret"], HOOK_SECRET);
    assert_eq!(state(&h, "settings/alice").get("email"), None);
}

#[test]
fn invalid_settings_are_422_listing_every_field() {
    let h = harness();
    let reply = call("PUT", "/api/notifications/settings")
        .user("alice")
        .json(json!({
            "email": "not an address",
            "webhookUrl": "http://localhost:3500/v1.0/state/statestore",
            "webhookSecret": "short"
        }))
        .send(&h);
    let problem = reply.problem(422);
    let fields: Vec<&str> = problem["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap())
        .collect();
    assert_eq!(fields, ["email", "webhookUrl", "webhookSecret"]);

    call("PUT", "/api/notifications/settings")
        .user("alice")
        .json(json!({ "webhookUrl": "http://hooks.example.com/x", "webhookSecret": HOOK_SECRET }))
        .send(&h)
        .problem(422);
    call("PUT", "/api/notifications/settings")
        .user("alice")
        .json(json!({ "phone": "123" }))
        .send(&h)
        .problem(400);
    call("PUT", "/api/notifications/settings")
        .user("alice")
        .raw("text/plain", b"email=x")
        .send(&h)
        .problem(415);
    assert_eq!(state(&h, "settings/alice"), serde_json::Value::Null);
}

#[test]
fn routes_outside_the_table_are_404_or_405() {
    let h = harness();
    call("GET", "/api/nope").user("alice").send(&h).problem(404);
    let reply = call("DELETE", "/api/notifications").user("alice").send(&h);
    reply.problem(405);
    assert_eq!(reply.headers.get("allow").unwrap(), "GET");
    let health = call("GET", "/healthz/notify").send(&h);
    assert_eq!(health.status, 200);
}
