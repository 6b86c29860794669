//! State API: `/v1.0/state/{store}` (save), `/{key}` (get, delete),
//! `/bulk`, `/transaction` — daprd's `pkg/api/http/http.go` handlers
//! (`onGetState`, `onPostState`, `onDeleteState`, `onBulkGetState`,
//! `onPostStateTransaction`) over the SQLite store.
//!
//! One file past 600 lines on purpose: most of it is this page of daprd's
//! exact behaviours, and the five routes share the key, ETag and TTL rules
//! it describes; split, the rules and the routes that apply them would part.
//!
//! Every `state.*` component visible to the app is served by devstack's
//! store, whatever its type (the devstack overlay names it `state.devstack`).
//! Keys get daprd's prefix (`keyPrefix`: `appid` by default → `appid||key`;
//! `name`, `none` or a literal prefix) and may not contain `||`.
//!
//! Status codes as daprd: GET of a missing key → 204; ETag mismatch → 409
//! `ERR_STATE_SAVE` / `ERR_STATE_DELETE`, a malformed ETag too (PostgreSQL
//! v2 reports it as a mismatch, see `store::StateError`); a first-write
//! on an existing key → 500 `ERR_STATE_SAVE` "no item was updated" (what the
//! PostgreSQL v2 store production runs reports, see `store::StateError`); any failure
//! inside a transaction (an ETag mismatch included) → 500
//! `ERR_STATE_TRANSACTION`.
//!
//! Values are bytes (architecture §5 "values pass through the sidecar as bytes"):
//! a save or transaction upsert stores the JSON text of the item's `value`
//! exactly as the request carried it (captured as a
//! [`serde_json::value::RawValue`], so only its syntax is checked, never
//! rebuilt), and GET and bulk GET write the stored bytes into the response
//! without parsing them. What daprd does, read in its source:
//! - GET (`pkg/api/http/http.go` `onGetState`): the store's `Data` is the
//!   body as is (`fasthttpResponseWithJSON(200, resp.Data, …)`); the
//!   PostgreSQL v2 store (components-contrib
//!   `state/postgresql/v2/postgresql.go` `Get`) returns the `value` BYTEA
//!   column untouched, plus `ttlExpireTime` metadata (RFC 3339, seconds)
//!   when the row expires, sent as the `metadata.ttlExpireTime` header.
//! - bulk GET (`onBulkGetState`): each item is a `BulkGetResponse`
//!   (`pkg/api/http/responses.go`: `key`, `data` as `json.RawMessage`,
//!   `etag`, `metadata`, `error`, in that order, all but `key` omitempty);
//!   PostgreSQL v2 `BulkGet` gives the same bytes and `ttlExpireTime`
//!   metadata as `Get`. Go's `json.Marshal` compacts a `RawMessage` and
//!   escapes `<`, `>`, `&`; that is a no-op on what daprd's own save stored
//!   (already Go-encoded), so devstack writes the stored bytes verbatim and
//!   GET and bulk GET always agree.
//! - save / transaction (`onPostState`, `onPostStateTransaction`):
//!   `state.SetRequest.Value` is `any`, and PostgreSQL v2 `doSet` stores
//!   `json.Marshal(value)`, so a JSON string value is stored as its JSON
//!   encoding (`"s"` with the quotes) and `null`/a missing value as `null` —
//!   devstack stores the same JSON text. Known difference: daprd's
//!   `json.Unmarshal` into `any` + `json.Marshal` also re-encodes the
//!   document (sorted keys, no whitespace, numbers as float64 — so
//!   `12345678901234567890` comes back as `12345678901234567000` and `1.0` as
//!   `1` — `<>&` as `\u003c…`); devstack keeps the bytes as sent. Components
//!   parse values with serde and send compact JSON, so only the spelling of
//!   such numbers differs from what they see on Kubernetes.

// Lookups return the ready daprd error response as their `Err`.
#![allow(clippy::result_large_err)]

use std::collections::BTreeMap;

use serde_json::value::RawValue;
use serde_json::{json, Value};

use super::{api_error, data_response, empty, json_response, kit_error, Ctx, Req, Resp};
use crate::config::Component;
use crate::store::{now_ms, StateEntry, StateError, StateOp};

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

/// PostgreSQL v2's `ttlExpireTime` metadata: the expiry in UTC, RFC 3339
/// with whole seconds (Go's `time.RFC3339`).
fn ttl_expire_time(expires_at: Option<i64>) -> Option<String> {
    let t = chrono::DateTime::from_timestamp_millis(expires_at?)?;
    Some(t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
}

/// `GET /v1.0/state/{store}/{key}`: 200 + the stored bytes + `ETag`, or 204.
pub(crate) async fn get(ctx: &Ctx, store_name: &str, key: &str, _req: &Req) -> Resp {
    let store = match resolve(ctx, store_name) {
        Ok(s) => s,
        Err(r) => return r,
    };
    let full = match modified_key(ctx, store, key) {
        Ok(k) => k,
        Err(r) => return r,
    };
    let found = ctx
        .outbound(
            &store.name,
            |_| false,
            failed,
            || ctx.store.state_get(&store.name, &full),
        )
        .await;
    match found {
        Ok(None) => empty(204),
        Ok(Some(entry)) => {
            let mut resp = data_response(200, entry.value);
            if let Ok(v) = http::HeaderValue::from_str(&entry.etag) {
                resp.headers_mut().insert(http::header::ETAG, v);
            }
            if let Some(text) = ttl_expire_time(entry.expires_at) {
                if let Ok(v) = http::HeaderValue::from_str(&text) {
                    resp.headers_mut().insert("metadata.ttlExpireTime", v);
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

/// An error of the policy runner (a timeout, a refusal by the breaker).
fn failed(message: &str) -> anyhow::Error {
    anyhow::anyhow!("{message}")
}

fn state_failed(message: &str) -> StateError {
    StateError::Store(failed(message))
}

/// A JSON object with its members still unparsed, borrowed from the request
/// body. A `BTreeMap`, like `serde_json::Map` without `preserve_order`: of
/// duplicate names the last wins, and members are looked at in name order.
type RawObject<'a> = BTreeMap<String, &'a RawValue>;

/// `raw` as an object, `None` when it is another JSON value.
fn raw_object(raw: &RawValue) -> Option<RawObject<'_>> {
    serde_json::from_str(raw.get()).ok()
}

/// A small member (key, ETag, options, metadata) as a `Value`.
fn small_value(raw: &RawValue) -> Value {
    serde_json::from_str(raw.get()).unwrap_or(Value::Null)
}

/// One save request item (`state.SetRequest` as JSON).
struct SetItem<'a> {
    key: String,
    /// The `value` JSON text as sent; `None` (missing) is stored as `null`.
    value: Option<&'a RawValue>,
    etag: Option<String>,
    concurrency: Option<String>,
    metadata: serde_json::Map<String, Value>,
}

/// Reads one item; `raw` `None` (no `request` in a transaction operation)
/// is an error, as any value that is not an object.
fn parse_set_item(raw: Option<&RawValue>) -> Result<SetItem<'_>, String> {
    let obj = raw
        .and_then(raw_object)
        .ok_or_else(|| "each item must be an object".to_string())?;
    // mapstructure (transactions) matches field names case-insensitively.
    let field = |name: &str| {
        obj.iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| *v)
    };
    let key = match field("key").map(small_value) {
        Some(Value::String(s)) => s,
        None | Some(Value::Null) => String::new(),
        Some(other) => return Err(format!("key must be a string, got {other}")),
    };
    let etag = match field("etag").map(small_value) {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) if s.is_empty() => None,
        Some(Value::String(s)) => Some(s),
        Some(other) => Some(other.to_string()),
    };
    let concurrency = field("options")
        .map(small_value)
        .and_then(|o| match o {
            Value::Object(o) => o
                .into_iter()
                .find(|(k, _)| k.eq_ignore_ascii_case("concurrency"))
                .and_then(|(_, v)| v.as_str().map(str::to_string)),
            _ => None,
        })
        .filter(|c| !c.is_empty());
    let metadata = match field("metadata").map(small_value) {
        Some(Value::Object(m)) => m,
        _ => serde_json::Map::new(),
    };
    Ok(SetItem {
        key,
        value: field("value"),
        etag,
        concurrency,
        metadata,
    })
}

/// Turns a set request into a store op. Errors are store-level errors
/// (daprd surfaces them as 500, or inside a transaction as a failed Multi).
fn set_op(
    full_key: String,
    item: &SetItem<'_>,
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
    // The URL's metadata is merged over each item's, so the query string wins
    // (`onPostState`: "merge metadata from URL query parameters",
    // `reqs[i].Metadata[k] = v` for every query parameter).
    let item_ttl = item
        .metadata
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("ttlInSeconds"))
        .map(|(_, v)| match v {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        });
    let ttl: Option<String> = query_meta.get("ttlInSeconds").cloned().or(item_ttl);
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
    // The value's JSON text as sent (PostgreSQL v2 stores `json.Marshal` of
    // it: the same JSON, see the module doc); a missing value is `null`.
    let value = item
        .value
        .map_or(&b"null"[..], |raw| raw.get().as_bytes())
        .to_vec();
    Ok(StateOp::Set {
        key: full_key,
        value,
        etag: item.etag.clone(),
        first_write,
        expires_at,
    })
}

/// `POST /v1.0/state/{store}` → 204. Not atomic, as in daprd: several items
/// go through `stateLoader.PerformBulkStoreOperation` → the store's `BulkSet`,
/// which for PostgreSQL v2 is components-contrib's default bulk store (one
/// `Set` per item, errors joined): items that succeed stay written when
/// another fails, and an ETag error among the failures makes the answer 409
/// (`stateErrorResponse` uses `errors.As`).
pub(crate) async fn save(ctx: &Ctx, store_name: &str, req: &Req) -> Resp {
    let store = match resolve(ctx, store_name) {
        Ok(s) => s,
        Err(r) => return r,
    };
    // Each item stays JSON text borrowed from the body until it is read.
    let items: Vec<&RawValue> = match serde_json::from_slice(&req.body) {
        Ok(v) => v,
        Err(e) => return malformed(e.to_string()),
    };
    if items.is_empty() {
        return empty(204);
    }
    let query_meta = req.metadata();
    let mut ops = Vec::with_capacity(items.len());
    for raw in items {
        let item = match parse_set_item(Some(raw)) {
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
    let mut failure: Option<StateError> = None;
    for op in ops {
        // A save's ETag mismatch is permanent (`pkg/components/state/bulk.go`).
        let applied = ctx
            .outbound(
                &store.name,
                |e| matches!(e, StateError::EtagMismatch(_)),
                state_failed,
                || ctx.store.state_apply(&store.name, vec![op.clone()]),
            )
            .await;
        if let Err(e) = applied {
            let rank = |e: &StateError| match e {
                StateError::EtagMismatch(_) => 0,
                StateError::Store(_) => 1,
            };
            if failure.as_ref().is_none_or(|f| rank(&e) < rank(f)) {
                failure = Some(e);
            }
        }
    }
    match failure {
        None => empty(204),
        Some(e) => save_error(store_name, e),
    }
}

fn save_error(store_name: &str, e: StateError) -> Resp {
    let status = match e {
        StateError::EtagMismatch(_) => 409,
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
    // Retried even on an ETag mismatch, as daprd's `onDeleteState` does.
    let deleted = ctx
        .outbound(
            &store.name,
            |_| false,
            state_failed,
            || ctx.store.state_apply(&store.name, vec![op.clone()]),
        )
        .await;
    match deleted {
        Ok(()) => empty(204),
        Err(e) => {
            let status = match e {
                StateError::EtagMismatch(_) => 409,
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

/// `POST /v1.0/state/{store}/bulk` `{"keys":[…]}` → `[{key, data, etag}]`
/// (plus `metadata.ttlExpireTime` for entries that expire), missing keys as
/// `{key}` only, in request order. The response is assembled by hand so
/// that each `data` is the stored JSON text, byte for byte.
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
    let found = ctx
        .outbound(
            &store.name,
            |_| false,
            failed,
            || ctx.store.state_bulk_get(&store.name, full.clone()),
        )
        .await;
    match found {
        // daprd answers with `GetOriginalStateKey` of the stored key, which is
        // the requested key: a valid key holds no `||`.
        Ok(entries) => data_response(200, bulk_body(&keys, &entries)),
        Err(e) => api_error(500, "ERR_STATE_BULK_GET", format!("{e:#}")),
    }
}

/// The JSON array of a bulk GET answer: keys and ETags escaped as JSON
/// strings, each stored value copied in verbatim (it is JSON text: only
/// save and transaction write state, and they store a value's JSON as
/// sent). An empty stored value leaves `data` out, like Go's omitempty
/// `json.RawMessage`.
fn bulk_body(keys: &[String], entries: &[Option<StateEntry>]) -> Vec<u8> {
    let values: usize = entries.iter().flatten().map(|e| e.value.len()).sum();
    let mut out = Vec::with_capacity(values + keys.len() * 96 + 2);
    let string = |out: &mut Vec<u8>, s: &str| {
        serde_json::to_writer(out, s).expect("a string serialises into a Vec");
    };
    out.push(b'[');
    for (i, (key, entry)) in keys.iter().zip(entries).enumerate() {
        if i > 0 {
            out.push(b',');
        }
        out.extend_from_slice(br#"{"key":"#);
        string(&mut out, key);
        if let Some(e) = entry {
            if !e.value.is_empty() {
                out.extend_from_slice(br#","data":"#);
                out.extend_from_slice(&e.value);
            }
            out.extend_from_slice(br#","etag":"#);
            string(&mut out, &e.etag);
            if let Some(at) = ttl_expire_time(e.expires_at) {
                out.extend_from_slice(br#","metadata":{"ttlExpireTime":"#);
                string(&mut out, &at);
                out.push(b'}');
            }
        }
        out.push(b'}');
    }
    out.push(b']');
    out
}

/// `POST /v1.0/state/{store}/transaction`: every operation or none → 204;
/// any failure while executing → 500 `ERR_STATE_TRANSACTION`.
pub(crate) async fn transaction(ctx: &Ctx, store_name: &str, req: &Req) -> Resp {
    let store = match resolve(ctx, store_name) {
        Ok(s) => s,
        Err(r) => return r,
    };
    // The body stays JSON text borrowed from the request; only the small
    // members are parsed, each upsert's `value` is stored as sent.
    let body: &RawValue = match serde_json::from_slice(&req.body) {
        Ok(v) => v,
        Err(e) => return malformed(format!("failed deserializing HTTP body: {e}")),
    };
    let body = raw_object(body).unwrap_or_default();
    let operations: Vec<&RawValue> = match body.get("operations") {
        None => Vec::new(),
        Some(raw) if raw.get() == "null" => Vec::new(),
        Some(raw) => match serde_json::from_str(raw.get()) {
            Ok(a) => a,
            Err(_) => {
                return malformed("failed deserializing HTTP body: operations must be an array")
            }
        },
    };
    if operations.is_empty() {
        return empty(204);
    }
    let mut query_meta = req.metadata();
    if let Some(Value::Object(m)) = body.get("metadata").map(|m| small_value(m)) {
        for (k, v) in m {
            if let Value::String(s) = v {
                query_meta.insert(k, s);
            }
        }
    }
    let mut ops = Vec::with_capacity(operations.len());
    let mut deferred_error: Option<StateError> = None;
    for op in operations {
        let op = raw_object(op).unwrap_or_default();
        let kind = match op.get("operation").map(|o| small_value(o)) {
            Some(Value::String(s)) => s,
            _ => String::new(),
        };
        let item = match parse_set_item(op.get("request").copied()) {
            Ok(i) => i,
            Err(e) => return malformed(format!("failed deserializing HTTP body: {e}")),
        };
        match kind.as_str() {
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
    // Retried even on an ETag mismatch, as daprd's `onPostStateTransaction`.
    let result = match deferred_error {
        Some(e) => Err(e),
        None => {
            ctx.outbound(
                &store.name,
                |_| false,
                state_failed,
                || ctx.store.state_apply(&store.name, ops.clone()),
            )
            .await
        }
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
