//! The gateway over hosted components.
//!
//! Design: this gateway does not forward. It is one more [`Host`] listener that
//! serves all components directly, each with the env and variables of its
//! own app-id (its own sidecar port), so a request through the gateway and
//! one sent to the app's own listener run the same compiled component with
//! the same settings — one hop, no second copy of routing. What a component
//! observes differs only where it would in production too: `spin-full-url`
//! and `spin-client-addr` name the gateway's address and the real client.
//!
//! [`GatewayOptions::expose_prefixes`] can restrict it to the paths the
//! Kubernetes Ingress exposes (`/api/`, see [`super::is_exposed`]).

use std::collections::BTreeMap;

use anyhow::Result;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

use crate::host::{ComponentSettings, Host, ServeOptions};

/// Gateway settings.
#[derive(Debug, Clone, Default)]
pub struct GatewayOptions {
    /// Env and variables per component (e.g. `DAPR_HTTP_PORT` and
    /// `dapr_http_port` of that component's sidecar). Components not listed
    /// run with the manifest's settings and the host's variables.
    pub per_component: BTreeMap<String, ComponentSettings>,
    /// When set, only paths with one of these prefixes (or equal to an
    /// `=<path>` entry) are routed; the rest get 404 (e.g. `["/api/"]` to
    /// match the Ingress). See [`is_exposed`](super::is_exposed).
    pub expose_prefixes: Option<Vec<String>>,
}

/// Serves every component's routes on `listener` until the returned task is
/// aborted.
pub fn serve(host: &Host, listener: TcpListener, opts: GatewayOptions) -> Result<JoinHandle<()>> {
    let served: Vec<String> = {
        let mut ids: Vec<String> = host
            .manifest()
            .http_triggers
            .iter()
            .map(|t| t.component.clone())
            .collect();
        ids.sort();
        ids.dedup();
        ids
    };
    let per_component = opts
        .per_component
        .into_iter()
        .filter(|(id, _)| served.contains(id))
        .collect();
    host.serve_with(
        listener,
        ServeOptions {
            components: None,
            per_component,
            expose_prefixes: opts.expose_prefixes,
            ..ServeOptions::default()
        },
    )
}
