//! Publishing the outbox (architecture §5): a change's events are committed in its
//! task's document, published after the commit, and only then removed from
//! it. An event may go out twice (consumers dedupe on the CloudEvent `id`),
//! never zero times, and a task's events go out in the order of its versions.
//!
//! The bounded delay: before its first commit attempt a change arms a Dapr
//! Job (`outbox-{taskId}-{nonce}`, due in [`JOB_DELAY`]) and disarms it once
//! its events are all out. If the instance dies in between, or a publish
//! fails, the job calls `POST /job/outbox-…` back and [`publish_leftover`]
//! publishes whatever the task's outbox still holds (the Scheduler retries
//! every [`JOB_RETRY`] until that succeeds). A job named per change, not per
//! task, so one request's disarm never cancels another's timer.

use std::collections::BTreeSet;
use std::time::Duration;

use todo_core::events::OutboundEvent;
use todo_core::Problem;
use todo_dapr::document::{Decided, Write};
use todo_dapr::jobs::Job;
use todo_dapr::Transport;
use todo_http::respond::OrProblem;
use uuid::Uuid;

use crate::store::{self, guarded_upsert, task_key, TaskDocument};
use crate::Ctx;

/// When an armed job fires if its change has not disarmed it.
pub const JOB_DELAY: Duration = Duration::from_secs(15);
/// How often the Scheduler calls again while a leftover cannot be published.
pub const JOB_RETRY: Duration = Duration::from_secs(10);
/// Prefix of the outbox jobs' names (`/job/outbox-…` is task-api's).
pub const JOB_PREFIX: &str = "outbox-";

/// The name of the job that guards one change of `task`.
pub fn job_name(task: Uuid, nonce: Uuid) -> String {
    format!("{JOB_PREFIX}{task}-{}", nonce.simple())
}

/// The task a job name guards, if it is an outbox job's.
pub fn job_task(name: &str) -> Option<Uuid> {
    let rest = name.strip_prefix(JOB_PREFIX)?;
    Uuid::parse_str(rest.get(..36)?).ok()
}

/// Arms the timer for a change of `task`: a one-shot job due in
/// [`JOB_DELAY`]. No commit may happen unless this succeeded.
pub async fn arm<T: Transport>(ctx: &Ctx<T>, task: Uuid) -> Result<String, Problem> {
    let name = job_name(task, Uuid::now_v7());
    let data = serde_json::json!({ "taskId": task });
    let job = Job::outbox_timer(ctx.now(), JOB_DELAY, data, JOB_RETRY);
    ctx.dapr.schedule_job(&name, &job).await.or_problem()?;
    Ok(name)
}

/// Deletes an armed job (if any). Best effort: a job left behind fires,
/// finds nothing to publish, and is done.
pub async fn disarm<T: Transport>(ctx: &Ctx<T>, job: Option<&str>) {
    let Some(name) = job else { return };
    if let Err(err) = ctx.dapr.delete_job(name).await {
        eprintln!("task-api: could not disarm job {name}: {err}");
    }
}

/// What a flush achieved.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Flushed {
    pub published: usize,
    /// Events still waiting because a publish failed.
    pub left: usize,
}

/// Publishes `events` and returns the ids of those that went out. Each topic's
/// events go out in order, stopping at that topic's first failure, so a
/// task's events never overtake each other on any topic; the topics are
/// published to concurrently.
pub async fn publish<T: Transport>(ctx: &Ctx<T>, events: &[OutboundEvent]) -> BTreeSet<String> {
    let mut topics: Vec<&str> = events.iter().map(|e| e.topic.as_str()).collect();
    topics.sort_unstable();
    topics.dedup();
    let per_topic = topics.into_iter().map(|topic| async move {
        let mut published = Vec::new();
        for event in events.iter().filter(|e| e.topic == topic) {
            let result = ctx
                .dapr
                .publish_event(
                    &ctx.config.pubsub,
                    &event.topic,
                    &event.event,
                    &event.partition_key,
                )
                .await;
            if let Err(err) = result {
                eprintln!(
                    "task-api: publish to {topic} failed, kept in the outbox for its job: {err}"
                );
                break;
            }
            published.push(event_id(event));
        }
        published
    });
    futures::future::join_all(per_topic)
        .await
        .into_iter()
        .flatten()
        .collect()
}

/// Publishes a committed `outbox` of `task`, removes what went out from the
/// task's document (deleting a tombstone whose outbox is empty), and disarms
/// `job` when nothing is left. Never fails the request: the change is
/// committed, and what is left goes out when the job fires.
pub async fn flush<T: Transport>(
    ctx: &Ctx<T>,
    task: Uuid,
    outbox: &[OutboundEvent],
    job: Option<&str>,
) -> Flushed {
    let published = publish(ctx, outbox).await;
    let left = outbox.len() - published.len();
    let trimmed = async {
        if published.is_empty() {
            return;
        }
        if let Err(problem) = trim(ctx, task, &published).await {
            // Harmless: they will be published again and deduped downstream.
            eprintln!("task-api: could not trim the outbox of task {task}: {problem}");
        }
    };
    // The job is done once nothing is left; it need not wait for the trim.
    futures::future::join(trimmed, disarm(ctx, job.filter(|_| left == 0))).await;
    Flushed {
        published: published.len(),
        left,
    }
}

/// Removes the `published` events from the task's outbox: a read-modify-write
/// of its document guarded by its ETag (a tombstone left empty is deleted).
async fn trim<T: Transport>(
    ctx: &Ctx<T>,
    task: Uuid,
    published: &BTreeSet<String>,
) -> Result<(), Problem> {
    let state = ctx.dapr.state(&ctx.config.state_store);
    store::transact(ctx, async |_| {
        let Some(doc) = state
            .get::<TaskDocument>(&task_key(task))
            .await
            .or_problem()?
        else {
            return Ok(Decided::Answer(()));
        };
        let mut value = doc.value;
        let before = value.outbox.len();
        value.outbox.retain(|e| !published.contains(&event_id(e)));
        if value.outbox.len() == before {
            return Ok(Decided::Answer(()));
        }
        // A single conditional write (409 on a lost race), not a transaction.
        let write = if value.task.is_none() && value.outbox.is_empty() {
            Write::Delete {
                key: task_key(task),
                etag: doc.etag,
            }
        } else {
            Write::Save(vec![guarded_upsert(task_key(task), &value, doc.etag)?])
        };
        Ok(Decided::Commit(write, ()))
    })
    .await
}

/// What an outbox job does when it fires: publish what `task`'s outbox still
/// holds. `Err` (the Scheduler calls again) while some of it cannot go out.
pub async fn publish_leftover<T: Transport>(ctx: &Ctx<T>, task: Uuid) -> Result<Flushed, Problem> {
    let found = ctx
        .dapr
        .state(&ctx.config.state_store)
        .get::<TaskDocument>(&task_key(task))
        .await
        .or_problem()?;
    let outbox = found.map(|doc| doc.value.outbox).unwrap_or_default();
    if outbox.is_empty() {
        return Ok(Flushed {
            published: 0,
            left: 0,
        });
    }
    let flushed = flush(ctx, task, &outbox, None).await;
    if flushed.left > 0 {
        return Err(Problem::unavailable(
            format!(
                "{} events of task {task} cannot be published yet",
                flushed.left
            ),
            JOB_RETRY.as_secs() as u32,
        ));
    }
    Ok(flushed)
}

fn event_id(event: &OutboundEvent) -> String {
    event.event["id"].as_str().unwrap_or_default().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn job_names_lead_back_to_their_task() {
        let task = Uuid::now_v7();
        let name = job_name(task, Uuid::now_v7());
        assert_eq!(job_task(&name), Some(task));
        assert!(name.len() < 80, "{name}");
        assert_eq!(job_task("reminder-x"), None);
        assert_eq!(job_task("outbox-not-a-uuid"), None);
    }
}
