//! Secrets API: `GET /v1.0/secrets/{store}/{name}` → `{"<key>":"<value>",…}`
//! and `GET /v1.0/secrets/{store}/bulk` → `{"<name>":{…},…}`.
//!
//! Stores devstack can read:
//! - `secretstores.local.file` (components-contrib
//!   `secretstores/local/file/filestore.go`): `secretsFile` is a JSON
//!   object. With `multiValued: "false"` (default) the whole document is
//!   flattened, nested keys joined by `nestedSeparator` (default `:`), and
//!   secret `a:b` answers `{"a:b": "…"}`. With `multiValued: "true"` each
//!   top-level key is a secret: a string answers `{name: value}`, an object
//!   answers its (flattened) keys — the same shape as a Kubernetes secret,
//!   which is why the devstack overlay uses it (its file is the one
//!   [`crate::local_secrets`] generates). The file is re-read on every
//!   call, so it may be written after the sidecar started.
//! - `secretstores.local.env`: `{name: $name}`.
//!
//! Errors as daprd: no secret store → 500 `ERR_SECRET_STORES_NOT_CONFIGURED`;
//! unknown store → 401 `ERR_SECRET_STORE_NOT_FOUND`; the store's error
//! (e.g. `secret x not found`) → 500 `ERR_SECRET_GET`.
//!
//! Secret scopes of the app's Dapr `Configuration`
//! ([`crate::config::Configuration::secret_allowed`], daprd
//! `isSecretAllowed`): a secret the scope does not allow → 403
//! `ERR_PERMISSION_DENIED` `access denied by policy to get "<key>" from
//! "<store>"` (daprd `onGetSecret`, `messages.ErrPermissionDenied`); the bulk
//! call leaves disallowed secrets out instead (daprd `onBulkGetSecret`).

// Lookups return the ready daprd error response as their `Err`.
#![allow(clippy::result_large_err)]

use std::collections::BTreeMap;

use serde_json::{json, Value};

use super::{api_error, json_response, Ctx, Resp};
use crate::config::{Component, Resources};

fn resolve<'a>(ctx: &'a Ctx, store: &str) -> Result<&'a Component, Resp> {
    if ctx
        .resources
        .components_of(&ctx.app_id, "secretstores")
        .next()
        .is_none()
    {
        return Err(api_error(
            500,
            "ERR_SECRET_STORES_NOT_CONFIGURED",
            "secret store is not configured",
        ));
    }
    ctx.resources
        .components_of(&ctx.app_id, "secretstores")
        .find(|c| c.name == store)
        .ok_or_else(|| {
            api_error(
                401,
                "ERR_SECRET_STORE_NOT_FOUND",
                format!("failed finding secret store with key {store}"),
            )
        })
}

/// `GET /v1.0/secrets/{store}/{name}`.
pub(crate) fn get(ctx: &Ctx, store: &str, name: &str) -> Resp {
    let component = match resolve(ctx, store) {
        Ok(c) => c,
        Err(r) => return r,
    };
    if let Some(config) = ctx.resources.configuration_of(&ctx.app_id) {
        if !config.secret_allowed(store, name) {
            return api_error(
                403,
                "ERR_PERMISSION_DENIED",
                format!("access denied by policy to get {name:?} from {store:?}"),
            );
        }
    }
    match read_secret(&ctx.resources, component, name) {
        Ok(map) => json_response(200, &json!(map)),
        Err(e) => api_error(
            500,
            "ERR_SECRET_GET",
            format!("failed getting secret with key {name} from secret store {store}: {e}"),
        ),
    }
}

/// `GET /v1.0/secrets/{store}/bulk`.
pub(crate) fn bulk(ctx: &Ctx, store: &str) -> Resp {
    let component = match resolve(ctx, store) {
        Ok(c) => c,
        Err(r) => return r,
    };
    match read_all(component) {
        Ok(mut all) => {
            if let Some(config) = ctx.resources.configuration_of(&ctx.app_id) {
                all.retain(|key, _| config.secret_allowed(store, key));
            }
            json_response(200, &json!(all))
        }
        Err(e) => api_error(
            500,
            "ERR_SECRET_GET",
            format!("failed getting secrets from secret store {store}: {e}"),
        ),
    }
}

/// Reads secret `name` from `store` (error text as the store reports it).
pub fn read_secret(
    _resources: &Resources,
    store: &Component,
    name: &str,
) -> Result<BTreeMap<String, String>, String> {
    match store.kind.as_str() {
        "secretstores.local.env" => {
            let value = std::env::var(name).unwrap_or_default();
            Ok(BTreeMap::from([(name.to_string(), value)]))
        }
        "secretstores.local.file" => {
            let secrets = load_file(store)?;
            match secrets.get(name) {
                None => Err(format!("secret {name} not found")),
                Some(Secret::Single(v)) => Ok(BTreeMap::from([(name.to_string(), v.clone())])),
                Some(Secret::Multi(m)) => Ok(m.clone()),
            }
        }
        other => Err(format!(
            "secret store type {other} is not supported by devstack (use secretstores.local.file in the devstack overlay)"
        )),
    }
}

fn read_all(store: &Component) -> Result<BTreeMap<String, BTreeMap<String, String>>, String> {
    match store.kind.as_str() {
        "secretstores.local.env" => Ok(std::env::vars()
            .map(|(k, v)| (k.clone(), BTreeMap::from([(k, v)])))
            .collect()),
        "secretstores.local.file" => Ok(load_file(store)?
            .into_iter()
            .map(|(k, s)| {
                let m = match s {
                    Secret::Single(v) => BTreeMap::from([(k.clone(), v)]),
                    Secret::Multi(m) => m,
                };
                (k, m)
            })
            .collect()),
        other => Err(format!(
            "secret store type {other} is not supported by devstack"
        )),
    }
}

enum Secret {
    Single(String),
    Multi(BTreeMap<String, String>),
}

fn parse_bool(v: &str) -> bool {
    matches!(v, "1" | "t" | "T" | "TRUE" | "true" | "True")
}

fn load_file(store: &Component) -> Result<BTreeMap<String, Secret>, String> {
    let path = store
        .meta("secretsFile")
        .filter(|p| !p.is_empty())
        .ok_or_else(|| "missing local secrets file in metadata".to_string())?;
    let separator = store
        .meta("nestedSeparator")
        .filter(|s| !s.is_empty())
        .unwrap_or(":");
    let multi = store.meta("multiValued").is_some_and(parse_bool);
    let text = std::fs::read_to_string(path).map_err(|e| format!("open {path}: {e}"))?;
    let doc: Value = serde_json::from_str(&text).map_err(|e| format!("{path}: {e}"))?;
    let Value::Object(top) = doc else {
        return Err(format!("{path}: the secrets file must hold a JSON object"));
    };
    let mut out = BTreeMap::new();
    if multi {
        for (k, v) in top {
            match v {
                Value::String(s) => {
                    out.insert(k, Secret::Single(s));
                }
                Value::Object(o) => {
                    let mut flat = BTreeMap::new();
                    flatten(&Value::Object(o), &mut Vec::new(), separator, &mut flat);
                    out.insert(k, Secret::Multi(flat));
                }
                _ => {}
            }
        }
    } else {
        let mut flat = BTreeMap::new();
        flatten(&Value::Object(top), &mut Vec::new(), separator, &mut flat);
        for (k, v) in flat {
            out.insert(k, Secret::Single(v));
        }
    }
    Ok(out)
}

fn flatten(value: &Value, path: &mut Vec<String>, sep: &str, out: &mut BTreeMap<String, String>) {
    match value {
        Value::Object(o) => {
            for (k, v) in o {
                path.push(k.clone());
                flatten(v, path, sep, out);
                path.pop();
            }
        }
        Value::Array(a) => {
            for (i, v) in a.iter().enumerate() {
                path.push(i.to_string());
                flatten(v, path, sep, out);
                path.pop();
            }
        }
        Value::String(s) => {
            out.insert(path.join(sep), s.clone());
        }
        Value::Null => {
            out.insert(path.join(sep), String::new());
        }
        other => {
            out.insert(path.join(sep), other.to_string());
        }
    }
}
