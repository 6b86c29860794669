//! State API (`/v1.0/state/{store}`): get, save, delete, bulk get, transaction.
//!
//! Dapr specifics handled here: a missing key answers 204 (not 404); ETags come
//! back in the `ETag` header; metadata values (`ttlInSeconds`) are strings; an
//! ETag mismatch is 409 on a single save but 500 `ERR_STATE_TRANSACTION` in a
//! transaction.

use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::{DaprClient, DaprError, Transport};

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
    /// `GET /v1.0/state/{store}/{key}`; 204 → `None`.
    pub async fn get<V: DeserializeOwned>(&self, key: &str) -> Result<Option<Versioned<V>>, DaprError> {
        let _ = key;
        todo!()
    }

    /// `POST /v1.0/state/{store}` with the items.
    pub async fn save(&self, items: &[SaveItem]) -> Result<(), DaprError> {
        let _ = items;
        todo!()
    }

    /// `DELETE /v1.0/state/{store}/{key}` (with `If-Match` when `etag` is set).
    pub async fn delete(&self, key: &str, etag: Option<&str>) -> Result<(), DaprError> {
        let _ = (key, etag);
        todo!()
    }

    /// `POST /v1.0/state/{store}/bulk`; results in the order of `keys`, missing → `None`.
    pub async fn bulk_get<V: DeserializeOwned>(
        &self,
        keys: &[String],
    ) -> Result<Vec<(String, Option<Versioned<V>>)>, DaprError> {
        let _ = keys;
        todo!()
    }

    /// `POST /v1.0/state/{store}/transaction`.
    pub async fn transaction(&self, operations: &[TxOperation]) -> Result<(), DaprError> {
        let _ = operations;
        todo!()
    }
}
