//! One devstack sidecar on its own, as the conformance tests use it: on
//! 127.0.0.1:0, over resources given as YAML, in front of an app (usually a
//! [`RecordingApp`](super::RecordingApp)), with an in-memory store unless
//! the test brings one.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use devstack::config::{self, Resources};
use devstack::sidecar::{self, Peer, SidecarOptions};
use devstack::store::Store;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// A running sidecar.
pub struct Sidecar {
    pub addr: SocketAddr,
    pub store: Store,
    shutdown: watch::Sender<bool>,
    handle: JoinHandle<()>,
}

impl Sidecar {
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }

    /// Stops it and waits until its workers have finished.
    pub async fn stop(self) {
        let _ = self.shutdown.send(true);
        tokio::time::timeout(Duration::from_secs(20), self.handle)
            .await
            .expect("sidecar stops")
            .unwrap();
    }
}

#[derive(Default)]
pub struct SidecarConfig {
    pub api_token: Option<String>,
    pub app_token: Option<String>,
    pub peers: HashMap<String, Peer>,
    pub store: Option<Store>,
}

pub async fn start_sidecar(
    app_id: &str,
    app_addr: SocketAddr,
    resources: Resources,
    cfg: SidecarConfig,
) -> Sidecar {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let store = cfg
        .store
        .unwrap_or_else(|| Store::open(None).expect("in-memory store"));
    let (tx, rx) = watch::channel(false);
    let handle = sidecar::start(SidecarOptions {
        app_id: app_id.to_string(),
        listener,
        app_addr,
        store: store.clone(),
        resources: Arc::new(resources),
        api_token: cfg.api_token,
        app_token: cfg.app_token,
        peers: cfg.peers,
        shutdown: rx,
    });
    Sidecar {
        addr,
        store,
        shutdown: tx,
        handle,
    }
}

/// Resources from YAML text.
pub fn resources(yaml: &str) -> Resources {
    config::parse_str(yaml, Path::new("test.yaml")).expect("valid resources")
}

/// A pubsub, a state store, and whatever else is given.
pub const BASE: &str = r#"
apiVersion: dapr.io/v1alpha1
kind: Component
metadata: { name: pubsub }
spec: { type: pubsub.devstack, version: v1, metadata: [] }
---
apiVersion: dapr.io/v1alpha1
kind: Component
metadata: { name: statestore }
spec: { type: state.devstack, version: v1, metadata: [] }
"#;

/// A fast constant retry policy for the `pubsub` component's deliveries.
pub fn fast_retries(max_retries: i64) -> String {
    format!(
        r#"
---
apiVersion: dapr.io/v1alpha1
kind: Resiliency
metadata: {{ name: fast }}
spec:
  policies:
    retries:
      quick: {{ policy: constant, duration: 50ms, maxRetries: {max_retries} }}
  targets:
    components:
      pubsub:
        inbound: {{ retry: quick }}
"#
    )
}

/// An address nothing listens on (bound, then released).
pub async fn unused_addr() -> SocketAddr {
    let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
    l.local_addr().unwrap()
}
