//! `GET /api/openapi.json` documents exactly the public routes of every
//! component (task-api, audit, notify, recurrence, sync-relay, identity),
//! and each operation is described well enough to call it: with the bearer
//! token, except for the operations of [`WITHOUT_BEARER`] (this document,
//! and identity's sign-up, sign-in, refresh and sign-out, which say so with
//! `security: []`; refresh and sign-out take the `refresh` cookie instead,
//! and every answer that sets or deletes it lists `Set-Cookie`).

mod support;

use std::collections::BTreeSet;

use serde_json::{json, Value};
use support::*;
use todo_http::router::Route;

/// The operations anyone may call, without a bearer token.
const WITHOUT_BEARER: &[&str] = &["openapi", "signUp", "logIn", "refreshSession", "logOut"];

/// The document as task-api serves it.
fn served_document() -> Value {
    let h = harness();
    let reply = call("GET", "/api/openapi.json").send(&h);
    assert_eq!(reply.status, 200);
    assert_eq!(reply.header("content-type"), Some("application/json"));
    reply.body
}

/// The document parsed from the embedded text (so a JSON syntax error fails
/// here with its position rather than as a string body).
fn document() -> Value {
    serde_json::from_str(task_api::openapi::DOCUMENT)
        .unwrap_or_else(|e| panic!("openapi.json is not valid JSON: {e}"))
}

/// Every `(METHOD, path, operation)` the document describes.
fn operations(doc: &Value) -> Vec<(String, String, &Value)> {
    doc["paths"]
        .as_object()
        .expect("paths is an object")
        .iter()
        .flat_map(|(path, ops)| {
            ops.as_object()
                .expect("a path item is an object")
                .iter()
                .map(move |(method, op)| (method.to_uppercase(), path.clone(), op))
        })
        .collect()
}

/// The public (`/api/...`) routes of a component's route table.
fn public<E>(routes: &[Route<E>]) -> impl Iterator<Item = (String, String)> + '_ {
    routes
        .iter()
        .filter(|(_, path, _)| path.starts_with("/api/"))
        .map(|(method, path, _)| (method.to_string(), path.to_string()))
}

#[test]
fn the_document_is_served_as_the_embedded_json() {
    let doc = served_document();
    assert_eq!(doc, document());
    assert_eq!(doc["openapi"], "3.1.0");
}

#[test]
fn openapi_paths_and_methods_match_every_components_route_table() {
    let documented: BTreeSet<(String, String)> = operations(&served_document())
        .into_iter()
        .map(|(method, path, _)| (method, path))
        .collect();
    let served: BTreeSet<(String, String)> = public(task_api::ROUTES)
        .chain(public(audit::ROUTES))
        .chain(public(identity::ROUTES))
        .chain(public(notify::ROUTES))
        .chain(public(recurrence::ROUTES))
        .chain(public(sync_relay::ROUTES))
        .collect();
    let undocumented: Vec<_> = served.difference(&documented).collect();
    let not_served: Vec<_> = documented.difference(&served).collect();
    assert!(
        undocumented.is_empty() && not_served.is_empty(),
        "served but not documented: {undocumented:?}; documented but not served: {not_served:?}"
    );
}

#[test]
fn every_operation_is_complete() {
    let doc = document();
    let tags: BTreeSet<&str> = doc["tags"]
        .as_array()
        .expect("top-level tags")
        .iter()
        .map(|t| t["name"].as_str().unwrap())
        .collect();
    let mut operation_ids = BTreeSet::new();
    for (method, path, op) in operations(&doc) {
        let at = format!("{method} {path}");
        let id = op["operationId"].as_str().unwrap_or_default();
        assert!(!id.is_empty(), "{at}: no operationId");
        assert!(
            operation_ids.insert(id),
            "{at}: operationId {id} is used twice"
        );
        assert!(
            op["summary"].as_str().is_some_and(|s| !s.trim().is_empty()),
            "{at}: no summary"
        );
        let op_tags = op["tags"].as_array().map(Vec::as_slice).unwrap_or(&[]);
        assert!(!op_tags.is_empty(), "{at}: no tag");
        for tag in op_tags {
            assert!(
                tags.contains(tag.as_str().unwrap()),
                "{at}: undeclared tag {tag}"
            );
        }
        let responses = op["responses"].as_object().expect("responses");
        assert!(
            responses.keys().any(|code| code.starts_with('2')),
            "{at}: no 2xx response"
        );
        if WITHOUT_BEARER.contains(&id) {
            assert_eq!(op["security"], json!([]), "{at}: not marked `security: []`");
            continue;
        }
        // Operations without their own `security` inherit the document's.
        let security = op.get("security").unwrap_or(&doc["security"]);
        let bearer = security
            .as_array()
            .is_some_and(|reqs| reqs.iter().any(|req| req.get("bearer").is_some()));
        assert!(bearer, "{at}: not secured by the bearer scheme");
        assert!(responses.contains_key("401"), "{at}: no 401 response");
    }
}

#[test]
fn the_refresh_cookie_is_documented_where_it_travels() {
    let doc = document();
    let op = |path: &str| doc["paths"][path]["post"].clone();
    for path in ["/api/auth/refresh", "/api/auth/logout"] {
        let takes_cookie = op(path)["parameters"]
            .as_array()
            .map(Vec::as_slice)
            .unwrap_or(&[])
            .iter()
            .map(|p| resolve(&doc, p))
            .any(|p| p["in"] == "cookie" && p["name"] == "refresh");
        assert!(takes_cookie, "{path}: no `in: cookie` parameter `refresh`");
    }
    for (path, status) in [
        ("/api/auth/login", "200"),
        ("/api/auth/refresh", "200"),
        ("/api/auth/refresh", "401"),
        ("/api/auth/logout", "204"),
    ] {
        let response = resolve(&doc, &op(path)["responses"][status]).clone();
        let header = resolve(&doc, &response["headers"]["Set-Cookie"]).clone();
        let described = header["description"].as_str().unwrap_or_default();
        assert!(
            described.contains("refresh=") && described.contains("Path=/api/auth"),
            "{path} {status}: no Set-Cookie header describing the refresh cookie"
        );
    }
}

#[test]
fn every_path_parameter_is_declared() {
    let doc = document();
    for (method, path, op) in operations(&doc) {
        let declared: BTreeSet<String> = op["parameters"]
            .as_array()
            .map(Vec::as_slice)
            .unwrap_or(&[])
            .iter()
            .map(|p| resolve(&doc, p))
            .filter(|p| p["in"] == "path")
            .map(|p| p["name"].as_str().unwrap().to_string())
            .collect();
        let templated: BTreeSet<String> = path
            .split('/')
            .filter_map(|seg| seg.strip_prefix('{')?.strip_suffix('}'))
            .map(str::to_string)
            .collect();
        assert_eq!(declared, templated, "{method} {path}");
    }
}

#[test]
fn every_schema_reference_resolves() {
    let doc = document();
    let mut refs = Vec::new();
    collect_refs(&doc, &mut refs);
    assert!(!refs.is_empty());
    for reference in refs {
        let pointer = reference.trim_start_matches('#');
        assert!(doc.pointer(pointer).is_some(), "dangling $ref {reference}");
    }
}

fn resolve<'a>(doc: &'a Value, value: &'a Value) -> &'a Value {
    match value.get("$ref").and_then(Value::as_str) {
        Some(reference) => doc
            .pointer(reference.trim_start_matches('#'))
            .unwrap_or_else(|| panic!("dangling $ref {reference}")),
        None => value,
    }
}

fn collect_refs(value: &Value, out: &mut Vec<String>) {
    match value {
        Value::Object(map) => {
            for (key, v) in map {
                if key == "$ref" {
                    out.push(v.as_str().unwrap().to_string());
                } else {
                    collect_refs(v, out);
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|v| collect_refs(v, out)),
        _ => {}
    }
}
