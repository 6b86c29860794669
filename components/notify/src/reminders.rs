//! Reminders as Dapr Jobs (`reminder-{taskId}`): a reminder event from
//! task-api (delivered by [`crate::deliveries::reminders`]) schedules one,
//! or stops it being one.
//!
//! The record of the latest version handled is written first, then the job
//! is scheduled (overwriting) or deleted. A failure in between answers RETRY;
//! the redelivery carries the same version, which is applied again, so the
//! job always ends up matching the record.
//!
//! Every job carries [`failure_policy`]: a callback answering 503 is called
//! again every 10 s for ~5 min instead of Dapr's default 1 s × 3, so a short
//! outage or a channel claimed by a callback that died does not lose the
//! reminder.

use std::time::Duration;

use todo_core::events::ReminderEventData;
use todo_core::notify::reminder_job::{
    self, decide, Decision, ReminderEvent, ReminderRecord, JOB_MAX_RETRIES, JOB_RETRY_INTERVAL_SECS,
};
use todo_dapr::document::{
    at_once, guarded_upsert, transact, Decided, TransactError, Write, MAX_ATTEMPTS,
};
use todo_dapr::jobs::{FailurePolicy, Job};
use todo_dapr::{DaprError, Transport};

use crate::store::{self, reminder_key};
use crate::Ctx;

/// The failure policy of every reminder job: constant, every
/// [`JOB_RETRY_INTERVAL_SECS`] (10 s), at most [`JOB_MAX_RETRIES`] (30)
/// times, so ~5 min of retries. [`todo_core::notify::reminder_job::JOB_MAX_RETRIES`]
/// explains the numbers: long enough to ride out a sidecar/store outage and to
/// outlast the 30 s claim lease of a channel left `sending`, bounded so a
/// reminder that can never be delivered stops.
pub fn failure_policy() -> FailurePolicy {
    FailurePolicy::constant(
        Duration::from_secs(JOB_RETRY_INTERVAL_SECS),
        JOB_MAX_RETRIES,
    )
}

/// Records the decision and makes the job match it.
pub async fn apply<T: Transport, W: Transport>(
    ctx: &Ctx<T, W>,
    kind: ReminderEvent,
    data: &ReminderEventData,
) -> Result<&'static str, DaprError> {
    let key = reminder_key(data.task_id);
    let job = reminder_job::job_name(data.task_id);
    let state = ctx.dapr.state(&ctx.config.state_store);
    let recorded = transact(&state, MAX_ATTEMPTS, at_once, async |_| {
        let now = ctx.now();
        let current = store::load::<T, W, Option<ReminderRecord>>(ctx, &key).await?;
        let (record, fire_at) = match decide(kind, data, current.value.as_ref(), now) {
            Decision::Stale => return Ok(Decided::Answer(None)),
            Decision::Schedule { record, fire_at } => (record, Some(fire_at)),
            Decision::Unschedule { record } => (record, None),
        };
        let mut item = guarded_upsert(key.as_str(), &record, current.etag)?;
        item.ttl_seconds = Some(record.ttl_seconds(now));
        Ok(Decided::Commit(
            Write::Save(vec![item]),
            Some((fire_at, now)),
        ))
    })
    .await
    .map_err(TransactError::<DaprError>::into_inner)?;
    let Some((fire_at, now)) = recorded else {
        return Ok("stale, ignored");
    };
    match fire_at {
        Some(at) => {
            let body = Job {
                schedule: None,
                due_time: Some(reminder_job::due_time(at)),
                repeats: None,
                ttl: None,
                data: serde_json::to_value(data)
                    .map_err(|e| DaprError::InvalidRequest(e.to_string()))?,
                overwrite: true,
                failure_policy: Some(failure_policy()),
            };
            ctx.dapr.schedule_job(&job, &body).await?;
            Ok(if at > now {
                "job scheduled"
            } else {
                "job scheduled to fire at once"
            })
        }
        None => {
            ctx.dapr.delete_job(&job).await?;
            Ok("job deleted")
        }
    }
}
