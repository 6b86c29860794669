//! Publishing the outbox (DESIGN §5): events are committed with the change
//! that caused them, published after the commit, and only then removed. A
//! crash or a failed publish leaves them in the outbox, to be published by the
//! user's next request or by the cron sweep — an event may go out twice, never
//! zero times. Consumers dedupe on the CloudEvent `id`.

use std::collections::BTreeSet;

use todo_core::events::OutboundEvent;
use todo_dapr::Transport;

use crate::store::{self, pending_key, pending_shard, user_key, PendingShard, UserIndex};
use crate::Ctx;

/// What a flush achieved.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Flushed {
    pub published: usize,
    /// Events still waiting because a publish failed.
    pub left: usize,
}

/// Publishes `outbox` in order, stopping at the first failure so one user's
/// events never overtake each other, then removes what was published from the
/// user's index. A failure is recorded for the sweep. Never fails the request:
/// the change itself is already committed.
pub async fn flush<T: Transport>(ctx: &Ctx<T>, user: &str, outbox: &[OutboundEvent]) -> Flushed {
    let mut published = BTreeSet::new();
    for event in outbox {
        let result = ctx
            .dapr
            .publish_event(
                &ctx.config.pubsub,
                &event.topic,
                &event.event,
                &event.partition_key,
            )
            .await;
        match result {
            Ok(()) => {
                published.insert(event_id(event));
            }
            Err(err) => {
                eprintln!(
                    "task-api: publish to {} failed for user {user}, kept in outbox: {err}",
                    event.topic
                );
                record_pending(ctx, user).await;
                break;
            }
        }
    }
    if !published.is_empty() {
        let removed = store::update_document::<T, UserIndex, _>(ctx, &user_key(user), |index| {
            let before = index.outbox.len();
            index.outbox.retain(|e| !published.contains(&event_id(e)));
            index.outbox.len() != before
        })
        .await;
        if let Err(err) = removed {
            // Harmless: they will be published again and deduped downstream.
            eprintln!("task-api: could not trim the outbox of user {user}: {err}");
        }
    }
    Flushed {
        published: published.len(),
        left: outbox.len() - published.len(),
    }
}

fn event_id(event: &OutboundEvent) -> String {
    event.event["id"].as_str().unwrap_or_default().to_string()
}

/// Notes that `user` has unpublished events, for the sweep. Best effort: if
/// even this write fails, the user's next request still flushes the outbox.
async fn record_pending<T: Transport>(ctx: &Ctx<T>, user: &str) {
    let key = pending_key(pending_shard(user));
    let result = store::update_document::<T, PendingShard, _>(ctx, &key, |shard| {
        if shard.users.iter().any(|u| u == user) {
            return false;
        }
        shard.users.push(user.to_string());
        true
    })
    .await;
    if let Err(err) = result {
        eprintln!("task-api: could not record pending outbox of user {user}: {err}");
    }
}

/// Result of one sweep over all pending shards.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct SweepReport {
    pub users: usize,
    pub published: usize,
    /// Users still pending (their publish failed again).
    pub remaining: usize,
}

/// Flushes every user recorded as pending, clearing those fully published.
pub async fn sweep<T: Transport>(ctx: &Ctx<T>) -> Result<SweepReport, todo_core::Problem> {
    let mut report = SweepReport::default();
    for shard in 0..store::PENDING_SHARDS {
        let key = pending_key(shard);
        let doc = ctx
            .dapr
            .state(&ctx.config.state_store)
            .get::<PendingShard>(&key)
            .await
            .map_err(|e| todo_http::respond::dapr_problem(&e))?;
        let Some(doc) = doc else { continue };
        let mut done = BTreeSet::new();
        for user in &doc.value.users {
            report.users += 1;
            let index = store::load_index(ctx, user).await?;
            let flushed = flush(ctx, user, &index.value.outbox).await;
            report.published += flushed.published;
            if flushed.left == 0 {
                done.insert(user.clone());
            } else {
                report.remaining += 1;
            }
        }
        if !done.is_empty() {
            store::update_document::<T, PendingShard, _>(ctx, &key, |shard| {
                let before = shard.users.len();
                shard.users.retain(|u| !done.contains(u));
                shard.users.len() != before
            })
            .await
            .map_err(|e| todo_http::respond::dapr_problem(&e))?;
        }
    }
    Ok(report)
}
