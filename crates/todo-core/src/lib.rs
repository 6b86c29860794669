//! Domain logic of the event-driven Todo system (DESIGN §3–§5).
//!
//! Everything here is pure: no I/O, no clock reads, no randomness. Callers pass
//! `now` and fresh ids in, so every rule is tested natively and deterministically.
//! Components (wasm) and devstack (native) share these types.

pub mod auth;
pub mod duration;
pub mod events;
pub mod patch;
pub mod problem;
pub mod query;
pub mod recurrence;
pub mod rrule_syntax;
pub mod task;
pub mod validate;

pub use problem::{FieldError, Problem};
pub use task::{Channel, Priority, Recurrence, RecurrenceFrom, Reminder, Status, Task};
