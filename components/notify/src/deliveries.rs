//! Pub/sub deliveries. `POST /events/notify/reminders`: reminder events from
//! task-api, each applied to its reminder's Dapr Job
//! ([`crate::reminders::apply`]).
//!
//! Replies follow Dapr's contract (architecture §4): SUCCESS once applied (or
//! when stale); RETRY when the sidecar or the store fails; DROP, with a log
//! line saying why, for a body that is not a reminder event whose data
//! matches its type, and for a failure retrying cannot mend.

use serde::Deserialize;
use serde_json::Value;
use todo_core::events::{CloudEvent, ReminderEventData};
use todo_core::reminder_job::ReminderEvent;
use todo_dapr::inbound::{parse_cloud_event, DeliveryStatus};
use todo_dapr::Transport;
use todo_http::respond::delivery_auth_failed;
use todo_http::{Request, Response};

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
