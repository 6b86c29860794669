//! The task API end to end, the way a user reaches it: HTTP through the
//! devstack gateway into the real task-api `.wasm`, which keeps its state
//! through its real (devstack) sidecar.
//!
//! Covered: the CRUD lifecycle with ETags and merge patches, every list
//! filter, sort and cursor paging, preconditions, idempotent creates, token
//! failures, user isolation, the body limit, Dapr-only routes that the
//! gateway must not expose, and the OpenAPI document.

mod support;

use std::collections::BTreeSet;

use serde_json::{json, Value};
use support::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn crud_lifecycle_with_location_etag_patch_complete_reopen_delete() {
    let env = Env::start().await;
    let alice = env.api(&unique_user("alice"));

    // Create: 201 + Location + ETag "1", defaults filled in.
    let r = alice
        .post(
            "/api/tasks",
            &json!({ "title": "  Weekly report  ", "tags": ["work"], "dueAt": "2030-12-01T10:00:00+01:00" }),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text());
    let created = r.json();
    let id = id_of(&created);
    let location = format!("/api/tasks/{id}");
    assert_eq!(r.header("location"), Some(location.as_str()));
    assert_eq!(r.header("etag"), Some("\"1\""));
    assert!(r
        .header("content-type")
        .unwrap()
        .starts_with("application/json"));
    assert_eq!(created["title"], "Weekly report", "title is trimmed");
    assert_eq!(created["status"], "open");
    assert_eq!(created["priority"], "medium");
    assert_eq!(created["timezone"], "UTC");
    assert_eq!(created["version"], 1);
    assert_eq!(created["dueAt"], "2030-12-01T09:00:00Z", "stored in UTC");
    assert!(created["completedAt"].is_null());
    let uuid = uuid::Uuid::parse_str(&id).unwrap();
    assert_eq!(uuid.get_version_num(), 7, "ids are uuid v7");

    // Read it back where Location says.
    let r = alice.get(&location).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.header("etag"), Some("\"1\""));
    assert_eq!(r.json(), created);

    // Merge patch: set, replace arrays, remove with null, keep the rest.
    let r = alice
        .patch(
            &location,
            &json!({ "title": "Monthly report", "priority": "high", "tags": ["work", "q4"], "dueAt": null, "description": "numbers" }),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.header("etag"), Some("\"2\""));
    let patched = r.json();
    assert_eq!(patched["title"], "Monthly report");
    assert_eq!(patched["priority"], "high");
    assert_eq!(patched["tags"], json!(["work", "q4"]));
    assert_eq!(patched["description"], "numbers");
    assert!(patched["dueAt"].is_null());
    assert_eq!(patched["createdAt"], created["createdAt"]);
    assert!(parse_time(&patched["updatedAt"]) >= parse_time(&created["updatedAt"]));
    assert_eq!(alice.get(&location).await.json(), patched);

    // A patch that changes nothing is no new version.
    let r = alice.patch(&location, &json!({ "priority": "high" })).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.json()["version"], 2);
    // Server-maintained fields cannot be patched.
    alice
        .patch(&location, &json!({ "status": "completed" }))
        .await
        .problem(400);

    // Complete (idempotent), then reopen (idempotent).
    let r = alice
        .post(&format!("{location}/complete"), &json!(null))
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    let done = r.json();
    assert_eq!(done["status"], "completed");
    assert_eq!(done["version"], 3);
    assert!(done["completedAt"].is_string());
    let r = alice
        .call("POST", &format!("{location}/complete"), &[], b"")
        .await;
    assert_eq!(r.status, 200);
    assert_eq!(r.json()["version"], 3, "completing twice changes nothing");
    let r = alice
        .call("POST", &format!("{location}/reopen"), &[], b"")
        .await;
    assert_eq!(r.status, 200);
    let reopened = r.json();
    assert_eq!(reopened["status"], "open");
    assert!(reopened["completedAt"].is_null());
    assert_eq!(reopened["version"], 4);
    assert_eq!(r.header("etag"), Some("\"4\""));
    let r = alice
        .call("POST", &format!("{location}/reopen"), &[], b"")
        .await;
    assert_eq!(r.json()["version"], 4);

    // Delete: 204, then gone everywhere.
    let r = alice.delete(&location).await;
    assert_eq!(r.status, 204, "{}", r.text());
    assert!(r.body.is_empty());
    alice.get(&location).await.problem(404);
    alice.delete(&location).await.problem(404);
    alice
        .patch(&location, &json!({ "title": "x" }))
        .await
        .problem(404);
    let list = alice.get("/api/tasks").await.json();
    assert_eq!(list["total"], 0, "{list}");
    // A path id that is no uuid names no task.
    alice.get("/api/tasks/not-a-uuid").await.problem(404);

    env.shutdown().await;
}

/// The titles of a list answer's items, in order.
fn titles(page: &Value) -> Vec<String> {
    page["items"]
        .as_array()
        .unwrap_or_else(|| panic!("{page}"))
        .iter()
        .map(|t| t["title"].as_str().unwrap().to_string())
        .collect()
}

async fn list(api: &Api, query: &str) -> Value {
    let r = api.get(&format!("/api/tasks?{query}")).await;
    assert_eq!(r.status, 200, "?{query}: {}", r.text());
    r.json()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn list_filters_sorts_searches_and_pages() {
    let env = Env::start().await;
    let bob = env.api(&unique_user("bob"));
    // (title, description, priority, tags, dueAt relative to now in hours)
    type Seed<'a> = (&'a str, &'a str, &'a str, &'a [&'a str], Option<i64>);
    let seed: &[Seed] = &[
        ("Alpha budget", "finance review", "low", &["work"], Some(48)),
        ("beta Launch", "", "urgent", &["work", "home"], Some(-24)),
        ("Gamma call", "call the BANK", "high", &["home"], Some(2)),
        ("delta groceries", "milk, eggs", "medium", &[], None),
        (
            "Epsilon taxes",
            "finance",
            "urgent",
            &["home", "finance"],
            Some(-1),
        ),
        ("zeta plan", "", "high", &["work"], Some(24 * 30)),
        ("Eta backup", "bank statements", "low", &[], Some(-48)),
    ];
    let mut ids = Vec::new();
    for (title, description, priority, tags, due) in seed {
        let mut body = json!({ "title": title, "description": description, "priority": priority, "tags": tags });
        if let Some(h) = due {
            body["dueAt"] = json!(in_secs(h * 3600));
        }
        ids.push(id_of(&bob.create(body).await));
    }
    // Eta is done: not overdue, not open.
    let r = bob
        .call("POST", &format!("/api/tasks/{}/complete", ids[6]), &[], b"")
        .await;
    assert_eq!(r.status, 200);

    // Default: newest first, total counts everything.
    let all = list(&bob, "").await;
    assert_eq!(all["total"], 7);
    assert_eq!(titles(&all)[0], "Eta backup");
    assert_eq!(titles(&all)[6], "Alpha budget");
    assert!(all["nextCursor"].is_null());

    let completed = list(&bob, "status=completed").await;
    assert_eq!(titles(&completed), ["Eta backup"]);
    assert_eq!(list(&bob, "status=open").await["total"], 6);

    let pressing = list(&bob, "priority=high,urgent&sort=title").await;
    assert_eq!(
        titles(&pressing),
        ["beta Launch", "Epsilon taxes", "Gamma call", "zeta plan"]
    );
    let repeated = list(&bob, "priority=high&priority=urgent&sort=title").await;
    assert_eq!(titles(&repeated), titles(&pressing));

    let both = list(&bob, "tag=work&tag=home").await;
    assert_eq!(titles(&both), ["beta Launch"]);
    let home = list(&bob, "tag=home&sort=title").await;
    assert_eq!(
        titles(&home),
        ["beta Launch", "Epsilon taxes", "Gamma call"]
    );
    assert_eq!(list(&bob, "tag=Work").await["total"], 0, "tags are exact");

    // q: every word, case-insensitive, in title or description.
    let bank = list(&bob, "q=bank&sort=title").await;
    assert_eq!(titles(&bank), ["Eta backup", "Gamma call"]);
    let words = list(&bob, "q=FINANCE%20review").await;
    assert_eq!(titles(&words), ["Alpha budget"]);

    let overdue = list(&bob, "overdue=true&sort=dueAt").await;
    assert_eq!(titles(&overdue), ["beta Launch", "Epsilon taxes"]);

    // dueAfter inclusive, dueBefore exclusive; undated tasks never match.
    let window = list(
        &bob,
        &format!(
            "dueAfter={}&dueBefore={}&sort=dueAt",
            in_secs(-3600 * 30),
            in_secs(3600 * 30)
        ),
    )
    .await;
    assert_eq!(
        titles(&window),
        ["beta Launch", "Epsilon taxes", "Gamma call"]
    );

    // Sorts: dueAt puts undated tasks last in both directions.
    let by_due = list(&bob, "sort=dueAt").await;
    assert_eq!(
        titles(&by_due),
        [
            "Eta backup",
            "beta Launch",
            "Epsilon taxes",
            "Gamma call",
            "Alpha budget",
            "zeta plan",
            "delta groceries"
        ]
    );
    let by_due_desc = list(&bob, "sort=-dueAt").await;
    assert_eq!(titles(&by_due_desc)[0], "zeta plan");
    assert_eq!(titles(&by_due_desc)[6], "delta groceries");
    let by_priority = list(&bob, "sort=-priority").await;
    let priorities: Vec<&str> = by_priority["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["priority"].as_str().unwrap())
        .collect();
    assert_eq!(
        priorities,
        ["urgent", "urgent", "high", "high", "medium", "low", "low"]
    );
    let by_title = list(&bob, "sort=title").await;
    assert_eq!(
        titles(&by_title),
        [
            "Alpha budget",
            "beta Launch",
            "delta groceries",
            "Epsilon taxes",
            "Eta backup",
            "Gamma call",
            "zeta plan"
        ],
        "case-insensitive"
    );
    let by_created = list(&bob, "sort=createdAt").await;
    assert_eq!(titles(&by_created)[0], "Alpha budget");
    let by_updated = list(&bob, "sort=-updatedAt").await;
    assert_eq!(titles(&by_updated)[0], "Eta backup", "completed last");

    // Bad parameters are 400 naming the parameter.
    let p = bob.get("/api/tasks?sort=colour").await.problem(400);
    assert!(p.to_string().contains("sort"), "{p}");
    bob.get("/api/tasks?limit=201").await.problem(400);
    bob.get("/api/tasks?status=maybe").await.problem(400);

    // Tags with counts, most used first.
    let tags = bob.get("/api/tags").await;
    assert_eq!(tags.status, 200);
    let tags = tags.json();
    let items = tags["items"].as_array().unwrap();
    assert_eq!(items.len(), 3, "{tags}");
    let counted: BTreeSet<(String, u64)> = items
        .iter()
        .map(|t| {
            (
                t["tag"].as_str().unwrap().to_string(),
                t["count"].as_u64().unwrap(),
            )
        })
        .collect();
    let expected: BTreeSet<(String, u64)> = [("home", 3), ("work", 3), ("finance", 1)]
        .into_iter()
        .map(|(t, c)| (t.to_string(), c))
        .collect();
    assert_eq!(counted, expected);
    assert_eq!(items[2]["tag"], "finance", "most used first: {tags}");

    env.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cursor_paging_returns_every_task_exactly_once() {
    let env = Env::start().await;
    let carol = env.api(&unique_user("carol"));
    let mut created = BTreeSet::new();
    for i in 0..23 {
        // Few distinct priorities: many ties, broken by id.
        let priority = ["low", "medium", "high"][i % 3];
        let task = carol
            .create(json!({ "title": format!("task {i:02}"), "priority": priority }))
            .await;
        created.insert(id_of(&task));
    }

    for sort in ["priority", "-createdAt", "title"] {
        let mut seen = Vec::new();
        let mut cursor: Option<String> = None;
        let mut pages = 0;
        loop {
            let mut query = format!("sort={sort}&limit=5");
            if let Some(c) = &cursor {
                query.push_str(&format!("&cursor={c}"));
            }
            let page = list(&carol, &query).await;
            assert_eq!(page["total"], 23, "total counts every match");
            pages += 1;
            for item in page["items"].as_array().unwrap() {
                seen.push(id_of(item));
            }
            match page["nextCursor"].as_str() {
                Some(c) => cursor = Some(c.to_string()),
                None => break,
            }
            assert!(pages < 10, "paging does not end");
        }
        assert_eq!(pages, 5, "{sort}: 23 tasks in pages of 5");
        assert_eq!(seen.len(), 23, "{sort}: {seen:?}");
        let unique: BTreeSet<String> = seen.iter().cloned().collect();
        assert_eq!(unique, created, "{sort}: every task exactly once");
    }

    // A cursor is tied to its filters and sort.
    let first = list(&carol, "sort=title&limit=5").await;
    let cursor = first["nextCursor"].as_str().unwrap();
    carol
        .get(&format!("/api/tasks?sort=-title&limit=5&cursor={cursor}"))
        .await
        .problem(400);
    carol
        .get(&format!(
            "/api/tasks?sort=title&limit=5&priority=low&cursor={cursor}"
        ))
        .await
        .problem(400);
    // Changes between pages neither repeat nor skip the remaining items.
    let second = list(&carol, &format!("sort=title&limit=5&cursor={cursor}")).await;
    assert_eq!(titles(&second)[0], "task 05");
    let last_seen = id_of(&first["items"][4]);
    assert_eq!(
        carol
            .delete(&format!("/api/tasks/{last_seen}"))
            .await
            .status,
        204
    );
    carol.create(json!({ "title": "task 00a" })).await;
    let again = list(&carol, &format!("sort=title&limit=5&cursor={cursor}")).await;
    assert_eq!(titles(&again), titles(&second));

    env.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn if_match_guards_changes_with_412() {
    let env = Env::start().await;
    let dave = env.api(&unique_user("dave"));
    let task = dave.create(json!({ "title": "guarded" })).await;
    let path = format!("/api/tasks/{}", id_of(&task));

    let r = dave
        .call(
            "PATCH",
            &path,
            &[
                ("content-type", "application/merge-patch+json"),
                ("if-match", "\"1\""),
            ],
            br#"{"title":"first"}"#,
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.header("etag"), Some("\"2\""));

    // A writer holding the old ETag loses.
    let r = dave
        .call(
            "PATCH",
            &path,
            &[
                ("content-type", "application/merge-patch+json"),
                ("if-match", "\"1\""),
            ],
            br#"{"title":"stale"}"#,
        )
        .await;
    let p = r.problem(412);
    assert!(p["detail"].as_str().unwrap().contains("\"2\""), "{p}");
    let r = dave
        .call("DELETE", &path, &[("if-match", "\"1\"")], b"")
        .await;
    r.problem(412);
    let r = dave
        .call(
            "POST",
            &format!("{path}/complete"),
            &[("if-match", "\"7\"")],
            b"",
        )
        .await;
    r.problem(412);
    let current = dave.get(&path).await.json();
    assert_eq!(current["title"], "first", "nothing changed");
    assert_eq!(current["status"], "open");
    assert_eq!(current["version"], 2);

    // `*` and a list containing the current tag both match.
    let r = dave
        .call(
            "PATCH",
            &path,
            &[
                ("content-type", "application/json"),
                ("if-match", "\"1\", \"2\""),
            ],
            br#"{"title":"second"}"#,
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    let r = dave.call("DELETE", &path, &[("if-match", "*")], b"").await;
    assert_eq!(r.status, 204);

    env.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idempotency_key_replays_the_same_task_and_refuses_another_body() {
    let env = Env::start().await;
    let erin = env.api(&unique_user("erin"));
    let body = json!({ "title": "pay rent", "tags": ["home"] });
    let key = [("idempotency-key", "rent-2030-01")];

    let first = erin.send_json("POST", "/api/tasks", &body, &key).await;
    assert_eq!(first.status, 201, "{}", first.text());
    let task = first.json();

    // Same key, same body (other formatting and key order): 200, same task.
    let again = erin
        .call(
            "POST",
            "/api/tasks",
            &[("content-type", "application/json"), key[0]],
            br#"{ "tags": ["home"],   "title": "pay rent" }"#,
        )
        .await;
    assert_eq!(again.status, 200, "{}", again.text());
    assert_eq!(again.json(), task);
    assert_eq!(again.header("etag"), Some("\"1\""));

    // Same key, another body: 422.
    let other = erin
        .send_json(
            "POST",
            "/api/tasks",
            &json!({ "title": "pay rent twice" }),
            &key,
        )
        .await;
    let p = other.problem(422);
    assert!(
        p["detail"].as_str().unwrap().contains("rent-2030-01"),
        "{p}"
    );

    // The key is per user: another user's identical request creates their own.
    let frank = env.api(&unique_user("frank"));
    let theirs = frank.send_json("POST", "/api/tasks", &body, &key).await;
    assert_eq!(theirs.status, 201);
    assert_ne!(id_of(&theirs.json()), id_of(&task));

    let listed = list(&erin, "").await;
    assert_eq!(listed["total"], 1, "exactly one task: {listed}");

    env.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_tokens_are_401_problems_and_users_only_see_their_own_tasks() {
    let env = Env::start().await;
    let alice_id = unique_user("alice");
    let alice = env.api(&alice_id);
    let task = alice.create(json!({ "title": "private" })).await;
    let path = format!("/api/tasks/{}", id_of(&task));

    let expect_401 = |r: Answer, what: &str| {
        let p = r.problem(401);
        assert!(
            r.header("www-authenticate")
                .is_some_and(|h| h.starts_with("Bearer")),
            "{what}: {:?}",
            r.headers
        );
        p
    };
    // Missing.
    expect_401(env.anonymous().get("/api/tasks").await, "missing");
    expect_401(env.anonymous().get(&path).await, "missing");
    // Expired (beyond any clock-skew leeway).
    let expired = alice.with_token(Some(env.secrets.token_for(&alice_id, -600)));
    expect_401(expired.get(&path).await, "expired");
    // Forged: right shape, wrong key.
    let claims = todo_core::auth::Claims {
        sub: alice_id.clone(),
        exp: chrono::Utc::now().timestamp() + 3600,
        nbf: None,
        iat: None,
        iss: None,
        aud: None,
    };
    let forged = todo_core::auth::sign_hs256(&claims, b"not-the-secret-not-the-secret-!!");
    expect_401(alice.with_token(Some(forged)).get(&path).await, "forged");
    // Tampered: a valid token with its payload swapped for another user's.
    let mine = env.secrets.token_for(&alice_id, 3600);
    let other = env.secrets.token_for("mallory", 3600);
    let parts: Vec<&str> = mine.split('.').collect();
    let tampered = format!(
        "{}.{}.{}",
        parts[0],
        other.split('.').nth(1).unwrap(),
        parts[2]
    );
    expect_401(
        alice.with_token(Some(tampered)).get(&path).await,
        "tampered",
    );
    // Not a JWT at all, and a write without a token.
    expect_401(
        alice.with_token(Some("garbage".into())).get(&path).await,
        "garbage",
    );
    expect_401(
        env.anonymous()
            .post("/api/tasks", &json!({ "title": "sneaky" }))
            .await,
        "missing on create",
    );
    assert_eq!(list(&alice, "").await["total"], 1, "nothing was created");

    // Another user: 404 on every route, never 403, and nothing changes.
    let bob = env.api(&unique_user("bob"));
    bob.get(&path).await.problem(404);
    bob.patch(&path, &json!({ "title": "mine now" }))
        .await
        .problem(404);
    bob.call("POST", &format!("{path}/complete"), &[], b"")
        .await
        .problem(404);
    bob.call("POST", &format!("{path}/reopen"), &[], b"")
        .await
        .problem(404);
    bob.delete(&path).await.problem(404);
    assert_eq!(list(&bob, "").await["total"], 0);
    let still = alice.get(&path).await;
    assert_eq!(still.status, 200);
    assert_eq!(still.json(), task);

    env.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bodies_over_64_kib_are_413_and_bad_bodies_400_415_422() {
    let env = Env::start().await;
    let gina = env.api(&unique_user("gina"));

    let big = json!({ "title": "big", "description": "x".repeat(70 * 1024) });
    let r = gina.post("/api/tasks", &big).await;
    r.problem(413);
    // Just under the limit is not refused for its size (but for the rules).
    let almost = json!({ "title": "big", "description": "x".repeat(60 * 1024) });
    let p = gina.post("/api/tasks", &almost).await.problem(422);
    assert_eq!(p["errors"][0]["field"], "description", "{p}");

    let task = gina.create(json!({ "title": "small" })).await;
    let path = format!("/api/tasks/{}", id_of(&task));
    let big_patch = json!({ "description": "y".repeat(65 * 1024) });
    gina.patch(&path, &big_patch).await.problem(413);

    gina.call(
        "POST",
        "/api/tasks",
        &[("content-type", "application/json")],
        b"{not json",
    )
    .await
    .problem(400);
    gina.post("/api/tasks", &json!({ "title": "x", "colour": "red" }))
        .await
        .problem(400);
    gina.call(
        "POST",
        "/api/tasks",
        &[("content-type", "text/plain")],
        b"{\"title\":\"x\"}",
    )
    .await
    .problem(415);
    let p = gina
        .post(
            "/api/tasks",
            &json!({ "title": " ", "tags": ["ok", ""], "timezone": "Mars/Olympus" }),
        )
        .await
        .problem(422);
    let fields: BTreeSet<&str> = p["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap())
        .collect();
    assert!(
        fields.contains("title") && fields.contains("timezone"),
        "{p}"
    );

    assert_eq!(list(&gina, "").await["total"], 1, "only the small task");
    assert_eq!(
        gina.get(&path).await.json(),
        task,
        "the big patch changed nothing"
    );

    env.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn internal_routes_are_not_public_and_need_the_app_token() {
    let env = Env::start().await;
    let user = env.api(&unique_user("henry"));

    // An API path no component serves: the API's problem+json 404.
    for path in ["/api/nope", "/api/auth/login"] {
        env.anonymous().post(path, &json!({})).await.problem(404);
        user.get(path).await.problem(404);
    }

    // Through the gateway (the ingress): as if they did not exist.
    let job = format!("/job/outbox-{}-0", uuid::Uuid::now_v7());
    for path in [
        "/internal/outbox-sweep",
        "/internal/tasks/next",
        job.as_str(),
    ] {
        let r = user.post(path, &json!({})).await;
        assert_eq!(r.status, 404, "{path} through the gateway: {}", r.text());
        let r = env.anonymous().post(path, &json!({})).await;
        assert_eq!(r.status, 404, "{path}");
    }

    // On task-api's own listener (what its sidecar calls): the app token only.
    let app = env.raw(env.task_api.app);
    // The outbox jobs' callback too.
    app.call("POST", &job, &[], b"").await.problem(401);
    let r = app
        .call(
            "POST",
            &job,
            &[("dapr-api-token", &env.secrets.app_token)],
            b"",
        )
        .await;
    assert_eq!(r.status, 200, "nothing to publish: {}", r.text());
    app.call("POST", "/internal/outbox-sweep", &[], b"")
        .await
        .problem(401);
    app.call(
        "POST",
        "/internal/outbox-sweep",
        &[("dapr-api-token", "wrong")],
        b"",
    )
    .await
    .problem(401);
    // A user's JWT is not the app token.
    let jwt = format!("Bearer {}", env.secrets.token_for("henry", 3600));
    app.call(
        "POST",
        "/internal/outbox-sweep",
        &[("authorization", &jwt)],
        b"",
    )
    .await
    .problem(401);
    let r = app
        .call(
            "POST",
            "/internal/outbox-sweep",
            &[("dapr-api-token", &env.secrets.app_token)],
            b"",
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    let report = r.json();
    assert!(
        report["users"].is_u64() && report["migrated"].is_u64() && report["remaining"].is_u64(),
        "{report}"
    );

    // The service invocation route works for the app token too.
    let owner = unique_user("ivy");
    let r = app
        .send_json(
            "POST",
            "/internal/tasks/next",
            &json!({ "userId": owner, "task": { "title": "next one" } }),
            &[
                ("dapr-api-token", &env.secrets.app_token),
                ("idempotency-key", "series-1:2"),
            ],
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text());
    let listed = list(&env.api(&owner), "").await;
    assert_eq!(titles(&listed), ["next one"]);

    // Public routes still work on the app listener (it is the same component).
    assert_eq!(app.get("/api/openapi.json").await.status, 200);

    env.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn openapi_document_and_health_are_served_through_the_gateway() {
    let env = Env::start().await;
    let r = env.anonymous().get("/api/openapi.json").await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert!(r
        .header("content-type")
        .unwrap()
        .starts_with("application/json"));
    let doc = r.json();
    assert!(doc["openapi"].as_str().unwrap().starts_with("3.1"), "{doc}");
    let paths = doc["paths"].as_object().unwrap();
    for p in [
        "/api/tasks",
        "/api/tasks/{id}",
        "/api/tasks/{id}/complete",
        "/api/tasks/{id}/reopen",
        "/api/tags",
    ] {
        assert!(
            paths.contains_key(p),
            "{p} is documented: {:?}",
            paths.keys()
        );
    }
    assert!(
        paths.keys().all(|p| !p.starts_with("/internal")),
        "Dapr-only routes are not public: {:?}",
        paths.keys()
    );
    assert!(paths["/api/tasks"]["post"].is_object());
    assert!(paths["/api/tasks/{id}"]["patch"].is_object());

    let r = env.anonymous().get("/healthz/task-api").await;
    assert_eq!(r.status, 200, "{}", r.text());
    // Unknown public paths are 404; a wrong method is 405 with Allow.
    let api = env.api("x");
    assert_eq!(api.get("/api/nothing-here").await.status, 404);
    let r = api.call("PUT", "/api/tasks", &[], b"").await;
    assert_eq!(r.status, 405, "{}", r.text());
    let allow = r.header("allow").unwrap_or_default().to_string();
    assert!(allow.contains("GET") && allow.contains("POST"), "{allow}");

    env.shutdown().await;
}
