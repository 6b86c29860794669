//! A Dapr Component's rules: scoped to app-ids, secrets only through
//! secretKeyRef, and for each component the system uses its type, version
//! and required metadata (architecture §7).

use std::collections::BTreeSet;

use serde_json::Value;

use crate::kustomize::Resource;

use super::fields::{component_meta, list, meta_value, s, strings};
use super::APP_IDS;

/// Metadata names whose value must come from a secret, never inline.
pub(super) fn is_secret_field(name: &str) -> bool {
    let n = name.to_ascii_lowercase();
    n.contains("password") || n.contains("token") || n.contains("connectionstring") || n == "user"
}

pub(super) fn component(r: &Resource, out: &mut Vec<String>) {
    let v = &r.value;
    let at = r.describe();
    let scopes = strings(v, "/scopes");
    if scopes.is_empty() {
        out.push(format!(
            "{at}: every Component must be scoped (top-level `scopes`) to the app-ids that use it"
        ));
    }
    for sc in &scopes {
        if !APP_IDS.contains(&sc.as_str()) {
            out.push(format!("{at}: scope {sc} is not an app-id"));
        }
    }
    let mut seen = BTreeSet::new();
    for m in list(v, "/spec/metadata") {
        let Some(name) = m.get("name").and_then(Value::as_str) else {
            continue;
        };
        if !seen.insert(name.to_ascii_lowercase()) {
            out.push(format!("{at}: metadata {name} is set twice"));
        }
        if is_secret_field(name) && m.get("value").is_some() {
            out.push(format!(
                "{at}: metadata {name} holds a secret: use secretKeyRef, never an inline value"
            ));
        }
    }
    let ty = s(v, "/spec/type").unwrap_or("");
    let version = s(v, "/spec/version").unwrap_or("");
    let expect = |out: &mut Vec<String>, want_type: &str, want_version: &str| {
        if ty != want_type || version != want_version {
            out.push(format!(
                "{at}: must be {want_type} {want_version} (architecture §7), is {ty} {version}"
            ));
        }
    };
    let meta = component_meta(v);
    match r.name() {
        "statestore" => {
            expect(out, "state.postgresql", "v2");
            if meta
                .get("connectionString")
                .and_then(|m| m.get("secretKeyRef"))
                .is_none()
            {
                out.push(format!(
                    "{at}: connectionString must come from a secretKeyRef"
                ));
            }
        }
        "kafka-pubsub" => {
            expect(out, "pubsub.kafka", "v1");
            if meta_value(v, "initialOffset") != Some("oldest") {
                out.push(format!("{at}: initialOffset must be oldest (a consumer deployed after its producer misses nothing)"));
            }
            for key in ["brokers", "authType"] {
                if !meta.contains_key(key) {
                    out.push(format!("{at}: metadata {key} is required"));
                }
            }
            if meta.contains_key("consumerGroup") {
                out.push(format!("{at}: leave consumerGroup unset: it defaults to the app-id, one group per subscriber"));
            }
        }
        "todo-secrets" => expect(out, "secretstores.kubernetes", "v1"),
        "outbox-sweep" => {
            expect(out, "bindings.cron", "v1");
            if meta_value(v, "route") != Some("/internal/outbox-sweep") {
                out.push(format!("{at}: route must be /internal/outbox-sweep"));
            }
            if scopes != ["task-api"] {
                out.push(format!("{at}: must be scoped to task-api only"));
            }
        }
        "email" => {
            expect(out, "bindings.smtp", "v1");
            if scopes != ["notify"] {
                out.push(format!("{at}: must be scoped to notify only"));
            }
        }
        _ => {}
    }
}
