//! State API (`/v1.0/state/{store}`): get, save, delete, bulk get, transaction.
//!
//! Dapr specifics handled here: a missing key answers 204 (not 404); ETags come
//! back in the `ETag` header; metadata values (`ttlInSeconds`) are strings; an
//! ETag mismatch is 409 on a single save but 500 `ERR_STATE_TRANSACTION` in a
//! transaction, and a first-write that finds its key taken is 409 on some
//! stores but 500 `ERR_STATE_SAVE` on PostgreSQL v2 (see [`StateStore::save`]):
//! every one of those is a conflict to the caller ([`crate::document::is_conflict`]).

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::{request, DaprClient, DaprError, Transport};

/// A value read from the store with the ETag to write it back with.
#[derive(Debug, Clone, PartialEq)]
pub struct Versioned<V> {
    pub value: V,
    pub etag: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Concurrency {
    /// Without an ETag: insert only if the key does not exist yet.
    FirstWrite,
    LastWrite,
}

/// One write. `etag: Some` makes it conditional on the stored version.
#[derive(Debug, Clone, PartialEq)]
pub struct SaveItem {
    pub key: String,
    pub value: serde_json::Value,
    pub etag: Option<String>,
    pub concurrency: Option<Concurrency>,
    pub ttl_seconds: Option<u64>,
}

impl SaveItem {
    pub fn new(key: impl Into<String>, value: serde_json::Value) -> SaveItem {
        SaveItem {
            key: key.into(),
            value,
            etag: None,
            concurrency: None,
            ttl_seconds: None,
        }
    }
}

/// One operation of a transaction.
#[derive(Debug, Clone, PartialEq)]
pub enum TxOperation {
    Upsert(SaveItem),
    Delete { key: String, etag: Option<String> },
}

/// A handle on one state store.
pub struct StateStore<'a, T> {
    pub(crate) client: &'a DaprClient<T>,
    pub(crate) name: String,
}

impl<T: Transport> DaprClient<T> {
    pub fn state(&self, store: &str) -> StateStore<'_, T> {
        StateStore {
            client: self,
            name: store.to_string(),
        }
    }
}

impl<T: Transport> StateStore<'_, T> {
    fn base_path(&self) -> Result<String, DaprError> {
        Ok(format!(
            "/v1.0/state/{}",
            request::segment(&self.name, "state store name")?
        ))
    }

    fn key_path(&self, key: &str) -> Result<String, DaprError> {
        Ok(format!(
            "{}/{}",
            self.base_path()?,
            request::segment(key, "state key")?
        ))
    }

    /// `GET /v1.0/state/{store}/{key}`; 204 → `None`.
    ///
    /// The key is one percent-encoded path segment (`task/1` → `task%2F1`):
    /// daprd routes on the escaped path and unescapes the `{key}` parameter.
    /// The `ETag` header carries the raw ETag (no quotes; pkg/api/http/http.go `onGetState`).
    pub async fn get<V: DeserializeOwned>(
        &self,
        key: &str,
    ) -> Result<Option<Versioned<V>>, DaprError> {
        let req = request::empty(http::Method::GET, &self.key_path(key)?)?;
        let response = self.client.send(req).await?;
        match response.status().as_u16() {
            204 => Ok(None),
            200..=299 => {
                let value = serde_json::from_slice(response.body()).map_err(|e| {
                    DaprError::BadResponse(format!("state {key:?} is not the expected JSON: {e}"))
                })?;
                let etag = response
                    .headers()
                    .get(http::header::ETAG)
                    .map(|v| {
                        v.to_str().map(str::to_owned).map_err(|_| {
                            DaprError::BadResponse(format!("state {key:?}: ETag is not text"))
                        })
                    })
                    .transpose()?;
                Ok(Some(Versioned { value, etag }))
            }
            _ => Err(DaprError::from_response(&response)),
        }
    }

    /// `POST /v1.0/state/{store}` with the items.
    ///
    /// 409 (ETag mismatch, or first-write on an existing key) → [`DaprError::EtagMismatch`].
    ///
    /// A first-write that loses answers differently per store: PostgreSQL v2
    /// (components-contrib `state/postgresql/v2/postgresql.go` `doSet`) runs
    /// an upsert whose `DO UPDATE … WHERE` matches no row and returns the
    /// plain error "no item was updated", not an ETag error, so daprd
    /// (`pkg/api/http/http.go` `onPostState` → `stateErrorResponse`) answers
    /// 500 `ERR_STATE_SAVE`. When the request holds a first-write item, that
    /// answer is read as [`DaprError::EtagMismatch`] too: the caller re-reads
    /// and decides again (a real outage then fails the re-read).
    pub async fn save(&self, items: &[SaveItem]) -> Result<(), DaprError> {
        if items.is_empty() {
            return Ok(());
        }
        for item in items {
            check_key(&item.key)?;
        }
        let body: Vec<StateItem<'_>> = items.iter().map(StateItem::from).collect();
        let req = request::post_json(&self.base_path()?, &body)?;
        let response = self.client.send(req).await?;
        match request::expect_success(&response) {
            Err(DaprError::Unavailable(message))
                if response.status() == http::StatusCode::INTERNAL_SERVER_ERROR
                    && request::error_body(&response)
                        .is_some_and(|b| b.error_code == "ERR_STATE_SAVE")
                    && items
                        .iter()
                        .any(|i| i.concurrency == Some(Concurrency::FirstWrite)) =>
            {
                Err(DaprError::EtagMismatch(message))
            }
            other => other,
        }
    }

    /// `DELETE /v1.0/state/{store}/{key}` (with `If-Match` when `etag` is set).
    /// Deleting a missing key succeeds (204).
    pub async fn delete(&self, key: &str, etag: Option<&str>) -> Result<(), DaprError> {
        let mut req = request::empty(http::Method::DELETE, &self.key_path(key)?)?;
        if let Some(etag) = etag {
            let value = http::HeaderValue::from_str(etag).map_err(|_| {
                DaprError::InvalidRequest(format!("etag {etag:?} is not a header value"))
            })?;
            req.headers_mut().insert(http::header::IF_MATCH, value);
        }
        let response = self.client.send(req).await?;
        request::expect_success(&response)
    }

    /// `POST /v1.0/state/{store}/bulk`; results in the order of `keys`, missing → `None`.
    ///
    /// Dapr answers `[{key, data?, etag?, error?}]`; a missing key comes back
    /// as `{key}` only. Entries are matched by key, not position. A per-key
    /// `error` (the store failed to read it) fails the whole call as
    /// [`DaprError::Unavailable`]: the key cannot be claimed missing.
    pub async fn bulk_get<V: DeserializeOwned>(
        &self,
        keys: &[String],
    ) -> Result<Vec<(String, Option<Versioned<V>>)>, DaprError> {
        if keys.is_empty() {
            return Ok(Vec::new());
        }
        for key in keys {
            check_key(key)?;
        }
        let path = format!("{}/bulk", self.base_path()?);
        let req = request::post_json(&path, &serde_json::json!({ "keys": keys }))?;
        let response = self.client.send(req).await?;
        if !response.status().is_success() {
            return Err(DaprError::from_response(&response));
        }
        let entries: Vec<BulkEntry> = serde_json::from_slice(response.body())
            .map_err(|e| DaprError::BadResponse(format!("bulk get response: {e}")))?;
        let mut by_key: std::collections::HashMap<&str, &BulkEntry> =
            std::collections::HashMap::with_capacity(entries.len());
        for entry in &entries {
            if let Some(error) = entry.error.as_deref().filter(|e| !e.is_empty()) {
                return Err(DaprError::Unavailable(format!(
                    "bulk get of {:?} failed: {error}",
                    entry.key
                )));
            }
            by_key.insert(entry.key.as_str(), entry);
        }
        keys.iter()
            .map(|key| {
                let entry = by_key.get(key.as_str()).ok_or_else(|| {
                    DaprError::BadResponse(format!("bulk get response has no entry for {key:?}"))
                })?;
                let versioned = match &entry.data {
                    None => None,
                    Some(data) => {
                        let value = serde_json::from_str::<V>(data.get()).map_err(|e| {
                            DaprError::BadResponse(format!(
                                "state {key:?} is not the expected JSON: {e}"
                            ))
                        })?;
                        Some(Versioned {
                            value,
                            etag: entry.etag.clone(),
                        })
                    }
                };
                Ok((key.clone(), versioned))
            })
            .collect()
    }

    /// `POST /v1.0/state/{store}/transaction`.
    ///
    /// Any failure inside, an ETag mismatch included, is 500 `ERR_STATE_TRANSACTION`
    /// → [`DaprError::TransactionFailed`] (re-read, then retry).
    pub async fn transaction(&self, operations: &[TxOperation]) -> Result<(), DaprError> {
        if operations.is_empty() {
            return Ok(());
        }
        let mut ops = Vec::with_capacity(operations.len());
        for op in operations {
            ops.push(match op {
                TxOperation::Upsert(item) => {
                    check_key(&item.key)?;
                    TxOp {
                        operation: "upsert",
                        request: TxRequest::Upsert(StateItem::from(item)),
                    }
                }
                TxOperation::Delete { key, etag } => {
                    check_key(key)?;
                    TxOp {
                        operation: "delete",
                        request: TxRequest::Delete(DeleteItem {
                            key,
                            etag: etag.as_deref(),
                        }),
                    }
                }
            });
        }
        let path = format!("{}/transaction", self.base_path()?);
        let req = request::post_json(&path, &TxBody { operations: ops })?;
        let response = self.client.send(req).await?;
        request::expect_success(&response)
    }
}

fn check_key(key: &str) -> Result<(), DaprError> {
    if key.is_empty() {
        Err(DaprError::InvalidRequest("state key is empty".into()))
    } else {
        Ok(())
    }
}

/// One element of a save body / the `request` of an upsert
/// (components-contrib `state.SetRequest`; daprd decodes transaction requests
/// with mapstructure, which matches `etag` to `ETag` case-insensitively and
/// requires `metadata` values to be strings).
#[derive(Serialize)]
struct StateItem<'a> {
    key: &'a str,
    value: &'a serde_json::Value,
    #[serde(skip_serializing_if = "Option::is_none")]
    etag: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    options: Option<StateOptions>,
    #[serde(skip_serializing_if = "Option::is_none")]
    metadata: Option<StateMetadata>,
}

#[derive(Serialize)]
struct StateOptions {
    concurrency: Concurrency,
}

#[derive(Serialize)]
struct StateMetadata {
    #[serde(rename = "ttlInSeconds")]
    ttl_in_seconds: String,
}

impl<'a> From<&'a SaveItem> for StateItem<'a> {
    fn from(item: &'a SaveItem) -> StateItem<'a> {
        StateItem {
            key: &item.key,
            value: &item.value,
            etag: item.etag.as_deref(),
            options: item
                .concurrency
                .map(|concurrency| StateOptions { concurrency }),
            metadata: item.ttl_seconds.map(|ttl| StateMetadata {
                ttl_in_seconds: ttl.to_string(),
            }),
        }
    }
}

#[derive(Serialize)]
struct DeleteItem<'a> {
    key: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    etag: Option<&'a str>,
}

#[derive(Serialize)]
#[serde(untagged)]
enum TxRequest<'a> {
    Upsert(StateItem<'a>),
    Delete(DeleteItem<'a>),
}

#[derive(Serialize)]
struct TxOp<'a> {
    operation: &'static str,
    request: TxRequest<'a>,
}

#[derive(Serialize)]
struct TxBody<'a> {
    operations: Vec<TxOp<'a>>,
}

/// `BulkGetResponse` (pkg/api/http/responses.go): `data`, `etag`, `error` are omitempty.
#[derive(serde::Deserialize)]
struct BulkEntry {
    key: String,
    /// Kept raw so each value is parsed once, straight into its type.
    #[serde(default, deserialize_with = "present")]
    data: Option<Box<serde_json::value::RawValue>>,
    #[serde(default)]
    etag: Option<String>,
    #[serde(default)]
    error: Option<String>,
}

/// `Some(value)` whenever the field is present, even as JSON `null`
/// (absent → the `#[serde(default)]` `None`).
fn present<'de, D: serde::Deserializer<'de>>(
    de: D,
) -> Result<Option<Box<serde_json::value::RawValue>>, D::Error> {
    Box::<serde_json::value::RawValue>::deserialize(de).map(Some)
}
