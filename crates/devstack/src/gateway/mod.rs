//! The public listener (default `127.0.0.1:3000`): every `[[trigger.http]]`
//! route of the app on one port, like `spin up` without `-c` — or like the
//! ingress in front of the pods. It comes in two kinds:
//!
//! - [`hosted`]: over the components devstack runs itself (`devstack up`):
//!   one more listener of the Wasm host, serving them in-process;
//! - [`proxy`]: over components served elsewhere (`devstack sidecars`, with
//!   `spin up` serving each component), forwarded over HTTP.
//!
//! Both apply the rules in this file: which paths are public
//! ([`is_exposed`], [`may_expose`]; the Kubernetes Ingress exposes `/api/`,
//! so Dapr-only routes such as `/internal/...` stay reachable only through
//! the per-app listeners), the API's own 404 for an unknown `/api/` path
//! ([`api_not_found`]) and binding the address ([`bind`]).

pub mod hosted;
pub mod proxy;

use std::net::SocketAddr;

use anyhow::{anyhow, Result};
use tokio::net::TcpListener;

/// Where the gateway listens unless told otherwise (Spin's default).
pub const DEFAULT_LISTEN: &str = "127.0.0.1:3000";

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
