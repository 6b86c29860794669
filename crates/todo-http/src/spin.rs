//! The spin-sdk (WASI p2) edge: turns Spin's streaming request into a buffered
//! [`Request`] (enforcing the body limit while reading, so an oversized upload
//! is cut off at 64 KiB + 1 instead of being buffered whole) and writes the
//! handler's [`Response`] back.
//!
//! [`serve_streaming`] is the same entry for a component with a streamed
//! response (Server-Sent Events): its handler gets a [`Responder`] and either
//! answers a buffered response or starts a [`BodySink`] and writes chunks as
//! they come. [`sleep`] and [`timeout`] wait on the host's monotonic clock
//! without blocking the instance's other I/O.

use std::future::Future;
use std::pin::Pin;
use std::task::Poll;
use std::time::Duration;

use futures::{Sink, SinkExt, StreamExt};
use spin_sdk::http::{Fields, IncomingRequest, OutgoingResponse, ResponseOutparam};
use todo_core::Problem;

use crate::body::MAX_BODY_BYTES;
use crate::request_log::RequestInfo;
use crate::respond::problem;
use crate::{Request, Response};

/// Runs `handler` for one incoming request.
pub async fn serve<F, Fut>(incoming: IncomingRequest, out: ResponseOutparam, handler: F)
where
    F: FnOnce(Request) -> Fut,
    Fut: Future<Output = Response>,
{
    let started = std::time::Instant::now();
    let (response, info) = match buffer_request(incoming).await {
        Ok(request) => {
            let info = begin(&request);
            (handler(request).await, Some(info))
        }
        Err(p) => (problem(&p), None),
    };
    let status = response.status().as_u16();
    write_response(out, response).await;
    if let Some(info) = info {
        log(info.line(status, started.elapsed()));
    }
}

/// Writes one log line to stderr in a single write (`eprintln!` writes the
/// text and the newline separately: two host calls per request).
fn log(mut line: String) {
    use std::io::Write as _;
    line.push('\n');
    let _ = std::io::stderr().lock().write_all(line.as_bytes());
}

/// What every request starts with: its trace context becomes the one
/// outgoing calls carry ([`todo_dapr::trace`]), and what its log line will
/// say is taken.
fn begin(request: &Request) -> RequestInfo {
    todo_dapr::trace::set_current(todo_dapr::trace::TraceContext::from_headers(
        request.headers(),
    ));
    // A job callback comes without a context of its cause; the job carries it.
    if request.uri().path().starts_with("/job/") {
        if let Ok(mut data) = serde_json::from_slice(request.body()) {
            todo_dapr::trace::adopt(&mut data);
        }
    }
    RequestInfo::of(request)
}

async fn buffer_request(incoming: IncomingRequest) -> Result<Request, Problem> {
    let method = incoming.method().to_string();
    let path = incoming.path_with_query().unwrap_or_else(|| "/".into());
    let mut builder = http::Request::builder().method(method.as_str()).uri(path);
    let mut declared_length = None;
    for (name, value) in incoming.headers().entries() {
        if name.eq_ignore_ascii_case("content-length") {
            declared_length = std::str::from_utf8(&value)
                .ok()
                .and_then(|v| v.trim().parse::<usize>().ok());
        }
        builder = builder.header(name, value);
    }
    if declared_length.is_some_and(|len| len > MAX_BODY_BYTES) {
        return Err(Problem::payload_too_large(MAX_BODY_BYTES));
    }
    let mut body = Vec::new();
    let mut stream = incoming.into_body_stream();
    while let Some(chunk) = stream.next().await {
        let chunk = chunk
            .map_err(|e| Problem::bad_request(format!("could not read the request body: {e:?}")))?;
        body.extend_from_slice(&chunk);
        if body.len() > MAX_BODY_BYTES {
            return Err(Problem::payload_too_large(MAX_BODY_BYTES));
        }
    }
    builder
        .body(body)
        .map_err(|e| Problem::bad_request(format!("malformed request: {e}")))
}

async fn write_response(out: ResponseOutparam, response: Response) {
    let (parts, body) = response.into_parts();
    let mut sink = start_response(out, &parts);
    if !body.is_empty() {
        // The client may have gone away; there is no one left to tell.
        let _ = sink.send(body).await;
    }
    let _ = sink.close().await;
}

/// Sends the status and headers of `parts` and returns the body's sink.
fn start_response(
    out: ResponseOutparam,
    parts: &http::response::Parts,
) -> impl Sink<Vec<u8>, Error = wasi::io::streams::StreamError> {
    let headers: Vec<(String, Vec<u8>)> = parts
        .headers
        .iter()
        .map(|(name, value)| (name.as_str().to_string(), value.as_bytes().to_vec()))
        .collect();
    let fields = Fields::from_list(&headers).unwrap_or_else(|_| Fields::new());
    let outgoing = OutgoingResponse::new(fields);
    let _ = outgoing.set_status_code(parts.status.as_u16());
    let sink = outgoing.take_body();
    out.set(outgoing);
    sink
}

/// Runs `handler` for one incoming request whose response may be streamed:
/// the handler answers through the [`Responder`] (a request that cannot be
/// read is answered with its problem, as [`serve`] does).
pub async fn serve_streaming<F, Fut>(incoming: IncomingRequest, out: ResponseOutparam, handler: F)
where
    F: FnOnce(Request, Responder) -> Fut,
    Fut: Future<Output = ()>,
{
    let started = std::time::Instant::now();
    let status = std::rc::Rc::new(std::cell::Cell::new(0));
    let responder = Responder {
        out,
        status: status.clone(),
    };
    match buffer_request(incoming).await {
        Ok(request) => {
            let info = begin(&request);
            handler(request, responder).await;
            log(info.line(status.get(), started.elapsed()));
        }
        Err(p) => responder.respond(problem(&p)).await,
    }
}

/// The one answer to an incoming request: buffered, or streamed.
pub struct Responder {
    out: ResponseOutparam,
    /// The status answered, for the request's log line.
    status: std::rc::Rc<std::cell::Cell<u16>>,
}

impl Responder {
    /// Answers with a complete response.
    pub async fn respond(self, response: Response) {
        self.status.set(response.status().as_u16());
        write_response(self.out, response).await;
    }

    /// Sends `head`'s status and headers now (its body, if any, first) and
    /// returns the sink the rest of the body is written to.
    pub fn stream(self, head: Response) -> BodySink {
        self.status.set(head.status().as_u16());
        let (parts, body) = head.into_parts();
        BodySink {
            sink: Box::pin(start_response(self.out, &parts)),
            pending: body,
        }
    }
}

/// The body of a streamed response.
pub struct BodySink {
    sink: Pin<Box<dyn Sink<Vec<u8>, Error = wasi::io::streams::StreamError>>>,
    pending: Vec<u8>,
}

impl BodySink {
    /// Writes and flushes `chunk`; `false` once the client has gone away.
    pub async fn send(&mut self, chunk: Vec<u8>) -> bool {
        let mut bytes = std::mem::take(&mut self.pending);
        bytes.extend_from_slice(&chunk);
        self.sink.send(bytes).await.is_ok()
    }

    /// Ends the body.
    pub async fn close(mut self) {
        if !self.pending.is_empty() {
            let pending = std::mem::take(&mut self.pending);
            let _ = self.sink.send(pending).await;
        }
        let _ = self.sink.close().await;
    }
}

/// Waits `duration` on the host's monotonic clock. Other I/O of the
/// instance (a streamed body, outbound requests) proceeds meanwhile.
pub async fn sleep(duration: Duration) {
    use wasi::clocks::monotonic_clock;

    let nanos = u64::try_from(duration.as_nanos()).unwrap_or(u64::MAX);
    let deadline = monotonic_clock::now().saturating_add(nanos);
    let mut registration: Option<spin_executor::CancelOnDropToken> = None;
    futures::future::poll_fn(|cx| {
        if monotonic_clock::now() >= deadline {
            return Poll::Ready(());
        }
        let pollable = monotonic_clock::subscribe_instant(deadline);
        registration =
            Some(spin_executor::push_waker_and_get_token(pollable, cx.waker().clone()).into());
        Poll::Pending
    })
    .await
}

/// Runs `future` for at most `limit`: `None` when time ran out first (the
/// future is then dropped, which cancels its outbound request).
pub async fn timeout<F: Future>(limit: Duration, future: F) -> Option<F::Output> {
    let future = std::pin::pin!(future);
    let timer = std::pin::pin!(sleep(limit));
    match futures::future::select(future, timer).await {
        futures::future::Either::Left((output, _)) => Some(output),
        futures::future::Either::Right(((), _)) => None,
    }
}
