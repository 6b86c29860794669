//! `GET /api/openapi.json`: the OpenAPI 3.1 description of the public API,
//! written by hand (`openapi.json`) and kept honest by a test that compares its
//! paths and methods with [`crate::ROUTES`].

use todo_http::Response;

/// The document, embedded at build time.
pub const DOCUMENT: &str = include_str!("openapi.json");

pub fn response() -> Response {
    http::Response::builder()
        .status(200)
        .header(http::header::CONTENT_TYPE, "application/json")
        .body(DOCUMENT.as_bytes().to_vec())
        .expect("static response parts are valid")
}
