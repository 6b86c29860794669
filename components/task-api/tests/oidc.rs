//! Tokens of an external OIDC issuer (`JWT_JWKS_URL`): RS256/ES256 against
//! the issuer's key set, fetched once and kept in state for its
//! `Cache-Control` lifetime, refetched for an unknown `kid` at most once a
//! minute; every forgery and stale token refused with 401.

mod support;

use chrono::Duration;
use fake_dapr::oidc::{self, Key, AUDIENCE, ISSUER};
use fake_dapr::{FakeDapr, WebAnswer};
use serde_json::{json, Value};
use support::*;
use task_api::context::Config;
use task_api::Ctx;
use todo_dapr::DaprClient;

const JWKS_URL: &str = "https://issuer.test/.well-known/jwks.json";
const CACHE_KEY: &str = "oidc-jwks/https%3A%2F%2Fissuer.test%2F.well-known%2Fjwks.json";

/// task-api's configuration trusting the fake issuer's key set.
fn trusting_the_issuer() -> Config {
    Config {
        state_store: STORE.into(),
        pubsub: "kafka-pubsub".into(),
        auth: todo_http::auth::AuthConfig {
            issuer: Some(ISSUER.into()),
            audience: Some(AUDIENCE.into()),
            jwks_url: Some(JWKS_URL.into()),
            state_store: STORE.into(),
            ..auth_config()
        },
        pause: Box::new(|_| Box::pin(async {})),
    }
}

struct Issuer {
    h: Harness,
    clock: Clock,
}

impl Issuer {
    /// task-api trusting the fake issuer, which publishes `keys` with
    /// `Cache-Control: cache_control`.
    fn start(keys: &[Key], cache_control: &str) -> Issuer {
        let dapr = sidecar();
        let clock = Clock::at(t0());
        let ctx = Ctx::new(client(&dapr), trusting_the_issuer(), clock.reader());
        let issuer = Issuer {
            h: Harness { dapr, ctx },
            clock,
        };
        issuer.publish(keys, cache_control);
        issuer
    }

    fn publish(&self, keys: &[Key], cache_control: &str) {
        self.h.dapr.serve_url(
            JWKS_URL,
            WebAnswer {
                status: 200,
                headers: vec![
                    ("content-type".into(), "application/json".into()),
                    ("cache-control".into(), cache_control.into()),
                ],
                body: oidc::jwks(keys).to_string().into_bytes(),
            },
        );
    }

    fn now(&self) -> i64 {
        self.clock.now().timestamp()
    }

    fn list_with(&self, token: &str) -> Reply {
        call("GET", "/api/tasks")
            .header("authorization", &format!("Bearer {token}"))
            .send(&self.h)
    }

    fn fetches(&self) -> usize {
        self.h.dapr.web_calls().len()
    }
}

fn refused(reply: &Reply, why: &str) {
    assert_eq!(reply.status, 401, "{why}: {}", reply.body);
    assert_eq!(
        reply.header("content-type"),
        Some("application/problem+json"),
        "{why}"
    );
}

#[test]
fn rs256_and_es256_tokens_of_the_issuer_are_accepted_and_the_key_set_is_fetched_once() {
    let issuer = Issuer::start(&[Key::RsaA, Key::Ec], "public, max-age=600");
    let now = issuer.now();
    for key in [Key::RsaA, Key::Ec] {
        let token = oidc::sign(key, &oidc::claims("alice", now));
        let reply = issuer.list_with(&token);
        assert_eq!(reply.status, 200, "{key:?}: {}", reply.body);
    }
    // A task created with an issuer's token belongs to its `sub`.
    let token = oidc::sign(Key::Ec, &oidc::claims("alice", now));
    let created = call("POST", "/api/tasks")
        .header("authorization", &format!("Bearer {token}"))
        .json(json!({"title": "from the issuer"}))
        .send(&issuer.h);
    assert_eq!(created.status, 201, "{}", created.body);
    let id = created.body["id"].as_str().unwrap();
    assert_eq!(
        call("GET", &format!("/api/tasks/{id}"))
            .user("alice")
            .send(&issuer.h)
            .status,
        401,
        "our own HS256 tokens are not trusted while an issuer is"
    );

    assert_eq!(issuer.fetches(), 1, "later requests use the kept key set");
    let kept = issuer
        .h
        .dapr
        .get(STORE, CACHE_KEY)
        .expect("the key set is kept");
    assert_eq!(kept.ttl_seconds, Some(600), "kept for max-age");
    assert_eq!(kept.value["jwks"], oidc::jwks(&[Key::RsaA, Key::Ec]));
    assert!(
        !issuer
            .h
            .dapr
            .calls()
            .iter()
            .any(|(_, path)| path.starts_with("/v1.0/secrets/todo-secrets/jwt-secret")),
        "the HS256 secret is not read"
    );
}

#[test]
fn forged_unsigned_stale_and_misaddressed_tokens_are_refused() {
    let issuer = Issuer::start(&[Key::RsaA, Key::Ec], "max-age=600");
    let now = issuer.now();
    let good = oidc::claims("alice", now);
    let with = |change: Value| {
        let mut claims = good.clone();
        for (name, value) in change.as_object().unwrap() {
            claims[name] = value.clone();
        }
        claims
    };

    for forged in oidc::hs256_with_public_key(Key::RsaA, &good) {
        refused(
            &issuer.list_with(&forged),
            "HS256 signed with the public key",
        );
    }
    refused(&issuer.list_with(&oidc::unsigned(&good)), "alg none");
    refused(
        &issuer.list_with(&oidc::sign(Key::RsaA, &with(json!({"exp": now - 31})))),
        "expired beyond the leeway",
    );
    refused(
        &issuer.list_with(&oidc::sign(Key::Ec, &with(json!({"nbf": now + 31})))),
        "not valid yet",
    );
    refused(
        &issuer.list_with(&oidc::sign(
            Key::RsaA,
            &with(json!({"iss": "https://other.test"})),
        )),
        "another issuer",
    );
    refused(
        &issuer.list_with(&oidc::sign(
            Key::RsaA,
            &with(json!({"aud": "someone-else"})),
        )),
        "another audience",
    );
    // The RSA key's signature under the EC key's kid (and the other way).
    let header = json!({"alg": "RS256", "kid": Key::Ec.kid()});
    refused(
        &issuer.list_with(&oidc::sign_with_header(Key::RsaA, &header, &good)),
        "RS256 under an EC kid",
    );
    let header = json!({"alg": "ES256", "kid": Key::RsaA.kid()});
    refused(
        &issuer.list_with(&oidc::sign_with_header(Key::Ec, &header, &good)),
        "ES256 under an RSA kid",
    );
    // A valid signature over other claims.
    let token = oidc::sign(Key::RsaA, &good);
    let other = oidc::sign(Key::RsaA, &with(json!({"sub": "mallory"})));
    let spliced = format!(
        "{}.{}",
        other.rsplit_once('.').unwrap().0,
        token.rsplit_once('.').unwrap().1
    );
    refused(&issuer.list_with(&spliced), "signature of other claims");
    // A key the issuer does not publish.
    refused(
        &issuer.list_with(&oidc::sign(Key::RsaB, &good)),
        "unpublished key",
    );
    // And the real thing still passes.
    assert_eq!(issuer.list_with(&token).status, 200);
}

#[test]
fn an_unknown_kid_refetches_the_key_set_at_most_once_a_minute() {
    let issuer = Issuer::start(&[Key::RsaA], "max-age=3600");
    let rotated = |issuer: &Issuer| oidc::sign(Key::RsaB, &oidc::claims("alice", issuer.now()));
    assert_eq!(
        issuer
            .list_with(&oidc::sign(Key::RsaA, &oidc::claims("alice", issuer.now())))
            .status,
        200
    );
    assert_eq!(issuer.fetches(), 1);

    // The issuer rotates to key B. Within a minute of the fetch, B's tokens
    // are refused without asking the issuer again…
    issuer.publish(&[Key::RsaA, Key::RsaB], "max-age=3600");
    issuer.clock.advance(Duration::seconds(30));
    for _ in 0..5 {
        refused(
            &issuer.list_with(&rotated(&issuer)),
            "kid unknown, refetched too recently",
        );
    }
    assert_eq!(issuer.fetches(), 1, "no refetch within the minute");

    // …a minute after it, the first one fetches the new set and passes.
    issuer.clock.advance(Duration::seconds(31));
    assert_eq!(issuer.list_with(&rotated(&issuer)).status, 200);
    assert_eq!(issuer.fetches(), 2);
    assert_eq!(issuer.list_with(&rotated(&issuer)).status, 200);
    assert_eq!(issuer.fetches(), 2, "the new set is kept");

    // Made-up kids cannot make the components hammer the issuer.
    let bogus = json!({"alg": "RS256", "kid": "made-up"});
    for _ in 0..5 {
        let token = oidc::sign_with_header(Key::RsaA, &bogus, &oidc::claims("alice", issuer.now()));
        refused(&issuer.list_with(&token), "made-up kid");
        issuer.clock.advance(Duration::seconds(5));
    }
    assert_eq!(
        issuer.fetches(),
        2,
        "none within a minute of the last fetch"
    );
    issuer.clock.advance(Duration::seconds(40));
    let token = oidc::sign_with_header(Key::RsaA, &bogus, &oidc::claims("alice", issuer.now()));
    refused(&issuer.list_with(&token), "made-up kid, a minute later");
    assert_eq!(issuer.fetches(), 3, "one refetch per minute");
}

#[test]
fn when_another_instance_claims_the_refetch_this_one_uses_what_it_keeps() {
    let issuer = Issuer::start(&[Key::RsaA], "max-age=3600");
    let token_a = oidc::sign(Key::RsaA, &oidc::claims("alice", issuer.now()));
    assert_eq!(issuer.list_with(&token_a).status, 200);
    issuer.clock.advance(Duration::seconds(90));

    // Between this instance's read and its claim, another instance fetched
    // the rotated set and kept it.
    let now = issuer.now();
    issuer.h.dapr.race_next_save(move |view| {
        view.put(
            STORE,
            CACHE_KEY,
            json!({
                "fetchedAt": now, "lifetimeSecs": 3600,
                "jwks": oidc::jwks(&[Key::RsaA, Key::RsaB]),
            }),
        )
    });
    let token_b = oidc::sign(Key::RsaB, &oidc::claims("alice", now));
    assert_eq!(issuer.list_with(&token_b).status, 200);
    assert_eq!(issuer.fetches(), 1, "the losing instance did not fetch");
}

#[test]
fn the_key_set_is_kept_for_its_cache_control_lifetime_within_bounds() {
    for (cache_control, kept_secs) in [
        ("max-age=120", 120),
        ("public, s-maxage=300, max-age=30", 300),
        ("no-store", 60),
        ("max-age=604800", 86_400),
        ("", 300),
    ] {
        let issuer = Issuer::start(&[Key::Ec], cache_control);
        let list = |issuer: &Issuer| {
            let token = oidc::sign(Key::Ec, &oidc::claims("alice", issuer.now()));
            assert_eq!(issuer.list_with(&token).status, 200, "{cache_control}");
        };
        list(&issuer);
        let kept = issuer.h.dapr.get(STORE, CACHE_KEY).unwrap();
        assert_eq!(kept.ttl_seconds, Some(kept_secs), "{cache_control}");
        issuer
            .clock
            .advance(Duration::seconds(kept_secs as i64 - 1));
        list(&issuer);
        assert_eq!(issuer.fetches(), 1, "{cache_control}: still fresh");
        issuer.clock.advance(Duration::seconds(1));
        list(&issuer);
        assert_eq!(
            issuer.fetches(),
            2,
            "{cache_control}: expired, fetched again"
        );
    }
}

#[test]
fn an_unreachable_issuer_is_a_503_and_an_incomplete_configuration_a_500() {
    let issuer = Issuer::start(&[Key::Ec], "max-age=600");
    let token = oidc::sign(Key::Ec, &oidc::claims("alice", issuer.now()));
    for status in [500, 404] {
        issuer.h.dapr.serve_url(
            JWKS_URL,
            WebAnswer {
                status,
                headers: vec![],
                body: b"nope".to_vec(),
            },
        );
        let reply = issuer.list_with(&token);
        reply.problem(503);
        assert!(reply.header("retry-after").is_some());
    }
    issuer.h.dapr.serve_url(
        JWKS_URL,
        WebAnswer {
            status: 200,
            headers: vec![],
            body: b"<html>".to_vec(),
        },
    );
    issuer.list_with(&token).problem(503);

    // No issuer/audience to insist on: refuse to guess.
    let dapr = sidecar();
    let config = Config {
        state_store: STORE.into(),
        pubsub: "kafka-pubsub".into(),
        auth: todo_http::auth::AuthConfig {
            jwks_url: Some(JWKS_URL.into()),
            ..auth_config()
        },
        pause: Box::new(|_| Box::pin(async {})),
    };
    let h = Harness {
        dapr: dapr.clone(),
        ctx: Ctx::new(client(&dapr), config, fixed_clock()),
    };
    let reply = call("GET", "/api/tasks")
        .header("authorization", &format!("Bearer {token}"))
        .send(&h);
    assert!(reply.problem(500)["detail"]
        .as_str()
        .unwrap()
        .contains("JWT_ISSUER"));
}

#[test]
fn the_sidecar_api_token_is_never_sent_to_the_issuer() {
    let dapr: FakeDapr = sidecar();
    dapr.require_api_token("sidecar-secret");
    let ctx = Ctx::new(
        DaprClient::new(dapr.clone(), Some("sidecar-secret".into())),
        trusting_the_issuer(),
        fixed_clock(),
    );
    let h = Harness { dapr, ctx };
    let issuer = Issuer {
        h,
        clock: Clock::at(t0()),
    };
    issuer.publish(&[Key::Ec], "max-age=600");
    let token = oidc::sign(Key::Ec, &oidc::claims("alice", t0().timestamp()));
    assert_eq!(issuer.list_with(&token).status, 200);
    let calls = issuer.h.dapr.web_calls();
    assert_eq!(calls.len(), 1);
    assert!(calls[0].headers.get("dapr-api-token").is_none());
    assert!(calls[0].headers.get("authorization").is_none());
}
