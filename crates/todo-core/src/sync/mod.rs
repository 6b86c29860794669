//! Keeping open clients in step (architecture §3, §5): the rules of the
//! `sync-relay` component.
//!
//! - [`feed`]: the per-user change feed (a head and one document per
//!   change) and the rules for reading it: cursors, resets, long-poll
//!   waits, backoff, the poll schedule;
//! - [`sse`]: Server-Sent Events framing and the timing of one stream.

pub mod feed;
pub mod sse;
