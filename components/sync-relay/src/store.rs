//! sync-relay's state layout (architecture §5) and its two operations: append an
//! event to a user's feed, and read a feed from a cursor. Keys (Dapr
//! prefixes them with `sync-relay||`; ids are percent-encoded):
//! - `feed/{uid}` → [`FeedHead`] `{seq}`: the last sequence appended;
//! - `change/{uid}/{seq}` → [`Change`], insert-only, TTL 24 h;
//! - `seen/{eventId}` → [`Seen`] `{userId, seq}`, insert-only, TTL 24 h: the
//!   dedupe marker, so a redelivered event is appended once.
//!
//! An append writes all three in one transaction guarded by the head's ETag;
//! a lost race is re-read and retried (a bounded number of times,
//! [`document::transact`]).

use serde_json::Value;
use todo_core::events::CloudEvent;
use todo_core::sync::feed::{
    plan_read, take_batch, Batch, Change, FeedHead, ReadPlan, CHANGE_TTL_SECS,
};
use todo_dapr::document::{
    self, at_once, guarded_upsert, key_segment, transact, Decided, Loaded, Seen, TransactError,
    Write, MAX_ATTEMPTS,
};
use todo_dapr::state::TxOperation;
use todo_dapr::{DaprError, Transport};

use crate::Ctx;

pub fn feed_key(user: &str) -> String {
    format!("feed/{}", key_segment(user))
}

pub fn change_key(user: &str, seq: u64) -> String {
    format!("change/{}/{seq}", key_segment(user))
}

/// What [`append`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Appended {
    New(u64),
    /// The event was appended before, as this sequence.
    Duplicate(u64),
}

/// Appends `event` to `user`'s feed, once per event id.
pub async fn append<T: Transport>(
    ctx: &Ctx<T>,
    user: &str,
    event: CloudEvent<Value>,
) -> Result<Appended, DaprError> {
    let state = ctx.dapr.state(&ctx.config.state_store);
    let keys = [feed_key(user), Seen::key(&event.id)];
    transact(&state, MAX_ATTEMPTS, at_once, async |_| {
        let mut found = document::read_raw(&state, &keys).await?.into_iter();
        let head = Loaded::<FeedHead>::from_versioned(document::decode(found.next().flatten())?);
        if let Some(seen) = document::decode::<Seen>(found.next().flatten())? {
            return Ok(Decided::Answer(Appended::Duplicate(seen.value.seq)));
        }
        let seq = head.value.seq + 1;
        let mut change = guarded_upsert(
            change_key(user, seq),
            &Change::from_event(seq, event.clone()),
            None,
        )?;
        change.ttl_seconds = Some(CHANGE_TTL_SECS);
        let seen = Seen {
            user_id: user.to_string(),
            seq,
        };
        let operations = vec![
            TxOperation::Upsert(guarded_upsert(
                feed_key(user),
                &FeedHead { seq },
                head.etag,
            )?),
            TxOperation::Upsert(change),
            TxOperation::Upsert(seen.write(&event.id, CHANGE_TTL_SECS)?),
        ];
        Ok(Decided::Commit(
            Write::Transaction(operations),
            Appended::New(seq),
        ))
    })
    .await
    .map_err(TransactError::into_inner)
}

/// The head of `user`'s feed (0 when it has none).
pub async fn head<T: Transport>(ctx: &Ctx<T>, user: &str) -> Result<u64, DaprError> {
    Ok(ctx
        .dapr
        .state(&ctx.config.state_store)
        .get::<FeedHead>(&feed_key(user))
        .await?
        .map(|h| h.value.seq)
        .unwrap_or(0))
}

/// What a reader at a cursor finds.
#[derive(Debug, Clone, PartialEq)]
pub enum Step {
    /// Nothing after the cursor.
    UpToDate,
    /// The next changes, in order.
    Changes(Vec<Change>),
    /// The cursor is older than retention (or ahead of the feed): refetch,
    /// then continue from this head.
    Reset(u64),
}

/// Reads what follows `cursor` in `user`'s feed.
pub async fn read_after<T: Transport>(
    ctx: &Ctx<T>,
    user: &str,
    cursor: u64,
) -> Result<Step, DaprError> {
    let head = head(ctx, user).await?;
    let (first, last) = match plan_read(cursor, head) {
        ReadPlan::UpToDate => return Ok(Step::UpToDate),
        ReadPlan::Reset => return Ok(Step::Reset(head)),
        ReadPlan::Fetch { first, last } => (first, last),
    };
    let keys: Vec<String> = (first..=last).map(|seq| change_key(user, seq)).collect();
    let found = document::read_raw(&ctx.dapr.state(&ctx.config.state_store), &keys)
        .await?
        .into_iter()
        .map(|item| document::decode::<Change>(item).map(|c| c.map(|v| v.value)))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(match take_batch(first, found) {
        Batch::Changes(changes) => Step::Changes(changes),
        Batch::Expired => Step::Reset(head),
    })
}
