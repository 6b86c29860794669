//! Domain logic of the event-driven Todo system (architecture §3–§5).
//!
//! Everything here is pure: no I/O, no clock reads, no randomness. Callers pass
//! `now` and fresh ids in, so every rule is tested natively and deterministically.
//! Components (wasm) and devstack (native) share these types.

pub mod account_event;
pub mod audit_chain;
pub mod audit_page;
pub mod auth;
pub mod canonical;
pub mod delivery;
pub mod duration;
pub mod events;
pub mod identity;
pub mod notification;
pub mod notify_settings;
pub mod patch;
pub mod problem;
pub mod query;
pub mod recurrence;
pub mod recurrence_query;
pub mod reminder_job;
pub mod rrule_syntax;
pub mod sse;
pub mod sync_feed;
pub mod task;
pub mod task_event;
pub mod task_pages;
pub mod validate;
pub mod webhook;
pub mod welcome;

pub use problem::{FieldError, Problem};
pub use task::{Channel, Priority, Recurrence, RecurrenceFrom, Reminder, Status, Task};
