//! audit: an immutable, per-user hash-chained log of every task event and
//! every sign-up, and the API to read and verify it (architecture §3–§5).
//!
//! The route table below is the whole surface; handlers live one file per
//! resource and are plain async functions over a [`Ctx`], so they run
//! natively in tests against a fake Dapr transport. The chain itself (entry
//! shape, canonical JSON, hashing, verification) is `todo_core::audit::chain`.

pub mod context;
pub mod deliveries;
pub mod entries;
pub mod store;

use todo_dapr::Transport;
use todo_http::respond::outcome;
use todo_http::router::{route, Route};
use todo_http::{Request, Response};

pub use context::Ctx;

/// Every endpoint audit serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Endpoint {
    ListEntries,
    TaskHistory,
    Verify,
    Health,
    TaskEvents,
    AccountEvents,
}

/// The route table. `/api` is public (JWT); `/events` is for Dapr only
/// (app token).
pub const ROUTES: &[Route<Endpoint>] = &[
    ("GET", "/api/audit", Endpoint::ListEntries),
    ("GET", "/api/audit/tasks/{id}", Endpoint::TaskHistory),
    ("GET", "/api/audit/verify", Endpoint::Verify),
    ("GET", "/healthz/audit", Endpoint::Health),
    ("POST", "/events/audit/task-events", Endpoint::TaskEvents),
    (
        "POST",
        "/events/audit/account-events",
        Endpoint::AccountEvents,
    ),
];

/// Handles one request.
pub async fn handle<T: Transport>(ctx: &Ctx<T>, request: Request) -> Response {
    let (endpoint, params) = match route(ROUTES, &request) {
        Ok(found) => found,
        Err(response) => return *response,
    };
    let id = params.first().map_or("", String::as_str);
    outcome(match endpoint {
        Endpoint::ListEntries => entries::list(ctx, &request).await,
        Endpoint::TaskHistory => entries::task_history(ctx, &request, id).await,
        Endpoint::Verify => entries::verify(ctx, &request).await,
        Endpoint::Health => Ok(ctx.health().await),
        Endpoint::TaskEvents => Ok(deliveries::task_events(ctx, &request).await),
        Endpoint::AccountEvents => Ok(deliveries::account_events(ctx, &request).await),
    })
}

#[cfg(target_arch = "wasm32")]
mod wasm {
    use spin_sdk::http::{IncomingRequest, ResponseOutparam};
    use spin_sdk::http_component;

    #[http_component]
    async fn entry(request: IncomingRequest, out: ResponseOutparam) {
        let ctx = crate::Ctx::from_env(crate::context::Config::from_env());
        todo_http::spin::serve(request, out, |request| async move {
            crate::handle(&ctx, request).await
        })
        .await;
    }
}
