//! Handlers of `/api/audit…`: a user reads only their own log.

use serde::Serialize;
use serde_json::Value;
use todo_core::audit::chain::Verifier;
use todo_core::audit::page::PageQuery;
use todo_core::Problem;
use todo_dapr::document::RawDocument;
use todo_dapr::Transport;
use todo_http::respond::json;
use todo_http::{Request, Response};
use uuid::Uuid;

use crate::store::{self, load_entries, load_head};
use crate::Ctx;

/// Entries verified per read.
const VERIFY_CHUNK: u64 = 100;

/// The body of `GET /api/audit`.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct EntryPage {
    /// As stored.
    items: Vec<RawDocument>,
    next_cursor: Option<String>,
    /// How many entries the user's log has.
    total: u64,
}

/// `GET /api/audit?cursor=&limit=` → `{items, nextCursor, total}`, newest first.
pub async fn list<T: Transport>(ctx: &Ctx<T>, request: &Request) -> Result<Response, Problem> {
    let user = ctx.user(request).await?;
    let query = PageQuery::parse(request.uri().query().unwrap_or(""))?;
    let head = load_head(ctx, &user).await?;
    let plan = query.plan(head.seq);
    let items = load_entries::<T, RawDocument>(ctx, &user, &plan.seqs).await?;
    Ok(json(
        200,
        &EntryPage {
            items: items.into_iter().flatten().collect(),
            next_cursor: plan.next_cursor,
            total: head.seq,
        },
    ))
}

/// The body of `GET /api/audit/tasks/{id}`.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct HistoryBody {
    task_id: Uuid,
    /// Oldest first.
    /// As stored.
    items: Vec<RawDocument>,
    /// `None` on the last page.
    next_cursor: Option<String>,
    /// How many entries the task's history has.
    total: u64,
}

/// `GET /api/audit/tasks/{id}?cursor=&limit=` → `{taskId, items,
/// nextCursor, total}`, oldest first; without `limit` a page holds up to
/// 200 entries (see [`todo_core::audit::page`]). Another user's task, or one
/// without entries, is 404.
pub async fn task_history<T: Transport>(
    ctx: &Ctx<T>,
    request: &Request,
    id: &str,
) -> Result<Response, Problem> {
    let user = ctx.user(request).await?;
    let not_found = || Problem::not_found("no audit history for this task");
    let task = Uuid::parse_str(id).map_err(|_| not_found())?;
    let query = PageQuery::parse_history(request.uri().query().unwrap_or(""))?;
    let (history, plan, seqs) = store::load_history_page(ctx, task, &query)
        .await?
        .filter(|(history, _, _)| history.owner == user)
        .ok_or_else(not_found)?;
    let items = load_entries::<T, RawDocument>(ctx, &user, &seqs).await?;
    Ok(json(
        200,
        &HistoryBody {
            task_id: task,
            items: items.into_iter().flatten().collect(),
            next_cursor: plan.next_cursor,
            total: history.len(),
        },
    ))
}

/// `GET /api/audit/verify` → `{ok, entries, brokenAt?}`: recomputes the
/// user's whole chain from the stored entries.
pub async fn verify<T: Transport>(ctx: &Ctx<T>, request: &Request) -> Result<Response, Problem> {
    let user = ctx.user(request).await?;
    let head = load_head(ctx, &user).await?;
    let mut verifier = Verifier::new();
    let mut from = 1;
    while from <= head.seq {
        let to = head.seq.min(from + VERIFY_CHUNK - 1);
        let seqs: Vec<u64> = (from..=to).collect();
        for entry in load_entries::<T, Value>(ctx, &user, &seqs).await? {
            verifier.check(entry.as_ref());
        }
        from = to + 1;
    }
    Ok(json(200, &verifier.finish(&head)))
}
