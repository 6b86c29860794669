//! `GET /api/sync/stream`: the user's feed as Server-Sent Events.
//!
//! Opening checks the JWT (`Authorization`, or `?access_token=` since
//! EventSource cannot set headers), the cursor (`Last-Event-ID` wins over
//! `?since=`; neither = from the current head) and reads the head, so every
//! error is a plain problem response before the stream starts. The stream
//! then polls the feed head through the sidecar — a component has no push
//! channel — with a growing wait while nothing happens (never a busy loop),
//! heartbeats, and ends after the configured lifetime with a `retry:` hint;
//! EventSource reconnects with `Last-Event-ID` and misses nothing.

use std::future::Future;

use todo_core::sse::{self, Due, StreamTimer, RETRY_MS};
use todo_core::sync_feed::{start_cursor, Backoff};
use todo_core::Problem;
use todo_dapr::Transport;
use todo_http::auth::{authenticate, TokenSource};
use todo_http::respond::dapr_problem;
use todo_http::{header, query_pairs, Request, Response};

use crate::store::{self, Step};
use crate::Ctx;

/// Where the stream's bytes go. `send` answers `false` once the client is
/// gone, which ends the stream.
pub trait EventSink {
    fn send(&mut self, chunk: String) -> impl Future<Output = bool>;
}

/// An accepted stream request: whose feed, from where.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stream {
    pub user: String,
    pub cursor: u64,
}

/// Checks a stream request; a problem is answered instead of a stream.
pub async fn open<T: Transport>(ctx: &Ctx<T>, request: &Request) -> Result<Stream, Problem> {
    let user = authenticate(
        &ctx.dapr,
        &ctx.config.auth,
        request,
        TokenSource::HeaderOrQuery,
        ctx.now(),
    )
    .await?;
    let query = query_pairs(request);
    if let Some((other, _)) = query
        .iter()
        .find(|(k, _)| k != "since" && k != "access_token")
    {
        return Err(Problem::bad_request(format!(
            "unknown query parameter {other:?}"
        )));
    }
    let since = query
        .iter()
        .find(|(k, _)| k == "since")
        .map(|(_, v)| v.as_str());
    let cursor = match start_cursor(header(request, "last-event-id"), since)? {
        Some(cursor) => cursor,
        None => store::head(ctx, &user)
            .await
            .map_err(|e| dapr_problem(&e))?,
    };
    Ok(Stream { user, cursor })
}

/// The response head of a stream (its body is streamed).
pub fn head() -> Response {
    http::Response::builder()
        .status(200)
        .header(http::header::CONTENT_TYPE, sse::CONTENT_TYPE)
        .header(http::header::CACHE_CONTROL, "no-cache")
        // Ask proxies (nginx ingress) not to buffer the stream.
        .header("x-accel-buffering", "no")
        .body(Vec::new())
        .expect("static response parts are valid")
}

impl Stream {
    /// Streams the feed into `sink` until the lifetime ends or the client
    /// goes away.
    pub async fn run<T: Transport, S: EventSink>(mut self, ctx: &Ctx<T>, sink: &mut S) {
        let mut timer = StreamTimer::new(ctx.now(), ctx.config.stream_lifetime);
        let mut backoff = Backoff::default();
        let opening = format!("{}{}", sse::retry(RETRY_MS), sse::ready(self.cursor));
        if !sink.send(opening).await {
            return;
        }
        loop {
            let now = ctx.now();
            let mut out = String::new();
            match timer.due(now) {
                Due::End => break,
                Due::Heartbeat => out.push_str(&sse::heartbeat()),
                Due::Nothing => {}
            }
            match store::read_after(ctx, &self.user, self.cursor).await {
                Ok(Step::Changes(changes)) => {
                    for change in &changes {
                        out.push_str(&sse::change(change));
                        self.cursor = change.seq;
                    }
                    backoff.reset();
                }
                Ok(Step::Reset(head)) => {
                    out.push_str(&sse::reset(head));
                    self.cursor = head;
                    backoff.reset();
                }
                Ok(Step::UpToDate) => {}
                Err(err) => {
                    eprintln!(
                        "sync-relay: stream of {} cannot read the feed: {err}",
                        self.user
                    );
                }
            }
            if !out.is_empty() {
                if !sink.send(out).await {
                    return;
                }
                timer.wrote(now);
                continue;
            }
            ctx.config.pause(timer.wait(now, backoff.next_wait())).await;
        }
        sink.send(sse::retry(RETRY_MS)).await;
    }
}
