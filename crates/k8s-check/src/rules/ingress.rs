//! The Ingress's rules: no default backend, a class, and only /api exposed
//! (plus exactly / and /assets, to the web UI).

use serde_json::Value;

use crate::kustomize::Resource;

use super::fields::{list, s};
use super::{SIDECARLESS, UI_PATHS};

pub(super) fn ingress(r: &Resource, out: &mut Vec<String>) {
    let v = &r.value;
    let at = r.describe();
    if v.pointer("/spec/defaultBackend").is_some() {
        out.push(format!("{at}: no defaultBackend: only /api is exposed"));
    }
    if s(v, "/spec/ingressClassName").is_none() {
        out.push(format!("{at}: spec.ingressClassName is required"));
    }
    for rule in list(v, "/spec/rules") {
        for p in list(rule, "/http/paths") {
            let path = p.get("path").and_then(Value::as_str).unwrap_or("");
            let path_type = p.get("pathType").and_then(Value::as_str).unwrap_or("");
            let backend = s(p, "/backend/service/name").unwrap_or("");
            let ui = UI_PATHS.contains(&(path, path_type));
            if ui && !SIDECARLESS.contains(&backend) {
                out.push(format!(
                    "{at}: path {path:?} is the web UI's and must route to web, not {backend:?}"
                ));
            } else if !(ui || path == "/api" || path.starts_with("/api/")) {
                out.push(format!(
                    "{at}: path {path:?} ({path_type}) is outside /api (only the public API, and exactly / and /assets for the UI, are exposed)"
                ));
            }
        }
    }
}
