//! The HTTP edge shared by every Todo component.
//!
//! Components are written against plain `http::Request<Vec<u8>>` →
//! `http::Response<Vec<u8>>` handlers so their logic runs natively in tests;
//! [`spin`] adapts them to spin-sdk's WASI HTTP entry point in wasm. Everything
//! about *how* we answer (problem+json, body limits, bearer auth, app token)
//! lives here once.
//!
//! Modules: [`router`] (the route table: 404/405, decoded parameters, the
//! 64 KiB check), [`body`] (reading JSON bodies), [`auth`] (bearer JWTs and
//! the app token), [`published_keys`] (an external OIDC issuer's key set,
//! fetched and kept in state), [`request_log`] (the JSON line per request),
//! [`respond`] (JSON, problem+json, `OrProblem`),
//! [`delivery`] (pub/sub replies), [`context`] (the per-request context:
//! clock, pause), and `spin` (the spin-sdk entry points, wasm only).

pub mod auth;
pub mod body;
pub mod context;
pub mod delivery;
pub mod published_keys;
pub mod request_log;
pub mod respond;
pub mod router;
#[cfg(target_arch = "wasm32")]
pub mod spin;

/// A fully buffered request, as handlers see it.
pub type Request = http::Request<Vec<u8>>;
/// A fully buffered response, as handlers produce it.
pub type Response = http::Response<Vec<u8>>;

/// Reads a WASI environment variable, treating empty as unset.
pub fn env_var(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
}

/// The query parameters of a request, decoded, in order.
pub fn query_pairs(request: &Request) -> Vec<(String, String)> {
    form_urlencoded::parse(request.uri().query().unwrap_or("").as_bytes())
        .into_owned()
        .collect()
}

/// A header as UTF-8 text, if present and valid.
pub fn header<'a>(request: &'a Request, name: &str) -> Option<&'a str> {
    request.headers().get(name).and_then(|v| v.to_str().ok())
}
