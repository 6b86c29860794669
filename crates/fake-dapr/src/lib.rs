//! An in-memory Dapr sidecar for native tests of component handlers.
//!
//! It answers the state, publish, secrets and health calls the way daprd does
//! (daprd 1.18's `pkg/api/http/http.go`; docs/architecture.md): 204 for a missing key, ETags,
//! first-write insert-only semantics, 409 on a single-save ETag mismatch, 500
//! `ERR_STATE_TRANSACTION` for any failure inside a transaction, 401 plain
//! text on a wrong API token. Faults can be injected (sidecar down, publishes
//! failing, a racing writer) to test the components' failure paths. Service
//! invocations are recorded whole and answered by a test-supplied handler
//! ([`FakeDapr::answer_invocations`]). Jobs are kept like the Scheduler
//! keeps them (409 without `overwrite`, delete is 204 even when missing) and
//! output-binding calls are recorded whole ([`FakeDapr::job`],
//! [`FakeDapr::bindings`]); bindings and the state store can be made to fail.
//!
//! Requests to absolute URLs (what a component sends beyond its sidecar,
//! such as an OIDC issuer's key set) are answered from
//! [`FakeDapr::serve_url`] and recorded ([`FakeDapr::web_calls`]).
//!
//! One file per building block it fakes, each holding the requests it
//! answers and the test's handles on it: `state.rs` (entries, single saves,
//! bulk reads, transactions, deletes), `publish.rs`, `invoke.rs`, `jobs.rs`,
//! `bindings.rs`, `secrets.rs`, and `web.rs` (absolute URLs beyond the
//! sidecar). Around them:
//! - `routing.rs`: how a request reaches a block (the sidecar being down,
//!   the API token, the route table, every call recorded);
//! - `faults.rs`: the fault-injection controls (down, failing publishes and
//!   bindings, an unreachable store, racing writers);
//! - `response.rs`: the reply shapes daprd answers with.
//!
//! [`harness`] holds what every component's test harness shares: the test
//! secrets and auth configuration, tokens, the clock, a request builder and
//! a decoded reply; [`oidc`] a fake external token issuer.

pub mod harness;
pub mod oidc;

mod bindings;
mod faults;
mod invoke;
mod jobs;
mod publish;
mod response;
mod routing;
mod secrets;
mod state;
mod web;

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use serde_json::Value;

use faults::RacingWriter;
use invoke::InvokeHandler;

pub use invoke::Invoked;
pub use publish::Published;
pub use state::{Entry, LostFirstWrite, StateView};
pub use web::{WebAnswer, WebCall};

/// One Jobs API or output-binding call: method, job or binding name, JSON body.
#[derive(Debug, Clone, PartialEq)]
pub struct Recorded {
    pub method: String,
    pub name: String,
    pub body: Value,
}

#[derive(Default)]
struct Inner {
    /// (store, key) → entry.
    state: BTreeMap<(String, String), Entry>,
    next_etag: u64,
    published: Vec<Published>,
    secrets: BTreeMap<(String, String), BTreeMap<String, String>>,
    /// Every request seen: (method, path-and-query).
    calls: Vec<(String, String)>,
    /// Every state key read (single and bulk gets), in order.
    reads: Vec<String>,
    down: bool,
    failing_publishes: usize,
    /// Before the next transaction commits, this runs (a racing writer).
    race: Option<RacingWriter>,
    /// Before the next single save is applied, this runs (a racing writer).
    race_save: Option<RacingWriter>,
    /// How a single save answers a first-write whose key exists.
    lost_first_write: LostFirstWrite,
    api_token: Option<String>,
    invoked: Vec<Invoked>,
    invoke_handler: Option<InvokeHandler>,
    /// Scheduled jobs by name (the body they were scheduled with).
    jobs: BTreeMap<String, Value>,
    job_calls: Vec<Recorded>,
    bindings: Vec<Recorded>,
    failing_bindings: usize,
    state_down: bool,
    /// Absolute URL → the answer a request to it gets.
    web: BTreeMap<String, WebAnswer>,
    web_calls: Vec<WebCall>,
}

/// The fake sidecar. Clones share one state, so a test keeps a handle while
/// the component's `DaprClient` owns another.
#[derive(Clone, Default)]
pub struct FakeDapr {
    inner: Arc<Mutex<Inner>>,
}

impl FakeDapr {
    pub fn new() -> FakeDapr {
        FakeDapr::default()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }
}
