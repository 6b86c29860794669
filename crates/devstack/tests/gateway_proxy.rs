//! The `--spin` gateway (`gateway::proxy`) on its own: it keeps one upstream
//! connection per client connection alive, and a request that meets an
//! upstream connection the listener has just closed (as `spin up` closes
//! idle keep-alive connections) is sent again on a new one, never answered
//! 502 — what hyper-util's pool does (`retry_canceled_requests`).

mod support;

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use bytes::Bytes;
use http_body_util::{BodyExt, Empty};
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

use support::*;

/// An upstream that answers each connection's first request and then
/// closes it without saying so (no `Connection: close`).
async fn one_request_per_connection() -> (std::net::SocketAddr, Arc<AtomicUsize>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let connections = Arc::new(AtomicUsize::new(0));
    let counted = connections.clone();
    tokio::spawn(async move {
        loop {
            let Ok((mut stream, _)) = listener.accept().await else {
                return;
            };
            let n = counted.fetch_add(1, Ordering::SeqCst) + 1;
            tokio::spawn(async move {
                let mut head = Vec::new();
                let mut buf = [0u8; 1024];
                while !head.windows(4).any(|w| w == b"\r\n\r\n") {
                    match stream.read(&mut buf).await {
                        Ok(0) | Err(_) => return,
                        Ok(read) => head.extend_from_slice(&buf[..read]),
                    }
                }
                let body = format!("answer {n}");
                let response = format!(
                    "HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ncontent-length: {}\r\n\r\n{body}",
                    body.len()
                );
                let _ = stream.write_all(response.as_bytes()).await;
                let _ = stream.shutdown().await;
            });
        }
    });
    (addr, connections)
}

#[tokio::test]
async fn a_closed_keep_alive_upstream_connection_is_replaced_not_answered_502() {
    let manifest = devstack::manifest::load(&repo_root().join("spin.toml")).unwrap();
    let (upstream, connections) = one_request_per_connection().await;
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let gateway = listener.local_addr().unwrap();
    let _proxy = devstack::gateway::proxy::serve(
        &manifest,
        listener,
        BTreeMap::from([("task-api".to_string(), upstream)]),
        vec!["/api".to_string()],
        None,
    )
    .unwrap();

    // One client connection, kept alive, three requests in a row.
    let stream = TcpStream::connect(gateway).await.unwrap();
    let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .unwrap();
    tokio::spawn(connection);
    for n in 1..=3 {
        sender.ready().await.unwrap();
        let request = http::Request::get("/api/tasks")
            .header("host", gateway.to_string())
            .body(Empty::<Bytes>::new())
            .unwrap();
        let response = sender.send_request(request).await.unwrap();
        assert_eq!(response.status(), 200, "request {n}");
        let body = response.into_body().collect().await.unwrap().to_bytes();
        assert_eq!(body, format!("answer {n}").as_bytes(), "request {n}");
    }
    assert_eq!(
        connections.load(Ordering::SeqCst),
        3,
        "a new upstream connection each time"
    );
}
