//! JSON documents changed with optimistic concurrency (architecture §5): read a
//! document with its ETag, write it back guarded by that ETag (or
//! insert-only when it did not exist), and on a lost race re-read and decide
//! again, a bounded number of times.
//!
//! Every component keeps its state this way; the helpers live here once.

use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::state::{Concurrency, SaveItem, StateStore, TxOperation, Versioned};
use crate::{DaprError, Transport};

/// How often a conflicting write is re-read and retried before giving up.
pub const MAX_ATTEMPTS: u32 = 5;

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
/// with [`read_raw`] when the keys hold documents of different types, then
/// [`decode`] each into its own type with a single parse.
pub type RawDocument = Box<serde_json::value::RawValue>;

/// Reads `keys` in one bulk read, each document unparsed, in the order of
/// `keys` (`None` for a missing one).
pub async fn read_raw<T: Transport>(
    state: &StateStore<'_, T>,
    keys: &[String],
) -> Result<Vec<Option<Versioned<RawDocument>>>, DaprError> {
    Ok(state
        .bulk_get::<RawDocument>(keys)
        .await?
        .into_iter()
        .map(|(_, item)| item)
        .collect())
}

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

/// One write that commits an attempt of [`transact`].
#[derive(Debug, Clone, PartialEq)]
pub enum Write {
    /// One `POST /v1.0/state/{store}` of these items: a lost race is 409.
    Save(Vec<SaveItem>),
    /// One `DELETE` of `key`, guarded by `etag` when set.
    Delete { key: String, etag: Option<String> },
    /// One `/transaction`: a lost race is 500 `ERR_STATE_TRANSACTION`.
    Transaction(Vec<TxOperation>),
}

impl Write {
    /// Sends the write (what [`transact`] does with an attempt's).
    pub async fn commit<T: Transport>(&self, store: &StateStore<'_, T>) -> Result<(), DaprError> {
        match self {
            Write::Save(items) => store.save(items).await,
            Write::Delete { key, etag } => store.delete(key, etag.as_deref()).await,
            Write::Transaction(operations) => store.transaction(operations).await,
        }
    }
}

/// What one attempt of [`transact`] decided on what it read.
#[derive(Debug, Clone, PartialEq)]
pub enum Decided<R> {
    /// Commit the write; once it is committed, the answer is `R`.
    Commit(Write, R),
    /// Nothing to write: the answer is `R`.
    Answer(R),
    /// Read and decide again at once, without a pause: the attempt changed
    /// what it read itself (task-api migrating a user of the previous
    /// layout). It uses up an attempt.
    Reread,
}

/// Why [`transact`] gave up.
#[derive(Debug, Clone, PartialEq)]
pub enum TransactError<E> {
    /// An attempt's reads or decision failed.
    Decide(E),
    /// A commit failed, and not because it lost a race.
    Commit(DaprError),
    /// Every attempt lost its race: the last conflict.
    Contended(DaprError),
}

impl<E: From<DaprError>> TransactError<E> {
    /// The error as the caller reports any other: its decision's as it
    /// is, a sidecar's converted.
    pub fn into_inner(self) -> E {
        match self {
            TransactError::Decide(err) => err,
            TransactError::Commit(err) | TransactError::Contended(err) => err.into(),
        }
    }
}

/// The pause of a component that retries a lost race at once.
pub async fn at_once(_attempt: u32) {}

/// The optimistic-concurrency loop every change of state runs (architecture
/// §5): `decide(attempt)` (1-based) reads what it needs with its ETags and
/// decides the write and the answer; the write is committed; a commit that
/// lost its race ([`is_conflict`]) is followed by `pause(attempt)` (after
/// the last attempt's too) and a new attempt, which reads again. At most
/// `attempts` attempts; then the last conflict is
/// [`TransactError::Contended`]. A failed decision or a commit that fails
/// otherwise ends the loop at once.
pub async fn transact<T, R, E>(
    store: &StateStore<'_, T>,
    attempts: u32,
    mut pause: impl AsyncFnMut(u32),
    mut decide: impl AsyncFnMut(u32) -> Result<Decided<R>, E>,
) -> Result<R, TransactError<E>>
where
    T: Transport,
{
    let mut last = DaprError::TransactionFailed(format!("no commit in {attempts} attempts"));
    for attempt in 1..=attempts {
        let (write, answer) = match decide(attempt).await.map_err(TransactError::Decide)? {
            Decided::Commit(write, answer) => (write, answer),
            Decided::Answer(answer) => return Ok(answer),
            Decided::Reread => continue,
        };
        match write.commit(store).await {
            Ok(()) => return Ok(answer),
            Err(err) if is_conflict(&err) => {
                last = err;
                pause(attempt).await;
            }
            Err(err) => return Err(TransactError::Commit(err)),
        }
    }
    Err(TransactError::Contended(last))
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
    transact(store, MAX_ATTEMPTS, at_once, async |_| {
        let mut doc = Loaded::from_versioned(store.get::<V>(key).await?);
        let Some(result) = modify(&mut doc.value) else {
            return Ok(Decided::Answer(None));
        };
        let mut item = guarded_upsert(key, &doc.value, doc.etag)?;
        item.ttl_seconds = ttl_seconds;
        Ok(Decided::Commit(Write::Save(vec![item]), Some(result)))
    })
    .await
    .map_err(TransactError::into_inner)
}

/// `seen/{eventId}`: the dedupe marker of a consumer that appends each event
/// once to a user's sequence (audit's chain, sync-relay's feed), naming the
/// entry the event became. Written insert-only in the append's transaction,
/// so an event id is recorded at most once however often it is delivered.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Seen {
    pub user_id: String,
    pub seq: u64,
}

impl Seen {
    /// The marker's key for event `event_id`.
    pub fn key(event_id: &str) -> String {
        format!("seen/{}", key_segment(event_id))
    }

    /// The marker's insert-only write for event `event_id`, expiring after
    /// `ttl_seconds`.
    pub fn write(&self, event_id: &str, ttl_seconds: u64) -> Result<SaveItem, DaprError> {
        let mut item = guarded_upsert(Seen::key(event_id), self, None)?;
        item.ttl_seconds = Some(ttl_seconds);
        Ok(item)
    }
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
