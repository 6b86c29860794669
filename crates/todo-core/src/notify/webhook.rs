//! Webhook deliveries: the signed request a receiver gets, and how its answer
//! is judged.
//!
//! The body is JSON and carries its own `sentAt`; `X-Todo-Signature:
//! sha256=<hex>` is the HMAC-SHA256 of the exact body bytes with the user's
//! webhook secret, so the timestamp is covered by the signature and a
//! receiver can refuse old replays. `X-Todo-Timestamp` repeats `sentAt` as
//! Unix seconds for receivers that check freshness before parsing, and
//! `X-Todo-Delivery` is the notification id (the same on every retry: a
//! receiver dedupes on it).

use chrono::{DateTime, SecondsFormat, Utc};
use hmac::{Hmac, Mac};
use serde::Serialize;
use sha2::Sha256;
use subtle::ConstantTimeEq;
use uuid::Uuid;

use crate::notify::inbox::Notification;

pub const SIGNATURE_HEADER: &str = "x-todo-signature";
pub const TIMESTAMP_HEADER: &str = "x-todo-timestamp";
pub const DELIVERY_HEADER: &str = "x-todo-delivery";

/// Per-attempt timeout. With [`crate::notify::delivery::MAX_ATTEMPTS`] attempts a
/// slow or failing receiver costs a job callback at most about
/// 3 × 3 s + 1.5 s before the outcome is recorded as failed.
pub const TIMEOUT_MS: u64 = 3000;

/// The JSON a webhook receives.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct WebhookBody<'a> {
    /// The notification id (also in `X-Todo-Delivery`).
    pub id: Uuid,
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub sent_at: String,
    pub user_id: &'a str,
    pub notification: &'a Notification,
}

/// A ready-to-send webhook request: body bytes and headers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedWebhook {
    pub body: Vec<u8>,
    pub headers: Vec<(&'static str, String)>,
}

/// Builds and signs the webhook for `notification`, sent at `now`.
pub fn signed_request(
    user_id: &str,
    notification: &Notification,
    secret: &str,
    now: DateTime<Utc>,
) -> SignedWebhook {
    let body = serde_json::to_vec(&WebhookBody {
        id: notification.id,
        kind: "todo.notification.reminder",
        sent_at: now.to_rfc3339_opts(SecondsFormat::Millis, true),
        user_id,
        notification,
    })
    .expect("a webhook body serializes");
    let headers = vec![
        ("content-type", "application/json".to_string()),
        (SIGNATURE_HEADER, sign(secret.as_bytes(), &body)),
        (TIMESTAMP_HEADER, now.timestamp().to_string()),
        (DELIVERY_HEADER, notification.id.hyphenated().to_string()),
    ];
    SignedWebhook { body, headers }
}

/// `sha256=<lowercase hex HMAC-SHA256 of body>`.
pub fn sign(secret: &[u8], body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret).expect("HMAC takes any key length");
    mac.update(body);
    let hex: String = mac
        .finalize()
        .into_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    format!("sha256={hex}")
}

/// Whether `signature` is the signature of `body` (constant-time compare);
/// what a receiver does.
pub fn verify(secret: &[u8], body: &[u8], signature: &str) -> bool {
    let expected = sign(secret, body);
    expected.len() == signature.len() && bool::from(expected.as_bytes().ct_eq(signature.as_bytes()))
}

/// What one attempt's answer means.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AttemptOutcome {
    Delivered,
    /// Worth another attempt: 408, 425, 429, 5xx, or no answer at all.
    Retry,
    /// The receiver refused it (other 4xx, 3xx): retrying cannot help.
    Refused,
}

/// Judges an HTTP status; `None` = no answer (timeout, connection error).
pub fn judge(status: Option<u16>) -> AttemptOutcome {
    match status {
        Some(200..=299) => AttemptOutcome::Delivered,
        None | Some(408 | 425 | 429 | 500..=599) => AttemptOutcome::Retry,
        Some(_) => AttemptOutcome::Refused,
    }
}
