//! task-api's state layout (architecture §5, cost rules) and the one way it is
//! changed: read the task and the index page its summary lives in, decide,
//! commit both (with the change's events) in one Dapr state transaction
//! guarded by their ETags, and on a conflict re-read and decide again after a
//! short jittered pause ([`transact`]).
//!
//! Keys (Dapr prefixes them with `task-api||`):
//! - `task/{id}` → [`TaskDocument`]: the task and its owner, plus its outbox
//!   (the events of its changes not yet published; a deleted task stays as a
//!   tombstone until its last events are out);
//! - `pages/{uid}/{status}/{page}` → [`Page`]: the summaries a list needs,
//!   one tree per status, split by a hash of the task id so that no page
//!   exceeds 64 KiB (`todo_core::task::pages`);
//! - `idem/{uid}/{key}` → [`IdempotencyRecord`], TTL 24 h;
//! - `user/{uid}`: the previous layout's index, migrated on first touch
//!   ([`crate::legacy`]).
//!
//! What each request costs: a single-task read reads `task/{id}`; a change
//! reads `task/{id}` and its root pages (and the pages below them, for a
//! user with more than ~5,000 tasks of one status), and writes the task and
//! its leaf page (two leaves when the status changes); a list reads the pages
//! of the statuses it asks for, in one bulk read per split level. None of it
//! grows with the user's task count except the list, and a list of open
//! tasks does not grow with the completed ones.

use std::time::Duration;

use serde::{Deserialize, Serialize};
use todo_core::events::{self, OutboundEvent, TaskChange};
use todo_core::task::pages::{self, status_name, Page, PageId, PageWrite, STATUSES};
use todo_core::task::query::TaskSummary;
use todo_core::{Problem, Status, Task};
use todo_dapr::document::{self, key_segment as segment, Decided, RawDocument, Write};
use todo_dapr::state::{SaveItem, TxOperation, Versioned};
use todo_dapr::Transport;
use todo_http::respond::{transact_problem, OrProblem};
use uuid::Uuid;

use crate::legacy::{self, UserIndex};
use crate::Ctx;

pub use todo_dapr::document::Loaded;

/// How often a change whose commit lost a race is decided again before the
/// answer is 503: each attempt re-reads two small documents, so it can try
/// more often than a component whose conflicts cost more.
pub const MAX_ATTEMPTS: u32 = 12;
/// How long an `Idempotency-Key` is remembered.
pub const IDEMPOTENCY_TTL_SECS: u64 = 24 * 60 * 60;

/// A task with the user it belongs to and the events of its changes that are
/// not published yet. The previous layout's `{owner, task}` reads as one with
/// an empty outbox.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TaskDocument {
    pub owner: String,
    /// `None` once deleted: the document stays until its outbox is published.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub task: Option<Task>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
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

pub fn task_key(id: Uuid) -> String {
    format!("task/{id}")
}

pub fn page_key(user: &str, status: Status, page: &PageId) -> String {
    format!(
        "pages/{}/{}/{}",
        segment(user),
        status_name(status),
        page.name()
    )
}

pub fn idempotency_key(user: &str, key: &str) -> String {
    format!("idem/{}/{}", segment(user), segment(key))
}

/// The answer when [`MAX_ATTEMPTS`] commits in a row lost their race.
pub fn contended() -> Problem {
    Problem::unavailable("the task was changed concurrently too often; try again", 1)
}

/// Waits before attempt `attempt` (1-based) after a lost race: exponential
/// from 2 ms, capped at 64 ms, with full jitter so racing writers spread out.
pub async fn back_off<T: Transport>(ctx: &Ctx<T>, attempt: u32) {
    let ceiling_ms = 2u64 << attempt.min(5);
    let random = (Uuid::now_v7().as_u128() & 0xffff_ffff) as u64;
    ctx.config
        .pause(Duration::from_micros(random % (ceiling_ms * 1000)))
        .await;
}

/// A change under task-api's retry rules ([`document::transact`]): at most
/// [`MAX_ATTEMPTS`] attempts, a [`back_off`] after each lost race, and
/// [`contended`] when every attempt lost.
pub async fn transact<T: Transport, R>(
    ctx: &Ctx<T>,
    decide: impl AsyncFnMut(u32) -> Result<Decided<R>, Problem>,
) -> Result<R, Problem> {
    document::transact(
        &state(ctx),
        MAX_ATTEMPTS,
        async |attempt| back_off(ctx, attempt).await,
        decide,
    )
    .await
    .map_err(|err| transact_problem(err, contended))
}

fn state<T: Transport>(ctx: &Ctx<T>) -> todo_dapr::state::StateStore<'_, T> {
    ctx.dapr.state(&ctx.config.state_store)
}

/// Reads `keys` in one bulk read, each document unparsed.
pub async fn read_raw<T: Transport>(
    ctx: &Ctx<T>,
    keys: &[String],
) -> Result<Vec<Option<Versioned<RawDocument>>>, Problem> {
    document::read_raw(&state(ctx), keys).await.or_problem()
}

/// One document of a bulk read decoded into `V` (an unreadable one is a 500).
pub fn decode<V: serde::de::DeserializeOwned>(
    item: Option<Versioned<RawDocument>>,
) -> Result<Option<Versioned<V>>, Problem> {
    document::decode(item).map_err(|e| Problem::internal(e.to_string()))
}

/// `task/{id}` if `user` owns it (another user's task reads as missing),
/// tombstones included.
pub async fn read_task<T: Transport>(
    ctx: &Ctx<T>,
    user: &str,
    id: Uuid,
) -> Result<Option<Versioned<TaskDocument>>, Problem> {
    let found = state(ctx)
        .get::<TaskDocument>(&task_key(id))
        .await
        .or_problem()?;
    Ok(found.filter(|doc| doc.value.owner == user))
}

/// A leaf page read for a change: where it is and what it holds.
pub struct Leaf {
    pub status: Status,
    pub id: PageId,
    pub page: Loaded<Page>,
}

/// The leaf page of `status`'s tree that holds (or will hold) `task`,
/// starting from its root page as already read, and reading down through
/// split markers.
pub async fn descend<T: Transport>(
    ctx: &Ctx<T>,
    user: &str,
    status: Status,
    task: Uuid,
    root: Option<Versioned<RawDocument>>,
) -> Result<Leaf, Problem> {
    let mut id = PageId::root_of(task);
    let mut page = Loaded::from_versioned(decode::<Page>(root)?);
    while page.value.split {
        id = id.child_toward(task);
        let found = state(ctx)
            .get::<Page>(&page_key(user, status, &id))
            .await
            .or_problem()?;
        page = Loaded::from_versioned(found);
    }
    Ok(Leaf { status, id, page })
}

/// The statuses whose pages a list must read: a `status` filter needs its
/// own, `overdue=true` only open tasks, anything else both.
pub fn statuses_for(status: Option<Status>, overdue: bool) -> Vec<Status> {
    match (status, overdue) {
        (Some(status), _) => vec![status],
        (None, true) => vec![Status::Open],
        (None, false) => STATUSES.to_vec(),
    }
}

/// The summaries of the user's tasks of `statuses`: their root pages in one
/// bulk read, then the children of split pages, a level per read. A user
/// still in the previous layout is migrated first.
///
/// Its loop is not [`transact`]'s: a list commits nothing of its own, it
/// only reads again after a migration.
pub async fn read_summaries<T: Transport>(
    ctx: &Ctx<T>,
    user: &str,
    statuses: &[Status],
) -> Result<Vec<TaskSummary>, Problem> {
    for _ in 0..MAX_ATTEMPTS {
        let mut pages: Vec<(Status, PageId)> = statuses
            .iter()
            .flat_map(|s| PageId::roots().map(move |id| (*s, id)))
            .collect();
        let mut keys: Vec<String> = pages
            .iter()
            .map(|(status, id)| page_key(user, *status, id))
            .collect();
        keys.push(legacy::user_key(user));
        let mut found = read_raw(ctx, &keys).await?;
        if let Some(old) = decode::<UserIndex>(found.pop().flatten())? {
            legacy::migrate(ctx, user, old).await?;
            continue;
        }
        let mut summaries = Vec::new();
        loop {
            let mut split = Vec::new();
            for ((status, id), item) in pages.into_iter().zip(found) {
                let Some(page) = decode::<Page>(item)? else {
                    continue;
                };
                if page.value.split {
                    split.extend(id.children().map(|child| (status, child)));
                } else {
                    summaries.extend(page.value.tasks);
                }
            }
            if split.is_empty() {
                return Ok(summaries);
            }
            let keys: Vec<String> = split
                .iter()
                .map(|(status, id)| page_key(user, *status, id))
                .collect();
            found = read_raw(ctx, &keys).await?;
            pages = split;
        }
    }
    Err(contended())
}

/// The JSON of the tasks `ids`, in that order, as stored (a task document's
/// `task` is the API's task JSON, so a list passes it through unparsed); ids
/// whose task is gone are skipped.
pub async fn load_task_json<T: Transport>(
    ctx: &Ctx<T>,
    ids: &[Uuid],
) -> Result<Vec<RawDocument>, Problem> {
    /// Only the task of a task document, still as text.
    #[derive(Deserialize)]
    struct TaskOnly {
        #[serde(default)]
        task: Option<RawDocument>,
    }
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let keys: Vec<String> = ids.iter().map(|id| task_key(*id)).collect();
    let mut tasks = Vec::with_capacity(ids.len());
    for item in read_raw(ctx, &keys).await? {
        if let Some(doc) = decode::<TaskOnly>(item)? {
            // A tombstone's `task` is absent (or `null`).
            tasks.extend(doc.value.task.filter(|t| t.get() != "null"));
        }
    }
    Ok(tasks)
}

/// A decided change to one task, ready to commit.
pub struct Change {
    pub kind: TaskChange,
    pub before: Option<Task>,
    /// `None` deletes the task.
    pub after: Option<Task>,
}

impl Change {
    fn task_id(&self) -> Result<Uuid, Problem> {
        self.after
            .as_ref()
            .or(self.before.as_ref())
            .map(|t| t.id)
            .ok_or_else(|| Problem::internal("a change needs a task"))
    }
}

/// The documents a change is decided on: the task (absent for a create) and
/// the leaf pages its summary leaves and enters (one leaf when its status
/// stays, none of the other status).
pub struct Snapshot {
    pub task: Option<Versioned<TaskDocument>>,
    pub leaves: Vec<Leaf>,
}

/// The write that commits `change` for `user`, and the task's outbox as it
/// will then be (older unpublished events first, then this change's): the
/// task document (with the change's events appended to its outbox) and its
/// summary in its leaf pages (removed from the tree of its old status, put
/// into the tree of its new one), in one transaction guarded by the ETags
/// they were read with (insert-only where they did not exist). `extra`
/// operations (the idempotency record) join the transaction.
pub fn change_write<T: Transport>(
    ctx: &Ctx<T>,
    user: &str,
    change: &Change,
    snapshot: Snapshot,
    extra: Vec<TxOperation>,
) -> Result<(Write, Vec<OutboundEvent>), Problem> {
    let task_id = change.task_id()?;
    let (mut outbox, task_etag) = match snapshot.task {
        Some(doc) => (doc.value.outbox, doc.etag),
        None => (Vec::new(), None),
    };
    outbox.extend(events::events_for_change(
        change.kind,
        user,
        change.before.as_ref(),
        change.after.as_ref(),
        ctx.now(),
        &mut Uuid::now_v7,
    ));
    let document = TaskDocument {
        owner: user.to_string(),
        task: change.after.clone(),
        outbox,
    };

    let mut operations = Vec::with_capacity(3 + extra.len());
    operations.push(TxOperation::Upsert(guarded_upsert(
        task_key(task_id),
        &document,
        task_etag,
    )?));
    for leaf in snapshot.leaves {
        let summary = change
            .after
            .as_ref()
            .filter(|after| after.status == leaf.status)
            .map(TaskSummary::from);
        let writes = pages::place(&leaf.id, leaf.page.value, task_id, summary);
        operations.extend(page_operations(user, leaf.status, writes, leaf.page.etag)?);
    }
    operations.extend(extra);
    Ok((Write::Transaction(operations), document.outbox))
}

/// The statuses whose trees a change touches: the task's old one (to remove
/// or replace its summary) and its new one (to put it).
pub fn statuses_touched(change: &Change) -> Vec<Status> {
    let mut touched: Vec<Status> = [change.before.as_ref(), change.after.as_ref()]
        .into_iter()
        .flatten()
        .map(|t| t.status)
        .collect();
    touched.dedup();
    touched
}

/// The upserts of `writes`: the first (the page that was read) guarded by its
/// ETag, the pages a split creates insert-only.
pub fn page_operations(
    user: &str,
    status: Status,
    writes: Vec<PageWrite>,
    etag: Option<String>,
) -> Result<Vec<TxOperation>, Problem> {
    let mut etag = Some(etag);
    writes
        .into_iter()
        .map(|w| {
            let guard = etag.take().flatten();
            Ok(TxOperation::Upsert(guarded_upsert(
                page_key(user, status, &w.id),
                &w.page,
                guard,
            )?))
        })
        .collect()
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

/// Every document a user whose tasks are `tasks` (all published) has in this
/// layout, as `(key, value)`: seeds benchmarks and tests through the state
/// API directly, under the same rules as the handlers.
pub fn documents_for(user: &str, tasks: &[Task]) -> Vec<(String, serde_json::Value)> {
    let summaries: Vec<TaskSummary> = tasks.iter().map(TaskSummary::from).collect();
    let mut documents: Vec<(String, serde_json::Value)> = page_documents(user, summaries)
        .into_iter()
        .chain(tasks.iter().map(|task| {
            let doc = TaskDocument {
                owner: user.to_string(),
                task: Some(task.clone()),
                outbox: Vec::new(),
            };
            (task_key(task.id), serde_json::to_value(doc))
        }))
        .map(|(key, value)| (key, value.expect("documents serialize")))
        .collect();
    documents.sort_by(|a, b| a.0.cmp(&b.0));
    documents
}

/// The page documents holding `summaries`, one tree per status.
pub fn page_documents(
    user: &str,
    summaries: Vec<TaskSummary>,
) -> Vec<(String, serde_json::Result<serde_json::Value>)> {
    STATUSES
        .iter()
        .flat_map(|status| {
            let of_status = summaries
                .iter()
                .filter(|s| s.status == *status)
                .cloned()
                .collect();
            pages::PageSet::build(of_status)
                .pages
                .into_iter()
                .map(move |(id, page)| (page_key(user, *status, &id), serde_json::to_value(page)))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_escape_separators_and_dapr_reserved_pipes() {
        let page = PageId::roots().nth(3).unwrap();
        assert_eq!(page_key("alice", Status::Open, &page), "pages/alice/open/3");
        assert_eq!(
            page_key("a/b||c", Status::Completed, &page),
            "pages/a%2Fb%7C%7Cc/completed/3"
        );
        assert_eq!(idempotency_key("bob@x.io", "k/1"), "idem/bob@x.io/k%2F1");
        assert!(!page_key("x||y", Status::Open, &page).contains("||"));
    }

    #[test]
    fn a_previous_layout_task_document_reads_with_an_empty_outbox() {
        let old = serde_json::json!({"owner": "alice", "task": null});
        let doc: TaskDocument = serde_json::from_value(old).unwrap();
        assert_eq!(doc.owner, "alice");
        assert!(doc.outbox.is_empty());
    }
}
