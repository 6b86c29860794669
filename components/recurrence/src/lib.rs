//! recurrence: when a recurring task is completed, creates its next
//! occurrence (RFC 5545 RRULE) through task-api; previews rules for clients
//! (architecture §3–§5). It keeps no state: task-api's idempotency keys make
//! redeliveries harmless.
//!
//! The route table below is the whole surface; handlers live one file per
//! resource and are plain async functions over a [`Ctx`], so they run
//! natively in tests against a fake Dapr transport. The rules themselves
//! (next due date, COUNT, UNTIL, DST) are `todo_core::recurrence`.

pub mod context;
pub mod deliveries;
pub mod preview;

use todo_dapr::Transport;
use todo_http::respond::outcome;
use todo_http::router::{route, Route};
use todo_http::{Request, Response};

pub use context::Ctx;

/// Every endpoint recurrence serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Endpoint {
    Preview,
    Health,
    TaskEvents,
}

/// The route table. `/api` is public (JWT); `/events` is for Dapr only (app
/// token): completions arrive on the subscription's rule path, every other
/// task event on its default path (acknowledged without work).
pub const ROUTES: &[Route<Endpoint>] = &[
    ("GET", "/api/recurrence/preview", Endpoint::Preview),
    ("GET", "/healthz/recurrence", Endpoint::Health),
    (
        "POST",
        "/events/recurrence/task-events",
        Endpoint::TaskEvents,
    ),
    (
        "POST",
        "/events/recurrence/task-events/other",
        Endpoint::TaskEvents,
    ),
];

/// Handles one request.
pub async fn handle<T: Transport>(ctx: &Ctx<T>, request: Request) -> Response {
    let endpoint = match route(ROUTES, &request) {
        Ok((endpoint, _)) => endpoint,
        Err(response) => return *response,
    };
    outcome(match endpoint {
        Endpoint::Preview => preview::preview(ctx, &request).await,
        Endpoint::Health => Ok(ctx.health().await),
        Endpoint::TaskEvents => Ok(deliveries::task_events(ctx, &request).await),
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
