//! task-api: task CRUD, search and the transactional outbox that publishes
//! every change (architecture §3–§5).
//!
//! The route table below is the whole public surface; handlers live one file
//! per resource and are plain async functions over a [`Ctx`], so they run
//! natively in tests against a fake Dapr transport.

pub mod context;
pub mod internal;
pub mod legacy;
pub mod openapi;
pub mod outbox;
pub mod store;
pub mod tasks;

use todo_dapr::Transport;
use todo_http::respond::outcome;
use todo_http::router::{route, Route};
use todo_http::{Request, Response};

pub use context::Ctx;

/// Every endpoint task-api serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Endpoint {
    CreateTask,
    ListTasks,
    GetTask,
    PatchTask,
    DeleteTask,
    CompleteTask,
    ReopenTask,
    ListTags,
    OpenApi,
    Health,
    NextOccurrence,
    OutboxSweep,
    OutboxJob,
}

/// The route table. Paths under `/api` are public (and documented in
/// `openapi.json`); `/internal` and `/job` are for Dapr only (service
/// invocation, cron binding, the outbox jobs' callbacks).
pub const ROUTES: &[Route<Endpoint>] = &[
    ("POST", "/api/tasks", Endpoint::CreateTask),
    ("GET", "/api/tasks", Endpoint::ListTasks),
    ("GET", "/api/tasks/{id}", Endpoint::GetTask),
    ("PATCH", "/api/tasks/{id}", Endpoint::PatchTask),
    ("DELETE", "/api/tasks/{id}", Endpoint::DeleteTask),
    ("POST", "/api/tasks/{id}/complete", Endpoint::CompleteTask),
    ("POST", "/api/tasks/{id}/reopen", Endpoint::ReopenTask),
    ("GET", "/api/tags", Endpoint::ListTags),
    ("GET", "/api/openapi.json", Endpoint::OpenApi),
    ("GET", "/healthz/task-api", Endpoint::Health),
    ("POST", "/internal/tasks/next", Endpoint::NextOccurrence),
    ("POST", "/internal/outbox-sweep", Endpoint::OutboxSweep),
    ("POST", "/job/{name}", Endpoint::OutboxJob),
];

/// Handles one request.
pub async fn handle<T: Transport>(ctx: &Ctx<T>, request: Request) -> Response {
    let (endpoint, params) = match route(ROUTES, &request) {
        Ok(found) => found,
        Err(response) => return *response,
    };
    let id = params.first().map_or("", String::as_str);
    outcome(match endpoint {
        Endpoint::CreateTask => tasks::create(ctx, &request).await,
        Endpoint::ListTasks => tasks::list(ctx, &request).await,
        Endpoint::GetTask => tasks::get(ctx, &request, id).await,
        Endpoint::PatchTask => tasks::patch(ctx, &request, id).await,
        Endpoint::DeleteTask => tasks::delete(ctx, &request, id).await,
        Endpoint::CompleteTask => tasks::complete(ctx, &request, id).await,
        Endpoint::ReopenTask => tasks::reopen(ctx, &request, id).await,
        Endpoint::ListTags => tasks::tags(ctx, &request).await,
        Endpoint::OpenApi => Ok(openapi::response()),
        Endpoint::Health => Ok(ctx.health().await),
        Endpoint::NextOccurrence => internal::next_occurrence(ctx, &request).await,
        Endpoint::OutboxSweep => internal::outbox_sweep(ctx, &request).await,
        Endpoint::OutboxJob => internal::outbox_job(ctx, &request, id).await,
    })
}

#[cfg(target_arch = "wasm32")]
mod wasm {
    use spin_sdk::http::{IncomingRequest, ResponseOutparam};
    use spin_sdk::http_component;

    #[http_component]
    async fn entry(request: IncomingRequest, out: ResponseOutparam) {
        let ctx = crate::Ctx::from_env(crate::context::Config::from_env(Box::new(|d| {
            Box::pin(todo_http::spin::sleep(d))
        })));
        todo_http::spin::serve(request, out, |request| async move {
            crate::handle(&ctx, request).await
        })
        .await;
    }
}
