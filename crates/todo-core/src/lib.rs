//! Domain logic of the event-driven Todo system (architecture §3–§5).
//!
//! Everything here is pure: no I/O, no clock reads, no randomness. Callers pass
//! `now` and fresh ids in, so every rule is tested natively and deterministically.
//! Components (wasm) and devstack (native) share these types.
//!
//! One folder per concern; each folder's `mod.rs` says what the concern is
//! and maps its files:
//! - [`task`] (task-api): the task model, validation, JSON Merge Patch
//!   (RFC 7396), the list engine, the bounded task index, ISO 8601
//!   `reminder.before` durations;
//! - [`events`]: every CloudEvent published, reading delivered ones as a
//!   consumer, canonical JSON (RFC 8785);
//! - [`recurrence`]: RFC 5545 RRULEs — the parser, the expander, zones,
//!   the next occurrence — and the preview's query;
//! - [`audit`]: the per-user hash chain of entries, and its pages;
//! - [`notify`]: reminder jobs, what a fired reminder delivers, the inbox,
//!   the user's settings, webhooks, the welcome e-mail;
//! - [`sync`] (sync-relay): the per-user change feed, SSE framing;
//! - [`auth`]: JWTs (our HS256, or an OIDC issuer's RS256/ES256) and the
//!   issuer's published keys;
//! - [`identity`]: accounts, passwords, refresh tokens, lockout;
//! - [`problem`], a single file: RFC 9457 problem details, the one error
//!   shape every route answers with.
//!
//! The error types and the task model are also at the crate root
//! ([`Problem`], [`Task`], …).

pub mod audit;
pub mod auth;
pub mod events;
pub mod identity;
pub mod notify;
pub mod problem;
pub mod recurrence;
pub mod sync;
pub mod task;

pub use problem::{FieldError, Problem};
pub use task::{Channel, Priority, Recurrence, RecurrenceFrom, Reminder, Status, Task};
