//! The `state` table: Dapr state entries with ETags and TTLs.

use anyhow::Result;
use rusqlite::{params, Connection, OptionalExtension, TransactionBehavior};

use super::{now_ms, Store};

impl Store {
    /// The live (not expired) entry for the fully prefixed `key`.
    pub async fn state_get(&self, store: &str, key: &str) -> Result<Option<StateEntry>> {
        let (store, key) = (store.to_string(), key.to_string());
        self.run(move |conn| read_state(conn, &store, &key, now_ms()))
            .await
    }

    /// Entries for `keys` in order (`None` = missing or expired).
    pub async fn state_bulk_get(
        &self,
        store: &str,
        keys: Vec<String>,
    ) -> Result<Vec<Option<StateEntry>>> {
        let store = store.to_string();
        self.run(move |conn| {
            let now = now_ms();
            keys.iter()
                .map(|k| read_state(conn, &store, k, now))
                .collect()
        })
        .await
    }

    /// Applies `ops` atomically: all or nothing. ETag rules as Dapr's
    /// PostgreSQL v2 store: an ETag must match the live entry; a first-write
    /// without an ETag only inserts; a delete with an ETag of a missing key
    /// is a mismatch; a delete without one of a missing key succeeds.
    pub async fn state_apply(&self, store: &str, ops: Vec<StateOp>) -> Result<(), StateError> {
        let store = store.to_string();
        let result = self
            .run(move |conn| {
                let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
                let now = now_ms();
                for op in ops {
                    if let Err(e) = apply_state_op(&tx, &store, op, now) {
                        return Ok(Err(e));
                    }
                }
                tx.commit()?;
                Ok(Ok(()))
            })
            .await;
        match result {
            Ok(inner) => inner,
            Err(e) => Err(StateError::Store(e)),
        }
    }
}

/// A live state entry.
#[derive(Debug, Clone, PartialEq)]
pub struct StateEntry {
    /// The value's JSON bytes exactly as saved.
    pub value: Vec<u8>,
    pub etag: String,
    /// Expiry (ms), when saved with `ttlInSeconds`.
    pub expires_at: Option<i64>,
}

/// One write in [`Store::state_apply`]; keys are fully prefixed.
#[derive(Debug, Clone, PartialEq)]
pub enum StateOp {
    Set {
        key: String,
        value: Vec<u8>,
        etag: Option<String>,
        first_write: bool,
        /// Absolute expiry (ms); `None` = never.
        expires_at: Option<i64>,
    },
    Delete {
        key: String,
        etag: Option<String>,
    },
}

/// Why a state write failed.
#[derive(Debug)]
pub enum StateError {
    /// The ETag did not match: Dapr's `state.ETagMismatch` → 409 on a single
    /// save or delete, 500 in a transaction. An ETag that is not a UUID is a
    /// mismatch too, as PostgreSQL v2 reports it (see [`check_etag`]). (A
    /// first-write that finds its key is a [`StateError::Store`] "no item was
    /// updated", as on PostgreSQL v2 → 500.)
    EtagMismatch(String),
    Store(anyhow::Error),
}

impl std::fmt::Display for StateError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            StateError::EtagMismatch(m) => {
                write!(f, "possible etag mismatch. error from state store: {m}")
            }
            StateError::Store(e) => write!(f, "{e:#}"),
        }
    }
}

fn read_state(conn: &Connection, store: &str, key: &str, now: i64) -> Result<Option<StateEntry>> {
    let row = conn
        .query_row(
            "SELECT value, etag, expires_at FROM state WHERE store = ?1 AND key = ?2",
            params![store, key],
            |r| {
                Ok(StateEntry {
                    value: r.get(0)?,
                    etag: r.get(1)?,
                    expires_at: r.get(2)?,
                })
            },
        )
        .optional()?;
    Ok(row.filter(|e| e.expires_at.is_none_or(|at| at > now)))
}

/// An ETag must be a UUID, as PostgreSQL v2's are: its `doSet` and
/// `doDelete` (components-contrib `state/postgresql/v2/postgresql.go`) run
/// `uuid.Parse(*req.ETag)` and on failure "return an etag mismatch error
/// right away" (`state.NewETagError(state.ETagMismatch, err)`), which daprd
/// answers 409, not the 400 of `state.ETagInvalid` (`pkg/api/http/http.go`
/// `stateErrorResponse`). The message is google/uuid's.
fn check_etag(etag: &str) -> Result<(), StateError> {
    if uuid::Uuid::parse_str(etag).is_ok() {
        return Ok(());
    }
    let why = match etag.len() {
        36 | 38 | 41 | 45 => "invalid UUID format".to_string(),
        n => format!("invalid UUID length: {n}"),
    };
    Err(StateError::EtagMismatch(why))
}

fn apply_state_op(
    tx: &rusqlite::Transaction<'_>,
    store: &str,
    op: StateOp,
    now: i64,
) -> Result<(), StateError> {
    let db = |e: rusqlite::Error| StateError::Store(e.into());
    let key = match &op {
        StateOp::Set { key, .. } | StateOp::Delete { key, .. } => key.clone(),
    };
    let etag = match &op {
        StateOp::Set { etag, .. } | StateOp::Delete { etag, .. } => etag.clone(),
    };
    if let Some(e) = &etag {
        check_etag(e)?;
    }
    let current = read_state(tx, store, &key, now).map_err(StateError::Store)?;
    if let Some(expected) = &etag {
        match &current {
            Some(c) if &c.etag == expected => {}
            _ => {
                return Err(StateError::EtagMismatch(format!(
                    "etag {expected} does not match the stored version of {key}"
                )))
            }
        }
    }
    match op {
        StateOp::Set {
            key,
            value,
            first_write,
            expires_at,
            ..
        } => {
            if first_write && etag.is_none() && current.is_some() {
                // PostgreSQL v2's upsert updates no row and says so with a
                // plain error, not an ETag error (components-contrib
                // `state/postgresql/v2/postgresql.go`, `doSet`).
                return Err(StateError::Store(anyhow::anyhow!("no item was updated")));
            }
            let new_etag = uuid::Uuid::new_v4().to_string();
            tx.execute(
                "INSERT INTO state (store, key, value, etag, expires_at) VALUES (?1, ?2, ?3, ?4, ?5)
                 ON CONFLICT (store, key) DO UPDATE SET value = excluded.value, etag = excluded.etag,
                     expires_at = excluded.expires_at",
                params![store, key, value, new_etag, expires_at],
            )
            .map_err(db)?;
        }
        StateOp::Delete { key, .. } => {
            tx.execute(
                "DELETE FROM state WHERE store = ?1 AND key = ?2",
                params![store, key],
            )
            .map_err(db)?;
        }
    }
    Ok(())
}
