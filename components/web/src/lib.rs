//! web: serves the browser UI (architecture §1) — the Vite build of `web/`,
//! embedded into the component when it is compiled (`build.rs`), so the
//! `.wasm` is the whole deployable and needs no volume, no sidecar and no
//! outbound access.
//!
//! `/` and `/assets/...` are the files; any other `GET` path that does not
//! look like a file gets `index.html` (SPA fallback), except the API and
//! Dapr prefixes, which answer 404 problem+json so a missing API route never
//! turns into an HTML page. Every answer carries a strict
//! `Content-Security-Policy` (only same-origin scripts, styles and
//! connections; no inline code, no framing). Hashed `/assets/` are cached
//! for a year (`immutable`), `index.html` is revalidated (`no-cache` +
//! `ETag` → 304). A gzip copy made at build time is sent when the client
//! accepts it.

use http::header::{self, HeaderValue};
use http::{Method, StatusCode};
use todo_http::{Request, Response};

/// One embedded file.
#[derive(Debug)]
pub struct Asset {
    /// Its route, e.g. `/index.html`, `/assets/index-3f2a.js`.
    pub path: &'static str,
    pub content_type: &'static str,
    /// Strong validator of the identity bytes (quoted).
    pub etag: &'static str,
    pub body: &'static [u8],
    /// The gzip copy, when it is smaller.
    pub gzip: Option<&'static [u8]>,
}

include!(concat!(env!("OUT_DIR"), "/assets.rs"));

/// The policy every response carries: same-origin everything, no inline
/// script or style, no plugins, no framing, no `<base>` tricks.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; script-src 'self'; \
style-src 'self'; img-src 'self' data:; font-src 'self'; connect-src 'self'; \
manifest-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

/// Paths that belong to the API or to Dapr: never the SPA fallback.
const RESERVED_PREFIXES: &[&str] = &["/api/", "/healthz/", "/internal/", "/events/", "/job/"];

/// The health route (no sidecar to check: the component is self-contained).
pub const HEALTH_PATH: &str = "/healthz/web";

/// The embedded file at `path` (`/` is `/index.html`).
pub fn asset(path: &str) -> Option<&'static Asset> {
    let path = if path == "/" { "/index.html" } else { path };
    ASSETS
        .binary_search_by(|a| a.path.cmp(path))
        .ok()
        .map(|i| &ASSETS[i])
}

/// Handles one request.
pub fn handle(request: &Request) -> Response {
    let path = request.uri().path();
    let method = request.method();
    // An API path no component serves reaches the catch-all route: answer as
    // the API would (problem+json 404, any method), not as the UI.
    if path != HEALTH_PATH
        && RESERVED_PREFIXES
            .iter()
            .any(|p| path.starts_with(p) || path == &p[..p.len() - 1])
    {
        return todo_http::router::unmatched_response(&[], path);
    }
    if method != Method::GET && method != Method::HEAD {
        return todo_http::router::unmatched_response(&["GET", "HEAD"], path);
    }
    if path == HEALTH_PATH {
        return todo_http::respond::json(200, &serde_json::json!({ "status": "ok" }));
    }
    let found = asset(path).or_else(|| {
        let last = path.rsplit('/').next().unwrap_or("");
        // A route of the single-page app, not a missing file.
        (!path.starts_with("/assets/") && !last.contains('.'))
            .then(|| asset("/").expect("index.html is always embedded"))
    });
    match found {
        Some(asset) => serve(request, asset),
        None => todo_http::router::unmatched_response(&[], path),
    }
}

fn serve(request: &Request, asset: &'static Asset) -> Response {
    let gzip = asset.gzip.filter(|_| accepts_gzip(request));
    let etag = match gzip {
        // A different representation needs its own strong validator.
        Some(_) => format!("{}-gz\"", &asset.etag[..asset.etag.len() - 1]),
        None => asset.etag.to_string(),
    };
    let immutable = asset.path.starts_with("/assets/");
    let mut builder = http::Response::builder()
        .header(header::ETAG, &etag)
        .header(
            header::CACHE_CONTROL,
            if immutable {
                "public, max-age=31536000, immutable"
            } else {
                "no-cache"
            },
        )
        .header(header::VARY, "Accept-Encoding")
        .header(header::CONTENT_SECURITY_POLICY, CONTENT_SECURITY_POLICY)
        .header(header::X_CONTENT_TYPE_OPTIONS, "nosniff")
        .header(header::REFERRER_POLICY, "no-referrer")
        .header(header::X_FRAME_OPTIONS, "DENY");
    if not_modified(request, asset.etag) {
        return builder
            .status(StatusCode::NOT_MODIFIED)
            .body(Vec::new())
            .expect("valid response");
    }
    builder = builder.status(StatusCode::OK).header(
        header::CONTENT_TYPE,
        HeaderValue::from_static(asset.content_type),
    );
    if gzip.is_some() {
        builder = builder.header(header::CONTENT_ENCODING, "gzip");
    }
    let body = if request.method() == Method::HEAD {
        Vec::new()
    } else {
        gzip.unwrap_or(asset.body).to_vec()
    };
    builder.body(body).expect("valid response")
}

/// `Accept-Encoding` lists `gzip` (or `*`) without `q=0`.
fn accepts_gzip(request: &Request) -> bool {
    let Some(value) = todo_http::header(request, "accept-encoding") else {
        return false;
    };
    value.split(',').any(|item| {
        let mut parts = item.split(';');
        let coding = parts.next().unwrap_or("").trim();
        let refused = parts.any(|p| {
            let p = p.trim();
            p.strip_prefix("q=")
                .and_then(|q| q.trim().parse::<f32>().ok())
                .is_some_and(|q| q == 0.0)
        });
        (coding.eq_ignore_ascii_case("gzip") || coding == "*") && !refused
    })
}

/// `If-None-Match` names this file (either representation) or is `*`.
fn not_modified(request: &Request, etag: &str) -> bool {
    let Some(value) = todo_http::header(request, "if-none-match") else {
        return false;
    };
    let bare = etag.trim_matches('"');
    value.split(',').any(|tag| {
        let tag = tag.trim();
        let tag = tag.strip_prefix("W/").unwrap_or(tag).trim_matches('"');
        tag == "*" || tag == bare || tag.strip_suffix("-gz") == Some(bare)
    })
}

#[cfg(target_arch = "wasm32")]
mod wasm {
    use spin_sdk::http::{IncomingRequest, ResponseOutparam};
    use spin_sdk::http_component;

    #[http_component]
    async fn entry(request: IncomingRequest, out: ResponseOutparam) {
        todo_http::spin::serve(
            request,
            out,
            |request| async move { crate::handle(&request) },
        )
        .await;
    }
}
