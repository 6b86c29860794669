//! Every status a public route answers is one its operation in
//! `openapi.json` documents (issue 14).
//!
//! For every operation of the document (`/api/...`, each method) this drives
//! the real handler of the component that serves it (task-api, audit,
//! notify, recurrence, sync-relay, identity — chosen by their `ROUTES`
//! tables) over the fake sidecar with a battery of requests: no or bad
//! tokens, a well-formed request, unknown / malformed / someone else's ids,
//! every documented query, header and cookie parameter with bad values,
//! malformed, mistyped and wrongly labelled bodies, a body over 64 KiB, a
//! sidecar or a state store that is down, and what the routes plainly can
//! answer besides (Idempotency-Key replays, If-Match mismatches, invalid
//! settings, a taken address, wrong passwords, a locked sign-in, a reused
//! refresh token, …). Each probe runs against a fresh world holding a few
//! fixtures (one task, audit history, a notification, a change in the feed,
//! alice's account signed in with a locked account and a locked client
//! beside it). Operations the document marks `security: []` are expected
//! to answer without a bearer token.
//!
//! Every answer must be
//! - a status listed under the operation's `responses` (directly or through
//!   a `$ref` into `components/responses`), with a content type that
//!   response lists (no body where it lists none);
//! - for a problem (≥ 400): `application/problem+json` whose `status` is the
//!   answer's and whose `type` is not `about:blank` (see
//!   [`ABOUT_BLANK_ALLOWED`] for the exceptions);
//! - and what the probe is there for (a well-formed request is 2xx, a
//!   missing token 401, a sidecar outage 503, …), so the battery cannot pass
//!   by never reaching the handler.
//!
//! 405 is documented globally rather than per operation: any method a path
//! does not serve answers 405 with `Allow` listing the methods the document
//! has for that path, which [`undocumented_methods_answer_405_with_allow`]
//! checks (the router answers it before any handler runs, and OpenAPI has no
//! way to say "every other method"; the document's `info.description` says
//! so).

use std::collections::{BTreeMap, BTreeSet};

use fake_dapr::harness::*;
use fake_dapr::FakeDapr;
use serde_json::{json, Value};
use todo_core::events::{events_for_change, TaskChange};
use todo_core::task::validate::{parse_task_input, validate};
use todo_core::task::Task;
use todo_dapr::{Transport, TransportError};
use uuid::Uuid;

const ALICE: &str = "alice";
const BOB: &str = "bob";

/// Problems whose `type` may be `about:blank` (RFC 9457 §4.2.1: "the status
/// says it all", title = the status phrase): todo-core's
/// `Problem::not_found` (an unknown route or an id that names nothing of
/// the caller's) and `Problem::method_not_allowed`. Every other problem has
/// a type of its own.
const ABOUT_BLANK_ALLOWED: &[(u16, &str)] = &[(404, "Not Found"), (405, "Method Not Allowed")];

/// The audit fixture's task (alice's).
const AUDITED_TASK: &str = "0193b2c4-3333-7000-8000-000000000001";
/// A well-formed id nothing has.
const UNKNOWN_ID: &str = "0193b2c4-dead-7000-8000-00000000beef";

/// identity's fixtures: alice's account (signed in), bob's (locked after 5
/// failed sign-ins from 5 clients), both with [`PASSWORD`], and a client
/// locked after 5 failed sign-ins on addresses without an account.
const ALICE_EMAIL: &str = "alice@example.com";
const BOB_EMAIL: &str = "bob@example.com";
const PASSWORD: &str = "tangerine-sky-42";
const LOCKED_CLIENT: &str = "198.51.100.99:4000";
/// A refresh token of the right shape whose sign-in does not exist.
const UNKNOWN_REFRESH: &str =
    "AAAAAAAAAAAAAAAAAAAAAA.0.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";

// ---------------------------------------------------------------------------
// The document

/// One operation of the document.
struct Operation {
    method: String,
    path: String,
    operation_id: String,
    /// Status → the response object (`$ref` resolved).
    responses: BTreeMap<u16, Value>,
    /// Whether it takes the bearer token (its `security`, or the document's).
    bearer: bool,
    /// Declared query, header and cookie parameters (`$ref` resolved).
    query: Vec<String>,
    headers: Vec<String>,
    cookies: Vec<String>,
    /// Media types of the request body, when it takes one.
    body_types: Vec<String>,
}

impl Operation {
    fn at(&self) -> String {
        format!("{} ({} {})", self.operation_id, self.method, self.path)
    }

    fn documented(&self) -> String {
        let statuses: Vec<String> = self.responses.keys().map(u16::to_string).collect();
        statuses.join(", ")
    }

    fn component(&self) -> Component {
        Component::serving(&self.method, &self.path).unwrap_or_else(|| {
            panic!(
                "{}: no component serves it (openapi.rs checks the tables)",
                self.at()
            )
        })
    }
}

fn document() -> Value {
    serde_json::from_str(task_api::openapi::DOCUMENT).expect("openapi.json is JSON")
}

fn resolve<'a>(doc: &'a Value, value: &'a Value) -> &'a Value {
    match value.get("$ref").and_then(Value::as_str) {
        Some(reference) => doc
            .pointer(reference.trim_start_matches('#'))
            .unwrap_or_else(|| panic!("dangling $ref {reference}")),
        None => value,
    }
}

fn operations(doc: &Value) -> Vec<Operation> {
    let mut out = Vec::new();
    for (path, item) in doc["paths"].as_object().expect("paths") {
        for (method, op) in item.as_object().expect("a path item") {
            let at = format!("{} {path}", method.to_uppercase());
            let responses = op["responses"]
                .as_object()
                .unwrap_or_else(|| panic!("{at}: no responses"))
                .iter()
                .map(|(code, response)| {
                    let status = code.parse().unwrap_or_else(|_| {
                        panic!("{at}: response {code:?} is not a status; list statuses one by one")
                    });
                    (status, resolve(doc, response).clone())
                })
                .collect();
            let parameters: Vec<&Value> = op["parameters"]
                .as_array()
                .map(Vec::as_slice)
                .unwrap_or(&[])
                .iter()
                .map(|p| resolve(doc, p))
                .collect();
            let named = |place: &str| -> Vec<String> {
                parameters
                    .iter()
                    .filter(|p| p["in"] == place)
                    .map(|p| p["name"].as_str().unwrap().to_string())
                    .collect()
            };
            let bearer = op
                .get("security")
                .unwrap_or(&doc["security"])
                .as_array()
                .is_some_and(|reqs| reqs.iter().any(|req| req.get("bearer").is_some()));
            let body_types = op["requestBody"]["content"]
                .as_object()
                .map(|c| c.keys().cloned().collect())
                .unwrap_or_default();
            out.push(Operation {
                method: method.to_uppercase(),
                path: path.clone(),
                operation_id: op["operationId"].as_str().unwrap_or_default().to_string(),
                responses,
                bearer,
                query: named("query"),
                headers: named("header"),
                cookies: named("cookie"),
                body_types,
            });
        }
    }
    out
}

// ---------------------------------------------------------------------------
// The components, each built the way its tests/support/mod.rs builds it

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Component {
    TaskApi,
    Audit,
    Notify,
    Recurrence,
    SyncRelay,
    Identity,
}

impl Component {
    /// The component whose route table has `method path`.
    fn serving(method: &str, path: &str) -> Option<Component> {
        fn has<E>(routes: &[todo_http::router::Route<E>], method: &str, path: &str) -> bool {
            routes.iter().any(|(m, p, _)| *m == method && *p == path)
        }
        [
            (has(task_api::ROUTES, method, path), Component::TaskApi),
            (has(audit::ROUTES, method, path), Component::Audit),
            (has(notify::ROUTES, method, path), Component::Notify),
            (has(recurrence::ROUTES, method, path), Component::Recurrence),
            (has(sync_relay::ROUTES, method, path), Component::SyncRelay),
            (has(identity::ROUTES, method, path), Component::Identity),
        ]
        .into_iter()
        .find_map(|(found, c)| found.then_some(c))
    }
}

/// notify's webhook client: never reached by the public routes.
#[derive(Clone, Default)]
struct NoWeb;

impl Transport for NoWeb {
    async fn send(
        &self,
        _request: http::Request<Vec<u8>>,
    ) -> Result<http::Response<Vec<u8>>, TransportError> {
        Err(TransportError("no webhooks in this test".into()))
    }
}

enum Server {
    TaskApi(task_api::Ctx<FakeDapr>),
    Audit(audit::Ctx<FakeDapr>),
    Notify(notify::Ctx<FakeDapr, NoWeb>),
    Recurrence(recurrence::Ctx<FakeDapr>),
    SyncRelay(sync_relay::Ctx<FakeDapr>),
    Identity(identity::Ctx<FakeDapr>),
}

/// A pause that moves `clock` (notify's retries, sync-relay's long-poll).
fn moving(clock: &Clock) -> todo_http::context::Pause {
    let clock = clock.clone();
    Box::new(move |d| {
        clock.advance(chrono::Duration::from_std(d).unwrap());
        Box::pin(async {})
    })
}

/// SplitMix64 from a seed: deterministic, distinct bytes on every call
/// (identity's randomness, as in its tests).
fn seeded(seed: u64) -> identity::context::Random {
    let state = std::cell::Cell::new(seed);
    Box::new(move |buf: &mut [u8]| {
        for chunk in buf.chunks_mut(8) {
            let mut z = state.get().wrapping_add(0x9E37_79B9_7F4A_7C15);
            state.set(z);
            z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
            z ^= z >> 31;
            chunk.copy_from_slice(&z.to_le_bytes()[..chunk.len()]);
        }
    })
}

/// One component over a fresh fake sidecar, with alice's fixtures.
struct World {
    dapr: FakeDapr,
    clock: Clock,
    server: Server,
    /// What `{id}` stands for on this component's paths (alice's task, her
    /// notification; on identity her account's id).
    id: String,
    /// The `ETag` of alice's task (task-api).
    etag: String,
    /// Whom `{token}`, alice's access token, names: `alice`, or on identity
    /// her account's id.
    user: String,
    /// `{refresh}`: alice's refresh token (identity).
    refresh: String,
}

impl Handler for World {
    fn handle(&self, request: http::Request<Vec<u8>>) -> http::Response<Vec<u8>> {
        use futures::executor::block_on;
        match &self.server {
            Server::TaskApi(ctx) => block_on(task_api::handle(ctx, request)),
            Server::Audit(ctx) => block_on(audit::handle(ctx, request)),
            Server::Notify(ctx) => block_on(notify::handle(ctx, request)),
            Server::Recurrence(ctx) => block_on(recurrence::handle(ctx, request)),
            Server::SyncRelay(ctx) => match block_on(sync_relay::handle(ctx, request)) {
                sync_relay::Answer::Full(response) => response,
                // Opened: what the edge answers before it runs the stream.
                sync_relay::Answer::Stream(_) => sync_relay::stream::head(),
            },
            Server::Identity(ctx) => block_on(identity::handle(ctx, request)),
        }
    }
}

impl World {
    fn new(component: Component) -> World {
        let dapr = sidecar();
        let clock = Clock::default();
        let server = match component {
            Component::TaskApi => Server::TaskApi(task_api::Ctx::new(
                client(&dapr),
                task_api::context::Config {
                    state_store: STORE.into(),
                    pubsub: "kafka-pubsub".into(),
                    auth: auth_config(),
                    pause: Box::new(|_| Box::pin(async {})),
                },
                clock.reader(),
            )),
            Component::Audit => Server::Audit(audit::Ctx::new(
                client(&dapr),
                audit::context::Config {
                    state_store: STORE.into(),
                    auth: auth_config(),
                },
                clock.reader(),
            )),
            Component::Notify => Server::Notify(notify::Ctx::new(
                client(&dapr),
                notify::context::Config {
                    state_store: STORE.into(),
                    pubsub: "kafka-pubsub".into(),
                    email_binding: "email".into(),
                    webhooks: todo_core::notify::settings::WebhookPolicy {
                        allow_http_loopback: true,
                        blocked_loopback_ports: vec![3500],
                    },
                    auth: auth_config(),
                    web: NoWeb,
                    pause: moving(&clock),
                },
                clock.reader(),
            )),
            Component::Recurrence => Server::Recurrence(recurrence::Ctx::new(
                client(&dapr),
                recurrence::context::Config {
                    task_api: "task-api".into(),
                    auth: auth_config(),
                },
                clock.reader(),
            )),
            Component::SyncRelay => Server::SyncRelay(sync_relay::Ctx::new(
                client(&dapr),
                sync_relay::context::Config {
                    state_store: STORE.into(),
                    stream_lifetime: std::time::Duration::from_secs(60),
                    auth: auth_config(),
                    pause: moving(&clock),
                },
                clock.reader(),
            )),
            Component::Identity => Server::Identity(identity::Ctx::new(
                client(&dapr),
                identity::context::Config {
                    state_store: STORE.into(),
                    pubsub: "kafka-pubsub".into(),
                    auth: auth_config(),
                    // argon2's minimum memory (8 KiB per lane): a hash costs
                    // microseconds, not OWASP's 19 MiB.
                    password: todo_core::identity::PasswordParams {
                        memory_kib: 64,
                        iterations: 1,
                        parallelism: 1,
                    },
                    lockout: todo_core::identity::LockoutPolicy::default(),
                    random: seeded(42),
                },
                clock.reader(),
            )),
        };
        let mut world = World {
            dapr,
            clock,
            server,
            id: String::new(),
            etag: String::new(),
            user: ALICE.to_string(),
            refresh: String::new(),
        };
        world.arrange(component);
        world
    }

    /// alice's fixtures.
    fn arrange(&mut self, component: Component) {
        match component {
            Component::TaskApi => {
                let kept = self.create("k-kept", json!({ "title": "Kept" }));
                self.id = kept.body["id"].as_str().unwrap().to_string();
                self.etag = kept.header("etag").unwrap().to_string();
                let gone = self.create("k-gone", json!({ "title": "Gone" }));
                let path = format!("/api/tasks/{}", gone.body["id"].as_str().unwrap());
                let deleted = call("DELETE", &path).user(ALICE).send(self);
                assert_eq!(deleted.status, 204, "fixture: {}", deleted.body);
            }
            Component::Audit => {
                self.id = AUDITED_TASK.to_string();
                let fields = validate(
                    parse_task_input(json!({ "title": "Audited" }).to_string().as_bytes()).unwrap(),
                )
                .unwrap();
                let task = Task::create(Uuid::parse_str(AUDITED_TASK).unwrap(), fields, t0());
                let mut ids = || Uuid::from_u128(0xa0d17);
                let events = events_for_change(
                    TaskChange::Created,
                    ALICE,
                    None,
                    Some(&task),
                    t0(),
                    &mut ids,
                );
                let mut event = events[0].event.clone();
                event["topic"] = json!("task-events");
                event["pubsubname"] = json!("kafka-pubsub");
                let reply = cloud_event("/events/audit/task-events", event.to_string().as_bytes())
                    .send(self);
                assert_eq!(reply.dapr_status(), "SUCCESS", "fixture: {}", reply.body);
            }
            Component::Notify => {
                let task = "0193b2c4-2222-7000-8000-000000000001";
                let remind_at = self.clock.now() + chrono::Duration::minutes(1);
                let at = |t: chrono::DateTime<chrono::Utc>| {
                    t.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true)
                };
                let data = json!({
                    "userId": ALICE,
                    "taskId": task,
                    "title": "Pay rent",
                    "dueAt": at(remind_at + chrono::Duration::minutes(30)),
                    "remindAt": at(remind_at),
                    "channels": ["inbox"],
                    "version": 1,
                });
                let envelope = json!({
                    "specversion": "1.0",
                    "id": "ev-fixture",
                    "source": "task-api",
                    "type": "todo.reminder.scheduled.v1",
                    "time": t0().to_rfc3339(),
                    "datacontenttype": "application/json",
                    "data": data,
                    "topic": "reminders",
                    "pubsubname": "kafka-pubsub",
                });
                let scheduled =
                    cloud_event("/events/notify/reminders", envelope.to_string().as_bytes())
                        .send(self);
                assert_eq!(scheduled.dapr_status(), "SUCCESS", "{}", scheduled.body);
                self.clock.advance(chrono::Duration::minutes(1));
                let fired = call("POST", &format!("/job/reminder-{task}"))
                    .app_token()
                    .json(data)
                    .send(self);
                assert_eq!(fired.dapr_status(), "SUCCESS", "fixture: {}", fired.body);
                let inbox = call("GET", "/api/notifications").user(ALICE).send(self);
                self.id = inbox.body["items"][0]["id"]
                    .as_str()
                    .unwrap_or_else(|| panic!("fixture: no notification: {}", inbox.body))
                    .to_string();
            }
            Component::Recurrence => {}
            Component::SyncRelay => {
                let change = json!({
                    "specversion": "1.0",
                    "id": "change-1",
                    "source": "task-api",
                    "type": "todo.sync.task-changed.v1",
                    "time": "2026-11-27T10:00:00Z",
                    "datacontenttype": "application/json",
                    "data": {
                        "userId": ALICE,
                        "taskId": "0193b2c4-1111-7000-8000-000000000001",
                        "version": 2,
                        "change": "deleted",
                        "task": null
                    },
                    "topic": "task-updates",
                    "pubsubname": "kafka-pubsub"
                });
                let reply = cloud_event(
                    "/events/sync-relay/task-updates",
                    change.to_string().as_bytes(),
                )
                .send(self);
                assert_eq!(reply.dapr_status(), "SUCCESS", "fixture: {}", reply.body);
            }
            Component::Identity => {
                self.id = self.sign_up(ALICE_EMAIL)["id"]
                    .as_str()
                    .unwrap()
                    .to_string();
                self.user = self.id.clone();
                let login = self.log_in(ALICE_EMAIL, PASSWORD, None);
                assert_eq!(login.status, 200, "fixture: {}", login.body);
                self.refresh = login
                    .header("set-cookie")
                    .and_then(|c| c.split(';').next()?.strip_prefix("refresh="))
                    .unwrap_or_else(|| panic!("fixture: no refresh cookie: {:?}", login.headers))
                    .to_string();
                // bob: 5 failures from 5 clients lock his address only.
                self.sign_up(BOB_EMAIL);
                for n in 0..5 {
                    let client = format!("192.0.2.{n}:4000");
                    let failed = self.log_in(BOB_EMAIL, "wrong-password-0", Some(&client));
                    assert_eq!(failed.status, 401, "fixture: {}", failed.body);
                }
                // LOCKED_CLIENT: 5 failures on 5 addresses lock the client only.
                for n in 0..5 {
                    let email = format!("nobody{n}@example.com");
                    let failed = self.log_in(&email, PASSWORD, Some(LOCKED_CLIENT));
                    assert_eq!(failed.status, 401, "fixture: {}", failed.body);
                }
            }
        }
    }

    /// Signs `email` up with [`PASSWORD`] (identity); returns the account.
    fn sign_up(&self, email: &str) -> Value {
        let reply = call("POST", "/api/auth/signup")
            .json(json!({ "email": email, "password": PASSWORD, "name": "Fixture" }))
            .send(self);
        assert_eq!(reply.status, 201, "fixture: {}", reply.body);
        reply.body
    }

    /// A sign-in (identity), from `client` (`spin-client-addr`) if given.
    fn log_in(&self, email: &str, password: &str, client: Option<&str>) -> Reply {
        let mut request = call("POST", "/api/auth/login");
        if let Some(client) = client {
            request = request.header("spin-client-addr", client);
        }
        request
            .json(json!({ "email": email, "password": password }))
            .send(self)
    }

    fn create(&self, key: &str, body: Value) -> Reply {
        let reply = call("POST", "/api/tasks")
            .user(ALICE)
            .header("idempotency-key", key)
            .json(body)
            .send(self);
        assert_eq!(reply.status, 201, "fixture: {}", reply.body);
        reply
    }
}

// ---------------------------------------------------------------------------
// Probes

/// What is broken while a probe is answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Fault {
    None,
    SidecarDown,
    StateStoreDown,
    PublishesFail,
    /// Another writer changes alice's task between the handler's read and
    /// its commit (once).
    RacingWriter,
}

/// What a probe is there to provoke (checked besides "documented").
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Expect {
    Any,
    Success,
    OneOf(&'static [u16]),
}

/// One request of the battery. `{id}`, `{etag}`, `{token}` and `{refresh}`
/// in the URI and header values stand for the world's fixture id, task
/// ETag, alice's access token and her refresh token.
#[derive(Clone)]
struct Probe {
    what: String,
    method: String,
    uri: String,
    headers: Vec<(String, Vec<u8>)>,
    body: Vec<u8>,
    fault: Fault,
    expect: Expect,
    /// The problem `type` the answer must carry.
    problem_type: Option<&'static str>,
    /// Sent twice; the second answer is checked.
    twice: bool,
}

impl Probe {
    /// The operation's well-formed request as alice.
    fn new(op: &Operation, what: &str) -> Probe {
        let uri = match base_query(op) {
            "" => op.path.clone(),
            query => format!("{}?{query}", op.path),
        };
        let mut probe = Probe {
            what: what.to_string(),
            method: op.method.clone(),
            uri,
            headers: Vec::new(),
            body: Vec::new(),
            fault: Fault::None,
            expect: Expect::Any,
            problem_type: None,
            twice: false,
        };
        probe = probe.header("authorization", "Bearer {token}");
        if let Some(cookie) = valid_cookie(op) {
            probe = probe.header("cookie", &cookie);
        }
        if let Some(body) = valid_body(op) {
            probe = probe.json(&body);
        }
        probe
    }

    fn header(self, name: &str, value: &str) -> Probe {
        self.header_bytes(name, value.as_bytes())
    }

    /// Sets (replaces) a header.
    fn header_bytes(mut self, name: &str, value: &[u8]) -> Probe {
        self.headers.retain(|(n, _)| n != name);
        self.headers.push((name.to_string(), value.to_vec()));
        self
    }

    fn without(mut self, name: &str) -> Probe {
        self.headers.retain(|(n, _)| n != name);
        self
    }

    fn json(self, body: &Value) -> Probe {
        self.body("application/json", body.to_string().as_bytes())
    }

    fn body(mut self, content_type: &str, body: &[u8]) -> Probe {
        self.body = body.to_vec();
        self.header("content-type", content_type)
    }

    fn uri(mut self, uri: String) -> Probe {
        self.uri = uri;
        self
    }

    fn fault(mut self, fault: Fault) -> Probe {
        self.fault = fault;
        self
    }

    fn expect(mut self, expect: Expect) -> Probe {
        self.expect = expect;
        self
    }

    fn twice(mut self) -> Probe {
        self.twice = true;
        self
    }

    fn problem_type(mut self, kind: &'static str) -> Probe {
        self.problem_type = Some(kind);
        self
    }

    fn fill(text: &str, world: &World) -> String {
        text.replace("{id}", &world.id)
            .replace("{etag}", &world.etag)
            .replace("{token}", &token(&world.user))
            .replace("{refresh}", &world.refresh)
    }

    fn request(&self, world: &World) -> http::Request<Vec<u8>> {
        let mut builder = http::Request::builder()
            .method(self.method.as_str())
            .uri(Probe::fill(&self.uri, world));
        for (name, value) in &self.headers {
            let value = match std::str::from_utf8(value) {
                Ok(text) => Probe::fill(text, world).into_bytes(),
                Err(_) => value.clone(),
            };
            builder = builder.header(
                name.as_str(),
                http::HeaderValue::from_bytes(&value).expect("a valid header value"),
            );
        }
        builder.body(self.body.clone()).expect("a valid request")
    }

    /// The request as sent, for a failure message.
    fn describe(&self, world: &World) -> String {
        let shorten = |text: String| {
            if text.chars().count() > 60 {
                let head: String = text.chars().take(57).collect();
                format!("{head}… ({} bytes)", text.len())
            } else {
                text
            }
        };
        let mut out = format!(
            "[{}] {} {}",
            self.what,
            self.method,
            shorten(Probe::fill(&self.uri, world))
        );
        for (name, value) in &self.headers {
            let value = Probe::fill(&String::from_utf8_lossy(value), world);
            let value = if value.starts_with("Bearer ey") {
                "Bearer <a valid token>".to_string()
            } else {
                shorten(value)
            };
            out.push_str(&format!("; {name}: {value}"));
        }
        if !self.body.is_empty() {
            out.push_str(&format!(
                "; body {}",
                shorten(String::from_utf8_lossy(&self.body).into_owned())
            ));
        }
        if self.twice {
            out.push_str("; sent twice");
        }
        if self.fault != Fault::None {
            out.push_str(&format!("; with {:?}", self.fault));
        }
        out
    }
}

/// The query a well-formed request of `op` needs.
fn base_query(op: &Operation) -> &'static str {
    match op.operation_id.as_str() {
        "previewRecurrence" => "rrule=FREQ%3DDAILY%3BCOUNT%3D3&dtstart=2026-12-01T09%3A00%3A00Z",
        "pollChanges" => "wait=0",
        _ => "",
    }
}

/// The body of a well-formed request of `op` (when it takes one).
fn valid_body(op: &Operation) -> Option<Value> {
    if op.body_types.is_empty() {
        return None;
    }
    Some(match op.operation_id.as_str() {
        "createTask" => json!({ "title": "Buy milk", "priority": "high", "tags": ["home"] }),
        "patchTask" => json!({ "title": "Buy oat milk" }),
        "putNotificationSettings" => json!({ "email": "alice@example.com" }),
        "signUp" => json!({
            "email": "carol@example.com",
            "password": "correct-horse-battery",
            "name": "Carol"
        }),
        "logIn" => json!({ "email": ALICE_EMAIL, "password": PASSWORD }),
        other => panic!("{other}: no well-formed body known; add one to valid_body"),
    })
}

/// The `Cookie` header of a well-formed request of `op` (when it declares
/// cookie parameters).
fn valid_cookie(op: &Operation) -> Option<String> {
    if op.cookies.is_empty() {
        return None;
    }
    let pairs: Vec<&str> = op
        .cookies
        .iter()
        .map(|name| match name.as_str() {
            "refresh" => "refresh={refresh}",
            other => panic!("cookie {other}: no well-formed value known; add one to valid_cookie"),
        })
        .collect();
    Some(pairs.join("; "))
}

/// A body just over the 64 KiB limit.
fn oversized() -> Vec<u8> {
    let limit = todo_http::body::MAX_BODY_BYTES;
    json!({ "title": "x".repeat(limit) })
        .to_string()
        .into_bytes()
}

/// The battery for `op`.
fn battery(op: &Operation) -> Vec<Probe> {
    // Every operation but this document's needs the sidecar: for the token's
    // key, or (identity's, which take no token) for the state store.
    let uses_sidecar = op.operation_id != "openapi";
    let reads_state = uses_sidecar && op.operation_id != "previewRecurrence";
    let guarded = |status: u16| {
        if op.bearer {
            Expect::OneOf(match status {
                401 => &[401],
                503 => &[503],
                _ => unreachable!(),
            })
        } else if status == 503 && uses_sidecar {
            Expect::OneOf(&[503])
        } else {
            Expect::Success
        }
    };
    let mut probes = vec![
        Probe::new(op, "well-formed").expect(Expect::Success),
        Probe::new(op, "no Authorization")
            .without("authorization")
            .expect(guarded(401)),
        Probe::new(op, "not a bearer token")
            .header("authorization", "Basic YWxpY2U6cHc=")
            .expect(guarded(401)),
        Probe::new(op, "malformed token")
            .header("authorization", "Bearer not.a.jwt")
            .expect(guarded(401)),
        Probe::new(op, "token signed with another key")
            .header(
                "authorization",
                &format!(
                    "Bearer {}",
                    token_with(
                        ALICE,
                        t0().timestamp() + 3600,
                        "another-secret-another-secret!!"
                    )
                ),
            )
            .expect(guarded(401)),
        Probe::new(op, "expired token")
            .header(
                "authorization",
                &format!(
                    "Bearer {}",
                    token_with(ALICE, t0().timestamp() - 3600, SECRET)
                ),
            )
            .expect(guarded(401)),
        Probe::new(op, "token in ?access_token= instead of the header")
            .without("authorization")
            .uri(with_query(
                &Probe::new(op, "").uri,
                &format!("access_token={}", token(ALICE)),
            )),
        Probe::new(op, "sidecar down")
            .fault(Fault::SidecarDown)
            .expect(guarded(503)),
        Probe::new(op, "no token, sidecar down")
            .without("authorization")
            .fault(Fault::SidecarDown)
            .expect(if op.bearer {
                guarded(401)
            } else {
                guarded(503)
            }),
        Probe::new(op, "state store down")
            .fault(Fault::StateStoreDown)
            .expect(if reads_state {
                Expect::OneOf(&[503])
            } else {
                Expect::Success
            }),
        Probe::new(op, "publishes fail").fault(Fault::PublishesFail),
        Probe::new(op, "a racing writer").fault(Fault::RacingWriter),
        Probe::new(op, "body over 64 KiB")
            .body("application/json", &oversized())
            .expect(Expect::OneOf(&[413])),
        Probe::new(op, "unknown query parameter")
            .uri(with_query(&Probe::new(op, "").uri, "bogus=1")),
    ];
    probes.extend(id_probes(op));
    probes.extend(query_probes(op));
    probes.extend(header_probes(op));
    probes.extend(cookie_probes(op));
    probes.extend(body_probes(op));
    probes.extend(specific_probes(op));
    probes
}

/// `uri` with one more query pair.
fn with_query(uri: &str, pair: &str) -> String {
    if uri.contains('?') {
        format!("{uri}&{pair}")
    } else {
        format!("{uri}?{pair}")
    }
}

/// `uri` with query parameter `name` set to `raw` (already encoded) instead
/// of whatever it had.
fn with_param(uri: &str, name: &str, raw: &str) -> String {
    let (path, query) = uri.split_once('?').unwrap_or((uri, ""));
    let mut pairs: Vec<String> = query
        .split('&')
        .filter(|p| !p.is_empty() && p.split('=').next() != Some(name))
        .map(str::to_string)
        .collect();
    pairs.push(format!("{name}={raw}"));
    format!("{path}?{}", pairs.join("&"))
}

fn id_probes(op: &Operation) -> Vec<Probe> {
    if !op.path.contains("{id}") {
        return Vec::new();
    }
    let base = Probe::new(op, "");
    let with_id = |id: &str| base.uri.replace("{id}", id);
    vec![
        Probe::new(op, "unknown id")
            .uri(with_id(UNKNOWN_ID))
            .expect(Expect::OneOf(&[404])),
        Probe::new(op, "malformed id")
            .uri(with_id("not-a-uuid"))
            .expect(Expect::OneOf(&[404])),
        Probe::new(op, "a 300-character id").uri(with_id(&"7".repeat(300))),
        Probe::new(op, "another user's id")
            .header("authorization", &bearer(BOB))
            .expect(Expect::OneOf(&[404])),
        Probe::new(op, "unknown id, sidecar down")
            .uri(with_id(UNKNOWN_ID))
            .fault(Fault::SidecarDown),
    ]
}

/// Every declared query parameter with values it should refuse (or take).
fn query_probes(op: &Operation) -> Vec<Probe> {
    const VALUES: &[&str] = &[
        "",
        "abc",
        "0",
        "-1",
        "1.5",
        "99999999999999999999999",
        "2026-02-30T25:00:00Z",
        "true",
        "%ZZ",
        "%E2%9C%93",
    ];
    let mut probes = Vec::new();
    for name in &op.query {
        let base = Probe::new(op, "").uri;
        for value in VALUES {
            probes.push(
                Probe::new(op, &format!("query {name}={value}"))
                    .uri(with_param(&base, name, value)),
            );
        }
        probes.push(
            Probe::new(op, &format!("query {name} twice")).uri(with_query(
                &with_param(&base, name, "1"),
                &format!("{name}=2"),
            )),
        );
    }
    probes
}

/// Every declared header parameter with values it should refuse (or take).
fn header_probes(op: &Operation) -> Vec<Probe> {
    const VALUES: &[&[u8]] = &[
        b"",
        b"abc",
        b"*",
        b"\"999\"",
        b"W/\"1\"",
        b"{etag}",
        b"{etag}, \"999\"",
        b"0",
        b"-1",
        b"\xff\xfe",
    ];
    let mut probes = Vec::new();
    for name in &op.headers {
        for value in VALUES {
            probes.push(
                Probe::new(
                    op,
                    &format!("header {name}: {}", String::from_utf8_lossy(value)),
                )
                .header_bytes(&name.to_ascii_lowercase(), value),
            );
        }
        probes.push(
            Probe::new(op, &format!("header {name}: 300 characters"))
                .header(&name.to_ascii_lowercase(), &"k".repeat(300)),
        );
    }
    probes
}

/// Every declared cookie with values it should refuse (or take).
fn cookie_probes(op: &Operation) -> Vec<Probe> {
    const VALUES: &[&[u8]] = &[
        b"",
        b"abc",
        b"a.b.c",
        b"\"{refresh}\"",
        b"{refresh}x",
        UNKNOWN_REFRESH.as_bytes(),
        b"\xff\xfe",
    ];
    let mut probes = Vec::new();
    for name in &op.cookies {
        for value in VALUES {
            probes.push(
                Probe::new(
                    op,
                    &format!("cookie {name}={}", String::from_utf8_lossy(value)),
                )
                .header_bytes("cookie", &[name.as_bytes(), b"=", value].concat()),
            );
        }
        probes.push(
            Probe::new(op, &format!("cookie {name}: 300 characters"))
                .header("cookie", &format!("{name}={}", "k".repeat(300))),
        );
        probes.push(
            Probe::new(op, &format!("cookie {name} twice, the good one first"))
                .header("cookie", &format!("{name}={{refresh}}; {name}=abc")),
        );
        probes.push(
            Probe::new(op, &format!("cookie {name} twice, the good one last"))
                .header("cookie", &format!("{name}=abc; {name}={{refresh}}")),
        );
    }
    probes
}

/// Bodies: for a route that takes one, malformed, mistyped, mislabelled and
/// invalid ones; for any other, a body it should ignore.
fn body_probes(op: &Operation) -> Vec<Probe> {
    if op.body_types.is_empty() {
        return vec![
            Probe::new(op, "an unexpected JSON body").json(&json!({ "x": 1 })),
            Probe::new(op, "an unexpected text body").body("text/plain", b"hello"),
        ];
    }
    let valid = valid_body(op).unwrap();
    let mut unknown = valid.clone();
    unknown["bogus"] = json!(1);
    let mut mistyped = valid.clone();
    let first = valid.as_object().unwrap().keys().next().unwrap().clone();
    mistyped[&first] = json!(42);
    let text = valid.to_string();
    vec![
        Probe::new(op, "malformed JSON")
            .body("application/json", b"{\"title\":")
            .expect(Expect::OneOf(&[400])),
        Probe::new(op, "unknown field")
            .json(&unknown)
            .expect(Expect::OneOf(&[400, 422])),
        Probe::new(op, "a field of the wrong type")
            .json(&mistyped)
            .expect(Expect::OneOf(&[400, 422])),
        Probe::new(op, "a JSON array").json(&json!([valid])),
        Probe::new(op, "JSON null").json(&Value::Null),
        Probe::new(op, "a JSON string").json(&json!("title")),
        Probe::new(op, "an empty object").json(&json!({})),
        Probe::new(op, "no body").body("application/json", b""),
        Probe::new(op, "no body, no content type")
            .body("application/json", b"")
            .without("content-type"),
        Probe::new(op, "JSON labelled text/plain")
            .body("text/plain", text.as_bytes())
            .expect(Expect::OneOf(&[415])),
        Probe::new(op, "JSON without a content type")
            .body("application/json", text.as_bytes())
            .without("content-type")
            .expect(Expect::OneOf(&[415])),
        Probe::new(op, "form data").body("application/x-www-form-urlencoded", b"title=x"),
        Probe::new(op, "content type with charset")
            .body("application/json; charset=utf-8", text.as_bytes())
            .expect(Expect::Success),
        Probe::new(op, "application/merge-patch+json")
            .body("application/merge-patch+json", text.as_bytes()),
        Probe::new(op, "invalid UTF-8").body("application/json", b"{\"title\":\"\xff\"}"),
        Probe::new(op, "body of exactly 64 KiB").body("application/json", &{
            let mut body = oversized();
            body.truncate(todo_http::body::MAX_BODY_BYTES - 2);
            body.extend_from_slice(b"\"}");
            body
        }),
    ]
}

/// What particular operations plainly can answer besides.
fn specific_probes(op: &Operation) -> Vec<Probe> {
    let p = |what: &str| Probe::new(op, what);
    match op.operation_id.as_str() {
        "createTask" => vec![
            p("a new Idempotency-Key")
                .header("idempotency-key", "k-new")
                .expect(Expect::OneOf(&[201])),
            p("Idempotency-Key replayed with its body")
                .header("idempotency-key", "k-kept")
                .json(&json!({ "title": "Kept" }))
                .expect(Expect::OneOf(&[200])),
            p("Idempotency-Key replayed with another body")
                .header("idempotency-key", "k-kept")
                .expect(Expect::OneOf(&[422]))
                .problem_type("/problems/idempotency-key-reused"),
            // 404 or 409 (another engineer is deciding): whichever it is
            // must be documented, with this type.
            p("Idempotency-Key replayed after its task was deleted")
                .header("idempotency-key", "k-gone")
                .json(&json!({ "title": "Gone" }))
                .expect(Expect::OneOf(&[404, 409, 410]))
                .problem_type("/problems/idempotency-key-task-deleted"),
            p("Idempotency-Key replayed with a malformed body")
                .header("idempotency-key", "k-kept")
                .body("application/json", b"{"),
            p("invalid fields")
                .json(&json!({ "title": " ", "tags": ["x".repeat(500)] }))
                .expect(Expect::OneOf(&[422]))
                .problem_type("/problems/validation-error"),
            p("values of no type").json(&json!({ "title": "x", "priority": "whenever" })),
            p("read-only fields").json(&json!({ "title": "x", "id": UNKNOWN_ID, "version": 9 })),
            p("a recurring task").json(&json!({
                "title": "Daily",
                "dueAt": "2026-12-01T09:00:00Z",
                "recurrence": { "rrule": "FREQ=DAILY" }
            })),
            p("a bad rrule").json(&json!({
                "title": "Daily",
                "dueAt": "2026-12-01T09:00:00Z",
                "recurrence": { "rrule": "FREQ=SOMETIMES" }
            })),
        ],
        "patchTask" => vec![
            p("If-Match mismatch")
                .header("if-match", "\"999\"")
                .expect(Expect::OneOf(&[412])),
            p("If-Match current")
                .header("if-match", "{etag}")
                .expect(Expect::Success),
            p("a patch that changes nothing")
                .json(&json!({ "title": "Kept" }))
                .expect(Expect::Success),
            p("null for a required field")
                .json(&json!({ "title": null }))
                .expect(Expect::OneOf(&[400, 422])),
            p("a read-only field").json(&json!({ "id": UNKNOWN_ID })),
            p("status through a patch").json(&json!({ "status": "completed" })),
            p("invalid fields").json(&json!({ "priority": "whenever", "dueAt": "soon" })),
        ],
        "deleteTask" | "completeTask" | "reopenTask" => vec![
            p("If-Match mismatch")
                .header("if-match", "\"999\"")
                .expect(Expect::OneOf(&[412])),
            p("If-Match current")
                .header("if-match", "{etag}")
                .expect(Expect::Success),
            p("sent twice").twice(),
            p("If-Match on an unknown id")
                .uri(op.path.replace("{id}", UNKNOWN_ID))
                .header("if-match", "\"999\"")
                .expect(Expect::OneOf(&[404])),
        ],
        "listTasks" => vec![
            p("a bad cursor").uri(with_param(&op.path, "cursor", "not-a-cursor")),
            p("every filter").uri(format!(
                "{}?status=open&priority=high,low&tag=home&q=milk&dueBefore=2027-01-01T00:00:00Z\
                 &dueAfter=2026-01-01T00:00:00Z&sort=-dueAt&limit=5",
                op.path
            )),
            p("overdue with status").uri(format!("{}?overdue=true&status=completed", op.path)),
        ],
        "putNotificationSettings" => vec![
            p("invalid e-mail")
                .json(&json!({ "email": "not an address" }))
                .expect(Expect::OneOf(&[422])),
            p("a webhook to the sidecar").json(&json!({
                "webhookUrl": "http://localhost:3500/v1.0/state/statestore",
                "webhookSecret": "s3cret-s3cret-s3cret"
            })),
            p("a webhook without a secret")
                .json(&json!({ "webhookUrl": "https://example.com/hook" })),
            p("a plain-http webhook").json(&json!({
                "webhookUrl": "http://example.com/hook",
                "webhookSecret": "s3cret-s3cret-s3cret"
            })),
            p("webhookSecret null").json(&json!({ "webhookSecret": null })),
        ],
        "markNotificationRead" => vec![p("read twice").twice().expect(Expect::Success)],
        "previewRecurrence" => vec![
            p("no parameters")
                .uri(op.path.clone())
                .expect(Expect::OneOf(&[400])),
            p("a rule RFC 5545 refuses").uri(with_param(
                &Probe::new(op, "").uri,
                "rrule",
                "FREQ%3DDAILY%3BBYDAY%3D9MO",
            )),
            p("an unknown timezone").uri(with_param(
                &Probe::new(op, "").uri,
                "timezone",
                "Mars%2FOlympus",
            )),
            p("a rule without end")
                .uri(with_param(
                    &Probe::new(op, "").uri,
                    "rrule",
                    "FREQ%3DYEARLY",
                ))
                .expect(Expect::Success),
        ],
        "streamChanges" => vec![
            p("?access_token=")
                .without("authorization")
                .uri(format!("{}?access_token={}", op.path, token(ALICE)))
                .expect(Expect::Success),
            p("a bad ?access_token=")
                .without("authorization")
                .uri(format!("{}?access_token=nope", op.path))
                .expect(Expect::OneOf(&[401])),
            p("Last-Event-ID not a number")
                .header("last-event-id", "abc")
                .expect(Expect::OneOf(&[400])),
            p("Last-Event-ID ahead of the feed").header("last-event-id", "999"),
            p("since ahead of the feed").uri(format!("{}?since=999", op.path)),
        ],
        "pollChanges" => vec![
            p("since not a number")
                .uri(format!("{}?since=abc", op.path))
                .expect(Expect::OneOf(&[400])),
            p("wait too long")
                .uri(format!("{}?wait=31", op.path))
                .expect(Expect::OneOf(&[400])),
            p("a long-poll that times out").uri(format!("{}?wait=2&since=1", op.path)),
            p("since ahead of the feed").uri(format!("{}?since=999&wait=0", op.path)),
        ],
        "signUp" => vec![
            p("an address that has an account")
                .json(&json!({ "email": ALICE_EMAIL, "password": PASSWORD, "name": "A" }))
                .expect(Expect::OneOf(&[409]))
                .problem_type("/problems/conflict"),
            p("that address in capitals, with spaces")
                .json(&json!({ "email": " ALICE@Example.com ", "password": PASSWORD, "name": "A" }))
                .expect(Expect::OneOf(&[409])),
            p("sent twice").twice().expect(Expect::OneOf(&[409])),
            p("a password under 10 characters")
                .json(&json!({ "email": "dan@example.com", "password": "short-1", "name": "D" }))
                .expect(Expect::OneOf(&[422]))
                .problem_type("/problems/validation-error"),
            p("a commonly used password")
                .json(&json!({ "email": "dan@example.com", "password": "Password123", "name": "D" }))
                .expect(Expect::OneOf(&[422])),
            p("a password over 256 characters")
                .json(&json!({ "email": "dan@example.com", "password": "x".repeat(257), "name": "D" }))
                .expect(Expect::OneOf(&[422])),
            p("every field invalid")
                .json(&json!({ "email": "not-an-address", "password": "weak", "name": " " }))
                .expect(Expect::OneOf(&[422])),
            p("a name of control characters")
                .json(&json!({ "email": "dan@example.com", "password": PASSWORD, "name": "\u{7}" }))
                .expect(Expect::OneOf(&[422])),
            p("null members")
                .json(&json!({ "email": null, "password": null, "name": null }))
                .expect(Expect::OneOf(&[422])),
            p("a password with spaces, kept as typed")
                .json(&json!({ "email": "dan@example.com", "password": "  four words here  ", "name": "D" }))
                .expect(Expect::Success),
        ],
        "logIn" => vec![
            p("a wrong password")
                .json(&json!({ "email": ALICE_EMAIL, "password": "tangerine-sky-43" }))
                .expect(Expect::OneOf(&[401]))
                .problem_type("/problems/unauthorized"),
            p("an address without an account")
                .json(&json!({ "email": "nobody@example.com", "password": PASSWORD }))
                .expect(Expect::OneOf(&[401])),
            p("an address that does not parse")
                .json(&json!({ "email": "nobody", "password": PASSWORD }))
                .expect(Expect::OneOf(&[401])),
            p("the address in capitals, with spaces")
                .json(&json!({ "email": " ALICE@Example.com ", "password": PASSWORD }))
                .expect(Expect::Success),
            p("no password")
                .json(&json!({ "email": ALICE_EMAIL }))
                .expect(Expect::OneOf(&[422]))
                .problem_type("/problems/validation-error"),
            p("an account locked after 5 failed sign-ins, right password")
                .json(&json!({ "email": BOB_EMAIL, "password": PASSWORD }))
                .expect(Expect::OneOf(&[429]))
                .problem_type("/problems/too-many-requests"),
            p("a client locked after 5 failed sign-ins")
                .header("spin-client-addr", LOCKED_CLIENT)
                .expect(Expect::OneOf(&[429])),
            p("another client")
                .header("spin-client-addr", "203.0.113.7:51000")
                .expect(Expect::Success),
            p("a loopback host")
                .header("host", "127.0.0.1:3000")
                .expect(Expect::Success),
            p("the host in spin-full-url")
                .header("spin-full-url", "http://localhost:3000/api/auth/login")
                .expect(Expect::Success),
        ],
        "refreshSession" => vec![
            p("the same token twice (reuse)")
                .twice()
                .expect(Expect::OneOf(&[401]))
                .problem_type("/problems/unauthorized"),
            p("no cookie")
                .without("cookie")
                .expect(Expect::OneOf(&[401])),
            p("a malformed token")
                .header("cookie", "refresh=not-a-token")
                .expect(Expect::OneOf(&[401])),
            p("a token of no sign-in")
                .header("cookie", &format!("refresh={UNKNOWN_REFRESH}"))
                .expect(Expect::OneOf(&[401])),
            p("among other cookies")
                .header("cookie", "theme=dark; refresh={refresh}")
                .expect(Expect::Success),
            p("a loopback host")
                .header("host", "localhost:3000")
                .expect(Expect::Success),
        ],
        "logOut" => vec![
            p("signed out twice").twice().expect(Expect::Success),
            p("no cookie").without("cookie").expect(Expect::Success),
            p("a malformed token")
                .header("cookie", "refresh=garbage")
                .expect(Expect::Success),
            p("a token of no sign-in")
                .header("cookie", &format!("refresh={UNKNOWN_REFRESH}"))
                .expect(Expect::Success),
        ],
        "getCurrentAccount" => vec![
            p("a valid token naming no account")
                .header("authorization", &bearer(BOB))
                .expect(Expect::OneOf(&[404])),
            p("a valid token naming an unknown account id")
                .header("authorization", &bearer(UNKNOWN_ID))
                .expect(Expect::OneOf(&[404])),
        ],
        _ => Vec::new(),
    }
}

// ---------------------------------------------------------------------------
// Checking answers

/// Sends `probe` to a fresh world of `op`'s component; returns the status
/// answered and what is wrong with the answer.
fn check(op: &Operation, probe: &Probe) -> (u16, Option<String>) {
    let world = World::new(op.component());
    match probe.fault {
        Fault::None => {}
        Fault::SidecarDown => world.dapr.set_down(true),
        Fault::StateStoreDown => world.dapr.set_state_down(true),
        Fault::PublishesFail => world.dapr.fail_publishes(usize::MAX),
        Fault::RacingWriter => {
            let key = format!("task/{}", world.id);
            world.dapr.race_next_transaction(move |state| {
                if let Some(value) = state.get(STORE, &key) {
                    state.put(STORE, &key, value);
                }
            });
        }
    }
    if probe.twice {
        world.send(probe.request(&world));
    }
    let reply = world.send(probe.request(&world));
    (reply.status, judge(op, probe, &world, &reply))
}

/// What is wrong with `reply` to `probe`.
fn judge(op: &Operation, probe: &Probe, world: &World, reply: &Reply) -> Option<String> {
    let content_type = reply.header("content-type").unwrap_or("").to_string();
    let answered = format!(
        "answered {} {} {}",
        reply.status,
        if content_type.is_empty() {
            "(no content type)"
        } else {
            &content_type
        },
        shorten_body(&reply.body)
    );
    let fail = |why: String| {
        Some(format!(
            "{}\n    sent {}\n    {answered}\n    documented: {}\n    => {why}",
            op.at(),
            probe.describe(world),
            op.documented(),
        ))
    };
    let Some(documented) = op.responses.get(&reply.status) else {
        return fail(format!("{} is not documented", reply.status));
    };
    let essence = content_type
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_string();
    match documented["content"].as_object() {
        Some(types) if !types.contains_key(&essence) => {
            return fail(format!(
                "content type {essence:?} is not one of the documented {:?}",
                types.keys().collect::<Vec<_>>()
            ))
        }
        None if reply.body != Value::Null => {
            return fail("a body where the document lists no content".to_string())
        }
        _ => {}
    }
    if reply.status >= 400 {
        if essence != "application/problem+json" {
            return fail("a problem that is not application/problem+json".to_string());
        }
        if reply.body["status"] != reply.status {
            return fail("the problem's status is not the answer's".to_string());
        }
        let kind = reply.body["type"].as_str().unwrap_or("");
        let title = reply.body["title"].as_str().unwrap_or("");
        if kind.is_empty() {
            return fail("a problem without a type".to_string());
        }
        if kind == "about:blank" && !ABOUT_BLANK_ALLOWED.contains(&(reply.status, title)) {
            return fail("a problem of type about:blank".to_string());
        }
    }
    if let Some(kind) = probe.problem_type {
        if reply.body["type"] != kind {
            return fail(format!("expected a problem of type {kind}"));
        }
        let described = documented["description"].as_str().unwrap_or("");
        if !described.contains(kind) {
            return fail(format!(
                "the documented {} response does not name the problem type {kind}: {described:?}",
                reply.status
            ));
        }
    }
    match probe.expect {
        Expect::Success if !(200..300).contains(&reply.status) => {
            fail("expected a 2xx answer to this probe".to_string())
        }
        Expect::OneOf(statuses) if !statuses.contains(&reply.status) => {
            fail(format!("expected one of {statuses:?} to this probe"))
        }
        _ => None,
    }
}

fn shorten_body(body: &Value) -> String {
    let text = body.to_string();
    if text.chars().count() > 160 {
        format!("{}…", text.chars().take(160).collect::<String>())
    } else {
        text
    }
}

/// Runs the battery of every operation `component` serves; panics listing
/// every bad answer.
fn assert_documented(component: Component) {
    let doc = document();
    let ops: Vec<Operation> = operations(&doc)
        .into_iter()
        .filter(|op| op.component() == component)
        .collect();
    assert!(
        !ops.is_empty(),
        "{component:?} serves no documented operation"
    );
    let mut failures = Vec::new();
    let mut sent = 0;
    for op in &ops {
        let mut answered = BTreeSet::new();
        for probe in battery(op) {
            sent += 1;
            let (status, failure) = check(op, &probe);
            answered.insert(status);
            failures.extend(failure);
        }
        // Not a failure (a status may need what a fake cannot stage), but
        // worth a look when the document changes: `--nocapture` shows it.
        let unseen: Vec<&u16> = op
            .responses
            .keys()
            .filter(|s| !answered.contains(s))
            .collect();
        if !unseen.is_empty() {
            println!("{}: documented, never answered here: {unseen:?}", op.at());
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {sent} answers of {component:?} break openapi.json:\n\n{}",
        failures.len(),
        failures.join("\n\n")
    );
}

#[test]
fn task_api_answers_only_documented_statuses() {
    assert_documented(Component::TaskApi);
}

#[test]
fn audit_answers_only_documented_statuses() {
    assert_documented(Component::Audit);
}

#[test]
fn notify_answers_only_documented_statuses() {
    assert_documented(Component::Notify);
}

#[test]
fn recurrence_answers_only_documented_statuses() {
    assert_documented(Component::Recurrence);
}

#[test]
fn sync_relay_answers_only_documented_statuses() {
    assert_documented(Component::SyncRelay);
}

#[test]
fn identity_answers_only_documented_statuses() {
    assert_documented(Component::Identity);
}

/// 405 is documented globally (see the module documentation): a method the
/// document does not list for a path answers 405, a problem, with `Allow`
/// naming exactly the documented methods.
#[test]
fn undocumented_methods_answer_405_with_allow() {
    let doc = document();
    let ops = operations(&doc);
    let mut by_path: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
    for op in &ops {
        by_path.entry(&op.path).or_default().insert(&op.method);
    }
    let mut failures = Vec::new();
    for (path, methods) in &by_path {
        let served_by = ops.iter().find(|op| op.path == *path).unwrap();
        let world = World::new(served_by.component());
        for method in ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"] {
            if methods.contains(method) {
                continue;
            }
            let uri = path.replace("{id}", &world.id);
            let reply = call(method, &uri).user(ALICE).send(&world);
            let allow: BTreeSet<&str> = reply
                .header("allow")
                .unwrap_or("")
                .split(',')
                .map(str::trim)
                .filter(|m| !m.is_empty())
                .collect();
            if reply.status != 405
                || allow != *methods
                || reply.header("content-type") != Some("application/problem+json")
            {
                failures.push(format!(
                    "{method} {uri}: answered {} (Allow: {:?}, {:?}); expected 405 with Allow {methods:?}",
                    reply.status,
                    reply.header("allow"),
                    reply.header("content-type"),
                ));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
