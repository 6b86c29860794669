//! Pub/sub deliveries.
//!
//! - `POST /events/notify/reminders`: reminder events from task-api, each
//!   applied to its reminder's Dapr Job ([`crate::reminders::apply`]).
//! - `POST /events/notify/account-events`: `todo.account.created.v1` from
//!   identity, each becoming the account's welcome e-mail, once
//!   ([`crate::welcome::welcome`]).
//!
//! Replies follow Dapr's contract (architecture §4): SUCCESS once applied (or
//! when stale, or the welcome was sent before); RETRY when the sidecar, the
//! store or the SMTP binding fails (or another delivery is sending the same
//! welcome); DROP, with a log line saying why, for a body that is not an
//! event of a known type whose data matches it, and for a failure retrying
//! cannot mend. Account events carry an e-mail address: no log line quotes
//! it ([`scrub_addresses`]).

use serde::Deserialize;
use serde_json::Value;
use todo_core::events::account::{scrub_addresses, AccountEvent};
use todo_core::events::{self, CloudEvent, ReminderEventData};
use todo_core::notify::reminder_job::ReminderEvent;
use todo_dapr::inbound::{parse_cloud_event, DeliveryStatus};
use todo_dapr::Transport;
use todo_http::respond::delivery_auth_failed;
use todo_http::{Request, Response};

use crate::welcome::{welcome, Welcomed};
use crate::{reminders, Ctx};

/// Handles one delivery of the `reminders` topic.
pub async fn reminders<T: Transport, W: Transport>(ctx: &Ctx<T, W>, request: &Request) -> Response {
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
    let status = match reminders::apply(ctx, kind, &data).await {
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

/// Handles one delivery of the `account-events` topic.
pub async fn account_events<T: Transport, W: Transport>(
    ctx: &Ctx<T, W>,
    request: &Request,
) -> Response {
    if let Err(p) = ctx.require_app_token(request).await {
        eprintln!("notify: account-events delivery refused: {p}");
        return delivery_auth_failed(&p);
    }
    let event = match parse_account_event(request.body()) {
        Ok(event) => event,
        Err(reason) => {
            eprintln!("notify: DROP account-events delivery: {reason}");
            return DeliveryStatus::Drop.reply();
        }
    };
    let id = scrub_addresses(&event.envelope.id);
    let account = event.envelope.data.account_id;
    let status = match welcome(ctx, &event).await {
        Ok(done) => {
            let outcome = match done {
                Welcomed::Sent => "sent".to_string(),
                Welcomed::SentUnrecorded(err) => {
                    format!("sent, but not recorded as sent: {err}")
                }
                Welcomed::AlreadySent => "sent before, acknowledged".to_string(),
                Welcomed::TooLate => "not sent: the account is older than 30 days".to_string(),
            };
            eprintln!("notify: welcome e-mail for account {account} (event {id}): {outcome}");
            DeliveryStatus::Success
        }
        Err(err) if err.is_transient() => {
            eprintln!("notify: RETRY welcome e-mail for account {account} (event {id}): {err}");
            DeliveryStatus::Retry
        }
        Err(err) => {
            eprintln!("notify: DROP welcome e-mail for account {account} (event {id}): {err}");
            DeliveryStatus::Drop
        }
    };
    status.reply()
}

/// The account event in `body`; an error says why it is poison, never
/// quoting an address.
fn parse_account_event(body: &[u8]) -> Result<AccountEvent, String> {
    let envelope: CloudEvent<Value> =
        parse_cloud_event(body).map_err(|e| scrub_addresses(&e.to_string()))?;
    let id = scrub_addresses(&envelope.id);
    events::account::read(envelope).map_err(|e| format!("event {id}: {e}"))
}
