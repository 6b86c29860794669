//! notify: schedules reminders as Dapr Jobs, fires them, and delivers the
//! notification to the inbox, a signed webhook and e-mail (architecture §3–§5).
//!
//! The route table below is the whole surface; handlers live one file per
//! resource and are plain async functions over a [`Ctx`], so they run
//! natively in tests against a fake Dapr transport and a fake webhook client.

pub mod channels;
pub mod context;
pub mod jobs;
pub mod notifications;
pub mod reminders;
pub mod store;

use todo_core::Problem;
use todo_dapr::Transport;
use todo_http::body::MAX_BODY_BYTES;
use todo_http::respond::{outcome, problem};
use todo_http::router::{match_route, unmatched_response, Route, RouteMatch};
use todo_http::{Request, Response};

pub use context::Ctx;

/// Every endpoint notify serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Endpoint {
    ListNotifications,
    MarkRead,
    GetSettings,
    PutSettings,
    Health,
    Reminders,
    Job,
}

/// The route table. `/api` is public; `/events` and `/job` are for Dapr only
/// (app-token protected).
pub const ROUTES: &[Route<Endpoint>] = &[
    ("GET", "/api/notifications", Endpoint::ListNotifications),
    ("POST", "/api/notifications/{id}/read", Endpoint::MarkRead),
    ("GET", "/api/notifications/settings", Endpoint::GetSettings),
    ("PUT", "/api/notifications/settings", Endpoint::PutSettings),
    ("GET", "/healthz/notify", Endpoint::Health),
    ("POST", "/events/notify/reminders", Endpoint::Reminders),
    ("POST", "/job/{name}", Endpoint::Job),
];

/// Handles one request.
pub async fn handle<T: Transport, W: Transport>(ctx: &Ctx<T, W>, request: Request) -> Response {
    if request.body().len() > MAX_BODY_BYTES {
        return problem(&Problem::payload_too_large(MAX_BODY_BYTES));
    }
    let path = request.uri().path().to_string();
    let (endpoint, params) = match match_route(ROUTES, request.method().as_str(), &path) {
        RouteMatch::Found(endpoint, params) => (endpoint, params),
        RouteMatch::MethodNotAllowed(allowed) => return unmatched_response(&allowed, &path),
        RouteMatch::NotFound => return unmatched_response(&[], &path),
    };
    let param = params.first().copied().unwrap_or_default();
    match endpoint {
        Endpoint::ListNotifications => outcome(notifications::list(ctx, &request).await),
        Endpoint::MarkRead => outcome(notifications::read(ctx, &request, param).await),
        Endpoint::GetSettings => outcome(notifications::get_settings(ctx, &request).await),
        Endpoint::PutSettings => outcome(notifications::put_settings(ctx, &request).await),
        Endpoint::Health => ctx.health().await,
        Endpoint::Reminders => reminders::deliver(ctx, &request).await,
        Endpoint::Job => match todo_dapr::inbound::job_name_from_path(&path) {
            Some(name) => jobs::fire(ctx, &request, &name).await,
            None => unmatched_response(&[], &path),
        },
    }
}

#[cfg(target_arch = "wasm32")]
mod wasm {
    use spin_sdk::http::{IncomingRequest, ResponseOutparam};
    use spin_sdk::http_component;

    #[http_component]
    async fn entry(request: IncomingRequest, out: ResponseOutparam) {
        let ctx = crate::context::context();
        todo_http::spin::serve(request, out, |request| async move {
            crate::handle(&ctx, request).await
        })
        .await;
    }
}
