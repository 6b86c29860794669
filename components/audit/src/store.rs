//! audit's state layout (DESIGN §5) and the one way it grows: read the
//! user's chain head, the task's history and the event's dedupe marker,
//! append the entry, and commit all four documents in one Dapr state
//! transaction guarded by the ETags read; on a lost race re-read and decide
//! again (a bounded number of times).
//!
//! Keys (Dapr prefixes them with `audit||`; user and event ids are
//! percent-encoded segments):
//! - `chain/{uid}` → [`ChainHead`] `{seq, hash}`: the user's last entry;
//! - `entry/{uid}/{seq}` → [`AuditEntry`], written once (insert-only);
//! - `taskhist/{taskId}` → [`TaskHistory`]: the task's owner and entry `seq`s;
//! - `seen/{eventId}` → [`Seen`]: the dedupe marker, insert-only, so one
//!   CloudEvent id is recorded at most once however often it is delivered.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use todo_core::audit_chain::{AuditEntry, ChainHead};
use todo_core::task_event::TaskEvent;
use todo_core::Problem;
use todo_dapr::document::{
    self, guarded_upsert, is_conflict, key_segment, Loaded, RawDocument, MAX_ATTEMPTS,
};
use todo_dapr::state::TxOperation;
use todo_dapr::{DaprError, Transport};
use todo_http::respond::dapr_problem;
use uuid::Uuid;

use crate::Ctx;

/// Most keys read in one bulk request.
const BULK_CHUNK: usize = 100;

/// `taskhist/{taskId}`: whose task it is and its entries, oldest first.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TaskHistory {
    pub owner: String,
    #[serde(default)]
    pub seqs: Vec<u64>,
}

/// `seen/{eventId}`: the entry an event was recorded as.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Seen {
    pub user_id: String,
    pub seq: u64,
}

pub fn chain_key(user: &str) -> String {
    format!("chain/{}", key_segment(user))
}

pub fn entry_key(user: &str, seq: u64) -> String {
    format!("entry/{}/{seq}", key_segment(user))
}

pub fn history_key(task: Uuid) -> String {
    format!("taskhist/{task}")
}

pub fn seen_key(event_id: &str) -> String {
    format!("seen/{}", key_segment(event_id))
}

/// What [`append`] did.
#[derive(Debug, Clone, PartialEq)]
pub enum Appended {
    /// The event is now this entry.
    New(AuditEntry),
    /// The event was recorded before (as this `seq`); nothing was written.
    Duplicate(u64),
}

/// Why [`append`] wrote nothing.
#[derive(Debug, Clone, PartialEq)]
pub enum AppendError {
    /// The event names a task another user's events were recorded for: a
    /// poison message, never retried.
    ForeignTask { owner: String },
    /// The sidecar or the store failed, or every attempt lost its race:
    /// worth retrying later.
    Unavailable(DaprError),
}

impl std::fmt::Display for AppendError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            AppendError::ForeignTask { owner } => {
                write!(f, "the task's history belongs to another user ({owner:?})")
            }
            AppendError::Unavailable(err) => write!(f, "{err}"),
        }
    }
}

impl From<DaprError> for AppendError {
    fn from(err: DaprError) -> AppendError {
        AppendError::Unavailable(err)
    }
}

/// Records `event` as the next entry of its user's chain, exactly once.
pub async fn append<T: Transport>(
    ctx: &Ctx<T>,
    event: &TaskEvent,
) -> Result<Appended, AppendError> {
    let data = &event.envelope.data;
    let user = data.user_id.as_str();
    let keys = [
        chain_key(user),
        history_key(data.task_id),
        seen_key(&event.envelope.id),
    ];
    let state = ctx.dapr.state(&ctx.config.state_store);
    let mut last_err = DaprError::TransactionFailed(format!("{} kept changing", keys[0]));
    for _ in 0..MAX_ATTEMPTS {
        let mut found = state
            .bulk_get::<RawDocument>(&keys)
            .await?
            .into_iter()
            .map(|(_, item)| item);
        let head = Loaded::from_versioned(document::decode::<ChainHead>(found.next().flatten())?);
        let history =
            Loaded::from_versioned(document::decode::<TaskHistory>(found.next().flatten())?);
        if let Some(seen) = document::decode::<Seen>(found.next().flatten())? {
            return Ok(Appended::Duplicate(seen.value.seq));
        }
        if history.etag.is_some() && history.value.owner != user {
            return Err(AppendError::ForeignTask {
                owner: history.value.owner,
            });
        }

        let entry = head.value.next_entry(event);
        let mut next_history = history.value.clone();
        next_history.owner = user.to_string();
        next_history.seqs.push(entry.seq);
        let seen = Seen {
            user_id: user.to_string(),
            seq: entry.seq,
        };
        let operations = [
            guarded_upsert(keys[0].clone(), &ChainHead::after(&entry), head.etag)?,
            guarded_upsert(entry_key(user, entry.seq), &entry, None)?,
            guarded_upsert(keys[1].clone(), &next_history, history.etag)?,
            guarded_upsert(keys[2].clone(), &seen, None)?,
        ]
        .map(TxOperation::Upsert);
        match state.transaction(&operations).await {
            Ok(()) => return Ok(Appended::New(entry)),
            Err(err) if is_conflict(&err) => last_err = err,
            Err(err) => return Err(err.into()),
        }
    }
    Err(AppendError::Unavailable(last_err))
}

/// The user's chain head (the empty chain when they have no entries).
pub async fn load_head<T: Transport>(ctx: &Ctx<T>, user: &str) -> Result<ChainHead, Problem> {
    let found = ctx
        .dapr
        .state(&ctx.config.state_store)
        .get::<ChainHead>(&chain_key(user))
        .await
        .map_err(|e| dapr_problem(&e))?;
    Ok(found.map(|v| v.value).unwrap_or_default())
}

/// A task's history, if any entry was recorded for it.
pub async fn load_history<T: Transport>(
    ctx: &Ctx<T>,
    task: Uuid,
) -> Result<Option<TaskHistory>, Problem> {
    let found = ctx
        .dapr
        .state(&ctx.config.state_store)
        .get::<TaskHistory>(&history_key(task))
        .await
        .map_err(|e| dapr_problem(&e))?;
    Ok(found.map(|v| v.value))
}

/// The user's entries `seqs` exactly as stored (`None` where missing), in
/// the order asked for, read in bulk requests of at most 100 keys.
pub async fn load_entries<T: Transport>(
    ctx: &Ctx<T>,
    user: &str,
    seqs: &[u64],
) -> Result<Vec<Option<Value>>, Problem> {
    let state = ctx.dapr.state(&ctx.config.state_store);
    let mut out = Vec::with_capacity(seqs.len());
    for chunk in seqs.chunks(BULK_CHUNK) {
        let keys: Vec<String> = chunk.iter().map(|seq| entry_key(user, *seq)).collect();
        let found = state
            .bulk_get::<Value>(&keys)
            .await
            .map_err(|e| dapr_problem(&e))?;
        out.extend(found.into_iter().map(|(_, item)| item.map(|v| v.value)));
    }
    Ok(out)
}
