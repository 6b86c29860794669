//! Domain logic of the event-driven Todo system (architecture §3–§5).
//!
//! Everything here is pure: no I/O, no clock reads, no randomness. Callers pass
//! `now` and fresh ids in, so every rule is tested natively and deterministically.
//! Components (wasm) and devstack (native) share these types.
//!
//! Modules, by concern:
//! - **tasks** (task-api): [`task`] (the model), [`task::validate`],
//!   [`task::patch`] (RFC 7396), [`task::query`] (the list engine),
//!   [`task::pages`] (the bounded index), [`task::duration`] (ISO 8601
//!   `reminder.before`);
//! - **events**: [`events`] (every CloudEvent published), [`events::task`]
//!   and [`events::account`] (reading them as a consumer),
//!   [`events::canonical`] (RFC 8785);
//! - **recurrence**: [`recurrence`], [`recurrence::syntax`] (the RFC 5545
//!   parser), [`recurrence::query`] (the preview's query);
//! - **audit**: [`audit::chain`] (entries and the hash chain), [`audit::page`];
//! - **notify**: [`notify::reminder_job`], [`notify::delivery`] (a fired
//!   reminder's outcome), [`notify::inbox`], [`notify::settings`],
//!   [`notify::webhook`], [`notify::welcome`];
//! - **sync**: [`sync::feed`], [`sync::sse`];
//! - **accounts and auth**: [`identity`] (accounts, passwords, refresh
//!   tokens, lockout), [`auth`] (JWTs: our HS256, or an OIDC issuer's
//!   RS256/ES256), [`auth::jwks`] (the issuer's published keys and how long
//!   to keep them);
//! - **errors**: [`problem`] (RFC 9457).

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
