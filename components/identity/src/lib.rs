//! identity: accounts — sign-up, sign-in, refresh-token rotation, sign-out —
//! and the access tokens every other component verifies (architecture §3).
//!
//! The route table below is the whole surface; handlers are plain async
//! functions over a [`Ctx`], so they run natively in tests against a fake
//! Dapr sidecar. The rules are `todo_core::identity` (its module doc has the
//! flow this component follows); here:
//!
//! - [`accounts`] — `POST /api/auth/signup`, `GET /api/auth/me`;
//! - [`sessions`] — `POST /api/auth/login`, `…/refresh`, `…/logout` (the
//!   lockout, the refresh cookie, rotation under concurrency);
//! - [`outbox`] — the account-created event, written with the account and
//!   published after the commit; a Dapr Job armed before the commit
//!   (`POST /job/account-outbox-{id}`, Dapr only) publishes it if that fails;
//! - [`store`] — the state layout (`account/`, `email/`, `refresh/`,
//!   `lockout/`) and the transactions;
//! - [`context`] — configuration (argon2id cost, lockout policy, randomness)
//!   and the signing key.
//!
//! Access tokens are the HS256 JWTs of `todo_core::auth` (`sub` = account
//! id, 15 min), signed with the `jwt-secret` the other components verify
//! with and the same `JWT_ISSUER`/`JWT_AUDIENCE`. Passwords are hashed with
//! argon2id at OWASP's parameters (m=19456 KiB, t=2, p=1) and never logged.
//! Every error is RFC 9457 problem+json; bodies over 64 KiB are refused by
//! the shared edge (413).

pub mod accounts;
pub mod context;
pub mod outbox;
pub mod sessions;
pub mod store;

use todo_dapr::Transport;
use todo_http::respond::outcome;
use todo_http::router::{route, Route};
use todo_http::{Request, Response};

pub use context::Ctx;

/// Every endpoint identity serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Endpoint {
    SignUp,
    Login,
    Refresh,
    Logout,
    Me,
    Health,
    OutboxJob,
}

/// The route table. Everything under `/api/auth` is public; only `me`
/// needs a bearer token (refresh and logout use the refresh cookie, whose
/// `Path=/api/auth` keeps it to these routes). `/job` is for Dapr only (the
/// outbox jobs' callbacks, app-token protected).
pub const ROUTES: &[Route<Endpoint>] = &[
    ("POST", "/api/auth/signup", Endpoint::SignUp),
    ("POST", "/api/auth/login", Endpoint::Login),
    ("POST", "/api/auth/refresh", Endpoint::Refresh),
    ("POST", "/api/auth/logout", Endpoint::Logout),
    ("GET", "/api/auth/me", Endpoint::Me),
    ("GET", "/healthz/identity", Endpoint::Health),
    ("POST", "/job/{name}", Endpoint::OutboxJob),
];

/// Handles one request.
pub async fn handle<T: Transport>(ctx: &Ctx<T>, request: Request) -> Response {
    let (endpoint, params) = match route(ROUTES, &request) {
        Ok(matched) => matched,
        Err(response) => return *response,
    };
    outcome(match endpoint {
        Endpoint::SignUp => accounts::signup(ctx, &request).await,
        Endpoint::Login => sessions::login(ctx, &request).await,
        Endpoint::Refresh => sessions::refresh(ctx, &request).await,
        Endpoint::Logout => sessions::logout(ctx, &request).await,
        Endpoint::Me => accounts::me(ctx, &request).await,
        Endpoint::Health => Ok(ctx.health().await),
        Endpoint::OutboxJob => {
            let name = params.first().map_or("", String::as_str);
            outbox::job(ctx, &request, name).await
        }
    })
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
