//! A fake sidecar: records every request, answers with scripted responses.
#![allow(dead_code)]

use std::cell::RefCell;
use std::collections::VecDeque;

use todo_dapr::{DaprClient, Transport, TransportError};

pub const TOKEN: &str = "api-token-123";

/// One recorded request, with the bits tests assert on.
#[derive(Debug, Clone)]
pub struct Recorded {
    pub method: http::Method,
    /// Path and query exactly as sent.
    pub uri: String,
    pub headers: http::HeaderMap,
    pub body: Vec<u8>,
}

impl Recorded {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).map(|v| v.to_str().unwrap())
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).expect("request body is JSON")
    }
}

pub struct Fake {
    requests: RefCell<Vec<Recorded>>,
    responses: RefCell<VecDeque<Result<http::Response<Vec<u8>>, TransportError>>>,
}

impl Fake {
    pub fn new(responses: Vec<Result<http::Response<Vec<u8>>, TransportError>>) -> Fake {
        Fake {
            requests: RefCell::new(Vec::new()),
            responses: RefCell::new(responses.into()),
        }
    }

    pub fn requests(&self) -> Vec<Recorded> {
        self.requests.borrow().clone()
    }

    /// The single request sent (panics unless exactly one was).
    pub fn only(&self) -> Recorded {
        let requests = self.requests.borrow();
        assert_eq!(
            requests.len(),
            1,
            "expected exactly one request, got {requests:?}"
        );
        requests[0].clone()
    }
}

impl Transport for Fake {
    async fn send(
        &self,
        request: http::Request<Vec<u8>>,
    ) -> Result<http::Response<Vec<u8>>, TransportError> {
        let (parts, body) = request.into_parts();
        self.requests.borrow_mut().push(Recorded {
            method: parts.method,
            uri: parts.uri.to_string(),
            headers: parts.headers,
            body,
        });
        self.responses
            .borrow_mut()
            .pop_front()
            .expect("no scripted response left")
    }
}

/// A client with `DAPR_API_TOKEN` configured.
pub fn client(responses: Vec<Result<http::Response<Vec<u8>>, TransportError>>) -> DaprClient<Fake> {
    DaprClient::new(Fake::new(responses), Some(TOKEN.to_string()))
}

/// A client without an API token.
pub fn client_no_token(
    responses: Vec<Result<http::Response<Vec<u8>>, TransportError>>,
) -> DaprClient<Fake> {
    DaprClient::new(Fake::new(responses), None)
}

pub fn response(status: u16, body: &str) -> Result<http::Response<Vec<u8>>, TransportError> {
    Ok(http::Response::builder()
        .status(status)
        .body(body.as_bytes().to_vec())
        .unwrap())
}

pub fn no_content() -> Result<http::Response<Vec<u8>>, TransportError> {
    response(204, "")
}

pub fn json_response(
    status: u16,
    body: serde_json::Value,
) -> Result<http::Response<Vec<u8>>, TransportError> {
    Ok(http::Response::builder()
        .status(status)
        .header("content-type", "application/json")
        .body(serde_json::to_vec(&body).unwrap())
        .unwrap())
}

/// A Dapr error body as daprd writes it (kit errors add `details`).
pub fn dapr_error(
    status: u16,
    code: &str,
    message: &str,
) -> Result<http::Response<Vec<u8>>, TransportError> {
    json_response(
        status,
        serde_json::json!({
            "errorCode": code,
            "message": message,
            "details": [{
                "@type": "type.googleapis.com/google.rpc.ErrorInfo",
                "domain": "dapr.io",
                "reason": code,
                "metadata": {"appID": "task-api"}
            }]
        }),
    )
}

pub fn unreachable() -> Result<http::Response<Vec<u8>>, TransportError> {
    Err(TransportError("connection refused".into()))
}

pub fn run<F: std::future::Future>(future: F) -> F::Output {
    futures::executor::block_on(future)
}

/// Asserts the API token header is present and exact.
pub fn assert_token(request: &Recorded) {
    assert_eq!(request.header("dapr-api-token"), Some(TOKEN), "{request:?}");
}
