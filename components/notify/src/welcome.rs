//! The welcome e-mail of a new account: `todo.account.created.v1`
//! (identity, topic `account-events`) delivered to
//! [`crate::deliveries::account_events`] becomes one e-mail through the
//! `email` SMTP output binding, to the address in the event, once per
//! account.
//!
//! Order (see [`todo_core::notify::welcome`] for why): claim `welcome/{accountId}`
//! (`sending`, with a 30 s lease; insert-only when new, ETag-guarded
//! otherwise, re-read on a lost race), send, then record `sent` — or,
//! when the binding failed, `pending` again so the redelivery can claim it
//! at once. A crash between sending and recording can cause a second mail
//! once the lease is over; no order of failures loses the mail. The record
//! holds no address and no name, and no log line here quotes the address
//! (errors go through [`scrub_addresses`]).

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use todo_core::events::account::{scrub_addresses, AccountEvent};
use todo_core::notify::welcome::{
    claim, single_mailbox, welcome_email, WelcomeClaim, WelcomeRecord,
};
use todo_core::notify::welcome::{WelcomeState, WELCOME_TTL_SECS};
use todo_dapr::document::{
    at_once, guarded_upsert, transact, Decided, TransactError, Write, MAX_ATTEMPTS,
};
use todo_dapr::{DaprError, Transport};

use crate::store::{self, welcome_key};
use crate::Ctx;

/// What [`welcome`] did.
#[derive(Debug, Clone, PartialEq)]
pub enum Welcomed {
    /// Sent now, and recorded as sent.
    Sent,
    /// Sent now, but recording it failed (the claim stays `sending`; only a
    /// delivery after its lease would send again). Carries the error.
    SentUnrecorded(String),
    /// Sent before: nothing done.
    AlreadySent,
    /// The account is older than a welcome is sent for: nothing done.
    TooLate,
}

/// Why [`welcome`] did not send.
#[derive(Debug, Clone, PartialEq)]
pub enum WelcomeError {
    /// The address cannot be handed to the binding as one recipient: a
    /// poison message.
    NotOneMailbox(&'static str),
    /// Another delivery claimed it and its lease runs until then.
    Busy(DateTime<Utc>),
    /// The sidecar or the store failed, or every attempt lost its race.
    Unavailable(String),
    /// The SMTP binding failed (the claim was released).
    Binding(String),
}

impl WelcomeError {
    /// Whether a redelivery may succeed (everything but a poison message).
    pub fn is_transient(&self) -> bool {
        !matches!(self, WelcomeError::NotOneMailbox(_))
    }
}

impl std::fmt::Display for WelcomeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            WelcomeError::NotOneMailbox(why) => write!(f, "{why}"),
            WelcomeError::Busy(until) => {
                write!(
                    f,
                    "another delivery is sending it (its claim holds until {until})"
                )
            }
            WelcomeError::Unavailable(why) => write!(f, "state unavailable: {why}"),
            WelcomeError::Binding(why) => write!(f, "the e-mail binding failed: {why}"),
        }
    }
}

fn unavailable(err: DaprError) -> WelcomeError {
    WelcomeError::Unavailable(scrub_addresses(&err.to_string()))
}

/// Sends the welcome e-mail of the account `event` created, unless it was
/// sent before (module documentation).
pub async fn welcome<T: Transport, W: Transport>(
    ctx: &Ctx<T, W>,
    event: &AccountEvent,
) -> Result<Welcomed, WelcomeError> {
    let data = &event.envelope.data;
    single_mailbox(&data.email).map_err(WelcomeError::NotOneMailbox)?;
    let key = welcome_key(data.account_id);

    // 1. Claim.
    let state = ctx.dapr.state(&ctx.config.state_store);
    let decision = transact(&state, MAX_ATTEMPTS, at_once, async |_| {
        let current = store::load::<T, W, Option<WelcomeRecord>>(ctx, &key).await?;
        let decision = claim(
            current.value.as_ref(),
            &event.envelope.id,
            data.created_at,
            ctx.now(),
        );
        match &decision {
            WelcomeClaim::Claimed(record) => {
                let mut item = guarded_upsert(key.as_str(), record, current.etag)?;
                item.ttl_seconds = Some(WELCOME_TTL_SECS);
                Ok(Decided::Commit(Write::Save(vec![item]), decision))
            }
            _ => Ok(Decided::Answer(decision)),
        }
    })
    .await
    .map_err(TransactError::<DaprError>::into_inner)
    .map_err(unavailable)?;
    let claimed = match decision {
        WelcomeClaim::Claimed(record) => record,
        WelcomeClaim::Sent => return Ok(Welcomed::AlreadySent),
        WelcomeClaim::TooLate => return Ok(Welcomed::TooLate),
        WelcomeClaim::Busy(until) => return Err(WelcomeError::Busy(until)),
    };

    // 2. Send.
    let mail = welcome_email(&data.name);
    let metadata = BTreeMap::from([
        ("emailTo".to_string(), data.email.clone()),
        ("subject".to_string(), mail.subject),
    ]);
    let sent = ctx
        .dapr
        .invoke_binding(
            &ctx.config.email_binding,
            "create",
            &serde_json::Value::String(mail.html),
            &metadata,
        )
        .await;

    // 3. Record the outcome.
    match sent {
        Ok(_) => {
            let now = ctx.now();
            let recorded = store::update(
                ctx,
                &key,
                Some(WELCOME_TTL_SECS),
                |record: &mut Option<WelcomeRecord>| {
                    record.get_or_insert_with(|| claimed.clone()).sent(now);
                    Some(())
                },
            )
            .await;
            Ok(match recorded {
                Ok(_) => Welcomed::Sent,
                Err(err) => Welcomed::SentUnrecorded(scrub_addresses(&err.to_string())),
            })
        }
        Err(err) => {
            let why = scrub_addresses(&err.to_string());
            // Release our claim (only ours: a claim taken over after our
            // lease is the other delivery's). If this fails too, the lease
            // runs out in 30 s anyway.
            let released = store::update(
                ctx,
                &key,
                Some(WELCOME_TTL_SECS),
                |record: &mut Option<WelcomeRecord>| {
                    let record = record.as_mut()?;
                    let ours = record.state == WelcomeState::Sending
                        && record.lease_until == claimed.lease_until;
                    ours.then(|| record.released())
                },
            )
            .await;
            if let Err(release) = released {
                eprintln!(
                    "notify: welcome for account {}: could not release the claim: {}",
                    data.account_id,
                    scrub_addresses(&release.to_string())
                );
            }
            Err(WelcomeError::Binding(why))
        }
    }
}
