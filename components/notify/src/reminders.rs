//! `POST /events/notify/reminders`: reminder events from task-api become Dapr
//! Jobs (`reminder-{taskId}`), or stop being one.
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

use serde::Deserialize;
use serde_json::Value;
use todo_core::events::{CloudEvent, ReminderEventData};
use todo_core::reminder_job::{
    self, decide, Decision, ReminderEvent, ReminderRecord, JOB_MAX_RETRIES, JOB_RETRY_INTERVAL_SECS,
};
use todo_dapr::document::{guarded_upsert, is_conflict, MAX_ATTEMPTS};
use todo_dapr::inbound::{parse_cloud_event, DeliveryStatus};
use todo_dapr::jobs::{FailurePolicy, Job};
use todo_dapr::{DaprError, Transport};
use todo_http::respond::delivery_auth_failed;
use todo_http::{Request, Response};

use crate::store::{self, reminder_key};
use crate::Ctx;

/// The failure policy of every reminder job: constant, every
/// [`JOB_RETRY_INTERVAL_SECS`] (10 s), at most [`JOB_MAX_RETRIES`] (30)
/// times, so ~5 min of retries. [`todo_core::reminder_job::JOB_MAX_RETRIES`]
/// explains the numbers: long enough to ride out a sidecar/store outage and to
/// outlast the 30 s claim lease of a channel left `sending`, bounded so a
/// reminder that can never be delivered stops.
pub fn failure_policy() -> FailurePolicy {
    FailurePolicy::constant(
        Duration::from_secs(JOB_RETRY_INTERVAL_SECS),
        JOB_MAX_RETRIES,
    )
}

/// Handles one delivery of the `reminders` topic.
pub async fn deliver<T: Transport, W: Transport>(ctx: &Ctx<T, W>, request: &Request) -> Response {
    if let Err(p) = ctx.require_app_token(request).await {
        eprintln!("notify: reminders delivery refused: {p}");
        return delivery_auth_failed(&p);
    }
    let (event, kind, data) = match parse(request.body()) {
        Ok(parsed) => parsed,
        Err(reason) => {
            eprintln!("notify: DROP reminders delivery: {reason}");
            return DeliveryStatus::Drop.reply();
        }
    };
    let status = match apply(ctx, kind, &data).await {
        Ok(outcome) => {
            eprintln!(
                "notify: reminder event {} ({}) for task {} v{}: {outcome}",
                event.id, event.kind, data.task_id, data.version
            );
            DeliveryStatus::Success
        }
        Err(err) if err.is_transient() => {
            eprintln!("notify: RETRY reminder event {}: {err}", event.id);
            DeliveryStatus::Retry
        }
        Err(err) => {
            eprintln!("notify: DROP reminder event {}: {err}", event.id);
            DeliveryStatus::Drop
        }
    };
    status.reply()
}

/// The envelope, its kind and its data; an error says why it is poison.
fn parse(body: &[u8]) -> Result<(CloudEvent<Value>, ReminderEvent, ReminderEventData), String> {
    let event: CloudEvent<Value> = parse_cloud_event(body).map_err(|e| e.to_string())?;
    let kind = ReminderEvent::from_type(&event.kind)
        .ok_or_else(|| format!("unsupported event type {:?} (id {})", event.kind, event.id))?;
    let data = ReminderEventData::deserialize(&event.data)
        .map_err(|e| format!("event {} data does not match its type: {e}", event.id))?;
    Ok((event, kind, data))
}

/// Records the decision and makes the job match it.
async fn apply<T: Transport, W: Transport>(
    ctx: &Ctx<T, W>,
    kind: ReminderEvent,
    data: &ReminderEventData,
) -> Result<&'static str, DaprError> {
    let key = reminder_key(data.task_id);
    let job = reminder_job::job_name(data.task_id);
    let state = ctx.dapr.state(&ctx.config.state_store);
    let mut last_err = DaprError::EtagMismatch(format!("{key} kept changing"));
    for _ in 0..MAX_ATTEMPTS {
        let now = ctx.now();
        let current = store::load::<T, W, Option<ReminderRecord>>(ctx, &key).await?;
        let (record, fire_at) = match decide(kind, data, current.value.as_ref(), now) {
            Decision::Stale => return Ok("stale, ignored"),
            Decision::Schedule { record, fire_at } => (record, Some(fire_at)),
            Decision::Unschedule { record } => (record, None),
        };
        let mut item = guarded_upsert(key.as_str(), &record, current.etag)?;
        item.ttl_seconds = Some(record.ttl_seconds(now));
        match state.save(&[item]).await {
            Ok(()) => {}
            Err(err) if is_conflict(&err) => {
                last_err = err;
                continue;
            }
            Err(err) => return Err(err),
        }
        return match fire_at {
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
        };
    }
    Err(last_err)
}
