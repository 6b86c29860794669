//! Bad input, bad credentials and a broken sidecar: always the right 4xx/503
//! problem+json, never a 5xx for the client's mistake, never a partial write.

mod support;

use serde_json::json;
use support::*;

#[test]
fn malformed_unknown_and_mistyped_bodies_are_400() {
    let h = harness();
    call("POST", "/api/tasks")
        .user("alice")
        .raw("application/json", b"{\"title\":")
        .send(&h)
        .problem(400);
    let unknown = call("POST", "/api/tasks")
        .user("alice")
        .json(json!({ "title": "x", "colour": "red" }))
        .send(&h);
    assert!(unknown.problem(400)["detail"]
        .as_str()
        .unwrap()
        .contains("colour"));
    call("POST", "/api/tasks")
        .user("alice")
        .json(json!({ "title": 5 }))
        .send(&h)
        .problem(400);
    call("POST", "/api/tasks")
        .user("alice")
        .json(json!(["title"]))
        .send(&h)
        .problem(400);
    call("POST", "/api/tasks")
        .user("alice")
        .raw("text/plain", b"title=x")
        .send(&h)
        .problem(415);
    assert!(h.dapr.keys(STORE).is_empty(), "nothing written");
}

#[test]
fn rule_violations_are_422_naming_each_field() {
    let h = harness();
    let reply = call("POST", "/api/tasks")
        .user("alice")
        .json(json!({
            "title": "   ",
            "dueAt": "tomorrow",
            "timezone": "Mars/Olympus",
            "recurrence": { "rrule": "FREQ=MINUTELY" },
            "tags": ["x".repeat(41)]
        }))
        .send(&h);
    let body = reply.problem(422);
    let fields: Vec<&str> = body["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap())
        .collect();
    for expected in ["title", "dueAt", "timezone", "recurrence.rrule"] {
        assert!(
            fields.contains(&expected),
            "{expected} missing from {fields:?}"
        );
    }
    assert!(fields.iter().any(|f| f.starts_with("tags")), "{fields:?}");

    let task = create(&h, "alice", json!({ "title": "ok" }));
    let path = format!("/api/tasks/{}", task["id"].as_str().unwrap());
    call("PATCH", &path)
        .user("alice")
        .json(json!({ "title": "" }))
        .send(&h)
        .problem(422);
    call("PATCH", &path)
        .user("alice")
        .json(json!({ "reminder": { "before": "PT15M" } }))
        .send(&h)
        .problem(422);
    call("PATCH", &path)
        .user("alice")
        .json(json!({ "version": 9 }))
        .send(&h)
        .problem(400);
    call("PATCH", &path)
        .user("alice")
        .json(json!({ "status": "completed" }))
        .send(&h)
        .problem(400);
    let unchanged = call("GET", &path).user("alice").send(&h);
    assert_eq!(unchanged.body["version"], 1);
}

#[test]
fn bodies_over_64_kib_are_413() {
    let h = harness();
    let big = json!({ "title": "big", "description": "x".repeat(70 * 1024) });
    call("POST", "/api/tasks")
        .user("alice")
        .json(big)
        .send(&h)
        .problem(413);
}

#[test]
fn missing_expired_and_forged_tokens_are_401() {
    let h = harness();
    let missing = call("GET", "/api/tasks").send(&h);
    missing.problem(401);
    assert!(missing
        .header("www-authenticate")
        .unwrap()
        .starts_with("Bearer"));

    let expired = token_with("alice", t0().timestamp() - 3600, SECRET);
    let forged = token_with(
        "alice",
        t0().timestamp() + 3600,
        "another-secret-another-secret-!!",
    );
    for bad in [expired.as_str(), forged.as_str(), "not.a.jwt", "Basic"] {
        call("GET", "/api/tasks")
            .header("authorization", &format!("Bearer {bad}"))
            .send(&h)
            .problem(401);
    }
    call("GET", "/api/tasks")
        .header("authorization", &format!("Basic {}", token("alice")))
        .send(&h)
        .problem(401);
    // A token in the query string is only for the SSE route.
    call(
        "GET",
        &format!("/api/tasks?access_token={}", token("alice")),
    )
    .send(&h)
    .problem(401);
}

#[test]
fn a_down_sidecar_is_503_with_retry_after() {
    let h = harness();
    let task = create(&h, "alice", json!({ "title": "before the outage" }));
    h.dapr.set_down(true);
    let reply = call("POST", "/api/tasks")
        .user("alice")
        .json(json!({ "title": "x" }))
        .send(&h);
    reply.problem(503);
    assert_eq!(reply.header("retry-after"), Some("1"));
    call(
        "GET",
        &format!("/api/tasks/{}", task["id"].as_str().unwrap()),
    )
    .user("alice")
    .send(&h)
    .problem(503);
    let health = call("GET", "/healthz/task-api").send(&h);
    health.problem(503);

    h.dapr.set_down(false);
    assert_eq!(call("GET", "/healthz/task-api").send(&h).status, 200);
    assert_eq!(
        call("GET", "/api/tasks").user("alice").send(&h).body["total"],
        1
    );
}

#[test]
fn unknown_paths_are_404_and_wrong_methods_405_with_allow() {
    let h = harness();
    call("GET", "/api/nothing").send(&h).problem(404);
    let reply = call("PUT", "/api/tasks").send(&h);
    reply.problem(405);
    assert_eq!(reply.header("allow"), Some("POST, GET"));
}
