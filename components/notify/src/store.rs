//! notify's state layout (architecture §5) and the helpers its handlers share.
//!
//! # Documents, and what bounds each
//!
//! architecture §5's cost rules: no request reads or writes a document whose size
//! grows with a user's history, and every document stays ≤ 64 KiB whatever
//! that history. Keys (Dapr prefixes them with `notify||`; user ids and job
//! names are percent-encoded segments):
//!
//! - `inbox/{uid}` → [`InboxHead`]: the user's newest notifications (at
//!   most [`INBOX_PAGE`], 40) and the numbers of the sealed pages. The inbox
//!   used to be this one document with up to 200 notifications: bounded in
//!   count, but up to ~240 KiB with 200-character titles (a notification is
//!   at most ~1.2 KiB), so over the bound. Now 40 notifications are at most
//!   ~48 KiB (tested against the largest notification).
//! - `inbox/{uid}/{n}` → [`InboxSheet`]: 40 older notifications, sealed when
//!   the head overflows, written with the head in one transaction; at most
//!   [`SHEETS_KEPT`] (4) are kept, the oldest deleted in the transaction that
//!   seals a fifth, so an inbox holds at most 200 notifications and no
//!   document more than 40. A head of the old layout (up to 200 in
//!   `items`) reads as it is and is cut into pages by its next write (a
//!   firing or a read mark). See [`todo_core::notify::inbox`].
//! - `settings/{uid}` → [`NotifySettings`]: one e-mail address (≤ 254
//!   characters), one webhook URL (≤ 2,048) and secret (≤ 256): fixed bound,
//!   does not grow.
//! - `reminder/{taskId}` → [`ReminderRecord`]: the latest reminder version
//!   handled for the task (what makes a stale job harmless). Fixed size; TTL
//!   until the reminder plus 30 days, so records of old tasks go.
//! - `fired/{jobName}/{remindAt}` → [`FiredRecord`]: dedupe and delivery
//!   outcomes of one firing: one notification plus two outcomes with errors
//!   cut to 300 characters, so a few KiB; TTL 7 days, far longer than the
//!   Scheduler retries a job (~5 min), so records do not pile up.
//! - `welcome/{accountId}` → [`todo_core::notify::welcome::WelcomeRecord`]: whether
//!   the account's welcome e-mail was claimed (30 s lease), sent or is
//!   pending again, with the event id and attempts; no address, no name.
//!   Fixed size; TTL 30 days, and no welcome is sent for an older account,
//!   so a record only expires once it can no longer matter (see
//!   [`todo_core::notify::welcome`]).

use chrono::{DateTime, Utc};
use serde::de::DeserializeOwned;
use serde::Serialize;
use todo_core::notify::delivery::{FiredRecord, FIRED_TTL_SECS};
use todo_core::notify::inbox::{Spill, INBOX_PAGE, SHEETS_KEPT};
use todo_core::notify::reminder_job::due_time;
use todo_dapr::document::{self, key_segment, Loaded, RawDocument};
use todo_dapr::state::{SaveItem, TxOperation, Versioned};
use todo_dapr::{DaprError, Transport};
use uuid::Uuid;

use crate::Ctx;

pub use todo_core::notify::inbox::{Inbox, InboxHead, InboxSheet};
pub use todo_core::notify::reminder_job::ReminderRecord;
pub use todo_core::notify::settings::NotifySettings;

pub fn reminder_key(task_id: Uuid) -> String {
    format!("reminder/{}", task_id.hyphenated())
}

pub fn inbox_key(user: &str) -> String {
    format!("inbox/{}", key_segment(user))
}

pub fn inbox_sheet_key(user: &str, sheet: u64) -> String {
    format!("inbox/{}/{sheet}", key_segment(user))
}

pub fn settings_key(user: &str) -> String {
    format!("settings/{}", key_segment(user))
}

pub fn welcome_key(account_id: Uuid) -> String {
    format!("welcome/{}", account_id.hyphenated())
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
    document::read_raw(&ctx.dapr.state(&ctx.config.state_store), keys).await
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

/// The sealed inbox pages `sheets` of `user`, read in one bulk call, with
/// their numbers and ETags; pages not found are left out.
pub async fn load_sheets<T: Transport, W: Transport>(
    ctx: &Ctx<T, W>,
    user: &str,
    sheets: &[u64],
) -> Result<Vec<(u64, Loaded<InboxSheet>)>, DaprError> {
    let keys: Vec<String> = sheets.iter().map(|n| inbox_sheet_key(user, *n)).collect();
    let found = read_all(ctx, &keys).await?;
    let mut out = Vec::with_capacity(found.len());
    for (number, item) in sheets.iter().zip(found) {
        if let Some(sheet) = document::decode::<InboxSheet>(item)? {
            out.push((
                *number,
                Loaded {
                    value: sheet.value,
                    etag: sheet.etag,
                },
            ));
        }
    }
    Ok(out)
}

/// `user`'s whole inbox: the head, then its sealed pages (two reads).
pub async fn load_inbox<T: Transport, W: Transport>(
    ctx: &Ctx<T, W>,
    user: &str,
) -> Result<Inbox, DaprError> {
    let head = load::<T, W, InboxHead>(ctx, &inbox_key(user)).await?.value;
    let sheets = load_sheets(ctx, user, &head.sheets).await?;
    Ok(Inbox::assemble(
        head,
        sheets.into_iter().map(|(_, s)| s.value),
    ))
}

/// The operations that go with a write of `user`'s inbox head: the pages
/// it sealed (plain upserts: only the write that moves the head, guarded by
/// its ETag, past a number writes that page) and the pages it dropped.
pub fn spill_operations(user: &str, spill: &Spill) -> Result<Vec<TxOperation>, DaprError> {
    debug_assert!(spill.sealed.len() <= SHEETS_KEPT);
    debug_assert!(spill
        .sealed
        .iter()
        .all(|(_, s)| s.items.len() <= INBOX_PAGE));
    let mut operations = Vec::with_capacity(spill.sealed.len() + spill.dropped.len());
    for (number, sheet) in &spill.sealed {
        let value =
            serde_json::to_value(sheet).map_err(|e| DaprError::InvalidRequest(e.to_string()))?;
        operations.push(TxOperation::Upsert(SaveItem::new(
            inbox_sheet_key(user, *number),
            value,
        )));
    }
    for number in &spill.dropped {
        operations.push(TxOperation::Delete {
            key: inbox_sheet_key(user, *number),
            etag: None,
        });
    }
    Ok(operations)
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
        assert_eq!(inbox_sheet_key("a/b", 3), "inbox/a%2Fb/3");
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
        assert_eq!(
            welcome_key(Uuid::from_u128(2)),
            "welcome/00000000-0000-0000-0000-000000000002"
        );
    }
}
