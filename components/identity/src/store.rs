//! identity's state layout (architecture §5) and its writes.
//!
//! # Documents, and what bounds each
//!
//! Keys (Dapr prefixes them with `identity||`); none holds personal data in
//! clear or a character Dapr reserves (addresses are hashed):
//!
//! - `account/{id}` → [`AccountDocument`]: the account (its argon2id PHC
//!   hash included, never shown) and its outbox: the account-created event
//!   until it is published. One account; the outbox holds at most that one
//!   event.
//! - `email/{sha256(normalised address)}` → [`EmailClaim`]: the account that
//!   owns an address. Insert-only (first write wins), written in the same
//!   transaction as the account, so two sign-ups with one address cannot
//!   both succeed.
//! - `refresh/{familyId}` → [`RefreshFamily`]: one sign-in's refresh-token
//!   chain (only the hash of the current token). TTL: what is left of the
//!   family's 30 days; every change is ETag-guarded.
//! - `lockout/account/{sha256}`, `lockout/client/{sha256}` →
//!   [`FailureCounter`]: the recent failed sign-ins of an address or a client
//!   (at most [`LockoutPolicy::max_failures`] timestamps). TTL: until the
//!   newest failure leaves the window.
//!
//! Lost races are re-read and decided again at most
//! [`document::MAX_ATTEMPTS`] times, then answered 503.

use serde::{Deserialize, Serialize};
use todo_core::events::OutboundEvent;
use todo_core::identity::account::account_key;
use todo_core::identity::tokens::refresh_family_key;
use todo_core::identity::{Account, FailureCounter, LockoutPolicy, RefreshFamily};
use todo_core::Problem;
use todo_dapr::document::{
    self, at_once, guarded_upsert, is_conflict, Decided, Loaded, RawDocument, Write,
};
use todo_dapr::state::{TxOperation, Versioned};
use todo_dapr::{DaprError, Transport};
use todo_http::respond::{dapr_problem, transact_problem, OrProblem};
use uuid::Uuid;

use crate::Ctx;

/// `account/{id}`: the account and the events of its creation not yet
/// published (see [`crate::outbox`]).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AccountDocument {
    #[serde(flatten)]
    pub account: Account,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub outbox: Vec<OutboundEvent>,
}

/// `email/{hash}`: which account owns the address.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EmailClaim {
    pub account_id: Uuid,
}

/// How a sign-up's transaction ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Created {
    /// The account and its address claim are stored.
    Committed,
    /// Another account holds the address.
    Taken,
}

fn conflict_exhausted(what: &str) -> Problem {
    Problem::unavailable(
        format!("{what} kept changing under concurrent requests; try again"),
        1,
    )
}

/// Reads `keys` in one bulk call, raw (unparsed), in order.
pub async fn read_all<T: Transport>(
    ctx: &Ctx<T>,
    keys: &[String],
) -> Result<Vec<Option<Versioned<RawDocument>>>, Problem> {
    document::read_raw(&ctx.dapr.state(&ctx.config.state_store), keys)
        .await
        .or_problem()
}

/// One raw document of [`read_all`], decoded.
pub fn decode<V: serde::de::DeserializeOwned>(
    item: Option<Versioned<RawDocument>>,
) -> Result<Option<Versioned<V>>, Problem> {
    document::decode(item).or_problem()
}

/// Whether an address claim exists under `email_key`.
pub async fn email_claim<T: Transport>(
    ctx: &Ctx<T>,
    email_key: &str,
) -> Result<Option<EmailClaim>, Problem> {
    Ok(ctx
        .dapr
        .state(&ctx.config.state_store)
        .get::<EmailClaim>(email_key)
        .await
        .or_problem()?
        .map(|v| v.value))
}

/// The account `id` with its ETag, if it exists.
pub async fn load_account<T: Transport>(
    ctx: &Ctx<T>,
    id: Uuid,
) -> Result<Option<Versioned<AccountDocument>>, Problem> {
    ctx.dapr
        .state(&ctx.config.state_store)
        .get::<AccountDocument>(&account_key(id))
        .await
        .or_problem()
}

/// Stores a new account and claims its address (`email_key`) in one
/// transaction, both insert-only. A failed transaction may be a lost race
/// (daprd reports a taken first-write inside a transaction as 500
/// `ERR_STATE_TRANSACTION`), so the claim is re-read: another account's →
/// [`Created::Taken`]; this account's (the commit went through although the
/// answer said otherwise) → [`Created::Committed`]; none → try again, at
/// most [`document::MAX_ATTEMPTS`] times, then 503.
///
/// Its loop is not [`document::transact`]'s: nothing is read before the
/// write (both documents are insert-only), and the read that follows a
/// failed commit classifies that commit (ours, another account's, or a
/// retry) instead of preparing the next one, the last failure included.
pub async fn create_account<T: Transport>(
    ctx: &Ctx<T>,
    doc: &AccountDocument,
    email_key: &str,
) -> Result<Created, Problem> {
    let state = ctx.dapr.state(&ctx.config.state_store);
    let operations = [
        TxOperation::Upsert(guarded_upsert(account_key(doc.account.id), doc, None).or_problem()?),
        TxOperation::Upsert(
            guarded_upsert(
                email_key,
                &EmailClaim {
                    account_id: doc.account.id,
                },
                None,
            )
            .or_problem()?,
        ),
    ];
    for _ in 0..document::MAX_ATTEMPTS {
        match state.transaction(&operations).await {
            Ok(()) => return Ok(Created::Committed),
            Err(err) if is_conflict(&err) => match email_claim(ctx, email_key).await? {
                Some(claim) if claim.account_id == doc.account.id => return Ok(Created::Committed),
                Some(_) => return Ok(Created::Taken),
                None => continue,
            },
            Err(err) => return Err(dapr_problem(&err)),
        }
    }
    Err(conflict_exhausted("the sign-up"))
}

/// Records a failed sign-in on each counter of `counters` (key and the
/// counter as read, with its ETag) in one transaction, each write guarded by
/// its ETag (insert-only when new) and given the counter's TTL. On a lost
/// race both are re-read and the failure recorded again.
pub async fn record_failure<T: Transport>(
    ctx: &Ctx<T>,
    mut counters: Vec<(String, Loaded<FailureCounter>)>,
    policy: &LockoutPolicy,
) -> Result<(), Problem> {
    let now = ctx.now();
    let contended = || conflict_exhausted("the sign-in failure counters");
    transact(ctx, contended, async |attempt| {
        if attempt > 1 {
            // The counters as they are now, after the race this lost.
            let keys: Vec<String> = counters.iter().map(|(k, _)| k.clone()).collect();
            let found = read_all(ctx, &keys).await?;
            counters = keys
                .into_iter()
                .zip(found)
                .map(|(key, item)| Ok((key, Loaded::from_versioned(decode(item)?))))
                .collect::<Result<_, Problem>>()?;
        }
        let mut operations = Vec::with_capacity(counters.len());
        for (key, loaded) in &counters {
            let mut counter = loaded.value.clone();
            counter.record_failure(policy, now);
            let mut item =
                guarded_upsert(key.clone(), &counter, loaded.etag.clone()).or_problem()?;
            item.ttl_seconds = counter.ttl_secs(policy, now).map(u64::from);
            operations.push(TxOperation::Upsert(item));
        }
        Ok(Decided::Commit(Write::Transaction(operations), ()))
    })
    .await
}

/// Forgets the failures recorded under `key` (a successful sign-in).
pub async fn clear_counter<T: Transport>(ctx: &Ctx<T>, key: &str) -> Result<(), Problem> {
    ctx.dapr
        .state(&ctx.config.state_store)
        .delete(key, None)
        .await
        .or_problem()
}

/// The refresh family `family_id` with its ETag, if it exists.
pub async fn load_family<T: Transport>(
    ctx: &Ctx<T>,
    family_id: &str,
) -> Result<Option<Versioned<RefreshFamily>>, Problem> {
    ctx.dapr
        .state(&ctx.config.state_store)
        .get::<RefreshFamily>(&refresh_family_key(family_id))
        .await
        .or_problem()
}

/// The write of `family` guarded by `etag` (insert-only when `None`),
/// living what is left of it (at least a second). A lost race is
/// [`DaprError::EtagMismatch`] (see [`is_conflict`]): re-read and decide again.
pub fn family_write<T: Transport>(
    ctx: &Ctx<T>,
    family: &RefreshFamily,
    etag: Option<String>,
) -> Result<Write, DaprError> {
    let mut item = guarded_upsert(refresh_family_key(&family.id), family, etag)?;
    let remaining = family.remaining_secs(ctx.now()).max(1);
    item.ttl_seconds = Some(u64::try_from(remaining).unwrap_or(1));
    Ok(Write::Save(vec![item]))
}

/// Writes `family` ([`family_write`]).
pub async fn save_family<T: Transport>(
    ctx: &Ctx<T>,
    family: &RefreshFamily,
    etag: Option<String>,
) -> Result<(), DaprError> {
    let state = ctx.dapr.state(&ctx.config.state_store);
    family_write(ctx, family, etag)?.commit(&state).await
}

/// A change under identity's retry rules ([`document::transact`]): `decide`
/// reads and decides; a lost race is re-read at once; after
/// [`document::MAX_ATTEMPTS`] lost races, the 503 `contended`.
pub async fn transact<T: Transport, R>(
    ctx: &Ctx<T>,
    contended: impl FnOnce() -> Problem,
    decide: impl AsyncFnMut(u32) -> Result<Decided<R>, Problem>,
) -> Result<R, Problem> {
    let state = ctx.dapr.state(&ctx.config.state_store);
    document::transact(&state, document::MAX_ATTEMPTS, at_once, decide)
        .await
        .map_err(|err| transact_problem(err, contended))
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn account_document_is_the_account_plus_its_outbox() {
        let account = Account {
            id: Uuid::from_u128(7),
            email: "a@b.org".into(),
            name: "A".into(),
            password_hash: "$argon2id$v=19$m=64,t=1,p=1$c2FsdA$aGFzaA".into(),
            created_at: chrono::Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap(),
        };
        let doc = AccountDocument {
            account: account.clone(),
            outbox: Vec::new(),
        };
        let value = serde_json::to_value(&doc).unwrap();
        assert_eq!(value, serde_json::to_value(&account).unwrap());
        let back: AccountDocument = serde_json::from_value(value).unwrap();
        assert_eq!(back.account, account);
        assert!(back.outbox.is_empty());
    }
}
