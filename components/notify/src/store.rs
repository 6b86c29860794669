//! notify's state layout (DESIGN §5). Keys (Dapr prefixes them with
//! `notify||`; user ids and job names are percent-encoded):
//! - `reminder/{taskId}` → [`ReminderRecord`]: the latest reminder version
//!   handled for the task (what makes a stale job harmless);
//! - `inbox/{uid}` → [`Inbox`]: the user's notifications, newest first, bounded;
//! - `settings/{uid}` → [`NotifySettings`];
//! - `fired/{jobName}/{remindAt}` → [`FiredRecord`]: dedupe and delivery
//!   outcomes of one firing, TTL 7 days.

use chrono::{DateTime, Utc};
use serde::de::DeserializeOwned;
use serde::Serialize;
use todo_core::delivery::{FiredRecord, FIRED_TTL_SECS};
use todo_core::reminder_job::due_time;
use todo_dapr::document::{self, key_segment, Loaded, RawDocument};
use todo_dapr::state::Versioned;
use todo_dapr::{DaprError, Transport};
use uuid::Uuid;

use crate::Ctx;

pub use todo_core::notification::Inbox;
pub use todo_core::notify_settings::NotifySettings;
pub use todo_core::reminder_job::ReminderRecord;

pub fn reminder_key(task_id: Uuid) -> String {
    format!("reminder/{}", task_id.hyphenated())
}

pub fn inbox_key(user: &str) -> String {
    format!("inbox/{}", key_segment(user))
}

pub fn settings_key(user: &str) -> String {
    format!("settings/{}", key_segment(user))
}

pub fn fired_key(job: &str, remind_at: DateTime<Utc>) -> String {
    format!(
        "fired/{}/{}",
        key_segment(job),
        key_segment(&due_time(remind_at))
    )
}

/// Reads `keys` in one bulk call, raw (unparsed), in order.
pub async fn read_all<T: Transport, W: Transport>(
    ctx: &Ctx<T, W>,
    keys: &[String],
) -> Result<Vec<Option<Versioned<RawDocument>>>, DaprError> {
    Ok(ctx
        .dapr
        .state(&ctx.config.state_store)
        .bulk_get::<RawDocument>(keys)
        .await?
        .into_iter()
        .map(|(_, item)| item)
        .collect())
}

/// One raw document of [`read_all`], decoded for update.
pub fn loaded<V: DeserializeOwned + Default>(
    item: Option<Versioned<RawDocument>>,
) -> Result<Loaded<V>, DaprError> {
    Ok(Loaded::from_versioned(document::decode(item)?))
}

/// Reads one document for update.
pub async fn load<T: Transport, W: Transport, V: DeserializeOwned + Default>(
    ctx: &Ctx<T, W>,
    key: &str,
) -> Result<Loaded<V>, DaprError> {
    Ok(Loaded::from_versioned(
        ctx.dapr
            .state(&ctx.config.state_store)
            .get::<V>(key)
            .await?,
    ))
}

/// Read-modify-write of one document (see [`document::update`]).
pub async fn update<T, W, V, R, F>(
    ctx: &Ctx<T, W>,
    key: &str,
    ttl_seconds: Option<u64>,
    modify: F,
) -> Result<Option<R>, DaprError>
where
    T: Transport,
    W: Transport,
    V: Serialize + DeserializeOwned + Default,
    F: FnMut(&mut V) -> Option<R>,
{
    let state = ctx.dapr.state(&ctx.config.state_store);
    document::update(&state, key, ttl_seconds, modify).await
}

/// Read-modify-write of a fired record, which must exist.
pub async fn update_fired<T, W, R, F>(
    ctx: &Ctx<T, W>,
    key: &str,
    mut modify: F,
) -> Result<Option<R>, DaprError>
where
    T: Transport,
    W: Transport,
    F: FnMut(&mut FiredRecord) -> Option<R>,
{
    update(
        ctx,
        key,
        Some(FIRED_TTL_SECS),
        |record: &mut Option<FiredRecord>| record.as_mut().and_then(&mut modify),
    )
    .await
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn keys_are_escaped_segments() {
        assert_eq!(inbox_key("a/b"), "inbox/a%2Fb");
        assert_eq!(settings_key("bob@x.io"), "settings/bob@x.io");
        let at = Utc.with_ymd_and_hms(2026, 5, 1, 12, 0, 0).unwrap();
        assert_eq!(
            fired_key("reminder-1", at),
            "fired/reminder-1/2026-05-01T12%3A00%3A00.000Z"
        );
        assert_eq!(
            reminder_key(Uuid::from_u128(1)),
            "reminder/00000000-0000-0000-0000-000000000001"
        );
    }
}
