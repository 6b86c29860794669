//! `POST /events/audit/task-events`: Dapr delivers every task event here
//! (declarative Subscription `k8s/dapr/subscriptions/audit.yaml`).
//!
//! Replies follow Dapr's contract (architecture §4): SUCCESS once the entry is
//! appended, or when the event was recorded before (redelivery); RETRY when
//! the sidecar or the store fails; DROP, with a log line saying why, for a
//! body that is not a task event of a known type and version, or whose data
//! does not match its type (see [`todo_http::delivery`]); DROP too for an
//! event about a task whose history belongs to another user, and for one
//! whose entry would exceed the document bound (its task breaks the task
//! limits).

use todo_dapr::inbound::DeliveryStatus;
use todo_dapr::Transport;
use todo_http::{delivery, Request, Response};

use crate::store::{self, AppendError, Appended};
use crate::Ctx;

pub async fn task_events<T: Transport>(ctx: &Ctx<T>, request: &Request) -> Response {
    let event = match delivery::task_event(ctx, request, "audit").await {
        Ok(event) => event,
        Err(reply) => return reply,
    };
    let id = &event.envelope.id;
    match store::append(ctx, &event).await {
        Ok(Appended::New(_)) => DeliveryStatus::Success.reply(),
        Ok(Appended::Duplicate(seq)) => {
            eprintln!("audit: event {id} already recorded as entry {seq}; acknowledged");
            DeliveryStatus::Success.reply()
        }
        Err(err @ (AppendError::ForeignTask { .. } | AppendError::Oversized { .. })) => {
            eprintln!("audit: DROP event {id}: {err}");
            DeliveryStatus::Drop.reply()
        }
        Err(err @ AppendError::Unavailable(_)) => {
            eprintln!("audit: RETRY event {id}: {err}");
            DeliveryStatus::Retry.reply()
        }
    }
}
