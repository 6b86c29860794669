//! Sign-in, lockout, refresh-token rotation and reuse detection, sign-out,
//! against the fake sidecar.

mod support;

use serde_json::json;
use support::*;
use todo_core::identity::lockout::{account_counter_key, client_counter_key};

#[test]
fn login_answers_a_verifiable_access_token_and_the_refresh_cookie() {
    let h = harness();
    let view = account(&h, "ana@example.org");
    let reply = login(&h, " ANA@example.org ", PASSWORD);
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(reply.body["expiresIn"], 900);
    let claims = verify(reply.body["accessToken"].as_str().unwrap());
    assert_eq!(claims.sub, view["id"].as_str().unwrap());
    assert_eq!(claims.exp, t0().timestamp() + 900);
    assert_eq!(reply.header("cache-control"), Some("no-store"));
    let token = refresh_token(&reply).unwrap();
    assert_eq!(
        set_cookie(&reply),
        format!(
            "refresh={token}; HttpOnly; Secure; SameSite=Strict; Path=/api/auth; Max-Age=2592000"
        )
    );
    // The family stores only the token's hash, with the family's TTL.
    let family = h.dapr.get(STORE, &family_key(&token)).unwrap();
    assert_eq!(family.ttl_seconds, Some(2_592_000));
    assert_eq!(family.value["accountId"], view["id"]);
    assert_eq!(family.value["revoked"], false);
    assert!(!family
        .value
        .to_string()
        .contains(token.rsplit('.').next().unwrap()));
}

#[test]
fn the_cookie_leaves_out_secure_only_on_a_loopback_host() {
    let h = harness();
    account(&h, "ana@example.org");
    for (host, secure) in [
        ("127.0.0.1:3000", false),
        ("localhost:3000", false),
        ("[::1]:3000", false),
        ("todo.example.org", true),
        ("127.0.0.1.example.org", true),
    ] {
        let reply = call("POST", "/api/auth/login")
            .header("host", host)
            .json(json!({"email": "ana@example.org", "password": PASSWORD}))
            .send(&h);
        assert_eq!(reply.status, 200, "{}", reply.body);
        assert_eq!(set_cookie(&reply).contains("; Secure;"), secure, "{host}");
    }
    // Under Spin the guest gets no `Host` header (WASI HTTP passes it as the
    // authority): the host comes from `spin-full-url` then.
    for (url, secure) in [
        ("http://127.0.0.1:3000/api/auth/login", false),
        ("http://localhost/api/auth/login", false),
        ("https://todo.example.org/api/auth/login", true),
    ] {
        let reply = call("POST", "/api/auth/login")
            .header("spin-full-url", url)
            .json(json!({"email": "ana@example.org", "password": PASSWORD}))
            .send(&h);
        assert_eq!(reply.status, 200, "{}", reply.body);
        assert_eq!(set_cookie(&reply).contains("; Secure;"), secure, "{url}");
    }
    let neither = call("POST", "/api/auth/login")
        .json(json!({"email": "ana@example.org", "password": PASSWORD}))
        .send(&h);
    assert!(
        set_cookie(&neither).contains("; Secure;"),
        "no host: Secure"
    );
}

#[test]
fn wrong_password_and_unknown_account_answer_the_same() {
    let h = harness();
    account(&h, "ana@example.org");
    let wrong = login(&h, "ana@example.org", "tangerine-sky-43");
    let unknown = login(&h, "nobody@example.org", PASSWORD);
    let unparsable = login(&h, "nobody", PASSWORD);
    for reply in [&wrong, &unknown, &unparsable] {
        reply.problem(401);
        assert_eq!(reply.body, wrong.body);
        assert_eq!(
            reply.header("www-authenticate"),
            wrong.header("www-authenticate")
        );
        assert!(reply.header("set-cookie").is_none());
    }
    assert!(!wrong.body.to_string().contains("tangerine"));
}

#[test]
fn the_sixth_attempt_on_an_account_is_429_with_retry_after() {
    let h = harness();
    account(&h, "ana@example.org");
    for n in 0..5 {
        // From different clients, so only the account's counter locks.
        let client = format!("198.51.100.{n}:4000");
        login_from(&h, "ana@example.org", "wrong-password-0", &client).problem(401);
    }
    let counter = h
        .dapr
        .get(STORE, &account_counter_key("ana@example.org"))
        .unwrap();
    assert_eq!(counter.value["failures"].as_array().unwrap().len(), 5);
    assert_eq!(counter.ttl_seconds, Some(900));
    // Locked even for the right password, and checked before hashing:
    // nothing more is recorded.
    let locked = login_from(&h, "ANA@example.org", PASSWORD, "198.51.100.9:4000");
    locked.problem(429);
    assert_eq!(locked.header("retry-after"), Some("900"));
    let after = h
        .dapr
        .get(STORE, &account_counter_key("ana@example.org"))
        .unwrap();
    assert_eq!(after.etag, counter.etag, "a locked attempt records nothing");
    // An address without an account locks the same way.
    for n in 0..5 {
        let client = format!("192.0.2.{n}:4000");
        login_from(&h, "ghost@example.org", PASSWORD, &client).problem(401);
    }
    login_from(&h, "ghost@example.org", PASSWORD, "192.0.2.99:1").problem(429);
    // The window passes: the account opens again.
    h.clock.advance(chrono::Duration::minutes(15));
    let ok = login_from(&h, "ana@example.org", PASSWORD, "198.51.100.10:4000");
    assert_eq!(ok.status, 200, "{}", ok.body);
}

#[test]
fn one_client_failing_on_many_accounts_is_locked_too() {
    let h = harness();
    account(&h, "ana@example.org");
    for n in 0..5 {
        login(&h, &format!("user{n}@example.org"), PASSWORD).problem(401);
    }
    let client = h
        .dapr
        .get(STORE, &client_counter_key("203.0.113.7"))
        .unwrap();
    assert_eq!(client.value["failures"].as_array().unwrap().len(), 5);
    let locked = login(&h, "ana@example.org", PASSWORD);
    locked.problem(429);
    assert!(locked.header("retry-after").is_some());
    // Another client is not affected.
    let other = login_from(&h, "ana@example.org", PASSWORD, "203.0.113.8:1");
    assert_eq!(other.status, 200, "{}", other.body);
}

#[test]
fn a_successful_login_clears_the_account_counter() {
    let h = harness();
    account(&h, "ana@example.org");
    let attempt = |n: u32, password: &str| {
        login_from(
            &h,
            "ana@example.org",
            password,
            &format!("198.51.100.{n}:1"),
        )
    };
    for n in 0..4 {
        attempt(n, "wrong-password-0").problem(401);
    }
    assert_eq!(attempt(10, PASSWORD).status, 200);
    assert!(h
        .dapr
        .get(STORE, &account_counter_key("ana@example.org"))
        .is_none());
    for n in 20..24 {
        attempt(n, "wrong-password-0").problem(401);
    }
    assert_eq!(
        attempt(30, PASSWORD).status,
        200,
        "4 + 4 failures never lock"
    );
}

#[test]
fn refresh_rotates_and_reuse_revokes_the_whole_family() {
    let h = harness();
    let view = account(&h, "ana@example.org");
    let (_, first) = session(&h, "ana@example.org");

    let rotated = with_cookie(&h, "refresh", Some(&first));
    assert_eq!(rotated.status, 200, "{}", rotated.body);
    assert_eq!(
        verify(rotated.body["accessToken"].as_str().unwrap()).sub,
        view["id"].as_str().unwrap()
    );
    let second = refresh_token(&rotated).unwrap();
    assert_ne!(second, first);
    assert_eq!(family_key(&second), family_key(&first), "same family");
    assert!(set_cookie(&rotated)
        .ends_with("; Secure; SameSite=Strict; Path=/api/auth; Max-Age=2592000"));

    // The rotated-away token comes back: theft. 401, cookie cleared, family revoked.
    let reuse = with_cookie(&h, "refresh", Some(&first));
    reuse.problem(401);
    assert_eq!(
        set_cookie(&reuse),
        "refresh=; HttpOnly; Secure; SameSite=Strict; Path=/api/auth; Max-Age=0"
    );
    assert_eq!(state(&h, &family_key(&first))["revoked"], true);
    // The newest token of the family fails too.
    with_cookie(&h, "refresh", Some(&second)).problem(401);
    // Another sign-in is a new family and works.
    let (_, fresh) = session(&h, "ana@example.org");
    assert_ne!(family_key(&fresh), family_key(&first));
    assert_eq!(with_cookie(&h, "refresh", Some(&fresh)).status, 200);
}

#[test]
fn a_concurrent_refresh_that_rotates_first_makes_the_other_reuse() {
    let h = harness();
    account(&h, "ana@example.org");
    let (_, token) = session(&h, "ana@example.org");
    let key = family_key(&token);
    let raced = key.clone();
    // Another refresh with the same token lands between our read and our write.
    h.dapr.race_next_save(move |state| {
        let mut family = state.get(STORE, &raced).unwrap();
        family["generation"] = json!(1);
        family["currentHash"] = json!("0".repeat(64));
        state.put(STORE, &raced, family);
    });
    let reply = with_cookie(&h, "refresh", Some(&token));
    reply.problem(401);
    assert_eq!(
        state(&h, &key)["revoked"],
        true,
        "re-read, then decided: reuse"
    );
}

#[test]
fn refresh_without_a_usable_cookie_is_401() {
    let h = harness();
    account(&h, "ana@example.org");
    let (_, token) = session(&h, "ana@example.org");
    with_cookie(&h, "refresh", None).problem(401);
    with_cookie(&h, "refresh", Some("not-a-token")).problem(401);
    let family = token.split('.').next().unwrap();
    let unknown = format!(
        "AAAAAAAAAAAAAAAAAAAAAA.0.{}",
        token.rsplit('.').next().unwrap()
    );
    with_cookie(&h, "refresh", Some(&unknown)).problem(401);
    let future = format!("{family}.7.{}", token.rsplit('.').next().unwrap());
    with_cookie(&h, "refresh", Some(&future)).problem(401);
    assert_eq!(
        state(&h, &family_key(&token))["revoked"],
        false,
        "not reuse"
    );
    // After 30 days the family is over.
    h.clock.advance(chrono::Duration::days(30));
    with_cookie(&h, "refresh", Some(&token)).problem(401);
}

#[test]
fn logout_revokes_the_family_and_clears_the_cookie() {
    let h = harness();
    account(&h, "ana@example.org");
    let (_, token) = session(&h, "ana@example.org");
    let out = with_cookie(&h, "logout", Some(&token));
    assert_eq!(out.status, 204, "{}", out.body);
    assert_eq!(
        set_cookie(&out),
        "refresh=; HttpOnly; Secure; SameSite=Strict; Path=/api/auth; Max-Age=0"
    );
    assert_eq!(state(&h, &family_key(&token))["revoked"], true);
    with_cookie(&h, "refresh", Some(&token)).problem(401);
    // Idempotent: again, with no cookie, with garbage.
    assert_eq!(with_cookie(&h, "logout", Some(&token)).status, 204);
    assert_eq!(with_cookie(&h, "logout", None).status, 204);
    assert_eq!(with_cookie(&h, "logout", Some("garbage")).status, 204);
}

#[test]
fn login_with_the_sidecar_down_is_503() {
    let h = harness();
    account(&h, "ana@example.org");
    h.dapr.set_down(true);
    let reply = login(&h, "ana@example.org", PASSWORD);
    reply.problem(503);
    assert!(reply.header("retry-after").is_some());
}
