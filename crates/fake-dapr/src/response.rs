//! The reply shapes daprd answers with: an empty status, plain text, JSON,
//! and its `{errorCode, message}` error body.

use serde_json::{json, Value};

pub(crate) fn empty(status: u16) -> http::Response<Vec<u8>> {
    http::Response::builder()
        .status(status)
        .body(Vec::new())
        .expect("valid")
}

pub(crate) fn plain(status: u16, text: &str) -> http::Response<Vec<u8>> {
    http::Response::builder()
        .status(status)
        .header("content-type", "text/plain")
        .body(text.as_bytes().to_vec())
        .expect("valid")
}

pub(crate) fn json_response(status: u16, value: &Value) -> http::Response<Vec<u8>> {
    http::Response::builder()
        .status(status)
        .header("content-type", "application/json")
        .body(serde_json::to_vec(value).expect("json"))
        .expect("valid")
}

pub(crate) fn error(status: u16, code: &str, message: &str) -> http::Response<Vec<u8>> {
    json_response(status, &json!({ "errorCode": code, "message": message }))
}
