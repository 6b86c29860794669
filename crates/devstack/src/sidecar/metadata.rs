//! `GET /v1.0/healthz` (204) and `GET /v1.0/metadata` (daprd
//! `pkg/api/http/healthz.go`, `metadata.go`): the app-id, runtime version,
//! the components and declarative subscriptions this sidecar loaded.

use serde_json::{json, Value};

use super::{empty, json_response, Ctx, Resp, RUNTIME_VERSION};

pub(crate) fn healthz() -> Resp {
    empty(204)
}

fn capabilities(kind: &str) -> Vec<&'static str> {
    match kind.split('.').next().unwrap_or("") {
        "state" => vec!["ETAG", "TRANSACTIONAL", "TTL"],
        "pubsub" => vec!["SUBSCRIBE_WILDCARDS"],
        "bindings" if kind == "bindings.cron" => vec!["INPUT_BINDING"],
        "bindings" => vec!["OUTPUT_BINDING"],
        _ => vec![],
    }
}

pub(crate) fn get(ctx: &Ctx) -> Resp {
    let components: Vec<Value> = ctx
        .resources
        .components
        .iter()
        .filter(|c| c.in_scope(&ctx.app_id))
        .map(|c| {
            json!({
                "name": c.name,
                "type": c.kind,
                "version": c.version,
                "capabilities": capabilities(&c.kind),
            })
        })
        .collect();
    let subscriptions: Vec<Value> = ctx
        .resources
        .subscriptions_for(&ctx.app_id)
        .map(|s| {
            let rules: Vec<Value> = s
                .rules
                .iter()
                .map(|r| {
                    let mut rule = serde_json::Map::new();
                    if !r.match_text.is_empty() {
                        rule.insert("match".into(), Value::String(r.match_text.clone()));
                    }
                    rule.insert("path".into(), Value::String(r.path.clone()));
                    Value::Object(rule)
                })
                .collect();
            let mut sub = json!({
                "pubsubname": s.pubsubname,
                "topic": s.topic,
                "rules": rules,
                "deadLetterTopic": s.dead_letter_topic.clone().unwrap_or_default(),
                "type": "DECLARATIVE",
            });
            if !s.metadata.is_empty() {
                sub["metadata"] = json!(s.metadata);
            }
            sub
        })
        .collect();
    let mut body = json!({
        "id": ctx.app_id,
        "runtimeVersion": RUNTIME_VERSION,
        "components": components,
        "appConnectionProperties": {
            "port": ctx.app_addr.port(),
            "protocol": "http",
            "channelAddress": ctx.app_addr.ip().to_string(),
        },
        "actorRuntime": { "runtimeStatus": "DISABLED", "hostReady": false },
        "extended": {
            "daprRuntimeVersion": RUNTIME_VERSION,
            "devstackSidecarPort": ctx.listen_port.to_string(),
        },
    });
    if !subscriptions.is_empty() {
        body["subscriptions"] = Value::Array(subscriptions);
    }
    json_response(200, &body)
}
