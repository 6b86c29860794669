//! The previous state layout, migrated on first touch.
//!
//! Before the paged index, each user had one document `user/{uid}` holding a
//! summary of every task plus the outbox of unpublished events, and users
//! whose publish failed were listed in `outbox-pending/{shard}` for the cron
//! sweep. `task/{id}` (`{owner, task}`) is read as is by the new layout.
//!
//! Every request that reads a user's index (a list, `GET /api/tags`, a
//! change) also asks for `user/{uid}` in the same bulk read (a missing key
//! costs next to nothing). When it is there, [`migrate`]: publish its outbox
//! in order, then in one transaction write the pages built from its
//! summaries (insert-only) and delete it (guarded by its ETag); the request
//! then re-reads and goes on in the new layout. A migration racing another
//! loses on the ETag and re-reads. The sweep does the same for the users the
//! old layout listed as pending, so their events go out without a request.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};
use todo_core::events::OutboundEvent;
use todo_core::task::query::TaskSummary;
use todo_core::Problem;
use todo_dapr::document::{is_conflict, key_segment as segment};
use todo_dapr::state::{TxOperation, Versioned};
use todo_dapr::Transport;
use todo_http::respond::{dapr_problem, OrProblem};

use crate::store::{self, guarded_upsert};
use crate::{outbox, Ctx};

/// Number of `outbox-pending/{shard}` documents the old layout used.
pub const PENDING_SHARDS: u32 = 16;

/// The previous layout's per-user index.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct UserIndex {
    #[serde(default)]
    pub tasks: Vec<TaskSummary>,
    #[serde(default)]
    pub outbox: Vec<OutboundEvent>,
}

/// Users the previous layout left with unpublished events.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PendingShard {
    #[serde(default)]
    pub users: Vec<String>,
}

pub fn user_key(user: &str) -> String {
    format!("user/{}", segment(user))
}

pub fn pending_key(shard: u32) -> String {
    format!("outbox-pending/{shard}")
}

/// Moves `user` from `user/{uid}` to the paged layout. `Ok` also when another
/// request migrated first (the caller re-reads); 503 when the old outbox
/// cannot be published now (nothing is changed, the next request retries).
pub async fn migrate<T: Transport>(
    ctx: &Ctx<T>,
    user: &str,
    old: Versioned<UserIndex>,
) -> Result<(), Problem> {
    let published = outbox::publish(ctx, &old.value.outbox).await;
    if published.len() < old.value.outbox.len() {
        return Err(Problem::unavailable(
            "events of the previous state layout cannot be published yet; try again",
            5,
        ));
    }
    let pages = store::page_documents(user, old.value.tasks);
    let page_count = pages.len();
    let mut operations = Vec::with_capacity(page_count + 1);
    for (key, page) in pages {
        let page = page.map_err(|e| Problem::internal(format!("cannot serialize state: {e}")))?;
        operations.push(TxOperation::Upsert(guarded_upsert(key, &page, None)?));
    }
    operations.push(TxOperation::Delete {
        key: user_key(user),
        etag: old.etag,
    });
    match ctx
        .dapr
        .state(&ctx.config.state_store)
        .transaction(&operations)
        .await
    {
        Ok(()) => {
            eprintln!("task-api: migrated user {user} to the paged index ({page_count} pages)");
            Ok(())
        }
        Err(err) if is_conflict(&err) => Ok(()),
        Err(err) => Err(dapr_problem(&err)),
    }
}

/// Result of one sweep over the old layout's pending shards.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct SweepReport {
    pub users: usize,
    /// Users migrated (their old outbox published).
    pub migrated: usize,
    /// Users still pending (their publish failed again).
    pub remaining: usize,
}

/// Migrates every user the old layout recorded as pending, clearing those
/// done.
pub async fn sweep<T: Transport>(ctx: &Ctx<T>) -> Result<SweepReport, Problem> {
    let state = ctx.dapr.state(&ctx.config.state_store);
    let mut report = SweepReport::default();
    for shard in 0..PENDING_SHARDS {
        let key = pending_key(shard);
        let Some(doc) = state.get::<PendingShard>(&key).await.or_problem()? else {
            continue;
        };
        let mut done = BTreeSet::new();
        for user in &doc.value.users {
            report.users += 1;
            let old = state.get::<UserIndex>(&user_key(user)).await.or_problem()?;
            let result = match old {
                Some(old) => migrate(ctx, user, old).await,
                None => Ok(()),
            };
            match result {
                Ok(()) => {
                    report.migrated += 1;
                    done.insert(user.clone());
                }
                Err(_) => report.remaining += 1,
            }
        }
        if !done.is_empty() {
            todo_dapr::document::update(&state, &key, None, |shard: &mut PendingShard| {
                let before = shard.users.len();
                shard.users.retain(|u| !done.contains(u));
                (shard.users.len() != before).then_some(())
            })
            .await
            .or_problem()?;
        }
    }
    Ok(report)
}
