//! State API: `/v1.0/state/{store}` (save), `/{key}` (get, delete),
//! `/bulk`, `/transaction` — daprd's `pkg/api/http/http.go` handlers
//! (`onGetState`, `onPostState`, `onDeleteState`, `onBulkGetState`,
//! `onPostStateTransaction`) over the SQLite store.
//!
//! Every `state.*` component visible to the app is served by devstack's
//! store, whatever its type (the devstack overlay names it `state.devstack`).
//! Keys get daprd's prefix (`keyPrefix`: `appid` by default → `appid||key`;
//! `name`, `none` or a literal prefix) and may not contain `||`.
//!
//! Status codes as daprd: GET of a missing key → 204; ETag mismatch → 409
//! `ERR_STATE_SAVE` / `ERR_STATE_DELETE`, malformed ETag → 400; any failure
//! inside a transaction (an ETag mismatch included) → 500
//! `ERR_STATE_TRANSACTION`.

// Lookups return the ready daprd error response as their `Err`.
#![allow(clippy::result_large_err)]

use serde_json::{json, Value};

use super::{api_error, data_response, empty, json_response, kit_error, Ctx, Req, Resp};
use crate::config::Component;
use crate::store::{now_ms, StateError, StateOp};

const SEPARATOR: &str = "||";

/// Finds the state store `name`, or the daprd error response.
fn resolve<'a>(ctx: &'a Ctx, name: &str) -> Result<&'a Component, Resp> {
    if ctx
        .resources
        .components_of(&ctx.app_id, "state")
        .next()
        .is_none()
    {
        return Err(kit_error(
            500,
            "ERR_STATE_STORE_NOT_CONFIGURED",
            "DAPR_STATE_NOT_CONFIGURED",
            format!("state store {name} is not configured"),
            json!({ "appID": ctx.app_id }),
        ));
    }
    ctx.resources
        .components_of(&ctx.app_id, "state")
        .find(|c| c.name == name)
        .ok_or_else(|| {
            kit_error(
                400,
                "ERR_STATE_STORE_NOT_FOUND",
                "DAPR_STATE_NOT_FOUND",
                format!("state store {name} is not found"),
                json!({ "appID": ctx.app_id }),
            )
        })
}

/// daprd's `GetModifiedStateKey`.
fn modified_key(ctx: &Ctx, store: &Component, key: &str) -> Result<String, Resp> {
    if key.contains(SEPARATOR) {
        let msg = format!("input key/keyPrefix '{key}' can't contain '{SEPARATOR}'");
        return Err(invalid_key(key, &msg));
    }
    let prefix = match store.meta("keyPrefix").unwrap_or("appid") {
        p if p.eq_ignore_ascii_case("appid") || p.is_empty() => ctx.app_id.clone(),
        p if p.eq_ignore_ascii_case("name") => store.name.clone(),
        p if p.eq_ignore_ascii_case("none") => return Ok(key.to_string()),
        p => p.to_string(),
    };
    Ok(format!("{prefix}{SEPARATOR}{key}"))
}

/// daprd's `GetOriginalStateKey`: the part after the last `||`.
fn original_key(key: &str) -> &str {
    key.rsplit(SEPARATOR).next().unwrap_or(key)
}

fn invalid_key(key: &str, msg: &str) -> Resp {
    let body = json!({
        "errorCode": "ERR_MALFORMED_REQUEST",
        "message": msg,
        "details": [
            {
                "@type": "type.googleapis.com/google.rpc.ErrorInfo",
                "reason": "DAPR_STATE_ILLEGAL_KEY",
                "domain": "dapr.io",
            },
            {
                "@type": "type.googleapis.com/google.rpc.BadRequest",
                "field_violations": [{ "field": key, "description": msg }],
            },
        ],
    });
    json_response(400, &body)
}

fn malformed(message: impl Into<String>) -> Resp {
    api_error(400, "ERR_MALFORMED_REQUEST", message)
}

/// `GET /v1.0/state/{store}/{key}`: 200 + value + `ETag`, or 204.
pub(crate) async fn get(ctx: &Ctx, store_name: &str, key: &str, _req: &Req) -> Resp {
    let store = match resolve(ctx, store_name) {
        Ok(s) => s,
        Err(r) => return r,
    };
    let full = match modified_key(ctx, store, key) {
        Ok(k) => k,
        Err(r) => return r,
    };
    match ctx.store.state_get(&store.name, &full).await {
        Ok(None) => empty(204),
        Ok(Some(entry)) => {
            let mut resp = data_response(200, entry.value);
            if let Ok(v) = http::HeaderValue::from_str(&entry.etag) {
                resp.headers_mut().insert(http::header::ETAG, v);
            }
            if let Some(at) = entry.expires_at {
                if let Some(t) = chrono::DateTime::from_timestamp_millis(at) {
                    let text = t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
                    if let Ok(v) = http::HeaderValue::from_str(&text) {
                        resp.headers_mut().insert("metadata.ttlExpireTime", v);
                    }
                }
            }
            resp
        }
        Err(e) => api_error(
            500,
            "ERR_STATE_GET",
            format!("fail to get {key} from state store {store_name}: {e:#}"),
        ),
    }
}

/// One save request item (`state.SetRequest` as JSON).
struct SetItem {
    key: String,
    value: Value,
    etag: Option<String>,
    concurrency: Option<String>,
    metadata: serde_json::Map<String, Value>,
}

fn parse_set_item(v: &Value) -> Result<SetItem, String> {
    let obj = v
        .as_object()
        .ok_or_else(|| "each item must be an object".to_string())?;
    // mapstructure (transactions) matches field names case-insensitively.
    let field = |name: &str| {
        obj.iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v)
    };
    let key = match field("key") {
        Some(Value::String(s)) => s.clone(),
        None | Some(Value::Null) => String::new(),
        Some(other) => return Err(format!("key must be a string, got {other}")),
    };
    let etag = match field("etag") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) if s.is_empty() => None,
        Some(Value::String(s)) => Some(s.clone()),
        Some(other) => Some(other.to_string()),
    };
    let concurrency = field("options")
        .and_then(|o| o.as_object())
        .and_then(|o| {
            o.iter()
                .find(|(k, _)| k.eq_ignore_ascii_case("concurrency"))
                .and_then(|(_, v)| v.as_str().map(str::to_string))
        })
        .filter(|c| !c.is_empty());
    let metadata = field("metadata")
        .and_then(|m| m.as_object())
        .cloned()
        .unwrap_or_default();
    Ok(SetItem {
        key,
        value: field("value").cloned().unwrap_or(Value::Null),
        etag,
        concurrency,
        metadata,
    })
}

/// Turns a set request into a store op. Errors are store-level errors
/// (daprd surfaces them as 500, or inside a transaction as a failed Multi).
fn set_op(
    full_key: String,
    item: &SetItem,
    query_meta: &std::collections::BTreeMap<String, String>,
) -> Result<StateOp, StateError> {
    let first_write = match item.concurrency.as_deref() {
        None => false,
        Some("first-write") => true,
        Some("last-write") => false,
        Some(other) => {
            return Err(StateError::Store(anyhow::anyhow!(
                "unrecognized concurrency model '{other}'"
            )))
        }
    };
    let mut ttl: Option<String> = query_meta.get("ttlInSeconds").cloned();
    if let Some((_, v)) = item
        .metadata
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("ttlInSeconds"))
    {
        ttl = Some(match v {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        });
    }
    let expires_at = match ttl.as_deref().map(str::trim).filter(|t| !t.is_empty()) {
        None => None,
        Some(t) => {
            let secs: i64 = t.parse().map_err(|_| {
                StateError::Store(anyhow::anyhow!(
                    "incorrect value for metadata ttlInSeconds: {t}"
                ))
            })?;
            if secs < -1 {
                return Err(StateError::Store(anyhow::anyhow!(
                    "incorrect value for metadata ttlInSeconds: {t}"
                )));
            }
            (secs > 0).then(|| now_ms() + secs * 1000)
        }
    };
    let value = serde_json::to_vec(&item.value).map_err(|e| StateError::Store(e.into()))?;
    Ok(StateOp::Set {
        key: full_key,
        value,
        etag: item.etag.clone(),
        first_write,
        expires_at,
    })
}

/// `POST /v1.0/state/{store}`: all items in one atomic write → 204.
pub(crate) async fn save(ctx: &Ctx, store_name: &str, req: &Req) -> Resp {
    let store = match resolve(ctx, store_name) {
        Ok(s) => s,
        Err(r) => return r,
    };
    let items: Vec<Value> = match serde_json::from_slice(&req.body) {
        Ok(v) => v,
        Err(e) => return malformed(e.to_string()),
    };
    if items.is_empty() {
        return empty(204);
    }
    let query_meta = req.metadata();
    let mut ops = Vec::with_capacity(items.len());
    for raw in &items {
        let item = match parse_set_item(raw) {
            Ok(i) => i,
            Err(e) => return malformed(e),
        };
        if item.key.is_empty() {
            return malformed("\"key\" is a required field");
        }
        let full = match modified_key(ctx, store, &item.key) {
            Ok(k) => k,
            Err(r) => return r,
        };
        match set_op(full, &item, &query_meta) {
            Ok(op) => ops.push(op),
            Err(e) => return save_error(store_name, e),
        }
    }
    match ctx.store.state_apply(&store.name, ops).await {
        Ok(()) => empty(204),
        Err(e) => save_error(store_name, e),
    }
}

fn save_error(store_name: &str, e: StateError) -> Resp {
    let status = match e {
        StateError::EtagMismatch(_) => 409,
        StateError::EtagInvalid(_) => 400,
        StateError::Store(_) => 500,
    };
    api_error(
        status,
        "ERR_STATE_SAVE",
        format!("failed saving state in state store {store_name}: {e}"),
    )
}

/// `DELETE /v1.0/state/{store}/{key}` (`If-Match` → conditional) → 204.
pub(crate) async fn delete(ctx: &Ctx, store_name: &str, key: &str, req: &Req) -> Resp {
    let store = match resolve(ctx, store_name) {
        Ok(s) => s,
        Err(r) => return r,
    };
    let full = match modified_key(ctx, store, key) {
        Ok(k) => k,
        Err(r) => return r,
    };
    let etag = req
        .header("if-match")
        .map(str::to_string)
        .filter(|e| !e.is_empty());
    let op = StateOp::Delete { key: full, etag };
    match ctx.store.state_apply(&store.name, vec![op]).await {
        Ok(()) => empty(204),
        Err(e) => {
            let status = match e {
                StateError::EtagMismatch(_) => 409,
                StateError::EtagInvalid(_) => 400,
                StateError::Store(_) => 500,
            };
            api_error(
                status,
                "ERR_STATE_DELETE",
                format!("failed deleting state with key {key}: {e}"),
            )
        }
    }
}

/// `POST /v1.0/state/{store}/bulk` `{"keys":[…]}` → `[{key, data, etag}]`,
/// missing keys as `{key}` only, in request order.
pub(crate) async fn bulk_get(ctx: &Ctx, store_name: &str, req: &Req) -> Resp {
    let store = match resolve(ctx, store_name) {
        Ok(s) => s,
        Err(r) => return r,
    };
    let body: Value = match serde_json::from_slice(&req.body) {
        Ok(v) => v,
        Err(e) => return malformed(format!("failed deserializing HTTP body: {e}")),
    };
    let keys: Vec<String> = match body.get("keys") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(a)) => {
            let mut keys = Vec::with_capacity(a.len());
            for k in a {
                match k.as_str() {
                    Some(s) => keys.push(s.to_string()),
                    None => {
                        return malformed("failed deserializing HTTP body: keys must be strings")
                    }
                }
            }
            keys
        }
        Some(_) => return malformed("failed deserializing HTTP body: keys must be an array"),
    };
    let mut full = Vec::with_capacity(keys.len());
    for k in &keys {
        match modified_key(ctx, store, k) {
            Ok(f) => full.push(f),
            Err(r) => return r,
        }
    }
    match ctx.store.state_bulk_get(&store.name, full.clone()).await {
        Ok(entries) => {
            let out: Vec<Value> = full
                .iter()
                .zip(entries)
                .map(|(k, e)| {
                    let key = original_key(k);
                    match e {
                        None => json!({ "key": key }),
                        Some(e) => {
                            let data: Value =
                                serde_json::from_slice(&e.value).unwrap_or_else(|_| {
                                    Value::String(String::from_utf8_lossy(&e.value).into_owned())
                                });
                            json!({ "key": key, "data": data, "etag": e.etag })
                        }
                    }
                })
                .collect();
            json_response(200, &Value::Array(out))
        }
        Err(e) => api_error(500, "ERR_STATE_BULK_GET", format!("{e:#}")),
    }
}

/// `POST /v1.0/state/{store}/transaction`: every operation or none → 204;
/// any failure while executing → 500 `ERR_STATE_TRANSACTION`.
pub(crate) async fn transaction(ctx: &Ctx, store_name: &str, req: &Req) -> Resp {
    let store = match resolve(ctx, store_name) {
        Ok(s) => s,
        Err(r) => return r,
    };
    let body: Value = match serde_json::from_slice(&req.body) {
        Ok(v) => v,
        Err(e) => return malformed(format!("failed deserializing HTTP body: {e}")),
    };
    let operations = match body.get("operations") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(a)) => a.clone(),
        Some(_) => return malformed("failed deserializing HTTP body: operations must be an array"),
    };
    if operations.is_empty() {
        return empty(204);
    }
    let mut query_meta = req.metadata();
    if let Some(m) = body.get("metadata").and_then(|m| m.as_object()) {
        for (k, v) in m {
            if let Some(s) = v.as_str() {
                query_meta.insert(k.clone(), s.to_string());
            }
        }
    }
    let mut ops = Vec::with_capacity(operations.len());
    let mut deferred_error: Option<StateError> = None;
    for op in &operations {
        let kind = op.get("operation").and_then(|o| o.as_str()).unwrap_or("");
        let request = op.get("request").cloned().unwrap_or(Value::Null);
        let item = match parse_set_item(&request) {
            Ok(i) => i,
            Err(e) => return malformed(format!("failed deserializing HTTP body: {e}")),
        };
        match kind {
            "upsert" | "delete" => {}
            other => {
                return api_error(
                    400,
                    "ERR_NOT_SUPPORTED_STATE_OPERATION",
                    format!("operation type {other} not supported"),
                )
            }
        }
        let full = match modified_key(ctx, store, &item.key) {
            Ok(k) => k,
            Err(r) => return r,
        };
        if kind == "upsert" {
            match set_op(full, &item, &query_meta) {
                Ok(op) => ops.push(op),
                Err(e) => {
                    deferred_error.get_or_insert(e);
                }
            }
        } else {
            ops.push(StateOp::Delete {
                key: full,
                etag: item.etag.clone(),
            });
        }
    }
    let result = match deferred_error {
        Some(e) => Err(e),
        None => ctx.store.state_apply(&store.name, ops).await,
    };
    match result {
        Ok(()) => empty(204),
        Err(e) => api_error(
            500,
            "ERR_STATE_TRANSACTION",
            format!("error while executing state transaction: {e}"),
        ),
    }
}
