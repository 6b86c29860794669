//! One HTTP/1.1 keep-alive connection per worker (hyper's low-level client:
//! no pool, so "N connections" means exactly N sockets to the gateway).

use std::net::SocketAddr;
use std::time::Duration;

use anyhow::{anyhow, Context, Result};
use bytes::Bytes;
use http::{HeaderValue, Method, Request, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1::SendRequest;
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;

/// A request to make, independent of any connection.
#[derive(Debug, Clone)]
pub struct Req {
    pub method: Method,
    /// Path and query, e.g. `/api/tasks?limit=50`.
    pub target: String,
    /// Bearer token, if the route needs one.
    pub token: Option<String>,
    /// A JSON body.
    pub body: Option<Bytes>,
    /// The status that counts as success.
    pub expect: StatusCode,
}

impl Req {
    pub fn get(target: impl Into<String>, token: Option<&str>) -> Req {
        Req {
            method: Method::GET,
            target: target.into(),
            token: token.map(str::to_string),
            body: None,
            expect: StatusCode::OK,
        }
    }

    pub fn post_json(target: impl Into<String>, token: &str, body: Vec<u8>) -> Req {
        Req {
            method: Method::POST,
            target: target.into(),
            token: Some(token.to_string()),
            body: Some(Bytes::from(body)),
            expect: StatusCode::CREATED,
        }
    }

    pub fn expecting(mut self, status: StatusCode) -> Req {
        self.expect = status;
        self
    }
}

/// A response, read to its end.
#[derive(Debug)]
pub struct Resp {
    pub status: StatusCode,
    pub body: Bytes,
}

/// One open connection to the server.
pub struct Conn {
    addr: SocketAddr,
    host: HeaderValue,
    sender: SendRequest<Full<Bytes>>,
}

impl Conn {
    pub async fn open(addr: SocketAddr) -> Result<Conn> {
        let host = HeaderValue::from_str(&addr.to_string()).context("host header")?;
        let sender = handshake(addr).await?;
        Ok(Conn { addr, host, sender })
    }

    /// Sends `req` and reads the whole response, within `timeout`. After an
    /// error the connection is replaced, so the caller can keep using it.
    pub async fn send(&mut self, req: &Req, timeout: Duration) -> Result<Resp> {
        let result = tokio::time::timeout(timeout, self.send_inner(req)).await;
        let result = match result {
            Ok(r) => r,
            Err(_) => Err(anyhow!("no response within {timeout:?}")),
        };
        if result.is_err() {
            // The old connection may be mid-response: start over on a new one.
            self.sender = handshake(self.addr).await?;
        }
        result
    }

    async fn send_inner(&mut self, req: &Req) -> Result<Resp> {
        let mut builder = Request::builder()
            .method(req.method.clone())
            .uri(req.target.as_str())
            .header(http::header::HOST, self.host.clone());
        if let Some(token) = &req.token {
            builder = builder.header(http::header::AUTHORIZATION, format!("Bearer {token}"));
        }
        if req.body.is_some() {
            builder = builder.header(http::header::CONTENT_TYPE, "application/json");
        }
        let request = builder.body(Full::new(req.body.clone().unwrap_or_default()))?;
        self.sender.ready().await.context("connection closed")?;
        let response = self.sender.send_request(request).await?;
        let status = response.status();
        let body = response.into_body().collect().await?.to_bytes();
        Ok(Resp { status, body })
    }
}

async fn handshake(addr: SocketAddr) -> Result<SendRequest<Full<Bytes>>> {
    let stream = TcpStream::connect(addr)
        .await
        .with_context(|| format!("cannot connect to {addr}"))?;
    stream.set_nodelay(true)?;
    let (sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream)).await?;
    tokio::spawn(async move {
        let _ = connection.await;
    });
    Ok(sender)
}
