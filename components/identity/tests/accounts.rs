//! Sign-up, `me`, the account-created event and its outbox, and the route
//! table's edges, against the fake sidecar.

mod support;

use serde_json::{json, Value};
use support::*;
use todo_core::identity::account::email_key;
use todo_core::identity::hashing;

#[test]
fn sign_up_stores_an_argon2id_hash_and_claims_the_address() {
    let h = harness();
    let reply = signup(&h, "  Ana@Example.ORG ", PASSWORD, "  Ana López ");
    assert_eq!(reply.status, 201, "{}", reply.body);
    let view = &reply.body;
    assert_eq!(view["email"], "ana@example.org");
    assert_eq!(view["name"], "Ana López");
    assert_eq!(view["createdAt"], "2026-11-27T10:00:00Z");
    let id = view["id"].as_str().unwrap();
    assert_eq!(uuid::Uuid::parse_str(id).unwrap().get_version_num(), 7);
    let mut keys: Vec<&str> = view
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    keys.sort_unstable();
    assert_eq!(keys, ["createdAt", "email", "id", "name"], "never the hash");

    let stored = account_doc(&h, &view["id"]);
    let phc = stored["passwordHash"].as_str().unwrap();
    assert!(phc.starts_with("$argon2id$v=19$m=64,t=1,p=1$"), "{phc}");
    assert_eq!(hashing::verify_password(PASSWORD, phc), Ok(true));
    assert_eq!(hashing::verify_password("tangerine-sky-43", phc), Ok(false));
    assert_eq!(stored["email"], "ana@example.org");
    assert!(
        stored.get("outbox").is_none(),
        "published, so no outbox: {stored}"
    );

    let claim = h.dapr.get(STORE, &email_key("ana@example.org")).unwrap();
    assert_eq!(claim.value, json!({"accountId": id}));
    // Nothing but the account and its claim.
    assert_eq!(h.dapr.keys(STORE).len(), 2, "{:?}", h.dapr.keys(STORE));
}

#[test]
fn the_same_address_in_another_case_or_spacing_is_409() {
    let h = harness();
    account(&h, "ana@example.org");
    for email in ["ana@example.org", "ANA@EXAMPLE.ORG", "  Ana@Example.Org\t"] {
        let reply = signup(&h, email, "another-password-1", "Other");
        let p = reply.problem(409);
        assert_eq!(p["errors"][0]["field"], "email", "{p}");
    }
    let accounts = h
        .dapr
        .keys(STORE)
        .into_iter()
        .filter(|k| k.starts_with("account/"))
        .count();
    assert_eq!(accounts, 1);
}

#[test]
fn a_concurrent_sign_up_that_wins_the_address_makes_the_loser_409() {
    let h = harness();
    let claim = email_key("ana@example.org");
    h.dapr.race_next_transaction(move |state| {
        state.put(
            STORE,
            &claim,
            json!({"accountId": "0193b2c4-0000-7000-8000-00000000000a"}),
        );
    });
    let reply = signup(&h, "ana@example.org", PASSWORD, "Ana");
    assert_eq!(reply.problem(409)["errors"][0]["field"], "email");
    assert!(h
        .dapr
        .keys(STORE)
        .iter()
        .all(|k| !k.starts_with("account/")));
    assert!(h.dapr.published().is_empty(), "the loser publishes nothing");
}

#[test]
fn password_email_and_name_rules_are_422_naming_each_field() {
    let h = harness();
    let fields = |reply: &Reply| -> Vec<(String, String)> {
        reply.problem(422)["errors"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| {
                (
                    e["field"].as_str().unwrap().to_string(),
                    e["message"].as_str().unwrap().to_string(),
                )
            })
            .collect()
    };
    let short = fields(&signup(&h, "a@example.org", "short-1", "A"));
    assert_eq!(
        short,
        [(
            "password".to_string(),
            "must be at least 10 characters long".to_string()
        )]
    );
    let common = fields(&signup(&h, "a@example.org", "Password123", "A"));
    assert_eq!(common.len(), 1);
    assert_eq!(common[0].0, "password");
    assert!(common[0].1.contains("commonly used"), "{}", common[0].1);
    let long = fields(&signup(&h, "a@example.org", &"x".repeat(257), "A"));
    assert_eq!(
        long[0],
        (
            "password".to_string(),
            "must be at most 256 characters long".to_string()
        )
    );
    let all = fields(&signup(&h, "not-an-address", "weak", " "));
    let named: Vec<&str> = all.iter().map(|(f, _)| f.as_str()).collect();
    assert_eq!(named, ["email", "password", "name"]);
    let missing = browser("POST", "/api/auth/signup").json(json!({})).send(&h);
    assert_eq!(missing.problem(422)["errors"].as_array().unwrap().len(), 3);
    // Nothing was stored or published for any of them.
    assert!(h.dapr.keys(STORE).is_empty());
    assert!(h.dapr.published().is_empty());
}

#[test]
fn malformed_bodies_are_400_or_415_and_never_echo_the_password() {
    let h = harness();
    for body in [
        json!({"email": "a@example.org", "password": PASSWORD, "name": "A", "admin": true}),
        json!({"email": "a@example.org", "password": 12345678901u64, "name": "A"}),
        json!(["a"]),
    ] {
        let reply = browser("POST", "/api/auth/signup").json(body).send(&h);
        let p = reply.problem(400);
        assert!(!p.to_string().contains(PASSWORD), "{p}");
    }
    let reply = browser("POST", "/api/auth/signup")
        .raw("text/plain", br#"{"email":"a@example.org"}"#)
        .send(&h);
    reply.problem(415);
}

#[test]
fn the_account_created_event_is_published_once() {
    let h = harness();
    let view = account(&h, "ana@example.org");
    let published = h.dapr.published_on(TOPIC);
    assert_eq!(published.len(), 1);
    let p = &published[0];
    assert_eq!(p.pubsub, PUBSUB);
    assert_eq!(p.content_type, "application/cloudevents+json");
    assert_eq!(p.partition_key.as_deref(), view["id"].as_str());
    let event = &p.event;
    assert_eq!(event["type"], "todo.account.created.v1");
    assert_eq!(event["source"], "identity");
    assert_eq!(event["specversion"], "1.0");
    assert_eq!(event["subject"], view["id"]);
    assert!(event["id"].as_str().is_some_and(|id| !id.is_empty()));
    assert_eq!(
        event["data"],
        json!({
            "accountId": view["id"],
            "email": "ana@example.org",
            "name": "Ana López",
            "createdAt": view["createdAt"],
        })
    );
    assert!(!event.to_string().contains("argon2"), "never the hash");
    // Later requests find nothing pending: still exactly one.
    session(&h, "ana@example.org");
    session(&h, "ana@example.org");
    assert_eq!(h.dapr.published().len(), 1);
}

#[test]
fn a_failed_publish_is_kept_and_sent_by_the_next_login() {
    let h = harness();
    h.dapr.fail_publishes(1);
    let view = account(&h, "ana@example.org");
    assert!(h.dapr.published().is_empty());
    let pending = account_doc(&h, &view["id"])["outbox"].clone();
    assert_eq!(pending.as_array().map(Vec::len), Some(1), "{pending}");
    let event_id = pending[0]["event"]["id"].clone();

    session(&h, "ana@example.org");
    let published = h.dapr.published_on(TOPIC);
    assert_eq!(published.len(), 1);
    assert_eq!(
        published[0].event["id"], event_id,
        "the same event, same id"
    );
    assert!(account_doc(&h, &view["id"]).get("outbox").is_none());

    session(&h, "ana@example.org");
    assert_eq!(h.dapr.published().len(), 1, "published once");
}

#[test]
fn a_failed_publish_is_also_sent_by_refresh_and_me() {
    let h = harness();
    account(&h, "ana@example.org");
    h.dapr.fail_publishes(1);
    let view = account(&h, "bob@example.org");
    h.dapr.fail_publishes(1);
    let (_, refresh) = session(&h, "bob@example.org");
    assert_eq!(h.dapr.published_on(TOPIC).len(), 1, "only ana's so far");

    let reply = with_cookie(&h, "refresh", Some(&refresh));
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(h.dapr.published_on(TOPIC).len(), 2);
    assert!(account_doc(&h, &view["id"]).get("outbox").is_none());

    // And `me` (a fresh failure on a third account).
    h.dapr.fail_publishes(1);
    let carol = account(&h, "carol@example.org");
    let claims_sub = carol["id"].as_str().unwrap();
    let token = token_with(claims_sub, t0().timestamp() + 600, SECRET);
    let me = browser("GET", "/api/auth/me")
        .header("authorization", &format!("Bearer {token}"))
        .send(&h);
    assert_eq!(me.status, 200, "{}", me.body);
    assert_eq!(h.dapr.published_on(TOPIC).len(), 3);
}

/// The outbox job that guards `account`'s sign-up.
fn outbox_job(account: &Value) -> String {
    format!("account-outbox-{}", account["id"].as_str().unwrap())
}

#[test]
fn a_sign_up_arms_the_outbox_job_before_committing_and_disarms_it_once_published() {
    let h = harness();
    let view = account(&h, "ana@example.org");
    let name = outbox_job(&view);
    let calls: Vec<(String, String)> = h
        .dapr
        .job_calls()
        .into_iter()
        .map(|c| (c.method, c.name))
        .collect();
    assert_eq!(
        calls,
        vec![
            ("POST".to_string(), name.clone()),
            ("DELETE".to_string(), name.clone())
        ]
    );
    assert!(h.dapr.job(&name).is_none(), "disarmed");
    let armed_before_commit = h
        .dapr
        .calls()
        .iter()
        .position(|(_, path)| path.contains("/jobs/account-outbox-"))
        < h.dapr
            .calls()
            .iter()
            .position(|(_, path)| path.ends_with("/transaction"));
    assert!(armed_before_commit, "{:?}", h.dapr.calls());

    // A sign-up that loses its address disarms too.
    let reply = signup(&h, "ANA@example.org", PASSWORD, "Another Ana");
    assert_eq!(reply.status, 409);
    assert!(h
        .dapr
        .job_calls()
        .iter()
        .all(|c| h.dapr.job(&c.name).is_none()));
}

#[test]
fn when_the_publish_fails_the_armed_job_publishes_the_event_without_any_sign_in() {
    let h = harness();
    h.dapr.fail_publishes(1);
    let view = account(&h, "ana@example.org");
    assert!(h.dapr.published().is_empty());
    let name = outbox_job(&view);
    let job = h.dapr.job(&name).expect("still armed");
    let due = chrono::DateTime::parse_from_rfc3339(job["dueTime"].as_str().unwrap()).unwrap();
    assert_eq!((due.to_utc() - h.clock.now()).num_seconds(), 15, "{job}");
    assert_eq!(
        job["failurePolicy"],
        json!({"constant": {"interval": "10s"}}),
        "retried every 10 s without end: {job}"
    );

    // The broker is still down when it fires: 503, the Scheduler calls again.
    h.dapr.fail_publishes(1);
    let reply = fire_job(&h.dapr, &h, &name);
    reply.problem(503);
    assert_eq!(reply.header("retry-after"), Some("10"));
    assert!(h.dapr.published().is_empty());

    // Next call: published, once, with the event's own id.
    let pending = account_doc(&h, &view["id"])["outbox"][0]["event"]["id"].clone();
    let reply = fire_job(&h.dapr, &h, &name);
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(reply.body, json!({"published": 1}));
    let published = h.dapr.published_on(TOPIC);
    assert_eq!(published.len(), 1);
    assert_eq!(published[0].event["id"], pending);
    assert!(account_doc(&h, &view["id"]).get("outbox").is_none());

    // A late or repeated call finds nothing; a sign-in publishes nothing more.
    assert_eq!(fire_job(&h.dapr, &h, &name).body, json!({"published": 0}));
    session(&h, "ana@example.org");
    assert_eq!(h.dapr.published().len(), 1);
}

#[test]
fn outbox_job_calls_need_the_app_token_and_a_name_of_ours() {
    let h = harness();
    let view = account(&h, "ana@example.org");
    let reply = call("POST", &format!("/job/{}", outbox_job(&view)))
        .json(json!({}))
        .send(&h);
    reply.problem(401);
    for name in ["reminder-x", "account-outbox-not-a-uuid", "account-outbox-"] {
        let reply = fire_job(&h.dapr, &h, name);
        reply.problem(404);
    }
    // An account that does not exist (its sign-up lost the address after
    // arming): nothing to do, done.
    let reply = fire_job(
        &h.dapr,
        &h,
        "account-outbox-0193a2b4-0000-7000-8000-000000000000",
    );
    assert_eq!(reply.body, json!({"published": 0}));
}

#[test]
fn me_answers_the_account_of_the_bearer_token() {
    let h = harness();
    let view = account(&h, "ana@example.org");
    let (access, _) = session(&h, "ana@example.org");
    let me = browser("GET", "/api/auth/me")
        .header("authorization", &format!("Bearer {access}"))
        .send(&h);
    assert_eq!(me.status, 200, "{}", me.body);
    assert_eq!(me.body, view);

    browser("GET", "/api/auth/me").send(&h).problem(401);
    let bad = browser("GET", "/api/auth/me")
        .header("authorization", &format!("Bearer {access}x"))
        .send(&h);
    bad.problem(401);
    // A valid token of a user who has no account (e.g. `devstack token`).
    let other = browser("GET", "/api/auth/me").user("alice").send(&h);
    other.problem(404);
}

#[test]
fn routes_health_and_limits() {
    let h = harness();
    let health = call("GET", "/healthz/identity").send(&h);
    assert_eq!(
        (health.status, health.body.clone()),
        (200, json!({"status": "ok"}))
    );
    call("GET", "/api/auth/login").send(&h).problem(405);
    call("POST", "/api/auth/nope").send(&h).problem(404);
    let big: Value =
        json!({"email": "a@example.org", "password": "x".repeat(70 * 1024), "name": "A"});
    browser("POST", "/api/auth/signup")
        .json(big)
        .send(&h)
        .problem(413);
    h.dapr.set_down(true);
    signup(&h, "ana@example.org", PASSWORD, "Ana").problem(503);
    call("GET", "/healthz/identity").send(&h).problem(503);
}
