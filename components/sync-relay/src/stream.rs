//! `GET /api/sync/stream`: the user's feed as Server-Sent Events.
//!
//! Opening checks the JWT (`Authorization`, or `?access_token=` since
//! EventSource cannot set headers), the cursor (`Last-Event-ID` wins over
//! `?since=`; neither = from the current head) and reads the head, so every
//! error is a plain problem response before the stream starts. The stream
//! then polls the feed head through the sidecar — a component has no push
//! channel: the append is made by another instance, and Dapr's HTTP API has
//! no watching read — on a [`PollSchedule`]: every 390 ms while idle (no
//! more reads per idle minute than before), every 200 ms for 30 s after it
//! wrote a change, and once more at once right after writing one (never a
//! busy loop). Heartbeats fall between polls and cost no read. It ends
//! after the configured lifetime with a `retry:` hint; EventSource
//! reconnects with `Last-Event-ID` and misses nothing.

use std::future::Future;

use todo_core::sync::feed::{start_cursor, PollSchedule};
use todo_core::sync::sse::{self, Due, StreamTimer, RETRY_MS};
use todo_core::Problem;
use todo_dapr::Transport;
use todo_http::auth::{authenticate, TokenSource};
use todo_http::respond::OrProblem;
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
        None => store::head(ctx, &user).await.or_problem()?,
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
        let mut schedule = PollSchedule::default();
        let opening = format!("{}{}", sse::retry(RETRY_MS), sse::ready(self.cursor));
        if !sink.send(opening).await {
            return;
        }
        let mut next_read = ctx.now();
        loop {
            let now = ctx.now();
            let mut out = String::new();
            match timer.due(now) {
                Due::End => break,
                Due::Heartbeat => out.push_str(&sse::heartbeat()),
                Due::Nothing => {}
            }
            let mut wrote_change = false;
            if now >= next_read {
                match store::read_after(ctx, &self.user, self.cursor).await {
                    Ok(Step::Changes(changes)) => {
                        for change in &changes {
                            out.push_str(&sse::change(change));
                            self.cursor = change.seq;
                        }
                        wrote_change = true;
                    }
                    Ok(Step::Reset(head)) => {
                        out.push_str(&sse::reset(head));
                        self.cursor = head;
                        wrote_change = true;
                    }
                    Ok(Step::UpToDate) => {}
                    Err(err) => {
                        eprintln!(
                            "sync-relay: stream of {} cannot read the feed: {err}",
                            self.user
                        );
                    }
                }
                next_read = if wrote_change {
                    // More of a burst may have landed meanwhile: look
                    // again at once.
                    schedule.changed(now);
                    now
                } else {
                    now + chrono::Duration::from_std(schedule.interval(now)).unwrap_or_default()
                };
            }
            if !out.is_empty() {
                if !sink.send(out).await {
                    return;
                }
                timer.wrote(now);
            }
            if wrote_change {
                continue;
            }
            // Capped, so a clock step cannot stall the stream.
            let until_read = (next_read - now)
                .to_std()
                .unwrap_or_default()
                .min(PollSchedule::IDLE);
            ctx.config.pause(timer.wait(now, until_read)).await;
        }
        sink.send(sse::retry(RETRY_MS)).await;
    }
}
