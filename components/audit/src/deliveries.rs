//! Dapr's pub/sub deliveries to audit (declarative Subscriptions in
//! `k8s/dapr/subscriptions/audit.yaml`):
//!
//! - `POST /events/audit/task-events`: every task event;
//! - `POST /events/audit/account-events`: every account event
//!   (`todo.account.created.v1`, published by identity), recorded as an
//!   entry of the new account's own chain (user = account id), normally its
//!   first. The entry holds no personal data, see
//!   [`todo_core::audit::chain`] ("Account entries").
//!
//! Replies follow Dapr's contract (architecture §4): SUCCESS once the entry is
//! appended, or when the event was recorded before (redelivery); RETRY when
//! the sidecar or the store fails; DROP, with a log line saying why, for a
//! body that is not an event of a known type and version, or whose data
//! does not match its type (see [`todo_http::delivery`] and
//! [`todo_core::events::account`]); DROP too for a task event about a task
//! whose history belongs to another user, and for one whose entry would
//! exceed the document bound (its task breaks the task limits).
//!
//! Account events carry an e-mail address: no log line here quotes it
//! (reasons go through [`scrub_addresses`]).

use serde_json::Value;
use todo_core::events::account::{scrub_addresses, AccountEvent};
use todo_core::events::{self, CloudEvent};
use todo_dapr::inbound::{parse_cloud_event, DeliveryStatus};
use todo_dapr::Transport;
use todo_http::respond::delivery_auth_failed;
use todo_http::{delivery, Request, Response};

use crate::store::{self, AppendError, Appended};
use crate::Ctx;

pub async fn task_events<T: Transport>(ctx: &Ctx<T>, request: &Request) -> Response {
    let event = match delivery::task_event(ctx, request, "audit").await {
        Ok(event) => event,
        Err(reply) => return reply,
    };
    let id = &event.envelope.id;
    reply(id, store::append(ctx, &event).await)
}

pub async fn account_events<T: Transport>(ctx: &Ctx<T>, request: &Request) -> Response {
    if let Err(p) = ctx.require_app_token(request).await {
        eprintln!("audit: account event refused: app token check failed: {p}");
        return delivery_auth_failed(&p);
    }
    let event = match read_account_event(request.body()) {
        Ok(event) => event,
        Err(why) => {
            eprintln!("audit: DROP account event: {why}");
            return DeliveryStatus::Drop.reply();
        }
    };
    let appended = store::append_account(ctx, &event).await;
    if let Ok(Appended::New(entry)) = &appended {
        eprintln!(
            "audit: sign-up of account {} recorded as its entry {}",
            entry.actor, entry.seq
        );
    }
    reply(&scrub_addresses(&event.envelope.id), appended)
}

/// The account event in `body`, or why it is poison (never quoting an
/// address).
fn read_account_event(body: &[u8]) -> Result<AccountEvent, String> {
    let envelope = parse_cloud_event::<CloudEvent<Value>>(body)
        .map_err(|e| scrub_addresses(&e.to_string()))?;
    let id = envelope.id.clone();
    events::account::read(envelope).map_err(|e| format!("event {}: {e}", scrub_addresses(&id)))
}

/// Dapr's reply to an append of event `id`.
fn reply(id: &str, appended: Result<Appended, AppendError>) -> Response {
    match appended {
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
