//! notify: schedules reminders as Dapr Jobs, fires them, and delivers the
//! notification to the inbox, a signed webhook and e-mail; and sends each new
//! account its welcome e-mail (architecture §3–§5).
//!
//! The route table below is the whole surface; handlers live one file per
//! resource and are plain async functions over a [`Ctx`], so they run
//! natively in tests against a fake Dapr transport and a fake webhook client.

pub mod channels;
pub mod context;
pub mod deliveries;
pub mod jobs;
pub mod notifications;
pub mod reminders;
pub mod store;
pub mod welcome;

use todo_dapr::Transport;
use todo_http::respond::outcome;
use todo_http::router::{route, Route};
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
    AccountEvents,
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
    (
        "POST",
        "/events/notify/account-events",
        Endpoint::AccountEvents,
    ),
    ("POST", "/job/{name}", Endpoint::Job),
];

/// Handles one request.
pub async fn handle<T: Transport, W: Transport>(ctx: &Ctx<T, W>, request: Request) -> Response {
    let (endpoint, params) = match route(ROUTES, &request) {
        Ok(found) => found,
        Err(response) => return *response,
    };
    let param = params.first().map_or("", String::as_str);
    match endpoint {
        Endpoint::ListNotifications => outcome(notifications::list(ctx, &request).await),
        Endpoint::MarkRead => outcome(notifications::read(ctx, &request, param).await),
        Endpoint::GetSettings => outcome(notifications::get_settings(ctx, &request).await),
        Endpoint::PutSettings => outcome(notifications::put_settings(ctx, &request).await),
        Endpoint::Health => ctx.health().await,
        Endpoint::Reminders => deliveries::reminders(ctx, &request).await,
        Endpoint::AccountEvents => deliveries::account_events(ctx, &request).await,
        Endpoint::Job => jobs::fire(ctx, &request, param).await,
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
