//! The spin-sdk (WASI p2) edge: turns Spin's streaming request into a buffered
//! [`Request`] (enforcing the body limit while reading, so an oversized upload
//! is cut off at 64 KiB + 1 instead of being buffered whole) and writes the
//! handler's [`Response`] back.

use std::future::Future;

use futures::{SinkExt, StreamExt};
use spin_sdk::http::{Fields, IncomingRequest, OutgoingResponse, ResponseOutparam};
use todo_core::Problem;

use crate::body::MAX_BODY_BYTES;
use crate::respond::problem;
use crate::{Request, Response};

/// Runs `handler` for one incoming request.
pub async fn serve<F, Fut>(incoming: IncomingRequest, out: ResponseOutparam, handler: F)
where
    F: FnOnce(Request) -> Fut,
    Fut: Future<Output = Response>,
{
    let response = match buffer_request(incoming).await {
        Ok(request) => handler(request).await,
        Err(p) => problem(&p),
    };
    write_response(out, response).await;
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
    let headers: Vec<(String, Vec<u8>)> = parts
        .headers
        .iter()
        .map(|(name, value)| (name.as_str().to_string(), value.as_bytes().to_vec()))
        .collect();
    let fields = Fields::from_list(&headers).unwrap_or_else(|_| Fields::new());
    let outgoing = OutgoingResponse::new(fields);
    let _ = outgoing.set_status_code(parts.status.as_u16());
    let mut sink = outgoing.take_body();
    out.set(outgoing);
    if !body.is_empty() {
        // The client may have gone away; there is no one left to tell.
        let _ = sink.send(body).await;
    }
    let _ = sink.close().await;
}
