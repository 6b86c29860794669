//! The welcome e-mail notify sends for a new account
//! (`todo.account.created.v1`, architecture §4): the message, and the record
//! `welcome/{accountId}` (architecture §5.4) that makes it go out once per
//! account although the event may be delivered more than once.
//!
//! # Once per account, and never lost
//!
//! Deliveries are at-least-once, and a mail cannot be sent in the same
//! transaction as a state write, so some order has to be chosen:
//!
//! - marker first, then send: an instance that dies in between leaves the
//!   marker, every redelivery skips the mail, and it is **lost**;
//! - send first, then marker: an instance that dies in between sends a
//!   **second** mail on redelivery.
//!
//! A duplicate welcome is a nuisance, a lost one is a failure, so the
//! marker is written first but as a *claim* with a lease ([`claim`],
//! [`WELCOME_LEASE_SECS`], the same 30 s as a reminder channel's claim):
//!
//! 1. write the record as `sending` until the lease ends (insert-only when
//!    it is new, ETag-guarded otherwise: of two deliveries racing, one
//!    claims and the other sees the claim and answers RETRY);
//! 2. send through the SMTP binding;
//! 3. record `sent`; or, when the binding failed, `pending` again, so the
//!    redelivery Dapr makes a second later can claim it at once.
//!
//! A delivery that finds `sent` does nothing. One that finds a `sending`
//! whose lease has run out takes it over and sends: its owner died between
//! claim and answer, maybe after the mail went out — the one case where a
//! second welcome can arrive, and no case where none does.
//!
//! # How long the record is kept
//!
//! [`WELCOME_TTL_SECS`] (30 days, like audit's `seen/` markers: longer than
//! Kafka keeps the event, 7 days, or its dead-letter topic, 14). The event
//! could still come again later (identity republishes an event it could not
//! mark as published, at the account's next sign-in), so no welcome is sent
//! for an account created more than [`WELCOME_TTL_SECS`] ago
//! ([`WelcomeClaim::TooLate`]): every record written is younger than that,
//! so a record can only expire once no welcome could be sent anyway.
//!
//! The record holds no personal data: the address and the name are only in
//! the event and in the mail.

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

use crate::notify::delivery::{escape_html, Email, CLAIM_LEASE_SECS};

/// How long `welcome/{accountId}` is kept, and the oldest account (by its
/// `createdAt`) that still gets a welcome: 30 days.
pub const WELCOME_TTL_SECS: u64 = 30 * 24 * 3600;

/// How long a claim holds before another delivery may send instead.
pub const WELCOME_LEASE_SECS: i64 = CLAIM_LEASE_SECS;

/// Where the welcome of one account stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum WelcomeState {
    /// Not sent: the last attempt failed; any delivery may claim it.
    Pending,
    /// Claimed by a delivery until `leaseUntil`.
    Sending,
    /// Sent (the binding accepted it).
    Sent,
}

/// `welcome/{accountId}` in notify's state.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WelcomeRecord {
    pub state: WelcomeState,
    /// The event that claimed it last.
    pub event_id: String,
    /// Attempts finished (sent or failed).
    #[serde(default)]
    pub attempts: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lease_until: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sent_at: Option<DateTime<Utc>>,
}

/// What [`claim`] decided.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WelcomeClaim {
    /// Ours to send: store this record (guarded), then send.
    Claimed(WelcomeRecord),
    /// Sent before: nothing to do.
    Sent,
    /// Another delivery holds the claim until then.
    Busy(DateTime<Utc>),
    /// The account is older than [`WELCOME_TTL_SECS`]: too late to welcome.
    TooLate,
}

/// Decides whether the delivery of event `event_id` (an account created at
/// `created_at`) may send the welcome now, given the stored record.
pub fn claim(
    existing: Option<&WelcomeRecord>,
    event_id: &str,
    created_at: DateTime<Utc>,
    now: DateTime<Utc>,
) -> WelcomeClaim {
    let attempts = match existing {
        Some(r) if r.state == WelcomeState::Sent => return WelcomeClaim::Sent,
        Some(WelcomeRecord {
            state: WelcomeState::Sending,
            lease_until: Some(until),
            ..
        }) if *until > now => return WelcomeClaim::Busy(*until),
        Some(r) => r.attempts,
        None => 0,
    };
    if created_at + Duration::seconds(WELCOME_TTL_SECS as i64) < now {
        return WelcomeClaim::TooLate;
    }
    WelcomeClaim::Claimed(WelcomeRecord {
        state: WelcomeState::Sending,
        event_id: event_id.to_string(),
        attempts,
        lease_until: Some(now + Duration::seconds(WELCOME_LEASE_SECS)),
        sent_at: None,
    })
}

impl WelcomeRecord {
    /// After the binding accepted the mail.
    pub fn sent(&mut self, now: DateTime<Utc>) {
        self.state = WelcomeState::Sent;
        self.attempts += 1;
        self.lease_until = None;
        self.sent_at = Some(now);
    }

    /// After the binding failed: claimable again at once.
    pub fn released(&mut self) {
        self.state = WelcomeState::Pending;
        self.attempts += 1;
        self.lease_until = None;
    }
}

/// Whether `address` can be handed to the SMTP binding as one recipient.
/// The binding's `emailTo` is a list split at `;` and `,` (daprd's and
/// devstack's alike), and identity's normal form allows both characters, so
/// an address holding one would be sent to several mailboxes — one of them
/// chosen by whoever signed up.
pub fn single_mailbox(address: &str) -> Result<(), &'static str> {
    if address.contains([';', ',']) {
        Err("the address holds a list separator (; or ,): it is not one mailbox")
    } else if address.is_empty() {
        Err("the address is empty")
    } else {
        Ok(())
    }
}

/// The welcome e-mail for an account named `name`. The name is the user's
/// text: HTML-escaped in the body; in the subject stripped of control
/// characters (no header injection) and shortened.
pub fn welcome_email(name: &str) -> Email {
    let name: String = name
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    let subject = format!(
        "Welcome to Todo, {}",
        name.chars().take(100).collect::<String>()
    );
    let html = format!(
        "<p>Hello {},</p>\n<p>Welcome to Todo: your account is ready. Sign in to add your first task.</p>\n",
        escape_html(&name)
    );
    Email { subject, html }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn t0() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 27, 10, 0, 0).unwrap()
    }

    fn claimed(found: WelcomeClaim) -> WelcomeRecord {
        match found {
            WelcomeClaim::Claimed(record) => record,
            other => panic!("not claimed: {other:?}"),
        }
    }

    #[test]
    fn a_new_account_is_claimed_with_a_lease_then_sent_once() {
        let now = t0() + Duration::seconds(2);
        let mut record = claimed(claim(None, "ev-1", t0(), now));
        assert_eq!(record.state, WelcomeState::Sending);
        assert_eq!(record.lease_until, Some(now + Duration::seconds(30)));
        assert_eq!(record.event_id, "ev-1");
        // While the lease runs, another delivery waits.
        assert_eq!(
            claim(Some(&record), "ev-1", t0(), now + Duration::seconds(29)),
            WelcomeClaim::Busy(now + Duration::seconds(30))
        );
        record.sent(now + Duration::seconds(1));
        assert_eq!(record.state, WelcomeState::Sent);
        assert_eq!(record.attempts, 1);
        assert_eq!(record.lease_until, None);
        for later in [now, now + Duration::days(29), now + Duration::days(400)] {
            assert_eq!(
                claim(Some(&record), "ev-1", t0(), later),
                WelcomeClaim::Sent
            );
        }
    }

    #[test]
    fn a_failed_send_or_a_dead_owner_can_be_claimed_again() {
        let mut record = claimed(claim(None, "ev-1", t0(), t0()));
        record.released();
        let again = claimed(claim(Some(&record), "ev-1", t0(), t0()));
        assert_eq!(again.attempts, 1);
        assert_eq!(again.state, WelcomeState::Sending);
        // The owner of a claim died: after its lease another one sends.
        let later = t0() + Duration::seconds(30);
        let taken = claimed(claim(Some(&again), "ev-2", t0(), later));
        assert_eq!(taken.event_id, "ev-2");
        assert_eq!(taken.lease_until, Some(later + Duration::seconds(30)));
    }

    #[test]
    fn no_welcome_for_an_account_older_than_the_record_lives() {
        let limit = t0() + Duration::seconds(WELCOME_TTL_SECS as i64);
        assert!(matches!(
            claim(None, "ev", t0(), limit),
            WelcomeClaim::Claimed(_)
        ));
        assert_eq!(
            claim(None, "ev", t0(), limit + Duration::seconds(1)),
            WelcomeClaim::TooLate
        );
    }

    #[test]
    fn the_record_is_small_and_holds_no_personal_data() {
        let mut record = claimed(claim(None, "ev-1", t0(), t0()));
        record.sent(t0());
        assert_eq!(
            serde_json::to_value(&record).unwrap(),
            serde_json::json!({
                "state": "sent", "eventId": "ev-1", "attempts": 1,
                "sentAt": "2026-11-27T10:00:00Z"
            })
        );
    }

    #[test]
    fn only_one_mailbox_is_accepted() {
        assert!(single_mailbox("ana@example.org").is_ok());
        assert!(single_mailbox("x;victim@example.org").is_err());
        assert!(single_mailbox("x,victim@example.org").is_err());
        assert!(single_mailbox("").is_err());
    }

    #[test]
    fn the_name_is_escaped_in_the_body_and_cleaned_in_the_subject() {
        let mail = welcome_email("Ana <b>&</b>\r\nBcc: x");
        assert_eq!(mail.subject, "Welcome to Todo, Ana <b>&</b>  Bcc: x");
        assert!(
            mail.html
                .starts_with("<p>Hello Ana &lt;b&gt;&amp;&lt;/b&gt;  Bcc: x,</p>\n"),
            "{}",
            mail.html
        );
        let long = welcome_email(&"é".repeat(300));
        assert_eq!(
            long.subject.chars().count(),
            "Welcome to Todo, ".len() + 100
        );
    }
}
