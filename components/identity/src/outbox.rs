//! The account-created event must never be lost (architecture §4, §8.1):
//! sign-up writes it into the new account's own document, in the
//! transaction that creates the account, as a pending outbox entry; after
//! the commit it is published (`application/cloudevents+json`, so its `id`
//! survives Dapr and consumers dedupe on it) and only then removed from the
//! document with an ETag-guarded write.
//!
//! When the publish fails (broker down, instance killed after the commit),
//! the event stays in `account/{id}` and the account's next successful
//! sign-in, refresh or `GET /api/auth/me` publishes it again ([`flush`]).
//! An event may therefore go out twice (two concurrent flushes), never zero
//! times — **as long as the account is used again**. That is the limit of
//! this choice: an account whose sign-up publish failed and that never signs
//! in keeps its event unpublished. task-api bounds the delay with a Dapr Job
//! armed before the commit (architecture §8.2); identity does not have that
//! timer yet. A user who just signed up normally signs in at once, so the
//! window is small, but it is not bounded.

use todo_core::events::OutboundEvent;
use todo_core::identity::account::account_key;
use todo_dapr::document;
use todo_dapr::Transport;

use crate::store::AccountDocument;
use crate::Ctx;

fn event_id(event: &OutboundEvent) -> Option<&str> {
    event.event.get("id").and_then(|id| id.as_str())
}

/// Publishes `doc`'s pending events, oldest first, stopping at the first
/// failure, then removes those that went out from the stored document. Never
/// fails the request it runs in: what is not published stays for the next
/// flush, and the failure is logged.
pub async fn flush<T: Transport>(ctx: &Ctx<T>, doc: &AccountDocument) {
    if doc.outbox.is_empty() {
        return;
    }
    let account = doc.account.id;
    let mut published: Vec<String> = Vec::new();
    for event in &doc.outbox {
        let outcome = ctx
            .dapr
            .publish_event(
                &ctx.config.pubsub,
                &event.topic,
                &event.event,
                &event.partition_key,
            )
            .await;
        match outcome {
            Ok(()) => published.extend(event_id(event).map(str::to_string)),
            Err(err) => {
                eprintln!(
                    "identity: publishing {} of account {account} failed, kept for the next flush: {err}",
                    event_id(event).unwrap_or("an event")
                );
                break;
            }
        }
    }
    if published.is_empty() {
        return;
    }
    let state = ctx.dapr.state(&ctx.config.state_store);
    let removed = document::update(
        &state,
        &account_key(account),
        None,
        |stored: &mut Option<AccountDocument>| {
            let stored = stored.as_mut()?;
            let before = stored.outbox.len();
            stored
                .outbox
                .retain(|e| !event_id(e).is_some_and(|id| published.iter().any(|p| p == id)));
            (stored.outbox.len() != before).then_some(())
        },
    )
    .await;
    if let Err(err) = removed {
        // Published but still listed: the next flush sends a duplicate,
        // which consumers drop by id.
        eprintln!("identity: clearing the outbox of account {account} failed: {err}");
    }
}
