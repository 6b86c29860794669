//! The public listener (default `127.0.0.1:3000`): every `[[trigger.http]]`
//! route of the app on one port, like `spin up` without `-c` — or like the
//! ingress in front of the pods.
//!
//! Design: the gateway is not a proxy. It is one more [`Host`] listener that
//! serves all components directly, each with the env and variables of its
//! own app-id (its own sidecar port), so a request through the gateway and
//! one sent to the app's own listener run the same compiled component with
//! the same settings — one hop, no second copy of routing. What a component
//! observes differs only where it would in production too: `spin-full-url`
//! and `spin-client-addr` name the gateway's address and the real client.
//!
//! [`GatewayOptions::expose_prefixes`] can restrict it to the paths the
//! Kubernetes Ingress exposes (`/api/`), so Dapr-only routes such as
//! `/internal/...` stay reachable only through the per-app listeners.

use std::collections::BTreeMap;
use std::net::SocketAddr;

use anyhow::{anyhow, Result};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

use crate::host::{ComponentSettings, Host, ServeOptions};

/// Where the gateway listens unless told otherwise (Spin's default).
pub const DEFAULT_LISTEN: &str = "127.0.0.1:3000";

/// Gateway settings.
#[derive(Debug, Clone, Default)]
pub struct GatewayOptions {
    /// Env and variables per component (e.g. `DAPR_HTTP_PORT` and
    /// `dapr_http_port` of that component's sidecar). Components not listed
    /// run with the manifest's settings and the host's variables.
    pub per_component: BTreeMap<String, ComponentSettings>,
    /// When set, only paths with one of these prefixes (or equal to an
    /// `=<path>` entry) are routed; the rest get 404 (e.g. `["/api/"]` to
    /// match the Ingress). See [`is_exposed`].
    pub expose_prefixes: Option<Vec<String>>,
}

/// Whether `path` passes an expose list: an entry `=<path>` must equal it
/// (like nginx's `location = /`), any other entry is a prefix.
pub fn is_exposed(path: &str, entries: &[String]) -> bool {
    entries.iter().any(|e| match e.strip_prefix('=') {
        Some(exact) => path == exact,
        None => path.starts_with(e.as_str()),
    })
}

/// Whether a manifest route can serve a path that `entries` expose, so a
/// gateway restricted to them needs it. Dapr-only routes (`/job/...`, which
/// task-api and notify both declare, each for its own pod) are left out, so
/// they are neither routed nor reported as duplicates.
pub fn may_expose(route: &str, entries: &[String]) -> bool {
    let Some(prefix) = route.strip_suffix("/...") else {
        return is_exposed(route, entries);
    };
    let with_slash = format!("{prefix}/");
    entries.iter().any(|e| match e.strip_prefix('=') {
        // A wildcard route also serves its bare prefix.
        Some(exact) => exact.starts_with(&with_slash) || exact == prefix || prefix.is_empty(),
        None => e.starts_with(&with_slash) || with_slash.starts_with(e.as_str()),
    })
}

/// What the gateway answers for an `/api/...` path no component serves: the
/// API's own 404 (problem+json), as the components answer an unknown path,
/// not the empty 404 a Spin listener gives. `None` for other paths.
pub fn api_not_found(path: &str) -> Option<String> {
    (path == "/api" || path.starts_with("/api/")).then(|| {
        let problem = todo_core::Problem::not_found(format!("no route for {path}"));
        String::from_utf8(problem.to_json()).expect("JSON is UTF-8")
    })
}

/// The content type of [`api_not_found`]'s body.
pub const PROBLEM_JSON: &str = "application/problem+json";

/// Binds the gateway address, with Spin's wording when it is taken.
pub async fn bind(addr: SocketAddr) -> Result<TcpListener> {
    TcpListener::bind(addr).await.map_err(|e| {
        if e.kind() == std::io::ErrorKind::AddrInUse {
            anyhow!("{addr} is already in use; pick another address for the gateway")
        } else {
            anyhow!("Unable to listen on {addr}: {e}")
        }
    })
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

#[cfg(test)]
mod tests {
    use super::is_exposed;

    #[test]
    fn exact_entries_match_only_themselves() {
        let entries: Vec<String> = crate::stack::PUBLIC_PREFIXES
            .iter()
            .map(|e| e.to_string())
            .collect();
        for open in ["/", "/api/tasks", "/healthz/web", "/assets/index-1.js"] {
            assert!(is_exposed(open, &entries), "{open}");
        }
        for hidden in [
            "/internal/tasks/next",
            "/events/audit/x",
            "/job/reminder-1",
            "/x",
            "/index.html",
            "",
        ] {
            assert!(!is_exposed(hidden, &entries), "{hidden}");
        }
    }
}
