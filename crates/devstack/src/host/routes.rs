//! Route matching and the `spin-*` request headers, exactly like `spin up`.
//!
//! Spin 3 routes with the `routefinder` crate (`spinframework/spin`:
//! `crates/http/src/routes.rs`) and so does this module, with the same
//! translation of manifest routes: `/x/...` becomes `/x/*`, `:name` segments
//! capture, exact segments beat parameters beat wildcards, and a longer
//! prefix beats a shorter one. A trailing wildcard also matches the bare
//! prefix (`/api/tasks/...` serves `/api/tasks`). Private routes are never
//! routed. When two triggers share a route the later one wins and the
//! duplicate is logged, as Spin does.
//!
//! The headers a component receives are Spin's
//! (`crates/trigger-http/src/headers.rs`): `spin-full-url`,
//! `spin-path-info` (the part matched by the trailing wildcard),
//! `spin-matched-route`, `spin-base-path` (`/`), `spin-raw-component-route`,
//! `spin-component-route` (the route without `/...`), `spin-client-addr`, and
//! `spin-path-match-<name>` for every `:name` capture.

use std::net::SocketAddr;

use anyhow::{anyhow, Result};
use http::{HeaderName, HeaderValue};

use crate::manifest::{HttpTrigger, Route};

/// Prefix of the paths Spin answers itself.
pub const WELL_KNOWN_PREFIX: &str = "/.well-known/spin/";

/// Routes request paths to components.
#[derive(Debug)]
pub struct Router {
    router: routefinder::Router<RouteHandler>,
    /// `(route, component)` in manifest order, for display.
    listing: Vec<(String, String)>,
}

#[derive(Debug, Clone)]
struct RouteHandler {
    component_id: String,
    /// The route with the base (always `/`) applied.
    based_route: String,
    /// The route as written in the manifest.
    raw_route: String,
}

/// A successful match.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RouteMatch {
    /// The component that serves the request.
    pub component_id: String,
    /// The matched route including the base (`spin-matched-route`).
    pub based_route: String,
    /// The matched route as written (`spin-raw-component-route`).
    pub raw_route: String,
    /// The part of the path matched by a trailing wildcard
    /// (`spin-path-info`).
    pub trailing_wildcard: String,
    /// `:name` captures (`spin-path-match-<name>`).
    pub named_wildcards: Vec<(String, String)>,
}

impl RouteMatch {
    /// The raw route without its trailing `/...` (`spin-component-route`).
    pub fn raw_route_or_prefix(&self) -> &str {
        self.raw_route
            .strip_suffix("/...")
            .unwrap_or(&self.raw_route)
    }
}

impl Router {
    /// Builds a router from the HTTP triggers of the given components (all
    /// when `components` is `None`), in manifest order.
    pub fn build<'a>(
        triggers: impl IntoIterator<Item = &'a HttpTrigger>,
        components: Option<&[String]>,
    ) -> Result<Router> {
        // (raw route, component) after dropping private and unselected ones,
        // de-duplicated by raw route: the later trigger wins, in the
        // earlier one's position (as an IndexMap insert does in Spin).
        let mut entries: Vec<(String, String)> = Vec::new();
        for t in triggers {
            if let Some(selected) = components {
                if !selected.iter().any(|c| c == &t.component) {
                    continue;
                }
            }
            let Route::Path(raw) = &t.route else {
                continue;
            };
            if let Some(existing) = entries.iter_mut().find(|(r, _)| r == raw) {
                tracing::error!(
                    "The following component routes are duplicates and will never be used: {}: {} (duplicate of {})",
                    existing.1,
                    if raw.is_empty() { "/" } else { raw.as_str() },
                    t.component
                );
                existing.1 = t.component.clone();
            } else {
                entries.push((raw.clone(), t.component.clone()));
            }
        }

        let mut router = routefinder::Router::new();
        for (raw, component) in &entries {
            let based = sanitize_with_base("/", raw);
            let spec = match based.strip_suffix("/...") {
                Some(prefix) => format!("{prefix}/*"),
                None => based.clone(),
            };
            router
                .add(
                    spec.as_str(),
                    RouteHandler {
                        component_id: component.clone(),
                        based_route: based.clone(),
                        raw_route: raw.clone(),
                    },
                )
                .map_err(|e| {
                    anyhow!(
                        "Error parsing route {based} associated with component {component}: {e}"
                    )
                })?;
            if based.starts_with(WELL_KNOWN_PREFIX) {
                tracing::error!(
                    "Routes under {WELL_KNOWN_PREFIX} are handled by the Spin runtime and will never be reached"
                );
            }
        }
        Ok(Router {
            router,
            listing: entries,
        })
    }

    /// The component for a request path (without query), if any.
    pub fn route(&self, path: &str) -> Option<RouteMatch> {
        let m = self.router.best_match(path)?;
        let handler = m.handler();
        let captures = m.captures();
        let trailing_wildcard = captures
            .wildcard()
            .map(|s| match (s.is_empty(), path.ends_with('/')) {
                (true, false) => s.to_owned(),
                (true, true) => "/".to_owned(),
                (false, false) => format!("/{s}"),
                (false, true) => format!("/{s}/"),
            })
            .unwrap_or_default();
        let named_wildcards = captures
            .iter()
            .map(|(name, value)| (name.to_owned(), value.to_owned()))
            .collect();
        Some(RouteMatch {
            component_id: handler.component_id.clone(),
            based_route: handler.based_route.clone(),
            raw_route: handler.raw_route.clone(),
            trailing_wildcard,
            named_wildcards,
        })
    }

    /// `(route, component)` pairs in manifest order, for a startup listing.
    pub fn routes(&self) -> &[(String, String)] {
        &self.listing
    }

    /// True when no route is served.
    pub fn is_empty(&self) -> bool {
        self.listing.is_empty()
    }
}

fn sanitize_with_base(base: &str, path: &str) -> String {
    let path = if path.starts_with('/') {
        path.to_string()
    } else {
        format!("/{path}")
    };
    format!("{}{}", strip_one_slash(base), strip_one_slash(&path))
}

fn strip_one_slash(s: &str) -> &str {
    s.strip_suffix('/').unwrap_or(s)
}

/// Replaces a request's headers by the client's headers followed by the
/// `spin-*` headers, as Spin's wasi-http executor does. `scheme` and `host`
/// build `spin-full-url` (`host` is the `Host` header, `localhost` if none).
pub fn add_spin_headers(
    headers: &mut http::HeaderMap,
    uri: &http::Uri,
    route: &RouteMatch,
    client_addr: SocketAddr,
) {
    let host = headers
        .get(http::header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or("localhost")
        .to_string();
    let scheme = uri.scheme_str().unwrap_or("http");
    let abs_path = uri.path_and_query().map(|p| p.as_str()).unwrap_or("/");
    let full_url = format!("{scheme}://{host}{abs_path}");

    let mut add = |name: &str, value: &str| {
        if let (Ok(name), Ok(value)) = (
            HeaderName::from_bytes(name.as_bytes()),
            HeaderValue::from_bytes(value.as_bytes()),
        ) {
            headers.append(name, value);
        }
    };
    add("spin-path-info", &route.trailing_wildcard);
    add("spin-full-url", &full_url);
    add("spin-matched-route", &route.based_route);
    add("spin-base-path", "/");
    add("spin-raw-component-route", &route.raw_route);
    add("spin-component-route", route.raw_route_or_prefix());
    add("spin-client-addr", &client_addr.to_string());
    for (name, value) in &route.named_wildcards {
        add(
            &format!(
                "spin-path-match-{}",
                name.to_ascii_lowercase().replace('_', "-")
            ),
            value,
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn trig(route: &str, component: &str) -> HttpTrigger {
        HttpTrigger {
            id: None,
            component: component.into(),
            route: Route::Path(route.into()),
        }
    }

    fn router(routes: &[(&str, &str)]) -> Router {
        let t: Vec<_> = routes.iter().map(|(r, c)| trig(r, c)).collect();
        Router::build(&t, None).unwrap()
    }

    fn comp(r: &Router, path: &str) -> Option<String> {
        r.route(path).map(|m| m.component_id)
    }

    #[test]
    fn exact_and_wildcard() {
        let r = router(&[("/foo", "foo"), ("/foo/bar", "foobar"), ("/w/...", "w")]);
        assert_eq!(comp(&r, "/foo").unwrap(), "foo");
        assert_eq!(comp(&r, "/foo/bar").unwrap(), "foobar");
        assert_eq!(comp(&r, "/w").unwrap(), "w");
        assert_eq!(comp(&r, "/w/x/y").unwrap(), "w");
        assert_eq!(comp(&r, "/nope"), None);
        assert_eq!(comp(&r, "/foo/baz"), None);
    }

    #[test]
    fn longest_prefix_and_exact_win() {
        let r = router(&[
            ("/one/...", "one"),
            ("/one/two/three/...", "three"),
            ("/one/two/...", "two"),
            ("/...", "all"),
            ("/one", "exact"),
        ]);
        assert_eq!(comp(&r, "/one/two/three/four").unwrap(), "three");
        assert_eq!(comp(&r, "/one/two/x").unwrap(), "two");
        assert_eq!(comp(&r, "/one/x").unwrap(), "one");
        assert_eq!(comp(&r, "/one").unwrap(), "exact");
        assert_eq!(comp(&r, "/").unwrap(), "all");
        assert_eq!(comp(&r, "/elsewhere").unwrap(), "all");
    }

    #[test]
    fn trailing_wildcard_like_spin() {
        let r = router(&[("/test/...", "c")]);
        assert_eq!(r.route("/test").unwrap().trailing_wildcard, "");
        assert_eq!(r.route("/test/").unwrap().trailing_wildcard, "/");
        assert_eq!(r.route("/test/hello").unwrap().trailing_wildcard, "/hello");
        assert_eq!(
            r.route("/test/hello/").unwrap().trailing_wildcard,
            "/hello/"
        );
        let r = router(&[("/...", "c")]);
        assert_eq!(r.route("/1/2/3").unwrap().trailing_wildcard, "/1/2/3");
    }

    #[test]
    fn named_wildcards() {
        let r = router(&[("/1/:two/...", "c")]);
        let m = r.route("/1/2/3").unwrap();
        assert_eq!(
            m.named_wildcards,
            vec![("two".to_string(), "2".to_string())]
        );
        assert_eq!(m.trailing_wildcard, "/3");
    }

    #[test]
    fn private_and_unselected_routes_are_not_routed_and_last_duplicate_wins() {
        let t = vec![
            trig("/a", "first"),
            HttpTrigger {
                id: None,
                component: "private".into(),
                route: Route::Private,
            },
            trig("/a", "second"),
            trig("/b", "other"),
        ];
        let r = Router::build(&t, None).unwrap();
        assert_eq!(comp(&r, "/a").unwrap(), "second");
        assert_eq!(r.routes().len(), 2);
        let only = vec!["other".to_string()];
        let r = Router::build(&t, Some(&only)).unwrap();
        assert_eq!(comp(&r, "/a"), None);
        assert_eq!(comp(&r, "/b").unwrap(), "other");
    }

    #[test]
    fn spin_headers() {
        let r = router(&[("/foo/:userid/...", "c")]);
        let m = r.route("/foo/42/bar").unwrap();
        let uri: http::Uri = "http://fermyon.dev/foo/42/bar?key1=value1&key2=value2"
            .parse()
            .unwrap();
        let mut h = http::HeaderMap::new();
        h.insert("host", "fermyon.dev".parse().unwrap());
        add_spin_headers(&mut h, &uri, &m, "127.0.0.1:8777".parse().unwrap());
        let get = |n: &str| h.get(n).unwrap().to_str().unwrap().to_string();
        assert_eq!(
            get("spin-full-url"),
            "http://fermyon.dev/foo/42/bar?key1=value1&key2=value2"
        );
        assert_eq!(get("spin-path-info"), "/bar");
        assert_eq!(get("spin-matched-route"), "/foo/:userid/...");
        assert_eq!(get("spin-base-path"), "/");
        assert_eq!(get("spin-raw-component-route"), "/foo/:userid/...");
        assert_eq!(get("spin-component-route"), "/foo/:userid");
        assert_eq!(get("spin-client-addr"), "127.0.0.1:8777");
        assert_eq!(get("spin-path-match-userid"), "42");
    }
}
