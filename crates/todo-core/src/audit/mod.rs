//! The audit log (architecture §5): what the `audit` component records for
//! every task event and sign-up, and how a user or a task's history is read
//! back.
//!
//! - [`chain`]: the entries, one per event, and the per-user SHA-256 hash
//!   chain that makes any later edit detectable;
//! - [`page`]: paging through a user's log (newest first) and a task's
//!   history (oldest first), and the bounded pages task history is kept in.

pub mod chain;
pub mod page;
