//! Production's OIDC option end to end: task-api (the real `.wasm`)
//! configured with `JWT_JWKS_URL`, `JWT_ISSUER` and `JWT_AUDIENCE` accepts
//! RS256/ES256 tokens of an issuer whose key set a test app serves over
//! HTTP, fetches that set through its allowed outbound hosts once and keeps
//! it in its state store; forged and stale tokens get 401. Without the
//! issuer among the allowed hosts, the host refuses the fetch (Spin's rule),
//! which answers 503.

mod support;

use std::collections::BTreeMap;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use bytes::Bytes;
use fake_dapr::oidc::{self, Key, AUDIENCE, ISSUER};
use http_body_util::Full;
use hyper::service::service_fn;
use hyper::Response;
use hyper_util::rt::TokioIo;
use serde_json::{json, Value};
use support::*;
use tokio::net::TcpListener;

/// A test app serving an issuer's key set at `/jwks.json`, counting requests.
struct KeySetServer {
    addr: SocketAddr,
    hits: Arc<AtomicUsize>,
}

impl KeySetServer {
    async fn start(keys: &[Key]) -> KeySetServer {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let hits = Arc::new(AtomicUsize::new(0));
        let body = Bytes::from(oidc::jwks(keys).to_string());
        let counter = hits.clone();
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let (body, counter) = (body.clone(), counter.clone());
                tokio::spawn(async move {
                    let svc = service_fn(move |req: hyper::Request<hyper::body::Incoming>| {
                        let (body, counter) = (body.clone(), counter.clone());
                        async move {
                            let response = if req.uri().path() == "/jwks.json" {
                                counter.fetch_add(1, Ordering::SeqCst);
                                Response::builder()
                                    .header("content-type", "application/jwk-set+json")
                                    .header("cache-control", "public, max-age=300")
                                    .body(Full::new(body))
                            } else {
                                Response::builder().status(404).body(Full::default())
                            };
                            Ok::<_, Infallible>(response.unwrap())
                        }
                    });
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), svc)
                        .await;
                });
            }
        });
        KeySetServer { addr, hits }
    }

    fn url(&self) -> String {
        format!("http://{}/jwks.json", self.addr)
    }

    fn origin(&self) -> String {
        format!("http://{}", self.addr)
    }

    fn hits(&self) -> usize {
        self.hits.load(Ordering::SeqCst)
    }
}

fn trusting(server: &KeySetServer, allow_outbound: bool) -> Hosting {
    Hosting {
        task_api_env: BTreeMap::from([
            ("JWT_JWKS_URL".to_string(), server.url()),
            ("JWT_ISSUER".to_string(), ISSUER.to_string()),
            ("JWT_AUDIENCE".to_string(), AUDIENCE.to_string()),
        ]),
        task_api_outbound: if allow_outbound {
            vec![server.origin()]
        } else {
            Vec::new()
        },
        ..Hosting::default()
    }
}

fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tokens_of_the_trusted_issuer_work_and_forgeries_do_not() {
    let server = KeySetServer::start(&[Key::RsaA, Key::Ec]).await;
    let env = Env::start_hosting(Overlay::default(), trusting(&server, true)).await;
    let user = unique_user("oidc");
    let as_user = |key: Key| {
        env.anonymous()
            .with_token(Some(oidc::sign(key, &oidc::claims(&user, now()))))
    };

    let created = as_user(Key::RsaA)
        .post("/api/tasks", &json!({"title": "signed by the issuer"}))
        .await;
    assert_eq!(created.status, 201, "{}", created.text());
    let id = id_of(&created.json());
    // The same `sub` through the other key sees it.
    let listed = as_user(Key::Ec).get("/api/tasks").await;
    assert_eq!(listed.status, 200, "{}", listed.text());
    let ids: Vec<Value> = listed.json()["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["id"].clone())
        .collect();
    assert_eq!(ids, vec![json!(id)]);
    assert_eq!(server.hits(), 1, "the key set is fetched once and kept");

    let good = oidc::claims(&user, now());
    let mut forgeries: Vec<(String, String)> = oidc::hs256_with_public_key(Key::RsaA, &good)
        .into_iter()
        .map(|t| ("HS256 signed with the public key".to_string(), t))
        .collect();
    forgeries.push(("alg none".into(), oidc::unsigned(&good)));
    let mut expired = good.clone();
    expired["exp"] = json!(now() - 120);
    forgeries.push(("expired".into(), oidc::sign(Key::RsaA, &expired)));
    let mut early = good.clone();
    early["nbf"] = json!(now() + 120);
    forgeries.push(("not valid yet".into(), oidc::sign(Key::Ec, &early)));
    let mut elsewhere = good.clone();
    elsewhere["aud"] = json!("another-api");
    forgeries.push(("another audience".into(), oidc::sign(Key::RsaA, &elsewhere)));
    forgeries.push((
        "a key the issuer does not publish".into(),
        oidc::sign(Key::RsaB, &good),
    ));
    forgeries.push((
        "devstack's own HS256 token".into(),
        env.secrets.token_for(&user, 3600),
    ));
    for (why, token) in forgeries {
        let answer = env
            .anonymous()
            .with_token(Some(token))
            .get(&format!("/api/tasks/{id}"))
            .await;
        assert_eq!(answer.status, 401, "{why}: {}", answer.text());
        answer.problem(401);
    }
    env.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_issuer_outside_the_allowed_outbound_hosts_cannot_be_reached() {
    let server = KeySetServer::start(&[Key::Ec]).await;
    let env = Env::start_hosting(Overlay::default(), trusting(&server, false)).await;
    let token = oidc::sign(Key::Ec, &oidc::claims(&unique_user("oidc"), now()));
    let answer = env
        .anonymous()
        .with_token(Some(token))
        .get("/api/tasks")
        .await;
    let problem = answer.problem(503);
    assert!(
        problem["detail"].as_str().unwrap().contains("issuer"),
        "{problem}"
    );
    assert_eq!(server.hits(), 0, "the host refused the request");
    env.shutdown().await;
}
