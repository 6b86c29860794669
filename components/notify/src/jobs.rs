//! `POST /job/reminder-{taskId}`: a reminder job fired (Dapr Jobs callback,
//! at-least-once).
//!
//! 1. The job's data must still be the task's current, scheduled reminder
//!    (`reminder/{taskId}`); a stale or cancelled one is acknowledged and
//!    ignored.
//! 2. The inbox entry and the dedupe record `fired/{job}/{remindAt}` are
//!    written in one transaction (the record insert-only), so the entry
//!    exists once however often the job fires. The entry goes into the
//!    inbox head; when that overflows, the same transaction seals its older
//!    notifications as a page and drops the oldest page (see
//!    [`crate::store`]).
//! 3. `todo.sync.notification.v1` is published (its id is the
//!    notification's, so a republish is deduped downstream), then each
//!    external channel is claimed and delivered (see [`crate::channels`]),
//!    every outcome recorded in the fired record.
//!
//! A sidecar or store failure, or a channel claimed by another callback,
//! answers 503, so the Scheduler calls again under the job's failure policy
//! ([`crate::reminders::failure_policy`]: every 10 s for ~5 min, past the
//! 30 s claim lease); the fired record makes the retry finish only what is
//! left.

use serde_json::Value;
use todo_core::events::{envelope, topics, types, ReminderEventData};
use todo_core::notify::delivery::{Claim, External, FiredRecord, FIRED_TTL_SECS};
use todo_core::notify::inbox::{Notification, NotificationEventData};
use todo_core::notify::reminder_job::{is_current, task_of_job};
use todo_core::Problem;
use todo_dapr::document::{at_once, guarded_upsert, transact, Decided, Write, MAX_ATTEMPTS};
use todo_dapr::inbound::{parse_job_data, DeliveryStatus};
use todo_dapr::state::TxOperation;
use todo_dapr::{DaprError, Transport};
use todo_http::respond::{problem, transact_problem, OrProblem};
use todo_http::{Request, Response};
use uuid::Uuid;

use crate::store::{self, fired_key, inbox_key, reminder_key, settings_key};
use crate::store::{InboxHead, NotifySettings, ReminderRecord};
use crate::{channels, Ctx};

/// The `source` of the events notify publishes.
pub const SOURCE: &str = "notify";

/// Handles one job callback for job `name`.
pub async fn fire<T: Transport, W: Transport>(
    ctx: &Ctx<T, W>,
    request: &Request,
    name: &str,
) -> Response {
    // Jobs read only the status: anything but 2xx/404 is a retry.
    if let Err(p) = ctx.require_app_token(request).await {
        eprintln!("notify: job {name} refused: {p}");
        return problem(&p);
    }
    let data = match parse_job_data::<ReminderEventData>(request.body()) {
        Ok(data) if task_of_job(name) == Some(data.task_id) && data.remind_at.is_some() => data,
        Ok(data) => {
            eprintln!(
                "notify: DROP job {name}: its data is for task {} (remindAt {:?})",
                data.task_id, data.remind_at
            );
            return DeliveryStatus::Drop.reply();
        }
        Err(err) => {
            eprintln!("notify: DROP job {name}: {err}");
            return DeliveryStatus::Drop.reply();
        }
    };
    match run(ctx, name, &data).await {
        Ok(outcome) => {
            eprintln!("notify: job {name} (v{}): {outcome}", data.version);
            DeliveryStatus::Success.reply()
        }
        Err(p) => {
            eprintln!(
                "notify: job {name} (v{}) will be retried: {p}",
                data.version
            );
            problem(&p)
        }
    }
}

async fn run<T: Transport, W: Transport>(
    ctx: &Ctx<T, W>,
    job: &str,
    data: &ReminderEventData,
) -> Result<&'static str, Problem> {
    let remind_at = data
        .remind_at
        .ok_or_else(|| Problem::bad_request("no remindAt"))?;
    let key = fired_key(job, remind_at);
    let (mut record, settings, created) = match record_firing(ctx, &key, data).await? {
        Some(found) => found,
        None => return Ok("stale reminder, ignored"),
    };
    if !record.published {
        publish(ctx, &record).await.or_problem()?;
        if let Some(updated) = store::update_fired(ctx, &key, |r| {
            r.published = true;
            Some(r.clone())
        })
        .await
        .or_problem()?
        {
            record = updated;
        }
    }
    let mut busy = false;
    for channel in [External::Webhook, External::Email] {
        if record.channel(channel).is_settled() {
            continue;
        }
        match deliver_channel(ctx, &key, channel, &record, &settings).await? {
            Claim::Busy => busy = true,
            Claim::Claimed | Claim::Settled => {}
        }
    }
    if busy {
        return Err(Problem::unavailable(
            "another callback is delivering this reminder",
            1,
        ));
    }
    Ok(if created {
        "delivered"
    } else {
        "duplicate callback, finished what was left"
    })
}

/// The fired record (existing, or written now with the inbox entry), the
/// user's settings, and whether it was created now; `None` when the
/// reminder is not current.
async fn record_firing<T: Transport, W: Transport>(
    ctx: &Ctx<T, W>,
    key: &str,
    data: &ReminderEventData,
) -> Result<Option<(FiredRecord, NotifySettings, bool)>, Problem> {
    let keys = [
        key.to_string(),
        reminder_key(data.task_id),
        inbox_key(&data.user_id),
        settings_key(&data.user_id),
    ];
    let state = ctx.dapr.state(&ctx.config.state_store);
    transact(&state, MAX_ATTEMPTS, at_once, async |_| {
        let read = store::read_all(ctx, &keys).await.or_problem()?;
        let [fired, reminder, inbox, settings] = <[_; 4]>::try_from(read)
            .map_err(|_| Problem::internal("bulk read answered the wrong number of keys"))?;
        let unreadable = |e: DaprError| Problem::internal(e.to_string());
        let settings = store::loaded::<NotifySettings>(settings)
            .map_err(unreadable)?
            .value;
        if let Some(existing) = store::loaded::<Option<FiredRecord>>(fired)
            .map_err(unreadable)?
            .value
        {
            return Ok(Decided::Answer(Some((existing, settings, false))));
        }
        let reminder = store::loaded::<Option<ReminderRecord>>(reminder).map_err(unreadable)?;
        if !is_current(data, reminder.value.as_ref()) {
            return Ok(Decided::Answer(None));
        }
        let now = ctx.now();
        let notification = Notification::for_reminder(Uuid::now_v7(), data, now)
            .ok_or_else(|| Problem::bad_request("no remindAt"))?;
        let record = FiredRecord::new(&data.user_id, notification.clone(), &settings);
        let mut inbox = store::loaded::<InboxHead>(inbox).map_err(unreadable)?;
        let spill = inbox.value.insert(notification).unwrap_or_default();
        let mut fired = guarded_upsert(key, &record, None).or_problem()?;
        fired.ttl_seconds = Some(FIRED_TTL_SECS);
        let mut operations = vec![
            TxOperation::Upsert(
                guarded_upsert(inbox_key(&data.user_id), &inbox.value, inbox.etag).or_problem()?,
            ),
            TxOperation::Upsert(fired),
        ];
        operations.extend(store::spill_operations(&data.user_id, &spill).or_problem()?);
        Ok(Decided::Commit(
            Write::Transaction(operations),
            Some((record, settings, true)),
        ))
    })
    .await
    .map_err(|err| {
        transact_problem(err, || {
            Problem::unavailable("the inbox was changed concurrently too often", 1)
        })
    })
}

/// Publishes `todo.sync.notification.v1` on `task-updates` (event id = the
/// notification id).
async fn publish<T: Transport, W: Transport>(
    ctx: &Ctx<T, W>,
    record: &FiredRecord,
) -> Result<(), DaprError> {
    let n = &record.notification;
    let mut event = envelope(
        topics::TASK_UPDATES,
        types::SYNC_NOTIFICATION,
        &record.user_id,
        Some(n.task_id.hyphenated().to_string()),
        NotificationEventData {
            user_id: record.user_id.clone(),
            notification: n.clone(),
        },
        ctx.now(),
        n.id,
    );
    event.event["source"] = Value::String(SOURCE.to_string());
    ctx.dapr
        .publish_event(
            &ctx.config.pubsub,
            &event.topic,
            &event.event,
            &event.partition_key,
        )
        .await
}

/// Claims `channel` in the fired record, delivers, records the outcome.
async fn deliver_channel<T: Transport, W: Transport>(
    ctx: &Ctx<T, W>,
    key: &str,
    channel: External,
    record: &FiredRecord,
    settings: &NotifySettings,
) -> Result<Claim, Problem> {
    let now = ctx.now();
    let mut claim = Claim::Settled;
    store::update_fired(ctx, key, |r| {
        claim = r.channel_mut(channel).claim(now);
        (claim == Claim::Claimed).then_some(())
    })
    .await
    .or_problem()?;
    if claim != Claim::Claimed {
        return Ok(claim);
    }
    let (result, attempts) = channels::send(ctx, channel, record, settings).await;
    let finished = ctx.now();
    store::update_fired(ctx, key, |r| {
        r.channel_mut(channel)
            .finish(result.clone(), attempts, finished);
        Some(())
    })
    .await
    .or_problem()?;
    Ok(Claim::Claimed)
}
