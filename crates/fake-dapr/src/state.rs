//! The state building block: entries with ETags, single saves (first-write
//! and ETag checks, how a lost first-write is answered), bulk reads,
//! transactions (all or nothing) and deletes, plus direct access for tests.

use serde_json::{json, Value};

use crate::response::{empty, error, json_response};
use crate::{FakeDapr, Inner};

/// One stored state entry.
#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    pub value: Value,
    pub etag: u64,
    pub ttl_seconds: Option<u64>,
}

/// Direct access to the fake's state, for arranging and asserting.
pub struct StateView<'a> {
    inner: &'a mut Inner,
}

impl StateView<'_> {
    /// Writes `value` as if another client did, bumping the ETag.
    pub fn put(&mut self, store: &str, key: &str, value: Value) {
        self.inner.put(store, key, value, None);
    }

    /// The value stored under `key`, if any.
    pub fn get(&self, store: &str, key: &str) -> Option<Value> {
        self.inner
            .state
            .get(&(store.to_string(), key.to_string()))
            .map(|e| e.value.clone())
    }
}

/// How the store behind the sidecar answers a single save whose first-write
/// item finds its key taken: stores differ, and a component must treat both
/// as a conflict.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum LostFirstWrite {
    /// PostgreSQL v2 (what production runs): its upsert updates no row and
    /// returns "no item was updated", not an ETag error, so daprd answers 500
    /// `ERR_STATE_SAVE` (components-contrib `state/postgresql/v2/postgresql.go`
    /// `doSet`; dapr `pkg/api/http/http.go` `onPostState`).
    #[default]
    PostgresV2,
    /// Stores that report an ETag error (e.g. Redis, SQLite): 409 `ERR_STATE_SAVE`.
    EtagConflict,
}

impl FakeDapr {
    /// How a lost first-write is answered from now on (default: PostgreSQL v2).
    pub fn answer_lost_first_write(&self, answer: LostFirstWrite) {
        self.lock().lost_first_write = answer;
    }

    pub fn get(&self, store: &str, key: &str) -> Option<Entry> {
        self.lock()
            .state
            .get(&(store.to_string(), key.to_string()))
            .cloned()
    }

    pub fn put(&self, store: &str, key: &str, value: Value) {
        self.lock().put(store, key, value, None);
    }

    pub fn keys(&self, store: &str) -> Vec<String> {
        self.lock()
            .state
            .keys()
            .filter(|(s, _)| s == store)
            .map(|(_, k)| k.clone())
            .collect()
    }

    /// Every state key read so far (single and bulk gets), in order.
    pub fn reads(&self) -> Vec<String> {
        self.lock().reads.clone()
    }
}

impl Inner {
    fn put(&mut self, store: &str, key: &str, value: Value, ttl_seconds: Option<u64>) {
        self.next_etag += 1;
        self.state.insert(
            (store.to_string(), key.to_string()),
            Entry {
                value,
                etag: self.next_etag,
                ttl_seconds,
            },
        );
    }

    pub(crate) fn get_one(&self, store: &str, key: &str) -> http::Response<Vec<u8>> {
        match self.state.get(&(store.to_string(), key.to_string())) {
            None => empty(204),
            Some(entry) => {
                let mut response = json_response(200, &entry.value);
                response
                    .headers_mut()
                    .insert("etag", entry.etag.to_string().parse().expect("digits"));
                response
            }
        }
    }

    pub(crate) fn bulk(&self, store: &str, body: &[u8]) -> http::Response<Vec<u8>> {
        let Ok(request) = serde_json::from_slice::<Value>(body) else {
            return error(400, "ERR_MALFORMED_REQUEST", "bad bulk body");
        };
        let items: Vec<Value> = request["keys"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .map(
                |key| match self.state.get(&(store.to_string(), key.to_string())) {
                    Some(entry) => {
                        json!({ "key": key, "data": entry.value, "etag": entry.etag.to_string() })
                    }
                    None => json!({ "key": key }),
                },
            )
            .collect();
        json_response(200, &Value::Array(items))
    }

    /// Checks one upsert against the current state (Dapr + PostgreSQL v2 rules).
    fn check_upsert(&self, store: &str, item: &Value) -> Result<(), String> {
        let key = item["key"].as_str().ok_or("missing key")?;
        let current = self.state.get(&(store.to_string(), key.to_string()));
        match item["etag"].as_str() {
            Some(etag) => match current {
                Some(entry) if entry.etag.to_string() == etag => Ok(()),
                _ => Err(format!("possible etag mismatch for key {key}")),
            },
            None if item["options"]["concurrency"] == "first-write" && current.is_some() => {
                Err(format!("key {key} already exists (first-write)"))
            }
            None => Ok(()),
        }
    }

    fn apply_upsert(&mut self, store: &str, item: &Value) {
        let ttl = item["metadata"]["ttlInSeconds"]
            .as_str()
            .and_then(|t| t.parse().ok());
        self.put(
            store,
            item["key"].as_str().unwrap_or_default(),
            item["value"].clone(),
            ttl,
        );
    }

    pub(crate) fn save(&mut self, store: &str, body: &[u8]) -> http::Response<Vec<u8>> {
        let Ok(Value::Array(items)) = serde_json::from_slice::<Value>(body) else {
            return error(400, "ERR_MALFORMED_REQUEST", "bad save body");
        };
        if let Some(race) = self.race_save.take() {
            race(&mut StateView { inner: self });
        }
        for item in &items {
            if let Err(msg) = self.check_upsert(store, item) {
                let lost_first_write =
                    item.get("etag").is_none() && item["options"]["concurrency"] == "first-write";
                return match self.lost_first_write {
                    LostFirstWrite::PostgresV2 if lost_first_write => error(
                        500,
                        "ERR_STATE_SAVE",
                        &format!("failed saving state in state store {store}: no item was updated"),
                    ),
                    _ => error(409, "ERR_STATE_SAVE", &msg),
                };
            }
            self.apply_upsert(store, item);
        }
        empty(204)
    }

    pub(crate) fn delete(
        &mut self,
        store: &str,
        key: &str,
        etag: Option<&str>,
    ) -> Result<(), String> {
        let id = (store.to_string(), key.to_string());
        if let Some(etag) = etag {
            match self.state.get(&id) {
                Some(entry) if entry.etag.to_string() == etag => {}
                _ => return Err(format!("possible etag mismatch for key {key}")),
            }
        }
        self.state.remove(&id);
        Ok(())
    }

    pub(crate) fn transaction(&mut self, store: &str, body: &[u8]) -> http::Response<Vec<u8>> {
        if let Some(race) = self.race.take() {
            race(&mut StateView { inner: self });
        }
        let Ok(request) = serde_json::from_slice::<Value>(body) else {
            return error(400, "ERR_MALFORMED_REQUEST", "bad transaction body");
        };
        let operations = request["operations"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        // All or nothing: check everything first, then apply.
        for op in &operations {
            let req = &op["request"];
            let check = match op["operation"].as_str() {
                Some("upsert") => self.check_upsert(store, req),
                Some("delete") => {
                    let key = req["key"].as_str().unwrap_or_default();
                    match (
                        req["etag"].as_str(),
                        self.state.get(&(store.to_string(), key.to_string())),
                    ) {
                        (Some(etag), Some(entry)) if entry.etag.to_string() == etag => Ok(()),
                        (Some(_), _) => Err(format!("possible etag mismatch for key {key}")),
                        (None, _) => Ok(()),
                    }
                }
                other => Err(format!("unsupported operation {other:?}")),
            };
            if let Err(msg) = check {
                return error(
                    500,
                    "ERR_STATE_TRANSACTION",
                    &format!("error while executing state transaction: {msg}"),
                );
            }
        }
        for op in &operations {
            let req = &op["request"];
            if op["operation"] == "upsert" {
                self.apply_upsert(store, req);
            } else {
                let key = req["key"].as_str().unwrap_or_default().to_string();
                self.state.remove(&(store.to_string(), key));
            }
        }
        empty(204)
    }
}
