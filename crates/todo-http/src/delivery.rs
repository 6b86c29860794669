//! Reading a pub/sub delivery of a task event (architecture §4), the same way in
//! every consumer: check that Dapr sent it, parse the CloudEvent, check its
//! type and data (`todo_core::events::task`).
//!
//! Whatever stops a delivery here is answered as Dapr expects and logged
//! with the reason: a failed app token check as
//! [`delivery_auth_failed`] says (401, or RETRY when the secret store is
//! unreachable); a body that is not a task event of a known type and
//! version, or whose data does not match it → DROP.

use serde_json::Value;
use todo_core::events::task::TaskEvent;
use todo_core::events::{self, CloudEvent};
use todo_dapr::inbound::{parse_cloud_event, DeliveryStatus};
use todo_dapr::Transport;

use crate::context::{Ctx, WithAuth};
use crate::respond::delivery_auth_failed;
use crate::{Request, Response};

/// The task event delivered in `request`, or the reply to send instead.
/// `consumer` names the component in log lines.
pub async fn task_event<T: Transport, C: WithAuth>(
    ctx: &Ctx<T, C>,
    request: &Request,
    consumer: &str,
) -> Result<TaskEvent, Response> {
    if let Err(p) = ctx.require_app_token(request).await {
        eprintln!("{consumer}: task event refused: app token check failed: {p}");
        return Err(delivery_auth_failed(&p));
    }
    parse_cloud_event::<CloudEvent<Value>>(request.body())
        .map_err(|e| e.to_string())
        .and_then(|envelope| events::task::read(envelope).map_err(|e| e.to_string()))
        .map_err(|why| {
            eprintln!("{consumer}: DROP task event: {why}");
            DeliveryStatus::Drop.reply()
        })
}
