//! The account-created event must never be lost (architecture §4, §8):
//! sign-up writes it into the new account's own document, in the
//! transaction that creates the account, as a pending outbox entry; after
//! the commit it is published (`application/cloudevents+json`, so its `id`
//! survives Dapr and consumers dedupe on it) and only then removed from the
//! document with an ETag-guarded write.
//!
//! The delay is bounded as task-api's is (architecture §8, decision 2):
//! before the commit, sign-up arms a Dapr Job `account-outbox-{id}` due in
//! [`JOB_DELAY`]; it is disarmed once the event is out. When the publish
//! fails (broker down, instance killed after the commit), the job calls
//! `POST /job/account-outbox-{id}` and [`publish_leftover`] publishes what
//! the account's outbox still holds, the Scheduler calling again every
//! [`JOB_RETRY`] until it succeeds. The account's next sign-in, refresh or
//! `GET /api/auth/me` also flushes it. An event may go out twice (two
//! concurrent flushes), never zero times.

use std::time::Duration;

use todo_core::events::OutboundEvent;
use todo_core::identity::account::account_key;
use todo_core::Problem;
use todo_dapr::document;
use todo_dapr::jobs::Job;
use todo_dapr::Transport;
use todo_http::respond::{json, OrProblem};
use todo_http::{Request, Response};
use uuid::Uuid;

use crate::store::{self, AccountDocument};
use crate::Ctx;

/// When an armed job fires if sign-up has not disarmed it.
pub const JOB_DELAY: Duration = Duration::from_secs(15);
/// How often the Scheduler calls again while the event cannot be published.
pub const JOB_RETRY: Duration = Duration::from_secs(10);
/// Prefix of the outbox jobs' names (`/job/account-outbox-…` is identity's).
pub const JOB_PREFIX: &str = "account-outbox-";

/// The job that guards the sign-up of `account` (one per account: its
/// outbox is written once).
pub fn job_name(account: Uuid) -> String {
    format!("{JOB_PREFIX}{account}")
}

/// The account a job name guards, if it is an outbox job's.
pub fn job_account(name: &str) -> Option<Uuid> {
    let id = name.strip_prefix(JOB_PREFIX)?;
    Uuid::parse_str(id)
        .ok()
        .filter(|uuid| uuid.hyphenated().to_string() == id)
}

/// Arms the timer for the sign-up of `account`. No commit may happen
/// unless this succeeded.
pub async fn arm<T: Transport>(ctx: &Ctx<T>, account: Uuid) -> Result<String, Problem> {
    let name = job_name(account);
    let data = serde_json::json!({ "accountId": account });
    let job = Job::outbox_timer(ctx.now(), JOB_DELAY, data, JOB_RETRY);
    ctx.dapr.schedule_job(&name, &job).await.or_problem()?;
    Ok(name)
}

/// Deletes the job. Best effort: a job left behind fires, finds nothing
/// to publish, and is done.
pub async fn disarm<T: Transport>(ctx: &Ctx<T>, name: &str) {
    if let Err(err) = ctx.dapr.delete_job(name).await {
        eprintln!("identity: could not disarm job {name}: {err}");
    }
}

/// What the outbox job does when it fires: publish what `account`'s outbox
/// still holds. `Err` (the Scheduler calls again) while it cannot go out;
/// `Ok(published)` otherwise, also when there is no such account (a sign-up
/// that armed the job and then lost its address to another).
pub async fn publish_leftover<T: Transport>(ctx: &Ctx<T>, account: Uuid) -> Result<usize, Problem> {
    let Some(doc) = store::load_account(ctx, account).await? else {
        return Ok(0);
    };
    let pending = doc.value.outbox.len();
    let left = flush(ctx, &doc.value).await;
    if left > 0 {
        return Err(Problem::unavailable(
            format!("the events of account {account} cannot be published yet"),
            JOB_RETRY.as_secs() as u32,
        ));
    }
    Ok(pending)
}

/// `POST /job/{name}` (Dapr only): an outbox job fired. 200 when nothing is
/// left; 503 while the publish fails, so the Scheduler calls again; 404 for
/// a name that is not an outbox job's (Dapr counts 404 as done).
pub async fn job<T: Transport>(
    ctx: &Ctx<T>,
    request: &Request,
    name: &str,
) -> Result<Response, Problem> {
    ctx.require_app_token(request).await?;
    let account = job_account(name)
        .ok_or_else(|| Problem::not_found(format!("identity has no job {name:?}")))?;
    let published = publish_leftover(ctx, account).await?;
    Ok(json(200, &serde_json::json!({ "published": published })))
}

fn event_id(event: &OutboundEvent) -> Option<&str> {
    event.event.get("id").and_then(|id| id.as_str())
}

/// Publishes `doc`'s pending events, oldest first, stopping at the first
/// failure, then removes those that went out from the stored document, and
/// returns how many are left. Never fails the request it runs in: what is
/// not published stays for the job or the next flush, and the failure is
/// logged.
pub async fn flush<T: Transport>(ctx: &Ctx<T>, doc: &AccountDocument) -> usize {
    if doc.outbox.is_empty() {
        return 0;
    }
    let account = doc.account.id;
    let mut published: Vec<String> = Vec::new();
    for event in &doc.outbox {
        let outcome = ctx
            .dapr
            .publish_event(
                &ctx.config.pubsub,
                &event.topic,
                &event.event,
                &event.partition_key,
            )
            .await;
        match outcome {
            Ok(()) => published.extend(event_id(event).map(str::to_string)),
            Err(err) => {
                eprintln!(
                    "identity: publishing {} of account {account} failed, kept for the next flush: {err}",
                    event_id(event).unwrap_or("an event")
                );
                break;
            }
        }
    }
    let left = doc.outbox.len() - published.len();
    if published.is_empty() {
        return left;
    }
    let state = ctx.dapr.state(&ctx.config.state_store);
    let removed = document::update(
        &state,
        &account_key(account),
        None,
        |stored: &mut Option<AccountDocument>| {
            let stored = stored.as_mut()?;
            let before = stored.outbox.len();
            stored
                .outbox
                .retain(|e| !event_id(e).is_some_and(|id| published.iter().any(|p| p == id)));
            (stored.outbox.len() != before).then_some(())
        },
    )
    .await;
    if let Err(err) = removed {
        // Published but still listed: the next flush sends a duplicate,
        // which consumers drop by id.
        eprintln!("identity: clearing the outbox of account {account} failed: {err}");
    }
    left
}
