//! `POST /events/recurrence/task-events`: Dapr delivers task events here
//! (declarative Subscription `k8s/dapr/subscriptions/recurrence.yaml`: a
//! rule routes `todo.task.completed.v1` here, every other type goes to the
//! default route `/events/recurrence/task-events/other`, served by the same
//! handler, so it is acknowledged without work instead of dead-lettered).
//!
//! For a completed recurring task, the next occurrence (`todo_core::
//! recurrence::next_task_input`) is created through Dapr service invocation
//! `POST /v1.0/invoke/task-api/method/internal/tasks/next` with
//! `Idempotency-Key: {seriesId}:{occurrence+1}`: however often the completion
//! is delivered, or the task reopened and completed again, task-api creates
//! that occurrence once (architecture §5).
//!
//! Replies: SUCCESS when the occurrence exists (created now, or before),
//! when the series has ended, and for events that need no work; RETRY when
//! the sidecar or task-api is unavailable; DROP, with a log line saying why,
//! for unreadable events and for tasks whose next occurrence cannot be
//! computed or is refused by task-api as invalid.

use serde::Serialize;
use todo_core::events::TaskChange;
use todo_core::recurrence::next_task_input;
use todo_core::task::validate::TaskInput;
use todo_core::{Problem, Task};
use todo_dapr::inbound::DeliveryStatus;
use todo_dapr::Transport;
use todo_http::{delivery, Request, Response};

use crate::Ctx;

/// The method task-api serves for us.
pub const NEXT_OCCURRENCE_PATH: &str = "internal/tasks/next";

/// The problem `type` task-api answers when an `Idempotency-Key` was used
/// with another body: that occurrence exists already.
const KEY_REUSED: &str = "/problems/idempotency-key-reused";

/// The body of `POST /internal/tasks/next`.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct NextOccurrence<'a> {
    user_id: &'a str,
    task: &'a TaskInput,
}

pub async fn task_events<T: Transport>(ctx: &Ctx<T>, request: &Request) -> Response {
    let event = match delivery::task_event(ctx, request, "recurrence").await {
        Ok(event) => event,
        Err(reply) => return reply,
    };
    let data = &event.envelope.data;
    let (TaskChange::Completed, Some(task)) = (event.change, &data.task) else {
        return DeliveryStatus::Success.reply();
    };
    let Some(recurrence) = &task.recurrence else {
        return DeliveryStatus::Success.reply();
    };
    let id = &event.envelope.id;
    let next = match next_task_input(task) {
        Ok(Some(next)) => next,
        Ok(None) => {
            eprintln!(
                "recurrence: series {} ended at occurrence {} (event {id})",
                recurrence.series_id, recurrence.occurrence
            );
            return DeliveryStatus::Success.reply();
        }
        Err(why) => {
            eprintln!(
                "recurrence: DROP event {id}: no next occurrence of task {}: {why}",
                task.id
            );
            return DeliveryStatus::Drop.reply();
        }
    };
    let (status, why) = create_next(ctx, &data.user_id, task, &next).await;
    if status != DeliveryStatus::Success || !why.is_empty() {
        eprintln!("recurrence: {} event {id}: {why}", status.as_str());
    }
    status.reply()
}

/// `{seriesId}:{occurrence + 1}`: names the occurrence being created.
pub fn idempotency_key(task: &Task) -> Option<String> {
    let recurrence = task.recurrence.as_ref()?;
    Some(format!(
        "{}:{}",
        recurrence.series_id,
        u64::from(recurrence.occurrence) + 1
    ))
}

/// Asks task-api to create `next` for `user`; the reply to give Dapr, and a
/// reason to log (empty when there is nothing to say).
async fn create_next<T: Transport>(
    ctx: &Ctx<T>,
    user: &str,
    task: &Task,
    next: &TaskInput,
) -> (DeliveryStatus, String) {
    let key = idempotency_key(task).expect("a recurring task");
    let body = serde_json::to_vec(&NextOccurrence {
        user_id: user,
        task: next,
    })
    .expect("the next occurrence serializes");
    let request = http::Request::post(format!("/{NEXT_OCCURRENCE_PATH}"))
        .header(http::header::CONTENT_TYPE, "application/json")
        .header("idempotency-key", &key)
        .body(body)
        .expect("a valid request");
    let response = match ctx.dapr.invoke(&ctx.config.task_api, request).await {
        Ok(response) => response,
        Err(err) => {
            return (
                DeliveryStatus::Retry,
                format!("cannot reach {}: {err}", ctx.config.task_api),
            )
        }
    };
    let status = response.status().as_u16();
    let problem: Option<Problem> = serde_json::from_slice(response.body()).ok();
    let detail = problem.as_ref().map_or("", |p| p.detail.as_str());
    match status {
        201 => (DeliveryStatus::Success, String::new()),
        200 => (
            DeliveryStatus::Success,
            format!("occurrence {key} existed already (replayed)"),
        ),
        422 if problem.as_ref().is_some_and(|p| p.kind == KEY_REUSED) => (
            DeliveryStatus::Success,
            format!("occurrence {key} existed already (created from an earlier completion)"),
        ),
        404 => (
            DeliveryStatus::Success,
            format!("occurrence {key} was created and has since been deleted: {detail}"),
        ),
        401 | 403 | 408 | 409 | 425 | 429 | 500..=599 => (
            DeliveryStatus::Retry,
            format!("task-api answered {status}: {detail}"),
        ),
        _ => (
            DeliveryStatus::Drop,
            format!("task-api refused occurrence {key} with {status}: {detail}"),
        ),
    }
}
