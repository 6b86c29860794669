//! audit's state layout (architecture §5) and the one way it grows: read the
//! user's chain head, the task's history head and the event's dedupe
//! marker, append the entry, and commit them in one Dapr state transaction
//! guarded by the ETags read; on a lost race re-read and decide again (a
//! bounded number of times, [`document::transact`]).
//!
//! # Documents, and what bounds each
//!
//! architecture §5's cost rules: no request reads or writes a document whose size
//! grows with a user's history, and every document stays ≤ 64 KiB whatever
//! that history. Keys (Dapr prefixes them with `audit||`; user and event
//! ids are percent-encoded segments):
//!
//! - `chain/{uid}` → [`ChainHead`] `{seq, hash}`: the user's last entry.
//!   Fixed size (a number and 64 hex characters).
//! - `entry/{uid}/{seq}` → [`AuditEntry`], written once (insert-only). One
//!   per event (a task event, or a sign-up on the new account's chain,
//!   [`append_account`]): the log itself, which is meant to be kept for
//!   ever, grows in number of documents, never in the size of one. An entry holds one
//!   event's field changes, so its size follows from the task limits (at
//!   most ~51 KiB); an event whose entry would exceed
//!   [`MAX_ENTRY_BYTES`] is refused as poison ([`AppendError::Oversized`]).
//!   Pages of the log (`GET /api/audit`) and of a task's history read at
//!   most `limit` (≤ 200) entries.
//! - `taskhist/{taskId}` → [`TaskHistory`]: the task's owner, how many pages
//!   of its history are sealed and the newest `seq`s. This used to list
//!   every `seq` of the task, so it grew with every change of the task
//!   (unbounded); now the list is cut into pages of [`HISTORY_PAGE_SEQS`]
//!   (256) `seq`s, so the head stays under ~5.3 KiB plus the owner id. A
//!   head of the old layout (every `seq` in `seqs`) reads as it is and is
//!   split into pages by its next append.
//! - `taskhist/{taskId}/{n}` → [`HistoryPage`]: 256 `seq`s of the task's
//!   history, written once, by the append that filled them (the head's ETag
//!   makes that one append). Fixed size (≤ ~5.3 KiB).
//! - `seen/{eventId}` → [`Seen`] `{userId, seq}` (shared with sync-relay's
//!   feed): the dedupe marker,
//!   insert-only in the same transaction as the append, so one CloudEvent
//!   id is recorded at most once however often it is delivered. Fixed size;
//!   they used to be kept for ever (one per event ever recorded), now each
//!   expires after [`SEEN_TTL_SECS`] (30 days), longer than any event can
//!   still be (re)delivered: Kafka keeps `task-events` 7 days and its
//!   dead-letter topic 14.
//!
//! An append therefore writes the chain head, the entry, the task's history
//! head, the marker and, once every 256 changes of a task, one sealed page:
//! all bounded, in one transaction. A sign-up has no task, so its append
//! writes only the chain head, the entry (a few hundred bytes: it holds no
//! address and no name) and the marker. `GET /api/audit/verify` still reads
//! every entry of the user (in bulk reads of 100): each read is bounded, but
//! the request's cost grows with the log, as recomputing the whole chain
//! must.

use serde::de::DeserializeOwned;
use todo_core::audit::chain::{AuditEntry, ChainHead, MAX_ENTRY_BYTES, SEEN_TTL_SECS};
use todo_core::audit::page::{PageQuery, HISTORY_PAGE_SEQS};
use todo_core::events::account::AccountEvent;
use todo_core::events::task::TaskEvent;
use todo_core::Problem;
use todo_dapr::document::{
    self, at_once, guarded_upsert, key_segment, transact, Decided, Loaded, Seen, TransactError,
    Write, MAX_ATTEMPTS,
};
use todo_dapr::state::{SaveItem, TxOperation};
use todo_dapr::{DaprError, Transport};
use todo_http::respond::OrProblem;
use uuid::Uuid;

pub use todo_core::audit::page::{HistoryPage, HistoryPlan, TaskHistory};

use crate::Ctx;

/// Most keys read in one bulk request.
const BULK_CHUNK: usize = 100;

pub fn chain_key(user: &str) -> String {
    format!("chain/{}", key_segment(user))
}

pub fn entry_key(user: &str, seq: u64) -> String {
    format!("entry/{}/{seq}", key_segment(user))
}

pub fn history_key(task: Uuid) -> String {
    format!("taskhist/{task}")
}

pub fn history_page_key(task: Uuid, page: u64) -> String {
    format!("taskhist/{task}/{page}")
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
    /// The event's entry would be larger than [`MAX_ENTRY_BYTES`]: its task
    /// breaks the task limits, a poison message, never retried.
    Oversized { bytes: usize },
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
            AppendError::Oversized { bytes } => write!(
                f,
                "its entry would be {bytes} bytes, more than the {MAX_ENTRY_BYTES} a document may hold"
            ),
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
        Seen::key(&event.envelope.id),
    ];
    let state = ctx.dapr.state(&ctx.config.state_store);
    transact(&state, MAX_ATTEMPTS, at_once, async |_| {
        let mut found = document::read_raw(&state, &keys).await?.into_iter();
        let head = Loaded::from_versioned(document::decode::<ChainHead>(found.next().flatten())?);
        let history =
            Loaded::from_versioned(document::decode::<TaskHistory>(found.next().flatten())?);
        if let Some(seen) = document::decode::<Seen>(found.next().flatten())? {
            return Ok(Decided::Answer(Appended::Duplicate(seen.value.seq)));
        }
        if history.etag.is_some() && history.value.owner != user {
            return Err(AppendError::ForeignTask {
                owner: history.value.owner,
            });
        }

        let entry = head.value.next_entry(event);
        let bytes = entry.stored_len();
        if bytes > MAX_ENTRY_BYTES {
            return Err(AppendError::Oversized { bytes });
        }
        let mut next_history = history.value.clone();
        next_history.owner = user.to_string();
        let sealed = next_history.push(entry.seq);
        let seen = Seen {
            user_id: user.to_string(),
            seq: entry.seq,
        };
        let mut operations = vec![
            guarded_upsert(keys[0].clone(), &ChainHead::after(&entry), head.etag)?,
            guarded_upsert(entry_key(user, entry.seq), &entry, None)?,
            guarded_upsert(keys[1].clone(), &next_history, history.etag)?,
            seen.write(&event.envelope.id, SEEN_TTL_SECS)?,
        ];
        // A sealed page is an unconditional upsert: only the append that
        // moves the head (guarded by its ETag) past page `n` writes page `n`,
        // and what it holds follows from the head alone, so writing it again
        // (say over a leftover of an abandoned layout) is harmless.
        for (page, seqs) in &sealed {
            operations.push(SaveItem::new(
                history_page_key(data.task_id, *page),
                serde_json::to_value(seqs).map_err(|e| DaprError::InvalidRequest(e.to_string()))?,
            ));
        }
        let operations = operations.into_iter().map(TxOperation::Upsert).collect();
        Ok(Decided::Commit(
            Write::Transaction(operations),
            Appended::New(entry),
        ))
    })
    .await
    .map_err(TransactError::into_inner)
}

/// Records the sign-up `event` as the next entry of the new account's own
/// chain (user = the account id; normally its first entry), exactly once:
/// the chain head (ETag-guarded), the entry and the `seen/{eventId}` marker
/// (both insert-only) in one transaction, re-read and decided again on a
/// lost race. No task history: the entry has no task.
pub async fn append_account<T: Transport>(
    ctx: &Ctx<T>,
    event: &AccountEvent,
) -> Result<Appended, AppendError> {
    let user = event.user_id();
    let keys = [chain_key(&user), Seen::key(&event.envelope.id)];
    let state = ctx.dapr.state(&ctx.config.state_store);
    transact(&state, MAX_ATTEMPTS, at_once, async |_| {
        let mut found = document::read_raw(&state, &keys).await?.into_iter();
        let head = Loaded::from_versioned(document::decode::<ChainHead>(found.next().flatten())?);
        if let Some(seen) = document::decode::<Seen>(found.next().flatten())? {
            return Ok(Decided::Answer(Appended::Duplicate(seen.value.seq)));
        }
        let entry = head.value.account_entry(event);
        let bytes = entry.stored_len();
        if bytes > MAX_ENTRY_BYTES {
            return Err(AppendError::Oversized { bytes });
        }
        let seen = Seen {
            user_id: user.clone(),
            seq: entry.seq,
        };
        let operations = [
            guarded_upsert(keys[0].clone(), &ChainHead::after(&entry), head.etag)?,
            guarded_upsert(entry_key(&user, entry.seq), &entry, None)?,
            seen.write(&event.envelope.id, SEEN_TTL_SECS)?,
        ];
        Ok(Decided::Commit(
            Write::Transaction(operations.into_iter().map(TxOperation::Upsert).collect()),
            Appended::New(entry),
        ))
    })
    .await
    .map_err(TransactError::into_inner)
}

/// The user's chain head (the empty chain when they have no entries).
pub async fn load_head<T: Transport>(ctx: &Ctx<T>, user: &str) -> Result<ChainHead, Problem> {
    let found = ctx
        .dapr
        .state(&ctx.config.state_store)
        .get::<ChainHead>(&chain_key(user))
        .await
        .or_problem()?;
    Ok(found.map(|v| v.value).unwrap_or_default())
}

/// One page of a task's history: its head (`None` when no entry was
/// recorded for the task), the plan of the page `query` asks for, and the
/// `seq`s on it, oldest first. One bulk read fetches the head with the
/// sealed pages the query can touch (at most two, see
/// [`HISTORY_PAGE_SEQS`]), so the cost is the same for any task.
pub async fn load_history_page<T: Transport>(
    ctx: &Ctx<T>,
    task: Uuid,
    query: &PageQuery,
) -> Result<Option<(TaskHistory, HistoryPlan, Vec<u64>)>, Problem> {
    let per_page = HISTORY_PAGE_SEQS as u64;
    let from = query.cursor.unwrap_or(0);
    let last = from.saturating_add(query.limit.max(1) as u64 - 1);
    let candidates: Vec<u64> = (from / per_page..=last / per_page).collect();
    let mut keys = vec![history_key(task)];
    keys.extend(candidates.iter().map(|page| history_page_key(task, *page)));
    let mut found = document::read_raw(&ctx.dapr.state(&ctx.config.state_store), &keys)
        .await
        .or_problem()?
        .into_iter();
    let Some(history) = document::decode::<TaskHistory>(found.next().flatten()).or_problem()?
    else {
        return Ok(None);
    };
    let history = history.value;
    let mut pages = std::collections::BTreeMap::new();
    for (page, item) in candidates.iter().zip(found) {
        if let Some(read) = document::decode::<HistoryPage>(item).or_problem()? {
            pages.insert(*page, read.value);
        }
    }
    let plan = history.plan(query);
    let needed: Vec<Option<HistoryPage>> = plan.pages.iter().map(|p| pages.remove(p)).collect();
    let seqs = plan.seqs(&history, &needed);
    Ok(Some((history, plan, seqs)))
}

/// The user's entries `seqs` exactly as stored (`None` where missing), in
/// the order asked for, read in bulk requests of at most 100 keys.
///
/// Read as [`RawDocument`] to pass entries on as the stored bytes (the API
/// pages), as [`serde_json::Value`] to inspect them (verification).
pub async fn load_entries<T: Transport, V: DeserializeOwned>(
    ctx: &Ctx<T>,
    user: &str,
    seqs: &[u64],
) -> Result<Vec<Option<V>>, Problem> {
    let state = ctx.dapr.state(&ctx.config.state_store);
    let mut out = Vec::with_capacity(seqs.len());
    for chunk in seqs.chunks(BULK_CHUNK) {
        let keys: Vec<String> = chunk.iter().map(|seq| entry_key(user, *seq)).collect();
        let found = state.bulk_get::<V>(&keys).await.or_problem()?;
        out.extend(found.into_iter().map(|(_, item)| item.map(|v| v.value)));
    }
    Ok(out)
}
