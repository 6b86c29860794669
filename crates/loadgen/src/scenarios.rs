//! The scenarios: what each one requests and on how many connections,
//! which instantiations in devstack's log are its own, and the [`Fixture`]
//! (the seeded users, their tokens and task ids) its requests are made from.

use clap::ValueEnum;
use http::{Method, StatusCode};

use crate::client::Req;
use crate::data;
use crate::instlog::Sample;

/// What a scenario requests.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum Scenario {
    /// `GET /api/openapi.json`: instantiate + a static document, no Dapr call.
    Baseline,
    /// A path routed to the component that it answers 404 (no Dapr call).
    Noop,
    /// `GET /api/tasks/{id}` of the seeded user.
    Get,
    /// `POST /api/tasks`, one user per connection.
    Post,
    /// The filtered, sorted, searched list over the seeded user.
    List,
    /// `GET /api/tasks/{id}` of the 1-task user.
    #[value(name = "get-1")]
    Get1,
    /// `GET /api/tasks/{id}`, a random task of the 10,000-task user.
    #[value(name = "get-10k")]
    Get10k,
    /// `POST /api/tasks` by the 1-task user (all connections).
    #[value(name = "create-1")]
    Create1,
    /// `POST /api/tasks` by the 10,000-task user (all connections).
    #[value(name = "create-10k")]
    Create10k,
    /// `PATCH /api/tasks/{id}` (title) of the 1-task user's task.
    #[value(name = "patch-1")]
    Patch1,
    /// `PATCH /api/tasks/{id}` (title) of a random open task of the 10,000-task user.
    #[value(name = "patch-10k")]
    Patch10k,
    /// `GET /api/tasks?status=open&sort=-priority&limit=100` over the `--tasks` user.
    #[value(name = "list-1k")]
    List1k,
    /// The same list over the 10,000-task user.
    #[value(name = "list-10k")]
    List10k,
    /// `POST /api/tasks` on 16 connections, all for one user.
    #[value(name = "create-16-one-user")]
    Create16OneUser,
    /// `POST /api/tasks` on 16 connections, one user each.
    #[value(name = "create-16-users")]
    Create16Users,
}

/// Connections of the `create-16-*` scenarios.
pub(crate) const SIXTEEN: usize = 16;
/// The query of the `list-1k` / `list-10k` scenarios.
const SIZE_LIST_QUERY: &str = "status=open&sort=-priority&limit=100";
pub(crate) const ONE_USER: &str = "bench-one";
pub(crate) const BIG_USER: &str = "bench-10k";
pub(crate) const CROWD_USER: &str = "bench-16-one";

const NOOP_PATH: &str = "/api/tasks/bench/no/such/route";
pub(crate) const LIST_USER: &str = "bench-list";

/// What the request generators need.
pub(crate) struct Fixture {
    pub(crate) list_token: String,
    pub(crate) post_tokens: Vec<String>,
    pub(crate) ids: Vec<String>,
    pub(crate) list_query: String,
    /// The 1-task user.
    pub(crate) one: User,
    /// The 10,000-task user.
    pub(crate) big: User,
    /// The one user of `create-16-one-user`.
    pub(crate) crowd_token: String,
    /// One user per connection of `create-16-users`.
    pub(crate) sixteen_tokens: Vec<String>,
}

/// A seeded user: token, task ids, ids of the open tasks.
#[derive(Default)]
pub(crate) struct User {
    pub(crate) token: String,
    pub(crate) ids: Vec<String>,
    pub(crate) open: Vec<String>,
}

impl Scenario {
    pub(crate) fn name(self) -> &'static str {
        match self {
            Scenario::Baseline => "baseline",
            Scenario::Noop => "noop-404 (ref)",
            Scenario::Get => "get",
            Scenario::Post => "post",
            Scenario::List => "list",
            Scenario::Get1 => "get-1",
            Scenario::Get10k => "get-10k",
            Scenario::Create1 => "create-1",
            Scenario::Create10k => "create-10k",
            Scenario::Patch1 => "patch-1",
            Scenario::Patch10k => "patch-10k",
            Scenario::List1k => "list-1k",
            Scenario::List10k => "list-10k",
            Scenario::Create16OneUser => "create-16-one-user",
            Scenario::Create16Users => "create-16-users",
        }
    }

    /// How many connections it runs on.
    pub(crate) fn connections(self, default: usize) -> usize {
        match self {
            Scenario::Create16OneUser | Scenario::Create16Users => SIXTEEN,
            _ => default,
        }
    }

    pub(crate) fn needs_big(self) -> bool {
        matches!(
            self,
            Scenario::Get10k | Scenario::Create10k | Scenario::Patch10k | Scenario::List10k
        )
    }

    pub(crate) fn needs_one(self) -> bool {
        matches!(self, Scenario::Get1 | Scenario::Create1 | Scenario::Patch1)
    }

    pub(crate) fn describe(self, fx: &Fixture) -> String {
        match self {
            Scenario::Baseline => "GET /api/openapi.json".into(),
            Scenario::Noop => format!("GET {NOOP_PATH}"),
            Scenario::Get => format!("GET /api/tasks/{{id}} ({} ids)", fx.ids.len()),
            Scenario::Post => format!("POST /api/tasks ({} users)", fx.post_tokens.len()),
            Scenario::List => format!("GET /api/tasks?{}", fx.list_query),
            Scenario::Get1 => "GET /api/tasks/{id} (1-task user)".into(),
            Scenario::Get10k => format!(
                "GET /api/tasks/{{id}} (random of {} tasks)",
                fx.big.ids.len()
            ),
            Scenario::Create1 => "POST /api/tasks (the 1-task user)".into(),
            Scenario::Create10k => format!("POST /api/tasks (the {}-task user)", fx.big.ids.len()),
            Scenario::Patch1 => "PATCH /api/tasks/{id} title (1-task user)".into(),
            Scenario::Patch10k => format!(
                "PATCH /api/tasks/{{id}} title (random of {} open)",
                fx.big.open.len()
            ),
            Scenario::List1k => {
                format!("GET /api/tasks?{SIZE_LIST_QUERY} ({} tasks)", fx.ids.len())
            }
            Scenario::List10k => format!(
                "GET /api/tasks?{SIZE_LIST_QUERY} ({} tasks)",
                fx.big.ids.len()
            ),
            Scenario::Create16OneUser => "POST /api/tasks, 16 conns, one user".into(),
            Scenario::Create16Users => "POST /api/tasks, 16 conns, 16 users".into(),
        }
    }

    pub(crate) fn request(self, fx: &Fixture, worker: usize, seq: u64) -> Req {
        match self {
            Scenario::Baseline => Req::get("/api/openapi.json", None),
            Scenario::Noop => Req::get(NOOP_PATH, None).expecting(StatusCode::NOT_FOUND),
            Scenario::Get => {
                // A stride through the ids, so consecutive requests differ.
                let i = (seq.wrapping_mul(7919) % fx.ids.len() as u64) as usize;
                Req::get(format!("/api/tasks/{}", fx.ids[i]), Some(&fx.list_token))
            }
            Scenario::Post => {
                let mut rng = data::Rng::new(seq.wrapping_mul(0x9E37_79B9) ^ worker as u64);
                let body = data::task_body(&mut rng, seq);
                let token = &fx.post_tokens[worker % fx.post_tokens.len()];
                Req::post_json("/api/tasks", token, body.to_string().into_bytes())
            }
            Scenario::List => Req::get(
                format!("/api/tasks?{}", fx.list_query),
                Some(&fx.list_token),
            ),
            Scenario::Get1 => {
                Req::get(format!("/api/tasks/{}", fx.one.ids[0]), Some(&fx.one.token))
            }
            Scenario::Get10k => {
                let id = pick(&fx.big.ids, worker, seq);
                Req::get(format!("/api/tasks/{id}"), Some(&fx.big.token))
            }
            Scenario::Create1 => create(&fx.one.token, worker, seq),
            Scenario::Create10k => create(&fx.big.token, worker, seq),
            Scenario::Create16OneUser => create(&fx.crowd_token, worker, seq),
            Scenario::Create16Users => create(
                &fx.sixteen_tokens[worker % fx.sixteen_tokens.len()],
                worker,
                seq,
            ),
            Scenario::Patch1 => patch(&fx.one.token, &fx.one.open[0], seq),
            Scenario::Patch10k => patch(&fx.big.token, pick(&fx.big.open, worker, seq), seq),
            Scenario::List1k => Req::get(
                format!("/api/tasks?{SIZE_LIST_QUERY}"),
                Some(&fx.list_token),
            ),
            Scenario::List10k => {
                Req::get(format!("/api/tasks?{SIZE_LIST_QUERY}"), Some(&fx.big.token))
            }
        }
    }

    /// Whether an instantiation logged by devstack belongs to this scenario.
    pub(crate) fn owns(self, s: &Sample) -> bool {
        let get = s.method == "GET";
        match self {
            Scenario::Baseline => get && s.path == "/api/openapi.json",
            Scenario::Noop => get && s.path == NOOP_PATH,
            Scenario::Get => get && s.path.starts_with("/api/tasks/") && s.path != NOOP_PATH,
            Scenario::Post
            | Scenario::Create1
            | Scenario::Create10k
            | Scenario::Create16OneUser
            | Scenario::Create16Users => s.method == "POST" && s.path == "/api/tasks",
            Scenario::List | Scenario::List1k | Scenario::List10k => get && s.path == "/api/tasks",
            Scenario::Get1 | Scenario::Get10k => {
                get && s.path.starts_with("/api/tasks/") && s.path != NOOP_PATH
            }
            Scenario::Patch1 | Scenario::Patch10k => {
                s.method == "PATCH" && s.path.starts_with("/api/tasks/")
            }
        }
    }
}

/// A pseudo-random element of `items` (varies with the worker and sequence).
fn pick(items: &[String], worker: usize, seq: u64) -> &str {
    let mut rng = data::Rng::new(seq.wrapping_mul(0x9E37_79B9) ^ ((worker as u64) << 40));
    &items[rng.below(items.len())]
}

/// `POST /api/tasks` with a varied body, as the user of `token`.
fn create(token: &str, worker: usize, seq: u64) -> Req {
    let mut rng = data::Rng::new(seq.wrapping_mul(0x9E37_79B9) ^ worker as u64);
    let body = data::task_body(&mut rng, seq);
    Req::post_json("/api/tasks", token, body.to_string().into_bytes())
}

/// `PATCH /api/tasks/{id}` renaming the task. (The client sends
/// `Content-Type: application/json`, which task-api accepts for a merge
/// patch like `application/merge-patch+json`.)
fn patch(token: &str, id: &str, seq: u64) -> Req {
    let body = serde_json::json!({ "title": format!("Renamed by the benchmark #{seq}") });
    Req {
        method: Method::PATCH,
        target: format!("/api/tasks/{id}"),
        token: Some(token.to_string()),
        body: Some(body.to_string().into_bytes().into()),
        expect: StatusCode::OK,
    }
}
