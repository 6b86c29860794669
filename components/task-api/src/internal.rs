//! Routes only Dapr calls: the recurrence service's "create the next
//! occurrence" invocation, the outbox-sweep cron binding and the outbox jobs'
//! callbacks.

use serde::Deserialize;
use todo_core::task::validate::{self, TaskInput};
use todo_core::Problem;
use todo_dapr::Transport;
use todo_http::auth::require_app_token;
use todo_http::respond::json;
use todo_http::{body, Request, Response};

use crate::tasks::{create_task, created_response, Idempotency};
use crate::{legacy, outbox, Ctx};

/// Body of `POST /internal/tasks/next`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct NextOccurrence {
    pub user_id: String,
    pub task: TaskInput,
}

/// `POST /internal/tasks/next`: creates the next occurrence of a series for
/// `userId`. `Idempotency-Key` (`{seriesId}:{occurrence}`) is required, so a
/// redelivered completion can never create the occurrence twice.
pub async fn next_occurrence<T: Transport>(
    ctx: &Ctx<T>,
    request: &Request,
) -> Result<Response, Problem> {
    require_app_token(&ctx.dapr, &ctx.config.auth, request).await?;
    let mut idempotency = Idempotency::from_request(request)?.ok_or_else(|| {
        Problem::bad_request("Idempotency-Key is required on /internal/tasks/next")
    })?;
    // A series occurrence is created at most once, ever: a reopen + complete
    // days later must replay, not create again, so these keys never expire.
    idempotency.ttl_seconds = None;
    let next: NextOccurrence = body::json(request)?;
    if next.user_id.trim().is_empty() {
        return Err(Problem::validation(vec![todo_core::FieldError::new(
            "userId",
            "must not be empty",
        )]));
    }
    let fields = validate::validate(next.task).map_err(Problem::validation)?;
    let (task, created) = create_task(ctx, &next.user_id, fields, Some(&idempotency)).await?;
    Ok(created_response(&task, created))
}

/// `POST /internal/outbox-sweep` (cron binding): migrates the users the
/// previous state layout left with unpublished events (`crate::legacy`).
pub async fn outbox_sweep<T: Transport>(
    ctx: &Ctx<T>,
    request: &Request,
) -> Result<Response, Problem> {
    require_app_token(&ctx.dapr, &ctx.config.auth, request).await?;
    let report = legacy::sweep(ctx).await?;
    Ok(json(200, &report))
}

/// `POST /job/{name}`: an outbox job fired (`crate::outbox`): publish what
/// the task's outbox still holds. 200 when nothing is left; 503 while a
/// publish fails, so the Scheduler calls again; 404 for a name that is not an
/// outbox job's (Dapr counts 404 as done).
pub async fn outbox_job<T: Transport>(
    ctx: &Ctx<T>,
    request: &Request,
    name: &str,
) -> Result<Response, Problem> {
    require_app_token(&ctx.dapr, &ctx.config.auth, request).await?;
    let task = outbox::job_task(name)
        .ok_or_else(|| Problem::not_found(format!("task-api has no job {name:?}")))?;
    let flushed = outbox::publish_leftover(ctx, task).await?;
    Ok(json(
        200,
        &serde_json::json!({ "published": flushed.published }),
    ))
}
