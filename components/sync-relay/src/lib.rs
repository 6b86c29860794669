//! sync-relay: keeps each user's change feed and serves it to clients as
//! Server-Sent Events and long-poll (architecture §3–§5).
//!
//! The route table below is the whole surface. Every route answers a
//! buffered response except the event stream, which [`handle`] hands back
//! as an opened [`stream::Stream`] for the edge to run into a streaming body.

pub mod changes;
pub mod context;
pub mod deliveries;
pub mod store;
pub mod stream;

use todo_dapr::Transport;
use todo_http::respond::{outcome, problem};
use todo_http::router::{route, Route};
use todo_http::{Request, Response};

pub use context::Ctx;

/// Every endpoint sync-relay serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Endpoint {
    Stream,
    Changes,
    Health,
    TaskUpdates,
}

/// The route table. `/api` is public; `/events` is for Dapr only
/// (app-token protected).
pub const ROUTES: &[Route<Endpoint>] = &[
    ("GET", "/api/sync/stream", Endpoint::Stream),
    ("GET", "/api/sync/changes", Endpoint::Changes),
    ("GET", "/healthz/sync-relay", Endpoint::Health),
    (
        "POST",
        "/events/sync-relay/task-updates",
        Endpoint::TaskUpdates,
    ),
];

/// What a request gets: a response, or an event stream to run.
pub enum Answer {
    Full(Response),
    Stream(stream::Stream),
}

/// Handles one request.
pub async fn handle<T: Transport>(ctx: &Ctx<T>, request: Request) -> Answer {
    let endpoint = match route(ROUTES, &request) {
        Ok((endpoint, _)) => endpoint,
        Err(response) => return Answer::Full(*response),
    };
    Answer::Full(match endpoint {
        Endpoint::Stream => match stream::open(ctx, &request).await {
            Ok(opened) => return Answer::Stream(opened),
            Err(p) => problem(&p),
        },
        Endpoint::Changes => outcome(changes::changes(ctx, &request).await),
        Endpoint::Health => ctx.health().await,
        Endpoint::TaskUpdates => deliveries::task_updates(ctx, &request).await,
    })
}

#[cfg(target_arch = "wasm32")]
mod wasm {
    use spin_sdk::http::{IncomingRequest, ResponseOutparam};
    use spin_sdk::http_component;
    use todo_http::spin::BodySink;

    use crate::stream::EventSink;
    use crate::Answer;

    impl EventSink for BodySink {
        async fn send(&mut self, chunk: String) -> bool {
            BodySink::send(self, chunk.into_bytes()).await
        }
    }

    #[http_component]
    async fn entry(request: IncomingRequest, out: ResponseOutparam) {
        let ctx = crate::context::context();
        todo_http::spin::serve_streaming(request, out, |request, responder| async move {
            match crate::handle(&ctx, request).await {
                Answer::Full(response) => responder.respond(response).await,
                Answer::Stream(stream) => {
                    let mut body = responder.stream(crate::stream::head());
                    stream.run(&ctx, &mut body).await;
                    body.close().await;
                }
            }
        })
        .await;
    }
}
