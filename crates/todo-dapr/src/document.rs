//! JSON documents changed with optimistic concurrency (architecture §5): read a
//! document with its ETag, write it back guarded by that ETag (or
//! insert-only when it did not exist), and on a lost race re-read and decide
//! again, a bounded number of times.
//!
//! Every component keeps its state this way; the helpers live here once.

use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::state::{Concurrency, SaveItem, StateStore, Versioned};
use crate::{DaprError, Transport};

/// How often a conflicting write is re-read and retried before giving up.
pub const MAX_ATTEMPTS: usize = 5;

/// Characters kept verbatim in key segments. Everything else — notably `/`
/// (our separator) and `|` (Dapr reserves `||`) — is percent-encoded, so any
/// JWT `sub` or client-chosen key makes a safe, unambiguous key.
const KEY_SEGMENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'@');

/// `value` as one segment of a state key.
pub fn key_segment(value: &str) -> String {
    utf8_percent_encode(value, KEY_SEGMENT).to_string()
}

/// A document read for update: its value (default when missing) and ETag
/// (`None` when missing).
#[derive(Debug, Clone, PartialEq)]
pub struct Loaded<V> {
    pub value: V,
    pub etag: Option<String>,
}

impl<V: Default> Loaded<V> {
    pub fn from_versioned(found: Option<Versioned<V>>) -> Loaded<V> {
        match found {
            Some(v) => Loaded {
                value: v.value,
                etag: v.etag,
            },
            None => Loaded {
                value: V::default(),
                etag: None,
            },
        }
    }
}

/// The conditional upsert of a document read with [`Loaded`]: with its ETag
/// when it existed, insert-only (first-write) when it did not.
pub fn guarded_upsert<V: Serialize>(
    key: impl Into<String>,
    value: &V,
    etag: Option<String>,
) -> Result<SaveItem, DaprError> {
    let value =
        serde_json::to_value(value).map_err(|e| DaprError::InvalidRequest(e.to_string()))?;
    let mut item = SaveItem::new(key, value);
    item.concurrency = Some(Concurrency::FirstWrite);
    item.etag = etag;
    Ok(item)
}

/// Whether a failed write may be a lost ETag race worth re-reading for
/// (409 on a single write; any failed transaction, as Dapr reports an ETag
/// conflict inside one as 500 `ERR_STATE_TRANSACTION`).
pub fn is_conflict(err: &DaprError) -> bool {
    matches!(
        err,
        DaprError::EtagMismatch(_) | DaprError::TransactionFailed(_)
    )
}

/// One document of a bulk read as the sidecar sent it, not parsed yet: read
/// with `bulk_get::<RawDocument>` when the keys hold documents of different
/// types, then [`decode`] each into its own type with a single parse.
pub type RawDocument = Box<serde_json::value::RawValue>;

/// Decodes one raw document of a bulk read into `V` (one parse, straight from
/// the JSON text), keeping its ETag.
pub fn decode<V: DeserializeOwned>(
    item: Option<Versioned<RawDocument>>,
) -> Result<Option<Versioned<V>>, DaprError> {
    item.map(|v| {
        serde_json::from_str(v.value.get())
            .map(|value| Versioned {
                value,
                etag: v.etag,
            })
            .map_err(|e| DaprError::BadResponse(format!("stored document is unreadable: {e}")))
    })
    .transpose()
}

/// Read-modify-write of one document with its ETag, retried on conflict up
/// to [`MAX_ATTEMPTS`] times. `modify` returns `Some(result)` to write the
/// document and answer `result`, `None` to leave it as it is (answering
/// `Ok(None)`). `ttl_seconds` applies to the write.
pub async fn update<T, V, R, F>(
    store: &StateStore<'_, T>,
    key: &str,
    ttl_seconds: Option<u64>,
    mut modify: F,
) -> Result<Option<R>, DaprError>
where
    T: Transport,
    V: Serialize + DeserializeOwned + Default,
    F: FnMut(&mut V) -> Option<R>,
{
    let mut last_err = DaprError::EtagMismatch(format!("{key} kept changing"));
    for _ in 0..MAX_ATTEMPTS {
        let mut doc = Loaded::from_versioned(store.get::<V>(key).await?);
        let Some(result) = modify(&mut doc.value) else {
            return Ok(None);
        };
        let mut item = guarded_upsert(key, &doc.value, doc.etag)?;
        item.ttl_seconds = ttl_seconds;
        match store.save(&[item]).await {
            Ok(()) => return Ok(Some(result)),
            Err(err) if is_conflict(&err) => last_err = err,
            Err(err) => return Err(err),
        }
    }
    Err(last_err)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_escape_separators_and_dapr_reserved_pipes() {
        assert_eq!(key_segment("alice"), "alice");
        assert_eq!(key_segment("a/b||c"), "a%2Fb%7C%7Cc");
        assert_eq!(key_segment("bob@x.io"), "bob@x.io");
        assert!(!key_segment("x||y").contains("||"));
    }

    #[test]
    fn guarded_upsert_is_insert_only_without_an_etag() {
        let item = guarded_upsert("k", &serde_json::json!({"a": 1}), None).unwrap();
        assert_eq!(item.concurrency, Some(Concurrency::FirstWrite));
        assert_eq!(item.etag, None);
        let item = guarded_upsert("k", &1, Some("7".into())).unwrap();
        assert_eq!(item.etag.as_deref(), Some("7"));
    }

    #[test]
    fn decode_parses_a_raw_document_into_its_type_keeping_the_etag() {
        #[derive(Debug, PartialEq, serde::Deserialize)]
        struct Head {
            seq: u64,
        }
        let raw = |json: &str| -> RawDocument { serde_json::from_str(json).unwrap() };
        let found = decode::<Head>(Some(Versioned {
            value: raw(r#"{"seq": 3, "extra": [1, 2]}"#),
            etag: Some("9".into()),
        }))
        .unwrap()
        .unwrap();
        assert_eq!(found.value, Head { seq: 3 });
        assert_eq!(found.etag.as_deref(), Some("9"));
        assert_eq!(decode::<Head>(None).unwrap(), None);
        let err = decode::<Head>(Some(Versioned {
            value: raw(r#"{"seq": "x"}"#),
            etag: None,
        }))
        .unwrap_err();
        assert!(matches!(err, DaprError::BadResponse(_)), "{err:?}");
    }
}
