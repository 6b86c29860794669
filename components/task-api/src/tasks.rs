//! Handlers of `/api/tasks…` and `/api/tags`.

use chrono::{DateTime, Utc};
use sha2::{Digest, Sha256};
use todo_core::events::canonical::canonical_json;
use todo_core::events::TaskChange;
use todo_core::task::pages::{PageId, STATUSES};
use todo_core::task::patch;
use todo_core::task::query::{self, ListQuery};
use todo_core::task::validate::{self, TaskFields};
use todo_core::{Problem, Status, Task};
use todo_dapr::document::{Decided, RawDocument};
use todo_dapr::state::{Concurrency, SaveItem, TxOperation};
use todo_dapr::Transport;
use todo_http::respond::{json, no_content};
use todo_http::{body, header, Request, Response};
use uuid::Uuid;

use crate::store::{
    self, idempotency_key, page_key, task_key, Change, IdempotencyRecord, Snapshot, TaskDocument,
};
use crate::Ctx;
use crate::{legacy, outbox};

/// The authenticated user's id.
pub async fn user<T: Transport>(ctx: &Ctx<T>, request: &Request) -> Result<String, Problem> {
    ctx.user(request).await
}

/// `POST /api/tasks`: 201 + `Location` + `ETag`; with an `Idempotency-Key`
/// seen before for the same body, 200 and the task created then.
pub async fn create<T: Transport>(ctx: &Ctx<T>, request: &Request) -> Result<Response, Problem> {
    let user = user(ctx, request).await?;
    body::require_json(request)?;
    let input = validate::parse_task_input(request.body())?;
    let idempotency = Idempotency::from_request(request)?;
    let fields = validate::validate(input).map_err(Problem::validation)?;
    let (task, created) = create_task(ctx, &user, fields, idempotency.as_ref()).await?;
    Ok(created_response(&task, created))
}

/// 201 with `Location` for a new task, 200 for an idempotent replay.
pub fn created_response(task: &Task, created: bool) -> Response {
    let mut response = task_response(if created { 201 } else { 200 }, task);
    if created {
        let location = format!("/api/tasks/{}", task.id);
        response.headers_mut().insert(
            http::header::LOCATION,
            location.parse().expect("a uuid path is a valid header"),
        );
    }
    response
}

/// An `Idempotency-Key` and the fingerprint of the body it came with
/// (draft-ietf-httpapi-idempotency-key-header: same key + same body → same
/// result; same key + another body → 422).
pub struct Idempotency {
    pub key: String,
    pub body_hash: String,
    /// How long the key is remembered; `None`: for good.
    pub ttl_seconds: Option<u64>,
}

impl Idempotency {
    pub const MAX_KEY_LEN: usize = 255;

    pub fn from_request(request: &Request) -> Result<Option<Idempotency>, Problem> {
        let Some(raw) = request.headers().get("idempotency-key") else {
            return Ok(None);
        };
        let key = raw
            .to_str()
            .ok()
            .map(|k| k.trim().trim_matches('"'))
            .filter(|k| !k.is_empty() && k.len() <= Self::MAX_KEY_LEN)
            .ok_or_else(|| {
                Problem::bad_request(format!(
                    "Idempotency-Key must be 1–{} visible ASCII characters",
                    Self::MAX_KEY_LEN
                ))
            })?;
        Ok(Some(Idempotency {
            key: key.to_string(),
            body_hash: body_fingerprint(request.body())?,
            ttl_seconds: Some(store::IDEMPOTENCY_TTL_SECS),
        }))
    }
}

/// SHA-256 of the body's canonical JSON (RFC 8785), so formatting and key
/// order do not make "the same body" different.
fn body_fingerprint(body: &[u8]) -> Result<String, Problem> {
    let value: serde_json::Value = serde_json::from_slice(body)
        .map_err(|e| Problem::bad_request(format!("invalid JSON body: {e}")))?;
    Ok(Sha256::digest(canonical_json(&value))
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect())
}

/// Creates a task for `user` (shared by the public create and the recurrence
/// service call). Returns the task and whether it is new.
pub async fn create_task<T: Transport>(
    ctx: &Ctx<T>,
    user: &str,
    fields: TaskFields,
    idempotency: Option<&Idempotency>,
) -> Result<(Task, bool), Problem> {
    // The id is chosen once: it decides the page, and the job names it.
    let id = Uuid::now_v7();
    let mut job = None;
    let (task, committed) = store::transact(ctx, async |_| {
        let root = PageId::root_of(id);
        let mut keys = vec![page_key(user, Status::Open, &root), legacy::user_key(user)];
        keys.extend(idempotency.map(|i| idempotency_key(user, &i.key)));
        let read = store::read_raw(ctx, &keys);
        // The first attempt arms the outbox job while it reads: the id is
        // known, and the job must exist before anything is committed.
        let found = match job {
            Some(_) => read.await?,
            None => {
                let (found, armed) = futures::future::join(read, outbox::arm(ctx, id)).await;
                job = Some(armed?);
                found?
            }
        };
        let mut found = found.into_iter();
        let root_page = found.next().flatten();
        if let Some(old) = store::decode(found.next().flatten())? {
            legacy::migrate(ctx, user, old).await?;
            return Ok(Decided::Reread);
        }
        if let (Some(idem), Some(seen)) = (
            idempotency,
            store::decode::<IdempotencyRecord>(found.next().flatten())?,
        ) {
            outbox::disarm(ctx, job.as_deref()).await;
            let task = replay(ctx, user, idem, &seen.value).await?;
            return Ok(Decided::Answer((task, None)));
        }
        let leaf = store::descend(ctx, user, Status::Open, id, root_page).await?;

        let task = Task::create(id, fields.clone(), ctx.now());
        let mut extra = Vec::new();
        if let Some(idem) = idempotency {
            let record = IdempotencyRecord {
                task_id: task.id,
                body_hash: idem.body_hash.clone(),
            };
            let mut item = SaveItem::new(
                idempotency_key(user, &idem.key),
                serde_json::to_value(&record).expect("a record serializes"),
            );
            item.concurrency = Some(Concurrency::FirstWrite);
            item.ttl_seconds = idem.ttl_seconds;
            extra.push(TxOperation::Upsert(item));
        }
        let change = Change {
            kind: TaskChange::Created,
            before: None,
            after: Some(task.clone()),
        };
        let snapshot = Snapshot {
            task: None,
            leaves: vec![leaf],
        };
        let (write, outbox) = store::change_write(ctx, user, &change, snapshot, extra)?;
        Ok(Decided::Commit(write, (task, Some(outbox))))
    })
    .await?;
    // A committed change's outbox is flushed; a replay committed nothing.
    let created = committed.is_some();
    if let Some(outbox) = committed {
        outbox::flush(ctx, id, &outbox, job.as_deref()).await;
    }
    Ok((task, created))
}

async fn replay<T: Transport>(
    ctx: &Ctx<T>,
    user: &str,
    idem: &Idempotency,
    seen: &IdempotencyRecord,
) -> Result<Task, Problem> {
    if seen.body_hash != idem.body_hash {
        return Err(Problem::new(
            422,
            "/problems/idempotency-key-reused",
            "Idempotency-Key reused",
            format!(
                "Idempotency-Key {:?} was already used with a different request body",
                idem.key
            ),
        ));
    }
    store::read_task(ctx, user, seen.task_id)
        .await?
        .and_then(|doc| doc.value.task)
        .ok_or_else(|| key_task_deleted(&idem.key))
}

/// A replayed `Idempotency-Key` whose task has since been deleted: 404 (the
/// result the key stands for is gone) with its own problem type, so a client
/// can tell it from an unknown route. Not 409: the request does not conflict
/// with anything a retry could resolve; a new key creates a new task. The
/// recurrence service counts a 404 as "that occurrence was made", which is
/// exactly right for a deleted next occurrence.
fn key_task_deleted(key: &str) -> Problem {
    Problem::new(
        404,
        "/problems/idempotency-key-task-deleted",
        "Task of this Idempotency-Key was deleted",
        format!(
            "the task created with Idempotency-Key {key:?} has since been deleted; \
             send a new key to create another"
        ),
    )
}

/// `GET /api/tasks/{id}`: reads the task's document and nothing else (a
/// leftover outbox in it is its job's to publish).
pub async fn get<T: Transport>(
    ctx: &Ctx<T>,
    request: &Request,
    id: &str,
) -> Result<Response, Problem> {
    let user = user(ctx, request).await?;
    let id = parse_id(id)?;
    let task = store::read_task(ctx, &user, id)
        .await?
        .and_then(|doc| doc.value.task)
        .ok_or_else(task_not_found)?;
    Ok(task_response(200, &task))
}

/// `GET /api/tasks` → `{items, nextCursor, total}`.
pub async fn list<T: Transport>(ctx: &Ctx<T>, request: &Request) -> Result<Response, Problem> {
    let user = user(ctx, request).await?;
    let query = ListQuery::parse(request.uri().query().unwrap_or(""))?;
    let statuses = store::statuses_for(query.status, query.overdue);
    let summaries = store::read_summaries(ctx, &user, &statuses).await?;
    let page = query::list(&summaries, &query, ctx.now())?;
    let items = store::load_task_json(ctx, &page.ids).await?;
    Ok(json(
        200,
        &TaskPage {
            items,
            next_cursor: page.next_cursor,
            total: page.total,
        },
    ))
}

/// The body of `GET /api/tasks`.
#[derive(serde::Serialize)]
#[serde(rename_all = "camelCase")]
struct TaskPage {
    /// Each task's JSON as stored (it is the API's `Task` JSON), not parsed
    /// and written again.
    items: Vec<RawDocument>,
    next_cursor: Option<String>,
    total: usize,
}

/// `GET /api/tags` → `{items: [{tag, count}]}`.
pub async fn tags<T: Transport>(ctx: &Ctx<T>, request: &Request) -> Result<Response, Problem> {
    let user = user(ctx, request).await?;
    let summaries = store::read_summaries(ctx, &user, &STATUSES).await?;
    Ok(json(
        200,
        &serde_json::json!({ "items": query::tag_counts(&summaries) }),
    ))
}

/// `PATCH /api/tasks/{id}` with a JSON Merge Patch (RFC 7396).
pub async fn patch<T: Transport>(
    ctx: &Ctx<T>,
    request: &Request,
    id: &str,
) -> Result<Response, Problem> {
    body::require_json(request)?;
    mutate(ctx, request, id, |task, now| {
        let fields = patch::apply_merge_patch(task, request.body())?;
        if fields == task.fields() {
            return Ok(None);
        }
        let mut after = task.clone();
        after.apply(fields, now);
        Ok(Some(Change {
            kind: TaskChange::Updated,
            before: Some(task.clone()),
            after: Some(after),
        }))
    })
    .await
}

/// `POST /api/tasks/{id}/complete`: idempotent.
pub async fn complete<T: Transport>(
    ctx: &Ctx<T>,
    request: &Request,
    id: &str,
) -> Result<Response, Problem> {
    change_status(ctx, request, id, TaskChange::Completed, Task::complete).await
}

/// `POST /api/tasks/{id}/reopen`: idempotent.
pub async fn reopen<T: Transport>(
    ctx: &Ctx<T>,
    request: &Request,
    id: &str,
) -> Result<Response, Problem> {
    change_status(ctx, request, id, TaskChange::Reopened, Task::reopen).await
}

/// A status transition; `transition` returns `false` when the task already
/// had that status, which answers 200 without a change or an event.
async fn change_status<T: Transport>(
    ctx: &Ctx<T>,
    request: &Request,
    id: &str,
    kind: TaskChange,
    transition: fn(&mut Task, DateTime<Utc>) -> bool,
) -> Result<Response, Problem> {
    mutate(ctx, request, id, |task, now| {
        let mut after = task.clone();
        Ok(transition(&mut after, now).then(|| Change {
            kind,
            before: Some(task.clone()),
            after: Some(after),
        }))
    })
    .await
}

/// `DELETE /api/tasks/{id}` → 204.
pub async fn delete<T: Transport>(
    ctx: &Ctx<T>,
    request: &Request,
    id: &str,
) -> Result<Response, Problem> {
    mutate(ctx, request, id, |task, _| {
        Ok(Some(Change {
            kind: TaskChange::Deleted,
            before: Some(task.clone()),
            after: None,
        }))
    })
    .await
}

/// Read the task and its page, check `If-Match`, let `decide` compute the
/// change (`None`: nothing to do), commit it, publish. A lost race re-reads
/// and decides again, so `If-Match` and idempotence hold under races.
async fn mutate<T, D>(
    ctx: &Ctx<T>,
    request: &Request,
    id: &str,
    decide: D,
) -> Result<Response, Problem>
where
    T: Transport,
    D: Fn(&Task, DateTime<Utc>) -> Result<Option<Change>, Problem>,
{
    let user = user(ctx, request).await?;
    let id = parse_id(id)?;
    let if_match = header(request, "if-match");
    let mut job = None;
    let (response, committed) = store::transact(ctx, async |_| {
        let root = PageId::root_of(id);
        let keys = [
            task_key(id),
            legacy::user_key(&user),
            page_key(&user, Status::Open, &root),
            page_key(&user, Status::Completed, &root),
        ];
        let mut found = store::read_raw(ctx, &keys).await?.into_iter();
        let stored = store::decode::<TaskDocument>(found.next().flatten())?
            .filter(|doc| doc.value.owner == user);
        if let Some(old) = store::decode(found.next().flatten())? {
            legacy::migrate(ctx, &user, old).await?;
            return Ok(Decided::Reread);
        }
        // The root pages of both statuses, still unparsed: only those the
        // change touches are decoded.
        let mut roots = [
            (Status::Open, found.next().flatten()),
            (Status::Completed, found.next().flatten()),
        ];
        let stored = stored.ok_or_else(task_not_found)?;
        let task = stored.value.task.as_ref().ok_or_else(task_not_found)?;
        check_if_match(if_match, task)?;
        let Some(change) = decide(task, ctx.now())? else {
            return Ok(Decided::Answer((task_response(200, task), None)));
        };
        let mut leaves = Vec::new();
        for status in store::statuses_touched(&change) {
            let root = roots
                .iter_mut()
                .find(|(s, _)| *s == status)
                .and_then(|(_, raw)| raw.take());
            leaves.push(store::descend(ctx, &user, status, id, root).await?);
        }
        if job.is_none() {
            job = Some(outbox::arm(ctx, id).await?);
        }
        let snapshot = Snapshot {
            task: Some(stored),
            leaves,
        };
        let (write, outbox) = store::change_write(ctx, &user, &change, snapshot, Vec::new())?;
        let response = match &change.after {
            Some(after) => task_response(200, after),
            None => no_content(),
        };
        Ok(Decided::Commit(write, (response, Some(outbox))))
    })
    .await?;
    // A committed change's outbox is flushed; no change committed nothing.
    if let Some(outbox) = committed {
        outbox::flush(ctx, id, &outbox, job.as_deref()).await;
    }
    Ok(response)
}

/// `If-Match` with strong comparison (RFC 9110 §13.1.1): `*` or a list of
/// entity tags, one of which must be the task's current `"<version>"`.
fn check_if_match(if_match: Option<&str>, task: &Task) -> Result<(), Problem> {
    let Some(value) = if_match else { return Ok(()) };
    let current = task.etag();
    if value
        .split(',')
        .map(str::trim)
        .any(|tag| tag == "*" || tag == current)
    {
        Ok(())
    } else {
        Err(Problem::precondition_failed(format!(
            "If-Match {value} does not match the task's current ETag {current}"
        )))
    }
}

/// A path id that is not a uuid names no task: 404, like a missing one.
fn parse_id(id: &str) -> Result<Uuid, Problem> {
    Uuid::parse_str(id).map_err(|_| task_not_found())
}

fn task_not_found() -> Problem {
    Problem::not_found("no such task")
}

/// A task as JSON with its `ETag`.
pub fn task_response(status: u16, task: &Task) -> Response {
    let mut response = json(status, task);
    response.headers_mut().insert(
        http::header::ETAG,
        task.etag()
            .parse()
            .expect("a quoted number is a valid header"),
    );
    response
}
