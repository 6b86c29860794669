//! What happened to one fired reminder (`fired/{jobName}/{remindAt}`, architecture
//! §5): the dedupe record notify writes together with the inbox entry, then
//! updates as it publishes the sync event and delivers to each channel.
//!
//! Job callbacks are at-least-once, so the record is what makes a second
//! callback harmless: the inbox entry exists once (the record is written
//! insert-only in the same transaction), the sync event is published until
//! `published` is set, and each external channel is *claimed* (state
//! `sending`, with a lease) before anything is sent, so two callbacks racing
//! never both send. A callback that dies mid-send leaves the claim; after the
//! lease a later callback may send again (the only way a receiver can see a
//! duplicate, and why webhooks carry a stable `X-Todo-Delivery` id).

use chrono::{DateTime, Duration, SecondsFormat, Utc};
use serde::{Deserialize, Serialize};

use crate::notify::inbox::Notification;
use crate::notify::settings::NotifySettings;
use crate::task::Channel;

/// How long a fired record is kept (far longer than Dapr retries a job).
pub const FIRED_TTL_SECS: u64 = 7 * 24 * 3600;
/// How long a claim on a channel holds before another callback may retry it.
pub const CLAIM_LEASE_SECS: i64 = 30;
/// Attempts per channel per callback, and the waits between them.
pub const MAX_ATTEMPTS: u32 = 3;
pub const RETRY_DELAYS_MS: [u64; 2] = [500, 1000];
/// Longest `lastError` kept.
const MAX_ERROR_LEN: usize = 300;

/// Where one channel's delivery stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum ChannelState {
    /// The task's reminder did not ask for this channel.
    NotRequested,
    /// Asked for, but the user's settings lack the address.
    NotConfigured,
    Pending,
    /// Claimed by a callback until `leaseUntil`.
    Sending,
    Delivered,
    /// Given up on: refused, or every attempt failed.
    Failed,
}

/// One external channel (webhook or e-mail) of a fired reminder.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ChannelDelivery {
    pub state: ChannelState,
    #[serde(default)]
    pub attempts: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_error: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lease_until: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub finished_at: Option<DateTime<Utc>>,
}

/// What [`ChannelDelivery::claim`] found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Claim {
    /// Ours to send now.
    Claimed,
    /// Another callback holds it (its lease is running).
    Busy,
    /// Nothing to send: finished, not requested or not configured.
    Settled,
}

impl ChannelDelivery {
    fn new(state: ChannelState) -> ChannelDelivery {
        ChannelDelivery {
            state,
            attempts: 0,
            last_error: None,
            lease_until: None,
            finished_at: None,
        }
    }

    /// Claims the channel for sending (pending, or sending with an expired lease).
    pub fn claim(&mut self, now: DateTime<Utc>) -> Claim {
        match self.state {
            ChannelState::Pending => {}
            ChannelState::Sending if self.lease_until.is_none_or(|until| until <= now) => {}
            ChannelState::Sending => return Claim::Busy,
            _ => return Claim::Settled,
        }
        self.state = ChannelState::Sending;
        self.lease_until = Some(now + Duration::seconds(CLAIM_LEASE_SECS));
        Claim::Claimed
    }

    /// Records the result of `attempts` more attempts.
    pub fn finish(&mut self, result: Result<(), String>, attempts: u32, now: DateTime<Utc>) {
        self.attempts += attempts;
        self.lease_until = None;
        self.finished_at = Some(now);
        match result {
            Ok(()) => {
                self.state = ChannelState::Delivered;
                self.last_error = None;
            }
            Err(error) => {
                self.state = ChannelState::Failed;
                self.last_error = Some(error.chars().take(MAX_ERROR_LEN).collect());
            }
        }
    }

    pub fn is_settled(&self) -> bool {
        !matches!(self.state, ChannelState::Pending | ChannelState::Sending)
    }
}

/// `fired/{jobName}/{remindAt}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FiredRecord {
    pub user_id: String,
    pub notification: Notification,
    /// Whether `todo.sync.notification.v1` went out.
    pub published: bool,
    pub webhook: ChannelDelivery,
    pub email: ChannelDelivery,
}

/// The external channels a fired record tracks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum External {
    Webhook,
    Email,
}

impl FiredRecord {
    /// The record of a reminder firing now: each requested channel is
    /// pending if `settings` has its address, else not configured.
    pub fn new(user_id: &str, notification: Notification, settings: &NotifySettings) -> Self {
        let state = |channel: Channel, configured: bool| {
            ChannelDelivery::new(
                match (notification.channels.contains(&channel), configured) {
                    (false, _) => ChannelState::NotRequested,
                    (true, false) => ChannelState::NotConfigured,
                    (true, true) => ChannelState::Pending,
                },
            )
        };
        let webhook = state(
            Channel::Webhook,
            settings.webhook_url.is_some() && settings.webhook_secret.is_some(),
        );
        let email = state(Channel::Email, settings.email.is_some());
        FiredRecord {
            user_id: user_id.to_string(),
            notification,
            published: false,
            webhook,
            email,
        }
    }

    pub fn channel(&self, which: External) -> &ChannelDelivery {
        match which {
            External::Webhook => &self.webhook,
            External::Email => &self.email,
        }
    }

    pub fn channel_mut(&mut self, which: External) -> &mut ChannelDelivery {
        match which {
            External::Webhook => &mut self.webhook,
            External::Email => &mut self.email,
        }
    }
}

/// A reminder e-mail: subject and HTML body (the SMTP binding sends HTML).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Email {
    pub subject: String,
    pub html: String,
}

/// The e-mail for `notification`. The title is the user's text: it is
/// HTML-escaped in the body and stripped of control characters (no header
/// injection) and shortened in the subject.
pub fn reminder_email(notification: &Notification) -> Email {
    let title: String = notification
        .title
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    let subject = format!("Reminder: {}", title.chars().take(150).collect::<String>());
    let due = match notification.due_at {
        Some(due) => format!(
            " is due at {}",
            due.to_rfc3339_opts(SecondsFormat::Secs, true)
        ),
        None => String::new(),
    };
    let html = format!(
        "<p>Reminder: <strong>{}</strong>{}.</p>\n<p>Task {}</p>\n",
        escape_html(&title),
        due,
        notification.task_id.hyphenated()
    );
    Email { subject, html }
}

/// Escapes the five HTML-significant characters.
pub fn escape_html(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}
