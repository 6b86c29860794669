//! `POST /events/sync-relay/task-updates`: every `task-updates` event
//! (`todo.sync.task-changed.v1` from task-api, `todo.sync.notification.v1`
//! from notify) is appended to its user's feed, once per event id.
//!
//! Replies follow Dapr's contract (architecture §4): SUCCESS once appended (or
//! when appended before); RETRY when the sidecar or the store fails; DROP,
//! with a log line saying why, for a body that is not a CloudEvent of a
//! known type whose data matches it.

use serde_json::Value;
use todo_core::events::CloudEvent;
use todo_core::sync::feed::owner_of;
use todo_dapr::inbound::{parse_cloud_event, DeliveryStatus};
use todo_dapr::Transport;
use todo_http::respond::delivery_auth_failed;
use todo_http::{Request, Response};

use crate::store::{self, Appended};
use crate::Ctx;

pub async fn task_updates<T: Transport>(ctx: &Ctx<T>, request: &Request) -> Response {
    if let Err(p) = ctx.require_app_token(request).await {
        eprintln!("sync-relay: task-updates delivery refused: {p}");
        return delivery_auth_failed(&p);
    }
    let parsed = parse_cloud_event::<CloudEvent<Value>>(request.body())
        .map_err(|e| e.to_string())
        .and_then(|event| match owner_of(&event) {
            Ok(user) => Ok((event, user)),
            Err(e) => Err(format!("event {} ({}): {e}", event.id, event.kind)),
        });
    let (event, user) = match parsed {
        Ok(parsed) => parsed,
        Err(why) => {
            eprintln!("sync-relay: DROP task-updates delivery: {why}");
            return DeliveryStatus::Drop.reply();
        }
    };
    let id = event.id.clone();
    match store::append(ctx, &user, event).await {
        Ok(Appended::New(_)) => DeliveryStatus::Success.reply(),
        Ok(Appended::Duplicate(seq)) => {
            eprintln!("sync-relay: event {id} already in the feed as {seq}; acknowledged");
            DeliveryStatus::Success.reply()
        }
        Err(err) => {
            eprintln!("sync-relay: RETRY event {id}: {err}");
            DeliveryStatus::Retry.reply()
        }
    }
}
