//! The HTTP client of the tests and the one [`Answer`] it returns: [`Api`]
//! for one base address (the gateway, an app, a sidecar), optionally with a
//! bearer token, and [`call`]/[`get`]/[`post_json`] for a full URL. Every
//! request gives up after [`WAIT`].

use std::net::SocketAddr;

use bytes::Bytes;
use http::{HeaderMap, Request};
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use serde_json::Value;

use super::WAIT;

/// An HTTP response, read fully.
#[derive(Debug, Clone)]
pub struct Answer {
    pub status: u16,
    pub headers: HeaderMap,
    pub body: Bytes,
}

impl Answer {
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| {
            panic!(
                "{} answer is not JSON ({e}): {:?}",
                self.status,
                String::from_utf8_lossy(&self.body)
            )
        })
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// A Dapr API error's `errorCode` (empty when there is none).
    pub fn error_code(&self) -> String {
        self.json()["errorCode"]
            .as_str()
            .unwrap_or_default()
            .to_string()
    }

    /// Asserts an RFC 9457 problem with `status` and returns it.
    #[track_caller]
    pub fn problem(&self, status: u16) -> Value {
        assert_eq!(self.status, status, "{}", self.text());
        assert_eq!(
            self.header("content-type"),
            Some("application/problem+json"),
            "{:?}",
            self.headers
        );
        let p = self.json();
        assert_eq!(p["status"], status, "{p}");
        assert!(p["type"].is_string() && p["title"].is_string(), "{p}");
        p
    }
}

type HttpClient = Client<HttpConnector, Full<Bytes>>;

fn new_client() -> HttpClient {
    Client::builder(TokioExecutor::new()).build(HttpConnector::new())
}

/// Sends one request with `client` and reads the answer.
async fn send(
    client: &HttpClient,
    method: &str,
    url: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> Answer {
    let mut req = Request::builder().method(method).uri(url);
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let req = req.body(Full::new(Bytes::copy_from_slice(body))).unwrap();
    let resp = tokio::time::timeout(WAIT, client.request(req))
        .await
        .unwrap_or_else(|_| panic!("{method} {url}: no answer within {WAIT:?}"))
        .unwrap_or_else(|e| panic!("{method} {url}: {e}"));
    let (parts, body) = resp.into_parts();
    Answer {
        status: parts.status.as_u16(),
        headers: parts.headers,
        body: body.collect().await.unwrap().to_bytes(),
    }
}

/// `method url` with `headers` and `body`.
pub async fn call(method: &str, url: &str, headers: &[(&str, &str)], body: &[u8]) -> Answer {
    send(&new_client(), method, url, headers, body).await
}

pub async fn get(url: &str) -> Answer {
    call("GET", url, &[], b"").await
}

pub async fn post_json(url: &str, body: &Value) -> Answer {
    call(
        "POST",
        url,
        &[("content-type", "application/json")],
        &serde_json::to_vec(body).unwrap(),
    )
    .await
}

/// A small HTTP/1.1 client for one base address, optionally presenting a
/// bearer token.
#[derive(Clone)]
pub struct Api {
    pub addr: SocketAddr,
    pub token: Option<String>,
    client: HttpClient,
}

impl Api {
    pub fn new(addr: SocketAddr, token: Option<String>) -> Api {
        Api {
            addr,
            token,
            client: new_client(),
        }
    }

    /// The same client with another token (`None`: no Authorization).
    pub fn with_token(&self, token: Option<String>) -> Api {
        Api {
            token,
            ..self.clone()
        }
    }

    pub async fn call(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: &[u8],
    ) -> Answer {
        let authorization = self.token.as_ref().map(|t| format!("Bearer {t}"));
        let mut all: Vec<(&str, &str)> = Vec::new();
        if let Some(a) = &authorization {
            all.push(("authorization", a));
        }
        all.extend_from_slice(headers);
        let url = format!("http://{}{}", self.addr, path);
        send(&self.client, method, &url, &all, body).await
    }

    pub async fn get(&self, path: &str) -> Answer {
        self.call("GET", path, &[], b"").await
    }

    pub async fn delete(&self, path: &str) -> Answer {
        self.call("DELETE", path, &[], b"").await
    }

    /// `method path` with a JSON body and extra headers.
    pub async fn send_json(
        &self,
        method: &str,
        path: &str,
        body: &Value,
        headers: &[(&str, &str)],
    ) -> Answer {
        let mut all = vec![("content-type", "application/json")];
        all.extend_from_slice(headers);
        self.call(method, path, &all, &serde_json::to_vec(body).unwrap())
            .await
    }

    pub async fn post(&self, path: &str, body: &Value) -> Answer {
        self.send_json("POST", path, body, &[]).await
    }

    /// A JSON Merge Patch.
    pub async fn patch(&self, path: &str, body: &Value) -> Answer {
        self.call(
            "PATCH",
            path,
            &[("content-type", "application/merge-patch+json")],
            &serde_json::to_vec(body).unwrap(),
        )
        .await
    }

    /// Creates a task; asserts 201 and returns it.
    pub async fn create(&self, body: Value) -> Value {
        let r = self.post("/api/tasks", &body).await;
        assert_eq!(r.status, 201, "create {body}: {}", r.text());
        r.json()
    }
}
