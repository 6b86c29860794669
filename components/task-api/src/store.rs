//! task-api's state layout (DESIGN §5) and the one way it is changed: read,
//! decide, commit everything in one Dapr state transaction guarded by ETags,
//! and on a conflict re-read and decide again (a bounded number of times).
//!
//! Keys (Dapr prefixes them with `task-api||`):
//! - `task/{id}` → [`StoredTask`]: the task and its owner;
//! - `user/{uid}` → [`UserIndex`]: a summary of each of the user's tasks plus
//!   the outbox of events not yet published;
//! - `idem/{uid}/{key}` → [`IdempotencyRecord`], TTL 24 h;
//! - `outbox-pending/{shard}` → [`PendingShard`]: users whose publish failed.

use serde::{Deserialize, Serialize};
use todo_core::events::{self, OutboundEvent, TaskChange};
use todo_core::query::TaskSummary;
use todo_core::{Problem, Task};
use todo_dapr::document::{self, is_conflict, key_segment as segment, RawDocument};
use todo_dapr::state::{SaveItem, TxOperation, Versioned};
use todo_dapr::{DaprError, Transport};
use todo_http::respond::dapr_problem;
use uuid::Uuid;

use crate::Ctx;

// `Loaded` documents and the retry bound (then 503) are shared by every
// component: todo_dapr::document.
pub use todo_dapr::document::{Loaded, MAX_ATTEMPTS};
/// How long an `Idempotency-Key` is remembered.
pub const IDEMPOTENCY_TTL_SECS: u64 = 24 * 60 * 60;
/// Number of `outbox-pending/{shard}` documents the sweep walks.
pub const PENDING_SHARDS: u32 = 16;

/// A task with the user it belongs to.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StoredTask {
    pub owner: String,
    pub task: Task,
}

/// The user's index: what lists, filters and tags need, plus the outbox.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct UserIndex {
    #[serde(default)]
    pub tasks: Vec<TaskSummary>,
    #[serde(default)]
    pub outbox: Vec<OutboundEvent>,
}

/// The outbox of a user index, read without its task summaries: serde skips
/// the `tasks` array without building it, so reading this costs little more
/// than the bytes, however many tasks the user has. For requests that change
/// nothing (a single-task read) but must still flush a leftover outbox.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
pub struct PendingOutbox {
    #[serde(default)]
    pub outbox: Vec<OutboundEvent>,
}

/// What an `Idempotency-Key` was used for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct IdempotencyRecord {
    pub task_id: Uuid,
    /// SHA-256 (hex) of the request body's canonical JSON.
    pub body_hash: String,
}

/// Users with events left in their outbox after a failed publish.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PendingShard {
    #[serde(default)]
    pub users: Vec<String>,
}

pub fn task_key(id: Uuid) -> String {
    format!("task/{id}")
}

pub fn user_key(user: &str) -> String {
    format!("user/{}", segment(user))
}

pub fn idempotency_key(user: &str, key: &str) -> String {
    format!("idem/{}/{}", segment(user), segment(key))
}

pub fn pending_key(shard: u32) -> String {
    format!("outbox-pending/{shard}")
}

/// The pending shard a user's failed publishes are recorded in (FNV-1a, so it
/// is stable across builds and platforms).
pub fn pending_shard(user: &str) -> u32 {
    let hash = user.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    });
    (hash % u64::from(PENDING_SHARDS)) as u32
}

/// The conditional upsert of a document read with [`Loaded`]: with its ETag
/// when it existed, insert-only (first-write) when it did not.
pub fn guarded_upsert<V: Serialize>(
    key: String,
    value: &V,
    etag: Option<String>,
) -> Result<SaveItem, Problem> {
    document::guarded_upsert(key, value, etag)
        .map_err(|e| Problem::internal(format!("cannot serialize state: {e}")))
}

/// The answer when [`MAX_ATTEMPTS`] commits in a row lost their race.
pub fn contended() -> Problem {
    Problem::unavailable("the task was changed concurrently too often; try again", 1)
}

pub async fn load_index<T: Transport>(
    ctx: &Ctx<T>,
    user: &str,
) -> Result<Loaded<UserIndex>, Problem> {
    let found = ctx
        .dapr
        .state(&ctx.config.state_store)
        .get::<UserIndex>(&user_key(user))
        .await
        .map_err(|e| dapr_problem(&e))?;
    Ok(Loaded::from_versioned(found))
}

/// One task of `user` with its ETag, and the user's index, in one bulk read.
/// Another user's task is reported as missing.
pub async fn load_task_and_index<T: Transport>(
    ctx: &Ctx<T>,
    user: &str,
    id: Uuid,
) -> Result<(Option<Versioned<StoredTask>>, Loaded<UserIndex>), Problem> {
    let (task, index) = load_task_and::<T, UserIndex>(ctx, user, id).await?;
    Ok((task, Loaded::from_versioned(index)))
}

/// One task of `user` (as [`load_task_and_index`]) and only the outbox of the
/// user's index, in one bulk read: what a request that changes nothing needs
/// to answer and flush a leftover outbox.
pub async fn load_task_and_outbox<T: Transport>(
    ctx: &Ctx<T>,
    user: &str,
    id: Uuid,
) -> Result<(Option<Versioned<StoredTask>>, PendingOutbox), Problem> {
    let (task, pending) = load_task_and::<T, PendingOutbox>(ctx, user, id).await?;
    Ok((task, pending.map(|p| p.value).unwrap_or_default()))
}

/// `task/{id}` (kept only when `user` owns it) and `user/{uid}` read as `I`,
/// in one bulk read, each parsed once straight from its JSON text.
async fn load_task_and<T: Transport, I: serde::de::DeserializeOwned>(
    ctx: &Ctx<T>,
    user: &str,
    id: Uuid,
) -> Result<(Option<Versioned<StoredTask>>, Option<Versioned<I>>), Problem> {
    let keys = [task_key(id), user_key(user)];
    let mut found = ctx
        .dapr
        .state(&ctx.config.state_store)
        .bulk_get::<RawDocument>(&keys)
        .await
        .map_err(|e| dapr_problem(&e))?
        .into_iter()
        .map(|(_, item)| item);
    let task = decode::<StoredTask>(found.next().flatten())?.filter(|t| t.value.owner == user);
    let index = decode::<I>(found.next().flatten())?;
    Ok((task, index))
}

/// Full tasks for `ids`, in that order; ids whose document is gone are skipped.
pub async fn load_tasks<T: Transport>(ctx: &Ctx<T>, ids: &[Uuid]) -> Result<Vec<Task>, Problem> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let keys: Vec<String> = ids.iter().map(|id| task_key(*id)).collect();
    let found = ctx
        .dapr
        .state(&ctx.config.state_store)
        .bulk_get::<StoredTask>(&keys)
        .await
        .map_err(|e| dapr_problem(&e))?;
    Ok(found
        .into_iter()
        .filter_map(|(_, item)| item.map(|v| v.value.task))
        .collect())
}

/// One document of a `bulk_get::<RawDocument>` decoded into `V` (an
/// unreadable one is a 500).
pub fn decode<V: serde::de::DeserializeOwned>(
    item: Option<Versioned<RawDocument>>,
) -> Result<Option<Versioned<V>>, Problem> {
    document::decode(item).map_err(|e| Problem::internal(e.to_string()))
}

/// A decided change to one task, ready to commit.
pub struct Change {
    pub kind: TaskChange,
    pub before: Option<Task>,
    /// `None` deletes the task.
    pub after: Option<Task>,
}

/// Commits `change` for `user`: writes (or deletes) the task, updates its
/// summary in the index and appends the change's events to the outbox, all in
/// one transaction guarded by the ETags the documents were read with.
/// `extra` operations (the idempotency record) join the same transaction.
pub async fn commit_change<T: Transport>(
    ctx: &Ctx<T>,
    user: &str,
    change: &Change,
    task_etag: Option<String>,
    index: &mut Loaded<UserIndex>,
    extra: Vec<TxOperation>,
) -> Result<CommitOutcome, Problem> {
    let now = ctx.now();
    let new_events = events::events_for_change(
        change.kind,
        user,
        change.before.as_ref(),
        change.after.as_ref(),
        now,
        &mut Uuid::now_v7,
    );
    let task_id = change
        .after
        .as_ref()
        .or(change.before.as_ref())
        .map(|t| t.id)
        .ok_or_else(|| Problem::internal("a change needs a task"))?;

    let mut next_index = index.value.clone();
    next_index.tasks.retain(|s| s.id != task_id);
    if let Some(after) = &change.after {
        next_index.tasks.push(TaskSummary::from(after));
    }
    next_index.outbox.extend(new_events);

    let mut operations = Vec::with_capacity(2 + extra.len());
    operations.push(match &change.after {
        Some(after) => TxOperation::Upsert(guarded_upsert(
            task_key(task_id),
            &StoredTask {
                owner: user.to_string(),
                task: after.clone(),
            },
            task_etag,
        )?),
        None => TxOperation::Delete {
            key: task_key(task_id),
            etag: task_etag,
        },
    });
    operations.push(TxOperation::Upsert(guarded_upsert(
        user_key(user),
        &next_index,
        index.etag.clone(),
    )?));
    operations.extend(extra);

    match ctx
        .dapr
        .state(&ctx.config.state_store)
        .transaction(&operations)
        .await
    {
        Ok(()) => {
            index.value = next_index;
            Ok(CommitOutcome::Committed)
        }
        Err(err) if is_conflict(&err) => Ok(CommitOutcome::Conflict),
        Err(err) => Err(dapr_problem(&err)),
    }
}

/// Whether a commit landed or lost a race (re-read and decide again).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CommitOutcome {
    Committed,
    Conflict,
}

/// Read-modify-write of one document with its ETag, retried on conflict.
/// `modify` returns `false` when nothing needs writing.
pub async fn update_document<T, V, F>(
    ctx: &Ctx<T>,
    key: &str,
    mut modify: F,
) -> Result<(), DaprError>
where
    T: Transport,
    V: Serialize + serde::de::DeserializeOwned + Default,
    F: FnMut(&mut V) -> bool,
{
    let state = ctx.dapr.state(&ctx.config.state_store);
    document::update(&state, key, None, |doc: &mut V| modify(doc).then_some(()))
        .await
        .map(|_| ())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_escape_separators_and_dapr_reserved_pipes() {
        assert_eq!(user_key("alice"), "user/alice");
        assert_eq!(user_key("a/b||c"), "user/a%2Fb%7C%7Cc");
        assert_eq!(idempotency_key("bob@x.io", "k/1"), "idem/bob@x.io/k%2F1");
        assert!(!user_key("x||y").contains("||"));
    }

    #[test]
    fn pending_outbox_reads_the_outbox_of_an_index_and_skips_its_tasks() {
        let event = OutboundEvent {
            topic: "task-events".into(),
            partition_key: "alice".into(),
            event: serde_json::json!({"id": "e1", "type": "todo.task.created.v1"}),
        };
        let index = serde_json::json!({
            "tasks": [{"any": "shape", "is": ["skipped", {"not": "built"}]}],
            "outbox": [serde_json::to_value(&event).unwrap()],
        });
        let pending: PendingOutbox = serde_json::from_value(index).unwrap();
        assert_eq!(pending.outbox, vec![event]);
        let empty: PendingOutbox = serde_json::from_str(r#"{"tasks": []}"#).unwrap();
        assert!(empty.outbox.is_empty());
    }

    #[test]
    fn pending_shard_is_stable_and_in_range() {
        assert_eq!(pending_shard("alice"), pending_shard("alice"));
        let shards: std::collections::BTreeSet<u32> = (0..200)
            .map(|i| pending_shard(&format!("user-{i}")))
            .collect();
        assert!(shards.iter().all(|s| *s < PENDING_SHARDS));
        assert!(
            shards.len() > PENDING_SHARDS as usize / 2,
            "users spread over shards"
        );
    }
}
