//! The list engine behind `GET /api/tasks` and `GET /api/tags`.
//!
//! It works on the user's index ([`TaskSummary`] per task) so a list reads no
//! full task it does not return; pagination is keyset-based with an opaque
//! cursor, so every item appears exactly once across pages even while the
//! order ties.
//!
//! The engine's files, each with one job:
//! - `summary.rs`: [`TaskSummary`], what the index keeps per task;
//! - `list_query.rs`: [`ListQuery`], the parameters, their bounds
//!   ([`DEFAULT_LIMIT`], [`MAX_LIMIT`]) and their parsing;
//! - `param.rs`: reading query parameters into one 400 naming them all,
//!   shared with `crate::audit::page` and `crate::recurrence::query`;
//! - `filter.rs`: the filters, applied per task;
//! - `sort.rs`: [`Sort`] and [`SortKey`], and the total order they define;
//! - `cursor.rs`: the opaque keyset cursor, encoded and validated;
//! - `paging.rs`: [`list`], one [`Page`] after the cursor;
//! - `tags.rs`: [`tag_counts`] ([`TagCount`]) for `GET /api/tags`.
//!
//! Semantics (documented for the README/OpenAPI):
//! - All filters are combined with AND. `priority` is a set (any of the listed
//!   priorities; comma list and/or repeated), `tag` requires every listed tag
//!   (exact, case-sensitive match, like the stored tags), `q` is split on
//!   whitespace into lowercased words and every word must occur as a
//!   case-insensitive substring of the title or the description.
//! - `dueAfter` is inclusive (`dueAt >= dueAfter`), `dueBefore` exclusive
//!   (`dueAt < dueBefore`), so consecutive windows tile; either one excludes
//!   tasks without `dueAt`. `overdue=true` keeps open tasks with `dueAt < now`;
//!   `overdue=false` is the same as leaving it out (no filter).
//! - Sort: `dueAt`, `priority` (low → urgent), `title` (case-insensitive by
//!   per-character Unicode lowercase mapping, then exact), `createdAt`,
//!   `updatedAt`; a leading `-` reverses. Default `-createdAt`. Ties are always
//!   broken by id ascending, so the order is total. Tasks without `dueAt` come
//!   last in both directions of `dueAt`.
//! - `limit` 1..=200 (default 50). `cursor` is opaque (base64url): it encodes the
//!   last returned item's sort key and id plus a fingerprint of the filters and
//!   sort. The next page holds the items strictly after that position, so
//!   inserts and deletes between pages neither repeat nor skip items, nor do
//!   edits under an immutable sort (`createdAt`). Under a sort on a mutable
//!   field an edit can move a not-yet-seen task before the cursor (it is then
//!   not shown) or a seen one after it (shown again): keyset paging reads the
//!   tasks as they are, and no snapshot of their earlier sort keys is kept
//!   (README "What paging guarantees"). `limit` may change between pages; any
//!   filter or sort change → 400. `total` counts every matching task (not
//!   only those after the cursor).
//! - Errors: unknown parameters, a repeated single-valued parameter or a bad
//!   value → 400 `/problems/bad-request` whose `errors` name each parameter
//!   (`field`) with the allowed values (`message`).

mod cursor;
mod filter;
mod list_query;
mod paging;
mod param;
mod sort;
mod summary;
mod tags;

pub use list_query::{ListQuery, DEFAULT_LIMIT, MAX_LIMIT};
pub use paging::{list, Page};
pub use sort::{Sort, SortKey};
pub use summary::TaskSummary;
pub use tags::{tag_counts, TagCount};

pub(crate) use param::{bad_query, parse_digits, parse_query_timestamp, shortened, ParamErrors};
