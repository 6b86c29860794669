//! `GET /api/openapi.json` documents exactly the public routes task-api serves.

mod support;

use std::collections::BTreeSet;

use support::*;

#[test]
fn openapi_paths_and_methods_match_the_route_table() {
    let h = harness();
    let reply = call("GET", "/api/openapi.json").send(&h);
    assert_eq!(reply.status, 200);
    assert_eq!(reply.body["openapi"], "3.1.0");

    let documented: BTreeSet<(String, String)> = reply.body["paths"]
        .as_object()
        .unwrap()
        .iter()
        .flat_map(|(path, ops)| {
            ops.as_object()
                .unwrap()
                .keys()
                .map(move |method| (method.to_uppercase(), path.clone()))
        })
        .collect();
    let served: BTreeSet<(String, String)> = task_api::ROUTES
        .iter()
        .filter(|(_, path, _)| path.starts_with("/api/"))
        .map(|(method, path, _)| (method.to_string(), path.to_string()))
        .collect();
    assert_eq!(documented, served);
}

#[test]
fn every_schema_reference_resolves() {
    let doc: serde_json::Value = serde_json::from_str(task_api::openapi::DOCUMENT).unwrap();
    let mut refs = Vec::new();
    collect_refs(&doc, &mut refs);
    assert!(!refs.is_empty());
    for reference in refs {
        let pointer = reference.trim_start_matches('#');
        assert!(doc.pointer(pointer).is_some(), "dangling $ref {reference}");
    }
}

fn collect_refs(value: &serde_json::Value, out: &mut Vec<String>) {
    match value {
        serde_json::Value::Object(map) => {
            for (key, v) in map {
                if key == "$ref" {
                    out.push(v.as_str().unwrap().to_string());
                } else {
                    collect_refs(v, out);
                }
            }
        }
        serde_json::Value::Array(items) => items.iter().for_each(|v| collect_refs(v, out)),
        _ => {}
    }
}
