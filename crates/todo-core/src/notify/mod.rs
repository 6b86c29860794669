//! Notifications (architecture §3, §5): the rules of the `notify` component —
//! scheduling a reminder, what a fired one leaves behind and how it reaches
//! each channel, the user's settings, and the welcome e-mail of a new
//! account.
//!
//! - [`reminder_job`]: reminder events → Dapr Jobs, and whether a firing job
//!   is still the reminder the user wants;
//! - [`delivery`]: what happened to one fired reminder (the dedupe record,
//!   each channel's claim), and the reminder e-mail;
//! - [`inbox`]: notifications and the user's inbox (bounded pages, newest
//!   first), and the `data` of `todo.sync.notification.v1`;
//! - [`settings`]: a user's notification settings and their rules;
//! - [`webhook`]: the signed request a webhook receiver gets, and how its
//!   answer is judged;
//! - [`welcome`]: the welcome e-mail, sent once per account.

pub mod delivery;
pub mod inbox;
pub mod reminder_job;
pub mod settings;
pub mod webhook;
pub mod welcome;
