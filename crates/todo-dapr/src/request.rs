//! Request-building helpers shared by the API modules: path-segment and query
//! encoding the way daprd decodes them, and JSON request/response plumbing.

use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
use serde::Serialize;

use crate::DaprError;

/// Everything except RFC 3986 "unreserved" characters is percent-encoded.
///
/// daprd (pkg/api/http/server.go, middlewares.go) routes on the *escaped* path
/// (`CleanPathMiddleware` sets chi's route path to `path.Clean(URL.EscapedPath())`)
/// and then decodes each route parameter with `url.QueryUnescape`. Hence:
/// - `/` inside a key must be sent as `%2F` (a raw `/` would add a path segment
///   and the `{key}` route would not match);
/// - `+` must be sent as `%2B` (`QueryUnescape` turns a raw `+` into a space);
/// - a segment that is exactly `.` or `..` must be escaped or `path.Clean` eats it.
const SEGMENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');

/// Percent-encodes one path segment (a key, a store/topic/job/app name).
pub(crate) fn segment(value: &str, what: &str) -> Result<String, DaprError> {
    match value {
        "" => Err(DaprError::InvalidRequest(format!("{what} is empty"))),
        "." => Ok("%2E".to_string()),
        ".." => Ok("%2E%2E".to_string()),
        _ => Ok(utf8_percent_encode(value, SEGMENT).to_string()),
    }
}

/// Percent-encodes a query-string value (Go's `URL.Query()` decodes it with
/// `QueryUnescape`, so `+`, `&`, `=` and `%` must all be escaped).
pub(crate) fn query_value(value: &str) -> String {
    utf8_percent_encode(value, SEGMENT).to_string()
}

/// A request without a body.
pub(crate) fn empty(method: http::Method, path: &str) -> Result<http::Request<Vec<u8>>, DaprError> {
    http::Request::builder()
        .method(method)
        .uri(path)
        .body(Vec::new())
        .map_err(|e| DaprError::InvalidRequest(format!("{path}: {e}")))
}

/// A request with a body of the given content type.
pub(crate) fn with_body(
    method: http::Method,
    path: &str,
    content_type: &str,
    body: Vec<u8>,
) -> Result<http::Request<Vec<u8>>, DaprError> {
    http::Request::builder()
        .method(method)
        .uri(path)
        .header(http::header::CONTENT_TYPE, content_type)
        .body(body)
        .map_err(|e| DaprError::InvalidRequest(format!("{path}: {e}")))
}

/// A `POST` with a JSON body (`Content-Type: application/json`).
pub(crate) fn post_json<B: Serialize + ?Sized>(
    path: &str,
    body: &B,
) -> Result<http::Request<Vec<u8>>, DaprError> {
    let bytes = serde_json::to_vec(body).map_err(|e| DaprError::InvalidRequest(e.to_string()))?;
    with_body(http::Method::POST, path, "application/json", bytes)
}

/// `Ok(())` for any 2xx (Dapr answers 204), the classified error otherwise.
pub(crate) fn expect_success(response: &http::Response<Vec<u8>>) -> Result<(), DaprError> {
    if response.status().is_success() {
        Ok(())
    } else {
        Err(DaprError::from_response(response))
    }
}

/// The Dapr error body of a non-2xx response, if it is one.
pub(crate) fn error_body(response: &http::Response<Vec<u8>>) -> Option<crate::error::ErrorBody> {
    serde_json::from_slice(response.body()).ok()
}
